/*
 * Topology and keys parsers: the shipped Viet Nam trees, every parser
 * error with its file:line, and keys (Z85, rotation, bad lines).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "tiersync/history.h"
#include "tiersync/identity.h"
#include "tiersync/period.h"
#include "tiersync/topology.h"
#include "tap.h"

static const char *srcdir, *testdata;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Structural invariants every loaded tree must satisfy. */
static void
check_shape(const ts_topo *t, const char *what)
{
	size_t	i, bad = 0, leaves = 0;
	int	c, n, prev;
	uint32_t sum;

	for (i = 0; i < t->nunits; i++) {
		const ts_unit *u = &t->units[i];

		if (ts_topo_find(t, u->code) != (int)i)
			bad++;
		if (u->parent >= 0 && t->units[u->parent].depth + 1 != u->depth)
			bad++;
		n = 0;
		sum = 0;
		prev = -1;
		for (c = u->first_child; c >= 0; c = t->units[c].next_sibling) {
			if (t->units[c].parent != (int)i || c <= prev)
				bad++;	/* wrong parent or not file order */
			prev = c;
			sum += t->units[c].nleaves;
			n++;
		}
		if (n != u->nchildren)
			bad++;
		if (n == 0) {
			leaves++;
			if (u->nleaves != 1)
				bad++;
		} else if (u->nleaves != sum)
			bad++;
	}
	CHECK_EQ_INT(bad, 0, "%s: parents, depths, child lists, nleaves consistent", what);
	CHECK_EQ_INT(t->units[t->root].nleaves, leaves, "%s: root nleaves = leaf count", what);
}

static void
count_levels(const ts_topo *t, size_t *n)
{
	size_t	i;

	memset(n, 0, 4 * sizeof(*n));
	for (i = 0; i < t->nunits; i++)
		n[t->units[i].level]++;
}

static void
test_vn_2025_03(void)
{
	char	 path[1024], err[512];
	ts_topo	*t = NULL;
	size_t	 n[4];
	int	 rc, pt, lc, hn, tt, c, first;
	double	 t0, t1;

	snprintf(path, sizeof(path), "%s/topology/vn-2025-03.tsv", srcdir);
	t0 = now_ms();
	rc = ts_topo_load(&t, path, err, sizeof(err));
	t1 = now_ms();
	CHECK_EQ_INT(rc, 0, "load vn-2025-03 (%s)", rc ? err : "ok");
	if (t == NULL)
		return;
	printf("# vn-2025-03: %zu units loaded in %.1f ms\n", t->nunits, t1 - t0);
	/* Not a benchmark: only catches accidental quadratic work. */
	CHECK(t1 - t0 < 2000, "vn-2025-03 loads in well under 2 s");
	CHECK(strcmp(t->version, "vn-2025-03") == 0, "version %s", t->version);
	CHECK(strcmp(t->effective, "2025-03-01") == 0, "effective %s", t->effective);
	CHECK_EQ_INT(t->nunits, 10807, "10,807 units incl. root");
	count_levels(t, n);
	CHECK_EQ_INT(n[TS_LVL_NATIONAL], 1, "1 national");
	CHECK_EQ_INT(n[TS_LVL_PROVINCE], 63, "63 provinces");
	CHECK_EQ_INT(n[TS_LVL_DISTRICT], 696, "696 districts");
	CHECK_EQ_INT(n[TS_LVL_COMMUNE], 10047, "10,047 communes");
	CHECK(strcmp(t->units[t->root].code, "VN") == 0, "root is VN");
	CHECK_EQ_INT(t->units[t->root].depth, 0, "root depth 0");
	CHECK_EQ_INT(t->units[t->root].parent, -1, "root parent -1");
	CHECK_EQ_INT(t->units[t->root].nchildren, 63, "root has 63 children");
	/*
	 * Leaves are units without children: the 10,047 communes plus five
	 * island districts that have no communes at all (Bạch Long Vĩ 318,
	 * Hoàng Sa 498, Côn Đảo 755, Cồn Cỏ 471, Lý Sơn 536).  Each of
	 * those districts reports for itself, so it counts as a leaf.
	 */
	CHECK_EQ_INT(t->units[t->root].nleaves, 10052, "root nleaves 10,047 communes + 5 districts");
	{
		static const char *const isl[] = { "318", "471", "498", "536", "755" };
		size_t i, ok = 0, sum = 0;
		int u;

		for (i = 0; i < 5; i++) {
			u = ts_topo_find(t, isl[i]);
			if (u >= 0 && t->units[u].level == TS_LVL_DISTRICT &&
			    t->units[u].nchildren == 0 && t->units[u].nleaves == 1)
				ok++;
		}
		CHECK_EQ_INT(ok, 5, "the five commune-less districts are leaves");
		for (i = 0; i < t->nunits; i++)
			if (t->units[i].nchildren == 0 &&
			    t->units[i].level == TS_LVL_COMMUNE)
				sum++;
		CHECK_EQ_INT(sum, 10047, "10,047 commune leaves");
	}
	check_shape(t, "vn-2025-03");

	pt = ts_topo_find(t, "109");
	lc = ts_topo_find(t, "12");
	hn = ts_topo_find(t, "01");
	tt = ts_topo_find(t, "03549");	/* Thị trấn Phong Thổ */
	CHECK(pt >= 0 && lc >= 0 && hn >= 0 && tt >= 0, "find 109, 12, 01, 03549");
	first = ts_topo_find(t, "03391");	/* 109's first commune in the file */
	if (pt < 0 || lc < 0 || hn < 0 || tt < 0)
		goto out;
	CHECK(strcmp(t->units[pt].name, "Huyện Phong Thổ") == 0,
	    "109 is Huyện Phong Thổ (%s)", t->units[pt].name);
	CHECK(strcmp(t->units[lc].name, "Tỉnh Lai Châu") == 0,
	    "12 is Tỉnh Lai Châu (%s)", t->units[lc].name);
	CHECK_EQ_INT(t->units[pt].level, TS_LVL_DISTRICT, "109 is a district");
	CHECK_EQ_INT(t->units[pt].parent, lc, "109's parent is 12");
	CHECK_EQ_INT(t->units[lc].parent, t->root, "12's parent is VN");
	CHECK_EQ_INT(t->units[pt].nchildren, 17, "Phong Thổ has 17 communes");
	CHECK_EQ_INT(t->units[pt].nleaves, 17, "Phong Thổ nleaves 17");
	for (c = t->units[pt].first_child; c >= 0; c = t->units[c].next_sibling)
		if (t->units[c].level != TS_LVL_COMMUNE || t->units[c].depth != 3)
			break;
	CHECK(c < 0, "all Phong Thổ children are communes at depth 3");
	CHECK(first >= 0 && t->units[pt].first_child == first,
	    "first child of 109 is 03391 (file order)");
	CHECK_EQ_INT(t->units[lc].depth, 1, "province depth 1");
	CHECK_EQ_INT(t->units[pt].depth, 2, "district depth 2");
	CHECK_EQ_INT(t->units[tt].depth, 3, "commune depth 3");
	CHECK_EQ_INT(t->units[tt].nleaves, 1, "commune nleaves 1");
	CHECK_EQ_INT(t->units[tt].nchildren, 0, "commune has no children");

	CHECK(ts_topo_in_subtree(t, tt, pt), "03549 in 109");
	CHECK(ts_topo_in_subtree(t, tt, lc), "03549 in 12");
	CHECK(ts_topo_in_subtree(t, tt, t->root), "03549 in VN");
	CHECK(ts_topo_in_subtree(t, tt, tt), "unit is in its own subtree");
	CHECK(ts_topo_in_subtree(t, pt, lc), "109 in 12");
	CHECK(!ts_topo_in_subtree(t, tt, hn), "03549 not in 01 (Hà Nội)");
	CHECK(!ts_topo_in_subtree(t, lc, pt), "12 not in 109 (ancestor)");
	CHECK(!ts_topo_in_subtree(t, t->root, tt), "VN not in 03549");
	CHECK(!ts_topo_in_subtree(t, ts_topo_find(t, "00001"), pt), "00001 not in 109");
	CHECK(!ts_topo_in_subtree(t, -1, pt), "index -1 is in nothing");
	CHECK(!ts_topo_in_subtree(t, tt, (int)t->nunits), "out-of-range root");

	CHECK_EQ_INT(ts_topo_find(t, "99999"), -1, "unknown code not found");
	CHECK_EQ_INT(ts_topo_find(t, ""), -1, "empty code not found");
	CHECK_EQ_INT(ts_topo_find(t, "01234567890123456789"), -1, "too long not found");
	CHECK_EQ_INT(ts_topo_find(NULL, "01"), -1, "NULL topology");
out:
	ts_topo_free(&t);
	CHECK(t == NULL, "free sets NULL");
	ts_topo_free(&t);	/* twice is harmless */
}

static void
test_vn_2025_07(void)
{
	char	 path[1024], err[512];
	ts_topo	*t = NULL;
	size_t	 n[4], i, bad = 0;
	int	 lc, c;

	snprintf(path, sizeof(path), "%s/topology/vn-2025-07.tsv", srcdir);
	CHECK_EQ_INT(ts_topo_load(&t, path, err, sizeof(err)), 0,
	    "load vn-2025-07 (%s)", err);
	if (t == NULL)
		return;
	CHECK(strcmp(t->version, "vn-2025-07") == 0, "version %s", t->version);
	CHECK(strcmp(t->effective, "2025-07-01") == 0, "effective %s", t->effective);
	CHECK_EQ_INT(t->nunits, 3356, "3,356 units incl. root");
	count_levels(t, n);
	CHECK_EQ_INT(n[TS_LVL_NATIONAL], 1, "1 national");
	CHECK_EQ_INT(n[TS_LVL_PROVINCE], 34, "34 provinces");
	CHECK_EQ_INT(n[TS_LVL_DISTRICT], 0, "no districts after the reform");
	CHECK_EQ_INT(n[TS_LVL_COMMUNE], 3321, "3,321 communes");
	CHECK_EQ_INT(t->units[t->root].nleaves, 3321, "root nleaves 3,321");
	check_shape(t, "vn-2025-07");
	for (i = 0; i < t->nunits; i++)
		if (t->units[i].level == TS_LVL_COMMUNE &&
		    (t->units[i].depth != 2 ||
		    t->units[t->units[i].parent].level != TS_LVL_PROVINCE))
			bad++;
	CHECK_EQ_INT(bad, 0, "every commune at depth 2 under a province");
	lc = ts_topo_find(t, "12");
	CHECK(lc >= 0 && t->units[lc].parent == t->root, "Lai Châu 12 under VN");
	if (lc >= 0) {
		c = t->units[lc].first_child;
		CHECK(c >= 0 && ts_topo_in_subtree(t, c, lc) &&
		    !ts_topo_in_subtree(t, c, ts_topo_find(t, "01")),
		    "a Lai Châu commune is in 12, not in 01");
	}
	ts_topo_free(&t);
}

/* A fixture must fail with TS_EPARSE, "path:line: " and a keyword. */
static void
bad_fixture(const char *file, int line, const char *words)
{
	char	 path[1024], err[512], want[1100];
	ts_topo	*t = NULL;
	int	 rc;

	snprintf(path, sizeof(path), "%s/topo/%s", testdata, file);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	err[0] = '\0';
	rc = ts_topo_load(&t, path, err, sizeof(err));
	CHECK_EQ_INT(rc, TS_EPARSE, "%s: TS_EPARSE", file);
	CHECK(strncmp(err, want, strlen(want)) == 0 && strstr(err, words) != NULL,
	    "%s: message '%s' has line %d and '%s'", file, err, line, words);
	CHECK(t == NULL, "%s: *t stays NULL", file);
}

static void
test_fixtures(void)
{
	char	 path[1024], err[512];
	ts_topo	*t = NULL;
	int	 r, p1, d1, c1;

	snprintf(path, sizeof(path), "%s/topo/good.tsv", testdata);
	CHECK_EQ_INT(ts_topo_load(&t, path, err, sizeof(err)), 0,
	    "good.tsv loads, parents after children (%s)", err);
	if (t != NULL) {
		r = ts_topo_find(t, "R");
		p1 = ts_topo_find(t, "P1");
		d1 = ts_topo_find(t, "D1");
		c1 = ts_topo_find(t, "1");
		CHECK_EQ_INT(t->root, r, "root is R");
		CHECK_EQ_INT(t->units[c1].parent, d1, "1 -> D1");
		CHECK_EQ_INT(t->units[c1].depth, 3, "1 at depth 3");
		CHECK_EQ_INT(t->units[d1].nchildren, 2, "D1 has 2 children");
		CHECK_EQ_INT(t->units[p1].nchildren, 2, "P1 has 2 children");
		CHECK_EQ_INT(t->units[p1].nleaves, 3, "P1 leaves: 1, 2, D2");
		CHECK_EQ_INT(t->units[r].nleaves, 3, "R leaves 3");
		CHECK(strcmp(t->units[c1].name, "Xã Một") == 0, "UTF-8 name kept");
		check_shape(t, "good.tsv");
	}
	ts_topo_free(&t);

	bad_fixture("dup.tsv", 7, "duplicate code 'P1' (first at line 5)");
	bad_fixture("unknown_parent.tsv", 6, "unknown parent 'P9'");
	bad_fixture("cycle2.tsv", 5, "cycle in parents: A -> B -> A");
	bad_fixture("cycle3.tsv", 6, "cycle in parents: A -> C -> B -> A");
	bad_fixture("two_roots.tsv", 6, "second root 'R2' (first root 'R' at line 4)");
	bad_fixture("no_root.tsv", 5, "no root unit");
	bad_fixture("self_parent.tsv", 5, "its own parent");
	bad_fixture("malformed.tsv", 5, "3 fields, want 4");
	bad_fixture("bad_level.tsv", 5, "unknown level 'state'");
	bad_fixture("bad_utf8.tsv", 5, "not valid UTF-8");
	bad_fixture("bad_code.tsv", 5, "invalid code 'P-1'");
	bad_fixture("empty_code.tsv", 5, "empty code");
	bad_fixture("empty_name.tsv", 5, "empty name");
	bad_fixture("missing_version.tsv", 4, "missing !version");
	bad_fixture("dup_version.tsv", 3, "duplicate !version (first at line 1)");
	bad_fixture("bad_date.tsv", 2, "bad !effective date '2025-02-29'");
	bad_fixture("no_header.tsv", 3, "missing header line");

	snprintf(path, sizeof(path), "%s/topo/does-not-exist.tsv", testdata);
	CHECK_EQ_INT(ts_topo_load(&t, path, err, sizeof(err)), TS_ESYS,
	    "missing file: TS_ESYS (%s)", err);
	CHECK(t == NULL, "missing file: *t NULL");
}

static int
parse_str(ts_topo **t, const char *s, char *err, size_t errlen)
{
	return ts_topo_parse(t, "mem", s, strlen(s), err, errlen);
}

#define HDR "!version\tt1\n!effective\t2024-02-29\ncode\tlevel\tparent\tname\n"

static void
test_memory(void)
{
	char	 err[512], *big, name[300];
	ts_topo	*t = NULL;
	size_t	 i, o, cap;
	int	 rc;

	rc = parse_str(&t, "\xef\xbb\xbf!version\tt1\r\n!effective\t2024-02-29\r\n"
	    "code\tlevel\tparent\tname\r\nR\tnational\t-\tRoot\r\n"
	    "A\tprovince\tR\tTỉnh A\r\n", err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "BOM + CRLF accepted (%s)", err);
	if (t != NULL)
		CHECK(strcmp(t->units[1].name, "Tỉnh A") == 0 &&
		    strcmp(t->version, "t1") == 0, "CR stripped from names");
	ts_topo_free(&t);

	rc = parse_str(&t, HDR "R\tnational\t-\tRo\rot\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strncmp(err, "mem:4: carriage return", 22) == 0,
	    "stray CR refused: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\nA\tprovince\tR\tx\ty\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strncmp(err, "mem:5: 5 fields", 15) == 0,
	    "5 fields: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\n!version\tt2\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:5: ") == err, "directive after units: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\ncode\tlevel\tparent\tname\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:5: duplicate header") == err,
	    "second header: %s", err);
	rc = parse_str(&t, HDR, err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:3: no units") == err, "no units: %s", err);
	rc = parse_str(&t, "", err, sizeof(err));
	CHECK(rc == TS_EPARSE && t == NULL, "empty input: %s", err);
	rc = parse_str(&t, "!version\tt1\n!effective\t2024-13-01\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:2: bad !effective") == err, "month 13: %s", err);
	rc = parse_str(&t, "!version\tbad version\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:1: bad !version") == err, "bad version: %s", err);
	rc = parse_str(&t, "!colour\tred\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:1: unknown directive") == err, "unknown directive: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\nA\tprovince\tR\t\xc0\xaf\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:5: ") == err && strstr(err, "UTF-8"),
	    "overlong UTF-8 refused: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\nA\tprovince\tR\ta\x01" "b\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:5: ") == err, "control char in name: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\nA\tprovince\tR\t Tỉnh\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "leading or trailing space"), "leading space: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\nA\tProvince\tR\tA\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "unknown level"), "levels are lower case: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\nA\tprovince\tR-1\tA\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "invalid parent code"), "bad parent code: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\n0123456789abcdefg\tprovince\tR\tA\n", err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:5: invalid code"), "17-byte code: %s", err);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\n", NULL, 0);
	CHECK(rc == 0 && t != NULL && t->nunits == 1 && t->units[0].nleaves == 1,
	    "single root is a leaf; NULL err is fine");
	ts_topo_free(&t);
	rc = parse_str(&t, HDR "R\tnational\t-\tRoot\n \t \n# x\n", err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "blank-ish lines ignored (%s)", err);
	ts_topo_free(&t);

	/* Name length: TS_NAME_MAX bytes is fine, one more is not. */
	memset(name, 'a', sizeof(name));
	name[TS_NAME_MAX] = '\0';
	big = malloc(1024);
	snprintf(big, 1024, HDR "R\tnational\t-\t%s\n", name);
	CHECK_EQ_INT(parse_str(&t, big, err, sizeof(err)), 0, "name of %d bytes ok", TS_NAME_MAX);
	ts_topo_free(&t);
	name[TS_NAME_MAX] = 'a';
	name[TS_NAME_MAX + 1] = '\0';
	snprintf(big, 1024, HDR "R\tnational\t-\t%s\n", name);
	rc = parse_str(&t, big, err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "mem:4: ") == err && strstr(err, "limit 256"),
	    "name of %d bytes refused: %s", TS_NAME_MAX + 1, err);
	free(big);

	/* A 100,000-deep chain, then the same with a cycle at the top:
	 * nothing may recurse. */
	cap = 100000 * 32 + 256;
	big = malloc(cap);
	o = (size_t)snprintf(big, cap, HDR "C0\tnational\t-\tRoot\n");
	for (i = 1; i < 100000; i++)
		o += (size_t)snprintf(big + o, cap - o, "C%zu\tcommune\tC%zu\tN\n", i, i - 1);
	rc = ts_topo_parse(&t, "chain", big, o, err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "100,000-deep chain loads (%s)", err);
	if (t != NULL) {
		CHECK_EQ_INT(t->units[99999].depth, 99999, "depth 99,999");
		CHECK_EQ_INT(t->units[0].nleaves, 1, "a chain has one leaf");
		CHECK(ts_topo_in_subtree(t, 99999, 0) && !ts_topo_in_subtree(t, 0, 99999),
		    "in_subtree on a deep chain");
	}
	ts_topo_free(&t);
	o = (size_t)snprintf(big, cap, HDR "R\tnational\t-\tRoot\nC0\tcommune\tC99999\tN\n");
	for (i = 1; i < 100000; i++)
		o += (size_t)snprintf(big + o, cap - o, "C%zu\tcommune\tC%zu\tN\n", i, i - 1);
	rc = ts_topo_parse(&t, "ring", big, o, err, sizeof(err));
	CHECK(rc == TS_EPARSE && strstr(err, "ring:5: cycle in parents: C0 -> C99999 -> ") == err &&
	    strstr(err, "... -> C0") != NULL, "100,000-unit cycle found: %.80s", err);
	CHECK(t == NULL, "ring: *t NULL");
	free(big);

	CHECK(strcmp(ts_level_name(TS_LVL_NATIONAL), "national") == 0 &&
	    strcmp(ts_level_name(TS_LVL_COMMUNE), "commune") == 0 &&
	    strcmp(ts_level_name(TS_LVL_DISTRICT), "district") == 0 &&
	    strcmp(ts_level_name(TS_LVL_PROVINCE), "province") == 0,
	    "ts_level_name");
	CHECK(strcmp(ts_level_name(4), "unknown") == 0 &&
	    strcmp(ts_level_name(-1), "unknown") == 0, "ts_level_name out of range");
}

/* ---- keys ------------------------------------------------------- */

#define SK1 "04ab2587820e1b821c3f9231ef5f3e6065c34649d4692b20ea4f27fbf6e553a5"
#define SK2 "9fc47f42c3b1af09ad2ca8d5455648167b5938a88c96a4f381222e0f49e37c29"
#define CK1 "ot<wjBo!F$a4%a$69H#S[[c}bWffFF0=fS3{qY&C"
#define CK2 "2/OU2):f*a]3*2zLSW#)/16@BzjgLl.)MegNm!i/"
#define HW4 "HelloWorldHelloWorldHelloWorldHelloWorld"

static void
bad_keys(const char *text, int line, const char *words, const char *what)
{
	char	 err[512], want[64];
	ts_keys	*k = NULL;
	int	 rc;

	snprintf(want, sizeof(want), "keys.txt:%d: ", line);
	err[0] = '\0';
	rc = ts_keys_parse(&k, "keys.txt", text, strlen(text), err, sizeof(err));
	CHECK(rc == TS_EPARSE && k == NULL && strncmp(err, want, strlen(want)) == 0 &&
	    strstr(err, words) != NULL, "keys %s: '%s'", what, err);
	ts_keys_free(&k);
}

/* A rotation can leave more than four lines for one unit: the newest
 * is the last valid one (the daemon once took the fourth). */
static void
test_keys_newest(void)
{
	ts_identity id[6];
	char text[4096], err[512], hex[2 * TS_SIGN_PK_LEN + 1];
	size_t len = 0, i;
	ts_keys *k = NULL;
	const ts_key *kp;

	CHECK(sodium_init() >= 0, "libsodium");
	for (i = 0; i < 6; i++) {
		CHECK(ts_identity_generate(&id[i]) == 0, "identity %zu", i);
		ts_to_hex(id[i].sign_pk, TS_SIGN_PK_LEN, hex);
		/* line 6 expired long ago: never the newest */
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "P1\t%s\t%s%s\n", hex, id[i].curve_pk, i == 5 ? "\t1" : "");
	}
	CHECK(ts_keys_parse(&k, "keys.txt", text, len, err, sizeof(err)) == 0,
	    "six keys of one unit parse: %s", err);
	CHECK_EQ_INT(ts_keys_sign_for(k, "P1", 1000, NULL, 0), 5, "five valid");
	kp = ts_keys_newest_for(k, "P1", 1000);
	CHECK(kp != NULL && strcmp(kp->curve_pk, id[4].curve_pk) == 0,
	    "the newest valid key is the fifth line, not the fourth");
	CHECK(ts_keys_newest_for(k, "P2", 1000) == NULL, "unknown unit: none");
	ts_keys_free(&k);
	for (i = 0; i < 6; i++)
		ts_identity_wipe(&id[i]);
}

static void
test_keys(void)
{
	static const uint8_t hw[8] = { 0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b };
	char	 path[1024], err[512];
	ts_keys	*k = NULL;
	const ts_key *out[4], *kp;
	uint8_t	 pk[32];
	size_t	 n, i;
	int	 ok;

	snprintf(path, sizeof(path), "%s/topo/keys-good.txt", testdata);
	CHECK_EQ_INT(ts_keys_load(&k, path, err, sizeof(err)), 0, "keys-good.txt loads (%s)", err);
	if (k == NULL)
		return;
	CHECK_EQ_INT(k->nkeys, 5, "5 keys");
	n = ts_keys_sign_for(k, "P1", 1800000000, out, 4);
	CHECK(n == 1 && out[0]->not_after == 0 && strcmp(out[0]->curve_pk, CK1) == 0,
	    "P1: one key, no limit");
	ts_from_hex(SK1, pk, 32);
	CHECK(n == 1 && memcmp(out[0]->sign_pk, pk, 32) == 0, "P1 signing key decoded");

	/* Rotation: D1 has an old key until 1700000000 and a new one. */
	n = ts_keys_sign_for(k, "D1", 1700000000, out, 4);
	CHECK_EQ_INT(n, 2, "D1 at not_after: both keys valid");
	ts_from_hex(SK2, pk, 32);
	CHECK(n == 2 && memcmp(out[0]->sign_pk, pk, 32) == 0 &&
	    out[0]->not_after == 1700000000 && out[1]->not_after == 0,
	    "D1 keys in file order (old first)");
	n = ts_keys_sign_for(k, "D1", 1700000001, out, 4);
	CHECK(n == 1 && out[0]->not_after == 0, "D1 after not_after: only the new key");
	n = ts_keys_sign_for(k, "D1", 0, out, 1);
	CHECK(n == 2 && out[0]->not_after == 1700000000, "count beyond max, fill max");
	CHECK_EQ_INT(ts_keys_sign_for(k, "D1", 0, NULL, 0), 2, "count only");
	CHECK_EQ_INT(ts_keys_sign_for(k, "D9", 0, out, 4), 0, "unknown unit: none");
	CHECK_EQ_INT(ts_keys_sign_for(k, "", 0, out, 4), 0, "empty code: none");
	CHECK_EQ_INT(ts_keys_sign_for(k, "2", 0, out, 4), 1, "'-' not_after = no limit");

	/* by_curve finds the unit, and honours not_after. */
	for (i = 0, ok = 1; i < k->nkeys; i++) {
		kp = ts_keys_by_curve(k, k->keys[i].curve_bin, 1);
		if (kp != &k->keys[i])
			ok = 0;
	}
	CHECK(ok, "by_curve finds every key");
	kp = ts_keys_sign_for(k, "D1", 0, out, 4) == 2 ? out[0] : NULL;
	if (kp != NULL) {
		memcpy(pk, kp->curve_bin, 32);
		CHECK(ts_keys_by_curve(k, pk, 1700000000) == kp, "old CURVE key valid at not_after");
		CHECK(ts_keys_by_curve(k, pk, 1700000001) == NULL, "old CURVE key refused after");
	}
	memset(pk, 0, sizeof(pk));
	CHECK(ts_keys_by_curve(k, pk, 0) == NULL, "unknown CURVE key");
	ts_keys_free(&k);
	CHECK(k == NULL, "keys free sets NULL");

	/* Z85 (ZeroMQ RFC 32) test vector, four times over to make 32 bytes. */
	ok = ts_keys_parse(&k, "v", "A\t" SK1 "\t" HW4 "\n",
	    strlen("A\t" SK1 "\t" HW4 "\n"), err, sizeof(err));
	CHECK_EQ_INT(ok, 0, "HelloWorld x4 parses (%s)", err);
	if (k != NULL) {
		for (i = 0, ok = 1; i < 32; i++)
			if (k->keys[0].curve_bin[i] != hw[i % 8])
				ok = 0;
		CHECK(ok, "Z85 'HelloWorld' = 86 4F D2 6F B5 59 F7 5B");
	}
	ts_keys_free(&k);

	ok = ts_keys_parse(&k, "v", "# only\n\n", 8, err, sizeof(err));
	CHECK(ok == 0 && k != NULL && k->nkeys == 0, "empty keys file is valid");
	CHECK_EQ_INT(ts_keys_sign_for(k, "A", 0, out, 4), 0, "no keys: none");
	ts_keys_free(&k);
	ok = ts_keys_parse(&k, "v", "A\t" SK1 "\t" CK1 "\r\n", strlen("A\t" SK1 "\t" CK1 "\r\n"),
	    err, sizeof(err));
	CHECK(ok == 0 && k != NULL && strcmp(k->keys[0].curve_pk, CK1) == 0, "CRLF keys line");
	ts_keys_free(&k);

	bad_keys("# c\nA\t" SK1 "\n", 2, "2 fields, want 3 or 4", "too few columns");
	bad_keys("A\t" SK1 "\t" CK1 "\t-\tx\n", 1, "5 fields", "too many columns");
	bad_keys("\nA-1\t" SK1 "\t" CK1 "\n", 2, "invalid code 'A-1'", "bad code");
	bad_keys("\t" SK1 "\t" CK1 "\n", 1, "invalid code", "empty code");
	bad_keys("A\t" SK1 "\t" CK1 "\nB\tzz" SK2 "\t" CK2 "\n", 2,
	    "bad signing key", "bad hex length");
	bad_keys("A\tx4ab2587820e1b821c3f9231ef5f3e6065c34649d4692b20ea4f27fbf6e553a5\t" CK1 "\n",
	    1, "bad signing key: not hex", "bad hex digit");
	bad_keys("A\t" SK1 "\tHelloWorld\n", 1, "bad CURVE key: 10 characters", "short Z85");
	bad_keys("A\t" SK1 "\tHelloWorldHelloWorldHelloWorldHelloWorl~\n", 1,
	    "bad CURVE key: not Z85", "Z85 bad char");
	bad_keys("A\t" SK1 "\t%%%%%HelloWorldHelloWorldHelloWorldHello\n", 1,
	    "bad CURVE key: not Z85", "Z85 group over 2^32");
	bad_keys("A\t" SK1 "\t" CK1 "\tsoon\n", 1, "bad not_after 'soon'", "not_after word");
	bad_keys("A\t" SK1 "\t" CK1 "\t0\n", 1, "bad not_after '0'", "not_after 0");
	bad_keys("A\t" SK1 "\t" CK1 "\t99999999999999999999999\n", 1, "bad not_after", "not_after overflow");
	bad_keys("A\t" SK1 "\t" CK1 "\t\n", 1, "bad not_after", "empty not_after");
	bad_keys("A\t" SK1 "\t" CK1 "\n#\nB\t" SK2 "\t" CK2 "\nA\t" SK1 "\t" CK1 "\n", 4,
	    "unit 'A': duplicate key (same keys as line 1)", "exact duplicate");
	bad_keys("A\t" SK1 "\t" CK1 "\nB\t" SK1 "\t" CK2 "\n", 2,
	    "unit 'B': signing key already listed for unit 'A' at line 1", "shared signing key");
	bad_keys("A\t" SK1 "\t" CK1 "\nB\t" SK2 "\t" CK1 "\n", 2,
	    "unit 'B': CURVE key already listed for unit 'A' at line 1", "shared CURVE key");
	bad_keys("A\t" SK1 "\t" CK1 "\nA\t" SK1 "\t" CK1 "\nB\t" SK2 "\tx\n", 3,
	    "bad CURVE key", "syntax error reported before duplicates");

	snprintf(path, sizeof(path), "%s/topo/no-such-keys.txt", testdata);
	CHECK_EQ_INT(ts_keys_load(&k, path, err, sizeof(err)), TS_ESYS, "missing keys file: %s", err);
	CHECK(k == NULL, "missing keys file: *k NULL");
}

/* ---- history: trees, reform mappings, the period -> tree rule ---- */

/* Index of the link old -> new among old's successors, or -1. */
static int
succ_kind(const ts_hist_map *m, const char *old, const char *new_)
{
	const int *s;
	size_t	k, i;

	k = ts_hist_successors(m, ts_topo_find(m->old_t, old), &s);
	for (i = 0; i < k; i++)
		if (strcmp(m->links[s[i]].new_code, new_) == 0)
			return m->links[s[i]].kind;
	return -1;
}

static void
test_history_shipped(void)
{
	static const struct { const char *period; const char *version; } rule[] = {
		{ "2024", "vn-2025-03" }, { "2000", "vn-2025-03" },
		{ "2025-01", "vn-2025-03" }, { "2025-02", "vn-2025-03" },
		{ "2025-06", "vn-2025-03" }, { "2025Q1", "vn-2025-03" },
		{ "2025Q2", "vn-2025-03" }, { "2025-07", "vn-2025-07" },
		{ "2025Q3", "vn-2025-07" }, { "2025-12", "vn-2025-07" },
		{ "2025", "vn-2025-07" }, { "2026", "vn-2025-07" },
		{ "2999-12", "vn-2025-07" },
	};
	char	 path[1024], err[512];
	ts_hist	*h = NULL;
	const ts_hist_map *m;
	const ts_topo *t;
	const int *p;
	size_t	 i, k, unmapped = 0, retired = 0;
	int	 u;

	snprintf(path, sizeof(path), "%s/topology/history.tsv", srcdir);
	CHECK_EQ_INT(ts_hist_load(&h, path, err, sizeof(err)), 0,
	    "load history.tsv (%s)", err);
	if (h == NULL)
		return;
	CHECK_EQ_INT(h->nversions, 2, "2 versions");
	CHECK(strcmp(h->v[0].version, "vn-2025-03") == 0 && h->v[0].map == NULL,
	    "first vn-2025-03, no mapping");
	CHECK(strcmp(h->v[1].version, "vn-2025-07") == 0 && h->v[1].map != NULL,
	    "then vn-2025-07 with its mapping");
	CHECK_EQ_INT(ts_hist_find(h, "vn-2025-07"), 1, "find vn-2025-07");
	CHECK_EQ_INT(ts_hist_find(h, "vn-2024"), -1, "find unknown: -1");
	for (i = 0; i < sizeof(rule) / sizeof(rule[0]); i++) {
		t = ts_hist_tree_for(h, rule[i].period);
		CHECK(t != NULL && strcmp(t->version, rule[i].version) == 0,
		    "%s is reported in %s (got %s)", rule[i].period,
		    rule[i].version, t != NULL ? t->version : "NULL");
	}
	CHECK_EQ_INT(ts_hist_on_day(h, ts_period_from_civil(2025, 6, 30)), 0,
	    "30 June 2025: vn-2025-03");
	CHECK_EQ_INT(ts_hist_on_day(h, ts_period_from_civil(2025, 7, 1)), 1,
	    "1 July 2025: vn-2025-07");
	CHECK_EQ_INT(ts_hist_on_day(h, ts_period_from_civil(2025, 2, 28)), 0,
	    "before the first version: the first");
	CHECK_EQ_INT(ts_hist_version_for(h, "2025-13"), TS_EPARSE, "2025-13: TS_EPARSE");
	CHECK(ts_hist_tree_for(h, "2025Q5") == NULL, "2025Q5: no tree");
	CHECK(ts_hist_tree_for(h, "") == NULL, "empty period: no tree");
	CHECK(ts_hist_tree_for(NULL, "2025") == NULL, "NULL history: no tree");

	m = h->v[1].map;
	CHECK_EQ_INT(m->nlinks, 10667, "10,667 mapping lines");
	/* A split commune: Phường Ngọc Hà 00016 (Hà Nội) went partly into
	 * 00004 and partly into 00008. */
	CHECK_EQ_INT(ts_hist_successors(m, ts_topo_find(m->old_t, "00016"), NULL), 2,
	    "00016 has 2 successors");
	CHECK_EQ_INT(succ_kind(m, "00016", "00004"), TS_HIST_PARTIAL, "00016 -> 00004 partial");
	CHECK_EQ_INT(succ_kind(m, "00016", "00008"), TS_HIST_PARTIAL, "00016 -> 00008 partial");
	/* Merged communes of Phong Thổ (109, Lai Châu 12): Xã Phong Thổ 03549
	 * is the township and three communes, whole. */
	u = ts_topo_find(m->new_t, "03549");
	k = ts_hist_predecessors(m, u, &p);
	CHECK_EQ_INT(k, 4, "new 03549 has 4 predecessors");
	CHECK(k == 4 && strcmp(m->links[p[0]].old_code, "03490") == 0 &&
	    strcmp(m->links[p[1]].old_code, "03549") == 0 &&
	    strcmp(m->links[p[2]].old_code, "03574") == 0 &&
	    strcmp(m->links[p[3]].old_code, "03589") == 0,
	    "03549 <- 03490, 03549, 03574, 03589 (file order)");
	CHECK(k == 4 && m->links[p[0]].kind == TS_HIST_FULL &&
	    m->links[p[3]].kind == TS_HIST_FULL, "... all full");
	CHECK_EQ_INT(succ_kind(m, "03391", "03388"), TS_HIST_FULL,
	    "Lả Nhì Thàng 03391 -> Đoàn Kết 03388, full");
	CHECK_EQ_INT(ts_hist_successors(m, ts_topo_find(m->old_t, "109"), &p), 0,
	    "district 109 has no successor (retired)");
	CHECK(p == NULL, "... and no list");
	CHECK_EQ_INT(succ_kind(m, "12", "12"), TS_HIST_FULL, "Lai Châu 12 -> 12, full");
	/* Provinces merged: Hà Giang 02 and Tuyên Quang 08 into 08. */
	CHECK_EQ_INT(ts_hist_predecessors(m, ts_topo_find(m->new_t, "08"), NULL), 2,
	    "new province 08 has 2 predecessors");
	CHECK_EQ_INT(succ_kind(m, "02", "08"), TS_HIST_FULL, "02 -> 08 full");
	/* An island district without communes became a commune. */
	CHECK_EQ_INT(succ_kind(m, "318", "11948"), TS_HIST_FULL,
	    "island district 318 -> commune 11948");
	for (i = 0; i < m->old_t->nunits; i++) {
		if ((int)i == m->old_t->root ||
		    ts_hist_successors(m, (int)i, NULL) > 0)
			continue;
		if (m->old_t->units[i].level == TS_LVL_DISTRICT &&
		    m->old_t->units[i].nchildren > 0)
			retired++;
		else
			unmapped++;
	}
	CHECK_EQ_INT(retired, 691, "691 districts retired");
	CHECK_EQ_INT(unmapped, 0, "nothing else unmapped");
	CHECK_EQ_INT(ts_hist_successors(m, -1, NULL), 0, "bad index: 0 successors");
	CHECK_EQ_INT(ts_hist_predecessors(m, (int)m->new_t->nunits, NULL), 0,
	    "index past the end: 0 predecessors");
	ts_hist_free(&h);
	CHECK(h == NULL, "ts_hist_free clears the pointer");
}

#define OLD_TREE "!version\to1\n!effective\t2025-03-01\ncode\tlevel\tparent\tname\n" \
	"R\tnational\t-\tRoot\nP1\tprovince\tR\tTỉnh P1\nP2\tprovince\tR\tTỉnh P2\n" \
	"D1\tdistrict\tP1\tHuyện D1\nD2\tdistrict\tP2\tHuyện D2\n" \
	"D3\tdistrict\tP2\tHuyện đảo D3\nC1\tcommune\tD1\tXã C1\n" \
	"C2\tcommune\tD1\tXã C2\nC3\tcommune\tD2\tXã C3\n"
#define NEW_TREE "!version\tn1\n!effective\t2025-07-01\ncode\tlevel\tparent\tname\n" \
	"R\tnational\t-\tRoot\nQ1\tprovince\tR\tTỉnh Q1\nN1\tcommune\tQ1\tXã N1\n" \
	"N2\tcommune\tQ1\tXã N2\nN3\tcommune\tQ1\tĐặc khu N3\n"
/* Lines 1..4; the links start at line 5. */
#define MAP_HDR "!from\to1\n!to\tn1\n!effective\t2025-07-01\nlevel\told_code\tnew_code\tkind\n"
#define L_P "province\tP1\tQ1\tfull\nprovince\tP2\tQ1\tfull\n"       /* 5, 6 */
#define L_C1 "commune\tC1\tN1\tfull\n"                                /* 7 */
#define L_C2 "commune\tC2\tN1\tpartial\ncommune\tC2\tN2\tpartial\n"   /* 8, 9 */
#define L_C3 "commune\tC3\tN2\tfull\n"                                /* 10 */
#define L_D3 "commune\tD3\tN3\tfull\n"                                /* 11 */
#define GOOD_MAP MAP_HDR L_P L_C1 L_C2 L_C3 L_D3

static ts_topo *h_old, *h_new;

/* Parse (and bind, if parsing succeeds) a mapping; returns the code of
 * the step that failed, with the map freed, or 0 with *mp bound. */
static int
map_try(const char *text, ts_hist_map **mp, char *err, size_t errlen)
{
	int	rc;

	if ((rc = ts_hist_map_parse(mp, "m.tsv", text, strlen(text), err, errlen)) != 0) {
		CHECK(*mp == NULL, "parse failed: *m is NULL");
		return rc;
	}
	if ((rc = ts_hist_map_bind(*mp, h_old, h_new, err, errlen)) != 0) {
		CHECK((*mp)->old_t == NULL && ts_hist_successors(*mp, 0, NULL) == 0 &&
		    (*mp)->links[0].old_u == -1, "bind failed: nothing bound");
		ts_hist_map_free(mp);
	}
	return rc;
}

static void
bad_map(const char *text, const char *want, const char *what)
{
	ts_hist_map *m = NULL;
	char	 err[512];
	int	 rc;

	err[0] = '\0';
	rc = map_try(text, &m, err, sizeof(err));
	CHECK_EQ_INT(rc, TS_EPARSE, "%s: TS_EPARSE", what);
	CHECK(strcmp(err, want) == 0, "%s: the exact message", what);
	if (strcmp(err, want) != 0)
		printf("#   got  '%s'\n#   want '%s'\n", err, want);
	ts_hist_map_free(&m);
}

static void
test_history_mapping(void)
{
	ts_hist_map *m = NULL;
	char	 err[512];
	const int *p;
	size_t	 k;

	CHECK_EQ_INT(ts_topo_parse(&h_old, "o1.tsv", OLD_TREE, strlen(OLD_TREE),
	    err, sizeof(err)), 0, "old test tree (%s)", err);
	CHECK_EQ_INT(ts_topo_parse(&h_new, "n1.tsv", NEW_TREE, strlen(NEW_TREE),
	    err, sizeof(err)), 0, "new test tree (%s)", err);
	if (h_old == NULL || h_new == NULL)
		return;
	CHECK_EQ_INT(map_try(GOOD_MAP, &m, err, sizeof(err)), 0,
	    "good mapping binds (%s)", err);
	if (m != NULL) {
		CHECK_EQ_INT(m->nlinks, 7, "7 links");
		CHECK_EQ_INT(succ_kind(m, "C2", "N1"), TS_HIST_PARTIAL, "C2 -> N1 partial");
		CHECK_EQ_INT(succ_kind(m, "C2", "N2"), TS_HIST_PARTIAL, "C2 -> N2 partial");
		k = ts_hist_predecessors(m, ts_topo_find(h_new, "N1"), &p);
		CHECK(k == 2 && strcmp(m->links[p[0]].old_code, "C1") == 0 &&
		    strcmp(m->links[p[1]].old_code, "C2") == 0, "N1 <- C1, C2");
		CHECK_EQ_INT(ts_hist_predecessors(m, ts_topo_find(h_new, "Q1"), NULL), 2,
		    "Q1 <- P1, P2 (merged provinces)");
		CHECK_EQ_INT(ts_hist_successors(m, ts_topo_find(h_old, "D1"), NULL), 0,
		    "D1 retired");
		CHECK_EQ_INT(succ_kind(m, "D3", "N3"), TS_HIST_FULL,
		    "leaf district D3 -> commune N3");
		ts_hist_map_free(&m);
	}
	/* CRLF and a BOM load like the rest of topology/. */
	CHECK_EQ_INT(map_try("\xef\xbb\xbf!from\to1\r\n!to\tn1\r\n!effective\t"
	    "2025-07-01\r\nlevel\told_code\tnew_code\tkind\r\n" L_P L_C1 L_C2 L_C3
	    L_D3, &m, err, sizeof(err)), 0, "BOM + CRLF mapping binds (%s)", err);
	ts_hist_map_free(&m);

	/* Losing a unit. */
	bad_map(MAP_HDR L_P L_C1 L_C2 L_D3,
	    "m.tsv:10: old commune 'C3' (Xã C3) of o1 is not mapped: a mapping "
	    "must not lose a unit", "commune C3 lost");
	bad_map(MAP_HDR L_P L_C1 L_C2 L_C3,
	    "m.tsv:10: old district 'D3' (Huyện đảo D3) of o1 is not mapped: a "
	    "mapping must not lose a unit", "leaf district D3 lost");
	bad_map(MAP_HDR "province\tP1\tQ1\tfull\n" L_C1 L_C2 L_C3 L_D3,
	    "m.tsv:10: old province 'P2' (Tỉnh P2) of o1 is not mapped: a mapping "
	    "must not lose a unit", "province P2 lost");
	/* full twice, full and partial, partial alone, a line twice. */
	bad_map(MAP_HDR L_P L_C1 L_C2 L_C3 L_D3 "commune\tC1\tN2\tfull\n",
	    "m.tsv:12: old unit 'C1' mapped full again, to 'N2' (full to 'N1' at "
	    "line 7): full means its only successor", "C1 full twice");
	bad_map(MAP_HDR L_P L_C1 "commune\tC1\tN2\tpartial\n" L_C2 L_C3 L_D3,
	    "m.tsv:8: old unit 'C1' mapped partial to 'N2' and full to 'N1' at "
	    "line 7: full means its only successor", "C1 full and partial");
	bad_map(MAP_HDR L_P "commune\tC1\tN2\tpartial\n" "commune\tC1\tN1\tfull\n"
	    L_C2 L_C3 L_D3,
	    "m.tsv:8: old unit 'C1' mapped full to 'N1' and partial to 'N2' at "
	    "line 7: full means its only successor", "C1 partial then full");
	bad_map(MAP_HDR L_P L_C1 L_C2 "commune\tC3\tN2\tpartial\n" L_D3,
	    "m.tsv:10: old unit 'C3' mapped partial to 'N2' only: a split needs "
	    "two or more successors (full if it went whole)", "C3 partial alone");
	bad_map(MAP_HDR L_P L_C1 L_C2 "commune\tC2\tN1\tpartial\n" L_C3 L_D3,
	    "m.tsv:10: duplicate line 'C2' -> 'N1' (first at line 8)",
	    "line repeated");
	bad_map(MAP_HDR L_P L_C1 L_C2 "commune\tC2\tN1\tfull\n" L_C3 L_D3,
	    "m.tsv:10: duplicate line 'C2' -> 'N1' (first at line 8)",
	    "same pair, other kind");
	/* Kinds, levels, codes. */
	bad_map(MAP_HDR L_P "commune\tC1\tN1\twhole\n",
	    "m.tsv:7: unit 'C1': unknown kind 'whole' (want full or partial)",
	    "kind whole");
	bad_map(MAP_HDR L_P "commune\tC1\tN1\tFull\n",
	    "m.tsv:7: unit 'C1': unknown kind 'Full' (want full or partial)",
	    "kind is case-sensitive");
	bad_map(MAP_HDR "state\tP1\tQ1\tfull\n",
	    "m.tsv:5: unknown level 'state' (want province, district or commune)",
	    "level state");
	bad_map(MAP_HDR "national\tR\tR\tfull\n",
	    "m.tsv:5: level 'national': the roots map to each other implicitly, "
	    "list no line for them", "national line");
	bad_map(MAP_HDR "commune\tC-1\tN1\tfull\n",
	    "m.tsv:5: invalid old code 'C-1' (want 1..16 of [0-9A-Za-z])", "old code");
	bad_map(MAP_HDR "commune\tC1\t\tfull\n",
	    "m.tsv:5: invalid new code '' (want 1..16 of [0-9A-Za-z])", "empty new code");
	bad_map(MAP_HDR "commune\tC1\tN1\n",
	    "m.tsv:5: 3 fields, want 4 (level<TAB>old_code<TAB>new_code<TAB>kind)",
	    "3 fields");
	bad_map(MAP_HDR L_P L_C1 L_C2 L_C3 L_D3 "commune\tC9\tN1\tfull\n",
	    "m.tsv:12: old unit 'C9' is not in o1", "old unit unknown");
	bad_map(MAP_HDR L_P "commune\tC1\tN9\tfull\n" L_C2 L_C3 L_D3,
	    "m.tsv:7: new unit 'N9' is not in n1", "new unit unknown");
	bad_map(MAP_HDR "commune\tP1\tQ1\tfull\n",
	    "m.tsv:5: new unit 'Q1' is a province in n1, the line says commune",
	    "level is not the new unit's");
	bad_map(MAP_HDR L_P "commune\tD1\tN1\tfull\n",
	    "m.tsv:7: old unit 'D1' is a district with 2 children in o1, the line "
	    "says commune (only a leaf may change level)", "district with communes");
	bad_map(MAP_HDR L_P L_C1 L_C2 L_C3 "commune\tD3\tN2\tfull\n",
	    "m.tsv:11: new commune 'N3' (Đặc khu N3) of n1 has no predecessor",
	    "new unit from nothing");
	/* Directives and header. */
	bad_map("!from\tx1\n!to\tn1\n!effective\t2025-07-01\n"
	    "level\told_code\tnew_code\tkind\n" L_P L_C1 L_C2 L_C3 L_D3,
	    "m.tsv:1: !from is 'x1' but the old tree is 'o1'", "!from wrong");
	bad_map("!from\to1\n!to\tn2\n!effective\t2025-07-01\n"
	    "level\told_code\tnew_code\tkind\n" L_P L_C1 L_C2 L_C3 L_D3,
	    "m.tsv:2: !to is 'n2' but the new tree is 'n1'", "!to wrong");
	bad_map("!from\to1\n!to\tn1\n!effective\t2025-07-02\n"
	    "level\told_code\tnew_code\tkind\n" L_P L_C1 L_C2 L_C3 L_D3,
	    "m.tsv:3: !effective is 2025-07-02 but n1 is effective 2025-07-01",
	    "!effective wrong");
	bad_map("!to\tn1\n!effective\t2025-07-01\nlevel\told_code\tnew_code\tkind\n" L_P,
	    "m.tsv:4: missing !from before the first mapping line", "no !from");
	bad_map("!from\to1\n!from\to1\n", "m.tsv:2: duplicate !from (first at line 1)",
	    "!from twice");
	bad_map("!from\to1\n!to\tn1\n!effective\t2025-02-29\n",
	    "m.tsv:3: bad !effective date '2025-02-29' (want YYYY-MM-DD)", "bad date");
	bad_map("!from\to 1\n", "m.tsv:1: bad !from 'o 1' (want a topology "
	    "version: 1..64 of [0-9A-Za-z._-])", "bad version id");
	bad_map("!since\to1\n", "m.tsv:1: unknown directive '!since' (want !from, "
	    "!to or !effective)", "unknown directive");
	bad_map("!from\to1\n!to\tn1\n!effective\t2025-07-01\n" L_P,
	    "m.tsv:4: missing header line 'level<TAB>old_code<TAB>new_code<TAB>kind' "
	    "before the first mapping line", "no header");
	bad_map(MAP_HDR L_P "!to\tn1\n", "m.tsv:7: duplicate !to (first at line 2)",
	    "directive repeated after lines");
	bad_map(MAP_HDR L_P "!note\tx\n", "m.tsv:7: unknown directive '!note' "
	    "(want !from, !to or !effective)", "unknown directive after lines");
	bad_map(MAP_HDR, "m.tsv:4: no mapping lines", "no lines");
	bad_map("", "m.tsv:1: no mapping lines (and missing !from)", "empty file");
	bad_map(MAP_HDR "commune\tC1\tN1\tfull\rx\n",
	    "m.tsv:5: carriage return inside line", "stray CR");
	CHECK_EQ_INT(ts_hist_map_parse(&m, "m.tsv", "!from\to1\0\n", 10, err,
	    sizeof(err)), TS_EPARSE, "NUL byte: TS_EPARSE");
	CHECK(strcmp(err, "m.tsv:1: NUL byte in line") == 0 && m == NULL,
	    "NUL byte: '%s', nothing returned", err);
	{
		size_t n = ((size_t)1 << 20) + 1;
		char *big = malloc(n);

		if (big != NULL) {
			memset(big, '\n', n);
			CHECK_EQ_INT(ts_hist_map_parse(&m, "m.tsv", big, n, err,
			    sizeof(err)), TS_EPARSE, "2^20 + 1 lines: TS_EPARSE");
			CHECK(strcmp(err, "m.tsv:1048578: too many lines (limit "
			    "1048576)") == 0 && m == NULL, "... refused before "
			    "allocating: '%s'", err);
			free(big);
		}
	}
	CHECK_EQ_INT(ts_hist_map_load(&m, "/nonexistent/m.tsv", err, sizeof(err)),
	    TS_ESYS, "missing mapping file: TS_ESYS (%s)", err);
	CHECK(m == NULL, "missing mapping file: *m NULL");
}

static char hdir[256];

static void
put_file(const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", hdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		CHECK(0, "write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

/* Load hdir/h.tsv; want "" for success, else the exact message with
 * "DIR/" in front of want's file name. */
static void
hist_case(const char *history, const char *want, const char *what)
{
	char	 path[512], err[1024], full[1024];
	ts_hist	*h = NULL;
	int	 rc;

	put_file("h.tsv", history);
	snprintf(path, sizeof(path), "%s/h.tsv", hdir);
	err[0] = '\0';
	rc = ts_hist_load(&h, path, err, sizeof(err));
	if (*want == '\0') {
		CHECK(rc == 0 && h != NULL, "%s: loads (%s)", what, err);
		ts_hist_free(&h);
		return;
	}
	/* want is "FILE:LINE: what" with FILE in hdir; "DIR/" in what
	 * stands for hdir too. */
	{
		const char *d = strstr(want, "DIR/");
		if (d != NULL)
			snprintf(full, sizeof(full), "%s/%.*s%s/%s", hdir,
			    (int)(d - want), want, hdir, d + 4);
		else
			snprintf(full, sizeof(full), "%s/%s", hdir, want);
	}
	CHECK(rc == TS_EPARSE && h == NULL, "%s: TS_EPARSE, nothing returned", what);
	CHECK(strcmp(err, full) == 0, "%s: the exact message", what);
	if (strcmp(err, full) != 0)
		printf("#   got  '%s'\n#   want '%s'\n", err, full);
}

#define H_HDR "version\teffective\ttree\tmapping\n"
#define H_O1 "o1\t2025-03-01\to1.tsv\t-\n"
#define H_N1 "n1\t2025-07-01\tn1.tsv\tm.tsv\n"

static void
test_history_files(void)
{
	char	 path[512], err[512];
	ts_hist	*h = NULL;

	snprintf(hdir, sizeof(hdir), "/tmp/ts-test-hist.XXXXXX");
	if (mkdtemp(hdir) == NULL) {
		CHECK(0, "mkdtemp");
		return;
	}
	put_file("o1.tsv", OLD_TREE);
	put_file("n1.tsv", NEW_TREE);
	put_file("m.tsv", GOOD_MAP);
	put_file("lossy.tsv", MAP_HDR L_P L_C1 L_C2 L_D3);
	hist_case("# a history\n" H_HDR H_O1 H_N1, "", "good history");
	snprintf(path, sizeof(path), "%s/h.tsv", hdir);
	if (ts_hist_load(&h, path, err, sizeof(err)) == 0) {
		CHECK(strcmp(ts_hist_tree_for(h, "2025Q2")->version, "o1") == 0,
		    "2025Q2 in o1");
		CHECK(strcmp(ts_hist_tree_for(h, "2025Q3")->version, "n1") == 0,
		    "2025Q3 in n1");
		CHECK(strcmp(ts_hist_tree_for(h, "2025")->version, "n1") == 0,
		    "2025 in n1");
		CHECK(h->v[1].map->old_t == h->v[0].tree &&
		    h->v[1].map->new_t == h->v[1].tree, "mapping bound to its trees");
		ts_hist_free(&h);
	}
	hist_case(H_HDR H_O1, "", "one version, no mapping");
	hist_case(H_HDR H_O1 "n1\t2025-07-01\tn1.tsv\tlossy.tsv\n",
	    "lossy.tsv:10: old commune 'C3' (Xã C3) of o1 is not mapped: a "
	    "mapping must not lose a unit", "a history whose mapping loses a unit");
	hist_case(H_HDR H_O1 "n1\t2025-03-01\tn1.tsv\tm.tsv\n",
	    "h.tsv:3: version 'n1': effective 2025-03-01 is not after 2025-03-01 "
	    "of 'o1' (line 2): versions go oldest first, dates strictly "
	    "increasing", "same effective date");
	hist_case(H_HDR "n1\t2025-07-01\tn1.tsv\t-\no1\t2025-03-01\to1.tsv\tm.tsv\n",
	    "h.tsv:3: version 'o1': effective 2025-03-01 is not after 2025-07-01 "
	    "of 'n1' (line 2): versions go oldest first, dates strictly "
	    "increasing", "dates going back");
	hist_case(H_HDR H_O1 "o1\t2025-07-01\tn1.tsv\tm.tsv\n",
	    "h.tsv:3: duplicate version 'o1' (first at line 2)", "version twice");
	hist_case(H_HDR "o1\t2025-03-01\to1.tsv\tm.tsv\n",
	    "h.tsv:2: version 'o1' is the first: its mapping must be '-', not "
	    "'m.tsv'", "first with a mapping");
	hist_case(H_HDR H_O1 "n1\t2025-07-01\tn1.tsv\t-\n",
	    "h.tsv:3: version 'n1' needs the mapping from 'o1'", "second without mapping");
	hist_case(H_HDR "o2\t2025-03-01\to1.tsv\t-\n",
	    "h.tsv:2: DIR/o1.tsv is version 'o1', the line says 'o2'",
	    "tree of another version");
	hist_case(H_HDR "o1\t2025-03-02\to1.tsv\t-\n",
	    "h.tsv:2: DIR/o1.tsv is effective 2025-03-01, the line says 2025-03-02",
	    "tree of another date");
	hist_case(H_HDR "o1\t2025-3-01\to1.tsv\t-\n",
	    "h.tsv:2: version 'o1': bad effective date '2025-3-01' (want YYYY-MM-DD)",
	    "bad date");
	hist_case(H_HDR "o1\t2025-03-01\to1.tsv\n",
	    "h.tsv:2: 3 fields, want 4 (version<TAB>effective<TAB>tree<TAB>mapping)",
	    "3 fields");
	hist_case(H_O1, "h.tsv:1: missing header line 'version<TAB>effective<TAB>"
	    "tree<TAB>mapping' before the first version", "no header");
	hist_case(H_HDR, "h.tsv:1: no versions", "no versions");
	hist_case(H_HDR H_HDR, "h.tsv:2: duplicate header line (first at line 1)",
	    "header twice");
	hist_case(H_HDR "o1\t2025-03-01\t-\t-\n", "h.tsv:2: version 'o1': no tree file",
	    "no tree");
	/* A mapping between versions the history does not pair. */
	put_file("n2.tsv", "!version\tn2\n!effective\t2025-07-01\n"
	    "code\tlevel\tparent\tname\nR\tnational\t-\tRoot\n");
	hist_case(H_HDR H_O1 "n2\t2025-07-01\tn2.tsv\tm.tsv\n",
	    "m.tsv:2: !to is 'n1' but the new tree is 'n2'", "mapping to another version");
	/* The tree's own errors come through with its file and line. */
	put_file("bad.tsv", "!version\to1\n!effective\t2025-03-01\n"
	    "code\tlevel\tparent\tname\nR\tnational\t-\tRoot\n"
	    "P\tprovince\tR\tX\nP\tprovince\tR\tY\n");
	hist_case(H_HDR "o1\t2025-03-01\tbad.tsv\t-\n",
	    "bad.tsv:6: duplicate code 'P' (first at line 5)", "bad tree");
	CHECK_EQ_INT(ts_hist_file_kind(path, err, sizeof(err)), TS_HIST_FILE_HISTORY,
	    "file kind: history");
	snprintf(path, sizeof(path), "%s/m.tsv", hdir);
	CHECK_EQ_INT(ts_hist_file_kind(path, err, sizeof(err)), TS_HIST_FILE_MAP,
	    "file kind: mapping");
	snprintf(path, sizeof(path), "%s/o1.tsv", hdir);
	CHECK_EQ_INT(ts_hist_file_kind(path, err, sizeof(err)), TS_HIST_FILE_TREE,
	    "file kind: tree");
	put_file("x.tsv", "# nothing\nhello\n");
	snprintf(path, sizeof(path), "%s/x.tsv", hdir);
	CHECK_EQ_INT(ts_hist_file_kind(path, err, sizeof(err)), TS_EPARSE,
	    "file kind: neither (%s)", err);
	ts_topo_free(&h_old);
	ts_topo_free(&h_new);
	{
		static const char *const names[] = { "h.tsv", "o1.tsv", "n1.tsv",
			"m.tsv", "lossy.tsv", "n2.tsv", "bad.tsv", "x.tsv" };
		size_t i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", hdir, names[i]);
			unlink(path);
		}
		rmdir(hdir);
	}
}

int
main(void)
{
	if ((srcdir = getenv("TS_SRCDIR")) == NULL)
		srcdir = ".";
	if ((testdata = getenv("TS_TESTDATA")) == NULL)
		testdata = "tests/data";
	test_vn_2025_03();
	test_vn_2025_07();
	test_fixtures();
	test_memory();
	test_keys();
	test_keys_newest();
	test_history_shipped();
	test_history_mapping();
	test_history_files();
	return ts_test_done();
}
