/*
 * Fuzz target: the keys file parser ts_keys_parse (docs/TOPOLOGY.md), which
 * decides which CURVE keys the ZAP handler admits and which Ed25519 keys
 * verify envelopes.
 *
 * Oracles:
 *  - failure => negative code, *k == NULL, and for TS_EPARSE a
 *    NUL-terminated "NAME:LINE: what" message;
 *  - success => keys sorted by code; every code valid; Z85 text 40
 *    characters; every key found again by ts_keys_sign_for (all its
 *    answers carry the code asked for) and by ts_keys_by_curve (the
 *    answer has the same CURVE key); the binary CURVE key encodes back
 *    to its Z85 text (no group wrapped modulo 2^32); no CURVE or signing
 *    key is shared by two units and no line repeats a unit's key.
 */
#include <string.h>

#include "fuzz.h"
#include "tiersync/topology.h"

#define NAME "fuzz.keys"

/* Z85 (ZeroMQ RFC 32) of 32 bytes into 41 bytes of text. */
static void
z85_encode32(const uint8_t *in, char *out)
{
	static const char enc[] = "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
	size_t i, j;

	for (i = 0; i < 32; i += 4) {
		uint32_t v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 |
		    (uint32_t)in[i + 2] << 8 | in[i + 3];
		for (j = 5; j-- > 0; v /= 85)
			out[i / 4 * 5 + j] = enc[v % 85];
	}
	out[40] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_keys *k = (ts_keys *)1;
	const ts_key *found[8], *by;
	char err[512], z85[TS_CURVE_Z85_LEN + 1];
	size_t i, j, n;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = ts_keys_parse(&k, NAME, (const char *)data, size, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(k == NULL);
		if (rc == TS_EPARSE)
			FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0 &&
			    strlen(err) > strlen(NAME) + 2);
		return 0;
	}
	FUZZ_CHECK(k != NULL);
	FUZZ_CHECK(k->nkeys == 0 || k->keys != NULL);
	for (i = 0; i < k->nkeys; i++) {
		const ts_key *key = &k->keys[i];
		FUZZ_CHECK(ts_valid_code(key->code, strlen(key->code)) == 0);
		FUZZ_CHECK(strlen(key->curve_pk) == TS_CURVE_Z85_LEN);
		if (i > 0)
			FUZZ_CHECK(strcmp(k->keys[i - 1].code, key->code) <= 0);
		n = ts_keys_sign_for(k, key->code, 0, found, 8);
		FUZZ_CHECK(n >= 1);
		for (j = 0; j < n && j < 8; j++)
			FUZZ_CHECK(strcmp(found[j]->code, key->code) == 0);
		z85_encode32(key->curve_bin, z85);
		FUZZ_CHECK(strcmp(z85, key->curve_pk) == 0);
		for (j = 0; j < i && k->nkeys <= 4096; j++) {
			const ts_key *o = &k->keys[j];
			int same_code = strcmp(o->code, key->code) == 0;
			int same_sign = memcmp(o->sign_pk, key->sign_pk,
			    TS_SIGN_PK_LEN) == 0;
			int same_curve = memcmp(o->curve_bin, key->curve_bin,
			    32) == 0;
			FUZZ_CHECK(same_code || (!same_sign && !same_curve));
			FUZZ_CHECK(!(same_code && same_sign && same_curve));
		}
		by = ts_keys_by_curve(k, key->curve_bin, 0);
		FUZZ_CHECK(by != NULL &&
		    memcmp(by->curve_bin, key->curve_bin, 32) == 0);
	}
	ts_keys_free(&k);
	FUZZ_CHECK(k == NULL);
	return 0;
}
