/*
 * tierctl completeness PERIOD [--unit CODE]: who has not reported, or
 * reported late, below a unit -- by name and code, down to the communes.
 * Reads the store only (no daemon); the national node holds every
 * commune's envelopes, so it can name the late commune anywhere.
 *
 * A unit is reported when a report of it for PERIOD is held here.  A
 * leaf (commune, or a district without communes) is on time when its
 * own newest report says so (leaf_on_time: its first report of the
 * period was made before its deadline, judged by the commune itself and
 * signed); a unit with children is on time when its first report for
 * the period held here was created before its level's deadline
 * (deadline_* keys of this node's config, docs/CONFIG.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_cmds.h"

struct urow {
	int       idx;
	int       reported, on_time;       /* on_time: 1, 0 */
	uint64_t  seq, first_ms, deadline_ms;
	ts_completeness comp;
};

struct first_ctx { const char *period; uint64_t first; };

static int
first_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	struct first_ctx *f = arg;
	ts_env_view v;
	ts_report r;

	(void)origin;
	(void)seq;
	memset(&r, 0, sizeof(r));
	if (ts_env_split(env, len, &v) == 0 &&
	    ts_report_decode(v.body, v.body_len, &r) == 0) {
		if (strcmp(r.period, f->period) == 0 &&
		    (f->first == 0 || r.created_ms < f->first))
			f->first = r.created_ms;
		ts_report_clear(&r);
	}
	return 0;
}

static int
load_row(struct ctl *c, ts_txn *t, const char *period, struct urow *u)
{
	const ts_unit *un = &c->topo->units[u->idx];
	ts_latest l;
	ts_report r;
	ts_env_view v;
	int rc;

	rc = ts_latest_get(t, un->code, period, &l);
	if (rc == TS_ENOTFOUND)
		return 0;
	if (rc != 0) {
		ctl_errx("store: latest %s/%s: %s", un->code, period, ts_strerror(rc));
		return -1;
	}
	u->reported = 1;
	u->seq = l.seq;
	memset(&r, 0, sizeof(r));
	if ((rc = ts_env_load(t, un->code, l.seq, &r, &v, NULL)) != 0) {
		ctl_warnx("report %s seq %" PRIu64 ": %s", un->code, l.seq,
		    ts_strerror(rc));
		return 0;
	}
	u->comp = r.comp;
	ts_report_clear(&r);
	u->deadline_ms = ts_config_deadline_ms(&c->cfg, period, un->level);
	if (un->nchildren == 0)
		u->on_time = u->comp.leaf_on_time > 0;
	else {
		struct first_ctx f = { period, 0 };
		if ((rc = ts_env_each(t, un->code, first_cb, &f)) != 0) {
			ctl_errx("store: envelopes of %s: %s", un->code, ts_strerror(rc));
			return -1;
		}
		u->first_ms = f.first;
		u->on_time = f.first != 0 && f.first < u->deadline_ms;
	}
	return 0;
}

static void
json_unit(struct json *j, const struct ctl *c, const struct urow *u)
{
	const ts_unit *un = &c->topo->units[u->idx];

	json_obj_begin(j);
	json_kstr(j, "code", un->code);
	json_kstr(j, "name", un->name);
	json_kstr(j, "level", ts_level_name(un->level));
	json_kstr(j, "parent", un->parent >= 0 ? c->topo->units[un->parent].code : "");
	json_kstr(j, "parent_name", un->parent >= 0 ? c->topo->units[un->parent].name : "");
	json_kbool(j, "leaf", un->nchildren == 0);
	json_kbool(j, "reported", u->reported);
	json_key(j, "on_time");
	if (u->reported)
		json_bool(j, u->on_time);
	else
		json_null(j);
	json_ku64(j, "seq", u->seq);
	json_ku64(j, "deadline_ms", u->deadline_ms);
	json_ku64(j, "expected", u->comp.expected);
	json_ku64(j, "children_reported", u->comp.reported);
	json_ku64(j, "children_on_time", u->comp.on_time);
	json_ku64(j, "leaf_expected", un->nleaves);
	json_ku64(j, "leaf_reported", u->comp.leaf_reported);
	json_ku64(j, "leaf_on_time", u->comp.leaf_on_time);
	json_obj_end(j);
}

int
cmd_completeness(struct ctl *c, int argc, char **argv)
{
	const char *unit = NULL;
	struct opt opts[] = { { "--unit", &unit, NULL }, { NULL, NULL, NULL } };
	char *pos[1];
	const char *period;
	ts_txn *t = NULL;
	struct urow *rows = NULL;
	int *stack = NULL;
	size_t nrows = 0, i, nmiss = 0, nlate = 0, leaves = 0, lrep = 0, lon = 0;
	int npos, rc, root, sp = 0, status = EXIT_FAIL;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	period = pos[0];
	if (ts_valid_period(period, strlen(period)) != 0) {
		ctl_errx("PERIOD '%s': expected YYYY, YYYYQn or YYYY-MM", period);
		return EXIT_FAIL;
	}
	if (ctl_load_config(c) != 0 || ctl_load_topo(c) != 0)
		return EXIT_FAIL;
	if (unit == NULL)
		unit = c->cfg.unit;
	if ((root = ts_topo_find(c->topo, unit)) < 0) {
		ctl_errx("--unit '%s': no such unit in topology %s", unit, c->topo->version);
		return EXIT_FAIL;
	}
	if (ctl_open_store(c) != 0)
		return EXIT_FAIL;
	if ((rc = ts_store_read_begin(c->store, &t)) != 0) {
		ctl_errx("store: read txn: %s", ts_strerror(rc));
		return EXIT_FAIL;
	}
	rows = calloc(c->topo->nunits, sizeof(*rows));
	stack = calloc(c->topo->nunits + 1, sizeof(*stack));
	if (rows == NULL || stack == NULL) {
		ctl_errx("out of memory");
		goto out;
	}
	/* Depth first, children in file order, the unit itself first. */
	stack[sp++] = root;
	while (sp > 0) {
		int u = stack[--sp], k, nk = 0, first = sp;
		struct urow *r = &rows[nrows++];
		r->idx = u;
		if (load_row(c, t, period, r) != 0)
			goto out;
		for (k = c->topo->units[u].first_child; k >= 0;
		    k = c->topo->units[k].next_sibling)
			stack[sp++] = k, nk++;
		/* reverse so the first child is popped first */
		for (k = 0; k < nk / 2; k++) {
			int tmp = stack[first + k];
			stack[first + k] = stack[sp - 1 - k];
			stack[sp - 1 - k] = tmp;
		}
	}
	for (i = 0; i < nrows; i++) {
		const ts_unit *un = &c->topo->units[rows[i].idx];
		if (un->nchildren == 0) {
			leaves++;
			lrep += rows[i].reported;
			lon += rows[i].reported && rows[i].on_time;
		}
		if (i == 0)
			continue;
		nmiss += !rows[i].reported;
		nlate += rows[i].reported && !rows[i].on_time;
	}
	if (c->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "period", period);
		json_kstr(&j, "unit", unit);
		json_kstr(&j, "name", c->topo->units[root].name);
		json_ku64(&j, "leaf_expected", leaves);
		json_ku64(&j, "leaf_reported", lrep);
		json_ku64(&j, "leaf_on_time", lon);
		json_key(&j, "self");
		json_unit(&j, c, &rows[0]);
		json_key(&j, "children");
		json_arr_begin(&j);
		for (i = 1; i < nrows; i++)
			if (c->topo->units[rows[i].idx].parent == root)
				json_unit(&j, c, &rows[i]);
		json_arr_end(&j);
		json_key(&j, "missing");
		json_arr_begin(&j);
		for (i = 1; i < nrows; i++)
			if (!rows[i].reported)
				json_unit(&j, c, &rows[i]);
		json_arr_end(&j);
		json_key(&j, "late");
		json_arr_begin(&j);
		for (i = 1; i < nrows; i++)
			if (rows[i].reported && !rows[i].on_time)
				json_unit(&j, c, &rows[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
	} else {
		const ts_unit *ru = &c->topo->units[root];
		printf("completeness of %s below %s %s (%s), as held here\n", period,
		    ts_level_name(ru->level), ru->code, ru->name);
		printf("leaf units (communes): %zu expected, %zu reported, %zu on time, "
		    "%zu missing\n\n", leaves, lrep, lon, leaves - lrep);
		printf("%-8s  %-9s  %-9s  %6s  %s\n", "child", "level", "status",
		    "seq", "communes reported/expected, on time   name");
		for (i = 1; i < nrows; i++) {
			const struct urow *r = &rows[i];
			const ts_unit *un = &c->topo->units[r->idx];
			if (un->parent != root)
				continue;
			printf("%-8s  %-9s  %-9s  %6" PRIu64 "  %5" PRIu32 "/%-5" PRIu32
			    " %5" PRIu32 "                  %s\n", un->code,
			    ts_level_name(un->level), !r->reported ? "MISSING" :
			    r->on_time ? "on time" : "LATE", r->seq, r->comp.leaf_reported,
			    un->nleaves, r->comp.leaf_on_time, un->name);
		}
		printf("\nmissing (%zu):\n", nmiss);
		for (i = 1; i < nrows; i++) {
			const ts_unit *un = &c->topo->units[rows[i].idx];
			if (!rows[i].reported)
				printf("  %-8s %-9s %s  (in %s %s)\n", un->code,
				    ts_level_name(un->level), un->name,
				    c->topo->units[un->parent].code,
				    c->topo->units[un->parent].name);
		}
		printf("late (%zu):\n", nlate);
		for (i = 1; i < nrows; i++) {
			const ts_unit *un = &c->topo->units[rows[i].idx];
			char when[32];
			if (!rows[i].reported || rows[i].on_time)
				continue;
			fmt_iso8601(rows[i].deadline_ms, when, sizeof(when));
			printf("  %-8s %-9s %s  (in %s %s; deadline %s)\n", un->code,
			    ts_level_name(un->level), un->name,
			    c->topo->units[un->parent].code,
			    c->topo->units[un->parent].name, when);
		}
	}
	status = EXIT_OK;
out:
	ts_store_read_end(&t);
	free(rows);
	free(stack);
	return status;
}
