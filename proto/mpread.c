/*
 * Bounded msgpack cursor reader.  See mpread.h for the contract.
 *
 * Every read first checks that the header bytes are present, then that
 * the declared payload length fits in what remains, and only then moves
 * the cursor.  Lengths are compared against c->left (a size_t that is
 * never larger than the input), so no arithmetic on attacker values can
 * overflow.
 */
#include <string.h>

#include "tiersync/mpread.h"

void
ts_mpr_init(ts_mpr *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->left = len;
}

/* Big-endian unsigned of w bytes at c->p + 1, after a 1-byte tag. */
static int
rd_be(ts_mpr *c, size_t w, uint64_t *v)
{
	size_t	i;

	if (c->left < 1 + w)
		return TS_EMALFORMED;
	*v = 0;
	for (i = 0; i < w; i++)
		*v = *v << 8 | c->p[1 + i];
	c->p += 1 + w;
	c->left -= 1 + w;
	return 0;
}

int
ts_mpr_array(ts_mpr *c, size_t *n)
{
	uint64_t	v;
	int		rc;

	if (c->left < 1)
		return TS_EMALFORMED;
	if ((c->p[0] & 0xf0) == 0x90) {
		*n = c->p[0] & 0x0f;
		c->p++;
		c->left--;
		return 0;
	}
	switch (c->p[0]) {
	case 0xdc:
		if ((rc = rd_be(c, 2, &v)) != 0)
			return rc;
		if (v < 16)
			return TS_ENONCANON;
		break;
	case 0xdd:
		if ((rc = rd_be(c, 4, &v)) != 0)
			return rc;
		if (v < 0x10000)
			return TS_ENONCANON;
		break;
	default:
		return TS_EMALFORMED;
	}
	*n = (size_t)v;
	return 0;
}

int
ts_mpr_array_n(ts_mpr *c, size_t want)
{
	size_t	n;
	int	rc;

	if ((rc = ts_mpr_array(c, &n)) != 0)
		return rc;
	return n == want ? 0 : TS_EMALFORMED;
}

int
ts_mpr_array_max(ts_mpr *c, size_t *n, size_t max, size_t minelem)
{
	int	rc;

	if ((rc = ts_mpr_array(c, n)) != 0)
		return rc;
	if (*n > max)
		return TS_ELIMIT;
	/* Every element takes at least minelem bytes, so a count the
	 * remaining input cannot hold is a lie: refuse before allocating. */
	if (minelem > 0 && *n > c->left / minelem)
		return TS_EMALFORMED;
	return 0;
}

int
ts_mpr_uint(ts_mpr *c, uint64_t *v)
{
	uint8_t	tag;
	int	rc;

	if (c->left < 1)
		return TS_EMALFORMED;
	tag = c->p[0];
	if (tag <= 0x7f) {
		*v = tag;
		c->p++;
		c->left--;
		return 0;
	}
	switch (tag) {
	case 0xcc:
		if ((rc = rd_be(c, 1, v)) != 0)
			return rc;
		return *v < 0x80 ? TS_ENONCANON : 0;
	case 0xcd:
		if ((rc = rd_be(c, 2, v)) != 0)
			return rc;
		return *v <= 0xff ? TS_ENONCANON : 0;
	case 0xce:
		if ((rc = rd_be(c, 4, v)) != 0)
			return rc;
		return *v <= 0xffff ? TS_ENONCANON : 0;
	case 0xcf:
		if ((rc = rd_be(c, 8, v)) != 0)
			return rc;
		return *v <= 0xffffffffu ? TS_ENONCANON : 0;
	default:
		/* Negative or signed integers, floats, anything else.  The
		 * packer never writes a signed tag for our unsigned fields. */
		return TS_EMALFORMED;
	}
}

int
ts_mpr_uint_max(ts_mpr *c, uint64_t max, uint64_t *v)
{
	int	rc;

	if ((rc = ts_mpr_uint(c, v)) != 0)
		return rc;
	return *v <= max ? 0 : TS_EMALFORMED;
}

int
ts_mpr_nil(ts_mpr *c)
{
	if (c->left < 1 || c->p[0] != 0xc0)
		return TS_EMALFORMED;
	c->p++;
	c->left--;
	return 0;
}

/* Take a payload of n bytes after the header has been consumed. */
static int
take(ts_mpr *c, uint64_t n, const uint8_t **p, size_t *len)
{
	if (n > c->left)
		return TS_EMALFORMED;
	*p = c->p;
	*len = (size_t)n;
	c->p += n;
	c->left -= (size_t)n;
	return 0;
}

int
ts_mpr_str(ts_mpr *c, const char **s, size_t *len)
{
	const uint8_t	*p;
	uint64_t	 n;
	int		 rc;

	if (c->left < 1)
		return TS_EMALFORMED;
	if ((c->p[0] & 0xe0) == 0xa0) {
		n = c->p[0] & 0x1f;
		c->p++;
		c->left--;
	} else {
		switch (c->p[0]) {
		case 0xd9:
			if ((rc = rd_be(c, 1, &n)) != 0)
				return rc;
			if (n < 32)
				return TS_ENONCANON;
			break;
		case 0xda:
			if ((rc = rd_be(c, 2, &n)) != 0)
				return rc;
			if (n <= 0xff)
				return TS_ENONCANON;
			break;
		case 0xdb:
			if ((rc = rd_be(c, 4, &n)) != 0)
				return rc;
			if (n <= 0xffff)
				return TS_ENONCANON;
			break;
		default:
			return TS_EMALFORMED;
		}
	}
	if ((rc = take(c, n, &p, len)) != 0)
		return rc;
	*s = (const char *)p;
	return 0;
}

int
ts_mpr_bin(ts_mpr *c, const uint8_t **p, size_t *len)
{
	uint64_t	n;
	int		rc;

	if (c->left < 1)
		return TS_EMALFORMED;
	switch (c->p[0]) {
	case 0xc4:
		if ((rc = rd_be(c, 1, &n)) != 0)
			return rc;
		break;
	case 0xc5:
		if ((rc = rd_be(c, 2, &n)) != 0)
			return rc;
		if (n <= 0xff)
			return TS_ENONCANON;
		break;
	case 0xc6:
		if ((rc = rd_be(c, 4, &n)) != 0)
			return rc;
		if (n <= 0xffff)
			return TS_ENONCANON;
		break;
	default:
		return TS_EMALFORMED;
	}
	return take(c, n, p, len);
}

int
ts_mpr_bin_n(ts_mpr *c, uint8_t *dst, size_t n)
{
	const uint8_t	*p;
	size_t		 len;
	int		 rc;

	if ((rc = ts_mpr_bin(c, &p, &len)) != 0)
		return rc;
	if (len != n)
		return TS_EMALFORMED;
	memcpy(dst, p, n);
	return 0;
}

int
ts_mpr_str_max(ts_mpr *c, size_t max, const char **s, size_t *len)
{
	int	rc;

	if ((rc = ts_mpr_str(c, s, len)) != 0)
		return rc;
	if (*len > max)
		return TS_ELIMIT;
	/* An embedded NUL would silently truncate the C string and make
	 * two different wire strings compare equal. */
	if (*len > 0 && memchr(*s, '\0', *len) != NULL)
		return TS_EMALFORMED;
	return 0;
}

int
ts_mpr_str_copy(ts_mpr *c, char *dst, size_t max)
{
	const char	*s;
	size_t		 len;
	int		 rc;

	if ((rc = ts_mpr_str_max(c, max, &s, &len)) != 0)
		return rc;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int
ts_mpr_end(const ts_mpr *c)
{
	return c->left == 0 ? 0 : TS_EMALFORMED;
}
