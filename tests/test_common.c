/*
 * Unit tests for proto/common.c: error text, buffers, clocks, hex,
 * identifier validators.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tiersync/common.h"

static void
test_strerror(void)
{
	int	 codes[] = { TS_OK, TS_ESYS, TS_ENOMEM, TS_EMALFORMED, TS_ELIMIT,
	    TS_EVERSION, TS_ENONCANON, TS_ESIG, TS_EUNKNOWN, TS_ESUBTREE,
	    TS_EREPLAY, TS_EGAP, TS_EFORK, TS_ECHAIN, TS_ESTORE, TS_ENOSPC,
	    TS_ENOTFOUND, TS_EPARSE, TS_EINVAL, TS_EPROTO };
	size_t	 i, j;
	int	 distinct = 1, known = 1;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = ts_strerror(codes[i]);
		if (s == NULL || strcmp(s, "unknown error") == 0)
			known = 0;
		for (j = 0; j < i; j++)
			if (strcmp(s, ts_strerror(codes[j])) == 0)
				distinct = 0;
	}
	CHECK(known, "every TS_E* code has a text");
	CHECK(distinct, "the texts are distinct");
	CHECK(strcmp(ts_strerror(ENOENT), strerror(ENOENT)) == 0,
	    "positive errno falls back to strerror");
	CHECK(strcmp(ts_strerror(-ENOENT), strerror(ENOENT)) == 0,
	    "negative errno falls back to strerror");
	CHECK(strcmp(ts_strerror(-31099), "unknown error") == 0,
	    "unassigned TS range is unknown");
	CHECK(strcmp(ts_strerror(-30799), "unknown error") == 0,
	    "LMDB codes are not translated here");
}

static void
test_buf(void)
{
	ts_buf	b = { NULL, 0, 0 };
	uint8_t	big[1000];
	size_t	i;
	int	ok = 1;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	CHECK_EQ_INT(ts_buf_append(&b, "abc", 3), 0, "append to empty buffer");
	CHECK(b.len == 3 && memcmp(b.buf, "abc", 3) == 0, "content after append");
	CHECK_EQ_INT(ts_buf_append(&b, NULL, 0), 0, "append nothing");
	for (i = 0; i < 100; i++)
		if (ts_buf_append(&b, big, sizeof(big)) != 0)
			ok = 0;
	CHECK(ok && b.len == 3 + 100 * sizeof(big), "grow by repeated appends");
	CHECK(b.cap >= b.len, "cap >= len");
	CHECK(memcmp(b.buf + 3 + 99 * sizeof(big), big, sizeof(big)) == 0,
	    "last chunk intact");
	CHECK_EQ_INT(ts_buf_reserve(&b, SIZE_MAX), TS_ENOMEM,
	    "reserve SIZE_MAX fails cleanly");
	CHECK_EQ_INT(ts_buf_reserve(&b, SIZE_MAX - b.len), TS_ENOMEM,
	    "reserve to SIZE_MAX fails cleanly");
	CHECK(b.len == 3 + 100 * sizeof(big), "failed reserve keeps content");
	i = b.cap;
	ts_buf_reset(&b);
	CHECK(b.len == 0 && b.cap == i && b.buf != NULL, "reset keeps memory");
	ts_buf_free(&b);
	CHECK(b.buf == NULL && b.len == 0 && b.cap == 0, "free zeroes");
	ts_buf_free(&b);
	CHECK(1, "double free is harmless");
}

static void
test_clock(void)
{
	uint64_t	a, b;

	CHECK(ts_now_ms() > 1700000000000ull, "wall clock is in ms since epoch");
	a = ts_mono_ms();
	b = ts_mono_ms();
	CHECK(b >= a, "monotonic clock does not go back");
}

static void
test_hex(void)
{
	uint8_t	in[4] = { 0x00, 0x7f, 0xab, 0xff }, out[4];
	char	hex[9];

	ts_to_hex(in, 4, hex);
	CHECK(strcmp(hex, "007fabff") == 0, "to_hex lower case");
	CHECK_EQ_INT(ts_from_hex("007fabff", out, 4), 0, "from_hex");
	CHECK(memcmp(in, out, 4) == 0, "hex round trip");
	CHECK_EQ_INT(ts_from_hex("007FABFF", out, 4), 0, "from_hex upper case");
	CHECK(memcmp(in, out, 4) == 0, "upper case decodes the same");
	memset(out, 0x55, 4);
	CHECK_EQ_INT(ts_from_hex("007fabf", out, 4), TS_EPARSE, "odd length");
	CHECK_EQ_INT(ts_from_hex("007fabff00", out, 4), TS_EPARSE, "too long");
	CHECK_EQ_INT(ts_from_hex("007fab", out, 4), TS_EPARSE, "too short");
	CHECK_EQ_INT(ts_from_hex("007fabgf", out, 4), TS_EPARSE, "non-hex");
	CHECK_EQ_INT(ts_from_hex("", out, 4), TS_EPARSE, "empty");
	CHECK_EQ_INT(ts_from_hex(NULL, out, 4), TS_EPARSE, "NULL");
	CHECK(out[0] == 0x55, "failed from_hex leaves output untouched");
	CHECK_EQ_INT(ts_from_hex("", out, 0), 0, "zero bytes from empty");
	ts_to_hex(in, 0, hex);
	CHECK(hex[0] == '\0', "to_hex of nothing is empty");
}

struct vcase {
	const char	*s;
	int		 ok;
};

static void
run_cases(const char *what, int (*fn)(const char *, size_t),
    const struct vcase *c, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		CHECK((fn(c[i].s, strlen(c[i].s)) == 0) == c[i].ok,
		    "%s case %zu is %s", what, i, c[i].ok ? "valid" : "invalid");
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static void
test_validators(void)
{
	static const struct vcase code[] = {
		{ "01", 1 }, { "00001", 1 }, { "A1b2", 1 },
		{ "0123456789abcdef", 1 }, { "0123456789abcdefg", 0 },
		{ "", 0 }, { "0 1", 0 }, { "01-2", 0 }, { "đ", 0 },
	};
	static const struct vcase period[] = {
		{ "2025", 1 }, { "2000", 1 }, { "2999", 1 }, { "2025Q1", 1 },
		{ "2025Q4", 1 }, { "2025-01", 1 }, { "2025-12", 1 },
		{ "1999", 0 }, { "3000", 0 }, { "2025Q5", 0 }, { "2025Q0", 0 },
		{ "2025-13", 0 }, { "2025-00", 0 }, { "2025-1", 0 },
		{ "2025q1", 0 }, { "202", 0 }, { "20250", 0 }, { "", 0 },
		{ "2025Q1x", 0 }, { "2025-011", 0 }, { "abcd", 0 },
	};
	static const struct vcase ind[] = {
		{ "1.1", 1 }, { "a_b-c.D9", 1 },
		{ "12345678901234567890123456789012", 1 },
		{ "123456789012345678901234567890123", 0 },
		{ "", 0 }, { "1 1", 0 }, { "1,1", 0 }, { "1/1", 0 },
	};
	static const struct vcase dis[] = {
		{ "", 1 }, { "sex=F", 1 }, { "age=0-5;area=highland", 1 },
		{ "a b~!@#$%^&*()", 1 },
		{ "1234567890123456789012345678901234567890123456789012345678901234", 1 },
		{ "12345678901234567890123456789012345678901234567890123456789012345", 0 },
		{ "a,b", 0 }, { "a\tb", 0 }, { "a\nb", 0 }, { "\x7f", 0 },
		{ "d\xc3\xa2n t\xe1\xbb\x99\x63", 0 },
	};

	run_cases("code", ts_valid_code, code, NCASES(code));
	run_cases("period", ts_valid_period, period, NCASES(period));
	run_cases("indicator", ts_valid_indicator, ind, NCASES(ind));
	run_cases("dis", ts_valid_dis, dis, NCASES(dis));
	CHECK(ts_valid_code("01\0" "2", 4) != 0, "code with NUL is invalid");
	CHECK(ts_valid_dis("a\0b", 3) != 0, "dis with NUL is invalid");
	CHECK(ts_valid_period("2025", 3) != 0, "length is honoured");
	CHECK(ts_valid_code(NULL, 0) != 0, "NULL code is invalid");
	CHECK(ts_valid_dis(NULL, 0) == 0, "NULL empty dis is the total");
}

int
main(void)
{
	test_strerror();
	test_buf();
	test_clock();
	test_hex();
	test_validators();
	return ts_test_done();
}
