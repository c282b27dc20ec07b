/*
 * tierctl init: create a node directory with fresh keys, node.conf and an
 * empty store.  Never overwrites anything: a key that already exists may
 * be the only copy of a node's identity.  If a step fails, everything
 * this run created is removed again, so init can simply be re-run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "tiersync/domain.h"
#include "tiersync/identity.h"
#include "util.h"

struct init_args {
	const char *dir, *unit, *topology, *keys, *listen, *parent;
	const char *catalogue;          /* --catalogue, NULL: the shipped one */
	int  no_catalogue;              /* --no-catalogue                    */
	char topo_abs[TS_PATH_MAX], keys_abs[TS_PATH_MAX];
	char cat_abs[TS_PATH_MAX];      /* "" with --no-catalogue            */
	char conf[TS_PATH_MAX], sign[TS_PATH_MAX], curve[TS_PATH_MAX];
	char store[TS_PATH_MAX];
	char warn[3][256];      /* shown once the node exists           */
	int  nwarn;
};

/* What this run created, for the rollback. */
struct init_made {
	int dir, keys, conf, store;
};

static int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	/* Explicit lengths rather than snprintf: gcc -O2 cannot see that a
	 * checked snprintf truncation is handled and fails the build. */
	if (dl + 1 + nl + 1 > outlen)
		return -1;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return 0;
}

/*
 * Absolute form of a path for node.conf, so the config does not depend
 * on the directory tierctl ran in.  The file itself need not exist (the
 * keys file is often assembled after every node was initialised), but
 * its directory must.
 */
static int
abs_path(const char *opt, const char *in, char *out, size_t outlen)
{
	char real[PATH_MAX], dir[PATH_MAX];
	const char *slash, *base;
	int n;

	if (realpath(in, real) != NULL) {
		n = snprintf(out, outlen, "%s", real);
		goto done;
	}
	slash = strrchr(in, '/');
	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = in;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - in + (slash == in)), in);
		base = slash + 1;
	}
	if (*base == '\0' || realpath(dir, real) == NULL) {
		ctl_errx("%s '%s': directory '%s': %s", opt, in, dir,
		    *base == '\0' ? "no file name" : strerror(errno));
		return -1;
	}
	n = snprintf(out, outlen, "%s/%s", strcmp(real, "/") == 0 ? "" : real,
	    base);
done:
	if (n < 0 || (size_t)n >= outlen) {
		ctl_errx("%s '%s': path too long", opt, in);
		return -1;
	}
	return 0;
}

/* node.conf takes the rest of the line, trimmed, with surrounding double
 * quotes removed (docs/CONFIG.md): keep a value on one line and make sure
 * it reads back as written. */
static int
conf_value_ok(const char *opt, const char *v)
{
	size_t n = strlen(v);
	const char *p;

	if (n == 0) {
		ctl_errx("%s: empty value", opt);
		return 0;
	}
	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			ctl_errx("%s: control characters are not supported in "
			    "node.conf values", opt);
			return 0;
		}
	}
	if (v[0] == ' ' || v[n - 1] == ' ' || v[0] == '"') {
		ctl_errx("%s '%s': a leading or trailing blank or a leading "
		    "quote would not survive node.conf", opt, v);
		return 0;
	}
	return 1;
}

static int
init_parse(struct ctl *c, int argc, char **argv, struct init_args *a)
{
	struct opt opts[] = {
		{ "--unit", &a->unit, NULL },
		{ "--topology", &a->topology, NULL },
		{ "--keys", &a->keys, NULL },
		{ "--listen", &a->listen, NULL },
		{ "--parent", &a->parent, NULL },
		{ "--catalogue", &a->catalogue, NULL },
		{ "--no-catalogue", NULL, &a->no_catalogue },
		{ NULL, NULL, NULL },
	};
	char *pos[1];
	int npos, rc;

	if ((rc = opt_parse(c, argc, argv, opts, pos, 1, 1, &npos)) != 0)
		return rc;
	a->dir = pos[0];
	if (a->unit == NULL)
		return ctl_usage("missing --unit CODE");
	if (a->topology == NULL)
		return ctl_usage("missing --topology FILE");
	if (a->keys == NULL)
		return ctl_usage("missing --keys FILE");
	if (a->catalogue != NULL && a->no_catalogue)
		return ctl_usage("--catalogue and --no-catalogue exclude each other");
	return 0;
}

static void init_warn(struct init_args *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
init_warn(struct init_args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->nwarn == (int)(sizeof(a->warn) / sizeof(a->warn[0])))
		return;
	va_start(ap, fmt);
	vsnprintf(a->warn[a->nwarn++], sizeof(a->warn[0]), fmt, ap);
	va_end(ap);
}

/* The unit code is valid and the topology holds it.  Note when the
 * endpoints given do not fit the unit's place in the tree: legal (a
 * node may be set up before its parent exists), but likely a mistake. */
static int
init_check_unit(struct init_args *a)
{
	char err[1024];
	ts_topo *t = NULL;
	const ts_unit *u;
	int i;

	if (ts_valid_code(a->unit, strlen(a->unit)) != 0) {
		ctl_errx("--unit '%s': not a unit code (1 to %d letters or "
		    "digits)", a->unit, TS_CODE_MAX);
		return -1;
	}
	if (ts_topo_load(&t, a->topology, err, sizeof(err)) != 0) {
		ctl_errx("--topology: %s", err);
		return -1;
	}
	if ((i = ts_topo_find(t, a->unit)) < 0) {
		ctl_errx("--unit '%s': no such unit in topology %s (version %s)",
		    a->unit, a->topology, t->version);
		ts_topo_free(&t);
		return -1;
	}
	u = &t->units[i];
	if (u->parent >= 0 && a->parent == NULL)
		init_warn(a, "unit %s has parent %s in the topology but no --parent "
		    "was given: its reports will stay on this node", a->unit,
		    t->units[u->parent].code);
	if (u->parent < 0 && a->parent != NULL)
		init_warn(a, "unit %s is the root of the topology but --parent "
		    "was given", a->unit);
	if (u->nchildren > 0 && a->listen == NULL)
		init_warn(a, "unit %s has %d child unit(s) but no --listen was "
		    "given: they cannot connect", a->unit, u->nchildren);
	ts_topo_free(&t);
	return 0;
}

/*
 * The catalogue for node.conf: --catalogue FILE, else the shipped one:
 * for the build tree's tierctl the source tree's domain/catalogue.tsv,
 * else share/tiersync/catalogue.tsv beside the installed binary
 * (BINDIR/../share), else the configured install path.  It must load,
 * as the daemon and tierctl will load it.
 */
static int
init_check_catalogue(struct init_args *a)
{
	char err[1024], exe[PATH_MAX], near[PATH_MAX + 64];
	const char *path = a->catalogue, *opt = "--catalogue";
	ts_catalogue *cat = NULL;
	ssize_t n;

	if (a->no_catalogue)
		return 0;
	if (path == NULL) {
		const char *cand[3];
		size_t i, nc = 0;

		if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
			char *slash;
			exe[n] = '\0';
			if ((slash = strrchr(exe, '/')) != NULL) {
				*slash = '\0';
				if (strcmp(exe, TS_BUILD_DIR) == 0)
					cand[nc++] = TS_CATALOGUE_SOURCE;
				snprintf(near, sizeof(near),
				    "%s/../share/tiersync/catalogue.tsv", exe);
				cand[nc++] = near;
			}
		}
		cand[nc++] = TS_CATALOGUE_INSTALLED;
		for (i = 0; i < nc && path == NULL; i++)
			if (access(cand[i], R_OK) == 0)
				path = cand[i];
		if (path == NULL) {
			ctl_errx("no shipped catalogue found (looked for %s%s%s): "
			    "give --catalogue FILE, or --no-catalogue", cand[0],
			    nc > 1 ? ", " : "", nc > 1 ? cand[nc - 1] : "");
			return -1;
		}
		opt = "shipped catalogue";
	}
	if (ts_catalogue_load(&cat, path, err, sizeof(err)) != 0) {
		ctl_errx("%s: %s", opt, err);
		return -1;
	}
	ts_catalogue_free(&cat);
	if (abs_path(opt, path, a->cat_abs, sizeof(a->cat_abs)) != 0 ||
	    !conf_value_ok(opt, a->cat_abs))
		return -1;
	return 0;
}

static int
init_check_values(struct init_args *a)
{
	if (abs_path("--topology", a->topology, a->topo_abs,
	    sizeof(a->topo_abs)) != 0 ||
	    abs_path("--keys", a->keys, a->keys_abs, sizeof(a->keys_abs)) != 0)
		return -1;
	if (!conf_value_ok("--topology", a->topo_abs) ||
	    !conf_value_ok("--keys", a->keys_abs) ||
	    (a->listen != NULL && !conf_value_ok("--listen", a->listen)) ||
	    (a->parent != NULL && !conf_value_ok("--parent", a->parent)))
		return -1;
	return 0;
}

/* Refuse a directory that already holds any part of a node. */
static int
init_check_dir(struct init_args *a, struct init_made *made)
{
	const char *parts[] = { "node.conf", "sign.key", "curve.key", "store" };
	char p[TS_PATH_MAX];
	struct stat sb;
	mode_t mode;
	size_t i;

	if (path_join(a->conf, sizeof(a->conf), a->dir, "node.conf") != 0 ||
	    path_join(a->sign, sizeof(a->sign), a->dir, "sign.key") != 0 ||
	    path_join(a->curve, sizeof(a->curve), a->dir, "curve.key") != 0 ||
	    path_join(a->store, sizeof(a->store), a->dir, "store") != 0) {
		ctl_errx("DIR '%s': path too long", a->dir);
		return -1;
	}
	if (stat(a->dir, &sb) == -1) {
		if (errno != ENOENT) {
			ctl_errx("DIR '%s': %s", a->dir, strerror(errno));
			return -1;
		}
		if (mkdir(a->dir, 0700) == -1) {
			ctl_errx("DIR '%s': cannot create: %s%s", a->dir,
			    strerror(errno), errno == ENOENT ?
			    " (its parent directory must exist)" : "");
			return -1;
		}
		made->dir = 1;
		return 0;
	}
	if (!S_ISDIR(sb.st_mode)) {
		ctl_errx("DIR '%s': exists and is not a directory", a->dir);
		return -1;
	}
	mode = sb.st_mode;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		path_join(p, sizeof(p), a->dir, parts[i]);
		if (lstat(p, &sb) == 0) {
			ctl_errx("%s already exists: refusing to overwrite a node "
			    "(keys are never replaced; move DIR aside first)", p);
			return -1;
		}
	}
	if (mode & 077)
		ctl_warnx("DIR '%s' is accessible by group or others; "
		    "consider chmod 700", a->dir);
	return 0;
}

static int
write_file_excl(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		ctl_errx("%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ctl_errx("%s: write: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		ctl_errx("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
init_write_conf(const struct init_args *a, struct init_made *made)
{
	char text[8 * TS_PATH_MAX], when[32];
	int n;

	fmt_iso8601(ts_now_ms(), when, sizeof(when));
	n = snprintf(text, sizeof(text),
	    "# tiersync node %s, written by tierctl init at %s.\n"
	    "# Options and defaults: docs/CONFIG.md (tiersyncd --help-config).\n"
	    "unit %s\n"
	    "topology %s\n"
	    "keys %s\n"
	    "%s%s%s"
	    "%s%s%s"
	    "%s%s%s",
	    a->unit, when, a->unit, a->topo_abs, a->keys_abs,
	    a->cat_abs[0] != '\0' ? "catalogue " : "", a->cat_abs,
	    a->cat_abs[0] != '\0' ? "\n" : "",
	    a->listen != NULL ? "listen " : "", a->listen != NULL ? a->listen : "",
	    a->listen != NULL ? "\n" : "",
	    a->parent != NULL ? "parent " : "", a->parent != NULL ? a->parent : "",
	    a->parent != NULL ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text)) {
		ctl_errx("%s: configuration too long", a->conf);
		return -1;
	}
	/* Mark first: a failed write may have left a partial file. */
	made->conf = 1;
	if (write_file_excl(a->conf, text) != 0)
		return -1;
	return 0;
}

/* Make the new directory entries durable, not only the file data. */
static void
init_sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fsync(fd) == -1)
		ctl_warnx("%s: fsync: %s", dir, strerror(errno));
	close(fd);
}

static int
init_keys(const struct init_args *a, struct init_made *made, ts_identity *pub)
{
	char err[1024];
	ts_identity id, check;

	if (ts_identity_generate(&id) != 0) {
		ctl_errx("cannot generate keys: libsodium failed");
		return -1;
	}
	if (ts_identity_save(&id, a->sign, a->curve, err, sizeof(err)) != 0) {
		ts_identity_wipe(&id);
		ctl_errx("%s", err);
		return -1;
	}
	made->keys = 1;
	/* Read back what the daemon will read, with its checks. */
	if (ts_identity_load(&check, a->sign, a->curve, err, sizeof(err)) != 0 ||
	    memcmp(check.sign_pk, id.sign_pk, sizeof(id.sign_pk)) != 0 ||
	    strcmp(check.curve_pk, id.curve_pk) != 0) {
		ts_identity_wipe(&id);
		ts_identity_wipe(&check);
		ctl_errx("key files do not read back: %s", err);
		return -1;
	}
	ts_identity_wipe(&check);
	memset(pub, 0, sizeof(*pub));
	memcpy(pub->sign_pk, id.sign_pk, sizeof(pub->sign_pk));
	memcpy(pub->curve_pk, id.curve_pk, sizeof(pub->curve_pk));
	ts_identity_wipe(&id);
	return 0;
}

/* The daemon must accept what we wrote: load it as it will. */
static int
init_check_conf(const struct init_args *a, ts_config *cfg)
{
	char err[1024];

	if (ts_config_load(cfg, a->conf, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return -1;
	}
	return 0;
}

static int
init_store(const struct init_args *a, const ts_config *cfg,
    struct init_made *made)
{
	ts_store *s = NULL;
	int rc;

	made->store = 1;
	rc = ts_store_open(&s, a->store, 0, (size_t)cfg->mapsize_mb << 20,
	    (size_t)cfg->mapsize_max_mb << 20);
	if (rc != 0) {
		ctl_errx("store %s: cannot create: %s", a->store, ts_strerror(rc));
		return -1;
	}
	ts_store_close(&s);
	return 0;
}

static void
init_rollback(const struct init_args *a, const struct init_made *made)
{
	char p[TS_PATH_MAX];

	if (made->store) {
		path_join(p, sizeof(p), a->store, "data.mdb");
		unlink(p);
		path_join(p, sizeof(p), a->store, "lock.mdb");
		unlink(p);
		rmdir(a->store);
	}
	if (made->conf)
		unlink(a->conf);
	/* Keys made by this run were never shown to anyone: safe to drop. */
	if (made->keys) {
		unlink(a->sign);
		unlink(a->curve);
	}
	if (made->dir)
		rmdir(a->dir);
}

static void
init_print(const struct ctl *c, const struct init_args *a, const ts_identity *id)
{
	char hex[2 * TS_SIGN_PK_LEN + 1];
	struct json j;

	ts_to_hex(id->sign_pk, sizeof(id->sign_pk), hex);
	if (!c->json) {
		printf("%s\t%s\t%s\n", a->unit, hex, id->curve_pk);
		return;
	}
	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "unit", a->unit);
	json_kstr(&j, "dir", a->dir);
	json_kstr(&j, "sign_pk", hex);
	json_kstr(&j, "curve_pk", id->curve_pk);
	json_obj_end(&j);
	json_end(&j);
}

int
cmd_init(struct ctl *c, int argc, char **argv)
{
	struct init_args a;
	struct init_made made;
	ts_identity id;
	ts_config cfg;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&made, 0, sizeof(made));
	if ((rc = init_parse(c, argc, argv, &a)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (init_check_unit(&a) != 0 || init_check_values(&a) != 0 ||
	    init_check_catalogue(&a) != 0)
		return EXIT_FAIL;
	if (init_check_dir(&a, &made) != 0)
		return EXIT_FAIL;
	if (init_keys(&a, &made, &id) != 0 ||
	    init_write_conf(&a, &made) != 0 ||
	    init_check_conf(&a, &cfg) != 0 ||
	    init_store(&a, &cfg, &made) != 0) {
		init_rollback(&a, &made);
		return EXIT_FAIL;
	}
	init_sync_dir(a.dir);
	for (rc = 0; rc < a.nwarn; rc++)
		ctl_warnx("%s", a.warn[rc]);
	init_print(c, &a, &id);
	return EXIT_OK;
}
