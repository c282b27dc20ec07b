/*
 * Line splitting shared by the catalogue and plan parsers (private).
 * Rules as for topology files (docs/TOPOLOGY.md): UTF-8, one record a
 * line, TAB-separated; '#' comment lines and blank lines ignored; LF or
 * CRLF; a BOM at the start skipped; NUL or a stray CR is an error.
 */
#ifndef TIERSYNC_DOMAIN_TSV_H
#define TIERSYNC_DOMAIN_TSV_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p, n, cp, i;
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) { p++; continue; }
		if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
		else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
		else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
		else return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Next non-comment, non-blank line split at TABs into t->f.  Returns 1
 * with a line, 0 at the end, -1 on error (t->err set). */
static int __attribute__((unused))
tsv_next(struct tsv *t)
{
	for (;;) {
		char *nl, *s, *q;
		size_t len;

		if (t->p >= t->end)
			return 0;
		t->line++;
		nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
		s = t->p;
		len = nl != NULL ? (size_t)(nl - s) : (size_t)(t->end - s);
		t->p = nl != NULL ? nl + 1 : t->end;
		if (t->line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			len -= 3;
		}
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (memchr(s, '\0', len) != NULL) {
			tsv_err(t, "NUL byte in line");
			return -1;
		}
		if (memchr(s, '\r', len) != NULL) {
			tsv_err(t, "carriage return inside line");
			return -1;
		}
		s[len] = '\0';
		if (s[0] == '#' || strspn(s, " \t") == len)
			continue;
		t->nf = 0;
		for (q = s;;) {
			char *tab = strchr(q, '\t');
			if (t->nf == TSV_FIELDS_MAX) {
				tsv_err(t, "more than %d fields", TSV_FIELDS_MAX);
				return -1;
			}
			t->f[t->nf++] = q;
			if (tab == NULL)
				break;
			*tab = '\0';
			q = tab + 1;
		}
		return 1;
	}
}

#endif
