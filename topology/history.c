/*
 * The unit tree's history: reform mappings and history files, their
 * strict parsers, the checks of a mapping against its two trees, and
 * the one rule "a period is reported in the tree in force on its last
 * day" (include/tiersync/history.h, docs/TOPOLOGY.md).  Like the tree
 * parser: every failure is "file:line: what" and leaves nothing behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/history.h"
#include "tiersync/period.h"
#include "fields.h"

/* A mapping or history file larger than this is refused, and a mapping
 * of more lines (the 2025 reform has 10,677): links are sized from the
 * line count before parsing. */
#define HIST_FILE_MAX	((size_t)64 << 20)
#define HIST_LINES_MAX	((size_t)1 << 20)
#define HIST_VERSIONS_MAX 1024

static const char TREE_HEADER[] = "code\tlevel\tparent\tname";
static const char MAP_HEADER[] = "level\told_code\tnew_code\tkind";
static const char HIST_HEADER[] = "version\teffective\ttree\tmapping";

const char *
ts_hist_kind_name(int kind)
{
	return kind == TS_HIST_FULL ? "full" : kind == TS_HIST_PARTIAL ?
	    "partial" : "?";
}

static void
copy_field(char *dst, const ts_field *f)
{
	memcpy(dst, f->p, f->len);
	dst[f->len] = '\0';
}

/* ---- mapping: parse ---------------------------------------------- */

void
ts_hist_map_free(ts_hist_map **mp)
{
	ts_hist_map *m;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	free(m->links);
	free(m->succ_off);
	free(m->succ);
	free(m->pred_off);
	free(m->pred);
	free(m);
	*mp = NULL;
}

/* Directive line of a mapping: !from, !to, !effective. */
static int
map_directive(ts_hist_map *m, ts_field *fv, size_t nf, size_t ln,
    char *err, size_t errlen)
{
	char	 b1[64];
	size_t	*seen;
	char	*dst;
	int	 date = 0;

	if (tp_feq(&fv[0], "!from")) {
		seen = &m->from_line;
		dst = m->from;
	} else if (tp_feq(&fv[0], "!to")) {
		seen = &m->to_line;
		dst = m->to;
	} else if (tp_feq(&fv[0], "!effective")) {
		seen = &m->eff_line;
		dst = m->effective;
		date = 1;
	} else
		return tp_perr(err, errlen, m->name, ln, "unknown directive '%s' "
		    "(want !from, !to or !effective)", tp_show(&fv[0], b1,
		    sizeof(b1)));
	if (*seen != 0)
		return tp_perr(err, errlen, m->name, ln, "duplicate %.*s (first "
		    "at line %zu)", (int)fv[0].len, fv[0].p, *seen);
	if (m->nlinks > 0)
		return tp_perr(err, errlen, m->name, ln, "%.*s after the first "
		    "mapping line", (int)fv[0].len, fv[0].p);
	if (nf != 2)
		return tp_perr(err, errlen, m->name, ln, "%.*s: %zu fields, want "
		    "2 (directive<TAB>value)", (int)fv[0].len, fv[0].p, nf);
	if (date && !tp_valid_date(&fv[1]))
		return tp_perr(err, errlen, m->name, ln, "bad !effective date "
		    "'%s' (want YYYY-MM-DD)", tp_show(&fv[1], b1, sizeof(b1)));
	if (!date && !tp_valid_version(&fv[1]))
		return tp_perr(err, errlen, m->name, ln, "bad %.*s '%s' (want a "
		    "topology version: 1..%d of [0-9A-Za-z._-])", (int)fv[0].len,
		    fv[0].p, tp_show(&fv[1], b1, sizeof(b1)), TS_TOPO_MAX);
	copy_field(dst, &fv[1]);
	*seen = ln;
	return 0;
}

static int
map_link(ts_hist_map *m, ts_field *fv, size_t ln, char *err,
    size_t errlen)
{
	ts_hist_link *l = &m->links[m->nlinks];
	char	 b1[64];
	int	 i, lvl = -1;

	for (i = TS_LVL_NATIONAL; i <= TS_LVL_COMMUNE; i++)
		if (tp_feq(&fv[0], ts_level_name(i)))
			lvl = i;
	if (lvl == TS_LVL_NATIONAL)
		return tp_perr(err, errlen, m->name, ln, "level 'national': the "
		    "roots map to each other implicitly, list no line for them");
	if (lvl < 0)
		return tp_perr(err, errlen, m->name, ln, "unknown level '%s' (want "
		    "province, district or commune)", tp_show(&fv[0], b1,
		    sizeof(b1)));
	if (ts_valid_code(fv[1].p, fv[1].len) != 0)
		return tp_perr(err, errlen, m->name, ln, "invalid old code '%s' "
		    "(want 1..%d of [0-9A-Za-z])", tp_show(&fv[1], b1,
		    sizeof(b1)), TS_CODE_MAX);
	if (ts_valid_code(fv[2].p, fv[2].len) != 0)
		return tp_perr(err, errlen, m->name, ln, "invalid new code '%s' "
		    "(want 1..%d of [0-9A-Za-z])", tp_show(&fv[2], b1,
		    sizeof(b1)), TS_CODE_MAX);
	if (tp_feq(&fv[3], "full"))
		l->kind = TS_HIST_FULL;
	else if (tp_feq(&fv[3], "partial"))
		l->kind = TS_HIST_PARTIAL;
	else
		return tp_perr(err, errlen, m->name, ln, "unit '%.*s': unknown "
		    "kind '%s' (want full or partial)", (int)fv[1].len, fv[1].p,
		    tp_show(&fv[3], b1, sizeof(b1)));
	copy_field(l->old_code, &fv[1]);
	copy_field(l->new_code, &fv[2]);
	l->level = lvl;
	l->line = ln;
	l->old_u = l->new_u = -1;
	m->nlinks++;
	return 0;
}

static int
by_old_line(const void *a, const void *b)
{
	const ts_hist_link *x = *(ts_hist_link *const *)a;
	const ts_hist_link *y = *(ts_hist_link *const *)b;
	int c = strcmp(x->old_code, y->old_code);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* What is wrong with the links of one old unit (g[0..n), line order),
 * as the line at fault and its message; 0 if nothing. */
static size_t
group_fault(ts_hist_link **g, size_t n, char *msg, size_t msglen)
{
	size_t	i, k, nfull = 0;

	for (i = 1; i < n; i++)
		for (k = 0; k < i; k++)
			if (strcmp(g[i]->new_code, g[k]->new_code) == 0) {
				snprintf(msg, msglen, "duplicate line '%s' -> '%s' "
				    "(first at line %zu)", g[i]->old_code,
				    g[i]->new_code, g[k]->line);
				return g[i]->line;
			}
	for (i = 0; i < n; i++) {
		if (g[i]->kind != TS_HIST_FULL)
			continue;
		if (++nfull > 1) {
			for (k = 0; g[k]->kind != TS_HIST_FULL; k++)
				;
			snprintf(msg, msglen, "old unit '%s' mapped full again, to "
			    "'%s' (full to '%s' at line %zu): full means its only "
			    "successor", g[i]->old_code, g[i]->new_code,
			    g[k]->new_code, g[k]->line);
			return g[i]->line;
		}
	}
	if (nfull == 1 && n > 1) {
		for (k = 0; g[k]->kind != TS_HIST_FULL; k++)
			;
		i = k == 0 ? 1 : 0;
		if (g[k]->line > g[i]->line) {	/* report the later line */
			size_t t = i;
			i = k;
			k = t;
		}
		snprintf(msg, msglen, "old unit '%s' mapped %s to '%s' and %s to "
		    "'%s' at line %zu: full means its only successor",
		    g[i]->old_code, ts_hist_kind_name(g[i]->kind),
		    g[i]->new_code, ts_hist_kind_name(g[k]->kind),
		    g[k]->new_code, g[k]->line);
		return g[i]->line;
	}
	if (nfull == 0 && n == 1) {
		snprintf(msg, msglen, "old unit '%s' mapped partial to '%s' only: "
		    "a split needs two or more successors (full if it went "
		    "whole)", g[0]->old_code, g[0]->new_code);
		return g[0]->line;
	}
	return 0;
}

/* Cross-line checks, the earliest line at fault reported. */
static int
map_cross(ts_hist_map *m, char *err, size_t errlen)
{
	ts_hist_link **ix;
	char	 msg[512], best[512];
	size_t	 i, j, line, bestline = 0;

	if (m->nlinks == 0)
		return 0;
	if ((ix = malloc(m->nlinks * sizeof(*ix))) == NULL)
		return TS_ENOMEM;
	for (i = 0; i < m->nlinks; i++)
		ix[i] = &m->links[i];
	qsort(ix, m->nlinks, sizeof(*ix), by_old_line);
	for (i = 0; i < m->nlinks; i = j) {
		for (j = i + 1; j < m->nlinks &&
		    strcmp(ix[j]->old_code, ix[i]->old_code) == 0; j++)
			;
		line = group_fault(ix + i, j - i, msg, sizeof(msg));
		if (line != 0 && (bestline == 0 || line < bestline)) {
			bestline = line;
			memcpy(best, msg, sizeof(best));
		}
	}
	free(ix);
	if (bestline != 0)
		return tp_perr(err, errlen, m->name, bestline, "%s", best);
	return 0;
}

int
ts_hist_map_parse(ts_hist_map **mp, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	ts_lines rd;
	ts_field fv[4];
	ts_hist_map *m;
	const char *p;
	size_t	 llen, nf, nlines, hline = 0;
	int	 rc;

	if (mp == NULL)
		return TS_EINVAL;
	*mp = NULL;
	if ((rc = tp_parse_start(text, len, err, errlen)) != 0)
		return rc;
	if (name == NULL)
		name = "mapping";
	nlines = tp_count_lines(text, len);
	if (nlines > HIST_LINES_MAX)
		return tp_perr(err, errlen, name, nlines, "too many lines "
		    "(limit %zu)", HIST_LINES_MAX);
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->links = calloc(nlines, sizeof(*m->links))) == NULL) {
		ts_hist_map_free(&m);
		return TS_ENOMEM;
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	ts_lines_init(&rd, text, len);
	while ((rc = tp_next_line(&rd, m->name, &p, &llen, err, errlen)) == 1) {
		nf = ts_tsv_split(p, llen, fv, 4);
		if (p[0] == '!') {
			if ((rc = map_directive(m, fv, nf, rd.line, err, errlen)) != 0)
				goto fail;
			continue;
		}
		if (llen == sizeof(MAP_HEADER) - 1 &&
		    memcmp(p, MAP_HEADER, llen) == 0) {
			if (hline != 0) {
				rc = tp_perr(err, errlen, m->name, rd.line,
				    "duplicate header line (first at line %zu)",
				    hline);
				goto fail;
			}
			hline = rd.line;
			continue;
		}
		if (hline == 0) {
			rc = tp_perr(err, errlen, m->name, rd.line, "missing header "
			    "line 'level<TAB>old_code<TAB>new_code<TAB>kind' "
			    "before the first mapping line");
			goto fail;
		}
		if (m->from_line == 0 || m->to_line == 0 || m->eff_line == 0) {
			rc = tp_perr(err, errlen, m->name, rd.line, "missing %s "
			    "before the first mapping line", m->from_line == 0 ?
			    "!from" : m->to_line == 0 ? "!to" : "!effective");
			goto fail;
		}
		if (nf != 4) {
			rc = tp_perr(err, errlen, m->name, rd.line, "%zu fields, "
			    "want 4 (level<TAB>old_code<TAB>new_code<TAB>kind)", nf);
			goto fail;
		}
		if ((rc = map_link(m, fv, rd.line, err, errlen)) != 0)
			goto fail;
	}
	if (rc != 0)
		goto fail;
	m->lastline = rd.line > 0 ? rd.line : 1;
	if (m->nlinks == 0) {
		rc = tp_perr(err, errlen, m->name, m->lastline, "no mapping "
		    "lines%s", m->from_line == 0 ? " (and missing !from)" :
		    m->to_line == 0 ? " (and missing !to)" : m->eff_line == 0 ?
		    " (and missing !effective)" : hline == 0 ?
		    " (and missing header line)" : "");
		goto fail;
	}
	if ((rc = map_cross(m, err, errlen)) != 0)
		goto fail;
	*mp = m;
	return 0;
fail:
	ts_hist_map_free(&m);
	return rc;
}

/* Read path whole and parse it: a mapping into *(ts_hist_map **)out
 * when dir is NULL, else a history into *(ts_hist **)out. */
static int
load_file(void *out, const char *path, const char *dir, char *err,
    size_t errlen)
{
	char	*buf = NULL;
	size_t	 len = 0;
	int	 rc;

	if ((rc = ts_file_read(path, HIST_FILE_MAX, &buf, &len, err, errlen)) != 0)
		return rc;
	rc = dir == NULL ? ts_hist_map_parse(out, path, buf, len, err, errlen) :
	    ts_hist_parse(out, path, buf, len, dir, err, errlen);
	free(buf);
	return rc;
}

int
ts_hist_map_load(ts_hist_map **mp, const char *path, char *err, size_t errlen)
{
	if (mp == NULL || path == NULL)
		return TS_EINVAL;
	*mp = NULL;
	return load_file(mp, path, NULL, err, errlen);
}

/* ---- mapping: bind to the trees ---------------------------------- */

static void
unbind(ts_hist_map *m)
{
	size_t	i;

	free(m->succ_off);
	free(m->succ);
	free(m->pred_off);
	free(m->pred);
	m->succ_off = m->succ = m->pred_off = m->pred = NULL;
	m->old_t = m->new_t = NULL;
	for (i = 0; i < m->nlinks; i++)
		m->links[i].old_u = m->links[i].new_u = -1;
}

/* Index lists: off[u]..off[u+1] are the links of unit u (file order). */
static int
index_links(const ts_hist_map *m, size_t nunits, int use_old, int **offp,
    int **idxp)
{
	int	*off, *idx, *fill, u;
	size_t	 i;

	off = calloc(nunits + 1, sizeof(*off));
	idx = malloc((m->nlinks > 0 ? m->nlinks : 1) * sizeof(*idx));
	fill = calloc(nunits + 1, sizeof(*fill));
	if (off == NULL || idx == NULL || fill == NULL) {
		free(off);
		free(idx);
		free(fill);
		return TS_ENOMEM;
	}
	for (i = 0; i < m->nlinks; i++)
		off[(use_old ? m->links[i].old_u : m->links[i].new_u) + 1]++;
	for (i = 0; i < nunits; i++)
		off[i + 1] += off[i];
	for (i = 0; i < m->nlinks; i++) {
		u = use_old ? m->links[i].old_u : m->links[i].new_u;
		idx[off[u] + fill[u]++] = (int)i;
	}
	free(fill);
	*offp = off;
	*idxp = idx;
	return 0;
}

int
ts_hist_map_bind(ts_hist_map *m, const ts_topo *ot, const ts_topo *nt,
    char *err, size_t errlen)
{
	ts_hist_link *l;
	int	 has_level[TS_LVL_COMMUNE + 1] = { 0 };
	size_t	 i;
	int	 rc;

	if (m == NULL || ot == NULL || nt == NULL)
		return TS_EINVAL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	unbind(m);
	if (strcmp(m->from, ot->version) != 0)
		return tp_perr(err, errlen, m->name, m->from_line, "!from is "
		    "'%s' but the old tree is '%s'", m->from, ot->version);
	if (strcmp(m->to, nt->version) != 0)
		return tp_perr(err, errlen, m->name, m->to_line, "!to is '%s' "
		    "but the new tree is '%s'", m->to, nt->version);
	if (strcmp(m->effective, nt->effective) != 0)
		return tp_perr(err, errlen, m->name, m->eff_line, "!effective "
		    "is %s but %s is effective %s", m->effective, nt->version,
		    nt->effective);
	for (i = 0; i < m->nlinks; i++) {
		const ts_unit *ou, *nu;

		l = &m->links[i];
		if ((l->old_u = ts_topo_find(ot, l->old_code)) < 0) {
			rc = tp_perr(err, errlen, m->name, l->line, "old unit "
			    "'%s' is not in %s", l->old_code, ot->version);
			goto fail;
		}
		if ((l->new_u = ts_topo_find(nt, l->new_code)) < 0) {
			rc = tp_perr(err, errlen, m->name, l->line, "new unit "
			    "'%s' is not in %s", l->new_code, nt->version);
			goto fail;
		}
		ou = &ot->units[l->old_u];
		nu = &nt->units[l->new_u];
		if (nu->level != l->level) {
			rc = tp_perr(err, errlen, m->name, l->line, "new unit "
			    "'%s' is a %s in %s, the line says %s", l->new_code,
			    ts_level_name(nu->level), nt->version,
			    ts_level_name(l->level));
			goto fail;
		}
		if (ou->level != l->level && ou->nchildren > 0) {
			rc = tp_perr(err, errlen, m->name, l->line, "old unit "
			    "'%s' is a %s with %d children in %s, the line says "
			    "%s (only a leaf may change level)", l->old_code,
			    ts_level_name(ou->level), ou->nchildren, ot->version,
			    ts_level_name(l->level));
			goto fail;
		}
	}
	m->old_t = ot;
	m->new_t = nt;
	if ((rc = index_links(m, ot->nunits, 1, &m->succ_off, &m->succ)) != 0 ||
	    (rc = index_links(m, nt->nunits, 0, &m->pred_off, &m->pred)) != 0)
		goto fail;
	for (i = 0; i < nt->nunits; i++)
		has_level[nt->units[i].level] = 1;
	for (i = 0; i < ot->nunits; i++) {
		const ts_unit *u = &ot->units[i];

		if ((int)i == ot->root || m->succ_off[i + 1] > m->succ_off[i])
			continue;
		if (u->nchildren == 0 || has_level[u->level]) {
			rc = tp_perr(err, errlen, m->name, m->lastline, "old %s "
			    "'%s' (%s) of %s is not mapped: a mapping must not "
			    "lose a unit", ts_level_name(u->level), u->code,
			    u->name, ot->version);
			goto fail;
		}
	}
	for (i = 0; i < nt->nunits; i++) {
		const ts_unit *u = &nt->units[i];

		if ((int)i != nt->root && m->pred_off[i + 1] == m->pred_off[i]) {
			rc = tp_perr(err, errlen, m->name, m->lastline, "new %s "
			    "'%s' (%s) of %s has no predecessor",
			    ts_level_name(u->level), u->code, u->name,
			    nt->version);
			goto fail;
		}
	}
	return 0;
fail:
	unbind(m);
	return rc;
}

static size_t
links_of(const int *off, const int *idx, const ts_topo *t, int u,
    const int **out)
{
	*out = NULL;
	if (off == NULL || t == NULL || u < 0 || (size_t)u >= t->nunits ||
	    off[u + 1] == off[u])
		return 0;
	*out = idx + off[u];
	return (size_t)(off[u + 1] - off[u]);
}

size_t
ts_hist_successors(const ts_hist_map *m, int old_u, const int **out)
{
	const int *dummy;

	if (out == NULL)
		out = &dummy;
	if (m == NULL) {
		*out = NULL;
		return 0;
	}
	return links_of(m->succ_off, m->succ, m->old_t, old_u, out);
}

size_t
ts_hist_predecessors(const ts_hist_map *m, int new_u, const int **out)
{
	const int *dummy;

	if (out == NULL)
		out = &dummy;
	if (m == NULL) {
		*out = NULL;
		return 0;
	}
	return links_of(m->pred_off, m->pred, m->new_t, new_u, out);
}

/* ---- history ----------------------------------------------------- */

void
ts_hist_free(ts_hist **hp)
{
	ts_hist	*h;
	size_t	 i;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	for (i = 0; i < h->nversions; i++) {
		ts_hist_map_free(&h->v[i].map);
		ts_topo_free(&h->v[i].tree);
	}
	free(h->v);
	free(h);
	*hp = NULL;
}

static int
join_path(char *out, size_t outlen, const char *dir, const ts_field *f)
{
	int	n;

	if (f->len > 0 && f->p[0] == '/')
		n = snprintf(out, outlen, "%.*s", (int)f->len, f->p);
	else
		n = snprintf(out, outlen, "%s/%.*s", dir != NULL && *dir ? dir :
		    ".", (int)f->len, f->p);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int32_t
date_day(const char *d)
{
	int	y = atoi(d);
	unsigned m = (unsigned)((d[5] - '0') * 10 + (d[6] - '0'));
	unsigned dd = (unsigned)((d[8] - '0') * 10 + (d[9] - '0'));

	return ts_period_from_civil(y, m, dd);
}

/* One version line: its fields checked, its tree and mapping loaded. */
static int
hist_line(ts_hist *h, const char *name, const char *dir,
    ts_field *fv, size_t ln, char *err, size_t errlen)
{
	ts_hist_version *v = &h->v[h->nversions], *prev;
	char	 b1[64], path[TS_HIST_PATH_MAX];
	size_t	 i;
	int	 rc;

	prev = h->nversions > 0 ? &h->v[h->nversions - 1] : NULL;
	if (!tp_valid_version(&fv[0]))
		return tp_perr(err, errlen, name, ln, "bad version '%s' (want "
		    "1..%d of [0-9A-Za-z._-])", tp_show(&fv[0], b1, sizeof(b1)),
		    TS_TOPO_MAX);
	for (i = 0; i < h->nversions; i++)
		if (tp_feq(&fv[0], h->v[i].version))
			return tp_perr(err, errlen, name, ln, "duplicate version "
			    "'%s' (first at line %zu)", h->v[i].version,
			    h->v[i].line);
	if (!tp_valid_date(&fv[1]))
		return tp_perr(err, errlen, name, ln, "version '%.*s': bad "
		    "effective date '%s' (want YYYY-MM-DD)", (int)fv[0].len,
		    fv[0].p, tp_show(&fv[1], b1, sizeof(b1)));
	copy_field(v->version, &fv[0]);
	copy_field(v->effective, &fv[1]);
	v->effective_day = date_day(v->effective);
	v->line = ln;
	if (prev != NULL && v->effective_day <= prev->effective_day)
		return tp_perr(err, errlen, name, ln, "version '%s': effective "
		    "%s is not after %s of '%s' (line %zu): versions go oldest "
		    "first, dates strictly increasing", v->version, v->effective,
		    prev->effective, prev->version, prev->line);
	if (fv[2].len == 0 || tp_feq(&fv[2], "-"))
		return tp_perr(err, errlen, name, ln, "version '%s': no tree "
		    "file", v->version);
	if (prev == NULL && !tp_feq(&fv[3], "-"))
		return tp_perr(err, errlen, name, ln, "version '%s' is the first: "
		    "its mapping must be '-', not '%s'", v->version,
		    tp_show(&fv[3], b1, sizeof(b1)));
	if (prev != NULL && (fv[3].len == 0 || tp_feq(&fv[3], "-")))
		return tp_perr(err, errlen, name, ln, "version '%s' needs the "
		    "mapping from '%s'", v->version, prev->version);
	if (join_path(path, sizeof(path), dir, &fv[2]) != 0)
		return tp_perr(err, errlen, name, ln, "tree path too long");
	/* The tree's own messages name its file and line. */
	if ((rc = ts_topo_load(&v->tree, path, err, errlen)) != 0)
		return rc;
	h->nversions++;		/* owned from here: freed with h */
	if (strcmp(v->tree->version, v->version) != 0)
		return tp_perr(err, errlen, name, ln, "%s is version '%s', the "
		    "line says '%s'", path, v->tree->version, v->version);
	if (strcmp(v->tree->effective, v->effective) != 0)
		return tp_perr(err, errlen, name, ln, "%s is effective %s, the "
		    "line says %s", path, v->tree->effective, v->effective);
	if (prev == NULL)
		return 0;
	if (join_path(path, sizeof(path), dir, &fv[3]) != 0)
		return tp_perr(err, errlen, name, ln, "mapping path too long");
	if ((rc = ts_hist_map_load(&v->map, path, err, errlen)) != 0)
		return rc;
	return ts_hist_map_bind(v->map, prev->tree, v->tree, err, errlen);
}

int
ts_hist_parse(ts_hist **hp, const char *name, const char *text, size_t len,
    const char *dir, char *err, size_t errlen)
{
	ts_lines rd;
	ts_field fv[4];
	ts_hist	*h;
	const char *p;
	size_t	 llen, nf, nlines, hline = 0;
	int	 rc;

	if (hp == NULL)
		return TS_EINVAL;
	*hp = NULL;
	if ((rc = tp_parse_start(text, len, err, errlen)) != 0)
		return rc;
	if (name == NULL)
		name = "history";
	nlines = tp_count_lines(text, len);
	if (nlines > HIST_VERSIONS_MAX)
		nlines = HIST_VERSIONS_MAX;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->v = calloc(nlines, sizeof(*h->v))) == NULL) {
		ts_hist_free(&h);
		return TS_ENOMEM;
	}
	ts_lines_init(&rd, text, len);
	while ((rc = tp_next_line(&rd, name, &p, &llen, err, errlen)) == 1) {
		nf = ts_tsv_split(p, llen, fv, 4);
		if (llen == sizeof(HIST_HEADER) - 1 &&
		    memcmp(p, HIST_HEADER, llen) == 0) {
			if (hline != 0) {
				rc = tp_perr(err, errlen, name, rd.line, "duplicate "
				    "header line (first at line %zu)", hline);
				goto fail;
			}
			hline = rd.line;
			continue;
		}
		if (hline == 0) {
			rc = tp_perr(err, errlen, name, rd.line, "missing header "
			    "line 'version<TAB>effective<TAB>tree<TAB>mapping' "
			    "before the first version");
			goto fail;
		}
		if (nf != 4) {
			rc = tp_perr(err, errlen, name, rd.line, "%zu fields, want 4 "
			    "(version<TAB>effective<TAB>tree<TAB>mapping)", nf);
			goto fail;
		}
		if (h->nversions == HIST_VERSIONS_MAX) {
			rc = tp_perr(err, errlen, name, rd.line, "too many versions "
			    "(limit %d)", HIST_VERSIONS_MAX);
			goto fail;
		}
		if ((rc = hist_line(h, name, dir, fv, rd.line, err, errlen)) != 0)
			goto fail;
	}
	if (rc != 0)
		goto fail;
	if (h->nversions == 0) {
		rc = tp_perr(err, errlen, name, rd.line > 0 ? rd.line : 1,
		    "no versions%s", hline == 0 ? " (and missing header line)" :
		    "");
		goto fail;
	}
	*hp = h;
	return 0;
fail:
	ts_hist_free(&h);
	return rc;
}

int
ts_hist_load(ts_hist **hp, const char *path, char *err, size_t errlen)
{
	char	 dir[TS_HIST_PATH_MAX], *slash;

	if (hp == NULL || path == NULL)
		return TS_EINVAL;
	*hp = NULL;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	return load_file(hp, path, dir, err, errlen);
}

int
ts_hist_find(const ts_hist *h, const char *version)
{
	size_t	i;

	if (h == NULL || version == NULL)
		return -1;
	for (i = 0; i < h->nversions; i++)
		if (strcmp(h->v[i].version, version) == 0)
			return (int)i;
	return -1;
}

int
ts_hist_on_day(const ts_hist *h, int32_t day)
{
	size_t	i;
	int	best = 0;

	if (h == NULL || h->nversions == 0)
		return TS_EINVAL;
	/* The first version also covers the days before it. */
	for (i = 1; i < h->nversions; i++)
		if (h->v[i].effective_day <= day)
			best = (int)i;
	return best;
}

int
ts_hist_version_for(const ts_hist *h, const char *period)
{
	int32_t	first, last;

	if (h == NULL || period == NULL)
		return TS_EINVAL;
	if (ts_period_days(period, &first, &last) != 0)
		return TS_EPARSE;
	/* In force at the period's end: on its last day. */
	return ts_hist_on_day(h, last);
}

const ts_topo *
ts_hist_tree_for(const ts_hist *h, const char *period)
{
	int	i = ts_hist_version_for(h, period);

	return i < 0 ? NULL : h->v[i].tree;
}

int
ts_hist_file_kind(const char *path, char *err, size_t errlen)
{
	ts_lines rd;
	ts_field fv[1];
	const char *p;
	char	*buf = NULL;
	size_t	 len = 0, llen;
	int	 rc, kind = 0;

	if (path == NULL)
		return TS_EINVAL;
	if ((rc = ts_file_read(path, (size_t)256 << 20, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	ts_lines_init(&rd, buf, len);
	while (kind == 0 &&
	    (rc = tp_next_line(&rd, path, &p, &llen, err, errlen)) == 1) {
		ts_tsv_split(p, llen, fv, 1);
		if (tp_feq(&fv[0], "!version") ||
		    (llen == sizeof(TREE_HEADER) - 1 &&
		    memcmp(p, TREE_HEADER, llen) == 0))
			kind = TS_HIST_FILE_TREE;
		else if (tp_feq(&fv[0], "!from") || tp_feq(&fv[0], "!to") ||
		    (llen == sizeof(MAP_HEADER) - 1 &&
		    memcmp(p, MAP_HEADER, llen) == 0))
			kind = TS_HIST_FILE_MAP;
		else if (llen == sizeof(HIST_HEADER) - 1 &&
		    memcmp(p, HIST_HEADER, llen) == 0)
			kind = TS_HIST_FILE_HISTORY;
	}
	free(buf);
	if (rc < 0)
		return rc;
	if (kind == 0)
		return tp_perr(err, errlen, path, rd.line > 0 ? rd.line : 1, "neither "
		    "a tree, a mapping nor a history (no !version, !from, !to "
		    "or header line)");
	return kind;
}
