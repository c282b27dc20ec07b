/*
 * The register CSV parser (docs/REGISTER.md, include/tiersync/register.h):
 * bytes in, checked records or "FILE:LINE:COL: what" errors out.  No
 * LMDB and no I/O: what needs the register (unique ids, a case's child)
 * is checked by its store part, domain/register.c.  Fuzzed by
 * tests/fuzz/fuzz_register_csv.c.
 *
 * Speed (tools/bench register, goal >= 500,000 records/s): the CSV is
 * parsed in place, one pass per line finds the fields and any byte that
 * needs the slow checks (NUL, quote, non-ASCII); error text is formatted
 * only for a bad field, and only the first TS_REG_MAX_ERRORS texts are
 * kept (all errors are counted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/register.h"
#include "tiersync/util.h"

#define CHILD_HEADER "id,birth_date,sex,ethnic_minority,disability," \
	"birth_registered,health_insurance,immunisation,measured_on," \
	"underweight,stunted,obese,school,special,special_support,death_date"
#define CASE_HEADER "id,child_id,kind,occurred,detected,intervention," \
	"support,died"
#define CHILD_NF 16
#define CASE_NF 8

static const char *const imm_names[] = { "none", "partial", "full8", "full12",
	"full14", NULL };
static const char *const school_names[] = { "none", "nursery", "kindergarten",
	"primary", "lower_secondary", "upper_secondary", "special", NULL };
/* Law on Children 2016, art. 10(1), points a..o (in order). */
static const char *const special_names[] = { "none", "orphan", "abandoned",
	"no_carer", "disabled", "hiv", "offender", "drugs", "dropout_labour",
	"violence_harm", "exploited", "sexual_abuse", "trafficked",
	"serious_illness_poor", "migrant_refugee", NULL };
static const char *const kind_names[] = { "violence", "abuse", "exploitation",
	"injury", "child_marriage", "disaster", NULL };

struct load {
	ts_register_csv *x;
	const char      *file;
	unsigned         line;
};

static void lerr(struct load *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

void
ts_register_csv_errtext(ts_buf *b, const char *file, unsigned lineno, int col,
    const char *what)
{
	char line[700];
	int n;

	if (col > 0)
		n = snprintf(line, sizeof(line), "%s:%u:%d: %s\n", file, lineno, col, what);
	else
		n = snprintf(line, sizeof(line), "%s:%u: %s\n", file, lineno, what);
	if (n > 0)
		(void)ts_buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1);
	if (ts_buf_reserve(b, 1) == 0)
		b->buf[b->len] = '\0';         /* a C string too, not counted */
}

/* Count an error at l->line; keep its text while fewer than
 * TS_REG_MAX_ERRORS are kept. */
static void
lerr(struct load *l, int col, const char *fmt, ...)
{
	ts_register_csv *x = l->x;
	char buf[512];
	va_list ap;
	size_t off = x->text.len;

	x->nerr++;
	if (x->nshown >= TS_REG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ts_register_csv_errtext(&x->text, l->file, l->line, col, buf);
	x->shown[x->nshown].line = l->line;
	x->shown[x->nshown].off = off;
	x->shown[x->nshown].len = x->text.len - off;
	x->nshown++;
}

struct fld { const char *s; size_t n; };

/* f equals the string w.  f holds no NUL (checked before), so a shorter
 * w differs at its terminator and is never read past it. */
static int
feq(const struct fld *f, const char *w)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->s[i] != w[i])
			return 0;
	return w[i] == '\0';
}

static void
fshow(const struct fld *f, char *out, size_t outlen)
{
	size_t n = f->n < 40 ? f->n : 40;
	snprintf(out, outlen, "%.*s%s", (int)n, f->s, f->n > 40 ? "..." : "");
}

static int
f_id(struct load *l, const struct fld *f, int col, const char *what, char *out)
{
	size_t i;

	if (f->n == 0) {
		lerr(l, col, "%s: missing (required field)", what);
		return -1;
	}
	if (f->n > TS_RID_MAX) {
		lerr(l, col, "%s: longer than %d characters", what, TS_RID_MAX);
		return -1;
	}
	for (i = 0; i < f->n; i++) {
		char c = f->s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_' || c == '-')) {
			char v[64];
			fshow(f, v, sizeof(v));
			lerr(l, col, "%s '%s': want 1 to %d of [0-9A-Za-z_-]", what, v,
			    TS_RID_MAX);
			return -1;
		}
	}
	memcpy(out, f->s, f->n);
	out[f->n] = '\0';
	return 0;
}

/* YYYY-MM-DD, a real date, year 1900..2999; empty allowed if opt. */
static int
f_date(struct load *l, const struct fld *f, int col, const char *what, int opt,
    int32_t *d)
{
	unsigned y, m, dd, i;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *s = f->s;
	char v[64];

	if (f->n == 0) {
		if (opt) {
			*d = TS_DATE_NONE;
			return 0;
		}
		lerr(l, col, "%s: missing (required field)", what);
		return -1;
	}
	if (f->n != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0'));
	m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	dd = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || dd < 1 || dd > mdays[m - 1] ||
	    (m == 2 && dd == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) {
		fshow(f, v, sizeof(v));
		lerr(l, col, "%s '%s': not a real date (want YYYY-MM-DD, year 1900-2999)",
		    what, v);
		return -1;
	}
	*d = ts_period_from_civil((int)y, m, dd);
	return 0;
bad:
	fshow(f, v, sizeof(v));
	lerr(l, col, "%s '%s': wrong date format (want YYYY-MM-DD)", what, v);
	return -1;
}

static int
f_code(struct load *l, const struct fld *f, int col, const char *what,
    const char *const *names, uint8_t *out)
{
	char v[64], list[400];
	size_t i, o = 0;

	if (f->n == 0) {
		lerr(l, col, "%s: missing (required field)", what);
		return -1;
	}
	for (i = 0; names[i] != NULL; i++)
		if (feq(f, names[i])) {
			*out = (uint8_t)i;
			return 0;
		}
	list[0] = '\0';
	for (i = 0; names[i] != NULL && o + 32 < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
		    names[i]);
	fshow(f, v, sizeof(v));
	lerr(l, col, "%s '%s': unknown code (want one of: %s)", what, v, list);
	return -1;
}

static const char *const bool_names[] = { "0", "1", NULL };
static const char *const sex_names[] = { "m", "f", NULL };

/* Split a line at commas into at most max fields; returns the count.
 * *odd is set when the line holds a byte the slow checks must look at
 * (NUL, '"', or a non-ASCII byte), so a plain ASCII line is read once. */
static int
split(const char *s, size_t n, struct fld *f, int max, int *odd)
{
	int k = 0, o = 0;
	size_t start = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ',') {
			if (k < max) {
				f[k].s = s + start;
				f[k].n = i - start;
			}
			k++;
			start = i + 1;
		} else if (c >= 0x80 || c == '"' || c == '\0')
			o = 1;
	}
	if (k < max) {
		f[k].s = s + start;
		f[k].n = n - start;
	}
	*odd = o;
	return k + 1;
}

static int
parse_child(struct load *l, struct fld *f, ts_child *c)
{
	int bad = 0;

	memset(c, 0, sizeof(*c));
	bad |= f_id(l, &f[0], 1, "id", c->id);
	bad |= f_date(l, &f[1], 2, "birth_date", 0, &c->birth);
	bad |= f_code(l, &f[2], 3, "sex", sex_names, &c->sex);
	bad |= f_code(l, &f[3], 4, "ethnic_minority", bool_names, &c->eth);
	bad |= f_code(l, &f[4], 5, "disability", bool_names, &c->dis);
	bad |= f_date(l, &f[5], 6, "birth_registered", 1, &c->birth_reg);
	bad |= f_code(l, &f[6], 7, "health_insurance", bool_names, &c->hi);
	bad |= f_code(l, &f[7], 8, "immunisation", imm_names, &c->imm);
	bad |= f_date(l, &f[8], 9, "measured_on", 1, &c->measured);
	if (c->measured == TS_DATE_NONE && !bad) {
		int k;
		for (k = 9; k <= 11; k++)
			if (f[k].n != 0) {
				lerr(l, k + 1, "%s: must be empty when measured_on is empty",
				    k == 9 ? "underweight" : k == 10 ? "stunted" : "obese");
				bad = 1;
			}
	} else if (!bad) {
		bad |= f_code(l, &f[9], 10, "underweight", bool_names, &c->uw);
		bad |= f_code(l, &f[10], 11, "stunted", bool_names, &c->st);
		bad |= f_code(l, &f[11], 12, "obese", bool_names, &c->ob);
	}
	bad |= f_code(l, &f[12], 13, "school", school_names, &c->school);
	bad |= f_code(l, &f[13], 14, "special", special_names, &c->special);
	bad |= f_code(l, &f[14], 15, "special_support", bool_names, &c->special_support);
	bad |= f_date(l, &f[15], 16, "death_date", 1, &c->death);
	if (bad)
		return -1;
	if (c->birth_reg != TS_DATE_NONE && c->birth_reg < c->birth)
		lerr(l, 6, "birth_registered is before birth_date"), bad = 1;
	if (c->measured != TS_DATE_NONE && c->measured < c->birth)
		lerr(l, 9, "measured_on is before birth_date"), bad = 1;
	if (c->death != TS_DATE_NONE && c->death < c->birth)
		lerr(l, 16, "death_date is before birth_date"), bad = 1;
	if (c->special == 0 && c->special_support)
		lerr(l, 15, "special_support is 1 but special is none"), bad = 1;
	return bad ? -1 : 0;
}

static int
parse_case(struct load *l, struct fld *f, ts_case *c)
{
	int bad = 0;

	memset(c, 0, sizeof(*c));
	bad |= f_id(l, &f[0], 1, "id", c->id);
	bad |= f_id(l, &f[1], 2, "child_id", c->child);
	bad |= f_code(l, &f[2], 3, "kind", kind_names, &c->kind);
	bad |= f_date(l, &f[3], 4, "occurred", 0, &c->occurred);
	bad |= f_date(l, &f[4], 5, "detected", 0, &c->detected);
	bad |= f_code(l, &f[5], 6, "intervention", bool_names, &c->intervention);
	bad |= f_code(l, &f[6], 7, "support", bool_names, &c->support);
	bad |= f_code(l, &f[7], 8, "died", bool_names, &c->died);
	if (bad)
		return -1;
	if (c->detected < c->occurred)
		lerr(l, 5, "detected is before occurred"), bad = 1;
	return bad ? -1 : 0;
}


/* Room for one more good record (and its line). */
static int
grow(ts_register_csv *x)
{
	size_t cap, sz;
	void *nr;
	uint32_t *nl;

	if (x->n < x->cap_)
		return 0;
	cap = x->cap_ ? x->cap_ * 2 : 1024;
	sz = x->kind == TS_REG_CHILDREN ? sizeof(ts_child) : sizeof(ts_case);
	if ((nl = reallocarray(x->lines, cap, sizeof(*nl))) == NULL)
		return TS_ENOMEM;
	x->lines = nl;
	if (x->kind == TS_REG_CHILDREN) {
		if ((nr = reallocarray(x->children, cap, sz)) == NULL)
			return TS_ENOMEM;
		x->children = nr;
	} else {
		if ((nr = reallocarray(x->cases, cap, sz)) == NULL)
			return TS_ENOMEM;
		x->cases = nr;
	}
	x->cap_ = cap;
	return 0;
}

void
ts_register_csv_free(ts_register_csv *x)
{
	if (x == NULL)
		return;
	free(x->children);
	free(x->cases);
	free(x->lines);
	ts_buf_free(&x->text);
	memset(x, 0, sizeof(*x));
}

/* The header: sets x->kind, or an error naming the header wanted. */
static int
header(struct load *l, int kind, const char *s, size_t n)
{
	ts_register_csv *x = l->x;

	if (n == strlen(CHILD_HEADER) && memcmp(s, CHILD_HEADER, n) == 0 &&
	    kind != TS_REG_CASES)
		x->kind = TS_REG_CHILDREN;
	else if (n == strlen(CASE_HEADER) && memcmp(s, CASE_HEADER, n) == 0 &&
	    kind != TS_REG_CHILDREN)
		x->kind = TS_REG_CASES;
	else {
		lerr(l, 1, "missing or wrong header: want '%s'",
		    kind == TS_REG_CASES ? CASE_HEADER : kind ==
		    TS_REG_CHILDREN ? CHILD_HEADER : CHILD_HEADER
		    "' (children) or '" CASE_HEADER "' (cases)");
		return -1;
	}
	return 0;
}

/* The checks a plain ASCII line cannot fail, in this order; 0 if the
 * line passes them. */
static int
odd_line(struct load *l, const char *s, size_t n, const struct fld *f, int nf)
{
	size_t ok;

	if (memchr(s, '\0', n) != NULL) {
		lerr(l, 1, "NUL byte in line");
		return -1;
	}
	if ((ok = ts_utf8_prefix(s, n)) < n) {
		int col = 1, k;
		for (k = 0; k < nf && k <= CHILD_NF; k++)
			if ((size_t)(f[k].s - s) <= ok)
				col = k + 1;
		lerr(l, col, "invalid UTF-8 encoding (byte 0x%02x at byte %zu "
		    "of the line)", (unsigned char)s[ok], ok + 1);
		return -1;
	}
	if (memchr(s, '"', n) != NULL) {
		lerr(l, 1, "quotes are not allowed (no field contains a comma)");
		return -1;
	}
	return 0;
}

int
ts_register_csv_parse(ts_register_csv *x, int kind, const char *file,
    const char *buf, size_t len)
{
	struct load l;
	const char *p = buf, *end = buf + len;
	int nf, odd, rc, want, seen_header = 0;
	struct fld f[CHILD_NF + 1];

	memset(x, 0, sizeof(*x));
	l.x = x;
	l.file = file;
	l.line = 0;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *s = p;

		p = nl != NULL ? nl + 1 : end;
		l.line++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (!seen_header) {
			seen_header = 1;
			if (header(&l, kind, s, n) != 0)
				return 0;
			continue;
		}
		if (n == 0 && p == end)
			break;                  /* final newline */
		x->rows++;
		if (n == 0) {
			lerr(&l, 1, "empty line");
			continue;
		}
		nf = split(s, n, f, CHILD_NF + 1, &odd);
		if (odd && odd_line(&l, s, n, f, nf) != 0)
			continue;
		want = x->kind == TS_REG_CHILDREN ? CHILD_NF : CASE_NF;
		if (nf != want) {
			if (nf < want)
				lerr(&l, nf + 1, "missing field: %d fields, want %d",
				    nf, want);
			else
				lerr(&l, want + 1, "too many fields: %d, want %d",
				    nf, want);
			continue;
		}
		if ((rc = grow(x)) != 0)
			return rc;
		if (x->kind == TS_REG_CHILDREN) {
			if (parse_child(&l, f, &x->children[x->n]) != 0)
				continue;
		} else if (parse_case(&l, f, &x->cases[x->n]) != 0)
			continue;
		x->lines[x->n++] = l.line;
	}
	if (!seen_header) {
		l.line = 1;
		lerr(&l, 0, "empty file (no header)");
	} else if (x->rows == 0)
		lerr(&l, 0, "no data rows");
	return 0;
}
