/*
 * Uplink: what goes to the parent (over the transport's DEALER socket,
 * a CURVE client; n->io.up_*).
 *
 * States: IDLE (socket closed, waiting out the backoff) -> HELLO (HELLO
 * sent every heartbeat until WELCOME) -> READY (pushing the outbox in
 * batches, at most `window` unacknowledged).  Anything suspicious — no
 * traffic from the parent for dead_ms, ERR protocol (the parent lost our
 * session, e.g. it restarted) — closes the socket and starts over: the
 * outbox is the truth, in-flight state is only a cache of it.
 *
 * Outbox entries are deleted only when an ACK says stored/held, in one
 * txn.  retry/gap keep the entries and rewind after a pause; any other
 * status moves the entry to `dead` with an audit line, never a silent
 * drop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/log.h"
#include "node.h"

/* Retry of a HELLO that could not be sent (connection not up yet). */
#define UP_RETRY_MS 20

/* Time since `then`, 0 if `then` is later than `now` (stamps taken
 * inside handlers can be newer than the loop's `now`; an unsigned
 * underflow here once reset the link after every push). */
static uint64_t
elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void acks_flush(struct node *n);

static void
flight_clear(struct node *n)
{
	size_t i;

	/* Rewinding resends from the oldest outbox entry: delete what the
	 * parent already acknowledged first. */
	acks_flush(n);
	for (i = 0; i < n->nflight; i++)
		free(n->flight[i].ids);
	n->nflight = 0;
	n->up_cursor = 0;          /* resend from the oldest entry */
}

static int
send_tx(struct node *n)
{
	/* The attempt counts for the heartbeat timer either way, so a link
	 * that is not up yet is retried on a short timer, not spun on. */
	n->up_last_tx = node_mono(n);
	n->up_tx_failed = 1;
	if (n->io.up_send(n, n->tx.buf, n->tx.len) != 0)
		return -1;
	n->up_tx_failed = 0;
	return 0;
}

static void
send_hello(struct node *n)
{
	ts_buf_reset(&n->tx);
	if (ts_msg_hello(&n->tx, n->cfg.unit, n->topo->version) == 0)
		(void)send_tx(n);
}

/* Drop the link and start over after a growing pause. */
static void
link_reset(struct node *n, const char *why)
{
	uint64_t now = node_mono(n);

	if (n->up_state == UP_READY) {
		log_warnx("uplink: link to %s down: %s", n->cfg.parent, why);
		node_meta_link(n, "down");
	} else
		log_debug("uplink: %s", why);
	flight_clear(n);
	n->io.up_close(n);
	n->up_state = UP_IDLE;
	if (n->up_backoff == 0)
		n->up_backoff = (uint64_t)n->cfg.reconnect_min_ms;
	else if ((n->up_backoff *= 2) > (uint64_t)n->cfg.reconnect_max_ms)
		n->up_backoff = (uint64_t)n->cfg.reconnect_max_ms;
	/* Jitter so that a district's communes do not reconnect in step. */
	n->up_next_try = now + n->up_backoff / 2 +
	    node_random(n) % (n->up_backoff / 2 + 1);
}

static void
link_start(struct node *n)
{
	if (n->io.up_open(n) != 0) {
		link_reset(n, "cannot open socket");
		return;
	}
	n->up_state = UP_HELLO;
	n->up_last_rx = node_mono(n);      /* dead_ms counts from here */
	send_hello(n);
}

int
uplink_init(struct node *n)
{
	n->batch_next = node_wall(n);       /* distinct across restarts */
	n->up_state = UP_IDLE;
	n->up_next_try = 0;
	node_meta_link(n, "down");
	link_start(n);
	return 0;
}

void
uplink_close(struct node *n)
{
	/* Like a crash: pending deletions are forgotten (the parent
	 * answers "held" for those entries after the restart). */
	n->nacked = 0;
	flight_clear(n);
	free(n->acked);
	n->acked = NULL;
	n->nacked = n->acked_cap = 0;
	if (n->io.up_close != NULL)
		n->io.up_close(n);
}

/* ---- pushing ---- */

struct fill_ctx {
	struct node *n;
	ts_bytes    *envs;
	uint64_t    *ids;
	size_t       count, max;
	uint8_t     *copy;      /* envelope bytes copied out of the txn */
	size_t       copy_len, copy_cap;
	int          err;
};

static int
fill_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	struct fill_ctx *f = arg;

	if (f->count == f->max || (f->count > 0 && f->copy_len + len > TS_MSG_MAX / 2))
		return 1;
	if (f->copy_len + len > f->copy_cap) {
		size_t cap = f->copy_cap ? f->copy_cap : 65536;
		while (cap < f->copy_len + len)
			cap *= 2;
		uint8_t *nc = realloc(f->copy, cap);
		if (nc == NULL) {
			f->err = TS_ENOMEM;
			return 1;
		}
		f->copy = nc;
		f->copy_cap = cap;
	}
	memcpy(f->copy + f->copy_len, env, len);
	f->envs[f->count].p = (const uint8_t *)(uintptr_t)f->copy_len;  /* offset */
	f->envs[f->count].len = len;
	f->ids[f->count] = id;
	f->copy_len += len;
	f->count++;
	return 0;
}

/* Send envs (outbox ids[0..k-1], consecutive from up_cursor) as one
 * PUSH and track it in flight.  Takes ids (freed here on failure).
 * Returns 0 if handed to the transport. */
static int
send_batch(struct node *n, const ts_bytes *envs, uint64_t *ids, size_t k)
{
	uint64_t batch = ++n->batch_next;

	ts_buf_reset(&n->tx);
	if (ts_msg_push(&n->tx, batch, envs, k) != 0 || send_tx(n) != 0) {
		free(ids);
		return -1;          /* not sent: try again on the next tick */
	}
	n->flight[n->nflight].batch = batch;
	n->flight[n->nflight].sent = n->up_last_tx;
	n->flight[n->nflight].ids = ids;
	n->flight[n->nflight].n = k;
	n->nflight++;
	n->up_cursor = ids[k - 1] + 1;
	log_debug("uplink: pushed batch %llu (%zu envelopes)",
	    (unsigned long long)batch, k);
	return 0;
}

static int
can_push(const struct node *n)
{
	return n->up_state == UP_READY && n->nflight < (size_t)n->cfg.window &&
	    node_mono(n) >= n->up_retry_at;
}

/* Send as many batches as the window allows. */
static void
push_some(struct node *n)
{
	while (can_push(n)) {
		struct fill_ctx f = { .n = n, .max = (size_t)n->cfg.batch_max };
		ts_txn *t;
		size_t i;
		int rc;

		/* Nothing new since an empty scan from here: most timer ticks
		 * (12 % of the simulator's time went to this read txn). */
		if (n->up_empty_gen == n->outbox_gen + 1 &&
		    n->up_empty_cursor == n->up_cursor)
			return;

		f.envs = calloc(f.max, sizeof(*f.envs));
		f.ids = calloc(f.max, sizeof(*f.ids));
		if (f.envs == NULL || f.ids == NULL) {
			free(f.envs);
			free(f.ids);
			return;
		}
		if ((rc = ts_store_read_begin(n->st, &t)) != 0) {
			free(f.envs);
			free(f.ids);
			return;
		}
		rc = ts_outbox_each(t, n->up_cursor, fill_cb, &f);
		ts_store_read_end(&t);
		if (rc >= 0 && f.err == 0 && f.count == 0) {
			n->up_empty_gen = n->outbox_gen + 1;
			n->up_empty_cursor = n->up_cursor;
		}
		if (rc < 0 || f.err != 0 || f.count == 0) {
			free(f.envs);
			free(f.ids);
			free(f.copy);
			return;
		}
		for (i = 0; i < f.count; i++)
			f.envs[i].p = f.copy + (uintptr_t)f.envs[i].p;
		rc = send_batch(n, f.envs, f.ids, f.count);
		free(f.envs);
		free(f.copy);
		if (rc != 0)
			return;
	}
}

/*
 * Cut-through (the downlink calls this between storing a group and its
 * commit, ts_store_write_overlap): hand envelopes that are being
 * appended to the outbox as ids first..first+k-1 to the parent now, so
 * its verify and commit overlap ours.  Only when they are exactly the
 * next entries to send (nothing older waits) and the window has room;
 * otherwise push_some sends them after the commit as usual.  Returns
 * how many were sent.  If our commit then fails, uplink_overlap_abort
 * forgets them: the parent's ACK for a batch we no longer track is
 * ignored, the ids are not deleted, and the child resends (our parent
 * answers "held" for anything it already took).
 */
size_t
uplink_overlap_send(struct node *n, const ts_bytes *envs, uint64_t first, size_t k)
{
	uint64_t *ids;
	size_t i;

	if (k == 0 || n->up_cursor != first || !can_push(n))
		return 0;
	if (k > (size_t)n->cfg.batch_max)
		k = (size_t)n->cfg.batch_max;
	if ((ids = calloc(k, sizeof(*ids))) == NULL)
		return 0;
	for (i = 0; i < k; i++)
		ids[i] = first + i;
	return send_batch(n, envs, ids, k) == 0 ? k : 0;
}

void
uplink_overlap_abort(struct node *n)
{
	n->nacked = 0;
	flight_clear(n);
}

void
uplink_kick(struct node *n)
{
	push_some(n);
}

/* ---- ACK ---- */

/*
 * An ACK that says stored/held lets us delete outbox entries.  That
 * deletion need not be durable: if it is lost (crash), the entries are
 * resent and the parent answers "held".  So it is not worth an fsync'd
 * commit of its own per ACK — on a relaying node that doubled the
 * commits on the hot path.  The ids wait in n->acked and are deleted in
 * the downlink's next group commit (it calls uplink_acks_write), or in a
 * txn of their own at most ACK_FLUSH_MS later (uplink_tick; a commune has
 * no downlink), or before the cursor rewinds.
 * Entries refused for good are moved to dead letters at once.
 */
#define ACK_FLUSH_MS 500
#define ACK_PENDING_MAX 65536

int
uplink_acks_write(ts_txn *t, struct node *n)
{
	size_t i;
	int rc;

	if (n->nacked == 0)
		return 0;
	for (i = 0; i < n->nacked; i++)
		if ((rc = ts_outbox_del(t, n->acked[i])) != 0 && rc != TS_ENOTFOUND)
			return rc;
	if ((rc = node_meta_add(t, "n_acked", n->nacked)) != 0)
		return rc;
	return ts_meta_put_u64(t, "last_ack_ms", n->acked_wall);
}

void
uplink_acks_done(struct node *n)
{
	n->nacked = 0;
}

static int
acks_fn(ts_txn *t, void *arg)
{
	return uplink_acks_write(t, arg);
}

/* Delete the pending acknowledged entries now, in a txn of their own. */
static void
acks_flush(struct node *n)
{
	int rc;

	if (n->nacked == 0)
		return;
	/* On failure they stay in the outbox and in n->acked, and the
	 * deletion is tried again ACK_FLUSH_MS later: forgetting them here
	 * left entries the parent holds in the outbox behind the cursor,
	 * never resent and never deleted while the link stayed up (the
	 * simulator's disk faults found it). */
	if ((rc = ts_store_write(n->st, acks_fn, n)) != 0) {
		log_warnx("uplink: cannot record ACKs: %s (retrying)", ts_strerror(rc));
		n->acked_first = node_mono(n);
		return;
	}
	n->nacked = 0;
}

static int
acked_add(struct node *n, uint64_t id)
{
	if (n->nacked == n->acked_cap) {
		size_t cap = n->acked_cap ? n->acked_cap * 2 : 1024;
		uint64_t *na = realloc(n->acked, cap * sizeof(*na));
		if (na == NULL)
			return TS_ENOMEM;
		n->acked = na;
		n->acked_cap = cap;
	}
	if (n->nacked == 0)
		n->acked_first = node_mono(n);
	n->acked[n->nacked++] = id;
	n->acked_wall = node_wall(n);
	return 0;
}

struct ack_ctx {
	struct node           *n;
	const struct inflight *fl;
	const ts_msg          *m;
	size_t dead;
};

struct take { uint64_t id; ts_bytes env; int found; };

static int
take_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	struct take *tk = arg;

	if (id == tk->id) {
		tk->env.p = env;
		tk->env.len = len;
		tk->found = 1;
	}
	return 1;                   /* only the first entry >= id matters */
}

/* Entries refused for good, and the pending deletions with them. */
static int
dead_fn(ts_txn *t, void *arg)
{
	struct ack_ctx *a = arg;
	size_t i;
	int rc;

	a->dead = 0;                /* restartable after a map grow */
	for (i = 0; i < a->fl->n; i++) {
		int st = a->m->status[i];
		uint64_t id = a->fl->ids[i];
		struct take tk = { .id = id };
		char line[160];

		if (st == TS_ST_STORED || st == TS_ST_HELD || st == TS_ST_RETRY ||
		    st == TS_ST_GAP)
			continue;
		/* Refused for good: move to dead letters, where it is kept
		 * and visible (tierctl status), never resent. */
		if ((rc = ts_outbox_each(t, id, take_cb, &tk)) < 0)
			return rc;
		if (!tk.found)
			continue;
		if ((rc = ts_dead_put(t, id, st, tk.env.p, tk.env.len)) != 0 ||
		    (rc = ts_outbox_del(t, id)) != 0)
			return rc;
		snprintf(line, sizeof(line), "uplink: parent refused outbox "
		    "entry %llu (%s): moved to dead letters",
		    (unsigned long long)id, ts_status_name(st));
		if ((rc = ts_audit_put(t, node_wall(a->n), line)) != 0)
			return rc;
		a->dead++;
	}
	if ((rc = node_meta_add(t, "n_dead", a->dead)) != 0)
		return rc;
	return uplink_acks_write(t, a->n);
}

static void
on_ack(struct node *n, const ts_msg *m)
{
	size_t k, i;
	int rc, rewind = 0, dead = 0;

	for (k = 0; k < n->nflight; k++)
		if (n->flight[k].batch == m->batch)
			break;
	if (k == n->nflight) {
		log_debug("uplink: ACK for unknown batch %llu ignored",
		    (unsigned long long)m->batch);
		return;
	}
	if (m->nstatus != n->flight[k].n) {
		link_reset(n, "ACK does not match its batch");
		return;
	}
	for (i = 0; i < m->nstatus; i++) {
		int st = m->status[i];
		if (st == TS_ST_STORED || st == TS_ST_HELD) {
			if (acked_add(n, n->flight[k].ids[i]) != 0)
				rewind = 1;     /* no memory: resend, parent says held */
		} else if (st == TS_ST_RETRY || st == TS_ST_GAP)
			/* Temporary, or an earlier envelope has not landed
			 * yet: keep it and resend from the oldest entry. */
			rewind = 1;
		else
			dead = 1;
	}
	if (dead) {
		struct ack_ctx a = { .n = n, .fl = &n->flight[k], .m = m };
		if ((rc = ts_store_write(n->st, dead_fn, &a)) != 0) {
			/* The entries stay in the outbox: resending is safe, the
			 * parent answers "held" or refuses them again. */
			log_warnx("uplink: cannot record ACK: %s", ts_strerror(rc));
			n->nacked = 0;
			flight_clear(n);
			n->up_retry_at = node_mono(n) + 1000;
			return;
		}
		n->nacked = 0;
		log_warnx("uplink: parent refused %zu envelope(s) of batch %llu: "
		    "moved to dead letters", a.dead, (unsigned long long)m->batch);
	}
	n->cnt.acks_received++;
	free(n->flight[k].ids);
	memmove(&n->flight[k], &n->flight[k + 1],
	    (n->nflight - k - 1) * sizeof(n->flight[0]));
	n->nflight--;
	if (rewind) {
		log_info("uplink: parent asks to retry part of batch %llu; "
		    "resending after a pause", (unsigned long long)m->batch);
		flight_clear(n);
		if (n->up_backoff == 0)
			n->up_backoff = (uint64_t)n->cfg.reconnect_min_ms;
		else if ((n->up_backoff *= 2) > (uint64_t)n->cfg.reconnect_max_ms)
			n->up_backoff = (uint64_t)n->cfg.reconnect_max_ms;
		n->up_retry_at = node_mono(n) + n->up_backoff;
		return;
	}
	if (n->nacked >= ACK_PENDING_MAX)
		acks_flush(n);
	n->up_backoff = 0;
	push_some(n);
}

/* ---- WELCOME: drop what the parent already holds ---- */

struct welcome_ctx {
	const ts_msg *m;
	uint64_t *drop;
	size_t ndrop, cap;
	int err;
};

static int
held_cmp(const void *a, const void *b)
{
	return strcmp(((const ts_held *)a)->origin, ((const ts_held *)b)->origin);
}

static int
welcome_scan(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	struct welcome_ctx *w = arg;
	ts_env_view v;
	ts_report_hdr r;
	ts_held key, *h;
	uint8_t hash[TS_HASH_LEN];

	if (ts_env_split(env, len, &v) != 0 || ts_report_check(v.body, v.body_len, &r) != 0)
		return 0;           /* the parent will judge it */
	snprintf(key.origin, sizeof(key.origin), "%s", r.origin);
	h = bsearch(&key, w->m->held, w->m->nheld, sizeof(ts_held), held_cmp);
	ts_body_hash(v.body, v.body_len, hash);
	if (h != NULL && (r.seq < h->seq ||
	    (r.seq == h->seq && memcmp(hash, h->hash, TS_HASH_LEN) == 0))) {
		if (w->ndrop == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 256;
			uint64_t *nd = realloc(w->drop, cap * sizeof(*nd));
			if (nd == NULL) {
				w->err = 1;
				return 1;
			}
			w->drop = nd;
			w->cap = cap;
		}
		w->drop[w->ndrop++] = id;
	}
	return 0;
}

static int
welcome_fn(ts_txn *t, void *arg)
{
	struct welcome_ctx *w = arg;
	size_t i;
	int rc;

	for (i = 0; i < w->ndrop; i++)
		if ((rc = ts_outbox_del(t, w->drop[i])) != 0 && rc != TS_ENOTFOUND)
			return rc;
	return 0;
}

static void
on_welcome(struct node *n, ts_msg *m)
{
	struct welcome_ctx w = { .m = m };
	ts_txn *t;

	if (m->nheld > 0) {
		qsort(m->held, m->nheld, sizeof(ts_held), held_cmp);
		if (ts_store_read_begin(n->st, &t) == 0) {
			(void)ts_outbox_each(t, 0, welcome_scan, &w);
			ts_store_read_end(&t);
		}
		if (!w.err && w.ndrop > 0 && ts_store_write(n->st, welcome_fn, &w) == 0)
			log_info("uplink: parent already holds %zu queued envelope(s): "
			    "dropped from the outbox", w.ndrop);
		free(w.drop);
	}
	n->up_state = UP_READY;
	n->up_backoff = 0;
	n->up_retry_at = 0;
	flight_clear(n);
	node_meta_link(n, "up");
	log_info("uplink: connected to parent %s at %s", m->unit, n->cfg.parent);
	push_some(n);
}

void
uplink_on_msg(struct node *n, const uint8_t *p, size_t len)
{
	ts_msg m;
	int rc, type;

	n->up_last_rx = node_mono(n);
	memset(&m, 0, sizeof(m));
	/* What a parent never sends is not decoded at all. */
	if ((rc = ts_msg_peek(p, len, &type)) == 0 && type != TS_MSG_WELCOME &&
	    type != TS_MSG_ACK && type != TS_MSG_ERR && type != TS_MSG_PONG &&
	    type != TS_MSG_PING) {
		log_warnx("uplink: message type %d from parent is not valid towards "
		    "a child (%zu bytes, not decoded)", type, len);
		link_reset(n, "invalid message type from parent");
		return;
	}
	if (rc != 0 || (rc = ts_msg_decode(p, len, &m)) != 0) {
		log_warnx("uplink: malformed message from parent: %s", ts_strerror(rc));
		link_reset(n, "malformed message from parent");
		return;
	}
	switch (m.type) {
	case TS_MSG_WELCOME:
		if (n->up_state == UP_HELLO)
			on_welcome(n, &m);
		break;
	case TS_MSG_ACK:
		if (n->up_state == UP_READY)
			on_ack(n, &m);
		break;
	case TS_MSG_PONG:
		break;
	case TS_MSG_ERR:
		if (m.code == TS_ST_PROTOCOL) {
			log_info("uplink: parent says '%s': saying HELLO again", m.reason);
			flight_clear(n);
			n->up_state = UP_HELLO;
			send_hello(n);
		} else if (m.origin[0] != '\0')
			log_warnx("uplink: parent refused %s seq %llu: %s: %s", m.origin,
			    (unsigned long long)m.seq, ts_status_name(m.code), m.reason);
		else
			log_warnx("uplink: parent: %s: %s", ts_status_name(m.code), m.reason);
		break;
	default:
		log_warnx("uplink: unexpected message type %d from parent", m.type);
	}
	ts_msg_clear(&m);
}

uint64_t
uplink_next_timer(const struct node *n, uint64_t now)
{
	(void)now;
	if (n->nacked > 0)
		return n->acked_first + ACK_FLUSH_MS;
	switch (n->up_state) {
	case UP_IDLE:
		return n->up_next_try;
	case UP_HELLO:
		return n->up_last_tx + (n->up_tx_failed ? UP_RETRY_MS :
		    (uint64_t)n->cfg.heartbeat_ms);
	case UP_READY:
		return n->up_last_tx + (uint64_t)n->cfg.heartbeat_ms;
	default:
		return 0;
	}
}

void
uplink_tick(struct node *n, uint64_t now)
{
	if (n->nacked > 0 && elapsed(now, n->acked_first) >= ACK_FLUSH_MS)
		acks_flush(n);
	switch (n->up_state) {
	case UP_IDLE:
		if (now >= n->up_next_try)
			link_start(n);
		break;
	case UP_HELLO:
		if (elapsed(now, n->up_last_rx) > (uint64_t)n->cfg.dead_ms)
			link_reset(n, "no WELCOME from parent");
		else if (elapsed(now, n->up_last_tx) >= (n->up_tx_failed ? UP_RETRY_MS :
		    (uint64_t)n->cfg.heartbeat_ms))
			send_hello(n);
		break;
	case UP_READY:
		if (elapsed(now, n->up_last_rx) > (uint64_t)n->cfg.dead_ms) {
			link_reset(n, "parent silent for too long");
			break;
		}
		/* PONGs alone do not prove progress: a batch unanswered for
		 * 4 x dead_ms (slow links need time) restarts the session. */
		if (n->nflight > 0 &&
		    elapsed(now, n->flight[0].sent) > 4 * (uint64_t)n->cfg.dead_ms) {
			link_reset(n, "no ACK for the oldest batch");
			break;
		}
		push_some(n);
		if (elapsed(now, n->up_last_tx) >= (uint64_t)n->cfg.heartbeat_ms) {
			ts_buf_reset(&n->tx);
			if (ts_msg_ping(&n->tx, TS_MSG_PING, node_wall(n)) == 0)
				(void)send_tx(n);
		}
		break;
	}
}
