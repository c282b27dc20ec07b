/*
 * The verifier (include/tiersync/verify.h).  Two passes over a read
 * txn: every envelope by origin and seq (decode, signature, chain, and
 * the chain record at each origin's end), then every newest report per
 * (origin, period) that is a rollup, and with `all` every superseded one
 * too (the provenance's envelopes summed and compared).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/verify.h"

static const uint8_t zero_hash[TS_HASH_LEN];

int
ts_chain_place(uint64_t held_seq, const uint8_t held_hash[TS_HASH_LEN],
    uint64_t seq, const uint8_t prev[TS_HASH_LEN])
{
	if (seq <= held_seq)
		return TS_CHAIN_OLD;
	if (seq > held_seq + 1)
		return TS_CHAIN_GAP;
	if (memcmp(prev, held_seq == 0 ? zero_hash : held_hash, TS_HASH_LEN) != 0)
		return TS_CHAIN_PREV;
	return TS_CHAIN_NEXT;
}

const char *
ts_chain_walk_step(ts_chain_walk *k, uint64_t seq, const ts_report *r,
    const uint8_t hash[TS_HASH_LEN], char *why, size_t whylen)
{
	const char *bad = NULL;

	if (r->seq != seq) {
		snprintf(why, whylen, "stored under seq %" PRIu64 " but the body "
		    "says %" PRIu64, seq, r->seq);
		bad = "key";
	} else if (seq != k->last_seq + 1) {
		if (k->last_seq == 0)
			snprintf(why, whylen, "chain starts at seq %" PRIu64
			    ", not 1", seq);
		else
			snprintf(why, whylen, "gap: seq %" PRIu64 " follows %"
			    PRIu64, seq, k->last_seq);
		bad = "gap";
	} else if (seq == 1 && memcmp(r->prev, zero_hash, TS_HASH_LEN) != 0) {
		snprintf(why, whylen, "seq 1 must have an all-zero prev");
		bad = "prev";
	} else if (seq > 1 && k->have_hash &&
	    memcmp(r->prev, k->last_hash, TS_HASH_LEN) != 0) {
		snprintf(why, whylen, "prev is not the hash of seq %" PRIu64,
		    seq - 1);
		bad = "prev";
	}
	k->last_seq = seq;
	memcpy(k->last_hash, hash, TS_HASH_LEN);
	k->have_hash = 1;
	return bad;
}

int
ts_verify_sig(const ts_keys *keys, const char *origin, const ts_env_view *v,
    uint64_t at_s)
{
	const ts_key *k[16];
	size_t n, i;

	if (keys == NULL)
		return -1;
	/* The daemon already checked validity against its own clock when
	 * the envelope arrived; here, keys valid when it was signed. */
	n = ts_keys_sign_for(keys, origin, at_s, k, 16);
	if (n == 0)
		return ts_keys_sign_for(keys, origin, 0, k, 16) == 0 ? -1 : 0;
	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++)
		if (ts_env_verify(v, k[i]->sign_pk) == 0)
			return 1;
	return 0;
}

int
ts_env_load(ts_txn *t, const char *origin, uint64_t seq, ts_report *r,
    ts_env_view *v, uint8_t hash[TS_HASH_LEN])
{
	ts_bytes b;
	int rc;

	if ((rc = ts_env_get(t, origin, seq, &b)) != 0)
		return rc;
	if ((rc = ts_env_split(b.p, b.len, v)) != 0)
		return rc;
	if (hash != NULL)
		ts_body_hash(v->body, v->body_len, hash);
	return ts_report_decode(v->body, v->body_len, r);
}

/* ---- the walk over a store ---- */

struct vw {
	const ts_verify_opts *o;
	ts_verify_stats *st;
	ts_txn        *t;
	char           origin[TS_CODE_MAX + 1];   /* origin being walked   */
	ts_chain_walk  ck;
	char         (*dirty)[TS_PERIOD_MAX + 1]; /* periods being re-made */
	size_t         ndirty, dirty_cap;
	int            history;        /* checking a superseded report     */
	char          *err;
	size_t         errlen;
	/* envelopes of this origin since its last authentic one whose own
	 * signature does not verify: authentic only if a later signed
	 * envelope chains to them (PROTOCOL.md 3.1) */
	struct unsig { uint64_t seq; char period[TS_PERIOD_MAX + 1]; } *uns;
	size_t         nuns, uns_cap;
};


static void vfail(struct vw *, const char *, uint64_t, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));

/* Nothing later can authenticate the envelopes held in w->uns: each is
 * a finding. */
static void
unsigned_fail(struct vw *w, const char *origin)
{
	size_t i;

	for (i = 0; i < w->nuns; i++)
		vfail(w, origin, w->uns[i].seq, w->uns[i].period, "signature does "
		    "not verify with any key of %s, and no later validly signed "
		    "envelope of it chains to this one", origin);
	w->nuns = 0;
}

static void
vfail(struct vw *w, const char *origin, uint64_t seq, const char *period,
    const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	w->st->failures++;
	w->o->finding(w->o->arg, origin, seq, period != NULL ? period : "", what);
}

/* A store error that stops the walk: "store: <what><name>: <error>". */
static int
store_fail(struct vw *w, int rc, const char *what, const char *name)
{
	snprintf(w->err, w->errlen, "store: %s%s: %s", what, name, ts_strerror(rc));
	return rc;
}

static void
step(struct vw *w)
{
	if (w->o->step != NULL)
		w->o->step(w->o->arg);
}

/* The chain record must name the newest envelope held. */
static int
origin_end(struct vw *w)
{
	ts_chain ch;
	int rc;

	if (w->origin[0] == '\0')
		return 0;
	unsigned_fail(w, w->origin);
	rc = ts_chain_get(w->t, w->origin, &ch);
	if (rc == TS_ENOTFOUND) {
		vfail(w, w->origin, w->ck.last_seq, NULL, "no chain record "
		    "for an origin whose envelopes are held");
		return 0;
	}
	if (rc != 0)
		return store_fail(w, rc, "chain of ", w->origin);
	if (ch.seq != w->ck.last_seq)
		vfail(w, w->origin, w->ck.last_seq, NULL, "chain record says "
		    "newest seq %" PRIu64 ", newest envelope held is %" PRIu64,
		    ch.seq, w->ck.last_seq);
	else if (w->ck.have_hash &&
	    memcmp(ch.hash, w->ck.last_hash, TS_HASH_LEN) != 0)
		vfail(w, w->origin, ch.seq, NULL, "chain record hash differs "
		    "from the envelope's");
	return 0;
}

static int
env_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	struct vw *w = arg;
	uint8_t hash[TS_HASH_LEN] = { 0 };
	char why[160];
	ts_env_view v;
	ts_report r;
	int rc, sig;

	if (strcmp(origin, w->origin) != 0) {
		if ((rc = origin_end(w)) != 0)
			return rc;
		snprintf(w->origin, sizeof(w->origin), "%s", origin);
		memset(&w->ck, 0, sizeof(w->ck));
		w->nuns = 0;
		w->st->origins++;
	}
	w->st->envelopes++;
	step(w);
	memset(&r, 0, sizeof(r));
	if ((rc = ts_env_split(env, len, &v)) == 0) {
		ts_body_hash(v.body, v.body_len, hash);
		rc = ts_report_decode(v.body, v.body_len, &r);
	}
	if (rc != 0) {
		vfail(w, origin, seq, NULL, "malformed envelope: %s", ts_strerror(rc));
		w->ck.last_seq = seq;
		w->ck.have_hash = 0;
		return 0;
	}
	if (strcmp(r.origin, origin) != 0)
		vfail(w, origin, seq, r.period, "stored under origin %s but the "
		    "body says %s", origin, r.origin);
	sig = ts_verify_sig(w->o->keys, origin, &v, r.created_ms / 1000);
	/* One rule with ingest (PROTOCOL.md 3.1): an envelope is authentic
	 * if its own signature verifies, or if the next envelope of its
	 * origin is authentic and names this body's hash as prev. */
	if (ts_chain_walk_step(&w->ck, seq, &r, hash, why, sizeof(why)) != NULL) {
		unsigned_fail(w, origin);       /* the chain stops here */
		vfail(w, origin, seq, r.period, "%s", why);
	}
	if (sig < 0)
		vfail(w, origin, seq, r.period, "no signing key for %s in the "
		    "keys file", origin);
	else if (sig == 0) {
		if (w->nuns == w->uns_cap) {
			size_t cap = w->uns_cap ? w->uns_cap * 2 : 16;
			void *p = realloc(w->uns, cap * sizeof(*w->uns));
			if (p == NULL) {
				ts_report_clear(&r);
				return store_fail(w, TS_ENOMEM, "verify", "");
			}
			w->uns = p;
			w->uns_cap = cap;
		}
		w->uns[w->nuns].seq = seq;
		snprintf(w->uns[w->nuns].period, sizeof(w->uns[w->nuns].period),
		    "%s", r.period);
		w->nuns++;
	} else if (w->nuns > 0) {
		/* Signed, and the chain ran unbroken to here: those before
		 * it are authentic through it. */
		w->st->chained_only += w->nuns;
		w->nuns = 0;
	}
	ts_report_clear(&r);
	return 0;
}

/* Add up the child reports the provenance names.  Returns the number of
 * problems found (each already reported); -1 out of memory. */
static int
prov_sum(struct vw *w, const ts_report *r, ts_vsum *sum)
{
	const ts_topo *topo = w->o->topo;
	int self = topo != NULL ? ts_topo_find(topo, r->origin) : -1;
	int bad = 0;
	size_t i;

	for (i = 0; i < r->nprov; i++) {
		const ts_prov *p = &r->prov[i];
		uint8_t h[TS_HASH_LEN];
		ts_env_view v;
		ts_report cr;
		int ci, rc;

		/* One child counted twice would pass the sum check below:
		 * the sum is of what the provenance names. */
		for (size_t k = 0; k < i; k++)
			if (strcmp(r->prov[k].child, p->child) == 0) {
				vfail(w, r->origin, r->seq, r->period, "provenance "
				    "names %s twice (seq %" PRIu64 " and %" PRIu64 ")",
				    p->child, r->prov[k].seq, p->seq);
				bad++;
				break;
			}
		ci = topo != NULL ? ts_topo_find(topo, p->child) : -1;
		if (self >= 0 && (ci < 0 || topo->units[ci].parent != self)) {
			vfail(w, r->origin, r->seq, r->period, "provenance names "
			    "%s, not a direct child of %s", p->child, r->origin);
			bad++;
		}
		memset(&cr, 0, sizeof(cr));
		rc = ts_env_load(w->t, p->child, p->seq, &cr, &v, h);
		if (rc != 0) {
			vfail(w, r->origin, r->seq, r->period, "provenance names "
			    "%s seq %" PRIu64 ": %s", p->child, p->seq,
			    rc == TS_ENOTFOUND ? "envelope not in this store" :
			    ts_strerror(rc));
			bad++;
			continue;
		}
		if (memcmp(h, p->hash, TS_HASH_LEN) != 0 ||
		    strcmp(cr.period, r->period) != 0) {
			vfail(w, r->origin, r->seq, r->period, "provenance names "
			    "%s seq %" PRIu64 " but the envelope held has a "
			    "different %s", p->child, p->seq,
			    strcmp(cr.period, r->period) != 0 ? "period" : "hash");
			bad++;
		} else if (ts_vsum_add(sum, cr.values, cr.nvalues) != 0) {
			ts_report_clear(&cr);
			return -1;
		}
		ts_report_clear(&cr);
	}
	return bad;
}

/*
 * Compare a report's values with the sum: exactly when the sum includes
 * the own values (this node, own values unchanged since), else at least
 * the children's sum (other origins' own values are not known here).
 * An absent (ind, dis) counts as 0/0 on either side.
 */
static void
compare(struct vw *w, const ts_report *r, const ts_vsum *sum, int exact)
{
	static const ts_value zero;
	size_t i = 0, k = 0;

	while (i < r->nvalues || k < sum->n) {
		const ts_value *a, *b;
		int d;

		if (i == r->nvalues)
			d = 1;
		else if (k == sum->n)
			d = -1;
		else
			d = ts_value_cmp(&r->values[i], &sum->v[k]);
		a = d <= 0 ? &r->values[i] : &zero;
		b = d >= 0 ? &sum->v[k] : &zero;
		/* A sum over TS_VALUE_MAX is left out of a rollup by rule
		 * (node/rollup.c): absent is then what is right. */
		if (d > 0 && (b->num > TS_VALUE_MAX || b->den > TS_VALUE_MAX)) {
			k++;
			continue;
		}
		if (exact ? (a->num != b->num || a->den != b->den) :
		    (a->num < b->num || a->den < b->den))
			vfail(w, r->origin, r->seq, r->period, "%s/'%s': report "
			    "has %" PRIu64 "/%" PRIu64 ", %s %" PRIu64 "/%" PRIu64,
			    d <= 0 ? a->ind : b->ind, d <= 0 ? a->dis : b->dis,
			    a->num, a->den, exact ? "own values + children sum to" :
			    "children alone sum to", b->num, b->den);
		if (d <= 0)
			i++;
		if (d >= 0)
			k++;
	}
}

static int
is_dirty(const struct vw *w, const char *period)
{
	size_t i;

	for (i = 0; i < w->ndirty; i++)
		if (strcmp(w->dirty[i], period) == 0)
			return 1;
	return 0;
}

static int
rollup(struct vw *w, const ts_report *r)
{
	ts_vsum sum = { NULL, 0, 0 };
	const ts_value *ovf;
	/* A superseded own report was made from own values since changed:
	 * only the children's part can be checked (>=). */
	int self = w->o->self != NULL && strcmp(r->origin, w->o->self) == 0 &&
	    !w->history;
	int rc = 0, exact = 0, bad;

	w->st->rollups++;
	if ((bad = prov_sum(w, r, &sum)) != 0) {
		if (bad < 0)
			rc = store_fail(w, TS_ENOMEM, "summing", "");
		goto out;               /* the sum would be partial */
	}
	/* Own values newer than the report (rollup pending) cannot be
	 * compared exactly; the children's part still can. */
	if (self && !is_dirty(w, r->period)) {
		ts_value *own = NULL;
		size_t n = 0;
		if ((rc = ts_own_list(w->t, r->period, &own, &n)) != 0) {
			rc = store_fail(w, rc, "own values of ", r->period);
			goto out;
		}
		rc = ts_vsum_add(&sum, own, n);
		free(own);
		if (rc != 0) {
			rc = store_fail(w, rc, "summing", "");
			goto out;
		}
		exact = 1;
	}
	if (ts_vsum_merge(&sum, &ovf) != 0 && ovf != NULL)
		vfail(w, r->origin, r->seq, r->period, "%s/'%s': the sum "
		    "overflows 64 bits", ovf->ind, ovf->dis);
	else
		compare(w, r, &sum, exact);
out:
	ts_vsum_free(&sum);
	return rc;
}

static int
latest_cb(const char *origin, const char *period, const ts_latest *l, void *arg)
{
	struct vw *w = arg;
	uint8_t hash[TS_HASH_LEN] = { 0 };
	ts_env_view v;
	ts_report r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = ts_env_load(w->t, origin, l->seq, &r, &v, hash);
	if (rc != 0) {
		/* Missing or malformed: pass 1 or this line reports it. */
		if (rc == TS_ENOTFOUND)
			vfail(w, origin, l->seq, period, "newest report for the "
			    "period is not in the envelope store");
		return 0;
	}
	if (memcmp(hash, l->hash, TS_HASH_LEN) != 0)
		vfail(w, origin, l->seq, period, "latest record hash differs "
		    "from the envelope's");
	if (r.nprov > 0 || (w->o->self != NULL && strcmp(origin, w->o->self) == 0))
		rc = rollup(w, &r);
	ts_report_clear(&r);
	return rc;
}

static int
dirty_cb(const char *period, void *arg)
{
	struct vw *w = arg;

	if (w->ndirty == w->dirty_cap) {
		size_t cap = w->dirty_cap ? w->dirty_cap * 2 : 16;
		void *p = realloc(w->dirty, cap * sizeof(*w->dirty));
		if (p == NULL)
			return TS_ENOMEM;
		w->dirty = p;
		w->dirty_cap = cap;
	}
	snprintf(w->dirty[w->ndirty++], sizeof(*w->dirty), "%s", period);
	return 0;
}

/* `all`: the rollups of superseded reports too (the newest ones are
 * checked by latest_cb). */
static int
hist_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	struct vw *w = arg;
	ts_latest l;
	ts_env_view v;
	ts_report r;
	int rc;

	(void)origin;
	step(w);
	memset(&r, 0, sizeof(r));
	if (ts_env_split(env, len, &v) != 0 ||
	    ts_report_decode(v.body, v.body_len, &r) != 0)
		return 0;               /* reported by pass 1 */
	rc = ts_latest_get(w->t, r.origin, r.period, &l);
	if (r.nprov > 0 && (rc == TS_ENOTFOUND || (rc == 0 && l.seq != seq))) {
		w->history = 1;
		rc = rollup(w, &r);
		w->history = 0;
	} else if (rc == TS_ENOTFOUND)
		rc = 0;
	ts_report_clear(&r);
	return rc;
}

int
ts_verify_store(ts_txn *t, const ts_verify_opts *o, ts_verify_stats *st,
    char *err, size_t errlen)
{
	struct vw w;
	int rc;

	if (t == NULL || o == NULL || o->finding == NULL || st == NULL)
		return TS_EINVAL;
	memset(st, 0, sizeof(*st));
	memset(&w, 0, sizeof(w));
	w.o = o;
	w.st = st;
	w.t = t;
	w.err = err;
	w.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if (o->phase != NULL)
		o->phase(o->arg, "verify: envelopes", 0);
	rc = ts_env_each(t, NULL, env_cb, &w);
	if (o->phase_end != NULL)
		o->phase_end(o->arg);
	if (rc == 0)
		rc = origin_end(&w);
	if (rc != 0) {
		if (err[0] == '\0')
			store_fail(&w, rc, "walking ", "envelopes");
		goto out;
	}
	if (o->all) {
		if (o->phase != NULL)
			o->phase(o->arg, "verify: rollups of every report",
			    st->envelopes);
		rc = ts_env_each(t, NULL, hist_cb, &w);
		if (o->phase_end != NULL)
			o->phase_end(o->arg);
		if (rc != 0) {
			if (err[0] == '\0')
				store_fail(&w, rc, "walking ", "reports");
			goto out;
		}
	}
	if ((rc = ts_dirty_each(t, dirty_cb, &w)) != 0 ||
	    (rc = ts_latest_each(t, NULL, latest_cb, &w)) != 0) {
		if (err[0] == '\0')
			store_fail(&w, rc, "walking ", "reports");
		goto out;
	}
out:
	free(w.dirty);
	free(w.uns);
	return rc;
}
