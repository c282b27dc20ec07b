/*
 * Control socket: tierctl's way to change this node.  The daemon is the
 * only writer of its LMDB environment (DESIGN "Node inside"), so values
 * entered with `tierctl put/import` arrive here as CTL_PUT, are stored
 * in one txn (all of the message or nothing), and mark the period dirty
 * so rollup.c emits a new report.  The socket lives in the node
 * directory (0700), so only the node's owner can reach it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "tiersync/log.h"
#include "node.h"

int
control_init(struct node *n)
{
	char ep[TS_PATH_MAX + 64];
	int linger = 0, maxmsg = (int)TS_MSG_MAX;

	snprintf(n->ctl_path, sizeof(n->ctl_path), "%s/control.sock", n->cfg.datadir);
	snprintf(ep, sizeof(ep), "ipc://%s", n->ctl_path);
	/* A socket file left by a killed daemon would make bind fail. */
	if (unlink(n->ctl_path) == -1 && errno != ENOENT)
		log_warn("control: unlink %s", n->ctl_path);
	if ((n->ctl = zmq_socket(n->zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(n->ctl, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(n->ctl, ZMQ_MAXMSGSIZE, &(int64_t){ maxmsg }, sizeof(int64_t)) == -1 ||
	    zmq_bind(n->ctl, ep) == -1) {
		log_warnx("control: %s: %s", ep, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

void
control_close(struct node *n)
{
	if (n->ctl != NULL) {
		if (zmq_close(n->ctl) == -1)
			log_warnx("control: zmq_close: %s", zmq_strerror(zmq_errno()));
		if (unlink(n->ctl_path) == -1 && errno != ENOENT)
			log_warn("control: unlink %s", n->ctl_path);
	}
	n->ctl = NULL;
}

struct put_ctx { const ts_msg *m; };

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
	return ts_audit_put(t, line);
}

int
control_apply(struct node *n, const ts_msg *m, char *why, size_t whylen)
{
	struct put_ctx pc = { m };
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

static void
reply(struct node *n, int code, const char *reason)
{
	ts_buf_reset(&n->tx);
	if (ts_msg_ctl_reply(&n->tx, code, reason) != 0) {
		log_warnx("control: cannot encode reply");
		return;
	}
	if (zmq_send(n->ctl, n->tx.buf, n->tx.len, 0) == -1)
		log_warnx("control: zmq_send: %s", zmq_strerror(zmq_errno()));
}

void
control_on_readable(struct node *n)
{
	zmq_msg_t msg;
	ts_msg m;
	char why[TS_REASON_MAX + 1];
	int rc;

	memset(&m, 0, sizeof(m));
	if (zmq_msg_init(&msg) == -1)
		return;
	if (zmq_msg_recv(&msg, n->ctl, ZMQ_DONTWAIT) == -1) {
		if (zmq_errno() != EAGAIN)
			log_warnx("control: recv: %s", zmq_strerror(zmq_errno()));
		zmq_msg_close(&msg);
		return;
	}
	if (zmq_msg_more(&msg)) {
		/* A REP socket must answer once per request: drain the rest. */
		while (zmq_msg_more(&msg))
			if (zmq_msg_recv(&msg, n->ctl, 0) == -1)
				break;
		reply(n, TS_ST_MALFORMED, "control: expected one frame");
		zmq_msg_close(&msg);
		return;
	}
	rc = ts_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m);
	zmq_msg_close(&msg);
	if (rc != 0) {
		snprintf(why, sizeof(why), "control: bad request: %s", ts_strerror(rc));
		log_warnx("%s", why);
		reply(n, ts_status_from_err(rc), why);
		return;
	}
	if (m.type == TS_MSG_CTL_RELOAD) {
		/* Picked up at the top of the next loop iteration, as for
		 * SIGHUP: a revoked key is refused at the next handshake. */
		n->reload = 1;
		reply(n, 0, "keys file will be re-read now");
		ts_msg_clear(&m);
		return;
	}
	if (m.type != TS_MSG_CTL_PUT && m.type != TS_MSG_CTL_REPLACE) {
		reply(n, TS_ST_PROTOCOL, "control: only CTL_PUT, CTL_REPLACE and "
		    "CTL_RELOAD are accepted here");
		ts_msg_clear(&m);
		return;
	}
	rc = control_apply(n, &m, why, sizeof(why));
	/* A store failure (full disk, I/O, memory) is temporary for the
	 * operator, not "malformed". */
	reply(n, rc == 0 ? 0 : (rc == TS_ENOSPC || rc == TS_ESTORE || rc == TS_ENOMEM) ?
	    TS_ST_RETRY : TS_ST_MALFORMED, why);
	ts_msg_clear(&m);
}
