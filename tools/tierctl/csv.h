/*
 * The values CSV of `tierctl import` (docs/TIERCTL.md):
 *
 *   period,indicator,disaggregation,numerator,denominator
 *   2025,9,,41,50
 *
 * csv_parse() is pure: it parses a buffer (the whole file) and returns
 * either the rows or the errors, each as "FILE:LINE:COL: what".  No I/O,
 * no global state, safe on any bytes -- it is a fuzz target
 * (tests/fuzz/fuzz_csv.c).
 */
#ifndef TIERCTL_CSV_H
#define TIERCTL_CSV_H

#include <stddef.h>

#include "tiersync/common.h"
#include "tiersync/proto.h"

#define CSV_HEADER "period,indicator,disaggregation,numerator,denominator"
/* Error lines kept in csv_result.errors (all are counted in nerr). */
#define CSV_MAX_ERRORS 50

struct csv_row {
	char     period[TS_PERIOD_MAX + 1];
	ts_value v;
	unsigned line;              /* 1-based line of the file              */
};

struct csv_result {
	/* Good rows, sorted by (period, ind, dis, line).  Meaningful only
	 * when nerr == 0. */
	struct csv_row *rows;
	size_t          nrows, cap;
	/* Number of errors found (0 = the file is good), and the first
	 * CSV_MAX_ERRORS of them as "FILE:LINE:COL: what\n" lines (plus
	 * "FILE: too many errors, not showing more\n" when that many). */
	unsigned        nerr;
	ts_buf          errors;
};

/* Parse len bytes of buf; file names the input in messages.  Returns 0
 * (then look at res->nerr) or TS_ENOMEM.  Always release res with
 * csv_result_free(), whatever the result. */
int  csv_parse(const char *file, const char *buf, size_t len,
         struct csv_result *res);
void csv_result_free(struct csv_result *res);

/* Field checks shared with `tierctl put`: NULL if fine, else why not. */
const char *csv_why_period(const char *s, size_t n);
const char *csv_why_indicator(const char *s, size_t n);
const char *csv_why_dis(const char *s, size_t n);

#endif
