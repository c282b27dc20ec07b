/*
 * Indicator catalogue parser (domain/catalogue.tsv, domain/README.md).
 *
 *   !version<TAB>ID                 required, once, before the entries
 *   id number goal name_vi name_en measure direction agency source dis notes
 *
 * This file is linked by the daemon too (it reads the catalogue's
 * version only: ts_catalogue_version); it holds no register code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/domain.h"
#include "tsv.h"

#define CAT_FILE_MAX (4u << 20)
#define CAT_HEADER "id\tnumber\tgoal\tname_vi\tname_en\tmeasure\tdirection\t" \
	"agency\tsource\tdis\tnotes"

static const char *const measure_names[] = {
	"percent", "per_1000_live_births", "per_100000_children", "count" };
static const char *const source_names[] = { "register", "aggregate", "units" };

const char *
ts_measure_name(int m)
{
	return m >= 0 && m <= TS_M_COUNT ? measure_names[m] : "?";
}

const char *
ts_measure_unit(int m)
{
	switch (m) {
	case TS_M_PERCENT: return "%";
	case TS_M_PER_1000_LB: return "‰";
	case TS_M_PER_100K: return "/100k";
	default: return "";
	}
}

uint64_t
ts_measure_factor(int m)
{
	switch (m) {
	case TS_M_PERCENT: return 100;
	case TS_M_PER_1000_LB: return 1000;
	case TS_M_PER_100K: return 100000;
	default: return 1;
	}
}

const char *
ts_source_name(int s)
{
	return s >= 0 && s <= TS_SRC_UNITS ? source_names[s] : "?";
}

void
ts_measure_format(int m, uint64_t num, uint64_t den, char *out, size_t outlen)
{
	if (m == TS_M_COUNT) {
		snprintf(out, outlen, "%llu", (unsigned long long)num);
		return;
	}
	if (den == 0) {
		snprintf(out, outlen, "-");
		return;
	}
	/* Exact to the hundredth, rounded half up, in integers. */
	unsigned __int128 x = (unsigned __int128)num * ts_measure_factor(m) * 200 / den;
	x = (x + 1) / 2;
	snprintf(out, outlen, "%llu.%02llu", (unsigned long long)(x / 100),
	    (unsigned long long)(x % 100));
}

static int
find_name(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static int
parse_dims(const char *s, unsigned *dims)
{
	char buf[64];
	char *tok, *save = NULL;

	*dims = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		unsigned bit = strcmp(tok, "sex") == 0 ? TS_DIM_SEX :
		    strcmp(tok, "eth") == 0 ? TS_DIM_ETH :
		    strcmp(tok, "dis") == 0 ? TS_DIM_DIS :
		    strcmp(tok, "age") == 0 ? TS_DIM_AGE : 0;
		if (bit == 0 || (*dims & bit))
			return -1;
		*dims |= bit;
	}
	return *dims != 0 ? 0 : -1;
}

static int
valid_version(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= TS_CAT_MAX && strspn(s, "0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-") == n;
}

void
ts_catalogue_free(ts_catalogue **c)
{
	if (c == NULL || *c == NULL)
		return;
	free((*c)->ind);
	free((*c)->text);
	free(*c);
	*c = NULL;
}

int
ts_catalogue_parse(ts_catalogue **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	ts_catalogue *c;
	struct tsv t;
	size_t cap = 0;
	int rc, have_header = 0, vline = 0;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->text = malloc(len + 1)) == NULL) {
		free(c);
		return TS_ENOMEM;
	}
	memcpy(c->text, text, len);
	c->text[len] = '\0';
	memset(&t, 0, sizeof(t));
	t.name = name;
	t.p = c->text;
	t.end = c->text + len;
	t.err = err;
	t.errlen = errlen;
	while ((rc = tsv_next(&t)) == 1) {
		char **f = t.f;
		ts_indicator *ind;
		char *endp;
		long num, goal;
		int i;

		if (f[0][0] == '!') {
			if (strcmp(f[0], "!version") != 0 || t.nf != 2) {
				tsv_err(&t, "unknown directive '%s' (want !version<TAB>ID)", f[0]);
				goto bad;
			}
			if (vline != 0) {
				tsv_err(&t, "duplicate !version (first at line %d)", vline);
				goto bad;
			}
			if (c->n > 0) {
				tsv_err(&t, "!version must come before the first indicator");
				goto bad;
			}
			if (!valid_version(f[1])) {
				tsv_err(&t, "bad !version '%s' (want 1..%d of [0-9A-Za-z._-])",
				    f[1], TS_CAT_MAX);
				goto bad;
			}
			snprintf(c->version, sizeof(c->version), "%s", f[1]);
			vline = t.line;
			continue;
		}
		if (strcmp(f[0], "id") == 0 && t.nf == 11) {
			char hdr[256];
			snprintf(hdr, sizeof(hdr), "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
			    f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]);
			if (strcmp(hdr, CAT_HEADER) != 0 || have_header) {
				tsv_err(&t, have_header ? "header repeated" :
				    "bad header (want " "id, number, goal, name_vi, name_en, "
				    "measure, direction, agency, source, dis, notes)");
				goto bad;
			}
			have_header = 1;
			continue;
		}
		if (vline == 0) {
			tsv_err(&t, "missing !version before the first indicator");
			goto bad;
		}
		if (!have_header) {
			tsv_err(&t, "missing header line before the first indicator");
			goto bad;
		}
		if (t.nf != 11) {
			tsv_err(&t, "%d fields, want 11 (%s)", t.nf,
			    "id number goal name_vi name_en measure direction agency "
			    "source dis notes");
			goto bad;
		}
		if (ts_valid_indicator(f[0], strlen(f[0])) != 0) {
			tsv_err(&t, "invalid indicator id '%s' (want 1..32 of [0-9A-Za-z._-])", f[0]);
			goto bad;
		}
		if (ts_catalogue_find(c, f[0]) != NULL) {
			tsv_err(&t, "duplicate indicator '%s' (first at line %d)", f[0],
			    ts_catalogue_find(c, f[0])->line);
			goto bad;
		}
		num = strtol(f[1], &endp, 10);
		if (*f[1] == '\0' || *endp != '\0' || num < 0 || num > 99) {
			tsv_err(&t, "indicator '%s': bad number '%s' (want 0..99)", f[0], f[1]);
			goto bad;
		}
		goal = strtol(f[2], &endp, 10);
		if (*f[2] == '\0' || *endp != '\0' || goal < 1 || goal > 4) {
			tsv_err(&t, "indicator '%s': bad goal '%s' (want 1..4)", f[0], f[2]);
			goto bad;
		}
		for (i = 3; i <= 4; i++)
			if (f[i][0] == '\0' || !tsv_utf8_ok(f[i])) {
				tsv_err(&t, "indicator '%s': %s is empty or not valid UTF-8",
				    f[0], i == 3 ? "name_vi" : "name_en");
				goto bad;
			}
		if (c->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			ts_indicator *p = realloc(c->ind, ncap * sizeof(*p));
			if (p == NULL) {
				ts_catalogue_free(&c);
				return TS_ENOMEM;
			}
			c->ind = p;
			cap = ncap;
		}
		ind = &c->ind[c->n];
		memset(ind, 0, sizeof(*ind));
		snprintf(ind->id, sizeof(ind->id), "%s", f[0]);
		ind->number = (int)num;
		ind->goal = (int)goal;
		ind->name_vi = f[3];
		ind->name_en = f[4];
		ind->line = t.line;
		if ((ind->measure = find_name(f[5], measure_names, 4)) < 0) {
			tsv_err(&t, "indicator '%s': unknown measure '%s' (want percent, "
			    "per_1000_live_births, per_100000_children or count)", f[0], f[5]);
			goto bad;
		}
		if (strcmp(f[6], "higher") == 0)
			ind->higher = 1;
		else if (strcmp(f[6], "lower") == 0)
			ind->higher = 0;
		else {
			tsv_err(&t, "indicator '%s': direction '%s' (want higher or lower)",
			    f[0], f[6]);
			goto bad;
		}
		if (f[7][0] == '\0' || !tsv_utf8_ok(f[7])) {
			tsv_err(&t, "indicator '%s': agency is empty or not valid UTF-8", f[0]);
			goto bad;
		}
		ind->agency = f[7];
		if ((ind->source = find_name(f[8], source_names, 3)) < 0) {
			tsv_err(&t, "indicator '%s': unknown source '%s' (want register, "
			    "aggregate or units)", f[0], f[8]);
			goto bad;
		}
		if (parse_dims(f[9], &ind->dims) != 0) {
			tsv_err(&t, "indicator '%s': bad dis '%s' (want - or a comma list "
			    "of sex, eth, dis, age without repeats)", f[0], f[9]);
			goto bad;
		}
		if (!tsv_utf8_ok(f[10])) {
			tsv_err(&t, "indicator '%s': notes not valid UTF-8", f[0]);
			goto bad;
		}
		ind->notes = strcmp(f[10], "-") == 0 ? "" : f[10];
		if (ind->number > 0) {
			size_t k;
			for (k = 0; k < c->n; k++)
				if (c->ind[k].number == ind->number) {
					tsv_err(&t, "indicator '%s': number %d already used by "
					    "'%s' at line %d", f[0], ind->number, c->ind[k].id,
					    c->ind[k].line);
					goto bad;
				}
		}
		c->n++;
	}
	if (rc < 0)
		goto bad;
	if (vline == 0) {
		tsv_err(&t, "missing !version");
		goto bad;
	}
	if (c->n == 0) {
		tsv_err(&t, "no indicators");
		goto bad;
	}
	*out = c;
	return 0;
bad:
	ts_catalogue_free(&c);
	return TS_EPARSE;
}

int
ts_catalogue_load(ts_catalogue **c, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	*c = NULL;
	if ((rc = ts_file_read(path, CAT_FILE_MAX, &buf, &len, err, errlen)) != 0)
		return rc;
	rc = ts_catalogue_parse(c, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

const ts_indicator *
ts_catalogue_find(const ts_catalogue *c, const char *id)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (strcmp(c->ind[i].id, id) == 0)
			return &c->ind[i];
	return NULL;
}

/* The values of each dimension, as domain/compute.c emits them. */
static const struct {
	unsigned    bit;
	const char *name;
	const char *values[4];
} dims[] = {
	{ TS_DIM_SEX, "sex", { "m", "f", NULL } },
	{ TS_DIM_ETH, "eth", { "0", "1", NULL } },
	{ TS_DIM_DIS, "dis", { "0", "1", NULL } },
	{ TS_DIM_AGE, "age", { "0-4", "5-10", "11-15", NULL } },
};

int
ts_catalogue_dis_ok(const ts_indicator *ind, const char *dis)
{
	const char *eq;
	size_t i, k, n;

	if (dis[0] == '\0')
		return 1;
	if ((eq = strchr(dis, '=')) == NULL)
		return 0;
	n = (size_t)(eq - dis);
	for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		if (!(ind->dims & dims[i].bit) || strlen(dims[i].name) != n ||
		    memcmp(dims[i].name, dis, n) != 0)
			continue;
		for (k = 0; dims[i].values[k] != NULL; k++)
			if (strcmp(dims[i].values[k], eq + 1) == 0)
				return 1;
	}
	return 0;
}

void
ts_catalogue_dis_list(const ts_indicator *ind, char *out, size_t outlen)
{
	size_t i, k, len = 0;
	int n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		if (!(ind->dims & dims[i].bit))
			continue;
		for (k = 0; dims[i].values[k] != NULL; k++) {
			n = snprintf(out + len, outlen - len, "%s%s=%s",
			    len > 0 ? " " : "", dims[i].name, dims[i].values[k]);
			if (n < 0 || (size_t)n >= outlen - len)
				return;
			len += (size_t)n;
		}
	}
}

int
ts_catalogue_version(const char *path, char out[TS_CAT_MAX + 1], char *err,
    size_t errlen)
{
	ts_catalogue *c;
	int rc;

	/* The whole file is checked: a daemon should not carry the id of
	 * a catalogue its operators' tierctl cannot read. */
	if ((rc = ts_catalogue_load(&c, path, err, errlen)) != 0)
		return rc;
	snprintf(out, TS_CAT_MAX + 1, "%s", c->version);
	ts_catalogue_free(&c);
	return 0;
}

/*
 * Disaggregation labels, Vietnamese then English: the one table (the
 * dimensions TS_DIM_* of domain.h, the keys compute.c emits and
 * plans/aggregates use).  Ages are labelled by rule in ts_dis_label.
 */
static const struct { const char *key, *vi, *en; } dis_labels[] = {
	{ "sex=f", "nữ", "girls" },
	{ "sex=m", "nam", "boys" },
	{ "eth=1", "dân tộc thiểu số", "ethnic minority" },
	{ "eth=0", "không phải dân tộc thiểu số", "not ethnic minority" },
	{ "dis=1", "khuyết tật", "with disability" },
	{ "dis=0", "không khuyết tật", "without disability" },
};

/* Labels of one part "name=value" (len bytes of p) into vi/en. */
static int
dis_part(const char *p, size_t len, char *vi, size_t vilen, char *en,
    size_t enlen)
{
	size_t i, a, b;
	char tail;

	for (i = 0; i < sizeof(dis_labels) / sizeof(dis_labels[0]); i++)
		if (strlen(dis_labels[i].key) == len &&
		    memcmp(dis_labels[i].key, p, len) == 0) {
			snprintf(vi, vilen, "%s", dis_labels[i].vi);
			snprintf(en, enlen, "%s", dis_labels[i].en);
			return 0;
		}
	if (len > 4 && memcmp(p, "age=", 4) == 0 && len - 4 < 16) {
		char v[16];
		memcpy(v, p + 4, len - 4);
		v[len - 4] = '\0';
		if (sscanf(v, "%zu-%zu%c", &a, &b, &tail) == 2 && a <= b &&
		    strspn(v, "0123456789-") == len - 4) {
			snprintf(vi, vilen, "%zu-%zu tuổi", a, b);
			snprintf(en, enlen, "aged %zu-%zu", a, b);
			return 0;
		}
	}
	return TS_ENOTFOUND;
}

int
ts_dis_label(const char *key, char *out, size_t outlen)
{
	char vi[256] = "", en[256] = "", pv[96], pe[96];
	const char *p = key, *e;

	if (outlen == 0)
		return TS_EINVAL;
	if (key[0] == '\0') {
		snprintf(out, outlen, "tổng / total");
		return 0;
	}
	for (;;) {
		e = strchr(p, ';');
		if (e == NULL)
			e = p + strlen(p);
		if (dis_part(p, (size_t)(e - p), pv, sizeof(pv), pe, sizeof(pe)) != 0) {
			snprintf(out, outlen, "%s", key);
			return TS_ENOTFOUND;
		}
		if (strlen(vi) + strlen(pv) + 3 >= sizeof(vi) ||
		    strlen(en) + strlen(pe) + 3 >= sizeof(en)) {
			snprintf(out, outlen, "%s", key);
			return TS_ENOTFOUND;
		}
		if (vi[0] != '\0') {
			strcat(vi, ", ");
			strcat(en, ", ");
		}
		strcat(vi, pv);
		strcat(en, pe);
		if (*e == '\0')
			break;
		p = e + 1;
	}
	snprintf(out, outlen, "%s / %s", vi, en);
	return 0;
}
