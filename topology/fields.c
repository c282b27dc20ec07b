/*
 * Messages and field checks shared by the parsers of topology/
 * (fields.h): moved here from topology.c so that the tree, keys,
 * mapping and history parsers word and check things alike.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"

int
tp_vperr(char *err, size_t errlen, const char *name, size_t line,
    const char *fmt, va_list ap)
{
	int	n;

	if (err == NULL || errlen == 0)
		return TS_EPARSE;
	n = snprintf(err, errlen, "%s:%zu: ", name, line);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	return TS_EPARSE;
}

int
tp_perr(char *err, size_t errlen, const char *name, size_t line,
    const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = tp_vperr(err, errlen, name, line, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Copy a field into buf for an error message, escaping anything that
 * is not printable ASCII or UTF-8, and cutting long fields: the message
 * goes to a terminal or a log, and the field may be garbage.
 */
const char *
tp_show_bytes(const ts_field *f, char *buf, size_t bufsz, int ascii)
{
	size_t	i, o = 0;
	unsigned char c;

	for (i = 0; i < f->len; i++) {
		if (o + 8 >= bufsz) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		c = (unsigned char)f->p[i];
		if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'' ||
		    (ascii && c >= 0x80))
			o += (size_t)snprintf(buf + o, bufsz - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

const char *
tp_show(const ts_field *f, char *buf, size_t bufsz)
{
	return tp_show_bytes(f, buf, bufsz, 0);
}

int
tp_feq(const ts_field *f, const char *s)
{
	size_t	n = strlen(s);

	return f->len == n && memcmp(f->p, s, n) == 0;
}

int
tp_valid_version(const ts_field *f)
{
	size_t	i;
	char	c;

	if (f->len < 1 || f->len > TS_TOPO_MAX)
		return 0;
	for (i = 0; i < f->len; i++) {
		c = f->p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* YYYY-MM-DD, a real calendar date, year 2000..2999 like periods. */
int
tp_valid_date(const ts_field *f)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *s = f->p;
	int	y, m, d, i;

	if (f->len != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}


int
tp_parse_start(const char *text, size_t len, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return text == NULL && len > 0 ? TS_EINVAL : 0;
}

size_t
tp_count_lines(const char *text, size_t len)
{
	const char	*p, *end, *nl;
	size_t		 n = 1;

	if (text == NULL)
		return n;
	for (p = text, end = text + len; p < end &&
	    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1)
		n++;
	return n;
}

int
tp_next_line(ts_lines *lr, const char *name, const char **s, size_t *n,
    char *err, size_t errlen)
{
	const char	*why;
	int		 rc;

	while ((rc = ts_lines_next(lr, s, n, &why)) != 0) {
		if (rc < 0)
			return tp_perr(err, errlen, name, lr->line, "%s", why);
		if (!ts_line_skip(*s, *n))
			return 1;
	}
	return 0;
}
