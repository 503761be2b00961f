/* sky.c - the SkyPilot command line, which launches, stops and tears down
 * on-demand clusters. Here: the name SkyPilot knows a cluster by, the
 * arguments `sky launch` gets from the cluster's config (where to launch
 * as --infra CLOUD/REGION, the option SkyPilot has had since 2025, or as
 * the --cloud and --region it replaced, which older releases take), sky
 * run as a
 * process of its own with a bound on its time, the `sky status` table
 * read, and the SSH details SkyPilot records for a cluster
 * (~/.sky/generated/ssh/NAME) made into a BYO cluster's config. Only the
 * command line is used: what `sky --help` documents, nothing else. */
#include "config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "link.h"

/* Letters of the address kept in the name; with "rh-", "-" and 8 hex
 * digits the name stays within 35 characters, the shortest limit a cloud
 * puts on SkyPilot's names. */
#define SLUG_MAX 23
/* The output kept of one run (status tables are far smaller). */
#define OUT_MAX (256 * 1024)
/* How often a run looks at its clock and its stop. */
#define SLICE_MS 100
/* After SIGTERM, how long sky gets to end before SIGKILL. */
#define KILL_GRACE_MS 5000

extern char **environ;

int
rh_sky_is_ondemand(const cJSON *cfg)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");
	const char *sub = rh_json_str(cfg, "resource_subtype");

	if (cJSON_GetArraySize(ips) > 0)
		return 0;
	return rh_json_str(cfg, "instance_type") != NULL ||
	       (sub != NULL && strcmp(sub, "OnDemandCluster") == 0);
}

char *
rh_sky_name(const char *addr)
{
	char h[RH_SHA256_HEX];
	char slug[SLUG_MAX + 1];
	size_t n = 0;
	const char *p;

	for (p = addr; *p != '\0' && n < SLUG_MAX; p++) {
		unsigned char c = (unsigned char)*p;

		if (isascii(c) && isalnum(c))
			slug[n++] = (char)tolower(c);
		else if (n > 0 && slug[n - 1] != '-')
			slug[n++] = '-';
	}
	while (n > 0 && slug[n - 1] == '-')
		n--;
	slug[n] = '\0';
	rh_sha256_hex(addr, strlen(addr), h);
	return xasprintf("rh-%s%s%.8s", slug, n ? "-" : "", h);
}

static void
arg(cJSON *args, const char *s)
{
	cJSON_AddItemToArray(args, cJSON_CreateString(s));
}

/* A value passed as an argument: one word, never taken for an option. */
static int
value_ok(const char *addr, const char *field, const char *v,
         struct rh_err *err)
{
	const char *p;

	if (*v == '\0' || *v == '-')
		goto bad;
	for (p = v; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			goto bad;
	return 0;
bad:
	return rh_err_set(err, EINVAL, "%s: '%s' in %s is not a value "
	                  "SkyPilot can take (one word, not starting with "
	                  "'-')", addr, v, field);
}

/* instance_type as Runhouse reads it: "A100:4" accelerators, "CPU:8" or
 * "CPU:2+" vCPUs, anything else a cloud's instance type. */
static int
instance_args(const char *addr, const char *it, cJSON *args,
              struct rh_err *err)
{
	const char *colon = strchr(it, ':');
	int r;

	if ((r = value_ok(addr, "instance_type", it, err)) < 0)
		return r;
	if (colon == NULL) {
		arg(args, "--instance-type");
		arg(args, it);
	} else if (colon - it == 3 && strncasecmp(it, "CPU", 3) == 0) {
		if (colon[1] == '\0')
			return rh_err_set(err, EINVAL, "%s: instance_type '%s' "
			                  "names no number of CPUs", addr, it);
		arg(args, "--cpus");
		arg(args, colon + 1);
	} else {
		arg(args, "--gpus");
		arg(args, it);
	}
	return 0;
}

int
rh_sky_help_has_infra(const char *help)
{
	const char *p;

	/* an option of its own: "--infra" then a space, '=' or the end */
	for (p = help; p != NULL && (p = strstr(p, "--infra")) != NULL; p++)
		if (p[7] == '\0' || p[7] == ' ' || p[7] == '=' ||
		    p[7] == '\n' || p[7] == '\t')
			return 1;
	return 0;
}

/* Where to launch: provider (NULL or "cheapest": SkyPilot's choice) and
 * region, as --infra CLOUD/REGION ("*" for any cloud) or, for a SkyPilot
 * without it, as --cloud and --region. */
static int
where_args(const char *addr, const char *prov, const char *region,
           int infra, cJSON *args, struct rh_err *err)
{
	char *s;
	int r;

	if (prov != NULL && strcmp(prov, "cheapest") == 0)
		prov = NULL;
	if ((prov != NULL && (r = value_ok(addr, "provider", prov, err)) < 0) ||
	    (region != NULL &&
	     (r = value_ok(addr, "region", region, err)) < 0))
		return r;
	if (infra && (prov != NULL || region != NULL)) {
		s = region == NULL ? xstrdup(prov) :
		    xasprintf("%s/%s", prov ? prov : "*", region);
		arg(args, "--infra");
		arg(args, s);
		free(s);
		return 0;
	}
	if (prov != NULL) {
		arg(args, "--cloud");
		arg(args, prov);
	}
	if (region != NULL) {
		arg(args, "--region");
		arg(args, region);
	}
	return 0;
}

int
rh_sky_launch_args(const char *addr, const cJSON *cfg,
                   const struct rh_config *defaults, int infra, cJSON **out,
                   struct rh_err *err)
{
	const cJSON *v;
	const char *s, *prov;
	char *name = rh_sky_name(addr), num[32];
	cJSON *args = cJSON_CreateArray();
	long mins = -1;
	int r = 0;

	arg(args, "launch");
	arg(args, "-c");
	arg(args, name);
	arg(args, "--yes");
	free(name);
	if ((s = rh_json_str(cfg, "instance_type")) != NULL &&
	    (r = instance_args(addr, s, args, err)) < 0)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "num_instances");
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 1) {
			r = rh_err_set(err, EINVAL, "%s: num_instances must be "
			               "at least 1", addr);
			goto fail;
		}
		snprintf(num, sizeof(num), "%d", v->valueint);
		arg(args, "--num-nodes");
		arg(args, num);
	}
	prov = rh_json_str(cfg, "provider");
	if (prov == NULL && defaults != NULL)
		prov = rh_config_get(defaults, "default_provider");
	if ((r = where_args(addr, prov, rh_json_str(cfg, "region"), infra,
	                    args, err)) < 0)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "use_spot");
	if (cJSON_IsTrue(v) ||
	    (!cJSON_IsBool(v) && defaults != NULL &&
	     (s = rh_config_get(defaults, "use_spot")) != NULL &&
	     strcmp(s, "true") == 0))
		arg(args, "--use-spot");
	if ((s = rh_json_str(cfg, "image_id")) != NULL) {
		if ((r = value_ok(addr, "image_id", s, err)) < 0)
			goto fail;
		arg(args, "--image-id");
		arg(args, s);
	}
	v = cJSON_GetObjectItemCaseSensitive(cfg, "autostop_mins");
	if (cJSON_IsNumber(v))
		mins = v->valueint;
	else if (defaults != NULL &&
	         (s = rh_config_get(defaults, "default_autostop")) != NULL)
		mins = strtol(s, NULL, 10);
	if (mins >= 0) {
		snprintf(num, sizeof(num), "%ld", mins);
		arg(args, "-i");
		arg(args, num);
	}
	*out = args;
	return 0;
fail:
	cJSON_Delete(args);
	*out = NULL;
	return r;
}

char *
rh_sky_command(const cJSON *args)
{
	struct rh_buf b = { 0 };
	const cJSON *a;
	char *q;

	rh_buf_printf(&b, "sky");
	cJSON_ArrayForEach(a, args) {
		/* quoted only where a shell would need it */
		if (*a->valuestring != '\0' &&
		    a->valuestring[strspn(a->valuestring, "abcdefghijklmnopqrstu"
		                          "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"
		                          "789_+-:.,/=@%")] == '\0') {
			rh_buf_printf(&b, " %s", a->valuestring);
			continue;
		}
		q = rh_shell_quote(a->valuestring);
		rh_buf_printf(&b, " %s", q);
		free(q);
	}
	return b.data;
}

int
rh_sky_path(char **path, struct rh_err *err)
{
	const char *p = getenv("PATH"), *end;
	char *cand;
	size_t n;

	for (; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		cand = n ? xasprintf("%.*s/sky", (int)n, p) : xstrdup("./sky");
		if (access(cand, X_OK) == 0) {
			*path = cand;
			return 0;
		}
		free(cand);
	}
	*path = NULL;
	return rh_err_set(err, ENOPKG, "`sky` is not on PATH: an on-demand "
	                  "cluster is launched through SkyPilot's command "
	                  "line; install SkyPilot (pip install skypilot) and "
	                  "set up a cloud (sky check), or use a BYO cluster "
	                  "(ips) or a Slurm cluster instead");
}

/* One line of output: terminal escapes dropped (sky colours its tables
 * and draws spinners), then given to the caller. */
static void
emit(char *line, void (*cb)(void *, const char *), void *arg)
{
	char *r = line, *w = line;

	while (*r != '\0') {
		if (*r == '\033') {
			r++;
			if (*r == '[') {
				r++;
				while (*r != '\0' && !(*r >= '@' && *r <= '~'))
					r++;
			}
			if (*r != '\0')
				r++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	if (cb != NULL && line[strspn(line, " \t")] != '\0')
		cb(arg, line);
}

/* Split what came at the line ends ('\r' too: progress redraws). */
static void
lines_of(struct rh_buf *pend, void (*cb)(void *, const char *), void *arg,
         int last)
{
	size_t start = 0, i;

	for (i = 0; i < pend->len; i++) {
		if (pend->data[i] != '\n' && pend->data[i] != '\r')
			continue;
		pend->data[i] = '\0';
		emit(pend->data + start, cb, arg);
		start = i + 1;
	}
	if (last && start < pend->len) {
		emit(pend->data + start, cb, arg);
		start = pend->len;
	}
	if (start == 0)
		return;
	memmove(pend->data, pend->data + start, pend->len - start);
	pend->len -= start;
	pend->data[pend->len] = '\0';
}

/* End sky and whatever it started (its process group), then reap it. */
static int
kill_wait(pid_t pid)
{
	struct timespec t0;
	int st = 0;

	kill(-pid, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (rh_ms_since(&t0) > KILL_GRACE_MS) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(20000);
	}
	return st;
}

static pid_t
spawn(char *path, const cJSON *args, int outfd, struct rh_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	const cJSON *a;
	char **argv;
	size_t n = 0;
	pid_t pid;
	int r;

	argv = xcalloc((size_t)cJSON_GetArraySize(args) + 2, sizeof(*argv));
	argv[n++] = path;
	cJSON_ArrayForEach(a, args)
		argv[n++] = a->valuestring;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	posix_spawnattr_init(&at);
	/* its own group, to end it with what it started; not the signal
	 * mask of this thread (rhfs's threads block SIGTERM) */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	                         POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&pid, path, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	if (r != 0)
		return rh_err_set(err, r, "cannot run %s: %s", path,
		                  strerror(r));
	return pid;
}

int
rh_sky_run(const cJSON *args, long timeout_ms, int (*stop)(void *),
           void *stop_arg, void (*line)(void *, const char *),
           void *line_arg, struct rh_buf *out, int *status,
           struct rh_err *err)
{
	struct rh_buf pend = { 0 };
	struct timespec t0;
	struct pollfd pfd;
	char *path, buf[4096], *cmd;
	int fds[2], st = 0, r = 0, open_ = 1;
	ssize_t n;
	pid_t pid;

	*status = -1;
	if ((r = rh_sky_path(&path, err)) < 0)
		return r;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(path);
		return rh_err_set(err, errno, "cannot run sky: %s",
		                  strerror(errno));
	}
	pid = spawn(path, args, fds[1], err);
	free(path);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return pid;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	for (;;) {
		if (stop != NULL && stop(stop_arg)) {
			r = -ECANCELED;
			break;
		}
		if (rh_ms_since(&t0) > timeout_ms) {
			r = -ETIMEDOUT;
			break;
		}
		if (!open_) {
			/* its output has ended: it ends soon */
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			usleep(20000);
			continue;
		}
		if (poll(&pfd, 1, SLICE_MS) <= 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			open_ = 0;
			continue;
		}
		if (out != NULL && out->len < OUT_MAX)
			rh_buf_append(out, buf, (size_t)n);
		rh_buf_append(&pend, buf, (size_t)n);
		lines_of(&pend, line, line_arg, 0);
	}
	close(fds[0]);
	lines_of(&pend, line, line_arg, 1);
	rh_buf_free(&pend);
	if (r < 0) {
		kill_wait(pid);
		cmd = rh_sky_command(args);
		if (r == -ETIMEDOUT)
			rh_err_set(err, ETIMEDOUT, "`%s` did not end within "
			           "%ld s; it was stopped", cmd, timeout_ms / 1000);
		else
			rh_err_set(err, ECANCELED, "`%s` was stopped: rhfs "
			           "is stopping", cmd);
		free(cmd);
		return r;
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) :
	          WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
	return 0;
}

/* The word of line at column col (where the header put STATUS). */
static void
word_at(const char *line, size_t col, char *state, size_t size)
{
	size_t len = strlen(line), n;

	if (col >= len)
		return;
	line += col;
	line += strspn(line, " \t");
	n = strcspn(line, " \t");
	if (n >= size)
		n = size - 1;
	memcpy(state, line, n);
	state[n] = '\0';
}

int
rh_sky_status_of(const char *out, const char *name, char *state,
                 size_t size)
{
	char *copy = xstrdup(out ? out : ""), *line, *save = NULL, *st;
	size_t col = 0, n;
	int have_col = 0;

	*state = '\0';
	for (line = strtok_r(copy, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		emit(line, NULL, NULL);
		n = strspn(line, " \t");
		if (strncmp(line + n, "NAME", 4) == 0 &&
		    (st = strstr(line, " STATUS")) != NULL) {
			col = (size_t)(st + 1 - line);
			have_col = 1;
			continue;
		}
		if (!have_col || strncmp(line + n, name, strlen(name)) != 0 ||
		    !isspace((unsigned char)line[n + strlen(name)]))
			continue;
		word_at(line, col, state, size);
		break;
	}
	free(copy);
	return *state != '\0';
}

char *
rh_sky_known_hosts(const char *name)
{
	const char *home = getenv("HOME");

	return xasprintf("%s/.rh/sky/%s.known_hosts", home ? home : "", name);
}

void
rh_sky_forget_host_keys(const char *name)
{
	char *kh = rh_sky_known_hosts(name);

	unlink(kh);
	free(kh);
}

/* "Key value" or "Key=value" of an ssh_config line. */
static int
ssh_kv(char *line, char **key, char **value)
{
	char *p = line + strspn(line, " \t");
	size_t n;

	if (*p == '\0' || *p == '#')
		return 0;
	n = strcspn(p, " \t=");
	if (p[n] == '\0')
		return 0;
	p[n] = '\0';
	*key = p;
	p += n + 1;
	p += strspn(p, " \t=");
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		p[--n] = '\0';
	*value = p;
	return *p != '\0';
}

struct host {
	char *hostname, *user, *key, *proxy;
	int port;
};

static void
host_free(struct host *h)
{
	free(h->hostname);
	free(h->user);
	free(h->key);
	free(h->proxy);
}

/* A node's SSH details as ssh_creds: its own, or the head's where
 * SkyPilot leaves one out. */
static cJSON *
node_creds(const char *user, const char *key, int port,
           const struct host *head)
{
	cJSON *c = cJSON_CreateObject();

	if (user == NULL)
		user = head->user;
	if (key == NULL)
		key = head->key;
	if (user != NULL)
		cJSON_AddStringToObject(c, "ssh_user", user);
	if (key != NULL)
		cJSON_AddStringToObject(c, "ssh_private_key", key);
	cJSON_AddNumberToObject(c, "ssh_port", port > 0 ? port : 22);
	return c;
}

/* A worker Host's entry ended: its HostName in ips and its details in
 * workers (head's details filled in at the end). */
static int
worker_done(struct host *wk, cJSON *ips, cJSON *workers, const char *addr,
            const char *path, struct rh_err *err)
{
	cJSON *w;
	int r = 0;

	if (wk->hostname == NULL)
		goto out;
	if (wk->proxy != NULL) {
		r = rh_err_set(err, EOPNOTSUPP, "%s: SkyPilot reaches its "
		               "worker node %s through a ProxyCommand (%s), "
		               "which rhfs does not run", addr, wk->hostname,
		               path);
		goto out;
	}
	cJSON_AddItemToArray(ips, cJSON_CreateString(wk->hostname));
	w = cJSON_CreateObject();
	if (wk->user != NULL)
		cJSON_AddStringToObject(w, "ssh_user", wk->user);
	if (wk->key != NULL)
		cJSON_AddStringToObject(w, "ssh_private_key", wk->key);
	cJSON_AddNumberToObject(w, "ssh_port", wk->port);
	cJSON_AddItemToArray(workers, w);
out:
	host_free(wk);
	memset(wk, 0, sizeof(*wk));
	return r;
}

int
rh_sky_reach(const char *addr, cJSON **out, char **known_hosts,
             struct rh_err *err)
{
	const char *home = getenv("HOME");
	char *name = rh_sky_name(addr), *path, *line = NULL, *k, *v, *dir;
	char worker[128];
	struct host head = { 0 }, *cur = NULL, wk = { 0 };
	cJSON *cfg, *ips, *creds, *workers, *nodes, *w;
	size_t cap = 0;
	FILE *f;
	int r = 0;

	*out = NULL;
	*known_hosts = NULL;
	path = xasprintf("%s/.sky/generated/ssh/%s", home ? home : "", name);
	if ((f = fopen(path, "r")) == NULL) {
		r = rh_err_set(err, errno == ENOENT ? ENOTCONN : errno,
		               "%s: SkyPilot records no SSH details for its "
		               "cluster %s (%s: %s): it is not up (a call or "
		               "'up' in its ctl launches it)", addr, name, path,
		               strerror(errno));
		goto done;
	}
	snprintf(worker, sizeof(worker), "%s-worker", name);
	ips = cJSON_CreateArray();
	workers = cJSON_CreateArray();
	while (r == 0 && getline(&line, &cap, f) >= 0) {
		if (!ssh_kv(line, &k, &v))
			continue;
		if (strcasecmp(k, "Host") == 0) {
			if (cur == &wk)
				r = worker_done(&wk, ips, workers, addr, path,
				                err);
			cur = strcmp(v, name) == 0 ? &head :
			      strncmp(v, worker, strlen(worker)) == 0 ? &wk :
			      NULL;
			continue;
		}
		if (cur == NULL)
			continue;
		if (strcasecmp(k, "HostName") == 0 && cur->hostname == NULL)
			cur->hostname = xstrdup(v);
		else if (strcasecmp(k, "User") == 0 && cur->user == NULL)
			cur->user = xstrdup(v);
		else if (strcasecmp(k, "IdentityFile") == 0 && cur->key == NULL)
			cur->key = xstrdup(v);
		else if (strcasecmp(k, "Port") == 0)
			cur->port = atoi(v);
		else if (strcasecmp(k, "ProxyCommand") == 0 && cur->proxy == NULL)
			cur->proxy = xstrdup(v);
	}
	if (r == 0 && cur == &wk)
		r = worker_done(&wk, ips, workers, addr, path, err);
	host_free(&wk);
	free(line);
	fclose(f);
	if (r == 0 && (head.hostname == NULL || head.user == NULL))
		r = rh_err_set(err, EIO, "%s: %s names no HostName and User "
		               "for Host %s", addr, path, name);
	if (r == 0 && head.proxy != NULL)
		r = rh_err_set(err, EOPNOTSUPP, "%s: SkyPilot reaches %s "
		               "through a ProxyCommand (%s), which rhfs does not "
		               "run", addr, name, path);
	if (r < 0) {
		cJSON_Delete(ips);
		cJSON_Delete(workers);
		goto done;
	}
	cJSON_InsertItemInArray(ips, 0, cJSON_CreateString(head.hostname));
	cfg = cJSON_CreateObject();
	cJSON_AddStringToObject(cfg, "resource_type", "cluster");
	cJSON_AddItemToObject(cfg, "ips", ips);
	creds = node_creds(head.user, head.key, head.port, &head);
	cJSON_AddItemToObject(cfg, "ssh_creds", creds);
	/* several nodes: each one's own user, key and port (a worker's
	 * may differ from the head's) */
	if (cJSON_GetArraySize(workers) > 0) {
		nodes = cJSON_AddArrayToObject(cfg, "node_ssh_creds");
		cJSON_AddItemToArray(nodes, cJSON_Duplicate(creds, 1));
		cJSON_ArrayForEach(w, workers) {
			const cJSON *p;

			p = cJSON_GetObjectItemCaseSensitive(w, "ssh_port");

			cJSON_AddItemToArray(nodes, node_creds(
				rh_json_str(w, "ssh_user"),
				rh_json_str(w, "ssh_private_key"),
				cJSON_IsNumber(p) ? p->valueint : 0, &head));
		}
	}
	cJSON_Delete(workers);
	/* its own known hosts: a cluster launched anew has new host keys */
	dir = xasprintf("%s/.rh", home ? home : "");
	mkdir(dir, 0700);
	free(dir);
	dir = xasprintf("%s/.rh/sky", home ? home : "");
	mkdir(dir, 0700);
	free(dir);
	*known_hosts = rh_sky_known_hosts(name);
	*out = cfg;
done:
	host_free(&head);
	free(path);
	free(name);
	return r;
}
