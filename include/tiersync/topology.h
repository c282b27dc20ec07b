/*
 * Unit trees and keys (docs/TOPOLOGY.md).
 *
 * Topology file (UTF-8, tab-separated):
 *   # comment lines and blank lines are ignored
 *   !version<TAB>vn-2025-03          (required, once, before units)
 *   !effective<TAB>2025-03-01         (required, once, YYYY-MM-DD)
 *   code<TAB>level<TAB>parent<TAB>name (header line, required)
 *   VN<TAB>national<TAB>-<TAB>Việt Nam
 *   12<TAB>province<TAB>VN<TAB>Tỉnh Lai Châu
 * Exactly one root (parent "-").  level is one of national, province,
 * district, commune.  A parent may appear after its children in the
 * file; unknown parents, duplicate codes, cycles, a second root and
 * malformed lines are errors.
 *
 * Keys file (tab-separated, '#' comments):
 *   code<TAB>sign_pk_hex(64)<TAB>curve_pk_z85(40)[<TAB>not_after]
 * not_after is "-" or unix seconds after which the key is refused
 * (used for rotation overlap).  A unit may have several lines (rotation).
 *
 * Parse errors: functions return TS_EPARSE and write "file:line: what"
 * into err (errlen bytes, may be NULL/0).
 */
#ifndef TIERSYNC_TOPOLOGY_H
#define TIERSYNC_TOPOLOGY_H

#include "tiersync/common.h"

enum ts_level { TS_LVL_NATIONAL = 0, TS_LVL_PROVINCE = 1,
                TS_LVL_DISTRICT = 2, TS_LVL_COMMUNE = 3 };
const char *ts_level_name(int level);

typedef struct ts_unit {
	char  code[TS_CODE_MAX + 1];
	int   level;                 /* enum ts_level                      */
	int   parent;                /* index into units, -1 for the root  */
	char *name;                  /* UTF-8, owned by the topology       */
	int   first_child, next_sibling;  /* -1 terminated child list      */
	int   nchildren;
	int   depth;                 /* root = 0                           */
	uint32_t nleaves;            /* leaf units in subtree (self if leaf) */
} ts_unit;

typedef struct ts_topo {
	char     version[TS_TOPO_MAX + 1];
	char     effective[11];      /* YYYY-MM-DD                          */
	size_t   nunits;
	ts_unit *units;
	int      root;
	/* private: code -> index hash table */
	size_t   hcap;
	int32_t *htab;
} ts_topo;

int  ts_topo_load(ts_topo **t, const char *path, char *err, size_t errlen);
/* Same, from memory; `name` is used in error messages. */
int  ts_topo_parse(ts_topo **t, const char *name, const char *text, size_t len,
                   char *err, size_t errlen);
void ts_topo_free(ts_topo **t);
int  ts_topo_find(const ts_topo *t, const char *code);      /* index or -1 */
/* 1 if unit index u is inside the subtree rooted at index root
 * (u == root counts). */
int  ts_topo_in_subtree(const ts_topo *t, int u, int root);

typedef struct ts_key {
	char     code[TS_CODE_MAX + 1];
	uint8_t  sign_pk[TS_SIGN_PK_LEN];
	char     curve_pk[TS_CURVE_Z85_LEN + 1];   /* Z85 text              */
	uint8_t  curve_bin[32];                    /* decoded               */
	uint64_t not_after;                        /* 0 = no limit          */
} ts_key;

typedef struct ts_keys {
	size_t  nkeys;
	ts_key *keys;
	/* keys by CURVE key (then line), for ts_keys_by_curve: national's
	 * file lists the whole country and every session looks its key up */
	const ts_key **by_curve;
} ts_keys;

int  ts_keys_load(ts_keys **k, const char *path, char *err, size_t errlen);
int  ts_keys_parse(ts_keys **k, const char *name, const char *text, size_t len,
                   char *err, size_t errlen);
void ts_keys_free(ts_keys **k);
/* Keys valid at now_s (unix seconds; not_after 0 or >= now_s).
 * Returns the number found; fills at most max into out (pointers into k). */
size_t ts_keys_sign_for(const ts_keys *k, const char *code, uint64_t now_s,
                        const ts_key **out, size_t max);
/* The newest (last in the file) of code's keys valid at now_s, or NULL:
 * during a rotation overlap the new line is the one to connect with. */
const ts_key *ts_keys_newest_for(const ts_keys *k, const char *code, uint64_t now_s);
/* The unit whose CURVE public key (binary) is pk and valid at now_s. */
const ts_key *ts_keys_by_curve(const ts_keys *k, const uint8_t pk[32], uint64_t now_s);

#endif
