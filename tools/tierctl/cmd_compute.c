/*
 * tierctl compute: the register's indicators for a period, sent to the
 * daemon as CTL_REPLACE (the register-computed indicators are replaced
 * wholly, so a disaggregation that vanished goes too).  Only aggregates
 * leave this program: the records stay in <datadir>/register.
 *
 * Also the helpers the domain commands share (domain_cmds.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlclient.h"
#include "domain_cmds.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

int
dom_load_catalogue(struct ctl *c, ts_catalogue **cat)
{
	char err[1024];

	*cat = NULL;
	if (ctl_load_config(c) != 0)
		return -1;
	if (c->cfg.catalogue[0] == '\0')
		return 0;
	if (ts_catalogue_load(cat, c->cfg.catalogue, err, sizeof(err)) != 0) {
		ctl_errx("catalogue: %s", err);
		return -1;
	}
	return 0;
}

int
dom_load_plans(struct ctl *c, const ts_catalogue *cat, const char *dir,
    ts_plans *ps)
{
	char err[1024], path[TS_PATH_MAX + 16], tmp[TS_PATH_MAX];

	memset(ps, 0, sizeof(*ps));
	if (dir == NULL) {
		if (c->cfg.catalogue[0] == '\0')
			return 0;
		snprintf(tmp, sizeof(tmp), "%s", c->cfg.catalogue);
		snprintf(path, sizeof(path), "%s/plans", dirname(tmp));
		dir = path;
	}
	if (ts_plans_load_dir(ps, dir, cat, err, sizeof(err)) != 0) {
		ctl_errx("plans: %s", err);
		return -1;
	}
	return 0;
}

int
dom_entry_open(struct ctl *c, struct dom_entry *e)
{
	char err[1024];

	memset(e, 0, sizeof(*e));
	if (dom_load_catalogue(c, &e->cat) != 0)
		return -1;
	if (e->cat == NULL) {
		ctl_warnx("%s names no catalogue: indicator ids and "
		    "disaggregation keys are not checked (set 'catalogue', "
		    "docs/CONFIG.md)", c->confpath);
		return 0;
	}
	/* The plans only add keys (indicator 20's age=2-3): one that does
	 * not load must not stop entry, but is said. */
	{
		char tmp[TS_PATH_MAX], path[TS_PATH_MAX + 16];

		snprintf(tmp, sizeof(tmp), "%s", c->cfg.catalogue);
		snprintf(path, sizeof(path), "%s/plans", dirname(tmp));
		if (ts_plans_load_dir(&e->ps, path, e->cat, err, sizeof(err)) != 0) {
			ctl_warnx("plans: %s (only the catalogue's own keys are "
			    "accepted)", err);
			memset(&e->ps, 0, sizeof(e->ps));
		}
	}
	return 0;
}

void
dom_entry_close(struct dom_entry *e)
{
	ts_catalogue_free(&e->cat);
	ts_plans_free(&e->ps);
}

/* Does a plan beside the catalogue set a target for (ind, dis)? */
static int
entry_plan_key(const struct dom_entry *e, const char *ind, const char *dis)
{
	size_t i, k;

	for (i = 0; i < e->ps.n; i++)
		for (k = 0; k < e->ps.p[i]->n; k++)
			if (strcmp(e->ps.p[i]->t[k].ind, ind) == 0 &&
			    strcmp(e->ps.p[i]->t[k].dis, dis) == 0)
				return 1;
	return 0;
}

/* Is `word` one of the blank-separated words of `list`? */
static int
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

const char *
dom_entry_why(const struct dom_entry *e, const char *ind, const char *dis,
    char *buf, size_t len)
{
	const ts_indicator *d;
	char keys[512];
	size_t i, k, n;
	int w;

	if (e->cat == NULL)
		return NULL;
	if ((d = ts_catalogue_find(e->cat, ind)) == NULL) {
		w = snprintf(buf, len, "indicator '%s' is not in catalogue %s; "
		    "valid indicators:", ind, e->cat->version);
		for (i = 0; w >= 0 && (size_t)w < len && i < e->cat->n; i++)
			w += snprintf(buf + w, len - (size_t)w, " %s",
			    e->cat->ind[i].id);
		return buf;
	}
	if (ts_catalogue_dis_ok(d, dis) || entry_plan_key(e, ind, dis))
		return NULL;
	ts_catalogue_dis_list(d, keys, sizeof(keys));
	n = strlen(keys);
	for (i = 0; i < e->ps.n; i++)
		for (k = 0; k < e->ps.p[i]->n; k++) {
			const ts_target *t = &e->ps.p[i]->t[k];
			if (strcmp(t->ind, ind) != 0 || t->dis[0] == '\0' ||
			    ts_catalogue_dis_ok(d, t->dis))
				continue;
			if (has_word(keys, t->dis))
				continue;          /* two plans set it */
			w = snprintf(keys + n, sizeof(keys) - n, "%s%s",
			    n > 0 ? " " : "", t->dis);
			if (w < 0 || (size_t)w >= sizeof(keys) - n)
				break;
			n += (size_t)w;
		}
	snprintf(buf, len, "disaggregation '%s' is not defined for indicator "
	    "%s by catalogue %s; valid: '' (the total)%s%s", dis, ind,
	    e->cat->version, n > 0 ? " " : " only", keys);
	return buf;
}

int
dom_register_open(struct ctl *c, int rdonly, ts_register **r)
{
	char path[TS_PATH_MAX + 16], err[1024];
	int rc;

	if (ctl_load_config(c) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/register", c->cfg.datadir);
	if ((rc = ts_register_open(r, path, rdonly, err, sizeof(err))) != 0) {
		ctl_errx("%s", err);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* compute                                                              */
/* ------------------------------------------------------------------ */

static int
compute_one(ts_register *r, const char *period, ts_value **v, size_t *n,
    ts_reg_counts *cnt)
{
	ts_child *ch;
	ts_case *cs;
	size_t nch, ncs;
	int rc;

	if ((rc = ts_register_load_all(r, &ch, &nch, &cs, &ncs)) != 0) {
		ctl_errx("register: %s", ts_strerror(rc));
		return -1;
	}
	cnt->children = nch;
	cnt->cases = ncs;
	rc = ts_compute_period(ch, nch, cs, ncs, period, v, n);
	free(ch);
	free(cs);
	if (rc != 0) {
		ctl_errx("compute %s: %s", period, ts_strerror(rc));
		return -1;
	}
	return 0;
}

int
dom_compute_send(struct ctl *c, ts_register *r, char (*periods)[TS_PERIOD_MAX + 1],
    size_t np, struct json *j)
{
	struct ctlclient k;
	struct dom_entry e;
	const ts_compute_ind *ci;
	const char **inds, *why;
	char whybuf[1024];
	size_t ni, i, m;
	int failed = 0, rc;

	if (np == 0)
		return 0;
	ci = ts_compute_indicators(&ni);
	if ((rc = ts_compute_ids(ci, ni, &inds)) != 0) {
		ctl_errx("the %zu computed indicators: %s", ni, ts_strerror(rc));
		return -1;
	}
	/* Every indicator the register replaces must be the catalogue's,
	 * before anything is sent. */
	if (dom_entry_open(c, &e) != 0) {
		free(inds);
		return -1;
	}
	for (i = 0; i < ni; i++)
		if ((why = dom_entry_why(&e, inds[i], "", whybuf,
		    sizeof(whybuf))) != NULL) {
			ctl_errx("compute: the register's %s", why);
			dom_entry_close(&e);
			free(inds);
			return -1;
		}
	if (ctlclient_open(&k, c, 0) != 0) {
		dom_entry_close(&e);
		free(inds);
		return -1;
	}
	for (i = 0; i < np; i++) {
		ts_reg_counts cnt;
		ts_value *v = NULL;
		size_t n = 0;
		ts_buf b = { NULL, 0, 0 };
		char reason[TS_REASON_MAX + 1] = "";
		int code = -1;

		if (compute_one(r, periods[i], &v, &n, &cnt) != 0) {
			failed = 1;
			break;
		}
		for (m = 0; m < n; m++)
			if ((why = dom_entry_why(&e, v[m].ind, v[m].dis, whybuf,
			    sizeof(whybuf))) != NULL) {
				ctl_errx("compute %s: %s; nothing sent for %s",
				    periods[i], why, periods[i]);
				failed = 1;
				break;
			}
		if (failed) {
			free(v);
			break;
		}
		if ((rc = ts_msg_ctl_replace(&b, periods[i], inds, ni, v, n)) != 0) {
			ctl_errx("period %s: cannot encode CTL_REPLACE: %s", periods[i],
			    ts_strerror(rc));
			failed = 1;
		} else if (ctlclient_call(&k, &b, &code, reason, sizeof(reason)) != 0) {
			failed = 1;
		} else if (code != 0) {
			ctl_errx("tiersyncd refused %s (%s): %s", periods[i],
			    ts_status_name(code), reason);
			failed = 1;
		} else if ((rc = ts_register_mark_period(r, periods[i])) != 0) {
			ctl_errx("register: remember period %s: %s", periods[i],
			    ts_strerror(rc));
			failed = 1;
		}
		if (j != NULL) {
			json_obj_begin(j);
			json_kstr(j, "period", periods[i]);
			json_ku64(j, "values", n);
			json_ku64(j, "children", cnt.children);
			json_ku64(j, "cases", cnt.cases);
			json_kbool(j, "ok", code == 0 && !failed);
			json_kstr(j, "reason", reason);
			json_obj_end(j);
		} else if (code == 0 && !failed)
			printf("computed %s: %zu values from %" PRIu64 " children and %"
			    PRIu64 " cases; %s\n", periods[i], n, cnt.children,
			    cnt.cases, reason);
		ts_buf_free(&b);
		free(v);
		if (failed)
			break;
	}
	ctlclient_close(&k);
	dom_entry_close(&e);
	free(inds);
	return failed ? -1 : 0;
}

static void
print_values(struct ctl *c, const char *period, const ts_value *v, size_t n)
{
	struct json j;
	size_t i;

	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "period", period);
		json_key(&j, "values");
		json_arr_begin(&j);
		for (i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kstr(&j, "ind", v[i].ind);
			json_kstr(&j, "dis", v[i].dis);
			json_ku64(&j, "num", v[i].num);
			json_ku64(&j, "den", v[i].den);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
		return;
	}
	printf("%-10s  %-12s  %12s  %12s\n", "indicator", "dis", "numerator",
	    "denominator");
	for (i = 0; i < n; i++)
		printf("%-10s  %-12s  %12" PRIu64 "  %12" PRIu64 "\n", v[i].ind,
		    v[i].dis[0] ? v[i].dis : "(total)", v[i].num, v[i].den);
}

int
cmd_compute(struct ctl *c, int argc, char **argv)
{
	char *pos[32];
	char (*periods)[TS_PERIOD_MAX + 1] = NULL;
	ts_register *r = NULL;
	struct json j;
	int npos, rc, print = 0, i, status = EXIT_OK;
	struct opt opts[] = { { "--print", NULL, &print }, { NULL, NULL, NULL } };

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 32, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	for (i = 0; i < npos; i++)
		if (ts_valid_period(pos[i], strlen(pos[i])) != 0) {
			ctl_errx("PERIOD '%s': expected YYYY, YYYYQn or YYYY-MM "
			    "(year 2000-2999)", pos[i]);
			return EXIT_FAIL;
		}
	if (dom_register_open(c, print, &r) != 0)
		return EXIT_FAIL;
	if (print) {
		for (i = 0; i < npos; i++) {
			ts_value *v;
			size_t n;
			ts_reg_counts cnt;
			if (compute_one(r, pos[i], &v, &n, &cnt) != 0) {
				status = EXIT_FAIL;
				break;
			}
			print_values(c, pos[i], v, n);
			free(v);
		}
		ts_register_close(&r);
		return status;
	}
	if ((periods = calloc((size_t)npos, sizeof(*periods))) == NULL) {
		ts_register_close(&r);
		ctl_errx("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < npos; i++)
		snprintf(periods[i], sizeof(periods[i]), "%s", pos[i]);
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "periods");
		json_arr_begin(&j);
	}
	rc = dom_compute_send(c, r, periods, (size_t)npos, c->json ? &j : NULL);
	if (c->json) {
		json_arr_end(&j);
		json_kbool(&j, "ok", rc == 0);
		json_obj_end(&j);
		json_end(&j);
	}
	free(periods);
	ts_register_close(&r);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
