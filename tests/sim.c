/*
 * tiersync-sim: many nodes' real logic in one process (DESIGN "Node
 * inside", after FoundationDB's and TigerBeetle's simulators).
 *
 * Every node is the daemon's own core (node/core.c, uplink.c, downlink.c,
 * rollup.c, control.c, zap.c) with its own LMDB store, driven through
 * the same entry points as the daemon's poll loop (node.h): messages
 * from children arrive in a per-node socket queue and are drained up to
 * 64 at a time into downlink_on_batch with lazy group commits, ACKs are
 * held until durable and released by node_idle, connections pass
 * zap_decide, puts go through control_on_request.  Only struct node_io
 * is swapped: a virtual clock and a seeded fake network that drops,
 * duplicates and delays (so reorders) messages, partitions links for a
 * while, and crashes nodes (all in-memory state lost, the store kept,
 * as with kill -9) and restarts them.  One seed replays one run exactly.
 *
 * The workload puts values at every commune (several rounds: later
 * rounds replace earlier ones); the run ends when national's report
 * equals the sum of the communes' last values, or fails at a virtual
 * deadline.  Then invariants are checked over every store: no fork,
 * exactly the dead letters injected (--poison), empty outboxes, and
 * every commune's chain at national verifies (signatures and prev
 * links).  All along, every ACK is checked to leave only after the
 * commit that stored its batch is durable (invariant 1), and CURVE key
 * rotations (--rotations) revoke live sessions.
 *
 * usage: tiersync-sim [--topology F] [--unit CODE | --all] [--seed N]
 *        [--drop P] [--dup P] [--delay-ms N] [--crashes N]
 *        [--partitions N] [--rounds N] [--max-virtual-s N] [--dir D]
 *        [--rotations N] [--poison N] [--power P] [--disk-faults N]
 *
 * --disk-faults N: N times a random node's next 1-3 commits fail as an
 * I/O error would (ts_store_fail_commits); nothing may be lost for it.
 * --min-faults N: fail unless the run injected at least N faults.
 * --power P: the share of crashes that are power cuts (default 0.5):
 * the store then also loses its last commit if it was not durable yet.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tiersync/log.h"
#include "tiersync/mpread.h"
#include "tiersync/verify.h"
#include "node.h"

/* ---- seeded PRNG (splitmix64): the run depends on the seed only ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng01(void) { return (double)(rng() >> 11) / 9007199254740992.0; }
static uint64_t rng_below(uint64_t n) { return n ? rng() % n : 0; }

/* ---- options ---- */

static struct {
	const char *topology, *unit, *dir;
	uint64_t seed;
	double   drop, dup, power;
	unsigned delay_ms, crashes, partitions, rounds, max_virtual_s;
	unsigned rotations, poison, disk_faults, min_faults;
	int      all, verbose;
	size_t   store_cap;          /* 0 = from the open-files limit */
} opt = {
	.topology = NULL, .unit = "109", .drop = 0.01, .dup = 0.01, .power = 0.5,
	.delay_ms = 30, .crashes = 10, .partitions = 3, .rounds = 3,
	.max_virtual_s = 3600, .rotations = 2, .poison = 2, .disk_faults = 4,
};

/* ---- simulated nodes ---- */

struct simnode {
	/* The fields every event reads first, together (a cache line or
	 * two): with 10,807 nodes of ~20 KiB, misses were most of the run. */
	int      unit;               /* topology index                    */
	int      up;                 /* process running                   */
	uint32_t epoch;              /* connection epoch (new on connect)  */
	int      connected;          /* uplink socket open                */
	uint64_t part_until;         /* link to parent cut until (virtual) */
	uint32_t timer_ver;          /* invalidates stale timer events    */
	uint64_t timer_at;           /* when the valid one fires; 0 none  */
	int      st_open;            /* its LMDB environment is open      */
	int      st_ref;             /* used since the clock hand passed  */
	int      poll_pending;       /* an EV_POLL is queued              */
	int      cut_armed;          /* power cut after the next lazy commit */
	int      own_keys;           /* n.keys is its own (reloaded) table */
	int      idle_pending;       /* an EV_IDLE is queued              */
	/* the child's end of its connection: ZAP's answer for it */
	int      zap_ok;             /* handshake passed for this epoch   */
	int      zap_sender;         /* topology index ZAP named (User-Id) */
	uint8_t  zap_key[32];        /* the CURVE key it connected with    */
	/* the parent's end: messages received, not yet drained */
	struct inq { uint32_t child, epoch; uint8_t *msg; size_t len; } *q;
	size_t   nq, capq;
	/* expected last values (communes only) */
	uint64_t last_num[4], last_den[4];
	int      has_values;
	struct node n;
	ts_identity id;
	char     dir[600];
	/* batches this node pushed: the parent's commit count before the
	 * drain that took each (invariant 1 check) */
	struct pushrec {
		uint64_t batch, g0;
		size_t   n;              /* envelopes in the PUSH              */
		struct envid { char origin[TS_CODE_MAX + 1]; uint64_t seq; } *e;
	} pushed[256];
	size_t   npushed;
};

static struct simnode *nodes;
static size_t nnodes;
static int *node_of_unit;            /* topology index -> node index or -1 */
static ts_topo *topo;
static ts_keys *keys;
static uint64_t vnow;                /* virtual ms since start           */
static char base[512];               /* this run's directory (mkdtemp)   */
static const uint64_t wall_base = 1764547200000ULL; /* 2025-12-01Z      */

static struct {
	uint64_t sent, delivered, dropped, duplicated, crashes, restarts,
	    partitions, events, puts;
	uint64_t drains, drained, max_drain, acks, acks_checked, acks_early,
	    idles, zap_ok, zap_denied, rotations, poisoned, impostors_refused;
	uint64_t impostors_tried, power_cuts, commits_lost, disk_faults,
	    puts_retried, key_reloads;
} simstat;
static uint64_t poisoned_expected;   /* broken outbox entries injected */

/*
 * LMDB keeps a descriptor per environment; a whole country can be more
 * stores than the open-files limit allows.  Keep at most store_cap open
 * and close the least recently used (clock / second chance): no txn
 * spans events, so closing between events is invisible to the node.
 */
static size_t stores_open, store_cap, clock_hand;

static void
store_open(struct simnode *s)
{
	int rc;

	s->st_ref = 1;
	if (s->st_open)
		return;
	while (stores_open >= store_cap) {
		struct simnode *v = &nodes[clock_hand];
		clock_hand = (clock_hand + 1) % nnodes;
		if (!v->st_open || v == s)
			continue;
		if (v->st_ref) {
			v->st_ref = 0;
			continue;
		}
		/* Closing is not a crash: what is committed stays, and the
		 * ACKs held for it go out first (a reopened store counts its
		 * commits from zero). */
		if (v->up && downlink_acks_waiting(&v->n))
			downlink_acks_sync(&v->n);
		ts_store_close(&v->n.st);
		v->st_open = 0;
		stores_open--;
	}
	if ((rc = ts_store_open(&s->n.st, s->dir, TS_STORE_NOLOCK, 1 << 20,
	    (size_t)1 << 36)) != 0)
		fatalx("sim store %s: %s (%zu stores open, cap %zu)", s->dir,
		    ts_strerror(rc), stores_open, store_cap);
	s->st_open = 1;
	stores_open++;
}

static void
store_close(struct simnode *s)
{
	if (s->st_open) {
		ts_store_close(&s->n.st);
		s->st_open = 0;
		stores_open--;
	}
}

static uint64_t sim_wall(void *ctx) { (void)ctx; return wall_base + vnow; }
static uint64_t sim_mono(void *ctx) { (void)ctx; return vnow + 1; }

/* ---- event queue: a binary heap on (time, insertion order) ---- */

enum ev_type { EV_DELIVER_UP, EV_DELIVER_DOWN, EV_TIMER, EV_PUT, EV_CRASH,
               EV_RESTART, EV_PARTITION, EV_POLL, EV_IDLE, EV_ROTATE,
               EV_POISON, EV_DISKFAULT };

struct ev {
	uint64_t at, order;
	int      type, node;
	uint32_t epoch, ver;
	uint8_t *msg;
	size_t   len;
	int      round;
};

static struct ev *heap;
static size_t nheap, capheap;
static uint64_t ev_order;

static int
ev_less(const struct ev *a, const struct ev *b)
{
	return a->at != b->at ? a->at < b->at : a->order < b->order;
}

static void
ev_push(struct ev e)
{
	size_t i;

	if (nheap == capheap) {
		capheap = capheap ? capheap * 2 : 1024;
		if ((heap = realloc(heap, capheap * sizeof(*heap))) == NULL)
			fatal("realloc");
	}
	e.order = ev_order++;
	i = nheap++;
	while (i > 0 && ev_less(&e, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = e;
}

static struct ev
ev_pop(void)
{
	struct ev top = heap[0], last = heap[--nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= nheap)
			break;
		if (c + 1 < nheap && ev_less(&heap[c + 1], &heap[c]))
			c++;
		if (!ev_less(&heap[c], &last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (nheap > 0)
		heap[i] = last;
	return top;
}

static void
schedule_timer(struct simnode *s)
{
	struct node *n = &s->n;
	uint64_t due = vnow + 1000, x;

	if (!s->up)
		return;
	if ((x = node_next_timer(n, vnow + 1)) != 0 && x - 1 < due)
		due = x - 1;
	if (due <= vnow)
		due = vnow + 1;
	/* A valid timer no later than this one is queued: it will do (a
	 * timer that fires early only finds nothing due, and reschedules).
	 * Keeps the heap from filling with stale timers. */
	if (s->timer_at != 0 && s->timer_at <= due)
		return;
	s->timer_ver++;
	s->timer_at = due;
	ev_push((struct ev){ .at = due, .type = EV_TIMER,
	    .node = (int)(s - nodes), .ver = s->timer_ver });
}

/* Append one keys-file line (not_after 0 = no limit) to a growing text. */
static void
keys_line(char **text, size_t *len, size_t *cap, const char *code,
    const uint8_t sign_pk[TS_SIGN_PK_LEN], const char *curve_pk,
    uint64_t not_after)
{
	char line[256], hex[2 * TS_SIGN_PK_LEN + 1];
	int ll;

	ts_to_hex(sign_pk, TS_SIGN_PK_LEN, hex);
	if (not_after != 0)
		ll = snprintf(line, sizeof(line), "%s\t%s\t%s\t%llu\n", code, hex,
		    curve_pk, (unsigned long long)not_after);
	else
		ll = snprintf(line, sizeof(line), "%s\t%s\t%s\n", code, hex, curve_pk);
	if (*len + (size_t)ll + 1 > *cap) {
		*cap = *cap ? *cap * 2 : 65536;
		if ((*text = realloc(*text, *cap)) == NULL)
			fatal("realloc");
	}
	memcpy(*text + *len, line, (size_t)ll);
	*len += (size_t)ll;
}

/* ---- the fake network ---- */

static uint64_t
latency(void)
{
	/* Delay spread wide enough that later messages overtake earlier
	 * ones: reordering comes from here. */
	return 1 + rng_below(opt.delay_ms + 1);
}

static void
net_send(int type, int to, uint32_t epoch, const uint8_t *p, size_t len)
{
	int copies = 1, i;

	simstat.sent++;
	if (rng01() < opt.drop) {
		simstat.dropped++;
		return;
	}
	if (rng01() < opt.dup) {
		simstat.duplicated++;
		copies = 2;
	}
	for (i = 0; i < copies; i++) {
		struct ev e = { .at = vnow + latency(), .type = type, .node = to,
		    .epoch = epoch, .len = len };
		if ((e.msg = malloc(len ? len : 1)) == NULL)
			fatal("malloc");
		memcpy(e.msg, p, len);
		ev_push(e);
	}
}

static struct simnode *
sim_of(struct node *n)
{
	return (struct simnode *)(void *)((char *)n - offsetof(struct simnode, n));
}

static uint64_t sim_rand(void *ctx) { (void)ctx; return rng(); }

/* Log lines name the node whose event runs (set only when it changes:
 * the country run has tens of millions of events). */
static const char *tag_now;

static void
sim_tag(const char *code)
{
	if (code != tag_now) {
		log_set_tag(code);
		tag_now = code;
	}
}

static int
sim_up_open(struct node *n)
{
	struct simnode *s = sim_of(n);

	s->connected = 1;
	s->epoch++;                     /* a new connection, a new routing id */
	s->zap_ok = 0;                  /* its handshake is still to come */
	return 0;
}

static void
sim_up_close(struct node *n)
{
	sim_of(n)->connected = 0;
}

/* The CURVE handshake of a new connection: the parent's ZAP decision,
 * through the core's own zap_decide.  1 admitted, 0 refused. */
static int
sim_handshake(struct simnode *s, struct simnode *ps)
{
	struct zap_req rq = { .nframes = 7, .version = (const uint8_t *)"1.0",
	    .version_len = 3, .address = "sim", .mechanism = (const uint8_t *)"CURVE",
	    .mechanism_len = 5 };
	struct zap_rep rp;

	if (ts_z85_decode32(s->n.id.curve_pk, s->zap_key) != 0)
		fatalx("sim: bad CURVE key of %s", topo->units[s->unit].code);
	rq.curve_pk = s->zap_key;
	sim_tag(topo->units[ps->unit].code);
	if (zap_decide(&ps->n, &rq, &rp) != 0) {
		simstat.zap_denied++;
		return 0;
	}
	simstat.zap_ok++;
	s->zap_sender = ts_topo_find(topo, rp.user);
	s->zap_ok = 1;
	return 1;
}

static int
sim_up_send(struct node *n, const uint8_t *p, size_t len)
{
	struct simnode *s = sim_of(n);
	int parent = node_of_unit[topo->units[s->unit].parent];

	/* Like ZMQ_IMMEDIATE: nothing is queued towards a peer that is
	 * not reachable; the outbox keeps it. */
	if (!s->connected || !nodes[parent].up || vnow < s->part_until)
		return -1;
	if (!s->zap_ok && !sim_handshake(s, &nodes[parent]))
		return -1;
	sim_tag(topo->units[s->unit].code);
	net_send(EV_DELIVER_UP, (int)(s - nodes), s->epoch, p, len);
	return 0;
}

/* Every (parent, origin, seq) a parent ACKed as stored or held: each
 * must still be in that parent's store at the end, whatever crashed or
 * lost power meanwhile (nothing acknowledged may be lost). */
static struct acked { int node; char origin[TS_CODE_MAX + 1]; uint64_t seq; } *acked;
static size_t nacked, capacked;

static void
acked_add(int node, const char *origin, uint64_t seq)
{
	if (nacked == capacked) {
		capacked = capacked ? capacked * 2 : 4096;
		if ((acked = realloc(acked, capacked * sizeof(*acked))) == NULL)
			fatal("realloc");
	}
	acked[nacked].node = node;
	snprintf(acked[nacked].origin, sizeof(acked[nacked].origin), "%s", origin);
	acked[nacked].seq = seq;
	nacked++;
}

/*
 * Invariant 1, checked from outside the core: an ACK leaves a parent
 * only once the commit that stored its batch is durable.  That commit is
 * at least the first one after the drain that took the batch began
 * (g0 + 1), so that one must be durable when the ACK is sent.
 */
static void
check_ack(struct node *pn, uint32_t child, const uint8_t *p, size_t len)
{
	struct simnode *c = &nodes[child];
	ts_msg m;
	size_t i;
	int type;

	/* Only ACKs matter here; a WELCOME to a child of national lists
	 * thousands of origins: do not decode what is not looked at. */
	if (ts_msg_peek(p, len, &type) != 0)
		fatalx("sim: a node sent a message it cannot decode");
	if (type != TS_MSG_ACK)
		return;
	memset(&m, 0, sizeof(m));
	if (ts_msg_decode(p, len, &m) != 0)
		fatalx("sim: a node sent a message it cannot decode");
	if (m.type == TS_MSG_ACK) {
		int claims = 0;         /* does it say anything is stored? */
		for (i = 0; i < m.nstatus; i++)
			if (m.status[i] == TS_ST_STORED || m.status[i] == TS_ST_HELD)
				claims = 1;
		simstat.acks++;
		if (!claims) {          /* all "retry": acknowledges nothing */
			ts_msg_clear(&m);
			return;
		}
		for (i = 0; i < c->npushed && i < 256; i++)
			if (c->pushed[i].batch == m.batch) {
				const struct pushrec *pr = &c->pushed[i];
				size_t j;
				/* What the parent now answers for (lost-after-ACK). */
				for (j = 0; j < m.nstatus && j < pr->n; j++)
					if ((m.status[j] == TS_ST_STORED ||
					    m.status[j] == TS_ST_HELD) && pr->e[j].origin[0])
						acked_add((int)(sim_of(pn) - nodes), pr->e[j].origin,
						    pr->e[j].seq);
				simstat.acks_checked++;
				if (!ts_store_is_durable(pn->st, c->pushed[i].g0 + 1)) {
					simstat.acks_early++;
					log_warnx("sim: ACK of batch %llu to %s before its "
					    "commit is durable", (unsigned long long)m.batch,
					    topo->units[c->unit].code);
				}
				break;
			}
	}
	ts_msg_clear(&m);
}

/* The routing id of a child's connection: its node index and epoch. */
static void
sim_down_send(struct node *n, const void *rid, size_t rid_len,
    const uint8_t *p, size_t len)
{
	uint32_t child, epoch;

	if (rid_len != 8)
		return;
	memcpy(&child, rid, 4);
	memcpy(&epoch, (const uint8_t *)rid + 4, 4);
	check_ack(n, child, p, len);
	if (vnow < nodes[child].part_until)
		return;
	net_send(EV_DELIVER_DOWN, (int)child, epoch, p, len);
}

/* ---- node life cycle ---- */

static void
node_boot(struct simnode *s)
{
	struct node *n = &s->n;
	const ts_unit *u = &topo->units[s->unit];
	char err[512], text[256];
	int rc;

	if (s->own_keys)
		ts_keys_free(&n->keys);
	s->own_keys = 0;
	memset(n, 0, sizeof(*n));
	snprintf(text, sizeof(text), "unit %s\ntopology /dev/null\nkeys /dev/null\n",
	    u->code);
	if (ts_config_parse(&n->cfg, "sim", s->dir, text, strlen(text), err,
	    sizeof(err)) != 0)
		fatalx("sim config: %s", err);
	n->cfg.mapsize_mb = 1;          /* grows on demand */
	n->topo = topo;
	n->keys = keys;
	n->self = s->unit;
	n->id = s->id;
	n->has_parent = u->parent >= 0;
	if (n->has_parent)
		snprintf(n->cfg.parent, sizeof(n->cfg.parent), "sim://%s",
		    topo->units[u->parent].code);
	n->io = (struct node_io){ .ctx = s, .wall_ms = sim_wall, .mono_ms = sim_mono,
	    .random = sim_rand, .up_open = sim_up_open, .up_close = sim_up_close,
	    .up_send = sim_up_send, .down_send = sim_down_send };
	(void)rc;
	store_open(s);
	sim_tag(u->code);
	s->up = 1;
	if (node_start(n) != 0)
		fatalx("node_start %s", u->code);
	schedule_timer(s);
}

static void
inq_clear(struct simnode *s)
{
	size_t i;

	for (i = 0; i < s->nq; i++)
		free(s->q[i].msg);
	s->nq = 0;
}

/* kill -9: every in-memory thing is gone, the committed store stays.
 * A power cut (power != 0): the last commit too, if it was not durable
 * yet (ts_store_power_cut), as when the meta page had not been flushed. */
static void
node_crash(struct simnode *s, int power)
{
	struct node *n = &s->n;
	int lost = 0, rc;

	if (!s->up)
		return;
	node_stop(n);
	inq_clear(s);               /* received, not read: gone with it */
	s->cut_armed = 0;
	if (power && s->st_open) {
		if ((rc = ts_store_power_cut(&n->st, &lost)) != 0)
			fatalx("sim power cut at %s: %s", topo->units[s->unit].code,
			    ts_strerror(rc));
		s->st_open = 0;
		stores_open--;
		simstat.power_cuts++;
		simstat.commits_lost += (uint64_t)lost;
	}
	store_close(s);
	s->up = 0;
	s->connected = 0;
	s->timer_ver++;
	s->timer_at = 0;
	simstat.crashes++;
}

/* ---- workload ---- */

struct expect { uint64_t num[4], den[4]; size_t leaves; };
static struct expect X;              /* sum of every leaf's last values  */
static uint64_t puts_left;

static const char *const inds[4] = { "9", "9", "14", "25" };
static const char *const diss[4] = { "", "sex=f", "", "" };

static void
do_put(struct simnode *s, int round)
{
	ts_msg m;
	ts_value v[4];
	int i;

	memset(&m, 0, sizeof(m));
	memset(v, 0, sizeof(v));
	m.type = TS_MSG_CTL_PUT;
	snprintf(m.period, sizeof(m.period), "2025");
	for (i = 0; i < 4; i++) {
		snprintf(v[i].ind, sizeof(v[i].ind), "%s", inds[i]);
		snprintf(v[i].dis, sizeof(v[i].dis), "%s", diss[i]);
		v[i].den = 50 + rng_below(2000);
		v[i].num = rng_below(v[i].den + 1);
		if (i == 2)
			v[i].den = 0;           /* a plain count */
	}
	m.values = v;
	m.nvalues = 4;
	/* As tierctl put does: a CTL_PUT on the control socket. */
	{
		ts_buf req = { 0 }, rep = { 0 };
		ts_msg r;
		memset(&r, 0, sizeof(r));
		if (ts_msg_ctl_put(&req, m.period, v, 4) != 0)
			fatalx("sim: encoding CTL_PUT");
		control_on_request(&s->n, req.buf, req.len, 1, &rep);
		if (ts_msg_decode(rep.buf, rep.len, &r) != 0 ||
		    (r.code != 0 && r.code != TS_ST_RETRY))
			fatalx("put at %s round %d: %.200s", topo->units[s->unit].code,
			    round, r.reason);
		ts_buf_free(&req);
		ts_buf_free(&rep);
		if (r.code == TS_ST_RETRY) {
			/* A disk fault: the operator is told and tries again. */
			ts_msg_clear(&r);
			simstat.puts_retried++;
			ev_push((struct ev){ .at = vnow + 2000, .type = EV_PUT,
			    .node = (int)(s - nodes), .round = round });
			return;
		}
		ts_msg_clear(&r);
	}
	/* A put replaces the commune's previous values: keep the
	 * expected national sums in step, independently of the nodes. */
	for (i = 0; i < 4; i++) {
		X.num[i] += v[i].num - s->last_num[i];
		X.den[i] += v[i].den - s->last_den[i];
		s->last_num[i] = v[i].num;
		s->last_den[i] = v[i].den;
	}
	puts_left--;
	s->has_values = 1;
	simstat.puts++;
	schedule_timer(s);
}

/* ---- checks ---- */

static int
national_report(ts_report *r)
{
	struct node *n = &nodes[node_of_unit[topo->root]].n;
	ts_txn *t;
	ts_latest l;
	ts_bytes env;
	ts_env_view v;
	int rc;

	if ((rc = ts_store_read_begin(n->st, &t)) != 0)
		return rc;
	if ((rc = ts_latest_get(t, topo->units[topo->root].code, "2025", &l)) == 0 &&
	    (rc = ts_env_get(t, topo->units[topo->root].code, l.seq, &env)) == 0 &&
	    (rc = ts_env_split(env.p, env.len, &v)) == 0)
		rc = ts_report_decode(v.body, v.body_len, r);
	ts_store_read_end(&t);
	return rc;
}

static int
national_exact(const struct expect *x, int show)
{
	ts_report r;
	size_t i, j, ok = 0;

	if (!nodes[node_of_unit[topo->root]].up)
		return 0;
	store_open(&nodes[node_of_unit[topo->root]]);
	if (national_report(&r) != 0)
		return 0;
	for (i = 0; i < 4; i++)
		for (j = 0; j < r.nvalues; j++)
			if (strcmp(r.values[j].ind, inds[i]) == 0 &&
			    strcmp(r.values[j].dis, diss[i]) == 0 &&
			    r.values[j].num == x->num[i] && r.values[j].den == x->den[i])
				ok++;
	if (show)
		printf("# national: %zu values, leaf_reported %u of %zu, %zu of 4 exact\n",
		    r.nvalues, r.comp.leaf_reported, x->leaves, ok);
	int exact = ok == 4 && r.nvalues == 4 && r.comp.leaf_reported == x->leaves;
	ts_report_clear(&r);
	return exact;
}

static int fails, checks;

static void check(int, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
check(int cond, const char *fmt, ...)
{
	va_list ap;

	checks++;
	printf("%s %d - ", cond ? "ok" : "not ok", checks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		fails++;
}

/* A finding of the verifier at national (tiersync/verify.h). */
static void
sim_finding(void *arg, const char *origin, uint64_t seq, const char *period,
    const char *what)
{
	(void)arg;
	printf("# verify at national: %s seq %" PRIu64 " %s: %s\n", origin, seq,
	    period, what);
}

static void
final_checks(const struct expect *x)
{
	struct node *nat = &nodes[node_of_unit[topo->root]].n;
	uint64_t forks = 0, dead = 0, outbox = 0, v;
	size_t i, leaves_ok = 0, leaves = 0;
	ts_txn *t;

	for (i = 0; i < nnodes; i++) {
		struct node *n = &nodes[i].n;
		store_open(&nodes[i]);
		if (ts_store_read_begin(n->st, &t) != 0)
			continue;
		if (ts_meta_get_u64(t, "forks", &v) == 0)
			forks += v;
		if (ts_dead_count(t, &v) == 0)
			dead += v;
		if (ts_outbox_count(t, &v) == 0) {
			outbox += v;
			if (v > 0)
				printf("# outbox of %s: %" PRIu64 " left\n",
				    topo->units[nodes[i].unit].code, v);
		}
		ts_store_read_end(&t);
	}
	/* Nothing acknowledged lost: every envelope a parent ACKed is
	 * still in its store. */
	uint64_t lost = 0, vfail = 0;
	for (i = 0; i < nacked; i++) {
		struct simnode *ps = &nodes[acked[i].node];
		ts_bytes b;
		store_open(ps);
		if (ts_store_read_begin(ps->n.st, &t) != 0) {
			lost++;
			continue;
		}
		if (ts_env_get(t, acked[i].origin, acked[i].seq, &b) != 0) {
			lost++;
			printf("# LOST after ACK: %s seq %" PRIu64 " at %s\n",
			    acked[i].origin, acked[i].seq, topo->units[ps->unit].code);
		}
		ts_store_read_end(&t);
	}
	/* Nothing applied twice, no sum or chain wrong, at every node:
	 * the verifier over every store (national's findings are printed
	 * below). */
	for (i = 0; i < nnodes; i++) {
		ts_verify_opts o = { .keys = keys, .topo = topo,
		    .self = topo->units[nodes[i].unit].code, .all = 1,
		    .finding = sim_finding };
		ts_verify_stats vs;
		char err[256];
		if (nodes[i].unit == topo->root)
			continue;
		store_open(&nodes[i]);
		if (ts_store_read_begin(nodes[i].n.st, &t) != 0)
			continue;
		if (ts_verify_store(t, &o, &vs, err, sizeof(err)) != 0)
			vfail++;
		vfail += vs.failures;
		ts_store_read_end(&t);
	}
	uint64_t faults = simstat.dropped + simstat.duplicated + simstat.crashes +
	    simstat.partitions + simstat.disk_faults + simstat.rotations +
	    simstat.poisoned;
	printf("# faults: %" PRIu64 " (%" PRIu64 " drops, %" PRIu64 " duplicates, %"
	    PRIu64 " crashes of which %" PRIu64 " power cuts, %" PRIu64
	    " partitions, %" PRIu64 " disk faults, %" PRIu64 " key rotations, %"
	    PRIu64 " broken outbox entries); lost after ACK: %" PRIu64 " of %zu "
	    "acknowledged; applied twice or summed wrong: %" PRIu64 "\n", faults,
	    simstat.dropped, simstat.duplicated, simstat.crashes,
	    simstat.power_cuts, simstat.partitions, simstat.disk_faults,
	    simstat.rotations, simstat.poisoned, lost, nacked, vfail);
	check(lost == 0 && nacked > 0, "nothing acknowledged was lost (%" PRIu64
	    " of %zu)", lost, nacked);
	check(vfail == 0, "every store below national verifies (%" PRIu64
	    " findings)", vfail);
	if (opt.min_faults > 0)
		check(faults >= opt.min_faults, "at least %u faults (%" PRIu64 ")",
		    opt.min_faults, faults);
	check(forks == 0, "no forks anywhere (%" PRIu64 ")", forks);
	check(dead == poisoned_expected, "dead letters are exactly the %" PRIu64
	    " broken outbox entries injected (%" PRIu64 ")", poisoned_expected, dead);
	check(outbox == 0, "every outbox drained (%" PRIu64 " left)", outbox);
	check(national_exact(x, 1), "national totals equal the sum of the communes' last values");
	/* Every signature, chain and rollup sum at national, by the same
	 * verifier as `tierctl verify`, and every commune's chain there. */
	store_open(&nodes[node_of_unit[topo->root]]);
	if (ts_store_read_begin(nat->st, &t) == 0) {
		ts_verify_opts o = { .keys = keys, .topo = topo,
		    .self = topo->units[topo->root].code, .all = 1,
		    .finding = sim_finding };
		ts_verify_stats vs;
		char err[256];
		int rc = ts_verify_store(t, &o, &vs, err, sizeof(err));
		check(rc == 0 && vs.failures == 0, "national's store verifies: %"
		    PRIu64 " envelopes of %" PRIu64 " origins, %" PRIu64 " rollups, %"
		    PRIu64 " failures%s%s", vs.envelopes, vs.origins, vs.rollups,
		    vs.failures, rc ? ": " : "", rc ? err : "");
		for (i = 0; i < nnodes; i++) {
			ts_chain ch;
			if (topo->units[nodes[i].unit].nchildren > 0 || !nodes[i].has_values)
				continue;
			leaves++;
			if (ts_chain_get(t, topo->units[nodes[i].unit].code, &ch) == 0 &&
			    ch.seq > 0)
				leaves_ok++;
		}
		ts_store_read_end(&t);
	}
	check(leaves_ok == leaves, "every commune's chain is at national "
	    "(%zu of %zu)", leaves_ok, leaves);
}

/* ---- events ---- */

/* Origin and seq of an envelope from the head of its body only (the
 * core checks the rest): [fmt, domain, origin, period, seq, ...]. */
static int
env_id(const ts_bytes *env, char origin[TS_CODE_MAX + 1], uint64_t *seq)
{
	ts_env_view ev;
	ts_mpr c;
	size_t n;
	uint64_t fmt;
	const char *s;
	size_t sl;

	if (ts_env_split(env->p, env->len, &ev) != 0)
		return -1;
	ts_mpr_init(&c, ev.body, ev.body_len);
	if (ts_mpr_array(&c, &n) != 0 || n < 5 || ts_mpr_uint(&c, &fmt) != 0 ||
	    ts_mpr_str(&c, &s, &sl) != 0 ||
	    ts_mpr_str_copy(&c, origin, TS_CODE_MAX) != 0 ||
	    ts_mpr_str(&c, &s, &sl) != 0 || ts_mpr_uint(&c, seq) != 0)
		return -1;
	return 0;
}

/* A PUSH the parent's drain takes: its batch, the parent's commit count
 * before the drain, and each envelope's (origin, seq), read from the
 * message's head without decoding the rest. */
static void
push_record(struct simnode *c, const uint8_t *p, size_t len, uint64_t g0)
{
	struct pushrec *pr;
	ts_mpr mp;
	size_t n, j;
	uint64_t ver, type, batch;

	ts_mpr_init(&mp, p, len);
	if (ts_mpr_array(&mp, &n) != 0 || n != 4 || ts_mpr_uint(&mp, &ver) != 0 ||
	    ts_mpr_uint(&mp, &type) != 0 || type != TS_MSG_PUSH ||
	    ts_mpr_uint(&mp, &batch) != 0 || ts_mpr_array(&mp, &n) != 0)
		return;
	pr = &c->pushed[c->npushed++ % 256];
	pr->batch = batch;
	pr->g0 = g0;
	free(pr->e);
	if ((pr->e = calloc(n ? n : 1, sizeof(*pr->e))) == NULL)
		fatal("calloc");
	pr->n = n;
	for (j = 0; j < n; j++) {
		ts_bytes env;
		size_t bl;
		if (ts_mpr_bin(&mp, &env.p, &bl) != 0)
			break;
		env.len = bl;
		if (env_id(&env, pr->e[j].origin, &pr->e[j].seq) != 0)
			pr->e[j].origin[0] = '\0';
	}
}

/* The parent's poll loop: its socket has messages; drain them. */
static void
want_poll(struct simnode *ps)
{
	if (ps->poll_pending)
		return;
	ps->poll_pending = 1;
	/* A little processing lag lets messages gather, as they do at a
	 * busy parent between two zmq_poll calls. */
	ev_push((struct ev){ .at = vnow + rng_below(3), .type = EV_POLL,
	    .node = (int)(ps - nodes) });
}

static void
want_idle(struct simnode *s)
{
	if (s->idle_pending || !downlink_acks_waiting(&s->n))
		return;
	s->idle_pending = 1;
	ev_push((struct ev){ .at = vnow, .type = EV_IDLE, .node = (int)(s - nodes) });
}

static void
do_poll(struct simnode *ps)
{
	struct node_inmsg m[64];
	size_t k = 0, i;
	uint64_t g0;

	ps->poll_pending = 0;
	if (!ps->up || ps->nq == 0)
		return;
	store_open(ps);
	g0 = ts_store_commits(ps->n.st);
	for (i = 0; i < ps->nq && k < 64; i++) {
		struct inq *x = &ps->q[i];
		struct simnode *c = &nodes[x->child];
		m[k] = (struct node_inmsg){ .rid = NULL, .rid_len = 8,
		    .sender = c->zap_sender, .curve_pk = c->zap_key,
		    .data = x->msg, .len = x->len, .frames = 1 };
		/* Remember which drain took each PUSH (check_ack). */
		push_record(c, x->msg, x->len, g0);
		k++;
	}
	/* Routing ids: child index and epoch, 8 bytes each, kept in a
	 * buffer that lives through the call. */
	uint8_t rids[64][8];
	for (i = 0; i < k; i++) {
		memcpy(rids[i], &ps->q[i].child, 4);
		memcpy(rids[i] + 4, &ps->q[i].epoch, 4);
		m[i].rid = rids[i];
	}
	simstat.drains++;
	simstat.drained += k;
	if (k > simstat.max_drain)
		simstat.max_drain = k;
	sim_tag(topo->units[ps->unit].code);
	downlink_on_batch(&ps->n, m, k, 1);
	for (i = 0; i < k; i++)
		free(ps->q[i].msg);
	memmove(ps->q, ps->q + k, (ps->nq - k) * sizeof(*ps->q));
	ps->nq -= k;
	simstat.delivered += k;
	if (ps->cut_armed &&
	    !ts_store_is_durable(ps->n.st, ts_store_commits(ps->n.st))) {
		ps->cut_armed = 0;
		node_crash(ps, 1);
		ev_push((struct ev){ .at = vnow + 500 + rng_below(10000),
		    .type = EV_RESTART, .node = (int)(ps - nodes) });
		return;
	}
	if (ps->nq > 0)
		want_poll(ps);
	else
		want_idle(ps);
	schedule_timer(ps);
}

static void
deliver_up(struct ev *e)
{
	struct simnode *s = &nodes[e->node];
	struct simnode *ps = &nodes[node_of_unit[topo->units[s->unit].parent]];

	/* A connection that died takes its bytes with it. */
	if (!ps->up || !s->up || e->epoch != s->epoch || !s->connected || !s->zap_ok)
		return;
	if (ps->nq == ps->capq) {
		ps->capq = ps->capq ? ps->capq * 2 : 64;
		if ((ps->q = realloc(ps->q, ps->capq * sizeof(*ps->q))) == NULL)
			fatal("realloc");
	}
	ps->q[ps->nq++] = (struct inq){ .child = (uint32_t)e->node,
	    .epoch = e->epoch, .msg = e->msg, .len = e->len };
	e->msg = NULL;              /* the queue owns it now */
	want_poll(ps);
}

/*
 * A CURVE key rotation at a random commune: its old key expires now, a
 * new line follows (as an operator's `tierctl keys rotate` + reload at
 * the parent).  The live session, made with the old key, must be dropped
 * by the parent on its next message, and the commune must come back with
 * the new one through ZAP.  An impostor's key is tried too.
 */
static void
do_rotate(void)
{
	size_t i, leaves = 0, pick;
	struct simnode *c = NULL;
	char *text = NULL, err[512];
	size_t len = 0, cap = 0;
	ts_identity fresh;
	ts_keys *nk = NULL;
	uint64_t now_s = sim_wall(NULL) / 1000;

	for (i = 0; i < nnodes; i++)
		if (topo->units[nodes[i].unit].nchildren == 0)
			leaves++;
	if (leaves == 0)
		return;
	pick = rng_below(leaves);
	for (i = 0; i < nnodes; i++)
		if (topo->units[nodes[i].unit].nchildren == 0 && pick-- == 0)
			c = &nodes[i];
	if (ts_identity_generate(&fresh) != 0)
		fatalx("keygen");
	for (i = 0; i < keys->nkeys; i++) {
		const ts_key *k = &keys->keys[i];
		int old = strcmp(k->code, topo->units[c->unit].code) == 0 &&
		    strcmp(k->curve_pk, c->id.curve_pk) == 0;
		keys_line(&text, &len, &cap, k->code, k->sign_pk, k->curve_pk,
		    old ? now_s - 1 : k->not_after);
	}
	/* Same signing key (reports stay verifiable), a new CURVE key. */
	keys_line(&text, &len, &cap, topo->units[c->unit].code, c->id.sign_pk,
	    fresh.curve_pk, 0);
	if (ts_keys_parse(&nk, "sim-keys", text, len, err, sizeof(err)) != 0)
		fatalx("sim rotate: %s", err);
	for (i = 0; i < nnodes; i++) {
		if (nodes[i].own_keys)
			ts_keys_free(&nodes[i].n.keys);
		nodes[i].own_keys = 0;
		nodes[i].n.keys = nk;
		nodes[i].n.keys_gen++;
	}
	ts_keys_free(&keys);
	keys = nk;
	/* The commune's parent learns of it as an operator's parent would:
	 * the keys file rewritten, then `tierctl keys reload` (CTL_RELOAD),
	 * acted on by node_reload_keys after the event.  It reads its own
	 * copy of the file; the other nodes share the table in memory. */
	if (topo->units[c->unit].parent >= 0) {
		struct simnode *ps = &nodes[node_of_unit[topo->units[c->unit].parent]];
		char kpath[sizeof(base) + 16];
		FILE *f;
		snprintf(kpath, sizeof(kpath), "%s/keys.txt", base);
		if ((f = fopen(kpath, "w")) == NULL || fwrite(text, 1, len, f) != len ||
		    fclose(f) != 0)
			fatal("sim: writing %s", kpath);
		if (ps->up) {
			ts_buf req = { 0 }, rep = { 0 };
			ts_msg r;
			snprintf(ps->n.cfg.keys, sizeof(ps->n.cfg.keys), "%s", kpath);
			if (ts_keys_load(&ps->n.keys, kpath, err, sizeof(err)) != 0)
				fatalx("sim: %s", err);
			ps->own_keys = 1;
			memset(&r, 0, sizeof(r));
			if (ts_msg_ctl_reload(&req) != 0)
				fatalx("sim: encoding CTL_RELOAD");
			control_on_request(&ps->n, req.buf, req.len, 1, &rep);
			if (ts_msg_decode(rep.buf, rep.len, &r) != 0 || r.code != 0 ||
			    !ps->n.reload)
				fatalx("sim: CTL_RELOAD refused: %.200s", r.reason);
			/* The daemon acts on it at the top of its next loop
			 * iteration, before anything else of that node. */
			sim_tag(topo->units[ps->unit].code);
			node_reload_keys(&ps->n);
			simstat.key_reloads++;
			ts_msg_clear(&r);
			ts_buf_free(&req);
			ts_buf_free(&rep);
		}
	}
	free(text);
	memcpy(c->id.curve_pk, fresh.curve_pk, sizeof(c->id.curve_pk));
	memcpy(c->id.curve_sk, fresh.curve_sk, sizeof(c->id.curve_sk));
	c->n.id = c->id;
	ts_identity_wipe(&fresh);
	simstat.rotations++;

	/* An impostor: a key nobody listed. */
	if (topo->units[c->unit].parent >= 0) {
		struct simnode *ps = &nodes[node_of_unit[topo->units[c->unit].parent]];
		uint8_t bogus[32];
		struct zap_req rq = { .nframes = 7, .version = (const uint8_t *)"1.0",
		    .version_len = 3, .address = "impostor",
		    .mechanism = (const uint8_t *)"CURVE", .mechanism_len = 5,
		    .curve_pk = bogus };
		struct zap_rep rp;
		for (i = 0; i < 32; i++)
			bogus[i] = (uint8_t)rng();
		if (ps->up) {
			simstat.impostors_tried++;
			sim_tag(topo->units[ps->unit].code);
			if (zap_decide(&ps->n, &rq, &rp) != 0)
				simstat.impostors_refused++;
			else
				fatalx("sim: ZAP admitted an unknown key");
		}
	}
}

/* A broken entry in a commune's outbox: the parent must refuse it, the
 * commune must move it to its dead letters, and nothing else suffers. */

static int
poison_fn(ts_txn *t, void *arg)
{
	static const uint8_t junk[] = { 0x92, 0xc4, 0x01, 0x00, 0xc4, 0x00 };
	uint64_t id;

	(void)arg;
	return ts_outbox_append(t, junk, sizeof(junk), &id);
}

static void
do_poison(struct simnode *s)
{
	int rc;

	if (!s->up || topo->units[s->unit].parent < 0)
		return;
	store_open(s);
	rc = ts_store_write(s->n.st, poison_fn, NULL);
	s->n.outbox_gen++;          /* an outbox append, as node/ counts them */
	if (rc == TS_ESTORE)
		return;             /* an injected disk fault: nothing written */
	if (rc != 0)
		fatalx("sim poison: %s", ts_strerror(rc));
	poisoned_expected++;
	simstat.poisoned++;
	uplink_kick(&s->n);
	schedule_timer(s);
}

static void
handle(struct ev *ep, int faults)
{
	struct ev e = *ep;
	struct simnode *s = &nodes[e.node];

	sim_tag(topo->units[s->unit].code);
	switch (e.type) {
	case EV_DELIVER_UP:
		deliver_up(ep);
		break;
	case EV_DELIVER_DOWN:
		if (s->up && s->connected && e.epoch == s->epoch) {
			store_open(s);
			uplink_on_msg(&s->n, e.msg, e.len);
			simstat.delivered++;
			schedule_timer(s);
		}
		break;
	case EV_POLL:
		do_poll(s);
		break;
	case EV_IDLE:
		s->idle_pending = 0;
		if (s->up && s->poll_pending == 0) {
			store_open(s);
			simstat.idles++;
			(void)node_idle(&s->n);
			schedule_timer(s);
		}
		break;
	case EV_TIMER:
		if (s->up && e.ver == s->timer_ver) {
			s->timer_at = 0;
			store_open(s);
			node_tick(&s->n, s->n.io.mono_ms(s));
			want_idle(s);
			schedule_timer(s);
		}
		break;
	case EV_PUT:
		if (!s->up)             /* the operator retries later */
			ev_push((struct ev){ .at = vnow + 5000, .type = EV_PUT,
			    .node = e.node, .round = e.round });
		else {
			store_open(s);
			do_put(s, e.round);
		}
		break;
	case EV_CRASH:
		if (faults && s->up) {
			int power = rng01() < opt.power;
			/* A power cut at a relay strikes right after its next
			 * lazy group commit (do_poll), inside the window before
			 * that commit is durable, where it can lose something. */
			if (power && topo->units[s->unit].nchildren > 0) {
				s->cut_armed = 1;
				break;
			}
			node_crash(s, power);
			ev_push((struct ev){ .at = vnow + 500 + rng_below(10000),
			    .type = EV_RESTART, .node = e.node });
		}
		break;
	case EV_RESTART:
		if (!s->up) {
			node_boot(s);
			simstat.restarts++;
		}
		break;
	case EV_PARTITION:
		if (faults && topo->units[s->unit].parent >= 0) {
			s->part_until = vnow + 5000 + rng_below(60000);
			simstat.partitions++;
		}
		break;
	case EV_ROTATE:
		do_rotate();
		break;
	case EV_POISON:
		do_poison(s);
		break;
	case EV_DISKFAULT:
		/* The next 1-3 commits of the node fail (I/O error). */
		if (faults && s->up) {
			store_open(s);
			if (ts_store_fail_commits(s->n.st, 1 + (unsigned)rng_below(3)) != 0)
				fatalx("sim: cannot inject a disk fault");
			simstat.disk_faults++;
		}
		break;
	}
	/* Only do_rotate asks for a reload, and acts on it at once: a
	 * reload pending here would free a table other nodes share. */
	if (s->n.reload)
		fatalx("sim: a reload left pending at %s", topo->units[s->unit].code);
}

/* This process's CPU time (user + system), s: the simulation's cost
 * on a shared machine, where its wall time also counts the others. */
static double
cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: tiersync-sim [--topology F] [--unit CODE | --all] "
	    "[--seed N] [--drop P] [--dup P] [--delay-ms N] [--crashes N] "
	    "[--partitions N] [--rounds N] [--max-virtual-s N] [--dir D] "
	    "[--rotations N] [--poison N] [--power P] [--disk-faults N] "
	    "[--min-faults N] [-v]\n");
	exit(2);
}


static void
rm_tree(const char *dir)
{
	char cmd[1024];

	/* Only directories this run made (mkdtemp), by absolute path. */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		log_warnx("could not remove %s", dir);
}

static void
cleanup(void)
{
	if (base[0] != '\0')
		rm_tree(base);
	base[0] = '\0';
}

int
main(int argc, char **argv)
{
	char err[1024], *kt = NULL;
	size_t ktlen = 0, ktcap = 0, i;
	struct expect *xp = &X;
#define x (*xp)
	struct timespec t0, t1;
	int a, sel_root;

	for (a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;
#define ARG(name) (strcmp(argv[a], name) == 0 && (v != NULL || (usage(), 0)) && ++a)
		if (ARG("--topology")) opt.topology = v;
		else if (ARG("--unit")) opt.unit = v;
		else if (strcmp(argv[a], "--all") == 0) opt.all = 1;
		else if (strcmp(argv[a], "-v") == 0) opt.verbose = 1;
		else if (ARG("--seed")) opt.seed = strtoull(v, NULL, 10);
		else if (ARG("--drop")) opt.drop = atof(v);
		else if (ARG("--dup")) opt.dup = atof(v);
		else if (ARG("--power")) opt.power = atof(v);
		else if (ARG("--delay-ms")) opt.delay_ms = (unsigned)atoi(v);
		else if (ARG("--crashes")) opt.crashes = (unsigned)atoi(v);
		else if (ARG("--partitions")) opt.partitions = (unsigned)atoi(v);
		else if (ARG("--rounds")) opt.rounds = (unsigned)atoi(v);
		else if (ARG("--max-virtual-s")) opt.max_virtual_s = (unsigned)atoi(v);
		else if (ARG("--dir")) opt.dir = v;
		else if (ARG("--store-cap")) opt.store_cap = (size_t)atoi(v);
		else if (ARG("--rotations")) opt.rotations = (unsigned)atoi(v);
		else if (ARG("--poison")) opt.poison = (unsigned)atoi(v);
		else if (ARG("--disk-faults")) opt.disk_faults = (unsigned)atoi(v);
		else if (ARG("--min-faults")) opt.min_faults = (unsigned)atoi(v);
		else usage();
#undef ARG
	}
	if (opt.rounds == 0 || opt.drop < 0 || opt.drop >= 1 || opt.dup < 0 ||
	    opt.dup >= 1 || opt.power < 0 || opt.power > 1)
		usage();
	if (opt.seed == 0) {
		if (getenv("TS_SEED") != NULL)
			opt.seed = strtoull(getenv("TS_SEED"), NULL, 10);
		else
			opt.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	}
	printf("# tiersync-sim seed=%" PRIu64 " (rerun: TS_SEED=%" PRIu64 ")\n",
	    opt.seed, opt.seed);
	rng_state = opt.seed;
	log_init("sim", 0, opt.verbose ? 0 : -1);
	log_set_clock(sim_wall, NULL);  /* lines stamped in virtual time */
	if (sodium_init() < 0)
		fatalx("sodium_init");
	if (opt.topology == NULL) {
		const char *src = getenv("TS_SRCDIR");
		static char path[1024];
		snprintf(path, sizeof(path), "%s/topology/vn-2025-03.tsv", src ? src : ".");
		opt.topology = path;
	}
	if (ts_topo_load(&topo, opt.topology, err, sizeof(err)) != 0)
		fatalx("%s", err);
	sel_root = opt.all ? topo->root : ts_topo_find(topo, opt.unit);
	if (sel_root < 0)
		fatalx("unit %s is not in %s", opt.unit, opt.topology);

	/* Many stores at once: LMDB holds the data file open twice per
	 * environment (plus a lock file, which the simulator does without). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		struct rlimit want = rl;
		want.rlim_cur = want.rlim_max = rl.rlim_max > 65536 ? rl.rlim_max : 65536;
		if (setrlimit(RLIMIT_NOFILE, &want) != 0) {   /* not root */
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	/* Select the subtree and its ancestors; make identities and keys. */
	if ((node_of_unit = malloc(topo->nunits * sizeof(int))) == NULL ||
	    (nodes = calloc(topo->nunits, sizeof(*nodes))) == NULL)
		fatal("alloc");
	for (i = 0; i < topo->nunits; i++) {
		int u = (int)i, in = ts_topo_in_subtree(topo, u, sel_root) ||
		    ts_topo_in_subtree(topo, sel_root, u);
		node_of_unit[i] = -1;
		if (!in)
			continue;
		node_of_unit[i] = (int)nnodes;
		nodes[nnodes].unit = u;
		if (ts_identity_generate(&nodes[nnodes].id) != 0)
			fatalx("keygen");
		keys_line(&kt, &ktlen, &ktcap, topo->units[i].code,
		    nodes[nnodes].id.sign_pk, nodes[nnodes].id.curve_pk, 0);
		nnodes++;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 128)
		store_cap = (size_t)(rl.rlim_cur - 64);   /* one fd per store */
	else
		store_cap = 32;
	if (opt.store_cap > 0)
		store_cap = opt.store_cap;
	if (ts_keys_parse(&keys, "sim-keys", kt, ktlen, err, sizeof(err)) != 0)
		fatalx("%s", err);
	free(kt);

	/* Stores on tmpfs when there is one: fsync is the real thing but
	 * need not cost a disk's latency thousands of times. */
	const char *tmp = opt.dir ? opt.dir : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(base, sizeof(base), "%s/tiersync-sim.XXXXXX", tmp);
	if (mkdtemp(base) == NULL)
		fatal("mkdtemp %s", base);
	atexit(cleanup);        /* fatalx exits too: leave no stores behind */
	memset(&x, 0, sizeof(x));
	for (i = 0; i < nnodes; i++) {
		snprintf(nodes[i].dir, sizeof(nodes[i].dir), "%s/%s", base,
		    topo->units[nodes[i].unit].code);
		node_boot(&nodes[i]);
		if (topo->units[nodes[i].unit].nchildren == 0)
			x.leaves++;
	}
	printf("# %zu nodes (%zu leaves) under %s, drop %.3f dup %.3f delay <= %u ms, "
	    "%u crashes, %u partitions, %u rounds\n", nnodes, x.leaves,
	    topo->units[sel_root].code, opt.drop, opt.dup, opt.delay_ms,
	    opt.crashes, opt.partitions, opt.rounds);

	/* Workload and faults, spread over the first minutes. */
	const uint64_t window = 120000;
	for (i = 0; i < nnodes; i++) {
		if (topo->units[nodes[i].unit].nchildren != 0)
			continue;
		for (unsigned r = 0; r < opt.rounds; r++, puts_left++)
			ev_push((struct ev){ .at = r * window / opt.rounds +
			    rng_below(window / opt.rounds), .type = EV_PUT,
			    .node = (int)i, .round = (int)r });
	}
	for (unsigned c = 0; c < opt.crashes; c++)
		ev_push((struct ev){ .at = rng_below(window), .type = EV_CRASH,
		    .node = (int)rng_below(nnodes) });
	for (unsigned r = 0; r < opt.rotations; r++)
		ev_push((struct ev){ .at = rng_below(window), .type = EV_ROTATE });
	for (unsigned d = 0; d < opt.disk_faults; d++)
		ev_push((struct ev){ .at = rng_below(window), .type = EV_DISKFAULT,
		    .node = (int)rng_below(nnodes) });
	for (unsigned q = 0; q < opt.poison; q++) {
		size_t pick = rng_below(nnodes);
		if (topo->units[nodes[pick].unit].parent >= 0)
			ev_push((struct ev){ .at = rng_below(window), .type = EV_POISON,
			    .node = (int)pick });
	}
	for (unsigned p = 0; p < opt.partitions; p++)
		ev_push((struct ev){ .at = rng_below(window), .type = EV_PARTITION,
		    .node = (int)rng_below(nnodes) });

	double cpu0 = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t next_check = window, deadline = (uint64_t)opt.max_virtual_s * 1000;
	int converged = 0;
	while (nheap > 0 && vnow < deadline) {
		struct ev e = ev_pop();

		if (e.at > vnow)
			vnow = e.at;
		simstat.events++;
		handle(&e, 1);
		free(e.msg);
		if (vnow >= next_check) {
			next_check = vnow + 1000;
			if (puts_left == 0 && national_exact(&x, 0)) {
				converged = 1;
				break;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu_s = cpu_seconds() - cpu0;

	if (!converged && puts_left == 0)
		converged = national_exact(&x, 0);
	/* Let the tree quiesce (outboxes drain) before the final checks:
	 * run on without new faults until nothing is queued. */
	opt.drop = opt.dup = 0;
	for (i = 0; i < nnodes; i++) {
		nodes[i].part_until = 0;
		if (!nodes[i].up)
			node_boot(&nodes[i]);
	}
	uint64_t quiet_deadline = vnow + 120000;
	while (nheap > 0 && vnow < quiet_deadline) {
		struct ev e = ev_pop();
		if (e.at > vnow)
			vnow = e.at;
		handle(&e, 0);
		free(e.msg);
	}

	printf("# virtual %.1f s, wall %.2f s, cpu %.2f s; events %" PRIu64 ", messages sent %"
	    PRIu64 " delivered %" PRIu64 " dropped %" PRIu64 " duplicated %" PRIu64
	    ", crashes %" PRIu64 " restarts %" PRIu64 ", partitions %" PRIu64
	    ", puts %" PRIu64 "\n", (double)vnow / 1000, wall_s, cpu_s, simstat.events,
	    simstat.sent, simstat.delivered, simstat.dropped, simstat.duplicated, simstat.crashes,
	    simstat.restarts, simstat.partitions, simstat.puts);
	printf("# core: %" PRIu64 " drains of %" PRIu64 " messages (up to %" PRIu64
	    " at once), %" PRIu64 " idle syncs; %" PRIu64 " ACKs, %" PRIu64
	    " checked against durability; ZAP %" PRIu64 " admitted, %" PRIu64
	    " refused; %" PRIu64 " key rotations, %" PRIu64 " impostors refused, %"
	    PRIu64 " outbox entries poisoned; %" PRIu64 " power cuts lost %" PRIu64
	    " commits; %" PRIu64 " disk faults, %" PRIu64 " puts retried, %" PRIu64
	    " keys reloads\n", simstat.drains, simstat.drained,
	    simstat.max_drain, simstat.idles, simstat.acks, simstat.acks_checked,
	    simstat.zap_ok, simstat.zap_denied, simstat.rotations,
	    simstat.impostors_refused, simstat.poisoned, simstat.power_cuts,
	    simstat.commits_lost, simstat.disk_faults, simstat.puts_retried,
	    simstat.key_reloads);
	check(converged, "national converged to the exact sums under faults");
	check(simstat.acks_early == 0, "no ACK left before its commit was durable "
	    "(%" PRIu64 " of %" PRIu64 " checked)", simstat.acks_early,
	    simstat.acks_checked);
	check(simstat.acks_checked > 0, "ACKs were checked against durability");
	check(simstat.impostors_refused == simstat.impostors_tried,
	    "every impostor key was refused by ZAP (%" PRIu64 " of %" PRIu64 ")",
	    simstat.impostors_refused, simstat.impostors_tried);
	final_checks(&x);

	for (i = 0; i < nnodes; i++) {
		node_stop(&nodes[i].n);
		if (nodes[i].own_keys)
			ts_keys_free(&nodes[i].n.keys);
		inq_clear(&nodes[i]);
		free(nodes[i].q);
		for (size_t j = 0; j < 256; j++)
			free(nodes[i].pushed[j].e);
		store_close(&nodes[i]);
		ts_identity_wipe(&nodes[i].id);
	}
	while (nheap > 0)
		free(ev_pop().msg);
	free(heap);
	free(acked);
	cleanup();
	ts_keys_free(&keys);
	ts_topo_free(&topo);
	free(nodes);
	free(node_of_unit);
	if (fails)
		printf("# FAILED: rerun with TS_SEED=%" PRIu64 "\n", opt.seed);
	printf("%d passed, %d failed\n", checks - fails, fails);
	return fails ? 1 : 0;
}
