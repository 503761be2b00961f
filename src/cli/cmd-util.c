/* cmd-util.c - what rh's subcommands share: one-line failures, passwords
 * read without echo, finding and logging in to etcd. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "cmd.h"

#define LINE_MAX_BYTES 4096

int
cmd_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rh %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cmd_etcd_option(int o, struct cmd_etcd_opts *eo)
{
	switch (o) {
	case CMD_OPT_URL: eo->url = optarg; return 1;
	case CMD_OPT_CA_FILE: eo->ca_file = optarg; return 1;
	case CMD_OPT_PREFIX: eo->prefix = optarg; return 1;
	case CMD_OPT_PASSWORD_STDIN: eo->password_stdin = 1; return 1;
	}
	return 0;
}

void
cmd_password_free(char *pw)
{
	if (pw != NULL) {
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
}

/* One line from f, without its end; -ENODATA at end of input. */
static int
read_line(FILE *f, char **out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	*out = NULL;
	if ((n = getline(&line, &cap, f)) < 0) {
		free(line);
		return ferror(f) ? -EIO : -ENODATA;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n > LINE_MAX_BYTES) {
		OPENSSL_cleanse(line, (size_t)n);
		free(line);
		return -EFBIG;
	}
	*out = line;
	return 0;
}

/* The terminal's settings while echo is off, to put back on a signal. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_fd = -1;

static void
restore_tty(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Ask on the terminal; echo off for secrets. */
static int
tty_ask(const char *prompt, int echo, char **out, struct rh_err *err)
{
	struct sigaction sa, old_int, old_term;
	struct termios tio;
	FILE *tty;
	int fd, r;

	*out = NULL;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0 ||
	    !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		return rh_err_set(err, ENOTTY, "%s: no terminal to ask on "
		                  "(give it as an option, or on stdin)",
		                  prompt);
	}
	if ((tty = fdopen(fd, "r+")) == NULL) {
		close(fd);
		return rh_err_set(err, errno, "/dev/tty: %s", strerror(errno));
	}
	/* Echo goes off before the prompt shows: whatever is typed once
	 * the prompt is seen must not be flushed by the switch. */
	if (!echo && tcgetattr(fd, &saved_tio) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = restore_tty;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		tty_fd = fd;
		tio = saved_tio;
		tio.c_lflag &= ~(tcflag_t)ECHO;
		tio.c_lflag |= ECHONL;
		tcsetattr(fd, TCSAFLUSH, &tio);
	}
	fprintf(tty, "%s: ", prompt);
	fflush(tty);
	r = read_line(tty, out);
	if (tty_fd >= 0) {
		tcsetattr(fd, TCSAFLUSH, &saved_tio);
		tty_fd = -1;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	fclose(tty);
	if (r < 0)
		return rh_err_set(err, -r, "%s: %s", prompt, r == -ENODATA ?
		                  "no answer" : strerror(-r));
	return 0;
}

int
cmd_ask(const char *prompt, char **out, struct rh_err *err)
{
	int r = tty_ask(prompt, 1, out, err);

	if (r == 0 && **out == '\0') {
		free(*out);
		*out = NULL;
		return rh_err_set(err, EINVAL, "%s: empty answer", prompt);
	}
	return r;
}

int
cmd_password(const char *prompt, int from_stdin, int confirm, char **out,
             struct rh_err *err)
{
	char *again = NULL;
	int r;

	*out = NULL;
	if (from_stdin) {
		if ((r = read_line(stdin, out)) < 0)
			return rh_err_set(err, -r, "%s: %s on stdin", prompt,
			                  r == -ENODATA ? "no line" :
			                  r == -EFBIG ? "line too long" :
			                  strerror(-r));
	} else {
		if ((r = tty_ask(prompt, 0, out, err)) < 0)
			return r;
		if (confirm && **out != '\0') {
			char *p = xasprintf("%s (again)", prompt);

			r = tty_ask(p, 0, &again, err);
			free(p);
			if (r == 0 && strcmp(again, *out) != 0)
				r = rh_err_set(err, EINVAL, "%s: the two "
				               "answers differ", prompt);
			cmd_password_free(again);
			if (r < 0) {
				cmd_password_free(*out);
				*out = NULL;
				return r;
			}
		}
	}
	if (**out == '\0') {
		cmd_password_free(*out);
		*out = NULL;
		return rh_err_set(err, EINVAL, "%s: empty password", prompt);
	}
	return 0;
}

int
cmd_password_file(const char *path, char **out, struct rh_err *err)
{
	struct stat st;
	FILE *f;
	int r;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return rh_err_set(err, errno, "%s: %s", path, strerror(errno));
	setvbuf(f, NULL, _IONBF, 0);    /* no copy left in a buffer */
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))
		r = rh_err_set(err, EINVAL, "%s: not a regular file", path);
	else if (st.st_mode & 077)
		r = rh_err_set(err, EPERM, "%s: mode %04o lets others read "
		               "it; a password file is 0600 (chmod 600 %s)",
		               path, (unsigned)(st.st_mode & 07777), path);
	else if ((r = read_line(f, out)) < 0)
		rh_err_set(err, -r, "%s: %s", path, r == -ENODATA ?
		           "empty" : r == -EFBIG ? "line too long" :
		           strerror(-r));
	else if (**out == '\0')
		r = rh_err_set(err, EINVAL, "%s: empty password", path);
	fclose(f);
	if (r < 0) {
		cmd_password_free(*out);
		*out = NULL;
	}
	return r;
}

int
cmd_check_user(const char *name, struct rh_err *err)
{
	const char *p;

	if (*name == '\0')
		return rh_err_set(err, EINVAL, "empty user name");
	if (strlen(name) > 64)
		return rh_err_set(err, ENAMETOOLONG, "%.64s...: a name is at "
		                  "most 64 bytes", name);
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') ||
		      (p > name && (*p == '.' || *p == '_' || *p == '-'))))
			return rh_err_set(err, EINVAL, "'%s': a name is letters, "
			                  "digits, '.', '_' and '-', starting "
			                  "with a letter or digit", name);
	if (strcmp(name, "root") == 0)
		return rh_err_set(err, EINVAL, "'root' is etcd's "
		                  "administrator, not a user of rhfs");
	return 0;
}

int
cmd_config_load(struct rh_config **out, struct rh_err *err)
{
	char *path = rh_config_default_path();
	int r = rh_config_load(path, out, err);

	free(path);
	return r;
}

static int
check_prefix(const char *prefix, struct rh_err *err)
{
	struct rh_err e;

	if (prefix[0] != '/' || prefix[1] == '\0' ||
	    rh_path_check(prefix + 1, &e) < 0)
		return rh_err_set(err, EINVAL, "prefix '%s': must be /NAME"
		                  "[/NAME...] (like /rh)", prefix);
	return 0;
}

int
cmd_remote_find(const char *url, const char *ca_file, const char *prefix,
                struct cmd_remote *out, struct rh_err *err)
{
	struct rh_login l;
	struct rh_config *cfg = NULL;
	struct rh_err e;
	int have_login;

	memset(out, 0, sizeof(*out));
	have_login = rh_login_load(&l, &e) == 0;
	if (cmd_config_load(&cfg, &e) < 0)
		cfg = NULL;
	if (url != NULL)
		out->url = xstrdup(url);
	else if (have_login)
		out->url = xstrdup(l.url);
	else if (cfg && rh_config_get(cfg, "rns_url"))
		out->url = xstrdup(rh_config_get(cfg, "rns_url"));
	if (ca_file != NULL)
		out->ca_file = xstrdup(ca_file);
	else if (have_login && url == NULL && l.ca_file != NULL)
		out->ca_file = xstrdup(l.ca_file);
	if (prefix != NULL)
		out->prefix = xstrdup(prefix);
	else if (cfg && rh_config_get(cfg, "rns_prefix"))
		out->prefix = xstrdup(rh_config_get(cfg, "rns_prefix"));
	else if (have_login)
		out->prefix = xstrdup(l.prefix);
	else
		out->prefix = xstrdup("/rh");
	if (have_login)
		rh_login_free(&l);
	rh_config_free(cfg);
	if (out->url == NULL) {
		cmd_remote_free(out);
		return rh_err_set(err, EINVAL, "no etcd URL: give --url URL "
		                  "(or rh login first)");
	}
	if (check_prefix(out->prefix, err) < 0) {
		cmd_remote_free(out);
		return -EINVAL;
	}
	return 0;
}

void
cmd_remote_free(struct cmd_remote *r)
{
	free(r->url);
	free(r->ca_file);
	free(r->prefix);
	memset(r, 0, sizeof(*r));
}

int
cmd_etcd_connect(const char *url, const char *ca_file, struct rh_etcd **out,
                 struct rh_err *err)
{
	struct rh_etcd_opts o;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.cafile = ca_file;
	if (ca_file != NULL && access(ca_file, R_OK) < 0)
		return rh_err_set(err, errno, "CA file %s: %s", ca_file,
		                  strerror(errno));
	return rh_etcd_new(&o, out, err);
}

int
cmd_etcd_login(struct rh_login *l, struct rh_etcd **out, struct rh_err *err)
{
	int r;

	*out = NULL;
	if ((r = rh_login_load(l, err)) < 0)
		return r;
	if (l->password == NULL) {
		rh_login_free(l);
		return rh_err_set(err, EINVAL, "the login has no password: "
		                  "run rh login again");
	}
	if ((r = cmd_etcd_connect(l->url, l->ca_file, out, err)) < 0) {
		rh_login_free(l);
		return r;
	}
	if ((r = rh_etcd_auth(*out, l->user, l->password, err)) < 0) {
		rh_etcd_free(*out);
		*out = NULL;
		rh_login_free(l);
	}
	return r;
}

int
cmd_range_prefix(struct rh_etcd *c, const char *prefix,
                 struct rh_etcd_kvs *out, struct rh_err *err)
{
	struct rh_etcd_op op;

	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = prefix;
	op.key_len = strlen(prefix);
	op.flags = RH_ETCD_PREFIX;
	return rh_etcd_range(c, &op, out, err);
}

struct cJSON *
cmd_kv_json(const struct rh_etcd_kv *kv)
{
	return rh_json_parse(kv->value ? kv->value : "", kv->value_len,
	                     kv->key, NULL);
}

char *
cmd_key(const char *prefix, const char *kind, const char *rest)
{
	return xasprintf("%s/%s/%s", prefix, kind, rest);
}
