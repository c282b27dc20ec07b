/*
 * tierctl export --format html: one self-contained static page (no
 * script, no server, no external assets) for a unit and a period:
 * completeness of its children, then one SVG bar chart per indicator
 * comparing the unit with each child (against the plan's target once
 * targets are available, see html_target), and the unit's values with
 * every disaggregation, named and labelled from the catalogue.  Laid out
 * for a phone first (412 px wide); readable unscaled up to desktop width.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_cmds.h"
#include "export.h"

/*
 * Chart geometry in CSS px: the SVG has no viewBox, so nothing in it is
 * scaled and its text is exactly the size the style sheet gives it (the
 * tables' .85rem).  Each unit takes two lines: its code and full name
 * on the first (the whole width, never cut), its bar on the second,
 * bars in per cent of the chart's width so the page fits any screen.
 */
#define CH_ROW    42      /* one unit: label line + bar line            */
#define CH_TOP    6
#define CH_LABEL_Y 15     /* label baseline within a row                */
#define CH_BAR_Y  21      /* bar top within a row                       */
#define CH_BAR_H  14
#define CH_VAL_Y  33      /* value baseline within a row                */
#define CH_BAR    80.0    /* bar area, % of the width (rest: the value)  */

/* Text and attribute values, escaped (tiersync/util.h). */
static void
h(FILE *f, const char *s)
{
	ts_xml_escape(f, s);
}

/*
 * Catalogue and plans of the domain (issue 3, include/tiersync/domain.h),
 * loaded with its helpers (domain_cmds.h) when node.conf names a
 * catalogue.  Without one there are no targets and rates are per cent.
 */
static ts_catalogue *h_cat;
static ts_plans      h_plans;

static void
domain_load(struct ctl *c)
{
	if (dom_load_catalogue(c, &h_cat) != 0) {
		ctl_warnx("the page is drawn without targets");
		h_cat = NULL;
		return;
	}
	if (h_cat != NULL && dom_load_plans(c, h_cat, NULL, &h_plans) != 0) {
		ctl_warnx("the page is drawn without targets");
		memset(&h_plans, 0, sizeof(h_plans));
	}
}

static void
domain_free(void)
{
	ts_plans_free(&h_plans);
	ts_catalogue_free(&h_cat);
}

/* Display factor of an indicator: 100 (%), 1000 (per 1,000 live
 * births), 100000, or 0 for a count; without a catalogue entry, % when
 * it has a denominator. */
static uint64_t
ind_factor(const char *ind, int has_den, const char **unit)
{
	const ts_indicator *d = h_cat != NULL ? ts_catalogue_find(h_cat, ind) : NULL;

	if (d == NULL) {
		*unit = has_den ? "%" : "";
		return has_den ? 100 : 0;
	}
	*unit = ts_measure_unit(d->measure);
	return d->measure == TS_M_COUNT ? 0 : ts_measure_factor(d->measure);
}

/*
 * Target hook: the plan target of (ind, total) for the exported unit in
 * the period's year, by the one inheritance rule (ts_plans_target, the
 * same `tierctl report` uses).  Returns 1 with *value in the chart's
 * unit (the figure as written in the plan) and text like
 * ">= 94.5 (plan of 109)"; 0 with text like "no figure (plan of 30)"
 * when the nearest plan speaking of it states none; 0 with text ""
 * when no plan sets it.
 */
static int
html_target(const struct xport *x, int unit, const char *ind, double *value,
    char *text, size_t textlen)
{
	const ts_target *t;
	ts_period per;
	int rc, from;

	text[0] = '\0';
	if (h_plans.n == 0)
		return 0;
	if ((rc = ts_period_parse(x->period, strlen(x->period), &per)) != 0) {
		ctl_warnx("period '%s': %s", x->period, ts_strerror(rc));
		return 0;                  /* cmd_export checked it already */
	}
	rc = ts_plans_target(&h_plans, x->c->topo, unit, ind, "", per.year, &t, &from);
	if (rc != 0) {
		if (rc != TS_ENOTFOUND)
			ctl_warnx("target of indicator %s: %s", ind, ts_strerror(rc));
		return 0;
	}
	if (t->op == TS_OP_NONE) {
		snprintf(text, textlen, "no figure (plan of %s)",
		    x->c->topo->units[from].code);
		return 0;
	}
	*value = (double)t->milli / 1000.0;
	snprintf(text, textlen, "%s %s (plan of %s)", ts_op_text(t->op),
	    t->text, x->c->topo->units[from].code);
	return 1;
}

/* The catalogue's name of ind, Vietnamese; NULL when not in it. */
static const ts_indicator *
ind_entry(const char *ind)
{
	return h_cat != NULL ? ts_catalogue_find(h_cat, ind) : NULL;
}

/* For an aria-label: the Vietnamese name, else "Indicator ID". */
static const char *
ind_name(const char *ind)
{
	static char buf[TS_IND_MAX + 16];
	const ts_indicator *d = ind_entry(ind);

	if (d != NULL)
		return d->name_vi;
	snprintf(buf, sizeof(buf), "Indicator %s", ind);
	return buf;
}

/*
 * Chart title: the catalogue's Vietnamese name as the heading
 * ("Chỉ tiêu 10: Tỷ lệ ..."), the English name beside it on its own
 * line; without a catalogue entry "Indicator ID" and why.
 */
static void
ind_title(FILE *f, const char *ind)
{
	const ts_indicator *d = ind_entry(ind);

	if (d == NULL) {
		fputs("<h2>Indicator ", f);
		h(f, ind);
		fprintf(f, "</h2>\n<p class=\"name-en\">%s</p>\n", h_cat == NULL ?
		    "(no name: node.conf names no catalogue)" :
		    "(no name: not in this node's catalogue)");
		return;
	}
	fputs("<h2>Chỉ tiêu ", f);
	h(f, d->id);
	fputs(": ", f);
	h(f, d->name_vi);
	fputs("</h2>\n<p class=\"name-en\" lang=\"en\">Indicator ", f);
	h(f, d->id);
	fputs(": ", f);
	h(f, d->name_en);
	fputs("</p>\n", f);
}

/* First cell of a values row: the disaggregation's label (ts_dis_label),
 * the key itself kept in the title; an unlabelled key is marked. */
static void
dis_cell(FILE *f, const char *dis)
{
	char label[512];
	int rc = ts_dis_label(dis, label, sizeof(label));

	fputs("<tr><td class=\"dis\" title=\"", f);
	h(f, dis[0] != '\0' ? dis : "total");
	fputs("\">", f);
	h(f, label);
	if (rc != 0)
		fputs(" <em>(no label)</em>", f);
	fputs("</td>", f);
}

static const ts_value *
find_value(const ts_report *r, const char *ind, const char *dis)
{
	size_t i;

	for (i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i].ind, ind) == 0 &&
		    strcmp(r->values[i].dis, dis) == 0)
			return &r->values[i];
	return NULL;
}

/* The total of ind, else its first disaggregation. */
static const ts_value *
chart_value(const ts_report *r, const char *ind)
{
	size_t i;
	const ts_value *v = find_value(r, ind, "");

	if (v != NULL)
		return v;
	for (i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i].ind, ind) == 0)
			return &r->values[i];
	return NULL;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct indicators of the unit and its children, sorted. */
static int
indicators(const struct xport *x, char ***out, size_t *n)
{
	char **v = NULL;
	size_t i, k, cap = 0, cnt = 0, o;

	for (i = 0; i < x->n; i++) {
		const struct xunit *xu = &x->u[i];
		if (xu->depth > 1 || !xu->have)
			continue;
		for (k = 0; k < xu->r.nvalues; k++) {
			if (cnt == cap) {
				char **p = reallocarray(v, cap = cap ? cap * 2 : 64,
				    sizeof(*p));
				if (p == NULL) {
					free(v);
					return -1;
				}
				v = p;
			}
			v[cnt++] = xu->r.values[k].ind;
		}
	}
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), str_cmp);
	for (i = o = 0; i < cnt; i++)
		if (o == 0 || strcmp(v[o - 1], v[i]) != 0)
			v[o++] = v[i];
	*out = v;
	*n = o;
	return 0;
}

/* ratio: 0 for a count, else the display factor (100 for %). */
static double
bar_value(const ts_value *v, uint64_t ratio)
{
	if (v == NULL)
		return 0;
	if (!ratio)
		return (double)v->num;
	return v->den > 0 ? (double)v->num * (double)ratio / (double)v->den : 0;
}

static void
fmt_num(double d, uint64_t ratio, const char *unit, char *out, size_t outlen)
{
	if (ratio)
		snprintf(out, outlen, "%.1f%s", d, unit);
	else
		snprintf(out, outlen, "%.0f", d);
}

static void
chart(const struct xport *x, const char *ind)
{
	FILE *f = x->out;
	const ts_topo *t = x->c->topo;
	size_t i, rows = 0;
	int has_den = 0, have_target;
	uint64_t ratio;
	const char *munit = "";
	double max = 0, target = 0;
	char ttext[96] = "", num[32];

	for (i = 0; i < x->n; i++) {
		const ts_value *v;
		if (x->u[i].depth > 1)
			continue;
		rows++;
		if (x->u[i].have && (v = chart_value(&x->u[i].r, ind)) != NULL &&
		    v->den > 0)
			has_den = 1;
	}
	ratio = ind_factor(ind, has_den, &munit);
	for (i = 0; i < x->n; i++) {
		double d;
		if (x->u[i].depth > 1 || !x->u[i].have)
			continue;
		d = bar_value(chart_value(&x->u[i].r, ind), ratio);
		if (d > max)
			max = d;
	}
	have_target = html_target(x, x->root, ind, &target, ttext, sizeof(ttext));
	if (have_target && target > max)
		max = target;
	if (ratio == 100 && max < 100)
		max = 100;
	if (max <= 0)
		max = 1;

	fprintf(f, "<section class=\"indicator\" id=\"ind-");
	h(f, ind);
	fputs("\">\n", f);
	ind_title(f, ind);
	fputs("<p class=\"target\">", f);
	if (have_target || ttext[0] != '\0') {
		fputs("Target: ", f);
		h(f, ttext);
	} else
		fputs("Target: – (no plan target available to this export)", f);
	if (ratio)
		fprintf(f, " · rate, %s</p>\n", ratio == 100 ? "%" : munit);
	else
		fputs(" · count</p>\n", f);
	fprintf(f, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"100%%\" height=\"%zu\" role=\"img\" aria-label=\"",
	    (size_t)CH_TOP * 2 + rows * CH_ROW);
	h(f, ind_name(ind));
	fprintf(f, " — %s and its children\">\n", t->units[x->root].code);
	rows = 0;
	for (i = 0; i < x->n; i++) {
		const struct xunit *xu = &x->u[i];
		const ts_unit *u = &t->units[xu->idx];
		const ts_value *v;
		size_t y;
		double d, w;

		if (xu->depth > 1)
			continue;
		y = CH_TOP + rows++ * CH_ROW;
		fprintf(f, "<text class=\"label%s\" x=\"0\" y=\"%zu\">",
		    xu->depth == 0 ? " self" : "", y + CH_LABEL_Y);
		h(f, u->code);
		fputs(" ", f);
		h(f, u->name);
		fputs("</text>\n", f);
		v = xu->have ? chart_value(&xu->r, ind) : NULL;
		if (v == NULL) {
			fprintf(f, "<text class=\"none\" x=\"0\" y=\"%zu\">%s</text>\n",
			    y + CH_VAL_Y, xu->have ? "no value" : "no report");
			continue;
		}
		if (ratio && v->den == 0) {    /* a rate without denominator */
			fprintf(f, "<text class=\"none\" x=\"0\" y=\"%zu\">no rate: "
			    "numerator %" PRIu64 ", denominator 0</text>\n",
			    y + CH_VAL_Y, v->num);
			continue;
		}
		d = bar_value(v, ratio);
		w = d / max * CH_BAR;
		fmt_num(d, ratio, ratio == 100 ? "%" : munit, num, sizeof(num));
		fprintf(f, "<rect class=\"bar%s\" x=\"0\" y=\"%zu\" width=\"%.2f%%\" "
		    "height=\"%d\"/>\n", xu->depth == 0 ? " self" : "",
		    y + CH_BAR_Y, w, CH_BAR_H);
		fprintf(f, "<text class=\"val\" x=\"%.2f%%\" dx=\"6\" y=\"%zu\">%s</text>\n",
		    w, y + CH_VAL_Y, num);
	}
	if (have_target) {
		double tx = target / max * CH_BAR;
		fprintf(f, "<line class=\"target\" x1=\"%.2f%%\" x2=\"%.2f%%\" "
		    "y1=\"0\" y2=\"%zu\"/>\n", tx, tx, (size_t)CH_TOP * 2 + rows * CH_ROW);
	}
	fputs("</svg>\n", f);

	/* The unit's own figures for this indicator, every disaggregation. */
	if (x->u[0].have) {
		const ts_report *r = &x->u[0].r;
		char rate[48];
		fputs("<div class=\"table-wrap\"><table class=\"values\"><thead><tr><th>disaggregation</th>"
		    "<th>numerator</th><th>denominator</th><th>rate %</th></tr>"
		    "</thead><tbody>\n", f);
		for (i = 0; i < r->nvalues; i++) {
			const ts_value *v = &r->values[i];
			if (strcmp(v->ind, ind) != 0)
				continue;
			fmt_rate(v->num, v->den, rate, sizeof(rate));
			dis_cell(f, v->dis);
			fprintf(f, "<td>%" PRIu64 "</td><td>%" PRIu64 "</td>"
			    "<td>%s</td></tr>\n", v->num, v->den, rate);
		}
		fputs("</tbody></table></div>\n", f);
	}
	fputs("</section>\n", f);
}

static void
completeness(const struct xport *x)
{
	FILE *f = x->out;
	const ts_topo *t = x->c->topo;
	const struct xunit *root = &x->u[0];
	size_t i, nkids = 0, nrep = 0;
	char when[32];

	fputs("<section id=\"completeness\">\n<h2>Completeness</h2>\n", f);
	if (root->have)
		fprintf(f, "<p class=\"summary\">Children: %" PRIu32 " of %" PRIu32
		    " reported, %" PRIu32 " on time. Communes: %" PRIu32 " of %"
		    PRIu32 " reported, %" PRIu32 " on time.</p>\n",
		    root->r.comp.reported, root->r.comp.expected,
		    root->r.comp.on_time, root->r.comp.leaf_reported,
		    root->r.comp.leaf_expected, root->r.comp.leaf_on_time);
	else
		fprintf(f, "<p class=\"summary\">No report from %s for this "
		    "period is held here.</p>\n", t->units[x->root].code);
	fputs("<div class=\"table-wrap\"><table class=\"completeness\"><thead><tr><th>unit</th>"
	    "<th>name</th><th>state</th><th>seq</th><th>first received (UTC)"
	    "</th><th>communes</th></tr></thead><tbody>\n", f);
	for (i = 1; i < x->n; i++) {
		const struct xunit *xu = &x->u[i];
		const ts_unit *u = &t->units[xu->idx];
		const char *st = ops_state_name(xu->st.state);
		if (xu->depth != 1)
			continue;
		nkids++;
		nrep += xu->st.held;
		fprintf(f, "<tr class=\"%s\"><td>", st);
		h(f, u->code);
		fputs("</td><td>", f);
		h(f, u->name);
		fprintf(f, "</td><td>%s</td>", xu->st.state == OPS_MISSING &&
		    !xu->st.overdue ? "due" : st);
		if (xu->st.held) {
			fmt_iso8601(xu->st.latest.first_ms, when, sizeof(when));
			fprintf(f, "<td>%" PRIu64 "</td><td>%s</td>", xu->st.latest.seq,
			    when);
		} else
			fputs("<td>–</td><td>–</td>", f);
		fprintf(f, "<td>%" PRIu32 "/%" PRIu32 "</td></tr>\n",
		    xu->st.leaf_reported, xu->st.leaf_expected);
	}
	if (nkids == 0)
		fputs("<tr><td colspan=\"6\">no child units</td></tr>\n", f);
	fputs("</tbody></table></div>\n", f);
	fprintf(f, "<p class=\"summary\">%zu of %zu child units have a report "
	    "here.</p>\n</section>\n", nrep, nkids);
}

static const char style[] =
	"*{box-sizing:border-box}"
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',"
	"sans-serif;margin:0;padding:12px;color:#1b1f24;background:#fff;"
	"line-height:1.4}"
	"main{max-width:960px;margin:0 auto}"
	"h1{font-size:1.35rem;margin:.2em 0}h2{font-size:1.1rem;margin:1.2em 0 .3em}"
	"p{margin:.3em 0}.meta{color:#57606a;font-size:.85rem}"
	"table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.4em 0}"
	"th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left}"
	"td:nth-child(n+4){font-variant-numeric:tabular-nums}"
	".table-wrap{overflow-x:auto}"
	"tr.missing td:nth-child(3){color:#b42318;font-weight:600}"
	"tr.late td:nth-child(3){color:#9a6700;font-weight:600}"
	"tr.reported td:nth-child(3){color:#1a7f37}"
	"svg.chart{width:100%;display:block;margin:.3em 0}"
	"svg text{font-size:.85rem;fill:#1b1f24}"
	".name-en{color:#57606a;font-size:.85rem;margin:0 0 .3em}"
	"svg text.self{font-weight:700}svg text.none{fill:#8c959f;font-style:italic}"
	"svg rect.bar{fill:#6e9fd1}svg rect.bar.self{fill:#0a4f96}"
	"svg line.target{stroke:#b42318;stroke-width:2;stroke-dasharray:6 4}"
	".target{color:#57606a;font-size:.85rem}"
	"section.indicator{border-top:1px solid #d0d7de;padding-top:.4em}"
	"@media (min-width:700px){body{padding:24px}h1{font-size:1.6rem}}";

int
export_html(struct xport *x)
{
	FILE *f = x->out;
	const ts_topo *t = x->c->topo;
	const ts_unit *u = &t->units[x->root];
	char **inds = NULL, when[32], gen[32], hash[65];
	size_t n = 0, i;

	if (indicators(x, &inds, &n) != 0) {
		ctl_errx("out of memory");
		return -1;
	}
	domain_load(x->c);
	fmt_iso8601(x->now, gen, sizeof(gen));
	fputs("<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>", f);
	h(f, u->name);
	fprintf(f, " (%s) — %s — tiersync</title>\n<style>%s</style>\n"
	    "</head>\n<body>\n<main>\n<header>\n<h1>", u->code, x->period, style);
	h(f, u->name);
	fprintf(f, " (%s)</h1>\n<p>Period <strong>%s</strong> · %s level · "
	    "%zu indicator%s</p>\n<p class=\"meta\">", u->code, x->period,
	    ts_level_name(u->level), n, n == 1 ? "" : "s");
	if (x->u[0].have) {
		fmt_iso8601(x->u[0].r.created_ms, when, sizeof(when));
		ts_to_hex(x->u[0].hash, TS_HASH_LEN, hash);
		hash[16] = '\0';
		fprintf(f, "Report seq %" PRIu64 " (hash %s), made %s, topology ",
		    x->u[0].r.seq, hash, when);
		h(f, x->u[0].r.topo);
		fputs(". ", f);
	}
	fprintf(f, "As held by node %s; generated %s by tierctl export.</p>\n"
	    "</header>\n", x->c->cfg.unit, gen);
	completeness(x);
	if (n == 0)
		fputs("<p>No values for this period.</p>\n", f);
	for (i = 0; i < n; i++)
		chart(x, inds[i]);
	fputs("</main>\n</body>\n</html>\n", f);
	free(inds);
	domain_free();
	return 0;
}
