/*
 * The unit tree's history (docs/TOPOLOGY.md, "History"): versions of the
 * tree with their effective dates, and between consecutive versions the
 * official mapping old unit -> new unit (full or partial).  Library
 * tiersync_topology (topology/history.c); prefix ts_hist_.
 *
 * Mapping file (UTF-8, tab-separated, '#' comments, CRLF/BOM as in trees):
 *   !from<TAB>vn-2025-03            (required, once: the old version)
 *   !to<TAB>vn-2025-07              (required, once: the new version)
 *   !effective<TAB>2025-07-01       (required, once: the new one's date)
 *   level<TAB>old_code<TAB>new_code<TAB>kind        (header, required)
 *   commune<TAB>00016<TAB>00004<TAB>partial
 * level is the new unit's level (province, district or commune); kind is
 * full (the whole old unit went into the new one: its only successor)
 * or partial (part of it did: a split, two or more successors).
 *
 * History file:
 *   version<TAB>effective<TAB>tree<TAB>mapping       (header, required)
 *   vn-2025-03<TAB>2025-03-01<TAB>vn-2025-03.tsv<TAB>-
 *   vn-2025-07<TAB>2025-07-01<TAB>vn-2025-07.tsv<TAB>vn-reform-2025-07-01.tsv
 * Oldest first, effective dates strictly increasing; tree and mapping
 * relative to the history file's directory; mapping "-" on the first
 * line only.
 *
 * The rule: a period is reported in the version in force on its last
 * day (Viet Nam dates, period.h), i.e. the newest version whose
 * effective date is on or before that day; the first version also
 * covers every day before its own effective date.
 *
 * Errors: functions that parse return TS_EPARSE with "file:line: what"
 * in err (errlen bytes; err may be NULL), TS_ESYS / TS_ELIMIT with
 * "path: reason" when a file cannot be read, TS_ENOMEM, TS_EINVAL for
 * NULL arguments.  On any failure the output pointer is NULL: nothing
 * half-built is ever returned.
 */
#ifndef TIERSYNC_HISTORY_H
#define TIERSYNC_HISTORY_H

#include "tiersync/topology.h"

/* Longest file name or path kept (config.h TS_PATH_MAX alike). */
#define TS_HIST_PATH_MAX 1024

enum ts_hist_kind { TS_HIST_FULL = 1, TS_HIST_PARTIAL = 2 };
const char *ts_hist_kind_name(int kind);   /* "full", "partial", "?" */

/* One mapping line: old unit -> new unit. */
typedef struct ts_hist_link {
	char	 old_code[TS_CODE_MAX + 1];
	char	 new_code[TS_CODE_MAX + 1];
	int	 level;          /* enum ts_level of the new unit           */
	int	 kind;           /* enum ts_hist_kind                       */
	size_t	 line;           /* line in the mapping file                */
	int	 old_u, new_u;   /* unit indexes once bound, else -1        */
} ts_hist_link;

typedef struct ts_hist_map {
	char	 name[TS_HIST_PATH_MAX];  /* file name, for messages          */
	char	 from[TS_TOPO_MAX + 1], to[TS_TOPO_MAX + 1];
	char	 effective[11];      /* YYYY-MM-DD                          */
	size_t	 from_line, to_line, eff_line, lastline;
	size_t	 nlinks;
	ts_hist_link *links;         /* file order                          */
	/* Set by ts_hist_map_bind (borrowed; must outlive the map): */
	const ts_topo *old_t, *new_t;
	/* private: links by old unit / by new unit (index lists) */
	int	*succ_off, *succ;     /* old_t->nunits + 1 offsets          */
	int	*pred_off, *pred;     /* new_t->nunits + 1 offsets          */
} ts_hist_map;

/* Parse a mapping: syntax, directives, header, levels, kinds, codes;
 * a line repeated (same old and new code), an old unit mapped full
 * twice or both full and partial, an old unit mapped partial to only
 * one new unit.  *m is NULL on failure; free with ts_hist_map_free. */
int  ts_hist_map_parse(ts_hist_map **m, const char *name, const char *text,
         size_t len, char *err, size_t errlen);
int  ts_hist_map_load(ts_hist_map **m, const char *path, char *err, size_t errlen);
void ts_hist_map_free(ts_hist_map **m);

/*
 * Check m against the trees it maps and index it (errors "file:line:"
 * of the mapping): !from and !to are the trees' versions, !effective
 * the new tree's; every old code is in old_t and every new code in
 * new_t, the line's level is the new unit's level and the old unit's
 * (or the old unit is a leaf: an island district without communes
 * became a commune); every old unit except the root that is a leaf or
 * whose level the new tree has is mapped (a mapping must not lose a
 * unit; reported at the mapping's last line, first such unit in tree
 * order); every new unit except the root has a predecessor.  Old units
 * left unmapped are exactly the retired ones: non-leaf units of a level
 * the new tree lacks (the 2025 districts).  The roots map to each other
 * implicitly.  On failure m is left unbound (old_t NULL).  The trees are
 * borrowed: they must outlive m.
 */
int  ts_hist_map_bind(ts_hist_map *m, const ts_topo *old_t, const ts_topo *new_t,
         char *err, size_t errlen);

/* Successors of old unit index old_u (links in file order) / predecessors
 * of new unit index new_u: the number of links, *out pointing into m's
 * own arrays of link indexes (valid while m lives).  0 (and *out NULL)
 * for a retired unit, a root, a bad index or an unbound map. */
size_t ts_hist_successors(const ts_hist_map *m, int old_u, const int **out);
size_t ts_hist_predecessors(const ts_hist_map *m, int new_u, const int **out);

typedef struct ts_hist_version {
	char	 version[TS_TOPO_MAX + 1];
	char	 effective[11];
	int32_t	 effective_day;       /* period.h day number                */
	ts_topo	*tree;                /* owned                              */
	ts_hist_map *map;             /* from the version before; NULL first */
	size_t	 line;                /* line in the history file           */
} ts_hist_version;

typedef struct ts_hist {
	size_t	 nversions;
	ts_hist_version *v;           /* oldest first                       */
} ts_hist;

/* Load a history and every tree and mapping it names, and check them:
 * each tree's !version and !effective are the line's, each mapping goes
 * from the version above to this one and binds (ts_hist_map_bind),
 * versions unique, effective dates strictly increasing.  dir is where
 * file names are relative to (ts_hist_load: the history file's
 * directory).  *h NULL on failure; free with ts_hist_free. */
int  ts_hist_load(ts_hist **h, const char *path, char *err, size_t errlen);
int  ts_hist_parse(ts_hist **h, const char *name, const char *text, size_t len,
         const char *dir, char *err, size_t errlen);
void ts_hist_free(ts_hist **h);

/* Index of version id in h, or -1. */
int  ts_hist_find(const ts_hist *h, const char *version);
/* Index of the version in force on day (period.h day number). */
int  ts_hist_on_day(const ts_hist *h, int32_t day);
/* THE rule, for the daemon and tierctl alike: index of the version a
 * period (NUL-terminated YYYY, YYYYQn or YYYY-MM) is reported in, or
 * TS_EPARSE for a string that is not a period (TS_EINVAL: h NULL). */
int  ts_hist_version_for(const ts_hist *h, const char *period);
/* The same as the tree (owned by h), or NULL when it fails. */
const ts_topo *ts_hist_tree_for(const ts_hist *h, const char *period);

/* What a file is, from its first line that tells (a directive or a
 * header line): TS_HIST_FILE_TREE (!version, or the tree's header),
 * TS_HIST_FILE_MAP (!from, !to, or the mapping's header) or
 * TS_HIST_FILE_HISTORY (the history's header).  Returns that kind, or
 * TS_EPARSE ("path:line: ..." in err) when no line tells or the file
 * cannot be read (TS_ESYS / TS_ELIMIT, "path: reason"). */
enum ts_hist_file { TS_HIST_FILE_TREE = 1, TS_HIST_FILE_MAP = 2,
                    TS_HIST_FILE_HISTORY = 3 };
int  ts_hist_file_kind(const char *path, char *err, size_t errlen);

#endif
