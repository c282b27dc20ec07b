/*
 * tierctl put / import: enter this node's own values.  The daemon is the
 * only writer of the store, so values travel as CTL_PUT over the control
 * socket (ipc://<datadir>/control.sock); each CTL_PUT is applied by the
 * daemon in one transaction.  Everything is validated here first, so a
 * bad line never leaves half a file applied.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "ctlclient.h"
#include "domain_cmds.h"
#include "util.h"
#include "ops.h"

/* An import file: 1 GiB is some ten million rows, far more than the
 * values of a node (TS_VALUES_MAX per period). */
#define IMPORT_FILE_MAX ((size_t)1 << 30)

/* ------------------------------------------------------------------ */
/* CTL_PUT over the control socket (ctlclient.h)                        */
/* ------------------------------------------------------------------ */

/* One CTL_PUT round trip.  0 with *code/reason from the daemon, or -1
 * after printing why no answer came. */
static int
put_call(struct ctlclient *k, const char *period, const ts_value *v,
    size_t n, int *code, char *reason, size_t rlen)
{
	ts_buf b = { NULL, 0, 0 };
	int rc;

	if ((rc = ts_msg_ctl_put(&b, period, v, n)) != 0) {
		ts_buf_free(&b);
		ctl_errx("period %s: cannot encode CTL_PUT: %s", period,
		    ts_strerror(rc));
		return -1;
	}
	rc = ctlclient_call(k, &b, code, reason, rlen);
	ts_buf_free(&b);
	return rc == 0 ? 0 : -1;
}

/* The config, then the client; 0 or -1 (printed). */
static int
put_open(struct ctl *c, struct ctlclient *k)
{
	memset(k, 0, sizeof(*k));
	if (ctl_load_config(c) != 0)
		return -1;
	return ctlclient_open(k, c, 0) == 0 ? 0 : -1;
}

static void
print_reply(const struct ctl *c, int code, const char *reason)
{
	struct json j;

	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kbool(&j, "ok", code == 0);
		json_ku64(&j, "code", (uint64_t)code);
		json_kstr(&j, "status", ts_status_name(code));
		json_kstr(&j, "reason", reason);
		json_obj_end(&j);
		json_end(&j);
	} else if (code == 0)
		printf("%s\n", reason);
	if (code != 0)
		ctl_errx("tiersyncd refused (%s): %s", ts_status_name(code),
		    reason);
}

/* ------------------------------------------------------------------ */
/* put                                                                  */
/* ------------------------------------------------------------------ */

static int
put_parse(struct ctl *c, int argc, char **argv, char **period, ts_value *v)
{
	const char *dis = "", *why;
	char *pos[4];
	int npos, rc;

	struct opt opts[] = { { "--dis", &dis, NULL }, { NULL, NULL, NULL } };
	if ((rc = opt_parse(c, argc, argv, opts, pos, 3, 4, &npos)) != 0)
		return rc;
	*period = pos[0];
	if ((why = csv_why_period(pos[0], strlen(pos[0]))) != NULL) {
		ctl_errx("PERIOD '%s': %s", pos[0], why);
		return EXIT_FAIL;
	}
	if ((why = csv_why_indicator(pos[1], strlen(pos[1]))) != NULL) {
		ctl_errx("IND '%s': %s", pos[1], why);
		return EXIT_FAIL;
	}
	if ((why = csv_why_dis(dis, strlen(dis))) != NULL) {
		ctl_errx("--dis '%s': %s", dis, why);
		return EXIT_FAIL;
	}
	if (parse_value(pos[2], strlen(pos[2]), &v->num, &why) != 0) {
		ctl_errx("NUM '%s' %s", pos[2], why);
		return EXIT_FAIL;
	}
	if (npos == 4 && parse_value(pos[3], strlen(pos[3]), &v->den, &why) != 0) {
		ctl_errx("DEN '%s' %s", pos[3], why);
		return EXIT_FAIL;
	}
	snprintf(v->ind, sizeof(v->ind), "%s", pos[1]);
	snprintf(v->dis, sizeof(v->dis), "%s", dis);
	return 0;
}

int
cmd_put(struct ctl *c, int argc, char **argv)
{
	struct ctlclient k;
	struct dom_entry e;
	char reason[TS_REASON_MAX + 1], *period, whybuf[1024];
	const char *why;
	ts_value v;
	int rc, code;

	memset(&v, 0, sizeof(v));
	if ((rc = put_parse(c, argc, argv, &period, &v)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ctl_load_config(c) != 0 || dom_entry_open(c, &e) != 0)
		return EXIT_FAIL;
	why = dom_entry_why(&e, v.ind, v.dis, whybuf, sizeof(whybuf));
	dom_entry_close(&e);
	if (why != NULL) {
		ctl_errx("%s: %s", v.dis[0] == '\0' || strstr(why, "indicator '")
		    == why ? "IND" : "--dis", why);
		return EXIT_FAIL;
	}
	if (put_open(c, &k) != 0)
		return EXIT_FAIL;
	rc = put_call(&k, period, &v, 1, &code, reason, sizeof(reason));
	ctlclient_close(&k);
	if (rc != 0)
		return EXIT_FAIL;
	print_reply(c, code, reason);
	return code == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ------------------------------------------------------------------ */
/* import                                                               */
/* ------------------------------------------------------------------ */

/* Send rows[a..b) (one period).  Returns 0 if stored. */
static int
import_send(struct ctlclient *k, const struct csv_row *rows, size_t n,
    char *reason, size_t rlen)
{
	ts_value *v;
	size_t i;
	int code, rc;

	if ((v = calloc(n, sizeof(*v))) == NULL) {
		ctl_errx("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		v[i] = rows[i].v;
	rc = put_call(k, rows[0].period, v, n, &code, reason, rlen);
	free(v);
	if (rc != 0)
		return -1;
	if (code != 0) {
		ctl_errx("period %s: tiersyncd refused (%s): %s", rows[0].period,
		    ts_status_name(code), reason);
		return -1;
	}
	return 0;
}

static int
import_all(struct ctl *c, const char *file, const struct csv_result *x)
{
	struct ctlclient k;
	char reason[TS_REASON_MAX + 1];
	size_t i, start = 0, stored = 0, periods = 0;
	struct json j;
	struct progress pg;           /* on a terminal only */
	int rc = 0;

	if (put_open(c, &k) != 0)
		return EXIT_FAIL;
	progress_start(&pg, "import: values sent", x->nrows);
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "file", file);
		json_key(&j, "periods");
		json_arr_begin(&j);
	}
	for (i = 1; i <= x->nrows && rc == 0; i++) {
		if (i < x->nrows &&
		    strcmp(x->rows[i].period, x->rows[start].period) == 0)
			continue;
		if ((rc = import_send(&k, x->rows + start, i - start, reason,
		    sizeof(reason))) != 0)
			break;
		if (c->json) {
			json_obj_begin(&j);
			json_kstr(&j, "period", x->rows[start].period);
			json_ku64(&j, "values", i - start);
			json_kstr(&j, "reason", reason);
			json_obj_end(&j);
		}
		stored += i - start;
		progress_step(&pg, i - start);
		periods++;
		start = i;
	}
	progress_end(&pg);
	ctlclient_close(&k);
	if (c->json) {
		json_arr_end(&j);
		json_ku64(&j, "stored", stored);
		json_kbool(&j, "ok", rc == 0);
		json_obj_end(&j);
		json_end(&j);
	}
	if (rc != 0) {
		if (periods > 0)
			ctl_errx("%s: %zu values in %zu period(s) before that one "
			    "were stored", file, stored, periods);
		return EXIT_FAIL;
	}
	if (!c->json)
		printf("stored %zu values (%zu period%s) from %s\n", stored,
		    periods, periods == 1 ? "" : "s", file);
	return EXIT_OK;
}

/*
 * The rows against the node's catalogue (dom_entry_why), after the
 * file itself is good: errors go into x->errors as FILE:LINE:COL lines
 * like the parser's (COL 2 the indicator, 3 the disaggregation).  -1
 * only when the catalogue does not load (printed).
 */
static int
import_check(struct ctl *c, const char *file, struct csv_result *x)
{
	struct dom_entry e;
	char why[1024], line[TS_PATH_MAX + 1200];
	const char *w;
	size_t i;
	int n;

	if (dom_entry_open(c, &e) != 0)
		return -1;
	for (i = 0; i < x->nrows && e.cat != NULL; i++) {
		const struct csv_row *r = &x->rows[i];
		if ((w = dom_entry_why(&e, r->v.ind, r->v.dis, why,
		    sizeof(why))) == NULL)
			continue;
		x->nerr++;
		if (x->nerr > CSV_MAX_ERRORS)
			continue;
		n = snprintf(line, sizeof(line), "%s:%u:%d: %s\n", file, r->line,
		    strstr(w, "indicator '") == w ? 2 : 3, w);
		if (n > 0 && ts_buf_append(&x->errors, line, (size_t)n) != 0) {
			dom_entry_close(&e);
			ctl_errx("out of memory");
			return -1;
		}
	}
	dom_entry_close(&e);
	return 0;
}

int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct csv_result x;
	const char *file;
	char *pos[1], *buf, err[TS_PATH_MAX + 128];
	size_t len;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	file = pos[0];
	/* The config first: a wrong -d should not look like a CSV error. */
	if (ctl_load_config(c) != 0)
		return EXIT_FAIL;
	if (ts_file_read(file, IMPORT_FILE_MAX, &buf, &len, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAIL;
	}
	rc = csv_parse(file, buf, len, &x);
	free(buf);
	if (rc == 0 && x.nerr == 0 && import_check(c, file, &x) != 0) {
		csv_result_free(&x);
		return EXIT_FAIL;
	}
	if (x.errors.len > 0)
		fwrite(x.errors.buf, 1, x.errors.len, stderr);
	if (rc != 0)
		ctl_errx("%s: %s", file, ts_strerror(rc));
	if (rc != 0 || x.nerr > 0) {
		if (x.nerr > 0)
			ctl_errx("%s: %u error%s; nothing was sent", file, x.nerr,
			    x.nerr == 1 ? "" : "s");
		csv_result_free(&x);
		return EXIT_FAIL;
	}
	rc = import_all(c, file, &x);
	csv_result_free(&x);
	return rc;
}
