/* rhfs.c - mount the Runhouse resource namespace: option parsing, the
 * stores, and the FUSE session. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <mntent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "link.h"
#include "rhfs.h"

#define RHFS_OPT(t, p) { t, offsetof(struct fs_opts, p), 1 }

static const struct fuse_opt rhfs_opts[] = {
	RHFS_OPT("local=%s", local),
	RHFS_OPT("config=%s", config),
	RHFS_OPT("builtins=%s", builtins),
	RHFS_OPT("timeout=%lf", timeout),
	RHFS_OPT("data_timeout=%lf", data_timeout),
	RHFS_OPT("io_timeout=%lf", io_timeout),
	RHFS_OPT("rhagent=%s", rhagent),
	RHFS_OPT("known_hosts=%s", known_hosts),
	RHFS_OPT("connect_timeout=%lf", connect_timeout),
	RHFS_OPT("launch_timeout=%lf", launch_timeout),
	RHFS_OPT("replace", replace),
	FUSE_OPT_END
};

struct positional {
	char *arg[2];
	int n;
};

/* Collect the positional arguments ourselves: the mount helper passes
 * "SOURCE MOUNTPOINT", a person passes "MOUNTPOINT". */
static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct positional *pos = data;

	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (pos->n == 2) {
		fprintf(stderr, "rhfs: unexpected argument '%s'\n", arg);
		return -1;
	}
	pos->arg[pos->n++] = xstrdup(arg);
	return 0;
}

/* The defaults of the path options, as this run resolves them: the
 * installed builtins and agent, else (running from the build tree) the
 * sources' and the build tree's; the workdir found from the current
 * directory. Options already given are kept. */
static void
default_paths(struct fs_opts *o)
{
	char cwd[PATH_MAX], *home;

	if (o->local == NULL && getcwd(cwd, sizeof(cwd)) != NULL) {
		home = getenv("HOME") ? realpath(getenv("HOME"), NULL) : NULL;
		o->local = rh_workdir_find(cwd, home);
		free(home);
	}
	if (o->config == NULL)
		o->config = rh_config_default_path();
	if (o->builtins == NULL)
		o->builtins = xstrdup(access(RHFS_BUILTINS_DIR, X_OK) == 0 ?
		                      RHFS_BUILTINS_DIR :
		                      RHFS_SOURCE_BUILTINS_DIR);
	if (o->rhagent == NULL)
		o->rhagent = xstrdup(access(RHFS_RHAGENT, X_OK) == 0 ?
		                     RHFS_RHAGENT : RHFS_BUILD_RHAGENT);
	if (o->known_hosts == NULL)
		o->known_hosts = xasprintf("%s/.ssh/known_hosts",
		                           getenv("HOME") ? getenv("HOME") : "");
}

/* The defaults shown are the paths this run would use, from where it is
 * started. */
static void
usage(const char *prog, struct fs_opts *o)
{
	default_paths(o);
	printf("usage: %s [options] MOUNTPOINT\n"
	       "       mount -t fuse.rhfs rhfs MOUNTPOINT [-o options]\n\n"
	       "rhfs options (the defaults are those this run would use):\n"
	       "    -o local=DIR           workdir whose rh/ is the local RNS ~\n"
	       "                           (default, found from the current "
	       "directory: %s)\n"
	       "    -o config=FILE         config file (default, $RH_CONFIG "
	       "or ~/.rh/config.yaml: %s)\n"
	       "    -o builtins=DIR        builtin resources (default: %s)\n"
	       "    -o timeout=SECS        attribute and entry cache time "
	       "(default: 1)\n"
	       "    -o data_timeout=SECS   the same in data/: how soon changes "
	       "made elsewhere show\n"
	       "                           (default: 1)\n"
	       "    -o io_timeout=SECS     bound on each request to a data "
	       "store (default: 30)\n"
	       "    -o rhagent=FILE        the node agent to run and install "
	       "(default: %s)\n"
	       "    -o known_hosts=FILE    SSH host keys (default: %s)\n"
	       "    -o connect_timeout=SECS  bound on reaching a cluster "
	       "(default: 10)\n"
	       "    -o launch_timeout=SECS   bound on launching an on-demand "
	       "cluster (default: 1200)\n"
	       "    -o replace             unmount an rhfs already mounted "
	       "there first\n\n",
	       prog, o->local, o->config, o->builtins, o->rhagent,
	       o->known_hosts);
	/* libfuse's help follows, written by other means */
	fflush(stdout);
}

/* Resolve a path given on the command line before the daemon leaves the
 * directory it was started in. */
static int
absolute(char **path, const char *what)
{
	char *abs;

	if (*path == NULL)
		return 0;
	if ((abs = realpath(*path, NULL)) == NULL) {
		fprintf(stderr, "rhfs: %s %s: %s\n", what, *path,
		        strerror(errno));
		return -1;
	}
	free(*path);
	*path = abs;
	return 0;
}

/* Run fusermount3 -u on MNT, quietly (-z: lazily); 0 once it succeeded. */
static int
fusermount_u(const char *mnt, int lazy)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", "-q",
			       mnt, (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", "-q", mnt,
			       (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)
		return 0;
	return -1;
}

/* Whether a file system of type fuse.rhfs is mounted on MNT (a live
 * one: MNT answers). */
static int
rhfs_mounted_on(const char *mnt)
{
	struct mntent *m;
	char *abs;
	FILE *f;
	int found = 0;

	if ((abs = realpath(mnt, NULL)) == NULL)
		return 0;
	if ((f = setmntent("/proc/self/mounts", "r")) != NULL) {
		while (!found && (m = getmntent(f)) != NULL)
			found = strcmp(m->mnt_dir, abs) == 0 &&
			        strcmp(m->mnt_type, "fuse.rhfs") == 0;
		endmntent(f);
	}
	free(abs);
	return found;
}

/* A mountpoint where an rhfs runs is refused (two would stack), or with
 * -o replace unmounted first. A mountpoint whose rhfs was killed answers
 * ENOTCONN: detach it so it can be reused; if that fails, say how. */
static int
check_mountpoint(const char *mnt, int replace)
{
	struct statfs sfs;
	struct stat st;

	/* stat may be answered from the kernel's cache; statfs always asks
	 * the file system, and a dead one answers ENOTCONN */
	if (stat(mnt, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "rhfs: %s: not a directory\n", mnt);
			return -1;
		}
		if (statfs(mnt, &sfs) == 0) {
			if (!rhfs_mounted_on(mnt))
				return 0;
			if (!replace) {
				fprintf(stderr, "rhfs: %s: an rhfs is already "
				        "mounted there; unmount it first "
				        "(fusermount3 -u %s) or pass -o "
				        "replace\n", mnt, mnt);
				return -1;
			}
			if (fusermount_u(mnt, 0) == 0) {
				fprintf(stderr, "rhfs: %s: unmounted the rhfs "
				        "mounted there (-o replace)\n", mnt);
				return 0;
			}
			fprintf(stderr, "rhfs: %s: cannot unmount the rhfs "
			        "mounted there (-o replace): it is busy or "
			        "not yours\n", mnt);
			return -1;
		}
	}
	if (errno != ENOTCONN) {
		fprintf(stderr, "rhfs: %s: %s\n", mnt, strerror(errno));
		return -1;
	}
	if (fusermount_u(mnt, 1) == 0 && stat(mnt, &st) == 0) {
		fprintf(stderr, "rhfs: %s: reusing the mountpoint of an rhfs "
		        "that ended without unmounting\n", mnt);
		return 0;
	}
	fprintf(stderr, "rhfs: %s: stale mount left by an rhfs that ended "
	        "without unmounting (%s); run: fusermount3 -u %s\n", mnt,
	        strerror(ENOTCONN), mnt);
	return -1;
}

/* The mount id of the mount at mnt (0: unknown), asked without a request
 * to it: this process answers those, and has not started to. Data on
 * this machine never enters it. */
static uint64_t
own_mount(const char *mnt)
{
	struct statx sx;
	int r = statx(AT_FDCWD, mnt, AT_STATX_DONT_SYNC, STATX_MNT_ID, &sx);

	if (r < 0 || !(sx.stx_mask & STATX_MNT_ID)) {
		rh_warn("%s: its mount id: %s: data on this machine below "
		        "it may reach this mount", mnt,
		        r < 0 ? strerror(errno) : "not given");
		return 0;
	}
	return sx.stx_mnt_id;
}

static int
open_stores(struct fs *fs)
{
	struct rh_err err;
	int r;

	default_paths(&fs->opts);
	fs->data_opts.known_hosts = fs->opts.known_hosts;
	if (fs->opts.local == NULL) {
		perror("rhfs: current directory");
		return -1;
	}
	r = rh_config_load(fs->opts.config, &fs->config, &err);
	if (r < 0) {
		fprintf(stderr, "rhfs: %s\n", err.msg);
		return -1;
	}
	fs->local = rh_store_local_new(fs->opts.local);
	if (access(fs->opts.builtins, R_OK | X_OK) < 0) {
		fprintf(stderr, "rhfs: builtins %s: %s\n", fs->opts.builtins,
		        strerror(errno));
		return -1;
	}
	fs->builtin = rh_store_builtin_new(fs->opts.builtins);
	/* the agent is checked when first needed */
	return remote_open(fs);
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_loop_config *loop;
	struct positional pos = { { NULL, NULL }, 0 };
	struct fs fs;
	char *path;
	int ret = 1;

	/* One malloc arena for all threads: with one per thread, what a map
	 * of many calls leaves in each (pages kept by a few live blocks) adds
	 * up to more than rhfs holds otherwise. Small blocks come from each
	 * thread's cache without the arena's lock. */
	mallopt(M_ARENA_MAX, 1);
	/* Blocks of 256 KiB or more (a map's requests waiting to be
	 * written) are mapped, and unmapped when freed, always. Left to
	 * itself glibc raises that bound to the size of each such block
	 * freed (up to 32 MiB), so that the next ones come from the heap,
	 * and the pages they leave there stay resident. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	memset(&fs, 0, sizeof(fs));
	memset(&opts, 0, sizeof(opts));
	fs.opts.timeout = 1.0;
	fs.opts.data_timeout = 1.0;
	fs.opts.connect_timeout = 10.0;
	fs.opts.launch_timeout = 1200.0;
	pthread_mutex_init(&fs.lock, NULL);
	pthread_mutex_init(&fs.links_lock, NULL);
	pthread_mutex_init(&fs.kept_lock, NULL);
	pthread_mutex_init(&fs.secrets_lock, NULL);
	pthread_mutex_init(&fs.prep_lock, NULL);
	pthread_cond_init(&fs.prep_cond, NULL);

	if (fuse_opt_parse(&args, &fs.opts, rhfs_opts, NULL) < 0 ||
	    fuse_opt_parse(&args, &pos, NULL, opt_proc) < 0 ||
	    fuse_parse_cmdline(&args, &opts) != 0)
		goto err_args;
	if (opts.show_help) {
		usage(argv[0], &fs.opts);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto err_args;
	}
	if (opts.show_version) {
		printf("rhfs %s\n", PACKAGE_VERSION);
		/* libfuse's lines come after ours: fusermount3 prints one */
		fflush(stdout);
		fuse_lowlevel_version();
		ret = 0;
		goto err_args;
	}
	if (pos.n == 0) {
		fprintf(stderr, "usage: %s [options] MOUNTPOINT "
		        "(see %s --help)\n", argv[0], argv[0]);
		goto err_args;
	}
	/* with two, the first is the mount helper's SOURCE */
	opts.mountpoint = xstrdup(pos.arg[pos.n - 1]);
	if (fs.opts.timeout < 0)
		fs.opts.timeout = 0;
	if (fs.opts.data_timeout < 0)
		fs.opts.data_timeout = 0;
	if (fs.opts.io_timeout <= 0)
		fs.opts.io_timeout = RH_DATA_IO_TIMEOUT;
	fs.data_opts.io_timeout = fs.opts.io_timeout;
	fs.data_opts.cluster = res_data_cluster;
	fs.data_opts.cluster_arg = &fs;
	fs.data_opts.cache_ttl = fs.opts.data_timeout;
	if (fs.opts.connect_timeout <= 0)
		fs.opts.connect_timeout = 10.0;
	if (fs.opts.launch_timeout <= 0)
		fs.opts.launch_timeout = 1200.0;

	rh_log_init("rhfs", opts.foreground,
	            opts.debug ? RH_LOG_DEBUG : RH_LOG_INFO);
	if (absolute(&fs.opts.local, "local") < 0 ||
	    absolute(&fs.opts.builtins, "builtins") < 0 ||
	    absolute(&fs.opts.rhagent, "rhagent") < 0 ||
	    open_stores(&fs) < 0 || check_mountpoint(opts.mountpoint, fs.opts.replace) < 0)
		goto err_stores;

	fs.uid = getuid();
	fs.gid = getgid();
	if ((path = realpath(opts.mountpoint, NULL)) != NULL) {
		fs.mount_len = strlen(path);
		free(path);
	} else {
		fs.mount_len = strlen(opts.mountpoint);
	}
	clock_gettime(CLOCK_REALTIME, &fs.started);
	node_init(&fs);
	clusters_init(&fs);

	/* The kernel checks modes; names in df and mount say what this is. */
	fuse_opt_add_arg(&args, "-odefault_permissions,fsname=rhfs,subtype=rhfs");
	fs.se = fuse_session_new(&args, &ns_ops, sizeof(ns_ops), &fs);
	if (fs.se == NULL)
		goto err_nodes;
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto err_session;
	if (fuse_session_mount(fs.se, opts.mountpoint) != 0)
		goto err_signals;
	if (fuse_daemonize(opts.foreground) != 0)
		goto err_unmount;
	if (notify_start(&fs) < 0)
		goto err_unmount;
	watch_start(&fs);
	fs.data_opts.own_mount = own_mount(opts.mountpoint);
	rh_info("mounted %s (local RNS %s)", opts.mountpoint,
	        rh_store_local_root(fs.local));

	if (opts.singlethread) {
		ret = fuse_session_loop(fs.se);
	} else {
		loop = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(loop, (unsigned)opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, opts.max_threads);
		ret = fuse_session_loop_mt(fs.se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	/* a signal (SIGTERM, SIGINT, SIGHUP) is a requested stop */
	ret = ret < 0;
	remote_close(&fs);      /* its watches notify: stopped first */
	watch_stop(&fs);
	notify_stop(&fs);
	send_prepare_stop(&fs); /* it uses the agents' connections */
	clusters_stop(&fs);
	/* the agents' threads answer requests: stop them while the session
	 * still exists */
	rh_links_free(fs.links);
	send_prepared_free(&fs);
	fs.links = NULL;
err_unmount:
	fuse_session_unmount(fs.se);
err_signals:
	fuse_remove_signal_handlers(fs.se);
err_session:
	fuse_session_destroy(fs.se);
err_nodes:
	clusters_free(&fs);
	node_destroy_all(&fs);
	while (fs.scratches != NULL)
		scratch_unlink(&fs, fs.scratches);
err_stores:
	remote_close(&fs);
	secret_values_free(&fs);
	res_kept_free(&fs);
	rh_store_free(fs.local);
	rh_store_free(fs.builtin);
	rh_config_free(fs.config);
err_args:
	free(opts.mountpoint);
	free(pos.arg[0]);
	free(pos.arg[1]);
	free(fs.opts.local);
	free(fs.opts.config);
	free(fs.opts.builtins);
	free(fs.opts.rhagent);
	free(fs.opts.known_hosts);
	fuse_opt_free_args(&args);
	pthread_mutex_destroy(&fs.lock);
	pthread_mutex_destroy(&fs.links_lock);
	pthread_mutex_destroy(&fs.kept_lock);
	pthread_mutex_destroy(&fs.secrets_lock);
	pthread_mutex_destroy(&fs.prep_lock);
	pthread_cond_destroy(&fs.prep_cond);
	return ret;
}
