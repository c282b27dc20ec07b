/*
 * tierctl topology check|show|diff: the unit tree's history
 * (include/tiersync/history.h, docs/TOPOLOGY.md, docs/TIERCTL.md).
 *
 *   check FILE [--old TREE --new TREE]   what a tree, mapping or history
 *                                        holds, after the parsers' checks
 *   show [--unit CODE] [--period P | --version V] [--depth N]
 *                                        the tree in force for P, indented
 *   diff OLD NEW [--unit CODE]           what merged, split, moved, was
 *                                        renamed or retired between two
 *                                        consecutive versions
 *
 * show and diff read a history: --history FILE, else history.tsv next
 * to node.conf's topology file.  Nothing here opens a store.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tiersync/history.h"
#include "tiersync/period.h"
#include "history_cmds.h"
#include "treedraw.h"
#include "util.h"

struct topo_opts {
	const char *history, *unit, *period, *version, *depth, *old, *new_;
};

static const char *const LEVELS[] = { "national", "province", "district",
	"commune" };
#define NLEVELS 4

/* ---- loading ----------------------------------------------------- */

static int
load_history(struct ctl *c, const char *path, ts_hist **h)
{
	char err[1024], def[TS_PATH_MAX + 16];
	const char *slash;

	if (path == NULL) {
		if (ctl_load_config(c) != 0) {
			ctl_errx("no history: give --history FILE (or -d DIR of a "
			    "node whose topology file has history.tsv beside it)");
			return -1;
		}
		slash = strrchr(c->cfg.topology, '/');
		snprintf(def, sizeof(def), "%.*shistory.tsv", slash != NULL ?
		    (int)(slash - c->cfg.topology + 1) : 0, c->cfg.topology);
		path = def;
	}
	if (ts_hist_load(h, path, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return -1;
	}
	return 0;
}

static void
count_levels(const ts_topo *t, uint64_t n[NLEVELS], uint64_t *leaves)
{
	size_t i;

	memset(n, 0, NLEVELS * sizeof(*n));
	*leaves = 0;
	for (i = 0; i < t->nunits; i++) {
		n[t->units[i].level]++;
		if (t->units[i].nchildren == 0)
			(*leaves)++;
	}
}

/* "1 national, 63 province, 696 district, 10047 commune" */
static void
print_levels(const uint64_t n[NLEVELS])
{
	int l, first = 1;

	for (l = 0; l < NLEVELS; l++)
		if (n[l] > 0) {
			printf("%s%" PRIu64 " %s", first ? "" : ", ", n[l], LEVELS[l]);
			first = 0;
		}
}

static void
json_levels(struct json *j, const char *key, const uint64_t n[NLEVELS])
{
	int l;

	json_key(j, key);
	json_obj_begin(j);
	for (l = 0; l < NLEVELS; l++)
		if (n[l] > 0)
			json_ku64(j, LEVELS[l], n[l]);
	json_obj_end(j);
}

/* ---- check ------------------------------------------------------- */

static void
check_tree_out(struct ctl *c, struct json *j, const ts_topo *t)
{
	uint64_t n[NLEVELS], leaves;

	count_levels(t, n, &leaves);
	if (c->json) {
		json_kstr(j, "version", t->version);
		json_kstr(j, "effective", t->effective);
		json_ku64(j, "units", t->nunits);
		json_levels(j, "levels", n);
		json_ku64(j, "leaves", leaves);
		return;
	}
	printf("tree %s, effective %s: %zu units (", t->version, t->effective,
	    t->nunits);
	print_levels(n);
	printf("), %" PRIu64 " leaves\n", leaves);
}

/* Lines per level and kind; with trees bound, also split old units,
 * merged new units and retired old units per level. */
static void
check_map_out(struct ctl *c, struct json *j, const ts_hist_map *m,
    const char *indent)
{
	uint64_t lines[NLEVELS][3], retired[NLEVELS], nsplit = 0, nmerged = 0;
	size_t i;
	int l;

	memset(lines, 0, sizeof(lines));
	memset(retired, 0, sizeof(retired));
	for (i = 0; i < m->nlinks; i++)
		lines[m->links[i].level][m->links[i].kind]++;
	if (m->old_t != NULL) {
		for (i = 0; i < m->old_t->nunits; i++) {
			size_t k = ts_hist_successors(m, (int)i, NULL);
			if (k == 0 && (int)i != m->old_t->root)
				retired[m->old_t->units[i].level]++;
			nsplit += k >= 2;
		}
		for (i = 0; i < m->new_t->nunits; i++)
			nmerged += ts_hist_predecessors(m, (int)i, NULL) >= 2;
	}
	if (c->json) {
		json_kstr(j, "from", m->from);
		json_kstr(j, "to", m->to);
		json_kstr(j, "effective", m->effective);
		json_ku64(j, "lines", m->nlinks);
		json_key(j, "levels");
		json_obj_begin(j);
		for (l = 0; l < NLEVELS; l++)
			if (lines[l][TS_HIST_FULL] + lines[l][TS_HIST_PARTIAL]) {
				json_key(j, LEVELS[l]);
				json_obj_begin(j);
				json_ku64(j, "full", lines[l][TS_HIST_FULL]);
				json_ku64(j, "partial", lines[l][TS_HIST_PARTIAL]);
				json_obj_end(j);
			}
		json_obj_end(j);
		json_kbool(j, "checked_against_trees", m->old_t != NULL);
		if (m->old_t != NULL) {
			json_ku64(j, "split", nsplit);
			json_ku64(j, "merged", nmerged);
			json_levels(j, "retired", retired);
		}
		return;
	}
	printf("mapping %s -> %s, effective %s: %zu lines (", m->from, m->to,
	    m->effective, m->nlinks);
	for (l = 0, i = 0; l < NLEVELS; l++)
		if (lines[l][TS_HIST_FULL] + lines[l][TS_HIST_PARTIAL]) {
			printf("%s%" PRIu64 " %s: %" PRIu64 " full, %" PRIu64
			    " partial", i++ ? "; " : "", lines[l][TS_HIST_FULL] +
			    lines[l][TS_HIST_PARTIAL], LEVELS[l],
			    lines[l][TS_HIST_FULL], lines[l][TS_HIST_PARTIAL]);
		}
	printf(")\n");
	if (m->old_t == NULL) {
		printf("%s  not checked against its trees (give --old TREE --new "
		    "TREE, or check the history)\n", indent);
		return;
	}
	printf("%s  %" PRIu64 " old units split, %" PRIu64 " new units merged "
	    "from several, retired: ", indent, nsplit, nmerged);
	for (l = 0, i = 0; l < NLEVELS; l++)
		if (retired[l] > 0)
			printf("%s%" PRIu64 " %s", i++ ? ", " : "", retired[l],
			    LEVELS[l]);
	printf("%s\n", i == 0 ? "none" : "");
}

static int
topo_check(struct ctl *c, const char *file, const struct topo_opts *o)
{
	struct json j;
	ts_topo *t = NULL, *ot = NULL, *nt = NULL;
	ts_hist_map *m = NULL;
	ts_hist *h = NULL;
	char err[1024];
	size_t i;
	int kind, bad;

	if ((kind = ts_hist_file_kind(file, err, sizeof(err))) < 0) {
		ctl_errx("%s", err);
		return EXIT_FAIL;
	}
	if (kind != TS_HIST_FILE_MAP && (o->old != NULL || o->new_ != NULL))
		return ctl_usage("--old/--new are for a mapping; %s is a %s", file,
		    kind == TS_HIST_FILE_TREE ? "tree" : "history");
	if ((o->old == NULL) != (o->new_ == NULL))
		return ctl_usage("--old and --new go together");
	/* Everything is loaded and checked before anything is printed. */
	if (kind == TS_HIST_FILE_TREE)
		bad = ts_topo_load(&t, file, err, sizeof(err)) != 0;
	else if (kind == TS_HIST_FILE_HISTORY)
		bad = ts_hist_load(&h, file, err, sizeof(err)) != 0;
	else
		bad = ts_hist_map_load(&m, file, err, sizeof(err)) != 0 ||
		    (o->old != NULL &&
		    (ts_topo_load(&ot, o->old, err, sizeof(err)) != 0 ||
		    ts_topo_load(&nt, o->new_, err, sizeof(err)) != 0 ||
		    ts_hist_map_bind(m, ot, nt, err, sizeof(err)) != 0));
	if (bad) {
		ctl_errx("%s", err);
		goto out;
	}
	json_init(&j, stdout);
	if (c->json) {
		json_obj_begin(&j);
		json_kstr(&j, "file", file);
		json_kstr(&j, "kind", kind == TS_HIST_FILE_TREE ? "tree" :
		    kind == TS_HIST_FILE_MAP ? "mapping" : "history");
	} else
		printf("%s: ", file);
	if (t != NULL)
		check_tree_out(c, &j, t);
	if (m != NULL)
		check_map_out(c, &j, m, "");
	if (h != NULL) {
		if (c->json) {
			json_key(&j, "versions");
			json_arr_begin(&j);
		} else
			printf("history of %zu versions\n", h->nversions);
		for (i = 0; i < h->nversions; i++) {
			if (c->json)
				json_obj_begin(&j);
			else
				printf("  ");
			check_tree_out(c, &j, h->v[i].tree);
			if (h->v[i].map != NULL) {
				if (c->json) {
					json_key(&j, "mapping");
					json_obj_begin(&j);
					json_kstr(&j, "file", h->v[i].map->name);
				} else
					printf("    from %s by %s:\n    ",
					    h->v[i - 1].version, h->v[i].map->name);
				check_map_out(c, &j, h->v[i].map, "    ");
				if (c->json)
					json_obj_end(&j);
			}
			if (c->json)
				json_obj_end(&j);
		}
		if (c->json)
			json_arr_end(&j);
	}
	if (c->json) {
		json_obj_end(&j);
		json_end(&j);
	}
out:
	ts_topo_free(&t);
	ts_hist_map_free(&m);
	ts_topo_free(&ot);
	ts_topo_free(&nt);
	ts_hist_free(&h);
	return bad ? EXIT_FAIL : EXIT_OK;
}

/* ---- show -------------------------------------------------------- */

struct showw {
	struct ctl  *c;
	struct json  j;
	uint64_t     n;
};

static int
show_line(struct tree_draw *d, int u, int depth, int last)
{
	struct showw *w = d->arg;
	const ts_unit *unit = &d->t->units[u];

	w->n++;
	if (w->c->json) {
		json_obj_begin(&w->j);
		tree_draw_json_unit(d, &w->j, u, depth);
		json_ku64(&w->j, "children", (uint64_t)unit->nchildren);
		json_ku64(&w->j, "leaves", unit->nleaves);
		json_obj_end(&w->j);
		return 0;
	}
	tree_draw_head(d, u, depth, last);
	if (unit->nchildren > 0)
		printf("  %-8s  %d children, %" PRIu32 " leaves\n",
		    ts_level_name(unit->level), unit->nchildren, unit->nleaves);
	else
		printf("  %s\n", ts_level_name(unit->level));
	return 0;
}

/* Code of --unit in t, or -1 after an error naming the tree. */
static int
find_unit(const ts_topo *t, const char *code)
{
	int u;

	if (code == NULL)
		return t->root;
	if (ts_valid_code(code, strlen(code)) != 0) {
		ctl_errx("--unit '%s': not a unit code (1 to %d letters or digits)",
		    code, TS_CODE_MAX);
		return -1;
	}
	if ((u = ts_topo_find(t, code)) < 0)
		ctl_errx("--unit '%s': no such unit in topology %s", code,
		    t->version);
	return u;
}

static int
topo_show(struct ctl *c, const struct topo_opts *o)
{
	struct tree_draw td;
	struct showw w;
	ts_hist *h = NULL;
	const ts_hist_version *v;
	const char *why;
	uint64_t d = TREE_DEPTH_MAX;
	int vi, root, rc;

	if (o->period != NULL && o->version != NULL)
		return ctl_usage("--period and --version exclude each other");
	if (o->period != NULL && ts_period_parse(o->period, strlen(o->period),
	    NULL) != 0) {
		ctl_errx("--period '%s': expected YYYY, YYYYQn or YYYY-MM",
		    o->period);
		return EXIT_FAIL;
	}
	if (o->depth != NULL && parse_u64(o->depth, strlen(o->depth), &d,
	    &why) != 0) {
		ctl_errx("--depth '%s' %s", o->depth, why);
		return EXIT_FAIL;
	}
	if (load_history(c, o->history, &h) != 0)
		return EXIT_FAIL;
	if (o->version != NULL) {
		if ((vi = ts_hist_find(h, o->version)) < 0) {
			ctl_errx("--version '%s': not in the history (oldest %s, "
			    "newest %s)", o->version, h->v[0].version,
			    h->v[h->nversions - 1].version);
			ts_hist_free(&h);
			return EXIT_FAIL;
		}
	} else if (o->period != NULL)
		vi = ts_hist_version_for(h, o->period);
	else
		vi = ts_hist_on_day(h, ts_period_vn_day((int64_t)ts_now_ms()));
	v = &h->v[vi];
	if ((root = find_unit(v->tree, o->unit)) < 0) {
		ts_hist_free(&h);
		return EXIT_FAIL;
	}
	memset(&w, 0, sizeof(w));
	w.c = c;
	tree_draw_init(&td, v->tree, d, c->json, show_line, &w);
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "version", v->version);
		json_kstr(&w.j, "effective", v->effective);
		json_kstr(&w.j, "period", o->period != NULL ? o->period : "");
		json_kstr(&w.j, "unit", v->tree->units[root].code);
		json_key(&w.j, "units");
		json_arr_begin(&w.j);
	} else {
		printf("topology %s (effective %s)", v->version, v->effective);
		if (o->period != NULL)
			printf(", the tree period %s is reported in", o->period);
		else if (o->version == NULL)
			printf(", in force today");
		printf("\n");
	}
	rc = tree_draw_run(&td, root);
	if (c->json) {
		json_arr_end(&w.j);
		json_ku64(&w.j, "shown", w.n);
		json_obj_end(&w.j);
		json_end(&w.j);
	} else
		printf("%" PRIu64 " units shown\n", w.n);
	ts_hist_free(&h);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---- diff -------------------------------------------------------- */

struct diffw {
	struct ctl        *c;
	const ts_hist_map *m;
	const ts_topo     *ot, *nt;
	uint8_t           *old_in, *new_in;
	struct json        j;
};

enum { D_MERGED, D_SPLIT, D_MOVED, D_RENAMED, D_RETIRED, D_UNCHANGED, D_N };
static const char *const DIFF_NAMES[D_N] = { "merged", "split", "moved",
	"renamed", "retired", "unchanged" };

static const ts_hist_link *
link_at(const struct diffw *w, int i)
{
	return &w->m->links[i];
}

/* The nearest proper ancestor of old unit u that has successors (the
 * root if none does): what u's parent "became". */
static int
mapped_ancestor(const struct diffw *w, int u)
{
	int a = w->ot->units[u].parent;

	while (a >= 0 && a != w->ot->root && ts_hist_successors(w->m, a, NULL) == 0)
		a = w->ot->units[a].parent;
	return a;
}

/* 1 if new unit n's parent is not what old unit u's parent became. */
static int
moved(const struct diffw *w, int u, int n, int *expect)
{
	const int *s;
	size_t k, i;
	int a = mapped_ancestor(w, u), np = w->nt->units[n].parent;

	*expect = -1;
	if (a < 0 || np < 0)
		return 0;
	if (a == w->ot->root) {
		*expect = w->nt->root;
		return np != w->nt->root;
	}
	k = ts_hist_successors(w->m, a, &s);
	for (i = 0; i < k; i++)
		if (link_at(w, s[i])->new_u == np)
			return 0;
	if (k > 0)
		*expect = link_at(w, s[0])->new_u;
	return 1;
}

static void
unit_ref(struct diffw *w, const ts_topo *t, int u, const char *kind)
{
	if (w->c->json) {
		json_obj_begin(&w->j);
		json_kstr(&w->j, "code", t->units[u].code);
		json_kstr(&w->j, "name", t->units[u].name);
		if (kind != NULL)
			json_kstr(&w->j, "kind", kind);
		json_obj_end(&w->j);
	} else
		printf("%s %s%s%s%s", t->units[u].code, t->units[u].name,
		    kind != NULL ? " (" : "", kind != NULL ? kind : "",
		    kind != NULL ? ")" : "");
}

/* One merged or split line: unit u of t (the new tree for a merge, the
 * old for a split) and the units its links l[0..k) name on the other
 * side, a merge's partial predecessors marked. */
static void
diff_entry(struct diffw *w, const char *label, const char *arrow,
    const char *key, const ts_topo *t, int u, const int *l, size_t k)
{
	const ts_hist_link *ln;
	int merge = t == w->nt;
	size_t x;

	if (w->c->json) {
		json_obj_begin(&w->j);
		json_kstr(&w->j, "code", t->units[u].code);
		json_kstr(&w->j, "name", t->units[u].name);
		json_kstr(&w->j, "level", ts_level_name(t->units[u].level));
		json_key(&w->j, key);
		json_arr_begin(&w->j);
	} else
		printf("%-9s %s %s %s ", label, t->units[u].code, t->units[u].name,
		    arrow);
	for (x = 0; x < k; x++) {
		ln = link_at(w, l[x]);
		if (!w->c->json && x > 0)
			printf(", ");
		unit_ref(w, merge ? w->ot : w->nt, merge ? ln->old_u : ln->new_u,
		    merge && ln->kind == TS_HIST_PARTIAL ? "partial" : NULL);
	}
	if (w->c->json) {
		json_arr_end(&w->j);
		json_obj_end(&w->j);
	} else
		printf("\n");
}

/* With --json, on the printing pass: close the list before (close), open
 * the list `key` (NULL: none). */
static void
section(struct diffw *w, int pass, int close, const char *key)
{
	if (!pass || !w->c->json)
		return;
	if (close)
		json_arr_end(&w->j);
	if (key != NULL) {
		json_key(&w->j, key);
		json_arr_begin(&w->j);
	}
}

/* merged: new units with two or more predecessors (merge), or split:
 * old units with two or more successors; counted or printed. */
static void
diff_many(struct diffw *w, int pass, uint64_t *cnt, int merge)
{
	const ts_topo *t = merge ? w->nt : w->ot;
	const uint8_t *in = merge ? w->new_in : w->old_in;
	const int *l;
	size_t i, k;

	for (i = 0; i < t->nunits; i++) {
		if (!in[i])
			continue;
		k = merge ? ts_hist_predecessors(w->m, (int)i, &l) :
		    ts_hist_successors(w->m, (int)i, &l);
		if (k < 2)
			continue;
		if (!pass)
			(*cnt)++;
		else
			diff_entry(w, merge ? "merged" : "split", merge ? "<-" : "->",
			    merge ? "from" : "into", t, (int)i, l, k);
	}
}

/* Open the JSON object of old unit u going to new unit n. */
static void
pair_begin(struct diffw *w, int u, int n)
{
	json_obj_begin(&w->j);
	json_kstr(&w->j, "code", w->ot->units[u].code);
	json_kstr(&w->j, "name", w->ot->units[u].name);
	json_kstr(&w->j, "new_code", w->nt->units[n].code);
}

/* Classify (counts only when pass == 0, print when pass == 1). */
static void
diff_pass(struct diffw *w, int pass, uint64_t cnt[D_N])
{
	const ts_topo *ot = w->ot, *nt = w->nt;
	const int *s;
	size_t i, k, x;
	int n, e;

	section(w, pass, 0, "merged");
	diff_many(w, pass, &cnt[D_MERGED], 1);
	section(w, pass, 1, "split");
	diff_many(w, pass, &cnt[D_SPLIT], 0);
	section(w, pass, 1, "moved");
	/* moved: a successor whose parent is not what the old parent became */
	for (i = 0; i < ot->nunits; i++) {
		if (!w->old_in[i])
			continue;
		k = ts_hist_successors(w->m, (int)i, &s);
		for (x = 0; x < k; x++) {
			n = link_at(w, s[x])->new_u;
			if (!moved(w, (int)i, n, &e))
				continue;
			if (!pass) {
				cnt[D_MOVED]++;
				continue;
			}
			if (w->c->json) {
				pair_begin(w, (int)i, n);
				json_kstr(&w->j, "old_parent",
				    ot->units[ot->units[i].parent].code);
				json_kstr(&w->j, "new_parent",
				    nt->units[nt->units[n].parent].code);
				json_kstr(&w->j, "expected_parent", e >= 0 ?
				    nt->units[e].code : "");
				json_obj_end(&w->j);
			} else
				printf("moved     %s %s -> %s: under %s %s, not %s\n",
				    ot->units[i].code, ot->units[i].name,
				    nt->units[n].code,
				    nt->units[nt->units[n].parent].code,
				    nt->units[nt->units[n].parent].name,
				    e >= 0 ? nt->units[e].code : "-");
		}
	}
	section(w, pass, 1, "renamed");
	/* renamed / unchanged: one old unit to one new, alone */
	for (i = 0; i < ot->nunits; i++) {
		if (!w->old_in[i] || ts_hist_successors(w->m, (int)i, &s) != 1)
			continue;
		n = link_at(w, s[0])->new_u;
		if (ts_hist_predecessors(w->m, n, NULL) != 1)
			continue;
		if (strcmp(ot->units[i].name, nt->units[n].name) == 0 &&
		    strcmp(ot->units[i].code, nt->units[n].code) == 0) {
			cnt[D_UNCHANGED] += !pass && !moved(w, (int)i, n, &e);
			continue;
		}
		if (!pass) {
			cnt[D_RENAMED]++;
			continue;
		}
		if (w->c->json) {
			pair_begin(w, (int)i, n);
			json_kstr(&w->j, "new_name", nt->units[n].name);
			json_obj_end(&w->j);
		} else
			printf("renamed   %s %s -> %s %s\n", ot->units[i].code,
			    ot->units[i].name, nt->units[n].code, nt->units[n].name);
	}
	section(w, pass, 1, "retired");
	/* retired: no successor (a district: its children now under what
	 * the district's parent became) */
	for (i = 0; i < ot->nunits; i++) {
		int a;

		if (!w->old_in[i] || (int)i == ot->root ||
		    ts_hist_successors(w->m, (int)i, NULL) != 0)
			continue;
		if (!pass) {
			cnt[D_RETIRED]++;
			continue;
		}
		a = mapped_ancestor(w, (int)i);
		k = a >= 0 && a != ot->root ? ts_hist_successors(w->m, a, &s) : 0;
		if (w->c->json) {
			json_obj_begin(&w->j);
			json_kstr(&w->j, "code", ot->units[i].code);
			json_kstr(&w->j, "name", ot->units[i].name);
			json_kstr(&w->j, "level", ts_level_name(ot->units[i].level));
			json_ku64(&w->j, "children", (uint64_t)ot->units[i].nchildren);
			json_key(&w->j, "children_under");
			json_arr_begin(&w->j);
			for (x = 0; x < k; x++)
				json_str(&w->j, nt->units[link_at(w, s[x])->new_u].code);
			if (a == ot->root)
				json_str(&w->j, nt->units[nt->root].code);
			json_arr_end(&w->j);
			json_obj_end(&w->j);
			continue;
		}
		printf("retired   %s %s (%s, %d children, now under ",
		    ot->units[i].code, ot->units[i].name,
		    ts_level_name(ot->units[i].level), ot->units[i].nchildren);
		for (x = 0; x < k; x++) {
			printf("%s", x > 0 ? ", " : "");
			unit_ref(w, nt, link_at(w, s[x])->new_u, NULL);
		}
		if (a == ot->root)
			unit_ref(w, nt, nt->root, NULL);
		printf(")\n");
	}
	section(w, pass, 1, NULL);
}

/* Mark the subtree of u in the old tree (old) or the new one, and the
 * units its links reach on the other side. */
static void
scope_side(struct diffw *w, int u, int old)
{
	const ts_topo *t = old ? w->ot : w->nt;
	uint8_t *in = old ? w->old_in : w->new_in;
	uint8_t *other = old ? w->new_in : w->old_in;
	const int *l;
	size_t i, k, x;

	for (i = 0; i < t->nunits; i++) {
		if (!ts_topo_in_subtree(t, (int)i, u))
			continue;
		in[i] = 1;
		k = old ? ts_hist_successors(w->m, (int)i, &l) :
		    ts_hist_predecessors(w->m, (int)i, &l);
		for (x = 0; x < k; x++)
			other[old ? link_at(w, l[x])->new_u :
			    link_at(w, l[x])->old_u] = 1;
	}
}

/* Which old and new units the diff covers: the subtree of --unit in
 * OLD (and their successors) or, if OLD lacks it, in NEW (and their
 * predecessors); everything without --unit. */
static int
diff_scope(struct diffw *w, const char *code, const char **where)
{
	const ts_topo *ot = w->ot, *nt = w->nt;
	int u;

	*where = "";
	if (code == NULL) {
		memset(w->old_in, 1, ot->nunits);
		memset(w->new_in, 1, nt->nunits);
		return 0;
	}
	if (ts_valid_code(code, strlen(code)) != 0) {
		ctl_errx("--unit '%s': not a unit code (1 to %d letters or digits)",
		    code, TS_CODE_MAX);
		return -1;
	}
	if ((u = ts_topo_find(ot, code)) >= 0) {
		*where = ot->version;
		scope_side(w, u, 1);
		return 0;
	}
	if ((u = ts_topo_find(nt, code)) >= 0) {
		*where = nt->version;
		scope_side(w, u, 0);
		return 0;
	}
	ctl_errx("--unit '%s': no such unit in %s nor in %s", code, ot->version,
	    nt->version);
	return -1;
}

static int
topo_diff(struct ctl *c, const char *from, const char *to,
    const struct topo_opts *o)
{
	struct diffw w;
	ts_hist *h = NULL;
	uint64_t cnt[D_N], nold = 0, nnew = 0;
	const char *where;
	size_t i;
	int a, b, d, rc = EXIT_FAIL;

	memset(&w, 0, sizeof(w));
	if (load_history(c, o->history, &h) != 0)
		return EXIT_FAIL;
	if ((a = ts_hist_find(h, from)) < 0 || (b = ts_hist_find(h, to)) < 0) {
		ctl_errx("%s '%s': not in the history (versions: %s ... %s)",
		    a < 0 ? "OLD" : "NEW", a < 0 ? from : to, h->v[0].version,
		    h->v[h->nversions - 1].version);
		goto out;
	}
	if (b != a + 1) {
		ctl_errx("diff %s %s: NEW must be the version right after OLD "
		    "(%s); diffs across several versions are not supported yet",
		    from, to, a + 1 < (int)h->nversions ? h->v[a + 1].version :
		    "none: OLD is the newest");
		goto out;
	}
	w.c = c;
	w.m = h->v[b].map;
	w.ot = h->v[a].tree;
	w.nt = h->v[b].tree;
	if ((w.old_in = calloc(w.ot->nunits, 1)) == NULL ||
	    (w.new_in = calloc(w.nt->nunits, 1)) == NULL) {
		ctl_errx("out of memory");
		goto out;
	}
	if (diff_scope(&w, o->unit, &where) != 0)
		goto out;
	for (i = 0; i < w.ot->nunits; i++)
		nold += w.old_in[i];
	for (i = 0; i < w.nt->nunits; i++)
		nnew += w.new_in[i];
	memset(cnt, 0, sizeof(cnt));
	diff_pass(&w, 0, cnt);
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "from", w.ot->version);
		json_kstr(&w.j, "to", w.nt->version);
		json_kstr(&w.j, "effective", w.nt->effective);
		json_kstr(&w.j, "mapping", w.m->name);
		json_kstr(&w.j, "unit", o->unit != NULL ? o->unit : "");
		json_kstr(&w.j, "unit_in", where);
		json_key(&w.j, "counts");
		json_obj_begin(&w.j);
		json_ku64(&w.j, "old_units", nold);
		json_ku64(&w.j, "new_units", nnew);
		for (d = 0; d < D_N; d++)
			json_ku64(&w.j, DIFF_NAMES[d], cnt[d]);
		json_obj_end(&w.j);
	} else {
		printf("topology %s -> %s (effective %s, mapping %s)", from, to,
		    w.nt->effective, w.m->name);
		if (o->unit != NULL)
			printf(", unit %s of %s", o->unit, where);
		printf("\n");
	}
	diff_pass(&w, 1, cnt);
	if (c->json) {
		json_obj_end(&w.j);
		json_end(&w.j);
	} else {
		printf("%" PRIu64 " old units -> %" PRIu64 " new units:", nold, nnew);
		for (d = 0; d < D_N; d++)
			printf(" %" PRIu64 " %s%s", cnt[d], DIFF_NAMES[d],
			    d + 1 < D_N ? "," : "\n");
	}
	rc = EXIT_OK;
out:
	free(w.old_in);
	free(w.new_in);
	ts_hist_free(&h);
	return rc;
}

/* ---- dispatch ---------------------------------------------------- */

int
cmd_topology(struct ctl *c, int argc, char **argv)
{
	struct topo_opts o;
	struct opt opts[] = { { "--history", &o.history, NULL },
	    { "--unit", &o.unit, NULL }, { "--period", &o.period, NULL },
	    { "--version", &o.version, NULL }, { "--depth", &o.depth, NULL },
	    { "--old", &o.old, NULL }, { "--new", &o.new_, NULL },
	    { NULL, NULL, NULL } };
	char *pos[3];
	int npos, rc;

	memset(&o, 0, sizeof(o));
	if ((rc = opt_parse(c, argc, argv, opts, pos, 0, 3, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (npos == 0)
		return ctl_usage("missing subcommand (check, show or diff)");
	if (strcmp(pos[0], "check") == 0) {
		if (npos != 2)
			return ctl_usage("check takes one FILE");
		if (o.history || o.unit || o.period || o.version || o.depth)
			return ctl_usage("check takes only FILE [--old TREE --new TREE]");
		return topo_check(c, pos[1], &o);
	}
	if (o.old != NULL || o.new_ != NULL)
		return ctl_usage("--old/--new are for check");
	if (strcmp(pos[0], "show") == 0) {
		if (npos != 1)
			return ctl_usage("show takes no positional argument");
		return topo_show(c, &o);
	}
	if (strcmp(pos[0], "diff") == 0) {
		if (npos != 3)
			return ctl_usage("diff takes OLD NEW (two versions)");
		if (o.period || o.version || o.depth)
			return ctl_usage("diff takes only OLD NEW [--unit CODE] "
			    "[--history FILE]");
		return topo_diff(c, pos[1], pos[2], &o);
	}
	return ctl_usage("unknown subcommand '%s' (want check, show or diff)",
	    pos[0]);
}
