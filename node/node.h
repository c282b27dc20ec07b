/*
 * tiersyncd internals.  One struct node holds the whole state of a
 * running node; each concern lives in its own file:
 *   daemon.c   poll loop, timers, signals       (daemon_*)
 *   uplink.c   DEALER to the parent             (uplink_*)
 *   downlink.c ROUTER for the children          (downlink_*)
 *   zap.c      ZAP handler for CURVE keys       (zap_*)
 *   rollup.c   own report = own + children      (rollup_*)
 *   control.c  tierctl requests                 (control_*)
 * Everything runs on one thread: the store has one writer, and LMDB
 * txns never cross a poll iteration.
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
 * clocks (daemon.c, uplink.c, downlink.c); the simulator (tests/sim.c)
 * plugs in a seeded fake network and a virtual clock, and drives the
 * same logic through uplink_on_msg / downlink_on_msg / *_tick.
 */
struct node;
struct node_io {
	void     *ctx;
	uint64_t (*wall_ms)(void *ctx);         /* ms since the epoch        */
	uint64_t (*mono_ms)(void *ctx);         /* monotonic ms              */
	int      (*up_open)(struct node *n);    /* connect to the parent     */
	void     (*up_close)(struct node *n);   /* drop that connection      */
	/* 0 = handed to the transport, -1 = not sent (link not up) */
	int      (*up_send)(struct node *n, const uint8_t *p, size_t len);
	void     (*down_send)(struct node *n, const void *rid, size_t rid_len,
	                      const uint8_t *p, size_t len);
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
	ts_config   cfg;
	char        confpath[TS_PATH_MAX];
	ts_topo    *topo;
	ts_keys    *keys;
	unsigned    keys_gen;                /* +1 on every keys reload    */
	int         self;                    /* topology index            */
	int         has_parent;
	ts_identity id;
	ts_store   *st;
	void       *zctx;

	/* downlink */
	void       *router;
	void       *zap;
	struct peer *peers;
	size_t      npeers, peers_cap;
	int        *anchor;                  /* per unit, -1; downlink.c   */
	/* ACKs of lazily committed groups, sent once the store says their
	 * commit is durable (downlink.c, ts_store_write_ex) */
	struct held_ack *held_acks;
	size_t      nheld_acks, held_acks_cap;
	uint64_t    held_since;              /* mono ms of the oldest      */

	/* uplink */
	void       *dealer;
	int         up_state;
	uint8_t     parent_curve[32];
	uint64_t    up_last_rx, up_last_tx, up_next_try, up_backoff;
	int         up_tx_failed;            /* last send hit EAGAIN      */
	uint64_t    up_cursor;               /* next outbox id to send     */
	uint64_t    batch_next;
	struct inflight flight[NODE_WINDOW_MAX];
	size_t      nflight;
	uint64_t    up_retry_at;             /* mono ms; 0 = no pause      */
	/* outbox ids acknowledged stored/held, not yet deleted (uplink.c) */
	uint64_t   *acked;
	size_t      nacked, acked_cap;
	uint64_t    acked_first, acked_wall; /* mono ms of the oldest; wall */

	/* control */
	void       *ctl;
	char        ctl_path[TS_PATH_MAX + 32];

	/* rollup debounce (mono ms; 0 = nothing dirty) */
	uint64_t    dirty_first, dirty_last;

	int         checkonly;
	struct node_io io;
	volatile int stop;
	volatile int reload;
	ts_buf      tx;                      /* scratch for encoding      */
	struct counters cnt;
	/* ZAP denials are counted in memory (zap.c) and added to meta
	 * n_zap_denied by the next PUSH txn or a small periodic txn. */
	uint64_t    zap_flushed, zap_flush_at;
	/* domain: the catalogue's !version, carried in every report ("" =
	 * no catalogue configured); tests only: frames sent, plaintext. */
	char        catalogue_id[TS_CAT_MAX + 1];
	void       *wire_dump;               /* FILE *, NULL = off         */
};

static inline uint64_t node_wall(const struct node *n) { return n->io.wall_ms(n->io.ctx); }
static inline uint64_t node_mono(const struct node *n) { return n->io.mono_ms(n->io.ctx); }

/* daemon.c */
void node_io_zmq(struct node *n);        /* the real transport + clocks */
int  node_store_ident(struct node *n);   /* record unit/topology in meta */
void node_wire_dump(struct node *n, const uint8_t *p, size_t len); /* tests */
int  daemon_run(struct node *n);
uint64_t node_deadline_ms(const struct node *n, const char *period, int child_level);
void node_meta_link(struct node *n, const char *state);
/* Add delta to the u64 counter `name` in meta (persisted counters read
 * by `tierctl metrics`, docs/STORE.md).  delta 0 writes nothing. */
int  node_meta_add(ts_txn *t, const char *name, uint64_t delta);

/* uplink.c */
int  uplink_init(struct node *n);
void uplink_close(struct node *n);
void uplink_on_readable(struct node *n);
void uplink_tick(struct node *n, uint64_t now);
void uplink_kick(struct node *n);        /* new outbox entries exist   */
void uplink_on_msg(struct node *n, const uint8_t *p, size_t len);
int  uplink_zmq_open(struct node *n);
void uplink_zmq_close(struct node *n);
int  uplink_zmq_send(struct node *n, const uint8_t *p, size_t len);
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
int  downlink_init(struct node *n);
void downlink_close(struct node *n);
void downlink_on_readable(struct node *n);
void downlink_tick(struct node *n, uint64_t now);
/* One message from an authenticated child (sender = topology index). */
void downlink_on_msg(struct node *n, const void *rid, size_t rid_len,
                     int sender, const uint8_t *p, size_t len);
void downlink_zmq_send(struct node *n, const void *rid, size_t rid_len,
                       const uint8_t *p, size_t len);
/* ACKs held until their lazy group commit is durable: any waiting? Make
 * the store durable now and send them (the daemon calls this when idle). */
int  downlink_acks_waiting(const struct node *n);
/* Held ACKs older than max_ms (mono) exist: sync now even if busy. */
int  downlink_acks_overdue(const struct node *n, uint64_t now, uint64_t max_ms);
void downlink_acks_sync(struct node *n);

/* zap.c */
int  zap_init(struct node *n);
void zap_close(struct node *n);
void zap_on_readable(struct node *n);

/* rollup.c */
void rollup_mark(struct node *n);        /* something became dirty     */
int  rollup_recover(struct node *n);     /* dirty periods left at start */
void rollup_tick(struct node *n, uint64_t now);
uint64_t rollup_next_timer(const struct node *n, uint64_t now);

/* control.c */
int  control_init(struct node *n);
void control_close(struct node *n);
void control_on_readable(struct node *n);
/* Apply a decoded CTL_PUT / CTL_REPLACE; why receives the outcome. */
int  control_apply(struct node *n, const ts_msg *m, char *why, size_t whylen);

#endif
