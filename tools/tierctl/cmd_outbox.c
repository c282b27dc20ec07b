/*
 * tierctl outbox: what waits to go up to the parent, oldest first, with
 * origin, seq, period, age and size; and the dead letters count (what
 * the parent refused for good).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

struct obw {
	struct ctl *c;
	struct json j;
	uint64_t    now, n, bytes, oldest_ms;
	int         header;
};

static int
outbox_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	struct obw *w = arg;
	ts_env_view v;
	ts_report r;
	uint8_t hash[TS_HASH_LEN];
	char age[32], h[65];
	int ok;

	memset(&r, 0, sizeof(r));
	ok = ts_env_split(env, len, &v) == 0 &&
	    ts_report_decode(v.body, v.body_len, &r) == 0;
	if (ok)
		ts_body_hash(v.body, v.body_len, hash);
	w->n++;
	w->bytes += len;
	if (ok && (w->oldest_ms == 0 || r.created_ms < w->oldest_ms))
		w->oldest_ms = r.created_ms;
	if (w->c->json) {
		json_obj_begin(&w->j);
		json_ku64(&w->j, "id", id);
		json_kstr(&w->j, "origin", ok ? r.origin : "");
		json_ku64(&w->j, "seq", ok ? r.seq : 0);
		json_kstr(&w->j, "period", ok ? r.period : "");
		json_ku64(&w->j, "created_ms", ok ? r.created_ms : 0);
		json_ku64(&w->j, "age_ms", ok && w->now > r.created_ms ?
		    w->now - r.created_ms : 0);
		json_ku64(&w->j, "size", len);
		json_key(&w->j, "hash");
		if (ok)
			json_hex(&w->j, hash, TS_HASH_LEN);
		else
			json_null(&w->j);
		json_kbool(&w->j, "ok", ok);
		json_obj_end(&w->j);
	} else {
		if (!w->header++)
			printf("%10s  %-8s  %6s  %-7s  %-10s  %8s  %s\n", "id",
			    "origin", "seq", "period", "age", "bytes", "hash");
		if (!ok) {
			printf("%10" PRIu64 "  (malformed entry, %zu bytes)\n", id, len);
			return 0;
		}
		fmt_age(w->now > r.created_ms ? w->now - r.created_ms : 0, age,
		    sizeof(age));
		ts_to_hex(hash, TS_HASH_LEN, h);
		h[16] = '\0';
		printf("%10" PRIu64 "  %-8s  %6" PRIu64 "  %-7s  %-10s  %8zu  %s\n",
		    id, r.origin, r.seq, r.period, age, len, h);
	}
	ts_report_clear(&r);
	return 0;
}

int
cmd_outbox(struct ctl *c, int argc, char **argv)
{
	struct obw w;
	char *pos[1], age[32];
	ts_txn *t = NULL;
	uint64_t dead = 0;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 0, 0, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ctl_load_config(c) != 0 || ops_read_begin(c, &t) != 0)
		return EXIT_FAIL;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.now = ts_now_ms();
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "unit", c->cfg.unit);
		json_key(&w.j, "parent");
		if (c->cfg.parent[0] != '\0')
			json_str(&w.j, c->cfg.parent);
		else
			json_null(&w.j);
		json_key(&w.j, "entries");
		json_arr_begin(&w.j);
	}
	rc = ts_outbox_each(t, 0, outbox_cb, &w);
	if (rc == 0)
		rc = ts_dead_count(t, &dead);
	ts_store_read_end(&t);
	if (c->json) {
		json_arr_end(&w.j);
		json_ku64(&w.j, "count", w.n);
		json_ku64(&w.j, "bytes", w.bytes);
		json_ku64(&w.j, "oldest_ms", w.oldest_ms);
		json_key(&w.j, "oldest_age_ms");
		if (w.oldest_ms == 0)
			json_null(&w.j);
		else
			json_u64(&w.j, w.now > w.oldest_ms ? w.now - w.oldest_ms : 0);
		json_ku64(&w.j, "dead", dead);
		json_obj_end(&w.j);
		json_end(&w.j);
	}
	if (rc != 0) {
		ctl_errx("store: reading the outbox: %s", ts_strerror(rc));
		return EXIT_FAIL;
	}
	if (!c->json) {
		if (w.n == 0)
			printf("outbox empty%s\n", c->cfg.parent[0] == '\0' ?
			    " (root node: nothing goes up)" : "");
		else {
			fmt_age(w.now > w.oldest_ms ? w.now - w.oldest_ms : 0, age,
			    sizeof(age));
			printf("%" PRIu64 " envelope%s waiting (%" PRIu64 " bytes), "
			    "oldest created %s ago\n", w.n, w.n == 1 ? "" : "s",
			    w.bytes, age);
		}
		if (dead > 0)
			printf("%" PRIu64 " dead letter%s (refused by the parent for "
			    "good; see the daemon log)\n", dead, dead == 1 ? "" : "s");
	}
	return EXIT_OK;
}
