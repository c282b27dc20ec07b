/*
 * Plan parser (domain/plans/NNN.tsv, domain/README.md): the targets a
 * unit's plan sets, per indicator, disaggregation and year.
 *
 *   !unit<TAB>CODE          required, once
 *   !title<TAB>TEXT         required, once
 *   !catalogue<TAB>ID       required, once: the catalogue it maps to
 *   indicator dis year op target measure name_vi notes
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/domain.h"
#include "tsv.h"

#define PLAN_FILE_MAX (4u << 20)
#define PLAN_HEADER "indicator\tdis\tyear\top\ttarget\tmeasure\tname_vi\tnotes"

const char *
ts_op_text(int op)
{
	switch (op) {
	case TS_OP_LT: return "<";
	case TS_OP_LE: return "<=";
	case TS_OP_GE: return ">=";
	case TS_OP_GT: return ">";
	default: return "";
	}
}

/* "94.5" -> 94500; up to 3 decimals, at most 9 integer digits. */
static int
parse_milli(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	int i = 0, frac = -1;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (frac >= 0 || i == 0)
				return -1;
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || ++i > 12)
			return -1;
		if (frac >= 0 && ++frac > 3)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (frac == 0)
		return -1;          /* "5." */
	for (frac = frac < 0 ? 0 : frac; frac < 3; frac++)
		x *= 10;
	*v = x;
	return 0;
}

void
ts_plan_free(ts_plan **p)
{
	if (p == NULL || *p == NULL)
		return;
	free((*p)->t);
	free((*p)->text);
	free(*p);
	*p = NULL;
}

static int
plan_dir(struct tsv *t, ts_plan *p, char **f, int *seen, const ts_catalogue *cat)
{
	static const char *const names[] = { "!unit", "!title", "!catalogue" };
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(f[0], names[i]) == 0)
			break;
	if (i == 3 || t->nf != 2) {
		tsv_err(t, "unknown directive '%s' (want !unit, !title or !catalogue "
		    "with one value)", f[0]);
		return -1;
	}
	if (seen[i] != 0) {
		tsv_err(t, "duplicate %s (first at line %d)", names[i], seen[i]);
		return -1;
	}
	if (p->n > 0) {
		tsv_err(t, "%s must come before the first target", names[i]);
		return -1;
	}
	seen[i] = t->line;
	if (i == 0) {
		if (ts_valid_code(f[1], strlen(f[1])) != 0) {
			tsv_err(t, "bad !unit '%s' (want 1..16 of [0-9A-Za-z])", f[1]);
			return -1;
		}
		snprintf(p->unit, sizeof(p->unit), "%s", f[1]);
	} else if (i == 1) {
		if (f[1][0] == '\0' || !tsv_utf8_ok(f[1])) {
			tsv_err(t, "!title is empty or not valid UTF-8");
			return -1;
		}
		p->title = f[1];
	} else {
		if (strlen(f[1]) > TS_CAT_MAX || f[1][0] == '\0') {
			tsv_err(t, "bad !catalogue '%s'", f[1]);
			return -1;
		}
		if (cat != NULL && strcmp(f[1], cat->version) != 0) {
			tsv_err(t, "plan maps to catalogue '%s' but the catalogue "
			    "loaded is '%s'", f[1], cat->version);
			return -1;
		}
		snprintf(p->catalogue, sizeof(p->catalogue), "%s", f[1]);
	}
	return 0;
}

static int
plan_row(struct tsv *t, ts_plan *p, char **f, const ts_catalogue *cat)
{
	static const char *const mnames[] = { "percent", "per_1000_live_births",
	    "per_100000_children", "count" };
	ts_target *x = &p->t[p->n];
	const ts_indicator *ind;
	char *endp;
	size_t k, plen;
	int i;

	memset(x, 0, sizeof(*x));
	x->line = t->line;
	if (ts_valid_indicator(f[0], strlen(f[0])) != 0) {
		tsv_err(t, "invalid indicator id '%s' (want 1..32 of [0-9A-Za-z._-])", f[0]);
		return -1;
	}
	snprintf(x->ind, sizeof(x->ind), "%s", f[0]);
	if (ts_valid_dis(f[1], strlen(f[1])) != 0 || strlen(f[1]) > TS_DIS_MAX) {
		tsv_err(t, "indicator '%s': bad dis '%s'", f[0], f[1]);
		return -1;
	}
	snprintf(x->dis, sizeof(x->dis), "%s", f[1]);
	if (strcmp(f[2], "*") == 0)
		x->year = 0;
	else {
		long y = strtol(f[2], &endp, 10);
		if (strlen(f[2]) != 4 || *endp != '\0' || y < 2000 || y > 2999) {
			tsv_err(t, "indicator '%s': bad year '%s' (want YYYY or *)", f[0], f[2]);
			return -1;
		}
		x->year = (int)y;
	}
	x->op = strcmp(f[3], "<") == 0 ? TS_OP_LT : strcmp(f[3], "<=") == 0 ? TS_OP_LE :
	    strcmp(f[3], ">=") == 0 ? TS_OP_GE : strcmp(f[3], ">") == 0 ? TS_OP_GT :
	    strcmp(f[3], "-") == 0 ? TS_OP_NONE : -1;
	if (x->op < 0) {
		tsv_err(t, "indicator '%s': bad op '%s' (want <, <=, >=, > or -)", f[0], f[3]);
		return -1;
	}
	if (x->op == TS_OP_NONE) {
		if (strcmp(f[4], "-") != 0) {
			tsv_err(t, "indicator '%s': op '-' needs target '-'", f[0]);
			return -1;
		}
		if (f[7][0] == '\0' || strcmp(f[7], "-") == 0) {
			tsv_err(t, "indicator '%s': a target without a figure needs notes "
			    "saying why", f[0]);
			return -1;
		}
	} else if (parse_milli(f[4], &x->milli) != 0) {
		tsv_err(t, "indicator '%s': bad target '%s' (want a decimal with at "
		    "most 3 decimals, '.' as the point)", f[0], f[4]);
		return -1;
	}
	snprintf(x->text, sizeof(x->text), "%s", f[4]);
	ind = ts_catalogue_find(cat, f[0]);
	if (ind != NULL) {
		if (strcmp(f[5], "-") != 0 || strcmp(f[6], "-") != 0) {
			tsv_err(t, "indicator '%s' is in the catalogue: measure and "
			    "name_vi must be '-'", f[0]);
			return -1;
		}
		x->measure = ind->measure;
		x->name_vi = ind->name_vi;
	} else {
		plen = strlen(p->unit);
		if (cat != NULL && (plen == 0 || strncmp(f[0], p->unit, plen) != 0 ||
		    f[0][plen] != '.')) {
			tsv_err(t, "indicator '%s' is not in catalogue %s; a plan's own "
			    "entries are named '%s.<id>'", f[0], cat->version,
			    p->unit[0] ? p->unit : "UNIT");
			return -1;
		}
		for (i = 0; i < 4; i++)
			if (strcmp(f[5], mnames[i]) == 0)
				break;
		if (i == 4) {
			tsv_err(t, "indicator '%s': own entry needs a measure (percent, "
			    "per_1000_live_births, per_100000_children or count), got '%s'",
			    f[0], f[5]);
			return -1;
		}
		if (f[6][0] == '\0' || strcmp(f[6], "-") == 0 || !tsv_utf8_ok(f[6])) {
			tsv_err(t, "indicator '%s': own entry needs name_vi (valid UTF-8)", f[0]);
			return -1;
		}
		x->measure = i;
		x->own = 1;
		x->name_vi = f[6];
	}
	if (!tsv_utf8_ok(f[7])) {
		tsv_err(t, "indicator '%s': notes not valid UTF-8", f[0]);
		return -1;
	}
	x->notes = strcmp(f[7], "-") == 0 ? "" : f[7];
	for (k = 0; k < p->n; k++)
		if (strcmp(p->t[k].ind, x->ind) == 0 && strcmp(p->t[k].dis, x->dis) == 0 &&
		    p->t[k].year == x->year) {
			tsv_err(t, "duplicate target for indicator '%s' dis '%s' year %s "
			    "(first at line %d)", x->ind, x->dis, f[2], p->t[k].line);
			return -1;
		}
	p->n++;
	return 0;
}

int
ts_plan_parse(ts_plan **out, const char *name, const char *text, size_t len,
    const ts_catalogue *cat, char *err, size_t errlen)
{
	ts_plan *p;
	struct tsv t;
	size_t cap = 0;
	int rc, seen[3] = { 0, 0, 0 }, have_header = 0;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->text = malloc(len + 1)) == NULL) {
		free(p);
		return TS_ENOMEM;
	}
	memcpy(p->text, text, len);
	p->text[len] = '\0';
	memset(&t, 0, sizeof(t));
	t.name = name;
	t.p = p->text;
	t.end = p->text + len;
	t.err = err;
	t.errlen = errlen;
	while ((rc = tsv_next(&t)) == 1) {
		if (t.f[0][0] == '!') {
			if (plan_dir(&t, p, t.f, seen, cat) != 0)
				goto bad;
			continue;
		}
		if (strcmp(t.f[0], "indicator") == 0) {
			char hdr[128];
			int i;
			hdr[0] = '\0';
			for (i = 0; i < t.nf; i++) {
				size_t hl = strlen(hdr);
				snprintf(hdr + hl, sizeof(hdr) - hl, "%s%s", i ? "\t" : "", t.f[i]);
			}
			if (have_header || strcmp(hdr, PLAN_HEADER) != 0) {
				tsv_err(&t, have_header ? "header repeated" : "bad header (want "
				    "indicator, dis, year, op, target, measure, name_vi, notes)");
				goto bad;
			}
			have_header = 1;
			continue;
		}
		if (seen[0] == 0 || seen[1] == 0 || seen[2] == 0) {
			tsv_err(&t, "missing %s before the first target", seen[0] == 0 ?
			    "!unit" : seen[1] == 0 ? "!title" : "!catalogue");
			goto bad;
		}
		if (!have_header) {
			tsv_err(&t, "missing header line before the first target");
			goto bad;
		}
		if (t.nf != 8) {
			tsv_err(&t, "%d fields, want 8 (indicator dis year op target "
			    "measure name_vi notes)", t.nf);
			goto bad;
		}
		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			ts_target *nt = realloc(p->t, ncap * sizeof(*nt));
			if (nt == NULL) {
				ts_plan_free(&p);
				return TS_ENOMEM;
			}
			p->t = nt;
			cap = ncap;
		}
		if (plan_row(&t, p, t.f, cat) != 0)
			goto bad;
	}
	if (rc < 0)
		goto bad;
	if (seen[0] == 0 || seen[1] == 0 || seen[2] == 0) {
		tsv_err(&t, "missing %s", seen[0] == 0 ? "!unit" : seen[1] == 0 ?
		    "!title" : "!catalogue");
		goto bad;
	}
	p->path = name;
	*out = p;
	return 0;
bad:
	ts_plan_free(&p);
	return TS_EPARSE;
}

int
ts_plan_load(ts_plan **p, const char *path, const ts_catalogue *cat, char *err,
    size_t errlen)
{
	char *buf;
	size_t n;
	int rc;

	*p = NULL;
	if ((rc = ts_file_read(path, PLAN_FILE_MAX, &buf, &n, err, errlen)) != 0)
		return rc;
	rc = ts_plan_parse(p, path, buf, n, cat, err, errlen);
	free(buf);
	return rc;
}

const ts_target *
ts_plan_find(const ts_plan *p, const char *ind, const char *dis, int year)
{
	const ts_target *any = NULL;
	size_t i;

	for (i = 0; p != NULL && i < p->n; i++) {
		const ts_target *x = &p->t[i];
		if (strcmp(x->ind, ind) != 0 || strcmp(x->dis, dis) != 0)
			continue;
		if (x->year == year)
			return x;
		if (x->year == 0)
			any = x;
	}
	return any;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
ts_plans_free(ts_plans *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free((char *)ps->p[i]->path);
		ts_plan_free(&ps->p[i]);
	}
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

int
ts_plans_load_dir(ts_plans *ps, const char *dir, const ts_catalogue *cat,
    char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	memset(ps, 0, sizeof(*ps));
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return TS_ESYS;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".tsv") != 0 || e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (nn == NULL) { rc = TS_ENOMEM; break; }
			names = nn;
			cap = ncap;
		}
		if ((names[n] = malloc(strlen(dir) + l + 2)) == NULL) { rc = TS_ENOMEM; break; }
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (rc == 0 && n > 0) {
		qsort(names, n, sizeof(*names), name_cmp);
		if ((ps->p = calloc(n, sizeof(*ps->p))) == NULL)
			rc = TS_ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		ts_plan *p;
		if ((rc = ts_plan_load(&p, names[i], cat, err, errlen)) != 0)
			break;
		if (ts_plans_for_unit(ps, p->unit) != NULL) {
			snprintf(err, errlen, "%s: a second plan for unit %s (first: %s)",
			    names[i], p->unit, ts_plans_for_unit(ps, p->unit)->path);
			ts_plan_free(&p);
			rc = TS_EPARSE;
			break;
		}
		p->path = names[i];
		names[i] = NULL;          /* owned by the plan now */
		ps->p[ps->n++] = p;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc != 0)
		ts_plans_free(ps);
	return rc;
}

const ts_plan *
ts_plans_for_unit(const ts_plans *ps, const char *unit)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i]->unit, unit) == 0)
			return ps->p[i];
	return NULL;
}

int
ts_plans_target(const ts_plans *ps, const ts_topo *topo, int unit,
    const char *ind, const char *dis, int year, const ts_target **t, int *from)
{
	const ts_target *bare = NULL;     /* nearest row without a figure */
	int bare_from = -1, u;

	if (t != NULL)
		*t = NULL;
	if (from != NULL)
		*from = -1;
	if (ps == NULL || topo == NULL || ind == NULL || dis == NULL || t == NULL ||
	    from == NULL || unit < 0 || (size_t)unit >= topo->nunits)
		return TS_EINVAL;
	for (u = unit; u >= 0; u = topo->units[u].parent) {
		const ts_target *x = ts_plan_find(ts_plans_for_unit(ps,
		    topo->units[u].code), ind, dis, year);
		if (x == NULL)
			continue;
		if (x->op != TS_OP_NONE) {
			*t = x;
			*from = u;
			return 0;
		}
		if (bare == NULL) {
			bare = x;
			bare_from = u;
		}
	}
	if (bare == NULL)
		return TS_ENOTFOUND;
	*t = bare;
	*from = bare_from;
	return 0;
}

int
ts_target_met(const ts_target *t, uint64_t num, uint64_t den)
{
	unsigned __int128 lhs, rhs;

	if (t == NULL || t->op == TS_OP_NONE)
		return -1;
	if (t->measure == TS_M_COUNT) {
		lhs = (unsigned __int128)num * 1000;
		rhs = t->milli;
	} else {
		if (den == 0)
			return -1;
		/* value = num * factor / den; compare num*factor*1000 with
		 * milli*den exactly. */
		lhs = (unsigned __int128)num * ts_measure_factor(t->measure) * 1000;
		rhs = (unsigned __int128)t->milli * den;
	}
	switch (t->op) {
	case TS_OP_LT: return lhs < rhs;
	case TS_OP_LE: return lhs <= rhs;
	case TS_OP_GE: return lhs >= rhs;
	case TS_OP_GT: return lhs > rhs;
	}
	return -1;
}
