/*
 * Report body and envelope codec.  Normative spec: docs/PROTOCOL.md.
 *
 * Encoding goes through msgpack-c's packer, which always emits the
 * smallest encoding; that is our canonical form.  Decoding (and
 * checking, ts_report_check) uses the bounded reader in mpread.c, which
 * refuses any header longer than the smallest one while it reads: a body
 * is accepted only if it is byte for byte what we would have produced,
 * so every accepted body has exactly one encoding and one hash (why no
 * re-encoding is needed: above body_read_hdr).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tiersync/mpread.h"

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
		if (v[i].num > TS_VALUE_MAX || v[i].den > TS_VALUE_MAX)
			return TS_ERANGE;
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

/*
 * The hot path of decoding and checking a body: its values and
 * provenance lists.  Nearly every element there has a short header
 * (fixarray, fixstr, positive fixint, smallest uint8/uint16): these
 * helpers take such a header in place and hand everything else to the
 * full reader, so they return exactly what ts_mpr_array_n / ts_mpr_str /
 * ts_mpr_uint return for every input.  (mpread.c is another translation
 * unit: a call per element was half the cost of a check.)
 */
static inline int
fast_array_n(ts_mpr *c, size_t want)
{
	if (c->left > 0 && (c->p[0] & 0xf0) == 0x90) {
		if ((size_t)(c->p[0] & 0x0f) != want)
			return TS_EMALFORMED;
		c->p++;
		c->left--;
		return 0;
	}
	return ts_mpr_array_n(c, want);
}

/* Also uint8 and uint16, the usual counts, when in smallest form. */
static inline int
fast_uint(ts_mpr *c, uint64_t *v)
{
	const uint8_t	*p = c->p;

	if (c->left > 0 && p[0] <= 0x7f) {
		*v = p[0];
		c->p++;
		c->left--;
		return 0;
	}
	if (c->left > 1 && p[0] == 0xcc && p[1] >= 0x80) {
		*v = p[1];
		c->p += 2;
		c->left -= 2;
		return 0;
	}
	if (c->left > 2 && p[0] == 0xcd && p[1] != 0) {
		*v = (uint64_t)p[1] << 8 | p[2];
		c->p += 3;
		c->left -= 3;
		return 0;
	}
	return ts_mpr_uint(c, v);
}

/*
 * A string of at most max bytes that must pass valid(); *bad is set if
 * it does not.  Errors and their order are those of ts_mpr_str_max
 * (truncation, type, TS_ELIMIT, then a NUL: TS_EMALFORMED at once),
 * while any other broken rule is only noted in *bad, because the
 * decoder reports it after reading the rest of the entry.  The rule
 * check comes first: every valid() here refuses NUL, so a string that
 * passes needs no separate search for one.
 */
static inline int
fast_str(ts_mpr *c, size_t max, int (*valid)(const char *, size_t),
    const char **s, size_t *len, int *bad)
{
	size_t	n;

	if (c->left > 0 && (c->p[0] & 0xe0) == 0xa0 &&
	    (n = c->p[0] & 0x1f) < c->left) {
		if (n > max)
			return TS_ELIMIT;
		*s = (const char *)c->p + 1;
		*len = n;
		c->p += 1 + n;
		c->left -= 1 + n;
	} else {
		int	rc;

		if ((rc = ts_mpr_str(c, s, len)) != 0)
			return rc;
		if (*len > max)
			return TS_ELIMIT;
	}
	if (valid(*s, *len) == 0)
		return 0;
	if (*len > 0 && memchr(*s, '\0', *len) != NULL)
		return TS_EMALFORMED;
	*bad = 1;
	return 0;
}

/*
 * Bytewise order of two NUL-free byte strings, a prefix first: what
 * strcmp gives on the decoder's NUL-terminated copies.  Our strings are
 * at most 64 bytes: a loop beats a call to memcmp.
 */
static inline int
span_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return (unsigned char)a[i] < (unsigned char)b[i] ?
			    -1 : 1;
	return (alen > blen) - (alen < blen);
}

/* One entry of a values list, where it lies in the input. */
struct value_span {
	const char	*ind, *dis;
	size_t		 il, dl;
	uint64_t	 num, den;
};

/*
 * Read and validate one [ind, dis, num, den].  Order of the checks, on
 * which the error code of a body with several faults depends: shape,
 * ind (truncation, type, length, NUL), dis (the same), num, den, then
 * the identifier rules of ind and dis.
 */
static int
value_span_read(ts_mpr *c, struct value_span *s)
{
	int	rc, bad = 0;

	if ((rc = fast_array_n(c, 4)) != 0 ||
	    (rc = fast_str(c, TS_IND_MAX, ts_valid_indicator, &s->ind,
	    &s->il, &bad)) != 0 ||
	    (rc = fast_str(c, TS_DIS_MAX, ts_valid_dis, &s->dis, &s->dl,
	    &bad)) != 0 ||
	    (rc = fast_uint(c, &s->num)) != 0 ||
	    (rc = fast_uint(c, &s->den)) != 0)
		return rc;
	if (bad)
		return TS_EMALFORMED;
	return s->num > TS_VALUE_MAX || s->den > TS_VALUE_MAX ? TS_ERANGE : 0;
}

/* ts_value_cmp's (ind, dis) bytewise order, on spans. */
static int
value_span_cmp(const struct value_span *a, const struct value_span *b)
{
	int	d;

	if ((d = span_cmp(a->ind, a->il, b->ind, b->il)) != 0)
		return d;
	return span_cmp(a->dis, a->dl, b->dis, b->dl);
}

/*
 * A values list.  v == NULL: validate only (ts_report_check); else
 * copy each value to v[i], which has room for the count that
 * ts_mpr_array_max returned before.
 */
static int
values_walk(ts_mpr *c, size_t n, int sorted, ts_value *v)
{
	struct value_span	cur, prev;
	size_t			i;
	int			rc;

	memset(&prev, 0, sizeof(prev));	/* read only when i > 0 */
	for (i = 0; i < n; i++) {
		if ((rc = value_span_read(c, &cur)) != 0)
			return rc;
		if (sorted && i > 0 && value_span_cmp(&prev, &cur) >= 0)
			return TS_ENONCANON;
		if (v != NULL) {
			/* Lengths are within the fields: checked above. */
			memcpy(v[i].ind, cur.ind, cur.il);
			v[i].ind[cur.il] = '\0';
			memcpy(v[i].dis, cur.dis, cur.dl);
			v[i].dis[cur.dl] = '\0';
			v[i].num = cur.num;
			v[i].den = cur.den;
		}
		prev = cur;
	}
	return 0;
}

int
ts_values_read(ts_mpr *c, int sorted, ts_value **out, size_t *nout)
{
	ts_value	*v = NULL;
	size_t		 n;
	int		 rc;

	*out = NULL;
	*nout = 0;
	if ((rc = ts_mpr_array_max(c, &n, TS_VALUES_MAX, VALUE_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	/* n is bounded by TS_VALUES_MAX and by the input length.  Zeroed:
	 * callers compare and store whole ts_value structs, so the bytes
	 * after each string's NUL must be what they always were. */
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return TS_ENOMEM;
	if ((rc = values_walk(c, n, sorted, v)) != 0) {
		free(v);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
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

static int
comp_read(ts_mpr *c, uint32_t comp[COMP_FIELDS])
{
	uint64_t	v;
	size_t		i;
	int		rc;

	if ((rc = ts_mpr_array_n(c, COMP_FIELDS)) != 0)
		return rc;
	for (i = 0; i < COMP_FIELDS; i++) {
		if ((rc = ts_mpr_uint_max(c, UINT32_MAX, &v)) != 0)
			return rc;
		comp[i] = (uint32_t)v;
	}
	return 0;
}

/* One provenance entry, where it lies in the input. */
struct prov_span {
	const char	*child;
	size_t		 cl;
	uint64_t	 seq;
	const uint8_t	*hash;
};

/* Read and validate one [child, seq, hash]: shape, child (truncation,
 * type, length, NUL), seq, hash (type, 32 bytes), then the code rule
 * and seq >= 1. */
static int
prov_span_read(ts_mpr *c, struct prov_span *s)
{
	size_t	hl;
	int	rc, bad = 0;

	if ((rc = fast_array_n(c, 3)) != 0 ||
	    (rc = fast_str(c, TS_CODE_MAX, ts_valid_code, &s->child, &s->cl,
	    &bad)) != 0 ||
	    (rc = fast_uint(c, &s->seq)) != 0 ||
	    (rc = ts_mpr_bin(c, &s->hash, &hl)) != 0)
		return rc;
	if (hl != TS_HASH_LEN)			/* as ts_mpr_bin_n */
		return TS_EMALFORMED;
	if (bad || s->seq < 1)
		return TS_EMALFORMED;
	return 0;
}

/* A provenance list: like values_walk, p == NULL validates only. */
static int
prov_walk(ts_mpr *c, size_t n, ts_prov *p)
{
	struct prov_span	cur, prev;
	size_t			i;
	int			rc;

	memset(&prev, 0, sizeof(prev));	/* read only when i > 0 */
	for (i = 0; i < n; i++) {
		if ((rc = prov_span_read(c, &cur)) != 0)
			return rc;
		if (i > 0 && span_cmp(prev.child, prev.cl, cur.child,
		    cur.cl) >= 0)
			return TS_ENONCANON;
		if (p != NULL) {
			memcpy(p[i].child, cur.child, cur.cl);
			p[i].child[cur.cl] = '\0';
			p[i].seq = cur.seq;
			memcpy(p[i].hash, cur.hash, TS_HASH_LEN);
		}
		prev = cur;
	}
	return 0;
}

static int
prov_read(ts_mpr *c, ts_report *r)
{
	size_t	n;
	int	rc;

	if ((rc = ts_mpr_array_max(c, &n, TS_PROV_MAX, PROV_MIN)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((r->prov = calloc(n, sizeof(*r->prov))) == NULL)
		return TS_ENOMEM;
	r->nprov = n;
	return prov_walk(c, n, r->prov);
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

/* Fields 2..8, read into the header: every read first, then the
 * identifier and chain rules, as the decoder has always done it. */
static int
fields_read(ts_mpr *c, ts_report_hdr *h)
{
	int	rc;

	if ((rc = ts_mpr_str_copy(c, h->origin, TS_CODE_MAX)) != 0 ||
	    (rc = ts_mpr_str_copy(c, h->period, TS_PERIOD_MAX)) != 0 ||
	    (rc = ts_mpr_uint(c, &h->seq)) != 0 ||
	    (rc = ts_mpr_bin_n(c, h->prev, TS_HASH_LEN)) != 0 ||
	    (rc = ts_mpr_str_copy(c, h->topo, TS_TOPO_MAX)) != 0 ||
	    (rc = ts_mpr_str_copy(c, h->catalogue, TS_CAT_MAX)) != 0 ||
	    (rc = ts_mpr_uint(c, &h->created_ms)) != 0)
		return rc;
	if (ts_valid_code(h->origin, strlen(h->origin)) != 0)
		return TS_EMALFORMED;
	if (ts_valid_period(h->period, strlen(h->period)) != 0)
		return TS_EMALFORMED;
	if (h->seq < 1 ||
	    (h->seq == 1) != (memcmp(h->prev, zero_hash, TS_HASH_LEN) == 0))
		return TS_EMALFORMED;
	return 0;
}

/*
 * Everything before the two lists, shared by ts_report_decode and
 * ts_report_check so both order their checks the same way: size,
 * header (array, fmt, tag, count), fields, completeness.
 *
 * Canonical form without re-encoding.  Every element of a body is read
 * by an mpread call that refuses a header longer than the smallest one
 * for its value, and the smallest header is exactly what msgpack-c's
 * packer writes (fixint/cc/cd/ce/cf, fixstr/d9/da/db, c4/c5/c6,
 * fixarray/dc/dd).  Strings with a NUL are refused, so strlen of a copy
 * is the wire length; completeness is refused above UINT32_MAX, so its
 * uint32_t storage is lossless; element counts are fixed (12, 6, 4, 3)
 * or exactly those read; value and provenance order is checked while
 * reading; ts_mpr_end refuses trailing bytes.  So an accepted body is
 * what report_pack writes for the decoded report, and the re-encode-
 * and-memcmp pass the decoder used to end with could never fail: it is
 * gone.  test_proto and the envelope fuzz target still assert
 * encode(decode(body)) == body.
 */
static int
body_read_hdr(ts_mpr *c, const uint8_t *body, size_t len, ts_report_hdr *h)
{
	int	rc;

	if (len > TS_ENV_MAX)
		return TS_ELIMIT;
	ts_mpr_init(c, body, len);
	if ((rc = header_read(c)) != 0 ||
	    (rc = fields_read(c, h)) != 0 ||
	    (rc = comp_read(c, h->completeness)) != 0)
		return rc;
	return 0;
}

static int
report_decode(const uint8_t *body, size_t len, ts_report *r)
{
	ts_report_hdr	h;
	ts_mpr		c;
	int		rc;

	memset(&h, 0, sizeof(h));
	if ((rc = body_read_hdr(&c, body, len, &h)) != 0)
		return rc;
	memcpy(r->origin, h.origin, sizeof(r->origin));
	memcpy(r->period, h.period, sizeof(r->period));
	r->seq = h.seq;
	memcpy(r->prev, h.prev, sizeof(r->prev));
	memcpy(r->topo, h.topo, sizeof(r->topo));
	memcpy(r->catalogue, h.catalogue, sizeof(r->catalogue));
	r->created_ms = h.created_ms;
	r->comp.expected = h.completeness[0];
	r->comp.reported = h.completeness[1];
	r->comp.on_time = h.completeness[2];
	r->comp.leaf_expected = h.completeness[3];
	r->comp.leaf_reported = h.completeness[4];
	r->comp.leaf_on_time = h.completeness[5];
	if ((rc = ts_values_read(&c, 1, &r->values, &r->nvalues)) != 0 ||
	    (rc = prov_read(&c, r)) != 0)
		return rc;
	return ts_mpr_end(&c);
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

static int
body_check(const uint8_t *body, size_t len, ts_report_hdr *h)
{
	ts_mpr	c;
	int	rc;

	/* The decoder's reads and checks in the decoder's order, with no
	 * array to fill: same code for every input, no allocation. */
	if ((rc = body_read_hdr(&c, body, len, h)) != 0 ||
	    (rc = ts_mpr_array_max(&c, &h->nvalues, TS_VALUES_MAX,
	    VALUE_MIN)) != 0 ||
	    (rc = values_walk(&c, h->nvalues, 1, NULL)) != 0 ||
	    (rc = ts_mpr_array_max(&c, &h->nprov, TS_PROV_MAX,
	    PROV_MIN)) != 0 ||
	    (rc = prov_walk(&c, h->nprov, NULL)) != 0)
		return rc;
	return ts_mpr_end(&c);
}

int
ts_report_check(const uint8_t *body, size_t len, ts_report_hdr *h)
{
	ts_report_hdr	local;
	int		rc;

	if (h == NULL)
		h = &local;
	memset(h, 0, sizeof(*h));
	if (body == NULL && len > 0)
		return TS_EINVAL;
	if ((rc = body_check(body, len, h)) != 0)
		memset(h, 0, sizeof(*h));
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
	case TS_ERANGE:
		return TS_ST_MALFORMED;
	case TS_ESIG:
		return TS_ST_SIG;
	case TS_EUNKNOWN:
	case TS_ENOTFOUND:
		return TS_ST_UNKNOWN;
	case TS_EVERSION:
		return TS_ST_VERSION;
	case TS_ELIMIT:
		return TS_ST_OVERSIZE;
	default:
		/* ENOMEM, ENOSPC, ESTORE, ESYS and anything unforeseen are
		 * local trouble, not the sender's fault: ask for a resend. */
		return TS_ST_RETRY;
	}
}
