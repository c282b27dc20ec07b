/*
 * tierctl helpers: errors, option parsing, the lazily loaded context,
 * strict number parsing, formatting and a small JSON writer.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

const struct cmd *ctl_cur;

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

static void vmsg(const char *, va_list) __attribute__((format(printf, 1, 0)));

static void
vmsg(const char *fmt, va_list ap)
{
	/* One write per message so lines from parallel tools do not mix. */
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "tierctl: %s\n", buf);
}

void
ctl_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;
	char buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tierctl: warning: %s\n", buf);
}

int
ctl_usage(const char *fmt, ...)
{
	va_list ap;
	char buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ctl_cur != NULL) {
		fprintf(stderr, "tierctl %s: %s\n", ctl_cur->name, buf);
		fprintf(stderr, "usage: tierctl [-d DIR] [--json] %s%s%s\n",
		    ctl_cur->name, *ctl_cur->usage ? " " : "", ctl_cur->usage);
	} else
		fprintf(stderr, "tierctl: %s\n", buf);
	return EXIT_USAGE;
}

void
cmd_print_help(FILE *f, const struct cmd *cmd)
{
	fprintf(f, "usage: tierctl [-d DIR] [--json] %s%s%s\n\n%s\n",
	    cmd->name, *cmd->usage ? " " : "", cmd->usage, cmd->help);
}

/* ------------------------------------------------------------------ */
/* Options                                                              */
/* ------------------------------------------------------------------ */

static const struct opt *
opt_find(const struct opt *opts, const char *arg, size_t len)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, arg, len) == 0)
			return opts;
	return NULL;
}

/* "-5" is a (bad) number for the validators to name, not an option. */
static int
looks_negative(const char *a)
{
	return a[0] == '-' && a[1] >= '0' && a[1] <= '9';
}

/* Name of the idx-th positional argument in a usage string, e.g. "NUM"
 * in "PERIOD IND NUM [DEN] [--dis KEY]", so errors can say what is
 * missing.  Option values ("KEY" after "--dis") are not positionals. */
static void
usage_arg_name(const char *usage, int idx, char *out, size_t outlen)
{
	const char *p = usage;
	int skip = 0;

	snprintf(out, outlen, "arguments");
	while (*p != '\0') {
		size_t n;
		while (*p == ' ' || *p == '[')
			p++;
		n = strcspn(p, " []");
		if (n == 0) {
			if (*p != '\0')
				p++;
			continue;
		}
		if (p[0] == '-')
			skip = 1;
		else if (skip)
			skip = 0;
		else if (idx-- == 0) {
			snprintf(out, outlen, "%.*s", (int)n, p);
			return;
		}
		p += n;
	}
}

int
opt_parse(struct ctl *c, int argc, char **argv, const struct opt *opts,
    char **pos, int minpos, int maxpos, int *npos)
{
	int i, n = 0, only_pos = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct opt *o;
		size_t len;

		if (only_pos || a[0] != '-' || a[1] == '\0' || looks_negative(a)) {
			if (n == maxpos)
				return ctl_usage("unexpected argument '%s'", a);
			pos[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cmd_print_help(stdout, ctl_cur);
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = 1;
			continue;
		}
		eq = strchr(a, '=');
		len = eq != NULL ? (size_t)(eq - a) : strlen(a);
		if ((o = opt_find(opts, a, len)) == NULL)
			return ctl_usage("unknown option '%.*s'", (int)len, a);
		if (o->val == NULL) {
			if (eq != NULL)
				return ctl_usage("option %s takes no value", o->name);
			*o->flag = 1;
		} else if (eq != NULL) {
			*o->val = eq + 1;
		} else if (i + 1 < argc) {
			*o->val = argv[++i];
		} else
			return ctl_usage("option %s needs a value", o->name);
	}
	if (n < minpos) {
		char name[64];
		usage_arg_name(ctl_cur->usage, n, name, sizeof(name));
		return ctl_usage("missing %s", name);
	}
	*npos = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Context                                                              */
/* ------------------------------------------------------------------ */

int
ctl_load_config(struct ctl *c)
{
	char err[1024];
	struct stat sb;
	int n;

	if (c->have_cfg)
		return 0;
	n = snprintf(c->confpath, sizeof(c->confpath), "%s/node.conf", c->dir);
	if (n < 0 || (size_t)n >= sizeof(c->confpath)) {
		ctl_errx("-d '%s': path too long", c->dir);
		return -1;
	}
	if (stat(c->confpath, &sb) == -1) {
		ctl_errx("%s: %s (not a node directory? use -d DIR or "
		    "$TIERSYNC_DIR; create one with 'tierctl init')",
		    c->confpath, strerror(errno));
		return -1;
	}
	if (ts_config_load(&c->cfg, c->confpath, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return -1;
	}
	c->have_cfg = 1;
	return 0;
}

int
ctl_load_topo(struct ctl *c)
{
	char err[1024];

	if (c->topo != NULL)
		return 0;
	if (ctl_load_config(c) != 0)
		return -1;
	if (ts_topo_load(&c->topo, c->cfg.topology, err, sizeof(err)) != 0) {
		ctl_errx("topology: %s", err);
		return -1;
	}
	return 0;
}

int
ctl_load_keys(struct ctl *c)
{
	char err[1024];

	if (c->keys != NULL)
		return 0;
	if (ctl_load_config(c) != 0)
		return -1;
	if (ts_keys_load(&c->keys, c->cfg.keys, err, sizeof(err)) != 0) {
		ctl_errx("keys: %s", err);
		return -1;
	}
	return 0;
}

int
ctl_open_store(struct ctl *c)
{
	char path[TS_PATH_MAX + 8];
	struct stat sb;
	int rc;

	if (c->store != NULL)
		return 0;
	if (ctl_load_config(c) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/store", c->cfg.datadir);
	/* LMDB's own message for a missing environment is obscure. */
	if (stat(path, &sb) == -1) {
		ctl_errx("store %s: %s (create it with 'tierctl init' or by "
		    "starting tiersyncd)", path, strerror(errno));
		return -1;
	}
	rc = ts_store_open(&c->store, path, TS_STORE_RDONLY,
	    (size_t)c->cfg.mapsize_mb << 20, (size_t)c->cfg.mapsize_max_mb << 20);
	if (rc != 0) {
		ctl_errx("store %s: cannot open read-only: %s", path,
		    ts_strerror(rc));
		c->store = NULL;
		return -1;
	}
	return 0;
}

void
ctl_free(struct ctl *c)
{
	ts_store_close(&c->store);
	ts_topo_free(&c->topo);
	ts_keys_free(&c->keys);
}

void
ctl_datadir_abs(const struct ctl *c, char *out, size_t outlen)
{
	char real[PATH_MAX];

	if (realpath(c->cfg.datadir, real) != NULL)
		snprintf(out, outlen, "%s", real);
	else
		snprintf(out, outlen, "%s", c->cfg.datadir);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */
/* ------------------------------------------------------------------ */

int
parse_u64(const char *s, size_t len, uint64_t *v, const char **why)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0) {
		*why = "is empty";
		return TS_EPARSE;
	}
	for (i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9') {
			*why = "is not an unsigned decimal integer "
			    "(digits only, no sign, no spaces)";
			return TS_EPARSE;
		}
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10) {
			*why = "is too large (maximum 18446744073709551615)";
			return TS_EPARSE;
		}
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int
parse_value(const char *s, size_t len, uint64_t *v, const char **why)
{
	uint64_t x;
	int rc;

	if ((rc = parse_u64(s, len, &x, why)) != 0) {
		size_t i;
		for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (len == 0 || i != len)
			return rc;      /* not a number: parse_u64 says why */
	}
	if (rc != 0 || x > TS_VALUE_MAX) {
		*why = "is over 9007199254740991 (2^53 - 1), the bound of every "
		    "numerator and denominator";
		return TS_EPARSE;
	}
	*v = x;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Formatting                                                           */
/* ------------------------------------------------------------------ */

void
fmt_iso8601(uint64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "@%" PRIu64 "ms", ms);
}

void
fmt_age(uint64_t ms, char *out, size_t outlen)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(out, outlen, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(out, outlen, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(out, outlen, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, outlen, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(out, outlen, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s / 3600 % 24);
}

void
fmt_rate(uint64_t num, uint64_t den, char *out, size_t outlen)
{
	if (den == 0)
		snprintf(out, outlen, "-");
	else
		snprintf(out, outlen, "%.2Lf",
		    (long double)num * 100.0L / (long double)den);
}

size_t
utf8_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((uint8_t)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
print_padded(FILE *f, const char *s, size_t width)
{
	size_t w = utf8_width(s);

	fputs(s, f);
	for (; w < width; w++)
		fputc(' ', f);
}

/* ------------------------------------------------------------------ */
/* Report helpers                                                       */
/* ------------------------------------------------------------------ */

const char *
unit_name(const struct ctl *c, const char *code)
{
	int u;

	if (c->topo == NULL || (u = ts_topo_find(c->topo, code)) < 0)
		return "?";
	return c->topo->units[u].name;
}

/* ------------------------------------------------------------------ */
/* JSON writer                                                          */
/* ------------------------------------------------------------------ */

void
json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Separator before a value or key at the current depth. */
static void
json_sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->nelem[j->depth])
		fputc(',', j->f);
	j->nelem[j->depth] = 1;
}

static void
json_open(struct json *j, int ch)
{
	json_sep(j);
	fputc(ch, j->f);
	if (j->depth + 1 < JSON_DEPTH_MAX)
		j->depth++;
	j->nelem[j->depth] = 0;
}

static void
json_close(struct json *j, int ch)
{
	fputc(ch, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_begin(struct json *j) { json_open(j, '{'); }
void json_obj_end(struct json *j)   { json_close(j, '}'); }
void json_arr_begin(struct json *j) { json_open(j, '['); }
void json_arr_end(struct json *j)   { json_close(j, ']'); }

static void
json_quote(FILE *f, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, k;

	fputc('"', f);
	while (i < n) {
		if (p[i] >= 0x80) {
			if ((k = ts_utf8_seq(p + i, n - i)) == 0) {
				fputs("\\ufffd", f);
				i++;
			} else {
				fwrite(p + i, 1, k, f);
				i += k;
			}
			continue;
		}
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(f, "\\u%04x", p[i]);
		else
			fputc(p[i], f);
		i++;
	}
	fputc('"', f);
}

void
json_key(struct json *j, const char *k)
{
	json_sep(j);
	json_quote(j->f, k, strlen(k));
	fputc(':', j->f);
	j->after_key = 1;
}

void
json_strn(struct json *j, const char *s, size_t n)
{
	json_sep(j);
	json_quote(j->f, s, n);
}

void json_str(struct json *j, const char *s) { json_strn(j, s, strlen(s)); }

void
json_u64(struct json *j, uint64_t v)
{
	json_sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

void
json_bool(struct json *j, int b)
{
	json_sep(j);
	fputs(b ? "true" : "false", j->f);
}

void
json_null(struct json *j)
{
	json_sep(j);
	fputs("null", j->f);
}

void
json_hex(struct json *j, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	json_sep(j);
	fputc('"', j->f);
	for (i = 0; i < n; i++) {
		fputc(digits[p[i] >> 4], j->f);
		fputc(digits[p[i] & 15], j->f);
	}
	fputc('"', j->f);
}

void json_end(struct json *j) { fputc('\n', j->f); }

void json_kstr(struct json *j, const char *k, const char *v)
{ json_key(j, k); json_str(j, v); }
void json_ku64(struct json *j, const char *k, uint64_t v)
{ json_key(j, k); json_u64(j, v); }
void json_kbool(struct json *j, const char *k, int b)
{ json_key(j, k); json_bool(j, b); }
void json_khex(struct json *j, const char *k, const uint8_t *p, size_t n)
{ json_key(j, k); json_hex(j, p, n); }
