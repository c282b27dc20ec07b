/*
 * tierctl export --format csv|dhis2|adx|html PERIOD [--unit CODE]
 * [--depth N] [--output FILE] [--dataset CODE] [--prefix P]
 *
 * What is exported: the newest report held here for PERIOD of the unit
 * (default: this node's) and of every unit below it (--depth limits how
 * far down; 1 = the unit and its direct children).  Units with no report
 * held are left out of csv/dhis2/adx and shown as missing in html.  The
 * code mapping is in docs/EXPORT.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "export.h"

/* ------------------------------------------------------------------ */
/* Gathering                                                            */
/* ------------------------------------------------------------------ */

static int
x_add(struct xport *x, int idx, int depth)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct xunit *p = reallocarray(x->u, cap, sizeof(*p));
		if (p == NULL) {
			ctl_errx("out of memory");
			return -1;
		}
		x->u = p;
		x->cap = cap;
	}
	memset(&x->u[x->n], 0, sizeof(x->u[0]));
	x->u[x->n].idx = idx;
	x->u[x->n].depth = depth;
	x->n++;
	return 0;
}

/* Pre-order walk without recursion (test trees can be deep). */
static int
x_units(struct xport *x, int maxdepth)
{
	const ts_topo *t = x->c->topo;
	int u = x->root, depth = 0;

	for (;;) {
		if (x_add(x, u, depth) != 0)
			return -1;
		if (t->units[u].first_child >= 0 && depth < maxdepth) {
			u = t->units[u].first_child;
			depth++;
			continue;
		}
		while (u != x->root && t->units[u].next_sibling < 0) {
			u = t->units[u].parent;
			depth--;
		}
		if (u == x->root)
			return 0;
		u = t->units[u].next_sibling;
	}
}

static int
x_gather(struct xport *x, ts_txn *t)
{
	struct progress pg;
	size_t i;
	int rc = 0;

	progress_start(&pg, "export: reading reports", x->n);
	for (i = 0; i < x->n && rc == 0; i++) {
		struct xunit *xu = &x->u[i];
		ts_env_view v;

		if (ops_unit_state(x->c, t, xu->idx, x->period, x->now, &xu->st) != 0) {
			rc = -1;
			break;
		}
		if (xu->st.held) {
			int e = ts_env_load(t, x->c->topo->units[xu->idx].code,
			    xu->st.latest.seq, &xu->r, &v, xu->hash);
			if (e != 0)
				ctl_warnx("report %s/%s seq %" PRIu64 " unreadable (%s): "
				    "left out", x->c->topo->units[xu->idx].code,
				    x->period, xu->st.latest.seq, ts_strerror(e));
			else
				xu->have = 1;
		}
		progress_step(&pg, 1);
	}
	progress_end(&pg);
	return rc;
}

static void
x_free(struct xport *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		ts_report_clear(&x->u[i].r);
	free(x->u);
}

/* ------------------------------------------------------------------ */
/* CSV (RFC 4180, UTF-8, LF line ends)                                   */
/* ------------------------------------------------------------------ */

static void
csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int
x_csv(struct xport *x)
{
	const ts_topo *t = x->c->topo;
	size_t i, k;

	fprintf(x->out, "period,unit,name,level,parent,indicator,"
	    "disaggregation,numerator,denominator,seq\n");
	for (i = 0; i < x->n; i++) {
		const struct xunit *xu = &x->u[i];
		const ts_unit *u = &t->units[xu->idx];
		if (!xu->have)
			continue;
		for (k = 0; k < xu->r.nvalues; k++) {
			const ts_value *v = &xu->r.values[k];
			fprintf(x->out, "%s,%s,", x->period, u->code);
			csv_field(x->out, u->name);
			fprintf(x->out, ",%s,%s,", ts_level_name(u->level),
			    u->parent >= 0 ? t->units[u->parent].code : "");
			csv_field(x->out, v->ind);
			fputc(',', x->out);
			csv_field(x->out, v->dis);
			fprintf(x->out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
			    v->num, v->den, xu->r.seq);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* DHIS2 dataValueSets JSON                                             */
/* ------------------------------------------------------------------ */

static void
x_date(uint64_t ms, char *out, size_t outlen)
{
	char iso[32];

	fmt_iso8601(ms, iso, sizeof(iso));
	snprintf(out, outlen, "%.10s", iso);
}

static void
dhis2_value(struct json *j, const struct xport *x, const char *ou,
    const char *pe, const ts_value *v, int den)
{
	char de[TS_IND_MAX + 64], val[24];

	snprintf(de, sizeof(de), "%s%s%s", x->prefix, v->ind, den ? "_DEN" : "");
	snprintf(val, sizeof(val), "%" PRIu64, den ? v->den : v->num);
	json_obj_begin(j);
	json_kstr(j, "dataElement", de);
	json_kstr(j, "period", pe);
	json_kstr(j, "orgUnit", ou);
	json_kstr(j, "categoryOptionCombo", v->dis[0] != '\0' ? v->dis : "default");
	json_kstr(j, "value", val);
	json_obj_end(j);
}

static int
x_dhis2(struct xport *x)
{
	const ts_topo *t = x->c->topo;
	char pe[16], date[16];
	struct json j;
	size_t i, k;

	ops_period_dhis2(x->period, pe, sizeof(pe));
	json_init(&j, x->out);
	json_obj_begin(&j);
	json_kstr(&j, "dataSet", x->dataset);
	json_kstr(&j, "period", pe);
	json_kstr(&j, "orgUnit", t->units[x->root].code);
	x_date(x->u[0].have ? x->u[0].r.created_ms : x->now, date, sizeof(date));
	json_kstr(&j, "completeDate", date);
	json_key(&j, "dataValues");
	json_arr_begin(&j);
	for (i = 0; i < x->n; i++) {
		const struct xunit *xu = &x->u[i];
		if (!xu->have)
			continue;
		for (k = 0; k < xu->r.nvalues; k++) {
			dhis2_value(&j, x, t->units[xu->idx].code, pe,
			    &xu->r.values[k], 0);
			if (xu->r.values[k].den > 0)
				dhis2_value(&j, x, t->units[xu->idx].code, pe,
				    &xu->r.values[k], 1);
		}
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_end(&j);
	return 0;
}

/* ------------------------------------------------------------------ */
/* IHE ADX XML                                                          */
/* ------------------------------------------------------------------ */

/* An XML NCName of ASCII letters, digits, '_', '-', '.', starting with a
 * letter or '_', and not one of ADX's own attribute names. */
static int
adx_attr_name(const char *s, size_t n)
{
	static const char *reserved[] = { "dataElement", "value", "orgUnit",
	    "period", "dataSet", "completeDate", "xmlns", NULL };
	size_t i;

	if (n == 0 || n > 64 || !((s[0] >= 'A' && s[0] <= 'Z') ||
	    (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return 0;
	}
	if (n >= 3 && strncasecmp(s, "xml", 3) == 0)
		return 0;
	for (i = 0; reserved[i] != NULL; i++)
		if (strlen(reserved[i]) == n && strncmp(reserved[i], s, n) == 0)
			return 0;
	return 1;
}

/* Disaggregation as attributes: "sex=f" -> sex="f", "sex=f;age=0-4" ->
 * two attributes; any other key -> TS_DIS="key". */
static void
adx_dis(FILE *f, const char *dis)
{
	const char *p = dis;
	int ok = 1;

	if (*dis == '\0')
		return;
	while (ok && *p != '\0') {
		const char *eq = strchr(p, '='), *end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if (eq == NULL || eq > end || !adx_attr_name(p, (size_t)(eq - p)))
			ok = 0;
		p = *end == ';' ? end + 1 : end;
	}
	if (!ok) {
		fputs(" TS_DIS=\"", f);
		ts_xml_escape(f, dis);
		fputc('"', f);
		return;
	}
	for (p = dis; *p != '\0';) {
		const char *eq = strchr(p, '='), *end = strchr(p, ';');
		char val[TS_DIS_MAX + 1];
		if (end == NULL)
			end = p + strlen(p);
		fprintf(f, " %.*s=\"", (int)(eq - p), p);
		snprintf(val, sizeof(val), "%.*s", (int)(end - eq - 1), eq + 1);
		ts_xml_escape(f, val);
		fputc('"', f);
		p = *end == ';' ? end + 1 : end;
	}
}

static int
x_adx(struct xport *x)
{
	const ts_topo *t = x->c->topo;
	char start[16], exported[32], date[16];
	size_t i, k;

	ops_period_start(x->period, start, sizeof(start));
	fmt_iso8601(x->now, exported, sizeof(exported));
	fprintf(x->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<adx xmlns=\"urn:ihe:qrph:adx:2015\" exported=\"%s\">\n", exported);
	for (i = 0; i < x->n; i++) {
		const struct xunit *xu = &x->u[i];
		if (!xu->have)
			continue;
		x_date(xu->r.created_ms, date, sizeof(date));
		fprintf(x->out, "  <group orgUnit=\"");
		ts_xml_escape(x->out, t->units[xu->idx].code);
		fprintf(x->out, "\" period=\"%s/%s\" dataSet=\"", start,
		    ops_period_duration(x->period));
		ts_xml_escape(x->out, x->dataset);
		fprintf(x->out, "\" completeDate=\"%s\">\n", date);
		for (k = 0; k < xu->r.nvalues; k++) {
			const ts_value *v = &xu->r.values[k];
			int d;
			for (d = 0; d < (v->den > 0 ? 2 : 1); d++) {
				fprintf(x->out, "    <dataValue dataElement=\"");
				ts_xml_escape(x->out, x->prefix);
				ts_xml_escape(x->out, v->ind);
				fprintf(x->out, "%s\"", d ? "_DEN" : "");
				adx_dis(x->out, v->dis);
				fprintf(x->out, " value=\"%" PRIu64 "\"/>\n",
				    d ? v->den : v->num);
			}
		}
		fprintf(x->out, "  </group>\n");
	}
	fprintf(x->out, "</adx>\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Command                                                              */
/* ------------------------------------------------------------------ */

static int
code_arg(const char *what, const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 50) {
		ctl_errx("%s '%s': want 1 to 50 characters", what, s);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		    s[i] == '.')) {
			ctl_errx("%s '%s': character '%c' not allowed (want "
			    "[A-Za-z0-9_.-])", what, s, s[i]);
			return -1;
		}
	return 0;
}

int
cmd_export(struct ctl *c, int argc, char **argv)
{
	const char *format = NULL, *unit = NULL, *depth = NULL, *output = NULL;
	const char *dataset = "TIERSYNC", *prefix = "TS_", *why;
	struct opt opts[] = { { "--format", &format, NULL },
	    { "--unit", &unit, NULL }, { "--depth", &depth, NULL },
	    { "--output", &output, NULL }, { "-o", &output, NULL },
	    { "--dataset", &dataset, NULL }, { "--prefix", &prefix, NULL },
	    { NULL, NULL, NULL } };
	char *pos[1], tmp[TS_PATH_MAX + 16];
	struct xport x;
	ts_txn *t = NULL;
	uint64_t d = UINT32_MAX;
	int npos, rc, ret = EXIT_FAIL;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (format == NULL)
		return ctl_usage("missing --format (csv, dhis2, adx or html)");
	if (strcmp(format, "csv") != 0 && strcmp(format, "dhis2") != 0 &&
	    strcmp(format, "adx") != 0 && strcmp(format, "html") != 0) {
		ctl_errx("--format '%s': want csv, dhis2, adx or html", format);
		return EXIT_FAIL;
	}
	if (ops_arg_period("PERIOD", pos[0]) != 0 ||
	    code_arg("--dataset", dataset) != 0 ||
	    (prefix[0] != '\0' && code_arg("--prefix", prefix) != 0))
		return EXIT_FAIL;
	if (depth != NULL && parse_u64(depth, strlen(depth), &d, &why) != 0) {
		ctl_errx("--depth '%s' %s", depth, why);
		return EXIT_FAIL;
	}
	if (ctl_load_config(c) != 0 || ctl_load_topo(c) != 0)
		return EXIT_FAIL;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.period = pos[0];
	x.dataset = dataset;
	x.prefix = prefix;
	x.now = ts_now_ms();
	if ((x.root = ops_arg_unit(c, unit)) < 0)
		return EXIT_FAIL;
	if (x_units(&x, d > INT32_MAX ? INT32_MAX : (int)d) != 0 ||
	    ops_read_begin(c, &t) != 0) {
		x_free(&x);
		return EXIT_FAIL;
	}
	rc = x_gather(&x, t);
	ts_store_read_end(&t);
	if (rc != 0)
		goto out;
	if (!x.u[0].have && strcmp(format, "html") != 0) {
		size_t i, any = 0;
		for (i = 0; i < x.n; i++)
			any += x.u[i].have;
		if (any == 0) {
			ctl_errx("no report for period %s from %s or any unit below "
			    "it in this store", x.period, c->topo->units[x.root].code);
			goto out;
		}
	}
	x.out = stdout;
	if (output != NULL) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", output);
		if ((x.out = fopen(tmp, "w")) == NULL) {
			ctl_errx("--output '%s': %s", output, strerror(errno));
			goto out;
		}
	}
	if (strcmp(format, "csv") == 0)
		rc = x_csv(&x);
	else if (strcmp(format, "dhis2") == 0)
		rc = x_dhis2(&x);
	else if (strcmp(format, "adx") == 0)
		rc = x_adx(&x);
	else
		rc = export_html(&x);
	if (output != NULL) {
		if (fflush(x.out) == EOF || ferror(x.out)) {
			ctl_errx("--output '%s': write error", output);
			rc = -1;
		}
		if (fclose(x.out) == EOF)
			rc = -1;
		if (rc == 0 && rename(tmp, output) == -1) {
			ctl_errx("--output '%s': %s", output, strerror(errno));
			rc = -1;
		}
		if (rc != 0)
			unlink(tmp);
	}
	if (rc == 0)
		ret = EXIT_OK;
out:
	x_free(&x);
	return ret;
}
