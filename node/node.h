/*
 * The node core: tiersyncd's whole logic, with no socket, clock or
 * randomness of its own.  Events come in through the entry points below
 * (messages from children and from the parent, ZAP requests, control
 * requests, timer ticks, idle); effects go out through struct node_io
 * (send to the parent or a child, open/close the parent link) and the
 * store (ts_store_write_ex: the group commit, lazy or durable; the ACKs
 * that wait for durability are held here, not in the transport).
 *
 *   core.c      node-wide: identity in the store, keys reload, ticks
 *   downlink.c  what children send: checks, group commit, held ACKs
 *   uplink.c    what goes to the parent: outbox, window, ACKs, dead letters
 *   zap.c       which CURVE keys may connect (the decision only)
 *   rollup.c    own report = own values + children's latest
 *   control.c   tierctl's requests (put, replace, reload)
 *
 * Two drivers run the same entry points: the daemon (daemon.c: start-up;
 * transport.c: ZeroMQ sockets and the poll loop, the only code that
 * calls ZeroMQ) and the simulator (tests/sim.c: a virtual clock and a
 * seeded fake network).  Everything runs on one thread; LMDB txns never
 * span two events.
 */
#ifndef TIERSYNC_NODE_H
#define TIERSYNC_NODE_H

#include "tiersync/common.h"
#include "tiersync/config.h"
#include "tiersync/identity.h"
#include "tiersync/proto.h"
#include "tiersync/store.h"
#include "tiersync/topology.h"

#define NODE_WINDOW_MAX 64

enum uplink_state {
	UP_NONE = 0,        /* root: no parent                              */
	UP_IDLE,            /* socket closed, waiting for the backoff        */
	UP_HELLO,           /* HELLO sent, waiting for WELCOME              */
	UP_READY,           /* WELCOME received: pushing                     */
};

struct inflight {
	uint64_t  batch;
	uint64_t  sent;     /* mono ms                                       */
	uint64_t *ids;      /* outbox ids in PUSH order                      */
	size_t    n;
};

struct held_ack {          /* an ACK waiting for its commit to be durable */
	uint8_t  rid[256];
	size_t   rid_len;
	uint64_t gen;          /* ts_store_commits() after its group        */
	uint8_t *msg;          /* the encoded ACK                           */
	size_t   len;
};

struct quota {             /* what one origin stored today (downlink.c) */
	uint64_t day;          /* day number + 1 of the counters; 0 unused  */
	uint64_t reports, bytes;
};

struct warnlim {           /* child_warn's rate limit, per unit        */
	uint64_t last;         /* mono ms its second began; 0 none          */
	unsigned n;            /* lines written in that second              */
	unsigned held;         /* lines held back in it                     */
};

struct peer {              /* a child's session, keyed by routing id     */
	uint8_t  rid[256];
	size_t   rid_len;
	int      unit;         /* topology index of the authenticated child */
	int      helloed;
	int      revoked;      /* its CURVE key is no longer valid: ignored */
	uint8_t  key_pk[32];   /* CURVE key last found valid (conn_key_valid) */
	unsigned key_gen;      /* ... in this generation of the keys file  */
	uint64_t key_until;    /* ... until this mono ms (then look again) */
	uint64_t last_rx;      /* mono ms                                   */
};

/*
 * The node's outside world.  The daemon plugs in ZeroMQ and the real
 * clocks (transport.c); the simulator (tests/sim.c) plugs in a seeded
 * fake network and a virtual clock.  The core calls nothing else that
 * depends on the world outside its store.
 */
struct node;
struct node_io {
	void     *ctx;
	uint64_t (*wall_ms)(void *ctx);         /* ms since the epoch        */
	uint64_t (*mono_ms)(void *ctx);         /* monotonic ms              */
	uint64_t (*random)(void *ctx);          /* uniform 64 bits (jitter)  */
	int      (*up_open)(struct node *n);    /* connect to the parent     */
	void     (*up_close)(struct node *n);   /* drop that connection      */
	/* 0 = handed to the transport, -1 = not sent (link not up) */
	int      (*up_send)(struct node *n, const uint8_t *p, size_t len);
	void     (*down_send)(struct node *n, const void *rid, size_t rid_len,
	                      const uint8_t *p, size_t len);
};

/* One message from a child's connection, as the transport received it.
 * Everything is borrowed for the call only. */
struct node_inmsg {
	const void    *rid;       /* routing id of the connection          */
	size_t         rid_len;
	int            sender;    /* topology index ZAP admitted (User-Id); -1 none */
	const uint8_t *curve_pk;  /* the connection's CURVE key (32 bytes), NULL unknown */
	const uint8_t *data;      /* the first frame                        */
	size_t         len;
	int            frames;    /* frames in the message; only 1 is valid */
};

/* A ZAP request (RFC 27) as the transport read it, and the answer. */
struct zap_req {
	int            nframes;   /* frames in the request                  */
	const uint8_t *version;   size_t version_len;
	const char    *address;   /* peer address, for the log ("" if none) */
	const uint8_t *mechanism; size_t mechanism_len;
	const uint8_t *curve_pk;  /* 32 bytes, NULL if the frame is not     */
};
struct zap_rep {
	char status[4];           /* "200" or "400"                         */
	char text[64];
	char user[TS_CODE_MAX + 1];          /* the child's unit code (User-Id) */
	char curve_z85[TS_CURVE_Z85_LEN + 1]; /* metadata X-Curve-Key; "" none */
};

struct counters {
	uint64_t env_received, env_stored, env_held, env_refused, env_relayed;
	uint64_t refused_by[TS_ST_MAX_ + 1];
	uint64_t reports_emitted, acks_received, zap_denied;
	/* envelopes whose signature was verified / that were authenticated
	 * through the hash chain by a verified newer one (downlink.c) */
	uint64_t sig_verified, sig_chained;
};

struct node {
	ts_topo    *topo;
	ts_keys    *keys;
	unsigned    keys_gen;                /* +1 on every keys reload    */
	int         self;                    /* topology index            */
	int         has_parent;
	ts_identity id;
	ts_store   *st;

	/* downlink */
	struct peer *peers;
	size_t      npeers, peers_cap;
	struct warnlim *warnlim;             /* per unit; downlink.c      */
	int         warn_held;               /* some warnlim has held > 0 */
	struct quota *quota;                 /* per unit; downlink.c      */
	int        *anchor;                  /* per unit, -1; downlink.c   */
	/* ACKs of lazily committed groups, sent once the store says their
	 * commit is durable (downlink.c, ts_store_write_ex) */
	struct held_ack *held_acks;
	size_t      nheld_acks, held_acks_cap;
	uint64_t    held_since;              /* mono ms of the oldest      */

	/* uplink */
	int         up_state;
	uint8_t     parent_curve[32];
	uint64_t    up_last_rx, up_last_tx, up_next_try, up_backoff;
	int         up_tx_failed;            /* last send hit EAGAIN      */
	uint64_t    up_cursor;               /* next outbox id to send     */
	/* outbox_gen counts the writes that may have appended to the
	 * outbox (the downlink's group commits, the rollup's emissions:
	 * the only two, both bump it, committed or not).  An outbox scan
	 * from up_empty_cursor found nothing at outbox_gen == up_empty_gen
	 * - 1 (0: no such scan): push_some skips its read txn until either
	 * moves, which is most timer ticks. */
	uint64_t    outbox_gen, up_empty_gen, up_empty_cursor;
	uint64_t    batch_next;
	struct inflight flight[NODE_WINDOW_MAX];
	size_t      nflight;
	uint64_t    up_retry_at;             /* mono ms; 0 = no pause      */
	/* outbox ids acknowledged stored/held, not yet deleted (uplink.c) */
	uint64_t   *acked;
	size_t      nacked, acked_cap;
	uint64_t    acked_first, acked_wall; /* mono ms of the oldest; wall */

	/* rollup debounce (mono ms; 0 = nothing dirty) */
	uint64_t    dirty_first, dirty_last;

	struct node_io io;
	volatile int stop;
	volatile int reload;
	ts_buf      tx;                      /* scratch for encoding      */
	struct counters cnt;
	/* ZAP denials are counted in memory (zap.c) and added to meta
	 * n_zap_denied by the next PUSH txn or a small periodic txn. */
	uint64_t    zap_flushed, zap_flush_at;
	/* zap.c's log rate limit */
	uint64_t    zap_log_window, zap_log_n, zap_log_held;
	char        zap_log_note[64];
	/* domain: the catalogue's !version, carried in every report ("" =
	 * no catalogue configured). */
	char        catalogue_id[TS_CAT_MAX + 1];
	/* rollup.c's scratch for one emit, per node (the simulator runs
	 * many nodes in one process). */
	struct rollup_scratch *rollup;
	uint64_t    next_reader_check;       /* mono ms; core.c            */

	/* Last: cfg's numbers sit next to the fields above and its 9 KiB
	 * of paths after them, so a tick touches few pages (the simulator
	 * runs 10,807 nodes in one process: cache and TLB misses were most
	 * of its time). */
	ts_config   cfg;
	char        confpath[TS_PATH_MAX];
};

static inline uint64_t node_wall(const struct node *n) { return n->io.wall_ms(n->io.ctx); }
static inline uint64_t node_mono(const struct node *n) { return n->io.mono_ms(n->io.ctx); }
static inline uint64_t node_random(const struct node *n) { return n->io.random(n->io.ctx); }

/* ---- entry points (events in) ---- */

/* core.c.  node_start: after cfg, topo, keys, id, st and io are set,
 * record the unit in the store, recover dirty periods and open the
 * uplink; -1 (logged) if the store belongs to another unit or cannot be
 * written.  node_stop: forget every in-memory thing (as a crash would;
 * the store is the caller's). */
int  node_start(struct node *n);
void node_stop(struct node *n);
/* Timers due at mono ms now: rollup debounce, uplink heartbeats and
 * reconnects, child sessions' expiry, overdue held ACKs, reader check. */
void node_tick(struct node *n, uint64_t now);
/* The next mono ms node_tick has something to do (at most now + 100). */
uint64_t node_next_timer(const struct node *n, uint64_t now);
/* Nothing else is ready: make held ACKs durable and send them, write a
 * little of the store file ahead (prealloc).  Returns 1 if it did work
 * that should be followed by another look at the sockets. */
int  node_idle(struct node *n);
/* Re-read the keys file (SIGHUP, CTL_RELOAD); the old keys stay on error. */
void node_reload_keys(struct node *n);

/* downlink.c: messages drained from the children's socket in one go, in
 * arrival order.  Consecutive PUSHes are judged and stored in ONE write
 * txn (group commit, lazy when lazy != 0); their ACKs go out only once
 * that commit is durable (held until then). */
void downlink_on_batch(struct node *n, const struct node_inmsg *m, size_t k,
                       int lazy);
/* uplink.c: one message from the parent. */
void uplink_on_msg(struct node *n, const uint8_t *p, size_t len);
/* zap.c: may this CURVE key connect?  Fills rep; 0 admitted, -1 refused. */
int  zap_decide(struct node *n, const struct zap_req *rq, struct zap_rep *rp);
/* control.c: one request from tierctl; the encoded answer goes to reply
 * (reset first).  frames > 1 is refused. */
void control_on_request(struct node *n, const uint8_t *p, size_t len,
                        int frames, ts_buf *reply);

/* ---- inside the core ---- */

/* core.c */
uint64_t node_deadline_ms(const struct node *n, const char *period, int child_level);
void node_meta_link(struct node *n, const char *state);
/* Add delta to the u64 counter `name` in meta (persisted counters read
 * by `tierctl metrics`, docs/STORE.md).  delta 0 writes nothing. */
int  node_meta_add(ts_txn *t, const char *name, uint64_t delta);
/* The CURVE key to reach the parent with: the newest valid line of the
 * parent's unit in the keys file (a rotation overlap lists several). */
const ts_key *node_parent_key(const struct node *n, uint64_t now_s);

/* uplink.c */
int  uplink_init(struct node *n);
void uplink_close(struct node *n);
void uplink_tick(struct node *n, uint64_t now);
void uplink_kick(struct node *n);        /* new outbox entries exist   */
uint64_t uplink_next_timer(const struct node *n, uint64_t now);
/* Delete the acknowledged outbox entries inside t (any write txn the
 * node makes); after that txn committed, call uplink_acks_done. */
int  uplink_acks_write(ts_txn *t, struct node *n);
void uplink_acks_done(struct node *n);
/* Cut-through before our commit (uplink.c): send envs, to be outbox ids
 * first.., now if they are next in line; returns how many were sent.
 * If the commit then fails: uplink_overlap_abort. */
size_t uplink_overlap_send(struct node *n, const ts_bytes *envs, uint64_t first,
                           size_t k);
void uplink_overlap_abort(struct node *n);

/* downlink.c */
void downlink_close(struct node *n);
void downlink_tick(struct node *n, uint64_t now);
/* ACKs held until their lazy group commit is durable: any waiting? */
int  downlink_acks_waiting(const struct node *n);
/* Held ACKs older than max_ms (mono) exist: sync now even if busy. */
int  downlink_acks_overdue(const struct node *n, uint64_t now, uint64_t max_ms);
/* Make the store durable now and send every held ACK. */
void downlink_acks_sync(struct node *n);

/* rollup.c */
void rollup_mark(struct node *n);        /* something became dirty     */
int  rollup_recover(struct node *n);     /* dirty periods left at start */
void rollup_tick(struct node *n, uint64_t now);
uint64_t rollup_next_timer(const struct node *n, uint64_t now);
void rollup_free(struct node *n);

/* control.c: apply a decoded CTL_PUT / CTL_REPLACE; why receives the outcome. */
int  control_apply(struct node *n, const ts_msg *m, char *why, size_t whylen);

#endif
