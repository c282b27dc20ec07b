/*
 * Unit tests for proto/common.c: error text, buffers, clocks, hex,
 * identifier validators; proto/period.c: periods, their days and
 * ends, Viet Nam time (UTC+7), deadlines; and common/util.c: whole-file
 * reader, TSV lines and fields, UTF-8, XML escaping.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tiersync/common.h"
#include "tiersync/period.h"
#include "tiersync/util.h"

static void
test_strerror(void)
{
	int	 codes[] = { TS_OK, TS_ESYS, TS_ENOMEM, TS_EMALFORMED, TS_ELIMIT,
	    TS_EVERSION, TS_ENONCANON, TS_ESIG, TS_EUNKNOWN, TS_ESTORE,
	    TS_ENOSPC, TS_ENOTFOUND, TS_EPARSE, TS_EINVAL, TS_ERANGE };
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

/* common.h: TS_E* codes never collide with errno values, positive or
 * negated, and the retired numbers stay unused. */
static void
test_err_ranges(void)
{
	int	 codes[] = { TS_ESYS, TS_ENOMEM, TS_EMALFORMED, TS_ELIMIT,
	    TS_EVERSION, TS_ENONCANON, TS_ESIG, TS_EUNKNOWN, TS_ESTORE,
	    TS_ENOSPC, TS_ENOTFOUND, TS_EPARSE, TS_EINVAL, TS_ERANGE };
	size_t	 i;
	int	 in = 1, e, clash = 0;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!TS_IS_ERR(codes[i]) || codes[i] >= 0) {
			in = 0;
			printf("# %d outside [%d, %d]\n", codes[i], TS_ERR_MIN,
			    TS_ERR_MAX);
		}
	CHECK(in, "every TS_E* code is negative and in [TS_ERR_MIN, TS_ERR_MAX]");
	CHECK(TS_ERR_MIN <= TS_ERR_MAX && TS_ERR_MAX < -4095,
	    "the TS range lies below every -errno (Linux MAX_ERRNO 4095)");
	CHECK(!TS_IS_ERR(0) && !TS_IS_ERR(TS_ERR_MAX + 1) &&
	    !TS_IS_ERR(TS_ERR_MIN - 1), "TS_IS_ERR is exact at both ends");
	/* Every errno the C library knows, either sign, is not a TS code
	 * and keeps its strerror text. */
	for (e = 1; e < 4096; e++) {
		if (TS_IS_ERR(e) || TS_IS_ERR(-e))
			clash++;
		/* strerror's text for an unknown errno lives in a buffer
		 * the next call frees: copy it before calling again. */
		char mine[256];
		snprintf(mine, sizeof(mine), "%s", ts_strerror(-e));
		if (strcmp(mine, strerror(e)) != 0)
			clash++;
	}
	CHECK_EQ_INT(clash, 0, "no errno 1..4095 collides with a TS_E* code");
	CHECK(strcmp(ts_strerror(-31008), "unknown error") == 0 &&
	    strcmp(ts_strerror(-31012), "unknown error") == 0 &&
	    strcmp(ts_strerror(-31018), "unknown error") == 0,
	    "retired numbers are not reused");
	CHECK_EQ_INT(TS_ESTORE, -31013, "numbering stable after retirements");
	CHECK_EQ_INT(TS_EINVAL, -31017, "numbering stable");
	CHECK_EQ_INT(TS_ERANGE, -31019, "TS_ERANGE after the retired -31018");
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

/* ---- periods (include/tiersync/period.h) ---- */

static int32_t
ymd(int y, unsigned m, unsigned d)
{
	return ts_period_from_civil(y, m, d);
}

static void
test_period_parse(void)
{
	ts_period p = { -1, -1, -1 };

	CHECK(ts_period_parse("2025", 4, &p) == 0 && p.kind == TS_PERIOD_YEAR &&
	    p.year == 2025 && p.index == 0, "2025: a year");
	CHECK(ts_period_parse("2025Q3", 6, &p) == 0 && p.kind == TS_PERIOD_QUARTER &&
	    p.year == 2025 && p.index == 3, "2025Q3: quarter 3");
	CHECK(ts_period_parse("2999-12", 7, &p) == 0 && p.kind == TS_PERIOD_MONTH &&
	    p.year == 2999 && p.index == 12, "2999-12: month 12");
	CHECK(ts_period_parse("2025-07xyz", 7, &p) == 0 && p.index == 7,
	    "only len bytes are read");
	p.year = -1;
	CHECK(ts_period_parse("2025Q5", 6, &p) == TS_EPARSE && p.year == -1,
	    "2025Q5 refused, output untouched");
	CHECK(ts_period_parse("2025-00", 7, NULL) == TS_EPARSE &&
	    ts_period_parse("2025-13", 7, NULL) == TS_EPARSE &&
	    ts_period_parse("1999", 4, NULL) == TS_EPARSE &&
	    ts_period_parse("2025 ", 5, NULL) == TS_EPARSE &&
	    ts_period_parse("2025/07", 7, NULL) == TS_EPARSE &&
	    ts_period_parse("2025q1", 6, NULL) == TS_EPARSE &&
	    ts_period_parse("+025", 4, NULL) == TS_EPARSE &&
	    ts_period_parse(NULL, 4, NULL) == TS_EPARSE,
	    "bad months, years, separators, case, NULL refused");
	CHECK(ts_period_parse("2025Q1", 6, NULL) == 0, "p NULL: validate only");
}

static void
test_period_days(void)
{
	int32_t f = 0, l = 0;
	ts_period p;
	int y, ok = 1, prev_ok = 1;
	unsigned m, d;
	int32_t day;

	CHECK(ymd(1970, 1, 1) == 0 && ymd(1969, 12, 31) == -1 &&
	    ymd(2025, 1, 1) == 20089, "day numbers: epoch, before it, 2025-01-01");
	for (day = ymd(1999, 12, 1); day <= ymd(2101, 3, 1); day++) {
		ts_period_to_civil(day, &y, &m, &d);
		if (ymd(y, m, d) != day)
			ok = 0;
		if (d != 1 && ymd(y, m, d - 1) != day - 1)
			prev_ok = 0;
	}
	CHECK(ok && prev_ok, "to_civil inverts from_civil, 1999-12..2101-03");
	ts_period_to_civil(-1, &y, &m, &d);
	CHECK(y == 1969 && m == 12 && d == 31, "day -1 is 1969-12-31");

	CHECK(ts_period_days("2025", &f, &l) == 0 && f == ymd(2025, 1, 1) &&
	    l == ymd(2025, 12, 31), "2025: 1 January .. 31 December");
	CHECK(ts_period_days("2024", &f, &l) == 0 && l - f + 1 == 366 &&
	    ts_period_days("2100", &f, &l) == 0 && l - f + 1 == 365 &&
	    ts_period_days("2000", &f, &l) == 0 && l - f + 1 == 366,
	    "leap years: 2024 and 2000 have 366 days, 2100 365");
	CHECK(ts_period_days("2024-02", &f, &l) == 0 && l == ymd(2024, 2, 29) &&
	    ts_period_days("2025-02", &f, &l) == 0 && l == ymd(2025, 2, 28) &&
	    ts_period_days("2100-02", &f, &l) == 0 && l == ymd(2100, 2, 28) &&
	    ts_period_days("2000-02", &f, &l) == 0 && l == ymd(2000, 2, 29),
	    "February: 29 days in 2024 and 2000, 28 in 2025 and 2100");
	CHECK(ts_period_days("2024Q1", &f, &l) == 0 && f == ymd(2024, 1, 1) &&
	    l == ymd(2024, 3, 31) && l - f + 1 == 91, "2024Q1: 91 days to 31 March");
	CHECK(ts_period_days("2025Q3", &f, &l) == 0 && f == ymd(2025, 7, 1) &&
	    l == ymd(2025, 9, 30), "2025Q3: 1 July .. 30 September");
	CHECK(ts_period_days("2025Q4", &f, &l) == 0 && l == ymd(2025, 12, 31),
	    "2025Q4 ends 31 December");
	CHECK(ts_period_days("2025-12", &f, &l) == 0 && f == ymd(2025, 12, 1) &&
	    l == ymd(2025, 12, 31), "2025-12: December, across the year's end");
	f = l = 7;
	CHECK(ts_period_days("2025Q0", &f, &l) == TS_EPARSE && f == 7 && l == 7 &&
	    ts_period_days("2025-1", &f, &l) == TS_EPARSE &&
	    ts_period_days("20250101", &f, &l) == TS_EPARSE &&
	    ts_period_days(NULL, &f, &l) == TS_EPARSE, "bad periods refused");

	/* Ends: 00:00 Viet Nam time of the day after, i.e. 17:00 UTC. */
	CHECK(ts_period_parse("2025", 4, &p) == 0 &&
	    ts_period_end_day(&p) == ymd(2026, 1, 1) &&
	    ts_period_end_ms(&p) == 1767200400000LL,
	    "2025 ends 2026-01-01T00:00+07:00 = 2025-12-31T17:00Z");
	CHECK(ts_period_parse("2025Q4", 6, &p) == 0 &&
	    ts_period_end_ms(&p) == 1767200400000LL &&
	    ts_period_parse("2025-12", 7, &p) == 0 &&
	    ts_period_end_ms(&p) == 1767200400000LL,
	    "2025Q4 and 2025-12 end with the year");
	CHECK(ts_period_parse("2024-02", 7, &p) == 0 &&
	    ts_period_end_ms(&p) == 1709226000000LL &&
	    ts_period_first_day(&p) == ymd(2024, 2, 1),
	    "2024-02 ends 2024-03-01T00:00+07:00");
	CHECK(ts_period_parse("2025-07", 7, &p) == 0 &&
	    ts_period_end_ms(&p) == 1753981200000LL, "2025-07 ends 1 August +07");
}

static void
test_period_vn_time(void)
{
	const int64_t dec5 = 1764867600000LL;       /* 2025-12-05T00:00+07:00 */

	CHECK(TS_PERIOD_UTC_OFFSET_MS == 25200000LL, "Viet Nam is UTC+7");
	CHECK(ts_period_day_ms(ymd(2025, 12, 5)) == dec5, "day 2025-12-05 starts at 17:00Z");
	CHECK(ts_period_vn_day(dec5) == ymd(2025, 12, 5) &&
	    ts_period_vn_day(dec5 - 1) == ymd(2025, 12, 4),
	    "17:00Z is already the next day in Viet Nam, 16:59:59.999Z not");
	CHECK(ts_period_vn_day(dec5 + 7 * 3600 * 1000LL) == ymd(2025, 12, 5),
	    "00:00Z 5 December is 07:00 the same day in Viet Nam");
	CHECK(ts_period_vn_day(0) == 0 && ts_period_vn_day(-TS_PERIOD_UTC_OFFSET_MS - 1) == -1,
	    "the epoch is 1970-01-01 07:00 in Viet Nam; one ms before its 00:00 is day -1");
	CHECK(ts_period_check_mmdd(1205) == 0 && ts_period_check_mmdd(229) == 0 &&
	    ts_period_check_mmdd(101) == 0 && ts_period_check_mmdd(1231) == 0,
	    "MMDD 1205, 0229, 0101, 1231 are days");
	CHECK(ts_period_check_mmdd(230) == TS_EINVAL && ts_period_check_mmdd(1300) == TS_EINVAL &&
	    ts_period_check_mmdd(431) == TS_EINVAL && ts_period_check_mmdd(100) == TS_EINVAL &&
	    ts_period_check_mmdd(0) == TS_EINVAL && ts_period_check_mmdd(-1205) == TS_EINVAL,
	    "MMDD 0230, 1300, 0431, 0100, 0, negative refused");
}

static void
test_period_deadlines(void)
{
	uint64_t ms = 0;

	CHECK(ts_period_deadline_ms("2025", 1205, 15, 15, 0, &ms) == 0 &&
	    ms == 1764867600000ULL, "2025, due 5 December: 2025-12-05T00:00+07:00");
	CHECK(ts_period_deadline_ms("2025", 1205, 15, 15, 20, &ms) == 0 &&
	    ms == 1764867600000ULL + 20 * 86400000ULL, "20 extra days later");
	/* Across the UTC+7 day boundary: 16:30Z on 4 December is 23:30 on
	 * the 4th in Viet Nam (on time); 17:30Z, still the 4th in UTC, is
	 * 00:30 on the 5th (late). */
	CHECK(ts_period_deadline_ms("2025", 1205, 15, 15, 0, &ms) == 0 &&
	    ts_period_vn_day((int64_t)ms - 1800 * 1000) ==
	    ymd(2025, 12, 4) && ts_period_vn_day((int64_t)ms + 1800 * 1000) ==
	    ymd(2025, 12, 5) && ((int64_t)ms + 1800 * 1000) / TS_PERIOD_DAY_MS ==
	    ymd(2025, 12, 4), "16:30Z 4 Dec on time (23:30 +07), 17:30Z late (00:30 +07 on the 5th)");
	CHECK(ts_period_deadline_ms("2025Q3", 1205, 15, 30, 0, &ms) == 0 &&
	    ms == 1760547600000ULL, "2025Q3 + 15 days: 2025-10-16T00:00+07:00");
	CHECK(ts_period_deadline_ms("2025-09", 1205, 30, 15, 0, &ms) == 0 &&
	    ms == 1760547600000ULL, "2025-09 + 15 days (month_days): same instant");
	CHECK(ts_period_deadline_ms("2025Q4", 1205, 15, 15, 10, &ms) == 0 &&
	    ms == 1767200400000ULL + 25 * 86400000ULL,
	    "2025Q4: into the next year (1 January + 15 + 10)");
	CHECK(ts_period_deadline_ms("2024-02", 1205, 0, 0, 0, &ms) == 0 &&
	    ms == 1709226000000ULL, "2024-02 + 0 days: 1 March, after the 29th");
	CHECK(ts_period_deadline_ms("2025", 229, 0, 0, 0, &ms) == 0 &&
	    ms == (uint64_t)ts_period_day_ms(ymd(2025, 3, 1)),
	    "annual 0229 in a common year: 1 March");
	ms = 42;
	CHECK(ts_period_deadline_ms("2025Q5", 1205, 15, 15, 0, &ms) == TS_EPARSE && ms == 42,
	    "bad period: TS_EPARSE, output untouched");
	CHECK(ts_period_deadline_ms(NULL, 1205, 15, 15, 0, &ms) == TS_EPARSE &&
	    ts_period_deadline_ms("2025", 1232, 15, 15, 0, &ms) == TS_EINVAL &&
	    ts_period_deadline_ms("2025", 1205, -1, 15, 0, &ms) == TS_EINVAL &&
	    ts_period_deadline_ms("2025", 1205, 15, 15, 36501, &ms) == TS_EINVAL &&
	    ts_period_deadline_ms("2025", 1205, 15, 15, 0, NULL) == TS_EINVAL && ms == 42,
	    "NULL period, bad MMDD, negative or huge day counts, NULL output refused");
}

/* ---- common/util.c ----------------------------------------------- */

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL && fwrite(p, 1, n, f) == n && fclose(f) == 0,
	    "write fixture %s", path);
}

static void
test_file_read(void)
{
	char dir[] = "/tmp/ts-test-common-XXXXXX", path[128], want[256],
	    err[256], big[70000];
	char *buf = (char *)1;
	size_t len = 99;
	int rc;

	if (mkdtemp(dir) == NULL) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	/* empty file */
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_file(path, "", 0);
	rc = ts_file_read(path, 16, &buf, &len, err, sizeof(err));
	CHECK(rc == 0 && len == 0 && buf != NULL && buf[0] == '\0',
	    "empty file: 0 bytes, NUL-terminated");
	free(buf);

	/* contents kept byte for byte, NULs included, NUL after them */
	snprintf(path, sizeof(path), "%s/bytes", dir);
	write_file(path, "a\0b\n", 4);
	rc = ts_file_read(path, 4, &buf, &len, err, sizeof(err));
	CHECK(rc == 0 && len == 4 && memcmp(buf, "a\0b\n", 5) == 0,
	    "a file of exactly the limit is read whole, NUL after it");
	free(buf);

	/* over the limit: refused, the limit named */
	err[0] = '\0';
	buf = (char *)1;
	rc = ts_file_read(path, 3, &buf, &len, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: file too large (over 3 bytes)", path);
	CHECK(rc == TS_ELIMIT && buf == NULL && len == 0 &&
	    strcmp(err, want) == 0, "one byte over the limit refused: '%s'", err);
	memset(big, 'x', sizeof(big));
	snprintf(path, sizeof(path), "%s/big", dir);
	write_file(path, big, sizeof(big));
	rc = ts_file_read(path, (size_t)1 << 20, &buf, &len, err, sizeof(err));
	CHECK(rc == 0 && len == sizeof(big) && memcmp(buf, big, len) == 0 &&
	    buf[len] == '\0', "70,000 bytes read whole");
	free(buf);
	rc = ts_file_read(path, 65536, &buf, &len, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: file too large (over 65536 bytes)",
	    path);
	CHECK(rc == TS_ELIMIT && buf == NULL && strcmp(err, want) == 0,
	    "70,000 bytes over a 64 KiB limit refused: '%s'", err);
	/* a file whose size stat does not tell (grows while read) */
	rc = ts_file_read("/proc/self/maps", (size_t)16 << 20, &buf, &len, err,
	    sizeof(err));
	CHECK(rc == 0 && len > 0 && strlen(buf) == len,
	    "/proc/self/maps (st_size 0) read whole: %zu bytes", len);
	free(buf);
	rc = ts_file_read("/proc/self/maps", 10, &buf, &len, err, sizeof(err));
	CHECK(rc == TS_ELIMIT && buf == NULL &&
	    strstr(err, "file too large (over 10 bytes)") != NULL,
	    "... and refused over a limit it only finds reading: '%s'", err);
	rc = ts_file_read(path, (size_t)2 << 20, &buf, &len, NULL, 0);
	CHECK(rc == 0 && len == sizeof(big), "err may be NULL");
	free(buf);
	rc = ts_file_read(path, (size_t)3 << 10, &buf, &len, err, sizeof(err));
	CHECK(rc == TS_ELIMIT && strstr(err, "(over 3072 bytes)") != NULL,
	    "limit in bytes when not whole MiB: '%s'", err);
	rc = ts_file_read(path, (size_t)2 << 30, &buf, &len, err, sizeof(err));
	CHECK(rc == 0, "a GiB limit reads fine");
	free(buf);

	/* missing file and a directory: TS_ESYS, errno kept, named */
	snprintf(path, sizeof(path), "%s/missing", dir);
	errno = 0;
	rc = ts_file_read(path, 16, &buf, &len, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	CHECK(rc == TS_ESYS && errno == ENOENT && buf == NULL &&
	    strcmp(err, want) == 0, "missing file: errno ENOENT, '%s'", err);
	errno = 0;
	rc = ts_file_read(dir, 16, &buf, &len, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: %s", dir, strerror(EISDIR));
	CHECK(rc == TS_ESYS && errno == EISDIR && buf == NULL &&
	    strcmp(err, want) == 0, "a directory: errno EISDIR, '%s'", err);
	CHECK(ts_file_read(NULL, 16, &buf, &len, err, sizeof(err)) == TS_EINVAL,
	    "NULL path is TS_EINVAL");

	snprintf(path, sizeof(path), "%s/empty", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bytes", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_lines(void)
{
	static const char text[] = "\xef\xbb\xbf" "a\tb\r\n# c\n\n  \t\nlast";
	ts_lines l;
	const char *s, *why;
	size_t n;

	ts_lines_init(&l, text, sizeof(text) - 1);
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1 && l.line == 1 && n == 3 &&
	    memcmp(s, "a\tb", 3) == 0, "line 1: BOM and CRLF stripped");
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1 && l.line == 2 &&
	    ts_line_skip(s, n), "line 2: a comment, to skip");
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1 && n == 0 &&
	    ts_line_skip(s, n), "line 3: empty, to skip");
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1 && ts_line_skip(s, n),
	    "line 4: blanks only, to skip");
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1 && l.line == 5 && n == 4 &&
	    memcmp(s, "last", 4) == 0 && !ts_line_skip(s, n),
	    "line 5: without a final newline");
	CHECK(ts_lines_next(&l, &s, &n, &why) == 0, "then the end");

	ts_lines_init(&l, "ok\nx\ry\n", 7);
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1, "line before a bad one");
	CHECK(ts_lines_next(&l, &s, &n, &why) == TS_EPARSE && l.line == 2 &&
	    strcmp(why, "carriage return inside line") == 0,
	    "CR inside line 2 refused, line named");
	ts_lines_init(&l, "a\0b", 3);
	CHECK(ts_lines_next(&l, &s, &n, &why) == TS_EPARSE && l.line == 1 &&
	    strcmp(why, "NUL byte in line") == 0, "NUL byte refused");
	ts_lines_init(&l, "x\xef\xbb\xbf", 4);
	CHECK(ts_lines_next(&l, &s, &n, &why) == 1 && n == 4,
	    "a BOM later than the start of line 1 is data");
	ts_lines_init(&l, NULL, 0);
	CHECK(ts_lines_next(&l, &s, &n, &why) == 0, "no text: no lines");
}

static void
test_tsv_split(void)
{
	ts_field f[3];

	CHECK(ts_tsv_split("", 0, f, 3) == 1 && f[0].len == 0,
	    "empty line: one empty field");
	CHECK(ts_tsv_split("a\tbc\t", 5, f, 3) == 3 && f[0].len == 1 &&
	    f[1].len == 2 && memcmp(f[1].p, "bc", 2) == 0 && f[2].len == 0,
	    "a trailing TAB ends an empty last field");
	CHECK(ts_tsv_split("1\t2\t3\t4\t5", 9, f, 3) == 5 && f[2].len == 1 &&
	    f[2].p[0] == '3', "more fields than room: counted, first 3 kept");
	CHECK(ts_tsv_split("a,b c", 5, f, 3) == 1 && f[0].len == 5,
	    "only TAB separates");
}

static void
test_utf8(void)
{
	static const struct { const char *s; size_t n, seq; const char *what; }
	    seq[] = {
		{ "A", 1, 1, "ASCII" },
		{ "\xc3\xa3", 2, 2, "U+00E3 (2 bytes)" },
		{ "\xe1\xbb\x99", 3, 3, "U+1ED9 (3 bytes)" },
		{ "\xf0\x9f\x98\x80", 4, 4, "U+1F600 (4 bytes)" },
		{ "\xf4\x8f\xbf\xbf", 4, 4, "U+10FFFF, the last" },
		{ "\xef\xbf\xbd", 3, 3, "U+FFFD" },
		{ "\xc0\xaf", 2, 0, "overlong '/' (2 bytes)" },
		{ "\xc1\xbf", 2, 0, "overlong U+007F" },
		{ "\xe0\x80\xaf", 3, 0, "overlong '/' (3 bytes)" },
		{ "\xe0\x9f\xbf", 3, 0, "overlong U+07FF" },
		{ "\xf0\x80\x80\xaf", 4, 0, "overlong '/' (4 bytes)" },
		{ "\xf0\x8f\xbf\xbf", 4, 0, "overlong U+FFFF" },
		{ "\xed\xa0\x80", 3, 0, "surrogate U+D800" },
		{ "\xed\xbf\xbf", 3, 0, "surrogate U+DFFF" },
		{ "\xf4\x90\x80\x80", 4, 0, "U+110000, above the last" },
		{ "\xf5\x80\x80\x80", 4, 0, "lead byte 0xf5" },
		{ "\xff", 1, 0, "byte 0xff" },
		{ "\x80", 1, 0, "lone continuation byte" },
		{ "\xe1\xbb", 2, 0, "truncated 3-byte sequence" },
		{ "\xe1\x41\x99", 3, 0, "ASCII where a continuation should be" },
	};
	size_t i;

	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		CHECK(ts_utf8_seq((const uint8_t *)seq[i].s, seq[i].n) ==
		    seq[i].seq, "utf8_seq %s: %zu", seq[i].what, seq[i].seq);
	CHECK(ts_utf8_seq((const uint8_t *)"A", 0) == 0, "nothing is no sequence");
	CHECK(ts_utf8_prefix("X\xc3\xa3 M\xe1\xbb\x99t", 9) == 9,
	    "valid text: prefix is all of it");
	CHECK(ts_utf8_prefix("ab\xed\xa0\x80" "cd", 7) == 2,
	    "prefix stops at a surrogate");
	CHECK(ts_utf8_prefix("ab\xc3", 3) == 2, "prefix stops at a cut sequence");
	CHECK(ts_utf8_text("X\xc3\xa3 M\xe1\xbb\x99t", 9), "text: 'Xã Một'");
	CHECK(ts_utf8_text("", 0), "text: empty");
	CHECK(ts_utf8_text("\xc2\xa0", 2), "text: U+00A0 (no control)");
	CHECK(!ts_utf8_text("a\x01", 2), "text: C0 control refused");
	CHECK(!ts_utf8_text("a\tb", 3), "text: TAB refused");
	CHECK(!ts_utf8_text("\x7f", 1), "text: DEL refused");
	CHECK(!ts_utf8_text("\xc2\x85", 2), "text: C1 control U+0085 refused");
	CHECK(!ts_utf8_text("a\0b", 3), "text: NUL refused");
	CHECK(!ts_utf8_text("\xe0\x80\xaf", 3), "text: overlong refused");
	CHECK(!ts_utf8_text("\xed\xb0\x80", 3), "text: surrogate refused");
}

static void
test_xml_escape(void)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (f == NULL) {
		CHECK(0, "open_memstream: %s", strerror(errno));
		return;
	}
	ts_xml_escape(f, "<a href=\"x\">Tom & Jerry's</a> X\xc3\xa3");
	ts_xml_escape(f, "");
	CHECK(fclose(f) == 0, "memstream closes");
	CHECK(out != NULL && strcmp(out, "&lt;a href=&quot;x&quot;&gt;Tom &amp; "
	    "Jerry&#39;s&lt;/a&gt; X\xc3\xa3") == 0,
	    "< > & \" ' escaped, UTF-8 kept: %s", out ? out : "(null)");
	free(out);
}

int
main(void)
{
	test_strerror();
	test_err_ranges();
	test_buf();
	test_clock();
	test_hex();
	test_validators();
	test_period_parse();
	test_period_days();
	test_period_vn_time();
	test_period_deadlines();
	test_file_read();
	test_lines();
	test_tsv_split();
	test_utf8();
	test_xml_escape();
	return ts_test_done();
}
