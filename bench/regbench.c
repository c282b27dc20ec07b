/*
 * regbench — one observer for two events in one store (tools/bench
 * rollup, docs/BENCHMARKS.md).
 *
 *   regbench watch --store DIR --first ORIGIN --first-seq N
 *       --then ORIGIN --then-seq M [--poll-us US] [--timeout S]
 *
 * Opens the node's store read-only, prints {"ready":true,...} once it
 * polls, then reads both origins' chain seq in one read txn every US
 * microseconds (default 200) until each has reached its seq; prints one
 * JSON object with the CLOCK_MONOTONIC time (s) each was first seen.
 * Both are seen by the same loop, so their difference does not depend
 * on two processes being scheduled alike on a busy machine (resolution:
 * one poll).  Exit 0, or 1 on timeout (then "timeout":true).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tiersync/store.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
opt(int argc, char **argv, const char *name, const char *def)
{
	int i;

	for (i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

/* A decimal number in [lo, hi] for option name, or -1 with a message
 * naming the option and the text at fault. */
static int
num(const char *name, const char *text, double lo, double hi, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || *v < lo || *v > hi) {
		fprintf(stderr, "regbench: %s: '%s' is not a number in %.0f..%.0f\n",
		    name, text, lo, hi);
		return -1;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: regbench watch --store DIR --first ORIGIN --first-seq N "
	    "--then ORIGIN --then-seq M [--poll-us US] [--timeout S]\n");
	return 2;
}

/* Chain seq of both origins in one read txn (0 when none yet). */
static int
seqs(ts_store *st, const char *a, const char *b, uint64_t *sa, uint64_t *sb)
{
	ts_txn *t;
	ts_chain c;
	int rc;

	if ((rc = ts_store_read_begin(st, &t)) != 0)
		return rc;
	rc = ts_chain_get(t, a, &c);
	*sa = rc == 0 ? c.seq : 0;
	if (rc == 0 || rc == TS_ENOTFOUND) {
		rc = ts_chain_get(t, b, &c);
		*sb = rc == 0 ? c.seq : 0;
	}
	ts_store_read_end(&t);
	return rc == TS_ENOTFOUND ? 0 : rc;
}

int
main(int argc, char **argv)
{
	const char *dir, *a, *b;
	uint64_t wa, wb, sa = 0, sb = 0;
	double timeout, t0, at_a = 0, at_b = 0;
	long poll_us;
	struct timespec pause;
	ts_store *st = NULL;
	int ready = 0;

	if (argc < 2 || strcmp(argv[1], "watch") != 0)
		return usage();
	dir = opt(argc, argv, "--store", NULL);
	a = opt(argc, argv, "--first", NULL);
	b = opt(argc, argv, "--then", NULL);
	if (dir == NULL || a == NULL || b == NULL ||
	    opt(argc, argv, "--first-seq", NULL) == NULL ||
	    opt(argc, argv, "--then-seq", NULL) == NULL)
		return usage();
	{
		double x, y, pu;
		/* seq >= 1 and < 2^53, exact in a double */
		if (num("--first-seq", opt(argc, argv, "--first-seq", NULL), 1, 9007199254740991.0, &x) ||
		    num("--then-seq", opt(argc, argv, "--then-seq", NULL), 1, 9007199254740991.0, &y) ||
		    num("--poll-us", opt(argc, argv, "--poll-us", "200"), 1, 1000000, &pu) ||
		    num("--timeout", opt(argc, argv, "--timeout", "300"), 0.001, 86400, &timeout))
			return 2;
		wa = (uint64_t)x;
		wb = (uint64_t)y;
		poll_us = (long)pu;
	}
	pause.tv_sec = poll_us / 1000000;
	pause.tv_nsec = (poll_us % 1000000) * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now_s();
	while (now_s() - t0 < timeout) {
		if (st == NULL && ts_store_open(&st, dir, TS_STORE_RDONLY, 0, 0) != 0)
			st = NULL;
		if (st != NULL && seqs(st, a, b, &sa, &sb) == 0) {
			double now = now_s();
			if (!ready) {
				printf("{\"ready\":true,\"first_seq\":%llu,\"then_seq\":%llu}\n",
				    (unsigned long long)sa, (unsigned long long)sb);
				ready = 1;
			}
			if (at_a == 0 && sa >= wa)
				at_a = now;
			if (at_b == 0 && sb >= wb)
				at_b = now;
			if (at_a != 0 && at_b != 0) {
				printf("{\"test\":\"watch\",\"first\":\"%s\",\"first_seq\":%llu,"
				    "\"first_at\":%.6f,\"then\":\"%s\",\"then_seq\":%llu,"
				    "\"then_at\":%.6f}\n", a, (unsigned long long)sa, at_a, b,
				    (unsigned long long)sb, at_b);
				ts_store_close(&st);
				return 0;
			}
		}
		nanosleep(&pause, NULL);
	}
	printf("{\"test\":\"watch\",\"first\":\"%s\",\"first_seq\":%llu,\"then\":\"%s\","
	    "\"then_seq\":%llu,\"timeout\":true}\n", a, (unsigned long long)sa, b,
	    (unsigned long long)sb);
	ts_store_close(&st);
	return 1;
}
