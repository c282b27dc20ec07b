/*
 * Report body and envelope codec.  Normative spec: docs/PROTOCOL.md.
 *
 * Encoding goes through msgpack-c's packer, which always emits the
 * smallest encoding; that is our canonical form.  Decoding uses the
 * bounded reader in mpread.c, then re-packs the decoded report into a
 * comparing writer: a body is accepted only if it is byte for byte what
 * we would have produced, so every accepted body has exactly one
 * encoding and one hash.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mpread.h"

#define BODY_FIELDS	12
#define COMP_FIELDS	6
#define VALUE_MIN	6	/* 94 a1 X a0 00 00: smallest value entry */
#define PROV_MIN	38	/* 93 a1 X 01 c4 20 <32>: smallest prov   */

static const uint8_t zero_hash[TS_HASH_LEN];

/* ---- packing helpers ------------------------------------------------ */

static int
buf_write(void *data, const char *p, size_t len)
{
	return ts_buf_append(data, p, len) == 0 ? 0 : -1;
}

void
ts_pk_init(msgpack_packer *pk, ts_buf *b)
{
	msgpack_packer_init(pk, b, buf_write);
}

/*
 * msgpack-c returns 0 or -1 from every pack call; -1 only ever comes
 * from our write callback, which fails only when memory runs out (or,
 * for the comparing writer, on a mismatch the caller detects itself).
 */
int
ts_pk_array(msgpack_packer *pk, size_t n)
{
	return msgpack_pack_array(pk, n) == 0 ? 0 : TS_ENOMEM;
}

int
ts_pk_uint(msgpack_packer *pk, uint64_t v)
{
	return msgpack_pack_uint64(pk, v) == 0 ? 0 : TS_ENOMEM;
}

int
ts_pk_str(msgpack_packer *pk, const char *s, size_t len)
{
	if (msgpack_pack_str(pk, len) != 0)
		return TS_ENOMEM;
	if (len > 0 && msgpack_pack_str_body(pk, s, len) != 0)
		return TS_ENOMEM;
	return 0;
}

int
ts_pk_bin(msgpack_packer *pk, const void *p, size_t len)
{
	if (msgpack_pack_bin(pk, len) != 0)
		return TS_ENOMEM;
	if (len > 0 && msgpack_pack_bin_body(pk, p, len) != 0)
		return TS_ENOMEM;
	return 0;
}

int
ts_text_len(const char *s, size_t size, size_t max, size_t *len)
{
	const char	*nul;

	if (s == NULL)
		return TS_EINVAL;
	if ((nul = memchr(s, '\0', size)) == NULL)
		return TS_ELIMIT;
	*len = (size_t)(nul - s);
	return *len <= max ? 0 : TS_ELIMIT;
}

/* ---- values (shared with CTL_PUT) ------------------------------------ */

int
ts_value_cmp(const ts_value *a, const ts_value *b)
{
	int	c;

	/* strcmp compares as unsigned char: bytewise order. */
	if ((c = strcmp(a->ind, b->ind)) != 0)
		return c;
	return strcmp(a->dis, b->dis);
}

int
ts_values_check(const ts_value *v, size_t n, int sorted)
{
	size_t	i, il, dl;

	if (n > TS_VALUES_MAX)
		return TS_ELIMIT;
	if (n > 0 && v == NULL)
		return TS_EINVAL;
	for (i = 0; i < n; i++) {
		if (ts_text_len(v[i].ind, sizeof(v[i].ind), TS_IND_MAX,
		    &il) != 0 ||
		    ts_text_len(v[i].dis, sizeof(v[i].dis), TS_DIS_MAX,
		    &dl) != 0)
			return TS_EINVAL;
		if (ts_valid_indicator(v[i].ind, il) != 0 ||
		    ts_valid_dis(v[i].dis, dl) != 0)
			return TS_EINVAL;
		if (sorted && i > 0 && ts_value_cmp(&v[i - 1], &v[i]) >= 0)
			return TS_EINVAL;
	}
	return 0;
}

/* Callers have run ts_values_check. */
int
ts_values_pack(msgpack_packer *pk, const ts_value *v, size_t n)
{
	size_t	i;
	int	rc;

	if ((rc = ts_pk_array(pk, n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = ts_pk_array(pk, 4)) != 0 ||
		    (rc = ts_pk_str(pk, v[i].ind, strlen(v[i].ind))) != 0 ||
		    (rc = ts_pk_str(pk, v[i].dis, strlen(v[i].dis))) != 0 ||
		    (rc = ts_pk_uint(pk, v[i].num)) != 0 ||
		    (rc = ts_pk_uint(pk, v[i].den)) != 0)
			return rc;
	}
	return 0;
}

static int
value_read(ts_mpr *c, ts_value *v)
{
	int	rc;

	if ((rc = ts_mpr_array_n(c, 4)) != 0 ||
	    (rc = ts_mpr_str_copy(c, v->ind, TS_IND_MAX)) != 0 ||
	    (rc = ts_mpr_str_copy(c, v->dis, TS_DIS_MAX)) != 0 ||
	    (rc = ts_mpr_uint(c, &v->num)) != 0 ||
	    (rc = ts_mpr_uint(c, &v->den)) != 0)
		return rc;
	if (ts_valid_indicator(v->ind, strlen(v->ind)) != 0 ||
	    ts_valid_dis(v->dis, strlen(v->dis)) != 0)
		return TS_EMALFORMED;
	return 0;
}

int
ts_values_read(ts_mpr *c, int sorted, ts_value **out, size_t *nout)
{
	ts_value	*v = NULL;
	size_t		 i, n;
	int		 rc;

	*out = NULL;
	*nout = 0;
	if ((rc = ts_mpr_array_max(c, &n, TS_VALUES_MAX, VALUE_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	/* n is bounded by TS_VALUES_MAX and by the input length. */
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return TS_ENOMEM;
	for (i = 0; i < n; i++) {
		if ((rc = value_read(c, &v[i])) != 0)
			goto fail;
		if (sorted && i > 0 && ts_value_cmp(&v[i - 1], &v[i]) >= 0) {
			rc = TS_ENONCANON;
			goto fail;
		}
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	free(v);
	return rc;
}

/* ---- report ---------------------------------------------------------- */

void
ts_report_clear(ts_report *r)
{
	free(r->values);
	free(r->prov);
	memset(r, 0, sizeof(*r));
}

static int
value_qcmp(const void *a, const void *b)
{
	return ts_value_cmp(a, b);
}

int
ts_vsum_add(ts_vsum *s, const ts_value *v, size_t n)
{
	ts_value *nv;
	size_t cap;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*v) - s->n)
		return TS_ENOMEM;
	if (s->n + n > s->cap) {
		cap = s->cap ? s->cap : 64;
		while (cap < s->n + n)
			cap *= 2;
		if ((nv = realloc(s->v, cap * sizeof(*nv))) == NULL)
			return TS_ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	memcpy(s->v + s->n, v, n * sizeof(*v));
	s->n += n;
	return 0;
}

int
ts_vsum_merge(ts_vsum *s, const ts_value **bad)
{
	size_t i, o = 0;

	if (bad != NULL)
		*bad = NULL;
	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), value_qcmp);
	for (i = 1; i < s->n; i++) {
		ts_value *d = &s->v[o];
		if (ts_value_cmp(d, &s->v[i]) != 0) {
			s->v[++o] = s->v[i];
			continue;
		}
		if (d->num > UINT64_MAX - s->v[i].num ||
		    d->den > UINT64_MAX - s->v[i].den) {
			if (bad != NULL)
				*bad = &s->v[i];
			return TS_ELIMIT;
		}
		d->num += s->v[i].num;
		d->den += s->v[i].den;
	}
	s->n = o + 1;
	return 0;
}

void
ts_vsum_free(ts_vsum *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
prov_cmp(const ts_prov *a, const ts_prov *b)
{
	return strcmp(a->child, b->child);
}

static int
prov_qcmp(const void *a, const void *b)
{
	return prov_cmp(a, b);
}

int
ts_report_sort(ts_report *r)
{
	size_t	i;

	if (r->nvalues > 1)
		qsort(r->values, r->nvalues, sizeof(*r->values), value_qcmp);
	if (r->nprov > 1)
		qsort(r->prov, r->nprov, sizeof(*r->prov), prov_qcmp);
	for (i = 1; i < r->nvalues; i++)
		if (ts_value_cmp(&r->values[i - 1], &r->values[i]) == 0)
			return TS_EINVAL;
	for (i = 1; i < r->nprov; i++)
		if (prov_cmp(&r->prov[i - 1], &r->prov[i]) == 0)
			return TS_EINVAL;
	return 0;
}

static int
prov_check(const ts_prov *p, size_t n)
{
	size_t	i, len;

	if (n > TS_PROV_MAX)
		return TS_ELIMIT;
	if (n > 0 && p == NULL)
		return TS_EINVAL;
	for (i = 0; i < n; i++) {
		if (ts_text_len(p[i].child, sizeof(p[i].child), TS_CODE_MAX,
		    &len) != 0 || ts_valid_code(p[i].child, len) != 0)
			return TS_EINVAL;
		if (p[i].seq < 1)
			return TS_EINVAL;
		if (i > 0 && prov_cmp(&p[i - 1], &p[i]) >= 0)
			return TS_EINVAL;
	}
	return 0;
}

/* Everything ts_report_encode promises to validate. */
static int
report_check(const ts_report *r)
{
	size_t	len;
	int	rc;

	if (ts_text_len(r->origin, sizeof(r->origin), TS_CODE_MAX, &len) != 0 ||
	    ts_valid_code(r->origin, len) != 0)
		return TS_EINVAL;
	if (ts_text_len(r->period, sizeof(r->period), TS_PERIOD_MAX,
	    &len) != 0 || ts_valid_period(r->period, len) != 0)
		return TS_EINVAL;
	if (r->seq < 1)
		return TS_EINVAL;
	/* The chain starts at seq 1 with an all-zero prev, and only there. */
	if ((r->seq == 1) != (memcmp(r->prev, zero_hash, TS_HASH_LEN) == 0))
		return TS_EINVAL;
	if ((rc = ts_text_len(r->topo, sizeof(r->topo), TS_TOPO_MAX,
	    &len)) != 0)
		return rc;
	if ((rc = ts_text_len(r->catalogue, sizeof(r->catalogue), TS_CAT_MAX,
	    &len)) != 0)
		return rc;
	if ((rc = ts_values_check(r->values, r->nvalues, 1)) != 0)
		return rc;
	return prov_check(r->prov, r->nprov);
}

static int
report_pack(const ts_report *r, msgpack_packer *pk)
{
	const ts_completeness	*c = &r->comp;
	size_t			 i;
	int			 rc;

	if ((rc = ts_pk_array(pk, BODY_FIELDS)) != 0 ||
	    (rc = ts_pk_uint(pk, TS_FORMAT_VERSION)) != 0 ||
	    (rc = ts_pk_str(pk, TS_DOMAIN_REPORT,
	    strlen(TS_DOMAIN_REPORT))) != 0 ||
	    (rc = ts_pk_str(pk, r->origin, strlen(r->origin))) != 0 ||
	    (rc = ts_pk_str(pk, r->period, strlen(r->period))) != 0 ||
	    (rc = ts_pk_uint(pk, r->seq)) != 0 ||
	    (rc = ts_pk_bin(pk, r->prev, TS_HASH_LEN)) != 0 ||
	    (rc = ts_pk_str(pk, r->topo, strlen(r->topo))) != 0 ||
	    (rc = ts_pk_str(pk, r->catalogue, strlen(r->catalogue))) != 0 ||
	    (rc = ts_pk_uint(pk, r->created_ms)) != 0)
		return rc;
	if ((rc = ts_pk_array(pk, COMP_FIELDS)) != 0 ||
	    (rc = ts_pk_uint(pk, c->expected)) != 0 ||
	    (rc = ts_pk_uint(pk, c->reported)) != 0 ||
	    (rc = ts_pk_uint(pk, c->on_time)) != 0 ||
	    (rc = ts_pk_uint(pk, c->leaf_expected)) != 0 ||
	    (rc = ts_pk_uint(pk, c->leaf_reported)) != 0 ||
	    (rc = ts_pk_uint(pk, c->leaf_on_time)) != 0)
		return rc;
	if ((rc = ts_values_pack(pk, r->values, r->nvalues)) != 0)
		return rc;
	if ((rc = ts_pk_array(pk, r->nprov)) != 0)
		return rc;
	for (i = 0; i < r->nprov; i++) {
		if ((rc = ts_pk_array(pk, 3)) != 0 ||
		    (rc = ts_pk_str(pk, r->prov[i].child,
		    strlen(r->prov[i].child))) != 0 ||
		    (rc = ts_pk_uint(pk, r->prov[i].seq)) != 0 ||
		    (rc = ts_pk_bin(pk, r->prov[i].hash, TS_HASH_LEN)) != 0)
			return rc;
	}
	return 0;
}

int
ts_report_encode(const ts_report *r, ts_buf *out)
{
	msgpack_packer	pk;
	size_t		start = out->len;
	int		rc;

	if ((rc = report_check(r)) != 0)
		return rc;
	ts_pk_init(&pk, out);
	if ((rc = report_pack(r, &pk)) != 0) {
		out->len = start;	/* leave out as it was */
		return rc;
	}
	return 0;
}

/* A writer that compares what the packer emits with the input body. */
struct cmp_writer {
	const uint8_t	*p;
	size_t		 left;
	int		 differs;
};

static int
cmp_write(void *data, const char *buf, size_t len)
{
	struct cmp_writer	*w = data;

	if (len > w->left || memcmp(w->p, buf, len) != 0) {
		w->differs = 1;
		return -1;
	}
	w->p += len;
	w->left -= len;
	return 0;
}

static int
comp_read(ts_mpr *c, ts_completeness *comp)
{
	uint32_t	*f[COMP_FIELDS] = {
		&comp->expected, &comp->reported, &comp->on_time,
		&comp->leaf_expected, &comp->leaf_reported, &comp->leaf_on_time
	};
	uint64_t	 v;
	size_t		 i;
	int		 rc;

	if ((rc = ts_mpr_array_n(c, COMP_FIELDS)) != 0)
		return rc;
	for (i = 0; i < COMP_FIELDS; i++) {
		if ((rc = ts_mpr_uint_max(c, UINT32_MAX, &v)) != 0)
			return rc;
		*f[i] = (uint32_t)v;
	}
	return 0;
}

static int
prov_read(ts_mpr *c, ts_report *r)
{
	ts_prov	*p;
	size_t	 i, n;
	int	 rc;

	if ((rc = ts_mpr_array_max(c, &n, TS_PROV_MAX, PROV_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((r->prov = calloc(n, sizeof(*r->prov))) == NULL)
		return TS_ENOMEM;
	r->nprov = n;
	for (i = 0; i < n; i++) {
		p = &r->prov[i];
		if ((rc = ts_mpr_array_n(c, 3)) != 0 ||
		    (rc = ts_mpr_str_copy(c, p->child, TS_CODE_MAX)) != 0 ||
		    (rc = ts_mpr_uint(c, &p->seq)) != 0 ||
		    (rc = ts_mpr_bin_n(c, p->hash, TS_HASH_LEN)) != 0)
			return rc;
		if (ts_valid_code(p->child, strlen(p->child)) != 0 ||
		    p->seq < 1)
			return TS_EMALFORMED;
		if (i > 0 && prov_cmp(&r->prov[i - 1], p) >= 0)
			return TS_ENONCANON;
	}
	return 0;
}

/* Header: array, format version and domain tag, checked in that order
 * so that a future format is reported as a version problem, not as a
 * malformed one. */
static int
header_read(ts_mpr *c)
{
	const char	*tag;
	size_t		 n, len;
	uint64_t	 fmt;
	int		 rc;

	if ((rc = ts_mpr_array(c, &n)) != 0)
		return rc;
	if (n < 2)
		return TS_EMALFORMED;
	if ((rc = ts_mpr_uint(c, &fmt)) != 0)
		return rc;
	if (fmt != TS_FORMAT_VERSION)
		return TS_EVERSION;
	if ((rc = ts_mpr_str(c, &tag, &len)) != 0)
		return rc;
	if (len != strlen(TS_DOMAIN_REPORT) ||
	    memcmp(tag, TS_DOMAIN_REPORT, len) != 0)
		return TS_EVERSION;
	return n == BODY_FIELDS ? 0 : TS_EMALFORMED;
}

static int
fields_read(ts_mpr *c, ts_report *r)
{
	size_t	len;
	int	rc;

	if ((rc = ts_mpr_str_copy(c, r->origin, TS_CODE_MAX)) != 0 ||
	    (rc = ts_mpr_str_copy(c, r->period, TS_PERIOD_MAX)) != 0 ||
	    (rc = ts_mpr_uint(c, &r->seq)) != 0 ||
	    (rc = ts_mpr_bin_n(c, r->prev, TS_HASH_LEN)) != 0 ||
	    (rc = ts_mpr_str_copy(c, r->topo, TS_TOPO_MAX)) != 0 ||
	    (rc = ts_mpr_str_copy(c, r->catalogue, TS_CAT_MAX)) != 0 ||
	    (rc = ts_mpr_uint(c, &r->created_ms)) != 0)
		return rc;
	len = strlen(r->origin);
	if (ts_valid_code(r->origin, len) != 0)
		return TS_EMALFORMED;
	len = strlen(r->period);
	if (ts_valid_period(r->period, len) != 0)
		return TS_EMALFORMED;
	if (r->seq < 1 ||
	    (r->seq == 1) != (memcmp(r->prev, zero_hash, TS_HASH_LEN) == 0))
		return TS_EMALFORMED;
	return 0;
}

static int
report_decode(const uint8_t *body, size_t len, ts_report *r)
{
	struct cmp_writer	 w;
	msgpack_packer		 pk;
	ts_mpr			 c;
	int			 rc;

	if (len > TS_ENV_MAX)
		return TS_ELIMIT;
	ts_mpr_init(&c, body, len);
	if ((rc = header_read(&c)) != 0 ||
	    (rc = fields_read(&c, r)) != 0 ||
	    (rc = comp_read(&c, &r->comp)) != 0 ||
	    (rc = ts_values_read(&c, 1, &r->values, &r->nvalues)) != 0 ||
	    (rc = prov_read(&c, r)) != 0 ||
	    (rc = ts_mpr_end(&c)) != 0)
		return rc;

	/* The reader already refused long encodings and bad order; this
	 * re-encoding is the final word on canonical form. */
	w.p = body;
	w.left = len;
	w.differs = 0;
	msgpack_packer_init(&pk, &w, cmp_write);
	rc = report_pack(r, &pk);
	if (w.differs || (rc == 0 && w.left != 0))
		return TS_ENONCANON;
	return rc;
}

int
ts_report_decode(const uint8_t *body, size_t len, ts_report *r)
{
	int	rc;

	memset(r, 0, sizeof(*r));
	if (body == NULL && len > 0)
		return TS_EINVAL;
	if ((rc = report_decode(body, len, r)) != 0)
		ts_report_clear(r);
	return rc;
}

/* ---- envelope -------------------------------------------------------- */

void
ts_body_hash(const uint8_t *body, size_t len, uint8_t out[TS_HASH_LEN])
{
	/* Fails only for out-of-range output or key lengths, which are
	 * constants here; a hash we cannot trust must not be returned. */
	if (crypto_generichash(out, TS_HASH_LEN, body, len, NULL, 0) != 0)
		abort();
}

int
ts_env_seal(const ts_report *r, const uint8_t sk[TS_SIGN_SK_LEN],
    ts_buf *out, uint8_t hash_out[TS_HASH_LEN])
{
	msgpack_packer	pk;
	ts_buf		body = { NULL, 0, 0 };
	uint8_t		sig[TS_SIG_LEN];
	size_t		start = out->len;
	int		rc;

	if ((rc = ts_report_encode(r, &body)) != 0)
		goto done;
	/* Envelope overhead is at most 1 + 5 + 2 + 64 bytes. */
	if (body.len > TS_ENV_MAX - 72) {
		rc = TS_ELIMIT;
		goto done;
	}
	if (crypto_sign_detached(sig, NULL, body.buf, body.len, sk) != 0) {
		rc = TS_ESIG;
		goto done;
	}
	ts_pk_init(&pk, out);
	if ((rc = ts_pk_array(&pk, 2)) != 0 ||
	    (rc = ts_pk_bin(&pk, body.buf, body.len)) != 0 ||
	    (rc = ts_pk_bin(&pk, sig, sizeof(sig))) != 0) {
		out->len = start;
		goto done;
	}
	if (hash_out != NULL)
		ts_body_hash(body.buf, body.len, hash_out);
done:
	sodium_memzero(sig, sizeof(sig));
	ts_buf_free(&body);
	return rc;
}

int
ts_env_split(const uint8_t *env, size_t len, ts_env_view *v)
{
	const uint8_t	*sig;
	size_t		 siglen;
	ts_mpr		 c;
	int		 rc;

	memset(v, 0, sizeof(*v));
	if (len > TS_ENV_MAX)
		return TS_ELIMIT;
	if (env == NULL && len > 0)
		return TS_EINVAL;
	ts_mpr_init(&c, env, len);
	if ((rc = ts_mpr_array_n(&c, 2)) != 0 ||
	    (rc = ts_mpr_bin(&c, &v->body, &v->body_len)) != 0 ||
	    (rc = ts_mpr_bin(&c, &sig, &siglen)) != 0 ||
	    (rc = ts_mpr_end(&c)) != 0) {
		memset(v, 0, sizeof(*v));
		return rc;
	}
	if (siglen != TS_SIG_LEN) {
		memset(v, 0, sizeof(*v));
		return TS_EMALFORMED;
	}
	v->sig = sig;
	return 0;
}

int
ts_env_verify(const ts_env_view *v, const uint8_t pk[TS_SIGN_PK_LEN])
{
	if (v->sig == NULL || (v->body == NULL && v->body_len > 0))
		return TS_ESIG;
	if (crypto_sign_verify_detached(v->sig, v->body, v->body_len,
	    pk) != 0)
		return TS_ESIG;
	return 0;
}

/* ---- status codes ------------------------------------------------------ */

static const char *const st_names[TS_ST_MAX_ + 1] = {
	"stored", "held", "malformed", "sig", "unknown", "subtree", "replay",
	"gap", "fork", "chain", "version", "oversize", "retry", "protocol",
};

const char *
ts_status_name(int st)
{
	if (st < 0 || st > TS_ST_MAX_)
		return "invalid";
	return st_names[st];
}

int
ts_status_from_err(int err)
{
	switch (err) {
	case TS_OK:
		return TS_ST_STORED;
	case TS_EMALFORMED:
	case TS_ENONCANON:
	case TS_EPARSE:
	case TS_EINVAL:
		return TS_ST_MALFORMED;
	case TS_ESIG:
		return TS_ST_SIG;
	case TS_EUNKNOWN:
	case TS_ENOTFOUND:
		return TS_ST_UNKNOWN;
	case TS_ESUBTREE:
		return TS_ST_SUBTREE;
	case TS_EREPLAY:
		return TS_ST_REPLAY;
	case TS_EGAP:
		return TS_ST_GAP;
	case TS_EFORK:
		return TS_ST_FORK;
	case TS_ECHAIN:
		return TS_ST_CHAIN;
	case TS_EVERSION:
		return TS_ST_VERSION;
	case TS_ELIMIT:
		return TS_ST_OVERSIZE;
	case TS_EPROTO:
		return TS_ST_PROTOCOL;
	default:
		/* ENOMEM, ENOSPC, ESTORE, ESYS and anything unforeseen are
		 * local trouble, not the sender's fault: ask for a resend. */
		return TS_ST_RETRY;
	}
}
