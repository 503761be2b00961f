/* send-setup.c - what a send needs on its node before its first call:
 *   reqs        "./" syncs the workdir to ~/<its name>, "local:PATH" the
 *               directory PATH to ~/<its base name>, only changed files
 *               (src/link/sync.c). Every other entry is a pip requirement
 *               ("pip:NAME" is NAME), and a synced directory's
 *               requirements.txt is one too.
 *   packages    installed by the node's python3 -m pip, under the node's
 *               own pip configuration, into a virtualenv of the list's
 *               own, ~/.rh/envs/reqs-<digest> (made with
 *               --system-site-packages: what the node has stays
 *               visible). The node's system python is left alone (Debian
 *               refuses pip there), and two sends with clashing versions
 *               get two virtualenvs. The send's calls then run in it.
 *   setup_cmds  run once per node, in order, in the node's home.
 *   env         an env resource named by its address (or bare name, in
 *               the default folder), looked up at each write, or held
 *               inline. One with reqs, setup_cmds or system_site_packages
 *               is a virtualenv of its own, ~/.rh/envs/env-<name>-<hash>,
 *               updated in place when its reqs change: its packages and
 *               the send's go there, then its setup_cmds run (its bin/
 *               first on PATH), then its stamp .rh-stamp is renewed, which
 *               the agent's Python workers of the old env retire on. Its
 *               env_vars and working_dir go in each call request.
 *   default_env a cluster's env (the same forms): what its run and
 *               python files run in, and the calls of its sends that
 *               name no env of their own; made as a send's env is.
 * The node's agent remembers a digest of each list done, so a list is
 * installed (or run) once per node.
 * Done once per send and connection (a new connection looks again, as
 * the node may have been reset); progress lines go to rhfs's log and to
 * the agent's, which the cluster's log file shows.
 * The work runs in a thread of its own: writers wait for it, and a
 * writer's Ctrl-C ends its own wait (EINTR) while the work goes on for
 * the others. Stopping rhfs ends the work between two steps. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "proto.h"
#include "callrecord.h"
#include "link.h"
#include "rhfs.h"

/* setup_cmds and pip install things: give them long, but not forever. */
#define SETUP_TIMEOUT_MS (30 * 60 * 1000)
/* The virtualenvs, relative to the node's home. */
#define ENVS_DIR ".rh/envs"
/* How often a wait looks for a Ctrl-C or rhfs stopping. */
#define SLICE_MS 100

enum { PREP_RUNNING, PREP_DONE, PREP_FAILED };

struct send_prepared {
	char *addr;
	struct rh_rpc *rpc;     /* the connection it was done on */
	char key[2 * EVP_MAX_MD_SIZE + 1];      /* of reqs and setup_cmds */
	struct fs *fs;
	cJSON *cfg;             /* the send's, for the work */
	cJSON *env;             /* its env's, or NULL */
	char *ekey;             /* what names the env on the node */
	int state;              /* PREP_*, under fs->prep_lock */
	int err;                /* -errno of a failure, and why: */
	struct rh_err why;
	char *venv;             /* where its packages are, relative to the
	                         * node's home; NULL: none (under prep_lock) */
	pthread_t thread;
	int joinable;
	struct send_prepared *next;
};

/* A field if present and not null, else NULL. */
static const cJSON *
field(const cJSON *cfg, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);

	return cJSON_IsNull(v) ? NULL : v;
}

static int
stopping(struct fs *fs)
{
	return __atomic_load_n(&fs->prep_stop, __ATOMIC_RELAXED);
}

/* A request to the agent whose wait ends when rhfs stops. */
static int
stop_cb(void *arg)
{
	return stopping(arg);
}

static int
job_call(struct fs *fs, struct rh_rpc *rpc, cJSON *req, long timeout_ms,
         cJSON **reply)
{
	*reply = NULL;
	if (stopping(fs))
		return -ECANCELED;
	return rh_rpc_call_wait_stop(rpc, req, timeout_ms > 0 ?
	                             (int)timeout_ms : 1, stop_cb, fs, reply);
}

static void
digest(const cJSON *v, char *hex)
{
	char *s = cJSON_PrintUnformatted(v);

	rh_sha256_hex(s, strlen(s), hex);
	cJSON_free(s);
}

/* A progress line, in rhfs's log and the agent's. */
static void RH_PRINTF(3, 4)
note(struct fs *fs, struct rh_rpc *rpc, const char *fmt, ...)
{
	cJSON *req, *reply = NULL;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	rh_info("%s", msg);
	req = rh_proto_new(0, "note");
	cJSON_AddStringToObject(req, "message", msg);
	job_call(fs, rpc, req, (long)(fs->opts.connect_timeout * 1000),
	         &reply);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	free(msg);
}

/* "~/x" and relative paths (to the workdir) made absolute. */
static char *
local_path(struct fs *fs, const char *p)
{
	const char *home = getenv("HOME");

	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0') && home != NULL)
		return xasprintf("%s%s", home, p + 1);
	if (p[0] == '/')
		return xstrdup(p);
	return xasprintf("%s/%s", fs->opts.local, p);
}

static char *
base_name(const char *path)
{
	char *s = xstrdup(path), *b;
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	b = strrchr(s, '/');
	b = xstrdup(b ? b + 1 : s);
	free(s);
	return b;
}

/* What pip installs: its arguments, and what the digest is of. */
struct pip_list {
	cJSON *args;            /* "NAME==1.0", "-r", "proj/requirements.txt" */
	cJSON *text;            /* args, and each requirements.txt's text */
};

/* A synced directory's requirements.txt joins the list. */
static void
pip_add_file(struct pip_list *pl, const char *dir, const char *name)
{
	struct rh_buf b = { 0 };
	char *path = xasprintf("%s/requirements.txt", dir);

	if (rh_file_read(path, 1024 * 1024, &b, NULL) == 0) {
		cJSON_AddItemToArray(pl->args, cJSON_CreateString("-r"));
		free(path);
		path = xasprintf("%s/requirements.txt", name);
		cJSON_AddItemToArray(pl->args, cJSON_CreateString(path));
		rh_buf_append(&b, "", 1);
		cJSON_AddItemToArray(pl->text, cJSON_CreateString(b.data));
	}
	rh_buf_free(&b);
	free(path);
}

static int
sync_reqs(struct fs *fs, const char *addr, const cJSON *cfg,
          const cJSON *reqs, struct rh_rpc *rpc, struct pip_list *pl,
          struct rh_err *err, int node)
{
	struct rh_sync_stats st;
	struct rh_links *ls;
	struct rh_ssh *ssh = NULL;
	struct rh_sftp *sftp = NULL;
	const cJSON *req;
	cJSON *ccfg = NULL;
	char *caddr = NULL, *dir, *name;
	const char *what;
	int r = 0, local;

	cJSON_ArrayForEach(req, reqs) {
		if (!cJSON_IsString(req)) {
			note(fs, rpc, "%s: reqs: an entry that is not a string "
			     "is skipped", addr);
			continue;
		}
		what = req->valuestring;
		if (strcmp(what, "./") == 0 || strcmp(what, ".") == 0) {
			dir = xstrdup(fs->opts.local);
		} else if (strncmp(what, "local:", 6) == 0 && what[6] != '\0') {
			dir = local_path(fs, what + 6);
		} else {
			/* a package, for pip */
			if (strncmp(what, "pip:", 4) == 0)
				what += 4;
			cJSON_AddItemToArray(pl->args,
			                     cJSON_CreateString(what));
			continue;
		}
		/* the node is reached once, for every directory */
		if (caddr == NULL &&
		    ((r = res_cluster_of(fs, addr, cfg, &caddr, &ccfg, err)) < 0 ||
		     (r = res_links(fs, &ls, err)) < 0)) {
			free(dir);
			break;
		}
		/* node i of several: reached at its own address, with its
		 * own SSH details (an on-demand cluster's, as reached) */
		if (node > 0 && ssh == NULL) {
			cJSON *at;

			if ((r = rh_cluster_reached(caddr, ccfg, &at,
			                            err)) < 0) {
				free(dir);
				break;
			}
			cJSON_Delete(ccfg);
			ccfg = rh_node_cfg(at, node);
			cJSON_Delete(at);
		}
		local = rh_links_is_local(caddr, ccfg);
		if (!local && ssh == NULL &&
		    ((r = rh_links_ssh(ls, caddr, ccfg, &ssh, err)) < 0 ||
		     (r = rh_sftp_open(ssh, &sftp, err)) < 0)) {
			free(dir);
			break;
		}
		name = base_name(dir);
		r = rh_sync_dir(sftp, getenv("HOME"), dir, name,
		                &fs->prep_stop, &st, err);
		if (r == 0)
			pip_add_file(pl, dir, name);
		if (r == 0 && st.removed > 0)
			note(fs, rpc, "%s: syncing %s to ~/%s: %zu changed "
			     "files (%zu in all), %zu removed (gone from %s)",
			     addr, what, name, st.changed, st.files,
			     st.removed, dir);
		else if (r == 0)
			note(fs, rpc, "%s: syncing %s to ~/%s: %zu changed "
			     "files (%zu in all)", addr, what, name, st.changed,
			     st.files);
		free(name);
		free(dir);
		if (r < 0) {
			struct rh_err why = *err;

			rh_err_set(err, -r, "%s: reqs: cannot sync %s: %s",
			           addr, what, why.msg);
			break;
		}
	}
	rh_sftp_close(sftp);
	if (ssh != NULL)
		rh_ssh_close(ssh);
	cJSON_Delete(ccfg);
	free(caddr);
	return r;
}

static int
setup_done(struct fs *fs, struct rh_rpc *rpc, const char *key, int set,
           int *done, const char *node)
{
	cJSON *req = rh_proto_new(0, "setup_done"), *reply = NULL;
	char nkey[RH_SHA256_HEX], *both;
	int r;

	/* a node of several has its own (the head keeps them all) */
	if (node != NULL) {
		both = xasprintf("%s %s", key, node);
		if (rh_sha256_hex(both, strlen(both), nkey) == 0)
			key = nkey;
		free(both);
	}
	cJSON_AddStringToObject(req, "key", key);
	cJSON_AddBoolToObject(req, "set", set);
	r = job_call(fs, rpc, req, (long)(fs->opts.connect_timeout * 1000),
	             &reply);
	*done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "done"));
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return r;
}

/* The last n lines of out, on one line ("; " between them). */
static char *
last_lines(struct rh_buf *out, int n)
{
	struct rh_buf b = { 0 };
	const char *start, *nl;

	while (out->len > 0 && (out->data[out->len - 1] == '\n' ||
	                        out->data[out->len - 1] == '\r'))
		out->data[--out->len] = '\0';
	if (out->len == 0)
		return xstrdup("");
	for (start = out->data + out->len; start > out->data; start--)
		if (start[-1] == '\n' && --n == 0)
			break;
	for (; (nl = strchr(start, '\n')) != NULL; start = nl + 1)
		rh_buf_printf(&b, "%.*s; ", (int)(nl - start), start);
	rh_buf_printf(&b, "%s", start);
	return b.data;
}

/* One shell script, to its end: 0, or the reason it failed in err (what
 * names the step, shown what ran, and its last lines say why). What it
 * printed is left in out when out is not NULL. */
static int
run_cmd(struct fs *fs, const char *addr, struct rh_rpc *rpc, const char *what,
        const char *shown, const char *cmd, struct rh_buf *out,
        struct rh_err *err, const char *node)
{
	struct rh_call_record rec;
	struct rh_err e;
	struct rh_buf got = { 0 };
	struct rh_call_spec cs;
	cJSON *req, *reply = NULL;
	char *last;
	int r;

	rh_call_spec_init(&cs);
	rh_call_spec_set_shell(&cs, cmd);
	if (node != NULL)       /* on that node of several */
		cs.node = xstrdup(node);
	req = rh_call_spec_encode(&cs);
	rh_call_spec_free(&cs);
	r = job_call(fs, rpc, req, SETUP_TIMEOUT_MS, &reply);
	cJSON_Delete(req);
	if (r < 0)
		return rh_err_set(err, -r, "%s: %s: '%s': %s", addr, what,
		                  shown, strerror(-r));
	if (rh_call_record_decode(reply, &rec, &e) < 0) {
		rh_call_record_free(&rec);
		cJSON_Delete(reply);
		return rh_err_set(err, EIO, "%s: %s: '%s': the agent's answer: "
		                  "%s", addr, what, shown, e.msg);
	}
	if (rec.result_is == RH_RESULT_BYTES) {
		got = rec.result;       /* ours now */
		memset(&rec.result, 0, sizeof(rec.result));
	}
	if (rec.state == RH_CALL_DONE && rec.exit == 0) {
		if (out != NULL)
			*out = got;
		else
			rh_buf_free(&got);
		rh_call_record_free(&rec);
		cJSON_Delete(reply);
		return 0;
	}
	/* the last lines it printed are usually the why */
	last = last_lines(&got, out != NULL ? 2 : 1);
	if (rec.exit >= 0)
		r = rh_err_set(err, EIO, "%s: %s: '%s' failed with exit "
		               "%d%s%.300s", addr, what, shown, rec.exit,
		               *last ? ": " : "", last);
	else
		r = rh_err_set(err, EIO, "%s: %s: '%s' failed: %s", addr, what,
		               shown, rec.reason != NULL ?
		               rec.reason : "no exit status");
	if (out != NULL)
		*out = got;
	else
		rh_buf_free(&got);
	free(last);
	rh_call_record_free(&rec);
	cJSON_Delete(reply);
	return r;
}

/* What a command printed, a line each, to rhfs's log and the agent's. */
static void
note_output(struct fs *fs, struct rh_rpc *rpc, const char *addr,
            const char *what, const struct rh_buf *out)
{
	const char *p = out->data, *end = out->data + out->len, *nl;
	int n = 0;

	for (; p != NULL && p < end && n < 500; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p && n++ >= 0)
			note(fs, rpc, "%s: %s: %.*s", addr, what,
			     (int)(nl - p > 1000 ? 1000 : nl - p), p);
	}
}

/* The env in cfg's field key (a send's "env", a cluster's "default_env"):
 * a copy of its config (NULL: none) and what identifies it on the node
 * (its address; an inline one's name, or the resource's). */
static int
env_resolve(struct fs *fs, const char *addr, const cJSON *cfg,
            const char *key, cJSON **env, char **ekey, struct rh_err *err)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(cfg, key);
	const cJSON *name;
	struct rh_err why;
	char *eaddr, *what;
	int r;

	*env = NULL;
	*ekey = NULL;
	if (cJSON_IsObject(e)) {
		what = xasprintf("%s: field '%s'", addr, key);
		r = rh_env_check(e, what, err);
		free(what);
		if (r < 0)
			return r;
		name = field(e, "name");
		*env = cJSON_Duplicate(e, 1);
		*ekey = cJSON_IsString(name) && *name->valuestring ?
		        xasprintf("name:%s", name->valuestring) :
		        xasprintf("send:%s", addr);
		return 0;
	}
	if (e == NULL || cJSON_IsNull(e))
		return 0;
	if (!cJSON_IsString(e) || !rh_env_addr_ok(e->valuestring))
		return rh_err_set(err, EINVAL, "%s: field '%s' must be the "
		                  "address of an env, its name, or an env "
		                  "config", addr, key);
	/* a bare name: the env of that name in the default folder, @ when
	 * logged in */
	if (strchr("~@/^", e->valuestring[0]) != NULL)
		eaddr = xstrdup(e->valuestring);
	else
		eaddr = xasprintf("%s/%s", fs->remote != NULL ? "@" : "~",
		                  e->valuestring);
	if ((r = res_at(fs, eaddr, env, &why)) < 0) {
		r = r == -ENOENT ?
		    rh_err_set(err, ENOENT, "%s: env %s: no such env", addr,
		               eaddr) :
		    rh_err_set(err, -r, "%s: env %s: %s", addr, eaddr, why.msg);
		free(eaddr);
		return r;
	}
	name = cJSON_GetObjectItemCaseSensitive(*env, "resource_type");
	if (!cJSON_IsString(name) || strcmp(name->valuestring, "env") != 0) {
		r = rh_err_set(err, EINVAL, "%s: env %s: is a %s, not an env",
		               addr, eaddr, cJSON_IsString(name) ?
		               name->valuestring : "resource of no type");
	} else {
		what = xasprintf("%s: env %s", addr, eaddr);
		r = rh_env_check(*env, what, err);
		free(what);
	}
	if (r < 0) {
		cJSON_Delete(*env);
		*env = NULL;
		free(eaddr);
		return r;
	}
	*ekey = eaddr;
	return 0;
}

/* The env of a call of the resource at addr: a cluster's default_env
 * (key "default_env"), or a send's own env (key "env"), else its
 * cluster's default_env. */
static int
env_of(struct fs *fs, const char *addr, const cJSON *cfg, const char *key,
       cJSON **env, char **ekey, struct rh_err *err)
{
	struct rh_err why;
	char *caddr;
	cJSON *ccfg;
	int r = env_resolve(fs, addr, cfg, key, env, ekey, err);

	if (r < 0 || *env != NULL || strcmp(key, "env") != 0)
		return r;
	/* a cluster that cannot be had fails the call where it is reached */
	if (res_cluster_of(fs, addr, cfg, &caddr, &ccfg, &why) < 0)
		return 0;
	if (field(ccfg, "default_env") != NULL)
		r = env_resolve(fs, caddr, ccfg, "default_env", env, ekey, err);
	free(caddr);
	cJSON_Delete(ccfg);
	return r;
}

/* An env's working_dir that is a local directory ("./", "local:PATH"),
 * synced as a reqs entry; NULL: a directory of the node. */
static const char *
env_local_dir(const cJSON *env)
{
	const cJSON *wd = field(env, "working_dir");

	if (!cJSON_IsString(wd))
		return NULL;
	if (strcmp(wd->valuestring, "./") == 0 ||
	    strcmp(wd->valuestring, ".") == 0 ||
	    strncmp(wd->valuestring, "local:", 6) == 0)
		return wd->valuestring;
	return NULL;
}

/* Where the calls run, relative to the node's home (or absolute); NULL:
 * the home. */
static char *
env_cwd(struct fs *fs, const cJSON *env)
{
	const cJSON *wd = field(env, "working_dir");
	const char *w, *l;
	char *dir, *base;

	if (!cJSON_IsString(wd))
		return NULL;
	if ((l = env_local_dir(env)) != NULL) {
		dir = strncmp(l, "local:", 6) == 0 ? local_path(fs, l + 6) :
		      xstrdup(fs->opts.local);
		base = base_name(dir);
		free(dir);
		return base;
	}
	w = wd->valuestring;
	if (w[0] == '~' && w[1] == '\0')
		return NULL;
	if (w[0] == '~' && w[1] == '/')
		w += 2;
	return *w ? xstrdup(w) : NULL;
}

/* The packages of pl in the virtualenv venv (relative to the node's
 * home), made first if it is not there or sees the node's packages when
 * it should not (or the other way round): once per list and virtualenv
 * on the node. Then its stamp, .rh-stamp, is new: the agent lets go of
 * Python workers that started before (agent/pool.c). 1: installed now;
 * 2: made again, as it had gone; 0: it was there. */
static int
install_packages(struct fs *fs, const char *addr, const struct pip_list *pl,
                 const char *venv, int system_site, struct rh_rpc *rpc,
                 struct rh_err *err, const char *node)
{
	char key[2 * EVP_MAX_MD_SIZE + 1], *dir, *q;
	struct rh_buf script = { 0 }, out = { 0 };
	const cJSON *a;
	cJSON *what;
	int done = 0, gone = 0, r;

	what = cJSON_CreateArray();
	cJSON_AddItemToArray(what, cJSON_CreateString("venv"));
	cJSON_AddItemToArray(what, cJSON_CreateString(venv));
	cJSON_AddItemToArray(what, cJSON_CreateBool(system_site));
	cJSON_AddItemToArray(what, cJSON_Duplicate(pl->args, 1));
	cJSON_AddItemToArray(what, cJSON_Duplicate(pl->text, 1));
	digest(what, key);
	cJSON_Delete(what);
	if ((r = setup_done(fs, rpc, key, 0, &done, node)) < 0)
		return rh_err_set(err, -r, "%s: reqs: the agent did not "
		                  "answer: %s", addr, strerror(-r));
	dir = rh_shell_quote(venv);
	if (done) {
		/* the agent remembers it; the virtualenv may have gone since */
		q = xasprintf("cd && test -x %s/bin/python", dir);
		r = run_cmd(fs, addr, rpc, "reqs", "test", q, NULL, err, node);
		free(q);
		if (r == 0) {
			rh_debug("%s: reqs already installed in ~/%s", addr,
			         venv);
			free(dir);
			return 0;
		}
		note(fs, rpc, "%s: reqs: ~/%s is gone from the node: made "
		     "again", addr, venv);
		gone = 1;
	}
	/* With the node's packages in sight, the virtualenv goes without a
	 * pip of its own when the node's python3 has one (quicker, and no
	 * index needed to make it): the node's pip installs into the venv
	 * it runs in. Without, it has its own (ensurepip's). */
	/* two sends of one env may install at once: one after the other
	 * (flock(1) where the node has it) */
	rh_buf_printf(&script,
	              "cd && d=%s && mkdir -p \"$d\" || exit\n"
	              "exec 9>\"$d/.rh-lock\" || exit\n"
	              "if command -v flock >/dev/null 2>&1; then flock 9 || "
	              "exit; fi\n"
	              "if [ ! -x \"$d/bin/python\" ] || ! grep -qx "
	              "'include-system-site-packages = %s' \"$d/pyvenv.cfg\" "
	              "2>/dev/null; then\n"
	              "  w=%s\n"
	              "  [ -n \"$w\" ] && python3 -c 'import pip' >/dev/null "
	              "2>&1 && w=\"$w --without-pip\"\n"
	              "  python3 -m venv $w \"$d\" || exit\n"
	              "fi\n", dir, system_site ? "true" : "false",
	              system_site ? "--system-site-packages" : "");
	free(dir);
	if (cJSON_GetArraySize(pl->args) > 0) {
		rh_buf_printf(&script, "\"$d/bin/python\" -m pip install "
		              "--disable-pip-version-check --no-input");
		cJSON_ArrayForEach(a, pl->args) {
			q = rh_shell_quote(a->valuestring);
			rh_buf_printf(&script, " %s", q);
			free(q);
		}
		rh_buf_printf(&script, " || exit\n");
	}
	rh_buf_printf(&script, "echo %s >\"$d/.rh-stamp.new\" && "
	              "mv -f \"$d/.rh-stamp.new\" \"$d/.rh-stamp\"\n", key);
	note(fs, rpc, "%s: reqs: installing %d pip arguments into ~/%s",
	     addr, cJSON_GetArraySize(pl->args), venv);
	r = run_cmd(fs, addr, rpc, "reqs", "pip install", script.data, &out,
	            err, node);
	rh_buf_free(&script);
	note_output(fs, rpc, addr, "pip", &out);
	rh_buf_free(&out);
	if (r < 0) {
		note(fs, rpc, "%s", err->msg);
		return r;
	}
	if ((r = setup_done(fs, rpc, key, 1, &done, node)) < 0)
		return rh_err_set(err, -r, "%s: reqs installed, but the agent "
		                  "did not record it: %s", addr, strerror(-r));
	note(fs, rpc, "%s: reqs: installed into ~/%s", addr, venv);
	return gone ? 2 : 1;
}

/* setup_cmds, once per list on the node (again when again); an env's
 * (venv not NULL) run with its virtualenv first on PATH, and renew its
 * stamp. */
static int
run_setup(struct fs *fs, const char *addr, const cJSON *cmds,
          const char *venv, int again, struct rh_rpc *rpc,
          struct rh_err *err, const char *node)
{
	char key[2 * EVP_MAX_MD_SIZE + 1], *q = NULL, *full;
	const char *what = venv ? "env setup_cmds" : "setup_cmds";
	const cJSON *cmd;
	cJSON *both;
	int done = 0, n = 0, r;

	if (venv == NULL) {
		digest(cmds, key);
	} else {
		both = cJSON_CreateArray();
		cJSON_AddItemToArray(both, cJSON_CreateString(venv));
		cJSON_AddItemToArray(both, cJSON_Duplicate(cmds, 1));
		digest(both, key);
		cJSON_Delete(both);
	}
	if ((r = setup_done(fs, rpc, key, 0, &done, node)) < 0)
		return rh_err_set(err, -r, "%s: %s: the agent did not answer: "
		                  "%s", addr, what, strerror(-r));
	if (done && !again) {
		rh_debug("%s: %s already ran on the node", addr, what);
		return 0;
	}
	if (venv != NULL)
		q = rh_shell_quote(venv);
	cJSON_ArrayForEach(cmd, cmds) {
		note(fs, rpc, "%s: setup: running %s", addr, cmd->valuestring);
		full = q == NULL ? xstrdup(cmd->valuestring) :
		       xasprintf("VIRTUAL_ENV=\"$HOME\"/%s; PATH=\"$VIRTUAL_ENV/"
		                 "bin:$PATH\"; export VIRTUAL_ENV PATH; cd\n%s",
		                 q, cmd->valuestring);
		r = run_cmd(fs, addr, rpc, what, cmd->valuestring, full, NULL,
		            err, node);
		free(full);
		if (r < 0) {
			note(fs, rpc, "%s", err->msg);
			free(q);
			return r;
		}
		n++;
	}
	if (q != NULL) {
		full = xasprintf("cd && echo %s >%s/.rh-stamp.new && mv -f "
		                 "%s/.rh-stamp.new %s/.rh-stamp", key, q, q, q);
		r = run_cmd(fs, addr, rpc, what, "the env's stamp", full, NULL,
		            err, node);
		free(full);
		free(q);
		if (r < 0)
			return r;
	}
	if ((r = setup_done(fs, rpc, key, 1, &done, node)) < 0)
		return rh_err_set(err, -r, "%s: %s ran, but the agent did not "
		                  "record it: %s", addr, what, strerror(-r));
	note(fs, rpc, "%s: setup: done (%d commands)", addr, n);
	return 0;
}

static int
count(const cJSON *env, const char *key)
{
	return cJSON_GetArraySize(field(env, key));
}

/* The number of nodes of the send's cluster: several for a BYO cluster of
 * several ips, or an on-demand one launched with several nodes (each gets
 * the reqs and setup_cmds), else 1. */
static int
node_count(struct fs *fs, const struct send_prepared *p)
{
	struct rh_err err;
	cJSON *ccfg = NULL, *at = NULL;
	char *caddr = NULL;
	int n = 1;

	if (res_cluster_of(fs, p->addr, p->cfg, &caddr, &ccfg, &err) == 0 &&
	    rh_cluster_reached(caddr, ccfg, &at, &err) == 0 &&
	    rh_nodes_is(at))
		n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(at,
		                                                        "ips"));
	cJSON_Delete(at);
	cJSON_Delete(ccfg);
	free(caddr);
	return n;
}

/* The work for one send on one node (i of n; node: its name, NULL when
 * the cluster has one). */
static int
prepare_node(struct send_prepared *p, int i, const char *node, char **venvp,
             struct rh_err *why)
{
	struct fs *fs = p->fs;
	const cJSON *reqs = field(p->cfg, "reqs");
	const cJSON *cmds = field(p->cfg, "setup_cmds");
	const cJSON *ereqs = NULL, *ecmds = NULL, *sys = NULL;
	const char *wd = NULL;
	struct pip_list pl = { cJSON_CreateArray(), cJSON_CreateArray() };
	char key[2 * EVP_MAX_MD_SIZE + 1];
	char *venv = NULL;
	cJSON *one, *what;
	int r = 0, made = 0;

	if (p->env != NULL) {
		ereqs = field(p->env, "reqs");
		ecmds = field(p->env, "setup_cmds");
		sys = field(p->env, "system_site_packages");
		wd = env_local_dir(p->env);
	}
	if (cJSON_GetArraySize(reqs) > 0)
		r = sync_reqs(fs, p->addr, p->cfg, reqs, p->rpc, &pl, why, i);
	if (r == 0 && cJSON_GetArraySize(ereqs) > 0)
		r = sync_reqs(fs, p->addr, p->cfg, ereqs, p->rpc, &pl, why, i);
	if (r == 0 && wd != NULL) {
		one = cJSON_CreateArray();
		cJSON_AddItemToArray(one, cJSON_CreateString(wd));
		r = sync_reqs(fs, p->addr, p->cfg, one, p->rpc, &pl, why, i);
		cJSON_Delete(one);
	}
	/* an env's packages (and the send's) go in the env's virtualenv;
	 * a send's alone in one of the list's own */
	if (r == 0 && p->env != NULL &&
	    (cJSON_GetArraySize(pl.args) > 0 || sys != NULL ||
	     cJSON_GetArraySize(ecmds) > 0)) {
		venv = rh_env_venv(p->ekey);
		r = install_packages(fs, p->addr, &pl, venv, cJSON_IsTrue(sys),
		                     p->rpc, why, node);
		/* a virtualenv made again runs its setup_cmds again */
		made = r == 2;
		if (r > 0)
			r = 0;
	} else if (r == 0 && cJSON_GetArraySize(pl.args) > 0) {
		what = cJSON_CreateArray();
		cJSON_AddItemToArray(what, cJSON_CreateString("pip"));
		cJSON_AddItemToArray(what, cJSON_Duplicate(pl.args, 1));
		cJSON_AddItemToArray(what, cJSON_Duplicate(pl.text, 1));
		digest(what, key);
		cJSON_Delete(what);
		venv = xasprintf(ENVS_DIR "/reqs-%.16s", key);
		r = install_packages(fs, p->addr, &pl, venv, 1, p->rpc, why,
		                     node);
		if (r > 0)
			r = 0;
	}
	if (r == 0 && cJSON_GetArraySize(ecmds) > 0)
		r = run_setup(fs, p->addr, ecmds, venv, made, p->rpc, why,
		              node);
	if (r == 0 && cJSON_GetArraySize(cmds) > 0)
		r = run_setup(fs, p->addr, cmds, NULL, 0, p->rpc, why, node);
	cJSON_Delete(pl.args);
	cJSON_Delete(pl.text);
	*venvp = venv;
	return r;
}

/* The work for one send on one connection, in its own thread: on each
 * node of its cluster (the same virtualenv's name on each). */
static void *
prepare_job(void *arg)
{
	struct send_prepared *p = arg;
	struct fs *fs = p->fs;
	struct rh_err why = { "" };
	char *venv = NULL, *nv, *name;
	int r = 0, i, n = node_count(fs, p);

	for (i = 0; i < n && r == 0; i++) {
		name = n > 1 ? rh_node_name(i) : NULL;
		nv = NULL;
		r = prepare_node(p, i, name, &nv, &why);
		free(name);
		if (venv == NULL)
			venv = nv;
		else
			free(nv);
	}
	pthread_mutex_lock(&fs->prep_lock);
	free(p->venv);
	p->venv = r == 0 ? venv : NULL;
	if (r < 0)
		free(venv);
	p->err = r;
	p->why = why;
	p->state = r == 0 ? PREP_DONE : PREP_FAILED;
	pthread_cond_broadcast(&fs->prep_cond);
	pthread_mutex_unlock(&fs->prep_lock);
	return NULL;
}

/* Start (or start again) p's work. With fs->prep_lock held. */
static int
prepare_start(struct send_prepared *p, struct rh_err *err)
{
	int e;

	if (p->joinable) {
		/* the last run has ended (its state says so): gone at once */
		pthread_join(p->thread, NULL);
		p->joinable = 0;
	}
	p->state = PREP_RUNNING;
	if ((e = pthread_create(&p->thread, NULL, prepare_job, p)) != 0) {
		p->state = PREP_FAILED;
		p->err = -e;
		rh_err_set(&p->why, e, "%s: cannot start its setup: %s",
		           p->addr, strerror(e));
		*err = p->why;
		return -e;
	}
	p->joinable = 1;
	return 0;
}

/* What each call of the send gets from its env: env_vars, working_dir. */
static cJSON *
env_extra(struct fs *fs, const cJSON *env)
{
	const cJSON *vars = field(env, "env_vars");
	cJSON *extra = cJSON_CreateObject();
	char *cwd;

	if (cJSON_GetArraySize(vars) > 0)
		cJSON_AddItemToObject(extra, "env", cJSON_Duplicate(vars, 1));
	if ((cwd = env_cwd(fs, env)) != NULL)
		cJSON_AddStringToObject(extra, "cwd", cwd);
	free(cwd);
	return extra;
}

/* What the resource at addr (config cfg, its env in field env_field)
 * needs before its first call on rpc. */
static int
prepare(struct fs *fs, const char *addr, const cJSON *cfg,
        const char *env_field, struct rh_rpc *rpc, fuse_req_t req,
        cJSON **extra, struct rh_err *err)
{
	const cJSON *reqs = field(cfg, "reqs");
	const cJSON *cmds = field(cfg, "setup_cmds");
	struct send_prepared *p;
	char key[2 * EVP_MAX_MD_SIZE + 1], *ekey = NULL;
	struct timespec until;
	cJSON *all, *env = NULL;
	int r = 0;

	*extra = NULL;
	if ((r = env_of(fs, addr, cfg, env_field, &env, &ekey, err)) < 0)
		return r;
	if (env != NULL)
		*extra = env_extra(fs, env);
	if (cJSON_GetArraySize(reqs) == 0 && cJSON_GetArraySize(cmds) == 0 &&
	    (env == NULL || (count(env, "reqs") == 0 &&
	                     count(env, "setup_cmds") == 0 &&
	                     field(env, "system_site_packages") == NULL &&
	                     env_local_dir(env) == NULL)))
		goto out;
	all = cJSON_CreateArray();
	cJSON_AddItemToArray(all, cJSON_Duplicate(reqs, 1));
	cJSON_AddItemToArray(all, cJSON_Duplicate(cmds, 1));
	if (env != NULL) {
		cJSON_AddItemToArray(all, cJSON_Duplicate(env, 1));
		cJSON_AddItemToArray(all, cJSON_CreateString(ekey));
	}
	digest(all, key);
	cJSON_Delete(all);
	pthread_mutex_lock(&fs->prep_lock);
	if (fs->prep_stop) {
		pthread_mutex_unlock(&fs->prep_lock);
		r = rh_err_set(err, ESHUTDOWN, "%s: rhfs is stopping", addr);
		goto out;
	}
	for (p = fs->prepared; p != NULL; p = p->next)
		if (p->rpc == rpc && strcmp(p->addr, addr) == 0 &&
		    strcmp(p->key, key) == 0)
			break;
	if (p == NULL) {
		/* the first writer starts it; later ones wait for the same */
		p = xcalloc(1, sizeof(*p));
		p->addr = xstrdup(addr);
		p->rpc = rpc;
		strcpy(p->key, key);
		p->fs = fs;
		p->cfg = cJSON_Duplicate(cfg, 1);
		p->env = env;
		p->ekey = ekey;
		env = NULL;
		ekey = NULL;
		p->next = fs->prepared;
		fs->prepared = p;
		r = prepare_start(p, err);
	} else if (p->state == PREP_FAILED) {
		r = prepare_start(p, err);      /* each write tries again */
	}
	/* A Ctrl-C ends this wait and not the work; so does rhfs stopping
	 * (the FUSE loop waits for this thread before it ends). */
	while (r == 0 && p->state == PREP_RUNNING) {
		if ((req != NULL && fuse_req_interrupted(req)) ||
		    fs->prep_stop || fuse_session_exited(fs->se)) {
			r = rh_err_set(err, EINTR, "%s: interrupted while "
			               "waiting for its reqs and setup_cmds (they "
			               "go on)", addr);
			break;
		}
		until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
		pthread_cond_timedwait(&fs->prep_cond, &fs->prep_lock, &until);
	}
	if (r == 0 && p->state == PREP_FAILED) {
		r = p->err;
		*err = p->why;
	}
	if (r == 0 && p->venv != NULL) {
		if (*extra == NULL)
			*extra = cJSON_CreateObject();
		cJSON_AddStringToObject(*extra, "venv", p->venv);
	}
	pthread_mutex_unlock(&fs->prep_lock);
out:
	cJSON_Delete(env);
	free(ekey);
	if (*extra != NULL && (r < 0 || cJSON_GetArraySize(*extra) == 0)) {
		cJSON_Delete(*extra);
		*extra = NULL;
	}
	return r;
}

int
send_prepare(struct fs *fs, const char *addr, const cJSON *cfg,
             struct rh_rpc *rpc, fuse_req_t req, cJSON **extra,
             struct rh_err *err)
{
	return prepare(fs, addr, cfg, "env", rpc, req, extra, err);
}

int
cluster_env_prepare(struct fs *fs, const char *addr, const cJSON *cfg,
                    struct rh_rpc *rpc, fuse_req_t req, cJSON **extra,
                    struct rh_err *err)
{
	return prepare(fs, addr, cfg, "default_env", rpc, req, extra, err);
}

/* rhfs is stopping: the work still running ends at its next step, before
 * the connections it uses go. */
void
send_prepare_stop(struct fs *fs)
{
	struct send_prepared *p;

	pthread_mutex_lock(&fs->prep_lock);
	__atomic_store_n(&fs->prep_stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&fs->prep_cond);
	pthread_mutex_unlock(&fs->prep_lock);
	/* no work starts any more: the list stays as it is */
	for (p = fs->prepared; p != NULL; p = p->next) {
		if (p->joinable)
			pthread_join(p->thread, NULL);
		p->joinable = 0;
	}
}

void
send_prepared_free(struct fs *fs)
{
	struct send_prepared *p, *next;

	send_prepare_stop(fs);
	for (p = fs->prepared; p != NULL; p = next) {
		next = p->next;
		cJSON_Delete(p->cfg);
		cJSON_Delete(p->env);
		free(p->ekey);
		free(p->venv);
		free(p->addr);
		free(p);
	}
	fs->prepared = NULL;
}

static int
env_check(struct fs *fs, const char *addr, const cJSON *cfg, const char *key,
          struct rh_err *err)
{
	cJSON *env;
	char *ekey;
	int r = env_of(fs, addr, cfg, key, &env, &ekey, err);

	cJSON_Delete(env);
	free(ekey);
	return r;
}

int
send_env_check(struct fs *fs, const char *addr, const cJSON *cfg,
               struct rh_err *err)
{
	return env_check(fs, addr, cfg, "env", err);
}

int
cluster_env_check(struct fs *fs, const char *addr, const cJSON *cfg,
                  struct rh_err *err)
{
	return env_check(fs, addr, cfg, "default_env", err);
}
