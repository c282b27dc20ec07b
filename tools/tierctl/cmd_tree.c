/*
 * tierctl tree: the subtree below a unit, drawn as a tree, each unit
 * with its replication state for a period as seen by this node:
 * reported (held, first arrived before its deadline), late (held, first
 * arrived after it), missing (nothing held; "overdue" once the deadline
 * has passed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define TREE_DEPTH_MAX 256

struct treew {
	struct ctl     *c;
	ts_txn         *t;
	const char     *period;
	uint64_t        now;
	int             maxdepth;
	struct json     j;
	struct progress pg;
	uint64_t        count[3];
	char            prefix[TREE_DEPTH_MAX * 4 + 8];
	size_t          wname;
};

static void
tree_line(struct treew *w, int u, int depth, int last,
    const struct ops_unit_state *st)
{
	const ts_unit *unit = &w->c->topo->units[u];
	char seq[32], when[32];
	size_t plen = strlen(w->prefix);

	if (w->c->json) {
		json_obj_begin(&w->j);
		json_kstr(&w->j, "code", unit->code);
		json_kstr(&w->j, "name", unit->name);
		json_kstr(&w->j, "level", ts_level_name(unit->level));
		json_kstr(&w->j, "parent", unit->parent >= 0 ?
		    w->c->topo->units[unit->parent].code : "");
		json_ku64(&w->j, "depth", (uint64_t)depth);
		json_kstr(&w->j, "state", ops_state_name(st->state));
		json_kbool(&w->j, "overdue", st->overdue);
		json_ku64(&w->j, "seq", st->held ? st->latest.seq : 0);
		json_ku64(&w->j, "first_ms", st->held ? st->latest.first_ms : 0);
		json_ku64(&w->j, "deadline_ms", st->deadline_ms);
		json_ku64(&w->j, "leaf_reported", st->leaf_reported);
		json_ku64(&w->j, "leaf_expected", st->leaf_expected);
		json_obj_end(&w->j);
		return;
	}
	if (depth > 0)
		printf("%s%s", w->prefix, last ? "└── " : "├── ");
	printf("%-8s ", unit->code);
	print_padded(stdout, unit->name, w->wname > 4 * (size_t)depth ?
	    w->wname - 4 * (size_t)depth : 0);
	if (st->held) {
		snprintf(seq, sizeof(seq), "seq %" PRIu64, st->latest.seq);
		fmt_iso8601(st->latest.first_ms, when, sizeof(when));
		printf("  %-8s  %-8s  %" PRIu32 "/%" PRIu32 " communes  first %s\n",
		    st->state == OPS_LATE ? "LATE" : "reported", seq,
		    st->leaf_reported, st->leaf_expected, when);
	} else
		printf("  %-8s\n", st->overdue ? "MISSING" : "due");
	(void)plen;
}

static int
tree_walk(struct treew *w, int u, int depth, int last)
{
	const ts_unit *unit = &w->c->topo->units[u];
	struct ops_unit_state st;
	size_t plen;
	int k;

	if (ops_unit_state(w->c, w->t, u, w->period, w->now, &st) != 0)
		return -1;
	w->count[st.state]++;
	progress_step(&w->pg, 1);
	tree_line(w, u, depth, last, &st);
	if (unit->nchildren == 0)
		return 0;
	if (depth >= w->maxdepth || depth >= TREE_DEPTH_MAX) {
		if (!w->c->json)
			printf("%s%s    ... %d children not shown (--depth)\n",
			    w->prefix, depth > 0 ? (last ? "    " : "│   ") : "",
			    unit->nchildren);
		return 0;
	}
	plen = strlen(w->prefix);
	if (depth > 0)
		strcat(w->prefix, last ? "    " : "│   ");
	for (k = unit->first_child; k >= 0; k = w->c->topo->units[k].next_sibling)
		if (tree_walk(w, k, depth + 1,
		    w->c->topo->units[k].next_sibling < 0) != 0)
			return -1;
	w->prefix[plen] = '\0';
	return 0;
}

/* Widest name + indentation in the shown part, for aligned columns. */
static size_t
tree_width(const ts_topo *t, int u, int depth, int maxdepth)
{
	size_t w = utf8_width(t->units[u].name) + 4 * (size_t)depth, x;
	int k;

	if (depth >= maxdepth || depth >= TREE_DEPTH_MAX)
		return w;
	for (k = t->units[u].first_child; k >= 0; k = t->units[k].next_sibling)
		if ((x = tree_width(t, k, depth + 1, maxdepth)) > w)
			w = x;
	return w;
}

static uint64_t
tree_count(const ts_topo *t, int u, int depth, int maxdepth)
{
	uint64_t n = 1;
	int k;

	if (depth >= maxdepth || depth >= TREE_DEPTH_MAX)
		return 1;
	for (k = t->units[u].first_child; k >= 0; k = t->units[k].next_sibling)
		n += tree_count(t, k, depth + 1, maxdepth);
	return n;
}

int
cmd_tree(struct ctl *c, int argc, char **argv)
{
	const char *unit = NULL, *depth = NULL, *why;
	struct opt opts[] = { { "--unit", &unit, NULL },
	    { "--depth", &depth, NULL }, { NULL, NULL, NULL } };
	char *pos[1];
	struct treew w;
	uint64_t d = TREE_DEPTH_MAX;
	int npos, rc, root;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ops_arg_period("PERIOD", pos[0]) != 0)
		return EXIT_FAIL;
	if (depth != NULL && parse_u64(depth, strlen(depth), &d, &why) != 0) {
		ctl_errx("--depth '%s' %s", depth, why);
		return EXIT_FAIL;
	}
	if (ctl_load_config(c) != 0 || ctl_load_topo(c) != 0)
		return EXIT_FAIL;
	if ((root = ops_arg_unit(c, unit)) < 0)
		return EXIT_FAIL;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.period = pos[0];
	w.now = ts_now_ms();
	w.maxdepth = d > TREE_DEPTH_MAX ? TREE_DEPTH_MAX : (int)d;
	if (ops_read_begin(c, &w.t) != 0)
		return EXIT_FAIL;
	w.wname = tree_width(c->topo, root, 0, w.maxdepth);
	progress_start(&w.pg, "tree", tree_count(c->topo, root, 0, w.maxdepth));
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "unit", c->topo->units[root].code);
		json_kstr(&w.j, "period", w.period);
		json_key(&w.j, "units");
		json_arr_begin(&w.j);
	} else
		printf("period %s, as seen by %s\n", w.period, c->cfg.unit);
	rc = tree_walk(&w, root, 0, 1);
	progress_end(&w.pg);
	ts_store_read_end(&w.t);
	if (c->json) {
		json_arr_end(&w.j);
		json_ku64(&w.j, "reported", w.count[OPS_REPORTED]);
		json_ku64(&w.j, "late", w.count[OPS_LATE]);
		json_ku64(&w.j, "missing", w.count[OPS_MISSING]);
		json_obj_end(&w.j);
		json_end(&w.j);
	} else if (rc == 0)
		printf("%" PRIu64 " units: %" PRIu64 " reported, %" PRIu64 " late, %"
		    PRIu64 " missing\n", w.count[0] + w.count[1] + w.count[2],
		    w.count[OPS_REPORTED], w.count[OPS_LATE], w.count[OPS_MISSING]);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
