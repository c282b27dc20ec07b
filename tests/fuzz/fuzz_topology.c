/*
 * Fuzz target: the topology parser ts_topo_parse (docs/TOPOLOGY.md), which
 * every node and tierctl run on a file an operator may have edited.
 *
 * Oracles:
 *  - failure => negative code, *t == NULL, and for TS_EPARSE a
 *    NUL-terminated message "NAME:LINE: what" (or "NAME: what");
 *  - success => a well-formed tree: one root, every parent index valid,
 *    depth = parent's depth + 1, children lists consistent with parents,
 *    nleaves = sum over children (1 for a leaf), every code found by
 *    ts_topo_find at its own index, every unit inside the root's subtree
 *    and its parent's, children in file order; the version is 1..64 of
 *    [0-9A-Za-z._-], effective a real date YYYY-MM-DD (2000..2999), and
 *    every name 1..256 bytes of valid UTF-8 (no overlong forms, no
 *    surrogates), no control character, no edge space.
 */
#include <string.h>

#include "fuzz.h"
#include "tiersync/topology.h"

#define NAME "fuzz.tsv"

/* Strict UTF-8 (RFC 3629), written independently of the parser's. */
static int
utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, len, k;
	uint32_t cp;

	while (i < n) {
		uint8_t b = p[i];
		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)      { len = 2; cp = b & 0x1f; }
		else if (b >= 0xe0 && b <= 0xef) { len = 3; cp = b & 0x0f; }
		else if (b >= 0xf0 && b <= 0xf4) { len = 4; cp = b & 0x07; }
		else return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

static void
check_name(const char *name)
{
	size_t n = strlen(name), i;

	FUZZ_CHECK(n >= 1 && n <= TS_NAME_MAX);
	FUZZ_CHECK(name[0] != ' ' && name[n - 1] != ' ');
	for (i = 0; i < n; i++)
		FUZZ_CHECK((uint8_t)name[i] >= 0x20 && name[i] != 0x7f);
	FUZZ_CHECK(utf8_ok((const uint8_t *)name, n));
}

static void
check_version(const char *v)
{
	size_t n = strlen(v), i;

	FUZZ_CHECK(n >= 1 && n <= TS_TOPO_MAX);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' &&
		    v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		    v[i] == '.' || v[i] == '_' || v[i] == '-');
}

static void
check_date(const char *d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int i, y, m, day, leap;

	FUZZ_CHECK(strlen(d) == 10 && d[4] == '-' && d[7] == '-');
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7)
			FUZZ_CHECK(d[i] >= '0' && d[i] <= '9');
	y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 +
	    (d[3] - '0');
	m = (d[5] - '0') * 10 + (d[6] - '0');
	day = (d[8] - '0') * 10 + (d[9] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	FUZZ_CHECK(y >= 2000 && y <= 2999 && m >= 1 && m <= 12);
	FUZZ_CHECK(day >= 1 && day <= mdays[m - 1] + (m == 2 && leap));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_topo *t = (ts_topo *)1;
	char err[512];
	size_t i, nroots = 0, nsum, nkids;
	int rc, c;

	memset(err, 'x', sizeof(err));
	rc = ts_topo_parse(&t, NAME, (const char *)data, size, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(t == NULL);
		if (rc == TS_EPARSE)
			FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0 &&
			    strlen(err) > strlen(NAME) + 2);
		return 0;
	}
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(t->nunits > 0 && t->root >= 0 && (size_t)t->root < t->nunits);
	check_version(t->version);
	check_date(t->effective);
	for (i = 0; i < t->nunits; i++) {
		const ts_unit *u = &t->units[i];
		FUZZ_CHECK(ts_valid_code(u->code, strlen(u->code)) == 0);
		FUZZ_CHECK(ts_topo_find(t, u->code) == (int)i);
		FUZZ_CHECK(u->level >= TS_LVL_NATIONAL && u->level <= TS_LVL_COMMUNE);
		FUZZ_CHECK(u->name != NULL);
		check_name(u->name);
		if (u->parent < 0) {
			FUZZ_CHECK(u->parent == -1 && (int)i == t->root);
			FUZZ_CHECK(u->depth == 0);
			nroots++;
		} else {
			FUZZ_CHECK((size_t)u->parent < t->nunits &&
			    u->parent != (int)i);
			FUZZ_CHECK(u->depth == t->units[u->parent].depth + 1);
			FUZZ_CHECK(ts_topo_in_subtree(t, (int)i, u->parent));
		}
		FUZZ_CHECK(ts_topo_in_subtree(t, (int)i, t->root));
		nsum = 0;
		nkids = 0;
		for (c = u->first_child; c != -1; c = t->units[c].next_sibling) {
			FUZZ_CHECK(c >= 0 && (size_t)c < t->nunits);
			FUZZ_CHECK(t->units[c].parent == (int)i);
			FUZZ_CHECK(t->units[c].next_sibling == -1 ||
			    t->units[c].next_sibling > c);
			FUZZ_CHECK(++nkids <= t->nunits);
			nsum += t->units[c].nleaves;
		}
		FUZZ_CHECK(nkids == (size_t)u->nchildren);
		FUZZ_CHECK(u->nleaves == (nkids == 0 ? 1 : nsum));
	}
	FUZZ_CHECK(nroots == 1);
	FUZZ_CHECK(t->units[t->root].nleaves <= t->nunits);
	ts_topo_free(&t);
	FUZZ_CHECK(t == NULL);
	return 0;
}
