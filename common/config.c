/*
 * Node configuration (docs/CONFIG.md), after Redis's config.c: one
 * table says, for every key, its type, default, bounds and help, and
 * drives parsing, validation, defaults and the documentation alike, so
 * the three can never disagree.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiersync/config.h"
#include "tiersync/period.h"
#include "tiersync/topology.h"     /* TS_LVL_COMMUNE */
#include "tiersync/util.h"

#define CONFIG_FILE_MAX	(1 << 20)

enum ctype {
	C_CODE,		/* unit code (ts_valid_code) */
	C_PATH,		/* file or directory, relative to the config's dir */
	C_ENDPOINT,	/* "" or tcp://HOST:PORT or ipc://PATH */
	C_LOG,		/* stderr | syslog */
	C_INT,
	C_LONG,
	C_MMDD,		/* a day of the year as MMDD */
};

struct copt {
	const char	*name;
	enum ctype	 type;
	const char	*def;		/* default as text; NULL = computed */
	const char	*defdoc;	/* what describe shows for NULL def */
	long		 min, max;	/* numbers only */
	int		 required;
	size_t		 off, size;
	const char	*help;
};

#define F(m)	offsetof(ts_config, m), sizeof(((ts_config *)0)->m)

static const struct copt table[] = {
	{ "unit", C_CODE, NULL, "none", 0, 0, 1, F(unit),
	  "this node's unit code in the topology" },
	{ "datadir", C_PATH, NULL, "directory of the config file", 0, 0, 0,
	  F(datadir), "node directory; the store is its store/ subdirectory" },
	{ "topology", C_PATH, NULL, "none", 0, 0, 1, F(topology),
	  "topology file (docs/TOPOLOGY.md)" },
	{ "keys", C_PATH, NULL, "none", 0, 0, 1, F(keys),
	  "keys file: public keys of the units this node talks to" },
	{ "sign_key", C_PATH, NULL, "`<datadir>/sign.key`", 0, 0, 0,
	  F(sign_key), "this node's Ed25519 secret key" },
	{ "curve_key", C_PATH, NULL, "`<datadir>/curve.key`", 0, 0, 0,
	  F(curve_key), "this node's CURVE key pair" },
	{ "listen", C_ENDPOINT, "", NULL, 0, 0, 0, F(listen),
	  "endpoint children connect to; empty = no children" },
	{ "parent", C_ENDPOINT, "", NULL, 0, 0, 0, F(parent),
	  "parent's endpoint; empty = this node is the root" },
	{ "log", C_LOG, "stderr", NULL, 0, 0, 0, F(log),
	  "where log lines go: stderr or syslog" },
	{ "verbose", C_INT, "0", NULL, 0, 2, 0, F(verbose),
	  "0 = warnings and info, 1 = debug, 2 = more debug" },
	{ "heartbeat_ms", C_INT, "1000", NULL, 50, 60000, 0, F(heartbeat_ms),
	  "PING interval on an idle link; must be < dead_ms" },
	{ "dead_ms", C_INT, "5000", NULL, 200, 600000, 0, F(dead_ms),
	  "a link silent this long is closed and reconnected" },
	{ "reconnect_min_ms", C_INT, "100", NULL, 10, 60000, 0,
	  F(reconnect_min_ms), "first reconnect back-off; doubles each try" },
	{ "reconnect_max_ms", C_INT, "10000", NULL, 100, 600000, 0,
	  F(reconnect_max_ms), "reconnect back-off cap; >= reconnect_min_ms" },
	{ "batch_max", C_INT, "256", NULL, 1, TS_BATCH_MAX, 0, F(batch_max),
	  "envelopes in one PUSH" },
	{ "window", C_INT, "8", NULL, 1, 64, 0, F(window),
	  "PUSH batches in flight before waiting for an ACK" },
	{ "quota_values", C_INT, "20000", NULL, 1, TS_VALUES_MAX, 0,
	  F(quota_values), "most values one report of a child's subtree may "
	  "carry; more is refused (oversize)" },
	{ "quota_reports_day", C_INT, "2000", NULL, 1, 10000000, 0,
	  F(quota_reports_day), "most reports of one origin stored per day "
	  "(per origin, since this node started); more: retry tomorrow" },
	{ "quota_mb_day", C_INT, "64", NULL, 1, 1048576, 0, F(quota_mb_day),
	  "most MiB of one origin's envelopes stored per day; more: retry "
	  "tomorrow" },
	{ "max_skew_s", C_INT, "86400", NULL, 60, 31622400, 0, F(max_skew_s),
	  "a child's report created more than this many seconds ahead of this "
	  "node's clock is refused (retry later)" },
	{ "debounce_ms", C_INT, "200", NULL, 0, 60000, 0, F(debounce_ms),
	  "quiet time before a rollup is emitted" },
	{ "debounce_max_ms", C_INT, "2000", NULL, 0, 600000, 0,
	  F(debounce_max_ms), "bound on the rollup delay after the first change; "
	  ">= debounce_ms" },
	{ "mapsize_mb", C_LONG, "64", NULL, 1, 1048576, 0, F(mapsize_mb),
	  "initial LMDB map size, MiB" },
	{ "mapsize_max_mb", C_LONG, "65536", NULL, 1, 1048576, 0,
	  F(mapsize_max_mb), "the map grows up to this, MiB; >= mapsize_mb" },
	{ "deadline_annual_mmdd", C_MMDD, "1205", NULL, 101, 1231, 0,
	  F(deadline_annual_mmdd), "annual report deadline at commune level "
	  "(1205 = 5 December)" },
	{ "deadline_step_days", C_INT, "10", NULL, 0, 365, 0,
	  F(deadline_step_days), "days added to a deadline per level above commune" },
	{ "deadline_quarter_days", C_INT, "15", NULL, 0, 365, 0,
	  F(deadline_quarter_days), "quarterly reports due this many days "
	  "after the quarter ends (commune level)" },
	{ "deadline_month_days", C_INT, "15", NULL, 0, 365, 0,
	  F(deadline_month_days), "monthly reports due this many days "
	  "after the month ends (commune level)" },
	{ "catalogue", C_PATH, NULL, "none: reports carry catalogue \"\"", 0, 0, 0,
	  F(catalogue), "indicator catalogue (domain/catalogue.tsv); its !version "
	  "goes into every report; plans are read from plans/ beside it" },
	{ "wire_dump", C_PATH, NULL, "none", 0, 0, 0, F(wire_dump),
	  "TESTS ONLY: append every frame sent on the links (plaintext, before "
	  "CURVE) to this file" },
};
#define NOPT	(sizeof(table) / sizeof(table[0]))

/* Pairs that must be ordered: lo <= hi (or lo < hi when strict). */
static const struct { const char *lo, *hi; int strict; } order[] = {
	{ "heartbeat_ms", "dead_ms", 1 },
	{ "reconnect_min_ms", "reconnect_max_ms", 0 },
	{ "debounce_ms", "debounce_max_ms", 0 },
	{ "mapsize_mb", "mapsize_max_mb", 0 },
};

struct cstate {
	const char	*name;
	const char	*dir;		/* for relative paths; NULL = keep */
	char		*err;
	size_t		 errlen;
	size_t		 line[NOPT];	/* where each key was set, 0 = default */
};

static int
cerr(struct cstate *cs, size_t line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
cerr(struct cstate *cs, size_t line, const char *key, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (cs->err == NULL || cs->errlen == 0)
		return TS_EPARSE;
	if (key != NULL)
		n = snprintf(cs->err, cs->errlen, "%s:%zu: key '%s': ",
		    cs->name, line, key);
	else
		n = snprintf(cs->err, cs->errlen, "%s:%zu: ", cs->name, line);
	if (n >= 0 && (size_t)n < cs->errlen) {
		va_start(ap, fmt);
		vsnprintf(cs->err + n, cs->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return TS_EPARSE;
}

static const struct copt *
lookup(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < NOPT; i++)
		if (strlen(table[i].name) == len &&
		    memcmp(table[i].name, name, len) == 0)
			return &table[i];
	return NULL;
}

/* dir + "/" + rel into out (size outsz); -1 if it does not fit. */
static int
join(char *out, size_t outsz, const char *dir, const char *rel)
{
	size_t	dl = strlen(dir);
	int	n;

	n = snprintf(out, outsz, "%s%s%s", dir,
	    dl > 0 && dir[dl - 1] == '/' ? "" : "/", rel);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int
valid_tcp(const char *s)
{
	const char *colon, *q;
	long	port;

	/* tcp://HOST:PORT, HOST may be "*", a name, an address or [v6];
	 * PORT is 1..65535 or "*" (ephemeral, bind only). */
	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return 0;
	if (strcmp(colon + 1, "*") == 0)
		return 1;
	port = 0;
	for (q = colon + 1; *q != '\0'; q++) {
		if (*q < '0' || *q > '9' || port > 65535)
			return 0;
		port = port * 10 + (*q - '0');
	}
	return q != colon + 1 && port >= 1 && port <= 65535;
}

/* Store value v (NUL-terminated) into key o of c. */
static int
set(struct cstate *cs, ts_config *c, const struct copt *o, const char *v,
    size_t line)
{
	char	*dst = (char *)c + o->off;
	char	 buf[TS_PATH_MAX];
	const char *rest;
	char	*end;
	long	 n;
	size_t	 i;

	switch (o->type) {
	case C_CODE:
		if (ts_valid_code(v, strlen(v)) != 0)
			return cerr(cs, line, o->name, "bad unit code '%.40s' "
			    "(want 1..%d of [0-9A-Za-z])", v, TS_CODE_MAX);
		break;
	case C_PATH:
		if (*v == '\0')
			return cerr(cs, line, o->name, "empty path");
		if (*v != '/' && cs->dir != NULL && *cs->dir != '\0') {
			if (join(buf, sizeof(buf), cs->dir, v) != 0)
				return cerr(cs, line, o->name, "string too long "
				    "after resolving against '%s' (max %zu "
				    "bytes)", cs->dir, o->size - 1);
			v = buf;
		}
		break;
	case C_ENDPOINT:
		if (*v == '\0')
			break;
		for (i = 0; v[i] != '\0'; i++)
			if (v[i] == ' ' || v[i] == '\t')
				break;
		if (v[i] != '\0' || (strncmp(v, "tcp://", 6) != 0 &&
		    strncmp(v, "ipc://", 6) != 0) || v[6] == '\0' ||
		    (v[0] == 't' && !valid_tcp(v + 6)))
			return cerr(cs, line, o->name, "bad endpoint '%.80s' "
			    "(want tcp://HOST:PORT or ipc://PATH)", v);
		/* ipc paths are paths: relative ones follow the config
		 * file, since the daemon's cwd is not known ("@" is
		 * Linux's abstract namespace, not a path). */
		rest = v + 6;
		if (v[0] == 'i' && *rest != '/' && *rest != '@' &&
		    cs->dir != NULL && *cs->dir != '\0') {
			char path[TS_PATH_MAX];

			if (join(path, sizeof(path), cs->dir, rest) != 0 ||
			    snprintf(buf, sizeof(buf), "ipc://%s", path) >=
			    (int)sizeof(buf))
				return cerr(cs, line, o->name, "string too long "
				    "after resolving against '%s' (max %zu "
				    "bytes)", cs->dir, o->size - 1);
			v = buf;
		}
		break;
	case C_LOG:
		if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0)
			return cerr(cs, line, o->name, "'%.40s': want stderr "
			    "or syslog", v);
		break;
	case C_INT:
	case C_LONG:
	case C_MMDD:
		errno = 0;
		n = strtol(v, &end, 10);
		/* strtol would also take leading blanks and '+'. */
		if (end == v || *end != '\0' || !(*v == '-' ||
		    (*v >= '0' && *v <= '9')))
			return cerr(cs, line, o->name, "not a number '%.40s'", v);
		if (errno == ERANGE || n < o->min || n > o->max)
			return cerr(cs, line, o->name, "%.40s out of range "
			    "[%ld, %ld]", v, o->min, o->max);
		if (o->type == C_MMDD && ts_period_check_mmdd((int)n) != 0)
			return cerr(cs, line, o->name, "%ld is not a day of "
			    "the year as MMDD", n);
		if (o->type == C_LONG)
			*(long *)(void *)dst = n;
		else
			*(int *)(void *)dst = (int)n;
		return 0;
	}
	if (strlen(v) >= o->size)
		return cerr(cs, line, o->name, "string too long (%zu bytes, "
		    "max %zu)", strlen(v), o->size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
isname(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

static int
isspc(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static long
numval(const ts_config *c, const struct copt *o)
{
	const char *p = (const char *)c + o->off;

	return o->type == C_LONG ? *(const long *)(const void *)p :
	    *(const int *)(const void *)p;
}

int
ts_config_parse(ts_config *c, const char *name, const char *dir,
    const char *text, size_t len, char *err, size_t errlen)
{
	struct cstate	 cs;
	const struct copt *o, *lo, *hi, *later;
	const char	*p, *end, *nl, *k, *v;
	char		 val[TS_PATH_MAX + 2];
	size_t		 ln = 0, llen, kl, vl, i, j;
	int		 rc;

	if (c == NULL || (text == NULL && len > 0))
		return TS_EINVAL;
	memset(c, 0, sizeof(*c));
	memset(&cs, 0, sizeof(cs));
	cs.name = name != NULL ? name : "config";
	cs.dir = dir;
	cs.err = err;
	cs.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	/* Defaults go through set() too, so they obey the same rules. */
	for (i = 0; i < NOPT; i++)
		if (table[i].def != NULL &&
		    (rc = set(&cs, c, &table[i], table[i].def, 0)) != 0)
			return rc;

	for (p = text, end = text + len; p < end; p = nl + 1) {
		ln++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		llen = (size_t)(nl - p);
		if (memchr(p, '\0', llen) != NULL)
			return cerr(&cs, ln, NULL, "NUL byte in line");
		while (llen > 0 && isspc(p[0])) {
			p++;
			llen--;
		}
		while (llen > 0 && isspc(p[llen - 1]))
			llen--;
		if (llen == 0 || p[0] == '#')
			continue;

		/* name, then blanks and/or one '=', then the value. */
		k = p;
		for (kl = 0; kl < llen && isname(p[kl]); kl++)
			;
		if (kl == 0)
			return cerr(&cs, ln, NULL, "expected 'name value', got "
			    "'%.*s'", (int)(llen > 40 ? 40 : llen), p);
		i = kl;
		while (i < llen && isspc(p[i]))
			i++;
		if (i < llen && p[i] == '=') {
			i++;
			while (i < llen && isspc(p[i]))
				i++;
		} else if (i == kl && i < llen) {
			/* "unit:x", "unit-x": the name runs into junk. */
			return cerr(&cs, ln, NULL, "expected 'name value', got "
			    "'%.*s'", (int)(llen > 40 ? 40 : llen), p);
		}
		v = p + i;
		vl = llen - i;
		if ((o = lookup(k, kl)) == NULL)
			return cerr(&cs, ln, NULL, "key '%.*s': unknown key",
			    (int)(kl > 40 ? 40 : kl), k);
		j = (size_t)(o - table);
		if (cs.line[j] != 0)
			return cerr(&cs, ln, o->name, "duplicate (first set at "
			    "line %zu)", cs.line[j]);
		/* Double quotes allow an empty value or edge blanks. */
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v++;
			vl -= 2;
		} else if (vl == 0)
			return cerr(&cs, ln, o->name, "missing value");
		if (vl >= sizeof(val))
			return cerr(&cs, ln, o->name, "string too long (%zu "
			    "bytes)", vl);
		memcpy(val, v, vl);
		val[vl] = '\0';
		if ((rc = set(&cs, c, o, val, ln)) != 0)
			return rc;
		cs.line[j] = ln;
	}

	for (i = 0; i < NOPT; i++)
		if (table[i].required && cs.line[i] == 0) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: missing required key "
				    "'%s'", cs.name, table[i].name);
			return TS_EPARSE;
		}

	/* Computed defaults, in dependency order. */
	if (c->datadir[0] == '\0') {
		const char *d = dir != NULL && *dir != '\0' ? dir : ".";

		if (strlen(d) >= sizeof(c->datadir)) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: config directory too "
				    "long for datadir", cs.name);
			return TS_EPARSE;
		}
		memcpy(c->datadir, d, strlen(d) + 1);
	}
	if (c->sign_key[0] == '\0' &&
	    join(c->sign_key, sizeof(c->sign_key), c->datadir, "sign.key") != 0)
		return cerr(&cs, cs.line[lookup("datadir", 7) - table],
		    "datadir", "too long for <datadir>/sign.key");
	if (c->curve_key[0] == '\0' &&
	    join(c->curve_key, sizeof(c->curve_key), c->datadir, "curve.key") != 0)
		return cerr(&cs, cs.line[lookup("datadir", 7) - table],
		    "datadir", "too long for <datadir>/curve.key");

	/* Ordered pairs; blame whichever key was written last. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		long a, b;

		lo = lookup(order[i].lo, strlen(order[i].lo));
		hi = lookup(order[i].hi, strlen(order[i].hi));
		a = numval(c, lo);
		b = numval(c, hi);
		if (order[i].strict ? a < b : a <= b)
			continue;
		later = cs.line[lo - table] > cs.line[hi - table] ? lo : hi;
		if (later == hi)
			return cerr(&cs, cs.line[hi - table], hi->name,
			    "%ld must be %s %s (%ld)", b, order[i].strict ?
			    ">" : ">=", lo->name, a);
		return cerr(&cs, cs.line[lo - table], lo->name,
		    "%ld must be %s %s (%ld)", a, order[i].strict ?
		    "<" : "<=", hi->name, b);
	}
	return 0;
}

int
ts_config_load(ts_config *c, const char *path, char *err, size_t errlen)
{
	char	*buf, dir[TS_PATH_MAX], cwd[TS_PATH_MAX];
	const char *slash;
	size_t	 len, dl;
	int	 rc;

	if (c == NULL || path == NULL)
		return TS_EINVAL;
	/* The directory, made absolute: the daemon may change its cwd
	 * after loading, and the paths must still point where they did. */
	if ((slash = strrchr(path, '/')) == NULL) {
		dir[0] = '\0';
		dl = 0;
	} else {
		dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= sizeof(dir))
			goto toolong;
		memcpy(dir, path, dl);
		dir[dl] = '\0';
	}
	if (dir[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: getcwd: %s", path,
				    strerror(errno));
			return TS_ESYS;
		}
		if (dl == 0 || strcmp(dir, ".") == 0)
			memcpy(dir, cwd, strlen(cwd) + 1);
		else {
			char rel[TS_PATH_MAX];

			memcpy(rel, dir, dl + 1);
			if (join(dir, sizeof(dir), cwd, rel) != 0)
				goto toolong;
		}
	}

	if ((rc = ts_file_read(path, CONFIG_FILE_MAX, &buf, &len, err,
	    errlen)) != 0)
		return rc;
	rc = ts_config_parse(c, path, dir, buf, len, err, errlen);
	free(buf);
	return rc;
toolong:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: path too long", path);
	return TS_EPARSE;
}

void
ts_config_describe(FILE *f)
{
	static const char *const tname[] = {
		"unit code", "path", "endpoint", "stderr or syslog",
		"integer", "integer", "MMDD"
	};
	size_t	i;

	fprintf(f, "| key | type | default | range | help |\n");
	fprintf(f, "| --- | --- | --- | --- | --- |\n");
	for (i = 0; i < NOPT; i++) {
		const struct copt *o = &table[i];

		fprintf(f, "| `%s` | %s | ", o->name, tname[o->type]);
		if (o->required)
			fprintf(f, "**required**");
		else if (o->def == NULL)
			fprintf(f, "%s", o->defdoc);
		else if (o->def[0] == '\0')
			fprintf(f, "empty");
		else
			fprintf(f, "`%s`", o->def);
		fprintf(f, " | ");
		if (o->type == C_INT || o->type == C_LONG || o->type == C_MMDD)
			fprintf(f, "%ld .. %ld", o->min, o->max);
		fprintf(f, " | %s |\n", o->help);
	}
}

uint64_t
ts_config_deadline_ms(const ts_config *c, const char *period, int child_level)
{
	int steps = TS_LVL_COMMUNE - child_level;
	uint64_t ms;

	if (steps < 0)
		steps = 0;
	if (ts_period_deadline_ms(period, c->deadline_annual_mmdd,
	    c->deadline_quarter_days, c->deadline_month_days,
	    steps * c->deadline_step_days, &ms) != 0)
		return 0;               /* not a period: every report counts late */
	return ms;
}
