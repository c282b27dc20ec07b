/*
 * Text and file helpers shared by every parser (include/tiersync/util.h):
 * whole-file reader, TSV lines and fields, UTF-8, XML escaping.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tiersync/util.h"

/* ---- whole files ------------------------------------------------- */

static void
file_err(char *err, size_t errlen, const char *path, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, what);
}

static int
too_large(char *err, size_t errlen, const char *path, size_t max)
{
	char what[64];

	if (max >= ((size_t)1 << 30) && max % ((size_t)1 << 30) == 0)
		snprintf(what, sizeof(what), "file too large (over %zu GiB)",
		    max >> 30);
	else if (max >= ((size_t)1 << 20) && max % ((size_t)1 << 20) == 0)
		snprintf(what, sizeof(what), "file too large (over %zu MiB)",
		    max >> 20);
	else
		snprintf(what, sizeof(what), "file too large (over %zu bytes)",
		    max);
	file_err(err, errlen, path, what);
	return TS_ELIMIT;
}

int
ts_file_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	FILE	*f;
	char	*b = NULL, *nb;
	size_t	 n = 0, cap = 65536, got;
	struct stat sb;
	int	 saved, rc;

	if (buf == NULL || len == NULL)
		return TS_EINVAL;
	*buf = NULL;
	*len = 0;
	if (path == NULL)
		return TS_EINVAL;
	if (max > PTRDIFF_MAX - 1)
		max = PTRDIFF_MAX - 1;
	if ((f = fopen(path, "rb")) == NULL) {
		saved = errno;
		file_err(err, errlen, path, strerror(saved));
		errno = saved;
		return TS_ESYS;
	}
	/* A regular file's size sizes the buffer (one read, no copy);
	 * the loop below still decides, since the file may grow. */
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) {
		if ((uintmax_t)sb.st_size > max) {
			fclose(f);
			return too_large(err, errlen, path, max);
		}
		cap = (size_t)sb.st_size + 2;
	}
	if (cap > max + 2)
		cap = max + 2;
	for (;;) {
		if (cap - n < 2) {              /* room for a byte and the NUL */
			size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
			if ((nb = realloc(b, ncap)) == NULL)
				goto nomem;
			b = nb;
			cap = ncap;
		} else if (b == NULL && (b = malloc(cap)) == NULL)
			goto nomem;
		got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (n > max) {
			free(b);
			fclose(f);
			return too_large(err, errlen, path, max);
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		saved = errno != 0 ? errno : EIO;
		free(b);
		fclose(f);
		errno = saved;
		file_err(err, errlen, path, strerror(saved));
		errno = saved;
		return TS_ESYS;
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
nomem:
	rc = TS_ENOMEM;
	free(b);
	fclose(f);
	file_err(err, errlen, path, "out of memory");
	return rc;
}

/* ---- lines and TAB-separated fields ------------------------------ */

void
ts_lines_init(ts_lines *l, const char *text, size_t len)
{
	l->p = text;
	l->end = text != NULL ? text + len : NULL;
	l->line = 0;
}

int
ts_lines_next(ts_lines *l, const char **s, size_t *n, const char **why)
{
	const char *nl, *p = l->p;
	size_t	len;

	if (p == NULL || p >= l->end)
		return 0;
	l->line++;
	nl = memchr(p, '\n', (size_t)(l->end - p));
	len = nl != NULL ? (size_t)(nl - p) : (size_t)(l->end - p);
	l->p = nl != NULL ? nl + 1 : l->end;
	/* A UTF-8 byte order mark (Windows editors) is not data. */
	if (l->line == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	/* CRLF is accepted; any other CR is an error, since it would
	 * otherwise end up inside a name or code. */
	if (len > 0 && p[len - 1] == '\r')
		len--;
	*s = p;
	*n = len;
	if (memchr(p, '\r', len) != NULL) {
		*why = "carriage return inside line";
		return TS_EPARSE;
	}
	if (memchr(p, '\0', len) != NULL) {
		*why = "NUL byte in line";
		return TS_EPARSE;
	}
	return 1;
}

int
ts_line_skip(const char *s, size_t n)
{
	size_t	i;

	if (n > 0 && s[0] == '#')
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

size_t
ts_tsv_split(const char *s, size_t n, ts_field *fv, size_t max)
{
	size_t	nf = 0, i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '\t') {
			if (nf < max) {
				fv[nf].p = s + start;
				fv[nf].len = i - start;
			}
			nf++;
			start = i + 1;
		}
	}
	return nf;
}

/* ---- UTF-8 ------------------------------------------------------- */

size_t
ts_utf8_seq(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t	len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	/* 0xc0, 0xc1 could only start an overlong 2-byte form; 0xf5..
	 * only code points above U+10FFFF. */
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2; cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3; cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4; cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

size_t
ts_utf8_prefix(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t	i = 0, k;

	while (i < n) {
		if ((k = ts_utf8_seq(p + i, n - i)) == 0)
			break;
		i += k;
	}
	return i;
}

int
ts_utf8_text(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t	i;

	if (ts_utf8_prefix(s, n) != n)
		return 0;
	/* Valid UTF-8 now: 0xc2 is a lead byte with its continuation. */
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] < 0xa0))   /* C1 */
			return 0;
	return 1;
}

/* ---- XML / HTML -------------------------------------------------- */

void
ts_xml_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}
