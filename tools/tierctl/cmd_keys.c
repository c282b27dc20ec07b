/*
 * tierctl keys show | rotate | revoke | reload
 *
 * show    this node's public keys, its keys-file line, and the keys
 *         file's lines for this unit, its parent and its children with
 *         their validity.
 * rotate  new key pair for this node.  The new sign.key / curve.key
 *         replace the old ones atomically (rename), the old ones are
 *         kept as sign.key.old / curve.key.old; in the keys file the
 *         old line gets not_after = now + overlap and the new line is
 *         added, so the parent (whose keys file must learn the new line,
 *         docs/OPERATIONS.md) accepts both during the overlap.
 * revoke  expire (or --remove) a unit's lines in the keys file, then
 *         CTL_RELOAD the daemon: the ZAP handler refuses the key at the
 *         next handshake and the daemon drops open sessions of that key.
 * reload  CTL_RELOAD only (after editing the keys file by hand).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tiersync/identity.h"
#include "ops.h"

/* As the daemon's keys parser (topology/keys.c). */
#define KFILE_MAX ((size_t)64 << 20)

#define DEFAULT_OVERLAP_S (7 * 86400)

/* ------------------------------------------------------------------ */
/* Keys file as text lines, edited in place and written atomically      */
/* ------------------------------------------------------------------ */

struct kline {
	char *text;                   /* without the line end               */
	int   crlf;
};

struct kfile {
	struct kline *l;
	size_t        n, cap;
	int           final_nl;
	mode_t        mode;
};

static void
kfile_free(struct kfile *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->l[i].text);
	free(f->l);
	memset(f, 0, sizeof(*f));
}

static int
kfile_add(struct kfile *f, const char *s, size_t len, int crlf)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct kline *p = reallocarray(f->l, cap, sizeof(*p));
		if (p == NULL)
			return -1;
		f->l = p;
		f->cap = cap;
	}
	if ((f->l[f->n].text = strndup(s, len)) == NULL)
		return -1;
	f->l[f->n++].crlf = crlf;
	return 0;
}

static int
kfile_read(const char *path, struct kfile *f, int missing_ok)
{
	char *buf = NULL, err[TS_PATH_MAX + 128];
	size_t len = 0, i, start;
	struct stat sb;
	int rc;

	memset(f, 0, sizeof(*f));
	f->mode = 0644;
	f->final_nl = 1;
	if ((rc = ts_file_read(path, KFILE_MAX, &buf, &len, err,
	    sizeof(err))) != 0) {
		if (rc == TS_ESYS && errno == ENOENT && missing_ok)
			return 0;
		ctl_errx("keys file %s", err);
		return -1;
	}
	/* Rewritten with the mode it had. */
	if (stat(path, &sb) == 0)
		f->mode = sb.st_mode & 07777;
	for (start = i = 0; i <= len; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		if (i == len && start == len)
			break;
		{
			size_t e = i;
			int crlf = e > start && buf[e - 1] == '\r';
			if (crlf)
				e--;
			if (kfile_add(f, buf + start, e - start, crlf) != 0) {
				free(buf);
				ctl_errx("out of memory");
				return -1;
			}
		}
		if (i == len)
			f->final_nl = 0;
		start = i + 1;
	}
	free(buf);
	return 0;
}

/* Render the file into b. */
static int
kfile_render(const struct kfile *f, ts_buf *b)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (ts_buf_append(b, f->l[i].text, strlen(f->l[i].text)) != 0 ||
		    (f->l[i].crlf && ts_buf_append(b, "\r", 1) != 0) ||
		    ((i + 1 < f->n || f->final_nl) && ts_buf_append(b, "\n", 1) != 0))
			return -1;
	}
	return 0;
}

/* Check with the real parser, then write tmp + fsync + rename. */
static int
kfile_write(const char *path, const struct kfile *f)
{
	char tmp[TS_PATH_MAX + 16], err[1024];
	ts_buf b = { NULL, 0, 0 };
	ts_keys *k = NULL;
	int fd = -1, rc = -1;

	if (kfile_render(f, &b) != 0) {
		ctl_errx("out of memory");
		goto out;
	}
	if (ts_keys_parse(&k, path, (const char *)b.buf, b.len, err,
	    sizeof(err)) != 0) {
		ctl_errx("the edited keys file would not load, nothing written: %s",
		    err);
		goto out;
	}
	ts_keys_free(&k);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, f->mode)) == -1) {
		ctl_errx("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((b.len > 0 && write(fd, b.buf, b.len) != (ssize_t)b.len) ||
	    fsync(fd) == -1) {
		ctl_errx("%s: write: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		ctl_errx("%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		ctl_errx("rename %s -> %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	ts_buf_free(&b);
	return rc;
}

/* Split a key line into its first 4 tab-separated fields, each
 * NUL-terminated in copy (ts_tsv_split); 0 for a comment or blank line. */
static int
kline_fields(const char *text, char *copy, size_t copylen, char *f[4])
{
	ts_field fv[4];
	size_t n, i;

	if (ts_line_skip(text, strlen(text)))
		return 0;
	snprintf(copy, copylen, "%s", text);
	if ((n = ts_tsv_split(copy, strlen(copy), fv, 4)) > 4)
		n = 4;
	for (i = 0; i < n; i++) {
		f[i] = copy + (fv[i].p - copy);
		f[i][fv[i].len] = '\0';
	}
	return (int)n;
}

static int
kline_set(struct kfile *kf, size_t i, char *f[4], int nf, uint64_t not_after)
{
	char line[512];

	(void)nf;
	snprintf(line, sizeof(line), "%s\t%s\t%s\t%" PRIu64, f[0], f[1], f[2],
	    not_after);
	free(kf->l[i].text);
	if ((kf->l[i].text = strdup(line)) == NULL) {
		ctl_errx("out of memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* show                                                                 */
/* ------------------------------------------------------------------ */

static const char *
key_role(const struct ctl *c, const char *code)
{
	int u, self;

	if (strcmp(code, c->cfg.unit) == 0)
		return "self";
	if (c->topo == NULL || (u = ts_topo_find(c->topo, code)) < 0 ||
	    (self = ts_topo_find(c->topo, c->cfg.unit)) < 0)
		return "other";
	if (c->topo->units[self].parent == u)
		return "parent";
	if (c->topo->units[u].parent == self)
		return "child";
	return "other";
}

static int
keys_show(struct ctl *c)
{
	ts_identity id;
	char err[1024], pk[2 * TS_SIGN_PK_LEN + 1], old[TS_PATH_MAX + 8];
	uint64_t now = ts_now_ms() / 1000;
	struct json j;
	size_t i;
	int in_file = 0, have_old;
	struct stat sb;

	if (ts_identity_load(&id, c->cfg.sign_key, c->cfg.curve_key, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAIL;
	}
	ts_to_hex(id.sign_pk, TS_SIGN_PK_LEN, pk);
	snprintf(old, sizeof(old), "%s.old", c->cfg.sign_key);
	have_old = stat(old, &sb) == 0;
	if (ctl_load_topo(c) != 0)
		ctl_warnx("roles (parent/child) will not be shown");
	if (ctl_load_keys(c) != 0) {
		ts_identity_wipe(&id);
		return EXIT_FAIL;
	}
	for (i = 0; i < c->keys->nkeys; i++)
		if (memcmp(c->keys->keys[i].sign_pk, id.sign_pk, TS_SIGN_PK_LEN) == 0)
			in_file = 1;
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "unit", c->cfg.unit);
		json_kstr(&j, "sign_pk", pk);
		json_kstr(&j, "curve_pk", id.curve_pk);
		json_kbool(&j, "in_keys_file", in_file);
		json_kbool(&j, "old_key_kept", have_old);
		json_kstr(&j, "keys_file", c->cfg.keys);
		json_key(&j, "keys");
		json_arr_begin(&j);
	} else {
		printf("unit        %s\n", c->cfg.unit);
		printf("sign key    %s\n", pk);
		printf("curve key   %s\n", id.curve_pk);
		printf("keys line   %s\t%s\t%s\n", c->cfg.unit, pk, id.curve_pk);
		if (have_old)
			printf("previous    kept in %s.old (remove after the overlap)\n",
			    c->cfg.sign_key);
		if (!in_file)
			printf("WARNING: this key is not in %s; the parent must "
			    "list it\n", c->cfg.keys);
		printf("\nkeys file %s:\n%-8s  %-6s  %-16s  %-40s  %s\n", c->cfg.keys,
		    "unit", "role", "sign key", "curve key", "valid");
	}
	for (i = 0; i < c->keys->nkeys; i++) {
		const ts_key *k = &c->keys->keys[i];
		const char *role = key_role(c, k->code);
		char kh[2 * TS_SIGN_PK_LEN + 1], when[32], valid[64];
		int ok = k->not_after == 0 || k->not_after >= now;

		if (strcmp(role, "other") == 0)
			continue;
		ts_to_hex(k->sign_pk, TS_SIGN_PK_LEN, kh);
		if (c->json) {
			json_obj_begin(&j);
			json_kstr(&j, "code", k->code);
			json_kstr(&j, "role", role);
			json_kstr(&j, "sign_pk", kh);
			json_kstr(&j, "curve_pk", k->curve_pk);
			json_ku64(&j, "not_after", k->not_after);
			json_kbool(&j, "valid", ok);
			json_kbool(&j, "current", memcmp(k->sign_pk, id.sign_pk,
			    TS_SIGN_PK_LEN) == 0);
			json_obj_end(&j);
			continue;
		}
		if (k->not_after == 0)
			snprintf(valid, sizeof(valid), "yes");
		else {
			fmt_iso8601(k->not_after * 1000, when, sizeof(when));
			snprintf(valid, sizeof(valid), "%s %s", ok ? "until" :
			    "EXPIRED", when);
		}
		kh[16] = '\0';
		printf("%-8s  %-6s  %-16s  %-40s  %s\n", k->code, role, kh,
		    k->curve_pk, valid);
	}
	if (c->json) {
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
	}
	ts_identity_wipe(&id);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* rotate                                                               */
/* ------------------------------------------------------------------ */

static int
parse_duration(const char *s, uint64_t *secs)
{
	const char *why;
	size_t len = strlen(s);
	uint64_t v, mul = 1;

	if (len > 0 && strchr("smhd", s[len - 1]) != NULL) {
		mul = s[len - 1] == 's' ? 1 : s[len - 1] == 'm' ? 60 :
		    s[len - 1] == 'h' ? 3600 : 86400;
		len--;
	}
	if (parse_u64(s, len, &v, &why) != 0) {
		ctl_errx("--overlap '%s': %s; want N, Ns, Nm, Nh or Nd", s,
		    len == 0 ? "is empty" : "is not a number of seconds, "
		    "minutes, hours or days");
		return -1;
	}
	if (v == 0 || v > UINT32_MAX / mul) {
		ctl_errx("--overlap '%s': must be between 1 second and about "
		    "136 years", s);
		return -1;
	}
	*secs = v * mul;
	return 0;
}

static int
path_exists(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0;
}

/* Keep `cur` as `cur.old` (hard link, replacing a stale .old), then put
 * `cur.new` in place with one rename: `cur` always holds a whole key. */
static int
swap_in(const char *cur)
{
	char oldp[TS_PATH_MAX + 8], newp[TS_PATH_MAX + 8];

	snprintf(oldp, sizeof(oldp), "%s.old", cur);
	snprintf(newp, sizeof(newp), "%s.new", cur);
	if (unlink(oldp) == -1 && errno != ENOENT) {
		ctl_errx("%s: %s", oldp, strerror(errno));
		return -1;
	}
	if (link(cur, oldp) == -1) {
		ctl_errx("keeping %s as %s: %s", cur, oldp, strerror(errno));
		return -1;
	}
	if (rename(newp, cur) == -1) {
		ctl_errx("rename %s -> %s: %s", newp, cur, strerror(errno));
		return -1;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char dir[TS_PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	if (fsync(fd) == -1)
		rc = -1;
	close(fd);
	return rc;
}

static int
keys_rotate(struct ctl *c, const char *overlap_arg, int force)
{
	ts_identity old, nw;
	char err[1024], sn[TS_PATH_MAX + 8], cn[TS_PATH_MAX + 8];
	char so[TS_PATH_MAX + 8], oldpk[2 * TS_SIGN_PK_LEN + 1];
	char newpk[2 * TS_SIGN_PK_LEN + 1], line[512], tmp[600];
	uint64_t overlap = DEFAULT_OVERLAP_S, now = ts_now_ms() / 1000, until;
	struct kfile kf;
	size_t i;
	int rc, updated = 0, ret = EXIT_FAIL;

	if (overlap_arg != NULL && parse_duration(overlap_arg, &overlap) != 0)
		return EXIT_FAIL;
	until = now + overlap;
	if (ts_identity_load(&old, c->cfg.sign_key, c->cfg.curve_key, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAIL;
	}
	ts_to_hex(old.sign_pk, TS_SIGN_PK_LEN, oldpk);
	snprintf(sn, sizeof(sn), "%s.new", c->cfg.sign_key);
	snprintf(cn, sizeof(cn), "%s.new", c->cfg.curve_key);
	snprintf(so, sizeof(so), "%s.old", c->cfg.sign_key);
	if (path_exists(sn) || path_exists(cn)) {
		ctl_errx("%s or %s exists: an earlier rotation was interrupted; "
		    "remove them and run 'tierctl keys rotate' again", sn, cn);
		goto out_old;
	}
	if (path_exists(so) && !force) {
		ctl_errx("%s exists: the previous rotation's overlap may not be "
		    "over; remove the *.old key files once it is (or use --force)",
		    so);
		goto out_old;
	}
	if (kfile_read(c->cfg.keys, &kf, 1) != 0)
		goto out_old;
	if ((rc = ts_identity_generate(&nw)) != 0) {
		ctl_errx("cannot generate keys: %s", ts_strerror(rc));
		goto out_kf;
	}
	ts_to_hex(nw.sign_pk, TS_SIGN_PK_LEN, newpk);
	snprintf(line, sizeof(line), "%s\t%s\t%s", c->cfg.unit, newpk, nw.curve_pk);
	/* The keys file first: if it cannot be written, nothing changed. */
	for (i = 0; i < kf.n; i++) {
		char *f[4];
		int nf = kline_fields(kf.l[i].text, tmp, sizeof(tmp), f);
		uint64_t na = 0;
		if (nf < 3 || strcmp(f[0], c->cfg.unit) != 0 ||
		    strcmp(f[1], oldpk) != 0)
			continue;
		if (nf == 4 && strcmp(f[3], "-") != 0)
			na = strtoull(f[3], NULL, 10);
		if ((na == 0 || na > until) && kline_set(&kf, i, f, nf, until) != 0)
			goto out_new;
		updated++;
	}
	if (updated > 0) {
		if (kfile_add(&kf, line, strlen(line), 0) != 0) {
			ctl_errx("out of memory");
			goto out_new;
		}
		kf.final_nl = 1;
		if (kfile_write(c->cfg.keys, &kf) != 0)
			goto out_new;
	}
	if (ts_identity_save(&nw, sn, cn, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		goto out_new;
	}
	if (swap_in(c->cfg.sign_key) != 0 || swap_in(c->cfg.curve_key) != 0 ||
	    fsync_dir_of(c->cfg.sign_key) != 0)
		goto out_new;
	ret = EXIT_OK;
	if (c->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "unit", c->cfg.unit);
		json_kstr(&j, "sign_pk", newpk);
		json_kstr(&j, "curve_pk", nw.curve_pk);
		json_kstr(&j, "old_sign_pk", oldpk);
		json_kstr(&j, "old_curve_pk", old.curve_pk);
		json_ku64(&j, "old_not_after", until);
		json_ku64(&j, "overlap_s", overlap);
		json_kbool(&j, "keys_file_updated", updated > 0);
		json_kstr(&j, "line", line);
		json_obj_end(&j);
		json_end(&j);
	} else {
		char when[32];
		fmt_iso8601(until * 1000, when, sizeof(when));
		printf("%s\n", line);
		fprintf(stderr, "tierctl: new keys in %s and %s; the old ones are "
		    "kept as *.old\n", c->cfg.sign_key, c->cfg.curve_key);
		if (updated > 0)
			fprintf(stderr, "tierctl: %s: old key valid until %s, new "
			    "line added\n", c->cfg.keys, when);
		else
			fprintf(stderr, "tierctl: %s has no line for this node's "
			    "old key; nothing changed there\n", c->cfg.keys);
		fprintf(stderr, "tierctl: next: send the line above to the "
		    "parent's operator (and every level above, which checks "
		    "signatures; and this node's children, which check its CURVE "
		    "key); they add it to their keys file, give the old line "
		    "not_after %" PRIu64 ", and run 'tierctl keys reload'.  Then "
		    "restart tiersyncd here (docs/OPERATIONS.md)\n", until);
	}
out_new:
	ts_identity_wipe(&nw);
out_kf:
	kfile_free(&kf);
out_old:
	ts_identity_wipe(&old);
	return ret;
}

/* ------------------------------------------------------------------ */
/* revoke                                                               */
/* ------------------------------------------------------------------ */

static int
keys_revoke(struct ctl *c, const char *code, const char *key, int remove,
    int noreload)
{
	struct kfile kf;
	char tmp[600];
	uint64_t now = ts_now_ms() / 1000;
	size_t i, o, matched = 0;
	int ret = EXIT_FAIL, rl = 1;

	if (ts_valid_code(code, strlen(code)) != 0) {
		ctl_errx("CODE '%s': not a unit code (1 to %d letters or digits)",
		    code, TS_CODE_MAX);
		return EXIT_FAIL;
	}
	if (strcmp(code, c->cfg.unit) == 0) {
		ctl_errx("CODE '%s' is this node's own unit: use 'tierctl keys "
		    "rotate' to replace its key", code);
		return EXIT_FAIL;
	}
	if (kfile_read(c->cfg.keys, &kf, 0) != 0)
		return EXIT_FAIL;
	for (i = o = 0; i < kf.n; i++) {
		char *f[4];
		int nf = kline_fields(kf.l[i].text, tmp, sizeof(tmp), f);
		if (nf >= 3 && strcmp(f[0], code) == 0 &&
		    (key == NULL || strcmp(f[1], key) == 0 || strcmp(f[2], key) == 0)) {
			matched++;
			if (remove) {
				free(kf.l[i].text);
				continue;
			}
			/* Expired one second ago: refused from now on, while
			 * reports it signed before stay verifiable. */
			if (kline_set(&kf, i, f, nf, now - 1) != 0)
				goto out;
		}
		kf.l[o++] = kf.l[i];
	}
	kf.n = o;
	if (matched == 0) {
		ctl_errx("CODE '%s'%s%s: no such line in the keys file %s", code,
		    key != NULL ? " --key " : "", key != NULL ? key : "",
		    c->cfg.keys);
		goto out;
	}
	if (kfile_write(c->cfg.keys, &kf) != 0)
		goto out;
	if (!noreload && (rl = ops_ctl_reload(c, 1)) < 0)
		goto out;
	ret = EXIT_OK;
	if (c->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "unit", code);
		json_ku64(&j, "lines", matched);
		json_kstr(&j, "action", remove ? "removed" : "expired");
		json_ku64(&j, "not_after", remove ? 0 : now - 1);
		json_kbool(&j, "daemon_reloaded", rl == 0);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("%s %zu key line%s of %s in %s\n", remove ? "removed" :
		    "expired", matched, matched == 1 ? "" : "s", code, c->cfg.keys);
		if (rl == 0)
			printf("tiersyncd reloaded its keys: %s is refused from its "
			    "next handshake, open sessions are dropped\n", code);
		else
			printf("tiersyncd not reloaded (%s): the revocation takes "
			    "effect when it starts or on 'tierctl keys reload'\n",
			    noreload ? "--no-reload" : "not running");
	}
out:
	kfile_free(&kf);
	return ret;
}

int
cmd_keys(struct ctl *c, int argc, char **argv)
{
	const char *overlap = NULL, *key = NULL;
	int force = 0, remove = 0, noreload = 0, npos, rc;
	struct opt opts[] = { { "--overlap", &overlap, NULL },
	    { "--key", &key, NULL }, { "--force", NULL, &force },
	    { "--remove", NULL, &remove }, { "--no-reload", NULL, &noreload },
	    { NULL, NULL, NULL } };
	char *pos[2];

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 2, &npos)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (ctl_load_config(c) != 0)
		return EXIT_FAIL;
	if (strcmp(pos[0], "show") == 0 || strcmp(pos[0], "rotate") == 0 ||
	    strcmp(pos[0], "reload") == 0) {
		if (npos != 1)
			return ctl_usage("keys %s: unexpected argument '%s'", pos[0],
			    pos[1]);
		if ((key || remove || noreload) ||
		    (strcmp(pos[0], "rotate") != 0 && (overlap || force)))
			return ctl_usage("keys %s: option not valid here", pos[0]);
		if (strcmp(pos[0], "show") == 0)
			return keys_show(c);
		if (strcmp(pos[0], "rotate") == 0)
			return keys_rotate(c, overlap, force);
		rc = ops_ctl_reload(c, 0);
		if (rc == 0 && !c->json)
			printf("tiersyncd re-read %s\n", c->cfg.keys);
		else if (rc == 0) {
			printf("{\"reloaded\":true}\n");
		}
		return rc == 0 ? EXIT_OK : EXIT_FAIL;
	}
	if (strcmp(pos[0], "revoke") == 0) {
		if (npos != 2)
			return ctl_usage("keys revoke: missing CODE");
		if (overlap || force)
			return ctl_usage("keys revoke: option not valid here");
		return keys_revoke(c, pos[1], key, remove, noreload);
	}
	return ctl_usage("SUBCOMMAND '%s': want show, rotate, revoke or reload",
	    pos[0]);
}
