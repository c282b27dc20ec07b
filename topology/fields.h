/*
 * Internal to tiersync_topology: what the tree, keys, mapping and
 * history parsers of topology/ share beyond tiersync/util.h's line
 * reader and splitter -- "file:line: what" messages, printable copies of
 * fields for them, and the checks of version ids and dates.  Not
 * installed; prefix tp_.
 */
#ifndef TIERSYNC_TOPOLOGY_FIELDS_H
#define TIERSYNC_TOPOLOGY_FIELDS_H

#include <stdarg.h>
#include <stddef.h>

#include "tiersync/common.h"
#include "tiersync/util.h"

/* Write "name:line: " + the message into err (errlen bytes; err may be
 * NULL or errlen 0) and return TS_EPARSE. */
int tp_perr(char *err, size_t errlen, const char *name, size_t line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tp_vperr(char *err, size_t errlen, const char *name, size_t line,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* A printable copy of f in buf (bufsz bytes) for a message: control
 * bytes, backslash and quote as \xNN (with ascii, every byte >= 0x7f
 * too), long fields cut with "...".  Returns buf. */
const char *tp_show_bytes(const ts_field *f, char *buf, size_t bufsz, int ascii);
const char *tp_show(const ts_field *f, char *buf, size_t bufsz);
/* 1 if f is exactly the NUL-terminated s. */
int tp_feq(const ts_field *f, const char *s);
/* 1..TS_TOPO_MAX of [0-9A-Za-z._-]: a topology version id. */
int tp_valid_version(const ts_field *f);
/* YYYY-MM-DD, a real calendar date, year 2000..2999 like periods. */
int tp_valid_date(const ts_field *f);

/* What every parse function does first, once it has cleared its output:
 * err emptied; TS_EINVAL when text is NULL with len > 0, else 0. */
int tp_parse_start(const char *text, size_t len, char *err, size_t errlen);
/* Number of lines of text[0..len) (an upper bound on its records). */
size_t tp_count_lines(const char *text, size_t len);
/* The next line with data from lr (comments and blank lines skipped,
 * ts_line_skip): 1 with *s, *n set, 0 at the end, TS_EPARSE with
 * "name:line: why" in err on a stray CR or a NUL. */
int tp_next_line(ts_lines *lr, const char *name, const char **s, size_t *n,
    char *err, size_t errlen);

#endif
