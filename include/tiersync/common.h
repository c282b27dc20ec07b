/*
 * tiersync — common definitions: error codes, limits, small helpers.
 *
 * Error convention (as in LMDB/libsodium): functions return 0 on success
 * and a negative TS_E* code on failure.  TS_ESYS means "see errno".
 *
 * Never colliding: every TS_E* code lies in [TS_ERR_MIN, TS_ERR_MAX] =
 * [-31099, -31000].  errno values are positive (and the "-errno"
 * convention, which ts_strerror also accepts, gives [-4095, -1]); LMDB's
 * MDB_* codes are [-30799, -30780].  So a TS_E* code is never mistaken
 * for either; LMDB and errno codes become TS_E* codes in exactly one
 * place, ts_store_mdb_err (store.h).  tests/test_common.c and
 * tests/test_store.c check the ranges.
 *
 * The numbers are stable (they are logged, and tests compare them): a
 * code nothing returns any more is deleted and its number left unused,
 * never given to another code.  Retired: -31008 .. -31012 (ESUBTREE,
 * EREPLAY, EGAP, EFORK, ECHAIN) and -31018 (EPROTO) -- the downlink
 * decides those verdicts itself as TS_ST_* statuses (proto.h); no
 * function ever returned them.
 */
#ifndef TIERSYNC_COMMON_H
#define TIERSYNC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tiersync/version.h"   /* TS_VERSION_STRING, generated from CMake */

#define TS_ERR_MAX	(-31000)	/* TS_ESYS, the first code     */
#define TS_ERR_MIN	(-31099)	/* the last number reserved    */
#define TS_IS_ERR(rc)	((rc) >= TS_ERR_MIN && (rc) <= TS_ERR_MAX)

enum ts_err {
	TS_OK         = 0,
	TS_ESYS       = -31000, /* system call failed; errno holds the cause */
	TS_ENOMEM     = -31001, /* allocation failed */
	TS_EMALFORMED = -31002, /* bytes are not the expected msgpack shape,
	                           truncated, or have trailing bytes */
	TS_ELIMIT     = -31003, /* a size, count or depth limit is exceeded */
	TS_EVERSION   = -31004, /* unknown format or protocol version */
	TS_ENONCANON  = -31005, /* msgpack is valid but not in canonical form */
	TS_ESIG       = -31006, /* Ed25519 signature does not verify */
	TS_EUNKNOWN   = -31007, /* unknown unit, key or message type */
	/* -31008 .. -31012 retired (see above) */
	TS_ESTORE     = -31013, /* LMDB error, or a malformed / corrupt
	                           record in the store (logged where it
	                           happened) */
	TS_ENOSPC     = -31014, /* full: disk, quota, map at mapsize_max, or
	                           an LMDB txn with too many dirty pages */
	TS_ENOTFOUND  = -31015, /* key not present */
	TS_EPARSE     = -31016, /* text input (file, CLI) is invalid */
	TS_EINVAL     = -31017, /* invalid argument */
	TS_ERANGE     = -31019, /* a numerator or denominator over
	                           TS_VALUE_MAX */
	/* -31018 retired (see above) */
};

/* Human-readable text for a TS_E* code (or a negative/positive errno). */
const char *ts_strerror(int err);

/* ---- Limits (enforced by every decoder and parser) ---------------- */
#define TS_CODE_MAX      16      /* unit code, bytes, excluding NUL     */
#define TS_PERIOD_MAX    10      /* "2025", "2025Q3", "2025-07"          */
#define TS_IND_MAX       32      /* indicator id                         */
#define TS_DIS_MAX       64      /* disaggregation key ("" = total)      */
#define TS_TOPO_MAX      64      /* topology version id                  */
#define TS_CAT_MAX       64      /* indicator catalogue id               */
#define TS_REASON_MAX    256     /* ERR reason text                      */
#define TS_NAME_MAX      256     /* unit name (UTF-8), bytes             */
#define TS_HASH_LEN      32      /* BLAKE2b-256                          */
#define TS_SIG_LEN       64      /* Ed25519 signature                    */
#define TS_SIGN_PK_LEN   32
#define TS_SIGN_SK_LEN   64
#define TS_CURVE_Z85_LEN 40      /* CURVE key, Z85 text, excluding NUL   */
#define TS_VALUES_MAX    65536   /* values in one report                 */
/* Every numerator and denominator, at entry, on the wire and in every
 * sum: 2^53 - 1, the largest integer every JSON reader and DHIS2 holds
 * exactly.  A rollup whose sum would pass it leaves that value out and
 * says so (node/rollup.c); 2^64 / 2^53 = 2048 children could still not
 * overflow a uint64 sum. */
#define TS_VALUE_MAX     ((UINT64_C(1) << 53) - 1)
#define TS_PROV_MAX      65536   /* provenance entries in one report     */
#define TS_BATCH_MAX     4096    /* envelopes in one PUSH                */
#define TS_WELCOME_MAX   200000  /* origins listed in one WELCOME        */
#define TS_ENV_MAX       (4u << 20)  /* one envelope, bytes              */
#define TS_MSG_MAX       (32u << 20) /* one link message, bytes          */
#define TS_DEPTH_MAX     8       /* msgpack nesting depth                */

/* Growable byte buffer.  Owns buf; free with ts_buf_free. */
typedef struct ts_buf {
	uint8_t *buf;
	size_t   len;
	size_t   cap;
} ts_buf;

int  ts_buf_reserve(ts_buf *b, size_t extra);   /* TS_ENOMEM */
int  ts_buf_append(ts_buf *b, const void *p, size_t n);
void ts_buf_reset(ts_buf *b);                   /* len = 0, keep memory */
void ts_buf_free(ts_buf *b);

/* Wall clock in milliseconds since the epoch; monotonic clock in ms. */
uint64_t ts_now_ms(void);
uint64_t ts_mono_ms(void);

/* Hex helpers.  hex must hold 2*n+1 bytes.  from_hex returns TS_EPARSE
 * unless s is exactly 2*n hex digits. */
void ts_to_hex(const uint8_t *p, size_t n, char *hex);
int  ts_from_hex(const char *s, uint8_t *p, size_t n);

/* Validators for identifiers; return 0 or TS_EPARSE.
 * A unit code is 1..TS_CODE_MAX of [0-9A-Za-z].
 * A period is YYYY, YYYYQn (n 1..4) or YYYY-MM (MM 01..12), year 2000..2999
 * (ts_period_parse in period.h, which also gives its parts).
 * An indicator id is 1..TS_IND_MAX of [0-9A-Za-z._-].
 * A disaggregation key is 0..TS_DIS_MAX printable ASCII, no tab/comma/newline. */
int ts_valid_code(const char *s, size_t len);
int ts_valid_period(const char *s, size_t len);
int ts_valid_indicator(const char *s, size_t len);
int ts_valid_dis(const char *s, size_t len);

#endif
