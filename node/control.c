/*
 * Control socket: tierctl's way to change this node.  The daemon is the
 * only writer of its LMDB environment (DESIGN "Node inside"), so values
 * entered with `tierctl put/import` arrive here as CTL_PUT, are stored
 * in one txn (all of the message or nothing), and mark the period dirty
 * so rollup.c emits a new report.  The socket (transport.c) lives in
 * the node directory (0700), so only the node's owner can reach it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/log.h"
#include "node.h"

struct put_ctx { const ts_msg *m; uint64_t now; };

static int
put_fn(ts_txn *t, void *arg)
{
	const ts_msg *m = ((struct put_ctx *)arg)->m;
	size_t i;
	int rc;

	/* REPLACE: the listed indicators are replaced wholly, so a
	 * disaggregation that disappeared from a recomputation goes too. */
	for (i = 0; i < m->ninds; i++)
		if ((rc = ts_own_del(t, m->period, m->inds[i])) != 0)
			return rc;
	for (i = 0; i < m->nvalues; i++)
		if ((rc = ts_own_put(t, m->period, &m->values[i])) != 0)
			return rc;
	if ((rc = ts_dirty_set(t, m->period)) != 0)
		return rc;
	char line[128];
	snprintf(line, sizeof(line), "control: stored %zu own values for %s",
	    m->nvalues, m->period);
	return ts_audit_put(t, ((struct put_ctx *)arg)->now, line);
}

int
control_apply(struct node *n, const ts_msg *m, char *why, size_t whylen)
{
	struct put_ctx pc = { m, node_wall(n) };
	int rc;

	if ((rc = ts_store_write(n->st, put_fn, &pc)) != 0) {
		snprintf(why, whylen, "not stored: %s", ts_strerror(rc));
		log_warnx("control: put %s: %s", m->period, why);
		return rc;
	}
	snprintf(why, whylen, "stored %zu values for %s at %s", m->nvalues,
	    m->period, n->cfg.unit);
	log_info("control: %s", why);
	rollup_mark(n);
	return 0;
}

static int
value_qcmp(const void *a, const void *b)
{
	return ts_value_cmp(a, b);
}

/* A CTL_PUT naming one (indicator, disaggregation) twice would keep the
 * last and say "stored 2 values": refuse it, as the CSV import does.
 * O(n log n) on a copy.  0, or -1 with why set (or out of memory). */
static int
dup_value(const ts_msg *m, char *why, size_t whylen)
{
	ts_value *v;
	size_t i;
	int rc = 0;

	if (m->nvalues < 2)
		return 0;
	if ((v = malloc(m->nvalues * sizeof(*v))) == NULL) {
		snprintf(why, whylen, "control: out of memory");
		return -1;
	}
	memcpy(v, m->values, m->nvalues * sizeof(*v));
	qsort(v, m->nvalues, sizeof(*v), value_qcmp);
	for (i = 1; i < m->nvalues; i++)
		if (ts_value_cmp(&v[i - 1], &v[i]) == 0) {
			snprintf(why, whylen, "control: indicator %s disaggregation "
			    "'%s' is given twice: nothing stored", v[i].ind, v[i].dis);
			rc = -1;
			break;
		}
	free(v);
	return rc;
}

static void
reply(ts_buf *out, int code, const char *reason)
{
	ts_buf_reset(out);
	if (ts_msg_ctl_reply(out, code, reason) != 0)
		log_warnx("control: cannot encode reply");
}

void
control_on_request(struct node *n, const uint8_t *p, size_t len, int frames,
    ts_buf *out)
{
	ts_msg m;
	char why[TS_REASON_MAX + 1];
	int rc, type;

	memset(&m, 0, sizeof(m));
	if (frames != 1) {
		log_warnx("control: a request of %d frames: refused", frames);
		reply(out, TS_ST_MALFORMED, "control: expected one frame");
		return;
	}
	if ((rc = ts_msg_peek(p, len, &type)) == 0 && type != TS_MSG_CTL_PUT &&
	    type != TS_MSG_CTL_REPLACE && type != TS_MSG_CTL_RELOAD) {
		log_warnx("control: message type %d refused undecoded", type);
		reply(out, TS_ST_PROTOCOL, "control: only CTL_PUT, CTL_REPLACE and "
		    "CTL_RELOAD are accepted here");
		return;
	}
	if (rc == 0)
		rc = ts_msg_decode(p, len, &m);
	if (rc != 0) {
		snprintf(why, sizeof(why), "control: bad request: %s", ts_strerror(rc));
		log_warnx("%s", why);
		reply(out, ts_status_from_err(rc), why);
		return;
	}
	if (m.type == TS_MSG_CTL_RELOAD) {
		/* Picked up at the top of the next loop iteration, as for
		 * SIGHUP: a revoked key is refused at the next handshake. */
		n->reload = 1;
		reply(out, 0, "keys file will be re-read now");
		ts_msg_clear(&m);
		return;
	}
	if (m.type != TS_MSG_CTL_PUT && m.type != TS_MSG_CTL_REPLACE) {
		reply(out, TS_ST_PROTOCOL, "control: only CTL_PUT, CTL_REPLACE and "
		    "CTL_RELOAD are accepted here");
		ts_msg_clear(&m);
		return;
	}
	if (m.type == TS_MSG_CTL_PUT && (rc = dup_value(&m, why, sizeof(why))) != 0) {
		log_warnx("%s", why);
		reply(out, TS_ST_MALFORMED, why);
		ts_msg_clear(&m);
		return;
	}
	rc = control_apply(n, &m, why, sizeof(why));
	/* The one map from errors to statuses: a store failure (full disk,
	 * I/O, memory) is "retry" for the operator, not "malformed". */
	reply(out, rc == 0 ? 0 : ts_status_from_err(rc), why);
	ts_msg_clear(&m);
}
