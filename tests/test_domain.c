/*
 * Domain unit tests: the shipped catalogue and plans load and say what
 * the seed says; malformed catalogue/plan input is refused with
 * file:line; a hand-made register gives hand-computed values for EVERY
 * register-computed indicator; bad register CSV rows (wrong date,
 * unknown code, missing field, duplicate id, invalid UTF-8) are refused
 * with LINE:COL and nothing is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tiersync/domain.h"
#include "tiersync/register.h"

static char srcdir[1024];

static ts_catalogue *cat;

static void
test_catalogue(void)
{
	char path[1200], err[512];
	int rc, i, nreg = 0;
	size_t k, nci;
	const ts_compute_ind *ci;

	snprintf(path, sizeof(path), "%s/domain/catalogue.tsv", srcdir);
	rc = ts_catalogue_load(&cat, path, err, sizeof(err));
	CHECK(rc == 0, "shipped catalogue loads (%s)", rc ? err : "ok");
	if (rc != 0)
		return;
	CHECK(strlen(cat->version) > 0, "catalogue has a version '%s'", cat->version);
	for (i = 1; i <= 29; i++) {
		int found = 0;
		for (k = 0; k < cat->n; k++)
			if (cat->ind[k].number == i) {
				char id[8];
				snprintf(id, sizeof(id), "%d", i);
				found = strcmp(cat->ind[k].id, id) == 0 && cat->ind[k].goal >= 1 &&
				    cat->ind[k].agency[0] != '\0';
			}
		CHECK(found, "indicator %d present with id, goal and agency", i);
	}
	CHECK(ts_catalogue_find(cat, "3")->measure == TS_M_PER_1000_LB &&
	    !ts_catalogue_find(cat, "3")->higher, "3 is per 1,000 live births, lower better");
	CHECK(ts_catalogue_find(cat, "15")->measure == TS_M_PER_100K, "15 is per 100,000");
	CHECK(ts_catalogue_find(cat, "18")->measure == TS_M_COUNT, "18 is a count");
	CHECK(ts_catalogue_find(cat, "1")->source == TS_SRC_UNITS &&
	    ts_catalogue_find(cat, "12")->source == TS_SRC_UNITS &&
	    ts_catalogue_find(cat, "24")->source == TS_SRC_UNITS &&
	    ts_catalogue_find(cat, "25")->source == TS_SRC_UNITS &&
	    ts_catalogue_find(cat, "26")->source == TS_SRC_UNITS, "1, 12, 24, 25, 26 are units");
	CHECK(strstr(ts_catalogue_find(cat, "11")->name_vi, "dưới 0%") != NULL &&
	    strstr(ts_catalogue_find(cat, "11")->notes, "dưới 0%") != NULL,
	    "11 keeps 'dưới 0%%' and says so");
	CHECK(strstr(ts_catalogue_find(cat, "19")->agency, "Tư pháp") != NULL,
	    "19's agency is Phòng Tư pháp (section IV.2)");
	/* The register-computed entries are exactly compute.c's list. */
	ci = ts_compute_indicators(&nci);
	for (k = 0; k < cat->n; k++)
		if (cat->ind[k].source == TS_SRC_REGISTER)
			nreg++;
	CHECK_EQ_INT(nreg, nci, "catalogue source=register count = compute's list");
	for (k = 0; k < nci; k++) {
		const ts_indicator *x = ts_catalogue_find(cat, ci[k].id);
		CHECK(x != NULL && x->source == TS_SRC_REGISTER && x->dims == ci[k].dims,
		    "compute's %s is a register indicator with the same dis", ci[k].id);
	}
	/* Which keys the catalogue defines (docs/REGISTER.md). */
	{
		const ts_indicator *i9 = ts_catalogue_find(cat, "9"),
		    *i1 = ts_catalogue_find(cat, "1"), *i13 = ts_catalogue_find(cat, "13");
		char list[256];

		CHECK(ts_catalogue_dis_ok(i9, "") && ts_catalogue_dis_ok(i9, "sex=f") &&
		    ts_catalogue_dis_ok(i9, "eth=1") && ts_catalogue_dis_ok(i9, "dis=0"),
		    "9: the total, sex=f, eth=1, dis=0 are defined");
		CHECK(!ts_catalogue_dis_ok(i9, "age=0-4") && !ts_catalogue_dis_ok(i9, "f") &&
		    !ts_catalogue_dis_ok(i9, "sex=x") && !ts_catalogue_dis_ok(i9, "sex=") &&
		    !ts_catalogue_dis_ok(i9, "=f") && !ts_catalogue_dis_ok(i9, "sexx=f"),
		    "9: age=0-4 (no age dimension), f, sex=x, sex=, =f, sexx=f are not");
		CHECK(ts_catalogue_dis_ok(i13, "age=11-15") && !ts_catalogue_dis_ok(i13, "age=2-3"),
		    "13: age=11-15 defined, age=2-3 not");
		CHECK(ts_catalogue_dis_ok(i1, "") && !ts_catalogue_dis_ok(i1, "sex=f"),
		    "1 (dis -): the total only");
		ts_catalogue_dis_list(i9, list, sizeof(list));
		CHECK(strcmp(list, "sex=m sex=f eth=0 eth=1 dis=0 dis=1") == 0,
		    "9's keys listed: '%s'", list);
		ts_catalogue_dis_list(i1, list, sizeof(list));
		CHECK(strcmp(list, "") == 0, "1 lists no keys");
		ts_catalogue_dis_list(i13, list, 12);
		CHECK(strcmp(list, "sex=m sex=f") == 0, "a short buffer keeps whole keys: '%s'", list);
	}
}

static void
expect_cat_err(const char *text, const char *want)
{
	ts_catalogue *c = NULL;
	char err[512] = "";
	int rc = ts_catalogue_parse(&c, "c.tsv", text, strlen(text), err, sizeof(err));

	CHECK(rc == TS_EPARSE && c == NULL && strstr(err, want) != NULL,
	    "catalogue error '%s' (got '%s')", want, err);
	ts_catalogue_free(&c);
}

#define CH "id\tnumber\tgoal\tname_vi\tname_en\tmeasure\tdirection\tagency\tsource\tdis\tnotes\n"
#define GOOD "1\t1\t1\tTên\tName\tpercent\thigher\tPhòng\tregister\tsex\t-\n"

static void
test_catalogue_errors(void)
{
	expect_cat_err(CH GOOD, "c.tsv:2: missing !version");
	expect_cat_err("!version\tv1\n" GOOD, "c.tsv:2: missing header");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tTên\n", "c.tsv:3: 4 fields, want 11");
	expect_cat_err("!version\tv1\n" CH GOOD GOOD, "c.tsv:4: duplicate indicator '1' (first at line 3)");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tT\tN\tpermille\thigher\tP\tregister\t-\t-\n",
	    "c.tsv:3: indicator '1': unknown measure 'permille'");
	expect_cat_err("!version\tv1\n" CH "1\t1\t9\tT\tN\tpercent\thigher\tP\tregister\t-\t-\n",
	    "c.tsv:3: indicator '1': bad goal '9'");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tT\tN\tpercent\tup\tP\tregister\t-\t-\n",
	    "c.tsv:3: indicator '1': direction 'up'");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tT\tN\tpercent\thigher\tP\tguess\t-\t-\n",
	    "c.tsv:3: indicator '1': unknown source 'guess'");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tT\tN\tpercent\thigher\tP\tregister\tsex,sex\t-\n",
	    "c.tsv:3: indicator '1': bad dis 'sex,sex'");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tT\xc3\tN\tpercent\thigher\tP\tregister\t-\t-\n",
	    "c.tsv:3: indicator '1': name_vi is empty or not valid UTF-8");
	expect_cat_err("!version\tv1\n!version\tv2\n", "c.tsv:2: duplicate !version (first at line 1)");
	expect_cat_err("!version\tv1\n" CH "a b\t1\t1\tT\tN\tpercent\thigher\tP\tregister\t-\t-\n",
	    "c.tsv:3: invalid indicator id 'a b'");
	expect_cat_err("!version\tv1\n" CH GOOD "2\t1\t1\tT\tN\tpercent\thigher\tP\tregister\t-\t-\n",
	    "c.tsv:4: indicator '2': number 1 already used by '1' at line 3");
	expect_cat_err("!version\tv1\n" CH "1\t1\t1\tT\tN\tpercent\thigher\tP\tregister\t-\t-\r\x01\n",
	    "c.tsv:3: carriage return inside line");
}

static void
expect_plan_err(const char *text, const char *want)
{
	ts_plan *p = NULL;
	char err[512] = "";
	int rc = ts_plan_parse(&p, "p.tsv", text, strlen(text), cat, err, sizeof(err));

	CHECK(rc == TS_EPARSE && p == NULL && strstr(err, want) != NULL,
	    "plan error '%s' (got '%s')", want, err);
	ts_plan_free(&p);
}

#define PH "indicator\tdis\tyear\top\ttarget\tmeasure\tname_vi\tnotes\n"

static void
test_plans(void)
{
	char dir[1200], err[512], head[256];
	ts_plans ps;
	const ts_plan *p;
	const ts_target *t;
	int rc;

	if (cat == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s/domain/plans", srcdir);
	rc = ts_plans_load_dir(&ps, dir, cat, err, sizeof(err));
	CHECK(rc == 0, "shipped plans load (%s)", rc ? err : "ok");
	if (rc != 0)
		return;
	CHECK(ts_plans_for_unit(&ps, "109") != NULL && ts_plans_for_unit(&ps, "12") != NULL &&
	    ts_plans_for_unit(&ps, "70") != NULL && ts_plans_for_unit(&ps, "30") != NULL,
	    "plans of 109, 12, 70, 30");
	p = ts_plans_for_unit(&ps, "109");
	t = ts_plan_find(p, "3", "", 2025);
	CHECK(t != NULL && t->op == TS_OP_LT && t->milli == 5050, "109: 3 < 5.05 in 2025");
	t = ts_plan_find(p, "3", "", 2030);
	CHECK(t != NULL && t->milli == 4900, "109: 3 < 4.9 in 2030");
	t = ts_plan_find(p, "13", "", 2030);
	CHECK(t != NULL && t->milli == 5000 && strstr(t->notes, "kept as written"),
	    "109: 13 keeps 5%% for 2030 with a note");
	t = ts_plan_find(p, "16", "", 2027);
	CHECK(t != NULL && t->year == 0 && t->milli == 100000, "109: 16 >= 100 every year");
	CHECK(ts_plan_find(p, "20", "age=3-5", 2025) != NULL, "109: 20 by age group");
	t = ts_plan_find(p, "3", "", 2025);
	CHECK(ts_target_met(t, 5, 1000) == 1 && ts_target_met(t, 6, 1000) == 0 &&
	    ts_target_met(t, 505, 100000) == 0 && ts_target_met(t, 504, 100000) == 1,
	    "met/not met exactly at the boundary (< 5.05 per 1,000)");
	CHECK(ts_plan_find(ts_plans_for_unit(&ps, "70"), "21", "", 2025) != NULL,
	    "70's 99.6%% maps to catalogue 21");
	CHECK(ts_plan_find(ts_plans_for_unit(&ps, "12"), "12.1", "", 2025)->own,
	    "12's unmatched target is its own entry 12.1");
	ts_plans_free(&ps);

	snprintf(head, sizeof(head), "!unit\t109\n!title\tT\n!catalogue\t%s\n" PH, cat->version);
	char buf[1024];
#define PE(rows, want) do { snprintf(buf, sizeof(buf), "%s%s", head, rows); \
	expect_plan_err(buf, want); } while (0)
	PE("99\t\t2025\t>=\t5\t-\t-\t-\n", "p.tsv:5: indicator '99' is not in catalogue");
	PE("3\t\t2025\t=>\t5\t-\t-\t-\n", "p.tsv:5: indicator '3': bad op '=>'");
	PE("3\t\t25\t>=\t5\t-\t-\t-\n", "p.tsv:5: indicator '3': bad year '25'");
	PE("3\t\t2025\t>=\t5,05\t-\t-\t-\n", "p.tsv:5: indicator '3': bad target '5,05'");
	PE("3\t\t2025\t>=\t5\t-\t-\t-\n3\t\t2025\t<\t4\t-\t-\t-\n",
	    "p.tsv:6: duplicate target for indicator '3' dis '' year 2025 (first at line 5)");
	PE("3\t\t2025\t>=\t5\n", "p.tsv:5: 5 fields, want 8");
	PE("109.x\t\t*\t>=\t5\t-\t-\t-\n", "p.tsv:5: indicator '109.x': own entry needs a measure");
	PE("18\t\t*\t-\t-\t-\t-\t-\n", "p.tsv:5: indicator '18': a target without a figure needs notes");
	expect_plan_err("!unit\t109\n" PH "3\t\t2025\t>=\t5\t-\t-\t-\n",
	    "p.tsv:3: missing !title before the first target");
	expect_plan_err("!unit\t109\n!title\tT\n!catalogue\tother\n",
	    "p.tsv:3: plan maps to catalogue 'other'");
}

/* ---- inheritance of targets (ts_plans_target) ---- */

static ts_plan *
mkplan(const char *unit, const char *rows)
{
	char text[1024], err[256];
	ts_plan *p = NULL;
	int rc;

	snprintf(text, sizeof(text), "!unit\t%s\n!title\tT\n!catalogue\t%s\n" PH "%s",
	    unit, cat->version, rows);
	rc = ts_plan_parse(&p, unit, text, strlen(text), cat, err, sizeof(err));
	CHECK(rc == 0, "test plan of %s parses (%s)", unit, rc ? err : "ok");
	return p;
}

/*
 * National VN > province 12 > district 109 > communes 03391 (no plan)
 * and 03490 (own plan).  The old two copies (tierctl report, html export)
 * both stopped at the nearest plan with ANY row, so a district row
 * without a figure hid the province's figure from the communes: report
 * showed "(no figure)", the page "no target".  The one rule: the nearest
 * FIGURE wins; a figure-less row only when no plan above has a figure.
 */
static void
test_plan_inheritance(void)
{
	static const char topo_text[] =
	    "!version\tt1\n!effective\t2025-01-01\ncode\tlevel\tparent\tname\n"
	    "VN\tnational\t-\tViệt Nam\n12\tprovince\tVN\tLai Châu\n"
	    "109\tdistrict\t12\tPhong Thổ\n03391\tcommune\t109\tA\n"
	    "03490\tcommune\t109\tB\n";
	ts_topo *topo = NULL;
	ts_plan *pl[3];
	ts_plans ps;
	const ts_target *t;
	char err[256];
	int rc, from, c1, c2, d, pr, i;

	if (cat == NULL)
		return;
	rc = ts_topo_parse(&topo, "t.tsv", topo_text, strlen(topo_text), err, sizeof(err));
	CHECK(rc == 0, "inheritance topology parses (%s)", rc ? err : "ok");
	if (rc != 0)
		return;
	/* 12: 9 >= 90 every year, 3 < 6 in 2025, 18 no figure, 14 <= 7;
	 * 109: 9 no figure, 3 < 5.05 every year, 14 no figure;
	 * 03490: 9 >= 99 in 2025. */
	pl[0] = mkplan("12", "9\t\t*\t>=\t90\t-\t-\t-\n3\t\t2025\t<\t6\t-\t-\t-\n"
	    "18\t\t*\t-\t-\t-\t-\tprovince: no figure\n14\t\t*\t<=\t7\t-\t-\t-\n");
	pl[1] = mkplan("109", "9\t\t*\t-\t-\t-\t-\tdistrict: no figure\n"
	    "3\t\t*\t<\t5.05\t-\t-\t-\n14\t\t2025\t-\t-\t-\t-\tdistrict: none in 2025\n");
	pl[2] = mkplan("03490", "9\t\t2025\t>=\t99\t-\t-\t-\n");
	if (pl[0] == NULL || pl[1] == NULL || pl[2] == NULL)
		goto out;
	ps.n = 3;
	ps.p = pl;
	c1 = ts_topo_find(topo, "03391");
	c2 = ts_topo_find(topo, "03490");
	d = ts_topo_find(topo, "109");
	pr = ts_topo_find(topo, "12");

	/* The case the two old copies got wrong: commune without a plan,
	 * district row without a figure, province with a figure. */
	rc = ts_plans_target(&ps, topo, c1, "9", "", 2025, &t, &from);
	CHECK(rc == 0 && from == pr && t->op == TS_OP_GE && t->milli == 90000,
	    "03391 (no plan) under 109 ('-') under 12 (>= 90): 12's >= 90 "
	    "(rc %d, from %d)", rc, from);
	/* A lower plan's figure overrides: the commune's own, the district's. */
	rc = ts_plans_target(&ps, topo, c2, "9", "", 2025, &t, &from);
	CHECK(rc == 0 && from == c2 && t->milli == 99000, "03490's own >= 99 in 2025");
	rc = ts_plans_target(&ps, topo, c2, "9", "", 2026, &t, &from);
	CHECK(rc == 0 && from == pr && t->milli == 90000,
	    "03490 in 2026 (its plan has only 2025): 12's >= 90");
	rc = ts_plans_target(&ps, topo, c1, "3", "", 2025, &t, &from);
	CHECK(rc == 0 && from == d && t->op == TS_OP_LT && t->milli == 5050,
	    "109's '*' < 5.05 overrides 12's 2025 < 6 below 109");
	rc = ts_plans_target(&ps, topo, pr, "3", "", 2025, &t, &from);
	CHECK(rc == 0 && from == pr && t->milli == 6000, "at 12 itself: its own < 6");
	/* A year row without a figure does not hide the figure above. */
	rc = ts_plans_target(&ps, topo, d, "14", "", 2025, &t, &from);
	CHECK(rc == 0 && from == pr && t->op == TS_OP_LE, "14 in 2025 at 109: 12's <= 7");
	/* Only figure-less rows on the path: the nearest, op NONE. */
	rc = ts_plans_target(&ps, topo, c1, "18", "", 2025, &t, &from);
	CHECK(rc == 0 && from == pr && t->op == TS_OP_NONE &&
	    strstr(t->notes, "province") != NULL, "18: only 12's figure-less row");
	/* Nothing above VN: not found; not found leaves NULL / -1. */
	rc = ts_plans_target(&ps, topo, ts_topo_find(topo, "VN"), "9", "", 2025, &t, &from);
	CHECK(rc == TS_ENOTFOUND && t == NULL && from == -1, "VN: no plan, TS_ENOTFOUND");
	rc = ts_plans_target(&ps, topo, c1, "9", "sex=f", 2025, &t, &from);
	CHECK(rc == TS_ENOTFOUND && t == NULL, "a disaggregation no plan sets: TS_ENOTFOUND");
	/* Bad arguments. */
	CHECK(ts_plans_target(&ps, topo, (int)topo->nunits, "9", "", 2025, &t, &from) ==
	    TS_EINVAL && t == NULL && from == -1, "unit index out of range: TS_EINVAL");
	CHECK(ts_plans_target(&ps, topo, -1, "9", "", 2025, &t, &from) == TS_EINVAL,
	    "unit -1: TS_EINVAL");
	CHECK(ts_plans_target(NULL, topo, c1, "9", "", 2025, &t, &from) == TS_EINVAL &&
	    ts_plans_target(&ps, topo, c1, NULL, "", 2025, &t, &from) == TS_EINVAL &&
	    ts_plans_target(&ps, topo, c1, "9", "", 2025, NULL, &from) == TS_EINVAL,
	    "NULL arguments: TS_EINVAL");
out:
	for (i = 0; i < 3; i++)
		ts_plan_free(&pl[i]);
	ts_topo_free(&topo);
}

/* ---- the indicator list of CTL_REPLACE (ts_compute_ids) ---- */

/*
 * tierctl compute used to copy the computed indicators' ids into a
 * 64-entry array and pass the full count: with more than 64 it read past
 * the array.  ts_compute_ids has no cap: 200 synthetic indicators all
 * come back, in order, and travel in one CTL_REPLACE.
 */
static void
test_compute_ids(void)
{
	enum { N = 200 };
	static char names[N][8];
	static const char *sentinel[1];
	ts_compute_ind ci[N];
	const ts_compute_ind *real;
	const char **ids = NULL;
	ts_buf b = { NULL, 0, 0 };
	ts_msg m;
	size_t i, nreal, same = 0, decoded = 0;
	int rc;

	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "x%zu", i);
		ci[i].id = names[i];
		ci[i].dims = 0;
	}
	rc = ts_compute_ids(ci, N, &ids);
	CHECK(rc == 0 && ids != NULL, "ts_compute_ids: %d ids (%s)", N, ts_strerror(rc));
	if (rc != 0)
		return;
	for (i = 0; i < N; i++)
		same += ids[i] == ci[i].id;
	CHECK_EQ_INT(same, N, "all %d ids, in order, past the old cap of 64", N);
	rc = ts_msg_ctl_replace(&b, "2025", ids, N, NULL, 0);
	CHECK(rc == 0, "CTL_REPLACE with %d indicators encodes (%s)", N, ts_strerror(rc));
	memset(&m, 0, sizeof(m));
	if (rc == 0 && ts_msg_decode(b.buf, b.len, &m) == 0 && m.ninds == N)
		for (i = 0; i < N; i++)
			decoded += strcmp(m.inds[i], names[i]) == 0;
	CHECK_EQ_INT(decoded, N, "and decodes with all %d, in order", N);
	ts_msg_clear(&m);
	ts_buf_free(&b);
	free(ids);

	real = ts_compute_indicators(&nreal);
	CHECK(ts_compute_ids(real, nreal, &ids) == 0 && ids != NULL &&
	    strcmp(ids[0], real[0].id) == 0 && strcmp(ids[nreal - 1], real[nreal - 1].id) == 0,
	    "the shipped list (%zu) too", nreal);
	free(ids);
	ids = sentinel;                    /* not NULL: must be reset */
	CHECK(ts_compute_ids(ci, 0, &ids) == 0 && ids == NULL, "n 0: NULL array");
	CHECK(ts_compute_ids(NULL, 3, &ids) == TS_EINVAL && ids == NULL &&
	    ts_compute_ids(ci, 3, NULL) == TS_EINVAL, "NULL list or output: TS_EINVAL");
}

/* ---- register ---- */

static const char CHILDREN[] =
"id,birth_date,sex,ethnic_minority,disability,birth_registered,health_insurance,immunisation,measured_on,underweight,stunted,obese,school,special,special_support,death_date\n"
"A,2025-02-01,f,1,0,2025-02-05,1,full8,2025-06-01,1,0,0,none,none,0,\n"
"B,2025-03-01,m,0,0,,0,none,,,,,none,none,0,2025-03-10\n"
"C,2025-01-15,m,1,0,2025-01-20,1,partial,2025-12-01,0,1,0,none,none,0,2025-08-01\n"
"D,2022-05-05,f,1,1,2022-06-01,1,full12,2024-11-01,1,1,1,nursery,disabled,1,\n"
"E,2020-07-01,m,0,0,2020-07-02,1,full12,2025-07-01,0,0,1,kindergarten,orphan,0,\n"
"F,2016-03-03,f,1,1,2016-04-01,1,full12,,,,,special,none,0,\n"
"G,2010-01-10,m,1,1,2010-02-01,1,full12,,,,,none,none,0,\n"
"H,2009-06-01,f,0,0,2009-07-01,1,full12,,,,,upper_secondary,none,0,\n"
"I,2021-02-02,m,1,0,2021-03-01,1,full12,,,,,kindergarten,none,0,2025-04-04\n";

static const char CASES[] =
"id,child_id,kind,occurred,detected,intervention,support,died\r\n"
"K1,F,injury,2025-05-05,2025-05-05,0,1,0\r\n"
"K2,G,injury,2025-06-06,2025-06-06,1,1,1\r\n"
"K3,H,injury,2025-03-01,2025-03-01,1,1,0\r\n"
"K4,F,abuse,2024-12-20,2025-01-05,1,1,0\r\n"
"K5,D,violence,2025-02-02,2025-02-03,0,0,0\r\n"
"K6,G,child_marriage,2025-09-09,2025-09-09,1,1,0\r\n"
"K7,H,child_marriage,2025-10-10,2025-10-10,1,1,0\r\n"
"K8,E,disaster,2025-07-07,2025-07-07,1,1,0\r\n"
"K9,A,disaster,2025-07-07,2025-07-08,0,0,0\r\n"
"K10,G,exploitation,2025-12-30,2026-01-02,1,1,0\r\n";

struct want { const char *ind, *dis; uint64_t num, den; };

/* Hand-computed (docs/REGISTER.md rules; period 2025, reference day
 * 2025-12-31).  Alive then: A(0) D(3) E(5) F(9) G(15) H(16); B, C, I
 * died in 2025; births in 2025: A, B, C. */
static const struct want W2025[] = {
	{ "3", "", 1, 3 }, { "3", "sex=m", 1, 2 }, { "3", "sex=f", 0, 1 },
	{ "3", "eth=0", 1, 1 }, { "3", "eth=1", 0, 2 },
	{ "4", "", 2, 3 }, { "4", "eth=1", 1, 2 },
	{ "5", "", 3, 3 }, { "5", "sex=m", 3, 2 },
	{ "6", "", 1, 1 }, { "6", "sex=f", 1, 1 }, { "6", "dis=0", 1, 1 },
	{ "7", "", 0, 1 }, { "8", "", 0, 1 },
	{ "9", "", 1, 1 }, { "9", "eth=1", 1, 1 },
	{ "10", "", 1, 2 }, { "10", "dis=1", 1, 1 }, { "10", "dis=0", 0, 1 },
	{ "13", "", 2, 5 }, { "13", "age=0-4", 1, 2 }, { "13", "age=5-10", 1, 2 },
	{ "13", "age=11-15", 0, 1 }, { "13", "sex=f", 1, 3 }, { "13", "sex=m", 1, 2 },
	{ "14", "", 1, 2 }, { "14", "sex=f", 1, 1 },
	{ "15", "", 3, 5 }, { "15", "age=11-15", 2, 1 }, { "15", "age=5-10", 1, 2 },
	{ "15", "age=0-4", 0, 2 }, { "15", "sex=f", 2, 3 }, { "15", "sex=m", 1, 2 },
	{ "15b", "", 1, 5 }, { "15b", "dis=1", 1, 3 },
	{ "16", "", 1, 2 }, { "16", "age=5-10", 1, 1 }, { "16", "age=0-4", 0, 1 },
	{ "17", "", 1, 2 }, { "17", "age=5-10", 1, 1 }, { "17", "age=0-4", 0, 1 },
	{ "18", "", 2, 0 }, { "18", "sex=m", 1, 0 }, { "18", "eth=0", 1, 0 },
	{ "19", "", 2, 2 },
	{ "21", "", 1, 1 }, { "21", "sex=m", 1, 1 },
	{ "25b", "", 1, 2 }, { "25b", "age=5-10", 1, 1 }, { "25b", "age=11-15", 0, 1 },
	{ "25b", "sex=m", 0, 1 },
};

static const ts_value *
vfind(const ts_value *v, size_t n, const char *ind, const char *dis)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].ind, ind) == 0 && strcmp(v[i].dis, dis) == 0)
			return &v[i];
	return NULL;
}

static void
check_sums(const ts_value *v, size_t n)
{
	static const char *const dims[][4] = { { "sex=m", "sex=f", NULL, NULL },
	    { "eth=0", "eth=1", NULL, NULL }, { "dis=0", "dis=1", NULL, NULL },
	    { "age=0-4", "age=5-10", "age=11-15", NULL } };
	size_t k, ni;
	const ts_compute_ind *ci = ts_compute_indicators(&ni);
	int bad = 0;

	for (k = 0; k < ni; k++) {
		const ts_value *tot = vfind(v, n, ci[k].id, "");
		int d;
		if (tot == NULL) { bad++; continue; }
		for (d = 0; d < 4; d++) {
			uint64_t sn = 0, sd = 0;
			int j;
			if (!(ci[k].dims & (1u << d)))
				continue;
			for (j = 0; dims[d][j] != NULL; j++) {
				const ts_value *x = vfind(v, n, ci[k].id, dims[d][j]);
				if (x) { sn += x->num; sd += x->den; }
			}
			/* age bands cover under-16s only; cases of 16+ are not counted */
			if (sn != tot->num || sd != tot->den) {
				printf("#   %s: dim %d sums %llu/%llu, total %llu/%llu\n", ci[k].id, d,
				    (unsigned long long)sn, (unsigned long long)sd,
				    (unsigned long long)tot->num, (unsigned long long)tot->den);
				bad++;
			}
		}
	}
	CHECK(bad == 0, "every total equals the sum of each dimension's values");
}

/* The CSV parser alone (register_csv.c): no register, records out. */
static void
test_register_csv(void)
{
	ts_register_csv x;
	char big[40000];
	size_t o, i;
	int rc, ordered;
	static const char hdr[] =
	    "id,birth_date,sex,ethnic_minority,disability,birth_registered,"
	    "health_insurance,immunisation,measured_on,underweight,stunted,obese,"
	    "school,special,special_support,death_date";

	rc = ts_register_csv_parse(&x, TS_REG_AUTO, "ch.csv", CHILDREN,
	    strlen(CHILDREN));
	CHECK(rc == 0 && x.kind == TS_REG_CHILDREN && x.nerr == 0 && x.rows == 9 &&
	    x.n == 9 && x.nshown == 0 && x.text.len == 0, "9 children parsed, no error");
	CHECK(x.n == 9 && strcmp(x.children[0].id, "A") == 0 && x.lines[0] == 2 &&
	    x.children[0].sex == 1 && x.children[0].eth == 1 &&
	    x.children[0].imm == TS_IMM_FULL8 && x.children[0].uw == 1 &&
	    x.children[0].birth == ts_period_from_civil(2025, 2, 1) &&
	    x.children[0].birth_reg == ts_period_from_civil(2025, 2, 5) &&
	    x.children[0].death == TS_DATE_NONE, "row 2 decoded field by field");
	CHECK(x.n == 9 && x.children[3].special == 4 && x.children[3].special_support == 1 &&
	    x.children[3].school == TS_SCH_NURSERY && x.lines[8] == 10,
	    "row 5: disabled (d) = 4, supported, nursery; last row is line 10");
	ts_register_csv_free(&x);
	CHECK(x.children == NULL && x.n == 0 && x.text.buf == NULL, "free zeroes");

	/* cases need no register here: child ids are only checked later */
	rc = ts_register_csv_parse(&x, TS_REG_CASES, "cs.csv", CASES, strlen(CASES));
	CHECK(rc == 0 && x.kind == TS_REG_CASES && x.nerr == 0 && x.n == 10 &&
	    strcmp(x.cases[9].id, "K10") == 0 && strcmp(x.cases[9].child, "G") == 0 &&
	    x.cases[9].kind == TS_CASE_EXPLOITATION &&
	    x.cases[9].detected == ts_period_from_civil(2026, 1, 2),
	    "10 cases parsed (CRLF), children not looked up");
	ts_register_csv_free(&x);
	rc = ts_register_csv_parse(&x, TS_REG_CHILDREN, "cs.csv", CASES, strlen(CASES));
	CHECK(rc == 0 && x.kind == TS_REG_AUTO && x.nerr == 1 && x.n == 0 &&
	    strncmp((char *)x.text.buf, "cs.csv:1:1: missing or wrong header: want 'id,"
	    "birth_date,", 50) == 0, "children wanted, cases header: line 1 named");
	ts_register_csv_free(&x);

	/* errors name line and field; detected before occurred */
	{
		static const char t[] =
		    "\xef\xbb\xbfid,child_id,kind,occurred,detected,intervention,support,died\n"
		    "C1,A,injury,2025-05-05,2025-05-04,0,1,0\n"
		    "\n"
		    "C2,A,\"injury\",2025-05-05,2025-05-05,0,1,0\n"
		    "C3,A,injury,2025-05-05,2025-05-05,0,1,2\n"
		    "C4,A,inj\0ry,2025-05-05,2025-05-05,0,1,0\n"
		    "C5,A,injury,2025-05-05,2025-05-05,0,1,0,9\n"
		    "C6,A,injury,2025-05-05,2025-05-05,0,1,0";
		static const char want[] =
		    "x.csv:2:5: detected is before occurred\n"
		    "x.csv:3:1: empty line\n"
		    "x.csv:4:1: quotes are not allowed (no field contains a comma)\n"
		    "x.csv:5:8: died '2': unknown code (want one of: 0, 1)\n"
		    "x.csv:6:1: NUL byte in line\n"
		    "x.csv:7:9: too many fields: 9, want 8\n";
		rc = ts_register_csv_parse(&x, TS_REG_AUTO, "x.csv", t, sizeof(t) - 1);
		CHECK(rc == 0 && x.nerr == 6 && x.rows == 7 && x.n == 1 &&
		    strcmp(x.cases[0].id, "C6") == 0 && x.lines[0] == 8 &&
		    x.text.len == strlen(want) && memcmp(x.text.buf, want, x.text.len) == 0,
		    "six bad rows named by LINE:COL, the good last line (no newline, "
		    "BOM before the header) kept (got: %.*s)", (int)x.text.len,
		    (char *)x.text.buf);
		CHECK(x.nshown == 6 && x.shown[3].line == 5 &&
		    memcmp(x.text.buf + x.shown[3].off, "x.csv:5:8: died", 15) == 0,
		    "shown[] points at each text with its line");
		ts_register_csv_free(&x);
	}

	/* 60 bad rows: all counted, the first 50 kept, in line order */
	o = (size_t)snprintf(big, sizeof(big), "%s\n", hdr);
	for (i = 0; i < 60; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "R%zu,2025-02-30,f,1,0,,1,none,,,,,none,none,0,\n", i);
	rc = ts_register_csv_parse(&x, TS_REG_AUTO, "m.csv", big, o);
	for (ordered = 1, i = 1; i < x.nshown; i++)
		ordered &= x.shown[i].line == x.shown[i - 1].line + 1;
	CHECK(rc == 0 && x.nerr == 60 && x.nshown == TS_REG_MAX_ERRORS && ordered &&
	    x.shown[0].line == 2 && x.n == 0,
	    "60 errors counted, 50 texts kept from line 2 on");
	ts_register_csv_free(&x);

	rc = ts_register_csv_parse(&x, TS_REG_AUTO, "h.csv", hdr, strlen(hdr));
	CHECK(rc == 0 && x.nerr == 1 && strcmp((char *)x.text.buf,
	    "h.csv:1: no data rows\n") == 0, "header only: 'no data rows' at line 1");
	ts_register_csv_free(&x);
	rc = ts_register_csv_parse(&x, TS_REG_AUTO, "e.csv", "\xef\xbb\xbf", 3);
	CHECK(rc == 0 && x.nerr == 1 && x.kind == TS_REG_AUTO && strcmp((char *)x.text.buf,
	    "e.csv:1: empty file (no header)\n") == 0, "a BOM alone is an empty file");
	ts_register_csv_free(&x);
}

static void
test_register(void)
{
	char dir[] = "/tmp/ts-domain-XXXXXX", path[256], err[512];
	ts_register *r = NULL;
	ts_reg_result res;
	ts_reg_counts cnt;
	ts_child *ch; ts_case *cs; size_t nch, ncs, n, i;
	ts_value *v;
	int rc;

	if (mkdtemp(dir) == NULL) { CHECK(0, "mkdtemp"); return; }
	snprintf(path, sizeof(path), "%s/register", dir);
	rc = ts_register_open(&r, path, 0, err, sizeof(err));
	CHECK(rc == 0, "register opens (%s)", rc ? err : "ok");
	if (rc != 0) return;

	/* Cases before children: unknown child code, nothing stored. */
	rc = ts_register_load_csv(r, TS_REG_AUTO, TS_REG_IMPORT, 0, "cs.csv", CASES,
	    strlen(CASES), &res);
	CHECK(rc == 0 && res.nerr == 10 && res.stored == 0 &&
	    strstr((char *)res.errors.buf, "cs.csv:2:2: child_id 'F': unknown code") != NULL,
	    "cases of unknown children refused at LINE:COL (%.*s)", 60, (char *)res.errors.buf);
	ts_reg_result_free(&res);

	rc = ts_register_load_csv(r, TS_REG_CHILDREN, TS_REG_IMPORT, 0, "ch.csv",
	    CHILDREN, strlen(CHILDREN), &res);
	CHECK(rc == 0 && res.nerr == 0 && res.stored == 9, "9 children imported");
	ts_reg_result_free(&res);
	rc = ts_register_load_csv(r, TS_REG_AUTO, TS_REG_IMPORT, 0, "cs.csv", CASES,
	    strlen(CASES), &res);
	CHECK(rc == 0 && res.nerr == 0 && res.stored == 10 && res.kind == TS_REG_CASES,
	    "10 cases imported (CRLF)");
	ts_reg_result_free(&res);

	/* What needs the register, merged in line order with the parser's
	 * errors: unknown child (2), bad date (3, the parser), a case
	 * before the child's birth (4), an id already held (5). */
	{
		static const char mixed[] =
		    "id,child_id,kind,occurred,detected,intervention,support,died\n"
		    "Z1,NOPE,injury,2025-05-05,2025-05-05,0,1,0\n"
		    "Z2,F,injury,2025-13-05,2025-13-05,0,1,0\n"
		    "Z3,F,injury,2015-01-01,2015-01-01,0,1,0\n"
		    "K1,F,injury,2025-05-05,2025-05-05,0,1,0\n"
		    "Z4,F,injury,2025-05-05,2025-05-05,0,1,0\n";
		static const char want[] =
		    "m.csv:2:2: child_id 'NOPE': unknown code, no such child in the "
		    "register (import the children first)\n"
		    "m.csv:3:4: occurred '2025-13-05': not a real date (want YYYY-MM-DD, "
		    "year 1900-2999)\n"
		    "m.csv:3:5: detected '2025-13-05': not a real date (want YYYY-MM-DD, "
		    "year 1900-2999)\n"
		    "m.csv:4:4: occurred is before the child's birth_date\n"
		    "m.csv:5:1: duplicate id 'K1': already in the register (use 'tierctl "
		    "register correct' to change it)\n";
		rc = ts_register_load_csv(r, TS_REG_AUTO, TS_REG_IMPORT, 0, "m.csv", mixed,
		    strlen(mixed), &res);
		(void)ts_register_counts(r, &cnt);
		CHECK(rc == 0 && res.nerr == 5 && res.stored == 0 && res.rows == 5 &&
		    cnt.cases == 10 && res.errors.len == strlen(want) &&
		    memcmp(res.errors.buf, want, res.errors.len) == 0,
		    "register checks and parser errors in line order, nothing stored "
		    "(got: %.*s)", (int)res.errors.len, (char *)res.errors.buf);
		ts_reg_result_free(&res);
		rc = ts_register_load_csv(r, TS_REG_AUTO, TS_REG_IMPORT, 1, "m.csv", mixed,
		    strlen(mixed), &res);
		(void)ts_register_counts(r, &cnt);
		CHECK(rc == 0 && res.nerr == 5 && res.stored == 1 && cnt.cases == 11,
		    "--skip-bad stores only the good row Z4");
		ts_reg_result_free(&res);
		rc = ts_register_delete(r, TS_REG_CASES, (char *[]){ "Z4" }, 1, err,
		    sizeof(err));
		CHECK(rc == 0, "Z4 deleted again");
	}

	rc = ts_register_load_all(r, &ch, &nch, &cs, &ncs);
	CHECK(rc == 0 && nch == 9 && ncs == 10, "records read back");
	rc = ts_compute_period(ch, nch, cs, ncs, "2025", &v, &n);
	CHECK(rc == 0, "compute 2025");
	for (i = 0; rc == 0 && i < sizeof(W2025) / sizeof(W2025[0]); i++) {
		const ts_value *x = vfind(v, n, W2025[i].ind, W2025[i].dis);
		CHECK(x != NULL && x->num == W2025[i].num && x->den == W2025[i].den,
		    "2025 %s '%s' = %llu/%llu (got %llu/%llu)", W2025[i].ind, W2025[i].dis,
		    (unsigned long long)W2025[i].num, (unsigned long long)W2025[i].den,
		    x ? (unsigned long long)x->num : 0ULL, x ? (unsigned long long)x->den : 0ULL);
	}
	if (rc == 0) {
		size_t ni, k;
		const ts_compute_ind *ci = ts_compute_indicators(&ni);
		int all = 1;
		for (k = 0; k < ni; k++) {
			int seen = 0;
			for (i = 0; i < sizeof(W2025) / sizeof(W2025[0]); i++)
				seen |= strcmp(W2025[i].ind, ci[k].id) == 0;
			all &= seen;
		}
		CHECK(all, "every register indicator has a hand-computed total");
		check_sums(v, n);
		CHECK(vfind(v, n, "3", "dis=0") == NULL, "no dis key outside the indicator's dimensions");
	}
	free(v);
	rc = ts_compute_period(ch, nch, cs, ncs, "2025Q1", &v, &n);
	CHECK(rc == 0 && vfind(v, n, "3", "")->num == 1 && vfind(v, n, "3", "")->den == 3 &&
	    vfind(v, n, "16", "")->num == 1 && vfind(v, n, "16", "")->den == 2 &&
	    vfind(v, n, "5", "")->num == 1, "2025Q1: 3 = 1/3, 16 = 1/2, 5 = 1 death");
	free(v);
	rc = ts_compute_period(ch, nch, cs, ncs, "2025-04", &v, &n);
	CHECK(rc == 0 && vfind(v, n, "5", "")->num == 1 && vfind(v, n, "5", "")->den == 0,
	    "2025-04: I's death, no births");
	free(v);
	free(ch);
	free(cs);

	/* Bad rows: each refused with LINE:COL, nothing stored. */
	static const struct { const char *row, *want; } bad[] = {
		{ "X1,2025-02-30,f,1,0,,1,none,,,,,none,none,0,\n", "b.csv:2:2: birth_date '2025-02-30': not a real date" },
		{ "X1,2025/02/01,f,1,0,,1,none,,,,,none,none,0,\n", "b.csv:2:2: birth_date '2025/02/01': wrong date format" },
		{ "X1,2025-02-01,x,1,0,,1,none,,,,,none,none,0,\n", "b.csv:2:3: sex 'x': unknown code" },
		{ "X1,2025-02-01,f,1,0,,1,full9,,,,,none,none,0,\n", "b.csv:2:8: immunisation 'full9': unknown code" },
		{ "X1,2025-02-01,f,1,0,,1,none,,,,,none,widowed,0,\n", "b.csv:2:14: special 'widowed': unknown code" },
		{ "X1,2025-02-01,f,1,0,,1,none,,,,,none,none\n", "b.csv:2:15: missing field: 14 fields, want 16" },
		{ ",2025-02-01,f,1,0,,1,none,,,,,none,none,0,\n", "b.csv:2:1: id: missing (required field)" },
		{ "X1,2025-02-01,f,,0,,1,none,,,,,none,none,0,\n", "b.csv:2:4: ethnic_minority: missing (required field)" },
		{ "A,2025-02-01,f,1,0,,1,none,,,,,none,none,0,\n", "b.csv:2:1: duplicate id 'A': already in the register" },
		{ "X1,2025-02-01,f,1,0,,1,none,,,,,none,none,0,\nX1,2025-02-01,f,1,0,,1,none,,,,,none,none,0,\n",
		  "b.csv:3:1: duplicate id 'X1' (first at line 2)" },
		{ "X1,2025-02-01,f,1,0,,1,none,,,,,none,M\xe1\xbb,0,\n", "b.csv:2:14: invalid UTF-8 encoding" },
		{ "X1,2025-02-01,f,1,0,,1,none,,,,,none,\xc0\xaf,0,\n", "b.csv:2:14: invalid UTF-8 encoding" },
		{ "X1,2025-02-01,f,1,0,2025-01-01,1,none,,,,,none,none,0,\n", "b.csv:2:6: birth_registered is before birth_date" },
	};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), "%s\nY9,2024-01-01,m,0,0,,1,none,,,,,none,none,0,\n",
		    "id,birth_date,sex,ethnic_minority,disability,birth_registered,"
		    "health_insurance,immunisation,measured_on,underweight,stunted,obese,"
		    "school,special,special_support,death_date");
		/* the bad row(s) first, then a good one: nothing at all stored */
		snprintf(text, sizeof(text), "%s\n%sY9,2024-01-01,m,0,0,,1,none,,,,,none,none,0,\n",
		    "id,birth_date,sex,ethnic_minority,disability,birth_registered,"
		    "health_insurance,immunisation,measured_on,underweight,stunted,obese,"
		    "school,special,special_support,death_date", bad[i].row);
		rc = ts_register_load_csv(r, TS_REG_CHILDREN, TS_REG_IMPORT, 0, "b.csv", text,
		    strlen(text), &res);
		(void)ts_register_counts(r, &cnt);
		CHECK(rc == 0 && res.nerr >= 1 && res.stored == 0 && cnt.children == 9 &&
		    res.errors.len > 0 && strstr((char *)res.errors.buf, bad[i].want) != NULL,
		    "refused: %s (got: %.*s)", bad[i].want,
		    (int)(res.errors.len > 0 ? res.errors.len - 1 : 0), (char *)res.errors.buf);
		ts_reg_result_free(&res);
	}
	rc = ts_register_load_csv(r, TS_REG_CHILDREN, TS_REG_IMPORT, 0, "e.csv", "", 0, &res);
	CHECK(rc == 0 && res.nerr == 1 && strstr((char *)res.errors.buf, "e.csv:1: empty file"),
	    "empty file refused");
	ts_reg_result_free(&res);

	/* Correction and deletion change the figures. */
	{
		const char *fix = "id,birth_date,sex,ethnic_minority,disability,birth_registered,"
		    "health_insurance,immunisation,measured_on,underweight,stunted,obese,school,"
		    "special,special_support,death_date\n"
		    "E,2020-07-01,m,0,0,2020-07-02,1,full12,2025-07-01,0,0,1,none,orphan,1,\n";
		uint64_t v0;
		(void)ts_register_counts(r, &cnt);
		v0 = cnt.version;
		rc = ts_register_load_csv(r, TS_REG_AUTO, TS_REG_CORRECT, 0, "fix.csv", fix,
		    strlen(fix), &res);
		(void)ts_register_counts(r, &cnt);
		CHECK(rc == 0 && res.stored == 1 && cnt.version == v0 + 1, "correction stored");
		ts_reg_result_free(&res);
		char *del1[] = { "B" }, *del2[] = { "K5", "D" };
		rc = ts_register_delete(r, TS_REG_AUTO, del1, 1, err, sizeof(err));
		CHECK(rc == 0, "delete B");
		rc = ts_register_delete(r, TS_REG_AUTO, (char *[]){ "D" }, 1, err, sizeof(err));
		CHECK(rc != 0 && strstr(err, "has case 'K5'"), "a child with cases is kept (%s)", err);
		rc = ts_register_delete(r, TS_REG_AUTO, del2, 2, err, sizeof(err));
		CHECK(rc == 0, "delete K5 and D together");
		rc = ts_register_load_all(r, &ch, &nch, &cs, &ncs);
		rc |= ts_compute_period(ch, nch, cs, ncs, "2025", &v, &n);
		CHECK(rc == 0 && nch == 7 && vfind(v, n, "21", "")->num == 0 &&
		    vfind(v, n, "14", "")->num == 1 && vfind(v, n, "14", "")->den == 1 &&
		    vfind(v, n, "3", "")->den == 2 && vfind(v, n, "16", "")->den == 1,
		    "after correct/delete: 21 = 0/1, 14 = 1/1, 3 den 2, 16 den 1");
		free(v); free(ch); free(cs);
	}
	ts_register_close(&r);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
}

/* Disaggregation labels (ts_dis_label): every key compute.c emits and
 * every key the shipped plans use has one; unknown keys say so. */
static void
test_dis_labels(void)
{
	static const char *const keys[] = { "sex=f", "sex=m", "eth=0", "eth=1",
	    "dis=0", "dis=1", "age=0-4", "age=5-10", "age=11-15", "age=2-3",
	    "age=3-5" };
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int rc = ts_dis_label(keys[i], out, sizeof(out));
		CHECK(rc == 0 && strchr(out, '=') == NULL && strstr(out, " / ") != NULL,
		    "%s is labelled '%s'", keys[i], out);
	}
	CHECK(ts_dis_label("sex=f", out, sizeof(out)) == 0 &&
	    strcmp(out, "nữ / girls") == 0, "sex=f -> 'nữ / girls' (%s)", out);
	CHECK(ts_dis_label("", out, sizeof(out)) == 0 &&
	    strcmp(out, "tổng / total") == 0, "total -> 'tổng / total'");
	CHECK(ts_dis_label("sex=f;eth=1", out, sizeof(out)) == 0 &&
	    strcmp(out, "nữ, dân tộc thiểu số / girls, ethnic minority") == 0,
	    "sex=f;eth=1 joins both parts (%s)", out);
	CHECK(ts_dis_label("age=5-10", out, sizeof(out)) == 0 &&
	    strcmp(out, "5-10 tuổi / aged 5-10") == 0, "age by rule (%s)", out);
	CHECK(ts_dis_label("sex=x", out, sizeof(out)) == TS_ENOTFOUND &&
	    strcmp(out, "sex=x") == 0, "sex=x: no label, key kept");
	CHECK(ts_dis_label("sex=f;zone=3", out, sizeof(out)) == TS_ENOTFOUND &&
	    strcmp(out, "sex=f;zone=3") == 0, "one unlabelled part: no label");
	CHECK(ts_dis_label("age=10-5", out, sizeof(out)) == TS_ENOTFOUND &&
	    ts_dis_label("age=1-2x", out, sizeof(out)) == TS_ENOTFOUND,
	    "age=10-5 and age=1-2x: no label");
}

int
main(void)
{
	const char *s = getenv("TS_SRCDIR");

	snprintf(srcdir, sizeof(srcdir), "%s", s != NULL ? s : "..");
	test_catalogue();
	test_catalogue_errors();
	test_plans();
	test_plan_inheritance();
	test_compute_ids();
	test_dis_labels();
	test_register_csv();
	test_register();
	ts_catalogue_free(&cat);
	return ts_test_done();
}
