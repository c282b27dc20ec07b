/*
 * The ZeroMQ transport of tiersyncd (transport.h): every zmq_* call of
 * the daemon is in this file.  Four sockets:
 *   ZAP     REP on inproc://zeromq.zap.01: libzmq asks it about every
 *           CURVE handshake; zap_decide (zap.c) answers.
 *   router  ROUTER, CURVE server, for the children: drained in batches
 *           into downlink_on_batch.
 *   dealer  DEALER, CURVE client, to the parent: n->io.up_* open, close
 *           and send on it; what arrives goes to uplink_on_msg.
 *   ctl     REP on ipc://DATADIR/control.sock for tierctl:
 *           control_on_request answers.
 * The poll loop moves bytes between them and the core and calls the
 * core's timers (node_tick) and idle work (node_idle).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "tiersync/log.h"
#include "transport.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   7     /* version id domain address identity mech key */
/* Messages drained from the children's socket per poll iteration:
 * bounded, so one busy child cannot starve timers. */
#define DRAIN_MAX    64

struct transport {
	struct node *n;
	void        *zctx, *zap, *router, *dealer, *ctl;
	char         ctl_path[TS_PATH_MAX + 32];
	FILE        *wire_dump;          /* tests only: frames sent        */
	ts_buf       reply;              /* control replies                */
};

static struct transport *
tp_of(struct node *n)
{
	return n->io.ctx;
}

/* ---- clocks, randomness ---- */

static uint64_t real_wall(void *ctx) { (void)ctx; return ts_now_ms(); }
static uint64_t real_mono(void *ctx) { (void)ctx; return ts_mono_ms(); }

static uint64_t
real_random(void *ctx)
{
	(void)ctx;
	return ((uint64_t)randombytes_random() << 32) | randombytes_random();
}

/*
 * Tests only (config key wire_dump): append a frame this node sends on
 * a link, as plaintext before CURVE, as 4-byte big-endian length +
 * bytes, so a test can scan everything that left the node.
 */
static void
wire_dump(struct transport *t, const uint8_t *p, size_t len)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
	    (uint8_t)(len >> 8), (uint8_t)len };

	if (t->wire_dump == NULL)
		return;
	if (fwrite(hdr, 1, 4, t->wire_dump) != 4 ||
	    fwrite(p, 1, len, t->wire_dump) != len || fflush(t->wire_dump) == EOF)
		log_warn("wire_dump: write");
}

static void
sock_close(void **s, const char *what)
{
	if (*s != NULL && zmq_close(*s) == -1)
		log_warnx("%s: zmq_close: %s", what, zmq_strerror(zmq_errno()));
	*s = NULL;
}

/* ---- ZAP ---- */

static int
zap_open(struct transport *t)
{
	int linger = 0;

	if ((t->zap = zmq_socket(t->zctx, ZMQ_REP)) == NULL) {
		log_warnx("zap: zmq_socket: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	if (zmq_setsockopt(t->zap, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_bind(t->zap, ZAP_ENDPOINT) == -1) {
		log_warnx("zap: bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static int
send_frame(void *s, const void *p, size_t len, int more)
{
	if (zmq_send(s, p, len, more ? ZMQ_SNDMORE : 0) == -1) {
		log_warnx("zap: zmq_send: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static void
zap_on_readable(struct transport *t)
{
	zmq_msg_t f[ZAP_FRAMES + 1];
	int nf = 0, more = 1, i;
	struct zap_req rq;
	struct zap_rep rp;
	char addr[64] = "";
	/* ZAP metadata (RFC 27): X-Curve-Key = the client's key in Z85, so
	 * the core can drop a connection whose key is later revoked. */
	uint8_t meta[1 + 11 + 4 + TS_CURVE_Z85_LEN];
	size_t metalen = 0;

	/* Read the whole request, whatever its shape, so the REP socket's
	 * state stays consistent; extra frames are discarded. */
	while (more) {
		zmq_msg_t tmp;
		if (zmq_msg_init(&tmp) == -1 || zmq_msg_recv(&tmp, t->zap, ZMQ_DONTWAIT) == -1) {
			if (zmq_errno() != EAGAIN)
				log_warnx("zap: recv: %s", zmq_strerror(zmq_errno()));
			zmq_msg_close(&tmp);
			for (i = 0; i < nf; i++)
				zmq_msg_close(&f[i]);
			return;
		}
		more = zmq_msg_more(&tmp);
		if (nf < ZAP_FRAMES + 1)
			f[nf++] = tmp;
		else
			zmq_msg_close(&tmp);
	}
	memset(&rq, 0, sizeof(rq));
	rq.nframes = nf;
	rq.address = addr;
	if (nf >= 1) {
		rq.version = zmq_msg_data(&f[0]);
		rq.version_len = zmq_msg_size(&f[0]);
	}
	if (nf >= 4) {
		size_t al = zmq_msg_size(&f[3]) < sizeof(addr) - 1 ?
		    zmq_msg_size(&f[3]) : sizeof(addr) - 1;
		memcpy(addr, zmq_msg_data(&f[3]), al);
		addr[al] = '\0';
	}
	if (nf >= 6) {
		rq.mechanism = zmq_msg_data(&f[5]);
		rq.mechanism_len = zmq_msg_size(&f[5]);
	}
	if (nf >= 7 && zmq_msg_size(&f[6]) == 32)
		rq.curve_pk = zmq_msg_data(&f[6]);
	if (zap_decide(t->n, &rq, &rp) == 0 && rp.curve_z85[0] != '\0') {
		meta[0] = 11;
		memcpy(meta + 1, "X-Curve-Key", 11);
		meta[12] = meta[13] = meta[14] = 0;
		meta[15] = TS_CURVE_Z85_LEN;
		memcpy(meta + 16, rp.curve_z85, TS_CURVE_Z85_LEN);
		metalen = sizeof(meta);
	}
	if (nf >= 2) {
		if (send_frame(t->zap, "1.0", 3, 1) == 0 &&
		    send_frame(t->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1) == 0 &&
		    send_frame(t->zap, rp.status, 3, 1) == 0 &&
		    send_frame(t->zap, rp.text, strlen(rp.text), 1) == 0 &&
		    send_frame(t->zap, rp.user, strlen(rp.user), 1) == 0)
			(void)send_frame(t->zap, meta, metalen, 0);
	}
	for (i = 0; i < nf; i++)
		zmq_msg_close(&f[i]);
}

/* ---- the children's socket ---- */

static int
router_open(struct transport *t)
{
	struct node *n = t->n;
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
	if ((t->router = zmq_socket(t->zctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(t->router, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(t->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) == -1 ||
	    /* Oversized frames are dropped by libzmq before we allocate. */
	    zmq_setsockopt(t->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1 ||
	    /* A peer that connects and never finishes the handshake (raw
	     * TCP flood) is dropped after this long. */
	    zmq_setsockopt(t->router, ZMQ_HANDSHAKE_IVL, &hs, sizeof(hs)) == -1 ||
	    zmq_setsockopt(t->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(t->router, ZMQ_CURVE_SECRETKEY, sk, 32) == -1 ||
	    zmq_setsockopt(t->router, ZMQ_ZAP_DOMAIN, "tiersync", 8) == -1) {
		log_warnx("downlink: socket setup: %s", zmq_strerror(zmq_errno()));
		sodium_memzero(sk, sizeof(sk));
		return -1;
	}
	sodium_memzero(sk, sizeof(sk));
	if (zmq_bind(t->router, n->cfg.listen) == -1) {
		log_warnx("downlink: bind %s: %s", n->cfg.listen, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static void
down_send(struct node *n, const void *rid, size_t rid_len, const uint8_t *p,
    size_t len)
{
	struct transport *t = tp_of(n);

	if (t->router == NULL)
		return;
	if (zmq_send(t->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1 ||
	    zmq_send(t->router, p, len, ZMQ_DONTWAIT) == -1) {
		/* EHOSTUNREACH: the child went away; it will HELLO again. */
		log_debug("downlink: send: %s", zmq_strerror(zmq_errno()));
	} else
		wire_dump(t, p, len);
}

struct drained {
	zmq_msg_t rid, body;
	uint8_t   key[32];
};

/*
 * Drain up to DRAIN_MAX messages and hand them to the core in one call,
 * in arrival order: the core groups consecutive PUSHes into one commit.
 * The sender is who ZAP says the CURVE key belongs to (User-Id), never
 * what the message claims.
 */
static void
router_on_readable(struct transport *t)
{
	struct node *n = t->n;
	struct drained *d;
	struct node_inmsg m[DRAIN_MAX];
	size_t nd = 0, k;

	if ((d = calloc(DRAIN_MAX, sizeof(*d))) == NULL)
		return;
	while (nd < DRAIN_MAX) {
		struct drained *x = &d[nd];
		struct node_inmsg *im = &m[nd];
		const char *uid, *z85;

		if (zmq_msg_init(&x->rid) == -1)
			break;
		if (zmq_msg_recv(&x->rid, t->router, ZMQ_DONTWAIT) == -1) {
			if (zmq_errno() != EAGAIN)
				log_warnx("downlink: recv: %s", zmq_strerror(zmq_errno()));
			zmq_msg_close(&x->rid);
			break;
		}
		if (!zmq_msg_more(&x->rid) || zmq_msg_init(&x->body) == -1) {
			zmq_msg_close(&x->rid);
			continue;
		}
		if (zmq_msg_recv(&x->body, t->router, 0) == -1) {
			zmq_msg_close(&x->rid);
			zmq_msg_close(&x->body);
			continue;
		}
		memset(im, 0, sizeof(*im));
		im->frames = 1;
		if (zmq_msg_more(&x->body)) {
			/* One frame per message: drain the rest, the core
			 * refuses it. */
			zmq_msg_t y;
			if (zmq_msg_init(&y) == 0) {
				while (zmq_msg_recv(&y, t->router, 0) != -1) {
					im->frames++;
					if (!zmq_msg_more(&y))
						break;
				}
				zmq_msg_close(&y);
			}
		}
		uid = zmq_msg_gets(&x->body, "User-Id");
		im->sender = uid != NULL ? ts_topo_find(n->topo, uid) : -1;
		z85 = zmq_msg_gets(&x->body, "X-Curve-Key");
		if (z85 != NULL && strlen(z85) == TS_CURVE_Z85_LEN &&
		    ts_z85_decode32(z85, x->key) == 0)
			im->curve_pk = x->key;
		im->rid = zmq_msg_data(&x->rid);
		im->rid_len = zmq_msg_size(&x->rid);
		im->data = zmq_msg_data(&x->body);
		im->len = zmq_msg_size(&x->body);
		nd++;
	}
	/* curve_pk points into d[], which does not move. */
	if (nd > 0)
		downlink_on_batch(n, m, nd, 1);
	for (k = 0; k < nd; k++) {
		zmq_msg_close(&d[k].rid);
		zmq_msg_close(&d[k].body);
	}
	free(d);
}

/* ---- the parent's socket ---- */

static int
up_open(struct node *n)
{
	struct transport *t = tp_of(n);
	uint8_t pk[32], sk[32];
	int linger = 0, one = 1, hwm = 1000;
	int64_t maxmsg = (int64_t)TS_MSG_MAX;

	if (ts_z85_decode32(n->id.curve_pk, pk) != 0 ||
	    ts_z85_decode32(n->id.curve_sk, sk) != 0) {
		log_warnx("uplink: bad CURVE key pair");
		return -1;
	}
	t->dealer = zmq_socket(t->zctx, ZMQ_DEALER);
	if (t->dealer == NULL ||
	    zmq_setsockopt(t->dealer, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    /* Queue nothing for a connection that is not up: what is not
	     * sent stays in the outbox, the one place of truth. */
	    zmq_setsockopt(t->dealer, ZMQ_IMMEDIATE, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_SNDHWM, &hwm, sizeof(hwm)) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_RECONNECT_IVL, &n->cfg.reconnect_min_ms, sizeof(int)) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_RECONNECT_IVL_MAX, &n->cfg.reconnect_max_ms, sizeof(int)) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_CURVE_SERVERKEY, n->parent_curve, 32) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_CURVE_PUBLICKEY, pk, 32) == -1 ||
	    zmq_setsockopt(t->dealer, ZMQ_CURVE_SECRETKEY, sk, 32) == -1 ||
	    zmq_connect(t->dealer, n->cfg.parent) == -1) {
		log_warnx("uplink: socket to %s: %s", n->cfg.parent, zmq_strerror(zmq_errno()));
		sodium_memzero(sk, sizeof(sk));
		sock_close(&t->dealer, "uplink");
		return -1;
	}
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static void
up_close(struct node *n)
{
	sock_close(&tp_of(n)->dealer, "uplink");
}

static int
up_send(struct node *n, const uint8_t *p, size_t len)
{
	struct transport *t = tp_of(n);

	if (t->dealer == NULL)
		return -1;
	if (zmq_send(t->dealer, p, len, ZMQ_DONTWAIT) == -1) {
		if (zmq_errno() != EAGAIN)
			log_warnx("uplink: send: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	wire_dump(t, p, len);
	return 0;
}

static void
dealer_on_readable(struct transport *t)
{
	/* A message can close the link (uplink_on_msg -> up_close): look
	 * at t->dealer again every time. */
	while (t->dealer != NULL) {
		zmq_msg_t msg;

		if (zmq_msg_init(&msg) == -1)
			return;
		if (zmq_msg_recv(&msg, t->dealer, ZMQ_DONTWAIT) == -1) {
			if (zmq_errno() != EAGAIN)
				log_warnx("uplink: recv: %s", zmq_strerror(zmq_errno()));
			zmq_msg_close(&msg);
			return;
		}
		if (zmq_msg_more(&msg)) {
			zmq_msg_close(&msg);
			continue;
		}
		uplink_on_msg(t->n, zmq_msg_data(&msg), zmq_msg_size(&msg));
		zmq_msg_close(&msg);
	}
}

/* ---- the control socket ---- */

static int
ctl_open(struct transport *t)
{
	char ep[TS_PATH_MAX + 64];
	int linger = 0;
	int64_t maxmsg = (int64_t)TS_MSG_MAX;

	snprintf(t->ctl_path, sizeof(t->ctl_path), "%s/control.sock",
	    t->n->cfg.datadir);
	snprintf(ep, sizeof(ep), "ipc://%s", t->ctl_path);
	/* A socket file left by a killed daemon would make bind fail. */
	if (unlink(t->ctl_path) == -1 && errno != ENOENT)
		log_warn("control: unlink %s", t->ctl_path);
	if ((t->ctl = zmq_socket(t->zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(t->ctl, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(t->ctl, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1 ||
	    zmq_bind(t->ctl, ep) == -1) {
		log_warnx("control: %s: %s", ep, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static void
ctl_close(struct transport *t)
{
	if (t->ctl != NULL) {
		sock_close(&t->ctl, "control");
		if (unlink(t->ctl_path) == -1 && errno != ENOENT)
			log_warn("control: unlink %s", t->ctl_path);
	}
}

static void
ctl_on_readable(struct transport *t)
{
	zmq_msg_t msg;
	int frames = 1;

	if (zmq_msg_init(&msg) == -1)
		return;
	if (zmq_msg_recv(&msg, t->ctl, ZMQ_DONTWAIT) == -1) {
		if (zmq_errno() != EAGAIN)
			log_warnx("control: recv: %s", zmq_strerror(zmq_errno()));
		zmq_msg_close(&msg);
		return;
	}
	if (zmq_msg_more(&msg)) {
		/* A REP socket must answer once per request: drain the rest;
		 * the core refuses the request. */
		zmq_msg_t y;
		if (zmq_msg_init(&y) == 0) {
			while (zmq_msg_recv(&y, t->ctl, 0) != -1) {
				frames++;
				if (!zmq_msg_more(&y))
					break;
			}
			zmq_msg_close(&y);
		}
	}
	control_on_request(t->n, zmq_msg_data(&msg), zmq_msg_size(&msg), frames,
	    &t->reply);
	zmq_msg_close(&msg);
	if (t->reply.len > 0 && zmq_send(t->ctl, t->reply.buf, t->reply.len, 0) == -1)
		log_warnx("control: zmq_send: %s", zmq_strerror(zmq_errno()));
}

/* ---- life cycle ---- */

int
transport_open(struct transport **tp, struct node *n)
{
	struct transport *t;

	*tp = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("transport");
		return -1;
	}
	t->n = n;
	n->io = (struct node_io){ .ctx = t, .wall_ms = real_wall,
	    .mono_ms = real_mono, .random = real_random, .up_open = up_open,
	    .up_close = up_close, .up_send = up_send, .down_send = down_send };
	if (n->cfg.wire_dump[0] != '\0') {
		if ((t->wire_dump = fopen(n->cfg.wire_dump, "ab")) == NULL) {
			log_warn("key 'wire_dump': %s", n->cfg.wire_dump);
			goto fail;
		}
		log_warnx("wire_dump: every frame sent is written to %s (tests only)",
		    n->cfg.wire_dump);
	}
	if ((t->zctx = zmq_ctx_new()) == NULL) {
		log_warn("zmq_ctx_new");
		goto fail;
	}
	/* The ZAP handler must exist before the CURVE server binds: without
	 * one libzmq admits any client key. */
	if (n->cfg.listen[0] != '\0' && (zap_open(t) != 0 || router_open(t) != 0))
		goto fail;
	if (ctl_open(t) != 0)
		goto fail;
	*tp = t;
	return 0;
fail:
	transport_close(&t);
	return -1;
}

void
transport_close(struct transport **tp)
{
	struct transport *t = *tp;

	if (t == NULL)
		return;
	sock_close(&t->dealer, "uplink");
	sock_close(&t->router, "downlink");
	sock_close(&t->zap, "zap");
	ctl_close(t);
	if (t->zctx != NULL && zmq_ctx_term(t->zctx) == -1)
		log_warn("zmq_ctx_term");
	if (t->wire_dump != NULL && fclose(t->wire_dump) == EOF)
		log_warn("wire_dump: close");
	ts_buf_free(&t->reply);
	/* The core must not reach a closed transport. */
	t->n->io.up_open = NULL;
	t->n->io.up_close = NULL;
	free(t);
	*tp = NULL;
}

int
transport_run(struct transport *t)
{
	struct node *n = t->n;

	while (!n->stop) {
		zmq_pollitem_t items[4];
		int ni = 0, izap = -1, irt = -1, idl = -1, ictl = -1, r;
		uint64_t now = node_mono(n), next;

		if (n->reload)
			node_reload_keys(n);
		if (t->zap) { izap = ni; items[ni++] = (zmq_pollitem_t){ t->zap, 0, ZMQ_POLLIN, 0 }; }
		if (t->router) { irt = ni; items[ni++] = (zmq_pollitem_t){ t->router, 0, ZMQ_POLLIN, 0 }; }
		if (t->dealer) { idl = ni; items[ni++] = (zmq_pollitem_t){ t->dealer, 0, ZMQ_POLLIN, 0 }; }
		if (t->ctl) { ictl = ni; items[ni++] = (zmq_pollitem_t){ t->ctl, 0, ZMQ_POLLIN, 0 }; }

		/* ACKs held for a lazy commit: look without waiting, and if
		 * nothing else is ready the idle work sends them. */
		next = node_next_timer(n, now);
		r = zmq_poll(items, ni, downlink_acks_waiting(n) ? 0 :
		    next > now ? (long)(next - now) : 0);
		if (r == -1) {
			if (zmq_errno() == EINTR)
				continue;
			log_warnx("zmq_poll: %s", zmq_strerror(zmq_errno()));
			return -1;
		}
		if (r == 0 && node_idle(n))
			continue;
		if (izap >= 0 && (items[izap].revents & ZMQ_POLLIN))
			zap_on_readable(t);
		if (irt >= 0 && (items[irt].revents & ZMQ_POLLIN))
			router_on_readable(t);
		if (idl >= 0 && (items[idl].revents & ZMQ_POLLIN))
			dealer_on_readable(t);
		if (ictl >= 0 && (items[ictl].revents & ZMQ_POLLIN))
			ctl_on_readable(t);
		node_tick(n, node_mono(n));
	}
	return 0;
}
