/*
 * Keys file: which signing and CURVE public keys belong to which unit
 * (docs/TOPOLOGY.md).  The parser is as strict as the topology's: a
 * node that trusts a key file it misread would admit the wrong peer.
 *
 * After parsing, keys are sorted by unit code (file order kept within
 * a unit), so ts_keys_sign_for is a binary search: the national node
 * looks up a commune's keys for every envelope it verifies.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiersync/identity.h"
#include "tiersync/topology.h"
#include "fields.h"
#include "tiersync/util.h"

#define KEYS_FILE_MAX	((size_t)64 << 20)

/* A parsed key and the line it came from, for sorting and messages. */
struct kref {
	ts_key	*k;
	size_t	 line;
};

static int
by_code_line(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	int c = strcmp(x->k->code, y->k->code);

	if (c == 0)
		c = memcmp(x->k->sign_pk, y->k->sign_pk, TS_SIGN_PK_LEN);
	if (c == 0)
		c = memcmp(x->k->curve_bin, y->k->curve_bin, 32);
	if (c == 0)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

static int
by_sign_line(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	int c = memcmp(x->k->sign_pk, y->k->sign_pk, TS_SIGN_PK_LEN);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* ts_key pointers by CURVE key, then by position (file order within a
 * unit, as keys[] keeps it). */
static int
by_curve_ptr(const void *a, const void *b)
{
	const ts_key *x = *(const ts_key *const *)a, *y = *(const ts_key *const *)b;
	int c = memcmp(x->curve_bin, y->curve_bin, 32);

	return c != 0 ? c : (x > y) - (x < y);
}

static int
by_curve_line(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	int c = memcmp(x->k->curve_bin, y->k->curve_bin, 32);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static int
by_code_only_line(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	int c = strcmp(x->k->code, y->k->code);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Parse one non-comment line into *k. */
static int
key_line(const char *p, size_t len, ts_key *k, const char *name, size_t ln,
    char *err, size_t errlen)
{
	ts_field fv[4];
	char	 b[96], hex[2 * TS_SIGN_PK_LEN + 1];
	size_t	 nf, i;
	uint64_t v;

	nf = ts_tsv_split(p, len, fv, 4);
	if (nf != 3 && nf != 4)
		return tp_perr(err, errlen, name, ln, "%zu fields, want 3 or 4 "
		    "(code<TAB>sign_pk_hex<TAB>curve_pk_z85[<TAB>not_after])", nf);
	if (ts_valid_code(fv[0].p, fv[0].len) != 0)
		return tp_perr(err, errlen, name, ln, "invalid code '%s' (want "
		    "1..%d of [0-9A-Za-z])", tp_show_bytes(&fv[0], b, sizeof(b), 1),
		    TS_CODE_MAX);
	memcpy(k->code, fv[0].p, fv[0].len);
	k->code[fv[0].len] = '\0';

	if (fv[1].len != 2 * TS_SIGN_PK_LEN)
		return tp_perr(err, errlen, name, ln, "unit '%s': bad signing key: "
		    "%zu characters, want %d hex digits", k->code, fv[1].len,
		    2 * TS_SIGN_PK_LEN);
	memcpy(hex, fv[1].p, fv[1].len);
	hex[fv[1].len] = '\0';
	if (ts_from_hex(hex, k->sign_pk, TS_SIGN_PK_LEN) != 0)
		return tp_perr(err, errlen, name, ln, "unit '%s': bad signing key: "
		    "not hex '%s'", k->code, tp_show_bytes(&fv[1], b, sizeof(b), 1));

	if (fv[2].len != TS_CURVE_Z85_LEN)
		return tp_perr(err, errlen, name, ln, "unit '%s': bad CURVE key: "
		    "%zu characters, want %d Z85 characters", k->code,
		    fv[2].len, TS_CURVE_Z85_LEN);
	memcpy(k->curve_pk, fv[2].p, fv[2].len);
	k->curve_pk[fv[2].len] = '\0';
	if (ts_z85_decode32(k->curve_pk, k->curve_bin) != 0)
		return tp_perr(err, errlen, name, ln, "unit '%s': bad CURVE key: "
		    "not Z85 '%s'", k->code, tp_show_bytes(&fv[2], b, sizeof(b), 1));

	k->not_after = 0;
	if (nf == 4 && !(fv[3].len == 1 && fv[3].p[0] == '-')) {
		/* 0 would read back as "no limit", the opposite of what
		 * anyone writing it meant, so it is refused. */
		v = 0;
		for (i = 0; i < fv[3].len; i++) {
			if (fv[3].p[i] < '0' || fv[3].p[i] > '9' ||
			    v > (UINT64_MAX - 9) / 10) {
				v = 0;
				break;
			}
			v = v * 10 + (uint64_t)(fv[3].p[i] - '0');
		}
		if (v == 0)
			return tp_perr(err, errlen, name, ln, "unit '%s': bad "
			    "not_after '%s' (want '-' or unix seconds > 0)",
			    k->code, tp_show_bytes(&fv[3], b, sizeof(b), 1));
		k->not_after = v;
	}
	return 0;
}

/*
 * Checks across lines, after every line parsed: the same key twice for
 * a unit, and one key shared by two units (the ZAP handler maps a CURVE
 * key to exactly one unit, and a shared signing key would let one unit
 * sign as another).  Of all conflicts the one on the earliest line is
 * reported, as a line-by-line parser would.
 */
static int
cross_check(struct kref *r, size_t n, const char *name, char *err,
    size_t errlen)
{
	size_t	 i, bad = 0, other = 0;
	int	 kind = 0;
	const char *bcode = "", *ocode = "";

	qsort(r, n, sizeof(*r), by_code_line);
	for (i = 1; i < n; i++)
		if (strcmp(r[i - 1].k->code, r[i].k->code) == 0 &&
		    memcmp(r[i - 1].k->sign_pk, r[i].k->sign_pk, TS_SIGN_PK_LEN) == 0 &&
		    memcmp(r[i - 1].k->curve_bin, r[i].k->curve_bin, 32) == 0 &&
		    (bad == 0 || r[i].line < bad)) {
			bad = r[i].line;
			other = r[i - 1].line;
			bcode = r[i].k->code;
			ocode = r[i - 1].k->code;
			kind = 1;
		}
	qsort(r, n, sizeof(*r), by_sign_line);
	for (i = 1; i < n; i++)
		if (memcmp(r[i - 1].k->sign_pk, r[i].k->sign_pk, TS_SIGN_PK_LEN) == 0 &&
		    strcmp(r[i - 1].k->code, r[i].k->code) != 0 &&
		    (bad == 0 || r[i].line < bad)) {
			bad = r[i].line;
			other = r[i - 1].line;
			bcode = r[i].k->code;
			ocode = r[i - 1].k->code;
			kind = 2;
		}
	qsort(r, n, sizeof(*r), by_curve_line);
	for (i = 1; i < n; i++)
		if (memcmp(r[i - 1].k->curve_bin, r[i].k->curve_bin, 32) == 0 &&
		    strcmp(r[i - 1].k->code, r[i].k->code) != 0 &&
		    (bad == 0 || r[i].line < bad)) {
			bad = r[i].line;
			other = r[i - 1].line;
			bcode = r[i].k->code;
			ocode = r[i - 1].k->code;
			kind = 3;
		}
	if (kind == 1)
		return tp_perr(err, errlen, name, bad, "unit '%s': duplicate key "
		    "(same keys as line %zu)", bcode, other);
	if (kind == 2)
		return tp_perr(err, errlen, name, bad, "unit '%s': signing key "
		    "already listed for unit '%s' at line %zu", bcode, ocode,
		    other);
	if (kind == 3)
		return tp_perr(err, errlen, name, bad, "unit '%s': CURVE key "
		    "already listed for unit '%s' at line %zu", bcode, ocode,
		    other);
	return 0;
}

void
ts_keys_free(ts_keys **kp)
{
	if (kp == NULL || *kp == NULL)
		return;
	free((*kp)->keys);
	free((*kp)->by_curve);
	free(*kp);
	*kp = NULL;
}

int
ts_keys_parse(ts_keys **kp, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	ts_keys		*k = NULL;
	ts_key		*tmp = NULL;
	struct kref	*r = NULL;
	ts_lines	 lr;
	const char	*p, *why;
	size_t		 ln = 0, llen, n = 0, cap = 0, i;
	int		 rc;

	if (kp == NULL)
		return TS_EINVAL;
	*kp = NULL;
	if ((rc = tp_parse_start(text, len, err, errlen)) != 0)
		return rc;
	if (name == NULL)
		name = "keys";

	ts_lines_init(&lr, text, len);
	while ((rc = ts_lines_next(&lr, &p, &llen, &why)) != 0) {
		ln = lr.line;
		if (rc < 0) {
			rc = tp_perr(err, errlen, name, ln, "%s", why);
			goto fail;
		}
		if (ts_line_skip(p, llen))
			continue;
		if (n == cap) {
			ts_key		*nk;
			struct kref	*nr;

			cap = cap ? cap * 2 : 64;
			if ((nk = realloc(tmp, cap * sizeof(*tmp))) == NULL) {
				rc = TS_ENOMEM;
				goto fail;
			}
			tmp = nk;
			if ((nr = realloc(r, cap * sizeof(*r))) == NULL) {
				rc = TS_ENOMEM;
				goto fail;
			}
			r = nr;
		}
		memset(&tmp[n], 0, sizeof(tmp[n]));
		if ((rc = key_line(p, llen, &tmp[n], name, ln, err, errlen)) != 0)
			goto fail;
		r[n].line = ln;
		n++;
	}
	/* tmp may have moved while growing: point the refs last. */
	for (i = 0; i < n; i++)
		r[i].k = &tmp[i];
	if (n > 1 && (rc = cross_check(r, n, name, err, errlen)) != 0)
		goto fail;

	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (n > 0 && (k->keys = calloc(n, sizeof(*k->keys))) == NULL)) {
		rc = TS_ENOMEM;
		goto fail;
	}
	if (n > 0)
		qsort(r, n, sizeof(*r), by_code_only_line);
	for (i = 0; i < n; i++)
		k->keys[i] = *r[i].k;
	k->nkeys = n;
	if (n > 0 && (k->by_curve = calloc(n, sizeof(*k->by_curve))) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++)
		k->by_curve[i] = &k->keys[i];
	if (n > 1)
		qsort(k->by_curve, n, sizeof(*k->by_curve), by_curve_ptr);
	free(tmp);
	free(r);
	*kp = k;
	return 0;
fail:
	free(tmp);
	free(r);
	ts_keys_free(&k);
	return rc;
}

int
ts_keys_load(ts_keys **kp, const char *path, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if (kp == NULL || path == NULL)
		return TS_EINVAL;
	*kp = NULL;
	if ((rc = ts_file_read(path, KEYS_FILE_MAX, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	rc = ts_keys_parse(kp, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

static int
key_valid(const ts_key *k, uint64_t now_s)
{
	return k->not_after == 0 || k->not_after >= now_s;
}

size_t
ts_keys_sign_for(const ts_keys *k, const char *code, uint64_t now_s,
    const ts_key **out, size_t max)
{
	size_t	lo, hi, mid, found = 0;

	if (k == NULL || code == NULL || k->nkeys == 0)
		return 0;
	/* Lower bound of code in the sorted array. */
	lo = 0;
	hi = k->nkeys;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(k->keys[mid].code, code) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->nkeys && strcmp(k->keys[lo].code, code) == 0; lo++) {
		if (!key_valid(&k->keys[lo], now_s))
			continue;
		if (found < max && out != NULL)
			out[found] = &k->keys[lo];
		found++;
	}
	return found;
}

const ts_key *
ts_keys_by_curve(const ts_keys *k, const uint8_t pk[32], uint64_t now_s)
{
	size_t	lo, hi, mid;

	/* Binary search: national's keys file lists the whole country, and
	 * the downlink looks every session's key up once a second. */
	if (k == NULL || pk == NULL || k->nkeys == 0 || k->by_curve == NULL)
		return NULL;
	lo = 0;
	hi = k->nkeys;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(k->by_curve[mid]->curve_bin, pk, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->nkeys && memcmp(k->by_curve[lo]->curve_bin, pk, 32) == 0; lo++)
		if (key_valid(k->by_curve[lo], now_s))
			return k->by_curve[lo];
	return NULL;
}

const ts_key *
ts_keys_newest_for(const ts_keys *k, const char *code, uint64_t now_s)
{
	size_t n = ts_keys_sign_for(k, code, now_s, NULL, 0);
	const ts_key *last = NULL;
	size_t i;

	if (n == 0)
		return NULL;
	/* Keys of one unit are sorted by line: the newest valid is the
	 * last one sign_for would list, however many there are. */
	for (i = 0; i < k->nkeys; i++)
		if (strcmp(k->keys[i].code, code) == 0 &&
		    key_valid(&k->keys[i], now_s))
			last = &k->keys[i];
	return last;
}
