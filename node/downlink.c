/*
 * Downlink: what the children send (over the transport's ROUTER socket,
 * a CURVE server behind the ZAP handler; n->io.down_send answers).
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

#include "tiersync/log.h"
#include "tiersync/verify.h"
#include "node.h"

void
downlink_close(struct node *n)
{
	free(n->warnlim);
	n->warnlim = NULL;
	free(n->quota);
	n->quota = NULL;
	free(n->peers);
	n->peers = NULL;
	free(n->anchor);
	n->anchor = NULL;
	/* Unsent ACKs are dropped: the children resend, and what we hold
	 * is answered "held". */
	for (size_t i = 0; i < n->nheld_acks; i++)
		free(n->held_acks[i].msg);
	free(n->held_acks);
	n->held_acks = NULL;
	n->nheld_acks = n->held_acks_cap = 0;
	n->npeers = n->peers_cap = 0;
}

/*
 * A warning about what a child sent, at most WARN_PER_S lines per child
 * per second: the rest are counted, and downlink_tick (or the next line)
 * says how many were held back.  No child can flood its parent's log.
 */
#define WARN_PER_S 5
static void child_warn(struct node *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
child_warn(struct node *n, int sender, const char *fmt, ...)
{
	struct warnlim *w;
	char msg[512];
	uint64_t now = node_mono(n);
	va_list ap;

	if (n->warnlim == NULL &&
	    (n->warnlim = calloc(n->topo->nunits, sizeof(*n->warnlim))) == NULL)
		return;
	w = &n->warnlim[sender];
	if (w->last == 0 || now >= w->last + 1000) {
		if (w->held > 0)
			log_warnx("downlink: from %s: %u more lines held back",
			    n->topo->units[sender].code, w->held);
		w->last = now;
		w->n = 0;
		w->held = 0;
	}
	if (w->n >= WARN_PER_S) {
		w->held++;
		n->warn_held = 1;
		return;
	}
	w->n++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("downlink: from %s: %s", n->topo->units[sender].code, msg);
}

/* Say how many warnings each child had held back, once its second is
 * over. */
static void
warn_flush(struct node *n, uint64_t now)
{
	size_t u;
	int more = 0;

	if (!n->warn_held || n->warnlim == NULL)
		return;
	for (u = 0; u < n->topo->nunits; u++) {
		struct warnlim *w = &n->warnlim[u];
		if (w->held == 0)
			continue;
		if (now < w->last + 1000) {
			more = 1;
			continue;
		}
		log_warnx("downlink: from %s: %u more lines held back",
		    n->topo->units[u].code, w->held);
		w->held = 0;
	}
	n->warn_held = more;
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
	warn_flush(n, now);
	while (i < n->npeers) {
		if (now > n->peers[i].last_rx && now - n->peers[i].last_rx > idle) {
			log_debug("downlink: session of %s expired",
			    n->topo->units[n->peers[i].unit].code);
			n->peers[i] = n->peers[--n->npeers];
		} else
			i++;
	}
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
	/* A WELCOME tells the child what it may drop from its outbox, so it
	 * is an ACK too: it may list only what is durable, and a lazy group
	 * commit may not be yet (ts_store_write_ex).  Sync first; the ACKs
	 * that were waiting for it can then go as well. */
	if ((rc = ts_store_sync(n->st)) != 0) {
		send_err(n, rid, rid_len, TS_ST_RETRY, "store unavailable", "", 0);
		return;
	}
	downlink_acks_sync(n);
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

/*
 * A PUSH is judged in two steps.
 *
 * 1. Outside any txn (push_prepare): framing, body, origin known and
 *    inside the sender's subtree, body hash, and authentication.  An
 *    envelope is authentic if its own signature verifies, or if the next
 *    envelope of the same origin later in the same PUSH is authentic,
 *    has seq + 1, and its prev is this envelope's body hash: the origin's
 *    signature over that body commits to this one through the hash chain
 *    (DESIGN "Reports and envelopes": prev is a hash chain).  Walking the
 *    PUSH from its end, only the newest envelope of each run of an
 *    origin pays an Ed25519 verify; a backlog of 256 costs one verify,
 *    not 256 (docs/BENCHMARKS.md).  Every envelope still carries its own
 *    signature, relayed unchanged: national, or tierctl verify anywhere,
 *    can check each one alone.
 *
 * 2. Inside ONE write txn for every PUSH drained in a poll iteration
 *    (group commit, push_group): chain checks against what is held and
 *    storage.  ACKs go out only after that txn committed.
 */

#define ST_PENDING 0xff            /* passed step 1, judged in the txn */
/* Refusals of one PUSH that each get a log line, an ERR and an audit
 * line; the rest are summarised (all are in the ACK and the counters). */
#define REFUSALS_SHOWN 8

struct verdict {
	uint8_t status;
	char    origin[TS_CODE_MAX + 1];
	uint64_t seq;
	char    reason[160];
};

struct penv {                      /* one envelope after step 1        */
	uint8_t  pre;              /* its status after step 1          */
	int      o;                /* topology index of the origin     */
	char     period[TS_PERIOD_MAX + 1];
	uint8_t  prev[TS_HASH_LEN];
	uint8_t  hash[TS_HASH_LEN];
	uint64_t oid;              /* outbox id, if stored and relayed */
	struct verdict v;          /* final verdict                    */
};

struct push_job {                  /* one PUSH of one child            */
	const void   *rid;
	size_t        rid_len;
	int           sender;
	const ts_msg *m;
	struct penv  *e;           /* m->nenvs entries                 */
	size_t        stored, dirty;
	size_t        audited;     /* refusals given an audit line     */
	size_t        verified, chained; /* how each was authenticated  */
};

struct group_ctx {
	struct node     *n;
	struct push_job *jobs;
	size_t           njobs;
	uint64_t         forks, refused, quota;
	uint64_t         zap_delta; /* ZAP denials flushed by this txn  */
	size_t           early;     /* relayed before our commit        */
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

/* Does one of the origin's valid signing keys verify this envelope?
 * Returns 1 yes, 0 no; *nkeys says whether the origin has any key. */
static int
sig_ok(struct node *n, const char *origin, const ts_env_view *ev, size_t *nkeys)
{
	const ts_key *keys[8];
	size_t nk = ts_keys_sign_for(n->keys, origin, node_wall(n) / 1000, keys, 8), i;

	if (nk > 8)
		nk = 8;
	*nkeys = nk;
	for (i = 0; i < nk; i++) {
		ts_env_view kv = *ev;
		if (ts_env_verify(&kv, keys[i]->sign_pk) == 0)
			return 1;
	}
	return 0;
}

/*
 * What an origin claims that the tree bounds (DESIGN: every child is an
 * adversary): its completeness — a leaf reports exactly itself, a unit
 * no more children or leaves than the tree gives it, on time no more
 * than reported — its provenance — only its own direct children, each
 * once (a leaf names none) — and its clock, no further ahead of ours
 * than max_skew_s.  What `tierctl verify` would fail on is refused here,
 * before anything is stored or relayed.  0, or -1 with v refused.
 */
static int
claims_check(struct node *n, int o, const ts_report_hdr *r,
    const ts_env_view *ev, struct verdict *v)
{
	const ts_unit *u = &n->topo->units[o];
	const uint32_t *c = r->completeness;  /* exp rep ontime lexp lrep lontime */
	uint32_t nch = (uint32_t)u->nchildren, nl = u->nleaves;
	uint64_t now = node_wall(n);
	ts_report full;
	size_t i;
	int rc;

	if (u->nchildren == 0 ? (c[0] != 0 || c[1] != 0 || c[2] != 0 ||
	    c[3] != 1 || c[4] > 1 || c[5] > c[4] || r->nprov != 0) :
	    (c[0] != nch || c[1] > nch || c[2] > c[1] || c[3] != nl ||
	    c[4] > nl || c[5] > c[4])) {
		refuse(v, TS_ST_MALFORMED, "completeness %u/%u/%u leaves %u/%u/%u%s "
		    "is impossible for %s (%u children, %u leaves)", c[0], c[1],
		    c[2], c[3], c[4], c[5], r->nprov && !u->nchildren ?
		    " with provenance" : "", v->origin, nch, nl);
		return -1;
	}
	if (r->created_ms > now + (uint64_t)n->cfg.max_skew_s * 1000) {
		refuse(v, TS_ST_RETRY, "created %llu s ahead of this node's clock "
		    "(max_skew_s %d)", (unsigned long long)((r->created_ms - now) / 1000),
		    n->cfg.max_skew_s);
		return -1;
	}
	if (r->nprov == 0)
		return 0;
	if (r->nprov > nch) {
		refuse(v, TS_ST_MALFORMED, "provenance of %s names %zu reports, "
		    "it has %u children", v->origin, r->nprov, nch);
		return -1;
	}
	/* Provenance is not in the header: decode (relays' reports only,
	 * bounded by their number of children). */
	memset(&full, 0, sizeof(full));
	if ((rc = ts_report_decode(ev->body, ev->body_len, &full)) != 0) {
		refuse(v, ts_status_from_err(rc), "report body: %s", ts_strerror(rc));
		return -1;
	}
	rc = 0;
	for (i = 0; i < full.nprov && rc == 0; i++) {
		int ci = ts_topo_find(n->topo, full.prov[i].child);
		if (ci < 0 || n->topo->units[ci].parent != o) {
			refuse(v, TS_ST_MALFORMED, "provenance of %s names %s, not "
			    "a direct child of it", v->origin, full.prov[i].child);
			rc = -1;
		}
		/* Each child once: the decoder refuses a provenance out of
		 * canonical (sorted, unique) order. */
	}
	ts_report_clear(&full);
	return rc;
}

/* Would storing len more bytes for origin o pass today's quota?  If
 * not, count it against the day.  Counters are in memory, per origin,
 * per 24 h of this node's monotonic clock: a restart starts them anew
 * (documented in CONFIG.md; a bound on growth, not accounting). */
static int
quota_over(struct node *n, int o, size_t len)
{
	struct quota *q;
	uint64_t day = node_mono(n) / 86400000;

	if (n->quota == NULL &&
	    (n->quota = calloc(n->topo->nunits, sizeof(*n->quota))) == NULL)
		return 0;               /* no memory for counters: no quota */
	q = &n->quota[o];
	if (q->day != day + 1) {
		q->day = day + 1;
		q->reports = 0;
		q->bytes = 0;
	}
	if (q->reports + 1 > (uint64_t)n->cfg.quota_reports_day ||
	    q->bytes + len > ((uint64_t)n->cfg.quota_mb_day << 20))
		return 1;
	q->reports++;
	q->bytes += len;
	return 0;
}

/* Step 1 for one envelope, everything but authentication. */
static void
prepare_one(struct node *n, int sender, const ts_bytes *env, struct penv *e,
    ts_env_view *ev)
{
	struct verdict *v = &e->v;
	ts_report_hdr r;
	int rc;

	memset(e, 0, sizeof(*e));
	e->o = -1;
	e->pre = ST_PENDING;
	if (env->len > TS_ENV_MAX) {
		refuse(v, TS_ST_OVERSIZE, "envelope over %s bytes", "4 MiB");
		goto refused;
	}
	if ((rc = ts_env_split(env->p, env->len, ev)) != 0) {
		refuse(v, TS_ST_MALFORMED, "envelope: %s", ts_strerror(rc));
		goto refused;
	}
	/* The whole body is checked (canonical, every rule), but nothing
	 * is allocated: the values are read by the rollup, not here. */
	if ((rc = ts_report_check(ev->body, ev->body_len, &r)) != 0) {
		refuse(v, ts_status_from_err(rc), "report body: %s", ts_strerror(rc));
		goto refused;
	}
	memcpy(v->origin, r.origin, sizeof(v->origin));
	memcpy(e->period, r.period, sizeof(e->period));
	v->seq = r.seq;
	memcpy(e->prev, r.prev, TS_HASH_LEN);
	if ((e->o = ts_topo_find(n->topo, v->origin)) < 0) {
		refuse(v, TS_ST_UNKNOWN, "origin %s is not in the topology", v->origin);
		goto refused;
	}
	if (!ts_topo_in_subtree(n->topo, e->o, sender)) {
		refuse(v, TS_ST_SUBTREE, "origin %s is outside the sender's subtree",
		    v->origin);
		goto refused;
	}
	if (r.nvalues > (size_t)n->cfg.quota_values) {
		refuse(v, TS_ST_OVERSIZE, "report of %s carries %zu values, over "
		    "quota_values %d", v->origin, r.nvalues, n->cfg.quota_values);
		goto refused;
	}
	if (claims_check(n, e->o, &r, ev, v) != 0)
		goto refused;
	ts_body_hash(ev->body, ev->body_len, e->hash);
	return;
refused:
	e->pre = v->status;
}

/*
 * Step 1 for a whole PUSH.  anchor[o] is the index of the oldest
 * authentic envelope of origin o seen so far walking backwards (-1:
 * none); it is reset for every origin touched before returning.
 */
static int
push_prepare(struct node *n, struct push_job *j)
{
	const ts_msg *m = j->m;
	ts_env_view *ev;
	size_t i;

	if (n->anchor == NULL) {
		if ((n->anchor = malloc(n->topo->nunits * sizeof(int))) == NULL)
			return TS_ENOMEM;
		for (i = 0; i < n->topo->nunits; i++)
			n->anchor[i] = -1;
	}
	if ((ev = calloc(m->nenvs ? m->nenvs : 1, sizeof(*ev))) == NULL)
		return TS_ENOMEM;
	for (i = 0; i < m->nenvs; i++)
		prepare_one(n, j->sender, &m->envs[i], &j->e[i], &ev[i]);
	for (i = m->nenvs; i-- > 0;) {
		struct penv *e = &j->e[i];
		size_t nk;
		int a;

		if (e->pre != ST_PENDING)
			continue;
		a = n->anchor[e->o];
		if (a >= 0 && j->e[a].v.seq == e->v.seq + 1 &&
		    memcmp(j->e[a].prev, e->hash, TS_HASH_LEN) == 0) {
			n->anchor[e->o] = (int)i;       /* authentic by the chain */
			j->chained++;
			continue;
		}
		j->verified++;
		if (sig_ok(n, e->v.origin, &ev[i], &nk)) {
			n->anchor[e->o] = (int)i;
			continue;
		}
		/* Nothing older of this origin can chain through here. */
		n->anchor[e->o] = -1;
		refuse(&e->v, nk ? TS_ST_SIG : TS_ST_UNKNOWN,
		    nk ? "signature of %s does not verify" :
		    "no valid signing key for %s", e->v.origin);
		e->pre = e->v.status;
	}
	for (i = 0; i < m->nenvs; i++)
		if (j->e[i].o >= 0)
			n->anchor[j->e[i].o] = -1;
	free(ev);
	return 0;
}

/* Step 2 for one envelope that passed step 1.  Returns 0 with v->status
 * set for any verdict about the envelope, or a TS_E* store error that
 * aborts the whole txn (every envelope of the group then gets "retry"). */
static int
store_one(ts_txn *t, struct group_ctx *g, struct push_job *j, const ts_bytes *env,
    struct penv *e)
{
	struct node *n = g->n;
	struct verdict *v = &e->v;
	const char *origin = v->origin;
	ts_chain ch;
	int rc;

	rc = ts_chain_get(t, origin, &ch);
	if (rc == TS_ENOTFOUND)
		memset(&ch, 0, sizeof(ch));
	else if (rc != 0)
		return rc;
	switch (ts_chain_place(ch.seq, ch.hash, v->seq, e->prev)) {
	case TS_CHAIN_NEXT:
		break;
	case TS_CHAIN_GAP:
		return refuse(v, TS_ST_GAP, "seq of %s skips ahead of the held chain",
		    origin);
	case TS_CHAIN_PREV:
		return refuse(v, TS_ST_CHAIN, "prev of %s does not match the held chain",
		    origin);
	default: {                  /* TS_CHAIN_OLD */
		ts_bytes held;
		ts_env_view hv;
		uint8_t hh[TS_HASH_LEN];

		rc = ts_env_get(t, origin, v->seq, &held);
		if (rc == TS_ENOTFOUND)
			return refuse(v, TS_ST_REPLAY, "seq of %s is older than held", origin);
		if (rc != 0)
			return rc;
		/* Identity is the body: the same report signed again (after
		 * a key rotation) is a duplicate, not a fork. */
		if (ts_env_split(held.p, held.len, &hv) != 0)
			return TS_ESTORE;
		ts_body_hash(hv.body, hv.body_len, hh);
		if (memcmp(hh, e->hash, TS_HASH_LEN) == 0) {
			v->status = TS_ST_HELD;
			snprintf(v->reason, sizeof(v->reason), "already held");
			return 0;
		}
		/* Same origin and seq, different signed body: the origin signed
		 * two histories.  Keep the second as evidence and alert. */
		if ((rc = ts_fork_put(t, origin, v->seq, e->hash, env->p, env->len)) != 0)
			return rc;
		g->forks++;
		return refuse(v, TS_ST_FORK, "FORK: %s signed two different reports "
		    "with one seq (kept as evidence)", origin);
	}
	}

	/* What one origin may store per day (node.conf quota_*): past it,
	 * "retry" -- the child keeps it and sends it again, so nothing is
	 * lost, but no one origin can grow every ancestor's store at will. */
	if (quota_over(n, e->o, env->len)) {
		g->quota++;
		return refuse(v, TS_ST_RETRY, "%s is over its daily quota "
		    "(quota_reports_day %d, quota_mb_day %d): retry later", origin,
		    n->cfg.quota_reports_day, n->cfg.quota_mb_day);
	}

	/* Accepted: store, advance the chain, track the newest per period,
	 * relay upward, and mark our own report dirty if it is a child's. */
	ts_chain nc = { .seq = v->seq, .recv_ms = node_wall(n) };
	ts_latest l;
	memcpy(nc.hash, e->hash, TS_HASH_LEN);
	if ((rc = ts_env_put(t, origin, v->seq, env->p, env->len)) != 0 ||
	    (rc = ts_chain_put(t, origin, &nc)) != 0)
		return rc;
	rc = ts_latest_get(t, origin, e->period, &l);
	if (rc != 0 && rc != TS_ENOTFOUND)
		return rc;
	if (rc == TS_ENOTFOUND || l.seq < v->seq) {
		ts_latest nl = { .seq = v->seq, .first_ms = rc == 0 ? l.first_ms : nc.recv_ms,
		    .recv_ms = nc.recv_ms };
		memcpy(nl.hash, e->hash, TS_HASH_LEN);
		if ((rc = ts_latest_put(t, origin, e->period, &nl)) != 0)
			return rc;
		if (n->topo->units[e->o].parent == n->self) {
			if ((rc = ts_dirty_set(t, e->period)) != 0)
				return rc;
			j->dirty++;
		}
	}
	if (n->has_parent &&
	    (rc = ts_outbox_append_ref(t, origin, v->seq, &e->oid)) != 0)
		return rc;
	v->status = TS_ST_STORED;
	j->stored++;
	return 0;
}

/* Persisted counters for `tierctl metrics` (docs/STORE.md), in the
 * group's own txn: they count exactly what was committed. */
static int
push_counters(ts_txn *t, struct group_ctx *g)
{
	uint64_t by[TS_ST_MAX_ + 1] = { 0 }, received = 0, ver = 0, chn = 0;
	char name[40];
	size_t i, k;
	int rc, st;

	for (k = 0; k < g->njobs; k++) {
		received += g->jobs[k].m->nenvs;
		ver += g->jobs[k].verified;
		chn += g->jobs[k].chained;
		for (i = 0; i < g->jobs[k].m->nenvs; i++)
			by[g->jobs[k].e[i].v.status]++;
	}
	g->zap_delta = g->n->cnt.zap_denied - g->n->zap_flushed;
	if ((rc = node_meta_add(t, "n_received", received)) != 0 ||
	    (rc = node_meta_add(t, "n_stored", by[TS_ST_STORED])) != 0 ||
	    (rc = node_meta_add(t, "n_held", by[TS_ST_HELD])) != 0 ||
	    (rc = node_meta_add(t, "n_relayed",
	    g->n->has_parent ? by[TS_ST_STORED] : 0)) != 0 ||
	    (rc = node_meta_add(t, "n_zap_denied", g->zap_delta)) != 0 ||
	    (rc = node_meta_add(t, "n_sig_verified", ver)) != 0 ||
	    (rc = node_meta_add(t, "n_sig_chained", chn)) != 0 ||
	    (rc = node_meta_add(t, "n_quota_refused", g->quota)) != 0)
		return rc;
	for (st = TS_ST_HELD + 1; st <= TS_ST_MAX_; st++) {
		snprintf(name, sizeof(name), "n_refused_%s", ts_status_name(st));
		if ((rc = node_meta_add(t, name, by[st])) != 0)
			return rc;
	}
	return 0;
}

static int
group_fn(ts_txn *t, void *arg)
{
	struct group_ctx *g = arg;
	size_t i, k;
	int rc;

	g->forks = g->refused = g->quota = 0; /* restartable after a map grow */
	for (k = 0; k < g->njobs; k++) {
		struct push_job *j = &g->jobs[k];
		j->stored = j->dirty = j->audited = 0;
		for (i = 0; i < j->m->nenvs; i++) {
			struct penv *e = &j->e[i];
			e->v.status = e->pre;
			if (e->pre == ST_PENDING &&
			    (rc = store_one(t, g, j, &j->m->envs[i], e)) != 0)
				return rc;
			if (e->v.status > TS_ST_HELD && j->audited++ >= REFUSALS_SHOWN) {
				g->refused++;   /* counted; the ACK says which */
			} else if (e->v.status > TS_ST_HELD) {
				char line[320];
				g->refused++;
				snprintf(line, sizeof(line), "refused from %s: origin %s "
				    "seq %llu: %s: %s", g->n->topo->units[j->sender].code,
				    e->v.origin[0] ? e->v.origin : "?",
				    (unsigned long long)e->v.seq,
				    ts_status_name(e->v.status), e->v.reason);
				if ((rc = ts_audit_put(t, node_wall(g->n), line)) != 0)
					return rc;
			}
		}
	}
	if (g->forks > 0 || g->refused > 0) {
		uint64_t f, x;
		if ((rc = ts_meta_get_u64(t, "forks", &f)) != 0 ||
		    (rc = ts_meta_get_u64(t, "refused", &x)) != 0 ||
		    (rc = ts_meta_put_u64(t, "forks", f + g->forks)) != 0 ||
		    (rc = ts_meta_put_u64(t, "refused", x + g->refused)) != 0)
			return rc;
	}
	/* Outbox entries our parent acknowledged ride along (uplink.c). */
	if ((rc = uplink_acks_write(t, g->n)) != 0)
		return rc;
	return push_counters(t, g);
}

/* ---- ACKs held until durable ---- */

/* Send, in order, every held ACK whose commit is now durable. */
static void
acks_release(struct node *n)
{
	size_t i, k = 0;

	for (i = 0; i < n->nheld_acks; i++) {
		struct held_ack *h = &n->held_acks[i];
		if (!ts_store_is_durable(n->st, h->gen)) {
			n->held_acks[k++] = *h;
			continue;
		}
		n->io.down_send(n, h->rid, h->rid_len, h->msg, h->len);
		free(h->msg);
	}
	n->nheld_acks = k;
}

/* Hold the ACK in n->tx until commit gen is durable.  0, or -1 if it
 * could not be held (then the caller syncs and sends it). */
static int
ack_hold(struct node *n, const void *rid, size_t rid_len, uint64_t gen)
{
	struct held_ack *h;

	if (rid_len > sizeof(h->rid))
		return -1;
	if (n->nheld_acks == n->held_acks_cap) {
		size_t cap = n->held_acks_cap ? n->held_acks_cap * 2 : 16;
		struct held_ack *nh = realloc(n->held_acks, cap * sizeof(*nh));
		if (nh == NULL)
			return -1;
		n->held_acks = nh;
		n->held_acks_cap = cap;
	}
	h = &n->held_acks[n->nheld_acks];
	if ((h->msg = malloc(n->tx.len)) == NULL)
		return -1;
	if (n->nheld_acks == 0)
		n->held_since = node_mono(n);
	memcpy(h->msg, n->tx.buf, n->tx.len);
	h->len = n->tx.len;
	memcpy(h->rid, rid, rid_len);
	h->rid_len = rid_len;
	h->gen = gen;
	n->nheld_acks++;
	return 0;
}

int
downlink_acks_waiting(const struct node *n)
{
	return n->nheld_acks > 0;
}

int
downlink_acks_overdue(const struct node *n, uint64_t now, uint64_t max_ms)
{
	return n->nheld_acks > 0 && now >= n->held_since + max_ms;
}

void
downlink_acks_sync(struct node *n)
{
	int rc;

	if (n->nheld_acks == 0)
		return;
	if ((rc = ts_store_sync(n->st)) != 0) {
		/* Not durable: no ACK.  The children's windows time out and
		 * they resend; we answer "held" or store again. */
		log_warnx("store: sync: %s: dropping %zu ACK(s)", ts_strerror(rc),
		    n->nheld_acks);
		for (size_t i = 0; i < n->nheld_acks; i++)
			free(n->held_acks[i].msg);
		n->nheld_acks = 0;
		return;
	}
	acks_release(n);
}

/*
 * Between storing the group and committing it: relay what was stored to
 * our parent now (cut-through, uplink_overlap_send), so the parent's
 * verify and commit run while we fsync.  Safe because our ACK to the
 * child still waits for our commit: if the commit fails, the child
 * resends, and whatever the parent took is answered "held".
 */
static void
group_overlap(void *arg)
{
	struct group_ctx *g = arg;
	struct node *n = g->n;
	ts_bytes *envs;
	uint64_t first = 0;
	size_t i, k, cnt = 0;

	if (!n->has_parent || n->up_state != UP_READY)
		return;
	for (k = 0; k < g->njobs; k++)
		cnt += g->jobs[k].stored;
	if (cnt == 0 || (envs = calloc(cnt, sizeof(*envs))) == NULL)
		return;
	cnt = 0;
	for (k = 0; k < g->njobs; k++)
		for (i = 0; i < g->jobs[k].m->nenvs; i++) {
			struct penv *e = &g->jobs[k].e[i];
			if (e->v.status != TS_ST_STORED)
				continue;
			if (cnt == 0)
				first = e->oid;
			else if (e->oid != first + cnt)
				goto out;   /* not consecutive: leave it to push_some */
			envs[cnt++] = g->jobs[k].m->envs[i];
		}
	g->early += uplink_overlap_send(n, envs, first, cnt);
out:
	free(envs);
}

/*
 * Judge and store every PUSH in jobs (drained in one poll iteration, in
 * arrival order) in one write txn, then answer each: ERR per refusal,
 * and the ACK strictly after the commit.
 */
static void
push_group(struct node *n, struct push_job *jobs, size_t njobs, int lazy)
{
	struct group_ctx g = { .n = n, .jobs = jobs, .njobs = njobs };
	size_t i, k, stored = 0, dirty = 0;
	uint64_t gen = 0;
	int rc = 0;

	for (k = 0; k < njobs && rc == 0; k++) {
		size_t ne = jobs[k].m->nenvs;
		if ((jobs[k].e = calloc(ne ? ne : 1, sizeof(struct penv))) == NULL)
			rc = TS_ENOMEM;
		else
			rc = push_prepare(n, &jobs[k]);
	}
	if (rc == 0) {
		rc = ts_store_write_ex(n->st, group_fn, &g, group_overlap, &g,
		    lazy ? TS_WRITE_LAZY : 0);
		n->outbox_gen++;        /* it may have relayed (uplink.c) */
	}
	if (rc == 0) {
		/* This commit's data flush made every earlier one durable. */
		gen = ts_store_commits(n->st);
		acks_release(n);
	}
	if (rc != 0 && g.early > 0)
		uplink_overlap_abort(n);
	if (rc == 0) {
		n->zap_flushed += g.zap_delta;
		uplink_acks_done(n);
		for (k = 0; k < njobs; k++) {
			n->cnt.sig_verified += jobs[k].verified;
			n->cnt.sig_chained += jobs[k].chained;
		}
	}
	for (k = 0; k < njobs; k++) {
		struct push_job *j = &jobs[k];
		const char *code = n->topo->units[j->sender].code;
		size_t ne = j->m->nenvs;
		uint8_t *st = malloc(ne ? ne : 1);

		n->cnt.env_received += ne;
		if (st == NULL) {
			/* No ACK: the child's window times out and it resends. */
			send_err(n, j->rid, j->rid_len, TS_ST_RETRY, "out of memory", "", 0);
			continue;
		}
		if (rc != 0) {
			/* Nothing of the batch was stored: say so, child retries. */
			char why[128];
			snprintf(why, sizeof(why), "batch not stored: %s", ts_strerror(rc));
			log_warnx("downlink: from %s: %s", code, why);
			memset(st, TS_ST_RETRY, ne);
			send_err(n, j->rid, j->rid_len, TS_ST_RETRY, why, "", 0);
		} else {
			/* Every refusal is in the ACK; the first REFUSALS_SHOWN of
			 * a PUSH also get a log line and an ERR each, the rest one
			 * summary of each: 4,096 badly signed envelopes once cost
			 * 4,096 ERRs and log lines. */
			size_t nref = 0, nheld = 0;
			for (i = 0; i < ne; i++) {
				struct verdict *v = &j->e[i].v;
				st[i] = v->status;
				if (v->status == TS_ST_STORED)
					n->cnt.env_stored++;
				else if (v->status == TS_ST_HELD) {
					n->cnt.env_held++;
					if (nheld++ < REFUSALS_SHOWN)
						log_info("downlink: from %s: %s seq %llu already "
						    "held (duplicate, not applied)", code,
						    v->origin, (unsigned long long)v->seq);
				} else {
					n->cnt.env_refused++;
					n->cnt.refused_by[v->status]++;
					if (nref++ >= REFUSALS_SHOWN)
						continue;
					log_warnx("downlink: refused from %s: origin %s seq "
					    "%llu: %s: %s", code, v->origin[0] ? v->origin : "?",
					    (unsigned long long)v->seq,
					    ts_status_name(v->status), v->reason);
					send_err(n, j->rid, j->rid_len, v->status, v->reason,
					    v->origin, v->seq);
				}
			}
			if (nheld > REFUSALS_SHOWN)
				log_info("downlink: from %s: %zu more envelopes of batch "
				    "%llu already held", code, nheld - REFUSALS_SHOWN,
				    (unsigned long long)j->m->batch);
			if (nref > REFUSALS_SHOWN) {
				char why[160];
				snprintf(why, sizeof(why), "%zu more envelopes of this PUSH "
				    "refused (statuses in the ACK)", nref - REFUSALS_SHOWN);
				log_warnx("downlink: refused from %s: %s", code, why);
				send_err(n, j->rid, j->rid_len, TS_ST_MALFORMED, why, "", 0);
			}
			stored += j->stored;
			dirty += j->dirty;
		}
		/* ACK strictly after the commit above is durable: a lazy one
		 * waits for the next commit or an idle sync (acks_release). */
		ts_buf_reset(&n->tx);
		if (ts_msg_ack(&n->tx, j->m->batch, st, ne) == 0) {
			if (rc != 0 || ts_store_is_durable(n->st, gen))
				send_to(n, j->rid, j->rid_len);
			else if (ack_hold(n, j->rid, j->rid_len, gen) != 0 &&
			    ts_store_sync(n->st) == 0)
				send_to(n, j->rid, j->rid_len);
		}
		free(st);
	}
	for (k = 0; k < njobs; k++) {
		free(jobs[k].e);
		jobs[k].e = NULL;
	}
	if (dirty > 0)
		rollup_mark(n);
	if (stored > 0 && n->has_parent) {
		n->cnt.env_relayed += stored;
		uplink_kick(n);
	}
}

/* Is this a PUSH on a session that said HELLO?  Updates last_rx. */
static struct peer *
session_of(struct node *n, const void *rid, size_t rid_len)
{
	struct peer *p = peer_find(n, rid, rid_len);

	if (p != NULL)
		p->last_rx = node_mono(n);
	return p;
}

/* Every message but a PUSH from a session that said HELLO. */
static void
dispatch(struct node *n, const void *rid, size_t rid_len, int sender,
    const ts_msg *m, struct peer *p)
{
	switch (m->type) {
	case TS_MSG_HELLO:
		on_hello(n, rid, rid_len, sender, m);
		break;
	case TS_MSG_PUSH:
		child_warn(n, sender, "PUSH before HELLO: refused");
		send_err(n, rid, rid_len, TS_ST_PROTOCOL, "HELLO first", "", 0);
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
		if (ts_msg_ping(&n->tx, TS_MSG_PONG, m->time_ms) == 0)
			send_to(n, rid, rid_len);
		break;
	case TS_MSG_ERR:
		child_warn(n, sender, "child says: %s (%s)", ts_status_name(m->code),
		    m->reason);
		break;
	default:
		child_warn(n, sender, "message type %d is not valid towards a parent",
		    m->type);
		send_err(n, rid, rid_len, TS_ST_PROTOCOL,
		    "message type not valid towards a parent", "", 0);
	}
}

static int
decode_or_err(struct node *n, const void *rid, size_t rid_len, int sender,
    const uint8_t *data, size_t len, ts_msg *m)
{
	int rc;

	int type;

	memset(m, 0, sizeof(*m));
	/* Refuse by type before decoding what a child never sends (a
	 * CTL_REPLACE of 65,536 x 65,536 once cost 16 s to decode). */
	if ((rc = ts_msg_peek(data, len, &type)) == 0 && type != TS_MSG_HELLO &&
	    type != TS_MSG_PUSH && type != TS_MSG_PING && type != TS_MSG_ERR) {
		child_warn(n, sender, "message type %d is not valid towards a "
		    "parent: refused undecoded (%zu bytes)", type, len);
		send_err(n, rid, rid_len, TS_ST_PROTOCOL,
		    "message type not valid towards a parent", "", 0);
		return -1;
	}
	if (rc != 0 || (rc = ts_msg_decode(data, len, m)) != 0) {
		char why[96];
		snprintf(why, sizeof(why), "malformed message: %s", ts_strerror(rc));
		child_warn(n, sender, "%s (%zu bytes)", why, len);
		send_err(n, rid, rid_len, ts_status_from_err(rc), why, "", 0);
		return -1;
	}
	return 0;
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
conn_key_valid(struct node *n, const uint8_t *pk, int sender, const void *rid,
    size_t rid_len)
{
	const ts_key *k;
	struct peer *p;
	char z85[TS_CURVE_Z85_LEN + 1];
	uint64_t now = node_mono(n);

	if (pk == NULL)
		return 1;           /* admitted by ZAP; nothing more to check */
	/* The keys file can list the whole country: look the key up once
	 * a second per session and after every reload, not per message. */
	p = peer_find(n, rid, rid_len);
	if (p != NULL && !p->revoked && p->key_gen == n->keys_gen &&
	    now < p->key_until && memcmp(p->key_pk, pk, 32) == 0)
		return 1;
	k = ts_keys_by_curve(n->keys, pk, node_wall(n) / 1000);
	if (k != NULL && strcmp(k->code, n->topo->units[sender].code) == 0) {
		if (p != NULL) {
			memcpy(p->key_pk, pk, 32);
			p->key_gen = n->keys_gen;
			p->key_until = now + 1000;
		}
		return 1;
	}
	if (p == NULL && (p = peer_add(n, rid, rid_len, sender)) == NULL)
		return 0;
	if (!p->revoked) {
		ts_z85_encode32(pk, z85);
		log_warnx("downlink: CURVE key %s of %s is revoked or expired: "
		    "session dropped", z85, n->topo->units[sender].code);
		p->revoked = 1;
		p->helloed = 0;
		p->last_rx = now;
		send_err(n, rid, rid_len, TS_ST_UNKNOWN,
		    "your CURVE key was revoked or has expired", "", 0);
	}
	return 0;
}

/* Commit the PUSHes gathered so far as one group. */
static void
flush_pushes(struct node *n, struct push_job *jobs, size_t *njobs, int lazy)
{
	if (*njobs > 0)
		push_group(n, jobs, *njobs, lazy);
	*njobs = 0;
}

/*
 * Messages drained by the transport in one go, in arrival order.
 * Consecutive PUSHes — from any children — are judged and stored in ONE
 * write txn: at fan-in or under load the cost of a durable commit is
 * shared by every batch that arrived meanwhile, instead of queueing one
 * fsync per batch.  Any other message first flushes the PUSHes before
 * it, so per-connection order is kept.
 */
void
downlink_on_batch(struct node *n, const struct node_inmsg *in, size_t k,
    int lazy)
{
	struct push_job *jobs;
	ts_msg *m;
	size_t njobs = 0, i;

	if (k == 0)
		return;
	jobs = calloc(k, sizeof(*jobs));
	m = calloc(k, sizeof(*m));
	if (jobs == NULL || m == NULL) {
		/* Nothing answered: the children's windows time out and
		 * they resend. */
		log_warnx("downlink: out of memory for %zu messages", k);
		free(jobs);
		free(m);
		return;
	}
	for (i = 0; i < k; i++) {
		const struct node_inmsg *x = &in[i];
		struct peer *p;

		if (x->frames != 1) {
			if (x->sender >= 0)
				child_warn(n, x->sender, "a message of %d frames: refused",
				    x->frames);
			flush_pushes(n, jobs, &njobs, lazy);
			send_err(n, x->rid, x->rid_len, TS_ST_MALFORMED,
			    "one frame per message", "", 0);
			continue;
		}
		if (x->sender < 0) {
			log_warnx("downlink: message without an authenticated unit");
			continue;
		}
		if (!conn_key_valid(n, x->curve_pk, x->sender, x->rid, x->rid_len))
			continue;
		if (decode_or_err(n, x->rid, x->rid_len, x->sender, x->data,
		    x->len, &m[i]) != 0)
			continue;
		p = session_of(n, x->rid, x->rid_len);
		if (m[i].type == TS_MSG_PUSH && p != NULL && p->helloed) {
			jobs[njobs++] = (struct push_job){ .rid = x->rid,
			    .rid_len = x->rid_len, .sender = x->sender, .m = &m[i] };
			continue;
		}
		flush_pushes(n, jobs, &njobs, lazy);
		dispatch(n, x->rid, x->rid_len, x->sender, &m[i], p);
	}
	flush_pushes(n, jobs, &njobs, lazy);
	for (i = 0; i < k; i++)
		ts_msg_clear(&m[i]);
	free(m);
	free(jobs);
}
