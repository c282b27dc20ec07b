/*
 * Topology and keys parsers: the shipped Viet Nam trees, every parser
 * error with its file:line, and keys (Z85, rotation, bad lines).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "tiersync/identity.h"
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
	return ts_test_done();
}
