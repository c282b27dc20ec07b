/*
 * tierctl's one client of the daemon's control socket: a ZeroMQ REQ
 * socket connected to ipc://<datadir>/control.sock, one frame out (a
 * CTL_PUT, CTL_REPLACE or CTL_RELOAD that the caller encoded), one
 * CTL_REPLY frame back (docs/ARCHITECTURE.md, docs/PROTOCOL.md).
 * Used by put/import (cmd_put.c), compute (cmd_compute.c) and keys
 * revoke|reload (ops.c).
 *
 * Timeouts: linger 0; a send waits at most CTLCLIENT_SND_TIMEOUT_MS for
 * the connection (ZMQ_IMMEDIATE: nothing is queued for a daemon that
 * is not there), the reply at most CTLCLIENT_RCV_TIMEOUT_MS.  A missing
 * socket file is reported at once, without waiting.
 *
 * Errors: every failure is printed (ctl_errx) with the socket's
 * endpoint, so the operator sees which node's daemon did not answer:
 *   "no answer from tiersyncd on ipc://DIR/control.sock (is it
 *   running?): no socket file" / ": could not connect within 3 s" /
 *   ": no reply within 10 s"
 *   "ipc://DIR/control.sock: zmq_...: <zmq error>"
 *   "ipc://DIR/control.sock: bad reply from tiersyncd: <why>"
 * Functions return 0, CTLCLIENT_ABSENT (no daemon: no socket file, no
 * connection or no reply in time; not printed when the client was
 * opened quiet) or -1 (any other error, always printed).
 *
 * Ownership: struct ctlclient owns its ZeroMQ context and socket until
 * ctlclient_close.  The request stays the caller's; the reply's code
 * and reason are copied into the caller's variables, nothing of the
 * reply outlives ctlclient_call.  After a call that did not return 0
 * the REQ socket is out of step: close the client, do not call again.
 */
#ifndef TIERCTL_CTLCLIENT_H
#define TIERCTL_CTLCLIENT_H

#include <stddef.h>

#include "tiersync/common.h"
#include "util.h"

#define CTLCLIENT_SND_TIMEOUT_MS 3000
#define CTLCLIENT_RCV_TIMEOUT_MS 10000
#define CTLCLIENT_ABSENT 1

struct ctlclient {
	void *ctx, *sock;
	char  ep[TS_PATH_MAX + 32];  /* "ipc://<datadir>/control.sock"     */
	int   quiet;                 /* do not print CTLCLIENT_ABSENT      */
};

/* Connect to the control socket of c's node (c's config must be
 * loaded: ctl_load_config).  quiet: say nothing when no daemon runs.
 * On failure nothing is left open (ctlclient_close is still safe). */
int  ctlclient_open(struct ctlclient *k, const struct ctl *c, int quiet);

/* One round trip: send req, receive its CTL_REPLY.  0 with *code (0 =
 * ok, else an enum ts_status) and reason (NUL-terminated, cut to rlen)
 * from the daemon. */
int  ctlclient_call(struct ctlclient *k, const ts_buf *req, int *code,
         char *reason, size_t rlen);

/* Close socket and context (errors printed as warnings); idempotent. */
void ctlclient_close(struct ctlclient *k);

#endif
