/*
 * Common helpers: error text, growable buffers, clocks, hex, validators.
 *
 * Everything here is used on untrusted input (validators run on decoded
 * wire strings), so every function takes an explicit length and never
 * relies on NUL termination of its input.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tiersync/common.h"
#include "tiersync/period.h"

static const struct {
	int		 code;
	const char	*text;
} ts_errtab[] = {
	{ TS_OK,		"success" },
	{ TS_ESYS,		"system error" },
	{ TS_ENOMEM,		"out of memory" },
	{ TS_EMALFORMED,	"malformed message" },
	{ TS_ELIMIT,		"size, count or depth limit exceeded" },
	{ TS_EVERSION,		"unknown format or protocol version" },
	{ TS_ENONCANON,		"msgpack is not in canonical form" },
	{ TS_ESIG,		"signature does not verify" },
	{ TS_EUNKNOWN,		"unknown unit, key or message type" },
	{ TS_ESTORE,		"store error" },
	{ TS_ENOSPC,		"disk or map full" },
	{ TS_ENOTFOUND,		"not found" },
	{ TS_EPARSE,		"invalid input" },
	{ TS_EINVAL,		"invalid argument" },
	{ TS_ERANGE,		"a numerator or denominator is over 2^53 - 1" },
};

const char *
ts_strerror(int err)
{
	size_t	i;

	for (i = 0; i < sizeof(ts_errtab) / sizeof(ts_errtab[0]); i++)
		if (ts_errtab[i].code == err)
			return ts_errtab[i].text;
	/* Positive values are errno values; so are small negative ones
	 * (the "-errno" convention some callers use).  LMDB codes are
	 * translated by the store, which links LMDB; we do not. */
	if (err > 0)
		return strerror(err);
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

/* ---- buffers ----------------------------------------------------- */

int
ts_buf_reserve(ts_buf *b, size_t extra)
{
	size_t	 need, ncap;
	uint8_t	*nb;

	if (extra > SIZE_MAX - b->len)
		return TS_ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	/* No object may exceed PTRDIFF_MAX (pointer differences would
	 * overflow); refuse before asking the allocator. */
	if (need > PTRDIFF_MAX)
		return TS_ENOMEM;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > PTRDIFF_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((nb = realloc(b->buf, ncap)) == NULL)
		return TS_ENOMEM;
	b->buf = nb;
	b->cap = ncap;
	return 0;
}

int
ts_buf_append(ts_buf *b, const void *p, size_t n)
{
	int	rc;

	if (n == 0)
		return 0;
	if ((rc = ts_buf_reserve(b, n)) != 0)
		return rc;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

void
ts_buf_reset(ts_buf *b)
{
	b->len = 0;
}

void
ts_buf_free(ts_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

/* ---- clocks ------------------------------------------------------ */

static uint64_t
clock_ms(clockid_t id)
{
	struct timespec	ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
ts_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

uint64_t
ts_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* ---- hex --------------------------------------------------------- */

void
ts_to_hex(const uint8_t *p, size_t n, char *hex)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 0x0f];
	}
	hex[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ts_from_hex(const char *s, uint8_t *p, size_t n)
{
	size_t	i;
	int	hi, lo;

	if (s == NULL)
		return TS_EPARSE;
	/* Check every digit and the exact length before writing, so a bad
	 * string leaves p untouched. */
	for (i = 0; i < 2 * n; i++)
		if (s[i] == '\0' || hexval(s[i]) < 0)
			return TS_EPARSE;
	if (s[2 * n] != '\0')
		return TS_EPARSE;
	for (i = 0; i < n; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- validators -------------------------------------------------- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int
ts_valid_code(const char *s, size_t len)
{
	size_t	i;

	if (s == NULL || len < 1 || len > TS_CODE_MAX)
		return TS_EPARSE;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]))
			return TS_EPARSE;
	return 0;
}

/* The wire's rule is the period module's (include/tiersync/period.h). */
int
ts_valid_period(const char *s, size_t len)
{
	return ts_period_parse(s, len, NULL);
}

int
ts_valid_indicator(const char *s, size_t len)
{
	size_t	i;

	if (s == NULL || len < 1 || len > TS_IND_MAX)
		return TS_EPARSE;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-')
			return TS_EPARSE;
	return 0;
}

int
ts_valid_dis(const char *s, size_t len)
{
	size_t	i;

	if (len > TS_DIS_MAX || (len > 0 && s == NULL))
		return TS_EPARSE;
	/* Printable ASCII excludes tab, newline and NUL already; commas
	 * would break CSV export. */
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ',')
			return TS_EPARSE;
	return 0;
}
