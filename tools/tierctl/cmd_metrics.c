/*
 * tierctl metrics: the node's counters and gauges in the Prometheus text
 * exposition format (version 0.0.4), for node_exporter's textfile
 * collector.  Everything comes from the store (read-only): the daemon
 * persists its counters in meta inside the txns that change the state
 * they count (docs/STORE.md), so they survive restarts and need no
 * daemon to be read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

struct mw {
	const struct ctl *c;
	struct json j;
	char   unit_label[64];
};

static void
m_head(struct mw *w, const char *name, const char *type, const char *help)
{
	if (!w->c->json)
		printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
m_val(struct mw *w, const char *name, const char *labels, const char *jkey,
    uint64_t v)
{
	if (w->c->json)
		json_ku64(&w->j, jkey, v);
	else
		printf("%s{%s%s} %" PRIu64 "\n", name, w->unit_label, labels, v);
}

static void
m_dbl(struct mw *w, const char *name, const char *jkey, double v)
{
	if (w->c->json) {
		json_key(&w->j, jkey);
		fprintf(stdout, "%.3f", v);
		/* json_key left the writer after a key: the number is its value */
		w->j.after_key = 0;
	} else
		printf("%s{%s} %.3f\n", name, w->unit_label, v);
}

static int
counter(struct mw *w, ts_txn *t, const char *meta, const char *name,
    const char *help)
{
	uint64_t v;

	if (ops_meta_u64(t, meta, &v) != 0)
		return -1;
	m_head(w, name, "counter", help);
	m_val(w, name, "", meta, v);
	return 0;
}

static int
metrics_emit(struct mw *w, ts_txn *t)
{
	static const struct { const char *meta, *name, *help; } C[] = {
		{ "n_received", "tiersync_envelopes_received_total",
		  "Envelopes received from children (in committed PUSH batches)." },
		{ "n_stored", "tiersync_envelopes_stored_total",
		  "Envelopes from children newly and durably stored." },
		{ "n_held", "tiersync_envelopes_held_total",
		  "Envelopes from children that were exact duplicates." },
		{ "n_relayed", "tiersync_envelopes_relayed_total",
		  "Children's envelopes queued for the parent." },
		{ "n_acked", "tiersync_envelopes_acked_total",
		  "Outbox envelopes acknowledged by the parent." },
		{ "n_dead", "tiersync_envelopes_dead_total",
		  "Outbox envelopes the parent refused for good." },
		{ "n_sig_verified", "tiersync_signatures_verified_total",
		  "Envelopes from children whose own signature was verified." },
		{ "n_sig_chained", "tiersync_signatures_chained_total",
		  "Envelopes from children authenticated through the hash chain "
		  "by a verified newer envelope of the same PUSH." },
		{ "n_zap_denied", "tiersync_zap_denied_total",
		  "CURVE handshakes refused by the ZAP handler." },
		{ "forks", "tiersync_forks_total",
		  "Forks seen: an origin signed two reports with one seq." },
		{ "n_quota_refused", "tiersync_quota_refused_total",
		  "Envelopes from children refused (retry) for being over an "
		  "origin's daily quota (node.conf quota_*)." },
		{ "n_rollup_left_out", "tiersync_rollup_left_out_total",
		  "Values, child reports or periods a rollup could not add and "
		  "left out (logged)." },
	};
	char link[16], lbl[64];
	uint64_t v, outbox, seq, last_ack;
	size_t i;
	int st;

	for (i = 0; i < sizeof(C) / sizeof(C[0]); i++)
		if (counter(w, t, C[i].meta, C[i].name, C[i].help) != 0)
			return -1;
	m_head(w, "tiersync_envelopes_refused_total", "counter",
	    "Envelopes from children refused, by reason.");
	if (w->c->json) {
		json_key(&w->j, "refused");
		json_obj_begin(&w->j);
	}
	for (st = TS_ST_HELD + 1; st <= TS_ST_MAX_; st++) {
		char meta[40];
		snprintf(meta, sizeof(meta), "n_refused_%s", ts_status_name(st));
		if (ops_meta_u64(t, meta, &v) != 0)
			return -1;
		snprintf(lbl, sizeof(lbl), ",reason=\"%s\"", ts_status_name(st));
		m_val(w, "tiersync_envelopes_refused_total", lbl,
		    ts_status_name(st), v);
	}
	if (w->c->json)
		json_obj_end(&w->j);

	if (ts_outbox_count(t, &outbox) != 0 || ops_meta_u64(t, "seq", &seq) != 0 ||
	    ops_meta_u64(t, "last_ack_ms", &last_ack) != 0 ||
	    ops_meta_str(t, "link", link, sizeof(link)) != 0) {
		ctl_errx("store: reading gauges failed");
		return -1;
	}
	m_head(w, "tiersync_outbox_depth", "gauge",
	    "Envelopes waiting for the parent's ACK.");
	m_val(w, "tiersync_outbox_depth", "", "outbox_depth", outbox);
	m_head(w, "tiersync_own_seq", "gauge", "Seq of this node's newest report.");
	m_val(w, "tiersync_own_seq", "", "own_seq", seq);
	if (w->c->cfg.parent[0] != '\0') {
		m_head(w, "tiersync_link_up", "gauge",
		    "1 if the link to the parent is up (as last recorded).");
		m_val(w, "tiersync_link_up", "", "link_up", strcmp(link, "up") == 0);
		if (last_ack != 0) {
			uint64_t now = ts_now_ms();
			m_head(w, "tiersync_last_ack_age_seconds", "gauge",
			    "Seconds since the parent last acknowledged a batch.");
			m_dbl(w, "tiersync_last_ack_age_seconds", "last_ack_age_seconds",
			    now > last_ack ? (double)(now - last_ack) / 1000.0 : 0.0);
		}
	}
	return 0;
}

int
cmd_metrics(struct ctl *c, int argc, char **argv)
{
	struct mw w;
	char *pos[1];
	ts_txn *t = NULL;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 0, 0, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ctl_load_config(c) != 0 || ops_read_begin(c, &t) != 0)
		return EXIT_FAIL;
	memset(&w, 0, sizeof(w));
	w.c = c;
	/* unit codes are [0-9A-Za-z]: nothing to escape in the label */
	snprintf(w.unit_label, sizeof(w.unit_label), "unit=\"%s\"", c->cfg.unit);
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "unit", c->cfg.unit);
	}
	rc = metrics_emit(&w, t);
	ts_store_read_end(&t);
	if (c->json) {
		json_obj_end(&w.j);
		json_end(&w.j);
	}
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
