/*
 * Node configuration (docs/CONFIG.md).  Redis-style: one table of
 * (name, type, default, bounds) drives parsing, validation and the
 * documentation.  File format: "name value" or "name = value" per line,
 * '#' comments, blank lines ignored.  Relative paths are resolved
 * against the directory holding the config file.
 *
 * Errors: TS_EPARSE with "file:line: key 'x': what" in err; a missing
 * required key is reported as "file: missing required key 'x'".
 */
#ifndef TIERSYNC_CONFIG_H
#define TIERSYNC_CONFIG_H

#include <stdio.h>
#include "tiersync/common.h"

#define TS_PATH_MAX 1024

/*
 * Defaults, bounds and help text of every field live in ONE place: the
 * table in common/config.c.  ts_config_describe prints it, docs/CONFIG.md
 * carries that output verbatim (tests/test_config.c fails otherwise) and
 * `tiersyncd --help-config` shows it.  The comments below say only what
 * a field means, never its default, so there is nothing here to drift.
 */
typedef struct ts_config {
	char unit[TS_CODE_MAX + 1];     /* required: this node's unit code    */
	char log[16];                   /* "stderr" or "syslog"               */
	int  verbose;                   /* log level                          */
	int  heartbeat_ms;              /* PING / HELLO interval when idle    */
	int  dead_ms;                   /* link dead if silent this long      */
	int  max_skew_s;                /* children's clocks ahead of ours    */
	int  quota_values;              /* values per report from a child     */
	int  quota_reports_day;         /* reports per origin per day         */
	int  quota_mb_day;              /* MiB per origin per day             */
	int  reconnect_min_ms;          /* first reconnect back-off           */
	int  reconnect_max_ms;          /* back-off doubles up to this        */
	int  batch_max;                 /* envelopes per PUSH                 */
	int  window;                    /* PUSH batches in flight, un-ACKed   */
	int  debounce_ms;               /* rollup delay after a change        */
	int  debounce_max_ms;           /* bound on that delay                */
	long mapsize_mb;                /* initial LMDB map, MiB              */
	long mapsize_max_mb;            /* the map grows up to this, MiB      */
	int  deadline_annual_mmdd;      /* annual deadline, commune level     */
	int  deadline_step_days;        /* later for each higher level        */
	int  deadline_quarter_days;     /* quarter: days after its end        */
	int  deadline_month_days;       /* month: days after its end          */
	/* The paths last: 9 KiB that the node's hot fields need not be
	 * spread across (the simulator holds 10,807 nodes; tests/sim.c). */
	char datadir[TS_PATH_MAX];      /* store, keys; default: config's dir */
	char topology[TS_PATH_MAX];     /* required: topology file            */
	char keys[TS_PATH_MAX];         /* required: keys file                */
	char sign_key[TS_PATH_MAX];     /* Ed25519 secret key file            */
	char curve_key[TS_PATH_MAX];    /* CURVE secret key file              */
	char listen[TS_PATH_MAX];       /* ZMQ endpoint for children, "" none */
	char parent[TS_PATH_MAX];       /* ZMQ endpoint of parent, "" = root  */
	char catalogue[TS_PATH_MAX];    /* "" = none: reports carry catalogue "" */
	char wire_dump[TS_PATH_MAX];    /* tests only: dump of frames sent    */
} ts_config;

/*
 * The reporting deadline, in ms since the epoch, for a child at
 * child_level (enum ts_level) to report `period` (a valid period).
 * Dates are Viet Nam time (UTC+7).  Annual: deadline_annual_mmdd for
 * communes ("before 5 December" = before 00:00 on 5 December), each level
 * above deadline_step_days later; quarter/month: deadline_quarter_days /
 * deadline_month_days after the period ends, plus the same steps.  The
 * arithmetic is ts_period_deadline_ms (period.h); this adds the config's
 * rule.  The daemon's completeness and every tierctl view (tree,
 * children, completeness) use this one function, so they cannot disagree
 * about who is late.  A string that is not a period gives 0 (every
 * report counts late, never falsely on time).
 */
uint64_t ts_config_deadline_ms(const ts_config *c, const char *period,
                               int child_level);

/* Fill defaults; parse path; resolve relative paths; validate. */
int ts_config_load(ts_config *c, const char *path, char *err, size_t errlen);
int ts_config_parse(ts_config *c, const char *name, const char *dir,
                    const char *text, size_t len, char *err, size_t errlen);
/* Write the table as documentation (name, default, bounds, help). */
void ts_config_describe(FILE *f);

#endif
