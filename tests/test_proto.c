/*
 * Unit tests for the wire codec: golden vectors from an independent
 * encoder (tools/golden-proto.py: Python msgpack + hashlib + PyNaCl),
 * round trips, and hostile input (truncation, lying lengths, wrong
 * types, non-canonical forms, version and limit violations).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "tap.h"
#include "tiersync/mpread.h"
#include "tiersync/proto.h"

/* ---- golden vectors: output of tools/golden-proto.py ------------------ */

static const char G_PK[] =
    "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664";
static const char G_BODY_A[] =
    "9c01b27469657273796e632f7265706f72742f7631a53030303031a43230323502c420"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfaa766e"
    "2d323032352d3037ad6170632d323032312d32303330cf0000019aebcef47b96030201"
    "28231e9494a3312e31a00c0094a3312e31a57365783d4607ccc894a3322e33d9246574"
    "686e69633d486d6f6e673b617265613d686967686c616e643b6167653d30362d3135cd"
    "012cce0001117094a23239a0cf000000012a05f200cf00000001000000009293a53030"
    "30303403c4201111111111111111111111111111111111111111111111111111111111"
    "11111193a5303030303701c42022222222222222222222222222222222222222222222"
    "22222222222222222222";
static const char G_HASH_A[] =
    "e5569b4a7f3eebc612969ffac83c1838e21dc7649658dbed1cf1ea13505bd07e";
static const char G_SIG_A[] =
    "bc3bbf48c62bfdb6d45535a57423f7d9b5424a83966a06422b396aa84f57dfe48af0a1"
    "4f9b99b12d6dd78f33865cfe44018923dff9609ab16662a2ae073b9a0a";
static const char G_BODY_B[] =
    "9c01b27469657273796e632f7265706f72742f7631a23031a632303235513301c42000"
    "00000000000000000000000000000000000000000000000000000000000000aa766e2d"
    "323032352d3037a000960000000000009090";
static const char G_HASH_B[] =
    "02b3a83b20541d97d7bd78e4a0932a1dc580957462aecb510e98ccec26a8443c";
static const char G_ENV_B[] =
    "92c4589c01b27469657273796e632f7265706f72742f7631a23031a632303235513301"
    "c4200000000000000000000000000000000000000000000000000000000000000000aa"
    "766e2d323032352d3037a000960000000000009090c440ea0d9d63b8438357d5538a92"
    "731c23aaf058f3943b06a514a0d9f4ed9d3d6e898468740b1049fc26750aae1f646ba6"
    "090304a9f76734deb9e6b535afb2edf80b";
static const char G_HELLO[] = "940101a53030303031aa766e2d323032352d3037";
static const char G_WELCOME[] =
    "940102a33030319293a5303030303107c4203333333333333333333333333333333333"
    "33333333333333333333333333333393a53030303034cd012cc4204444444444444444"
    "444444444444444444444444444444444444444444444444";
static const char G_PUSH_HEAD[] = "9401032a92c49d";	/* + env_b + tail */
static const char G_PUSH_TAIL[] = "c403010203";
static const char G_ACK[] = "9401042a9300010d";
static const char G_ERR[] =
    "96010503b97369676e617475726520646f6573206e6f7420766572696679a530303030"
    "3107";
static const char G_PING[] = "930106cf0000019aebcef47b";
static const char G_PONG[] = "930107cf0000019aebcef47b";
static const char G_CTL_PUT[] =
    "940110a7323032352d30379294a3322e33a57365783d4d050994a3312e31a00c00";
static const char G_CTL_REPLY[] = "94011100a26f6b";

/* ---- helpers ------------------------------------------------------------ */

static uint8_t	sk[TS_SIGN_SK_LEN], pk[TS_SIGN_PK_LEN];

typedef struct bytes {
	uint8_t	*p;
	size_t	 len;
} bytes;

static bytes
unhex(const char *h)
{
	bytes	b;

	b.len = strlen(h) / 2;
	if ((b.p = malloc(b.len + 1)) == NULL ||
	    ts_from_hex(h, b.p, b.len) != 0) {
		fprintf(stderr, "bad hex in test\n");
		exit(2);
	}
	return b;
}

static bytes
cat2(const bytes *a, const bytes *b)
{
	bytes	r;

	r.len = a->len + b->len;
	if ((r.p = malloc(r.len + 1)) == NULL)
		exit(2);
	memcpy(r.p, a->p, a->len);
	memcpy(r.p + a->len, b->p, b->len);
	return r;
}

static bytes
cat3(const bytes *a, const bytes *b, const bytes *c)
{
	bytes	r;

	r.len = a->len + b->len + c->len;
	if ((r.p = malloc(r.len + 1)) == NULL)
		exit(2);
	memcpy(r.p, a->p, a->len);
	memcpy(r.p + a->len, b->p, b->len);
	memcpy(r.p + a->len + b->len, c->p, c->len);
	return r;
}

/* Replace [off, off + n) of src by rep[0 .. rlen). */
static bytes
splice(const bytes *src, size_t off, size_t n, const uint8_t *rep, size_t rlen)
{
	bytes	r;

	r.len = src->len - n + rlen;
	if ((r.p = malloc(r.len + 1)) == NULL)
		exit(2);
	memcpy(r.p, src->p, off);
	if (rlen > 0)
		memcpy(r.p + off, rep, rlen);
	memcpy(r.p + off + rlen, src->p + off + n, src->len - off - n);
	return r;
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int
buf_eq(const ts_buf *b, const bytes *want)
{
	return b->len == want->len && memcmp(b->buf, want->p, b->len) == 0;
}

/*
 * Pre-order element map of trusted msgpack (our golden vectors), so
 * tests can replace any single element.  Recursion is fine here: the
 * input is ours.
 */
#define MAXEL 4096
struct elmap {
	size_t	n;
	size_t	off[MAXEL];
	size_t	len[MAXEL];
	int	is_array[MAXEL];
	size_t	count[MAXEL];
};

static size_t
be(const uint8_t *p, size_t w)
{
	size_t	v = 0, i;

	for (i = 0; i < w; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t
walk(const uint8_t *p, size_t pos, struct elmap *m)
{
	size_t	i = m->n++, hdr = 1, body = 0, kids = 0, k;
	uint8_t	t = p[pos];

	m->off[i] = pos;
	m->is_array[i] = 0;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0)
		;
	else if (t >= 0xcc && t <= 0xcf)
		hdr = 1 + ((size_t)1 << (t - 0xcc));
	else if (t >= 0xd0 && t <= 0xd3)
		hdr = 1 + ((size_t)1 << (t - 0xd0));
	else if ((t & 0xe0) == 0xa0)
		body = t & 0x1f;
	else if (t == 0xd9 || t == 0xc4)
		hdr = 2, body = p[pos + 1];
	else if (t == 0xda || t == 0xc5)
		hdr = 3, body = be(p + pos + 1, 2);
	else if (t == 0xdb || t == 0xc6)
		hdr = 5, body = be(p + pos + 1, 4);
	else if ((t & 0xf0) == 0x90)
		kids = t & 0x0f, m->is_array[i] = 1;
	else if (t == 0xdc)
		hdr = 3, kids = be(p + pos + 1, 2), m->is_array[i] = 1;
	else if (t == 0xdd)
		hdr = 5, kids = be(p + pos + 1, 4), m->is_array[i] = 1;
	else {
		fprintf(stderr, "walk: unexpected tag %02x\n", t);
		exit(2);
	}
	m->count[i] = kids;
	pos += hdr + body;
	for (k = 0; k < kids; k++)
		pos = walk(p, pos, m);
	m->len[i] = pos - m->off[i];
	return pos;
}

static void
elmap(const bytes *b, struct elmap *m)
{
	m->n = 0;
	if (walk(b->p, 0, m) != b->len) {
		fprintf(stderr, "walk: length mismatch\n");
		exit(2);
	}
}

/* The fixed report of the golden vectors ("report A"), values and prov
 * deliberately out of order so ts_report_sort has work to do. */
static void
report_a(ts_report *r)
{
	static const ts_value v[4] = {
		{ "29", "", 5000000000ull, 4294967296ull },
		{ "1.1", "", 12, 0 },
		{ "2.3", "ethnic=Hmong;area=highland;age=06-15", 300, 70000 },
		{ "1.1", "sex=F", 7, 200 },
	};
	size_t	i;

	memset(r, 0, sizeof(*r));
	strcpy(r->origin, "00001");
	strcpy(r->period, "2025");
	r->seq = 2;
	for (i = 0; i < TS_HASH_LEN; i++)
		r->prev[i] = (uint8_t)(0xa0 + i);
	strcpy(r->topo, "vn-2025-07");
	strcpy(r->catalogue, "apc-2021-2030");
	r->created_ms = 1764892800123ull;
	r->comp = (ts_completeness){ 3, 2, 1, 40, 35, 30 };
	r->values = malloc(sizeof(v));
	r->prov = calloc(2, sizeof(*r->prov));
	if (r->values == NULL || r->prov == NULL)
		exit(2);
	memcpy(r->values, v, sizeof(v));
	r->nvalues = 4;
	strcpy(r->prov[0].child, "00007");
	r->prov[0].seq = 1;
	memset(r->prov[0].hash, 0x22, TS_HASH_LEN);
	strcpy(r->prov[1].child, "00004");
	r->prov[1].seq = 3;
	memset(r->prov[1].hash, 0x11, TS_HASH_LEN);
	r->nprov = 2;
}

static void
report_b(ts_report *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->origin, "01");
	strcpy(r->period, "2025Q3");
	r->seq = 1;
	strcpy(r->topo, "vn-2025-07");
}

static int
report_eq(const ts_report *a, const ts_report *b)
{
	return strcmp(a->origin, b->origin) == 0 &&
	    strcmp(a->period, b->period) == 0 && a->seq == b->seq &&
	    memcmp(a->prev, b->prev, TS_HASH_LEN) == 0 &&
	    strcmp(a->topo, b->topo) == 0 &&
	    strcmp(a->catalogue, b->catalogue) == 0 &&
	    a->created_ms == b->created_ms &&
	    memcmp(&a->comp, &b->comp, sizeof(a->comp)) == 0 &&
	    a->nvalues == b->nvalues && a->nprov == b->nprov &&
	    (a->nvalues == 0 || memcmp(a->values, b->values,
	    a->nvalues * sizeof(*a->values)) == 0) &&
	    (a->nprov == 0 || memcmp(a->prov, b->prov,
	    a->nprov * sizeof(*a->prov)) == 0);
}

/*
 * ts_report_check must give ts_report_decode's code for every input and,
 * on success, the same header.  The only code they cannot share is
 * TS_ENOMEM (only the decoder allocates), which no input here provokes.
 * Returns 1 if they agree; on disagreement says why on stdout.
 */
static int
hdr_matches(const ts_report_hdr *h, const ts_report *r)
{
	return strcmp(h->origin, r->origin) == 0 &&
	    strcmp(h->period, r->period) == 0 && h->seq == r->seq &&
	    memcmp(h->prev, r->prev, TS_HASH_LEN) == 0 &&
	    strcmp(h->topo, r->topo) == 0 &&
	    strcmp(h->catalogue, r->catalogue) == 0 &&
	    h->created_ms == r->created_ms &&
	    h->completeness[0] == r->comp.expected &&
	    h->completeness[1] == r->comp.reported &&
	    h->completeness[2] == r->comp.on_time &&
	    h->completeness[3] == r->comp.leaf_expected &&
	    h->completeness[4] == r->comp.leaf_reported &&
	    h->completeness[5] == r->comp.leaf_on_time &&
	    h->nvalues == r->nvalues && h->nprov == r->nprov;
}

static long	nagree, ndisagree;	/* over the whole run */

static int
check_agrees(const uint8_t *p, size_t len, int decode_rc, const ts_report *r)
{
	ts_report_hdr	h;
	int		rc;

	ndisagree++;		/* until proven otherwise */

	memset(&h, 0xa5, sizeof(h));	/* must be zeroed or filled */
	rc = ts_report_check(p, len, &h);
	if (rc != decode_rc) {
		printf("# check %d (%s), decode %d (%s), %zu bytes\n", rc,
		    ts_strerror(rc), decode_rc, ts_strerror(decode_rc), len);
		return 0;
	}
	if (rc != 0 && !is_zero(&h, sizeof(h))) {
		printf("# check failed with %d but left the header\n", rc);
		return 0;
	}
	if (rc == 0 && !hdr_matches(&h, r)) {
		printf("# check and decode accept, headers differ\n");
		return 0;
	}
	ndisagree--;
	nagree++;
	return 1;
}

/* Returned by the decode wrappers when check and decode disagree. */
#define DISAGREE	54321

/* ---- golden ------------------------------------------------------------- */

static void
test_golden_report(void)
{
	ts_report	r, d;
	ts_buf		out = { NULL, 0, 0 };
	ts_env_view	v;
	bytes		body_a = unhex(G_BODY_A), hash_a = unhex(G_HASH_A);
	bytes		sig_a = unhex(G_SIG_A), body_b = unhex(G_BODY_B);
	bytes		hash_b = unhex(G_HASH_B), env_b = unhex(G_ENV_B);
	bytes		gpk = unhex(G_PK);
	uint8_t		h[TS_HASH_LEN];

	CHECK(memcmp(pk, gpk.p, TS_SIGN_PK_LEN) == 0,
	    "seeded public key matches PyNaCl's");

	report_a(&r);
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL,
	    "unsorted report is refused by the encoder");
	CHECK_EQ_INT(out.len, 0, "refused encode leaves out untouched");
	CHECK_EQ_INT(ts_report_sort(&r), 0, "sort report A");
	CHECK_EQ_INT(ts_report_encode(&r, &out), 0, "encode report A");
	CHECK(buf_eq(&out, &body_a), "report A body bytes are golden");
	ts_body_hash(out.buf, out.len, h);
	CHECK(memcmp(h, hash_a.p, TS_HASH_LEN) == 0, "report A hash is golden");

	ts_buf_reset(&out);
	memset(h, 0, sizeof(h));
	CHECK_EQ_INT(ts_env_seal(&r, sk, &out, h), 0, "seal report A");
	CHECK(memcmp(h, hash_a.p, TS_HASH_LEN) == 0, "seal returns the hash");
	/* Framing: 92, bin16 of the body, the body, bin8 of 64, sig. */
	CHECK(out.len == 1 + 3 + body_a.len + 2 + 64, "envelope A length");
	CHECK(out.buf[0] == 0x92 && out.buf[1] == 0xc5 &&
	    out.buf[2] == body_a.len >> 8 && out.buf[3] == (body_a.len & 0xff),
	    "envelope A header");
	CHECK(memcmp(out.buf + 4, body_a.p, body_a.len) == 0,
	    "envelope A carries the body");
	CHECK(out.buf[4 + body_a.len] == 0xc4 &&
	    out.buf[5 + body_a.len] == 0x40, "envelope A signature header");
	CHECK(memcmp(out.buf + 6 + body_a.len, sig_a.p, 64) == 0,
	    "envelope A signature is PyNaCl's");
	CHECK_EQ_INT(ts_env_split(out.buf, out.len, &v), 0, "split envelope A");
	CHECK(v.body_len == body_a.len && v.body == out.buf + 4,
	    "split points into the input");
	CHECK_EQ_INT(ts_env_verify(&v, pk), 0, "envelope A verifies");

	CHECK_EQ_INT(ts_report_decode(body_a.p, body_a.len, &d), 0,
	    "decode golden body A");
	CHECK(report_eq(&r, &d), "decoded A equals the source report");
	{
		ts_report_hdr	hh;

		CHECK_EQ_INT(ts_report_check(body_a.p, body_a.len, &hh), 0,
		    "check golden body A");
		CHECK(hdr_matches(&hh, &r) && hh.nvalues == 4 &&
		    hh.nprov == 2 && strcmp(hh.origin, "00001") == 0 &&
		    hh.completeness[3] == 40 && hh.prev[31] == 0xbf,
		    "checked header of A equals the source report");
		CHECK_EQ_INT(ts_report_check(body_a.p, body_a.len, NULL), 0,
		    "check golden body A without a header");
	}
	ts_report_clear(&d);
	CHECK(is_zero(&d, sizeof(d)), "clear zeroes the report");
	ts_report_clear(&r);

	report_b(&r);
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_env_seal(&r, sk, &out, h), 0, "seal report B");
	CHECK(buf_eq(&out, &env_b), "envelope B bytes are golden");
	CHECK(memcmp(h, hash_b.p, TS_HASH_LEN) == 0, "report B hash is golden");
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_report_encode(&r, &out), 0, "encode report B");
	CHECK(buf_eq(&out, &body_b), "report B body bytes are golden");
	CHECK_EQ_INT(ts_report_decode(body_b.p, body_b.len, &d), 0,
	    "decode golden body B");
	CHECK(report_eq(&r, &d) && d.values == NULL && d.prov == NULL,
	    "decoded B equals the source, no arrays");
	{
		ts_report_hdr	hh;

		CHECK_EQ_INT(ts_report_check(body_b.p, body_b.len, &hh), 0,
		    "check golden body B");
		CHECK(hdr_matches(&hh, &r) && hh.nvalues == 0 &&
		    hh.nprov == 0 && hh.seq == 1 &&
		    is_zero(hh.prev, TS_HASH_LEN) &&
		    strcmp(hh.period, "2025Q3") == 0 && hh.catalogue[0] == '\0',
		    "checked header of B equals the source report");
	}
	ts_report_clear(&d);

	ts_buf_free(&out);
	free(body_a.p); free(hash_a.p); free(sig_a.p); free(body_b.p);
	free(hash_b.p); free(env_b.p); free(gpk.p);
}

/* Encode every message type and compare with the golden bytes. */
static void
test_golden_msgs(void)
{
	ts_buf		out = { NULL, 0, 0 };
	ts_held		held[2];
	ts_bytes	envs[2];
	ts_value	vals[2] = {
		{ "2.3", "sex=M", 5, 9 },
		{ "1.1", "", 12, 0 },
	};
	uint8_t		st[3] = { 0, 1, 13 };
	bytes		env_b = unhex(G_ENV_B), g, head, tail, push;

	memset(held, 0, sizeof(held));
	strcpy(held[0].origin, "00001");
	held[0].seq = 7;
	memset(held[0].hash, 0x33, TS_HASH_LEN);
	strcpy(held[1].origin, "00004");
	held[1].seq = 300;
	memset(held[1].hash, 0x44, TS_HASH_LEN);

#define GOLD(call, hex, what) do { \
	ts_buf_reset(&out); \
	g = unhex(hex); \
	CHECK_EQ_INT(call, 0, "encode %s", what); \
	CHECK(buf_eq(&out, &g), "%s bytes are golden", what); \
	free(g.p); } while (0)

	GOLD(ts_msg_hello(&out, "00001", "vn-2025-07"), G_HELLO, "HELLO");
	GOLD(ts_msg_welcome(&out, "001", held, 2), G_WELCOME, "WELCOME");
	GOLD(ts_msg_ack(&out, 42, st, 3), G_ACK, "ACK");
	GOLD(ts_msg_err(&out, TS_ST_SIG, "signature does not verify", "00001",
	    7), G_ERR, "ERR");
	GOLD(ts_msg_ping(&out, TS_MSG_PING, 1764892800123ull), G_PING, "PING");
	GOLD(ts_msg_ping(&out, TS_MSG_PONG, 1764892800123ull), G_PONG, "PONG");
	GOLD(ts_msg_ctl_put(&out, "2025-07", vals, 2), G_CTL_PUT, "CTL_PUT");
	GOLD(ts_msg_ctl_reply(&out, 0, "ok"), G_CTL_REPLY, "CTL_REPLY");
#undef GOLD

	head = unhex(G_PUSH_HEAD);
	tail = unhex(G_PUSH_TAIL);
	push = cat3(&head, &env_b, &tail);
	envs[0].p = env_b.p;
	envs[0].len = env_b.len;
	envs[1].p = (const uint8_t *)"\x01\x02\x03";
	envs[1].len = 3;
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_push(&out, 42, envs, 2), 0, "encode PUSH");
	CHECK(buf_eq(&out, &push), "PUSH bytes are golden");

	/* Encoders append: two messages back to back. */
	ts_buf_reset(&out);
	CHECK(ts_msg_ping(&out, TS_MSG_PING, 1) == 0 &&
	    ts_msg_ping(&out, TS_MSG_PONG, 2) == 0 && out.len == 8 &&
	    memcmp(out.buf, "\x93\x01\x06\x01\x93\x01\x07\x02", 8) == 0,
	    "encoders append");

	ts_buf_free(&out);
	free(env_b.p); free(head.p); free(tail.p); free(push.p);
}

/* All golden link messages, for the decode and hostile-input tests. */
#define NMSG 9
static bytes	gmsg[NMSG];
static const char *gname[NMSG] = {
	"HELLO", "WELCOME", "PUSH", "ACK", "ERR", "PING", "PONG",
	"CTL_PUT", "CTL_REPLY",
};

static void
load_msgs(void)
{
	bytes	env_b = unhex(G_ENV_B), head = unhex(G_PUSH_HEAD);
	bytes	tail = unhex(G_PUSH_TAIL);

	gmsg[0] = unhex(G_HELLO);
	gmsg[1] = unhex(G_WELCOME);
	gmsg[2] = cat3(&head, &env_b, &tail);
	gmsg[3] = unhex(G_ACK);
	gmsg[4] = unhex(G_ERR);
	gmsg[5] = unhex(G_PING);
	gmsg[6] = unhex(G_PONG);
	gmsg[7] = unhex(G_CTL_PUT);
	gmsg[8] = unhex(G_CTL_REPLY);
	free(env_b.p); free(head.p); free(tail.p);
}

static void
test_decode_msgs(void)
{
	ts_msg		m;
	bytes		env_b = unhex(G_ENV_B);
	uint8_t		h33[TS_HASH_LEN];

	memset(h33, 0x33, sizeof(h33));
	CHECK_EQ_INT(ts_msg_decode(gmsg[0].p, gmsg[0].len, &m), 0, "decode HELLO");
	CHECK(m.type == TS_MSG_HELLO && strcmp(m.unit, "00001") == 0 &&
	    strcmp(m.topo, "vn-2025-07") == 0, "HELLO fields");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[1].p, gmsg[1].len, &m), 0,
	    "decode WELCOME");
	CHECK(m.type == TS_MSG_WELCOME && strcmp(m.unit, "001") == 0 &&
	    m.nheld == 2 && strcmp(m.held[0].origin, "00001") == 0 &&
	    m.held[0].seq == 7 && memcmp(m.held[0].hash, h33, 32) == 0 &&
	    strcmp(m.held[1].origin, "00004") == 0 && m.held[1].seq == 300,
	    "WELCOME fields");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[2].p, gmsg[2].len, &m), 0, "decode PUSH");
	CHECK(m.type == TS_MSG_PUSH && m.batch == 42 && m.nenvs == 2 &&
	    m.envs[0].len == env_b.len &&
	    memcmp(m.envs[0].p, env_b.p, env_b.len) == 0 &&
	    m.envs[0].p == gmsg[2].p + 7 &&
	    m.envs[1].len == 3 && memcmp(m.envs[1].p, "\1\2\3", 3) == 0,
	    "PUSH fields borrow the input");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[3].p, gmsg[3].len, &m), 0, "decode ACK");
	CHECK(m.type == TS_MSG_ACK && m.batch == 42 && m.nstatus == 3 &&
	    m.status[0] == 0 && m.status[1] == 1 && m.status[2] == 13,
	    "ACK fields");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[4].p, gmsg[4].len, &m), 0, "decode ERR");
	CHECK(m.type == TS_MSG_ERR && m.code == TS_ST_SIG &&
	    strcmp(m.reason, "signature does not verify") == 0 &&
	    strcmp(m.origin, "00001") == 0 && m.seq == 7, "ERR fields");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[5].p, gmsg[5].len, &m), 0, "decode PING");
	CHECK(m.type == TS_MSG_PING && m.time_ms == 1764892800123ull,
	    "PING fields");
	ts_msg_clear(&m);
	CHECK_EQ_INT(ts_msg_decode(gmsg[6].p, gmsg[6].len, &m), 0, "decode PONG");
	CHECK(m.type == TS_MSG_PONG && m.time_ms == 1764892800123ull,
	    "PONG fields");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[7].p, gmsg[7].len, &m), 0,
	    "decode CTL_PUT");
	CHECK(m.type == TS_MSG_CTL_PUT && strcmp(m.period, "2025-07") == 0 &&
	    m.nvalues == 2 && strcmp(m.values[0].ind, "2.3") == 0 &&
	    strcmp(m.values[0].dis, "sex=M") == 0 && m.values[0].num == 5 &&
	    m.values[0].den == 9 && strcmp(m.values[1].ind, "1.1") == 0 &&
	    m.values[1].dis[0] == '\0' && m.values[1].num == 12,
	    "CTL_PUT fields (order kept)");
	ts_msg_clear(&m);

	CHECK_EQ_INT(ts_msg_decode(gmsg[8].p, gmsg[8].len, &m), 0,
	    "decode CTL_REPLY");
	CHECK(m.type == TS_MSG_CTL_REPLY && m.code == 0 &&
	    strcmp(m.reason, "ok") == 0, "CTL_REPLY fields");
	ts_msg_clear(&m);
	CHECK(is_zero(&m, sizeof(m)), "ts_msg_clear zeroes");
	free(env_b.p);
}

/* ---- round trips ------------------------------------------------------- */

static uint64_t	rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	/* splitmix64: deterministic, so failures reproduce. */
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Numbers across all encoding widths. */
static uint64_t
rnum(void)
{
	switch (rng() % 6) {
	case 0: return rng() % 128;
	case 1: return rng() % 256;
	case 2: return rng() % 65536;
	case 3: return rng() % 4294967296ull;
	case 4: return rng() % 8 ? rng() & TS_VALUE_MAX : TS_VALUE_MAX;
	default: return rng() & TS_VALUE_MAX;
	}
}

static void
big_report(ts_report *r, size_t nv, size_t np)
{
	size_t	i;

	report_b(r);
	r->seq = rnum() | 2;	/* >= 2: prev is not zero */
	memset(r->prev, 0x5a, TS_HASH_LEN);
	r->created_ms = rnum();
	r->comp.leaf_expected = UINT32_MAX;
	if (nv > 0 && (r->values = calloc(nv, sizeof(*r->values))) == NULL)
		exit(2);
	if (np > 0 && (r->prov = calloc(np, sizeof(*r->prov))) == NULL)
		exit(2);
	for (i = 0; i < nv; i++) {
		/* Unique by construction: i is in the indicator id. */
		snprintf(r->values[i].ind, sizeof(r->values[i].ind), "%u.%u",
		    (unsigned)i, (unsigned)(rng() % 100));
		if (rng() % 3)
			snprintf(r->values[i].dis, sizeof(r->values[i].dis),
			    "age=%u;sex=%c%.*s", (unsigned)(rng() % 100),
			    (int)(rng() % 2 ? 'F' : 'M'), (int)(rng() % 20),
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		r->values[i].num = rnum();
		r->values[i].den = rnum();
	}
	for (i = 0; i < np; i++) {
		snprintf(r->prov[i].child, sizeof(r->prov[i].child), "%u",
		    (unsigned)i);
		r->prov[i].seq = 1 + rnum() % 1000000;
		randombytes_buf(r->prov[i].hash, TS_HASH_LEN);
	}
	r->nvalues = nv;
	r->nprov = np;
}

static void
roundtrip(size_t nv, size_t np)
{
	ts_report	r, d;
	ts_buf		out = { NULL, 0, 0 }, again = { NULL, 0, 0 };
	ts_env_view	v;
	uint8_t		h1[TS_HASH_LEN], h2[TS_HASH_LEN];
	int		rc;

	big_report(&r, nv, np);
	CHECK_EQ_INT(ts_report_sort(&r), 0, "sort %zu values, %zu prov", nv, np);
	CHECK_EQ_INT(ts_env_seal(&r, sk, &out, h1), 0,
	    "seal %zu values, %zu prov", nv, np);
	rc = ts_env_split(out.buf, out.len, &v);
	CHECK(rc == 0 && ts_env_verify(&v, pk) == 0, "split + verify");
	ts_body_hash(v.body, v.body_len, h2);
	CHECK(memcmp(h1, h2, TS_HASH_LEN) == 0, "seal's hash is the body hash");
	CHECK_EQ_INT(ts_report_decode(v.body, v.body_len, &d), 0,
	    "decode %zu values, %zu prov", nv, np);
	CHECK(check_agrees(v.body, v.body_len, 0, &d),
	    "check %zu values, %zu prov: same header", nv, np);
	CHECK(report_eq(&r, &d), "round trip preserves every field");
	CHECK(ts_report_encode(&d, &again) == 0 && again.len == v.body_len &&
	    memcmp(again.buf, v.body, v.body_len) == 0, "re-encode identical");
	ts_report_clear(&r);
	ts_report_clear(&d);
	ts_buf_free(&out);
	ts_buf_free(&again);
}

static void
test_roundtrip(void)
{
	ts_msg		m;
	ts_buf		out = { NULL, 0, 0 };
	ts_bytes	*envs;
	ts_held		*held;
	ts_value	*vals;
	uint8_t		*st;
	size_t		 i, n;
	int		 ok;

	roundtrip(0, 0);
	roundtrip(1, 0);
	roundtrip(0, 1);
	roundtrip(15, 16);
	roundtrip(2000, 700);
	roundtrip(TS_VALUES_MAX, 0);
	roundtrip(0, TS_PROV_MAX);

	/* Big link messages, with array16/array32 headers. */
	n = TS_BATCH_MAX;
	envs = calloc(n, sizeof(*envs));
	st = calloc(n, 1);
	if (envs == NULL || st == NULL)
		exit(2);
	for (i = 0; i < n; i++) {
		envs[i].p = (const uint8_t *)"abcdefgh";
		envs[i].len = i % 9;
		st[i] = (uint8_t)(i % (TS_ST_MAX_ + 1));
	}
	CHECK_EQ_INT(ts_msg_push(&out, UINT64_MAX, envs, n), 0,
	    "encode PUSH of TS_BATCH_MAX");
	CHECK_EQ_INT(ts_msg_decode(out.buf, out.len, &m), 0, "decode it");
	ok = m.nenvs == n && m.batch == UINT64_MAX;
	for (i = 0; ok && i < n; i++)
		ok = m.envs[i].len == i % 9 &&
		    memcmp(m.envs[i].p, "abcdefgh", i % 9) == 0;
	CHECK(ok, "PUSH round trip");
	ts_msg_clear(&m);
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_ack(&out, 0, st, n), 0, "encode ACK of TS_BATCH_MAX");
	CHECK(ts_msg_decode(out.buf, out.len, &m) == 0 && m.nstatus == n &&
	    memcmp(m.status, st, n) == 0, "ACK round trip");
	ts_msg_clear(&m);
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_push(&out, 1, NULL, 0), 0, "empty PUSH");
	CHECK(ts_msg_decode(out.buf, out.len, &m) == 0 && m.nenvs == 0 &&
	    m.envs == NULL, "empty PUSH round trip");
	ts_msg_clear(&m);
	free(envs);
	free(st);

	n = 70000;	/* > 65535: array32 */
	if ((held = calloc(n, sizeof(*held))) == NULL)
		exit(2);
	for (i = 0; i < n; i++) {
		snprintf(held[i].origin, sizeof(held[i].origin), "%u",
		    (unsigned)i);
		held[i].seq = rnum();
		memset(held[i].hash, (int)(i & 0xff), TS_HASH_LEN);
	}
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_welcome(&out, "01", held, n), 0,
	    "encode WELCOME of 70000");
	CHECK(ts_msg_decode(out.buf, out.len, &m) == 0 && m.nheld == n &&
	    memcmp(m.held, held, n * sizeof(*held)) == 0,
	    "WELCOME round trip");
	ts_msg_clear(&m);
	free(held);

	n = 1000;
	if ((vals = calloc(n, sizeof(*vals))) == NULL)
		exit(2);
	for (i = 0; i < n; i++) {
		snprintf(vals[i].ind, sizeof(vals[i].ind), "i%u", (unsigned)(n - i));
		vals[i].num = rnum();
		vals[i].den = rnum();
	}
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_ctl_put(&out, "2025Q4", vals, n), 0,
	    "encode CTL_PUT of 1000");
	CHECK(ts_msg_decode(out.buf, out.len, &m) == 0 && m.nvalues == n &&
	    memcmp(m.values, vals, n * sizeof(*vals)) == 0 &&
	    strcmp(m.period, "2025Q4") == 0, "CTL_PUT round trip");
	ts_msg_clear(&m);
	free(vals);

	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_err(&out, TS_ST_PROTOCOL, NULL, NULL, 0), 0,
	    "ERR without reason or origin");
	CHECK(ts_msg_decode(out.buf, out.len, &m) == 0 &&
	    m.code == TS_ST_PROTOCOL && m.reason[0] == '\0' &&
	    m.origin[0] == '\0' && m.seq == 0, "ERR round trip");
	ts_msg_clear(&m);
	ts_buf_free(&out);
}

/* ---- hostile input --------------------------------------------------------- */

enum target { T_BODY, T_ENV, T_MSG };

/* Decode b as the target; on failure also check nothing is left. */
static int
decode_as(enum target t, const uint8_t *p, size_t len, int *clean)
{
	ts_report	r;
	ts_env_view	v;
	ts_msg		m;
	int		rc;

	*clean = 1;
	switch (t) {
	case T_BODY:
		rc = ts_report_decode(p, len, &r);
		if (rc != 0)
			*clean = is_zero(&r, sizeof(r));
		if (!check_agrees(p, len, rc, &r))
			rc = DISAGREE;
		ts_report_clear(&r);
		return rc;
	case T_ENV:
		rc = ts_env_split(p, len, &v);
		if (rc != 0)
			*clean = is_zero(&v, sizeof(v));
		return rc;
	default:
		rc = ts_msg_decode(p, len, &m);
		if (rc != 0)
			*clean = is_zero(&m, sizeof(m));
		ts_msg_clear(&m);
		return rc;
	}
}

/* Every proper prefix must fail, and cleanly.  Each prefix is copied to
 * an exactly-sized heap block so ASan catches any read past its end. */
static void
truncations(enum target t, const bytes *b, const char *what)
{
	uint8_t	*p;
	size_t	 n;
	int	 allfail = 1, allclean = 1, clean;

	for (n = 0; n < b->len; n++) {
		if ((p = malloc(n ? n : 1)) == NULL)
			exit(2);
		memcpy(p, b->p, n);
		if (decode_as(t, p, n, &clean) == 0)
			allfail = 0;
		if (!clean)
			allclean = 0;
		free(p);
	}
	CHECK(allfail, "%s: all %zu truncations fail", what, b->len);
	CHECK(allclean, "%s: truncation failures leave nothing", what);
}

static void
trailing(enum target t, const bytes *b, const char *what)
{
	bytes	x;
	uint8_t	z = 0;
	int	clean;

	x = splice(b, b->len, 0, &z, 1);
	CHECK_EQ_INT(decode_as(t, x.p, x.len, &clean), TS_EMALFORMED,
	    "%s: trailing byte refused", what);
	CHECK(clean, "%s: trailing byte leaves nothing", what);
	free(x.p);
}

/* Replace each element (except the root) by nil, then by -1: no field of
 * any schema accepts either. */
static void
wrong_types(enum target t, const bytes *b, const char *what)
{
	static struct elmap	m;
	static const uint8_t	subst[2] = { 0xc0, 0xff };
	bytes			x;
	size_t			i, k;
	int			allfail = 1, clean, allclean = 1;

	elmap(b, &m);
	for (k = 0; k < 2; k++)
		for (i = 1; i < m.n; i++) {
			x = splice(b, m.off[i], m.len[i], &subst[k], 1);
			if (decode_as(t, x.p, x.len, &clean) == 0) {
				allfail = 0;
				printf("# %s: element %zu as %02x accepted\n",
				    what, i, subst[k]);
			}
			if (!clean)
				allclean = 0;
			free(x.p);
		}
	CHECK(allfail, "%s: nil or negative in each of %zu fields refused",
	    what, m.n - 1);
	CHECK(allclean, "%s: wrong-type failures leave nothing", what);
}

/* Flip random bytes: no crash, no leak, clean failures. */
static void
mutations(enum target t, const bytes *b, const char *what)
{
	bytes	x;
	size_t	i, j, nflip;
	int	clean, allclean = 1;

	x.len = b->len;
	if ((x.p = malloc(x.len)) == NULL)
		exit(2);
	for (i = 0; i < 3000; i++) {
		memcpy(x.p, b->p, b->len);
		nflip = 1 + rng() % 3;
		for (j = 0; j < nflip; j++)
			x.p[rng() % x.len] = (uint8_t)rng();
		if (decode_as(t, x.p, x.len, &clean) != 0 && !clean)
			allclean = 0;
	}
	CHECK(allclean, "%s: 3000 random mutations handled", what);
	free(x.p);
}

static void
test_hostile_generic(void)
{
	bytes	body_a = unhex(G_BODY_A), body_b = unhex(G_BODY_B);
	bytes	env_b = unhex(G_ENV_B), env_a;
	ts_buf	out = { NULL, 0, 0 };
	ts_report r;
	size_t	i;

	report_a(&r);
	if (ts_report_sort(&r) != 0 || ts_env_seal(&r, sk, &out, NULL) != 0)
		exit(2);
	ts_report_clear(&r);
	env_a.p = out.buf;
	env_a.len = out.len;

	truncations(T_BODY, &body_a, "body A");
	truncations(T_BODY, &body_b, "body B");
	truncations(T_ENV, &env_a, "envelope A");
	truncations(T_ENV, &env_b, "envelope B");
	trailing(T_BODY, &body_a, "body A");
	trailing(T_ENV, &env_a, "envelope A");
	wrong_types(T_BODY, &body_a, "body A");
	wrong_types(T_BODY, &body_b, "body B");
	wrong_types(T_ENV, &env_b, "envelope B");
	mutations(T_BODY, &body_a, "body A");
	mutations(T_ENV, &env_a, "envelope A");
	CHECK(ndisagree == 0, "ts_report_check agrees with ts_report_decode "
	    "on every hostile body so far (%ld)", nagree);
	for (i = 0; i < NMSG; i++) {
		truncations(T_MSG, &gmsg[i], gname[i]);
		trailing(T_MSG, &gmsg[i], gname[i]);
		wrong_types(T_MSG, &gmsg[i], gname[i]);
		mutations(T_MSG, &gmsg[i], gname[i]);
	}
	free(body_a.p); free(body_b.p); free(env_b.p);
	ts_buf_free(&out);
}

static int
dec_body(const uint8_t *p, size_t len)
{
	ts_report	r;
	int		rc;

	rc = ts_report_decode(p, len, &r);
	if (!check_agrees(p, len, rc, &r))
		rc = DISAGREE;
	ts_report_clear(&r);
	return rc;
}

static int
dec_msg(const uint8_t *p, size_t len)
{
	ts_msg	m;
	int	rc;

	rc = ts_msg_decode(p, len, &m);
	ts_msg_clear(&m);
	return rc;
}

static int
dec_env(const uint8_t *p, size_t len)
{
	ts_env_view	v;

	return ts_env_split(p, len, &v);
}

#define DEC3(p, n, want, what) do { \
	CHECK_EQ_INT(dec_body(p, n), want, "body: %s", what); \
	CHECK_EQ_INT(dec_env(p, n), want, "envelope: %s", what); \
	CHECK_EQ_INT(dec_msg(p, n), want, "message: %s", what); } while (0)

/* Lying headers: huge declared counts and lengths. */
static void
test_lies(void)
{
	static const uint8_t	arr32max[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t	arr32[] = { 0xdd, 0xff, 0x00, 0x00, 0x00 };
	static const uint8_t	str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
	static const uint8_t	bin32[] = { 0xc6, 0xff, 0xff, 0xff, 0xff, 0 };
	static const uint8_t	hello_str32[] = { 0x94, 0x01, 0x01, 0xdb,
	    0xff, 0xff, 0xff, 0xff, 'a', 'b' };
	static const uint8_t	env_bin32[] = { 0x92, 0xc6, 0xff, 0xff, 0xff,
	    0xff, 0x00 };
	static const uint8_t	ack_lie[] = { 0x94, 0x01, 0x04, 0x01, 0xdc,
	    0x0f, 0xff, 0x00 };
	static const uint8_t	ack_toomany[] = { 0x94, 0x01, 0x04, 0x01, 0xdd,
	    0xff, 0xff, 0xff, 0xff };
	static const uint8_t	push_lie[] = { 0x94, 0x01, 0x03, 0x01, 0x92,
	    0xc6, 0xff, 0xff, 0xff, 0xff, 0xc4, 0x00 };
	static const uint8_t	welcome_lie[] = { 0x94, 0x01, 0x02, 0xa1, '1',
	    0xdd, 0x00, 0x03, 0x0d, 0x41 };
	uint8_t			nest[110];
	bytes			b = unhex(G_BODY_B), x;
	uint8_t			rep[5];
	size_t			i;

	DEC3(arr32max, sizeof(arr32max), TS_EMALFORMED, "dd ff ff ff ff");
	DEC3(arr32, sizeof(arr32), TS_EMALFORMED, "dd ff 00 00 00");
	DEC3(str32, sizeof(str32), TS_EMALFORMED, "str32 of 4 GB");
	DEC3(bin32, sizeof(bin32), TS_EMALFORMED, "bin32 of 4 GB");
	DEC3((const uint8_t *)"", 0, TS_EMALFORMED, "empty input");
	CHECK_EQ_INT(dec_msg(hello_str32, sizeof(hello_str32)), TS_EMALFORMED,
	    "HELLO unit as str32 of 4 GB");
	CHECK_EQ_INT(dec_env(env_bin32, sizeof(env_bin32)), TS_EMALFORMED,
	    "envelope body as bin32 of 4 GB");
	CHECK_EQ_INT(dec_msg(ack_lie, sizeof(ack_lie)), TS_EMALFORMED,
	    "ACK claiming 4095 statuses in 1 byte");
	CHECK_EQ_INT(dec_msg(ack_toomany, sizeof(ack_toomany)), TS_ELIMIT,
	    "ACK claiming 4G statuses");
	CHECK_EQ_INT(dec_msg(push_lie, sizeof(push_lie)), TS_EMALFORMED,
	    "PUSH envelope as bin32 of 4 GB");
	CHECK_EQ_INT(dec_msg(welcome_lie, sizeof(welcome_lie)), TS_ELIMIT,
	    "WELCOME claiming 200000+ origins");

	/* 100 levels of nested arrays, alone and inside a message. */
	memset(nest, 0x91, 100);
	nest[100] = 0x00;
	DEC3(nest, 101, TS_EMALFORMED, "100 nested arrays");
	nest[0] = 0x94; nest[1] = 0x01; nest[2] = 0x01;
	CHECK_EQ_INT(dec_msg(nest, 101), TS_EMALFORMED,
	    "HELLO with 98 nested arrays as unit");
	nest[0] = 0x9c; nest[1] = 0x01;
	CHECK_EQ_INT(dec_body(nest, 101), TS_EMALFORMED,
	    "body with nested arrays as domain tag");

	/* Values count: body B ends "90 90" (values, prov). */
	rep[0] = 0xdd; rep[1] = 0x00; rep[2] = 0x01; rep[3] = 0x00;
	rep[4] = 0x01;
	x = splice(&b, b.len - 2, 1, rep, 5);
	CHECK_EQ_INT(dec_body(x.p, x.len), TS_ELIMIT,
	    "TS_VALUES_MAX + 1 values declared");
	free(x.p);
	x = splice(&b, b.len - 2, 1, (const uint8_t *)"\xdc\xff\xff", 3);
	CHECK_EQ_INT(dec_body(x.p, x.len), TS_EMALFORMED,
	    "65535 values declared, 1 byte present");
	free(x.p);
	x = splice(&b, b.len - 1, 1, (const uint8_t *)"\xdc\xff\xff", 3);
	CHECK_EQ_INT(dec_body(x.p, x.len), TS_EMALFORMED,
	    "65535 prov declared, none present");
	free(x.p);
	x = splice(&b, b.len - 1, 1, (const uint8_t *)"\xdd\0\0\xff\xff", 5);
	CHECK_EQ_INT(dec_body(x.p, x.len), TS_ENONCANON,
	    "65535 prov declared as array32");
	free(x.p);
	x = splice(&b, b.len - 1, 1, rep, 5);
	CHECK_EQ_INT(dec_body(x.p, x.len), TS_ELIMIT,
	    "TS_PROV_MAX + 1 prov declared");
	free(x.p);

	/* Oversize inputs are refused before parsing. */
	if ((x.p = calloc(1, TS_MSG_MAX + 1)) == NULL)
		exit(2);
	CHECK_EQ_INT(dec_env(x.p, TS_ENV_MAX + 1), TS_ELIMIT,
	    "envelope over TS_ENV_MAX");
	CHECK_EQ_INT(dec_body(x.p, TS_ENV_MAX + 1), TS_ELIMIT,
	    "body over TS_ENV_MAX");
	CHECK_EQ_INT(dec_msg(x.p, TS_MSG_MAX + 1), TS_ELIMIT,
	    "message over TS_MSG_MAX");
	/* A PUSH carrying one envelope of TS_ENV_MAX + 1 bytes. */
	i = TS_ENV_MAX + 1;
	memcpy(x.p, "\x94\x01\x03\x01\x91\xc6", 6);
	x.p[6] = (uint8_t)(i >> 24); x.p[7] = (uint8_t)(i >> 16);
	x.p[8] = (uint8_t)(i >> 8); x.p[9] = (uint8_t)i;
	CHECK_EQ_INT(dec_msg(x.p, 10 + i), TS_ELIMIT,
	    "PUSH with an envelope over TS_ENV_MAX");
	free(x.p);
	free(b.p);
}

/* Splice element i of the golden bytes with rep. */
static int
with_elem(enum target t, const char *hex, size_t el, const void *rep,
    size_t rlen)
{
	static struct elmap	m;
	bytes			b = unhex(hex), x;
	int			rc, clean;

	elmap(&b, &m);
	x = splice(&b, m.off[el], m.len[el], rep, rlen);
	rc = decode_as(t, x.p, x.len, &clean);
	if (rc != 0 && !clean)
		rc = 12345;
	free(x.p);
	free(b.p);
	return rc;
}

/* Body pre-order element numbers (report A). */
enum {
	E_ROOT, E_FMT, E_DOMAIN, E_ORIGIN, E_PERIOD, E_SEQ, E_PREV, E_TOPO,
	E_CAT, E_CREATED, E_COMP, E_COMP0, E_VALUES = E_COMP0 + 6, E_V0,
	E_V0_IND, E_V0_DIS, E_V0_NUM, E_V0_DEN, E_V1,
};

static void
test_noncanon(void)
{
	static struct elmap	m;
	bytes			a = unhex(G_BODY_A), x, v0, v1;
	uint8_t			tmp[300];
	size_t			prov, p0, p1;

	elmap(&a, &m);
	CHECK(m.is_array[E_VALUES] && m.count[E_VALUES] == 4 &&
	    m.is_array[E_V0] && m.is_array[E_V1], "element map of body A");

	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_SEQ,
	    "\xcf\0\0\0\0\0\0\0\x05", 9), TS_ENONCANON, "seq 5 as uint64");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_SEQ, "\xcc\x05", 2),
	    TS_ENONCANON, "seq 5 as uint8");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_SEQ, "\xd0\x05", 2),
	    TS_EMALFORMED, "seq 5 as int8");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_SEQ, "\xd0\xfb", 2),
	    TS_EMALFORMED, "seq -5 as int8");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_SEQ, "\xcb\x40\x14\0\0\0\0\0\0",
	    9), TS_EMALFORMED, "seq as float64");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_NUM, "\xcd\x00\x0c", 3),
	    TS_ENONCANON, "num 12 as uint16");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_ORIGIN,
	    "\xd9\x05" "00001", 7), TS_ENONCANON, "origin as str8");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_DIS, "\xd9\x00", 2),
	    TS_ENONCANON, "empty dis as str8");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_DIS, "\xc4\x00", 2),
	    TS_EMALFORMED, "dis as bin");
	tmp[0] = 0xc5; tmp[1] = 0; tmp[2] = 32;
	memset(tmp + 3, 0xa5, 32);
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_PREV, tmp, 35),
	    TS_ENONCANON, "prev as bin16");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_PREV, tmp + 2, 33),
	    TS_EMALFORMED, "prev as str");
	tmp[0] = 0xc4; tmp[1] = 31;
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_PREV, tmp, 33),
	    TS_EMALFORMED, "prev of 31 bytes");
	memcpy(tmp, "\xdc\x00\x06\x03\x02\x01\x28\x23\x1e", 9);
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_COMP, tmp, 9),
	    TS_ENONCANON, "completeness as array16");
	memcpy(tmp, "\x96\x03\x02\x01\x28\x23\xce\x00\x01\x00\x00", 11);
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_COMP, tmp, 11), 0,
	    "completeness with a uint32 value is fine");
	memcpy(tmp, "\x96\x03\x02\x01\x28\x23\xcf\x00\x00\x00\x01\x00\x00\x00\x00",
	    15);
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_COMP, tmp, 15),
	    TS_EMALFORMED, "completeness over UINT32_MAX");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_COMP, "\x95\0\0\0\0\0", 6),
	    TS_EMALFORMED, "completeness of 5");
	CHECK_EQ_INT(with_elem(T_MSG, G_PING, 3, "\xcf\0\0\0\0\0\0\0\x05", 9),
	    TS_ENONCANON, "PING time 5 as uint64");
	CHECK_EQ_INT(with_elem(T_MSG, G_ACK, 3, "\xcc\x2a", 2),
	    TS_ENONCANON, "ACK batch as uint8");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 2, "\xd0\x01", 2),
	    TS_EMALFORMED, "HELLO type as int8");
	CHECK_EQ_INT(with_elem(T_ENV, G_ENV_B, 2, "\xd9\x40" "0123456789"
	    "0123456789012345678901234567890123456789012345678901234", 66),
	    TS_EMALFORMED, "signature as str");
	memset(tmp, 0, sizeof(tmp));
	tmp[0] = 0xc4; tmp[1] = 63;
	CHECK_EQ_INT(with_elem(T_ENV, G_ENV_B, 2, tmp, 65),
	    TS_EMALFORMED, "signature of 63 bytes");
	tmp[0] = 0xc5; tmp[1] = 0; tmp[2] = 64;
	CHECK_EQ_INT(with_elem(T_ENV, G_ENV_B, 2, tmp, 67),
	    TS_ENONCANON, "signature as bin16");

	/* Unsorted and duplicate values and provenance. */
	v0.p = a.p + m.off[E_V0]; v0.len = m.len[E_V0];
	v1.p = a.p + m.off[E_V1]; v1.len = m.len[E_V1];
	x = cat2(&v1, &v0);
	{
		bytes y = splice(&a, m.off[E_V0], v0.len + v1.len, x.p, x.len);
		CHECK_EQ_INT(dec_body(y.p, y.len), TS_ENONCANON,
		    "values out of order");
		free(y.p);
		y = splice(&a, m.off[E_V1], v1.len, v0.p, v0.len);
		CHECK_EQ_INT(dec_body(y.p, y.len), TS_ENONCANON,
		    "duplicate (ind, dis)");
		free(y.p);
	}
	free(x.p);
	prov = m.n - 9;		/* [[c, s, h], [c, s, h]]: 1 + 2 * 4 */
	p0 = prov + 1;
	p1 = prov + 5;
	CHECK(m.is_array[prov] && m.count[prov] == 2 && m.is_array[p0] &&
	    m.is_array[p1], "provenance located");
	v0.p = a.p + m.off[p0]; v0.len = m.len[p0];
	v1.p = a.p + m.off[p1]; v1.len = m.len[p1];
	x = cat2(&v1, &v0);
	{
		bytes y = splice(&a, m.off[p0], v0.len + v1.len, x.p, x.len);
		CHECK_EQ_INT(dec_body(y.p, y.len), TS_ENONCANON,
		    "provenance out of order");
		free(y.p);
		y = splice(&a, m.off[p1], v1.len, v0.p, v0.len);
		CHECK_EQ_INT(dec_body(y.p, y.len), TS_ENONCANON,
		    "duplicate provenance child");
		free(y.p);
	}
	free(x.p);
	free(a.p);
}

static void
test_bad_fields(void)
{
	uint8_t	tmp[80];

	/* Strings that fail validation. */
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_PERIOD, "\xa6" "2025Q5", 7),
	    TS_EMALFORMED, "period 2025Q5");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_PERIOD, "\xa0", 1),
	    TS_EMALFORMED, "empty period");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_PERIOD,
	    "\xab" "2025-07-01x", 12), TS_ELIMIT, "period over TS_PERIOD_MAX");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_ORIGIN, "\xa2" "0!", 3),
	    TS_EMALFORMED, "origin with a bad character");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_ORIGIN, "\xa2" "0\0", 3),
	    TS_EMALFORMED, "origin with a NUL");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_ORIGIN, "\xa0", 1),
	    TS_EMALFORMED, "empty origin");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_ORIGIN,
	    "\xb1" "01234567890123456", 18), TS_ELIMIT, "17-byte origin");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_TOPO, "\xa3" "v\0" "1", 4),
	    TS_EMALFORMED, "topo with a NUL");
	memset(tmp, 'c', sizeof(tmp));
	tmp[0] = 0xd9; tmp[1] = 65;
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_CAT, tmp, 2 + 65),
	    TS_ELIMIT, "catalogue over TS_CAT_MAX");
	tmp[1] = 64;
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_CAT, tmp, 2 + 64), 0,
	    "catalogue of TS_CAT_MAX is fine");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_IND, "\xa3" "1 1", 4),
	    TS_EMALFORMED, "indicator with a space");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_IND, "\xa0", 1),
	    TS_EMALFORMED, "empty indicator");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_DIS, "\xa3" "a,b", 4),
	    TS_EMALFORMED, "dis with a comma");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_DIS, "\xa3" "a\tb", 4),
	    TS_EMALFORMED, "dis with a tab");

	/* The bound of every numerator and denominator: 2^53 - 1. */
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_NUM,
	    "\xcf\x00\x1f\xff\xff\xff\xff\xff\xff", 9), 0,
	    "numerator 2^53 - 1 is fine");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_NUM,
	    "\xcf\x00\x20\x00\x00\x00\x00\x00\x00", 9), TS_ERANGE,
	    "numerator 2^53: TS_ERANGE");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_V0_DEN,
	    "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9), TS_ERANGE,
	    "denominator 2^64 - 1: TS_ERANGE");
	CHECK_EQ_INT(ts_status_from_err(TS_ERANGE), TS_ST_MALFORMED,
	    "a value over the bound is refused as malformed, not retried");
	{
		ts_value big = { .ind = "9", .dis = "", .num = TS_VALUE_MAX + 1,
		    .den = 1 };
		ts_buf b = { NULL, 0, 0 };
		CHECK_EQ_INT(ts_values_check(&big, 1, 1), TS_ERANGE,
		    "nothing over the bound is encoded");
		CHECK_EQ_INT(ts_msg_ctl_put(&b, "2025", &big, 1), TS_ERANGE,
		    "a CTL_PUT over the bound is not encoded");
		big.num = TS_VALUE_MAX;
		CHECK_EQ_INT(ts_values_check(&big, 1, 1), 0, "2^53 - 1 is encoded");
		ts_buf_free(&b);
	}

	/* seq and prev. */
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_SEQ, "\x00", 1),
	    TS_EMALFORMED, "seq 0");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_SEQ, "\x02", 1),
	    TS_EMALFORMED, "seq 2 with zero prev");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_A, E_SEQ, "\x01", 1),
	    TS_EMALFORMED, "seq 1 with non-zero prev");

	/* Versions and the domain tag. */
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_FMT, "\x02", 1),
	    TS_EVERSION, "body fmt 2");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_FMT, "\x00", 1),
	    TS_EVERSION, "body fmt 0");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_DOMAIN,
	    "\xb2" "tiersync/report/v2", 19), TS_EVERSION, "domain v2");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_DOMAIN,
	    "\xb1" "tiersync/report/v", 18), TS_EVERSION, "domain prefix");
	CHECK_EQ_INT(with_elem(T_BODY, G_BODY_B, E_DOMAIN, "\xa0", 1),
	    TS_EVERSION, "empty domain");
	CHECK_EQ_INT(dec_body((const uint8_t *)"\x93\x02\xa1x\x00", 5),
	    TS_EVERSION, "a future body shape reports the version");
	CHECK_EQ_INT(dec_body((const uint8_t *)"\x92\x01\xb2"
	    "tiersync/report/v1", 21), TS_EMALFORMED, "body of 2 fields");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 1, "\x02", 1), TS_EVERSION,
	    "link proto version 2");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 1, "\x00", 1), TS_EVERSION,
	    "link proto version 0");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 2, "\x08", 1), TS_EUNKNOWN,
	    "unknown type 8");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 2, "\x00", 1), TS_EUNKNOWN,
	    "unknown type 0");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 2, "\xcf\x01\0\0\0\0\0\0\x01",
	    9), TS_EUNKNOWN, "unknown type 2^56 + 1");
	CHECK_EQ_INT(dec_msg((const uint8_t *)"\x92\x01\x06", 3),
	    TS_EMALFORMED, "PING without time");
	CHECK_EQ_INT(dec_msg((const uint8_t *)"\x91\x01", 2),
	    TS_EMALFORMED, "message of one element");
	CHECK_EQ_INT(dec_msg((const uint8_t *)"\x94\x01\x06\x01\x02", 5),
	    TS_EMALFORMED, "PING with an extra field");

	/* Status codes and other message fields. */
	CHECK_EQ_INT(with_elem(T_MSG, G_ACK, 7, "\x63", 1), TS_EMALFORMED,
	    "ACK status 99");
	CHECK_EQ_INT(with_elem(T_MSG, G_ACK, 7, "\x0e", 1), TS_EMALFORMED,
	    "ACK status 14");
	CHECK_EQ_INT(with_elem(T_MSG, G_ERR, 3, "\x63", 1), TS_EMALFORMED,
	    "ERR code 99");
	CHECK_EQ_INT(with_elem(T_MSG, G_ERR, 5, "\xa2" "0!", 3),
	    TS_EMALFORMED, "ERR origin bad");
	CHECK_EQ_INT(with_elem(T_MSG, G_ERR, 5, "\xa0", 1), 0,
	    "ERR origin empty is fine");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 4, "\xa0", 1), 0,
	    "HELLO topo empty is fine");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 3, "\xa0", 1), TS_EMALFORMED,
	    "HELLO unit empty");
	CHECK_EQ_INT(with_elem(T_MSG, G_HELLO, 3, "\xa2" "\0" "1", 3),
	    TS_EMALFORMED, "HELLO unit with NUL");
	CHECK_EQ_INT(with_elem(T_MSG, G_WELCOME, 6, "\xa2" "0-", 3),
	    TS_EMALFORMED, "WELCOME origin bad");
	CHECK_EQ_INT(with_elem(T_MSG, G_CTL_PUT, 3, "\xa6" "2025Q0", 7),
	    TS_EMALFORMED, "CTL_PUT period 2025Q0");
	CHECK_EQ_INT(with_elem(T_MSG, G_CTL_REPLY, 3,
	    "\xcf\x80\0\0\0\0\0\0\0", 9), TS_EMALFORMED,
	    "CTL_REPLY code over INT_MAX");
}

static void
test_signature(void)
{
	ts_report	r;
	ts_buf		out = { NULL, 0, 0 };
	ts_env_view	v;
	uint8_t		*copy, otherpk[TS_SIGN_PK_LEN], othersk[TS_SIGN_SK_LEN];
	size_t		i;
	int		allfail = 1;

	report_a(&r);
	if (ts_report_sort(&r) != 0 || ts_env_seal(&r, sk, &out, NULL) != 0)
		exit(2);
	if ((copy = malloc(out.len)) == NULL)
		exit(2);
	memcpy(copy, out.buf, out.len);
	if (ts_env_split(copy, out.len, &v) != 0)
		exit(2);
	for (i = 0; i < v.body_len * 8; i++) {
		copy[(size_t)(v.body - copy) + i / 8] ^= (uint8_t)(1u << (i % 8));
		if (ts_env_verify(&v, pk) != TS_ESIG)
			allfail = 0;
		copy[(size_t)(v.body - copy) + i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK(allfail, "flipping any one of %zu body bits breaks the signature",
	    v.body_len * 8);
	memcpy(copy, out.buf, out.len);
	CHECK(ts_env_split(copy, out.len, &v) == 0 &&
	    ts_env_verify(&v, pk) == 0, "unmodified copy verifies");
	copy[out.len - 1] ^= 1;
	CHECK_EQ_INT(ts_env_verify(&v, pk), TS_ESIG, "flipped signature bit");
	copy[out.len - 1] ^= 1;
	crypto_sign_keypair(otherpk, othersk);
	CHECK_EQ_INT(ts_env_verify(&v, otherpk), TS_ESIG, "another key");
	v.sig = NULL;
	CHECK_EQ_INT(ts_env_verify(&v, pk), TS_ESIG, "missing signature");
	free(copy);
	ts_buf_free(&out);
	ts_report_clear(&r);
}

static void
test_encode_args(void)
{
	ts_buf		out = { NULL, 0, 0 };
	ts_report	r;
	ts_value	v2[2] = { { "1.1", "", 1, 0 }, { "1.1", "", 2, 0 } };
	ts_held		h;
	ts_bytes	e;
	uint8_t		st = 14;
	char		longs[400];
	size_t		i;

	memset(longs, 'x', sizeof(longs));
	longs[sizeof(longs) - 1] = '\0';
	memset(&h, 0, sizeof(h));

	report_b(&r);
	r.seq = 0;
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL, "encode seq 0");
	r.seq = 2;
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL,
	    "encode seq 2 with zero prev");
	r.seq = 1;
	r.prev[5] = 1;
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL,
	    "encode seq 1 with prev");
	report_b(&r);
	strcpy(r.period, "2025Q5");
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL, "encode bad period");
	report_b(&r);
	strcpy(r.origin, "a-b");
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL, "encode bad origin");
	report_b(&r);
	memset(r.topo, 'x', sizeof(r.topo));
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_ELIMIT,
	    "encode unterminated topo");
	report_b(&r);
	r.values = v2;
	r.nvalues = 2;
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_EINVAL,
	    "encode duplicate values");
	CHECK_EQ_INT(ts_report_sort(&r), TS_EINVAL, "sort finds duplicates");
	r.nvalues = TS_VALUES_MAX + 1;
	CHECK_EQ_INT(ts_report_encode(&r, &out), TS_ELIMIT,
	    "encode TS_VALUES_MAX + 1 values");
	CHECK_EQ_INT(ts_env_seal(&r, sk, &out, NULL), TS_ELIMIT,
	    "seal TS_VALUES_MAX + 1 values");
	CHECK_EQ_INT(out.len, 0, "failed encoders leave out empty");

	CHECK_EQ_INT(ts_msg_hello(&out, "a b", "t"), TS_EINVAL, "HELLO bad unit");
	CHECK_EQ_INT(ts_msg_hello(&out, "01", longs), TS_ELIMIT, "HELLO long topo");
	CHECK_EQ_INT(ts_msg_hello(&out, NULL, "t"), TS_EINVAL, "HELLO NULL unit");
	CHECK_EQ_INT(ts_msg_welcome(&out, "01", &h, 1), TS_EINVAL,
	    "WELCOME empty origin");
	CHECK_EQ_INT(ts_msg_welcome(&out, "01", &h, TS_WELCOME_MAX + 1),
	    TS_ELIMIT, "WELCOME over TS_WELCOME_MAX");
	e.p = (const uint8_t *)"";
	e.len = TS_ENV_MAX + 1;
	CHECK_EQ_INT(ts_msg_push(&out, 1, &e, 1), TS_ELIMIT,
	    "PUSH of an oversize envelope");
	CHECK_EQ_INT(ts_msg_push(&out, 1, &e, TS_BATCH_MAX + 1), TS_ELIMIT,
	    "PUSH over TS_BATCH_MAX");
	{
		ts_bytes *many = calloc(9, sizeof(*many));
		if (many == NULL)
			exit(2);
		for (i = 0; i < 9; i++) {
			many[i].p = (const uint8_t *)"";
			many[i].len = TS_ENV_MAX;
		}
		CHECK_EQ_INT(ts_msg_push(&out, 1, many, 9), TS_ELIMIT,
		    "PUSH over TS_MSG_MAX in total");
		free(many);
	}
	CHECK_EQ_INT(ts_msg_ack(&out, 1, &st, 1), TS_EINVAL, "ACK status 14");
	CHECK_EQ_INT(ts_msg_err(&out, 14, "x", "", 0), TS_EINVAL, "ERR code 14");
	CHECK_EQ_INT(ts_msg_err(&out, -1, "x", "", 0), TS_EINVAL, "ERR code -1");
	CHECK_EQ_INT(ts_msg_err(&out, 2, longs, "", 0), TS_ELIMIT,
	    "ERR reason over TS_REASON_MAX");
	CHECK_EQ_INT(ts_msg_err(&out, 2, "x", "0/", 0), TS_EINVAL,
	    "ERR bad origin");
	CHECK_EQ_INT(ts_msg_ping(&out, TS_MSG_ACK, 1), TS_EINVAL, "PING type 4");
	CHECK_EQ_INT(ts_msg_ctl_put(&out, "2025Q5", v2, 1), TS_EINVAL,
	    "CTL_PUT bad period");
	CHECK_EQ_INT(ts_msg_ctl_put(&out, "2025", v2, TS_VALUES_MAX + 1),
	    TS_ELIMIT, "CTL_PUT over TS_VALUES_MAX");
	CHECK_EQ_INT(ts_msg_ctl_reply(&out, -1, "x"), TS_EINVAL,
	    "CTL_REPLY negative code");
	CHECK_EQ_INT(out.len, 0, "failed message encoders leave out empty");
	ts_buf_free(&out);
}

static void
test_status(void)
{
	static const struct { int err, st; } map[] = {
		{ 0, TS_ST_STORED }, { TS_EMALFORMED, TS_ST_MALFORMED },
		{ TS_ENONCANON, TS_ST_MALFORMED }, { TS_ESIG, TS_ST_SIG },
		{ TS_EUNKNOWN, TS_ST_UNKNOWN }, { TS_ENOTFOUND, TS_ST_UNKNOWN },
		{ TS_EPARSE, TS_ST_MALFORMED }, { TS_EINVAL, TS_ST_MALFORMED },
		{ TS_EVERSION, TS_ST_VERSION }, { TS_ELIMIT, TS_ST_OVERSIZE },
		{ TS_ENOSPC, TS_ST_RETRY }, { TS_ENOMEM, TS_ST_RETRY },
		{ TS_ESTORE, TS_ST_RETRY }, { TS_ESYS, TS_ST_RETRY },
		/* retired numbers (common.h) are "anything else": retry */
		{ -31008, TS_ST_RETRY }, { -31018, TS_ST_RETRY },
	};
	size_t	i;
	int	ok = 1;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ts_status_from_err(map[i].err) != map[i].st) {
			ok = 0;
			printf("# %s -> %d\n", ts_strerror(map[i].err),
			    ts_status_from_err(map[i].err));
		}
	CHECK(ok, "ts_status_from_err maps every TS_E* code");
	CHECK(strcmp(ts_status_name(TS_ST_STORED), "stored") == 0 &&
	    strcmp(ts_status_name(TS_ST_SIG), "sig") == 0 &&
	    strcmp(ts_status_name(TS_ST_PROTOCOL), "protocol") == 0,
	    "status names");
	CHECK(strcmp(ts_status_name(TS_ST_MAX_ + 1), "invalid") == 0 &&
	    strcmp(ts_status_name(-1), "invalid") == 0, "out-of-range names");
}

/* CTL_REPLACE and CTL_RELOAD: exact bytes, round trip, refusals. */
static void
test_ctl_replace_reload(void)
{
	const char	*inds[] = { "9", "14" };
	ts_value	 v[3];
	ts_buf		 out = { 0 };
	ts_msg		 m;
	bytes		 want, bad;
	size_t		 i;
	int		 rc;

	memset(v, 0, sizeof(v));
	snprintf(v[0].ind, sizeof(v[0].ind), "9");  v[0].num = 5; v[0].den = 10;
	snprintf(v[1].ind, sizeof(v[1].ind), "9");  snprintf(v[1].dis, sizeof(v[1].dis), "f");
	v[1].num = 2; v[1].den = 5;
	snprintf(v[2].ind, sizeof(v[2].ind), "14"); v[2].num = 3;
	/* [1, 18, "2025", ["9","14"], [["9","",5,10],["9","f",2,5],["14","",3,0]]] */
	want = unhex("950112a4323032359" "2a139a23134" "9394a139a0050a94a139a166020594a23134a00300");
	CHECK_EQ_INT(ts_msg_ctl_replace(&out, "2025", inds, 2, v, 3), 0, "encode CTL_REPLACE");
	CHECK(out.len == want.len && memcmp(out.buf, want.p, want.len) == 0,
	    "CTL_REPLACE bytes are exactly as specified");
	rc = ts_msg_decode(out.buf, out.len, &m);
	CHECK(rc == 0 && m.type == TS_MSG_CTL_REPLACE && m.ninds == 2 &&
	    strcmp(m.inds[1], "14") == 0 && m.nvalues == 3 &&
	    strcmp(m.period, "2025") == 0 && m.values[1].num == 2 &&
	    strcmp(m.values[1].dis, "f") == 0, "CTL_REPLACE round trip");
	ts_msg_clear(&m);
	for (i = 0; i < out.len; i++) {
		rc = ts_msg_decode(out.buf, i, &m);
		if (rc == 0)
			break;
	}
	CHECK(i == out.len && m.inds == NULL && m.values == NULL,
	    "every truncation of CTL_REPLACE is refused, nothing left allocated");
	/* A value whose indicator is not in the replaced set: the daemon
	 * would apply half a replacement, so both sides refuse it. */
	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_ctl_replace(&out, "2025", inds, 1, v, 3), TS_EINVAL,
	    "encoder refuses a value outside the replaced indicators");
	CHECK_EQ_INT(out.len, 0, "nothing written on refusal");
	bad = unhex("950112a4323032359" "1a139" "9194a23134a00300");
	CHECK_EQ_INT(ts_msg_decode(bad.p, bad.len, &m), TS_EMALFORMED,
	    "decoder refuses a value outside the replaced indicators");
	free(bad.p);
	bad = unhex("950112a4323032359" "1a0" "90");
	CHECK_EQ_INT(ts_msg_decode(bad.p, bad.len, &m), TS_EMALFORMED,
	    "decoder refuses an empty indicator id");
	free(bad.p);
	bad = unhex("950112a4323032dd" "ffffffff");
	CHECK(ts_msg_decode(bad.p, bad.len, &m) != 0,
	    "decoder refuses an indicator list claiming 4G entries");
	free(bad.p);

	ts_buf_reset(&out);
	CHECK_EQ_INT(ts_msg_ctl_reload(&out), 0, "encode CTL_RELOAD");
	CHECK(out.len == 3 && memcmp(out.buf, "\x92\x01\x13", 3) == 0,
	    "CTL_RELOAD is [1, 19]");
	CHECK(ts_msg_decode(out.buf, out.len, &m) == 0 && m.type == TS_MSG_CTL_RELOAD,
	    "CTL_RELOAD round trip");
	ts_msg_clear(&m);
	bad = unhex("93011300");
	CHECK_EQ_INT(ts_msg_decode(bad.p, bad.len, &m), TS_EMALFORMED,
	    "CTL_RELOAD with an extra field is refused");
	free(bad.p);
	free(want.p);
	ts_buf_free(&out);
}

/* Adding reports up: canonical order, equal keys summed, and a sum
 * past 64 bits refused with the key named (never a silent wrap). */
static void
test_vsum(void)
{
	ts_vsum s = { 0 };
	ts_value v[4];
	const ts_value *bad;

	memset(v, 0, sizeof(v));
	snprintf(v[0].ind, sizeof(v[0].ind), "9");
	v[0].num = 2; v[0].den = 5;
	snprintf(v[1].ind, sizeof(v[1].ind), "14");
	v[1].num = 7;
	snprintf(v[2].ind, sizeof(v[2].ind), "9");
	snprintf(v[2].dis, sizeof(v[2].dis), "sex=f");
	v[2].num = 1; v[2].den = 2;
	v[3] = v[0];
	v[3].num = 3; v[3].den = 4;
	CHECK(ts_vsum_add(&s, v, 3) == 0 && ts_vsum_add(&s, &v[3], 1) == 0 &&
	    ts_vsum_add(&s, NULL, 0) == 0 && s.n == 4, "vsum: add 4 values");
	CHECK(ts_vsum_merge(&s, &bad) == 0 && bad == NULL && s.n == 3,
	    "vsum: equal (ind, dis) merged");
	CHECK(strcmp(s.v[0].ind, "14") == 0 && strcmp(s.v[1].ind, "9") == 0 &&
	    s.v[1].dis[0] == '\0' && strcmp(s.v[2].dis, "sex=f") == 0,
	    "vsum: canonical order 14, 9, 9/sex=f");
	CHECK(s.v[1].num == 5 && s.v[1].den == 9 && s.v[0].num == 7,
	    "vsum: sums exact");
	ts_vsum_free(&s);
	CHECK(s.v == NULL && s.n == 0, "vsum: freed");
	v[0].num = UINT64_MAX;
	v[3].num = 1;
	CHECK(ts_vsum_add(&s, v, 4) == 0 &&
	    ts_vsum_merge(&s, &bad) == TS_ELIMIT && bad != NULL &&
	    strcmp(bad->ind, "9") == 0 && bad->dis[0] == '\0',
	    "vsum: 64-bit overflow refused, key named");
	ts_vsum_free(&s);
}

/* ---- ts_report_check ---------------------------------------------------- */

/* Body A with elements e1 < e2 (pre-order, neither inside the other)
 * replaced; decoded and checked by dec_body. */
static int
with2(const char *hex, size_t e1, const void *r1, size_t l1, size_t e2,
    const void *r2, size_t l2)
{
	static struct elmap	m;
	bytes			b = unhex(hex), x, y;
	int			rc;

	elmap(&b, &m);
	/* The later element first, so the earlier one's offset holds. */
	x = splice(&b, m.off[e2], m.len[e2], r2, l2);
	y = splice(&x, m.off[e1], m.len[e1], r1, l1);
	rc = dec_body(y.p, y.len);
	free(x.p);
	free(y.p);
	free(b.p);
	return rc;
}

/*
 * When a body breaks several rules, the code is that of the first rule
 * the decoder meets (PROTOCOL.md section 2 names the header order); the
 * checker must meet them in the same order.  dec_body asserts the two
 * agree; these pin down what they agree on.
 */
static void
test_check_precedence(void)
{
	static struct elmap	m;
	bytes			a = unhex(G_BODY_A), x, y, v0, v1;
	uint8_t			longdis[2 + 65], bad_ind[4] = { 0xa3, '1', ' ',
	    '1' };
	ts_report_hdr		h;
	int			rc;

	memset(longdis, 'd', sizeof(longdis));
	longdis[0] = 0xd9;
	longdis[1] = 65;
	CHECK_EQ_INT(with2(G_BODY_A, E_V0_IND, "\xa3" "1\0" "1", 4, E_V0_DIS,
	    longdis, sizeof(longdis)), TS_EMALFORMED,
	    "precedence: NUL in ind is refused before an over-long dis");
	CHECK_EQ_INT(with2(G_BODY_A, E_V0_IND, bad_ind, 4, E_V0_DIS,
	    longdis, sizeof(longdis)), TS_ELIMIT,
	    "precedence: over-long dis before ind's character rule");
	CHECK_EQ_INT(with2(G_BODY_A, E_ORIGIN, "\xa2" "0!", 3, E_CAT,
	    longdis, sizeof(longdis)), TS_ELIMIT,
	    "precedence: over-long catalogue before origin's rule");
	CHECK_EQ_INT(with2(G_BODY_A, E_ORIGIN, "\xa2" "0!", 3, E_COMP,
	    "\x95\0\0\0\0\0", 6), TS_EMALFORMED,
	    "precedence: origin's rule, then completeness");
	CHECK_EQ_INT(with2(G_BODY_A, E_PERIOD, "\xa6" "2025Q5", 7, E_COMP,
	    "\xdc\x00\x06\0\0\0\0\0\0", 9), TS_EMALFORMED,
	    "precedence: period rule before non-canonical completeness");
	CHECK_EQ_INT(with2(G_BODY_A, E_FMT, "\x02", 1, E_SEQ, "\xcc\x05", 2),
	    TS_EVERSION, "precedence: fmt before a non-canonical seq");
	CHECK_EQ_INT(with2(G_BODY_A, E_SEQ, "\xcc\x05", 2, E_V0_IND,
	    "\xa0", 1), TS_ENONCANON,
	    "precedence: non-canonical seq before an empty indicator");
	CHECK_EQ_INT(with2(G_BODY_A, E_V0_NUM, "\xcd\x00\x0c", 3, E_V1,
	    "\xc0", 1), TS_ENONCANON,
	    "precedence: non-canonical num before a nil value");

	/* Values 0 and 1 swapped (out of order), value 2 broken after. */
	elmap(&a, &m);
	v0.p = a.p + m.off[E_V0]; v0.len = m.len[E_V0];
	v1.p = a.p + m.off[E_V1]; v1.len = m.len[E_V1];
	x = splice(&a, m.off[E_V1 + 5 + 1], m.len[E_V1 + 5 + 1],
	    (const uint8_t *)"\xa0", 1);
	y = cat2(&v1, &v0);
	{
		bytes z = splice(&x, m.off[E_V0], v0.len + v1.len, y.p, y.len);
		CHECK_EQ_INT(dec_body(z.p, z.len), TS_ENONCANON,
		    "precedence: order of values 0, 1 before value 2's rule");
		free(z.p);
	}
	free(x.p);
	free(y.p);
	/* Unsorted provenance and a trailing byte. */
	{
		size_t	prov = m.n - 9, p0 = prov + 1, p1 = prov + 5;
		bytes	t, z;
		uint8_t	zero = 0;

		v0.p = a.p + m.off[p0]; v0.len = m.len[p0];
		v1.p = a.p + m.off[p1]; v1.len = m.len[p1];
		y = cat2(&v1, &v0);
		z = splice(&a, m.off[p0], v0.len + v1.len, y.p, y.len);
		t = splice(&z, z.len, 0, &zero, 1);
		CHECK_EQ_INT(dec_body(t.p, t.len), TS_ENONCANON,
		    "precedence: provenance order before trailing bytes");
		free(t.p);
		free(z.p);
		free(y.p);
		/* Provenance child with a bad character and seq 0. */
		t = splice(&a, m.off[p0 + 1], m.len[p0 + 1],
		    (const uint8_t *)"\xa2" "0-", 3);
		CHECK_EQ_INT(dec_body(t.p, t.len), TS_EMALFORMED,
		    "provenance child with a bad character");
		free(t.p);
	}

	/* Arguments. */
	memset(&h, 0x5a, sizeof(h));
	rc = ts_report_check(NULL, 3, &h);
	CHECK(rc == TS_EINVAL && is_zero(&h, sizeof(h)),
	    "check: NULL body of 3 bytes is TS_EINVAL, header zeroed");
	CHECK_EQ_INT(dec_body(NULL, 3), TS_EINVAL, "decode agrees on NULL");
	CHECK_EQ_INT(ts_report_check(NULL, 0, NULL), TS_EMALFORMED,
	    "check: empty input, no header wanted");
	free(a.p);
}

/* A splitmix64 of its own, so this test's inputs do not depend on how
 * many numbers the tests before it drew. */
static uint64_t
drng(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct diffstat {
	long	n, bad, reenc_bad;
	long	seen[8];	/* 0, MALFORMED, LIMIT, VERSION, NONCANON, other, RANGE */
};

/* One input: an exactly-sized heap copy (ASan sees any over-read),
 * decoded and checked; accepted bodies must re-encode to themselves. */
static void
diff_one(const uint8_t *p, size_t len, struct diffstat *st)
{
	ts_report	r;
	ts_buf		out = { NULL, 0, 0 };
	uint8_t		*copy;
	int		rc;

	if ((copy = malloc(len ? len : 1)) == NULL)
		exit(2);
	if (len > 0)
		memcpy(copy, p, len);
	rc = ts_report_decode(copy, len, &r);
	if (!check_agrees(copy, len, rc, &r))
		st->bad++;
	if (rc == 0 && (ts_report_encode(&r, &out) != 0 || out.len != len ||
	    memcmp(out.buf, copy, len) != 0))
		st->reenc_bad++;
	switch (rc) {
	case 0:			st->seen[0]++; break;
	case TS_EMALFORMED:	st->seen[1]++; break;
	case TS_ELIMIT:		st->seen[2]++; break;
	case TS_EVERSION:	st->seen[3]++; break;
	case TS_ENONCANON:	st->seen[4]++; break;
	case TS_ERANGE:		st->seen[6]++; break;
	default:		st->seen[5]++; break;
	}
	st->n++;
	ts_buf_free(&out);
	ts_report_clear(&r);
	free(copy);
}

/* Bytes that matter to msgpack and to the identifier rules. */
static const uint8_t	special[] = {
	0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc4, 0xc5, 0xc6, 0xcc, 0xcd,
	0xce, 0xcf, 0xd0, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0x90, 0x93, 0x94,
	0x96, 0x9c, 0x9f, 0xa0, 0xa1, 0xbf, 0x20, 0x2c, 0x2d, 0x2e, 0x5f,
	0x30, 0x41, 0x7e,
};

#define DIFF_MUTATIONS	1500

/* The body, every proper prefix, and DIFF_MUTATIONS seeded variants of
 * 1-4 edits each: random byte, special byte, bit flip, +-1, insertion,
 * deletion. */
static void
diff_variants(const uint8_t *b, size_t len, uint64_t *seed,
    struct diffstat *st)
{
	uint8_t	*x;
	size_t	 i, j, n, at, xl;

	diff_one(b, len, st);
	for (n = 0; n < len; n++)
		diff_one(b, n, st);
	if (len == 0)
		return;
	if ((x = malloc(len + 8)) == NULL)
		exit(2);
	for (i = 0; i < DIFF_MUTATIONS; i++) {
		memcpy(x, b, len);
		xl = len;
		n = 1 + drng(seed) % 4;
		for (j = 0; j < n && xl > 0; j++) {
			at = drng(seed) % xl;
			switch (drng(seed) % 6) {
			case 0:
				x[at] = (uint8_t)drng(seed);
				break;
			case 1:
				x[at] = special[drng(seed) % sizeof(special)];
				break;
			case 2:
				x[at] ^= (uint8_t)(1u << (drng(seed) % 8));
				break;
			case 3:
				x[at] = (uint8_t)(x[at] + (drng(seed) % 2 ?
				    1 : 255));
				break;
			case 4:
				if (xl == len + 8)
					break;
				memmove(x + at + 1, x + at, xl - at);
				x[at] = special[drng(seed) % sizeof(special)];
				xl++;
				break;
			default:
				memmove(x + at, x + at + 1, xl - at - 1);
				xl--;
				break;
			}
		}
		diff_one(x, xl, st);
	}
	free(x);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Differential test of ts_report_check against ts_report_decode over the
 * envelope fuzz corpus (tests/fuzz/corpus/envelope: envelopes and bare
 * bodies; an envelope contributes its body, split by ts_env_split, as
 * well as its own bytes) and seeded variants of each.  Same code, same
 * header, for every input.  Every accepted body must also re-encode to
 * itself: the invariant the decoder's former re-encode-and-memcmp pass
 * enforced, so dropping that pass changed no outcome.
 */
static void
test_check_corpus(void)
{
	struct diffstat	 st;
	struct stat	 sb;
	struct dirent	*e;
	DIR		*d;
	FILE		*f;
	ts_env_view	 v;
	const char	*src = getenv("TS_SRCDIR");
	char		 dir[4096], path[8192], **names = NULL;
	uint8_t		*buf;
	uint64_t	 seed = 0x7469657273796e63ull;	/* "tiersync" */
	size_t		 n = 0, cap = 0, i, nbody = 0;

	memset(&st, 0, sizeof(st));
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/envelope",
	    src != NULL ? src : ".");
	if ((d = opendir(dir)) == NULL) {
		CHECK(0, "open %s (set TS_SRCDIR)", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			if ((names = realloc(names, cap * sizeof(*names))) ==
			    NULL)
				exit(2);
		}
		if ((names[n++] = strdup(e->d_name)) == NULL)
			exit(2);
	}
	closedir(d);
	if (n > 0)	/* readdir order is the file system's: sort */
		qsort(names, n, sizeof(*names), cmp_name);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    (f = fopen(path, "rb")) == NULL)
			continue;
		if ((buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1)) ==
		    NULL || fread(buf, 1, (size_t)sb.st_size, f) !=
		    (size_t)sb.st_size)
			exit(2);
		fclose(f);
		diff_variants(buf, (size_t)sb.st_size, &seed, &st);
		nbody++;
		if (ts_env_split(buf, (size_t)sb.st_size, &v) == 0) {
			diff_variants(v.body, v.body_len, &seed, &st);
			nbody++;
		}
		free(buf);
		free(names[i]);
	}
	free(names);
	printf("# %zu corpus files, %zu bodies, %ld inputs: %ld accepted, "
	    "%ld malformed, %ld limit, %ld version, %ld noncanon, %ld over "
	    "the value bound, %ld other\n",
	    n, nbody, st.n, st.seen[0], st.seen[1], st.seen[2], st.seen[3],
	    st.seen[4], st.seen[6], st.seen[5]);
	CHECK(n >= 100, "envelope corpus found (%zu files)", n);
	CHECK_EQ_INT(st.bad, 0, "check and decode agree on all %ld corpus "
	    "variants (code and header)", st.n);
	CHECK_EQ_INT(st.reenc_bad, 0, "every accepted variant re-encodes to "
	    "itself byte for byte");
	CHECK(st.seen[0] > 0 && st.seen[1] > 0 && st.seen[2] > 0 &&
	    st.seen[3] > 0 && st.seen[4] > 0 && st.seen[5] == 0,
	    "variants reach every outcome: ok, malformed, limit, version, "
	    "noncanon");
}

int
main(void)
{
	uint8_t	seed[32];
	size_t	i;

	if (sodium_init() < 0)
		return 2;
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i + 1);
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return 2;
	load_msgs();

	test_golden_report();
	test_golden_msgs();
	test_decode_msgs();
	test_roundtrip();
	test_hostile_generic();
	test_lies();
	test_noncanon();
	test_bad_fields();
	test_signature();
	test_encode_args();
	test_status();
	test_ctl_replace_reload();
	test_vsum();
	test_check_precedence();
	test_check_corpus();

	CHECK(ndisagree == 0 && nagree > 0, "ts_report_check and "
	    "ts_report_decode agreed on all %ld bodies decoded", nagree);
	for (i = 0; i < NMSG; i++)
		free(gmsg[i].p);
	return ts_test_done();
}
