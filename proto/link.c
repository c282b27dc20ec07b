/*
 * Link message codec: [proto_version, type, ...] as listed in
 * docs/PROTOCOL.md.  Encoders validate their arguments and append one
 * message to out (leaving out unchanged on error); ts_msg_decode reads
 * with the bounded cursor reader and never trusts a declared count
 * further than the remaining bytes can back it.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/mpread.h"

#define HELD_MIN	38	/* 93 a1 X 01 c4 20 <32>                  */
#define ENV_MIN		2	/* c4 00                                  */
#define STATUS_MIN	1	/* positive fixint                        */

/* ---- argument checks --------------------------------------------------- */

/* A C string argument: non-NULL, at most max bytes (TS_ELIMIT). */
static int
arg_text(const char *s, size_t max, size_t *len)
{
	if (s == NULL)
		return TS_EINVAL;
	*len = strnlen(s, max + 1);
	return *len <= max ? 0 : TS_ELIMIT;
}

static int
arg_code(const char *s, size_t *len)
{
	if (s == NULL)
		return TS_EINVAL;
	*len = strnlen(s, TS_CODE_MAX + 1);
	return ts_valid_code(s, *len) == 0 ? 0 : TS_EINVAL;
}

/* ERR's origin may be empty when the error is not about one envelope. */
static int
arg_origin(const char *s, size_t *len)
{
	if (s == NULL || s[0] == '\0') {
		*len = 0;
		return 0;
	}
	return arg_code(s, len);
}

/* Start a message: the packer, the array header, version and type. */
static int
msg_start(msgpack_packer *pk, ts_buf *out, size_t fields, int type)
{
	int	rc;

	ts_pk_init(pk, out);
	if ((rc = ts_pk_array(pk, fields)) != 0 ||
	    (rc = ts_pk_uint(pk, TS_PROTO_VERSION)) != 0 ||
	    (rc = ts_pk_uint(pk, (uint64_t)type)) != 0)
		return rc;
	return 0;
}

/* Encoders funnel their packing result through here: on error, drop
 * the partial message. */
static int
msg_finish(ts_buf *out, size_t start, int rc)
{
	if (rc != 0)
		out->len = start;
	return rc;
}

/* ---- encoders ------------------------------------------------------------ */

int
ts_msg_hello(ts_buf *out, const char *unit, const char *topo)
{
	msgpack_packer	pk;
	size_t		start = out->len, ul, tl;
	int		rc;

	if ((rc = arg_code(unit, &ul)) != 0 ||
	    (rc = arg_text(topo, TS_TOPO_MAX, &tl)) != 0)
		return rc;
	if ((rc = msg_start(&pk, out, 4, TS_MSG_HELLO)) == 0 &&
	    (rc = ts_pk_str(&pk, unit, ul)) == 0)
		rc = ts_pk_str(&pk, topo, tl);
	return msg_finish(out, start, rc);
}

static int
held_pack(msgpack_packer *pk, const ts_held *held, size_t n)
{
	size_t	i;
	int	rc;

	if ((rc = ts_pk_array(pk, n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = ts_pk_array(pk, 3)) != 0 ||
		    (rc = ts_pk_str(pk, held[i].origin,
		    strlen(held[i].origin))) != 0 ||
		    (rc = ts_pk_uint(pk, held[i].seq)) != 0 ||
		    (rc = ts_pk_bin(pk, held[i].hash, TS_HASH_LEN)) != 0)
			return rc;
	}
	return 0;
}

int
ts_msg_welcome(ts_buf *out, const char *unit, const ts_held *held, size_t n)
{
	msgpack_packer	pk;
	size_t		start = out->len, ul, i, len;
	int		rc;

	if ((rc = arg_code(unit, &ul)) != 0)
		return rc;
	if (n > TS_WELCOME_MAX)
		return TS_ELIMIT;
	if (n > 0 && held == NULL)
		return TS_EINVAL;
	for (i = 0; i < n; i++)
		if (ts_text_len(held[i].origin, sizeof(held[i].origin),
		    TS_CODE_MAX, &len) != 0 ||
		    ts_valid_code(held[i].origin, len) != 0)
			return TS_EINVAL;
	if ((rc = msg_start(&pk, out, 4, TS_MSG_WELCOME)) == 0 &&
	    (rc = ts_pk_str(&pk, unit, ul)) == 0)
		rc = held_pack(&pk, held, n);
	return msg_finish(out, start, rc);
}

int
ts_msg_push(ts_buf *out, uint64_t batch, const ts_bytes *envs, size_t n)
{
	msgpack_packer	pk;
	size_t		start = out->len, i, total;
	int		rc;

	if (n > TS_BATCH_MAX)
		return TS_ELIMIT;
	if (n > 0 && envs == NULL)
		return TS_EINVAL;
	/* 16 bytes cover the message header; 5 the largest bin header.
	 * total cannot overflow: each term is at most TS_ENV_MAX + 5 and
	 * we stop as soon as the sum passes TS_MSG_MAX. */
	total = 16;
	for (i = 0; i < n; i++) {
		if (envs[i].p == NULL && envs[i].len > 0)
			return TS_EINVAL;
		if (envs[i].len > TS_ENV_MAX)
			return TS_ELIMIT;
		total += envs[i].len + 5;
		if (total > TS_MSG_MAX)
			return TS_ELIMIT;
	}
	if ((rc = msg_start(&pk, out, 4, TS_MSG_PUSH)) == 0 &&
	    (rc = ts_pk_uint(&pk, batch)) == 0 &&
	    (rc = ts_pk_array(&pk, n)) == 0)
		for (i = 0; i < n && rc == 0; i++)
			rc = ts_pk_bin(&pk, envs[i].p, envs[i].len);
	return msg_finish(out, start, rc);
}

int
ts_msg_ack(ts_buf *out, uint64_t batch, const uint8_t *status, size_t n)
{
	msgpack_packer	pk;
	size_t		start = out->len, i;
	int		rc;

	if (n > TS_BATCH_MAX)
		return TS_ELIMIT;
	if (n > 0 && status == NULL)
		return TS_EINVAL;
	for (i = 0; i < n; i++)
		if (status[i] > TS_ST_MAX_)
			return TS_EINVAL;
	if ((rc = msg_start(&pk, out, 4, TS_MSG_ACK)) == 0 &&
	    (rc = ts_pk_uint(&pk, batch)) == 0 &&
	    (rc = ts_pk_array(&pk, n)) == 0)
		for (i = 0; i < n && rc == 0; i++)
			rc = ts_pk_uint(&pk, status[i]);
	return msg_finish(out, start, rc);
}

int
ts_msg_err(ts_buf *out, int code, const char *reason, const char *origin,
    uint64_t seq)
{
	msgpack_packer	pk;
	size_t		start = out->len, rl, ol;
	int		rc;

	if (code < 0 || code > TS_ST_MAX_)
		return TS_EINVAL;
	if (reason == NULL)
		reason = "";
	if ((rc = arg_text(reason, TS_REASON_MAX, &rl)) != 0 ||
	    (rc = arg_origin(origin, &ol)) != 0)
		return rc;
	if ((rc = msg_start(&pk, out, 6, TS_MSG_ERR)) == 0 &&
	    (rc = ts_pk_uint(&pk, (uint64_t)code)) == 0 &&
	    (rc = ts_pk_str(&pk, reason, rl)) == 0 &&
	    (rc = ts_pk_str(&pk, ol ? origin : "", ol)) == 0)
		rc = ts_pk_uint(&pk, seq);
	return msg_finish(out, start, rc);
}

int
ts_msg_ping(ts_buf *out, int type, uint64_t time_ms)
{
	msgpack_packer	pk;
	size_t		start = out->len;
	int		rc;

	if (type != TS_MSG_PING && type != TS_MSG_PONG)
		return TS_EINVAL;
	if ((rc = msg_start(&pk, out, 3, type)) == 0)
		rc = ts_pk_uint(&pk, time_ms);
	return msg_finish(out, start, rc);
}

int
ts_msg_ctl_put(ts_buf *out, const char *period, const ts_value *v, size_t n)
{
	msgpack_packer	pk;
	size_t		start = out->len, pl;
	int		rc;

	if (period == NULL)
		return TS_EINVAL;
	pl = strnlen(period, TS_PERIOD_MAX + 1);
	if (ts_valid_period(period, pl) != 0)
		return TS_EINVAL;
	/* The daemon merges and sorts; order is not required here. */
	if ((rc = ts_values_check(v, n, 0)) != 0)
		return rc;
	if ((rc = msg_start(&pk, out, 4, TS_MSG_CTL_PUT)) == 0 &&
	    (rc = ts_pk_str(&pk, period, pl)) == 0)
		rc = ts_values_pack(&pk, v, n);
	return msg_finish(out, start, rc);
}

int
ts_msg_ctl_reply(ts_buf *out, int code, const char *reason)
{
	msgpack_packer	pk;
	size_t		start = out->len, rl;
	int		rc;

	if (code < 0)
		return TS_EINVAL;
	if (reason == NULL)
		reason = "";
	if ((rc = arg_text(reason, TS_REASON_MAX, &rl)) != 0)
		return rc;
	if ((rc = msg_start(&pk, out, 4, TS_MSG_CTL_REPLY)) == 0 &&
	    (rc = ts_pk_uint(&pk, (uint64_t)code)) == 0)
		rc = ts_pk_str(&pk, reason, rl);
	return msg_finish(out, start, rc);
}

int
ts_msg_ctl_replace(ts_buf *out, const char *period, const char *const *inds,
    size_t ninds, const ts_value *v, size_t n)
{
	msgpack_packer	pk;
	size_t		start = out->len, pl, i, j;
	int		rc;

	if (period == NULL || (inds == NULL && ninds > 0))
		return TS_EINVAL;
	pl = strnlen(period, TS_PERIOD_MAX + 1);
	if (ts_valid_period(period, pl) != 0)
		return TS_EINVAL;
	if (ninds > TS_VALUES_MAX)
		return TS_ELIMIT;
	for (i = 0; i < ninds; i++)
		if (inds[i] == NULL ||
		    ts_valid_indicator(inds[i], strnlen(inds[i], TS_IND_MAX + 1)) != 0)
			return TS_EINVAL;
	if ((rc = ts_values_check(v, n, 0)) != 0)
		return rc;
	/* A value outside the replaced set would be a partial replace. */
	for (j = 0; j < n; j++) {
		for (i = 0; i < ninds; i++)
			if (strcmp(v[j].ind, inds[i]) == 0)
				break;
		if (i == ninds)
			return TS_EINVAL;
	}
	if ((rc = msg_start(&pk, out, 5, TS_MSG_CTL_REPLACE)) == 0 &&
	    (rc = ts_pk_str(&pk, period, pl)) == 0 &&
	    (rc = ts_pk_array(&pk, ninds)) == 0) {
		for (i = 0; i < ninds && rc == 0; i++)
			rc = ts_pk_str(&pk, inds[i], strlen(inds[i]));
		if (rc == 0)
			rc = ts_values_pack(&pk, v, n);
	}
	return msg_finish(out, start, rc);
}

int
ts_msg_ctl_reload(ts_buf *out)
{
	msgpack_packer	pk;
	size_t		start = out->len;

	return msg_finish(out, start, msg_start(&pk, out, 2, TS_MSG_CTL_RELOAD));
}

/* ---- decoder ---------------------------------------------------------------- */

void
ts_msg_clear(ts_msg *m)
{
	free(m->held);
	free(m->envs);
	free(m->status);
	free(m->values);
	free(m->inds);
	memset(m, 0, sizeof(*m));
}

/* Number of elements of each message type, version and type included. */
static size_t
msg_fields(uint64_t type)
{
	switch (type) {
	case TS_MSG_HELLO:
	case TS_MSG_WELCOME:
	case TS_MSG_PUSH:
	case TS_MSG_ACK:
	case TS_MSG_CTL_PUT:
	case TS_MSG_CTL_REPLY:
		return 4;
	case TS_MSG_ERR:
		return 6;
	case TS_MSG_CTL_REPLACE:
		return 5;
	case TS_MSG_CTL_RELOAD:
		return 2;
	case TS_MSG_PING:
	case TS_MSG_PONG:
		return 3;
	default:
		return 0;
	}
}

static int
rd_code(ts_mpr *c, char *dst)
{
	int	rc;

	if ((rc = ts_mpr_str_copy(c, dst, TS_CODE_MAX)) != 0)
		return rc;
	return ts_valid_code(dst, strlen(dst)) == 0 ? 0 : TS_EMALFORMED;
}

static int
rd_hello(ts_mpr *c, ts_msg *m)
{
	int	rc;

	if ((rc = rd_code(c, m->unit)) != 0)
		return rc;
	return ts_mpr_str_copy(c, m->topo, TS_TOPO_MAX);
}

static int
rd_welcome(ts_mpr *c, ts_msg *m)
{
	ts_held	*h;
	size_t	 i, n;
	int	 rc;

	if ((rc = rd_code(c, m->unit)) != 0 ||
	    (rc = ts_mpr_array_max(c, &n, TS_WELCOME_MAX, HELD_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((m->held = calloc(n, sizeof(*m->held))) == NULL)
		return TS_ENOMEM;
	m->nheld = n;
	for (i = 0; i < n; i++) {
		h = &m->held[i];
		if ((rc = ts_mpr_array_n(c, 3)) != 0 ||
		    (rc = rd_code(c, h->origin)) != 0 ||
		    (rc = ts_mpr_uint(c, &h->seq)) != 0 ||
		    (rc = ts_mpr_bin_n(c, h->hash, TS_HASH_LEN)) != 0)
			return rc;
	}
	return 0;
}

static int
rd_push(ts_mpr *c, ts_msg *m)
{
	size_t	i, n;
	int	rc;

	if ((rc = ts_mpr_uint(c, &m->batch)) != 0 ||
	    (rc = ts_mpr_array_max(c, &n, TS_BATCH_MAX, ENV_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((m->envs = calloc(n, sizeof(*m->envs))) == NULL)
		return TS_ENOMEM;
	m->nenvs = n;
	for (i = 0; i < n; i++) {
		if ((rc = ts_mpr_bin(c, &m->envs[i].p, &m->envs[i].len)) != 0)
			return rc;
		if (m->envs[i].len > TS_ENV_MAX)
			return TS_ELIMIT;
	}
	return 0;
}

static int
rd_ack(ts_mpr *c, ts_msg *m)
{
	uint64_t	v;
	size_t		i, n;
	int		rc;

	if ((rc = ts_mpr_uint(c, &m->batch)) != 0 ||
	    (rc = ts_mpr_array_max(c, &n, TS_BATCH_MAX, STATUS_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((m->status = calloc(n, 1)) == NULL)
		return TS_ENOMEM;
	m->nstatus = n;
	for (i = 0; i < n; i++) {
		if ((rc = ts_mpr_uint_max(c, TS_ST_MAX_, &v)) != 0)
			return rc;
		m->status[i] = (uint8_t)v;
	}
	return 0;
}

static int
rd_err(ts_mpr *c, ts_msg *m)
{
	uint64_t	v;
	int		rc;

	if ((rc = ts_mpr_uint_max(c, TS_ST_MAX_, &v)) != 0 ||
	    (rc = ts_mpr_str_copy(c, m->reason, TS_REASON_MAX)) != 0 ||
	    (rc = ts_mpr_str_copy(c, m->origin, TS_CODE_MAX)) != 0 ||
	    (rc = ts_mpr_uint(c, &m->seq)) != 0)
		return rc;
	m->code = (int)v;
	if (m->origin[0] != '\0' &&
	    ts_valid_code(m->origin, strlen(m->origin)) != 0)
		return TS_EMALFORMED;
	return 0;
}

static int
rd_ctl_put(ts_mpr *c, ts_msg *m)
{
	int	rc;

	if ((rc = ts_mpr_str_copy(c, m->period, TS_PERIOD_MAX)) != 0)
		return rc;
	if (ts_valid_period(m->period, strlen(m->period)) != 0)
		return TS_EMALFORMED;
	return ts_values_read(c, 0, &m->values, &m->nvalues);
}

#define IND_MIN 2	/* fixstr of at least one byte */

static int
ind_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
rd_ctl_replace(ts_mpr *c, ts_msg *m)
{
	size_t	i, j, n;
	int	rc;

	if ((rc = ts_mpr_str_copy(c, m->period, TS_PERIOD_MAX)) != 0)
		return rc;
	if (ts_valid_period(m->period, strlen(m->period)) != 0)
		return TS_EMALFORMED;
	if ((rc = ts_mpr_array_max(c, &n, TS_VALUES_MAX, IND_MIN)) != 0)
		return rc;
	if (n > 0 && (m->inds = calloc(n, sizeof(*m->inds))) == NULL)
		return TS_ENOMEM;
	m->ninds = n;
	for (i = 0; i < n; i++) {
		if ((rc = ts_mpr_str_copy(c, m->inds[i], TS_IND_MAX)) != 0)
			return rc;
		if (ts_valid_indicator(m->inds[i], strlen(m->inds[i])) != 0)
			return TS_EMALFORMED;
	}
	if ((rc = ts_values_read(c, 0, &m->values, &m->nvalues)) != 0)
		return rc;
	/* Every value's indicator must be listed: on a sorted copy of the
	 * list, by binary search -- O((n + m) log n), not n x m (65,536 of
	 * each once stalled a district for 16 s). */
	if (m->nvalues > 0) {
		char (*sorted)[TS_IND_MAX + 1];
		if (n == 0)
			return TS_EMALFORMED;
		if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
			return TS_ENOMEM;
		memcpy(sorted, m->inds, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), ind_cmp);
		for (j = 0; j < m->nvalues && rc == 0; j++)
			if (bsearch(m->values[j].ind, sorted, n, sizeof(*sorted),
			    ind_cmp) == NULL)
				rc = TS_EMALFORMED;
		free(sorted);
	}
	return rc;
}

static int
rd_ctl_reply(ts_mpr *c, ts_msg *m)
{
	uint64_t	v;
	int		rc;

	if ((rc = ts_mpr_uint_max(c, INT_MAX, &v)) != 0)
		return rc;
	m->code = (int)v;
	return ts_mpr_str_copy(c, m->reason, TS_REASON_MAX);
}

/* The head of every link message: array header, version, known type.
 * Version before type before shape: a newer peer must be told
 * "version", not "malformed". */
static int
msg_head(ts_mpr *c, const uint8_t *p, size_t len, size_t *n, uint64_t *type)
{
	uint64_t	ver;
	int		rc;

	if (len > TS_MSG_MAX)
		return TS_ELIMIT;
	ts_mpr_init(c, p, len);
	if ((rc = ts_mpr_array(c, n)) != 0)
		return rc;
	if (*n < 2)
		return TS_EMALFORMED;
	if ((rc = ts_mpr_uint(c, &ver)) != 0)
		return rc;
	if (ver != TS_PROTO_VERSION)
		return TS_EVERSION;
	if ((rc = ts_mpr_uint(c, type)) != 0)
		return rc;
	return msg_fields(*type) == 0 ? TS_EUNKNOWN : 0;
}

static int
msg_decode(const uint8_t *p, size_t len, ts_msg *m)
{
	ts_mpr		c;
	size_t		n;
	uint64_t	type;
	int		rc;

	if ((rc = msg_head(&c, p, len, &n, &type)) != 0)
		return rc;
	if (n != msg_fields(type))
		return TS_EMALFORMED;
	m->type = (int)type;
	switch (type) {
	case TS_MSG_HELLO:
		rc = rd_hello(&c, m);
		break;
	case TS_MSG_WELCOME:
		rc = rd_welcome(&c, m);
		break;
	case TS_MSG_PUSH:
		rc = rd_push(&c, m);
		break;
	case TS_MSG_ACK:
		rc = rd_ack(&c, m);
		break;
	case TS_MSG_ERR:
		rc = rd_err(&c, m);
		break;
	case TS_MSG_PING:
	case TS_MSG_PONG:
		rc = ts_mpr_uint(&c, &m->time_ms);
		break;
	case TS_MSG_CTL_PUT:
		rc = rd_ctl_put(&c, m);
		break;
	case TS_MSG_CTL_REPLY:
		rc = rd_ctl_reply(&c, m);
		break;
	case TS_MSG_CTL_REPLACE:
		rc = rd_ctl_replace(&c, m);
		break;
	case TS_MSG_CTL_RELOAD:
		rc = 0;
		break;
	}
	if (rc != 0)
		return rc;
	return ts_mpr_end(&c);
}

int
ts_msg_peek(const uint8_t *p, size_t len, int *type)
{
	ts_mpr		c;
	size_t		n;
	uint64_t	t;
	int		rc;

	*type = 0;
	if (p == NULL && len > 0)
		return TS_EINVAL;
	if ((rc = msg_head(&c, p, len, &n, &t)) != 0)
		return rc;
	*type = (int)t;
	return 0;
}

int
ts_msg_decode(const uint8_t *p, size_t len, ts_msg *m)
{
	int	rc;

	memset(m, 0, sizeof(*m));
	if (p == NULL && len > 0)
		return TS_EINVAL;
	if ((rc = msg_decode(p, len, m)) != 0)
		ts_msg_clear(m);
	return rc;
}
