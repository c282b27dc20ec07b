/*
 * tierctl children: one line per direct child of this node (or of
 * --unit): what it has sent here (newest seq and hash, when, periods
 * held), how far behind it is, and its state for a period.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define PERIODS_MAX 64

struct kid {
	int      idx;
	int      seen;                 /* a chain record exists              */
	ts_chain chain;
	uint64_t created_ms;           /* of the newest envelope             */
	char     newest_period[TS_PERIOD_MAX + 1];
	struct ops_unit_state st;
	char   (*periods)[TS_PERIOD_MAX + 1];
	size_t   nperiods, more;
};

struct kids {
	const struct ctl *c;
	int         self;
	struct kid *k;
	size_t      n;
};

static struct kid *
kid_find(struct kids *ks, const char *code)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (strcmp(ks->c->topo->units[ks->k[i].idx].code, code) == 0)
			return &ks->k[i];
	return NULL;
}

static int
periods_cb(const char *origin, const char *period, const ts_latest *l,
    void *arg)
{
	struct kids *ks = arg;
	struct kid *k;

	(void)l;
	if ((k = kid_find(ks, origin)) == NULL)
		return 0;
	if (k->periods == NULL &&
	    (k->periods = calloc(PERIODS_MAX, sizeof(*k->periods))) == NULL)
		return TS_ENOMEM;
	if (k->nperiods == PERIODS_MAX) {
		k->more++;
		return 0;
	}
	snprintf(k->periods[k->nperiods++], TS_PERIOD_MAX + 1, "%s", period);
	return 0;
}

static int
kids_gather(struct ctl *c, ts_txn *t, struct kids *ks, const char *period,
    uint64_t now)
{
	const ts_topo *topo = c->topo;
	int u, rc;

	ks->k = calloc((size_t)topo->units[ks->self].nchildren + 1,
	    sizeof(*ks->k));
	if (ks->k == NULL) {
		ctl_errx("out of memory");
		return -1;
	}
	for (u = topo->units[ks->self].first_child; u >= 0;
	    u = topo->units[u].next_sibling) {
		struct kid *k = &ks->k[ks->n++];
		ts_env_view v;
		ts_report r;

		k->idx = u;
		rc = ts_chain_get(t, topo->units[u].code, &k->chain);
		if (rc != 0 && rc != TS_ENOTFOUND) {
			ctl_errx("store: chain of %s: %s", topo->units[u].code,
			    ts_strerror(rc));
			return -1;
		}
		k->seen = rc == 0;
		memset(&r, 0, sizeof(r));
		if (k->seen && ts_env_load(t, topo->units[u].code, k->chain.seq, &r,
		    &v, NULL) == 0) {
			k->created_ms = r.created_ms;
			snprintf(k->newest_period, sizeof(k->newest_period), "%s",
			    r.period);
			ts_report_clear(&r);
		}
		if (ops_unit_state(c, t, u, period, now, &k->st) != 0)
			return -1;
	}
	if ((rc = ts_latest_each(t, NULL, periods_cb, ks)) != 0) {
		ctl_errx("store: reading latest reports: %s", ts_strerror(rc));
		return -1;
	}
	return 0;
}

static uint64_t
since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void
kid_state_word(const struct kid *k, char *out, size_t outlen)
{
	if (k->st.state == OPS_MISSING)
		snprintf(out, outlen, "%s", k->st.overdue ? "MISSING" : "due");
	else
		snprintf(out, outlen, "%s", k->st.state == OPS_LATE ? "LATE" :
		    "reported");
}

static void
children_human(const struct ctl *c, const struct kids *ks, const char *period,
    uint64_t now)
{
	const ts_topo *topo = c->topo;
	size_t i, j, wn = 4;
	char st[16], seen[32], lag[32], hash[17], full[65];
	unsigned nrep = 0, nlate = 0, nmiss = 0;

	if (ks->n == 0) {
		printf("%s (%s) has no child units in topology %s\n",
		    topo->units[ks->self].code, topo->units[ks->self].name,
		    topo->version);
		return;
	}
	for (i = 0; i < ks->n; i++)
		if (utf8_width(topo->units[ks->k[i].idx].name) > wn)
			wn = utf8_width(topo->units[ks->k[i].idx].name);
	printf("%-8s  ", "child");
	print_padded(stdout, "name", wn);
	printf("  %-8s  %6s  %-16s  %-10s  %-8s  %s\n", period, "seq", "hash",
	    "last seen", "lag", "periods held");
	for (i = 0; i < ks->n; i++) {
		const struct kid *k = &ks->k[i];
		kid_state_word(k, st, sizeof(st));
		nrep += k->st.state == OPS_REPORTED;
		nlate += k->st.state == OPS_LATE;
		nmiss += k->st.state == OPS_MISSING;
		printf("%-8s  ", topo->units[k->idx].code);
		print_padded(stdout, topo->units[k->idx].name, wn);
		if (!k->seen) {
			printf("  %-8s  %6s  %-16s  %-10s  %-8s  -\n", st, "-", "-",
			    "never", "-");
			continue;
		}
		ts_to_hex(k->chain.hash, TS_HASH_LEN, full);
		memcpy(hash, full, 16);
		hash[16] = '\0';
		fmt_age(since(now, k->chain.recv_ms), seen, sizeof(seen));
		strcat(seen, " ago");
		fmt_age(since(k->chain.recv_ms, k->created_ms), lag, sizeof(lag));
		printf("  %-8s  %6" PRIu64 "  %-16s  %-10s  %-8s  ", st,
		    k->chain.seq, hash, seen, lag);
		for (j = 0; j < k->nperiods; j++)
			printf("%s%s", j ? " " : "", k->periods[j]);
		if (k->more)
			printf(" (+%zu)", k->more);
		printf("\n");
	}
	printf("%zu children, period %s: %u reported, %u late, %u missing\n",
	    ks->n, period, nrep, nlate, nmiss);
}

static void
children_json(const struct ctl *c, const struct kids *ks, const char *period,
    uint64_t now)
{
	const ts_topo *topo = c->topo;
	struct json j;
	size_t i, k2;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "unit", topo->units[ks->self].code);
	json_kstr(&j, "period", period);
	json_key(&j, "children");
	json_arr_begin(&j);
	for (i = 0; i < ks->n; i++) {
		const struct kid *k = &ks->k[i];
		json_obj_begin(&j);
		json_kstr(&j, "code", topo->units[k->idx].code);
		json_kstr(&j, "name", topo->units[k->idx].name);
		json_kstr(&j, "level", ts_level_name(topo->units[k->idx].level));
		json_kbool(&j, "seen", k->seen);
		json_ku64(&j, "seq", k->seen ? k->chain.seq : 0);
		json_key(&j, "hash");
		if (k->seen)
			json_hex(&j, k->chain.hash, TS_HASH_LEN);
		else
			json_null(&j);
		json_ku64(&j, "last_seen_ms", k->seen ? k->chain.recv_ms : 0);
		json_key(&j, "last_seen_age_ms");
		if (k->seen)
			json_u64(&j, since(now, k->chain.recv_ms));
		else
			json_null(&j);
		json_key(&j, "lag_ms");
		if (k->seen)
			json_u64(&j, since(k->chain.recv_ms, k->created_ms));
		else
			json_null(&j);
		json_kstr(&j, "newest_period", k->newest_period);
		json_key(&j, "periods");
		json_arr_begin(&j);
		for (k2 = 0; k2 < k->nperiods; k2++)
			json_str(&j, k->periods[k2]);
		json_arr_end(&j);
		json_kstr(&j, "state", ops_state_name(k->st.state));
		json_kbool(&j, "overdue", k->st.overdue);
		json_ku64(&j, "period_seq", k->st.held ? k->st.latest.seq : 0);
		json_ku64(&j, "first_ms", k->st.held ? k->st.latest.first_ms : 0);
		json_ku64(&j, "deadline_ms", k->st.deadline_ms);
		json_ku64(&j, "leaf_reported", k->st.leaf_reported);
		json_ku64(&j, "leaf_expected", k->st.leaf_expected);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
}

int
cmd_children(struct ctl *c, int argc, char **argv)
{
	const char *unit = NULL, *period = NULL;
	struct opt opts[] = { { "--unit", &unit, NULL },
	    { "--period", &period, NULL }, { NULL, NULL, NULL } };
	char *pos[1], year[8];
	struct kids ks;
	ts_txn *t = NULL;
	uint64_t now = ts_now_ms();
	size_t i;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 0, 0, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (period != NULL && ops_arg_period("--period", period) != 0)
		return EXIT_FAIL;
	if (ctl_load_config(c) != 0 || ctl_load_topo(c) != 0)
		return EXIT_FAIL;
	memset(&ks, 0, sizeof(ks));
	ks.c = c;
	if ((ks.self = ops_arg_unit(c, unit)) < 0)
		return EXIT_FAIL;
	if (period == NULL) {
		ops_current_year(now, year, sizeof(year));
		period = year;
	}
	if (ops_read_begin(c, &t) != 0)
		return EXIT_FAIL;
	rc = kids_gather(c, t, &ks, period, now);
	ts_store_read_end(&t);
	if (rc == 0) {
		if (c->json)
			children_json(c, &ks, period, now);
		else
			children_human(c, &ks, period, now);
	}
	for (i = 0; i < ks.n; i++)
		free(ks.k[i].periods);
	free(ks.k);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
