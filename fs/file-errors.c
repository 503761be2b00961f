/* file-errors.c - a resource's errors: the recent warnings and refusals
 * from the log ring (the mount's .log) that name the resource, so the
 * reason a write failed with EINVAL is read beside the file written. */
#include "config.h"

#include <stdlib.h>

#include "base.h"
#include "rhfs.h"

static int
errors_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	char *addr = res_address(fs, h->node->parent, NULL);

	rh_log_recent_about(&h->buf, addr);
	rh_buf_reserve(&h->buf, 0);
	free(addr);
	return 0;
}

const struct fs_kind kind_errors = {
	.truncate = stream_truncate,
	.name = "errors",
	.mode = 0444,
	.open = errors_open,
	.read = read_open_buf,
};
