/*
 * tiersync — text and file helpers shared by every parser (library
 * tiersync_common, common/util.c): the one whole-file reader, the line
 * reader and TAB splitter of the TSV formats (topology, keys,
 * catalogue, plans), the UTF-8 check and the XML/HTML escaper.
 *
 * None of them keeps state between calls or prints anything; errors
 * come back as TS_E* codes (common.h) and, where a caller must show
 * them, as a NUL-terminated message naming the file.
 */
#ifndef TIERSYNC_UTIL_H
#define TIERSYNC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tiersync/common.h"

/* ---- whole files ------------------------------------------------- */

/*
 * Read the whole file at path into *buf: one malloc'ed block of *len
 * bytes plus a NUL after them (so text can be handled as a C string
 * where that is convenient; the file itself may hold NULs).  The caller
 * owns *buf and free()s it.  A file of more than max bytes is refused
 * without reading it all.  Returns
 *   0           *buf, *len set (an empty file: *len 0, *buf "")
 *   TS_ESYS     open or read failed; errno kept; err "PATH: <strerror>"
 *   TS_ELIMIT   larger than max; err "PATH: file too large (over N MiB)"
 *   TS_ENOMEM   err "PATH: out of memory"
 * On failure *buf is NULL and *len 0.  err may be NULL.
 */
int ts_file_read(const char *path, size_t max, char **buf, size_t *len,
        char *err, size_t errlen);

/* ---- lines and TAB-separated fields ------------------------------ */

/*
 * Lines of a text held in memory, as the TSV formats define them
 * (docs/TOPOLOGY.md): LF or CRLF ends a line, the last line may lack
 * one; a UTF-8 byte order mark at the start of line 1 is skipped; a
 * carriage return anywhere else in a line, or a NUL byte, is an error.
 * The text is not modified and must outlive the reader.
 */
typedef struct ts_lines {
	const char *p, *end;
	size_t      line;           /* number of the line last returned    */
} ts_lines;

void ts_lines_init(ts_lines *l, const char *text, size_t len);
/* Next line: 1 with *s, *n (without its line end), 0 at the end,
 * TS_EPARSE with *why ("carriage return inside line", "NUL byte in
 * line"); l->line is that line's number (1-based) in every case. */
int  ts_lines_next(ts_lines *l, const char **s, size_t *n, const char **why);
/* 1 if s[0..n) is empty or only spaces and TABs, or starts with '#'. */
int  ts_line_skip(const char *s, size_t n);

/* One field of a line: p[0..len), not NUL-terminated. */
typedef struct ts_field {
	const char *p;
	size_t      len;
} ts_field;

/* Split s[0..n) at TABs into fv[0..max).  Returns the number of fields
 * the line has (an empty line has one, empty); when that exceeds max
 * only the first max are stored and the caller reports the count. */
size_t ts_tsv_split(const char *s, size_t n, ts_field *fv, size_t max);

/* ---- UTF-8 ------------------------------------------------------- */

/* Length (1..4) of the valid UTF-8 sequence at p[0..n), 0 if invalid
 * or n is 0.  Strict RFC 3629: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. */
size_t ts_utf8_seq(const uint8_t *p, size_t n);
/* Length of the longest valid prefix of s[0..n) (n: all valid). */
size_t ts_utf8_prefix(const char *s, size_t n);
/* 1 if s[0..n) is valid UTF-8 holding no control character (C0, DEL,
 * C1: U+0000..U+001F, U+007F..U+009F), else 0.  For names and free
 * text in files an operator writes. */
int    ts_utf8_text(const char *s, size_t n);

/* ---- XML / HTML -------------------------------------------------- */

/* Write NUL-terminated s to f with & < > " ' escaped (&amp; &lt; &gt;
 * &quot; &#39;: the same in XML 1.0 and HTML, in text and in quoted
 * attribute values).  Other bytes go out as they are: s must already
 * be valid UTF-8 without control characters (our identifiers and
 * ts_utf8_text names are).  Write errors show in ferror(f). */
void ts_xml_escape(FILE *f, const char *s);

#endif
