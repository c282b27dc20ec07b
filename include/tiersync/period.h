/*
 * Reporting periods, calendar days and deadlines: the one place that
 * knows what "2025", "2025Q3" and "2025-07" mean, where a period starts
 * and ends, and Viet Nam's clock (UTC+7).  Library tiersync_proto
 * (proto/period.c), so the wire validator ts_valid_period (common.h) can
 * use it and everything above the codec reaches it.
 *
 * Periods (DESIGN "Periods"): a year YYYY, a quarter YYYYQn (n 1..4) or
 * a month YYYY-MM (MM 01..12), year 2000..2999.  Nothing else.
 *
 * Days are counted from 1970-01-01 (day 0), proleptic Gregorian, as
 * int32_t.  Calendar dates in tiersync are Viet Nam dates: a day starts
 * at 00:00 UTC+7 (17:00 UTC the evening before).  Viet Nam keeps no
 * daylight saving time, so the offset is a constant.
 *
 * No function here allocates or keeps a pointer to its arguments.
 */
#ifndef TIERSYNC_PERIOD_H
#define TIERSYNC_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#include "tiersync/common.h"      /* TS_E* */

/* Viet Nam time is UTC+7 all year: the one copy of the offset. */
#define TS_PERIOD_UTC_OFFSET_S  (7 * 3600)
#define TS_PERIOD_UTC_OFFSET_MS ((int64_t)TS_PERIOD_UTC_OFFSET_S * 1000)
#define TS_PERIOD_DAY_MS        ((int64_t)86400 * 1000)

enum ts_period_kind { TS_PERIOD_YEAR = 1, TS_PERIOD_QUARTER = 2, TS_PERIOD_MONTH = 3 };

typedef struct ts_period {
	int kind;                  /* enum ts_period_kind                   */
	int year;                  /* 2000..2999                            */
	int index;                 /* quarter 1..4, month 1..12, 0 for a year */
} ts_period;

/*
 * Parse the len bytes at s (no NUL needed; bytes after len are not
 * read) as a period.  Returns 0, filling *p when p is not NULL, or
 * TS_EPARSE (s NULL, wrong length or shape, quarter not 1..4, month not
 * 01..12, year not 2000..2999); *p is untouched then.  Callers report
 * "expected YYYY, YYYYQn or YYYY-MM" naming their own argument.
 */
int ts_period_parse(const char *s, size_t len, ts_period *p);

/* First day of the period, and the first day AFTER it (exclusive end).
 * p must be one ts_period_parse filled (these cannot fail then). */
int32_t ts_period_first_day(const ts_period *p);
int32_t ts_period_end_day(const ts_period *p);
/* The instant the period ends: 00:00 Viet Nam time of its end day, in
 * ms since the epoch (UTC). */
int64_t ts_period_end_ms(const ts_period *p);

/* First and last (inclusive) day of the NUL-terminated period string:
 * 0, or TS_EPARSE for a string that is not a period (outputs untouched). */
int ts_period_days(const char *period, int32_t *first, int32_t *last);

/* Day number of the date y-m-d (any y; m 1..12, d 1..31; a day past the
 * month's end counts on into the next month). */
int32_t ts_period_from_civil(int y, unsigned m, unsigned d);
/* The date of a day number (inverse of ts_period_from_civil). */
void ts_period_to_civil(int32_t day, int *y, unsigned *m, unsigned *d);

/* 00:00 Viet Nam time of day `day`, in ms since the epoch (UTC). */
int64_t ts_period_day_ms(int32_t day);
/* The Viet Nam date (day number) of the instant ms (ms since the epoch,
 * UTC): 17:00 UTC is already the next day. */
int32_t ts_period_vn_day(int64_t ms);

/* 0 if mmdd (e.g. 1205) is a day of some year (0229 included: in a
 * common year it falls on 1 March), else TS_EINVAL. */
int ts_period_check_mmdd(int mmdd);

/*
 * The reporting deadline of `period` (NUL-terminated) as the instant
 * 00:00 Viet Nam time of its due day, in ms since the epoch: for a year,
 * day annual_mmdd of that year; for a quarter, the first day after it
 * plus quarter_days; for a month, the first day after it plus
 * month_days; then extra_days later (e.g. per level above the commune).
 * "Before the deadline" is "before that instant".  Returns 0 with *ms
 * set, TS_EPARSE when period is not a period, or TS_EINVAL when ms is
 * NULL, annual_mmdd fails ts_period_check_mmdd or a day count is
 * negative or above 36500; *ms is untouched on error.
 */
int ts_period_deadline_ms(const char *period, int annual_mmdd, int quarter_days,
    int month_days, int extra_days, uint64_t *ms);

#endif
