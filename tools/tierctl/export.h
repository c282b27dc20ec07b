/*
 * tierctl export: the reports held for a period, for a unit and the units
 * below it, as CSV, DHIS2 dataValueSets JSON, IHE ADX XML or one static
 * HTML page (docs/EXPORT.md).  cmd_export.c gathers and writes the first
 * three; export_html.c the page.
 */
#ifndef TIERCTL_EXPORT_H
#define TIERCTL_EXPORT_H

#include "ops.h"

struct xunit {
	int        idx;               /* topology index                     */
	int        depth;             /* 0 = the exported unit              */
	struct ops_unit_state st;
	int        have;              /* r holds the newest report          */
	ts_report  r;
	uint8_t    hash[TS_HASH_LEN];
};

struct xport {
	struct ctl   *c;
	FILE         *out;
	const char   *period;
	const char   *dataset;        /* DHIS2/ADX dataSet code              */
	const char   *prefix;         /* dataElement prefix                  */
	uint64_t      now;
	int           root;
	struct xunit *u;              /* pre-order: u[0] is the root         */
	size_t        n, cap;
};

int export_html(struct xport *x);

#endif
