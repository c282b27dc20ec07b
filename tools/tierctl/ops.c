/*
 * Helpers shared by the operator commands (ops.h): deadlines, period
 * formats, per-unit replication state, meta reads, argument checks and
 * the control-socket CTL_RELOAD client.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlclient.h"

#include "tiersync/period.h"
#include "ops.h"

/* ------------------------------------------------------------------ */
/* Periods and deadlines                                                */
/* ------------------------------------------------------------------ */

/* The period module (tiersync/period.h) has the one UTC+7 offset and
 * the one period parser; these only format for exports. */

void
ops_current_year(uint64_t now_ms, char *out, size_t outlen)
{
	int y;
	unsigned m, d;

	ts_period_to_civil(ts_period_vn_day((int64_t)now_ms), &y, &m, &d);
	snprintf(out, outlen, "%04d", y);
}

/* Callers pass periods the store or the command line already validated;
 * anything else is formatted as a year. */
static ts_period
period_of(const char *period)
{
	ts_period p = { TS_PERIOD_YEAR, 2000, 0 };

	(void)ts_period_parse(period, strlen(period), &p);
	return p;
}

void
ops_period_start(const char *period, char *out, size_t outlen)
{
	ts_period p = period_of(period);
	int month = p.kind == TS_PERIOD_QUARTER ? (p.index - 1) * 3 + 1 :
	    p.kind == TS_PERIOD_MONTH ? p.index : 1;

	snprintf(out, outlen, "%04d-%02d-01", p.year, month);
}

const char *
ops_period_duration(const char *period)
{
	ts_period p = period_of(period);

	return p.kind == TS_PERIOD_YEAR ? "P1Y" : p.kind == TS_PERIOD_QUARTER ?
	    "P3M" : "P1M";
}

void
ops_period_dhis2(const char *period, char *out, size_t outlen)
{
	ts_period p = period_of(period);

	if (p.kind == TS_PERIOD_MONTH)
		snprintf(out, outlen, "%04d%02d", p.year, p.index);
	else if (p.kind == TS_PERIOD_QUARTER)
		snprintf(out, outlen, "%04dQ%d", p.year, p.index);
	else
		snprintf(out, outlen, "%04d", p.year);
}

/* ------------------------------------------------------------------ */
/* Replication state                                                    */
/* ------------------------------------------------------------------ */

const char *
ops_state_name(int st)
{
	return st == OPS_REPORTED ? "reported" : st == OPS_LATE ? "late" :
	    "missing";
}

int
ops_unit_state(const struct ctl *c, ts_txn *t, int u, const char *period,
    uint64_t now_ms, struct ops_unit_state *st)
{
	const ts_unit *unit = &c->topo->units[u];
	ts_env_view v;
	ts_report r;
	int rc;

	memset(st, 0, sizeof(*st));
	st->deadline_ms = ts_config_deadline_ms(&c->cfg, period, unit->level);
	st->leaf_expected = unit->nleaves;
	rc = ts_latest_get(t, unit->code, period, &st->latest);
	if (rc == TS_ENOTFOUND) {
		st->state = OPS_MISSING;
		st->overdue = now_ms >= st->deadline_ms;
		return 0;
	}
	if (rc != 0) {
		ctl_errx("store: latest %s/%s: %s", unit->code, period,
		    ts_strerror(rc));
		return -1;
	}
	st->held = 1;
	st->state = st->latest.first_ms < st->deadline_ms ? OPS_REPORTED :
	    OPS_LATE;
	memset(&r, 0, sizeof(r));
	if (ts_env_load(t, unit->code, st->latest.seq, &r, &v, NULL) == 0) {
		st->leaf_reported = r.comp.leaf_reported;
		st->leaf_expected = r.comp.leaf_expected;
		ts_report_clear(&r);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Store reads                                                          */
/* ------------------------------------------------------------------ */

int
ops_read_begin(struct ctl *c, ts_txn **t)
{
	int rc;

	if (ctl_open_store(c) != 0)
		return -1;
	if ((rc = ts_store_read_begin(c->store, t)) != 0) {
		ctl_errx("store: read txn: %s", ts_strerror(rc));
		return -1;
	}
	return 0;
}

int
ops_meta_str(ts_txn *t, const char *name, char *out, size_t outlen)
{
	ts_bytes b;
	int rc;

	out[0] = '\0';
	if ((rc = ts_meta_get(t, name, &b)) == TS_ENOTFOUND)
		return 0;
	if (rc != 0) {
		ctl_errx("store: meta '%s': %s", name, ts_strerror(rc));
		return -1;
	}
	snprintf(out, outlen, "%.*s", (int)(b.len < outlen ? b.len : outlen - 1),
	    (const char *)b.p);
	return 0;
}

int
ops_meta_u64(ts_txn *t, const char *name, uint64_t *v)
{
	int rc;

	if ((rc = ts_meta_get_u64(t, name, v)) != 0) {
		ctl_errx("store: meta '%s': %s", name, ts_strerror(rc));
		return -1;
	}
	return 0;
}

int
ops_own_catalogue(const struct ctl *c, ts_txn *t, char *out, size_t outlen)
{
	ts_chain ch;
	ts_env_view v;
	ts_report r;
	int rc;

	out[0] = '\0';
	if ((rc = ts_chain_get(t, c->cfg.unit, &ch)) == TS_ENOTFOUND)
		return 0;
	if (rc != 0) {
		ctl_errx("store: chain of %s: %s", c->cfg.unit, ts_strerror(rc));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	if (ts_env_load(t, c->cfg.unit, ch.seq, &r, &v, NULL) == 0) {
		snprintf(out, outlen, "%s", r.catalogue);
		ts_report_clear(&r);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */
/* ------------------------------------------------------------------ */

int
ops_arg_period(const char *what, const char *period)
{
	if (ts_valid_period(period, strlen(period)) == 0)
		return 0;
	ctl_errx("%s '%s': expected YYYY, YYYYQn (n 1-4) or YYYY-MM, year "
	    "2000-2999", what, period);
	return -1;
}

int
ops_arg_unit(struct ctl *c, const char *unit)
{
	const char *code = unit != NULL ? unit : c->cfg.unit;
	int u;

	if (unit != NULL && ts_valid_code(unit, strlen(unit)) != 0) {
		ctl_errx("--unit '%s': not a unit code (1 to %d letters or digits)",
		    unit, TS_CODE_MAX);
		return -1;
	}
	if ((u = ts_topo_find(c->topo, code)) < 0) {
		ctl_errx("%s '%s': no such unit in topology %s", unit != NULL ?
		    "--unit" : "unit (node.conf)", code, c->topo->version);
		return -1;
	}
	return u;
}

/* ------------------------------------------------------------------ */
/* CTL_RELOAD                                                           */
/* ------------------------------------------------------------------ */

int
ops_ctl_reload(struct ctl *c, int quiet_absent)
{
	struct ctlclient k;
	char reason[TS_REASON_MAX + 1] = "";
	ts_buf b = { NULL, 0, 0 };
	int rc, code = -1;

	if ((rc = ts_msg_ctl_reload(&b)) != 0) {
		ctl_errx("cannot encode CTL_RELOAD: %s", ts_strerror(rc));
		return -1;
	}
	if ((rc = ctlclient_open(&k, c, quiet_absent)) == 0)
		rc = ctlclient_call(&k, &b, &code, reason, sizeof(reason));
	ctlclient_close(&k);
	ts_buf_free(&b);
	if (rc != 0)
		return rc == CTLCLIENT_ABSENT ? 1 : -1;
	if (code != 0) {
		ctl_errx("tiersyncd refused the reload (%s): %s",
		    ts_status_name(code), reason);
		return -1;
	}
	return 0;
}
