/*
 * tiersyncd's ZeroMQ transport: every zmq_* call of the daemon lives in
 * transport.c.  It owns the sockets (ROUTER for the children with CURVE
 * and the ZAP handler, DEALER to the parent, REP for tierctl), fills
 * struct node_io with them and the real clocks, and runs the poll loop,
 * which only moves bytes and time between the sockets and the node core
 * (node.h).
 */
#ifndef TIERSYNC_TRANSPORT_H
#define TIERSYNC_TRANSPORT_H

#include "node.h"

struct transport;

/* Create the ZeroMQ context, the ZAP handler (before any CURVE server
 * binds: without one libzmq admits every key), the children's socket if
 * n->cfg.listen is set, and the control socket; set n->io.  *tp = NULL
 * and -1 (logged) on error, with everything made so far closed. */
int  transport_open(struct transport **tp, struct node *n);
/* Close every socket and the context; sets *tp = NULL; NULL ok. */
void transport_close(struct transport **tp);
/* The poll loop, until n->stop.  0 on a clean stop, -1 (logged) if
 * polling itself failed. */
int  transport_run(struct transport *t);

/* daemon.c: the whole daemon (load, checks, transport, core, loop). */
int  daemon_run(struct node *n, int checkonly);

#endif
