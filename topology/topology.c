/*
 * Unit trees: the strict parser for topology files (docs/TOPOLOGY.md).
 *
 * The whole file is read first and the tree is resolved afterwards,
 * because a parent may appear after its children.  Every check that
 * can fail reports "file:line: what" and leaves *t NULL: a node must
 * never run on half a tree.  Nothing here recurses, so a hostile file
 * (a long chain, a cycle) cannot exhaust the stack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/topology.h"
#include "tiersync/util.h"
#include "fields.h"

/* More units than this is not a country; refuse before allocating. */
#define TOPO_UNITS_MAX	(1 << 24)
/* A topology file larger than this is refused by ts_topo_load. */
#define TOPO_FILE_MAX	((size_t)256 << 20)

static const char *const level_names[] = {
	"national", "province", "district", "commune"
};

const char *
ts_level_name(int level)
{
	if (level < 0 || level >= (int)(sizeof(level_names) / sizeof(level_names[0])))
		return "unknown";
	return level_names[level];
}

/* ---- parser state ------------------------------------------------ */

struct pstate {
	const char	*name;		/* file name for messages */
	char		*err;
	size_t		 errlen;
	ts_topo		*t;
	size_t		 cap;		/* units allocated */
	size_t		*line;		/* line of each unit */
	char		(*pcode)[TS_CODE_MAX + 1];	/* parent code, "" = root */
};

static int
perr(struct pstate *ps, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct pstate *ps, size_t line, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = tp_vperr(ps->err, ps->errlen, ps->name, line, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- code -> index hash (open addressing, linear probing) -------- */

static uint32_t
hash_code(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t	i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Index of code in t, or -1; *slot gets the free slot if absent. */
static int
hash_lookup(const ts_topo *t, const char *code, size_t len, size_t *slot)
{
	size_t	mask = t->hcap - 1, i;
	int32_t	v;

	for (i = hash_code(code, len) & mask;; i = (i + 1) & mask) {
		v = t->htab[i];
		if (v < 0) {
			if (slot != NULL)
				*slot = i;
			return -1;
		}
		if (strlen(t->units[v].code) == len &&
		    memcmp(t->units[v].code, code, len) == 0)
			return v;
	}
}

int
ts_topo_find(const ts_topo *t, const char *code)
{
	size_t	len;

	if (t == NULL || code == NULL || t->htab == NULL)
		return -1;
	len = strnlen(code, TS_CODE_MAX + 1);
	if (len == 0 || len > TS_CODE_MAX)
		return -1;
	return hash_lookup(t, code, len, NULL);
}

int
ts_topo_in_subtree(const ts_topo *t, int u, int root)
{
	if (t == NULL || u < 0 || root < 0 || (size_t)u >= t->nunits ||
	    (size_t)root >= t->nunits)
		return 0;
	/* Depths are known, so climb only as far as root's depth. */
	while (t->units[u].depth > t->units[root].depth)
		u = t->units[u].parent;
	return u == root;
}

void
ts_topo_free(ts_topo **tp)
{
	ts_topo	*t;
	size_t	 i;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	if (t->units != NULL)
		for (i = 0; i < t->nunits; i++)
			free(t->units[i].name);
	free(t->units);
	free(t->htab);
	free(t);
	*tp = NULL;
}

/* ---- one unit line ----------------------------------------------- */

static int
unit_line(struct pstate *ps, size_t ln, ts_field *fv, int *root,
    size_t *rootline)
{
	ts_topo	*t = ps->t;
	ts_unit	*u;
	char	 b1[64], b2[64];
	size_t	 slot, i;
	int	 lvl = -1, dup;

	if (fv[0].len == 0)
		return perr(ps, ln, "empty code");
	if (ts_valid_code(fv[0].p, fv[0].len) != 0)
		return perr(ps, ln, "invalid code '%s' (want 1..%d of [0-9A-Za-z])",
		    tp_show(&fv[0], b1, sizeof(b1)), TS_CODE_MAX);
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (tp_feq(&fv[1], level_names[i]))
			lvl = (int)i;
	if (lvl < 0)
		return perr(ps, ln, "unit '%.*s': unknown level '%s' (want "
		    "national, province, district or commune)", (int)fv[0].len,
		    fv[0].p, tp_show(&fv[1], b1, sizeof(b1)));
	if (!tp_feq(&fv[2], "-") && ts_valid_code(fv[2].p, fv[2].len) != 0)
		return perr(ps, ln, "unit '%.*s': invalid parent code '%s' (want "
		    "a unit code or '-' for the root)", (int)fv[0].len, fv[0].p,
		    tp_show(&fv[2], b1, sizeof(b1)));
	if (fv[2].len == fv[0].len && memcmp(fv[2].p, fv[0].p, fv[0].len) == 0)
		return perr(ps, ln, "unit '%.*s' is its own parent",
		    (int)fv[0].len, fv[0].p);
	if (fv[3].len == 0)
		return perr(ps, ln, "unit '%.*s': empty name", (int)fv[0].len,
		    fv[0].p);
	if (fv[3].len > TS_NAME_MAX)
		return perr(ps, ln, "unit '%.*s': name is %zu bytes, limit %d",
		    (int)fv[0].len, fv[0].p, fv[3].len, TS_NAME_MAX);
	if (!ts_utf8_text(fv[3].p, fv[3].len))
		return perr(ps, ln, "unit '%.*s': name is not valid UTF-8 "
		    "or has a control character: '%s'", (int)fv[0].len,
		    fv[0].p, tp_show_bytes(&fv[3], b2, sizeof(b2), 1));
	if (fv[3].p[0] == ' ' || fv[3].p[fv[3].len - 1] == ' ')
		return perr(ps, ln, "unit '%.*s': name has leading or trailing "
		    "space", (int)fv[0].len, fv[0].p);

	dup = hash_lookup(t, fv[0].p, fv[0].len, &slot);
	if (dup >= 0)
		return perr(ps, ln, "duplicate code '%.*s' (first at line %zu)",
		    (int)fv[0].len, fv[0].p, ps->line[dup]);
	if (tp_feq(&fv[2], "-")) {
		if (*root >= 0)
			return perr(ps, ln, "second root '%.*s' (first root '%s' "
			    "at line %zu); only one unit may have parent '-'",
			    (int)fv[0].len, fv[0].p, t->units[*root].code,
			    *rootline);
		*root = (int)t->nunits;
		*rootline = ln;
	}
	if (t->nunits >= TOPO_UNITS_MAX)
		return perr(ps, ln, "too many units (limit %d)", TOPO_UNITS_MAX);

	/* cap was sized from the line count, so this never overflows. */
	u = &t->units[t->nunits];
	memcpy(u->code, fv[0].p, fv[0].len);
	u->code[fv[0].len] = '\0';
	u->level = lvl;
	u->parent = -1;
	u->first_child = u->next_sibling = -1;
	if ((u->name = malloc(fv[3].len + 1)) == NULL)
		return TS_ENOMEM;
	memcpy(u->name, fv[3].p, fv[3].len);
	u->name[fv[3].len] = '\0';
	if (tp_feq(&fv[2], "-"))
		ps->pcode[t->nunits][0] = '\0';
	else {
		memcpy(ps->pcode[t->nunits], fv[2].p, fv[2].len);
		ps->pcode[t->nunits][fv[2].len] = '\0';
	}
	ps->line[t->nunits] = ln;
	t->htab[slot] = (int32_t)t->nunits;
	t->nunits++;
	return 0;
}

/* ---- tree resolution (after all lines are read) ------------------ */

static int
resolve(struct pstate *ps, size_t lastline)
{
	ts_topo	*t = ps->t;
	size_t	 n = t->nunits, i, head, tail;
	int	*mark = NULL, *order = NULL, j, k, p, best;
	int	 rc = 0;
	char	 cyc[512];
	size_t	 o, shown;

	if (n == 0)
		return perr(ps, lastline, "no units");
	for (i = 0; i < n; i++) {
		if (ps->pcode[i][0] == '\0')
			continue;
		p = hash_lookup(t, ps->pcode[i], strlen(ps->pcode[i]), NULL);
		if (p < 0)
			return perr(ps, ps->line[i], "unit '%s': unknown parent "
			    "'%s'", t->units[i].code, ps->pcode[i]);
		t->units[i].parent = p;
	}
	if (t->root < 0)
		return perr(ps, lastline, "no root unit (one unit must have "
		    "parent '-')");

	/*
	 * Cycle check without recursion: walk up from each unit, stamping
	 * the units on the way with the walk's id.  Reaching the root or a
	 * unit already known to reach it clears the walk; meeting our own
	 * stamp again means a cycle.  Each unit is walked once: O(n).
	 */
	if ((mark = calloc(n, sizeof(*mark))) == NULL ||
	    (order = malloc(n * sizeof(*order))) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (mark[i] != 0)
			continue;
		for (j = (int)i; j >= 0 && mark[j] == 0; j = t->units[j].parent)
			mark[j] = (int)i + 1;
		if (j >= 0 && mark[j] == (int)i + 1) {
			/* j is on the cycle: name it from its first unit
			 * in file order, so the message is stable. */
			best = j;
			for (k = t->units[j].parent; k != j; k = t->units[k].parent)
				if (k < best)
					best = k;
			o = 0;
			shown = 0;
			k = best;
			do {
				o += (size_t)snprintf(cyc + o, sizeof(cyc) - o,
				    "%s -> ", t->units[k].code);
				k = t->units[k].parent;
			} while (k != best && ++shown < 8 && o < sizeof(cyc) - 64);
			snprintf(cyc + o, sizeof(cyc) - o, "%s%s",
			    k == best ? "" : "... -> ", t->units[best].code);
			rc = perr(ps, ps->line[best], "cycle in parents: %s", cyc);
			goto out;
		}
		for (k = (int)i; k != j; k = t->units[k].parent)
			mark[k] = -1;
	}

	/* Child lists in file order: prepend while walking backwards. */
	for (i = n; i-- > 0;) {
		p = t->units[i].parent;
		if (p < 0)
			continue;
		t->units[i].next_sibling = t->units[p].first_child;
		t->units[p].first_child = (int)i;
		t->units[p].nchildren++;
	}

	/* Breadth-first order gives depths top-down; the reverse order
	 * gives leaf counts bottom-up. */
	head = tail = 0;
	order[tail++] = t->root;
	t->units[t->root].depth = 0;
	while (head < tail) {
		p = order[head++];
		for (k = t->units[p].first_child; k >= 0; k = t->units[k].next_sibling) {
			t->units[k].depth = t->units[p].depth + 1;
			order[tail++] = k;
		}
	}
	for (i = tail; i-- > 0;) {
		k = order[i];
		if (t->units[k].nchildren == 0)
			t->units[k].nleaves = 1;
		if (t->units[k].parent >= 0)
			t->units[t->units[k].parent].nleaves += t->units[k].nleaves;
	}
out:
	free(mark);
	free(order);
	return rc;
}

/* ---- the file ---------------------------------------------------- */

int
ts_topo_parse(ts_topo **tp, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct pstate	 ps;
	ts_field	 fv[4];
	ts_lines	 lr;
	ts_topo		*t;
	const char	*p, *why;
	size_t		 ln = 0, nlines, llen, nf, vline = 0, eline = 0, hline = 0;
	size_t		 rootline = 0, hcap;
	char		 b1[64];
	int		 rc, lrc, root = -1;

	if (tp == NULL)
		return TS_EINVAL;
	*tp = NULL;
	if ((rc = tp_parse_start(text, len, err, errlen)) != 0)
		return rc;
	memset(&ps, 0, sizeof(ps));
	ps.name = name != NULL ? name : "topology";
	ps.err = err;
	ps.errlen = errlen;

	/* Size everything from the line count, an upper bound on units. */
	nlines = tp_count_lines(text, len);
	if (nlines > TOPO_UNITS_MAX + (size_t)1024)
		return perr(&ps, nlines, "too many lines (limit %d units)",
		    TOPO_UNITS_MAX);
	for (hcap = 16; hcap < 2 * nlines; hcap <<= 1)
		;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TS_ENOMEM;
	t->root = -1;
	ps.t = t;
	ps.cap = nlines;
	t->hcap = hcap;
	if ((t->units = calloc(nlines, sizeof(*t->units))) == NULL ||
	    (t->htab = malloc(hcap * sizeof(*t->htab))) == NULL ||
	    (ps.line = malloc(nlines * sizeof(*ps.line))) == NULL ||
	    (ps.pcode = malloc(nlines * sizeof(*ps.pcode))) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	memset(t->htab, 0xff, hcap * sizeof(*t->htab));	/* all -1 */

	ts_lines_init(&lr, text, len);
	while ((lrc = ts_lines_next(&lr, &p, &llen, &why)) != 0) {
		ln = lr.line;
		if (lrc < 0) {
			rc = perr(&ps, ln, "%s", why);
			goto fail;
		}
		if (ts_line_skip(p, llen))
			continue;
		nf = ts_tsv_split(p, llen, fv, 4);

		if (p[0] == '!') {
			size_t *seen;
			int isver;

			if (tp_feq(&fv[0], "!version"))
				isver = 1;
			else if (tp_feq(&fv[0], "!effective"))
				isver = 0;
			else {
				rc = perr(&ps, ln, "unknown directive '%s'",
				    tp_show(&fv[0], b1, sizeof(b1)));
				goto fail;
			}
			seen = isver ? &vline : &eline;
			if (*seen != 0) {
				rc = perr(&ps, ln, "duplicate %.*s (first at line "
				    "%zu)", (int)fv[0].len, fv[0].p, *seen);
				goto fail;
			}
			if (t->nunits > 0) {
				rc = perr(&ps, ln, "%.*s after the first unit",
				    (int)fv[0].len, fv[0].p);
				goto fail;
			}
			if (nf != 2) {
				rc = perr(&ps, ln, "%.*s: %zu fields, want 2 "
				    "(directive<TAB>value)", (int)fv[0].len,
				    fv[0].p, nf);
				goto fail;
			}
			if (isver && !tp_valid_version(&fv[1])) {
				rc = perr(&ps, ln, "bad !version '%s' (want 1..%d "
				    "of [0-9A-Za-z._-])", tp_show(&fv[1], b1,
				    sizeof(b1)), TS_TOPO_MAX);
				goto fail;
			}
			if (!isver && !tp_valid_date(&fv[1])) {
				rc = perr(&ps, ln, "bad !effective date '%s' (want "
				    "YYYY-MM-DD)", tp_show(&fv[1], b1, sizeof(b1)));
				goto fail;
			}
			if (isver) {
				memcpy(t->version, fv[1].p, fv[1].len);
				t->version[fv[1].len] = '\0';
			} else {
				memcpy(t->effective, fv[1].p, fv[1].len);
				t->effective[fv[1].len] = '\0';
			}
			*seen = ln;
			continue;
		}

		if (nf == 4 && tp_feq(&fv[0], "code") && tp_feq(&fv[1], "level") &&
		    tp_feq(&fv[2], "parent") && tp_feq(&fv[3], "name")) {
			if (hline != 0) {
				rc = perr(&ps, ln, "duplicate header line (first "
				    "at line %zu)", hline);
				goto fail;
			}
			hline = ln;
			continue;
		}
		if (hline == 0) {
			rc = perr(&ps, ln, "missing header line "
			    "'code<TAB>level<TAB>parent<TAB>name' before the "
			    "first unit");
			goto fail;
		}
		if (vline == 0 || eline == 0) {
			rc = perr(&ps, ln, "missing %s before the first unit",
			    vline == 0 ? "!version" : "!effective");
			goto fail;
		}
		if (nf != 4) {
			rc = perr(&ps, ln, "%zu fields, want 4 "
			    "(code<TAB>level<TAB>parent<TAB>name)", nf);
			goto fail;
		}
		if ((rc = unit_line(&ps, ln, fv, &root, &rootline)) != 0)
			goto fail;
	}
	t->root = root;
	if (t->nunits == 0 && (hline == 0 || vline == 0 || eline == 0)) {
		rc = perr(&ps, ln > 0 ? ln : 1, "no units (and missing %s)",
		    vline == 0 ? "!version" : eline == 0 ? "!effective" :
		    "header line");
		goto fail;
	}
	if ((rc = resolve(&ps, ln > 0 ? ln : 1)) != 0)
		goto fail;

	free(ps.line);
	free(ps.pcode);
	*tp = t;
	return 0;
fail:
	free(ps.line);
	free(ps.pcode);
	ts_topo_free(&t);
	return rc;
}

int
ts_topo_load(ts_topo **tp, const char *path, char *err, size_t errlen)
{
	char	*buf = NULL;
	size_t	 len = 0;
	int	 rc;

	if (tp == NULL || path == NULL)
		return TS_EINVAL;
	*tp = NULL;
	if ((rc = ts_file_read(path, TOPO_FILE_MAX, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	rc = ts_topo_parse(tp, path, buf, len, err, errlen);
	free(buf);
	return rc;
}
