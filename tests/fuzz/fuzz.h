/*
 * Shared by the fuzz targets (tests/fuzz/fuzz_*.c) and the replay driver
 * (replay_main.c).  Each target defines LLVMFuzzerTestOneInput; built
 * with -fsanitize=fuzzer it is a libFuzzer binary, linked with
 * replay_main.c it replays a corpus in any build (docs/FUZZING.md).
 *
 * Oracles use FUZZ_CHECK: a violated property aborts, which libFuzzer
 * and the replay driver both report as a crash with the input at fault.
 */
#ifndef TIERSYNC_FUZZ_H
#define TIERSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {                                           \
	if (!(cond)) {                                                  \
		fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n",      \
		    __FILE__, __LINE__, #cond);                         \
		abort();                                                \
	}                                                               \
} while (0)

#endif
