/*
 * tiersync node store: one LMDB environment per node.
 * Contract: include/tiersync/store.h; layouts and operations: docs/STORE.md.
 *
 * Rules this file keeps:
 *  - every mdb_* return value is checked and goes through store_err(),
 *    which logs it and turns it into a TS_* code with ts_store_mdb_err(),
 *    the one map from LMDB/errno codes to TS_* codes;
 *  - MDB_MAP_FULL never reaches callers of ts_store_write: the txn is
 *    aborted, the map doubled and the write function run again;
 *  - no MDB_WRITEMAP (a full disk would become SIGBUS instead of ENOSPC)
 *    except for the simulator's TS_STORE_NOLOCK scratch stores;
 *    MDB_NOTLS (reader slots belong to txns, not to threads);
 *  - values handed out as ts_bytes point into the map and die with the txn.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiersync/common.h"
#include "tiersync/log.h"
#include "tiersync/store.h"

enum {
	DB_META, DB_OWN, DB_ENV, DB_CHAIN, DB_LATEST,
	DB_OUTBOX, DB_DEAD, DB_FORKS, DB_AUDIT, DB_DIRTY, DB_ENVLOG,
	DB_N
};

static const char *const db_names[DB_N] = {
	"meta", "own", "env", "chain", "latest",
	"outbox", "dead", "forks", "audit", "dirty", "envlog"
};

#define MAPSIZE_DEFAULT		((size_t)64 << 20)
#if SIZE_MAX > 0xffffffffu
#define MAPSIZE_MAX_DEFAULT	((size_t)64 << 30)
#else
#define MAPSIZE_MAX_DEFAULT	((size_t)1 << 31)	/* 32-bit address space */
#endif

/* Fixed value layouts (docs/STORE.md). */
#define CHAIN_VAL_LEN	(8 + TS_HASH_LEN + 8)		/* seq hash recv_ms */
#define LATEST_VAL_LEN	(8 + TS_HASH_LEN + 8 + 8)	/* seq hash first recv */
#define OWN_VAL_LEN	(8 + 8)				/* num den */

/* Longest key we build: forks origin\0seq\0hash; own period\0ind\0dis. */
#define KEY_MAX		(TS_PERIOD_MAX + 1 + TS_IND_MAX + 1 + TS_DIS_MAX)

struct ts_store {
	MDB_env		*env;
	MDB_dbi		 dbi[DB_N];
	int		 have[DB_N];	/* 0: DB absent (read-only, new store) */
	int		 rdonly;
	int		 in_write;	/* inside ts_store_write's fn */
	unsigned	 nread;		/* read txns open in this process */
	size_t		 mapsize_max;
	size_t		 pagesize;
	int		 prealloc_on;	/* refilling the slack (ts_store_prealloc) */
	int		 nosync;	/* opened MDB_NOSYNC: durability is not ours */
	uint64_t	 commits;	/* write txns committed since open */
	uint64_t	 durable;	/* ... of which known to be on disk */
	unsigned	 fail_commits;	/* simulator: commits still to fail */
};

struct ts_txn {
	ts_store	*s;
	MDB_txn		*txn;
	int		 rdonly;
	int		 map_full;	/* an mdb_* call said MDB_MAP_FULL */
	int		 last_mdb;	/* last LMDB error seen in this txn */
	uint64_t	 envlog_next;	/* next envlog id; 0: not read yet */
};

/* ---- error mapping -------------------------------------------------- */

/*
 * The one map from LMDB/errno codes to TS_* codes (store.h says which
 * goes where), for the store and the register (domain/register.c).
 * Pure: the callers log.
 */
int
ts_store_mdb_err(int rc)
{
	if (rc == 0 || TS_IS_ERR(rc))
		return rc;
	switch (rc) {
	case MDB_NOTFOUND:
	case ENOENT:
		return TS_ENOTFOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case ENOSPC:
	case EDQUOT:
		return TS_ENOSPC;
	case ENOMEM:
		return TS_ENOMEM;
	default:
		return TS_ESTORE;
	}
}

/*
 * The store's use of ts_store_mdb_err (as knot-resolver's cdb_lmdb.c
 * lmdb_error()): logs, and remembers the code in the txn.  t may be NULL
 * (environment-level calls).  MAP_FULL is remembered in the txn so that
 * ts_store_write can tell a full map (grow and retry) from a real
 * failure, whatever fn returns.  TXN_FULL is full too, but a bigger map
 * would not help a txn with too many dirty pages: no retry, TS_ENOSPC.
 */
static int
store_err(ts_txn *t, const char *op, int rc)
{
	int ts = ts_store_mdb_err(rc);

	if (rc == 0)
		return 0;
	if (t != NULL)
		t->last_mdb = rc;
	if (rc == MDB_MAP_FULL) {
		if (t != NULL)
			t->map_full = 1;
		log_debug("store: %s: map full", op);
	} else if (rc != MDB_NOTFOUND)
		log_warnx("store: %s: %s", op, mdb_strerror(rc));
	return ts;
}

/* ---- encoding helpers ----------------------------------------------- */

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Length of a NUL-terminated name of 1..max bytes, or 0 if invalid.
 * Keys hold names verbatim, so bounding them here bounds every key. */
static size_t
name_len(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	return n > max ? 0 : n;
}

/* Copy a key part of n bytes into a C string of capacity cap. */
static int
copy_part(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n == 0 || n >= cap || memchr(src, '\0', n) != NULL)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int
corrupt(const char *what)
{
	log_warnx("store: %s: malformed record", what);
	return TS_ESTORE;
}

/* ---- generic get/put ------------------------------------------------ */

static int
db_ok(ts_txn *t, int db)
{
	return t != NULL && t->txn != NULL && t->s->have[db];
}

static int
db_get(ts_txn *t, int db, const void *k, size_t klen, MDB_val *v,
    const char *op)
{
	MDB_val key;

	if (t == NULL || t->txn == NULL)
		return TS_EINVAL;
	if (!t->s->have[db])
		return TS_ENOTFOUND;
	key.mv_data = (void *)(uintptr_t)k;
	key.mv_size = klen;
	return store_err(t, op, mdb_get(t->txn, t->s->dbi[db], &key, v));
}

static int
db_put(ts_txn *t, int db, const void *k, size_t klen, const void *p,
    size_t n, unsigned flags, const char *op)
{
	MDB_val key, val;

	if (t == NULL || t->txn == NULL)
		return TS_EINVAL;
	if (t->rdonly) {
		log_warnx("store: %s: write in a read-only txn", op);
		return TS_EINVAL;
	}
	if (p == NULL && n != 0)
		return TS_EINVAL;
	key.mv_data = (void *)(uintptr_t)k;
	key.mv_size = klen;
	val.mv_data = (void *)(uintptr_t)(p != NULL ? p : "");
	val.mv_size = n;
	return store_err(t, op,
	    mdb_put(t->txn, t->s->dbi[db], &key, &val, flags));
}

static int
db_del(ts_txn *t, int db, const void *k, size_t klen, const char *op)
{
	MDB_val key;

	if (t == NULL || t->txn == NULL)
		return TS_EINVAL;
	if (t->rdonly) {
		log_warnx("store: %s: write in a read-only txn", op);
		return TS_EINVAL;
	}
	key.mv_data = (void *)(uintptr_t)k;
	key.mv_size = klen;
	return store_err(t, op, mdb_del(t->txn, t->s->dbi[db], &key, NULL));
}

static int
db_count(ts_txn *t, int db, uint64_t *n, const char *op)
{
	MDB_stat st;
	int rc;

	if (n == NULL || t == NULL || t->txn == NULL)
		return TS_EINVAL;
	*n = 0;
	if (!t->s->have[db])
		return 0;
	if ((rc = mdb_stat(t->txn, t->s->dbi[db], &st)) != 0)
		return store_err(t, op, rc);
	*n = st.ms_entries;
	return 0;
}

/*
 * Walk the keys of db that start with prefix (plen may be 0), ascending.
 * fn returns non-zero to stop; that value is returned.  The cursor is
 * always closed, whatever happens.
 */
typedef int (*walk_fn)(const MDB_val *k, const MDB_val *v, void *arg);

static int
db_walk(ts_txn *t, int db, const void *prefix, size_t plen, walk_fn fn,
    void *arg, const char *op)
{
	MDB_cursor *c;
	MDB_val k, v;
	MDB_cursor_op cop;
	int rc, mrc;

	if (t == NULL || t->txn == NULL)
		return TS_EINVAL;
	if (!t->s->have[db])
		return 0;
	if ((mrc = mdb_cursor_open(t->txn, t->s->dbi[db], &c)) != 0)
		return store_err(t, op, mrc);
	k.mv_data = (void *)(uintptr_t)prefix;
	k.mv_size = plen;
	cop = plen > 0 ? MDB_SET_RANGE : MDB_FIRST;
	rc = 0;
	for (;;) {
		mrc = mdb_cursor_get(c, &k, &v, cop);
		cop = MDB_NEXT;
		if (mrc == MDB_NOTFOUND)
			break;
		if (mrc != 0) {
			rc = store_err(t, op, mrc);
			break;
		}
		if (plen > 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if ((rc = fn(&k, &v, arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc;
}

/* ---- environment ---------------------------------------------------- */

/* Open (creating when read-write) every named DB in txn.  Read-only: a DB
 * a brand-new or older store lacks is marked absent, and reads of it
 * behave as empty, rather than failing the whole open. */
static int
open_dbis(ts_store *s, ts_txn *t)
{
	int i, rc;

	for (i = 0; i < DB_N; i++) {
		rc = mdb_dbi_open(t->txn, db_names[i],
		    s->rdonly ? 0 : MDB_CREATE, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && s->rdonly) {
			s->have[i] = 0;
			continue;
		}
		if (rc != 0)
			return store_err(t, db_names[i], rc);
		s->have[i] = 1;
	}
	return 0;
}

static int
open_dbis_fn(ts_txn *t, void *arg)
{
	(void)arg;
	return open_dbis(t->s, t);
}

static size_t
round_page(size_t n, size_t page)
{
	if (n % page == 0)
		return n;
	if (n > SIZE_MAX - page)
		return n - n % page;
	return n + (page - n % page);
}

/*
 * Begin a txn.  If another process grew the map beyond ours, LMDB says
 * MDB_MAP_RESIZED: adopt the size recorded in the file (size 0) and try
 * once more.  Remapping is only safe with no txn of ours open, since it
 * moves every pointer into the map.
 */
static int
txn_begin(ts_store *s, unsigned flags, MDB_txn **txn)
{
	int rc;

	rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		if (s->nread > 0 || s->in_write) {
			log_warnx("store: map resized by another process "
			    "while %u read txn(s) are open here", s->nread);
			return TS_ESTORE;
		}
		if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0)
			return store_err(NULL, "mdb_env_set_mapsize", rc);
		log_debug("store: adopted map size grown by another process");
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return store_err(NULL, "mdb_txn_begin", rc);
}

int
ts_store_open(ts_store **sp, const char *dir, unsigned flags,
    size_t mapsize, size_t mapsize_max)
{
	ts_store *s;
	unsigned envflags;
	long pg;
	int rc, dead = 0;

	if (sp == NULL)
		return TS_EINVAL;
	*sp = NULL;
	if (dir == NULL || *dir == '\0' || (flags & ~(TS_STORE_RDONLY | TS_STORE_NOLOCK)) != 0)
		return TS_EINVAL;
	if (mapsize == 0)
		mapsize = MAPSIZE_DEFAULT;
	if (mapsize_max == 0)
		mapsize_max = MAPSIZE_MAX_DEFAULT;
	if (mapsize_max < mapsize) {
		log_warnx("store: %s: mapsize %zu above mapsize_max %zu",
		    dir, mapsize, mapsize_max);
		return TS_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TS_ENOMEM;
	s->rdonly = (flags & TS_STORE_RDONLY) != 0;
	pg = sysconf(_SC_PAGESIZE);
	s->pagesize = pg > 0 ? (size_t)pg : 4096;
	/* Whole pages only, so every growth step moves by at least one. */
	mapsize = round_page(mapsize, s->pagesize);
	s->mapsize_max = mapsize_max - mapsize_max % s->pagesize;
	if (s->mapsize_max < mapsize)
		s->mapsize_max = mapsize;

	if (!s->rdonly && mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("store: mkdir %s", dir);
		free(s);
		return TS_ESYS;
	}

	if ((rc = mdb_env_create(&s->env)) != 0) {
		free(s);
		return store_err(NULL, "mdb_env_create", rc);
	}
	if ((rc = mdb_env_set_maxdbs(s->env, DB_N)) != 0) {
		rc = store_err(NULL, "mdb_env_set_maxdbs", rc);
		goto fail;
	}
	/* A reader adopts the writer's size from the file after open. */
	if (!s->rdonly &&
	    (rc = mdb_env_set_mapsize(s->env, mapsize)) != 0) {
		rc = store_err(NULL, "mdb_env_set_mapsize", rc);
		goto fail;
	}
	envflags = MDB_NOTLS | (s->rdonly ? MDB_RDONLY : 0) |
	    ((flags & TS_STORE_NOLOCK) ?
	    MDB_NOLOCK | MDB_WRITEMAP | MDB_NOSYNC : 0);
	s->nosync = (flags & TS_STORE_NOLOCK) != 0;
	if ((rc = mdb_env_open(s->env, dir, envflags, 0600)) != 0) {
		if (s->rdonly && rc == ENOENT) {
			/* tierctl pointed at a node with no store yet. */
			log_warnx("store: %s: no store there", dir);
			rc = TS_ENOTFOUND;
		} else {
			log_warnx("store: open %s: %s", dir, mdb_strerror(rc));
			rc = ts_store_mdb_err(rc);
		}
		goto fail;
	}

	/*
	 * Slots of readers that died inside a txn (tierctl killed -9) pin
	 * old pages forever: the file would only grow.  Clear them now.
	 */
	if (!(flags & TS_STORE_NOLOCK) &&
	    (rc = mdb_reader_check(s->env, &dead)) != 0) {
		rc = store_err(NULL, "mdb_reader_check", rc);
		goto fail;
	}
	/* Info only when it happened: tierctl opens the store every run. */
	if (dead > 0)
		log_info("store: %s: cleared %d stale reader slot(s)", dir,
		    dead);
	else
		log_debug("store: %s: no stale reader slots", dir);

	/*
	 * Start from the size recorded in the file (what the last writer
	 * grew it to): a reader must map at least that much, and a restarted
	 * writer configured smaller would otherwise shrink the map to the
	 * bytes in use and pay a MAP_FULL retry on its first write.
	 */
	if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0) {
		rc = store_err(NULL, "mdb_env_set_mapsize", rc);
		goto fail;
	}
	if (!s->rdonly) {
		size_t rec = ts_store_mapsize(s), want = mapsize;

		if (rec > want)
			want = rec < s->mapsize_max ? rec : s->mapsize_max;
		if (want != rec &&
		    (rc = mdb_env_set_mapsize(s->env, want)) != 0) {
			rc = store_err(NULL, "mdb_env_set_mapsize", rc);
			goto fail;
		}
	}

	if (s->rdonly) {
		ts_txn t = { .s = s, .rdonly = 1 };

		if ((rc = txn_begin(s, MDB_RDONLY, &t.txn)) != 0)
			goto fail;
		if ((rc = open_dbis(s, &t)) != 0) {
			mdb_txn_abort(t.txn);
			goto fail;
		}
		/* Committing (not aborting) keeps the DBI handles. */
		if ((rc = mdb_txn_commit(t.txn)) != 0) {
			rc = store_err(NULL, "mdb_txn_commit", rc);
			goto fail;
		}
	} else if ((rc = ts_store_write(s, open_dbis_fn, NULL)) != 0)
		goto fail;

	*sp = s;
	return 0;
fail:
	mdb_env_close(s->env);
	free(s);
	return rc;
}

void
ts_store_close(ts_store **sp)
{
	ts_store *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	if (s->nread > 0)
		log_warnx("store: closing with %u read txn(s) open", s->nread);
	/* mdb_env_close closes the DBI handles too. */
	mdb_env_close(s->env);
	free(s);
	*sp = NULL;
}

size_t
ts_store_mapsize(const ts_store *s)
{
	MDB_envinfo info;

	if (s == NULL || mdb_env_info(s->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

int
ts_store_reader_check(ts_store *s, int *cleared)
{
	int dead = 0, rc;

	if (cleared != NULL)
		*cleared = 0;
	if (s == NULL)
		return TS_EINVAL;
	if ((rc = mdb_reader_check(s->env, &dead)) != 0)
		return store_err(NULL, "mdb_reader_check", rc);
	if (dead > 0) {
		const char *path = NULL;
		(void)mdb_env_get_path(s->env, &path);
		log_info("store: %s: cleared %d stale reader slot(s)",
		    path != NULL ? path : "?", dead);
	}
	if (cleared != NULL)
		*cleared = dead;
	return 0;
}

/* ts_store_prealloc works only while the filesystem has at least this
 * many times the slack free. */
#define PREALLOC_MIN_FREE_X	16

int
ts_store_prealloc(ts_store *s, size_t slack, size_t step, int *more)
{
	static const uint8_t zeros[65536];
	MDB_envinfo info;
	MDB_stat st;
	struct stat fst;
	mdb_filehandle_t fd;
	uint64_t used, want, at, end;
	int rc;

	if (more != NULL)
		*more = 0;
	if (s == NULL)
		return TS_EINVAL;
	if (s->rdonly || slack == 0 || step == 0)
		return 0;
	if (s->in_write) {
		log_warnx("store: prealloc inside a write txn");
		return TS_EINVAL;
	}
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		return store_err(NULL, "mdb_env_info", rc);
	if ((rc = mdb_env_stat(s->env, &st)) != 0)
		return store_err(NULL, "mdb_env_stat", rc);
	if ((rc = mdb_env_get_fd(s->env, &fd)) != 0)
		return store_err(NULL, "mdb_env_get_fd", rc);
	if (fstat(fd, &fst) == -1) {
		log_warn("store: fstat");
		return TS_ESYS;
	}
	used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	want = used + slack;
	if (want > info.me_mapsize)
		want = info.me_mapsize;
	/* Start refilling only when half the slack is gone, then fill it
	 * all: one journal commit per step of growth, not one per txn. */
	if ((uint64_t)fst.st_size >= want) {
		s->prealloc_on = 0;
		return 0;
	}
	if (!s->prealloc_on && (uint64_t)fst.st_size >= used + slack / 2)
		return 0;
	/* Near a full disk, leave what is left to LMDB: grabbing the last
	 * blocks here would only make "disk full" come and go unpredictably. */
	{
		const char *path = NULL;
		struct statvfs sv;
		if (mdb_env_get_path(s->env, &path) != 0 || path == NULL ||
		    statvfs(path, &sv) == -1 ||
		    (uint64_t)sv.f_bavail * sv.f_frsize < (uint64_t)PREALLOC_MIN_FREE_X * slack) {
			s->prealloc_on = 0;
			return 0;
		}
	}
	s->prealloc_on = 1;
	at = (uint64_t)fst.st_size;
	end = at + step < want ? at + step : want;
	while (at < end) {
		size_t n = end - at < sizeof(zeros) ? (size_t)(end - at) : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)at);
		if (w < 0) {
			if (errno == ENOSPC || errno == EDQUOT)
				return TS_ENOSPC;
			log_warn("store: prealloc pwrite");
			return TS_ESYS;
		}
		at += (uint64_t)w;
	}
	if (fdatasync(fd) == -1) {
		if (errno == ENOSPC || errno == EDQUOT)
			return TS_ENOSPC;
		log_warn("store: prealloc fdatasync");
		return TS_ESYS;
	}
	if (end >= want)
		s->prealloc_on = 0;
	if (more != NULL)
		*more = end < want;
	return 0;
}

/*
 * A commit whose page write came back short returns EIO from LMDB (it
 * cannot tell a short pwrite from a disk error).  On a filesystem with
 * (almost) no space left that is a full disk: report TS_ENOSPC, so
 * children get "retry" and tierctl "disk or map full", not "store error".
 * The txn is rolled back either way (the meta page is written last).
 */
static int
fs_full(ts_store *s)
{
	const char *path = NULL;
	struct statvfs sv;

	if (mdb_env_get_path(s->env, &path) != 0 || path == NULL ||
	    statvfs(path, &sv) == -1)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize < ((uint64_t)1 << 20);
}

/* Double the map (up to mapsize_max).  No txn of ours may be open. */
static int
grow_map(ts_store *s)
{
	size_t cur, next;
	int rc;

	if ((cur = ts_store_mapsize(s)) == 0)
		return TS_ESTORE;
	if (cur >= s->mapsize_max) {
		log_warnx("store: map full at mapsize_max %zu bytes",
		    s->mapsize_max);
		return TS_ENOSPC;
	}
	if (s->nread > 0) {
		/* Remapping would pull the map from under those readers. */
		log_warnx("store: map full, cannot grow with %u read txn(s) "
		    "open in this process", s->nread);
		return TS_ESTORE;
	}
	next = cur > s->mapsize_max / 2 ? s->mapsize_max : cur * 2;
	next = next - next % s->pagesize;
	if (next <= cur)
		return TS_ENOSPC;
	if ((rc = mdb_env_set_mapsize(s->env, next)) != 0)
		return store_err(NULL, "mdb_env_set_mapsize", rc);
	log_info("store: map grown from %zu to %zu bytes", cur,
	    ts_store_mapsize(s));
	return 0;
}

int
ts_store_write(ts_store *s, ts_write_fn fn, void *arg)
{
	return ts_store_write_overlap(s, fn, arg, NULL, NULL);
}

int
ts_store_write_overlap(ts_store *s, ts_write_fn fn, void *arg,
    ts_overlap_fn overlap, void *oarg)
{
	return ts_store_write_ex(s, fn, arg, overlap, oarg, 0);
}

/*
 * LMDB commits in two flushes: the data pages (fdatasync), then the meta
 * page (an O_DSYNC write).  With MDB_NOMETASYNC the meta page is written
 * but not flushed: the txn is visible and crash-consistent (a system
 * crash can only undo it, never corrupt), and it becomes durable with the
 * next commit's data flush (same file) or mdb_env_sync.  The flag may be
 * changed at any time (lmdb.h) and is read at commit; we are the only
 * writer, so setting it around one commit affects that commit only.
 */
static int
commit_lazy(ts_store *s, MDB_txn *txn)
{
	int mrc, frc;

	if ((frc = mdb_env_set_flags(s->env, MDB_NOMETASYNC, 1)) != 0) {
		mdb_txn_abort(txn);
		return frc;
	}
	mrc = mdb_txn_commit(txn);
	if ((frc = mdb_env_set_flags(s->env, MDB_NOMETASYNC, 0)) != 0) {
		/* Every later commit would be lazy too: refuse to go on
		 * silently with weaker durability. */
		log_warnx("store: mdb_env_set_flags: %s", mdb_strerror(frc));
		abort();
	}
	return mrc;
}

uint64_t
ts_store_commits(const ts_store *s)
{
	return s != NULL ? s->commits : 0;
}

int
ts_store_is_durable(const ts_store *s, uint64_t gen)
{
	return s != NULL && s->durable >= gen;
}

int
ts_store_sync(ts_store *s)
{
	int rc;

	if (s == NULL)
		return TS_EINVAL;
	if (s->durable == s->commits)
		return 0;
	if (!s->nosync && (rc = mdb_env_sync(s->env, 1)) != 0)
		return store_err(NULL, "mdb_env_sync", rc);
	s->durable = s->commits;
	return 0;
}

int
ts_store_fail_commits(ts_store *s, unsigned n)
{
	if (s == NULL || !s->nosync || s->rdonly)
		return TS_EINVAL;
	s->fail_commits = n;
	return 0;
}

/*
 * The simulator's power cut.  LMDB writes a txn's data pages to free
 * pages (copy on write), then its meta page, into slot (txnid & 1); a
 * lazy commit's meta page is written but not flushed, so a power cut
 * before the next flush leaves that slot as it was and the store opens
 * at the txn before.  A NOSYNC store never flushes, so here the slot is
 * made to say what the flushed state said: the other slot's page (the
 * previous txn) is copied over it.  Only the last commit can be lost: a
 * commit's data flush also flushes every meta page written before it
 * (ts_store_write_ex).
 */
int
ts_store_power_cut(ts_store **sp, int *lost)
{
	ts_store *s;
	MDB_envinfo info;
	MDB_stat st;
	const char *dir;
	char path[4096];
	uint8_t *page = NULL;
	size_t from, to;
	int fd = -1, rc, mrc;

	if (lost != NULL)
		*lost = 0;
	if (sp == NULL || (s = *sp) == NULL || !s->nosync || s->rdonly ||
	    s->in_write || s->nread > 0)
		return TS_EINVAL;
	if (s->durable == s->commits) {
		ts_store_close(sp);
		return 0;
	}
	if ((mrc = mdb_env_info(s->env, &info)) != 0 ||
	    (mrc = mdb_env_stat(s->env, &st)) != 0 ||
	    (mrc = mdb_env_get_path(s->env, &dir)) != 0)
		return store_err(NULL, "power cut: env info", mrc);
	if (info.me_last_txnid == 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >= sizeof(path))
		return TS_EINVAL;
	to = (size_t)(info.me_last_txnid & 1);
	from = to ^ 1;
	ts_store_close(sp);
	if ((page = malloc(st.ms_psize)) == NULL)
		return TS_ENOMEM;
	rc = TS_ESTORE;
	if ((fd = open(path, O_RDWR)) == -1) {
		log_warn("store: power cut: open %s", path);
		goto out;
	}
	if (pread(fd, page, st.ms_psize, (off_t)(from * st.ms_psize)) !=
	    (ssize_t)st.ms_psize) {
		log_warn("store: power cut: read %s", path);
		goto out;
	}
	/* The page header's first field is its own page number. */
	memcpy(page, &to, sizeof(to));
	if (pwrite(fd, page, st.ms_psize, (off_t)(to * st.ms_psize)) !=
	    (ssize_t)st.ms_psize) {
		log_warn("store: power cut: write %s", path);
		goto out;
	}
	rc = 0;
	if (lost != NULL)
		*lost = 1;
out:
	if (fd != -1 && close(fd) == -1 && rc == 0) {
		log_warn("store: power cut: close %s", path);
		rc = TS_ESTORE;
	}
	free(page);
	return rc;
}

int
ts_store_write_ex(ts_store *s, ts_write_fn fn, void *arg,
    ts_overlap_fn overlap, void *oarg, unsigned wflags)
{
	ts_txn t;
	int rc, mrc;
	int lazy;

	if (s == NULL || fn == NULL)
		return TS_EINVAL;
	/* A NOSYNC store (the simulator's) syncs nothing, but keeps the
	 * same durability bookkeeping as a real one: a lazy commit is not
	 * durable until the next commit or ts_store_sync, so the simulator
	 * runs the held-ACK path exactly as the daemon does. */
	lazy = (wflags & TS_WRITE_LAZY) != 0;
	if (s->rdonly) {
		log_warnx("store: write on a read-only store");
		return TS_EINVAL;
	}
	if (s->in_write) {
		/* LMDB's writer lock is not re-entrant: this would hang. */
		log_warnx("store: nested ts_store_write");
		return TS_EINVAL;
	}
	for (;;) {
		memset(&t, 0, sizeof(t));
		t.s = s;
		if ((rc = txn_begin(s, 0, &t.txn)) != 0)
			return rc;
		s->in_write = 1;
		rc = fn(&t, arg);
		s->in_write = 0;
		if (t.map_full) {
			/* Whatever fn made of it: the txn is dead, retry. */
			mdb_txn_abort(t.txn);
			if ((rc = grow_map(s)) != 0)
				return rc;
			continue;
		}
		if (rc != 0) {
			mdb_txn_abort(t.txn);
			return rc;
		}
		if (overlap != NULL)
			overlap(oarg);
		if (s->fail_commits > 0) {
			/* The simulator's disk fault (ts_store_fail_commits):
			 * the commit fails as an I/O error would. */
			s->fail_commits--;
			mdb_txn_abort(t.txn);
			log_warnx("store: mdb_txn_commit: injected I/O error");
			return TS_ESTORE;
		}
		/* mdb_txn_commit frees the txn whether or not it succeeds. */
		mrc = lazy && !s->nosync ? commit_lazy(s, t.txn) :
		    mdb_txn_commit(t.txn);
		if (mrc == 0) {
			/* A commit's data flush also flushed every meta page
			 * written before it. */
			s->commits++;
			s->durable = lazy ? s->commits - 1 : s->commits;
			return 0;
		}
		if (mrc == MDB_MAP_FULL) {
			if ((rc = grow_map(s)) != 0)
				return rc;
			continue;
		}
		if (mrc == EIO && fs_full(s)) {
			log_warnx("store: mdb_txn_commit: short write, the "
			    "filesystem is full: nothing of this txn was kept");
			return TS_ENOSPC;
		}
		return store_err(NULL, "mdb_txn_commit", mrc);
	}
}

int
ts_store_read_begin(ts_store *s, ts_txn **tp)
{
	ts_txn *t;
	int rc;

	if (tp == NULL)
		return TS_EINVAL;
	*tp = NULL;
	if (s == NULL)
		return TS_EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TS_ENOMEM;
	t->s = s;
	t->rdonly = 1;
	if ((rc = txn_begin(s, MDB_RDONLY, &t->txn)) != 0) {
		free(t);
		return rc;
	}
	s->nread++;
	*tp = t;
	return 0;
}

void
ts_store_read_end(ts_txn **tp)
{
	ts_txn *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	/* Aborting a read txn releases its reader slot (MDB_NOTLS). */
	mdb_txn_abort(t->txn);
	t->s->nread--;
	free(t);
	*tp = NULL;
}

/* ---- meta ----------------------------------------------------------- */

#define META_NAME_MAX	64

int
ts_meta_get(ts_txn *t, const char *name, ts_bytes *val)
{
	MDB_val v;
	size_t n;
	int rc;

	if (val == NULL || (n = name_len(name, META_NAME_MAX)) == 0)
		return TS_EINVAL;
	if ((rc = db_get(t, DB_META, name, n, &v, "meta get")) != 0)
		return rc;
	val->p = v.mv_data;
	val->len = v.mv_size;
	return 0;
}

int
ts_meta_put(ts_txn *t, const char *name, const void *p, size_t len)
{
	size_t n;

	if ((n = name_len(name, META_NAME_MAX)) == 0)
		return TS_EINVAL;
	return db_put(t, DB_META, name, n, p, len, 0, "meta put");
}

int
ts_meta_get_u64(ts_txn *t, const char *name, uint64_t *v)
{
	ts_bytes b;
	int rc;

	if (v == NULL)
		return TS_EINVAL;
	*v = 0;
	rc = ts_meta_get(t, name, &b);
	if (rc == TS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (b.len != 8)
		return corrupt(name);
	*v = get_be64(b.p);
	return 0;
}

int
ts_meta_put_u64(ts_txn *t, const char *name, uint64_t v)
{
	uint8_t b[8];

	put_be64(b, v);
	return ts_meta_put(t, name, b, sizeof(b));
}

/* Take the next value of a meta counter (first is 1), in the caller's
 * txn, so an aborted txn also gives the number back. */
static int
meta_next(ts_txn *t, const char *name, uint64_t *id)
{
	uint64_t next;
	int rc;

	if ((rc = ts_meta_get_u64(t, name, &next)) != 0)
		return rc;
	if (next == 0)
		next = 1;
	if (next == UINT64_MAX)
		return TS_ELIMIT;
	if ((rc = ts_meta_put_u64(t, name, next + 1)) != 0)
		return rc;
	*id = next;
	return 0;
}

/* ---- own values ------------------------------------------------------ */

int
ts_own_put(ts_txn *t, const char *period, const ts_value *v)
{
	uint8_t key[KEY_MAX], val[OWN_VAL_LEN];
	size_t pl, il, dl;

	if (v == NULL || (pl = name_len(period, TS_PERIOD_MAX)) == 0 ||
	    (il = name_len(v->ind, TS_IND_MAX)) == 0)
		return TS_EINVAL;
	dl = strnlen(v->dis, sizeof(v->dis));
	if (dl > TS_DIS_MAX)
		return TS_EINVAL;
	memcpy(key, period, pl);
	key[pl] = '\0';
	memcpy(key + pl + 1, v->ind, il);
	key[pl + 1 + il] = '\0';
	memcpy(key + pl + 2 + il, v->dis, dl);
	put_be64(val, v->num);
	put_be64(val + 8, v->den);
	return db_put(t, DB_OWN, key, pl + 2 + il + dl, val, sizeof(val), 0,
	    "own put");
}

/*
 * Delete every own value of (period, ind), whatever its disaggregation:
 * a recomputation from the register replaces an indicator wholly, so a
 * disaggregation that vanished must not linger.  Absent is not an error.
 */
int
ts_own_del(ts_txn *t, const char *period, const char *ind)
{
	ts_value *vals = NULL;
	size_t n = 0, i;
	int rc;

	if (ind == NULL || name_len(ind, TS_IND_MAX) == 0)
		return TS_EINVAL;
	if ((rc = ts_own_list(t, period, &vals, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		uint8_t key[KEY_MAX];
		size_t pl = strlen(period), il = strlen(vals[i].ind),
		    dl = strlen(vals[i].dis);
		if (strcmp(vals[i].ind, ind) != 0)
			continue;
		memcpy(key, period, pl);
		key[pl] = '\0';
		memcpy(key + pl + 1, vals[i].ind, il);
		key[pl + 1 + il] = '\0';
		memcpy(key + pl + 2 + il, vals[i].dis, dl);
		rc = db_del(t, DB_OWN, key, pl + 2 + il + dl, "own del");
	}
	free(vals);
	return rc;
}

struct own_walk {
	size_t		 plen;
	ts_value	*vals;
	size_t		 n, cap;
};

static int
own_count_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct own_walk *w = arg;

	(void)k;
	(void)v;
	w->n++;
	return 0;
}

static int
own_fill_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct own_walk *w = arg;
	const uint8_t *p = (const uint8_t *)k->mv_data + w->plen;
	size_t rest = k->mv_size - w->plen;
	const uint8_t *sep;
	ts_value *o;
	size_t il;

	/* A txn sees one snapshot, so the count cannot change between the
	 * two passes; guard anyway rather than overrun. */
	if (w->n >= w->cap)
		return corrupt("own");
	if (v->mv_size != OWN_VAL_LEN ||
	    (sep = memchr(p, '\0', rest)) == NULL)
		return corrupt("own");
	il = (size_t)(sep - p);
	o = &w->vals[w->n];
	if (il == 0 || il > TS_IND_MAX || rest - il - 1 > TS_DIS_MAX ||
	    memchr(sep + 1, '\0', rest - il - 1) != NULL)
		return corrupt("own");
	memcpy(o->ind, p, il);
	o->ind[il] = '\0';
	memcpy(o->dis, sep + 1, rest - il - 1);
	o->dis[rest - il - 1] = '\0';
	o->num = get_be64(v->mv_data);
	o->den = get_be64((const uint8_t *)v->mv_data + 8);
	w->n++;
	return 0;
}

/*
 * Keys period\0ind\0dis sort bytewise, and '\0' sorts before any other
 * byte, so a prefix walk yields (ind, dis) in the canonical report order.
 */
int
ts_own_list(ts_txn *t, const char *period, ts_value **vals, size_t *n)
{
	uint8_t prefix[TS_PERIOD_MAX + 1];
	struct own_walk w;
	size_t pl;
	int rc;

	if (vals == NULL || n == NULL)
		return TS_EINVAL;
	*vals = NULL;
	*n = 0;
	if ((pl = name_len(period, TS_PERIOD_MAX)) == 0)
		return TS_EINVAL;
	memcpy(prefix, period, pl);
	prefix[pl] = '\0';
	memset(&w, 0, sizeof(w));
	w.plen = pl + 1;
	if ((rc = db_walk(t, DB_OWN, prefix, pl + 1, own_count_fn, &w,
	    "own list")) != 0)
		return rc;
	if (w.n == 0)
		return 0;
	if ((w.vals = calloc(w.n, sizeof(*w.vals))) == NULL)
		return TS_ENOMEM;
	w.cap = w.n;
	w.n = 0;
	if ((rc = db_walk(t, DB_OWN, prefix, pl + 1, own_fill_fn, &w,
	    "own list")) != 0) {
		free(w.vals);
		return rc;
	}
	*vals = w.vals;
	*n = w.n;
	return 0;
}

/* ---- envelopes ------------------------------------------------------ */

/* origin\0seq(BE64): returns the key length or 0 if origin is invalid. */
static size_t
origin_seq_key(uint8_t *key, const char *origin, uint64_t seq)
{
	size_t ol;

	if ((ol = name_len(origin, TS_CODE_MAX)) == 0)
		return 0;
	memcpy(key, origin, ol);
	key[ol] = '\0';
	put_be64(key + ol + 1, seq);
	return ol + 1 + 8;
}

/*
 * `env` maps (origin, seq) to a reference ENV_REF id BE64 into `envlog`,
 * where the bytes are appended under ascending ids.  Why not the bytes
 * under (origin, seq): children's envelopes arrive interleaved, so those
 * keys land mid-tree, and LMDB splits a full leaf in the middle; with
 * ~1.5 KB envelopes (two to a page) that left one envelope per 4 KiB page,
 * every byte written to disk (and flushed) 2.6 times.  Appending to
 * `envlog` (MDB_APPEND: the new key goes alone onto the new page) keeps
 * its pages full; the small references split as before but cost ~32
 * bytes each.  A value that does not start with ENV_REF is the envelope
 * itself (stores written before envlog): read as before, never rewritten.
 */
#define ENV_REF		0x00
#define ENV_REF_LEN	(1 + 8)

/* The next free envlog id, read once per write txn. */
static int
envlog_next(ts_txn *t, uint64_t *id)
{
	MDB_cursor *c;
	MDB_val k, v;
	int mrc;

	if (t->envlog_next == 0) {
		if ((mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_ENVLOG], &c)) != 0)
			return store_err(t, "envlog last", mrc);
		mrc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		mdb_cursor_close(c);
		if (mrc == MDB_NOTFOUND)
			t->envlog_next = 1;
		else if (mrc != 0)
			return store_err(t, "envlog last", mrc);
		else if (k.mv_size != 8)
			return corrupt("envlog key");
		else
			t->envlog_next = get_be64(k.mv_data) + 1;
	}
	*id = t->envlog_next;
	return 0;
}

/* Resolve an `env` value: a reference into envlog, or old inline bytes. */
static int
env_resolve(ts_txn *t, const MDB_val *v, ts_bytes *env)
{
	const uint8_t *p = v->mv_data;
	uint8_t key[8];
	MDB_val ev;
	int rc;

	if (v->mv_size == 0)
		return corrupt("env");
	if (p[0] == ENV_REF && !t->s->have[DB_ENVLOG]) {
		/* Opened read-only before a daemon added envlog. */
		log_warnx("store: env: the store gained `envlog` after it was "
		    "opened here; open it again");
		return TS_ESTORE;
	}
	if (p[0] != ENV_REF) {
		env->p = v->mv_data;
		env->len = v->mv_size;
		return 0;
	}
	if (v->mv_size != ENV_REF_LEN)
		return corrupt("env reference");
	memcpy(key, p + 1, 8);
	rc = db_get(t, DB_ENVLOG, key, 8, &ev, "envlog get");
	if (rc == TS_ENOTFOUND)
		return corrupt("env reference to a missing envlog record");
	if (rc != 0)
		return rc;
	if (ev.mv_size == 0)
		return corrupt("envlog");
	env->p = ev.mv_data;
	env->len = ev.mv_size;
	return 0;
}

int
ts_env_put(ts_txn *t, const char *origin, uint64_t seq,
    const uint8_t *env, size_t len)
{
	uint8_t key[TS_CODE_MAX + 1 + 8], ref[ENV_REF_LEN], lkey[8];
	MDB_val k, v;
	uint64_t id = 0;
	unsigned lflags = MDB_APPEND;
	size_t kl;
	int rc, mrc;

	if (env == NULL || len == 0 ||
	    (kl = origin_seq_key(key, origin, seq)) == 0)
		return TS_EINVAL;
	if (!db_ok(t, DB_ENV) || !db_ok(t, DB_ENVLOG))
		return TS_EINVAL;
	if (t->rdonly) {
		log_warnx("store: env put: write in a read-only txn");
		return TS_EINVAL;
	}
	if ((rc = envlog_next(t, &id)) != 0)
		return rc;
	ref[0] = ENV_REF;
	put_be64(ref + 1, id);
	k.mv_data = key;
	k.mv_size = kl;
	v.mv_data = ref;
	v.mv_size = sizeof(ref);
	mrc = mdb_put(t->txn, t->s->dbi[DB_ENV], &k, &v, MDB_NOOVERWRITE);
	if (mrc == MDB_KEYEXIST) {
		/* Replacing: v is the held value.  A reference keeps its
		 * id (rewritten in place); old inline bytes become one. */
		if (v.mv_size == ENV_REF_LEN && ((const uint8_t *)v.mv_data)[0] == ENV_REF) {
			id = get_be64((const uint8_t *)v.mv_data + 1);
			lflags = 0;
		} else if ((rc = db_put(t, DB_ENV, key, kl, ref, sizeof(ref), 0,
		    "env put")) != 0)
			return rc;
	} else if (mrc != 0)
		return store_err(t, "env put", mrc);
	put_be64(lkey, id);
	if ((rc = db_put(t, DB_ENVLOG, lkey, sizeof(lkey), env, len, lflags,
	    "envlog put")) != 0)
		return rc;
	if (lflags == MDB_APPEND)
		t->envlog_next = id + 1;
	return 0;
}

int
ts_env_get(ts_txn *t, const char *origin, uint64_t seq, ts_bytes *env)
{
	uint8_t key[TS_CODE_MAX + 1 + 8];
	MDB_val v;
	size_t kl;
	int rc;

	if (env == NULL || (kl = origin_seq_key(key, origin, seq)) == 0)
		return TS_EINVAL;
	if ((rc = db_get(t, DB_ENV, key, kl, &v, "env get")) != 0)
		return rc;
	return env_resolve(t, &v, env);
}

struct env_walk {
	ts_txn		*t;
	ts_env_cb	 cb;
	void		*arg;
};

static int
env_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct env_walk *w = arg;
	char origin[TS_CODE_MAX + 1];
	const uint8_t *p = k->mv_data;
	ts_bytes env;
	int rc;

	if (k->mv_size < 2 + 8 || p[k->mv_size - 9] != '\0' ||
	    copy_part(origin, sizeof(origin), p, k->mv_size - 9) != 0)
		return corrupt("env");
	if ((rc = env_resolve(w->t, v, &env)) != 0)
		return rc;
	return w->cb(origin, get_be64(p + k->mv_size - 8), env.p, env.len,
	    w->arg);
}

int
ts_env_each(ts_txn *t, const char *origin, ts_env_cb cb, void *arg)
{
	uint8_t prefix[TS_CODE_MAX + 1];
	struct env_walk w = { t, cb, arg };
	size_t ol = 0;

	if (cb == NULL)
		return TS_EINVAL;
	if (origin != NULL) {
		if ((ol = name_len(origin, TS_CODE_MAX)) == 0)
			return TS_EINVAL;
		memcpy(prefix, origin, ol);
		prefix[ol++] = '\0';
	}
	return db_walk(t, DB_ENV, prefix, ol, env_walk_fn, &w, "env each");
}

/* ---- chain ---------------------------------------------------------- */

static void
chain_enc(uint8_t *b, const ts_chain *c)
{
	put_be64(b, c->seq);
	memcpy(b + 8, c->hash, TS_HASH_LEN);
	put_be64(b + 8 + TS_HASH_LEN, c->recv_ms);
}

static int
chain_dec(const MDB_val *v, ts_chain *c)
{
	const uint8_t *b = v->mv_data;

	if (v->mv_size != CHAIN_VAL_LEN)
		return corrupt("chain");
	c->seq = get_be64(b);
	memcpy(c->hash, b + 8, TS_HASH_LEN);
	c->recv_ms = get_be64(b + 8 + TS_HASH_LEN);
	return 0;
}

int
ts_chain_get(ts_txn *t, const char *origin, ts_chain *c)
{
	MDB_val v;
	size_t ol;
	int rc;

	if (c == NULL || (ol = name_len(origin, TS_CODE_MAX)) == 0)
		return TS_EINVAL;
	if ((rc = db_get(t, DB_CHAIN, origin, ol, &v, "chain get")) != 0)
		return rc;
	return chain_dec(&v, c);
}

int
ts_chain_put(ts_txn *t, const char *origin, const ts_chain *c)
{
	uint8_t b[CHAIN_VAL_LEN];
	size_t ol;

	if (c == NULL || (ol = name_len(origin, TS_CODE_MAX)) == 0)
		return TS_EINVAL;
	chain_enc(b, c);
	return db_put(t, DB_CHAIN, origin, ol, b, sizeof(b), 0, "chain put");
}

struct chain_walk {
	ts_chain_cb	 cb;
	void		*arg;
};

static int
chain_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct chain_walk *w = arg;
	char origin[TS_CODE_MAX + 1];
	ts_chain c;
	int rc;

	if (copy_part(origin, sizeof(origin), k->mv_data, k->mv_size) != 0)
		return corrupt("chain");
	if ((rc = chain_dec(v, &c)) != 0)
		return rc;
	return w->cb(origin, &c, w->arg);
}

int
ts_chain_each(ts_txn *t, ts_chain_cb cb, void *arg)
{
	struct chain_walk w = { cb, arg };

	if (cb == NULL)
		return TS_EINVAL;
	return db_walk(t, DB_CHAIN, NULL, 0, chain_walk_fn, &w, "chain each");
}

/* ---- latest --------------------------------------------------------- */

static size_t
origin_period_key(uint8_t *key, const char *origin, const char *period)
{
	size_t ol, pl;

	if ((ol = name_len(origin, TS_CODE_MAX)) == 0 ||
	    (pl = name_len(period, TS_PERIOD_MAX)) == 0)
		return 0;
	memcpy(key, origin, ol);
	key[ol] = '\0';
	memcpy(key + ol + 1, period, pl);
	return ol + 1 + pl;
}

int
ts_latest_get(ts_txn *t, const char *origin, const char *period,
    ts_latest *l)
{
	uint8_t key[TS_CODE_MAX + 1 + TS_PERIOD_MAX];
	const uint8_t *b;
	MDB_val v;
	size_t kl;
	int rc;

	if (l == NULL || (kl = origin_period_key(key, origin, period)) == 0)
		return TS_EINVAL;
	if ((rc = db_get(t, DB_LATEST, key, kl, &v, "latest get")) != 0)
		return rc;
	if (v.mv_size != LATEST_VAL_LEN)
		return corrupt("latest");
	b = v.mv_data;
	l->seq = get_be64(b);
	memcpy(l->hash, b + 8, TS_HASH_LEN);
	l->first_ms = get_be64(b + 8 + TS_HASH_LEN);
	l->recv_ms = get_be64(b + 16 + TS_HASH_LEN);
	return 0;
}

int
ts_latest_put(ts_txn *t, const char *origin, const char *period,
    const ts_latest *l)
{
	uint8_t key[TS_CODE_MAX + 1 + TS_PERIOD_MAX], b[LATEST_VAL_LEN];
	size_t kl;

	if (l == NULL || (kl = origin_period_key(key, origin, period)) == 0)
		return TS_EINVAL;
	put_be64(b, l->seq);
	memcpy(b + 8, l->hash, TS_HASH_LEN);
	put_be64(b + 8 + TS_HASH_LEN, l->first_ms);
	put_be64(b + 16 + TS_HASH_LEN, l->recv_ms);
	return db_put(t, DB_LATEST, key, kl, b, sizeof(b), 0, "latest put");
}

struct latest_walk {
	const char	*period;	/* filter, or NULL */
	ts_latest_cb	 cb;
	void		*arg;
};

static int
latest_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct latest_walk *w = arg;
	char origin[TS_CODE_MAX + 1], period[TS_PERIOD_MAX + 1];
	const uint8_t *p = k->mv_data, *sep;
	const uint8_t *b = v->mv_data;
	ts_latest l;
	size_t ol;

	if ((sep = memchr(p, '\0', k->mv_size)) == NULL)
		return corrupt("latest");
	ol = (size_t)(sep - p);
	if (copy_part(origin, sizeof(origin), p, ol) != 0 ||
	    copy_part(period, sizeof(period), sep + 1,
	    k->mv_size - ol - 1) != 0 || v->mv_size != LATEST_VAL_LEN)
		return corrupt("latest");
	if (w->period != NULL && strcmp(w->period, period) != 0)
		return 0;
	l.seq = get_be64(b);
	memcpy(l.hash, b + 8, TS_HASH_LEN);
	l.first_ms = get_be64(b + 8 + TS_HASH_LEN);
	l.recv_ms = get_be64(b + 16 + TS_HASH_LEN);
	return w->cb(origin, period, &l, w->arg);
}

/* Keys lead with the origin, so a period filter scans every pair: fine
 * for origins x periods held by one node, and it keeps one layout. */
int
ts_latest_each(ts_txn *t, const char *period, ts_latest_cb cb, void *arg)
{
	struct latest_walk w = { period, cb, arg };

	if (cb == NULL ||
	    (period != NULL && name_len(period, TS_PERIOD_MAX) == 0))
		return TS_EINVAL;
	return db_walk(t, DB_LATEST, NULL, 0, latest_walk_fn, &w,
	    "latest each");
}

/* ---- outbox --------------------------------------------------------- */

/*
 * An outbox value is either the envelope itself (it starts with 0x92,
 * msgpack fixarray 2) or a reference into `env`: OUTBOX_REF, origin,
 * NUL, seq BE64.  0x00 can never start an envelope.
 */
#define OUTBOX_REF	0x00

static int
outbox_put(ts_txn *t, const void *val, size_t len, uint64_t *id)
{
	uint8_t key[8];
	uint64_t next;
	int rc;

	if (!db_ok(t, DB_OUTBOX))
		return TS_EINVAL;
	if ((rc = meta_next(t, "outbox_next", &next)) != 0)
		return rc;
	put_be64(key, next);
	/* NOOVERWRITE: a reused id would silently replace an un-ACKed
	 * envelope; better to fail loudly. */
	if ((rc = db_put(t, DB_OUTBOX, key, 8, val, len, MDB_NOOVERWRITE,
	    "outbox append")) != 0)
		return rc;
	*id = next;
	return 0;
}

int
ts_outbox_append(ts_txn *t, const uint8_t *env, size_t len, uint64_t *id)
{
	if (env == NULL || len == 0 || id == NULL || env[0] == OUTBOX_REF)
		return TS_EINVAL;
	return outbox_put(t, env, len, id);
}

int
ts_outbox_append_ref(ts_txn *t, const char *origin, uint64_t seq, uint64_t *id)
{
	uint8_t ref[1 + TS_CODE_MAX + 1 + 8], key[TS_CODE_MAX + 1 + 8];
	MDB_val held;
	size_t ol, kl;
	int rc;

	if (origin == NULL || id == NULL || seq == 0 ||
	    (ol = strnlen(origin, TS_CODE_MAX + 1)) == 0 || ol > TS_CODE_MAX)
		return TS_EINVAL;
	/* The envelope must be held; its index entry says so. */
	if ((kl = origin_seq_key(key, origin, seq)) == 0)
		return TS_EINVAL;
	if ((rc = db_get(t, DB_ENV, key, kl, &held, "env get")) != 0)
		return rc;
	ref[0] = OUTBOX_REF;
	memcpy(ref + 1, origin, ol + 1);
	put_be64(ref + 1 + ol + 1, seq);
	return outbox_put(t, ref, 1 + ol + 1 + 8, id);
}

int
ts_outbox_del(ts_txn *t, uint64_t id)
{
	uint8_t key[8];

	put_be64(key, id);
	return db_del(t, DB_OUTBOX, key, 8, "outbox del");
}

struct outbox_walk {
	ts_outbox_cb	 cb;
	void		*arg;
};

static int
outbox_walk_fn(ts_txn *t, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct outbox_walk *w = arg;
	const uint8_t *p = v->mv_data;
	ts_bytes env;
	uint64_t seq;
	size_t ol;
	int rc;

	if (k->mv_size != 8 || v->mv_size == 0)
		return corrupt("outbox");
	if (p[0] != OUTBOX_REF)
		return w->cb(get_be64(k->mv_data), p, v->mv_size, w->arg);
	/* A reference: 0x00 origin NUL seq. */
	if (v->mv_size < 1 + 1 + 1 + 8 ||
	    (ol = strnlen((const char *)p + 1, v->mv_size - 1)) == 0 ||
	    ol > TS_CODE_MAX || 1 + ol + 1 + 8 != v->mv_size)
		return corrupt("outbox reference");
	seq = get_be64(p + 1 + ol + 1);
	if ((rc = ts_env_get(t, (const char *)p + 1, seq, &env)) == TS_ENOTFOUND)
		return corrupt("outbox reference to a missing envelope");
	if (rc != 0)
		return rc;
	return w->cb(get_be64(k->mv_data), env.p, env.len, w->arg);
}

int
ts_outbox_each(ts_txn *t, uint64_t from, ts_outbox_cb cb, void *arg)
{
	struct outbox_walk w = { cb, arg };
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t key[8];
	int rc, mrc;

	if (cb == NULL || t == NULL || t->txn == NULL)
		return TS_EINVAL;
	if (!t->s->have[DB_OUTBOX])
		return 0;
	/* Not db_walk: this starts at a key, it does not match a prefix. */
	if ((mrc = mdb_cursor_open(t->txn, t->s->dbi[DB_OUTBOX], &c)) != 0)
		return store_err(t, "outbox each", mrc);
	put_be64(key, from);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	rc = 0;
	for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = outbox_walk_fn(t, &k, &v, &w)) != 0)
			break;
	}
	if (rc == 0 && mrc != MDB_NOTFOUND)
		rc = store_err(t, "outbox each", mrc);
	mdb_cursor_close(c);
	return rc;
}

int
ts_outbox_count(ts_txn *t, uint64_t *n)
{
	return db_count(t, DB_OUTBOX, n, "outbox count");
}

/* ---- dead letters, forks, audit, dirty ------------------------------- */

/* dead: id(BE64) -> status u8 + envelope.  One copy, made here, because
 * LMDB takes a value as one contiguous slice (MDB_RESERVE would avoid it
 * but hands out writable map memory; dead letters are rare). */
int
ts_dead_put(ts_txn *t, uint64_t id, int status, const uint8_t *env,
    size_t len)
{
	uint8_t key[8], *val;
	int rc;

	if (status < 0 || status > UINT8_MAX || (env == NULL && len != 0) ||
	    len > SIZE_MAX - 1)
		return TS_EINVAL;
	if ((val = malloc(len + 1)) == NULL)
		return TS_ENOMEM;
	val[0] = (uint8_t)status;
	if (len > 0)
		memcpy(val + 1, env, len);
	put_be64(key, id);
	rc = db_put(t, DB_DEAD, key, 8, val, len + 1, 0, "dead put");
	free(val);
	return rc;
}

int
ts_dead_count(ts_txn *t, uint64_t *n)
{
	return db_count(t, DB_DEAD, n, "dead count");
}

static int
fork_count_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	size_t *n = arg;

	(void)k;
	(void)v;
	return ++*n >= TS_FORK_HASHES_MAX ? 1 : 0;
}

int
ts_fork_put(ts_txn *t, const char *origin, uint64_t seq,
    const uint8_t hash[TS_HASH_LEN], const uint8_t *env, size_t len)
{
	uint8_t key[TS_CODE_MAX + 1 + 8 + 1 + TS_HASH_LEN];
	size_t kl, held = 0;
	int rc;

	if (hash == NULL || env == NULL || len == 0 ||
	    (kl = origin_seq_key(key, origin, seq)) == 0)
		return TS_EINVAL;
	key[kl] = '\0';
	/* Bounded evidence: one forged history proves the fork; the rest
	 * are kept as hashes only, and past TS_FORK_HASHES_MAX not at all
	 * (a child signing 40 1-MiB forks of one seq grew its parent's
	 * store by 37 MB). */
	if ((rc = db_walk(t, DB_FORKS, key, kl + 1, fork_count_fn, &held,
	    "fork walk")) < 0)
		return rc;
	if (held >= TS_FORK_HASHES_MAX)
		return 0;
	memcpy(key + kl + 1, hash, TS_HASH_LEN);
	{
		/* The same fork again: keep what is held (maybe the whole). */
		MDB_val have;
		rc = db_get(t, DB_FORKS, key, kl + 1 + TS_HASH_LEN, &have, "fork get");
		if (rc == 0)
			return 0;
		if (rc != TS_ENOTFOUND)
			return rc;
	}
	return db_put(t, DB_FORKS, key, kl + 1 + TS_HASH_LEN, env,
	    held == 0 ? len : 0, 0, "fork put");
}

int
ts_fork_count(ts_txn *t, uint64_t *n)
{
	return db_count(t, DB_FORKS, n, "fork count");
}

/* audit: time_ms(BE64) counter(BE64) -> text.  The counter keeps lines
 * written in the same millisecond (or after a clock step back) apart. */
int
ts_audit_put(ts_txn *t, uint64_t time_ms, const char *line)
{
	uint8_t key[16];
	uint64_t id;
	int rc;

	if (line == NULL)
		return TS_EINVAL;
	if (!db_ok(t, DB_AUDIT))
		return TS_EINVAL;
	if ((rc = meta_next(t, "audit_next", &id)) != 0)
		return rc;
	put_be64(key, time_ms);
	put_be64(key + 8, id);
	return db_put(t, DB_AUDIT, key, sizeof(key), line, strlen(line),
	    MDB_NOOVERWRITE, "audit put");
}

struct audit_walk {
	ts_audit_cb	 cb;
	void		*arg;
};

static int
audit_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct audit_walk *w = arg;

	if (k->mv_size != 16)
		return corrupt("audit");
	return w->cb(get_be64(k->mv_data), v->mv_data, v->mv_size, w->arg);
}

int
ts_audit_each(ts_txn *t, ts_audit_cb cb, void *arg)
{
	struct audit_walk w = { cb, arg };

	if (cb == NULL)
		return TS_EINVAL;
	return db_walk(t, DB_AUDIT, NULL, 0, audit_walk_fn, &w, "audit each");
}

int
ts_dirty_set(ts_txn *t, const char *period)
{
	size_t pl;

	if ((pl = name_len(period, TS_PERIOD_MAX)) == 0)
		return TS_EINVAL;
	return db_put(t, DB_DIRTY, period, pl, NULL, 0, 0, "dirty set");
}

/* Clearing a period that is not dirty is not an error: the rollup clears
 * after it has re-made the report, whichever way it got there. */
int
ts_dirty_clear(ts_txn *t, const char *period)
{
	size_t pl;
	int rc;

	if ((pl = name_len(period, TS_PERIOD_MAX)) == 0)
		return TS_EINVAL;
	rc = db_del(t, DB_DIRTY, period, pl, "dirty clear");
	return rc == TS_ENOTFOUND ? 0 : rc;
}

struct dirty_walk {
	ts_dirty_cb	 cb;
	void		*arg;
};

static int
dirty_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct dirty_walk *w = arg;
	char period[TS_PERIOD_MAX + 1];

	(void)v;
	if (copy_part(period, sizeof(period), k->mv_data, k->mv_size) != 0)
		return corrupt("dirty");
	return w->cb(period, w->arg);
}

int
ts_dirty_each(ts_txn *t, ts_dirty_cb cb, void *arg)
{
	struct dirty_walk w = { cb, arg };

	if (cb == NULL)
		return TS_EINVAL;
	return db_walk(t, DB_DIRTY, NULL, 0, dirty_walk_fn, &w, "dirty each");
}
