/*
 * tiersync node store: one LMDB environment per node (docs/STORE.md).
 *
 * One writer per environment: the daemon.  tierctl opens the same
 * environment read-only (TS_STORE_RDONLY) and needs no daemon.
 *
 * Named databases, the eleven store.c opens (keys are bytes; "\0"
 * separates string parts; integers in keys are big-endian so LMDB's order
 * is numeric; docs/STORE.md has the exact layouts):
 *   meta    name                      -> bytes   node identity, own seq/head,
 *                                                counters, outbox_next...
 *   own     period\0ind\0dis          -> num u64 BE, den u64 BE
 *   env     origin\0seq(BE64)         -> reference 00 id(BE64) into envlog
 *                                        (older stores: the envelope bytes)
 *   envlog  id(BE64), appended        -> envelope bytes (every one held)
 *   chain   origin                    -> ts_chain  (newest held of origin)
 *   latest  origin\0period            -> ts_latest (newest report/period)
 *   outbox  id(BE64)                  -> reference 00 origin\0seq(BE64) into
 *                                        env, or envelope bytes; waits for ACK
 *   dead    id(BE64)                  -> status u8, envelope (refused up)
 *   forks   origin\0seq(BE64)\0hash   -> envelope bytes (evidence)
 *   audit   time_ms(BE64) n(BE64)     -> text line
 *   dirty   period                    -> "" (own report must be re-made)
 * tests/test_docs.py checks that docs/STORE.md lists exactly these.
 *
 * Error codes: TS_ESTORE (an LMDB failure, logged with the LMDB text; or
 * a malformed record met in the store -- a truncated value, a reference
 * to a missing envelope -- never handed out half-parsed), TS_ENOSPC (disk
 * full, or map full beyond mapsize_max), TS_ENOTFOUND, TS_ENOMEM,
 * TS_EINVAL (bad arguments, writes through a read txn or a read-only
 * store, nested ts_store_write).  ts_store_mdb_err below is the map.
 *
 * Lifetimes: bytes handed out (ts_meta_get, ts_env_get, callbacks) point
 * into LMDB's map and are valid until the txn ends; strings given to
 * callbacks are valid during the callback.
 */
#ifndef TIERSYNC_STORE_H
#define TIERSYNC_STORE_H

#include "tiersync/common.h"
#include "tiersync/proto.h"

typedef struct ts_store ts_store;
typedef struct ts_txn   ts_txn;

/*
 * The one map from an LMDB return code (MDB_*, or the errno value LMDB
 * passes through) to a TS_E* code; the store and the commune register
 * (domain/register.c) both use it, so one condition always gets one code
 * (bench/tsbench.c's raw LMDB benchmark reports LMDB's own codes):
 *
 *   0                                    -> 0
 *   MDB_NOTFOUND; ENOENT (no such file)  -> TS_ENOTFOUND
 *   MDB_MAP_FULL (map at its size), MDB_TXN_FULL (too many dirty pages
 *     in one txn), ENOSPC, EDQUOT        -> TS_ENOSPC ("full": the caller
 *                                           may retry later, e.g. status
 *                                           retry to a child)
 *   ENOMEM                               -> TS_ENOMEM
 *   anything else -- MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC,
 *     MDB_VERSION_MISMATCH, MDB_INVALID (not an LMDB file),
 *     MDB_INCOMPATIBLE, MDB_KEYEXIST, MDB_DBS_FULL, MDB_READERS_FULL,
 *     MDB_TLS_FULL, MDB_CURSOR_FULL, MDB_PAGE_FULL, MDB_MAP_RESIZED,
 *     MDB_BAD_RSLOT, MDB_BAD_TXN, MDB_BAD_VALSIZE, MDB_BAD_DBI, EIO,
 *     EACCES, any other errno or unknown code  -> TS_ESTORE
 *   a TS_E* code                         -> itself
 *
 * There is no separate "corrupt" code: a damaged or foreign file, and a
 * malformed record the store finds, are TS_ESTORE.  The function only
 * maps (no logging, no state, any thread); log mdb_strerror(mdb_rc)
 * where it happened.  Never returns a positive value or an MDB_* code.
 * Inside ts_store_write the store itself reacts to MDB_MAP_FULL (grows
 * the map and runs fn again) before a TS_ENOSPC reaches the caller.
 */
int ts_store_mdb_err(int mdb_rc);

#define TS_STORE_RDONLY  0x1
/* Scratch store for the simulator ONLY (one process, one thread,
 * thousands of stores on tmpfs): no lock file (MDB_NOLOCK), writes
 * through the map (MDB_WRITEMAP: one file descriptor instead of two) and
 * no fsync (MDB_NOSYNC; the simulator's crashes are in-process, so a
 * committed txn is never lost to them).  Never for a real node: WRITEMAP
 * turns a full disk into SIGBUS, NOSYNC loses commits on power loss, and
 * tierctl could not read it concurrently. */
#define TS_STORE_NOLOCK  0x2

/* Open (creating unless RDONLY) the environment in directory dir
 * (created 0700 if missing).  mapsize is the initial map size in bytes
 * (0 = 64 MiB); the map doubles on MDB_MAP_FULL up to mapsize_max
 * (0 = 64 GiB).  Stale reader slots are cleared at open.  MDB_WRITEMAP
 * (a full disk would become SIGBUS) only with TS_STORE_NOLOCK, i.e. only
 * in the simulator; never for tiersyncd or tierctl.  Errors: TS_EINVAL
 * (flags, mapsize > mapsize_max), TS_ESYS (mkdir), TS_ENOTFOUND (RDONLY
 * and no store in dir), else as ts_store_mdb_err; *s is NULL on error. */
int  ts_store_open(ts_store **s, const char *dir, unsigned flags,
                   size_t mapsize, size_t mapsize_max);
void ts_store_close(ts_store **s);      /* sets *s = NULL; NULL ok      */

/*
 * Run fn in one write transaction and commit it durably.  If LMDB reports
 * MDB_MAP_FULL (from fn or commit), the txn is aborted, the map grown and
 * fn called again from scratch — so fn must derive everything from the
 * txn and its arg, and must not have side effects outside it that cannot
 * be repeated.  fn returns 0 to commit, non-zero to abort (returned as
 * is).  Returns 0 only after mdb_txn_commit succeeded.
 */
typedef int (*ts_write_fn)(ts_txn *t, void *arg);
int ts_store_write(ts_store *s, ts_write_fn fn, void *arg);

/*
 * As ts_store_write, and just before each mdb_txn_commit (after fn
 * returned 0) call overlap(oarg): work that may run while the commit is
 * still to come — the daemon hands freshly stored envelopes to its
 * parent there, so the commits of consecutive hops overlap instead of
 * adding up.  overlap must not touch the txn, and it may be called more
 * than once (a commit that found the map full is retried); whatever it
 * started must be undone by the caller if this returns non-zero (the
 * txn was then not committed).
 */
typedef void (*ts_overlap_fn)(void *oarg);
int ts_store_write_overlap(ts_store *s, ts_write_fn fn, void *arg,
    ts_overlap_fn overlap, void *oarg);

/*
 * As ts_store_write_overlap; with TS_WRITE_LAZY the commit flushes the
 * data pages but not the meta page (MDB_NOMETASYNC for this commit only):
 * the txn is visible and can never be half applied, but a system crash
 * may undo it until it is durable.  It becomes durable with the next
 * commit of any kind (its data flush covers the earlier meta page) or
 * ts_store_sync.  So: gen = ts_store_commits(s) after the write; say
 * nothing durable about it until ts_store_is_durable(s, gen).  Used for
 * the downlink's group commits: one flush on the hot path instead of two,
 * the second shared with the next group (docs/BENCHMARKS.md).
 */
#define TS_WRITE_LAZY 1u
int ts_store_write_ex(ts_store *s, ts_write_fn fn, void *arg,
    ts_overlap_fn overlap, void *oarg, unsigned wflags);
uint64_t ts_store_commits(const ts_store *s);     /* since open          */
int      ts_store_is_durable(const ts_store *s, uint64_t gen);
int      ts_store_sync(ts_store *s);              /* make all durable    */
/* Simulator only (a store opened TS_STORE_NOLOCK, which is NOSYNC):
 * close *s as a power cut would, losing the last commit if it was not
 * durable yet (a lazy commit not followed by another commit or a sync).
 * *s = NULL; *lost (if not NULL) = 1 if a commit was lost.  TS_EINVAL
 * for any other store, or inside a txn; TS_ESTORE if the file could not
 * be rewritten (logged); the store is closed in every case but
 * TS_EINVAL. */
int      ts_store_power_cut(ts_store **s, int *lost);
/* Simulator only (TS_STORE_NOLOCK stores): the next n write txns fail
 * at commit with TS_ESTORE, after their fn and overlap ran, as an I/O
 * error would; nothing of them is stored.  TS_EINVAL for other stores. */
int      ts_store_fail_commits(ts_store *s, unsigned n);

/* Read-only transaction (a reader slot).  Always end it. */
int  ts_store_read_begin(ts_store *s, ts_txn **t);
void ts_store_read_end(ts_txn **t);

/* Number of map growths, current map size: for status and tests. */
size_t ts_store_mapsize(const ts_store *s);

/* Clear the reader slots of dead processes (mdb_reader_check), as at
 * open; *cleared (may be NULL) = how many.  A long-running writer calls
 * it periodically: one dead reader's slot pins every page freed after
 * its snapshot, and data.mdb would grow with every write. */
int ts_store_reader_check(ts_store *s, int *cleared);

/*
 * Keep `slack` bytes of zeros written (and fdatasync'ed) past the last
 * page LMDB uses, never past the map: a commit that writes into blocks
 * the file already owns needs no filesystem journal commit in its
 * fdatasync (measured here: 0.17 ms instead of 0.30 ms per flush), and
 * LMDB cannot fail with ENOSPC inside them.  Writes at most `step`
 * bytes per call, so a caller on an event loop calls it when idle.
 * Sets *more to 1 if it is not there yet.  Never call it inside a
 * txn of this process.  No-op (0) on a read-only store, and while the
 * filesystem has less than 16 x slack free (the last blocks are left to
 * LMDB, so a full disk behaves exactly as without preallocation).
 * TS_ENOSPC if the disk filled meanwhile.
 */
int ts_store_prealloc(ts_store *s, size_t slack, size_t step, int *more);

/* ---- meta ---- */
int ts_meta_get(ts_txn *t, const char *name, ts_bytes *val); /* borrowed until txn ends */
int ts_meta_put(ts_txn *t, const char *name, const void *p, size_t n);
int ts_meta_get_u64(ts_txn *t, const char *name, uint64_t *v); /* ENOTFOUND -> *v=0, returns 0 */
int ts_meta_put_u64(ts_txn *t, const char *name, uint64_t v);

/* ---- own values ---- */
int ts_own_put(ts_txn *t, const char *period, const ts_value *v);
/* Delete all own values of (period, ind), every disaggregation. */
int ts_own_del(ts_txn *t, const char *period, const char *ind);
/* Fill r->values (heap) with the own values of period, canonical order. */
int ts_own_list(ts_txn *t, const char *period, ts_value **vals, size_t *n);

/* ---- envelopes ---- */
int ts_env_put(ts_txn *t, const char *origin, uint64_t seq,
               const uint8_t *env, size_t len);
int ts_env_get(ts_txn *t, const char *origin, uint64_t seq, ts_bytes *env);
/* Iterate an origin's envelopes by seq (origin == NULL: all origins).
 * cb returns non-zero to stop (value returned). */
typedef int (*ts_env_cb)(const char *origin, uint64_t seq,
                         const uint8_t *env, size_t len, void *arg);
int ts_env_each(ts_txn *t, const char *origin, ts_env_cb cb, void *arg);

/* ---- chain state ---- */
typedef struct ts_chain {
	uint64_t seq;                 /* newest held seq of the origin     */
	uint8_t  hash[TS_HASH_LEN];   /* its body hash                     */
	uint64_t recv_ms;             /* when it was stored here           */
} ts_chain;
int ts_chain_get(ts_txn *t, const char *origin, ts_chain *c);
int ts_chain_put(ts_txn *t, const char *origin, const ts_chain *c);
typedef int (*ts_chain_cb)(const char *origin, const ts_chain *c, void *arg);
int ts_chain_each(ts_txn *t, ts_chain_cb cb, void *arg);

/* ---- latest report per origin and period ---- */
typedef struct ts_latest {
	uint64_t seq;
	uint8_t  hash[TS_HASH_LEN];
	uint64_t first_ms;            /* first report of this period here  */
	uint64_t recv_ms;             /* this version received             */
} ts_latest;
int ts_latest_get(ts_txn *t, const char *origin, const char *period, ts_latest *l);
int ts_latest_put(ts_txn *t, const char *origin, const char *period, const ts_latest *l);
typedef int (*ts_latest_cb)(const char *origin, const char *period,
                            const ts_latest *l, void *arg);
/* All (origin, period) pairs; filter by period if period != NULL. */
int ts_latest_each(ts_txn *t, const char *period, ts_latest_cb cb, void *arg);

/* ---- outbox ---- */
int ts_outbox_append(ts_txn *t, const uint8_t *env, size_t len, uint64_t *id);
/* Queue the envelope held in `env` as (origin, seq) by reference: the
 * outbox keeps ~20 bytes instead of a second copy of the envelope (a
 * relaying node wrote every envelope twice).  TS_ENOTFOUND if env holds
 * no such envelope.  ts_outbox_each hands out the envelope bytes either
 * way. */
int ts_outbox_append_ref(ts_txn *t, const char *origin, uint64_t seq, uint64_t *id);
int ts_outbox_del(ts_txn *t, uint64_t id);
typedef int (*ts_outbox_cb)(uint64_t id, const uint8_t *env, size_t len, void *arg);
/* Entries with id >= from, ascending; references are resolved (an entry
 * whose envelope is missing from env, or a truncated reference, is
 * TS_ESTORE, logged). */
int ts_outbox_each(ts_txn *t, uint64_t from, ts_outbox_cb cb, void *arg);
int ts_outbox_count(ts_txn *t, uint64_t *n);

/* ---- dead letters, forks, audit, dirty ---- */
int ts_dead_put(ts_txn *t, uint64_t id, int status, const uint8_t *env, size_t len);
int ts_dead_count(ts_txn *t, uint64_t *n);
/* Keep a fork as evidence: the first conflicting envelope of (origin,
 * seq) whole, later ones as their body hash only (an empty value under
 * the key), and none past TS_FORK_HASHES_MAX per (origin, seq) -- the
 * caller counts every fork in meta either way.  0 or a store error. */
#define TS_FORK_HASHES_MAX 64
int ts_fork_put(ts_txn *t, const char *origin, uint64_t seq,
                const uint8_t hash[TS_HASH_LEN], const uint8_t *env, size_t len);
int ts_fork_count(ts_txn *t, uint64_t *n);
/* An audit line stamped time_ms (ms since the epoch, from the caller's
 * clock: the node's is virtual in the simulator). */
int ts_audit_put(ts_txn *t, uint64_t time_ms, const char *line);
typedef int (*ts_audit_cb)(uint64_t time_ms, const char *line, size_t len, void *arg);
int ts_audit_each(ts_txn *t, ts_audit_cb cb, void *arg);
int ts_dirty_set(ts_txn *t, const char *period);
int ts_dirty_clear(ts_txn *t, const char *period);
typedef int (*ts_dirty_cb)(const char *period, void *arg);
int ts_dirty_each(ts_txn *t, ts_dirty_cb cb, void *arg);

#endif
