/*
 * The verifier: what anyone holding a node's store can check without
 * trusting the node (DESIGN invariant 5).  One implementation, used by
 * `tierctl verify` and `tierctl log`, the simulator's final checks and
 * the downlink's chain rule:
 *   - every envelope decodes, links into its origin's hash chain (seq 1,
 *     2, ...; prev = hash of the body before), and is authentic by the
 *     ingest's rule: its own signature verifies with a key of its
 *     origin, or a later authentic envelope of the origin chains to it;
 *   - the chain record names the newest envelope held;
 *   - every rollup equals the sum of the child reports its provenance
 *     names (exactly for this node's own newest reports, whose own
 *     values are here; at least the children's sum for other origins),
 *     each child named once, each a direct child of the origin.
 * Findings are reported one by one through a callback; nothing here
 * prints or allocates beyond the walk.
 */
#ifndef TIERSYNC_VERIFY_H
#define TIERSYNC_VERIFY_H

#include "tiersync/common.h"
#include "tiersync/proto.h"
#include "tiersync/store.h"
#include "tiersync/topology.h"

/* ---- one origin's chain, walked by seq ---- */

typedef struct ts_chain_walk {
	uint64_t last_seq;              /* 0: nothing seen yet             */
	uint8_t  last_hash[TS_HASH_LEN];
	int      have_hash;             /* last_hash is that of last_seq   */
} ts_chain_walk;

/* Where an envelope (seq, prev) stands against the chain that ends at
 * (held_seq, held_hash) (held_seq 0 = nothing held, hash all zero):
 *   TS_CHAIN_NEXT  seq = held_seq + 1 and prev = held_hash: it extends it
 *   TS_CHAIN_OLD   seq <= held_seq: a duplicate, or a fork (compare bodies)
 *   TS_CHAIN_GAP   seq > held_seq + 1: something is missing before it
 *   TS_CHAIN_PREV  seq = held_seq + 1 but prev is not held_hash
 * The downlink applies this to every envelope before storing it. */
enum { TS_CHAIN_NEXT = 0, TS_CHAIN_OLD, TS_CHAIN_GAP, TS_CHAIN_PREV };
int ts_chain_place(uint64_t held_seq, const uint8_t held_hash[TS_HASH_LEN],
                   uint64_t seq, const uint8_t prev[TS_HASH_LEN]);

/* Check one envelope's place in its origin's chain while walking it by
 * seq (stored under seq, body r, body hash).  NULL if it links, else a
 * short word for what is wrong ("key", "gap", "prev") with the detail
 * in why.  The walk moves on to this envelope either way. */
const char *ts_chain_walk_step(ts_chain_walk *k, uint64_t seq,
                               const ts_report *r,
                               const uint8_t hash[TS_HASH_LEN],
                               char *why, size_t whylen);

/* Does one of origin's keys valid at at_s (the report's creation time,
 * so history stays verifiable after a rotation retired a key) verify
 * the envelope?  1 yes, 0 no, -1 the keys list no key of origin at all
 * (keys NULL: -1). */
int ts_verify_sig(const ts_keys *keys, const char *origin,
                  const ts_env_view *v, uint64_t at_s);

/* Read envelope (origin, seq) from t and decode its report into *r
 * (free with ts_report_clear; it borrows nothing from t); *v points into
 * t until the txn ends; hash (may be NULL) gets the body hash.
 * TS_ENOTFOUND, a decode error or a store error. */
int ts_env_load(ts_txn *t, const char *origin, uint64_t seq, ts_report *r,
                ts_env_view *v, uint8_t hash[TS_HASH_LEN]);

/* ---- a whole store ---- */

/* One finding: origin, seq, period ("" if none), what is wrong. */
typedef void (*ts_verify_finding_fn)(void *arg, const char *origin,
                                     uint64_t seq, const char *period,
                                     const char *what);

typedef struct ts_verify_opts {
	const ts_keys *keys;          /* required                         */
	const ts_topo *topo;          /* NULL: provenance not checked against the tree */
	const char    *self;          /* this store's unit code           */
	int            all;           /* also superseded reports' rollups */
	ts_verify_finding_fn finding; /* required                         */
	void          *arg;
	/* Progress (may be NULL): a phase starts (total 0 = unknown), one
	 * more item of it is done, it ends. */
	void (*phase)(void *arg, const char *what, uint64_t total);
	void (*step)(void *arg);
	void (*phase_end)(void *arg);
} ts_verify_opts;

typedef struct ts_verify_stats {
	uint64_t envelopes, origins, rollups, failures;
	/* authentic through the hash chain only: their own signature does
	 * not verify (altered in transit or on disk) but a later validly
	 * signed envelope of the origin commits to their body */
	uint64_t chained_only;
} ts_verify_stats;

/* Verify everything the store holds, in read txn t.  0 when the walk
 * completed (findings, if any, are in st->failures and were reported),
 * else the store error that stopped it (err says where). */
int ts_verify_store(ts_txn *t, const ts_verify_opts *o, ts_verify_stats *st,
                    char *err, size_t errlen);

#endif
