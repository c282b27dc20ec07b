/*
 * Downlink: the ROUTER socket children connect to (CURVE server).
 *
 * Sessions are keyed by ZeroMQ routing id; a reconnect gets a new id and
 * so must HELLO again.  The sender of every message is the User-Id that
 * zap.c attached to the connection, never anything the message claims.
 *
 * A PUSH is checked and stored in ONE write txn (group commit); the ACK
 * goes out only after the commit returned.  Refusals are recorded in the
 * audit DB inside that txn and logged + answered with ERR after it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "tiersync/log.h"
#include "node.h"

int
downlink_init(struct node *n)
{
	uint8_t sk[32];
	int one = 1, linger = 0;
	/* ZMTP greeting + CURVE handshake take 5 one-way trips: on a link
	 * with 2 s +- 1 s of delay (a mountain commune) that is 10-15 s, so
	 * a fixed 10 s limit locked such children out for good.  Allow as
	 * long as this node lets a link stay silent, 4 x dead_ms (20 s by
	 * default), never less than 10 s. */
	int hs = n->cfg.dead_ms > 2500 ? 4 * n->cfg.dead_ms : 10000;
	int64_t maxmsg = (int64_t)TS_MSG_MAX;

	if (ts_z85_decode32(n->id.curve_sk, sk) != 0) {
		log_warnx("downlink: bad CURVE secret key");
		return -1;
	}
	if ((n->router = zmq_socket(n->zctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(n->router, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(n->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) == -1 ||
	    /* Oversized frames are dropped by libzmq before we allocate. */
	    zmq_setsockopt(n->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1 ||
	    /* A peer that connects and never finishes the handshake (raw
	     * TCP flood) is dropped after this long. */
	    zmq_setsockopt(n->router, ZMQ_HANDSHAKE_IVL, &hs, sizeof(hs)) == -1 ||
	    zmq_setsockopt(n->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(n->router, ZMQ_CURVE_SECRETKEY, sk, 32) == -1 ||
	    zmq_setsockopt(n->router, ZMQ_ZAP_DOMAIN, "tiersync", 8) == -1) {
		log_warnx("downlink: socket setup: %s", zmq_strerror(zmq_errno()));
		memset(sk, 0, sizeof(sk));
		return -1;
	}
	memset(sk, 0, sizeof(sk));
	if (zmq_bind(n->router, n->cfg.listen) == -1) {
		log_warnx("downlink: bind %s: %s", n->cfg.listen, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

void
downlink_close(struct node *n)
{
	if (n->router != NULL && zmq_close(n->router) == -1)
		log_warnx("downlink: zmq_close: %s", zmq_strerror(zmq_errno()));
	n->router = NULL;
	free(n->peers);
	n->peers = NULL;
	n->npeers = n->peers_cap = 0;
}

static struct peer *
peer_find(struct node *n, const void *rid, size_t len)
{
	size_t i;

	for (i = 0; i < n->npeers; i++)
		if (n->peers[i].rid_len == len && memcmp(n->peers[i].rid, rid, len) == 0)
			return &n->peers[i];
	return NULL;
}

static struct peer *
peer_add(struct node *n, const void *rid, size_t len, int unit)
{
	struct peer *p;

	if (len > sizeof(p->rid))
		return NULL;
	if (n->npeers == n->peers_cap) {
		size_t cap = n->peers_cap ? n->peers_cap * 2 : 16;
		struct peer *np = realloc(n->peers, cap * sizeof(*np));
		if (np == NULL)
			return NULL;
		n->peers = np;
		n->peers_cap = cap;
	}
	p = &n->peers[n->npeers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->rid, rid, len);
	p->rid_len = len;
	p->unit = unit;
	return p;
}

static int
zap_flush_fn(ts_txn *t, void *arg)
{
	return node_meta_add(t, "n_zap_denied", *(uint64_t *)arg);
}

/* ZAP denials not yet persisted by a PUSH txn: at most one small txn a
 * second (a refused child retries with back-off, not in a tight loop). */
static void
zap_flush(struct node *n, uint64_t now)
{
	uint64_t delta = n->cnt.zap_denied - n->zap_flushed;
	int rc;

	if (delta == 0 || now < n->zap_flush_at)
		return;
	n->zap_flush_at = now + 1000;
	if ((rc = ts_store_write(n->st, zap_flush_fn, &delta)) != 0) {
		log_warnx("store: recording ZAP denials: %s", ts_strerror(rc));
		return;
	}
	n->zap_flushed += delta;
}

/* Forget sessions that have been silent for a long time (their
 * connection is gone; a live child PINGs every heartbeat). */
void
downlink_tick(struct node *n, uint64_t now)
{
	uint64_t idle = (uint64_t)n->cfg.dead_ms * 4;
	size_t i = 0;

	zap_flush(n, now);
	while (i < n->npeers) {
		if (now > n->peers[i].last_rx && now - n->peers[i].last_rx > idle) {
			log_debug("downlink: session of %s expired",
			    n->topo->units[n->peers[i].unit].code);
			n->peers[i] = n->peers[--n->npeers];
		} else
			i++;
	}
}

void
downlink_zmq_send(struct node *n, const void *rid, size_t rid_len,
    const uint8_t *p, size_t len)
{
	if (zmq_send(n->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1 ||
	    zmq_send(n->router, p, len, ZMQ_DONTWAIT) == -1) {
		/* EHOSTUNREACH: the child went away; it will HELLO again. */
		log_debug("downlink: send: %s", zmq_strerror(zmq_errno()));
	} else
		node_wire_dump(n, p, len);
}

static void
send_to(struct node *n, const void *rid, size_t rid_len)
{
	n->io.down_send(n, rid, rid_len, n->tx.buf, n->tx.len);
}

static void
send_err(struct node *n, const void *rid, size_t rid_len, int code,
    const char *reason, const char *origin, uint64_t seq)
{
	ts_buf_reset(&n->tx);
	if (ts_msg_err(&n->tx, code, reason, origin, seq) == 0)
		send_to(n, rid, rid_len);
}

/* ---- WELCOME: what we hold for each origin in the child's subtree ---- */

struct welcome_ctx {
	struct node *n;
	int          child;
	ts_held     *held;
	size_t       nheld, cap;
	int          err;
};

static int
welcome_cb(const char *origin, const ts_chain *c, void *arg)
{
	struct welcome_ctx *w = arg;
	int u = ts_topo_find(w->n->topo, origin);

	if (u < 0 || !ts_topo_in_subtree(w->n->topo, u, w->child))
		return 0;
	if (w->nheld == TS_WELCOME_MAX)
		return 0;           /* the child resends; held ones come back "held" */
	if (w->nheld == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		ts_held *nh = realloc(w->held, cap * sizeof(*nh));
		if (nh == NULL) {
			w->err = TS_ENOMEM;
			return 1;
		}
		w->held = nh;
		w->cap = cap;
	}
	ts_held *h = &w->held[w->nheld++];
	snprintf(h->origin, sizeof(h->origin), "%s", origin);
	h->seq = c->seq;
	memcpy(h->hash, c->hash, TS_HASH_LEN);
	return 0;
}

static void
on_hello(struct node *n, const void *rid, size_t rid_len, int sender,
    const ts_msg *m)
{
	struct welcome_ctx w = { .n = n, .child = sender };
	struct peer *p;
	ts_txn *t;
	int rc;

	if (strcmp(m->unit, n->topo->units[sender].code) != 0) {
		log_warnx("downlink: HELLO claims unit %s but the key is %s's",
		    m->unit, n->topo->units[sender].code);
		send_err(n, rid, rid_len, TS_ST_PROTOCOL,
		    "HELLO unit does not match the CURVE key", "", 0);
		return;
	}
	if (strcmp(m->topo, n->topo->version) != 0)
		log_warnx("downlink: child %s runs topology %s, this node %s",
		    m->unit, m->topo, n->topo->version);
	if ((rc = ts_store_read_begin(n->st, &t)) != 0) {
		send_err(n, rid, rid_len, TS_ST_RETRY, "store unavailable", "", 0);
		return;
	}
	rc = ts_chain_each(t, welcome_cb, &w);
	ts_store_read_end(&t);
	if (rc < 0 || w.err != 0) {
		free(w.held);
		send_err(n, rid, rid_len, TS_ST_RETRY, "store unavailable", "", 0);
		return;
	}
	if ((p = peer_find(n, rid, rid_len)) == NULL &&
	    (p = peer_add(n, rid, rid_len, sender)) == NULL) {
		free(w.held);
		return;
	}
	p->helloed = 1;
	p->last_rx = node_mono(n);
	ts_buf_reset(&n->tx);
	if (ts_msg_welcome(&n->tx, n->cfg.unit, w.held, w.nheld) == 0)
		send_to(n, rid, rid_len);
	log_info("downlink: child %s (%s) connected; it has %zu origins here",
	    m->unit, n->topo->units[sender].name, w.nheld);
	free(w.held);
}

/* ---- PUSH ---- */

struct verdict {
	uint8_t status;
	char    origin[TS_CODE_MAX + 1];
	uint64_t seq;
	char    reason[160];
};

struct push_ctx {
	struct node    *n;
	int             sender;
	const ts_msg   *m;
	struct verdict *v;
	size_t          stored, dirty;
	uint64_t        forks, refused;
	uint64_t        zap_delta;        /* ZAP denials flushed by this txn */
};

static int refuse(struct verdict *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct verdict *v, int st, const char *fmt, ...)
{
	va_list ap;

	v->status = (uint8_t)st;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* Check one envelope and store it.  Returns 0 with v->status set for
 * any verdict about the envelope, or a TS_E* store error that aborts
 * the whole txn (every envelope of the batch then gets "retry"). */
static int
check_one(ts_txn *t, struct push_ctx *pc, const ts_bytes *env, struct verdict *v)
{
	struct node *n = pc->n;
	ts_env_view ev;
	ts_report r;
	ts_chain ch;
	uint8_t hash[TS_HASH_LEN];
	int rc, o;

	memset(v, 0, sizeof(*v));
	if (env->len > TS_ENV_MAX)
		return refuse(v, TS_ST_OVERSIZE, "envelope over %s bytes", "4 MiB");
	if ((rc = ts_env_split(env->p, env->len, &ev)) != 0)
		return refuse(v, TS_ST_MALFORMED, "envelope: %s", ts_strerror(rc));
	if ((rc = ts_report_decode(ev.body, ev.body_len, &r)) != 0)
		return refuse(v, ts_status_from_err(rc), "report body: %s", ts_strerror(rc));
	snprintf(v->origin, sizeof(v->origin), "%s", r.origin);
	v->seq = r.seq;
	o = ts_topo_find(n->topo, r.origin);
	if (o < 0) {
		ts_report_clear(&r);
		return refuse(v, TS_ST_UNKNOWN, "origin %s is not in the topology", v->origin);
	}
	if (!ts_topo_in_subtree(n->topo, o, pc->sender)) {
		ts_report_clear(&r);
		return refuse(v, TS_ST_SUBTREE, "origin %s is outside the sender's subtree",
		    v->origin);
	}
	{
		const ts_key *keys[8];
		size_t nk = ts_keys_sign_for(n->keys, r.origin, node_wall(n) / 1000, keys, 8), i;
		int ok = 0;
		if (nk > 8)
			nk = 8;
		for (i = 0; i < nk && !ok; i++) {
			ts_env_view kv = ev;
			ok = ts_env_verify(&kv, keys[i]->sign_pk) == 0;
		}
		if (!ok) {
			ts_report_clear(&r);
			return refuse(v, nk ? TS_ST_SIG : TS_ST_UNKNOWN,
			    nk ? "signature of %s does not verify" :
			    "no valid signing key for %s", v->origin);
		}
	}
	ts_body_hash(ev.body, ev.body_len, hash);
	rc = ts_chain_get(t, r.origin, &ch);
	if (rc == TS_ENOTFOUND)
		memset(&ch, 0, sizeof(ch));
	else if (rc != 0)
		goto fail;
	if (r.seq <= ch.seq) {
		ts_bytes held;
		rc = ts_env_get(t, r.origin, r.seq, &held);
		if (rc != 0 && rc != TS_ENOTFOUND)
			goto fail;
		/* Identity is the body: the same report signed again (after
		 * a key rotation) is a duplicate, not a fork. */
		ts_env_view hv;
		uint8_t hh[TS_HASH_LEN];
		if (rc == 0) {
			if (ts_env_split(held.p, held.len, &hv) != 0) {
				rc = TS_ESTORE;
				goto fail;
			}
			ts_body_hash(hv.body, hv.body_len, hh);
		}
		if (rc == 0 && memcmp(hh, hash, TS_HASH_LEN) == 0) {
			ts_report_clear(&r);
			v->status = TS_ST_HELD;
			snprintf(v->reason, sizeof(v->reason), "already held");
			return 0;
		}
		if (rc == TS_ENOTFOUND) {
			ts_report_clear(&r);
			return refuse(v, TS_ST_REPLAY, "seq of %s is older than held", v->origin);
		}
		/* Same origin and seq, different signed body: the origin signed
		 * two histories.  Keep the second as evidence and alert. */
		if ((rc = ts_fork_put(t, r.origin, r.seq, hash, env->p, env->len)) != 0)
			goto fail;
		pc->forks++;
		ts_report_clear(&r);
		return refuse(v, TS_ST_FORK, "FORK: %s signed two different reports "
		    "with one seq (kept as evidence)", v->origin);
	}
	if (r.seq > ch.seq + 1) {
		ts_report_clear(&r);
		return refuse(v, TS_ST_GAP, "seq of %s skips ahead of the held chain",
		    v->origin);
	}
	if (memcmp(r.prev, ch.hash, TS_HASH_LEN) != 0) {
		ts_report_clear(&r);
		return refuse(v, TS_ST_CHAIN, "prev of %s does not match the held chain",
		    v->origin);
	}

	/* Accepted: store, advance the chain, track the newest per period,
	 * relay upward, and mark our own report dirty if it is a child's. */
	ts_chain nc = { .seq = r.seq, .recv_ms = node_wall(n) };
	ts_latest l;
	memcpy(nc.hash, hash, TS_HASH_LEN);
	if ((rc = ts_env_put(t, r.origin, r.seq, env->p, env->len)) != 0 ||
	    (rc = ts_chain_put(t, r.origin, &nc)) != 0)
		goto fail;
	rc = ts_latest_get(t, r.origin, r.period, &l);
	if (rc != 0 && rc != TS_ENOTFOUND)
		goto fail;
	if (rc == TS_ENOTFOUND || l.seq < r.seq) {
		ts_latest nl = { .seq = r.seq, .first_ms = rc == 0 ? l.first_ms : nc.recv_ms,
		    .recv_ms = nc.recv_ms };
		memcpy(nl.hash, hash, TS_HASH_LEN);
		if ((rc = ts_latest_put(t, r.origin, r.period, &nl)) != 0)
			goto fail;
		if (n->topo->units[o].parent == n->self) {
			if ((rc = ts_dirty_set(t, r.period)) != 0)
				goto fail;
			pc->dirty++;
		}
	}
	if (n->has_parent) {
		uint64_t id;
		if ((rc = ts_outbox_append(t, env->p, env->len, &id)) != 0)
			goto fail;
	}
	v->status = TS_ST_STORED;
	pc->stored++;
	ts_report_clear(&r);
	return 0;
fail:
	ts_report_clear(&r);
	return rc;
}

/* Persisted counters for `tierctl metrics` (docs/STORE.md), in the
 * batch's own txn: they count exactly what was committed. */
static int
push_counters(ts_txn *t, struct push_ctx *pc)
{
	uint64_t by[TS_ST_MAX_ + 1] = { 0 };
	char name[40];
	size_t i;
	int rc, st;

	for (i = 0; i < pc->m->nenvs; i++)
		by[pc->v[i].status]++;
	pc->zap_delta = pc->n->cnt.zap_denied - pc->n->zap_flushed;
	if ((rc = node_meta_add(t, "n_received", pc->m->nenvs)) != 0 ||
	    (rc = node_meta_add(t, "n_stored", by[TS_ST_STORED])) != 0 ||
	    (rc = node_meta_add(t, "n_held", by[TS_ST_HELD])) != 0 ||
	    (rc = node_meta_add(t, "n_relayed",
	    pc->n->has_parent ? by[TS_ST_STORED] : 0)) != 0 ||
	    (rc = node_meta_add(t, "n_zap_denied", pc->zap_delta)) != 0)
		return rc;
	for (st = TS_ST_HELD + 1; st <= TS_ST_MAX_; st++) {
		snprintf(name, sizeof(name), "n_refused_%s", ts_status_name(st));
		if ((rc = node_meta_add(t, name, by[st])) != 0)
			return rc;
	}
	return 0;
}

static int
push_fn(ts_txn *t, void *arg)
{
	struct push_ctx *pc = arg;
	size_t i;
	int rc;

	pc->stored = pc->dirty = 0;       /* restartable after a map grow */
	pc->forks = pc->refused = 0;
	for (i = 0; i < pc->m->nenvs; i++) {
		struct verdict *v = &pc->v[i];
		if ((rc = check_one(t, pc, &pc->m->envs[i], v)) != 0)
			return rc;
		if (v->status > TS_ST_HELD) {
			char line[320];
			pc->refused++;
			snprintf(line, sizeof(line), "refused from %s: origin %s seq %llu: "
			    "%s: %s", pc->n->topo->units[pc->sender].code,
			    v->origin[0] ? v->origin : "?", (unsigned long long)v->seq,
			    ts_status_name(v->status), v->reason);
			if ((rc = ts_audit_put(t, line)) != 0)
				return rc;
		}
	}
	if (pc->forks > 0 || pc->refused > 0) {
		uint64_t f, x;
		if ((rc = ts_meta_get_u64(t, "forks", &f)) != 0 ||
		    (rc = ts_meta_get_u64(t, "refused", &x)) != 0 ||
		    (rc = ts_meta_put_u64(t, "forks", f + pc->forks)) != 0 ||
		    (rc = ts_meta_put_u64(t, "refused", x + pc->refused)) != 0)
			return rc;
	}
	return push_counters(t, pc);
}

static void
on_push(struct node *n, const void *rid, size_t rid_len, int sender, const ts_msg *m)
{
	struct push_ctx pc = { .n = n, .sender = sender, .m = m };
	uint8_t *st = NULL;
	size_t i;
	int rc;

	if (m->nenvs > 0 && ((pc.v = calloc(m->nenvs, sizeof(*pc.v))) == NULL ||
	    (st = malloc(m->nenvs)) == NULL)) {
		free(pc.v);
		send_err(n, rid, rid_len, TS_ST_RETRY, "out of memory", "", 0);
		return;
	}
	rc = ts_store_write(n->st, push_fn, &pc);
	if (rc == 0)
		n->zap_flushed += pc.zap_delta;
	n->cnt.env_received += m->nenvs;
	if (rc != 0) {
		/* Nothing of the batch was stored: say so, child retries. */
		char why[128];
		snprintf(why, sizeof(why), "batch not stored: %s", ts_strerror(rc));
		log_warnx("downlink: from %s: %s", n->topo->units[sender].code, why);
		memset(st, TS_ST_RETRY, m->nenvs);
		send_err(n, rid, rid_len, TS_ST_RETRY, why, "", 0);
	} else {
		for (i = 0; i < m->nenvs; i++) {
			struct verdict *v = &pc.v[i];
			st[i] = v->status;
			if (v->status == TS_ST_STORED)
				n->cnt.env_stored++;
			else if (v->status == TS_ST_HELD) {
				n->cnt.env_held++;
				log_info("downlink: from %s: %s seq %llu already held "
				    "(duplicate, not applied)", n->topo->units[sender].code,
				    v->origin, (unsigned long long)v->seq);
			} else {
				n->cnt.env_refused++;
				n->cnt.refused_by[v->status]++;
				log_warnx("downlink: refused from %s: origin %s seq %llu: %s: %s",
				    n->topo->units[sender].code, v->origin[0] ? v->origin : "?",
				    (unsigned long long)v->seq, ts_status_name(v->status),
				    v->reason);
				send_err(n, rid, rid_len, v->status, v->reason, v->origin, v->seq);
			}
		}
		if (pc.dirty > 0)
			rollup_mark(n);
		if (pc.stored > 0 && n->has_parent) {
			n->cnt.env_relayed += pc.stored;
			uplink_kick(n);
		}
	}
	/* ACK strictly after the commit above. */
	ts_buf_reset(&n->tx);
	if (ts_msg_ack(&n->tx, m->batch, st, m->nenvs) == 0)
		send_to(n, rid, rid_len);
	free(pc.v);
	free(st);
}

/* One message from an authenticated child. */
void
downlink_on_msg(struct node *n, const void *rid, size_t rid_len, int sender,
    const uint8_t *data, size_t len)
{
	ts_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	rc = ts_msg_decode(data, len, &m);
	if (rc != 0) {
		char why[96];
		snprintf(why, sizeof(why), "malformed message: %s", ts_strerror(rc));
		log_warnx("downlink: from %s: %s (%zu bytes)",
		    n->topo->units[sender].code, why, len);
		send_err(n, rid, rid_len, ts_status_from_err(rc), why, "", 0);
		return;
	}
	struct peer *p = peer_find(n, rid, rid_len);
	if (p != NULL)
		p->last_rx = node_mono(n);
	switch (m.type) {
	case TS_MSG_HELLO:
		on_hello(n, rid, rid_len, sender, &m);
		break;
	case TS_MSG_PUSH:
		if (p == NULL || !p->helloed) {
			send_err(n, rid, rid_len, TS_ST_PROTOCOL, "HELLO first", "", 0);
			break;
		}
		on_push(n, rid, rid_len, sender, &m);
		break;
	case TS_MSG_PING:
		/* A PING on a connection we have no session for means
		 * we restarted: make the child HELLO again now rather
		 * than wait for ACKs that will never come. */
		if (p == NULL || !p->helloed) {
			send_err(n, rid, rid_len, TS_ST_PROTOCOL, "HELLO first", "", 0);
			break;
		}
		ts_buf_reset(&n->tx);
		if (ts_msg_ping(&n->tx, TS_MSG_PONG, m.time_ms) == 0)
			send_to(n, rid, rid_len);
		break;
	case TS_MSG_ERR:
		log_warnx("downlink: child %s says: %s (%s)",
		    n->topo->units[sender].code, ts_status_name(m.code), m.reason);
		break;
	default:
		send_err(n, rid, rid_len, TS_ST_PROTOCOL,
		    "message type not valid towards a parent", "", 0);
	}
	ts_msg_clear(&m);
}

/*
 * Is the CURVE key this connection authenticated with still valid?  ZAP
 * checks keys only at the handshake; after a revocation (keys file
 * reloaded) or the end of a rotation overlap the connection would stay
 * up.  zap.c puts the key into the connection's metadata (X-Curve-Key);
 * a connection whose key is gone loses its session, gets one ERR and is
 * ignored from then on, so the child's link times out and its next
 * handshake is refused by ZAP.
 */
static int
conn_key_valid(struct node *n, zmq_msg_t *body, int sender, const void *rid,
    size_t rid_len)
{
	const char *z85 = zmq_msg_gets(body, "X-Curve-Key");
	const ts_key *k;
	struct peer *p;
	uint8_t pk[32];

	if (z85 == NULL || strlen(z85) != TS_CURVE_Z85_LEN ||
	    ts_z85_decode32(z85, pk) != 0)
		return 1;           /* admitted by ZAP; nothing more to check */
	k = ts_keys_by_curve(n->keys, pk, node_wall(n) / 1000);
	if (k != NULL && strcmp(k->code, n->topo->units[sender].code) == 0)
		return 1;
	if ((p = peer_find(n, rid, rid_len)) == NULL &&
	    (p = peer_add(n, rid, rid_len, sender)) == NULL)
		return 0;
	if (!p->revoked) {
		log_warnx("downlink: CURVE key %s of %s is revoked or expired: "
		    "session dropped", z85, n->topo->units[sender].code);
		p->revoked = 1;
		p->helloed = 0;
		p->last_rx = node_mono(n);
		send_err(n, rid, rid_len, TS_ST_UNKNOWN,
		    "your CURVE key was revoked or has expired", "", 0);
	}
	return 0;
}

void
downlink_on_readable(struct node *n)
{
	/* Bounded drain so one busy child cannot starve timers. */
	for (int k = 0; k < 64; k++) {
		zmq_msg_t rid, body;
		int sender;

		if (zmq_msg_init(&rid) == -1)
			return;
		if (zmq_msg_recv(&rid, n->router, ZMQ_DONTWAIT) == -1) {
			if (zmq_errno() != EAGAIN)
				log_warnx("downlink: recv: %s", zmq_strerror(zmq_errno()));
			zmq_msg_close(&rid);
			return;
		}
		if (!zmq_msg_more(&rid) || zmq_msg_init(&body) == -1) {
			zmq_msg_close(&rid);
			continue;
		}
		if (zmq_msg_recv(&body, n->router, 0) == -1) {
			zmq_msg_close(&rid);
			zmq_msg_close(&body);
			continue;
		}
		if (zmq_msg_more(&body)) {
			/* One frame per message: drain and refuse the rest. */
			zmq_msg_t x;
			if (zmq_msg_init(&x) == 0) {
				while (zmq_msg_more(&body) && zmq_msg_recv(&x, n->router, 0) != -1)
					if (!zmq_msg_more(&x))
						break;
				zmq_msg_close(&x);
			}
			send_err(n, zmq_msg_data(&rid), zmq_msg_size(&rid),
			    TS_ST_MALFORMED, "one frame per message", "", 0);
			goto next;
		}
		{
			/* The sender is who ZAP says the CURVE key belongs
			 * to, never what the message claims. */
			const char *uid = zmq_msg_gets(&body, "User-Id");
			sender = uid != NULL ? ts_topo_find(n->topo, uid) : -1;
		}
		if (sender < 0) {
			log_warnx("downlink: message without an authenticated unit");
			goto next;
		}
		if (!conn_key_valid(n, &body, sender, zmq_msg_data(&rid),
		    zmq_msg_size(&rid)))
			goto next;
		downlink_on_msg(n, zmq_msg_data(&rid), zmq_msg_size(&rid), sender,
		    zmq_msg_data(&body), zmq_msg_size(&body));
next:
		zmq_msg_close(&rid);
		zmq_msg_close(&body);
	}
}
