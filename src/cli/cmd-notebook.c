/* cmd-notebook.c - rh notebook: JupyterLab on a cluster's head node.
 * One SSH session carries it all: an exec channel runs a short sh script
 * (SCRIPT) that starts jupyter in the session's process group and kills
 * that group once its stdin ends, and each connection accepted on
 * 127.0.0.1:PORT here goes through a direct-tcpip channel of the same
 * session to jupyter's port on the node. The URL jupyter prints, token
 * and all, is printed with the local port. Ctrl-C (SIGINT, SIGTERM,
 * SIGHUP) ends the script's stdin, so the group is killed; so does a
 * session that goes away. On ^local the script runs here, in a session
 * of its own, and there is no tunnel. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base.h"
#include "link.h"
#include "rns.h"
#include "cmd.h"

/* ~/.local/bin: where pip install --user puts jupyter, which a
 * non-interactive shell does not have on its PATH. The watcher reads
 * the script's stdin on fd 3 (an asynchronous list's own stdin is
 * /dev/null) and, at its end, kills the group: TERM, then KILL for what
 * is left after 10 s. */
#define SCRIPT \
	"PATH=\"$HOME/.local/bin:$PATH\"\n" \
	"%s" \
	"command -v jupyter >/dev/null 2>&1 || " \
	"{ echo 'rh-notebook: no jupyter'; exit 127; }\n" \
	"echo \"rh-notebook: pgid $$\"\n" \
	"exec 3<&0\n" \
	"{ trap '' TERM; cat >/dev/null; kill -TERM -$$; sleep 10; " \
	"kill -KILL -$$; } <&3 >/dev/null 2>&1 &\n" \
	"exec jupyter lab --no-browser --ip=127.0.0.1 --port=%d " \
	"</dev/null 3<&- 2>&1\n"

#define NOTEBOOK_PORT 8888
/* How long jupyter has to print its URL, and to end once stopped. */
#define READY_S 120
#define STOP_S 15
/* What is kept of jupyter's output, for a failure's message. */
#define OUTPUT_KEEP 4096

struct conn {
	int fd;                 /* accepted here */
	struct rh_ssh_chan *ch; /* to jupyter's port on the node */
	char up[16384];         /* from fd, for ch */
	size_t up_len, up_off;
	char down[16384];       /* from ch, for fd */
	size_t down_len, down_off;
	int fd_eof, eof_sent, ch_eof, dead;
};

struct notebook {
	struct cmd_node node;
	struct rh_ssh *ssh;     /* NULL: ^local */
	struct rh_ssh_chan *proc;       /* the script, on the node */
	pid_t pid;              /* the script, here */
	int in_fd, out_fd;      /* its stdin and output, here */
	int listen_fd;          /* -1: no tunnel */
	int lport, rport;
	struct rh_buf out;      /* its output, until the URL */
	struct rh_buf line;     /* a line not yet ended */
	char *url;
	char *venv;             /* --env's virtualenv, from the node's home */
	long pgid;
	int ended;
	struct conn **conns;
	size_t nconns;
};

static volatile sig_atomic_t stop_asked;

static void
on_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
}

static int64_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The URL a line of jupyter's names, with its token: the one to print
 * (the local port when tunnelled), and in *port jupyter's own. */
static char *
url_of(const char *line, int lport, int *port)
{
	const char *p = strstr(line, "http://"), *host, *slash, *colon;
	size_t len;
	char *url, *out;

	if (p == NULL)
		return NULL;
	len = strcspn(p, " \t\r\n");
	url = xstrndup(p, len);
	host = url + strlen("http://");
	slash = strchr(host, '/');
	if (slash == NULL || strstr(slash, "token=") == NULL ||
	    (colon = memchr(host, ':', (size_t)(slash - host))) == NULL ||
	    (*port = atoi(colon + 1)) <= 0 || *port > 65535) {
		free(url);
		return NULL;
	}
	if (lport <= 0)
		return url;
	out = xasprintf("http://127.0.0.1:%d%s", lport, slash);
	free(url);
	return out;
}

/* A line of the script's output: before the URL, looked at and kept;
 * after it, jupyter's log, on stderr. */
static void
output_line(struct notebook *nb, const char *line)
{
	if (nb->url != NULL) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	if (strncmp(line, "rh-notebook: pgid ", 18) == 0) {
		nb->pgid = atol(line + 18);
		return;
	}
	rh_buf_printf(&nb->out, "%s\n", line);
	if (nb->out.len > OUTPUT_KEEP) {
		memmove(nb->out.data, nb->out.data + nb->out.len - OUTPUT_KEEP,
		        OUTPUT_KEEP);
		nb->out.len = OUTPUT_KEEP;
	}
	nb->url = url_of(line, nb->ssh != NULL ? nb->lport : 0, &nb->rport);
}

static void
output(struct notebook *nb, const char *data, size_t n)
{
	const char *nl;
	size_t k;

	while (n > 0) {
		nl = memchr(data, '\n', n);
		k = nl ? (size_t)(nl - data) : n;
		rh_buf_append(&nb->line, data, k);
		if (nl == NULL)
			break;
		rh_buf_append(&nb->line, "", 1);
		output_line(nb, nb->line.data);
		nb->line.len = 0;
		data += k + 1;
		n -= k + 1;
	}
}

/* Read what the script printed; 1 if anything came. */
static int
pump_output(struct notebook *nb)
{
	char buf[8192];
	ssize_t n;
	int progress = 0;

	if (nb->ended)
		return 0;
	for (;;) {
		if (nb->ssh != NULL) {
			while ((n = rh_ssh_chan_read_stderr(nb->proc, buf,
			                                    sizeof(buf))) > 0)
				output(nb, buf, (size_t)n);
			n = rh_ssh_chan_read(nb->proc, buf, sizeof(buf));
		} else {
			n = read(nb->out_fd, buf, sizeof(buf));
			if (n < 0)
				n = errno == EAGAIN || errno == EINTR ?
				    -EAGAIN : -errno;
		}
		if (n == -EAGAIN)
			return progress;
		if (n <= 0) {
			nb->ended = 1;
			return 1;
		}
		output(nb, buf, (size_t)n);
		progress = 1;
	}
}

static void
conn_free(struct conn *c)
{
	close(c->fd);
	rh_ssh_chan_close(c->ch);
	free(c);
}

/* Move what can move either way; 1 if anything did. */
static int
conn_pump(struct conn *c)
{
	ssize_t n;
	int progress = 0, r;

	if (c->up_off == c->up_len && !c->fd_eof) {
		n = read(c->fd, c->up, sizeof(c->up));
		if (n > 0) {
			c->up_len = (size_t)n;
			c->up_off = 0;
			progress = 1;
		} else if (n == 0) {
			c->fd_eof = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			c->dead = 1;
		}
	}
	while (c->up_off < c->up_len) {
		n = rh_ssh_chan_write(c->ch, c->up + c->up_off,
		                      c->up_len - c->up_off);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			c->dead = 1;
			break;
		}
		c->up_off += (size_t)n;
		progress = 1;
	}
	if (c->fd_eof && c->up_off == c->up_len && !c->eof_sent) {
		if ((r = rh_ssh_chan_send_eof(c->ch)) == 0)
			c->eof_sent = 1;
		else if (r != -EAGAIN)
			c->dead = 1;
	}
	if (c->down_off == c->down_len && !c->ch_eof) {
		n = rh_ssh_chan_read(c->ch, c->down, sizeof(c->down));
		if (n > 0) {
			c->down_len = (size_t)n;
			c->down_off = 0;
			progress = 1;
		} else if (n == 0) {
			c->ch_eof = 1;
		} else if (n != -EAGAIN) {
			c->dead = 1;
		}
	}
	while (c->down_off < c->down_len) {
		n = write(c->fd, c->down + c->down_off,
		          c->down_len - c->down_off);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->dead = 1;
			break;
		}
		c->down_off += (size_t)n;
		progress = 1;
	}
	/* jupyter's end of it closed, and all it said delivered */
	if (c->ch_eof && c->down_off == c->down_len)
		c->dead = 1;
	return progress;
}

static void
accept_conns(struct notebook *nb)
{
	struct rh_err err;
	struct conn *c;
	int fd;

	while ((fd = accept4(nb->listen_fd, NULL, NULL,
	                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		if (rh_ssh_chan_direct(nb->ssh, "127.0.0.1", nb->rport, &c->ch,
		                       &err) < 0) {
			fprintf(stderr, "rh notebook: %s\n", err.msg);
			close(fd);
			free(c);
			continue;
		}
		nb->conns = xrealloc(nb->conns,
		                     (nb->nconns + 1) * sizeof(*nb->conns));
		nb->conns[nb->nconns++] = c;
	}
}

/* One turn: wait (at most wait_ms) for something to do, then do it. */
static void
turn(struct notebook *nb, int wait_ms)
{
	struct pollfd *p = xcalloc(nb->nconns + 3, sizeof(*p));
	size_t i, n = 0;
	int progress = 0;

	if (nb->ssh != NULL) {
		p[n].fd = rh_ssh_fd(nb->ssh);
		p[n++].events = (short)rh_ssh_events(nb->ssh);
	} else if (!nb->ended) {
		p[n].fd = nb->out_fd;
		p[n++].events = POLLIN;
	}
	if (nb->listen_fd >= 0 && nb->url != NULL) {
		p[n].fd = nb->listen_fd;
		p[n++].events = POLLIN;
	}
	for (i = 0; i < nb->nconns; i++) {
		struct conn *c = nb->conns[i];

		p[n].fd = c->fd;
		p[n].events = (short)((c->up_off == c->up_len && !c->fd_eof ?
		                       POLLIN : 0) |
		                      (c->down_off < c->down_len ? POLLOUT : 0));
		n++;
	}
	if (!stop_asked)
		poll(p, n, wait_ms);
	free(p);
	if (nb->ssh != NULL)
		rh_ssh_keepalive(nb->ssh);
	if (nb->listen_fd >= 0 && nb->url != NULL)
		accept_conns(nb);
	/* libssh2 reads every channel's data while reading one's: go on
	 * until a round moves nothing */
	do {
		progress = pump_output(nb);
		for (i = 0; i < nb->nconns; i++)
			progress |= conn_pump(nb->conns[i]);
	} while (progress && !stop_asked);
	for (i = 0; i < nb->nconns;) {
		if (nb->conns[i]->dead) {
			conn_free(nb->conns[i]);
			nb->conns[i] = nb->conns[--nb->nconns];
		} else {
			i++;
		}
	}
}

static int
listen_local(int port, struct rh_err *err)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rh_err_set(err, errno, "a socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0) {
		int e = errno;

		close(fd);
		return rh_err_set(err, e, "127.0.0.1:%d: %s (another port: "
		                  "--port N)", port, strerror(e));
	}
	return fd;
}

/* The script, started on the node over SSH. */
static int
start_remote(struct notebook *nb, const char *script, const char *kh,
             struct rh_err *err)
{
	struct rh_ssh_opts o = {
		.host = nb->node.host,
		.port = nb->node.port,
		.user = nb->node.user,
		.private_key = nb->node.key,
		.known_hosts = nb->node.known_hosts ? nb->node.known_hosts : kh,
		.timeout_ms = 10000,
	};
	char *q, *cmd;
	int r;

	if ((r = listen_local(nb->lport, err)) < 0)
		return r;
	nb->listen_fd = r;
	if ((r = rh_ssh_connect(&o, &nb->ssh, err)) < 0)
		return r;
	/* the login shell may not be sh; exec keeps its pid, the group's */
	q = rh_shell_quote(script);
	cmd = xasprintf("exec sh -c %s", q);
	r = rh_ssh_chan_open(nb->ssh, cmd, &nb->proc, err);
	free(q);
	free(cmd);
	return r;
}

/* The script, here, in a session of its own (its process group). */
static int
start_local(struct notebook *nb, const char *script, struct rh_err *err)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0)
		return rh_err_set(err, errno, "pipe: %s", strerror(errno));
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return rh_err_set(err, errno, "pipe: %s", strerror(errno));
	}
	if ((nb->pid = fork()) < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return rh_err_set(err, errno, "fork: %s", strerror(errno));
	}
	if (nb->pid == 0) {
		setsid();
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	nb->in_fd = in[1];
	nb->out_fd = out[0];
	fcntl(nb->out_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* The script's stdin ended: its watcher kills the group; what is left
 * after STOP_S is killed from here. */
static void
stop(struct notebook *nb)
{
	int64_t end = now_s() + STOP_S;
	char *cmd;
	int r;

	if (nb->ssh != NULL) {
		while ((r = rh_ssh_chan_send_eof(nb->proc)) == -EAGAIN &&
		       now_s() < end)
			turn(nb, 100);
	} else {
		close(nb->in_fd);
		nb->in_fd = -1;
	}
	stop_asked = 0;
	/* a second Ctrl-C: killed at once */
	while (!nb->ended && !stop_asked && now_s() < end)
		turn(nb, 200);
	if (nb->ended)
		return;
	if (nb->ssh != NULL && nb->pgid > 1) {
		cmd = xasprintf("kill -KILL -- -%ld", nb->pgid);
		rh_ssh_exec(nb->ssh, cmd, NULL, 0, NULL, NULL, NULL, NULL);
		free(cmd);
	} else if (nb->ssh == NULL) {
		kill(-nb->pid, SIGKILL);
	}
}

static void
notebook_free(struct notebook *nb)
{
	size_t i;

	for (i = 0; i < nb->nconns; i++)
		conn_free(nb->conns[i]);
	free(nb->conns);
	if (nb->proc != NULL)
		rh_ssh_chan_close_now(nb->proc, 1000);
	rh_ssh_close(nb->ssh);
	if (nb->listen_fd >= 0)
		close(nb->listen_fd);
	if (nb->in_fd >= 0)
		close(nb->in_fd);
	if (nb->out_fd >= 0)
		close(nb->out_fd);
	if (nb->pid > 0)
		waitpid(nb->pid, NULL, 0);
	rh_buf_free(&nb->out);
	rh_buf_free(&nb->line);
	free(nb->url);
	free(nb->venv);
	cmd_node_free(&nb->node);
}

/* Why the script ended before its URL, from what it printed. */
static int
failed(struct notebook *nb)
{
	char *where = nb->ssh ? xasprintf("the node (%s)",
	                                  rh_ssh_where(nb->ssh)) :
	              xstrdup("this machine");
	int r;

	if (strstr(nb->out.data ? nb->out.data : "",
	           "rh-notebook: no jupyter") != NULL && nb->venv != NULL) {
		r = cmd_fail("notebook", "%s: jupyter is not installed on %s, "
		             "in the env's virtualenv (~/%s) or on the PATH: "
		             "add jupyterlab to the env's reqs", nb->node.addr,
		             where, nb->venv);
		free(where);
		return r;
	}
	if (strstr(nb->out.data ? nb->out.data : "",
	           "rh-notebook: no jupyter") != NULL) {
		r = cmd_fail("notebook", "%s: jupyter is not installed on %s: "
		             "install JupyterLab there (python3 -m pip install "
		             "--user jupyterlab), so that jupyter is in "
		             "~/.local/bin or on the PATH of a non-interactive "
		             "shell", nb->node.addr, where);
		free(where);
		return r;
	}
	if (strstr(nb->out.data ? nb->out.data : "",
	           "rh-notebook: no env") != NULL) {
		r = cmd_fail("notebook", "%s: the env's virtualenv is not on "
		             "%s yet (~/%s): call a send that uses the env "
		             "there first, which makes it", nb->node.addr,
		             where, nb->venv);
		free(where);
		return r;
	}
	free(where);
	return cmd_fail("notebook", "%s: jupyter lab ended before it printed "
	                "its URL; its last output:\n%s", nb->node.addr,
	                nb->out.len ? nb->out.data : "(none)\n");
}

/* --env ENV: the lines that put the env's virtualenv first on PATH, or
 * end the script (126) when the node does not have it yet. ENV is named
 * as a send's env field names it: its virtualenv is the one rhfs made
 * for that name. */
static int
env_lines(const char *arg, char **lines, char **venv, struct rh_err *err)
{
	struct rh_buf text = { 0 };
	const cJSON *type;
	cJSON *cfg;
	char *addr = NULL, *mnt = NULL, *key;
	int r;

	*lines = *venv = NULL;
	if ((r = cmd_address(arg, &addr, &mnt, err)) < 0 ||
	    (r = cmd_resource_get(addr, mnt, &text, err)) < 0)
		goto out;
	cfg = rh_json_parse(text.data, text.len, addr, NULL);
	type = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "env") != 0)
		r = rh_err_set(err, EINVAL, "%s is not an env", addr);
	cJSON_Delete(cfg);
	if (r < 0)
		goto out;
	if (mnt == NULL && strchr("~@^/", arg[0]) != NULL)
		key = xstrdup(arg);
	else if (mnt == NULL && strchr(arg, '/') == NULL)
		key = xasprintf("%s/%s", addr[0] == '~' ? "~" : "@", arg);
	else
		key = xstrdup(addr);
	*venv = rh_env_venv(key);
	free(key);
	*lines = xasprintf("[ -x \"$HOME/%s/bin/python\" ] || "
	                   "{ echo 'rh-notebook: no env'; exit 126; }\n"
	                   "VIRTUAL_ENV=\"$HOME/%s\"; export VIRTUAL_ENV\n"
	                   "PATH=\"$VIRTUAL_ENV/bin:$PATH\"\n", *venv, *venv);
out:
	rh_buf_free(&text);
	free(addr);
	free(mnt);
	return r;
}

int
cmd_notebook(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "env", required_argument, NULL, 'e' },
		{ "known-hosts", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct notebook nb;
	struct sigaction sa;
	struct rh_err err;
	const char *env = NULL, *home = getenv("HOME");
	char *kh = NULL, *script = NULL, *elines = NULL, *end;
	int64_t deadline;
	long port = NOTEBOOK_PORT;
	int o, r;

	memset(&nb, 0, sizeof(nb));
	nb.listen_fd = nb.in_fd = nb.out_fd = -1;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno || *optarg == '\0' || *end != '\0' ||
			    port < 1 || port > 65535) {
				free(kh);
				return cmd_fail("notebook", "--port '%s': a port "
				                "from 1 to 65535", optarg);
			}
			break;
		case 'e':
			env = optarg;
			break;
		case 'k':
			free(kh);
			kh = xstrdup(optarg);
			break;
		default:
			free(kh);
			return cmd_usage("notebook");
		}
	}
	if (argc - optind != 1) {
		free(kh);
		return cmd_usage("notebook");
	}
	if (env != NULL && env_lines(env, &elines, &nb.venv, &err) < 0) {
		free(kh);
		return cmd_fail("notebook", "--env %s: %s", env, err.msg);
	}
	if (kh == NULL)
		kh = xasprintf("%s/.ssh/known_hosts", home ? home : "");
	if (cmd_node_find(argv[optind], &nb.node, &err) < 0) {
		r = cmd_fail("notebook", "%s", err.msg);
		goto out;
	}
	nb.lport = (int)port;
	script = xasprintf(SCRIPT, elines ? elines : "", nb.lport);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;        /* no SA_RESTART: poll returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = nb.node.local ? start_local(&nb, script, &err) :
	    start_remote(&nb, script, kh, &err);
	if (r < 0) {
		r = cmd_fail("notebook", "%s: %s", nb.node.addr, err.msg);
		goto out;
	}
	deadline = now_s() + READY_S;
	while (nb.url == NULL && !nb.ended && !stop_asked &&
	       now_s() < deadline)
		turn(&nb, 1000);
	if (nb.url == NULL) {
		if (stop_asked)
			r = cmd_fail("notebook", "%s: stopped before jupyter "
			             "lab was ready", nb.node.addr);
		else if (nb.ended)
			r = failed(&nb);
		else
			r = cmd_fail("notebook", "%s: jupyter lab printed no URL "
			             "with a token within %d s; its last output:"
			             "\n%s", nb.node.addr, READY_S,
			             nb.out.len ? nb.out.data : "(none)\n");
		stop(&nb);
		goto out;
	}
	printf("%s\n", nb.url);
	fflush(stdout);
	if (nb.ssh != NULL)
		fprintf(stderr, "rh notebook: JupyterLab on %s (port %d there), "
		        "tunnelled to 127.0.0.1:%d; Ctrl-C stops it\n",
		        nb.node.addr, nb.rport, nb.lport);
	else
		fprintf(stderr, "rh notebook: JupyterLab on %s; Ctrl-C stops "
		        "it\n", nb.node.addr);
	/* libssh2 may hold data it read for a channel not pumped after it
	 * until the next turn: a short wait bounds that */
	while (!nb.ended && !stop_asked)
		turn(&nb, 250);
	if (nb.ended) {
		r = cmd_fail("notebook", "%s: jupyter lab ended, or the "
		             "connection to the node broke (its output is "
		             "above)", nb.node.addr);
	} else {
		stop(&nb);
		fprintf(stderr, "rh notebook: JupyterLab on %s stopped\n",
		        nb.node.addr);
		r = 0;
	}
out:
	notebook_free(&nb);
	free(elines);
	free(script);
	free(kh);
	return r;
}
