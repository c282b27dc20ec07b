/*
 * tiersync wire formats: the signed report envelope and the link messages.
 * Normative description: docs/PROTOCOL.md.
 *
 * Everything here is pure (no I/O, no global state) and safe on untrusted
 * input: decoders check every declared length, count and nesting depth
 * against the remaining bytes and the TS_* limits BEFORE allocating, must
 * consume the input exactly, and fail closed (on error the output holds
 * nothing the caller must free).
 *
 * Packing uses msgpack-c's packer; decoding uses our own bounded cursor
 * reader (proto/mpread.c), because msgpack-c's unpacker allocates from
 * declared sizes (5 bytes "dd ff 00 00 00" ask for ~96 GB).
 */
#ifndef TIERSYNC_PROTO_H
#define TIERSYNC_PROTO_H

#include "tiersync/common.h"

#define TS_FORMAT_VERSION   1          /* report body format            */
#define TS_PROTO_VERSION    1          /* link protocol, checked at HELLO */
#define TS_DOMAIN_REPORT    "tiersync/report/v1"  /* domain tag in body  */

/* ---------------------------------------------------------------- */
/* Report body                                                        */
/* ---------------------------------------------------------------- */

typedef struct ts_value {
	char     ind[TS_IND_MAX + 1];   /* indicator id                     */
	char     dis[TS_DIS_MAX + 1];   /* disaggregation key, "" = total   */
	uint64_t num;                   /* numerator                        */
	uint64_t den;                   /* denominator (0 for plain counts) */
} ts_value;

typedef struct ts_prov {               /* one child report summed in      */
	char     child[TS_CODE_MAX + 1];
	uint64_t seq;
	uint8_t  hash[TS_HASH_LEN];
} ts_prov;

typedef struct ts_completeness {
	uint32_t expected;       /* direct children expected for the period  */
	uint32_t reported;       /* direct children whose report is summed   */
	uint32_t on_time;        /* of those, first received before deadline */
	uint32_t leaf_expected;  /* leaf units (communes) in the subtree     */
	uint32_t leaf_reported;  /* leaf units whose data is summed          */
	uint32_t leaf_on_time;   /* leaf units that reported on time         */
} ts_completeness;

/*
 * A decoded report body.  values and prov are heap arrays owned by the
 * report: release with ts_report_clear().  A zero-initialised ts_report
 * is a valid empty report.
 *
 * Canonical order (required by the decoder, produced by ts_report_sort):
 * values sorted by (ind, dis) bytewise, no duplicate (ind, dis);
 * prov sorted by child bytewise, no duplicate child.
 */
typedef struct ts_report {
	char     origin[TS_CODE_MAX + 1];
	char     period[TS_PERIOD_MAX + 1];
	uint64_t seq;                      /* >= 1                           */
	uint8_t  prev[TS_HASH_LEN];        /* all zero when seq == 1         */
	char     topo[TS_TOPO_MAX + 1];    /* topology version id            */
	char     catalogue[TS_CAT_MAX + 1];/* indicator catalogue id or ""   */
	uint64_t created_ms;               /* origin's clock, ms since epoch */
	ts_completeness comp;
	size_t    nvalues;
	ts_value *values;
	size_t    nprov;
	ts_prov  *prov;
} ts_report;

void ts_report_clear(ts_report *r);            /* frees arrays, zeroes   */
/* Sort values and prov into canonical order.  Returns TS_EINVAL if two
 * values share (ind, dis) or two prov share a child. */
int  ts_report_sort(ts_report *r);

/* Canonical (ind, dis) bytewise order of values: <0, 0, >0. */
int  ts_value_cmp(const ts_value *a, const ts_value *b);

/*
 * Adding reports up (the rollup, and tierctl verify checking it): a
 * growable list of values; ts_vsum_merge sorts it into canonical order
 * and adds up equal (ind, dis).  A sum that does not fit 64 bits is
 * TS_ELIMIT (never a silent wrap) and *bad, if not NULL, names it.
 * The list owns v: ts_vsum_free.
 */
typedef struct ts_vsum {
	ts_value *v;
	size_t    n, cap;
} ts_vsum;
int  ts_vsum_add(ts_vsum *s, const ts_value *v, size_t n);   /* TS_ENOMEM */
int  ts_vsum_merge(ts_vsum *s, const ts_value **bad);
void ts_vsum_free(ts_vsum *s);

/* Encode the canonical body.  Appends to out.  Validates every field
 * (codes, period, limits, order) first: TS_EINVAL / TS_ELIMIT. */
int ts_report_encode(const ts_report *r, ts_buf *out);

/* Decode a body.  On success *r owns new arrays (call ts_report_clear).
 * Errors: TS_EMALFORMED, TS_ELIMIT, TS_EVERSION (format or domain tag),
 * TS_ENONCANON (a longer-than-smallest encoding, or values/prov out of
 * canonical order or duplicated), TS_EINVAL (body NULL, len > 0),
 * TS_ENOMEM.  On error *r is cleared.  A body it accepts is byte for
 * byte what ts_report_encode writes for *r. */
int ts_report_decode(const uint8_t *body, size_t len, ts_report *r);

/*
 * What ts_report_check keeps of a body: every scalar field of ts_report
 * and the sizes of the two lists, which it validates but does not keep.
 * Plain data, nothing to free.
 */
typedef struct ts_report_hdr {
	char     origin[TS_CODE_MAX + 1];
	char     period[TS_PERIOD_MAX + 1];
	uint64_t seq;                      /* >= 1                           */
	uint8_t  prev[TS_HASH_LEN];        /* all zero when seq == 1         */
	char     topo[TS_TOPO_MAX + 1];
	char     catalogue[TS_CAT_MAX + 1];
	uint64_t created_ms;
	uint32_t completeness[6];          /* ts_completeness's order:      */
	                                   /* expected, reported, on_time,   */
	                                   /* leaf_expected, leaf_reported,  */
	                                   /* leaf_on_time                   */
	size_t   nvalues;                  /* <= TS_VALUES_MAX               */
	size_t   nprov;                    /* <= TS_PROV_MAX                 */
} ts_report_hdr;

/*
 * Validate a body exactly as ts_report_decode does -- every rule of
 * docs/PROTOCOL.md sections 1, 2 and 5, in the same order, so the same
 * error code for every input -- in one forward pass that allocates
 * nothing, and fill *h (h may be NULL when only the verdict matters).
 * For the hot path that needs the header and the certainty that the
 * whole body is valid and canonical, not the values.  The one code it
 * cannot share is TS_ENOMEM: only the decoder allocates.  On error *h
 * is zeroed.
 */
int ts_report_check(const uint8_t *body, size_t len, ts_report_hdr *h);

/* ---------------------------------------------------------------- */
/* Envelope = msgpack [ bin body, bin(64) signature ]                 */
/* The signature is Ed25519 (detached) over the body bytes; the body   */
/* starts with the domain tag, so it cannot be confused with any other */
/* signed object.  The envelope's hash is BLAKE2b-256 of the body.     */
/* ---------------------------------------------------------------- */

typedef struct ts_env_view {          /* points into the caller's bytes */
	const uint8_t *body;
	size_t         body_len;
	const uint8_t *sig;               /* TS_SIG_LEN bytes              */
} ts_env_view;

/* Encode r, sign with sk, append the envelope to out; hash_out (may be
 * NULL) receives the body hash.  Errors as ts_report_encode, TS_ESIG if
 * signing fails. */
int ts_env_seal(const ts_report *r, const uint8_t sk[TS_SIGN_SK_LEN],
                ts_buf *out, uint8_t hash_out[TS_HASH_LEN]);

/* Split an envelope without verifying.  TS_EMALFORMED, TS_ELIMIT. */
int ts_env_split(const uint8_t *env, size_t len, ts_env_view *v);

/* Verify the signature of v with pk: 0 or TS_ESIG. */
int ts_env_verify(const ts_env_view *v, const uint8_t pk[TS_SIGN_PK_LEN]);

/* BLAKE2b-256 of a body. */
void ts_body_hash(const uint8_t *body, size_t len, uint8_t out[TS_HASH_LEN]);

/* ---------------------------------------------------------------- */
/* Link messages.  Every message is a msgpack array whose first two    */
/* elements are [ proto_version, type, ... ].                          */
/* ---------------------------------------------------------------- */

enum ts_msg_type {
	TS_MSG_HELLO     = 1,  /* child -> parent: who I am               */
	TS_MSG_WELCOME   = 2,  /* parent -> child: what I hold per origin  */
	TS_MSG_PUSH      = 3,  /* child -> parent: a batch of envelopes    */
	TS_MSG_ACK       = 4,  /* parent -> child: batch durably handled   */
	TS_MSG_ERR       = 5,  /* either way: refusal with code and reason */
	TS_MSG_PING      = 6,  /* either way: heartbeat                    */
	TS_MSG_PONG      = 7,  /* answer to PING                           */
	TS_MSG_CTL_PUT   = 16, /* tierctl -> own daemon: enter values      */
	TS_MSG_CTL_REPLY = 17, /* daemon -> tierctl: result                */
	TS_MSG_CTL_REPLACE = 18, /* tierctl -> daemon: replace indicators */
	TS_MSG_CTL_RELOAD = 19,  /* tierctl -> daemon: re-read keys file  */
};

/* Per-envelope outcome in an ACK, and the code in an ERR. */
enum ts_status {
	TS_ST_STORED    = 0,  /* newly and durably stored                  */
	TS_ST_HELD      = 1,  /* already held (exact duplicate): safe drop */
	TS_ST_MALFORMED = 2,
	TS_ST_SIG       = 3,
	TS_ST_UNKNOWN   = 4,  /* unknown origin or key                     */
	TS_ST_SUBTREE   = 5,
	TS_ST_REPLAY    = 6,  /* older than held, body differs from held?  */
	TS_ST_GAP       = 7,
	TS_ST_FORK      = 8,
	TS_ST_CHAIN     = 9,
	TS_ST_VERSION   = 10,
	TS_ST_OVERSIZE  = 11,
	TS_ST_RETRY     = 12, /* temporary (disk full): keep and retry     */
	TS_ST_PROTOCOL  = 13, /* message not valid here / before HELLO     */
	TS_ST_MAX_      = 13
};
const char *ts_status_name(int st);        /* "stored", "sig", ...       */
/* TS_E* -> TS_ST_* (docs/PROTOCOL.md, status codes): malformed, sig,
 * unknown, version, oversize, and retry for anything else.  held,
 * subtree, replay, gap, fork, chain and protocol are verdicts the
 * downlink reaches itself; no TS_E* code stands for them. */
int         ts_status_from_err(int ts_err);

typedef struct ts_held {               /* WELCOME entry                 */
	char     origin[TS_CODE_MAX + 1];
	uint64_t seq;
	uint8_t  hash[TS_HASH_LEN];
} ts_held;

typedef struct ts_bytes {              /* borrowed slice                */
	const uint8_t *p;
	size_t         len;
} ts_bytes;

/*
 * A decoded link message.  Scalars are copied; `envs` in PUSH point into
 * the input buffer (borrowed: the input must outlive the message).
 * Arrays (held, envs, status, values) are heap-owned: ts_msg_clear().
 */
typedef struct ts_msg {
	int type;                                 /* enum ts_msg_type      */
	/* HELLO */
	char unit[TS_CODE_MAX + 1];               /* HELLO, WELCOME         */
	char topo[TS_TOPO_MAX + 1];               /* HELLO                  */
	/* WELCOME */
	size_t   nheld;   ts_held *held;
	/* PUSH / ACK */
	uint64_t batch;
	size_t   nenvs;   ts_bytes *envs;         /* PUSH                   */
	size_t   nstatus; uint8_t *status;        /* ACK, one per envelope  */
	/* ERR */
	int      code;                            /* enum ts_status         */
	char     reason[TS_REASON_MAX + 1];
	char     origin[TS_CODE_MAX + 1];         /* "" if not about one    */
	uint64_t seq;
	/* PING / PONG */
	uint64_t time_ms;
	/* CTL_PUT: period + values; CTL_REPLY: code + reason;
	 * CTL_REPLACE: period + inds (indicators replaced wholly) + values */
	char     period[TS_PERIOD_MAX + 1];
	size_t   nvalues; ts_value *values;
	size_t   ninds;   char (*inds)[TS_IND_MAX + 1];
} ts_msg;

void ts_msg_clear(ts_msg *m);

/* Encoders append one message to out; they validate their arguments
 * (TS_EINVAL, TS_ELIMIT). */
int ts_msg_hello(ts_buf *out, const char *unit, const char *topo);
int ts_msg_welcome(ts_buf *out, const char *unit, const ts_held *held, size_t n);
int ts_msg_push(ts_buf *out, uint64_t batch, const ts_bytes *envs, size_t n);
int ts_msg_ack(ts_buf *out, uint64_t batch, const uint8_t *status, size_t n);
int ts_msg_err(ts_buf *out, int code, const char *reason,
               const char *origin, uint64_t seq);
int ts_msg_ping(ts_buf *out, int type /* PING or PONG */, uint64_t time_ms);
int ts_msg_ctl_put(ts_buf *out, const char *period, const ts_value *v, size_t n);
int ts_msg_ctl_reply(ts_buf *out, int code, const char *reason);
/* Replace, for period, all own values of the indicators inds[0..ninds)
 * by the values given (each value's ind must be one of inds). */
int ts_msg_ctl_replace(ts_buf *out, const char *period,
                       const char *const *inds, size_t ninds,
                       const ts_value *v, size_t n);
int ts_msg_ctl_reload(ts_buf *out);

/* Decode one message.  Errors: TS_EMALFORMED, TS_ELIMIT, TS_EVERSION
 * (proto version differs), TS_EUNKNOWN (type), TS_ENOMEM.  On error *m
 * is cleared. */
int ts_msg_decode(const uint8_t *p, size_t len, ts_msg *m);
/* The type of a link message from its first bytes only (array header,
 * version, type), so a receiver refuses a type it never takes before
 * decoding the rest.  0 with *type set, or the error ts_msg_decode
 * would give for those bytes (TS_EVERSION, TS_EUNKNOWN, ...). */
int ts_msg_peek(const uint8_t *p, size_t len, int *type);

#endif
