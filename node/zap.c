/*
 * ZAP handler (ZeroMQ RFC 27) for the CURVE server.  Without a handler
 * libzmq lets every CURVE client in; with this one only the current keys
 * of this unit's direct children pass, and the child's unit code becomes
 * the connection's User-Id, which downlink.c uses as the sender.
 * The keys come from n->keys, so a SIGHUP reload (rotation, revocation)
 * takes effect for the next handshake without a restart.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "tiersync/identity.h"
#include "tiersync/log.h"
#include "node.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   7     /* version id domain address identity mech key */

int
zap_init(struct node *n)
{
	if ((n->zap = zmq_socket(n->zctx, ZMQ_REP)) == NULL) {
		log_warnx("zap: zmq_socket: %s", zmq_strerror(zmq_errno()));
		return -1;
	}
	int linger = 0;
	if (zmq_setsockopt(n->zap, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_bind(n->zap, ZAP_ENDPOINT) == -1) {
		log_warnx("zap: bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

void
zap_close(struct node *n)
{
	if (n->zap != NULL && zmq_close(n->zap) == -1)
		log_warnx("zap: zmq_close: %s", zmq_strerror(zmq_errno()));
	n->zap = NULL;
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

/* Is key k (of unit code) a direct child of this node? */
static int
is_direct_child(const struct node *n, const char *code)
{
	int u = ts_topo_find(n->topo, code);
	return u >= 0 && n->topo->units[u].parent == n->self;
}

void
zap_on_readable(struct node *n)
{
	zmq_msg_t f[ZAP_FRAMES + 1];
	int nf = 0, more = 1, i;
	const char *status = "400", *text = "not a child of this unit";
	char user[TS_CODE_MAX + 1] = "";
	/* ZAP metadata (RFC 27): X-Curve-Key = the client's key in Z85, so
	 * downlink.c can drop a connection whose key is later revoked. */
	uint8_t meta[1 + 11 + 4 + TS_CURVE_Z85_LEN];
	size_t metalen = 0;

	/* Read the whole request, whatever its shape, so the REP socket's
	 * state stays consistent; extra frames are discarded. */
	while (more) {
		zmq_msg_t tmp;
		if (zmq_msg_init(&tmp) == -1 || zmq_msg_recv(&tmp, n->zap, ZMQ_DONTWAIT) == -1) {
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
	if (nf < 6) {
		log_warnx("zap: malformed request (%d frames)", nf);
		goto reply;
	}
	if (zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
		text = "unsupported ZAP version";
		goto reply;
	}
	if (nf != ZAP_FRAMES || zmq_msg_size(&f[5]) != 5 ||
	    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0 ||
	    zmq_msg_size(&f[6]) != 32) {
		text = "only CURVE is accepted";
		goto reply;
	}
	const ts_key *k = ts_keys_by_curve(n->keys, zmq_msg_data(&f[6]),
	    (uint64_t)time(NULL));
	char z85[TS_CURVE_Z85_LEN + 1], addr[64];
	size_t al = zmq_msg_size(&f[3]) < sizeof(addr) - 1 ? zmq_msg_size(&f[3]) : sizeof(addr) - 1;
	memcpy(addr, zmq_msg_data(&f[3]), al);
	addr[al] = '\0';
	ts_z85_encode32(zmq_msg_data(&f[6]), z85);
	if (k == NULL) {
		log_warnx("zap: refused CURVE key %s from %s: not in %s (or expired)",
		    z85, addr, n->cfg.keys);
		n->cnt.zap_denied++;
		text = "unknown key";
	} else if (!is_direct_child(n, k->code)) {
		log_warnx("zap: refused CURVE key %s from %s: unit %s is not a direct "
		    "child of %s", z85, addr, k->code, n->cfg.unit);
		n->cnt.zap_denied++;
	} else {
		status = "200";
		text = "OK";
		snprintf(user, sizeof(user), "%s", k->code);
		meta[0] = 11;
		memcpy(meta + 1, "X-Curve-Key", 11);
		meta[12] = meta[13] = meta[14] = 0;
		meta[15] = TS_CURVE_Z85_LEN;
		memcpy(meta + 16, z85, TS_CURVE_Z85_LEN);
		metalen = sizeof(meta);
		log_debug("zap: admitted unit %s from %s", user, addr);
	}
reply:
	if (nf >= 2) {
		if (send_frame(n->zap, "1.0", 3, 1) == 0 &&
		    send_frame(n->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1) == 0 &&
		    send_frame(n->zap, status, 3, 1) == 0 &&
		    send_frame(n->zap, text, strlen(text), 1) == 0 &&
		    send_frame(n->zap, user, strlen(user), 1) == 0)
			(void)send_frame(n->zap, meta, metalen, 0);
	}
	for (i = 0; i < nf; i++)
		zmq_msg_close(&f[i]);
}
