/*
 * Periods, calendar days, Viet Nam time and deadlines
 * (include/tiersync/period.h): the only code in tiersync that takes a
 * period string apart or adds the UTC+7 offset.
 */
#include "tiersync/period.h"

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

int
ts_period_parse(const char *s, size_t len, ts_period *p)
{
	ts_period r;
	size_t i;

	if (s == NULL || (len != 4 && len != 6 && len != 7))
		return TS_EPARSE;
	for (i = 0; i < 4; i++)
		if (!digit(s[i]))
			return TS_EPARSE;
	if (s[0] != '2')                /* years 2000..2999 */
		return TS_EPARSE;
	r.year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	if (len == 4) {
		r.kind = TS_PERIOD_YEAR;
		r.index = 0;
	} else if (len == 6) {
		if (s[4] != 'Q' || s[5] < '1' || s[5] > '4')
			return TS_EPARSE;
		r.kind = TS_PERIOD_QUARTER;
		r.index = s[5] - '0';
	} else {
		if (s[4] != '-' || !digit(s[5]) || !digit(s[6]))
			return TS_EPARSE;
		r.kind = TS_PERIOD_MONTH;
		r.index = (s[5] - '0') * 10 + (s[6] - '0');
		if (r.index < 1 || r.index > 12)
			return TS_EPARSE;
	}
	if (p != NULL)
		*p = r;
	return 0;
}

/* First month of the period and its length in months. */
static void
months(const ts_period *p, unsigned *first, unsigned *n)
{
	switch (p->kind) {
	case TS_PERIOD_QUARTER:
		*first = (unsigned)(p->index - 1) * 3 + 1;
		*n = 3;
		break;
	case TS_PERIOD_MONTH:
		*first = (unsigned)p->index;
		*n = 1;
		break;
	default:
		*first = 1;
		*n = 12;
	}
}

int32_t
ts_period_first_day(const ts_period *p)
{
	unsigned m, n;

	months(p, &m, &n);
	return ts_period_from_civil(p->year, m, 1);
}

int32_t
ts_period_end_day(const ts_period *p)
{
	unsigned m, n;

	months(p, &m, &n);
	m += n;                         /* the month after, maybe 13 */
	return m > 12 ? ts_period_from_civil(p->year + 1, m - 12, 1) :
	    ts_period_from_civil(p->year, m, 1);
}

int64_t
ts_period_end_ms(const ts_period *p)
{
	return ts_period_day_ms(ts_period_end_day(p));
}

/* Parse a NUL-terminated period (read at most 8 bytes of it). */
static int
parse_str(const char *period, ts_period *p)
{
	size_t n = 0;

	if (period == NULL)
		return TS_EPARSE;
	while (n < 8 && period[n] != '\0')
		n++;
	return ts_period_parse(period, n, p);
}

int
ts_period_days(const char *period, int32_t *first, int32_t *last)
{
	ts_period p;

	if (parse_str(period, &p) != 0)
		return TS_EPARSE;
	*first = ts_period_first_day(&p);
	*last = ts_period_end_day(&p) - 1;
	return 0;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int32_t
ts_period_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + (int)doe - 719468);
}

void
ts_period_to_civil(int32_t day, int *y, unsigned *m, unsigned *d)
{
	const int64_t z = (int64_t)day + 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

int64_t
ts_period_day_ms(int32_t day)
{
	return (int64_t)day * TS_PERIOD_DAY_MS - TS_PERIOD_UTC_OFFSET_MS;
}

int32_t
ts_period_vn_day(int64_t ms)
{
	int64_t local = ms + TS_PERIOD_UTC_OFFSET_MS;
	int64_t day = local / TS_PERIOD_DAY_MS;

	if (local % TS_PERIOD_DAY_MS < 0)
		day--;                  /* floor, also before 1970 */
	return (int32_t)day;
}

int
ts_period_check_mmdd(int mmdd)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int m = mmdd / 100, d = mmdd % 100;

	if (mmdd < 101 || m > 12 || d < 1 || d > mdays[m - 1])
		return TS_EINVAL;
	return 0;
}

static int
day_count_ok(int n)
{
	return n >= 0 && n <= 36500;
}

int
ts_period_deadline_ms(const char *period, int annual_mmdd, int quarter_days,
    int month_days, int extra_days, uint64_t *ms)
{
	ts_period p;
	int64_t day, at;

	if (ms == NULL || !day_count_ok(quarter_days) || !day_count_ok(month_days) ||
	    !day_count_ok(extra_days) || ts_period_check_mmdd(annual_mmdd) != 0)
		return TS_EINVAL;
	if (parse_str(period, &p) != 0)
		return TS_EPARSE;
	if (p.kind == TS_PERIOD_YEAR)
		day = ts_period_from_civil(p.year, (unsigned)(annual_mmdd / 100),
		    (unsigned)(annual_mmdd % 100));
	else
		day = (int64_t)ts_period_end_day(&p) +
		    (p.kind == TS_PERIOD_QUARTER ? quarter_days : month_days);
	day += extra_days;
	at = ts_period_day_ms((int32_t)day);
	if (at < 0)
		return TS_EINVAL;       /* cannot happen for years 2000..2999 */
	*ms = (uint64_t)at;
	return 0;
}
