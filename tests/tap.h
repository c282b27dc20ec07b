/*
 * Minimal test helpers.  Each check prints "ok N - what" or
 * "not ok N - what (file:line)"; ts_test_done() prints the summary line
 * "N passed, M failed" and returns the exit status.
 */
#ifndef TS_TAP_H
#define TS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

#define CHECK(cond, ...) do { \
	tap_n++; \
	if (cond) { printf("ok %d - ", tap_n); printf(__VA_ARGS__); printf("\n"); } \
	else { tap_fail++; printf("not ok %d - ", tap_n); printf(__VA_ARGS__); \
	       printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_EQ_INT(a, b, ...) do { long long _a = (long long)(a), _b = (long long)(b); \
	CHECK(_a == _b, __VA_ARGS__); \
	if (_a != _b) printf("#   got %lld, want %lld\n", _a, _b); } while (0)

static inline int ts_test_done(void)
{
	printf("%d passed, %d failed\n", tap_n - tap_fail, tap_fail);
	return tap_fail ? 1 : 0;
}

#endif
