/*
 * A node's own keys (docs/CONFIG.md "Key files").
 *   sign.key : "public <64 hex>\nsecret <128 hex>\n"  (Ed25519, libsodium)
 *   curve.key: "public <40 Z85>\nsecret <40 Z85>\n"   (CURVE25519, ZeroMQ)
 * Files are created 0600 in a 0700 directory; loading refuses a key
 * file readable or writable by group or others.
 * Errors: TS_EPARSE/TS_ESYS with "path: what" in err.
 */
#ifndef TIERSYNC_IDENTITY_H
#define TIERSYNC_IDENTITY_H

#include "tiersync/common.h"

typedef struct ts_identity {
	uint8_t sign_pk[TS_SIGN_PK_LEN];
	uint8_t sign_sk[TS_SIGN_SK_LEN];
	char    curve_pk[TS_CURVE_Z85_LEN + 1];
	char    curve_sk[TS_CURVE_Z85_LEN + 1];
} ts_identity;

int ts_identity_load(ts_identity *id, const char *sign_path,
                     const char *curve_path, char *err, size_t errlen);
/* Write key files from id with O_EXCL (never overwrites). */
int ts_identity_save(const ts_identity *id, const char *sign_path,
                     const char *curve_path, char *err, size_t errlen);
/* Decode a Z85 CURVE key (40 chars) into 32 bytes: 0 or TS_EPARSE. */
int ts_z85_decode32(const char *z85, uint8_t out[32]);
void ts_z85_encode32(const uint8_t in[32], char out[TS_CURVE_Z85_LEN + 1]);
/* Fresh keys: Ed25519 (crypto_sign_keypair) and CURVE25519
 * (crypto_box_keypair, the curve ZeroMQ's CURVE uses). TS_ESIG on failure. */
int  ts_identity_generate(ts_identity *id);
void ts_identity_wipe(ts_identity *id);

#endif
