/*
 * Fuzz target: the commune register's CSV parser (domain/register_csv.c,
 * ts_register_csv_parse), which reads children and cases exported from
 * spreadsheets.  No LMDB: the store part (register.c) is not fuzzed.
 *
 * Oracles:
 *  - the parser returns 0 (or TS_ENOMEM);
 *  - errors: nshown = min(nerr, TS_REG_MAX_ERRORS); shown[] tile the
 *    text in order, each "fuzz.csv:LINE:" with LINE = shown[i].line
 *    (non-decreasing), ending in '\n'; nerr 0 means no text, at least
 *    one row and every row good; every bad row has an error
 *    (rows - n <= nerr); no header means no rows;
 *  - success of a row: the record is within the bounds register.h
 *    documents (ids, dates of 1900..2999 and not before birth, codes,
 *    flags, measured/uw/st/ob, special/special_support, detected >=
 *    occurred), lines strictly increasing from 2;
 *  - the same input with the kind found given explicitly parses the
 *    same; with the other kind it is refused at line 1 (the header).
 */
#include <stdio.h>
#include <string.h>

#include "tiersync/register.h"
#include "fuzz.h"

#define NAME "fuzz.csv"

static int32_t day_min, day_max;

static void
check_id(const char *id)
{
	size_t n = strlen(id), i;

	FUZZ_CHECK(n >= 1 && n <= TS_RID_MAX);
	for (i = 0; i < n; i++) {
		char c = id[i];
		FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_' || c == '-');
	}
}

static void
check_day(int32_t d, int opt)
{
	if (opt && d == TS_DATE_NONE)
		return;
	FUZZ_CHECK(d >= day_min && d <= day_max);
}

/* An optional date: absent, or a real day not before birth. */
static void
check_after(int32_t d, int32_t birth)
{
	check_day(d, 1);
	FUZZ_CHECK(d == TS_DATE_NONE || d >= birth);
}

static void
check_child(const ts_child *c)
{
	check_id(c->id);
	check_day(c->birth, 0);
	check_after(c->birth_reg, c->birth);
	check_after(c->measured, c->birth);
	check_after(c->death, c->birth);
	FUZZ_CHECK(c->sex <= 1 && c->eth <= 1 && c->dis <= 1 && c->hi <= 1);
	FUZZ_CHECK(c->imm <= TS_IMM_FULL14 && c->school <= TS_SCH_SPECIAL);
	FUZZ_CHECK(c->special <= 14 && c->special_support <= 1);
	FUZZ_CHECK(c->special != 0 || c->special_support == 0);
	if (c->measured == TS_DATE_NONE)
		FUZZ_CHECK(c->uw == 0 && c->st == 0 && c->ob == 0);
	else
		FUZZ_CHECK(c->uw <= 1 && c->st <= 1 && c->ob <= 1);
}

static void
check_case(const ts_case *c)
{
	check_id(c->id);
	check_id(c->child);
	FUZZ_CHECK(c->kind <= TS_CASE_DISASTER);
	FUZZ_CHECK(c->intervention <= 1 && c->support <= 1 && c->died <= 1);
	check_day(c->occurred, 0);
	check_day(c->detected, 0);
	FUZZ_CHECK(c->detected >= c->occurred);
}

static void
check_errors(const ts_register_csv *x)
{
	char pre[64];
	size_t off = 0, i;
	unsigned last = 0;
	int n;

	FUZZ_CHECK(x->nshown == (x->nerr < TS_REG_MAX_ERRORS ? x->nerr :
	    TS_REG_MAX_ERRORS));
	for (i = 0; i < x->nshown; i++) {
		const ts_register_csv_err *e = &x->shown[i];
		FUZZ_CHECK(e->off == off && e->len > 0 && e->off + e->len <= x->text.len);
		FUZZ_CHECK(e->line >= 1 && e->line >= last);
		n = snprintf(pre, sizeof(pre), NAME ":%u:", e->line);
		FUZZ_CHECK(n > 0 && (size_t)n < e->len);
		FUZZ_CHECK(memcmp(x->text.buf + e->off, pre, (size_t)n) == 0);
		FUZZ_CHECK(x->text.buf[e->off + e->len - 1] == '\n');
		last = e->line;
		off += e->len;
	}
	FUZZ_CHECK(off == x->text.len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_register_csv x, y;
	size_t i;
	int rc, other;

	day_min = ts_period_from_civil(1900, 1, 1);
	day_max = ts_period_from_civil(2999, 12, 31);
	rc = ts_register_csv_parse(&x, TS_REG_AUTO, NAME, (const char *)data, size);
	FUZZ_CHECK(rc == 0 || rc == TS_ENOMEM);
	if (rc != 0) {
		ts_register_csv_free(&x);
		return 0;
	}
	check_errors(&x);
	FUZZ_CHECK(x.n <= x.rows && x.rows - x.n <= x.nerr);
	if (x.nerr == 0)
		FUZZ_CHECK(x.text.len == 0 && x.n == x.rows && x.n >= 1);
	if (x.kind == TS_REG_AUTO) {
		FUZZ_CHECK(x.nerr == 1 && x.rows == 0 && x.n == 0);
		FUZZ_CHECK(x.shown[0].line == 1);
		ts_register_csv_free(&x);
		return 0;
	}
	FUZZ_CHECK(x.kind == TS_REG_CHILDREN || x.kind == TS_REG_CASES);
	FUZZ_CHECK(x.n == 0 || x.lines != NULL);
	for (i = 0; i < x.n; i++) {
		FUZZ_CHECK(x.lines[i] >= 2 && (i == 0 || x.lines[i] > x.lines[i - 1]));
		if (x.kind == TS_REG_CHILDREN)
			check_child(&x.children[i]);
		else
			check_case(&x.cases[i]);
	}

	/* The kind it found, given explicitly: the same result. */
	rc = ts_register_csv_parse(&y, x.kind, NAME, (const char *)data, size);
	if (rc == 0) {
		FUZZ_CHECK(y.kind == x.kind && y.n == x.n && y.rows == x.rows &&
		    y.nerr == x.nerr && y.text.len == x.text.len);
		/* memcmp needs real pointers even for 0 bytes (no text: NULL) */
		FUZZ_CHECK(x.text.len == 0 ||
		    memcmp(y.text.buf, x.text.buf, x.text.len) == 0);
		FUZZ_CHECK(x.n == 0 || memcmp(y.lines, x.lines, x.n *
		    sizeof(*x.lines)) == 0);
	}
	ts_register_csv_free(&y);
	/* The other kind: refused at its header, nothing parsed. */
	other = x.kind == TS_REG_CHILDREN ? TS_REG_CASES : TS_REG_CHILDREN;
	rc = ts_register_csv_parse(&y, other, NAME, (const char *)data, size);
	if (rc == 0)
		FUZZ_CHECK(y.kind == TS_REG_AUTO && y.nerr == 1 && y.n == 0 &&
		    y.nshown == 1 && y.shown[0].line == 1 &&
		    strstr((const char *)y.text.buf, "wrong header") != NULL);
	ts_register_csv_free(&y);
	ts_register_csv_free(&x);
	return 0;
}
