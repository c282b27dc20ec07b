/*
 * Which CURVE keys may connect (ZAP, ZeroMQ RFC 27): the decision only;
 * transport.c reads the request frames and writes the answer.  Without a
 * handler libzmq lets every CURVE client in; with this one only the
 * current keys of this unit's direct children pass, and the child's
 * unit code becomes the connection's User-Id, which the downlink uses as
 * the sender.  The keys come from n->keys, so a reload (rotation,
 * revocation) takes effect for the next handshake without a restart.
 */
#include <stdio.h>
#include <string.h>

#include "tiersync/identity.h"
#include "tiersync/log.h"
#include "node.h"

/* Is unit `code` a direct child of this node? */
static int
is_direct_child(const struct node *n, const char *code)
{
	int u = ts_topo_find(n->topo, code);
	return u >= 0 && n->topo->units[u].parent == n->self;
}

/* Refused handshakes are logged at most ZAP_LOG_PER_S a second; the
 * next line says how many were not (a flood of unknown keys must not
 * fill the log).  Every refusal is counted (n_zap_denied). */
#define ZAP_LOG_PER_S 5

static int
zap_log_ok(struct node *n)
{
	uint64_t now = node_mono(n);

	n->zap_log_note[0] = '\0';
	if (now >= n->zap_log_window + 1000) {
		if (n->zap_log_held > 0)
			snprintf(n->zap_log_note, sizeof(n->zap_log_note),
			    " (%llu more refused before, not logged)",
			    (unsigned long long)n->zap_log_held);
		n->zap_log_window = now;
		n->zap_log_n = 0;
		n->zap_log_held = 0;
	}
	if (n->zap_log_n++ < ZAP_LOG_PER_S)
		return 1;
	n->zap_log_held++;
	return 0;
}

static int
deny(struct zap_rep *rp, const char *text)
{
	snprintf(rp->text, sizeof(rp->text), "%s", text);
	return -1;
}

int
zap_decide(struct node *n, const struct zap_req *rq, struct zap_rep *rp)
{
	const ts_key *k;
	char z85[TS_CURVE_Z85_LEN + 1];
	const char *addr = rq->address != NULL ? rq->address : "";

	memset(rp, 0, sizeof(*rp));
	memcpy(rp->status, "400", 4);
	if (rq->nframes < 6) {
		log_warnx("zap: malformed request (%d frames)", rq->nframes);
		return deny(rp, "not a child of this unit");
	}
	if (rq->version_len != 3 || memcmp(rq->version, "1.0", 3) != 0)
		return deny(rp, "unsupported ZAP version");
	if (rq->nframes != 7 || rq->mechanism_len != 5 ||
	    memcmp(rq->mechanism, "CURVE", 5) != 0 || rq->curve_pk == NULL)
		return deny(rp, "only CURVE is accepted");
	k = ts_keys_by_curve(n->keys, rq->curve_pk, node_wall(n) / 1000);
	ts_z85_encode32(rq->curve_pk, z85);
	if (k == NULL) {
		if (zap_log_ok(n))
			log_warnx("zap: refused CURVE key %s from %s: not in %s (or "
			    "expired)%s", z85, addr, n->cfg.keys, n->zap_log_note);
		n->cnt.zap_denied++;
		return deny(rp, "unknown key");
	}
	if (!is_direct_child(n, k->code)) {
		if (zap_log_ok(n))
			log_warnx("zap: refused CURVE key %s from %s: unit %s is not a "
			    "direct child of %s%s", z85, addr, k->code, n->cfg.unit,
			    n->zap_log_note);
		n->cnt.zap_denied++;
		return deny(rp, "not a child of this unit");
	}
	memcpy(rp->status, "200", 4);
	snprintf(rp->text, sizeof(rp->text), "OK");
	snprintf(rp->user, sizeof(rp->user), "%s", k->code);
	memcpy(rp->curve_z85, z85, sizeof(z85));
	log_debug("zap: admitted unit %s from %s", rp->user, addr);
	return 0;
}
