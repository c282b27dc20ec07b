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
#include "treedraw.h"

struct treew {
	struct ctl     *c;
	ts_txn         *t;
	const char     *period;
	uint64_t        now;
	struct json     j;
	struct progress pg;
	uint64_t        count[3];
};

/* One unit's line: its state for the period (tree_draw's line). */
static int
tree_line(struct tree_draw *d, int u, int depth, int last)
{
	struct treew *w = d->arg;
	struct ops_unit_state st;
	char seq[32], when[32];

	if (ops_unit_state(w->c, w->t, u, w->period, w->now, &st) != 0)
		return -1;
	w->count[st.state]++;
	progress_step(&w->pg, 1);
	if (w->c->json) {
		json_obj_begin(&w->j);
		tree_draw_json_unit(d, &w->j, u, depth);
		json_kstr(&w->j, "state", ops_state_name(st.state));
		json_kbool(&w->j, "overdue", st.overdue);
		json_ku64(&w->j, "seq", st.held ? st.latest.seq : 0);
		json_ku64(&w->j, "first_ms", st.held ? st.latest.first_ms : 0);
		json_ku64(&w->j, "deadline_ms", st.deadline_ms);
		json_ku64(&w->j, "leaf_reported", st.leaf_reported);
		json_ku64(&w->j, "leaf_expected", st.leaf_expected);
		json_obj_end(&w->j);
		return 0;
	}
	tree_draw_head(d, u, depth, last);
	if (st.held) {
		snprintf(seq, sizeof(seq), "seq %" PRIu64, st.latest.seq);
		fmt_iso8601(st.latest.first_ms, when, sizeof(when));
		printf("  %-8s  %-8s  %" PRIu32 "/%" PRIu32 " communes  first %s\n",
		    st.state == OPS_LATE ? "LATE" : "reported", seq,
		    st.leaf_reported, st.leaf_expected, when);
	} else
		printf("  %-8s\n", st.overdue ? "MISSING" : "due");
	return 0;
}

int
cmd_tree(struct ctl *c, int argc, char **argv)
{
	const char *unit = NULL, *depth = NULL, *why;
	struct opt opts[] = { { "--unit", &unit, NULL },
	    { "--depth", &depth, NULL }, { NULL, NULL, NULL } };
	char *pos[1];
	struct treew w;
	struct tree_draw td;
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
	tree_draw_init(&td, c->topo, d, c->json, tree_line, &w);
	if (ops_read_begin(c, &w.t) != 0)
		return EXIT_FAIL;
	progress_start(&w.pg, "tree", tree_draw_count(&td, root));
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "unit", c->topo->units[root].code);
		json_kstr(&w.j, "period", w.period);
		json_key(&w.j, "units");
		json_arr_begin(&w.j);
	} else
		printf("period %s, as seen by %s\n", w.period, c->cfg.unit);
	rc = tree_draw_run(&td, root);
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
