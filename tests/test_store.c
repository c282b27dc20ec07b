/*
 * Tests for store/store.c: round trips, iteration order, abort, read-only
 * use, map growth and its limit, stale reader slots, MAP_RESIZED.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <dirent.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tiersync/common.h"
#include "tiersync/log.h"
#include "tiersync/store.h"

static char tmpdir[64];

static const char *
path(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

/* rm -r, for the temp dir (one level of store dirs, files inside). */
static void
rm_rf(const char *dir)
{
	char p[256];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(p))
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Deterministic envelope bytes for (origin, seq): size and content vary
 * so big ones land in overflow pages and mix-ups show. */
static size_t
pat_len(uint64_t seq)
{
	return 1000 + (size_t)((seq * 977) % 7000);
}

static void
pat_fill(uint8_t *p, size_t n, char salt, uint64_t seq)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 31 + i * 7 + (unsigned char)salt);
}

static int
pat_check(const uint8_t *p, size_t n, char salt, uint64_t seq)
{
	size_t i;

	if (n != pat_len(seq))
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seq * 31 + i * 7 + (unsigned char)salt))
			return 0;
	return 1;
}

static ts_value
val(const char *ind, const char *dis, uint64_t num, uint64_t den)
{
	ts_value v;

	memset(&v, 0, sizeof(v));
	snprintf(v.ind, sizeof(v.ind), "%s", ind);
	snprintf(v.dis, sizeof(v.dis), "%s", dis);
	v.num = num;
	v.den = den;
	return v;
}

/* ---- round trips ---------------------------------------------------- */

static uint64_t out_ids[3];

static int
fill_fn(ts_txn *t, void *arg)
{
	static const uint8_t e1[] = "env-A-1", e2[] = "env-A-2",
	    e10[] = "env-A-10", eab[] = "env-AB-1", eb[] = "env-B-3";
	ts_value v;
	ts_chain c;
	ts_latest l;
	uint8_t h[TS_HASH_LEN];
	int rc = 0, i;

	(void)arg;
	rc |= ts_meta_put(t, "unit", "CM01", 4);
	rc |= ts_meta_put_u64(t, "seq", 0x0102030405060708ULL);
	/* own: out of order on purpose; one overwritten; other periods. */
	v = val("b", "z", 5, 0);	rc |= ts_own_put(t, "2025", &v);
	v = val("ab", "", 4, 10);	rc |= ts_own_put(t, "2025", &v);
	v = val("a", "x", 3, 0);	rc |= ts_own_put(t, "2025", &v);
	v = val("a", "", 1, 2);		rc |= ts_own_put(t, "2025", &v);
	v = val("a", "", 2, 3);		rc |= ts_own_put(t, "2025", &v);
	v = val("a", "", 9, 9);		rc |= ts_own_put(t, "2025Q1", &v);
	v = val("a", "", 8, 8);		rc |= ts_own_put(t, "2024", &v);
	/* env: seq 10 before 2 before 1, and a prefix-sharing origin. */
	rc |= ts_env_put(t, "A", 10, e10, sizeof(e10));
	rc |= ts_env_put(t, "A", 2, e2, sizeof(e2));
	rc |= ts_env_put(t, "B", 3, eb, sizeof(eb));
	rc |= ts_env_put(t, "AB", 1, eab, sizeof(eab));
	rc |= ts_env_put(t, "A", 1, e1, sizeof(e1));
	for (i = 0; i < TS_HASH_LEN; i++)
		h[i] = (uint8_t)i;
	c.seq = 10;
	memcpy(c.hash, h, sizeof(h));
	c.recv_ms = 1700000000123ULL;
	rc |= ts_chain_put(t, "A", &c);
	c.seq = 3;
	rc |= ts_chain_put(t, "B", &c);
	l.seq = 10;
	memcpy(l.hash, h, sizeof(h));
	l.first_ms = 111;
	l.recv_ms = 222;
	rc |= ts_latest_put(t, "A", "2025", &l);
	l.seq = 2;
	rc |= ts_latest_put(t, "A", "2025Q1", &l);
	l.seq = 3;
	rc |= ts_latest_put(t, "B", "2025", &l);
	for (i = 0; i < 3; i++) {
		uint8_t ob[8];

		memset(ob, 'o' + i, sizeof(ob));
		rc |= ts_outbox_append(t, ob, sizeof(ob), &out_ids[i]);
	}
	rc |= ts_dead_put(t, 7, 3, e1, sizeof(e1));
	rc |= ts_fork_put(t, "A", 2, h, e2, sizeof(e2));
	h[0] ^= 0xff;
	rc |= ts_fork_put(t, "A", 2, h, e1, sizeof(e1));
	rc |= ts_audit_put(t, ts_now_ms(), "first line");
	rc |= ts_audit_put(t, ts_now_ms(), "second line");
	rc |= ts_audit_put(t, ts_now_ms(), "third line");
	rc |= ts_dirty_set(t, "2025Q1");
	rc |= ts_dirty_set(t, "2025");
	rc |= ts_dirty_set(t, "2024");
	rc |= ts_dirty_clear(t, "2024");
	rc |= ts_dirty_clear(t, "2023");	/* absent: not an error */
	return rc;
}

static char seen[256];

static void
seen_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
seen_add(const char *fmt, ...)
{
	size_t n = strlen(seen);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(seen + n, sizeof(seen) - n, fmt, ap);
	va_end(ap);
}

static int
env_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	(void)arg;
	(void)env;
	(void)len;
	seen_add("%s/%llu ", origin, (unsigned long long)seq);
	return 0;
}

static int
env_stop_cb(const char *origin, uint64_t seq, const uint8_t *env,
    size_t len, void *arg)
{
	int *calls = arg;

	(void)origin;
	(void)seq;
	(void)env;
	(void)len;
	return ++*calls == 2 ? 7 : 0;
}

static int
chain_cb(const char *origin, const ts_chain *c, void *arg)
{
	(void)arg;
	seen_add("%s:%llu:%llu ", origin, (unsigned long long)c->seq,
	    (unsigned long long)c->recv_ms);
	return 0;
}

static int
latest_cb(const char *origin, const char *period, const ts_latest *l,
    void *arg)
{
	(void)arg;
	seen_add("%s/%s=%llu ", origin, period, (unsigned long long)l->seq);
	return 0;
}

static int
outbox_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	(void)arg;
	seen_add("%llu:%c%zu ", (unsigned long long)id, env[0], len);
	return 0;
}

static int
audit_cb(uint64_t time_ms, const char *line, size_t len, void *arg)
{
	uint64_t *last = arg;

	seen_add("%.*s|", (int)len, line);
	if (time_ms < *last || time_ms < 1600000000000ULL)
		seen_add("BADTIME|");
	*last = time_ms;
	return 0;
}

static int
dirty_cb(const char *period, void *arg)
{
	(void)arg;
	seen_add("%s ", period);
	return 0;
}

static int
del_fn(ts_txn *t, void *arg)
{
	(void)arg;
	return ts_outbox_del(t, out_ids[1]);
}

static int
del_missing_fn(ts_txn *t, void *arg)
{
	(void)arg;
	return ts_outbox_del(t, 999);
}

static void
check_contents(ts_store *s, int after_del)
{
	ts_txn *t = NULL;
	ts_bytes b;
	ts_value *vals = NULL;
	ts_chain c;
	ts_latest l;
	uint64_t u, last = 0;
	size_t n = 0;
	int calls = 0, i, ok;

	CHECK_EQ_INT(ts_store_read_begin(s, &t), 0, "read_begin");
	if (t == NULL)
		return;
	CHECK(ts_meta_get(t, "unit", &b) == 0 && b.len == 4 &&
	    memcmp(b.p, "CM01", 4) == 0, "meta round trip");
	CHECK(ts_meta_get_u64(t, "seq", &u) == 0 &&
	    u == 0x0102030405060708ULL, "meta u64 round trip");
	CHECK(ts_meta_get(t, "seq", &b) == 0 && b.len == 8 &&
	    b.p[0] == 1 && b.p[7] == 8, "meta u64 is big-endian");
	u = 99;
	CHECK(ts_meta_get_u64(t, "nosuch", &u) == 0 && u == 0,
	    "meta u64 missing -> 0, returns 0");
	CHECK_EQ_INT(ts_meta_get(t, "nosuch", &b), TS_ENOTFOUND,
	    "meta missing -> ENOTFOUND");

	CHECK_EQ_INT(ts_own_list(t, "2025", &vals, &n), 0, "own_list");
	CHECK_EQ_INT(n, 4, "own_list count for 2025");
	if (n == 4) {
		ok = strcmp(vals[0].ind, "a") == 0 &&
		    strcmp(vals[0].dis, "") == 0 && vals[0].num == 2 &&
		    vals[0].den == 3 &&
		    strcmp(vals[1].ind, "a") == 0 &&
		    strcmp(vals[1].dis, "x") == 0 && vals[1].num == 3 &&
		    strcmp(vals[2].ind, "ab") == 0 &&
		    strcmp(vals[2].dis, "") == 0 && vals[2].den == 10 &&
		    strcmp(vals[3].ind, "b") == 0 &&
		    strcmp(vals[3].dis, "z") == 0 && vals[3].num == 5;
		CHECK(ok, "own values canonical (ind, dis) order, overwrite kept");
	}
	free(vals);
	vals = NULL;
	CHECK(ts_own_list(t, "2030", &vals, &n) == 0 && n == 0 &&
	    vals == NULL, "own_list of empty period");

	CHECK(ts_env_get(t, "A", 10, &b) == 0 && b.len == 9 &&
	    memcmp(b.p, "env-A-10", 9) == 0, "env round trip");
	CHECK_EQ_INT(ts_env_get(t, "A", 3, &b), TS_ENOTFOUND,
	    "env missing -> ENOTFOUND");
	seen[0] = '\0';
	CHECK_EQ_INT(ts_env_each(t, "A", env_cb, NULL), 0, "env_each A");
	CHECK(strcmp(seen, "A/1 A/2 A/10 ") == 0,
	    "env by seq numerically, no AB: %s", seen);
	seen[0] = '\0';
	CHECK_EQ_INT(ts_env_each(t, NULL, env_cb, NULL), 0, "env_each all");
	CHECK(strcmp(seen, "A/1 A/2 A/10 AB/1 B/3 ") == 0,
	    "env all origins: %s", seen);
	seen[0] = '\0';
	CHECK_EQ_INT(ts_env_each(t, "Z", env_cb, NULL), 0, "env_each none");
	CHECK(seen[0] == '\0', "env_each unknown origin is empty");
	CHECK_EQ_INT(ts_env_each(t, NULL, env_stop_cb, &calls), 7,
	    "env_each stops with the callback's value");
	CHECK_EQ_INT(calls, 2, "env_each stopped after 2 calls");

	CHECK(ts_chain_get(t, "A", &c) == 0 && c.seq == 10 &&
	    c.recv_ms == 1700000000123ULL && c.hash[31] == 31,
	    "chain round trip");
	CHECK_EQ_INT(ts_chain_get(t, "C", &c), TS_ENOTFOUND, "chain missing");
	seen[0] = '\0';
	CHECK_EQ_INT(ts_chain_each(t, chain_cb, NULL), 0, "chain_each");
	CHECK(strcmp(seen, "A:10:1700000000123 B:3:1700000000123 ") == 0,
	    "chain_each: %s", seen);

	CHECK(ts_latest_get(t, "A", "2025", &l) == 0 && l.seq == 10 &&
	    l.first_ms == 111 && l.recv_ms == 222 && l.hash[5] == 5,
	    "latest round trip");
	CHECK_EQ_INT(ts_latest_get(t, "B", "2025Q1", &l), TS_ENOTFOUND,
	    "latest missing");
	seen[0] = '\0';
	CHECK_EQ_INT(ts_latest_each(t, NULL, latest_cb, NULL), 0,
	    "latest_each all");
	CHECK(strcmp(seen, "A/2025=10 A/2025Q1=2 B/2025=3 ") == 0,
	    "latest all: %s", seen);
	seen[0] = '\0';
	CHECK_EQ_INT(ts_latest_each(t, "2025", latest_cb, NULL), 0,
	    "latest_each 2025");
	CHECK(strcmp(seen, "A/2025=10 B/2025=3 ") == 0,
	    "latest filtered by period: %s", seen);

	CHECK(out_ids[0] == 1 && out_ids[1] == 2 && out_ids[2] == 3,
	    "outbox ids start at 1, ascending");
	seen[0] = '\0';
	CHECK_EQ_INT(ts_outbox_each(t, 0, outbox_cb, NULL), 0, "outbox_each");
	CHECK(strcmp(seen, after_del ? "1:o8 3:q8 " : "1:o8 2:p8 3:q8 ") == 0,
	    "outbox ascending: %s", seen);
	seen[0] = '\0';
	CHECK_EQ_INT(ts_outbox_each(t, 2, outbox_cb, NULL), 0,
	    "outbox_each from 2");
	CHECK(strcmp(seen, after_del ? "3:q8 " : "2:p8 3:q8 ") == 0,
	    "outbox from id: %s", seen);
	CHECK(ts_outbox_count(t, &u) == 0 && u == (after_del ? 2u : 3u),
	    "outbox_count");
	CHECK(ts_meta_get_u64(t, "outbox_next", &u) == 0 && u == 4,
	    "outbox_next counter in meta");

	CHECK(ts_dead_count(t, &u) == 0 && u == 1, "dead_count");
	CHECK(ts_fork_count(t, &u) == 0 && u == 2, "fork_count (2 hashes)");
	seen[0] = '\0';
	CHECK_EQ_INT(ts_audit_each(t, audit_cb, &last), 0, "audit_each");
	CHECK(strcmp(seen, "first line|second line|third line|") == 0,
	    "audit in order with sane times: %s", seen);
	seen[0] = '\0';
	CHECK_EQ_INT(ts_dirty_each(t, dirty_cb, NULL), 0, "dirty_each");
	CHECK(strcmp(seen, "2025 2025Q1 ") == 0, "dirty set/clear: %s", seen);

	/* Writes in a read txn are refused, and nothing breaks after. */
	CHECK(ts_meta_put(t, "x", "y", 1) != 0, "put in read txn refused");
	CHECK(ts_env_get(t, "A", 1, &b) == 0 && b.len == 8,
	    "read txn still usable");
	CHECK_EQ_INT(ts_env_get(t, "", 1, &b), TS_EINVAL, "empty origin");
	CHECK_EQ_INT(ts_env_get(t, "ABCDEFGHIJKLMNOPQ", 1, &b), TS_EINVAL,
	    "origin over TS_CODE_MAX");
	ts_store_read_end(&t);
	CHECK(t == NULL, "read_end clears the handle");
	(void)i;
}

/* ---- abort ---------------------------------------------------------- */

static int
abort_fn(ts_txn *t, void *arg)
{
	static const uint8_t e[] = "never";
	uint64_t id;

	(void)arg;
	if (ts_env_put(t, "Q", 1, e, sizeof(e)) != 0 ||
	    ts_meta_put(t, "unit", "XXXX", 4) != 0 ||
	    ts_outbox_append(t, e, sizeof(e), &id) != 0 ||
	    ts_audit_put(t, ts_now_ms(), "never") != 0)
		return -1;
	return 42;
}

static void
test_abort(ts_store *s)
{
	ts_txn *t = NULL;
	ts_bytes b;
	uint64_t u;

	CHECK_EQ_INT(ts_store_write(s, abort_fn, NULL), 42,
	    "fn's non-zero is returned as is");
	if (ts_store_read_begin(s, &t) != 0)
		return;
	CHECK_EQ_INT(ts_env_get(t, "Q", 1, &b), TS_ENOTFOUND,
	    "aborted env absent");
	CHECK(ts_meta_get(t, "unit", &b) == 0 && memcmp(b.p, "CM01", 4) == 0,
	    "aborted meta change absent");
	CHECK(ts_meta_get_u64(t, "outbox_next", &u) == 0 && u == 4,
	    "aborted outbox id given back");
	CHECK(ts_outbox_count(t, &u) == 0 && u == 2, "aborted outbox absent");
	ts_store_read_end(&t);
}

static int
nested_fn(ts_txn *t, void *arg)
{
	ts_store *s = arg;

	(void)t;
	return ts_store_write(s, nested_fn, s);
}

static void
test_basic(void)
{
	ts_store *s = NULL;
	struct stat st;
	ts_txn *t = NULL;
	ts_bytes b;
	uint64_t u;
	int rc;

	rc = ts_store_open(&s, path("none"), TS_STORE_RDONLY, 0, 0);
	CHECK(rc != 0 && s == NULL, "read-only open of missing dir fails (%d)",
	    rc);
	CHECK(stat(path("none"), &st) == -1 && errno == ENOENT,
	    "read-only open created nothing");

	CHECK_EQ_INT(ts_store_open(&s, path("s1"), 0, 0, 0), 0, "open rw");
	if (s == NULL)
		return;
	CHECK(stat(path("s1"), &st) == 0 && (st.st_mode & 0777) == 0700,
	    "store dir created 0700");
	CHECK(ts_store_mapsize(s) == (size_t)64 << 20, "default map 64 MiB");
	CHECK_EQ_INT(ts_store_write(s, fill_fn, NULL), 0, "fill");
	check_contents(s, 0);
	CHECK_EQ_INT(ts_store_write(s, del_fn, NULL), 0, "outbox_del");
	CHECK_EQ_INT(ts_store_write(s, del_missing_fn, NULL), TS_ENOTFOUND,
	    "outbox_del of a missing id -> ENOTFOUND");
	check_contents(s, 1);
	test_abort(s);
	CHECK_EQ_INT(ts_store_write(s, nested_fn, s), TS_EINVAL,
	    "nested write refused, not deadlocked");
	ts_store_close(&s);
	CHECK(s == NULL, "close clears the handle");
	ts_store_close(&s);

	/* Read-only: sees committed data, cannot write. */
	CHECK_EQ_INT(ts_store_open(&s, path("s1"), TS_STORE_RDONLY, 0, 0), 0,
	    "open read-only");
	if (s == NULL)
		return;
	check_contents(s, 1);
	CHECK(ts_store_write(s, fill_fn, NULL) != 0,
	    "write on read-only store refused");
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK(ts_meta_get(t, "unit", &b) == 0 && b.len == 4,
		    "read-only still readable");
		CHECK(ts_outbox_count(t, &u) == 0 && u == 2,
		    "read-only write left nothing");
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
}

/* A store whose environment exists but holds none of our DBs (made by
 * bare LMDB here): read-only reads must be empty, not crash. */
static int
count_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	(void)id;
	(void)env;
	(void)len;
	++*(int *)arg;
	return 0;
}

static void
test_empty_rdonly(void)
{
	MDB_env *env;
	ts_store *s = NULL;
	ts_txn *t = NULL;
	ts_bytes b;
	ts_value *vals = NULL;
	ts_chain c;
	size_t n = 5;
	uint64_t u = 5;
	int calls = 0;

	mkdir(path("bare"), 0700);
	if (mdb_env_create(&env) != 0)
		return;
	CHECK_EQ_INT(mdb_env_open(env, path("bare"), 0, 0600), 0,
	    "bare LMDB env made");
	mdb_env_close(env);
	CHECK_EQ_INT(ts_store_open(&s, path("bare"), TS_STORE_RDONLY, 0, 0),
	    0, "read-only open of a store without DBs");
	if (s == NULL)
		return;
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_meta_get(t, "unit", &b), TS_ENOTFOUND,
		    "absent DB: get -> ENOTFOUND");
		CHECK(ts_meta_get_u64(t, "seq", &u) == 0 && u == 0,
		    "absent DB: u64 -> 0");
		CHECK_EQ_INT(ts_chain_get(t, "A", &c), TS_ENOTFOUND,
		    "absent DB: chain");
		CHECK(ts_own_list(t, "2025", &vals, &n) == 0 && n == 0 &&
		    vals == NULL, "absent DB: own_list empty");
		CHECK(ts_outbox_each(t, 0, count_cb, &calls) == 0 &&
		    calls == 0, "absent DB: empty iteration");
		CHECK(ts_env_each(t, NULL, env_cb, NULL) == 0,
		    "absent DB: env_each");
		CHECK(ts_fork_count(t, &u) == 0 && u == 0,
		    "absent DB: count 0");
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
}

/* ---- map growth ----------------------------------------------------- */

struct batch {
	char		 salt;		/* origin name and pattern salt */
	uint64_t	 first, count;
	int		 calls;		/* how often fn ran */
};

static int
batch_fn(ts_txn *t, void *arg)
{
	struct batch *b = arg;
	char origin[2] = { b->salt, '\0' };
	uint8_t *buf;
	uint64_t seq;
	int rc = 0;

	b->calls++;
	if ((buf = malloc(8000)) == NULL)
		return TS_ENOMEM;
	for (seq = b->first; seq < b->first + b->count && rc == 0; seq++) {
		pat_fill(buf, pat_len(seq), b->salt, seq);
		rc = ts_env_put(t, origin, seq, buf, pat_len(seq));
	}
	free(buf);
	return rc;
}

struct verify {
	char		 salt;
	uint64_t	 next, bad;
	size_t		 bytes;
};

static int
verify_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	struct verify *v = arg;

	if (origin[0] != v->salt || seq != v->next ||
	    !pat_check(env, len, v->salt, seq))
		v->bad++;
	v->next = seq + 1;
	v->bytes += len;
	return 0;
}

static void
test_growth(void)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	struct batch b = { 'G', 1, 0, 0 };
	struct verify v = { 'G', 1, 0, 0 };
	size_t total = 0, grown;
	uint64_t seq;
	int i, rc = 0, txns = 0;

	CHECK_EQ_INT(ts_store_open(&s, path("grow"), 0, 64 << 10, 0), 0,
	    "open with 64 KiB map");
	if (s == NULL)
		return;
	CHECK_EQ_INT(ts_store_mapsize(s), 64 << 10, "map starts at 64 KiB");
	for (i = 0; i < 40 && rc == 0; i++) {
		b.first = (uint64_t)i * 30 + 1;
		b.count = 30;
		rc = ts_store_write(s, batch_fn, &b);
		txns++;
		for (seq = b.first; seq < b.first + b.count; seq++)
			total += pat_len(seq);
	}
	CHECK_EQ_INT(rc, 0, "40 txns of envelopes through a growing map");
	CHECK(total > (size_t)5 << 20, "wrote %zu bytes", total);
	CHECK(ts_store_mapsize(s) > total, "map grew to %zu",
	    ts_store_mapsize(s));
	CHECK(b.calls > txns, "fn re-run after MAP_FULL (%d runs, %d txns)",
	    b.calls, txns);
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_env_each(t, "G", verify_cb, &v), 0, "read back");
		CHECK(v.bad == 0 && v.next == 1201 && v.bytes == total,
		    "every byte reads back (%llu bad, %zu bytes)",
		    (unsigned long long)v.bad, v.bytes);
		ts_store_read_end(&t);
	}
	grown = ts_store_mapsize(s);
	ts_store_close(&s);
	/* A restart with the small configured size keeps the grown map. */
	CHECK_EQ_INT(ts_store_open(&s, path("grow"), 0, 64 << 10, 0), 0,
	    "reopen with 64 KiB");
	CHECK(ts_store_mapsize(s) == grown, "reopened map kept at %zu (%zu)",
	    grown, ts_store_mapsize(s));
	ts_store_close(&s);
	CHECK_EQ_INT(ts_store_open(&s, path("grow"), 0, 64 << 10, 1 << 20), 0,
	    "reopen with a max below the grown size");
	CHECK(ts_store_mapsize(s) >= total && ts_store_mapsize(s) <= grown,
	    "map covers the data (%zu)", ts_store_mapsize(s));
	ts_store_close(&s);
}

static void
test_mapmax(void)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	struct batch small = { 'M', 1, 3, 0 }, big = { 'M', 100, 400, 0 };
	struct verify v = { 'M', 1, 0, 0 };
	ts_bytes bb;

	CHECK_EQ_INT(ts_store_open(&s, path("max"), 0, 64 << 10, 256 << 10),
	    0, "open 64 KiB map, max 256 KiB");
	if (s == NULL)
		return;
	CHECK_EQ_INT(ts_store_write(s, batch_fn, &small), 0, "small txn fits");
	CHECK_EQ_INT(ts_store_write(s, batch_fn, &big), TS_ENOSPC,
	    "txn beyond mapsize_max -> ENOSPC");
	CHECK(ts_store_mapsize(s) <= 256 << 10, "map stayed within max (%zu)",
	    ts_store_mapsize(s));
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_env_get(t, "M", 100, &bb), TS_ENOTFOUND,
		    "failed txn's data absent");
		CHECK_EQ_INT(ts_env_get(t, "M", 499, &bb), TS_ENOTFOUND,
		    "failed txn's last envelope absent");
		CHECK_EQ_INT(ts_env_each(t, "M", verify_cb, &v), 0,
		    "earlier data readable");
		CHECK(v.bad == 0 && v.next == 4, "earlier data intact");
		ts_store_read_end(&t);
	}
	/* Still usable after ENOSPC. */
	small.first = 4;
	small.count = 1;
	CHECK_EQ_INT(ts_store_write(s, batch_fn, &small), 0,
	    "store usable after ENOSPC");
	ts_store_close(&s);

	/* A read txn of this process pins the mapping: growth must refuse
	 * (not pull the map from under it), and work once it has ended. */
	CHECK_EQ_INT(ts_store_open(&s, path("pinned"), 0, 64 << 10, 0), 0,
	    "open 64 KiB map");
	if (s == NULL)
		return;
	big.salt = small.salt = 'P';
	CHECK_EQ_INT(ts_store_read_begin(s, &t), 0, "hold a read txn");
	CHECK_EQ_INT(ts_store_write(s, batch_fn, &big), TS_ESTORE,
	    "no growth under an open read txn of this process");
	ts_store_read_end(&t);
	CHECK_EQ_INT(ts_store_write(s, batch_fn, &big), 0,
	    "grows once the read txn ended");
	ts_store_close(&s);
}

/* ---- processes ------------------------------------------------------ */

struct rl_count {
	pid_t	pid;
	int	n;
};

static int
rl_cb(const char *msg, void *ctx)
{
	struct rl_count *c = ctx;
	int pid;

	if (sscanf(msg, "%d", &pid) == 1 && pid == (int)c->pid)
		c->n++;
	return 0;
}

/* Child A: holds the environment open with bare LMDB (so the lock table
 * is not reset by a "first opener") and counts the reader slots of a pid
 * on request. */
static void
holder(const char *dir, int in, int out)
{
	MDB_env *env;
	struct rl_count c;
	char cmd;

	if (mdb_env_create(&env) != 0 ||
	    mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) != 0)
		_exit(2);
	if (write(out, "a", 1) != 1)
		_exit(3);
	while (read(in, &cmd, 1) == 1 && cmd == 'c') {
		if (read(in, &c.pid, sizeof(c.pid)) != sizeof(c.pid))
			_exit(4);
		c.n = 0;
		if (mdb_reader_list(env, rl_cb, &c) < 0)
			c.n = -1;
		if (write(out, &c.n, sizeof(c.n)) != sizeof(c.n))
			_exit(5);
	}
	mdb_env_close(env);
	_exit(0);
}

static int
holder_count(int to, int from, pid_t pid)
{
	int n = -2;

	if (write(to, "c", 1) != 1 ||
	    write(to, &pid, sizeof(pid)) != sizeof(pid) ||
	    read(from, &n, sizeof(n)) != sizeof(n))
		return -3;
	return n;
}

static int
wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
set_fn(ts_txn *t, void *arg)
{
	return ts_meta_put_u64(t, "after", *(uint64_t *)arg);
}

static void
test_stale_reader(void)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	uint64_t x = 77, u = 0;
	int down[2], up[2];
	pid_t a, b;
	char ch;

	/* Create the store, then let no one in this process hold it. */
	if (ts_store_open(&s, path("stale"), 0, 0, 0) != 0)
		return;
	ts_store_close(&s);
	if (pipe(down) == -1 || pipe(up) == -1)
		return;
	fflush(stdout);
	if ((a = fork()) == 0) {
		close(down[1]);
		close(up[0]);
		holder(path("stale"), down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	CHECK(a > 0 && read(up[0], &ch, 1) == 1 && ch == 'a',
	    "holder process has the env open");

	if ((b = fork()) == 0) {
		/* A tierctl killed -9 in the middle of a read. */
		if (ts_store_open(&s, path("stale"), TS_STORE_RDONLY, 0, 0) != 0 ||
		    ts_store_read_begin(s, &t) != 0)
			_exit(1);
		_exit(0);
	}
	CHECK_EQ_INT(wait_status(b), 0, "reader died inside a txn");
	CHECK_EQ_INT(holder_count(down[1], up[0], b), 1,
	    "dead reader's slot is left in the lock table");

	CHECK_EQ_INT(ts_store_open(&s, path("stale"), 0, 0, 0), 0,
	    "reopen read-write");
	CHECK_EQ_INT(holder_count(down[1], up[0], b), 0,
	    "open cleared the stale slot (mdb_reader_check)");
	if (s != NULL) {
		CHECK_EQ_INT(ts_store_write(s, set_fn, &x), 0,
		    "writes work after a reader died");
		if (ts_store_read_begin(s, &t) == 0) {
			CHECK(ts_meta_get_u64(t, "after", &u) == 0 && u == 77,
			    "write visible");
			ts_store_read_end(&t);
		}
		ts_store_close(&s);
	}
	close(down[1]);		/* holder exits on EOF */
	CHECK_EQ_INT(wait_status(a), 0, "holder exited cleanly");
	close(up[0]);
}

/* Child: a reader that begins before the writer grows the map past its
 * own mapping, keeps reading its snapshot, then a new txn adopts the new
 * size (MAP_RESIZED) and sees everything.  Exit code says what failed. */
static int
resized_child(const char *dir, int in, int out)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	struct verify v = { 'R', 1, 0, 0 };
	ts_bytes e;
	size_t before;
	char ch;

	if (ts_store_open(&s, dir, TS_STORE_RDONLY, 0, 0) != 0)
		return 10;
	before = ts_store_mapsize(s);
	if (ts_store_read_begin(s, &t) != 0)
		return 11;
	if (ts_env_get(t, "R", 1, &e) != 0 || !pat_check(e.p, e.len, 'R', 1))
		return 12;
	if (write(out, "r", 1) != 1 || read(in, &ch, 1) != 1)
		return 13;
	/* The map has grown under us: the old snapshot still reads. */
	if (ts_env_get(t, "R", 1, &e) != 0 || !pat_check(e.p, e.len, 'R', 1))
		return 14;
	if (ts_env_get(t, "R", 2, &e) != TS_ENOTFOUND)
		return 15;
	ts_store_read_end(&t);
	if (ts_store_read_begin(s, &t) != 0)
		return 16;
	if (ts_store_mapsize(s) <= before)
		return 17;
	if (ts_env_each(t, "R", verify_cb, &v) != 0 || v.bad != 0 ||
	    v.next != 401)
		return 18;
	ts_store_read_end(&t);
	ts_store_close(&s);
	return 0;
}

static void
test_resized(void)
{
	ts_store *s = NULL;
	struct batch first = { 'R', 1, 1, 0 }, rest = { 'R', 2, 0, 0 };
	int down[2], up[2], rc = 0;
	pid_t r;
	char ch;

	if (ts_store_open(&s, path("resize"), 0, 64 << 10, 0) != 0)
		return;
	CHECK_EQ_INT(ts_store_write(s, batch_fn, &first), 0, "first envelope");
	if (pipe(down) == -1 || pipe(up) == -1)
		return;
	fflush(stdout);
	if ((r = fork()) == 0) {
		close(down[1]);
		close(up[0]);
		_exit(resized_child(path("resize"), down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	CHECK(r > 0 && read(up[0], &ch, 1) == 1 && ch == 'r',
	    "reader in another process holds a txn");
	for (rest.first = 2; rest.first < 401 && rc == 0; rest.first += 57) {
		rest.count = rest.first + 57 > 401 ? 401 - rest.first : 57;
		rc = ts_store_write(s, batch_fn, &rest);
	}
	CHECK_EQ_INT(rc, 0, "writer grew the map while the reader waited");
	CHECK(ts_store_mapsize(s) > (size_t)2 << 20, "map now %zu",
	    ts_store_mapsize(s));
	CHECK(write(down[1], "g", 1) == 1, "tell reader");
	CHECK_EQ_INT(wait_status(r), 0,
	    "old reader kept working; new txn adopted the grown map");
	close(down[1]);
	close(up[0]);
	ts_store_close(&s);
}

static int
own_del_fn(ts_txn *t, void *arg)
{
	ts_value v;
	int rc = 0;

	(void)arg;
	v = val("9", "", 5, 10);	rc |= ts_own_put(t, "2026", &v);
	v = val("9", "f", 2, 5);	rc |= ts_own_put(t, "2026", &v);
	v = val("90", "", 7, 7);	rc |= ts_own_put(t, "2026", &v);
	v = val("9", "", 1, 1);		rc |= ts_own_put(t, "2027", &v);
	if (rc != 0)
		return rc;
	return ts_own_del(t, "2026", "9");
}

/* ts_own_del removes every disaggregation of one indicator in one
 * period, and nothing else (not "90", not another period). */
static void
test_own_del(void)
{
	char dir[512];
	ts_store *s = NULL;
	ts_txn *t = NULL;
	ts_value *vals = NULL;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/owndel", tmpdir);
	CHECK_EQ_INT(ts_store_open(&s, dir, 0, 0, 0), 0, "open for own_del");
	CHECK_EQ_INT(ts_store_write(s, own_del_fn, NULL), 0, "put then own_del");
	CHECK_EQ_INT(ts_store_read_begin(s, &t), 0, "read txn");
	CHECK(ts_own_list(t, "2026", &vals, &n) == 0 && n == 1 &&
	    strcmp(vals[0].ind, "90") == 0, "only indicator 90 remains in 2026");
	free(vals);
	CHECK(ts_own_list(t, "2027", &vals, &n) == 0 && n == 1,
	    "2027 untouched");
	free(vals);
	ts_store_read_end(&t);
	ts_store_close(&s);
	rm_rf(dir);
}


/* ---- outbox references (ts_outbox_append_ref) ---- */

static const uint8_t ref_env[] = { 0x92, 0xc4, 0x01, 'b', 0xc4, 0x01, 's' };

static int
ref_fill_fn(ts_txn *t, void *arg)
{
	uint64_t *ids = arg;
	uint8_t zero[4] = { 0 };
	int rc;

	if ((rc = ts_env_put(t, "A", 1, ref_env, sizeof(ref_env))) != 0 ||
	    (rc = ts_outbox_append_ref(t, "A", 1, &ids[0])) != 0)
		return rc;
	CHECK_EQ_INT(ts_outbox_append_ref(t, "A", 2, &ids[1]), TS_ENOTFOUND,
	    "reference to an envelope env does not hold -> ENOTFOUND");
	CHECK_EQ_INT(ts_outbox_append_ref(t, "", 1, &ids[1]), TS_EINVAL,
	    "reference with an empty origin -> EINVAL");
	CHECK_EQ_INT(ts_outbox_append_ref(t, "A", 0, &ids[1]), TS_EINVAL,
	    "reference to seq 0 -> EINVAL");
	CHECK_EQ_INT(ts_outbox_append(t, zero, sizeof(zero), &ids[1]), TS_EINVAL,
	    "raw entry starting with the reference marker -> EINVAL");
	return ts_outbox_append(t, ref_env, sizeof(ref_env), &ids[1]);
}

struct ref_seen { uint64_t id[4]; size_t len[4]; int same[4]; int n; };

static int
ref_cb(uint64_t id, const uint8_t *env, size_t len, void *arg)
{
	struct ref_seen *r = arg;

	if (r->n < 4) {
		r->id[r->n] = id;
		r->len[r->n] = len;
		r->same[r->n] = len == sizeof(ref_env) &&
		    memcmp(env, ref_env, len) == 0;
		r->n++;
	}
	return 0;
}

/* Open a store's LMDB environment behind the store's back. */
static int
raw_open(const char *dir, MDB_env **envp)
{
	int rc;

	if ((rc = mdb_env_create(envp)) != 0)
		return rc;
	if ((rc = mdb_env_set_maxdbs(*envp, 16)) != 0 ||
	    (rc = mdb_env_set_mapsize(*envp, (size_t)64 << 20)) != 0 ||
	    (rc = mdb_env_open(*envp, dir, 0, 0600)) != 0) {
		mdb_env_close(*envp);
		*envp = NULL;
	}
	return rc;
}

/* Put one raw record into DB db (bare LMDB). */
static int
raw_put(const char *dir, const char *db, const void *key, size_t klen,
    const void *val, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc;

	if ((rc = raw_open(dir, &env)) != 0)
		return rc;
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		k.mv_data = (void *)(uintptr_t)key;
		k.mv_size = klen;
		v.mv_data = (void *)(uintptr_t)val;
		v.mv_size = len;
		if ((rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi)) != 0 ||
		    (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* mdb_stat of DB db (bare LMDB). */
static int
raw_stat(const char *dir, const char *db, MDB_stat *st)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	if ((rc = raw_open(dir, &env)) != 0)
		return rc;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, db, 0, &dbi)) == 0)
			rc = mdb_stat(txn, dbi, st);
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* Put one raw outbox record behind the store's back (bare LMDB). */
static int
raw_outbox_put(const char *dir, uint64_t id, const void *val, size_t len)
{
	uint8_t key[8];
	int i;

	for (i = 0; i < 8; i++)
		key[i] = (uint8_t)(id >> (56 - 8 * i));
	return raw_put(dir, "outbox", key, 8, val, len);
}

static void
test_outbox_ref(void)
{
	static const uint8_t short_ref[] = { 0x00, 'A', 0x00 };
	static const uint8_t missing_ref[] = { 0x00, 'Z', 0x00, 0, 0, 0, 0, 0, 0, 0, 5 };
	struct ref_seen r = { 0 };
	ts_store *s = NULL;
	ts_txn *t = NULL;
	uint64_t ids[2] = { 0, 0 };

	CHECK_EQ_INT(ts_store_open(&s, path("sref"), 0, 0, 0), 0, "open sref");
	if (s == NULL)
		return;
	CHECK_EQ_INT(ts_store_write(s, ref_fill_fn, ids), 0, "append by reference");
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_outbox_each(t, 0, ref_cb, &r), 0, "outbox_each");
		ts_store_read_end(&t);
	}
	CHECK(r.n == 2 && r.id[0] == ids[0] && r.id[1] == ids[1],
	    "both entries, in id order");
	CHECK(r.same[0], "the reference is handed out as the envelope bytes");
	CHECK(r.same[1], "the raw entry is handed out as is");
	ts_store_close(&s);

	/* A truncated reference, then one to an envelope env lacks: the
	 * walk fails with TS_ESTORE instead of handing out garbage. */
	CHECK_EQ_INT(raw_outbox_put(path("sref"), 1000, short_ref, sizeof(short_ref)),
	    0, "plant a truncated reference");
	CHECK_EQ_INT(ts_store_open(&s, path("sref"), TS_STORE_RDONLY, 0, 0), 0,
	    "reopen read-only");
	if (s != NULL && ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_outbox_each(t, 0, count_cb, &r.n), TS_ESTORE,
		    "truncated reference -> ESTORE");
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
	CHECK_EQ_INT(raw_outbox_put(path("sref"), 1000, missing_ref, sizeof(missing_ref)),
	    0, "plant a reference to a missing envelope");
	CHECK_EQ_INT(ts_store_open(&s, path("sref"), TS_STORE_RDONLY, 0, 0), 0,
	    "reopen read-only");
	if (s != NULL && ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_outbox_each(t, 0, count_cb, &r.n), TS_ESTORE,
		    "reference to a missing envelope -> ESTORE");
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
}

/* ---- ts_store_prealloc ---- */

static int
pre_put_fn(ts_txn *t, void *arg)
{
	return ts_env_put(t, "P", *(uint64_t *)arg, ref_env, sizeof(ref_env));
}

static long long
file_size(const char *dir)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void
test_prealloc(void)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	ts_bytes b;
	uint64_t seq = 1;
	long long before, after;
	int more = 1, i, rc = 0;

	CHECK_EQ_INT(ts_store_open(&s, path("spre"), 0, 0, 0), 0, "open spre");
	if (s == NULL)
		return;
	CHECK_EQ_INT(ts_store_write(s, pre_put_fn, &seq), 0, "a first write");
	before = file_size(path("spre"));
	for (i = 0; i < 100 && more && rc == 0; i++)
		rc = ts_store_prealloc(s, 1 << 20, 128 << 10, &more);
	after = file_size(path("spre"));
	CHECK(rc == 0 && !more && i > 1, "prealloc reaches its slack in 128 KiB "
	    "steps (%d calls, rc %d)", i, rc);
	CHECK(after >= before + (1 << 20) - (64 << 10) && after <= before + (1 << 20) + (128 << 10),
	    "data.mdb grew by the slack (%lld -> %lld)", before, after);
	CHECK_EQ_INT(ts_store_prealloc(s, 1 << 20, 128 << 10, &more), 0,
	    "a second call with the slack in place");
	CHECK(file_size(path("spre")) == after && !more, "... writes nothing");
	for (seq = 2; seq <= 50 && rc == 0; seq++)
		rc = ts_store_write(s, pre_put_fn, &seq);
	CHECK_EQ_INT(rc, 0, "writes into the preallocated file");
	ts_store_close(&s);

	CHECK_EQ_INT(ts_store_open(&s, path("spre"), TS_STORE_RDONLY, 0, 0), 0,
	    "reopen read-only");
	if (s == NULL)
		return;
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK(ts_env_get(t, "P", 1, &b) == 0 && b.len == sizeof(ref_env) &&
		    memcmp(b.p, ref_env, b.len) == 0, "the first envelope intact");
		CHECK(ts_env_get(t, "P", 50, &b) == 0 && b.len == sizeof(ref_env),
		    "the last envelope intact");
		ts_store_read_end(&t);
	}
	after = file_size(path("spre"));
	CHECK_EQ_INT(ts_store_prealloc(s, 1 << 20, 128 << 10, &more), 0,
	    "prealloc on a read-only store is a no-op");
	CHECK(file_size(path("spre")) == after, "... and writes nothing");
	ts_store_close(&s);

	/* Never past the map. */
	CHECK_EQ_INT(ts_store_open(&s, path("spre2"), 0, 1 << 20, 1 << 20), 0,
	    "open with a 1 MiB map");
	if (s == NULL)
		return;
	seq = 1;
	(void)ts_store_write(s, pre_put_fn, &seq);
	for (i = 0, more = 1; i < 100 && more; i++)
		if (ts_store_prealloc(s, 64 << 20, 1 << 20, &more) != 0)
			break;
	CHECK(file_size(path("spre2")) <= (1 << 20), "the file stays within the "
	    "1 MiB map (%lld)", file_size(path("spre2")));
	ts_store_close(&s);
}

/* ---- lazy commits: durable with the next commit or ts_store_sync ---- */

static void
test_lazy(void)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	ts_bytes b;
	uint64_t seq = 1, g0, g1, g2;

	CHECK_EQ_INT(ts_store_open(&s, path("slazy"), 0, 0, 0), 0, "open slazy");
	if (s == NULL)
		return;
	g0 = ts_store_commits(s);       /* opening may have committed */
	CHECK(ts_store_is_durable(s, g0), "what open committed is durable");
	CHECK_EQ_INT(ts_store_write_ex(s, pre_put_fn, &seq, NULL, NULL,
	    TS_WRITE_LAZY), 0, "lazy commit");
	g1 = ts_store_commits(s);
	CHECK(g1 == g0 + 1 && !ts_store_is_durable(s, g1),
	    "a lazy commit is not yet durable (gen %llu)", (unsigned long long)g1);
	if (ts_store_read_begin(s, &t) == 0) {
		CHECK(ts_env_get(t, "P", 1, &b) == 0, "... but visible to readers");
		ts_store_read_end(&t);
	}
	seq = 2;
	CHECK_EQ_INT(ts_store_write_ex(s, pre_put_fn, &seq, NULL, NULL,
	    TS_WRITE_LAZY), 0, "a second lazy commit");
	g2 = ts_store_commits(s);
	CHECK(ts_store_is_durable(s, g1) && !ts_store_is_durable(s, g2),
	    "its data flush made the first durable, not itself");
	CHECK_EQ_INT(ts_store_sync(s), 0, "sync");
	CHECK(ts_store_is_durable(s, g2), "after sync every commit is durable");
	seq = 3;
	CHECK_EQ_INT(ts_store_write_ex(s, pre_put_fn, &seq, NULL, NULL, TS_WRITE_LAZY),
	    0, "a third lazy commit");
	seq = 4;
	CHECK_EQ_INT(ts_store_write(s, pre_put_fn, &seq), 0, "a plain commit");
	CHECK(ts_store_is_durable(s, ts_store_commits(s)),
	    "a plain commit is durable, and so is the lazy one before it");
	ts_store_close(&s);
	CHECK_EQ_INT(ts_store_open(&s, path("slazy"), TS_STORE_RDONLY, 0, 0), 0,
	    "reopen read-only");
	if (s != NULL && ts_store_read_begin(s, &t) == 0) {
		CHECK(ts_env_get(t, "P", 1, &b) == 0 && ts_env_get(t, "P", 4, &b) == 0,
		    "lazy and plain commits all there after reopening");
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
}

/* ---- env: references into envlog ---- */

#define LAY_ORIGINS	4
#define LAY_PER		500
#define LAY_BYTES	1500

/* Envelope-sized values, the origins interleaved as at a relay. */
static void
lay_env(uint8_t *b, int o, uint64_t seq)
{
	memset(b, 0x92, LAY_BYTES);
	b[1] = (uint8_t)o;
	memcpy(b + 2, &seq, sizeof(seq));
}

static int
lay_fill_fn(ts_txn *t, void *arg)
{
	uint8_t b[LAY_BYTES];
	uint64_t seq = *(uint64_t *)arg, q;
	char origin[2] = { 0, 0 };
	int o, rc;

	for (q = seq; q < seq + 50; q++)
		for (o = 0; o < LAY_ORIGINS; o++) {
			origin[0] = (char)('A' + o);
			lay_env(b, o, q);
			if ((rc = ts_env_put(t, origin, q, b, sizeof(b))) != 0)
				return rc;
		}
	return 0;
}

struct lay_walk {
	int n, bad;
	char origin[2];
	uint64_t next;
};

static int
lay_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	struct lay_walk *w = arg;
	uint8_t b[LAY_BYTES];

	lay_env(b, origin[0] - 'A', seq);
	if (strcmp(origin, w->origin) != 0 || seq != w->next ||
	    len != sizeof(b) || memcmp(env, b, len) != 0)
		w->bad++;
	w->n++;
	w->next++;
	return 0;
}

static int
lay_replace_fn(ts_txn *t, void *arg)
{
	const uint8_t *b = arg;

	return ts_env_put(t, "B", 7, b, LAY_BYTES);
}

static int
lay_inline_fn(ts_txn *t, void *arg)
{
	return ts_env_put(t, "I", 1, arg, LAY_BYTES);
}

/* Plant value v under env key R/1, reopen read-only: get and the walk
 * must both say TS_ESTORE. */
static void
lay_bad_env(const uint8_t *v, size_t len, const char *what)
{
	uint8_t key[2 + 8] = { 'R', 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct lay_walk w;
	ts_store *s = NULL;
	ts_txn *t = NULL;
	ts_bytes got;

	CHECK_EQ_INT(raw_put(path("lay"), "env", key, sizeof(key), v, len), 0,
	    "plant a %s", what);
	CHECK_EQ_INT(ts_store_open(&s, path("lay"), TS_STORE_RDONLY, 0, 0), 0,
	    "reopen read-only");
	if (s != NULL && ts_store_read_begin(s, &t) == 0) {
		CHECK_EQ_INT(ts_env_get(t, "R", 1, &got), TS_ESTORE,
		    "%s -> ESTORE", what);
		memset(&w, 0, sizeof(w));
		w.origin[0] = 'R';
		CHECK_EQ_INT(ts_env_each(t, "R", lay_cb, &w), TS_ESTORE,
		    "the walk meets the %s -> ESTORE", what);
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
}

static void
test_env_layout(void)
{
	static const uint8_t inline_env[] = { 0x92, 0xc4, 0x01, 'x', 0xc4, 0x00 };
	static const uint8_t short_ref[] = { 0x00, 0, 0, 0, 0 };
	static const uint8_t missing_ref[] = { 0x00, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40 };
	uint8_t key[2 + 8], b[LAY_BYTES];
	struct lay_walk w;
	ts_store *s = NULL;
	ts_txn *t = NULL;
	ts_bytes got;
	MDB_stat st;
	uint64_t seq;
	int o, ok;

	CHECK_EQ_INT(ts_store_open(&s, path("lay"), 0, 0, 0), 0, "open lay");
	if (s == NULL)
		return;
	ok = 1;
	for (seq = 1; seq <= LAY_PER && ok; seq += 50)
		ok = ts_store_write(s, lay_fill_fn, &seq) == 0;
	CHECK(ok, "2,000 envelopes of 4 interleaved origins stored");
	memset(b, 0x92, sizeof(b));
	b[1] = 0x55;
	CHECK_EQ_INT(ts_store_write(s, lay_replace_fn, b), 0,
	    "an envelope replaced");
	ok = 1;
	if (ts_store_read_begin(s, &t) == 0) {
		for (o = 0; o < LAY_ORIGINS; o++) {
			memset(&w, 0, sizeof(w));
			w.origin[0] = (char)('A' + o);
			w.next = 1;
			ok &= ts_env_each(t, w.origin, lay_cb, &w) == 0 &&
			    w.n == LAY_PER && w.bad == (o == 1 ? 1 : 0);
		}
		ok &= ts_env_get(t, "B", 7, &got) == 0 && got.len == sizeof(b) &&
		    memcmp(got.p, b, sizeof(b)) == 0;
		ts_store_read_end(&t);
	} else
		ok = 0;
	CHECK(ok, "every envelope reads back by origin and seq, the "
	    "replaced one as replaced");
	ts_store_close(&s);

	/* The point of envlog: appended, its leaves stay full (two such
	 * envelopes to a 4 KiB page), where envelopes keyed by (origin,
	 * seq) split mid-page and kept one to a page (2,000 leaves). */
	memset(&st, 0, sizeof(st));
	CHECK_EQ_INT(raw_stat(path("lay"), "envlog", &st), 0, "stat envlog");
	CHECK(st.ms_entries == LAY_ORIGINS * LAY_PER,
	    "one envlog record per envelope (the replaced one kept its id): %zu",
	    (size_t)st.ms_entries);
	CHECK(st.ms_leaf_pages <= LAY_ORIGINS * LAY_PER / 2 + 2,
	    "envlog leaves are full: %zu pages for %d envelopes",
	    (size_t)st.ms_leaf_pages, LAY_ORIGINS * LAY_PER);

	/* A store written before envlog holds the bytes inline: still read. */
	key[0] = 'I';
	key[1] = '\0';
	memset(key + 2, 0, 8);
	key[9] = 1;
	CHECK_EQ_INT(raw_put(path("lay"), "env", key, sizeof(key), inline_env,
	    sizeof(inline_env)), 0, "plant an inline (pre-envlog) envelope");
	CHECK_EQ_INT(ts_store_open(&s, path("lay"), TS_STORE_RDONLY, 0, 0), 0,
	    "reopen read-only");
	if (s != NULL && ts_store_read_begin(s, &t) == 0) {
		CHECK(ts_env_get(t, "I", 1, &got) == 0 &&
		    got.len == sizeof(inline_env) &&
		    memcmp(got.p, inline_env, got.len) == 0,
		    "the inline envelope reads back as it was");
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
	/* Replacing it turns it into a reference. */
	CHECK_EQ_INT(ts_store_open(&s, path("lay"), 0, 0, 0), 0, "reopen");
	if (s != NULL) {
		ok = ts_store_write(s, lay_inline_fn, b) == 0 &&
		    ts_store_read_begin(s, &t) == 0;
		if (ok) {
			ok = ts_env_get(t, "I", 1, &got) == 0 &&
			    got.len == sizeof(b) && memcmp(got.p, b, got.len) == 0;
			ts_store_read_end(&t);
		}
		CHECK(ok, "an inline envelope replaced reads back as replaced");
	}
	ts_store_close(&s);
	CHECK(raw_stat(path("lay"), "envlog", &st) == 0 &&
	    st.ms_entries == LAY_ORIGINS * LAY_PER + 1,
	    "... from a new envlog record");

	/* A truncated reference, then one to a record envlog lacks:
	 * TS_ESTORE from get and from the walk, never garbage. */
	lay_bad_env(short_ref, sizeof(short_ref), "truncated reference");
	lay_bad_env(missing_ref, sizeof(missing_ref),
	    "reference to a missing envlog record");

	/* An envlog key that is not 8 bytes (sorting last): the next put
	 * fails with TS_ESTORE and stores nothing. */
	memset(key, 0xff, 9);
	CHECK_EQ_INT(raw_put(path("lay"), "envlog", key, 9, "x", 1), 0,
	    "plant a 9-byte envlog key");
	CHECK_EQ_INT(ts_store_open(&s, path("lay"), 0, 0, 0), 0, "reopen");
	if (s != NULL) {
		b[1] = 0x66;
		CHECK_EQ_INT(ts_store_write(s, lay_inline_fn, b), TS_ESTORE,
		    "a put after a malformed envlog key -> ESTORE");
		ok = ts_store_read_begin(s, &t) == 0;
		if (ok) {
			ok = ts_env_get(t, "I", 1, &got) == 0 &&
			    got.len == sizeof(b) && got.p[1] == 0x55;
			ts_store_read_end(&t);
		}
		CHECK(ok, "... and nothing of it was stored (the old envelope stays)");
	}
	ts_store_close(&s);
}

/* ---- the simulator's power cut ---- */

static int
pc_put_fn(ts_txn *t, void *arg)
{
	return ts_meta_put_u64(t, "pc", *(uint64_t *)arg);
}

static uint64_t
pc_value(const char *dir)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	uint64_t v = 99;

	if (ts_store_open(&s, dir, TS_STORE_NOLOCK, 0, 0) != 0)
		return 98;
	if (ts_store_read_begin(s, &t) == 0) {
		if (ts_meta_get_u64(t, "pc", &v) != 0)
			v = 97;
		ts_store_read_end(&t);
	}
	ts_store_close(&s);
	return v;
}

/* A lazy commit that no later commit or sync made durable is lost by a
 * power cut, and only that one; a durable one never is. */
static void
test_power_cut(void)
{
	ts_store *s = NULL;
	uint64_t v;
	int lost = -1, i;

	CHECK_EQ_INT(ts_store_open(&s, path("pc"), TS_STORE_NOLOCK, 0, 0), 0,
	    "open a NOSYNC store");
	v = 1;
	CHECK_EQ_INT(ts_store_write(s, pc_put_fn, &v), 0, "durable commit 1");
	v = 2;
	CHECK_EQ_INT(ts_store_write_ex(s, pc_put_fn, &v, NULL, NULL,
	    TS_WRITE_LAZY), 0, "lazy commit 2");
	CHECK(!ts_store_is_durable(s, ts_store_commits(s)),
	    "a NOSYNC store keeps the lazy bookkeeping");
	CHECK_EQ_INT(ts_store_power_cut(&s, &lost), 0, "power cut");
	CHECK(s == NULL && lost == 1, "closed, one commit lost");
	CHECK_EQ_INT((int)pc_value(path("pc")), 1, "the store opens at commit 1");

	/* Twice in a row, alternating meta slots, then a durable tail. */
	for (i = 0; i < 3; i++) {
		CHECK_EQ_INT(ts_store_open(&s, path("pc"), TS_STORE_NOLOCK, 0, 0), 0,
		    "reopen %d", i);
		v = 10 + (uint64_t)i;
		CHECK_EQ_INT(ts_store_write_ex(s, pc_put_fn, &v, NULL, NULL,
		    TS_WRITE_LAZY), 0, "lazy %d", i);
		if (i == 2) {
			v = 20;
			CHECK_EQ_INT(ts_store_write_ex(s, pc_put_fn, &v, NULL, NULL,
			    TS_WRITE_LAZY), 0, "a second lazy commit");
		}
		CHECK_EQ_INT(ts_store_power_cut(&s, &lost), 0, "power cut %d", i);
		CHECK(lost == 1, "lost the last commit %d", i);
	}
	CHECK_EQ_INT((int)pc_value(path("pc")), 12,
	    "the last lazy commit is lost, the one before it is not");

	CHECK_EQ_INT(ts_store_open(&s, path("pc"), TS_STORE_NOLOCK, 0, 0), 0, "reopen");
	v = 30;
	CHECK_EQ_INT(ts_store_write_ex(s, pc_put_fn, &v, NULL, NULL,
	    TS_WRITE_LAZY), 0, "lazy 30");
	CHECK_EQ_INT(ts_store_sync(s), 0, "sync");
	CHECK_EQ_INT(ts_store_power_cut(&s, &lost), 0, "power cut after a sync");
	CHECK(lost == 0 && pc_value(path("pc")) == 30, "nothing durable is lost");

	/* Injected commit failures: nothing of the txn is stored. */
	CHECK_EQ_INT(ts_store_open(&s, path("pc"), TS_STORE_NOLOCK, 0, 0), 0, "reopen");
	CHECK_EQ_INT(ts_store_fail_commits(s, 1), 0, "fail the next commit");
	v = 40;
	CHECK_EQ_INT(ts_store_write(s, pc_put_fn, &v), TS_ESTORE,
	    "an injected commit failure is TS_ESTORE");
	v = 41;
	CHECK_EQ_INT(ts_store_write(s, pc_put_fn, &v), 0, "the next one commits");
	ts_store_close(&s);
	CHECK(pc_value(path("pc")) == 41, "the failed txn left nothing");

	/* Only for the simulator's stores. */
	CHECK_EQ_INT(ts_store_open(&s, path("pc-real"), 0, 0, 0), 0, "open a real store");
	CHECK_EQ_INT(ts_store_power_cut(&s, &lost), TS_EINVAL,
	    "a real store refuses a simulated power cut");
	CHECK_EQ_INT(ts_store_fail_commits(s, 1), TS_EINVAL,
	    "a real store refuses injected failures");
	ts_store_close(&s);
}

/*
 * ts_store_mdb_err, the one LMDB error map, for every code LMDB defines.
 * A real MDB_TXN_FULL needs ~131,072 dirty pages (512 MiB) in one txn and
 * LMDB spills dirty pages to disk before it gets there: not something a
 * unit test can provoke, so the map is checked code by code.
 */
static void
test_mdb_err(void)
{
	static const struct { int mdb, ts; const char *name; } map[] = {
		{ 0,			0,		"0" },
		{ MDB_KEYEXIST,		TS_ESTORE,	"MDB_KEYEXIST" },
		{ MDB_NOTFOUND,		TS_ENOTFOUND,	"MDB_NOTFOUND" },
		{ MDB_PAGE_NOTFOUND,	TS_ESTORE,	"MDB_PAGE_NOTFOUND" },
		{ MDB_CORRUPTED,	TS_ESTORE,	"MDB_CORRUPTED" },
		{ MDB_PANIC,		TS_ESTORE,	"MDB_PANIC" },
		{ MDB_VERSION_MISMATCH,	TS_ESTORE,	"MDB_VERSION_MISMATCH" },
		{ MDB_INVALID,		TS_ESTORE,	"MDB_INVALID" },
		{ MDB_MAP_FULL,		TS_ENOSPC,	"MDB_MAP_FULL" },
		{ MDB_DBS_FULL,		TS_ESTORE,	"MDB_DBS_FULL" },
		{ MDB_READERS_FULL,	TS_ESTORE,	"MDB_READERS_FULL" },
		{ MDB_TLS_FULL,		TS_ESTORE,	"MDB_TLS_FULL" },
		{ MDB_TXN_FULL,		TS_ENOSPC,	"MDB_TXN_FULL" },
		{ MDB_CURSOR_FULL,	TS_ESTORE,	"MDB_CURSOR_FULL" },
		{ MDB_PAGE_FULL,	TS_ESTORE,	"MDB_PAGE_FULL" },
		{ MDB_MAP_RESIZED,	TS_ESTORE,	"MDB_MAP_RESIZED" },
		{ MDB_INCOMPATIBLE,	TS_ESTORE,	"MDB_INCOMPATIBLE" },
		{ MDB_BAD_RSLOT,	TS_ESTORE,	"MDB_BAD_RSLOT" },
		{ MDB_BAD_TXN,		TS_ESTORE,	"MDB_BAD_TXN" },
		{ MDB_BAD_VALSIZE,	TS_ESTORE,	"MDB_BAD_VALSIZE" },
		{ MDB_BAD_DBI,		TS_ESTORE,	"MDB_BAD_DBI" },
		{ ENOSPC,		TS_ENOSPC,	"ENOSPC" },
		{ EDQUOT,		TS_ENOSPC,	"EDQUOT" },
		{ ENOMEM,		TS_ENOMEM,	"ENOMEM" },
		{ ENOENT,		TS_ENOTFOUND,	"ENOENT" },
		{ EIO,			TS_ESTORE,	"EIO" },
		{ EACCES,		TS_ESTORE,	"EACCES" },
		{ EINVAL,		TS_ESTORE,	"EINVAL" },
		{ -30000,		TS_ESTORE,	"an unknown negative code" },
		{ TS_EINVAL,		TS_EINVAL,	"TS_EINVAL passes through" },
		{ TS_ENOSPC,		TS_ENOSPC,	"TS_ENOSPC passes through" },
	};
	size_t i, covered = 0;
	int rc, ok = 1, every = 1;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		rc = ts_store_mdb_err(map[i].mdb);
		if (rc != map[i].ts) {
			ok = 0;
			printf("# %s -> %d, want %d\n", map[i].name, rc,
			    map[i].ts);
		}
		if (map[i].mdb >= MDB_KEYEXIST && map[i].mdb <= MDB_LAST_ERRCODE)
			covered++;
	}
	CHECK(ok, "ts_store_mdb_err maps each LMDB code as store.h says");
	CHECK_EQ_INT(covered, MDB_LAST_ERRCODE - MDB_KEYEXIST + 1,
	    "the table above names every MDB_* code of this LMDB");
	CHECK_EQ_INT(ts_store_mdb_err(MDB_TXN_FULL), TS_ENOSPC,
	    "MDB_TXN_FULL is full (TS_ENOSPC), not a store error");
	/* Whatever comes in, what goes out is 0 or a TS_E* code. */
	for (rc = MDB_KEYEXIST - 10; rc <= MDB_LAST_ERRCODE + 10; rc++)
		if (!TS_IS_ERR(ts_store_mdb_err(rc)))
			every = 0;
	for (rc = 1; rc < 4096; rc++)
		if (!TS_IS_ERR(ts_store_mdb_err(rc)))
			every = 0;
	CHECK(every, "every LMDB code and errno maps into the TS range");
	CHECK(TS_ERR_MAX < MDB_KEYEXIST || TS_ERR_MIN > MDB_LAST_ERRCODE,
	    "the TS range [%d, %d] and LMDB's [%d, %d] are disjoint",
	    TS_ERR_MIN, TS_ERR_MAX, MDB_KEYEXIST, MDB_LAST_ERRCODE);
}

/* ---- bounded fork evidence ---- */

struct forks_arg { unsigned from, n; uint8_t *env; size_t len; };

static int
forks_fn(ts_txn *t, void *arg)
{
	struct forks_arg *a = arg;
	uint8_t h[TS_HASH_LEN];
	unsigned i;
	int rc;

	for (i = a->from; i < a->from + a->n; i++) {
		memset(h, 0, sizeof(h));
		memcpy(h, &i, sizeof(i));
		a->env[0] = (uint8_t)i;
		if ((rc = ts_fork_put(t, "03391", 7, h, a->env, a->len)) != 0)
			return rc;
	}
	return 0;
}

static void
test_forks_bounded(void)
{
	ts_store *s = NULL;
	ts_txn *t = NULL;
	struct stat st;
	uint64_t n = 0;
	char file[4200];
	struct forks_arg a = { 0, 100, NULL, 512 << 10 };

	if ((a.env = calloc(1, a.len)) == NULL)
		return;
	CHECK_EQ_INT(ts_store_open(&s, path("forks"), 0, 0, 0), 0, "open");
	CHECK_EQ_INT(ts_store_write(s, forks_fn, &a), 0,
	    "100 forks of 512 KiB for one origin and seq");
	a.from = 0;
	a.n = 1;
	CHECK_EQ_INT(ts_store_write(s, forks_fn, &a), 0, "the first fork again");
	CHECK_EQ_INT(ts_store_read_begin(s, &t), 0, "read");
	CHECK(ts_fork_count(t, &n) == 0 && n == TS_FORK_HASHES_MAX,
	    "%d forks kept (got %llu), no more", TS_FORK_HASHES_MAX,
	    (unsigned long long)n);
	ts_store_read_end(&t);
	ts_store_close(&s);
	snprintf(file, sizeof(file), "%s/data.mdb", path("forks"));
	CHECK(stat(file, &st) == 0 && st.st_size < (4 << 20),
	    "one whole envelope kept, the rest hashes: data.mdb %lld bytes, "
	    "not 50 MB", (long long)st.st_size);
	free(a.env);
}

int
main(void)
{
	log_init("test_store", 0, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_mdb_err();
	test_basic();
	test_empty_rdonly();
	test_growth();
	test_mapmax();
	test_stale_reader();
	test_resized();
	test_own_del();
	test_outbox_ref();
	test_prealloc();
	test_lazy();
	test_env_layout();
	test_power_cut();
	test_forks_bounded();
	rm_rf(tmpdir);
	return ts_test_done();
}
