/*
 * tierctl internals: the command table, the context every command gets,
 * option parsing, error printing, a small JSON writer and formatting
 * helpers.  See docs/TIERCTL.md for the user-visible contract.
 */
#ifndef TIERCTL_UTIL_H
#define TIERCTL_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "tiersync/common.h"
#include "tiersync/config.h"
#include "tiersync/proto.h"
#include "tiersync/store.h"
#include "tiersync/topology.h"
#include "tiersync/util.h"
#include "tiersync/verify.h"

/* Exit statuses: documented in docs/TIERCTL.md. */
#define EXIT_OK     0
#define EXIT_FAIL   1
#define EXIT_USAGE  2

/* Everything a command may need; loaded lazily by ctl_load_*. */
struct ctl {
	const char *dir;          /* -d, $TIERSYNC_DIR or "."               */
	int         json;         /* --json                                 */
	char        confpath[TS_PATH_MAX];
	ts_config   cfg;
	int         have_cfg;
	ts_topo    *topo;
	ts_keys    *keys;
	ts_store   *store;
};

struct cmd {
	const char *name;
	int       (*fn)(struct ctl *, int, char **);
	const char *usage;        /* arguments after the command name       */
	const char *help;         /* one paragraph, shown by --help         */
};

extern const struct cmd *ctl_cur;    /* command being run, for usage     */

/* ---- errors (to stderr, prefixed "tierctl: ") ---- */
void ctl_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int  ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- options ----
 * A command declares its options; opt_parse fills values, collects the
 * positionals and handles --help and --json anywhere after the command.
 * Returns 0, EXIT_USAGE after printing the error, or -1 when --help was
 * printed (the command then exits 0). */
struct opt {
	const char  *name;        /* "--unit"                               */
	const char **val;         /* option takes a value; NULL for a flag  */
	int         *flag;        /* set to 1 for a flag                    */
};
int  opt_parse(struct ctl *c, int argc, char **argv, const struct opt *opts,
         char **pos, int minpos, int maxpos, int *npos);
void cmd_print_help(FILE *f, const struct cmd *cmd);

/* ---- context ---- */
int  ctl_load_config(struct ctl *c);
int  ctl_load_topo(struct ctl *c);
int  ctl_load_keys(struct ctl *c);
int  ctl_open_store(struct ctl *c);        /* read-only, <datadir>/store */
void ctl_free(struct ctl *c);
/* Absolute path of the datadir into out (for messages and ipc://). */
void ctl_datadir_abs(const struct ctl *c, char *out, size_t outlen);

/* ---- parsing ---- */
/* Strict unsigned decimal: digits only, no sign, no blanks, no overflow.
 * Returns 0, or TS_EPARSE with a short reason in *why. */
int  parse_u64(const char *s, size_t len, uint64_t *v, const char **why);
/* The same for a numerator or denominator: also refused over
 * TS_VALUE_MAX (2^53 - 1), naming the bound. */
int  parse_value(const char *s, size_t len, uint64_t *v, const char **why);

/* ---- formatting ---- */
void fmt_iso8601(uint64_t ms, char *out, size_t outlen);  /* UTC, "Z"  */
void fmt_age(uint64_t ms, char *out, size_t outlen);      /* "3m12s"   */
void fmt_rate(uint64_t num, uint64_t den, char *out, size_t outlen);
/* Display width of UTF-8 text (code points; good enough for Vietnamese
 * in precomposed form) and padding to a column. */
size_t utf8_width(const char *s);
void   print_padded(FILE *f, const char *s, size_t width);

/* ---- report helpers shared by report, log, verify ---- */
const char *unit_name(const struct ctl *c, const char *code);
/* Signatures, chains and envelope loading: the verifier's
 * (tiersync/verify.h: ts_verify_sig, ts_env_load, ts_chain_walk_step). */

/* ---- JSON writer ----
 * Tracks commas and nesting; strings are escaped (", \, control chars
 * as \u00XX) and invalid UTF-8 is replaced with U+FFFD so the output is
 * always valid JSON. */
#define JSON_DEPTH_MAX 16
struct json {
	FILE    *f;
	int      depth;
	uint8_t  nelem[JSON_DEPTH_MAX];   /* 0: nothing written at depth   */
	int      after_key;
};
void json_init(struct json *j, FILE *f);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_u64(struct json *j, uint64_t v);
void json_bool(struct json *j, int b);
void json_null(struct json *j);
void json_hex(struct json *j, const uint8_t *p, size_t n);
void json_end(struct json *j);            /* newline after the document */
/* key + value shorthands */
void json_kstr(struct json *j, const char *k, const char *v);
void json_ku64(struct json *j, const char *k, uint64_t v);
void json_kbool(struct json *j, const char *k, int b);
void json_khex(struct json *j, const char *k, const uint8_t *p, size_t n);

/* ---- commands ---- */
int cmd_init(struct ctl *, int, char **);
int cmd_put(struct ctl *, int, char **);
int cmd_import(struct ctl *, int, char **);
int cmd_status(struct ctl *, int, char **);
int cmd_report(struct ctl *, int, char **);
int cmd_log(struct ctl *, int, char **);
int cmd_verify(struct ctl *, int, char **);

#endif
