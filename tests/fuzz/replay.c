/* replay.c - a main for the fuzz targets without libFuzzer: each file
 * named is one input, run once, as a libFuzzer target given files does.
 * make check runs the corpus of every target this way. */
#include "config.h"

#include <string.h>

#include "base.h"
#include "fuzz.h"

/* targets that need set-up define it */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
main(int argc, char **argv)
{
	struct rh_buf b = { 0 };
	uint8_t *copy;
	int i, r;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		b.len = 0;
		if ((r = rh_file_read(argv[i], 64u << 20, &b, NULL)) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			rh_buf_free(&b);
			return 1;
		}
		/* a copy of its own size, so that ASan sees a read past it */
		copy = xmalloc(b.len ? b.len : 1);
		memcpy(copy, b.data, b.len);
		LLVMFuzzerTestOneInput(copy, b.len);
		free(copy);
	}
	rh_buf_free(&b);
	printf("%s: %d inputs run\n", argv[0], argc - 1);
	return 0;
}
