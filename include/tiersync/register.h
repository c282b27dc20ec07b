/*
 * The commune register (docs/REGISTER.md): records of children and
 * cases, the CSV parser that reads them, their LMDB store and the
 * indicators computed from them.  Library tiersync_register: tierctl
 * and the tests ONLY.  tiersyncd never includes this header nor links
 * the library (tests/test_daemon_symbols.py checks its symbols), so no
 * message type can carry a record: only compute's aggregates reach the
 * daemon, as CTL_REPLACE.
 *
 *   register_csv.c  bytes -> checked records or "FILE:LINE:COL: what"
 *                   errors; no LMDB (fuzzed: fuzz_register_csv)
 *   register.c      the records' LMDB environment DIR/register/
 *   compute.c       numerator/denominator per period and indicator
 */
#ifndef TIERSYNC_REGISTER_H
#define TIERSYNC_REGISTER_H

#include <stdint.h>

#include "tiersync/common.h"
#include "tiersync/period.h"
#include "tiersync/proto.h"

/* ------------------------------------------------------------------ */
/* Records                                                              */
/* ------------------------------------------------------------------ */

#define TS_RID_MAX 32             /* record id: 1..32 of [0-9A-Za-z_-]   */
#define TS_DATE_NONE INT32_MIN

enum ts_reg_kind { TS_REG_AUTO = 0, TS_REG_CHILDREN = 1, TS_REG_CASES = 2 };

enum ts_imm    { TS_IMM_NONE = 0, TS_IMM_PARTIAL, TS_IMM_FULL8, TS_IMM_FULL12,
                 TS_IMM_FULL14 };
enum ts_school { TS_SCH_NONE = 0, TS_SCH_NURSERY, TS_SCH_KINDERGARTEN,
                 TS_SCH_PRIMARY, TS_SCH_LOWER_SECONDARY, TS_SCH_UPPER_SECONDARY,
                 TS_SCH_SPECIAL };
enum ts_case_kind { TS_CASE_VIOLENCE = 0, TS_CASE_ABUSE, TS_CASE_EXPLOITATION,
                 TS_CASE_INJURY, TS_CASE_CHILD_MARRIAGE, TS_CASE_DISASTER };

/* Fixed-size records, stored as they are (native byte order: the
 * register never leaves the machine).  Dates are days since 1970-01-01,
 * TS_DATE_NONE when absent. */
typedef struct ts_child {
	char     id[TS_RID_MAX + 1];
	uint8_t  sex;              /* 0 m, 1 f                              */
	uint8_t  eth, dis, hi;     /* ethnic minority, disability, HI card  */
	uint8_t  imm;              /* enum ts_imm                           */
	uint8_t  uw, st, ob;       /* underweight, stunted, obese (if measured) */
	uint8_t  school;           /* enum ts_school                        */
	uint8_t  special;          /* 0 none, 1..14 Law on Children art. 10 */
	uint8_t  special_support;
	uint8_t  pad_;
	int32_t  birth, birth_reg, measured, death;
} ts_child;

typedef struct ts_case {
	char     id[TS_RID_MAX + 1];
	char     child[TS_RID_MAX + 1];
	uint8_t  kind;             /* enum ts_case_kind                     */
	uint8_t  intervention, support, died;
	int32_t  occurred, detected;
} ts_case;

/* ------------------------------------------------------------------ */
/* The CSV parser (domain/register_csv.c): no LMDB, bytes in, records */
/* ------------------------------------------------------------------ */

#define TS_REG_MAX_ERRORS 50       /* error texts kept (all are counted) */

/* One error kept: its line and where its text is in ts_register_csv.text. */
typedef struct ts_register_csv_err {
	unsigned line;
	size_t   off, len;
} ts_register_csv_err;

/*
 * A register CSV file (docs/REGISTER.md) parsed and every row checked
 * on its own: header, field count, UTF-8, NUL, quotes, empty lines,
 * ids, dates, codes, flags and the dates and flags within a row.  What
 * needs the register is left to ts_register_load_csv: ids unique (in
 * the file and against the register), a case's child in the register
 * and the case not before the child's birth.
 *
 * On return (any code) the result owns its arrays; free it with
 * ts_register_csv_free.  Records the parser accepted are within these
 * bounds (the fuzz target's oracle, tests/fuzz/fuzz_register_csv.c):
 *   ids 1..TS_RID_MAX of [0-9A-Za-z_-], NUL-terminated;
 *   every date a real day of 1900..2999 (TS_DATE_NONE only where the
 *   field may be empty), none before birth; detected >= occurred;
 *   flags 0/1, codes within their enum; uw/st/ob 0 unless measured;
 *   special_support 0 when special is 0;
 *   lines[i] strictly increasing, >= 2 (line 1 is the header).
 */
typedef struct ts_register_csv {
	int        kind;           /* from the header; TS_REG_AUTO: no valid
	                              header (then nerr >= 1, no rows)      */
	size_t     rows;           /* data rows read, good and bad          */
	size_t     n;              /* good records, file order              */
	ts_child  *children;       /* kind TS_REG_CHILDREN: n records       */
	ts_case   *cases;          /* kind TS_REG_CASES: n records          */
	uint32_t  *lines;          /* line of each good record              */
	unsigned   nerr;           /* errors found (all of them)            */
	unsigned   nshown;         /* the first TS_REG_MAX_ERRORS, by line  */
	ts_register_csv_err shown[TS_REG_MAX_ERRORS];
	ts_buf     text;           /* "FILE:LINE:COL: what\n" (":COL" absent
	                              for a whole-file error) of shown[];
	                              NUL after text.len when not empty    */
	size_t     cap_;           /* private                               */
} ts_register_csv;

/*
 * Parse buf[0..len) (file: the name used in messages).  kind
 * TS_REG_AUTO takes the kind from the header; CHILDREN or CASES insists
 * on that header.  A UTF-8 BOM and CRLF line ends are accepted.
 * Returns 0 (the data's errors are in nerr/shown/text; nerr 0 means
 * every row is good and there is at least one) or TS_ENOMEM.
 */
int  ts_register_csv_parse(ts_register_csv *x, int kind, const char *file,
         const char *buf, size_t len);
void ts_register_csv_free(ts_register_csv *x);
/* Append one error line as the parser writes them, "FILE:LINE:COL:
 * what\n" (no ":COL" when col is 0), to b; for the checks of the
 * store part, so that all errors read alike. */
void ts_register_csv_errtext(ts_buf *b, const char *file, unsigned line,
         int col, const char *what);

/* ------------------------------------------------------------------ */
/* The register store (domain/register.c): DIR/register/ (LMDB)        */
/* ------------------------------------------------------------------ */

typedef struct ts_register ts_register;

int  ts_register_open(ts_register **r, const char *dir, int rdonly,
         char *err, size_t errlen);
void ts_register_close(ts_register **r);

#define TS_REG_IMPORT   0         /* new ids only                        */
#define TS_REG_CORRECT  1         /* existing ids only: replaced          */

typedef struct ts_reg_result {
	int      kind;             /* the kind found in the header          */
	size_t   rows;             /* data rows read                        */
	size_t   stored;           /* rows written (0 unless committed)     */
	unsigned nerr;             /* errors found                          */
	ts_buf   errors;           /* first 50 as "FILE:LINE:COL: what\n",
	                              NUL after errors.len when not empty  */
} ts_reg_result;

/*
 * Import (or correct) a register CSV (docs/REGISTER.md) held in buf:
 * ts_register_csv_parse, then the checks that need the register (ids
 * unique in the file and, for import, new; for correct, present; a
 * case's child present and born on or before the case), all errors in
 * line order.  kind TS_REG_AUTO takes the kind from the header.  With
 * skip_bad 0 (the default in tierctl) any error refuses the whole file
 * and nothing is stored; with 1 the good rows are stored.  One LMDB txn
 * per file.  Returns 0 (see res->nerr) or a TS_E* for trouble other
 * than the data (TS_EINVAL: register opened read-only; TS_ENOMEM;
 * TS_ESTORE/TS_ENOSPC from LMDB).  Always ts_reg_result_free(res).
 */
int  ts_register_load_csv(ts_register *r, int kind, int mode, int skip_bad,
         const char *file, const char *buf, size_t len, ts_reg_result *res);
void ts_reg_result_free(ts_reg_result *res);

/* Delete records by id (kind AUTO: the id must name exactly one record
 * of either kind).  A child with cases cannot be deleted.  All or
 * nothing; err names the first id at fault. */
int  ts_register_delete(ts_register *r, int kind, char *const *ids, size_t n,
         char *err, size_t errlen);

typedef struct ts_reg_counts {
	uint64_t children, cases;
	uint64_t version;          /* bumped by every committed change      */
} ts_reg_counts;
int  ts_register_counts(ts_register *r, ts_reg_counts *c);

/* Periods computed before (recomputed after every change). */
int  ts_register_mark_period(ts_register *r, const char *period);
int  ts_register_periods(ts_register *r, char (**periods)[TS_PERIOD_MAX + 1],
         size_t *n);

/* All records, sorted by id (one allocation each array). */
int  ts_register_load_all(ts_register *r, ts_child **ch, size_t *nch,
         ts_case **cs, size_t *ncs);

/* ------------------------------------------------------------------ */
/* Compute (library tiersync_register)                                  */
/* ------------------------------------------------------------------ */

typedef struct ts_compute_ind {
	const char *id;
	unsigned    dims;
} ts_compute_ind;
/* The indicators computed from the register (must be the catalogue's
 * source=register entries; a test checks). */
const ts_compute_ind *ts_compute_indicators(size_t *n);
/* The ids of the n entries of ci (e.g. ts_compute_indicators' list), in
 * order, as the indicator list of a CTL_REPLACE (ts_msg_ctl_replace):
 * one heap array of n pointers into ci's strings; free() the array, the
 * strings stay ci's.  Any n (no fixed cap).  Returns 0 (n 0: *ids NULL),
 * TS_EINVAL for ids NULL or ci NULL with n > 0, TS_ENOMEM; *ids is NULL
 * on error. */
int  ts_compute_ids(const ts_compute_ind *ci, size_t n, const char ***ids);

/* Values of period from the records: totals and disaggregations,
 * canonical order; *vals is one heap array (free()).  Totals equal the
 * sum of each dimension's values. */
int  ts_compute_period(const ts_child *ch, size_t nch, const ts_case *cs,
         size_t ncs, const char *period, ts_value **vals, size_t *n);

#endif
