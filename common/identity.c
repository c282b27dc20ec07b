/* A node's own key files: see include/tiersync/identity.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "tiersync/identity.h"

static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int
ts_z85_decode32(const char *z, uint8_t out[32])
{
	size_t i, j;

	if (z == NULL || strlen(z) != TS_CURVE_Z85_LEN)
		return TS_EPARSE;
	for (i = 0, j = 0; i < TS_CURVE_Z85_LEN; i += 5) {
		uint64_t v = 0;
		size_t k;
		for (k = 0; k < 5; k++) {
			const char *c = strchr(z85_chars, z[i + k]);
			if (z[i + k] == '\0' || c == NULL)
				return TS_EPARSE;
			v = v * 85 + (uint64_t)(c - z85_chars);
		}
		if (v > 0xffffffffu)
			return TS_EPARSE;
		out[j++] = (uint8_t)(v >> 24);
		out[j++] = (uint8_t)(v >> 16);
		out[j++] = (uint8_t)(v >> 8);
		out[j++] = (uint8_t)v;
	}
	return 0;
}

void
ts_z85_encode32(const uint8_t in[32], char out[TS_CURVE_Z85_LEN + 1])
{
	size_t i, o = 0;

	for (i = 0; i < 32; i += 4) {
		uint32_t v = ((uint32_t)in[i] << 24) | ((uint32_t)in[i + 1] << 16) |
		    ((uint32_t)in[i + 2] << 8) | in[i + 3];
		int k;
		for (k = 4; k >= 0; k--) {
			out[o + (size_t)k] = z85_chars[v % 85];
			v /= 85;
		}
		o += 5;
	}
	out[o] = '\0';
}

static void
seterr(char *err, size_t errlen, const char *path, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, what);
}

/* Read "public X\nsecret Y\n" with exact field lengths. */
static int
read_pair(const char *path, char *pub, size_t publen, char *sec, size_t seclen,
    char *err, size_t errlen)
{
	char buf[512], *line, *save = NULL;
	struct stat sb;
	ssize_t r;
	int fd, got = 0, lineno = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, path, strerror(errno));
		return TS_ESYS;
	}
	if (fstat(fd, &sb) == -1) {
		seterr(err, errlen, path, strerror(errno));
		close(fd);
		return TS_ESYS;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		seterr(err, errlen, path, "key file is accessible by group or "
		    "others (chmod 600 it)");
		close(fd);
		return TS_EPARSE;
	}
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r < 0) {
		seterr(err, errlen, path, strerror(errno));
		return TS_ESYS;
	}
	buf[r] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char tmp[128];
		lineno++;
		if (strncmp(line, "public ", 7) == 0 && strlen(line + 7) == publen) {
			memcpy(pub, line + 7, publen + 1);
			got |= 1;
		} else if (strncmp(line, "secret ", 7) == 0 &&
		    strlen(line + 7) == seclen) {
			memcpy(sec, line + 7, seclen + 1);
			got |= 2;
		} else {
			snprintf(tmp, sizeof(tmp), "line %d: expected 'public' or "
			    "'secret' with a key of the right length", lineno);
			seterr(err, errlen, path, tmp);
			sodium_memzero(buf, sizeof(buf));
			return TS_EPARSE;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	if (got != 3) {
		seterr(err, errlen, path, "needs one 'public' and one 'secret' line");
		return TS_EPARSE;
	}
	return 0;
}

int
ts_identity_load(ts_identity *id, const char *sign_path, const char *curve_path,
    char *err, size_t errlen)
{
	char pub[2 * TS_SIGN_PK_LEN + 1], sec[2 * TS_SIGN_SK_LEN + 1];
	uint8_t check[TS_SIGN_PK_LEN], b1[32], b2[32];
	int rc;

	memset(id, 0, sizeof(*id));
	if ((rc = read_pair(sign_path, pub, sizeof(pub) - 1, sec, sizeof(sec) - 1,
	    err, errlen)) != 0)
		return rc;
	if (ts_from_hex(pub, id->sign_pk, sizeof(id->sign_pk)) != 0 ||
	    ts_from_hex(sec, id->sign_sk, sizeof(id->sign_sk)) != 0) {
		sodium_memzero(sec, sizeof(sec));
		seterr(err, errlen, sign_path, "key is not hex");
		return TS_EPARSE;
	}
	sodium_memzero(sec, sizeof(sec));
	/* The secret key embeds its public key: a mismatch means the file
	 * was edited or assembled from two keys. */
	if (crypto_sign_ed25519_sk_to_pk(check, id->sign_sk) != 0 ||
	    memcmp(check, id->sign_pk, sizeof(check)) != 0) {
		ts_identity_wipe(id);
		seterr(err, errlen, sign_path, "public key does not match secret key");
		return TS_EPARSE;
	}
	if ((rc = read_pair(curve_path, id->curve_pk, TS_CURVE_Z85_LEN,
	    id->curve_sk, TS_CURVE_Z85_LEN, err, errlen)) != 0) {
		ts_identity_wipe(id);
		return rc;
	}
	if (ts_z85_decode32(id->curve_pk, b1) != 0 ||
	    ts_z85_decode32(id->curve_sk, b2) != 0 ||
	    crypto_scalarmult_base(check, b2) != 0 ||
	    memcmp(check, b1, 32) != 0) {
		sodium_memzero(b2, sizeof(b2));
		ts_identity_wipe(id);
		seterr(err, errlen, curve_path, "not a valid Z85 CURVE key pair");
		return TS_EPARSE;
	}
	sodium_memzero(b2, sizeof(b2));
	return 0;
}

static int
write_excl(const char *path, const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text), off = 0;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		seterr(err, errlen, path, strerror(errno));
		return TS_ESYS;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, path, strerror(errno));
			close(fd);
			unlink(path);
			return TS_ESYS;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		seterr(err, errlen, path, strerror(errno));
		unlink(path);
		return TS_ESYS;
	}
	return 0;
}

int
ts_identity_save(const ts_identity *id, const char *sign_path,
    const char *curve_path, char *err, size_t errlen)
{
	char text[512], pk[2 * TS_SIGN_PK_LEN + 1], sk[2 * TS_SIGN_SK_LEN + 1];
	int rc;

	ts_to_hex(id->sign_pk, sizeof(id->sign_pk), pk);
	ts_to_hex(id->sign_sk, sizeof(id->sign_sk), sk);
	snprintf(text, sizeof(text), "public %s\nsecret %s\n", pk, sk);
	rc = write_excl(sign_path, text, err, errlen);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	if (rc != 0)
		return rc;
	snprintf(text, sizeof(text), "public %s\nsecret %s\n", id->curve_pk,
	    id->curve_sk);
	rc = write_excl(curve_path, text, err, errlen);
	sodium_memzero(text, sizeof(text));
	if (rc != 0)
		unlink(sign_path);      /* all or nothing */
	return rc;
}

int
ts_identity_generate(ts_identity *id)
{
	uint8_t cpk[32], csk[32];

	memset(id, 0, sizeof(*id));
	if (sodium_init() < 0)
		return TS_ESIG;
	if (crypto_sign_keypair(id->sign_pk, id->sign_sk) != 0)
		return TS_ESIG;
	if (crypto_box_keypair(cpk, csk) != 0) {
		ts_identity_wipe(id);
		return TS_ESIG;
	}
	ts_z85_encode32(cpk, id->curve_pk);
	ts_z85_encode32(csk, id->curve_sk);
	sodium_memzero(csk, sizeof(csk));
	return 0;
}

void
ts_identity_wipe(ts_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}
