/*
 * tsbench — the C half of tools/bench (docs/BENCHMARKS.md).
 *
 *   tsbench crypto  [--values V] [--ms MS]
 *       Ed25519 sign/s and verify/s, BLAKE2b/s, report decode/s, seal/s
 *       on a commune-sized body, one core.
 *   tsbench lmdb DIR [--commits N] [--gap-ms G]
 *       N durable LMDB commits (default sync, one small put each):
 *       commits/s and the median / p99 commit time.  --gap-ms G: wait
 *       G ms before each commit, so every commit starts from idle as an
 *       envelope's do in the idle latency test (commits/s counts the
 *       commits' own time, not the waits).
 *   tsbench zmq [--pings N] [--gap-ms G] [--bytes B]
 *       One ZeroMQ hop as the links use it (DEALER to ROUTER over TCP on
 *       127.0.0.1, CURVE, a ZAP handler admitting only the client's key):
 *       N pings of B bytes, one every G ms (idle), echoed by a forked
 *       server; one-way latency = round trip / 2, median and p99.
 *   tsbench keygen --topology F --pub OUT --sec OUT [--skip A,B,...]
 *       Fresh Ed25519 + CURVE keys for every unit of F (except --skip):
 *       OUT pub = keys file lines, OUT sec = code, sign_sk hex, curve pk
 *       and sk (Z85).  Bench material only: lives in a temp dir.
 *   tsbench prefill --conf NODE.conf --count N [--values V | --env-bytes B]
 *       [--period P]
 *       Writes N chained own envelopes (seq 1..N) into a stopped node's
 *       store exactly as rollup.c would (env, chain, latest, outbox,
 *       meta seq/head), so the real daemon pushes them when started.
 *   tsbench push --topology F --keys F --sec F --as CODE --to EP
 *       [--origins self|subtree] [--count K] [--values V | --env-bytes B]
 *       [--batch B] [--window W] [--rate R] [--watch STORE]
 *       [--timeout S]
 *       Plays unit CODE towards its parent's real tiersyncd over a CURVE
 *       DEALER: HELLO, WELCOME, PUSH (window W, batch B), waits for every
 *       ACK.  Pre-builds K chained envelopes per origin (seq 1..K), signed
 *       with the origin's key.  --rate R: send R envelopes/s (a new one
 *       goes out as soon as the window allows, like uplink.c) and report
 *       latency, to the ACK or (with --watch) until the envelope is
 *       visible in another node's store (read-only LMDB, polled).
 *   tsbench wait --store DIR --origin X --seq N [--timeout S]
 *       Polls a store until origin X's chain reaches seq N; prints the
 *       CLOCK_MONOTONIC time (s) when it did.
 *
 * Every result is one JSON object on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <lmdb.h>
#include <sodium.h>
#include <zmq.h>

#include "tiersync/common.h"
#include "tiersync/config.h"
#include "tiersync/identity.h"
#include "tiersync/proto.h"
#include "tiersync/store.h"
#include "tiersync/topology.h"

static void die(const char *fmt, const char *a) __attribute__((noreturn));

/* fmt holds at most one "%s", replaced by a. */
static void
die(const char *fmt, const char *a)
{
	const char *p = strstr(fmt, "%s");
	if (p == NULL)
		fprintf(stderr, "tsbench: %s\n", fmt);
	else
		fprintf(stderr, "tsbench: %.*s%s%s\n", (int)(p - fmt), fmt, a ? a : "", p + 2);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
	size_t i;
	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* ---- argument helpers ---- */

static const char *
opt(int argc, char **argv, const char *name, const char *def)
{
	int i;
	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

/* A whole number >= 0 for option name, or def if absent.  Anything else
 * ("x", "5k", "-1") stops the program naming the option: read as 0 it
 * would have run a different benchmark than the one asked for. */
static long
opt_l(int argc, char **argv, const char *name, long def)
{
	const char *s = opt(argc, argv, name, NULL);
	char *end;
	long v;

	if (s == NULL)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "tsbench: %s: '%s' is not a whole number >= 0\n", name, s);
		exit(2);
	}
	return v;
}

/* ---- synthetic commune reports ---- */

static const char *const DIS[] = {
	"", "female", "male", "age0-5", "age6-10", "age11-15", "age16-17",
	"ethnic-minority", "disability", "rural", "urban", "poor-household",
	"female/age0-5", "female/age6-10", "female/age11-15", "female/age16-17",
	"male/age0-5", "male/age6-10", "male/age11-15", "male/age16-17",
};

/* Values of a commune report: 29 indicators (CT01..CT29), each with a
 * total and then disaggregations, nv values in all. */
static void
make_values(ts_report *r, size_t nv, uint32_t salt)
{
	size_t i;
	r->values = calloc(nv ? nv : 1, sizeof(ts_value));
	if (r->values == NULL)
		die("out of memory%s", NULL);
	r->nvalues = nv;
	for (i = 0; i < nv; i++) {
		ts_value *v = &r->values[i];
		size_t d = i / 29;
		snprintf(v->ind, sizeof(v->ind), "CT%02zu", i % 29 + 1);
		snprintf(v->dis, sizeof(v->dis), "%s%s", DIS[d % (sizeof(DIS) / sizeof(DIS[0]))],
		    d >= sizeof(DIS) / sizeof(DIS[0]) ? "/x" : "");
		v->num = (salt * 2654435761u + (uint32_t)i * 40503u) % 5000u;
		v->den = (i % 3 == 0) ? 0 : 5000 + (uint64_t)(i * 7 % 3000);
	}
	if (ts_report_sort(r) != 0)
		die("values not unique%s", NULL);
}

struct envset {
	size_t   n;
	ts_bytes *env;          /* into one block */
	uint8_t  *block;
	char    (*origin)[TS_CODE_MAX + 1];
	uint64_t *seq;
	size_t   body_bytes;    /* sum of body sizes */
	size_t   env_bytes;     /* sum of envelope sizes */
	uint8_t  last_hash[TS_HASH_LEN];
};

/* Append K chained envelopes of one origin. */
static void
build_chain(struct envset *es, ts_buf *all, const char *origin, const char *topo,
    const ts_unit *unit, const uint8_t sk[TS_SIGN_SK_LEN], size_t k, size_t nv,
    const char **periods, size_t nperiods, uint8_t head_out[TS_HASH_LEN])
{
	uint8_t prev[TS_HASH_LEN] = { 0 };
	size_t s;

	for (s = 1; s <= k; s++) {
		ts_report r;
		size_t before = all->len;
		ts_env_view v;

		memset(&r, 0, sizeof(r));
		snprintf(r.origin, sizeof(r.origin), "%s", origin);
		snprintf(r.period, sizeof(r.period), "%s", periods[(s - 1) % nperiods]);
		snprintf(r.topo, sizeof(r.topo), "%s", topo);
		r.seq = s;
		memcpy(r.prev, prev, TS_HASH_LEN);
		r.created_ms = ts_now_ms();
		/* What the origin's place in the tree allows (receivers
		 * refuse anything else): a leaf reports itself, a unit all
		 * its children and leaves, on time (unit NULL: a leaf). */
		if (unit != NULL && unit->nchildren > 0) {
			r.comp.expected = r.comp.reported = r.comp.on_time =
			    (uint32_t)unit->nchildren;
			r.comp.leaf_expected = r.comp.leaf_reported =
			    r.comp.leaf_on_time = unit->nleaves;
		} else
			r.comp.leaf_expected = r.comp.leaf_reported =
			    r.comp.leaf_on_time = 1;
		make_values(&r, nv, (uint32_t)s);
		if (ts_env_seal(&r, sk, all, prev) != 0)
			die("seal failed for %s", origin);
		ts_report_clear(&r);
		es->env = realloc(es->env, (es->n + 1) * sizeof(*es->env));
		es->origin = realloc(es->origin, (es->n + 1) * sizeof(*es->origin));
		es->seq = realloc(es->seq, (es->n + 1) * sizeof(*es->seq));
		if (es->env == NULL || es->origin == NULL || es->seq == NULL)
			die("out of memory%s", NULL);
		es->env[es->n].p = (const uint8_t *)(uintptr_t)before;   /* offset */
		es->env[es->n].len = all->len - before;
		snprintf(es->origin[es->n], TS_CODE_MAX + 1, "%s", origin);
		es->seq[es->n] = s;
		if (ts_env_split(all->buf + before, all->len - before, &v) != 0)
			die("split%s", NULL);
		es->body_bytes += v.body_len;
		es->env_bytes += all->len - before;
		es->n++;
	}
	if (head_out)
		memcpy(head_out, prev, TS_HASH_LEN);
}

static void
envset_fix(struct envset *es, ts_buf *all)
{
	size_t i;
	es->block = all->buf;
	for (i = 0; i < es->n; i++)
		es->env[i].p = es->block + (uintptr_t)es->env[i].p;
}

/* Number of values that makes an envelope of about `bytes`. */
static size_t
values_for_bytes(size_t bytes)
{
	size_t nv;
	uint8_t sk[64], pk[32];
	crypto_sign_keypair(pk, sk);
	for (nv = 1; nv < 4000; nv++) {
		ts_buf b = { 0 };
		struct envset es = { 0 };
		const char *p = "2025";
		build_chain(&es, &b, "03391", "vn-2025-03", NULL, sk, 1, nv, &p, 1, NULL);
		size_t got = es.env_bytes;
		free(es.env); free(es.origin); free(es.seq); ts_buf_free(&b);
		if (got >= bytes)
			return nv;
	}
	return nv;
}

static size_t
nvalues_opt(int argc, char **argv)
{
	long eb = opt_l(argc, argv, "--env-bytes", 0);
	if (eb > 0)
		return values_for_bytes((size_t)eb);
	return (size_t)opt_l(argc, argv, "--values", 100);
}

/* ---- crypto ---- */

static int
cmd_crypto(int argc, char **argv)
{
	size_t nv = nvalues_opt(argc, argv);
	double ms = (double)opt_l(argc, argv, "--ms", 1000) / 1000.0;
	uint8_t pk[32], sk[64], sig[64], h[32];
	ts_buf b = { 0 };
	struct envset es = { 0 };
	const char *p = "2025";
	ts_env_view v;
	double t0, t;
	long n;

	crypto_sign_keypair(pk, sk);
	build_chain(&es, &b, "03391", "vn-2025-03", NULL, sk, 1, nv, &p, 1, NULL);
	envset_fix(&es, &b);
	ts_env_split(es.env[0].p, es.env[0].len, &v);

	for (n = 0, t0 = now_s(); (t = now_s()) - t0 < ms; n++)
		crypto_sign_detached(sig, NULL, v.body, v.body_len, sk);
	double sign_s = (double)n / (t - t0);
	for (n = 0, t0 = now_s(); (t = now_s()) - t0 < ms; n++)
		if (crypto_sign_verify_detached(v.sig, v.body, v.body_len, pk) != 0)
			die("verify failed%s", NULL);
	double verify_s = (double)n / (t - t0);
	for (n = 0, t0 = now_s(); (t = now_s()) - t0 < ms; n++)
		ts_body_hash(v.body, v.body_len, h);
	double hash_s = (double)n / (t - t0);
	for (n = 0, t0 = now_s(); (t = now_s()) - t0 < ms; n++) {
		ts_report r;
		if (ts_report_decode(v.body, v.body_len, &r) != 0)
			die("decode failed%s", NULL);
		ts_report_clear(&r);
	}
	double decode_s = (double)n / (t - t0);
	for (n = 0, t0 = now_s(); (t = now_s()) - t0 < ms; n++) {
		ts_report_hdr hdr;
		if (ts_report_check(v.body, v.body_len, &hdr) != 0)
			die("check failed%s", NULL);
	}
	double check_s = (double)n / (t - t0);
	printf("{\"test\":\"crypto\",\"values\":%zu,\"body_bytes\":%zu,\"env_bytes\":%zu,"
	    "\"sign_per_s\":%.0f,\"verify_per_s\":%.0f,\"blake2b_per_s\":%.0f,"
	    "\"decode_per_s\":%.0f,\"check_per_s\":%.0f}\n", nv, v.body_len,
	    es.env[0].len, sign_s, verify_s, hash_s, decode_s, check_s);
	ts_buf_free(&b);
	free(es.env); free(es.origin); free(es.seq);
	return 0;
}

/* ---- lmdb durable commits ---- */

static int
cmd_lmdb(int argc, char **argv)
{
	const char *dir = argc > 2 ? argv[2] : NULL;
	long n = opt_l(argc, argv, "--commits", 200), i;
	long gap = opt_l(argc, argv, "--gap-ms", 0);
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	double *lat, busy = 0;
	char val[128];

	if (dir == NULL)
		die("lmdb needs a directory%s", NULL);
	if (n < 1)
		die("lmdb: --commits >= 1%s", NULL);
	memset(val, 'x', sizeof(val));
	if ((lat = calloc((size_t)n, sizeof(double))) == NULL ||
	    mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, 64u << 20) != 0 ||
	    mdb_env_open(env, dir, MDB_NOTLS, 0600) != 0)
		die("cannot open LMDB in %s", dir);
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
	    mdb_txn_commit(txn) != 0)
		die("lmdb setup%s", NULL);
	for (i = 0; i < n; i++) {
		uint64_t k = (uint64_t)i;
		MDB_val key = { sizeof(k), &k }, data = { sizeof(val), val };
		double a;
		if (gap > 0)
			sleep_us(gap * 1000);
		a = now_s();
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_put(txn, dbi, &key, &data, 0) != 0 ||
		    mdb_txn_commit(txn) != 0)
			die("lmdb commit%s", NULL);
		lat[i] = (now_s() - a) * 1000.0;
		busy += lat[i] / 1000.0;
	}
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("{\"test\":\"lmdb\",\"commits\":%ld,\"gap_ms\":%ld,\"commits_per_s\":%.0f,"
	    "\"commit_ms_p50\":%.3f,\"commit_ms_p99\":%.3f,\"floor3_ms\":%.3f}\n", n, gap,
	    busy > 0 ? (double)n / busy : 0.0, pct(lat, (size_t)n, 0.5),
	    pct(lat, (size_t)n, 0.99), 3 * pct(lat, (size_t)n, 0.5));
	mdb_env_close(env);
	free(lat);
	return 0;
}

/* With --watch, look at the store at least this often even if no write
 * woke us (a safety net; inotify reports every pwrite LMDB makes). */
#define WATCH_BACKSTOP_MS	5
/* A reader's snapshot is the txnid the writer publishes in lock.mdb
 * (mti_txnid) just AFTER its pwrite of the meta page returns, and that
 * store makes no inotify event.  Woken by the meta write, we can look
 * first (woken on the writer's CPU, we may even preempt it) and see the
 * previous txn; nothing would wake us again until the backstop, which
 * added 5 ms to ~5 % of the idle test's envelopes (up to a third in a
 * traced run).  So a write that shows nothing new is followed by more
 * looks, WATCH_RELOOK_US later, then twice that, ..., WATCH_RELOOKS
 * times (~1.5 ms in all), on a timerfd: the sends never wait for them. */
#define WATCH_RELOOK_US		50
#define WATCH_RELOOKS		5

/* ---- one ZeroMQ hop ---- */

/* Answer one ZAP request: 200 only for CURVE and key ck (binary). */
static int
zap_answer(void *zap, const uint8_t *ck)
{
	zmq_msg_t f[7];
	char id[64] = "";
	size_t idl = 0;
	int i, nf = 0, more = 1, ok;

	while (more && nf < 7) {
		if (zmq_msg_init(&f[nf]) != 0 || zmq_msg_recv(&f[nf], zap, 0) == -1)
			return -1;
		more = zmq_msg_more(&f[nf]);
		nf++;
	}
	ok = !more && nf == 7 &&
	    zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[6]) == 32 && memcmp(zmq_msg_data(&f[6]), ck, 32) == 0;
	if (nf >= 2) {      /* the reply echoes the request id */
		idl = zmq_msg_size(&f[1]) < sizeof(id) ? zmq_msg_size(&f[1]) : 0;
		memcpy(id, zmq_msg_data(&f[1]), idl);
	}
	for (i = 0; i < nf; i++)
		zmq_msg_close(&f[i]);
	if (zmq_send(zap, "1.0", 3, ZMQ_SNDMORE) == -1 ||
	    zmq_send(zap, id, idl, ZMQ_SNDMORE) == -1 ||
	    zmq_send(zap, ok ? "200" : "400", 3, ZMQ_SNDMORE) == -1 ||
	    zmq_send(zap, "", 0, ZMQ_SNDMORE) == -1 ||
	    zmq_send(zap, ok ? "bench" : "", ok ? 5 : 0, ZMQ_SNDMORE) == -1 ||
	    zmq_send(zap, "", 0, 0) == -1)
		return -1;
	return 0;
}

/* The echo side: binds, tells the parent its endpoint, echoes n+1
 * messages (one warm-up), serving ZAP meanwhile. */
static int
zmq_echo(int wfd, const char *ssk, const uint8_t *ck, long n)
{
	void *ctx, *zap, *r;
	char ep[128], id[256], buf[1 << 16];
	size_t epl = sizeof(ep);
	long done = 0;
	int one = 1, il, bl;

	if ((ctx = zmq_ctx_new()) == NULL ||
	    (zap = zmq_socket(ctx, ZMQ_REP)) == NULL ||
	    zmq_bind(zap, "inproc://zeromq.zap.01") != 0 ||
	    (r = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, ssk, 40) != 0 ||
	    zmq_bind(r, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &epl) != 0)
		return 1;
	if (write(wfd, ep, strlen(ep) + 1) != (ssize_t)(strlen(ep) + 1))
		return 1;
	close(wfd);
	while (done <= n) {
		zmq_pollitem_t it[2] = { { zap, 0, ZMQ_POLLIN, 0 }, { r, 0, ZMQ_POLLIN, 0 } };
		if (zmq_poll(it, 2, 30000) <= 0)
			return 1;       /* the client is gone */
		if ((it[0].revents & ZMQ_POLLIN) && zap_answer(zap, ck) != 0)
			return 1;
		if (!(it[1].revents & ZMQ_POLLIN))
			continue;
		if ((il = zmq_recv(r, id, sizeof(id), 0)) < 0 ||
		    (bl = zmq_recv(r, buf, sizeof(buf), 0)) < 0 ||
		    zmq_send(r, id, (size_t)il, ZMQ_SNDMORE) == -1 ||
		    zmq_send(r, buf, (size_t)bl, 0) == -1)
			return 1;
		done++;
	}
	zmq_close(r);
	zmq_close(zap);
	zmq_ctx_term(ctx);
	return 0;
}

static int
cmd_zmq(int argc, char **argv)
{
	long n = opt_l(argc, argv, "--pings", 100), gap = opt_l(argc, argv, "--gap-ms", 20);
	long bytes = opt_l(argc, argv, "--bytes", 1500), i;
	char spk[41], ssk[41], cpk[41], csk[41], ep[128];
	uint8_t ck[32];
	void *ctx, *d = NULL;
	double *lat;
	char *buf;
	int pfd[2], status, rc = 0;
	ssize_t got;
	pid_t pid;

	if (n < 1 || gap < 0 || bytes < 1 || bytes > 65536)
		die("zmq: --pings >= 1, --gap-ms >= 0, --bytes 1..65536%s", NULL);
	if (zmq_curve_keypair(spk, ssk) != 0 || zmq_curve_keypair(cpk, csk) != 0 ||
	    zmq_z85_decode(ck, cpk) == NULL)
		die("zmq: CURVE keys%s", NULL);
	if (pipe(pfd) != 0)
		die("zmq: pipe%s", NULL);
	if ((pid = fork()) < 0)
		die("zmq: fork%s", NULL);
	if (pid == 0) {
		close(pfd[0]);
		_exit(zmq_echo(pfd[1], ssk, ck, n));
	}
	close(pfd[1]);
	memset(ep, 0, sizeof(ep));
	got = read(pfd[0], ep, sizeof(ep) - 1);
	close(pfd[0]);
	if (got <= 0)
		die("zmq: the echo server did not start%s", NULL);
	if ((lat = calloc((size_t)n, sizeof(double))) == NULL ||
	    (buf = malloc((size_t)bytes)) == NULL)
		die("zmq: out of memory%s", NULL);
	memset(buf, 'x', (size_t)bytes);
	if ((ctx = zmq_ctx_new()) == NULL || (d = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(d, ZMQ_LINGER, &(int){ 0 }, sizeof(int)) != 0 ||
	    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, spk, 40) != 0 ||
	    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, cpk, 40) != 0 ||
	    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, csk, 40) != 0 ||
	    zmq_connect(d, ep) != 0)
		rc = 1;
	for (i = -1; i < n && rc == 0; i++) {      /* i = -1: warm-up */
		zmq_pollitem_t it = { d, 0, ZMQ_POLLIN, 0 };
		double a;
		if (i >= 0)
			sleep_us(gap * 1000);
		a = now_s();
		if (zmq_send(d, buf, (size_t)bytes, 0) == -1 ||
		    zmq_poll(&it, 1, 10000) != 1 ||
		    zmq_recv(d, buf, (size_t)bytes, 0) != (int)bytes)
			rc = 1;
		else if (i >= 0)
			lat[i] = (now_s() - a) * 1000.0 / 2;
	}
	if (d != NULL)
		zmq_close(d);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	/* On failure the echo server would wait 30 s for pings: stop it
	 * (the one process this command started) before saying so. */
	if (rc != 0)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		rc = 1;
	if (rc != 0)
		die("zmq: no echo from %s (connect, send or a ping timed out)", ep);
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("{\"test\":\"zmq\",\"pings\":%ld,\"gap_ms\":%ld,\"bytes\":%ld,"
	    "\"oneway_ms_p50\":%.3f,\"oneway_ms_p99\":%.3f}\n",
	    n, gap, bytes, pct(lat, (size_t)n, 0.5), pct(lat, (size_t)n, 0.99));
	free(lat);
	free(buf);
	return 0;
}

/* ---- keygen ---- */

static int
cmd_keygen(int argc, char **argv)
{
	const char *tp = opt(argc, argv, "--topology", NULL);
	const char *pubp = opt(argc, argv, "--pub", NULL), *secp = opt(argc, argv, "--sec", NULL);
	const char *skip = opt(argc, argv, "--skip", "");
	char err[512];
	ts_topo *t;
	FILE *pf, *sf;
	size_t i;

	if (!tp || !pubp || !secp)
		die("keygen needs --topology --pub --sec%s", NULL);
	if (ts_topo_load(&t, tp, err, sizeof(err)) != 0)
		die("%s", err);
	if ((pf = fopen(pubp, "w")) == NULL || (sf = fopen(secp, "w")) == NULL)
		die("cannot write %s", pubp);
	fchmod(fileno(sf), 0600);
	for (i = 0; i < t->nunits; i++) {
		ts_identity id;
		char pkhex[65], skhex[129], key[TS_CODE_MAX + 3];
		snprintf(key, sizeof(key), ",%s,", t->units[i].code);
		{
			char list[4096];
			snprintf(list, sizeof(list), ",%s,", skip);
			if (strstr(list, key) != NULL)
				continue;
		}
		if (ts_identity_generate(&id) != 0)
			die("keygen%s", NULL);
		ts_to_hex(id.sign_pk, 32, pkhex);
		ts_to_hex(id.sign_sk, 64, skhex);
		fprintf(pf, "%s\t%s\t%s\n", t->units[i].code, pkhex, id.curve_pk);
		fprintf(sf, "%s\t%s\t%s\t%s\n", t->units[i].code, skhex, id.curve_pk, id.curve_sk);
		ts_identity_wipe(&id);
	}
	fclose(pf);
	fclose(sf);
	printf("{\"test\":\"keygen\",\"units\":%zu}\n", t->nunits);
	ts_topo_free(&t);
	return 0;
}

struct secret {
	char    code[TS_CODE_MAX + 1];
	uint8_t sign_sk[64];
	char    curve_pk[41], curve_sk[41];
};

static struct secret *
load_secrets(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct secret *s = NULL;
	size_t cap = 0;
	char line[512];

	*n = 0;
	if (f == NULL)
		die("cannot read %s", path);
	while (fgets(line, sizeof(line), f)) {
		char code[17], skhex[200], cpk[41], csk[41];
		if (sscanf(line, "%16s %199s %40s %40s", code, skhex, cpk, csk) != 4)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			s = realloc(s, cap * sizeof(*s));
			if (s == NULL)
				die("out of memory%s", NULL);
		}
		snprintf(s[*n].code, sizeof(s[*n].code), "%s", code);
		if (ts_from_hex(skhex, s[*n].sign_sk, 64) != 0)
			die("bad secret for %s", code);
		snprintf(s[*n].curve_pk, 41, "%s", cpk);
		snprintf(s[*n].curve_sk, 41, "%s", csk);
		(*n)++;
	}
	fclose(f);
	return s;
}

static const struct secret *
find_secret(const struct secret *s, size_t n, const char *code)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (strcmp(s[i].code, code) == 0)
			return &s[i];
	return NULL;
}

/* ---- prefill a stopped node's outbox ---- */

struct prefill_ctx {
	struct envset *es;
	size_t from, to;
	const char *origin, *period;
	uint8_t head[TS_HASH_LEN];
	uint64_t last_seq;
	int last;
};

static int
prefill_fn(ts_txn *t, void *arg)
{
	struct prefill_ctx *pc = arg;
	size_t i;
	int rc;
	uint64_t now = ts_now_ms();

	for (i = pc->from; i < pc->to; i++) {
		uint64_t id;
		if ((rc = ts_env_put(t, pc->origin, pc->es->seq[i], pc->es->env[i].p,
		    pc->es->env[i].len)) != 0 ||
		    (rc = ts_outbox_append_ref(t, pc->origin, pc->es->seq[i], &id)) != 0)
			return rc;
	}
	if (pc->last) {
		ts_chain ch = { .seq = pc->last_seq, .recv_ms = now };
		ts_latest l = { .seq = pc->last_seq, .first_ms = now, .recv_ms = now };
		memcpy(ch.hash, pc->head, TS_HASH_LEN);
		memcpy(l.hash, pc->head, TS_HASH_LEN);
		if ((rc = ts_chain_put(t, pc->origin, &ch)) != 0 ||
		    (rc = ts_latest_put(t, pc->origin, pc->period, &l)) != 0 ||
		    (rc = ts_meta_put_u64(t, "seq", pc->last_seq)) != 0 ||
		    (rc = ts_meta_put(t, "head", pc->head, TS_HASH_LEN)) != 0)
			return rc;
	}
	return 0;
}

static int
cmd_prefill(int argc, char **argv)
{
	const char *conf = opt(argc, argv, "--conf", NULL);
	const char *period = opt(argc, argv, "--period", "2025");
	size_t count = (size_t)opt_l(argc, argv, "--count", 20000);
	size_t nv = nvalues_opt(argc, argv);
	ts_config cfg;
	ts_identity id;
	ts_topo *topo;
	ts_store *st;
	char err[1024], path[TS_PATH_MAX + 16];
	struct envset es = { 0 };
	ts_buf all = { 0 };
	uint8_t head[TS_HASH_LEN];
	double t0;
	size_t i;

	if (conf == NULL)
		die("prefill needs --conf%s", NULL);
	if (ts_config_load(&cfg, conf, err, sizeof(err)) != 0)
		die("%s", err);
	if (ts_identity_load(&id, cfg.sign_key, cfg.curve_key, err, sizeof(err)) != 0)
		die("%s", err);
	if (ts_topo_load(&topo, cfg.topology, err, sizeof(err)) != 0)
		die("%s", err);
	t0 = now_s();
	build_chain(&es, &all, cfg.unit, topo->version,
	    ts_topo_find(topo, cfg.unit) >= 0 ? &topo->units[ts_topo_find(topo, cfg.unit)] : NULL,
	    id.sign_sk, count, nv, &period, 1, head);
	envset_fix(&es, &all);
	double tb = now_s() - t0;
	snprintf(path, sizeof(path), "%s/store", cfg.datadir);
	if (ts_store_open(&st, path, 0, (size_t)1 << 30, (size_t)cfg.mapsize_max_mb << 20) != 0)
		die("cannot open store %s", path);
	for (i = 0; i < count; i += 5000) {
		struct prefill_ctx pc = { .es = &es, .from = i, .to = i + 5000 < count ? i + 5000 : count,
		    .origin = cfg.unit, .period = period, .last_seq = count };
		pc.last = pc.to == count;
		memcpy(pc.head, head, TS_HASH_LEN);
		if (ts_store_write(st, prefill_fn, &pc) != 0)
			die("prefill write failed%s", NULL);
	}
	ts_store_close(&st);
	printf("{\"test\":\"prefill\",\"count\":%zu,\"values\":%zu,\"body_bytes_avg\":%.0f,"
	    "\"env_bytes_avg\":%.0f,\"build_s\":%.3f,\"total_s\":%.3f}\n", count, nv,
	    (double)es.body_bytes / (double)count, (double)es.env_bytes / (double)count, tb,
	    now_s() - t0);
	ts_topo_free(&topo);
	ts_identity_wipe(&id);
	return 0;
}

/* ---- wait until a store holds origin's seq ---- */

static int
store_seq(ts_store *st, const char *origin, uint64_t *seq)
{
	ts_txn *t;
	ts_chain c;
	int rc;
	if ((rc = ts_store_read_begin(st, &t)) != 0)
		return rc;
	rc = ts_chain_get(t, origin, &c);
	ts_store_read_end(&t);
	*seq = rc == 0 ? c.seq : 0;
	return rc == TS_ENOTFOUND ? 0 : rc;
}

static int
cmd_wait(int argc, char **argv)
{
	const char *dir = opt(argc, argv, "--store", NULL), *origin = opt(argc, argv, "--origin", NULL);
	uint64_t want = (uint64_t)opt_l(argc, argv, "--seq", 1), seq = 0;
	double timeout = (double)opt_l(argc, argv, "--timeout", 300), t0 = now_s();
	ts_store *st = NULL;

	if (!dir || !origin)
		die("wait needs --store --origin%s", NULL);
	while (now_s() - t0 < timeout) {
		if (st == NULL && ts_store_open(&st, dir, TS_STORE_RDONLY, 0, 0) != 0)
			st = NULL;
		if (st != NULL && store_seq(st, origin, &seq) == 0 && seq >= want) {
			printf("{\"test\":\"wait\",\"origin\":\"%s\",\"seq\":%llu,\"at\":%.6f}\n",
			    origin, (unsigned long long)seq, now_s());
			ts_store_close(&st);
			return 0;
		}
		sleep_us(1000);
	}
	printf("{\"test\":\"wait\",\"origin\":\"%s\",\"seq\":%llu,\"timeout\":true}\n", origin,
	    (unsigned long long)seq);
	ts_store_close(&st);
	return 1;
}

/* ---- push: play a child towards a real tiersyncd ---- */

struct flight { uint64_t batch; size_t from, n; };

/* One look at the watched store: record the latency of every envelope
 * of origin (seq 1..n, this run's) that became visible since *watched.
 * A longer chain there is an earlier run's: not ours to time.  Returns 1
 * if any became visible. */
static int
watch_look(ts_store *wst, const char *origin, size_t n, uint64_t *watched,
    size_t skip, const double *sent_at, double *lat, size_t *nlat)
{
	uint64_t s, q;
	double at;

	if (store_seq(wst, origin, &s) != 0)
		return 0;
	if (s > n)
		s = n;
	if (s <= *watched)
		return 0;
	at = now_s();
	for (q = *watched + 1; q <= s; q++)
		if (q - 1 >= skip)
			lat[(*nlat)++] = (at - sent_at[q - 1]) * 1000;
	*watched = s;
	return 1;
}

static int
recv_msg(void *sock, ts_msg *m, zmq_msg_t *raw, int flags)
{
	zmq_msg_init(raw);
	if (zmq_msg_recv(raw, sock, flags) == -1) {
		zmq_msg_close(raw);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	if (ts_msg_decode(zmq_msg_data(raw), zmq_msg_size(raw), m) != 0) {
		zmq_msg_close(raw);
		die("bad message from parent%s", NULL);
	}
	return 0;
}

static int
cmd_push(int argc, char **argv)
{
	const char *tp = opt(argc, argv, "--topology", NULL), *kp = opt(argc, argv, "--keys", NULL);
	const char *sp = opt(argc, argv, "--sec", NULL), *as = opt(argc, argv, "--as", NULL);
	const char *ep = opt(argc, argv, "--to", NULL), *origins = opt(argc, argv, "--origins", "self");
	const char *watch = opt(argc, argv, "--watch", NULL);
	size_t k = (size_t)opt_l(argc, argv, "--count", 1000);
	size_t batch_max = (size_t)opt_l(argc, argv, "--batch", 256);
	size_t window = (size_t)opt_l(argc, argv, "--window", 4);
	double rate = (double)opt_l(argc, argv, "--rate", 0);
	double timeout = (double)opt_l(argc, argv, "--timeout", 300);
	size_t nv = nvalues_opt(argc, argv);
	const char *periods[] = { "2025", "2025Q1", "2025Q2", "2025Q3", "2025Q4" };
	char err[1024];
	ts_topo *topo;
	ts_keys *keys;
	struct secret *sec;
	size_t nsec, i;
	int me, parent;
	struct envset es = { 0 };
	ts_buf all = { 0 }, tx = { 0 };

	if (strcmp(origins, "self") != 0 && strcmp(origins, "subtree") != 0)
		die("push: --origins: '%s' is not self or subtree", origins);
	/* Latency by envelope index = seq - 1: one origin only. */
	if (watch && strcmp(origins, "self") != 0)
		die("push: --watch times one origin's envelopes: use it with --origins self%s", "");
	if (!tp || !kp || !sp || !as || !ep)
		die("push needs --topology --keys --sec --as --to%s", NULL);
	if (window > 64)
		window = 64;
	if (ts_topo_load(&topo, tp, err, sizeof(err)) != 0 ||
	    ts_keys_load(&keys, kp, err, sizeof(err)) != 0)
		die("%s", err);
	sec = load_secrets(sp, &nsec);
	if ((me = ts_topo_find(topo, as)) < 0 || (parent = topo->units[me].parent) < 0)
		die("unit %s not in topology or has no parent", as);

	/* origins: self, or every unit of the subtree (preorder) */
	double tb0 = now_s();
	{
		int *stack = malloc(topo->nunits * sizeof(int)), sp_ = 0;
		if (stack == NULL)
			die("oom%s", NULL);
		stack[sp_++] = me;
		while (sp_ > 0) {
			int u = stack[--sp_], c;
			const struct secret *s = find_secret(sec, nsec, topo->units[u].code);
			if (s == NULL)
				die("no secret key for %s", topo->units[u].code);
			build_chain(&es, &all, topo->units[u].code, topo->version, &topo->units[u],
			    s->sign_sk, k, nv,
			    periods, strcmp(origins, "subtree") == 0 ? 5 : 1, NULL);
			if (strcmp(origins, "subtree") != 0)
				break;
			for (c = topo->units[u].first_child; c >= 0; c = topo->units[c].next_sibling)
				stack[sp_++] = c;
		}
		free(stack);
	}
	envset_fix(&es, &all);
	double build_s = now_s() - tb0;

	/* socket */
	const struct secret *mine = find_secret(sec, nsec, as);
	const ts_key *pk[4];
	size_t np = ts_keys_sign_for(keys, topo->units[parent].code, (uint64_t)time(NULL), pk, 4);
	uint8_t cpk[32], csk[32];
	void *ctx = zmq_ctx_new(), *d = zmq_socket(ctx, ZMQ_DEALER);
	int linger = 0, hwm = 100000;
	int64_t maxmsg = (int64_t)TS_MSG_MAX;
	if (np == 0 || mine == NULL)
		die("no keys for %s or its parent", as);
	if (ts_z85_decode32(mine->curve_pk, cpk) != 0 ||
	    ts_z85_decode32(mine->curve_sk, csk) != 0)
		die("bad CURVE key for %s in the keys/sec files", as);
	if (ctx == NULL || d == NULL ||
	    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(d, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, pk[np - 1]->curve_bin, 32) != 0 ||
	    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, cpk, 32) != 0 ||
	    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, csk, 32) != 0)
		die("zmq socket options: %s", zmq_strerror(zmq_errno()));
	if (zmq_connect(d, ep) != 0)
		die("connect %s", ep);

	ts_store *wst = NULL;
	int ifd = -1, tfd = -1, relook = 0;
	if (watch && ts_store_open(&wst, watch, TS_STORE_RDONLY, 0, 0) != 0)
		die("cannot open watched store %s", watch);
	if (wst) {
		/* Woken by the watched node's own writes (LMDB pwrite()s its
		 * pages, meta page last), not by polling: a 0.2 ms poll loop
		 * took CPU from the very daemons it timed. */
		char dm[4096];
		snprintf(dm, sizeof(dm), "%s/data.mdb", watch);
		if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
		    inotify_add_watch(ifd, dm, IN_MODIFY) == -1)
			die("inotify on %s", dm);
		if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
			die("timerfd for %s", dm);
	}

	/* HELLO until WELCOME */
	double t_hello = now_s();
	ts_msg m;
	zmq_msg_t raw;
	size_t skip = 0;
	for (;;) {
		zmq_pollitem_t pi = { d, 0, ZMQ_POLLIN, 0 };
		ts_buf_reset(&tx);
		if (ts_msg_hello(&tx, as, topo->version) != 0)
			die("encode HELLO%s", NULL);
		if (zmq_send(d, tx.buf, tx.len, 0) == -1)
			die("send HELLO: %s", zmq_strerror(zmq_errno()));
		if (zmq_poll(&pi, 1, 200) == 1 && recv_msg(d, &m, &raw, 0) == 0) {
			if (m.type != TS_MSG_WELCOME)
				die("expected WELCOME%s", NULL);
			/* resume: skip what the parent holds (bench reruns) */
			for (i = 0; i < es.n; i++) {
				size_t h;
				for (h = 0; h < m.nheld; h++)
					if (strcmp(m.held[h].origin, es.origin[i]) == 0 &&
					    m.held[h].seq >= es.seq[i])
						break;
				if (h == m.nheld)
					break;
			}
			skip = i;
			ts_msg_clear(&m);
			zmq_msg_close(&raw);
			break;
		}
		if (now_s() - t_hello > 30)
			die("no WELCOME from %s", ep);
	}
	double welcome_ms = (now_s() - t_hello) * 1000;

	/* push loop */
	struct flight fl[64];
	size_t nfl = 0, next = skip, acked = skip, stored = 0, held = 0, bad = 0, nbatches = 0;
	uint64_t batch_no = 1;
	double *sent_at = calloc(es.n, sizeof(double)), *lat = calloc(es.n, sizeof(double));
	size_t nlat = 0;
	uint64_t watched = 0;         /* seq seen at the watched store (single origin) */
	size_t wire_msgs_bytes = 0;
	double t0 = now_s(), t_end = 0;
	if (sent_at == NULL || lat == NULL)
		die("oom%s", NULL);

	while (acked < es.n || (wst && watched < es.seq[es.n - 1])) {
		double now = now_s();
		if (now - t0 > timeout)
			die("timeout pushing to %s", ep);
		/* how many envelopes exist by now (rate) */
		size_t avail = es.n;
		if (rate > 0) {
			avail = skip + (size_t)((now - t0) * rate) + 1;
			if (avail > es.n)
				avail = es.n;
		}
		while (nfl < window && next < avail) {
			size_t n = avail - next;
			if (n > batch_max)
				n = batch_max;
			ts_buf_reset(&tx);
			if (ts_msg_push(&tx, batch_no, &es.env[next], n) != 0)
				die("encode push%s", NULL);
			if (zmq_send(d, tx.buf, tx.len, 0) == -1)
				die("send%s", NULL);
			wire_msgs_bytes += tx.len;
			for (i = next; i < next + n; i++)
				sent_at[i] = now;
			fl[nfl].batch = batch_no++;
			fl[nfl].from = next;
			fl[nfl].n = n;
			nfl++;
			nbatches++;
			next += n;
		}
		/* Sleep until a reply, a write to the watched store, the next
		 * envelope's due time, or WATCH_BACKSTOP_MS. */
		zmq_pollitem_t pi[3] = { { d, 0, ZMQ_POLLIN, 0 }, { NULL, ifd, ZMQ_POLLIN, 0 },
		    { NULL, tfd, ZMQ_POLLIN, 0 } };
		long tmo = 100;
		if (rate > 0 && next < es.n && nfl < window) {
			double due = t0 + (double)(next - skip) / rate;
			/* Rounded up: the send is timed when it happens. */
			tmo = due > now ? (long)((due - now) * 1000.0) + 1 : 0;
		}
		if (wst && tmo > WATCH_BACKSTOP_MS)
			tmo = WATCH_BACKSTOP_MS;
		if (zmq_poll(pi, wst ? 3 : 1, tmo) == -1)
			die("zmq_poll%s", NULL);
		if (pi[0].revents & ZMQ_POLLIN) {
			while (recv_msg(d, &m, &raw, ZMQ_DONTWAIT) == 0) {
				if (m.type == TS_MSG_ACK) {
					size_t f;
					for (f = 0; f < nfl && fl[f].batch != m.batch; f++)
						;
					if (f < nfl) {
						for (i = 0; i < m.nstatus; i++) {
							if (m.status[i] == TS_ST_STORED)
								stored++;
							else if (m.status[i] == TS_ST_HELD)
								held++;
							else
								bad++;
							if (!wst && rate > 0)
								lat[nlat++] = (now_s() - sent_at[fl[f].from + i]) * 1000;
						}
						acked += fl[f].n;
						memmove(&fl[f], &fl[f + 1], (nfl - f - 1) * sizeof(fl[0]));
						nfl--;
					}
				} else if (m.type == TS_MSG_ERR) {
					fprintf(stderr, "tsbench: ERR %s: %s (%s seq %llu)\n",
					    ts_status_name(m.code), m.reason, m.origin,
					    (unsigned long long)m.seq);
				}
				ts_msg_clear(&m);
				zmq_msg_close(&raw);
			}
		}
		if (wst) {
			char ib[4096];
			uint64_t fired;
			int wrote = 0;
			while (read(ifd, ib, sizeof(ib)) > 0)
				wrote = 1;  /* drained: one look covers them */
			if (read(tfd, &fired, sizeof(fired)) != (ssize_t)sizeof(fired))
				fired = 0;
			if (watch_look(wst, es.origin[0], es.n, &watched, skip, sent_at, lat, &nlat))
				relook = WATCH_RELOOKS;         /* seen: stop */
			else if (wrote)
				relook = 0;                     /* a write: start over */
			else if (fired && relook < WATCH_RELOOKS)
				relook++;
			else
				fired = 0;
			if (wrote || fired) {
				struct itimerspec it = { { 0, 0 }, { 0, 0 } };
				if (relook < WATCH_RELOOKS)
					it.it_value.tv_nsec = (WATCH_RELOOK_US * 1000L) << relook;
				if (timerfd_settime(tfd, 0, &it, NULL) != 0)
					die("timerfd_settime%s", NULL);
			}
		}
		if (acked == es.n && t_end == 0)
			t_end = now_s();
	}
	double t_done = now_s();
	size_t sent = es.n - skip;
	qsort(lat, nlat, sizeof(double), cmp_double);
	printf("{\"test\":\"push\",\"as\":\"%s\",\"origins\":%zu,\"envelopes\":%zu,\"values\":%zu,"
	    "\"body_bytes_avg\":%.0f,\"env_bytes_avg\":%.0f,\"push_msg_bytes_avg_per_env\":%.1f,"
	    "\"batches\":%zu,\"build_s\":%.3f,\"welcome_ms\":%.1f,\"seconds\":%.4f,"
	    "\"env_per_s\":%.0f,\"stored\":%zu,\"held\":%zu,\"refused\":%zu,"
	    "\"lat_n\":%zu,\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f,\"lat_max_ms\":%.3f,"
	    "\"done_s\":%.4f}\n",
	    as, strcmp(origins, "subtree") == 0 ? es.n / k : 1, sent, nv,
	    (double)es.body_bytes / (double)es.n, (double)es.env_bytes / (double)es.n,
	    sent ? (double)wire_msgs_bytes / (double)sent : 0, nbatches, build_s, welcome_ms,
	    t_end - t0, sent / (t_end - t0), stored, held, bad, nlat, pct(lat, nlat, 0.5),
	    pct(lat, nlat, 0.99), nlat ? lat[nlat - 1] : 0, t_done - t0);
	if (wst)
		ts_store_close(&wst);
	if (ifd != -1)
		close(ifd);
	if (tfd != -1)
		close(tfd);
	zmq_close(d);
	zmq_ctx_term(ctx);
	ts_buf_free(&all);
	ts_buf_free(&tx);
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("sodium_init%s", NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		die("usage: tsbench crypto|lmdb|zmq|keygen|prefill|push|wait ...%s", NULL);
	if (strcmp(argv[1], "crypto") == 0)
		return cmd_crypto(argc, argv);
	if (strcmp(argv[1], "lmdb") == 0)
		return cmd_lmdb(argc, argv);
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[1], "zmq") == 0)
		return cmd_zmq(argc, argv);
	if (strcmp(argv[1], "prefill") == 0)
		return cmd_prefill(argc, argv);
	if (strcmp(argv[1], "push") == 0)
		return cmd_push(argc, argv);
	if (strcmp(argv[1], "wait") == 0)
		return cmd_wait(argc, argv);
	die("unknown command %s", argv[1]);
	return 2;
}
