/*
 * Fuzz target: the report envelope and body decoders (docs/PROTOCOL.md
 * sections 1-3), the bytes a parent receives from its children.
 *
 * Input: an envelope; if it does not split, the input is decoded as a
 * body as well, so the fuzzer can explore bodies without framing.
 * Oracles:
 *  - split succeeds => signature is 64 bytes, body lies inside the input,
 *    and re-framing [bin body, bin sig] gives the input byte for byte
 *    (framing is canonical: one envelope, one encoding);
 *  - decode succeeds => ts_report_encode accepts the report (what the
 *    decoder lets in, the encoder can write) and its bytes equal the
 *    body exactly; the report obeys its documented invariants;
 *  - decode fails => the report is zeroed and owns nothing;
 *  - ts_report_check returns decode's code (TS_ENOMEM aside: only the
 *    decoder allocates) and, on success, the same header fields and
 *    list sizes; on failure its header is zeroed.
 */
#include <string.h>

#include "fuzz.h"
#include "tiersync/mpread.h"
#include "tiersync/proto.h"

static void
check_report(const ts_report *r)
{
	static const uint8_t zero[TS_HASH_LEN];
	size_t i;

	FUZZ_CHECK(r->seq >= 1);
	FUZZ_CHECK((r->seq == 1) == (memcmp(r->prev, zero, TS_HASH_LEN) == 0));
	FUZZ_CHECK(ts_valid_code(r->origin, strlen(r->origin)) == 0);
	FUZZ_CHECK(ts_valid_period(r->period, strlen(r->period)) == 0);
	FUZZ_CHECK(r->nvalues <= TS_VALUES_MAX && r->nprov <= TS_PROV_MAX);
	FUZZ_CHECK(r->nvalues == 0 || r->values != NULL);
	FUZZ_CHECK(r->nprov == 0 || r->prov != NULL);
	for (i = 0; i < r->nvalues; i++) {
		const ts_value *v = &r->values[i];
		FUZZ_CHECK(ts_valid_indicator(v->ind, strlen(v->ind)) == 0);
		FUZZ_CHECK(ts_valid_dis(v->dis, strlen(v->dis)) == 0);
		if (i > 0) {
			int d = strcmp(r->values[i - 1].ind, v->ind);
			FUZZ_CHECK(d < 0 || (d == 0 &&
			    strcmp(r->values[i - 1].dis, v->dis) < 0));
		}
	}
	for (i = 0; i < r->nprov; i++) {
		FUZZ_CHECK(ts_valid_code(r->prov[i].child,
		    strlen(r->prov[i].child)) == 0);
		FUZZ_CHECK(r->prov[i].seq >= 1);
		if (i > 0)
			FUZZ_CHECK(strcmp(r->prov[i - 1].child,
			    r->prov[i].child) < 0);
	}
}

/* The allocation-free checker against the decoder. */
static void
check_agrees(const uint8_t *body, size_t len, int rc, const ts_report *r)
{
	static const ts_report_hdr zero_hdr;
	ts_report_hdr h;
	int crc;

	memset(&h, 0xa5, sizeof(h));
	crc = ts_report_check(body, len, &h);
	if (rc == TS_ENOMEM)
		return;
	FUZZ_CHECK(crc == rc);
	if (crc != 0) {
		FUZZ_CHECK(memcmp(&h, &zero_hdr, sizeof(h)) == 0);
		return;
	}
	FUZZ_CHECK(strcmp(h.origin, r->origin) == 0);
	FUZZ_CHECK(strcmp(h.period, r->period) == 0);
	FUZZ_CHECK(h.seq == r->seq && h.created_ms == r->created_ms);
	FUZZ_CHECK(memcmp(h.prev, r->prev, TS_HASH_LEN) == 0);
	FUZZ_CHECK(strcmp(h.topo, r->topo) == 0);
	FUZZ_CHECK(strcmp(h.catalogue, r->catalogue) == 0);
	FUZZ_CHECK(h.completeness[0] == r->comp.expected &&
	    h.completeness[1] == r->comp.reported &&
	    h.completeness[2] == r->comp.on_time &&
	    h.completeness[3] == r->comp.leaf_expected &&
	    h.completeness[4] == r->comp.leaf_reported &&
	    h.completeness[5] == r->comp.leaf_on_time);
	FUZZ_CHECK(h.nvalues == r->nvalues && h.nprov == r->nprov);
}

static void
body_round_trip(const uint8_t *body, size_t len)
{
	static const ts_report zero_report;
	ts_report r;
	ts_buf out = { NULL, 0, 0 };
	int rc;

	rc = ts_report_decode(body, len, &r);
	check_agrees(body, len, rc, &r);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(memcmp(&r, &zero_report, sizeof(r)) == 0);
		return;
	}
	check_report(&r);
	rc = ts_report_encode(&r, &out);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(out.len == len);
	FUZZ_CHECK(memcmp(out.buf, body, len) == 0);
	/* Sorting an already canonical report changes nothing. */
	FUZZ_CHECK(ts_report_sort(&r) == 0);
	ts_buf_reset(&out);
	FUZZ_CHECK(ts_report_encode(&r, &out) == 0);
	FUZZ_CHECK(out.len == len && memcmp(out.buf, body, len) == 0);
	ts_buf_free(&out);
	ts_report_clear(&r);
	FUZZ_CHECK(memcmp(&r, &zero_report, sizeof(r)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_env_view v;
	ts_buf out = { NULL, 0, 0 };
	msgpack_packer pk;

	if (ts_env_split(data, size, &v) != 0) {
		FUZZ_CHECK(v.body == NULL && v.sig == NULL && v.body_len == 0);
		body_round_trip(data, size);
		return 0;
	}
	FUZZ_CHECK(v.sig != NULL);
	FUZZ_CHECK(v.sig >= data && v.sig + TS_SIG_LEN <= data + size);
	FUZZ_CHECK(v.body_len == 0 ||
	    (v.body >= data && v.body + v.body_len <= data + size));
	ts_pk_init(&pk, &out);
	FUZZ_CHECK(ts_pk_array(&pk, 2) == 0);
	FUZZ_CHECK(ts_pk_bin(&pk, v.body, v.body_len) == 0);
	FUZZ_CHECK(ts_pk_bin(&pk, v.sig, TS_SIG_LEN) == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.buf, data, size) == 0);
	ts_buf_free(&out);
	body_round_trip(v.body, v.body_len);
	return 0;
}
