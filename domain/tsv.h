/*
 * Line splitting shared by the catalogue and plan parsers (private).
 * Rules as for topology files (docs/TOPOLOGY.md): UTF-8, one record a
 * line, TAB-separated; '#' comment lines and blank lines ignored; LF or
 * CRLF; a BOM at the start skipped; NUL or a stray CR is an error --
 * the line reader, splitter and UTF-8 check of tiersync/util.h, over a
 * mutable copy so that fields can be NUL-terminated in place.
 */
#ifndef TIERSYNC_DOMAIN_TSV_H
#define TIERSYNC_DOMAIN_TSV_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tiersync/util.h"

#define TSV_FIELDS_MAX 16

struct tsv {
	const char *name;
	char       *p, *end;        /* mutable copy being consumed          */
	int         line;
	char       *f[TSV_FIELDS_MAX];
	int         nf;
	char       *err;
	size_t      errlen;
};

static void tsv_err(struct tsv *, const char *, ...)
    __attribute__((format(printf, 2, 3), unused));

static void
tsv_err(struct tsv *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (t->err != NULL && t->errlen > 0)
		snprintf(t->err, t->errlen, "%s:%d: %s", t->name, t->line, buf);
}

/* Valid UTF-8 without control characters (TAB excluded by splitting). */
static int __attribute__((unused))
tsv_utf8_ok(const char *s)
{
	return ts_utf8_text(s, strlen(s));
}

/* Next non-comment, non-blank line split at TABs into t->f (each field
 * NUL-terminated in place).  Lines as ts_lines_next reads them
 * (tiersync/util.h).  Returns 1 with a line, 0 at the end, -1 on error
 * (t->err set). */
static int __attribute__((unused))
tsv_next(struct tsv *t)
{
	ts_field fv[TSV_FIELDS_MAX];
	const char *s, *why;
	size_t len, nf, i;
	int rc;

	for (;;) {
		ts_lines l = { t->p, t->end, (size_t)t->line };

		rc = ts_lines_next(&l, &s, &len, &why);
		t->p = t->p + (l.p - t->p);     /* same buffer, kept mutable */
		t->line = (int)l.line;
		if (rc == 0)
			return 0;
		if (rc < 0) {
			tsv_err(t, "%s", why);
			return -1;
		}
		if (ts_line_skip(s, len))
			continue;
		if ((nf = ts_tsv_split(s, len, fv, TSV_FIELDS_MAX)) >
		    TSV_FIELDS_MAX) {
			tsv_err(t, "more than %d fields", TSV_FIELDS_MAX);
			return -1;
		}
		/* s points into t's mutable copy: end each field there. */
		for (i = 0; i < nf; i++) {
			t->f[i] = t->p - (l.p - fv[i].p);
			t->f[i][fv[i].len] = '\0';
		}
		t->nf = (int)nf;
		return 1;
	}
}

#endif
