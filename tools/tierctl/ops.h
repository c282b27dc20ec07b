/*
 * tierctl operator commands (issue 4): children, outbox, tree, keys,
 * export, metrics, and the helpers they share: reporting deadlines and
 * per-unit replication state, period formats for DHIS2/ADX, meta reads,
 * progress on a terminal.  docs/TIERCTL.md is the user-visible contract.
 */
#ifndef TIERCTL_OPS_H
#define TIERCTL_OPS_H

#include "util.h"

/* ---- commands ---- */
int cmd_children(struct ctl *, int, char **);
int cmd_outbox(struct ctl *, int, char **);
int cmd_tree(struct ctl *, int, char **);
int cmd_keys(struct ctl *, int, char **);
int cmd_export(struct ctl *, int, char **);
int cmd_metrics(struct ctl *, int, char **);

/* ---- periods and deadlines ---- */
/* The current annual period (the year in Viet Nam time) into out[5+]. */
void ops_current_year(uint64_t now_ms, char *out, size_t outlen);
/* First day (YYYY-MM-DD) and ISO 8601 duration (P1Y, P3M, P1M). */
void ops_period_start(const char *period, char *out, size_t outlen);
const char *ops_period_duration(const char *period);
/* DHIS2 period id: 2025, 2025Q3, 202507. */
void ops_period_dhis2(const char *period, char *out, size_t outlen);

/* ---- replication state of one unit for one period, as seen here ---- */
enum ops_state { OPS_REPORTED = 0, OPS_LATE = 1, OPS_MISSING = 2 };
const char *ops_state_name(int st);     /* "reported", "late", "missing" */
struct ops_unit_state {
	int       state;
	int       held;            /* a report for the period is held       */
	int       overdue;         /* missing and the deadline has passed   */
	ts_latest latest;          /* valid when held                       */
	uint64_t  deadline_ms;
	uint32_t  leaf_reported, leaf_expected;  /* from its report          */
};
/* Fills st for unit index u.  Returns 0 or -1 after printing an error. */
int ops_unit_state(const struct ctl *c, ts_txn *t, int u, const char *period,
    uint64_t now_ms, struct ops_unit_state *st);

/* ---- store reads ---- */
int  ops_read_begin(struct ctl *c, ts_txn **t);
/* meta string ("" if absent) and u64 (0 if absent); -1 after an error. */
int  ops_meta_str(ts_txn *t, const char *name, char *out, size_t outlen);
int  ops_meta_u64(ts_txn *t, const char *name, uint64_t *v);
/* The catalogue id of this node's newest own report ("" if none). */
int  ops_own_catalogue(const struct ctl *c, ts_txn *t, char *out, size_t outlen);

/* ---- arguments ---- */
/* Check a --unit / PERIOD argument, printing "NAME 'x': what" on error. */
int  ops_arg_period(const char *what, const char *period);
/* Resolve --unit CODE (NULL: this node's unit) to a topology index. */
int  ops_arg_unit(struct ctl *c, const char *unit);

/* ---- progress on a terminal (stderr), silent when not a tty ---- */
struct progress {
	const char *what;
	uint64_t    total, done;
	uint64_t    last_ms;
	int         on;
};
void progress_start(struct progress *p, const char *what, uint64_t total);
void progress_step(struct progress *p, uint64_t n);
void progress_end(struct progress *p);

/* ---- control socket: one request, one CTL_REPLY ---- */
/* Send CTL_RELOAD.  Returns 0 when the daemon answered ok, 1 when no
 * daemon is running (socket absent or no answer), -1 on a refusal or
 * another error (printed). */
int  ops_ctl_reload(struct ctl *c, int quiet_absent);

#endif
