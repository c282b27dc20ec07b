/*
 * Fuzz target: the node configuration parser ts_config_parse
 * (docs/CONFIG.md).
 *
 * Oracles:
 *  - failure => negative code; for TS_EPARSE a NUL-terminated message
 *    naming the file ("NAME:LINE: ..." or "NAME: ...");
 *  - success => every documented bound and ordering holds (the table's
 *    [min, max], heartbeat < dead, reconnect_min <= reconnect_max, ...),
 *    the unit code is valid, required paths are set, and relative paths
 *    were resolved against the (absolute) config directory.
 */
#include <string.h>

#include "fuzz.h"
#include "tiersync/config.h"

#define NAME "fuzz.conf"
#define DIR  "/srv/tiersync/node"

#define IN(v, lo, hi) ((v) >= (lo) && (v) <= (hi))

/* "" or tcp://... or ipc://... (docs/CONFIG.md). */
static void
check_endpoint(const char *e, size_t size)
{
	FUZZ_CHECK(memchr(e, '\0', size) != NULL);
	FUZZ_CHECK(e[0] == '\0' || strncmp(e, "tcp://", 6) == 0 ||
	    strncmp(e, "ipc://", 6) == 0);
}

static void
check_path(const char *p, size_t size)
{
	FUZZ_CHECK(memchr(p, '\0', size) != NULL);
	FUZZ_CHECK(p[0] == '/');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ts_config c;
	char err[512];
	int rc, mm, dd;

	memset(err, 'x', sizeof(err));
	rc = ts_config_parse(&c, NAME, DIR, (const char *)data, size, err,
	    sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		if (rc == TS_EPARSE)
			FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0 &&
			    strlen(err) > strlen(NAME) + 2);
		return 0;
	}
	FUZZ_CHECK(ts_valid_code(c.unit, strlen(c.unit)) == 0);
	check_path(c.datadir, sizeof(c.datadir));
	check_path(c.topology, sizeof(c.topology));
	check_path(c.keys, sizeof(c.keys));
	check_path(c.sign_key, sizeof(c.sign_key));
	check_path(c.curve_key, sizeof(c.curve_key));
	check_endpoint(c.listen, sizeof(c.listen));
	check_endpoint(c.parent, sizeof(c.parent));
	FUZZ_CHECK(strcmp(c.log, "stderr") == 0 || strcmp(c.log, "syslog") == 0);
	FUZZ_CHECK(IN(c.verbose, 0, 2));
	FUZZ_CHECK(IN(c.heartbeat_ms, 50, 60000));
	FUZZ_CHECK(IN(c.dead_ms, 200, 600000));
	FUZZ_CHECK(IN(c.reconnect_min_ms, 10, 60000));
	FUZZ_CHECK(IN(c.reconnect_max_ms, 100, 600000));
	FUZZ_CHECK(IN(c.batch_max, 1, TS_BATCH_MAX));
	FUZZ_CHECK(IN(c.window, 1, 64));
	FUZZ_CHECK(IN(c.debounce_ms, 0, 60000));
	FUZZ_CHECK(IN(c.debounce_max_ms, 0, 600000));
	FUZZ_CHECK(IN(c.mapsize_mb, 1, 1048576));
	FUZZ_CHECK(IN(c.mapsize_max_mb, 1, 1048576));
	FUZZ_CHECK(IN(c.deadline_step_days, 0, 365));
	FUZZ_CHECK(IN(c.deadline_quarter_days, 0, 365));
	FUZZ_CHECK(IN(c.deadline_month_days, 0, 365));
	mm = c.deadline_annual_mmdd / 100;
	dd = c.deadline_annual_mmdd % 100;
	FUZZ_CHECK(IN(mm, 1, 12) && IN(dd, 1, 31));
	FUZZ_CHECK(c.heartbeat_ms < c.dead_ms);
	FUZZ_CHECK(c.reconnect_min_ms <= c.reconnect_max_ms);
	FUZZ_CHECK(c.debounce_ms <= c.debounce_max_ms);
	FUZZ_CHECK(c.mapsize_mb <= c.mapsize_max_mb);
	return 0;
}
