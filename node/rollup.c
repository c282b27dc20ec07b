/*
 * Rollup: this node's report for a period = its own entered values +
 * the sum, per (indicator, disaggregation), of the latest report for the
 * period of each direct child (DESIGN "Reports and envelopes").
 *
 * A period becomes dirty (persisted in the `dirty` DB, in the same txn
 * as the change that caused it) when own values change or a direct
 * child's newer report is stored.  Dirty periods are re-emitted after
 * debounce_ms of quiet, but no later than debounce_max_ms after the
 * first change, so a stream of child reports cannot starve the parent.
 * The new envelope, the seq/head update, `latest`, and the outbox entry
 * are written in one txn: a seq is never used before it is persisted.
 */
#include <stdlib.h>
#include <string.h>

#include "tiersync/log.h"
#include "node.h"

struct rollup_scratch {
	struct node *n;
	char         periods[64][TS_PERIOD_MAX + 1];
	size_t       nperiods;
	int          more;                 /* more dirty than fit         */
	size_t       emitted;
	uint64_t     last_seq;
	uint64_t     left_out;             /* values, child reports, periods
	                                      this emit could not add */
};

static int
collect_dirty(const char *period, void *arg)
{
	struct rollup_scratch *e = arg;

	if (e->nperiods == sizeof(e->periods) / sizeof(e->periods[0])) {
		e->more = 1;
		return 1;
	}
	snprintf(e->periods[e->nperiods++], TS_PERIOD_MAX + 1, "%s", period);
	return 0;
}

static int
emit_period(ts_txn *t, struct node *n, const char *period, uint64_t *seq_io,
    uint8_t head[TS_HASH_LEN])
{
	const ts_topo *topo = n->topo;
	const ts_unit *me = &topo->units[n->self];
	ts_vsum acc = { 0 };
	ts_report r;
	ts_prov *prov = NULL;
	ts_value *own = NULL;
	size_t nown = 0, nprov = 0;
	uint64_t now = node_wall(n);
	ts_latest mine;
	int c, rc, have_mine;

	memset(&r, 0, sizeof(r));
	if ((rc = ts_own_list(t, period, &own, &nown)) != 0 && rc != TS_ENOTFOUND)
		goto out;
	if ((rc = ts_vsum_add(&acc, own, nown)) != 0)
		goto out;
	if (me->nchildren > 0 &&
	    (prov = calloc((size_t)me->nchildren, sizeof(*prov))) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	r.comp.expected = (uint32_t)me->nchildren;
	r.comp.leaf_expected = me->nleaves;
	for (c = me->first_child; c >= 0; c = topo->units[c].next_sibling) {
		ts_latest l;
		ts_bytes env;
		ts_env_view v;
		ts_report cr;

		rc = ts_latest_get(t, topo->units[c].code, period, &l);
		if (rc == TS_ENOTFOUND)
			continue;
		if (rc != 0)
			goto out;
		if ((rc = ts_env_get(t, topo->units[c].code, l.seq, &env)) != 0)
			goto out;       /* a store error: the whole emit waits */
		if ((rc = ts_env_split(env.p, env.len, &v)) != 0 ||
		    (rc = ts_report_decode(v.body, v.body_len, &cr)) != 0) {
			/* One child's report that cannot be read (stored by
			 * an older version with values since refused, or a
			 * damaged store) must not freeze the rollup of every
			 * other child: leave it out, say so, go on. */
			log_warnx("rollup: %s: report of %s seq %llu left out: %s",
			    period, topo->units[c].code, (unsigned long long)l.seq,
			    ts_strerror(rc));
			n->rollup->left_out++;
			rc = 0;
			continue;
		}
		rc = ts_vsum_add(&acc, cr.values, cr.nvalues);
		r.comp.reported++;
		if (l.first_ms < node_deadline_ms(n, period, topo->units[c].level))
			r.comp.on_time++;
		/* What a child says of its leaves is bounded by the tree: no
		 * more than its subtree's leaves, on time no more than
		 * reported (a child claiming 2^32 - 1 wrapped the sums). */
		{
			uint32_t lr = cr.comp.leaf_reported, lo = cr.comp.leaf_on_time;
			uint32_t cap = topo->units[c].nchildren == 0 ? 1 :
			    (uint32_t)topo->units[c].nleaves;
			if (lr > cap)
				lr = cap;
			if (lo > lr)
				lo = lr;
			r.comp.leaf_reported += lr;
			r.comp.leaf_on_time += lo;
		}
		ts_report_clear(&cr);
		if (rc != 0)
			goto out;
		snprintf(prov[nprov].child, sizeof(prov[nprov].child), "%s",
		    topo->units[c].code);
		prov[nprov].seq = l.seq;
		memcpy(prov[nprov].hash, l.hash, TS_HASH_LEN);
		nprov++;
	}
	if ((rc = ts_vsum_merge(&acc, NULL)) != 0) {
		/* Cannot happen with every addend <= TS_VALUE_MAX and fewer
		 * than 2048 of them; refuse rather than wrap. */
		log_warnx("rollup: %s: a sum overflows 64 bits", period);
		goto out;
	}
	/* A sum over the bound cannot be reported (the parent would refuse
	 * the whole report): leave that value out, keep every other, and
	 * say what was left out. */
	{
		size_t i, k = 0;
		for (i = 0; i < acc.n; i++) {
			if (acc.v[i].num <= TS_VALUE_MAX && acc.v[i].den <= TS_VALUE_MAX) {
				acc.v[k++] = acc.v[i];
				continue;
			}
			log_warnx("rollup: %s: %s/'%s' sums to %llu/%llu, over 2^53 - 1: "
			    "left out of the report", period, acc.v[i].ind, acc.v[i].dis,
			    (unsigned long long)acc.v[i].num,
			    (unsigned long long)acc.v[i].den);
			n->rollup->left_out++;
		}
		acc.n = k;
	}
	rc = ts_latest_get(t, me->code, period, &mine);
	if (rc != 0 && rc != TS_ENOTFOUND)
		goto out;
	have_mine = rc == 0;
	if (me->nchildren == 0) {
		/* A leaf reports for itself: on time if its first report of
		 * the period was made before its deadline. */
		uint64_t first = have_mine ? mine.first_ms : now;
		r.comp.leaf_reported = 1;
		r.comp.leaf_on_time = first < node_deadline_ms(n, period, me->level);
	}

	snprintf(r.origin, sizeof(r.origin), "%s", me->code);
	snprintf(r.period, sizeof(r.period), "%s", period);
	snprintf(r.topo, sizeof(r.topo), "%s", topo->version);
	snprintf(r.catalogue, sizeof(r.catalogue), "%s", n->catalogue_id);
	r.seq = *seq_io + 1;
	memcpy(r.prev, head, TS_HASH_LEN);
	r.created_ms = now;
	r.values = acc.v;
	r.nvalues = acc.n;
	r.prov = prov;
	r.nprov = nprov;
	if ((rc = ts_report_sort(&r)) != 0)
		goto out;

	uint8_t hash[TS_HASH_LEN];
	ts_buf_reset(&n->tx);
	if ((rc = ts_env_seal(&r, n->id.sign_sk, &n->tx, hash)) != 0)
		goto out;
	ts_chain ch = { .seq = r.seq, .recv_ms = now };
	memcpy(ch.hash, hash, TS_HASH_LEN);
	ts_latest nl = { .seq = r.seq, .first_ms = have_mine ? mine.first_ms : now,
	    .recv_ms = now };
	memcpy(nl.hash, hash, TS_HASH_LEN);
	uint64_t oid;
	if ((rc = ts_env_put(t, me->code, r.seq, n->tx.buf, n->tx.len)) != 0 ||
	    (rc = ts_chain_put(t, me->code, &ch)) != 0 ||
	    (rc = ts_latest_put(t, me->code, period, &nl)) != 0 ||
	    (n->has_parent && (rc = ts_outbox_append_ref(t, me->code, r.seq, &oid)) != 0) ||
	    (rc = ts_dirty_clear(t, period)) != 0)
		goto out;
	*seq_io = r.seq;
	memcpy(head, hash, TS_HASH_LEN);
out:
	/* r borrows acc.v and prov; free them once. */
	ts_vsum_free(&acc);
	free(prov);
	free(own);
	return rc;
}

static int
emit_fn(ts_txn *t, void *arg)
{
	struct rollup_scratch *e = arg;
	uint64_t seq;
	uint8_t head[TS_HASH_LEN] = { 0 };
	ts_bytes hb;
	size_t i;
	int rc;

	/* Restartable: ts_store_write may call us again after a map grow. */
	e->nperiods = 0;
	e->more = 0;
	e->emitted = 0;
	if ((rc = ts_dirty_each(t, collect_dirty, e)) < 0)
		return rc;
	if ((rc = ts_meta_get_u64(t, "seq", &seq)) != 0)
		return rc;
	rc = ts_meta_get(t, "head", &hb);
	if (rc == 0 && hb.len == TS_HASH_LEN)
		memcpy(head, hb.p, TS_HASH_LEN);
	else if (rc != 0 && rc != TS_ENOTFOUND)
		return rc;
	e->left_out = 0;
	for (i = 0; i < e->nperiods; i++) {
		rc = emit_period(t, e->n, e->periods[i], &seq, head);
		if (rc == TS_ESTORE || rc == TS_ENOSPC || rc == TS_ENOMEM)
			return rc;      /* the store: all of it again later */
		if (rc != 0) {
			/* This period cannot be made (emit_period wrote nothing
			 * for it): say so and stop trying until it changes
			 * again, and never hold the other periods back. */
			log_warnx("rollup: %s: no report made: %s", e->periods[i],
			    ts_strerror(rc));
			e->left_out++;
			if ((rc = ts_dirty_clear(t, e->periods[i])) != 0)
				return rc;
			continue;
		}
		e->emitted++;
	}
	if (e->emitted > 0) {
		if ((rc = ts_meta_put_u64(t, "seq", seq)) != 0 ||
		    (rc = ts_meta_put(t, "head", head, TS_HASH_LEN)) != 0)
			return rc;
	}
	if ((rc = node_meta_add(t, "n_rollup_left_out", e->left_out)) != 0)
		return rc;
	e->last_seq = seq;
	return 0;
}

void
rollup_mark(struct node *n)
{
	uint64_t now = node_mono(n);

	if (n->dirty_first == 0)
		n->dirty_first = now;
	n->dirty_last = now;
}

int
rollup_recover(struct node *n)
{
	/* A crash between storing a child report and emitting our own
	 * leaves the period in `dirty`: emit on the first tick. */
	n->dirty_first = n->dirty_last = 1;
	return 0;
}

uint64_t
rollup_next_timer(const struct node *n, uint64_t now)
{
	uint64_t a, b;

	(void)now;
	if (n->dirty_first == 0)
		return 0;
	a = n->dirty_last + (uint64_t)n->cfg.debounce_ms;
	b = n->dirty_first + (uint64_t)n->cfg.debounce_max_ms;
	return a < b ? a : b;
}

void
rollup_tick(struct node *n, uint64_t now)
{
	struct rollup_scratch *e = n->rollup;
	uint64_t due = rollup_next_timer(n, now);
	int rc;

	if (due == 0 || now < due)
		return;
	/* Per node, not static: the simulator runs many nodes in one
	 * process (and a static would be shared by all of them). */
	if (e == NULL && (e = n->rollup = malloc(sizeof(*e))) == NULL) {
		log_warnx("rollup: out of memory");
		n->dirty_first = n->dirty_last = now + 1000;
		return;
	}
	memset(e, 0, sizeof(*e));
	e->n = n;
	rc = ts_store_write(n->st, emit_fn, e);
	n->outbox_gen++;                /* it may have appended (uplink.c) */
	if (rc != 0) {
		/* Keep the period dirty and try again later; the store
		 * holds the dirty mark, so nothing is forgotten. */
		log_warnx("rollup: cannot emit report: %s", ts_strerror(rc));
		n->dirty_first = n->dirty_last = now + 1000;
		return;
	}
	n->cnt.reports_emitted += e->emitted;
	if (e->emitted > 0) {
		log_info("rollup: emitted %zu report(s) up to seq %llu%s", e->emitted,
		    (unsigned long long)e->last_seq, n->has_parent ? ", queued for parent" : "");
		if (n->has_parent)
			uplink_kick(n);
	}
	if (e->more)
		n->dirty_first = n->dirty_last = now;   /* next batch soon */
	else
		n->dirty_first = n->dirty_last = 0;
}

void
rollup_free(struct node *n)
{
	free(n->rollup);
	n->rollup = NULL;
}
