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
#include <sys/stat.h>

#include <zmq.h>

#include "csv.h"
#include "util.h"
#include "ops.h"

#define CTL_RCV_TIMEOUT_MS  10000
/* With ZMQ_IMMEDIATE a send only waits for a connection to complete;
 * a running daemon accepts within milliseconds. */
#define CTL_SND_TIMEOUT_MS  3000

/* ------------------------------------------------------------------ */
/* Control socket client                                                */
/* ------------------------------------------------------------------ */

struct ctlsock {
	void *ctx;
	void *sock;
	char  ep[TS_PATH_MAX + 32];
};

static void
no_answer(const struct ctlsock *k)
{
	ctl_errx("no answer from tiersyncd on %s (is it running?)", k->ep);
}

static int
zfail(const struct ctlsock *k, const char *what)
{
	ctl_errx("%s: %s: %s", k->ep, what, zmq_strerror(zmq_errno()));
	return -1;
}

static void
ctlsock_close(struct ctlsock *k)
{
	if (k->sock != NULL && zmq_close(k->sock) == -1)
		zfail(k, "zmq_close");
	k->sock = NULL;
	if (k->ctx != NULL) {
		while (zmq_ctx_term(k->ctx) == -1) {
			if (zmq_errno() != EINTR) {
				zfail(k, "zmq_ctx_term");
				break;
			}
		}
	}
	k->ctx = NULL;
}

static int
ctlsock_open(struct ctl *c, struct ctlsock *k)
{
	char dir[TS_PATH_MAX], path[TS_PATH_MAX + 16];
	int linger = 0, rcvto = CTL_RCV_TIMEOUT_MS, sndto = CTL_SND_TIMEOUT_MS;
	int immediate = 1;
	int64_t maxmsg = TS_MSG_MAX;
	struct stat sb;

	memset(k, 0, sizeof(*k));
	if (ctl_load_config(c) != 0)
		return -1;
	ctl_datadir_abs(c, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	snprintf(k->ep, sizeof(k->ep), "ipc://%s", path);
	/* No socket file: the daemon is not running; do not wait 10 s. */
	if (stat(path, &sb) == -1) {
		no_answer(k);
		return -1;
	}
	if ((k->ctx = zmq_ctx_new()) == NULL)
		return zfail(k, "zmq_ctx_new");
	if ((k->sock = zmq_socket(k->ctx, ZMQ_REQ)) == NULL) {
		zfail(k, "zmq_socket");
		goto fail;
	}
	if (zmq_setsockopt(k->sock, ZMQ_LINGER, &linger, sizeof(linger)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_RCVTIMEO, &rcvto, sizeof(rcvto)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_SNDTIMEO, &sndto, sizeof(sndto)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_IMMEDIATE, &immediate,
	    sizeof(immediate)) == -1 ||
	    zmq_setsockopt(k->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) == -1) {
		zfail(k, "zmq_setsockopt");
		goto fail;
	}
	if (zmq_connect(k->sock, k->ep) == -1) {
		zfail(k, "zmq_connect");
		goto fail;
	}
	return 0;
fail:
	ctlsock_close(k);
	return -1;
}

/* Receive and decode the one-frame CTL_REPLY. */
static int
ctlsock_reply(struct ctlsock *k, int *code, char *reason, size_t rlen)
{
	zmq_msg_t msg;
	ts_msg m;
	int rc, more;

	if (zmq_msg_init(&msg) == -1)
		return zfail(k, "zmq_msg_init");
	if (zmq_msg_recv(&msg, k->sock, 0) == -1) {
		if (zmq_errno() == EAGAIN)
			no_answer(k);
		else
			zfail(k, "zmq_msg_recv");
		zmq_msg_close(&msg);
		return -1;
	}
	more = zmq_msg_more(&msg);
	memset(&m, 0, sizeof(m));
	rc = more ? TS_EMALFORMED :
	    ts_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m);
	if (zmq_msg_close(&msg) == -1)
		zfail(k, "zmq_msg_close");
	if (rc != 0) {
		ctl_errx("%s: bad reply from tiersyncd: %s", k->ep,
		    more ? "more than one frame" : ts_strerror(rc));
		return -1;
	}
	if (m.type != TS_MSG_CTL_REPLY) {
		ctl_errx("%s: bad reply from tiersyncd: message type %d, "
		    "expected CTL_REPLY", k->ep, m.type);
		ts_msg_clear(&m);
		return -1;
	}
	*code = m.code;
	snprintf(reason, rlen, "%s", m.reason);
	ts_msg_clear(&m);
	return 0;
}

/* One CTL_PUT round trip.  0 with *code/reason from the daemon, or -1
 * after printing why no answer came. */
static int
ctlsock_put(struct ctlsock *k, const char *period, const ts_value *v,
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
	if (zmq_send(k->sock, b.buf, b.len, 0) == -1) {
		if (zmq_errno() == EAGAIN)
			no_answer(k);
		else
			zfail(k, "zmq_send");
		ts_buf_free(&b);
		return -1;
	}
	ts_buf_free(&b);
	return ctlsock_reply(k, code, reason, rlen);
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
	if (parse_u64(pos[2], strlen(pos[2]), &v->num, &why) != 0) {
		ctl_errx("NUM '%s' %s", pos[2], why);
		return EXIT_FAIL;
	}
	if (npos == 4 && parse_u64(pos[3], strlen(pos[3]), &v->den, &why) != 0) {
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
	struct ctlsock k;
	char reason[TS_REASON_MAX + 1], *period;
	ts_value v;
	int rc, code;

	memset(&v, 0, sizeof(v));
	if ((rc = put_parse(c, argc, argv, &period, &v)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ctlsock_open(c, &k) != 0)
		return EXIT_FAIL;
	rc = ctlsock_put(&k, period, &v, 1, &code, reason, sizeof(reason));
	ctlsock_close(&k);
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
import_send(struct ctlsock *k, const struct csv_row *rows, size_t n,
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
	rc = ctlsock_put(k, rows[0].period, v, n, &code, reason, rlen);
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
	struct ctlsock k;
	char reason[TS_REASON_MAX + 1];
	size_t i, start = 0, stored = 0, periods = 0;
	struct json j;
	struct progress pg;           /* on a terminal only */
	int rc = 0;

	if (ctlsock_open(c, &k) != 0)
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
	ctlsock_close(&k);
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

/* The whole file into b; -1 after printing why not. */
static int
read_file(const char *file, ts_buf *b)
{
	FILE *fp;
	size_t got;
	int rc = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		ctl_errx("%s: %s", file, strerror(errno));
		return -1;
	}
	for (;;) {
		if (ts_buf_reserve(b, 65536) != 0) {
			ctl_errx("%s: out of memory", file);
			rc = -1;
			break;
		}
		got = fread(b->buf + b->len, 1, b->cap - b->len, fp);
		b->len += got;
		if (got == 0)
			break;
	}
	if (rc == 0 && ferror(fp)) {
		ctl_errx("%s: read: %s", file, strerror(errno));
		rc = -1;
	}
	fclose(fp);
	return rc;
}

int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct csv_result x;
	ts_buf b = { NULL, 0, 0 };
	const char *file;
	char *pos[1];
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	file = pos[0];
	/* The config first: a wrong -d should not look like a CSV error. */
	if (ctl_load_config(c) != 0)
		return EXIT_FAIL;
	if (read_file(file, &b) != 0) {
		ts_buf_free(&b);
		return EXIT_FAIL;
	}
	rc = csv_parse(file, (const char *)b.buf, b.len, &x);
	ts_buf_free(&b);
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
