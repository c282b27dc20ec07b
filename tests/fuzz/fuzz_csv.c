/*
 * Fuzz target: the values CSV parser of `tierctl import`
 * (tools/tierctl/csv.c), which reads files exported from spreadsheets.
 *
 * Oracles:
 *  - csv_parse returns 0 (or TS_ENOMEM); either nerr > 0 and the error
 *    text is non-empty "FUZZ.csv:LINE:COL: what" lines, or nerr == 0,
 *    no error text and at least one row;
 *  - every good row is valid for a CTL_PUT (period, indicator, dis), rows
 *    are sorted by (period, ind, dis) with no duplicate key, and each
 *    period's rows encode as one CTL_PUT that decodes back to the same
 *    values.
 */
#include <string.h>

#include "csv.h"
#include "fuzz.h"

#define NAME "fuzz.csv"

static void
check_put(const struct csv_row *rows, size_t n)
{
	ts_value *v;
	ts_buf b = { NULL, 0, 0 };
	ts_msg m;
	size_t i;

	v = calloc(n, sizeof(*v));
	FUZZ_CHECK(v != NULL);
	for (i = 0; i < n; i++)
		v[i] = rows[i].v;
	FUZZ_CHECK(ts_msg_ctl_put(&b, rows[0].period, v, n) == 0);
	FUZZ_CHECK(ts_msg_decode(b.buf, b.len, &m) == 0);
	FUZZ_CHECK(m.type == TS_MSG_CTL_PUT && m.nvalues == n);
	FUZZ_CHECK(strcmp(m.period, rows[0].period) == 0);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(m.values[i].ind, v[i].ind) == 0 &&
		    strcmp(m.values[i].dis, v[i].dis) == 0 &&
		    m.values[i].num == v[i].num && m.values[i].den == v[i].den);
	ts_msg_clear(&m);
	ts_buf_free(&b);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_result x;
	size_t i, start = 0;
	int rc;

	rc = csv_parse(NAME, (const char *)data, size, &x);
	FUZZ_CHECK(rc == 0 || rc == TS_ENOMEM);
	if (rc != 0 || x.nerr > 0) {
		if (rc == 0) {
			FUZZ_CHECK(x.errors.len > strlen(NAME) + 1);
			FUZZ_CHECK(memcmp(x.errors.buf, NAME ":",
			    strlen(NAME) + 1) == 0);
			FUZZ_CHECK(x.errors.buf[x.errors.len - 1] == '\n');
		}
		csv_result_free(&x);
		return 0;
	}
	FUZZ_CHECK(x.errors.len == 0);
	FUZZ_CHECK(x.nrows > 0 && x.rows != NULL);
	for (i = 0; i < x.nrows; i++) {
		const struct csv_row *r = &x.rows[i];
		FUZZ_CHECK(ts_valid_period(r->period, strlen(r->period)) == 0);
		FUZZ_CHECK(ts_valid_indicator(r->v.ind, strlen(r->v.ind)) == 0);
		FUZZ_CHECK(ts_valid_dis(r->v.dis, strlen(r->v.dis)) == 0);
		FUZZ_CHECK(r->line >= 2);
		if (i > 0) {
			const struct csv_row *p = &x.rows[i - 1];
			int d = strcmp(p->period, r->period);
			if (d == 0)
				d = strcmp(p->v.ind, r->v.ind);
			if (d == 0)
				d = strcmp(p->v.dis, r->v.dis);
			FUZZ_CHECK(d < 0);
		}
		if (i + 1 == x.nrows ||
		    strcmp(x.rows[i + 1].period, r->period) != 0) {
			FUZZ_CHECK(i + 1 - start <= TS_VALUES_MAX);
			check_put(x.rows + start, i + 1 - start);
			start = i + 1;
		}
	}
	csv_result_free(&x);
	return 0;
}
