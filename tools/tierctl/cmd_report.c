/*
 * tierctl report / log / verify: read the envelopes a node holds.  All
 * three open the store read-only and work without the daemon.  Nothing
 * here trusts the store: signatures are checked with the keys file and
 * rollups are recomputed from the child envelopes they name, so a copy
 * of a node's store can be audited anywhere.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "domain_cmds.h"
#include "ops.h"


/* Short hash for terminals: 16 hex digits are plenty to tell apart. */
static void
hash_short(const uint8_t h[TS_HASH_LEN], char out[17])
{
	char full[2 * TS_HASH_LEN + 1];

	ts_to_hex(h, TS_HASH_LEN, full);
	memcpy(out, full, 16);
	out[16] = '\0';
}

static const char *
sig_word(int sig)
{
	return sig > 0 ? "ok" : sig == 0 ? "BAD" : "no key";
}

static void
json_ksig(struct json *j, const char *k, int sig)
{
	json_key(j, k);
	if (sig < 0)
		json_null(j);
	else
		json_bool(j, sig);
}

static int
read_begin(struct ctl *c, ts_txn **t)
{
	int rc;

	if ((rc = ts_store_read_begin(c->store, t)) != 0) {
		ctl_errx("store: read txn: %s", ts_strerror(rc));
		return -1;
	}
	return 0;
}

/* Keys are needed to check signatures but their absence should not hide
 * the figures: report and log go on and show "no key". */
static void
load_keys_soft(struct ctl *c)
{
	if (ctl_load_keys(c) != 0)
		ctl_warnx("signatures will not be checked");
}

static int
arg_code(const char *what, const char *code)
{
	if (ts_valid_code(code, strlen(code)) == 0)
		return 0;
	ctl_errx("%s '%s': not a unit code (1 to %d letters or digits)", what,
	    code, TS_CODE_MAX);
	return -1;
}

/* ================================================================== */
/* report                                                               */
/* ================================================================== */

struct child_row {
	int      idx;                  /* topology index                    */
	int      reported;             /* a latest report is held here      */
	uint64_t seq;
	uint64_t summed_seq;           /* in the unit's provenance, 0 = no  */
	uint32_t leaf_reported, leaf_expected;
	int      ihave;                /* --indicator: value in its report   */
	uint64_t inum, iden;
};

struct rep {
	const char *unit, *period;
	int         self;              /* topology index of unit            */
	ts_latest   latest;
	ts_report   r;
	uint8_t     hash[TS_HASH_LEN];
	int         sig;
	struct child_row *kids;
	size_t      nkids;
	const char *ind_filter;        /* --indicator ID, or NULL           */
};

static const ts_prov *
prov_find(const ts_report *r, const char *child)
{
	size_t i;

	for (i = 0; i < r->nprov; i++)
		if (strcmp(r->prov[i].child, child) == 0)
			return &r->prov[i];
	return NULL;
}

/* Drill-down: every direct child, its newest report here and the leaf
 * completeness that report claims. */
static int
rep_children(const struct ctl *c, ts_txn *t, struct rep *p)
{
	const ts_topo *topo = c->topo;
	int k, rc;

	p->kids = calloc((size_t)topo->units[p->self].nchildren + 1,
	    sizeof(*p->kids));
	if (p->kids == NULL) {
		ctl_errx("out of memory");
		return -1;
	}
	for (k = topo->units[p->self].first_child; k >= 0;
	    k = topo->units[k].next_sibling) {
		struct child_row *kr = &p->kids[p->nkids++];
		const ts_prov *pv = prov_find(&p->r, topo->units[k].code);
		ts_latest l;
		ts_report cr;
		ts_env_view v;

		kr->idx = k;
		kr->summed_seq = pv != NULL ? pv->seq : 0;
		kr->leaf_expected = topo->units[k].nleaves;
		rc = ts_latest_get(t, topo->units[k].code, p->period, &l);
		if (rc == TS_ENOTFOUND)
			continue;
		if (rc != 0) {
			ctl_errx("store: latest %s/%s: %s", topo->units[k].code,
			    p->period, ts_strerror(rc));
			return -1;
		}
		kr->reported = 1;
		kr->seq = l.seq;
		memset(&cr, 0, sizeof(cr));
		if ((rc = ts_env_load(t, topo->units[k].code, l.seq, &cr, &v,
		    NULL)) != 0) {
			ctl_warnx("child %s seq %" PRIu64 ": %s", topo->units[k].code,
			    l.seq, ts_strerror(rc));
			continue;
		}
		kr->leaf_reported = cr.comp.leaf_reported;
		kr->leaf_expected = cr.comp.leaf_expected;
		if (p->ind_filter != NULL) {
			size_t vi;
			for (vi = 0; vi < cr.nvalues; vi++)
				if (strcmp(cr.values[vi].ind, p->ind_filter) == 0 &&
				    cr.values[vi].dis[0] == '\0') {
					kr->ihave = 1;
					kr->inum = cr.values[vi].num;
					kr->iden = cr.values[vi].den;
				}
		}
		ts_report_clear(&cr);
	}
	return 0;
}

static int
rep_load(struct ctl *c, ts_txn *t, struct rep *p)
{
	ts_env_view v;
	int rc;

	rc = ts_latest_get(t, p->unit, p->period, &p->latest);
	if (rc == TS_ENOTFOUND) {
		ctl_errx("no report from unit %s (%s) for period %s in this "
		    "store", p->unit, c->topo->units[p->self].name, p->period);
		return -1;
	}
	if (rc != 0) {
		ctl_errx("store: latest %s/%s: %s", p->unit, p->period,
		    ts_strerror(rc));
		return -1;
	}
	if ((rc = ts_env_load(t, p->unit, p->latest.seq, &p->r, &v, p->hash)) != 0) {
		ctl_errx("report %s/%s seq %" PRIu64 ": %s", p->unit, p->period,
		    p->latest.seq, rc == TS_ENOTFOUND ?
		    "envelope missing from the store" : ts_strerror(rc));
		return -1;
	}
	load_keys_soft(c);
	p->sig = ts_verify_sig(c->keys, p->unit, &v, p->r.created_ms / 1000);
	if (memcmp(p->hash, p->latest.hash, TS_HASH_LEN) != 0)
		ctl_warnx("report %s/%s seq %" PRIu64 ": hash differs from the "
		    "latest record", p->unit, p->period, p->latest.seq);
	return rep_children(c, t, p);
}

static void
comp_line(const char *label, uint32_t exp, uint32_t rep, uint32_t ontime)
{
	printf("%-12s%" PRIu32 " expected, %" PRIu32 " reported, %" PRIu32
	    " on time", label, exp, rep, ontime);
	if (exp > 0 && rep < exp)
		printf(", %" PRIu32 " missing", exp - rep);
	printf("\n");
}

static void
rep_values_human(const ts_report *r)
{
	size_t i, wi = strlen("indicator"), wd = strlen("disaggregation");
	char rate[48];

	if (r->nvalues == 0) {
		printf("\n(no values)\n");
		return;
	}
	for (i = 0; i < r->nvalues; i++) {
		if (strlen(r->values[i].ind) > wi)
			wi = strlen(r->values[i].ind);
		if (strlen(r->values[i].dis) > wd)
			wd = strlen(r->values[i].dis);
	}
	printf("\n%-*s  %-*s  %20s  %20s  %8s\n", (int)wi, "indicator", (int)wd,
	    "disaggregation", "numerator", "denominator", "rate %");
	for (i = 0; i < r->nvalues; i++) {
		const ts_value *v = &r->values[i];
		fmt_rate(v->num, v->den, rate, sizeof(rate));
		printf("%-*s  %-*s  %20" PRIu64 "  %20" PRIu64 "  %8s\n", (int)wi,
		    v->ind, (int)wd, v->dis[0] != '\0' ? v->dis : "(total)",
		    v->num, v->den, rate);
	}
}

static void
rep_children_human(const struct ctl *c, const struct rep *p)
{
	const ts_topo *topo = c->topo;
	size_t i, wn = strlen("name"), wc = strlen("child");
	char seq[24], summed[24], leaves[48];

	if (p->nkids == 0) {
		printf("\n(no child units)\n");
		return;
	}
	for (i = 0; i < p->nkids; i++) {
		const ts_unit *u = &topo->units[p->kids[i].idx];
		if (utf8_width(u->name) > wn)
			wn = utf8_width(u->name);
		if (strlen(u->code) > wc)
			wc = strlen(u->code);
	}
	printf("\n%-*s  ", (int)wc, "child");
	print_padded(stdout, "name", wn);
	printf("  %-8s  %8s  %8s  %s\n", "status", "seq", "summed", "communes");
	for (i = 0; i < p->nkids; i++) {
		const struct child_row *k = &p->kids[i];
		const ts_unit *u = &topo->units[k->idx];
		snprintf(seq, sizeof(seq), k->reported ? "%" PRIu64 : "-", k->seq);
		snprintf(summed, sizeof(summed), k->summed_seq ? "%" PRIu64 : "-",
		    k->summed_seq);
		snprintf(leaves, sizeof(leaves), "%" PRIu32 "/%" PRIu32,
		    k->leaf_reported, k->leaf_expected);
		printf("%-*s  ", (int)wc, u->code);
		print_padded(stdout, u->name, wn);
		printf("  %-8s  %8s  %8s  %s\n", k->reported ? "reported" :
		    "MISSING", seq, summed, leaves);
	}
}

static void
rep_human(const struct ctl *c, const struct rep *p)
{
	const ts_unit *u = &c->topo->units[p->self];
	char when[32], h[17];

	fmt_iso8601(p->r.created_ms, when, sizeof(when));
	hash_short(p->hash, h);
	printf("%-12s%s  %s (%s)\n", "unit", p->unit, u->name,
	    ts_level_name(u->level));
	printf("%-12s%s\n", "period", p->period);
	printf("%-12s%" PRIu64 "  (hash %s, topology %s)\n", "seq", p->r.seq, h,
	    p->r.topo);
	printf("%-12s%s\n", "created", when);
	printf("%-12s%s\n", "signature", p->sig > 0 ? "ok" : p->sig == 0 ?
	    "BAD: does not verify with any key of this unit" :
	    "not checked (no key for this unit)");
	comp_line("children", p->r.comp.expected, p->r.comp.reported,
	    p->r.comp.on_time);
	comp_line("communes", p->r.comp.leaf_expected, p->r.comp.leaf_reported,
	    p->r.comp.leaf_on_time);
	rep_values_human(&p->r);
	rep_children_human(c, p);
}

static void
rep_json_comp(struct json *j, const ts_completeness *k)
{
	json_key(j, "completeness");
	json_obj_begin(j);
	json_ku64(j, "expected", k->expected);
	json_ku64(j, "reported", k->reported);
	json_ku64(j, "on_time", k->on_time);
	json_ku64(j, "leaf_expected", k->leaf_expected);
	json_ku64(j, "leaf_reported", k->leaf_reported);
	json_ku64(j, "leaf_on_time", k->leaf_on_time);
	json_obj_end(j);
}

static void
rep_json_lists(struct json *j, const struct ctl *c, const struct rep *p)
{
	size_t i;

	json_key(j, "values");
	json_arr_begin(j);
	for (i = 0; i < p->r.nvalues; i++) {
		json_obj_begin(j);
		json_kstr(j, "ind", p->r.values[i].ind);
		json_kstr(j, "dis", p->r.values[i].dis);
		json_ku64(j, "num", p->r.values[i].num);
		json_ku64(j, "den", p->r.values[i].den);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "provenance");
	json_arr_begin(j);
	for (i = 0; i < p->r.nprov; i++) {
		json_obj_begin(j);
		json_kstr(j, "child", p->r.prov[i].child);
		json_ku64(j, "seq", p->r.prov[i].seq);
		json_khex(j, "hash", p->r.prov[i].hash, TS_HASH_LEN);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "children");
	json_arr_begin(j);
	for (i = 0; i < p->nkids; i++) {
		const struct child_row *k = &p->kids[i];
		json_obj_begin(j);
		json_kstr(j, "code", c->topo->units[k->idx].code);
		json_kstr(j, "name", c->topo->units[k->idx].name);
		json_kbool(j, "reported", k->reported);
		json_ku64(j, "seq", k->seq);
		json_ku64(j, "summed_seq", k->summed_seq);
		json_ku64(j, "leaf_reported", k->leaf_reported);
		json_ku64(j, "leaf_expected", k->leaf_expected);
		json_obj_end(j);
	}
	json_arr_end(j);
}

struct rep_dom;
static void rep_dom_json(struct json *, const struct ctl *, const struct rep *,
    const struct rep_dom *);

static void
rep_json(const struct ctl *c, const struct rep *p, const struct rep_dom *d)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "unit", p->unit);
	json_kstr(&j, "name", c->topo->units[p->self].name);
	json_kstr(&j, "period", p->period);
	json_ku64(&j, "seq", p->r.seq);
	json_khex(&j, "hash", p->hash, TS_HASH_LEN);
	json_khex(&j, "prev", p->r.prev, TS_HASH_LEN);
	json_kstr(&j, "topology", p->r.topo);
	json_ku64(&j, "created_ms", p->r.created_ms);
	json_ksig(&j, "sig_ok", p->sig);
	rep_json_comp(&j, &p->r.comp);
	rep_json_lists(&j, c, p);
	rep_dom_json(&j, c, p, d);
	json_obj_end(&j);
	json_end(&j);
}

/* ---- indicators against plan targets (catalogue configured) ---- */

struct rep_dom {
	ts_catalogue *cat;             /* NULL: no catalogue configured     */
	ts_plans      plans;
	int           plan_unit;       /* --plan: topology index, else -1   */
	int           year;
};

/* Target for (ind, dis) at unit u by the inheritance rule of
 * ts_plans_target, or with --plan only that plan's row (a comparison the
 * operator asked for, not inheritance).  *who = unit index, -1 if none. */
static const ts_target *
dom_target(const struct ctl *c, const struct rep_dom *d, int u, const char *ind,
    const char *dis, int *who)
{
	const ts_target *t = NULL;
	int rc;

	*who = -1;
	if (d->plan_unit >= 0) {
		t = ts_plan_find(ts_plans_for_unit(&d->plans,
		    c->topo->units[d->plan_unit].code), ind, dis, d->year);
		if (t != NULL)
			*who = d->plan_unit;
		return t;
	}
	rc = ts_plans_target(&d->plans, c->topo, u, ind, dis, d->year, &t, who);
	if (rc != 0 && rc != TS_ENOTFOUND)     /* TS_EINVAL: a bug here */
		ctl_warnx("target of indicator %s at unit index %d: %s", ind, u,
		    ts_strerror(rc));
	return t;
}

static const ts_value *
find_value(const ts_report *r, const char *ind, const char *dis)
{
	size_t i;

	for (i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i].ind, ind) == 0 && strcmp(r->values[i].dis, dis) == 0)
			return &r->values[i];
	return NULL;
}

static const char *
met_word(int met)
{
	return met > 0 ? "met" : met == 0 ? "NOT MET" : "-";
}

static void
target_text(const ts_target *t, char *out, size_t outlen)
{
	if (t == NULL)
		snprintf(out, outlen, "-");
	else if (t->op == TS_OP_NONE)
		snprintf(out, outlen, "(no figure)");
	else
		snprintf(out, outlen, "%s %s%s", ts_op_text(t->op), t->text,
		    ts_measure_unit(t->measure));
}

static void
json_target(struct json *j, const struct ctl *c, const ts_target *t, int who,
    uint64_t num, uint64_t den, int have)
{
	json_key(j, "target");
	if (t == NULL) {
		json_null(j);
	} else {
		json_obj_begin(j);
		json_kstr(j, "op", ts_op_text(t->op));
		json_kstr(j, "value", t->op == TS_OP_NONE ? "" : t->text);
		json_ku64(j, "year", (uint64_t)t->year);
		json_kstr(j, "plan_unit", c->topo->units[who].code);
		json_kstr(j, "plan_name", c->topo->units[who].name);
		json_kstr(j, "notes", t->notes);
		json_obj_end(j);
	}
	json_key(j, "met");
	if (t == NULL || !have || ts_target_met(t, num, den) < 0)
		json_null(j);
	else
		json_bool(j, ts_target_met(t, num, den));
}

static void
rep_dom_json(struct json *j, const struct ctl *c, const struct rep *p,
    const struct rep_dom *d)
{
	size_t i, k;
	char rate[48];

	json_kstr(j, "catalogue", p->r.catalogue);
	if (d->cat == NULL)
		return;
	json_kstr(j, "catalogue_loaded", d->cat->version);
	json_key(j, "indicators");
	json_arr_begin(j);
	for (i = 0; i < d->cat->n; i++) {
		const ts_indicator *ind = &d->cat->ind[i];
		const ts_value *v = find_value(&p->r, ind->id, "");
		const ts_target *t;
		int who;

		if (p->ind_filter != NULL && strcmp(p->ind_filter, ind->id) != 0)
			continue;
		t = dom_target(c, d, p->self, ind->id, "", &who);
		json_obj_begin(j);
		json_kstr(j, "id", ind->id);
		json_ku64(j, "number", (uint64_t)ind->number);
		json_ku64(j, "goal", (uint64_t)ind->goal);
		json_kstr(j, "name_vi", ind->name_vi);
		json_kstr(j, "name_en", ind->name_en);
		json_kstr(j, "measure", ts_measure_name(ind->measure));
		json_kstr(j, "direction", ind->higher ? "higher" : "lower");
		json_kstr(j, "source", ts_source_name(ind->source));
		json_kstr(j, "agency", ind->agency);
		json_kbool(j, "reported", v != NULL);
		json_ku64(j, "num", v != NULL ? v->num : 0);
		json_ku64(j, "den", v != NULL ? v->den : 0);
		ts_measure_format(ind->measure, v != NULL ? v->num : 0,
		    v != NULL ? v->den : 0, rate, sizeof(rate));
		json_kstr(j, "value", v != NULL ? rate : "");
		json_target(j, c, t, who, v != NULL ? v->num : 0, v != NULL ? v->den : 0,
		    v != NULL);
		json_key(j, "dis");
		json_arr_begin(j);
		for (k = 0; k < p->r.nvalues; k++) {
			const ts_value *dv = &p->r.values[k];
			int dw = -1;
			if (strcmp(dv->ind, ind->id) != 0 || dv->dis[0] == '\0')
				continue;
			json_obj_begin(j);
			json_kstr(j, "dis", dv->dis);
			json_ku64(j, "num", dv->num);
			json_ku64(j, "den", dv->den);
			ts_measure_format(ind->measure, dv->num, dv->den, rate, sizeof(rate));
			json_kstr(j, "value", rate);
			json_target(j, c, dom_target(c, d, p->self, ind->id, dv->dis, &dw),
			    dw, dv->num, dv->den, 1);
			json_obj_end(j);
		}
		json_arr_end(j);
		if (p->ind_filter != NULL) {
			json_key(j, "children");
			json_arr_begin(j);
			for (k = 0; k < p->nkids; k++) {
				const struct child_row *kr = &p->kids[k];
				int cw;
				const ts_target *ct = dom_target(c, d, kr->idx, ind->id, "", &cw);
				json_obj_begin(j);
				json_kstr(j, "code", c->topo->units[kr->idx].code);
				json_kstr(j, "name", c->topo->units[kr->idx].name);
				json_kbool(j, "reported", kr->ihave);
				json_ku64(j, "num", kr->inum);
				json_ku64(j, "den", kr->iden);
				ts_measure_format(ind->measure, kr->inum, kr->iden, rate,
				    sizeof(rate));
				json_kstr(j, "value", kr->ihave ? rate : "");
				json_target(j, c, ct, cw, kr->inum, kr->iden, kr->ihave);
				json_obj_end(j);
			}
			json_arr_end(j);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void
rep_dom_human(const struct ctl *c, const struct rep *p, const struct rep_dom *d)
{
	size_t i, k;
	char rate[48], tgt[48], nd[64], plan[64];

	if (d->cat == NULL)
		return;
	printf("\nindicators (catalogue %s; report says '%s'); targets for %d\n",
	    d->cat->version, p->r.catalogue, d->year);
	printf("%-4s  %12s  %-21s  %-14s  %-10s  %-7s  %s\n", "id", "value",
	    "numerator/denominator", "target", "plan of", "result", "indicator");
	for (i = 0; i < d->cat->n; i++) {
		const ts_indicator *ind = &d->cat->ind[i];
		const ts_value *v = find_value(&p->r, ind->id, "");
		const ts_target *t;
		int who;

		if (p->ind_filter != NULL && strcmp(p->ind_filter, ind->id) != 0)
			continue;
		t = dom_target(c, d, p->self, ind->id, "", &who);
		if (v != NULL) {
			ts_measure_format(ind->measure, v->num, v->den, rate, sizeof(rate));
			if (ind->measure != TS_M_COUNT && strcmp(rate, "-") != 0) {
				size_t rl = strlen(rate);
				snprintf(rate + rl, sizeof(rate) - rl, "%s",
				    ts_measure_unit(ind->measure));
			}
			if (ind->measure == TS_M_COUNT)
				snprintf(nd, sizeof(nd), "%" PRIu64, v->num);
			else
				snprintf(nd, sizeof(nd), "%" PRIu64 "/%" PRIu64, v->num, v->den);
		} else {
			snprintf(rate, sizeof(rate), "no data");
			snprintf(nd, sizeof(nd), "-");
		}
		target_text(t, tgt, sizeof(tgt));
		snprintf(plan, sizeof(plan), "%s", t != NULL ? c->topo->units[who].code : "-");
		printf("%-4s  %12s  %-21s  %-14s  %-10s  %-7s  %s\n", ind->id, rate, nd,
		    tgt, plan, v != NULL ? met_word(ts_target_met(t, v->num, v->den)) :
		    "-", ind->name_en);
		if (p->ind_filter == NULL)
			continue;
		printf("\n%s\n%s (%s, %s is better; source %s; %s)\n", ind->name_vi,
		    ind->name_en, ts_measure_name(ind->measure), ind->higher ?
		    "higher" : "lower", ts_source_name(ind->source), ind->agency);
		if (t != NULL)
			printf("target %s for %d: plan of %s %s (%s)%s%s\n", tgt, d->year,
			    c->topo->units[who].code, c->topo->units[who].name,
			    t->year ? "this year" : "every year",
			    t->notes[0] ? "; " : "", t->notes);
		if (ind->notes[0] != '\0')
			printf("notes: %s\n", ind->notes);
		for (k = 0; k < p->r.nvalues; k++) {
			const ts_value *dv = &p->r.values[k];
			const ts_target *dt;
			int dw = -1;
			if (strcmp(dv->ind, ind->id) != 0 || dv->dis[0] == '\0')
				continue;
			dt = dom_target(c, d, p->self, ind->id, dv->dis, &dw);
			ts_measure_format(ind->measure, dv->num, dv->den, rate, sizeof(rate));
			target_text(dt, tgt, sizeof(tgt));
			printf("  %-12s %10s  %" PRIu64 "/%" PRIu64 "  %s %s\n", dv->dis, rate,
			    dv->num, dv->den, dt != NULL ? tgt : "",
			    dt != NULL ? met_word(ts_target_met(dt, dv->num, dv->den)) : "");
		}
		if (p->nkids > 0)
			printf("\n%-8s  %12s  %-21s  %-14s  %-10s  %-7s  %s\n", "child", "value",
			    "numerator/denominator", "target", "plan of", "result", "name");
		for (k = 0; k < p->nkids; k++) {
			const struct child_row *kr = &p->kids[k];
			int cw;
			const ts_target *ct = dom_target(c, d, kr->idx, ind->id, "", &cw);
			ts_measure_format(ind->measure, kr->inum, kr->iden, rate, sizeof(rate));
			snprintf(nd, sizeof(nd), "%" PRIu64 "/%" PRIu64, kr->inum, kr->iden);
			target_text(ct, tgt, sizeof(tgt));
			printf("%-8s  %12s  %-21s  %-14s  %-10s  %-7s  %s\n",
			    c->topo->units[kr->idx].code, kr->ihave ? rate : "no data",
			    kr->ihave ? nd : "-", tgt, ct != NULL ?
			    c->topo->units[cw].code : "-", kr->ihave ?
			    met_word(ts_target_met(ct, kr->inum, kr->iden)) : "-",
			    c->topo->units[kr->idx].name);
		}
	}
}

int
cmd_report(struct ctl *c, int argc, char **argv)
{
	struct rep p;
	struct rep_dom d;
	ts_period per;
	const char *unit = NULL, *ind = NULL, *plan = NULL, *plans = NULL;
	struct opt opts[] = { { "--unit", &unit, NULL }, { "--indicator", &ind, NULL },
	    { "--plan", &plan, NULL }, { "--plans", &plans, NULL },
	    { NULL, NULL, NULL } };
	char *pos[1];
	ts_txn *t = NULL;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	memset(&p, 0, sizeof(p));
	p.period = pos[0];
	if (ts_period_parse(p.period, strlen(p.period), &per) != 0) {
		ctl_errx("PERIOD '%s': expected YYYY, YYYYQn or YYYY-MM", p.period);
		return EXIT_FAIL;
	}
	if (unit != NULL && arg_code("--unit", unit) != 0)
		return EXIT_FAIL;
	if (ctl_load_config(c) != 0 || ctl_load_topo(c) != 0)
		return EXIT_FAIL;
	p.unit = unit != NULL ? unit : c->cfg.unit;
	if ((p.self = ts_topo_find(c->topo, p.unit)) < 0) {
		ctl_errx("%s '%s': no such unit in topology %s", unit != NULL ?
		    "--unit" : "unit (node.conf)", p.unit, c->topo->version);
		return EXIT_FAIL;
	}
	memset(&d, 0, sizeof(d));
	d.plan_unit = -1;
	d.year = per.year;          /* a quarter or month: its year's targets */
	if (plan != NULL && (arg_code("--plan", plan) != 0 ||
	    (d.plan_unit = ts_topo_find(c->topo, plan)) < 0)) {
		if (d.plan_unit < 0)
			ctl_errx("--plan '%s': no such unit in topology", plan);
		return EXIT_FAIL;
	}
	if (dom_load_catalogue(c, &d.cat) != 0)
		return EXIT_FAIL;
	if (d.cat == NULL && (ind != NULL || plan != NULL)) {
		ctl_errx("--indicator/--plan need a catalogue: set 'catalogue' in %s",
		    c->confpath);
		return EXIT_FAIL;
	}
	if (ind != NULL && ts_catalogue_find(d.cat, ind) == NULL) {
		ctl_errx("--indicator '%s': not in catalogue %s", ind, d.cat->version);
		ts_catalogue_free(&d.cat);
		return EXIT_FAIL;
	}
	if (d.cat != NULL && dom_load_plans(c, d.cat, plans, &d.plans) != 0) {
		ts_catalogue_free(&d.cat);
		return EXIT_FAIL;
	}
	if (plan != NULL && ts_plans_for_unit(&d.plans, plan) == NULL)
		ctl_warnx("--plan %s: no plan of that unit is loaded", plan);
	p.ind_filter = ind;
	rc = -1;
	if (ctl_open_store(c) == 0 && read_begin(c, &t) == 0) {
		rc = rep_load(c, t, &p);
		ts_store_read_end(&t);
	}
	if (rc == 0) {
		if (c->json)
			rep_json(c, &p, &d);
		else {
			rep_human(c, &p);
			rep_dom_human(c, &p, &d);
		}
	}
	ts_report_clear(&p.r);
	free(p.kids);
	ts_plans_free(&d.plans);
	ts_catalogue_free(&d.cat);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ================================================================== */
/* log                                                                  */
/* ================================================================== */

struct logw {
	struct ctl    *c;
	int            header;         /* human header printed             */
	struct json    j;
	ts_chain_walk  ck;
	size_t         n, nbad;
};

static void
log_row_json(struct logw *w, uint64_t seq, const ts_report *r,
    const uint8_t *hash, int sig, const char *chain, const char *why,
    const uint8_t *env, size_t len)
{
	struct json *j = &w->j;

	json_obj_begin(j);
	json_ku64(j, "seq", seq);
	if (r != NULL) {
		json_khex(j, "hash", hash, TS_HASH_LEN);
		json_khex(j, "prev", r->prev, TS_HASH_LEN);
		json_kstr(j, "period", r->period);
		json_ku64(j, "created_ms", r->created_ms);
		json_ku64(j, "values", r->nvalues);
		json_ku64(j, "provenance", r->nprov);
	}
	json_ksig(j, "sig_ok", sig);
	json_kbool(j, "chain_ok", chain == NULL);
	json_kstr(j, "problem", why);
	json_khex(j, "env_hex", env, len);
	json_obj_end(j);
}

static void
log_row_human(uint64_t seq, const ts_report *r, const uint8_t *hash,
    int sig, const char *chain, const char *why)
{
	char h[17], p[17], when[32];

	if (r == NULL) {
		printf("%6" PRIu64 "  %s\n", seq, why);
		return;
	}
	hash_short(hash, h);
	hash_short(r->prev, p);
	fmt_iso8601(r->created_ms, when, sizeof(when));
	printf("%6" PRIu64 "  %s  %s  %-7s  %-20s  %-6s  %s%s%s\n", seq, h, p,
	    r->period, when, sig_word(sig), chain == NULL ? "ok" : chain,
	    *why != '\0' ? "  " : "", why);
}

static int
log_cb(const char *origin, uint64_t seq, const uint8_t *env, size_t len,
    void *arg)
{
	struct logw *w = arg;
	uint8_t hash[TS_HASH_LEN] = { 0 };
	char why[160] = "";
	const char *chain = NULL;
	ts_env_view v;
	ts_report r;
	int rc, sig = -1, ok;

	memset(&r, 0, sizeof(r));
	w->n++;
	if ((rc = ts_env_split(env, len, &v)) == 0) {
		ts_body_hash(v.body, v.body_len, hash);
		rc = ts_report_decode(v.body, v.body_len, &r);
	}
	ok = rc == 0;
	if (!ok) {
		snprintf(why, sizeof(why), "malformed envelope: %s", ts_strerror(rc));
		chain = "?";
		w->ck.last_seq = seq;
		w->ck.have_hash = 0;
	} else {
		sig = ts_verify_sig(w->c->keys, origin, &v, r.created_ms / 1000);
		chain = ts_chain_walk_step(&w->ck, seq, &r, hash, why, sizeof(why));
	}
	if (!ok || sig == 0 || chain != NULL)
		w->nbad++;
	if (!w->c->json && !w->header++)
		printf("%6s  %-16s  %-16s  %-7s  %-20s  %-6s  %s\n", "seq", "hash",
		    "prev", "period", "created", "sig", "chain");
	if (w->c->json)
		log_row_json(w, seq, ok ? &r : NULL, hash, sig, chain, why, env, len);
	else
		log_row_human(seq, ok ? &r : NULL, hash, sig, chain, why);
	ts_report_clear(&r);
	return 0;
}

int
cmd_log(struct ctl *c, int argc, char **argv)
{
	struct logw w;
	char *pos[1];
	ts_txn *t = NULL;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (arg_code("ORIGIN", pos[0]) != 0 || ctl_load_config(c) != 0)
		return EXIT_FAIL;
	if (ctl_load_topo(c) != 0)
		ctl_warnx("unit names will not be shown");
	load_keys_soft(c);
	if (ctl_open_store(c) != 0 || read_begin(c, &t) != 0)
		return EXIT_FAIL;
	memset(&w, 0, sizeof(w));
	w.c = c;
	if (c->json) {
		json_init(&w.j, stdout);
		json_obj_begin(&w.j);
		json_kstr(&w.j, "origin", pos[0]);
		json_kstr(&w.j, "name", unit_name(c, pos[0]));
		json_key(&w.j, "envelopes");
		json_arr_begin(&w.j);
	}
	rc = ts_env_each(t, pos[0], log_cb, &w);
	ts_store_read_end(&t);
	if (c->json) {
		json_arr_end(&w.j);
		json_ku64(&w.j, "count", w.n);
		json_ku64(&w.j, "problems", w.nbad);
		json_obj_end(&w.j);
		json_end(&w.j);
	}
	if (rc != 0) {
		ctl_errx("store: envelopes of %s: %s", pos[0], ts_strerror(rc));
		return EXIT_FAIL;
	}
	if (w.n == 0) {
		ctl_errx("no envelopes from origin %s (%s) in this store", pos[0],
		    unit_name(c, pos[0]));
		return EXIT_FAIL;
	}
	if (!c->json)
		printf("%zu envelope%s from %s (%s), %zu with problems\n", w.n,
		    w.n == 1 ? "" : "s", pos[0], unit_name(c, pos[0]), w.nbad);
	return EXIT_OK;
}

/* ================================================================== */
/* verify                                                               */
/* ================================================================== */

/* Findings are rendered here; the checks are the verifier's
 * (include/tiersync/verify.h), the same the simulator runs. */
struct verify {
	struct ctl     *c;
	struct json     j;
	struct progress pg;            /* on a terminal only               */
};

/* A finding, not a tool error: to stdout with the origin and seq. */
static void
verify_finding(void *arg, const char *origin, uint64_t seq, const char *period,
    const char *what)
{
	struct verify *vf = arg;

	if (vf->c->json) {
		json_obj_begin(&vf->j);
		json_kstr(&vf->j, "origin", origin);
		json_ku64(&vf->j, "seq", seq);
		json_kstr(&vf->j, "period", period);
		json_kstr(&vf->j, "what", what);
		json_obj_end(&vf->j);
	} else
		printf("FAIL  %s seq %" PRIu64 "%s%s: %s\n", origin, seq,
		    *period ? " period " : "", period, what);
}

static void
verify_phase(void *arg, const char *what, uint64_t total)
{
	progress_start(&((struct verify *)arg)->pg, what, total);
}

static void
verify_step(void *arg)
{
	progress_step(&((struct verify *)arg)->pg, 1);
}

static void
verify_phase_end(void *arg)
{
	progress_end(&((struct verify *)arg)->pg);
}

int
cmd_verify(struct ctl *c, int argc, char **argv)
{
	struct verify vf;
	ts_verify_stats st;
	ts_txn *t = NULL;
	char *pos[1], err[512];
	int npos, rc, all = 0;
	struct opt opts[] = { { "--all", NULL, &all }, { NULL, NULL, NULL } };

	if ((rc = opt_parse(c, argc, argv, opts, pos, 0, 0, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	/* Without keys nothing can be verified: a hard error here. */
	if (ctl_load_config(c) != 0 || ctl_load_keys(c) != 0)
		return EXIT_FAIL;
	if (ctl_load_topo(c) != 0)
		ctl_warnx("provenance will not be checked against the tree");
	memset(&vf, 0, sizeof(vf));
	vf.c = c;
	if (ctl_open_store(c) != 0 || read_begin(c, &t) != 0)
		return EXIT_FAIL;
	if (c->json) {
		json_init(&vf.j, stdout);
		json_obj_begin(&vf.j);
		json_key(&vf.j, "failures");
		json_arr_begin(&vf.j);
	}
	ts_verify_opts o = { .keys = c->keys, .topo = c->topo, .self = c->cfg.unit,
	    .all = all, .finding = verify_finding, .arg = &vf,
	    .phase = verify_phase, .step = verify_step, .phase_end = verify_phase_end };
	rc = ts_verify_store(t, &o, &st, err, sizeof(err));
	ts_store_read_end(&t);
	if (rc != 0)
		ctl_errx("%s", err);
	if (c->json) {
		json_arr_end(&vf.j);
		json_ku64(&vf.j, "envelopes", st.envelopes);
		json_ku64(&vf.j, "origins", st.origins);
		json_ku64(&vf.j, "rollups", st.rollups);
		json_ku64(&vf.j, "failed", st.failures);
		json_ku64(&vf.j, "chained_only", st.chained_only);
		json_kbool(&vf.j, "ok", rc == 0 && st.failures == 0);
		json_obj_end(&vf.j);
		json_end(&vf.j);
	} else {
		printf("verified %" PRIu64 " envelopes, %" PRIu64 " origins, %"
		    PRIu64 " rollups: %" PRIu64 " failures\n", st.envelopes,
		    st.origins, st.rollups, st.failures);
		if (st.chained_only > 0)
			printf("note: %" PRIu64 " envelope(s) authentic through the "
			    "hash chain only: their own signature bytes do not "
			    "verify (altered in transit or on disk?)\n",
			    st.chained_only);
	}
	return rc == 0 && st.failures == 0 ? EXIT_OK : EXIT_FAIL;
}
