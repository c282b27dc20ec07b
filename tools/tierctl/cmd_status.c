/*
 * tierctl status: what an operator checks first.  Everything comes from
 * the store (read-only, no daemon needed) and the topology; the daemon
 * leaves its link state and counters in the meta db for exactly this.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "ops.h"

#define STATUS_MISSING_SHOWN 10

struct status {
	char      unit[TS_CODE_MAX + 1];     /* from the config            */
	char      store_unit[TS_CODE_MAX + 1];
	char      store_topo[TS_TOPO_MAX + 1];
	char      catalogue[TS_CAT_MAX + 1];  /* of the newest own report  */
	char      link[16];                   /* "" = never recorded        */
	uint64_t  link_ms, last_ack_ms, seq, forks, refused;
	uint64_t  outbox, dead, forks_held;
	uint64_t  oldest_ms;                  /* 0 = outbox empty           */
	int       self;                       /* topology index or -1       */
	uint32_t  expected, seen;
	int      *missing;                    /* topology indices           */
	size_t    nmissing;
	uint64_t  now;
};


static int
meta_u64(ts_txn *t, const char *name, uint64_t *v)
{
	int rc;

	if ((rc = ts_meta_get_u64(t, name, v)) != 0) {
		ctl_errx("store: meta '%s': %s", name, ts_strerror(rc));
		return -1;
	}
	return 0;
}

/* Stop at the first (oldest) outbox entry and take its creation time. */
static int
oldest_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	uint64_t *ms = arg;
	ts_env_view v;
	ts_report r;

	(void)id;
	memset(&r, 0, sizeof(r));
	if (ts_env_split(env, len, &v) == 0 &&
	    ts_report_decode(v.body, v.body_len, &r) == 0) {
		*ms = r.created_ms;
		ts_report_clear(&r);
	}
	return 1;
}

static int
status_counts(ts_txn *t, struct status *s)
{
	int rc;

	if ((rc = ts_outbox_count(t, &s->outbox)) != 0 ||
	    (rc = ts_dead_count(t, &s->dead)) != 0 ||
	    (rc = ts_fork_count(t, &s->forks_held)) != 0) {
		ctl_errx("store: counting outbox/dead/forks: %s", ts_strerror(rc));
		return -1;
	}
	rc = ts_outbox_each(t, 0, oldest_cb, &s->oldest_ms);
	if (rc != 0 && rc != 1) {
		ctl_errx("store: reading the outbox: %s", ts_strerror(rc));
		return -1;
	}
	return 0;
}

/* Children expected by the topology vs those with a chain entry here. */
static int
status_children(const struct ctl *c, ts_txn *t, struct status *s)
{
	const ts_topo *topo = c->topo;
	ts_chain ch;
	int k, rc;

	if (topo == NULL || s->self < 0)
		return 0;
	s->missing = calloc((size_t)topo->units[s->self].nchildren + 1,
	    sizeof(*s->missing));
	if (s->missing == NULL) {
		ctl_errx("out of memory");
		return -1;
	}
	for (k = topo->units[s->self].first_child; k >= 0;
	    k = topo->units[k].next_sibling) {
		s->expected++;
		rc = ts_chain_get(t, topo->units[k].code, &ch);
		if (rc == 0)
			s->seen++;
		else if (rc == TS_ENOTFOUND)
			s->missing[s->nmissing++] = k;
		else {
			ctl_errx("store: chain of %s: %s", topo->units[k].code,
			    ts_strerror(rc));
			return -1;
		}
	}
	return 0;
}

static int
status_gather(struct ctl *c, struct status *s)
{
	ts_txn *t = NULL;
	int rc;

	if ((rc = ts_store_read_begin(c->store, &t)) != 0) {
		ctl_errx("store: read txn: %s", ts_strerror(rc));
		return -1;
	}
	rc = -1;
	if (ops_meta_str(t, "unit", s->store_unit, sizeof(s->store_unit)) != 0 ||
	    ops_meta_str(t, "topo", s->store_topo, sizeof(s->store_topo)) != 0 ||
	    ops_meta_str(t, "link", s->link, sizeof(s->link)) != 0 ||
	    meta_u64(t, "link_ms", &s->link_ms) != 0 ||
	    meta_u64(t, "last_ack_ms", &s->last_ack_ms) != 0 ||
	    meta_u64(t, "seq", &s->seq) != 0 ||
	    meta_u64(t, "forks", &s->forks) != 0 ||
	    meta_u64(t, "refused", &s->refused) != 0 ||
	    status_counts(t, s) != 0 ||
	    ops_own_catalogue(c, t, s->catalogue, sizeof(s->catalogue)) != 0 ||
	    status_children(c, t, s) != 0)
		goto out;
	rc = 0;
out:
	ts_store_read_end(&t);
	return rc;
}

static uint64_t
age(const struct status *s, uint64_t ms)
{
	return s->now > ms ? s->now - ms : 0;
}

/* Forks are evidence that an origin signed two different reports with
 * one seq: a stolen key or a restored backup.  Never let it scroll by. */
static uint64_t
status_forks(const struct status *s)
{
	return s->forks > s->forks_held ? s->forks : s->forks_held;
}

static void
row(const char *label)
{
	printf("%-12s", label);
}

static void
status_human_link(const struct ctl *c, const struct status *s)
{
	char a[32];

	row("parent");
	printf("%s\n", c->cfg.parent[0] != '\0' ? c->cfg.parent : "- (root)");
	row("link");
	if (s->link[0] == '\0')
		printf("unknown (tiersyncd has not run yet)\n");
	else if (s->link_ms == 0)
		printf("%s\n", s->link);
	else {
		fmt_age(age(s, s->link_ms), a, sizeof(a));
		printf("%s for %s\n", s->link, a);
	}
	row("last ack");
	if (s->last_ack_ms == 0)
		printf("never\n");
	else {
		fmt_age(age(s, s->last_ack_ms), a, sizeof(a));
		printf("%s ago\n", a);
	}
}

static void
status_human_children(const struct ctl *c, const struct status *s)
{
	size_t i;

	row("children");
	if (c->topo == NULL || s->self < 0) {
		printf("? (topology not loaded)\n");
		return;
	}
	if (s->expected == 0) {
		printf("none (leaf unit)\n");
		return;
	}
	printf("%" PRIu32 " of %" PRIu32 " seen", s->seen, s->expected);
	for (i = 0; i < s->nmissing && i < STATUS_MISSING_SHOWN; i++)
		printf("%s%s", i == 0 ? "; never heard from: " : " ",
		    c->topo->units[s->missing[i]].code);
	if (s->nmissing > STATUS_MISSING_SHOWN)
		printf(" ... (%zu more)", s->nmissing - STATUS_MISSING_SHOWN);
	printf("\n");
}

static void
status_human(const struct ctl *c, const struct status *s)
{
	char a[32];

	row("unit");
	if (s->self >= 0)
		printf("%s  %s (%s)\n", s->unit, c->topo->units[s->self].name,
		    ts_level_name(c->topo->units[s->self].level));
	else
		printf("%s\n", s->unit);
	status_human_link(c, s);
	row("own seq");
	printf("%" PRIu64 "\n", s->seq);
	row("outbox");
	printf("%" PRIu64, s->outbox);
	if (s->outbox > 0 && s->oldest_ms > 0) {
		fmt_age(age(s, s->oldest_ms), a, sizeof(a));
		printf(" waiting, oldest created %s ago", a);
	}
	printf("\n");
	row("dead");
	printf("%" PRIu64 "%s\n", s->dead, s->dead > 0 ?
	    " (refused by the parent; see the daemon log)" : "");
	row("forks");
	printf("%" PRIu64 "\n", status_forks(s));
	row("refused");
	printf("%" PRIu64 "\n", s->refused);
	status_human_children(c, s);
	row("topology");
	printf("%s", c->topo != NULL ? c->topo->version : "?");
	if (s->store_topo[0] != '\0' &&
	    (c->topo == NULL || strcmp(s->store_topo, c->topo->version) != 0))
		printf(" (daemon last ran with %s)", s->store_topo);
	printf("\n");
	row("catalogue");
	printf("%s\n", s->catalogue[0] != '\0' ? s->catalogue : "-");
	if (status_forks(s) > 0)
		printf("\nALERT: %" PRIu64 " fork(s): an origin signed two "
		    "different reports with the same seq (stolen key or "
		    "restored backup?); run 'tierctl verify' and check the "
		    "daemon log\n", status_forks(s));
}

static void
json_k_age(struct json *j, const char *k, const struct status *s, uint64_t ms)
{
	json_key(j, k);
	if (ms == 0)
		json_null(j);
	else
		json_u64(j, age(s, ms));
}

static void
status_json(const struct ctl *c, const struct status *s)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "unit", s->unit);
	json_kstr(&j, "name", s->self >= 0 ? c->topo->units[s->self].name : "");
	json_kstr(&j, "level", s->self >= 0 ?
	    ts_level_name(c->topo->units[s->self].level) : "");
	json_key(&j, "parent");
	if (c->cfg.parent[0] != '\0')
		json_str(&j, c->cfg.parent);
	else
		json_null(&j);
	json_key(&j, "link");
	if (s->link[0] != '\0')
		json_str(&j, s->link);
	else
		json_null(&j);
	json_ku64(&j, "link_ms", s->link_ms);
	json_k_age(&j, "link_age_ms", s, s->link_ms);
	json_ku64(&j, "last_ack_ms", s->last_ack_ms);
	json_k_age(&j, "last_ack_age_ms", s, s->last_ack_ms);
	json_ku64(&j, "seq", s->seq);
	json_ku64(&j, "outbox", s->outbox);
	json_ku64(&j, "outbox_oldest_ms", s->oldest_ms);
	json_k_age(&j, "outbox_oldest_age_ms", s, s->oldest_ms);
	json_ku64(&j, "dead", s->dead);
	json_ku64(&j, "forks", status_forks(s));
	json_ku64(&j, "refused", s->refused);
	json_ku64(&j, "children_expected", s->expected);
	json_ku64(&j, "children_seen", s->seen);
	json_key(&j, "children_missing");
	json_arr_begin(&j);
	for (i = 0; i < s->nmissing; i++)
		json_str(&j, c->topo->units[s->missing[i]].code);
	json_arr_end(&j);
	json_kstr(&j, "topology", c->topo != NULL ? c->topo->version : "");
	json_kstr(&j, "store_topology", s->store_topo);
	json_kstr(&j, "catalogue", s->catalogue);
	json_kbool(&j, "alert", status_forks(s) > 0);
	json_obj_end(&j);
	json_end(&j);
}

int
cmd_status(struct ctl *c, int argc, char **argv)
{
	struct status s;
	char *pos[1];
	int npos, rc, ret = EXIT_OK;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 0, 0, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ctl_load_config(c) != 0)
		return EXIT_FAIL;
	memset(&s, 0, sizeof(s));
	s.self = -1;
	snprintf(s.unit, sizeof(s.unit), "%s", c->cfg.unit);
	/* A broken topology must not hide the link and outbox state. */
	if (ctl_load_topo(c) != 0)
		ret = EXIT_FAIL;
	else if ((s.self = ts_topo_find(c->topo, s.unit)) < 0) {
		ctl_errx("unit %s is not in topology %s", s.unit, c->topo->version);
		ret = EXIT_FAIL;
	}
	if (ctl_open_store(c) != 0 || status_gather(c, &s) != 0) {
		free(s.missing);
		return EXIT_FAIL;
	}
	if (s.store_unit[0] != '\0' && strcmp(s.store_unit, s.unit) != 0) {
		ctl_errx("the store belongs to unit %s, node.conf says %s",
		    s.store_unit, s.unit);
		ret = EXIT_FAIL;
	}
	s.now = ts_now_ms();
	if (c->json)
		status_json(c, &s);
	else
		status_human(c, &s);
	free(s.missing);
	return ret;
}
