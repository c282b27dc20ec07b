/*
 * Node configuration: defaults, every error kind with file:line and
 * key, relative path resolution, and docs/CONFIG.md kept in step with
 * the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiersync/config.h"
#include "tap.h"

/* A string literal and its length, for ts_config_parse. */
#define LIT(s)	s, sizeof(s) - 1

static const char *srcdir, *testdata;
static char cfgdir[2048];	/* absolute tests/data/config */

static void
path_of(char *buf, size_t sz, const char *file)
{
	snprintf(buf, sz, "%s/config/%s", testdata, file);
}

static void
test_good(void)
{
	ts_config c;
	char	 path[1024], err[512], want[4096];
	int	 rc;

	path_of(path, sizeof(path), "good.conf");
	rc = ts_config_load(&c, path, err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "good.conf loads (%s)", err);
	if (rc != 0)
		return;
	CHECK(strcmp(c.unit, "109") == 0, "unit 109");
	snprintf(want, sizeof(want), "%s/../topo/good.tsv", cfgdir);
	CHECK(strcmp(c.topology, want) == 0, "relative topology resolved: %s", c.topology);
	snprintf(want, sizeof(want), "%s/keys.txt", cfgdir);
	CHECK(strcmp(c.keys, want) == 0, "'keys = x' form, resolved: %s", c.keys);
	snprintf(want, sizeof(want), "%s/node109", cfgdir);
	CHECK(strcmp(c.datadir, want) == 0, "relative datadir resolved: %s", c.datadir);
	snprintf(want, sizeof(want), "%s/node109/sign.key", cfgdir);
	CHECK(strcmp(c.sign_key, want) == 0, "sign_key defaults under datadir: %s", c.sign_key);
	CHECK(strcmp(c.curve_key, "/etc/tiersync/curve.key") == 0, "absolute path kept");
	CHECK(strcmp(c.listen, "tcp://*:7400") == 0, "listen");
	CHECK(strcmp(c.parent, "tcp://province.example:7400") == 0, "parent");
	CHECK(strcmp(c.log, "syslog") == 0, "log syslog");
	CHECK_EQ_INT(c.verbose, 2, "verbose=2 (no blanks around '=')");
	CHECK_EQ_INT(c.heartbeat_ms, 500, "heartbeat_ms");
	CHECK_EQ_INT(c.dead_ms, 3000, "dead_ms with blanks and tab");
	CHECK_EQ_INT(c.batch_max, 4096, "batch_max at its maximum");
	CHECK_EQ_INT(c.mapsize_mb, 128, "mapsize_mb");
	CHECK_EQ_INT(c.deadline_annual_mmdd, 1130, "deadline_annual_mmdd");
	/* untouched keys keep their defaults */
	CHECK_EQ_INT(c.window, 8, "window default 8");
	CHECK_EQ_INT(c.reconnect_min_ms, 100, "reconnect_min_ms default");
	CHECK_EQ_INT(c.reconnect_max_ms, 10000, "reconnect_max_ms default");
	CHECK_EQ_INT(c.debounce_ms, 200, "debounce_ms default");
	CHECK_EQ_INT(c.debounce_max_ms, 2000, "debounce_max_ms default");
	CHECK_EQ_INT(c.mapsize_max_mb, 65536, "mapsize_max_mb default");
	CHECK_EQ_INT(c.deadline_step_days, 10, "deadline_step_days default");
	CHECK_EQ_INT(c.deadline_quarter_days, 15, "deadline_quarter_days default");
	CHECK_EQ_INT(c.deadline_month_days, 15, "deadline_month_days default");
}

static void
test_defaults(void)
{
	ts_config c;
	char	 path[1024], err[512], want[4096];
	int	 rc;

	path_of(path, sizeof(path), "minimal.conf");
	rc = ts_config_load(&c, path, err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "minimal.conf loads (%s)", err);
	if (rc != 0)
		return;
	CHECK(strcmp(c.unit, "00001") == 0, "unit");
	CHECK(strcmp(c.datadir, cfgdir) == 0, "datadir defaults to the config's dir: %s", c.datadir);
	snprintf(want, sizeof(want), "%s/sign.key", cfgdir);
	CHECK(strcmp(c.sign_key, want) == 0, "sign_key default %s", c.sign_key);
	snprintf(want, sizeof(want), "%s/curve.key", cfgdir);
	CHECK(strcmp(c.curve_key, want) == 0, "curve_key default %s", c.curve_key);
	CHECK(strcmp(c.topology, "/srv/topo.tsv") == 0, "absolute topology kept");
	CHECK(c.listen[0] == '\0' && c.parent[0] == '\0', "listen, parent default empty");
	CHECK(strcmp(c.log, "stderr") == 0, "log default stderr");
	CHECK_EQ_INT(c.verbose, 0, "verbose default 0");
	CHECK_EQ_INT(c.heartbeat_ms, 1000, "heartbeat_ms default");
	CHECK_EQ_INT(c.dead_ms, 5000, "dead_ms default");
	CHECK_EQ_INT(c.batch_max, 256, "batch_max default");
	CHECK_EQ_INT(c.mapsize_mb, 64, "mapsize_mb default");
	CHECK_EQ_INT(c.deadline_annual_mmdd, 1205, "deadline 5 December");

	path_of(path, sizeof(path), "crlf.conf");
	rc = ts_config_load(&c, path, err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "CRLF config loads (%s)", err);
	snprintf(want, sizeof(want), "ipc://%s/../up.sock", cfgdir);
	CHECK(rc == 0 && strcmp(c.parent, want) == 0, "relative ipc:// resolved: %s", c.parent);
	snprintf(want, sizeof(want), "%s/topo.tsv", cfgdir);
	CHECK(rc == 0 && strcmp(c.topology, want) == 0, "no CR left in values");

	/* From memory without a directory: paths stay as written. */
	rc = ts_config_parse(&c, "mem", NULL, LIT("unit 1\ntopology t.tsv\nkeys k\n"
	    "listen ipc://@abstract\nparent \"\"\n"), err, sizeof(err));
	CHECK_EQ_INT(rc, 0, "parse with dir NULL (%s)", err);
	CHECK(rc == 0 && strcmp(c.topology, "t.tsv") == 0 &&
	    strcmp(c.datadir, ".") == 0 && strcmp(c.sign_key, "./sign.key") == 0,
	    "dir NULL: relative kept, datadir '.'");
	CHECK(rc == 0 && strcmp(c.listen, "ipc://@abstract") == 0, "abstract ipc kept");
	CHECK(rc == 0 && c.parent[0] == '\0', "quoted empty value");
	rc = ts_config_parse(&c, "mem", "/d", LIT("unit 1\ntopology t\nkeys k\n"
	    "listen ipc:///run/ts.sock\n"), err, sizeof(err));
	CHECK(rc == 0 && strcmp(c.listen, "ipc:///run/ts.sock") == 0 &&
	    strcmp(c.topology, "/d/t") == 0, "absolute ipc kept, dir '/d' joined");
}

/* A fixture must fail with TS_EPARSE and "path:line: key 'k': words". */
static void
bad(const char *file, int line, const char *key, const char *words)
{
	ts_config c;
	char	 path[1024], err[512], want[1200];
	int	 rc;

	path_of(path, sizeof(path), file);
	if (line > 0 && key != NULL)
		snprintf(want, sizeof(want), "%s:%d: key '%s': ", path, line, key);
	else if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	err[0] = '\0';
	rc = ts_config_load(&c, path, err, sizeof(err));
	CHECK(rc == TS_EPARSE && strncmp(err, want, strlen(want)) == 0 &&
	    strstr(err + strlen(want), words) != NULL,
	    "%s: '%.200s'", file, err);
}

static void
test_errors(void)
{
	ts_config c;
	char	 path[1024], err[512];

	bad("unknown_key.conf", 5, "heartbeat", "unknown key");
	bad("dup_key.conf", 6, "window", "duplicate (first set at line 5)");
	bad("not_number.conf", 4, "window", "not a number 'eight'");
	bad("out_of_range.conf", 4, "batch_max", "5000 out of range [1, 4096]");
	bad("negative.conf", 4, "dead_ms", "-1 out of range [200, 600000]");
	bad("bad_mmdd.conf", 4, "deadline_annual_mmdd", "231 is not a day of the year");
	bad("bad_unit.conf", 2, "unit", "bad unit code '1-09'");
	bad("long_unit.conf", 1, "unit", "bad unit code");
	bad("bad_endpoint.conf", 4, "parent", "bad endpoint 'http://province:7400'");
	bad("bad_port.conf", 4, "listen", "bad endpoint");
	bad("bad_log.conf", 4, "log", "want stderr or syslog");
	bad("too_long.conf", 3, "keys", "string too long (1100 bytes)");
	bad("too_long_resolved.conf", 3, "keys", "string too long after resolving");
	bad("missing_value.conf", 4, "window", "missing value");
	bad("order.conf", 5, "reconnect_min_ms", "500 must be <= reconnect_max_ms (200)");
	bad("order_strict.conf", 5, "heartbeat_ms", "1000 must be < dead_ms (1000)");
	bad("syntax.conf", 2, NULL, "expected 'name value'");
	bad("missing_unit.conf", 0, NULL, "missing required key 'unit'");
	bad("missing_topology.conf", 0, NULL, "missing required key 'topology'");

	path_of(path, sizeof(path), "no-such.conf");
	CHECK_EQ_INT(ts_config_load(&c, path, err, sizeof(err)), TS_ESYS,
	    "missing config file: %s", err);
	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL, LIT("unit 1\ntopology t\nkeys k\nwindow 1\0"),
	    err, sizeof(err)), TS_EPARSE, "NUL byte refused: %s", err);
	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL, LIT("unit 1\ntopology t\nkeys k\nwindow 0x10\n"),
	    err, sizeof(err)), TS_EPARSE, "hex is not a number: %s", err);
	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL,
	    LIT("unit 1\ntopology t\nkeys k\nwindow 99999999999999999999\n"), err, sizeof(err)), TS_EPARSE, "overflow is out of range: %s", err);
	CHECK(strstr(err, "out of range") != NULL, "overflow says out of range");
	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL,
	    LIT("unit 1\ntopology t\nkeys k\nparent tcp://host\n"), err, sizeof(err)), TS_EPARSE, "tcp without port: %s", err);
	/* The bounds on what a child may claim or store. */
	{
		static const struct { const char *text, *words; } q[] = {
			{ "unit 1\ntopology t\nkeys k\nmax_skew_s 59\n", "max_skew_s" },
			{ "unit 1\ntopology t\nkeys k\nquota_values 0\n", "quota_values" },
			{ "unit 1\ntopology t\nkeys k\nquota_values 65537\n", "quota_values" },
			{ "unit 1\ntopology t\nkeys k\nquota_reports_day 0\n", "quota_reports_day" },
			{ "unit 1\ntopology t\nkeys k\nquota_mb_day 0\n", "quota_mb_day" },
		};
		size_t i;
		for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			err[0] = '\0';
			CHECK(ts_config_parse(&c, "mem", NULL, q[i].text, strlen(q[i].text),
			    err, sizeof(err)) == TS_EPARSE && strstr(err, q[i].words) &&
			    strstr(err, "out of range") && strstr(err, "mem:4"),
			    "%s refused naming it and mem:4: %s", q[i].words, err);
		}
		CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL,
		    LIT("unit 1\ntopology t\nkeys k\n"), err, sizeof(err)), 0, "defaults parse");
		CHECK(c.max_skew_s == 86400 && c.quota_values == 20000 &&
		    c.quota_reports_day == 2000 && c.quota_mb_day == 64,
		    "defaults: a day of skew, 20,000 values, 2,000 reports, 64 MiB");
	}
}

/* docs/CONFIG.md must carry the table exactly as ts_config_describe
 * writes it, so the documentation cannot drift from the code. */
static void
test_describe(void)
{
	FILE	*f;
	char	*gen, *doc, path[1024];
	long	 n;
	size_t	 glen, dlen;

	if ((f = tmpfile()) == NULL) {
		CHECK(0, "tmpfile");
		return;
	}
	ts_config_describe(f);
	n = ftell(f);
	rewind(f);
	glen = n > 0 ? (size_t)n : 0;
	gen = calloc(1, glen + 1);
	CHECK(fread(gen, 1, glen, f) == glen, "read describe output");
	fclose(f);
	CHECK(strstr(gen, "| `unit` |") != NULL && strstr(gen, "| `heartbeat_ms` | integer | `1000` | 50 .. 60000 |") != NULL,
	    "describe lists keys with default and bounds");

	snprintf(path, sizeof(path), "%s/docs/CONFIG.md", srcdir);
	doc = NULL;
	dlen = 0;
	if ((f = fopen(path, "rb")) != NULL) {
		doc = calloc(1, 1 << 20);
		dlen = fread(doc, 1, (1 << 20) - 1, f);
		fclose(f);
	}
	CHECK(doc != NULL && dlen > 0, "read %s", path);
	CHECK(doc != NULL && strstr(doc, gen) != NULL,
	    "docs/CONFIG.md contains the ts_config_describe table verbatim");
	free(doc);
	free(gen);
}

/* The one deadline rule (daemon and tierctl share it), against instants
 * computed by hand in Viet Nam time (UTC+7): "before 5 December" is
 * before 00:00 on 5 December in Viet Nam. */
static void
test_deadlines(void)
{
	ts_config c;
	char err[512];

	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL,
	    LIT("unit 1\ntopology t\nkeys k\n"), err, sizeof(err)), 0,
	    "defaults for deadlines");
	CHECK(ts_config_deadline_ms(&c, "2025", 3) == 1764867600000ULL,
	    "2025, commune: 2025-12-05T00:00+07:00");
	CHECK(ts_config_deadline_ms(&c, "2025", 2) == 1765731600000ULL,
	    "2025, district: 10 days later");
	CHECK(ts_config_deadline_ms(&c, "2025", 1) == 1766595600000ULL,
	    "2025, province: 20 days later");
	CHECK(ts_config_deadline_ms(&c, "2025", 0) == 1766595600000ULL +
	    10ULL * 86400000, "2025, a unit above provinces: 30 days later");
	CHECK(ts_config_deadline_ms(&c, "2025Q3", 3) == 1760547600000ULL,
	    "2025Q3, commune: 15 days after 30 September");
	CHECK(ts_config_deadline_ms(&c, "2025-12", 3) == 1768496400000ULL,
	    "2025-12, commune: 15 days after the year ends");
	CHECK(ts_config_deadline_ms(&c, "2025Q4", 2) == 1769360400000ULL,
	    "2025Q4, district: 15 + 10 days after the year ends");
	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL,
	    LIT("unit 1\ntopology t\nkeys k\ndeadline_annual_mmdd 1215\n"
	    "deadline_step_days 0\n"), err, sizeof(err)), 0, "own deadlines");
	CHECK(ts_config_deadline_ms(&c, "2025", 1) == 1765731600000ULL,
	    "configured: 15 December for every level");
	/* Each period type has its own deadline. */
	CHECK_EQ_INT(ts_config_parse(&c, "mem", NULL,
	    LIT("unit 1\ntopology t\nkeys k\ndeadline_quarter_days 25\n"
	    "deadline_month_days 5\n"), err, sizeof(err)), 0, "per-type deadlines");
	CHECK(ts_config_deadline_ms(&c, "2025Q4", 3) == 1768496400000ULL +
	    10ULL * 86400000, "2025Q4, commune: 25 days after the quarter");
	CHECK(ts_config_deadline_ms(&c, "2025-12", 3) == 1768496400000ULL -
	    10ULL * 86400000, "2025-12, commune: 5 days after the month");
}

int
main(void)
{
	char	cwd[1024];

	if ((srcdir = getenv("TS_SRCDIR")) == NULL)
		srcdir = ".";
	if ((testdata = getenv("TS_TESTDATA")) == NULL)
		testdata = "tests/data";
	if (testdata[0] == '/')
		snprintf(cfgdir, sizeof(cfgdir), "%s/config", testdata);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(cfgdir, sizeof(cfgdir), "%s/%s/config", cwd, testdata);
	test_good();
	test_defaults();
	test_errors();
	test_describe();
	test_deadlines();
	return ts_test_done();
}
