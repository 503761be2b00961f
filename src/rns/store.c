/* store.c - operations over any store that keep what is stored valid. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"

void
rh_store_free(struct rh_store *s)
{
	if (s == NULL)
		return;
	s->ops->destroy(s);
	free(s);
}

static int
store_fail(struct rh_err *err, const char *addr, int r, const char *what)
{
	if (r == -EAGAIN)
		return rh_err_set(err, EAGAIN, "%s: changed by someone else "
		                  "since it was read; %s refused", addr, what);
	return rh_err_set(err, -r, "%s: %s failed: %s", addr, what,
	                  strerror(-r));
}

/* Validate, point the name fields at path, store atomically. */
int
rh_store_put_config(struct rh_store *s, const char *path, const char *data,
                    size_t len, uint64_t expect, struct rh_err *err)
{
	char *addr = rh_address(s->prefix, path), *out = NULL;
	size_t outlen;
	int r;

	if (s->readonly) {
		r = rh_err_set(err, EROFS, "%s: builtins are read-only", addr);
		goto done;
	}
	if ((r = rh_config_check(addr, data, len, &out, &outlen, err)) < 0)
		goto done;
	r = out ? s->ops->put(s, path, out, outlen, expect) :
	          s->ops->put(s, path, data, len, expect);
	if (r < 0)
		store_fail(err, addr, r, "saving config.json");
done:
	free(out);
	free(addr);
	return r;
}

/* Move one config to another directory (mv a/config.json b/): valid for
 * its new address first, then stored there, then dropped here. */
int
rh_store_move_config(struct rh_store *s, const char *from, const char *to,
                     struct rh_err *err)
{
	struct rh_buf cfg = { 0 };
	char *addr = rh_address(s->prefix, from);
	int r;

	if ((r = s->ops->get(s, from, &cfg, NULL)) < 0) {
		store_fail(err, addr, r, "reading config.json");
		goto done;
	}
	if ((r = rh_store_put_config(s, to, cfg.data, cfg.len, 0, err)) < 0)
		goto done;
	if ((r = s->ops->remove(s, from)) < 0)
		store_fail(err, addr, r, "removing config.json");
done:
	rh_buf_free(&cfg);
	free(addr);
	return r;
}
