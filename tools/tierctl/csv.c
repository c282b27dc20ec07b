/*
 * The values CSV of `tierctl import`: parse a whole file held in memory
 * into rows, or into "FILE:LINE:COL: what" errors.  See csv.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Field checks shared by put and import: NULL if fine, else why not.   */
/* ------------------------------------------------------------------ */

const char *
csv_why_period(const char *s, size_t n)
{
	return ts_valid_period(s, n) == 0 ? NULL :
	    "expected YYYY, YYYYQn (n 1-4) or YYYY-MM (year 2000-2999)";
}

const char *
csv_why_indicator(const char *s, size_t n)
{
	return ts_valid_indicator(s, n) == 0 ? NULL :
	    "expected 1 to 32 characters of [0-9A-Za-z._-]";
}

const char *
csv_why_dis(const char *s, size_t n)
{
	return ts_valid_dis(s, n) == 0 ? NULL :
	    "expected 0 to 64 printable ASCII characters, no tab or comma";
}

/* ------------------------------------------------------------------ */
/* Parser                                                               */
/* ------------------------------------------------------------------ */

struct csv {
	const char        *file;
	unsigned           line;
	int                oom;     /* an allocation failed */
	struct csv_result *res;
};

static const char *col_names[] = {
	"period", "indicator", "disaggregation", "numerator", "denominator",
};

static void csv_err(struct csv *x, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
err_line(struct csv *x, const char *text)
{
	if (ts_buf_append(&x->res->errors, text, strlen(text)) != 0)
		x->oom = 1;
}

/* "FILE:LINE:COL: what", the form editors and grep understand. */
static void
csv_err(struct csv *x, unsigned line, unsigned col, const char *fmt, ...)
{
	char buf[1024], out[2048];
	va_list ap;

	x->res->nerr++;
	if (x->res->nerr > CSV_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s:%u:%u: %s\n", x->file, line, col, buf);
	err_line(x, out);
	if (x->res->nerr == CSV_MAX_ERRORS) {
		snprintf(out, sizeof(out), "%s: too many errors, not showing "
		    "more\n", x->file);
		err_line(x, out);
	}
}

static const char *
col_name(unsigned col)
{
	return col >= 1 && col <= 5 ? col_names[col - 1] : "extra field";
}

/* Column (1-based) holding byte offset off of the line. */
static unsigned
col_at(const char *s, size_t off)
{
	unsigned col = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (s[i] == ',')
			col++;
	return col;
}

static int
csv_check_text(struct csv *x, const char *s, size_t n)
{
	const char *q;
	size_t i;
	unsigned col;

	if ((q = memchr(s, '\0', n)) != NULL) {
		col = col_at(s, (size_t)(q - s));
		csv_err(x, x->line, col, "%s: NUL byte", col_name(col));
		return -1;
	}
	if ((i = ts_utf8_prefix(s, n)) < n) {
		col = col_at(s, i);
		csv_err(x, x->line, col, "%s: invalid UTF-8 at byte %zu of the "
		    "line", col_name(col), i + 1);
		return -1;
	}
	if ((q = memchr(s, '"', n)) != NULL) {
		col = col_at(s, (size_t)(q - s));
		csv_err(x, x->line, col, "%s: quotes are not supported (no field "
		    "can contain a comma, so none is needed)", col_name(col));
		return -1;
	}
	return 0;
}

/* Split the n bytes of s on commas, keeping at most 5 fields; returns
 * the field count. */
static unsigned
csv_split(const char *s, size_t n, const char **f, size_t *flen)
{
	unsigned nf = 0;
	const char *p = s, *end = s + n, *comma;

	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (nf < 5) {
			f[nf] = p;
			flen[nf] = (size_t)((comma != NULL ? comma : end) - p);
		}
		nf++;
		if (comma == NULL)
			return nf;
		p = comma + 1;
	}
}

static int
csv_number(struct csv *x, unsigned col, const char *s, size_t n, uint64_t *v)
{
	const char *why;

	if (col == 5 && n == 0) {       /* a plain count has no denominator */
		*v = 0;
		return 0;
	}
	if (parse_value(s, n, v, &why) != 0) {
		if (n == 0)
			csv_err(x, x->line, col, "%s is empty", col_names[col - 1]);
		else
			csv_err(x, x->line, col, "%s '%.*s' %s", col_names[col - 1],
			    (int)(n > 40 ? 40 : n), s, why);
		return -1;
	}
	return 0;
}

static int
csv_ident(struct csv *x, unsigned col, const char *s, size_t n,
    const char *(*check)(const char *, size_t))
{
	const char *why;

	if ((why = check(s, n)) == NULL)
		return 0;
	csv_err(x, x->line, col, "%s '%.*s%s': %s", col_names[col - 1],
	    (int)(n > 70 ? 70 : n), s, n > 70 ? "..." : "", why);
	return -1;
}

static int
csv_push(struct csv *x, const struct csv_row *r)
{
	struct csv_result *res = x->res;

	if (res->nrows == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 256;
		struct csv_row *p = reallocarray(res->rows, cap, sizeof(*p));
		if (p == NULL) {
			x->oom = 1;
			return -1;
		}
		res->rows = p;
		res->cap = cap;
	}
	res->rows[res->nrows++] = *r;
	return 0;
}

/* One data line: check every field, keep the row if all are good. */
static int
csv_row(struct csv *x, const char *s, size_t n)
{
	const char *f[5];
	size_t fl[5];
	unsigned nf, bad = 0;
	struct csv_row r;

	if (n == 0) {
		csv_err(x, x->line, 1, "empty line");
		return 0;
	}
	if (csv_check_text(x, s, n) != 0)
		return 0;
	nf = csv_split(s, n, f, fl);
	if (nf > 5) {
		csv_err(x, x->line, 6, "%u fields, expected 5 (%s)", nf, CSV_HEADER);
		return 0;
	}
	if (nf < 5) {
		csv_err(x, x->line, nf + 1, "missing field %s: %u fields, expected "
		    "5 (%s)", col_names[nf], nf, CSV_HEADER);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	bad |= csv_ident(x, 1, f[0], fl[0], csv_why_period) != 0;
	bad |= csv_ident(x, 2, f[1], fl[1], csv_why_indicator) != 0;
	bad |= csv_ident(x, 3, f[2], fl[2], csv_why_dis) != 0;
	bad |= csv_number(x, 4, f[3], fl[3], &r.v.num) != 0;
	bad |= csv_number(x, 5, f[4], fl[4], &r.v.den) != 0;
	if (bad)
		return 0;
	memcpy(r.period, f[0], fl[0]);
	memcpy(r.v.ind, f[1], fl[1]);
	memcpy(r.v.dis, f[2], fl[2]);
	r.line = x->line;
	return csv_push(x, &r);
}

static int
csv_header(struct csv *x, const char *s, size_t n)
{
	/* Spreadsheets like to start UTF-8 files with a byte order mark. */
	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (n == strlen(CSV_HEADER) && memcmp(s, CSV_HEADER, n) == 0)
		return 0;
	csv_err(x, 1, 1, "missing header: the first line must be exactly '%s'"
	    "%s", CSV_HEADER, n > 0 && s[0] >= '0' && s[0] <= '9' ?
	    " (this looks like a data line)" : "");
	return -1;
}

/* Line by line, as getline() would cut them: a last line without a
 * newline counts, a final newline does not start another line. */
static int
csv_lines(struct csv *x, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t n;
	int rc = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		x->line++;
		if (n > 0 && p[n - 1] == '\r')          /* CRLF files */
			n--;
		if (x->line == 1) {
			if (csv_header(x, p, n) != 0)
				break;          /* nothing else makes sense */
		} else if ((rc = csv_row(x, p, n)) != 0)
			break;
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc == 0 && x->line == 0)
		csv_err(x, 1, 1, "empty file (expected the header '%s')", CSV_HEADER);
	else if (rc == 0 && x->res->nerr == 0 && x->res->nrows == 0)
		csv_err(x, x->line + 1, 1, "no data rows after the header");
	return rc;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct csv_row *x = a, *y = b;
	int d;

	if ((d = strcmp(x->period, y->period)) != 0 ||
	    (d = strcmp(x->v.ind, y->v.ind)) != 0 ||
	    (d = strcmp(x->v.dis, y->v.dis)) != 0)
		return d;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort into send order (period, then the canonical (ind, dis) order)
 * and report duplicates and periods too large for one CTL_PUT. */
static void
csv_check_set(struct csv *x)
{
	struct csv_result *res = x->res;
	size_t i, start = 0;

	if (res->nrows == 0)
		return;
	qsort(res->rows, res->nrows, sizeof(*res->rows), row_cmp);
	for (i = 1; i <= res->nrows; i++) {
		const struct csv_row *p = &res->rows[i - 1];
		const struct csv_row *r = i < res->nrows ? &res->rows[i] : NULL;
		if (r != NULL && strcmp(p->period, r->period) == 0 &&
		    strcmp(p->v.ind, r->v.ind) == 0 &&
		    strcmp(p->v.dis, r->v.dis) == 0)
			csv_err(x, r->line, 1, "duplicate of line %u (period %s, "
			    "indicator %s, disaggregation '%s')", p->line,
			    r->period, r->v.ind, r->v.dis);
		if (r == NULL || strcmp(p->period, r->period) != 0) {
			if (i - start > TS_VALUES_MAX)
				csv_err(x, res->rows[start].line, 1, "period %s has "
				    "%zu values, at most %d fit in one report",
				    p->period, i - start, TS_VALUES_MAX);
			start = i;
		}
	}
}

int
csv_parse(const char *file, const char *buf, size_t len,
    struct csv_result *res)
{
	struct csv x;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.file = file;
	x.res = res;
	if (buf == NULL && len > 0)
		return TS_EINVAL;
	if (csv_lines(&x, buf, len) == 0 && !x.oom)
		csv_check_set(&x);      /* the good rows: duplicates, sizes */
	return x.oom ? TS_ENOMEM : 0;
}

void
csv_result_free(struct csv_result *res)
{
	free(res->rows);
	ts_buf_free(&res->errors);
	memset(res, 0, sizeof(*res));
}
