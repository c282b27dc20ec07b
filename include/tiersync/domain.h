/*
 * The child-protection domain (docs/REGISTER.md, domain/README.md):
 *
 *   catalogue  the indicators of the Action Programme for Children
 *              2021-2030 (domain/catalogue.tsv), versioned; its id is
 *              carried in every report (body field `catalogue`).
 *   plans      targets per indicator and year set by a unit
 *              (domain/plans/NNN.tsv), inherited down the tree
 *              (ts_plans_target: the one rule of which is in force).
 *
 * The commune's register of records and the indicators computed from it
 * are NOT here: they are in tiersync/register.h (library
 * tiersync_register), which the daemon never includes nor links.
 *
 * Parsers are strict: TS_EPARSE with "file:line: what".
 */
#ifndef TIERSYNC_DOMAIN_H
#define TIERSYNC_DOMAIN_H

#include <stdint.h>

#include "tiersync/common.h"
#include "tiersync/period.h"
#include "tiersync/proto.h"
#include "tiersync/topology.h"

/* ------------------------------------------------------------------ */
/* Catalogue (library tiersync_domain: daemon, tierctl, tests)          */
/* ------------------------------------------------------------------ */

enum ts_measure { TS_M_PERCENT = 0, TS_M_PER_1000_LB, TS_M_PER_100K, TS_M_COUNT };
enum ts_source  { TS_SRC_REGISTER = 0, TS_SRC_AGGREGATE, TS_SRC_UNITS };

/* Disaggregation dimensions an indicator allows (bit set). */
#define TS_DIM_SEX 0x1u      /* sex=f, sex=m                             */
#define TS_DIM_ETH 0x2u      /* eth=0, eth=1 (ethnic minority)           */
#define TS_DIM_DIS 0x4u      /* dis=0, dis=1 (disability)                */
#define TS_DIM_AGE 0x8u      /* age=0-4, age=5-10, age=11-15             */

typedef struct ts_indicator {
	char        id[TS_IND_MAX + 1];
	int         number;          /* 1..29 = "Chỉ tiêu N"; 0 = sub-entry */
	int         goal;            /* 1..4                                */
	const char *name_vi, *name_en, *agency, *notes;   /* into text     */
	int         measure;         /* enum ts_measure                     */
	int         higher;          /* 1 = higher is better, 0 = lower     */
	int         source;          /* enum ts_source                      */
	unsigned    dims;            /* TS_DIM_*                            */
	int         line;
} ts_indicator;

typedef struct ts_catalogue {
	char          version[TS_CAT_MAX + 1];
	size_t        n;
	ts_indicator *ind;           /* file order                          */
	char         *text;          /* owned copy the strings point into   */
} ts_catalogue;

int  ts_catalogue_load(ts_catalogue **c, const char *path, char *err, size_t errlen);
int  ts_catalogue_parse(ts_catalogue **c, const char *name, const char *text,
         size_t len, char *err, size_t errlen);
void ts_catalogue_free(ts_catalogue **c);
const ts_indicator *ts_catalogue_find(const ts_catalogue *c, const char *id);
/* 1 if disaggregation key `dis` is one the catalogue defines for ind:
 * "" (the total), or DIM=VALUE with DIM among ind's `dis` column and
 * VALUE one of that dimension's values (TS_DIM_* above; docs/REGISTER.md
 * "Disaggregation keys").  0 otherwise. */
int  ts_catalogue_dis_ok(const ts_indicator *ind, const char *dis);
/* The keys ts_catalogue_dis_ok accepts for ind besides "", blank-
 * separated ("sex=m sex=f ..."; "" when ind allows none). */
void ts_catalogue_dis_list(const ts_indicator *ind, char *out, size_t outlen);
/* Only the `!version` line of a catalogue file (what the daemon needs
 * for the body's catalogue field): 0, TS_ESYS or TS_EPARSE. */
int  ts_catalogue_version(const char *path, char out[TS_CAT_MAX + 1],
         char *err, size_t errlen);

const char *ts_measure_name(int measure);   /* "percent", ...           */
const char *ts_measure_unit(int measure);   /* "%", "‰", "/100k", ""    */
uint64_t    ts_measure_factor(int measure); /* 100, 1000, 100000, 1     */
const char *ts_source_name(int source);
/* Rate for display: "94.50" (2 decimals), "-" when den is 0 for a
 * ratio; for a count the numerator. */
void ts_measure_format(int measure, uint64_t num, uint64_t den, char *out,
         size_t outlen);

/*
 * Labels of disaggregation keys for display (the one table of them:
 * dis_labels in domain/catalogue.c): "sex=f" -> "nữ / girls"; a key of
 * several parts ("sex=f;eth=1") joins each part's label with ", " in
 * each language ("nữ, dân tộc thiểu số / girls, ethnic minority");
 * "age=A-B" of any A-B is "A-B tuổi / aged A-B"; the total "" is
 * "tổng / total".  Writes the label into out (truncated to outlen) and
 * returns 0; TS_ENOTFOUND when a part has no label (out then holds the
 * key itself, so a caller can show it marked as unlabelled).
 */
int  ts_dis_label(const char *key, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* Plans                                                                */
/* ------------------------------------------------------------------ */

enum ts_op { TS_OP_NONE = 0, TS_OP_LT, TS_OP_LE, TS_OP_GE, TS_OP_GT };

typedef struct ts_target {
	char        ind[TS_IND_MAX + 1];
	char        dis[TS_DIS_MAX + 1];  /* "" = total                    */
	int         year;                 /* 0 = "*": every year            */
	int         op;                   /* enum ts_op; NONE = no figure   */
	uint64_t    milli;                /* target * 1000                  */
	char        text[24];             /* the figure as written          */
	int         measure;              /* of the catalogue entry or own  */
	int         own;                  /* 1: not a catalogue indicator   */
	const char *name_vi, *notes;      /* into the plan's text           */
	int         line;
} ts_target;

typedef struct ts_plan {
	char        unit[TS_CODE_MAX + 1];
	char        catalogue[TS_CAT_MAX + 1];
	const char *title, *path;
	size_t      n;
	ts_target  *t;
	char       *text;
} ts_plan;

/* cat may be NULL (then every indicator counts as own and needs a
 * measure); with a catalogue, ids not in it must be "UNIT.x" and carry
 * a name and a measure. */
int  ts_plan_load(ts_plan **p, const char *path, const ts_catalogue *cat,
         char *err, size_t errlen);
int  ts_plan_parse(ts_plan **p, const char *name, const char *text, size_t len,
         const ts_catalogue *cat, char *err, size_t errlen);
void ts_plan_free(ts_plan **p);
/* Target for (ind, dis, year): the row for that year, else the "*" row. */
const ts_target *ts_plan_find(const ts_plan *p, const char *ind,
         const char *dis, int year);

typedef struct ts_plans {
	size_t    n;
	ts_plan **p;
} ts_plans;
/* Every *.tsv in dir (sorted by name); two plans for one unit is an
 * error.  A missing directory is an empty set. */
int  ts_plans_load_dir(ts_plans *ps, const char *dir, const ts_catalogue *cat,
         char *err, size_t errlen);
void ts_plans_free(ts_plans *ps);
/* The plan of unit code `unit` in ps, or NULL (none loaded). */
const ts_plan *ts_plans_for_unit(const ts_plans *ps, const char *unit);
/*
 * The target in force for (ind, dis, year) at unit index `unit` of topo:
 * the one rule of inheritance (DESIGN "Plans", docs/REGISTER.md), used
 * by `tierctl report` and `tierctl export --format html` alike.
 *
 * Walks from `unit` up to the root; at each unit its plan (if ps holds
 * one) is asked with ts_plan_find (that year's row, else its "*" row).
 * The nearest plan that sets a FIGURE wins: a lower plan's figure
 * overrides a higher one's.  A row without a figure (op '-') records that
 * a plan speaks of the indicator but states no number; it does not hide
 * a figure set higher up.  Only when no plan on the path sets a figure
 * is the nearest figure-less row returned (so a report can still say
 * whose plan speaks of it; its op is TS_OP_NONE).
 *
 * On 0, *t points into the plan that sets it (valid until ps is freed)
 * and *from is the topology index of that plan's unit.  Returns
 * TS_ENOTFOUND when no plan on the path has a row for (ind, dis, year),
 * TS_EINVAL when an argument is NULL or unit is not an index of topo;
 * on either error *t is NULL and *from -1 (when they are not NULL).
 * Plans of units not in topo are never consulted.
 */
int  ts_plans_target(const ts_plans *ps, const ts_topo *topo, int unit,
         const char *ind, const char *dis, int year, const ts_target **t,
         int *from);
/* 1 met, 0 not met, -1 cannot tell (no figure, or den 0 for a ratio). */
int  ts_target_met(const ts_target *t, uint64_t num, uint64_t den);
const char *ts_op_text(int op);             /* "<", "<=", ">=", ">", "" */

/* Dates and periods: tiersync/period.h (ts_period_days, ...). */

#endif
