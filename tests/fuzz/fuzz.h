/* fuzz.h - what the fuzz targets of tests/fuzz share. Each target is a
 * libFuzzer entry point (LLVMFuzzerTestOneInput); built with
 * --enable-fuzz it is linked with libFuzzer, otherwise with replay.c,
 * which runs it once on each file named (the corpus, in make check). */
#ifndef RH_FUZZ_H
#define RH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property of the code under test that does not hold: a crash, so
 * that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                            \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: property failed: %s: ",  \
			        __FILE__, __LINE__, #cond);              \
			fprintf(stderr, __VA_ARGS__);                    \
			fputc('\n', stderr);                             \
			abort();                                         \
		}                                                        \
	} while (0)

#endif
