/*
 * Internal to proto/: a bounded msgpack cursor reader, and the packing
 * helpers shared by envelope.c and link.c.
 *
 * The reader never allocates and never recurses.  It understands only
 * the types our schemas use (array, unsigned int, str, bin, nil), checks
 * every declared length against the bytes that remain before using it,
 * and is strict about canonical form: an integer, string, binary or
 * array header that is longer than the smallest encoding of its value
 * is refused with TS_ENONCANON.  Wrong type or truncation gives
 * TS_EMALFORMED.  After an error the cursor's position is unspecified;
 * callers abandon the whole decode.
 */
#ifndef TIERSYNC_MPREAD_H
#define TIERSYNC_MPREAD_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "tiersync/common.h"
#include "tiersync/proto.h"

typedef struct ts_mpr {
	const uint8_t	*p;	/* next byte to read */
	size_t		 left;	/* bytes remaining   */
} ts_mpr;

void	ts_mpr_init(ts_mpr *c, const uint8_t *p, size_t len);

/* Array header: *n = element count (not checked against anything). */
int	ts_mpr_array(ts_mpr *c, size_t *n);
/* Array header with exactly want elements, else TS_EMALFORMED. */
int	ts_mpr_array_n(ts_mpr *c, size_t want);
/*
 * Array header for a list the caller will allocate: TS_ELIMIT if the
 * count exceeds max, TS_EMALFORMED if the remaining bytes cannot hold
 * that many elements of at least minelem bytes each.  This bounds any
 * allocation by the input size.
 */
int	ts_mpr_array_max(ts_mpr *c, size_t *n, size_t max, size_t minelem);

/* Unsigned integer (positive fixint, uint8..64).  Negative integers,
 * floats and everything else: TS_EMALFORMED. */
int	ts_mpr_uint(ts_mpr *c, uint64_t *v);
/* Unsigned integer <= max, else TS_EMALFORMED. */
int	ts_mpr_uint_max(ts_mpr *c, uint64_t max, uint64_t *v);
int	ts_mpr_nil(ts_mpr *c);
/* str / bin: *s points into the input, *len bytes. */
int	ts_mpr_str(ts_mpr *c, const char **s, size_t *len);
int	ts_mpr_bin(ts_mpr *c, const uint8_t **p, size_t *len);
/* bin of exactly n bytes copied to dst, else TS_EMALFORMED. */
int	ts_mpr_bin_n(ts_mpr *c, uint8_t *dst, size_t n);
/*
 * str of at most max bytes (else TS_ELIMIT) without NUL (else
 * TS_EMALFORMED), checked in that order; *s points into the input.
 */
int	ts_mpr_str_max(ts_mpr *c, size_t max, const char **s, size_t *len);
/* ts_mpr_str_max, then copied to dst (max + 1 bytes), NUL-terminated. */
int	ts_mpr_str_copy(ts_mpr *c, char *dst, size_t max);
/* 0 if every byte was consumed, else TS_EMALFORMED (trailing bytes). */
int	ts_mpr_end(const ts_mpr *c);

/* ---- packing helpers (envelope.c) --------------------------------- */

/* A packer that appends to b; write errors surface as TS_ENOMEM. */
void	ts_pk_init(msgpack_packer *pk, ts_buf *b);
int	ts_pk_array(msgpack_packer *pk, size_t n);
int	ts_pk_uint(msgpack_packer *pk, uint64_t v);
int	ts_pk_str(msgpack_packer *pk, const char *s, size_t len);
int	ts_pk_bin(msgpack_packer *pk, const void *p, size_t len);

/* Length of the NUL-terminated text in a size-byte field; TS_ELIMIT if
 * there is no NUL within size or the text is longer than max. */
int	ts_text_len(const char *s, size_t size, size_t max, size_t *len);

/*
 * Values lists ([[ind, dis, num, den], ...]) are shared by the report
 * body and CTL_PUT.  ts_values_check validates ids and the count and,
 * when sorted is set, strict (ind, dis) order (TS_EINVAL otherwise).
 * ts_values_read decodes a list into a new heap array (*out, free());
 * when sorted is set, out-of-order or duplicate pairs give TS_ENONCANON.
 */
int	ts_values_check(const ts_value *v, size_t n, int sorted);
int	ts_values_pack(msgpack_packer *pk, const ts_value *v, size_t n);
int	ts_values_read(ts_mpr *c, int sorted, ts_value **out, size_t *n);

#endif
