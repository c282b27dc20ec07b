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

#include "util.h"

#define CTL_RCV_TIMEOUT_MS  10000
/* With ZMQ_IMMEDIATE a send only waits for a connection to complete;
 * a running daemon accepts within milliseconds. */
#define CTL_SND_TIMEOUT_MS  3000
#define IMPORT_MAX_ERRORS   50

static const char CSV_HEADER[] =
    "period,indicator,disaggregation,numerator,denominator";

/* ------------------------------------------------------------------ */
/* Field checks shared by put and import: NULL if fine, else why not.   */
/* ------------------------------------------------------------------ */

static const char *
why_period(const char *s, size_t n)
{
	return ts_valid_period(s, n) == 0 ? NULL :
	    "expected YYYY, YYYYQn (n 1-4) or YYYY-MM (year 2000-2999)";
}

static const char *
why_indicator(const char *s, size_t n)
{
	return ts_valid_indicator(s, n) == 0 ? NULL :
	    "expected 1 to 32 characters of [0-9A-Za-z._-]";
}

static const char *
why_dis(const char *s, size_t n)
{
	return ts_valid_dis(s, n) == 0 ? NULL :
	    "expected 0 to 64 printable ASCII characters, no tab or comma";
}

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
	if ((why = why_period(pos[0], strlen(pos[0]))) != NULL) {
		ctl_errx("PERIOD '%s': %s", pos[0], why);
		return EXIT_FAIL;
	}
	if ((why = why_indicator(pos[1], strlen(pos[1]))) != NULL) {
		ctl_errx("IND '%s': %s", pos[1], why);
		return EXIT_FAIL;
	}
	if ((why = why_dis(dis, strlen(dis))) != NULL) {
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

struct row {
	char     period[TS_PERIOD_MAX + 1];
	ts_value v;
	unsigned line;
};

struct csv {
	const char  *file;
	unsigned     line;
	unsigned     nerr;
	struct row  *rows;
	size_t       nrows, cap;
};

static const char *col_names[] = {
	"period", "indicator", "disaggregation", "numerator", "denominator",
};

static void csv_err(struct csv *x, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE:COL: what", the form editors and grep understand. */
static void
csv_err(struct csv *x, unsigned line, unsigned col, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	x->nerr++;
	if (x->nerr > IMPORT_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%u:%u: %s\n", x->file, line, col, buf);
	if (x->nerr == IMPORT_MAX_ERRORS)
		fprintf(stderr, "%s: too many errors, not showing more\n", x->file);
}

static const char *
col_name(unsigned col)
{
	return col >= 1 && col <= 5 ? col_names[col - 1] : "extra field";
}

/* Column (1-based) holding byte offset off of the line. */
static unsigned
col_at(const char *s, size_t off)
{
	unsigned col = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (s[i] == ',')
			col++;
	return col;
}

static int
csv_check_text(struct csv *x, const char *s, size_t n)
{
	const char *q;
	size_t i;

	unsigned col;

	if ((q = memchr(s, '\0', n)) != NULL) {
		col = col_at(s, (size_t)(q - s));
		csv_err(x, x->line, col, "%s: NUL byte", col_name(col));
		return -1;
	}
	if ((i = utf8_prefix(s, n)) < n) {
		col = col_at(s, i);
		csv_err(x, x->line, col, "%s: invalid UTF-8 at byte %zu of the "
		    "line", col_name(col), i + 1);
		return -1;
	}
	if ((q = memchr(s, '"', n)) != NULL) {
		col = col_at(s, (size_t)(q - s));
		csv_err(x, x->line, col, "%s: quotes are not supported (no field "
		    "can contain a comma, so none is needed)", col_name(col));
		return -1;
	}
	return 0;
}

/* Split on commas into at most 5 fields; returns the field count. */
static unsigned
csv_split(char *s, char **f, size_t *flen)
{
	unsigned nf = 0;
	char *p = s, *comma;

	for (;;) {
		comma = strchr(p, ',');
		if (nf < 5) {
			f[nf] = p;
			flen[nf] = comma != NULL ? (size_t)(comma - p) : strlen(p);
		}
		nf++;
		if (comma == NULL)
			return nf;
		p = comma + 1;
	}
}

static int
csv_number(struct csv *x, unsigned col, const char *s, size_t n, uint64_t *v)
{
	const char *why;

	if (col == 5 && n == 0) {       /* a plain count has no denominator */
		*v = 0;
		return 0;
	}
	if (parse_u64(s, n, v, &why) != 0) {
		if (n == 0)
			csv_err(x, x->line, col, "%s is empty", col_names[col - 1]);
		else
			csv_err(x, x->line, col, "%s '%.*s' %s", col_names[col - 1],
			    (int)(n > 40 ? 40 : n), s, why);
		return -1;
	}
	return 0;
}

static int
csv_ident(struct csv *x, unsigned col, const char *s, size_t n,
    const char *(*check)(const char *, size_t))
{
	const char *why;

	if ((why = check(s, n)) == NULL)
		return 0;
	csv_err(x, x->line, col, "%s '%.*s%s': %s", col_names[col - 1],
	    (int)(n > 70 ? 70 : n), s, n > 70 ? "..." : "", why);
	return -1;
}

static int
csv_push(struct csv *x, const struct row *r)
{
	if (x->nrows == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct row *p = reallocarray(x->rows, cap, sizeof(*p));
		if (p == NULL) {
			ctl_errx("%s: out of memory", x->file);
			return -1;
		}
		x->rows = p;
		x->cap = cap;
	}
	x->rows[x->nrows++] = *r;
	return 0;
}

/* One data line: check every field, keep the row if all are good. */
static int
csv_row(struct csv *x, char *s, size_t n)
{
	char *f[5];
	size_t fl[5];
	unsigned nf, bad = 0;
	struct row r;

	if (n == 0) {
		csv_err(x, x->line, 1, "empty line");
		return 0;
	}
	if (csv_check_text(x, s, n) != 0)
		return 0;
	nf = csv_split(s, f, fl);
	if (nf > 5) {
		csv_err(x, x->line, 6, "%u fields, expected 5 (%s)", nf, CSV_HEADER);
		return 0;
	}
	if (nf < 5) {
		csv_err(x, x->line, nf + 1, "missing field %s: %u fields, expected "
		    "5 (%s)", col_names[nf], nf, CSV_HEADER);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	bad |= csv_ident(x, 1, f[0], fl[0], why_period) != 0;
	bad |= csv_ident(x, 2, f[1], fl[1], why_indicator) != 0;
	bad |= csv_ident(x, 3, f[2], fl[2], why_dis) != 0;
	bad |= csv_number(x, 4, f[3], fl[3], &r.v.num) != 0;
	bad |= csv_number(x, 5, f[4], fl[4], &r.v.den) != 0;
	if (bad)
		return 0;
	memcpy(r.period, f[0], fl[0]);
	memcpy(r.v.ind, f[1], fl[1]);
	memcpy(r.v.dis, f[2], fl[2]);
	r.line = x->line;
	return csv_push(x, &r);
}

static int
csv_header(struct csv *x, char *s, size_t n)
{
	/* Spreadsheets like to start UTF-8 files with a byte order mark. */
	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (n == strlen(CSV_HEADER) && memcmp(s, CSV_HEADER, n) == 0)
		return 0;
	csv_err(x, 1, 1, "missing header: the first line must be exactly '%s'"
	    "%s", CSV_HEADER, n > 0 && s[0] >= '0' && s[0] <= '9' ?
	    " (this looks like a data line)" : "");
	return -1;
}

static int
csv_read(struct csv *x, FILE *fp)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int rc = 0;

	while ((got = getline(&line, &cap, fp)) != -1) {
		size_t n = (size_t)got;
		x->line++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')       /* CRLF files */
			line[--n] = '\0';
		if (x->line == 1) {
			if (csv_header(x, line, n) != 0)
				break;          /* nothing else makes sense */
			continue;
		}
		if ((rc = csv_row(x, line, n)) != 0)
			break;
	}
	if (rc == 0 && ferror(fp)) {
		ctl_errx("%s: read: %s", x->file, strerror(errno));
		rc = -1;
	}
	free(line);
	if (rc == 0 && x->line == 0)
		csv_err(x, 1, 1, "empty file (expected the header '%s')", CSV_HEADER);
	else if (rc == 0 && x->nerr == 0 && x->nrows == 0)
		csv_err(x, x->line + 1, 1, "no data rows after the header");
	return rc;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d;

	if ((d = strcmp(x->period, y->period)) != 0 ||
	    (d = strcmp(x->v.ind, y->v.ind)) != 0 ||
	    (d = strcmp(x->v.dis, y->v.dis)) != 0)
		return d;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort into send order (period, then the canonical (ind, dis) order)
 * and report duplicates and periods too large for one CTL_PUT. */
static void
csv_check_set(struct csv *x)
{
	size_t i, start = 0;

	if (x->nrows == 0)
		return;
	qsort(x->rows, x->nrows, sizeof(*x->rows), row_cmp);
	for (i = 1; i <= x->nrows; i++) {
		const struct row *p = &x->rows[i - 1], *r = &x->rows[i];
		if (i < x->nrows && strcmp(p->period, r->period) == 0 &&
		    strcmp(p->v.ind, r->v.ind) == 0 &&
		    strcmp(p->v.dis, r->v.dis) == 0)
			csv_err(x, r->line, 1, "duplicate of line %u (period %s, "
			    "indicator %s, disaggregation '%s')", p->line,
			    r->period, r->v.ind, r->v.dis);
		if (i == x->nrows || strcmp(p->period, r->period) != 0) {
			if (i - start > TS_VALUES_MAX)
				csv_err(x, x->rows[start].line, 1, "period %s has "
				    "%zu values, at most %d fit in one report",
				    p->period, i - start, TS_VALUES_MAX);
			start = i;
		}
	}
}

/* Send rows[a..b) (one period).  Returns 0 if stored. */
static int
import_send(struct ctlsock *k, const struct row *rows, size_t n,
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
import_all(struct ctl *c, struct csv *x)
{
	struct ctlsock k;
	char reason[TS_REASON_MAX + 1];
	size_t i, start = 0, stored = 0, periods = 0;
	struct json j;
	int rc = 0;

	if (ctlsock_open(c, &k) != 0)
		return EXIT_FAIL;
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "file", x->file);
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
		periods++;
		start = i;
	}
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
			    "were stored", x->file, stored, periods);
		return EXIT_FAIL;
	}
	if (!c->json)
		printf("stored %zu values (%zu period%s) from %s\n", stored,
		    periods, periods == 1 ? "" : "s", x->file);
	return EXIT_OK;
}

int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct csv x;
	char *pos[1];
	FILE *fp;
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, NULL, pos, 1, 1, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	memset(&x, 0, sizeof(x));
	x.file = pos[0];
	/* The config first: a wrong -d should not look like a CSV error. */
	if (ctl_load_config(c) != 0)
		return EXIT_FAIL;
	if ((fp = fopen(x.file, "r")) == NULL) {
		ctl_errx("%s: %s", x.file, strerror(errno));
		return EXIT_FAIL;
	}
	rc = csv_read(&x, fp);
	fclose(fp);
	if (rc == 0)
		csv_check_set(&x);      /* the good rows: duplicates, sizes */
	if (rc != 0 || x.nerr > 0) {
		if (x.nerr > 0)
			ctl_errx("%s: %u error%s; nothing was sent", x.file, x.nerr,
			    x.nerr == 1 ? "" : "s");
		free(x.rows);
		return EXIT_FAIL;
	}
	rc = import_all(c, &x);
	free(x.rows);
	return rc;
}
