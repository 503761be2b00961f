/* link.h - reaching a cluster's node and its agent (src/link/): SSH and
 * SFTP, byte-stream transports, requests over them (rpc), the links to
 * each cluster's agent, directory sync and on-demand clusters through
 * SkyPilot. */
#ifndef RH_LINK_H
#define RH_LINK_H

#include <stddef.h>
#include <sys/types.h>

#include "base.h"

struct rh_config;

/* ssh.c: the SSH transport to a node (libssh2). Not thread-safe: one
 * owner per session. Blocking calls are bounded by timeout_ms. */
struct rh_ssh;
struct rh_ssh_chan;
struct rh_ssh_opts {
	const char *host;
	int port;
	const char *user;
	const char *private_key;        /* ed25519 or ecdsa */
	const char *known_hosts;        /* checked; unknown hosts recorded */
	int timeout_ms;
};
int rh_ssh_connect(const struct rh_ssh_opts *o, struct rh_ssh **out,
                   struct rh_err *err);
void rh_ssh_close(struct rh_ssh *s);
int rh_ssh_fd(const struct rh_ssh *s);
const char *rh_ssh_where(const struct rh_ssh *s);
int rh_ssh_events(const struct rh_ssh *s);
int rh_ssh_keepalive(struct rh_ssh *s);
/* The libssh2 session, for a protocol run on it by its owner (the SFTP
 * data store); non-blocking. */
struct _LIBSSH2_SESSION *rh_ssh_session(struct rh_ssh *s);
/* Wait until the session can make progress, at most until deadline_ms
 * (CLOCK_MONOTONIC milliseconds): -ETIMEDOUT past it. */
int rh_ssh_wait(struct rh_ssh *s, long long deadline_ms);
/* Run cmd to its end with in on its stdin; *status is its exit status. */
int rh_ssh_exec(struct rh_ssh *s, const char *cmd, const void *in,
                size_t inlen, struct rh_buf *out, struct rh_buf *errout,
                int *status, struct rh_err *err);
/* A command kept running, read and written without blocking. */
int rh_ssh_chan_open(struct rh_ssh *s, const char *cmd,
                     struct rh_ssh_chan **out, struct rh_err *err);
ssize_t rh_ssh_chan_write(struct rh_ssh_chan *c, const void *buf,
                          size_t len);
ssize_t rh_ssh_chan_read(struct rh_ssh_chan *c, void *buf, size_t len);
ssize_t rh_ssh_chan_read_stderr(struct rh_ssh_chan *c, void *buf,
                                size_t len);
int rh_ssh_chan_held(struct rh_ssh_chan *c);
int rh_ssh_chan_eof(struct rh_ssh_chan *c);
int rh_ssh_chan_taken_in(struct rh_ssh_chan *c);
/* A connection the node makes to host:port, through the session. */
int rh_ssh_chan_direct(struct rh_ssh *s, const char *host, int port,
                       struct rh_ssh_chan **out, struct rh_err *err);
/* End what is written to c: 0, or -EAGAIN to try again. */
int rh_ssh_chan_send_eof(struct rh_ssh_chan *c);
void rh_ssh_chan_close(struct rh_ssh_chan *c);
void rh_ssh_chan_close_now(struct rh_ssh_chan *c, int grace_ms);
int rh_ssh_upload(struct rh_ssh *s, const char *local, const char *path,
                  unsigned mode, struct rh_err *err);
/* SFTP for many files over one session (sync.c); paths relative to the
 * node's home. put and put_file make a new file (EEXIST if anything is
 * there); lstat, unlink and rename never follow a last symbolic link. */
struct rh_sftp;
int rh_sftp_open(struct rh_ssh *s, struct rh_sftp **out, struct rh_err *err);
void rh_sftp_close(struct rh_sftp *f);
int rh_sftp_mkdir(struct rh_sftp *f, const char *path, int *made,
                  struct rh_err *err);
int rh_sftp_lstat(struct rh_sftp *f, const char *path, unsigned *mode,
                  struct rh_err *err);
int rh_sftp_unlink(struct rh_sftp *f, const char *path, struct rh_err *err);
int rh_sftp_rmdir(struct rh_sftp *f, const char *path, struct rh_err *err);
int rh_sftp_get(struct rh_sftp *f, const char *path, size_t max,
                struct rh_buf *out, struct rh_err *err);
int rh_sftp_put(struct rh_sftp *f, const char *path, const void *data,
                size_t len, unsigned mode, struct rh_err *err);
int rh_sftp_put_file(struct rh_sftp *f, const char *local, const char *path,
                     unsigned mode, struct rh_err *err);
int rh_sftp_rename(struct rh_sftp *f, const char *from, const char *to,
                   struct rh_err *err);

/* transport.c: byte streams to an agent, non-blocking (-EAGAIN). */
struct pollfd;
struct rh_transport {
	int (*pollfds)(struct rh_transport *t, struct pollfd *p, int max,
	               int want_out);
	/* Bytes read, -EAGAIN when none are there, 0 at the end. Fewer
	 * than len: nothing more is there until poll says so, unless
	 * taken_in says the transport holds it. */
	ssize_t (*read)(struct rh_transport *t, void *buf, size_t len);
	ssize_t (*write)(struct rh_transport *t, const void *buf, size_t len);
	int (*keepalive)(struct rh_transport *t);   /* s to next; may be NULL */
	/* Whether a write took in data (or the stream's end) that is not
	 * read yet, which the fd no longer shows to poll: libssh2 reads the
	 * socket as it writes. May be NULL (it never does). */
	int (*taken_in)(struct rh_transport *t);
	void (*close)(struct rh_transport *t);
};
/* A running agent's unix socket, reached directly (^local). */
int rh_transport_unix(const char *path, struct rh_transport **out);
int rh_transport_spawn(char *const argv[], struct rh_transport **out,
                       struct rh_err *err);
struct rh_transport *rh_transport_ssh(struct rh_ssh *ssh,
                                      struct rh_ssh_chan *chan);

/* rpc.c: requests multiplexed by id over one transport, answered through
 * callbacks from its I/O thread. The callback sees every frame carrying
 * its request's id; the last (final = 1) is the reply, or err < 0 with
 * msg NULL when the stream is lost. Frames for no request are events. */
struct rh_rpc;
typedef void (*rh_rpc_cb)(void *arg, int err, const struct cJSON *msg,
                          int final);
typedef void (*rh_rpc_event_cb)(void *arg, const struct cJSON *msg);
int rh_rpc_start(struct rh_transport *t, const char *name,
                 rh_rpc_event_cb on_event, void *event_arg,
                 struct rh_rpc **out);
/* Send req (its id is set here); cb runs once with the reply. */
int rh_rpc_call(struct rh_rpc *r, struct cJSON *req, rh_rpc_cb cb, void *arg);
/* Between rh_rpc_cork and rh_rpc_uncork, requests are queued and written
 * together (every 32 KiB, and the rest at the uncork); corks
 * nest, and every thread's requests wait for the last uncork. */
void rh_rpc_cork(struct rh_rpc *r);
void rh_rpc_uncork(struct rh_rpc *r);
/* Wait for the reply at most timeout_ms (<= 0: no limit); *reply is the
 * caller's to cJSON_Delete. A refused request gives its -errno and no
 * reply (*reply NULL), as a failed one does. */
int rh_rpc_call_wait(struct rh_rpc *r, struct cJSON *req, int timeout_ms,
                     struct cJSON **reply);
/* The same, ending early with -ECANCELED once stop(arg) says so (looked
 * at every 100 ms). */
int rh_rpc_call_wait_stop(struct rh_rpc *r, struct cJSON *req,
                          int timeout_ms, int (*stop)(void *), void *arg,
                          struct cJSON **reply);
int rh_rpc_alive(struct rh_rpc *r);
void rh_rpc_stop(struct rh_rpc *r);

/* link.c: the agents of clusters, connected on first use and again after
 * a broken stream, as their kind says (kind.c): a local one directly,
 * others over SSH (bootstrapping the node's rhagent), then what the kind
 * asks of the agent (a SlurmCluster's: the head of its allocation). */
struct rh_links;
struct rh_link_opts {
	const char *rhagent;            /* this build's rhagent */
	const char *known_hosts;
	int timeout_ms;
};
int rh_links_new(const struct rh_link_opts *o, struct rh_links **out,
                 struct rh_err *err);
int rh_links_get(struct rh_links *ls, const char *addr,
                 const struct cJSON *cfg, struct rh_rpc **out,
                 struct rh_err *err);
void rh_links_free(struct rh_links *ls);
/* Whether the cluster's agent runs on this machine (no SSH). */
int rh_links_is_local(const char *addr, const struct cJSON *cfg);
/* A fresh SSH session to the cluster's head, for work beside the agent's
 * stream (file sync), which keeps its own session. */
int rh_links_ssh(struct rh_links *ls, const char *addr,
                 const struct cJSON *cfg, struct rh_ssh **ssh,
                 struct rh_err *err);

/* The node at the end of ssh runs this build's rhagent, or gets it now
 * (in ~/.rh/bin). */
int rh_links_bootstrap(struct rh_links *ls, struct rh_ssh *ssh,
                       const char *addr, struct rh_err *err);

/* nodes.c: a BYO cluster of several ips (rh_nodes_is), or the one an
 * on-demand cluster of several nodes is reached by (rh_cluster_reached):
 * the head (ips[0]) listens for workers, and every other node i, named
 * "node<i>", runs `rhagent worker` joined to it. rh_nodes_start starts the workers not
 * up (waiting a little for them to join); *errors, when not NULL, maps
 * the name of each node that could not be started to why. */
int rh_nodes_is(const struct cJSON *cfg);
char *rh_node_name(int i);
/* The config that reaches node i of cfg alone (new): its ip, and its own
 * SSH details when cfg has them per node ("node_ssh_creds", aligned with
 * ips, as an on-demand cluster's reach gives them). */
struct cJSON *rh_node_cfg(const struct cJSON *cfg, int i);
const struct cJSON *rh_node_find(const struct cJSON *reply, const char *name);
int rh_nodes_start(struct rh_links *ls, const char *addr,
                   const struct cJSON *cfg, struct rh_rpc *rpc,
                   int timeout_ms, struct cJSON **errors,
                   struct rh_err *err);
/* The nodes of live links, looked after by a thread of their own: while
 * a link lives, a node that is not up is started again (rh_nodes_start)
 * on a timer with backoff, so that it rejoins without anyone asking.
 * rh_rejoin_watch (re)places the cluster addr's link; rh_rejoin_free
 * stops the thread (after the start it may be in, bounded) before the
 * links go. */
struct rh_rejoin;
struct rh_rejoin *rh_rejoin_new(struct rh_links *ls, int timeout_ms);
void rh_rejoin_watch(struct rh_rejoin *rj, const char *addr,
                     const struct cJSON *cfg, struct rh_rpc *rpc);
void rh_rejoin_free(struct rh_rejoin *rj);

/* An SSH session of its own to the cluster's head (cfg: its config;
 * an on-demand cluster as SkyPilot records it), host keys checked in
 * known_hosts, each wait bounded by timeout_ms. */
int rh_link_ssh(const char *addr, const struct cJSON *cfg,
                const char *known_hosts, int timeout_ms, struct rh_ssh **ssh,
                struct rh_err *err);

/* kind.c: the kinds of cluster, one row each, told apart in the order
 * Slurm, on-demand, local, BYO (which takes every other config). */
struct rh_cluster_kind {
	const char *name;       /* "slurm", "ondemand", "local", "byo" */
	/* whether the cluster at addr (may be NULL) with config cfg is of
	 * this kind (NULL for the last row) */
	int (*is)(const char *addr, const struct cJSON *cfg);
	/* brought up and down by rhfs (fs/cluster-ondemand.c): no ips to
	 * reach before */
	unsigned on_demand : 1;
	/* where SSH reaches its head once it is up: a BYO cluster's config
	 * (*cfg, new) and the known hosts file to check it in; NULL: the
	 * config's own ips */
	int (*reach)(const char *addr, struct cJSON **cfg, char **known_hosts,
	             struct rh_err *err);
	/* what its agent is asked once linked (after hello), or NULL: a
	 * failure fails the link */
	int (*linked)(struct rh_rpc *rpc, const char *addr,
	              const struct cJSON *cfg, int timeout_ms,
	              struct rh_err *err);
};
extern const struct rh_cluster_kind rh_cluster_slurm, rh_cluster_ondemand,
                                    rh_cluster_local, rh_cluster_byo;
const struct rh_cluster_kind *rh_cluster_kind(const char *addr,
                                              const struct cJSON *cfg);
/* The config the cluster at addr is reached by, new in *out: a kind's
 * reach (an on-demand cluster: the BYO cluster SkyPilot records, its
 * "known_hosts" file and each node's SSH details in "node_ssh_creds"), or
 * a copy of cfg. */
int rh_cluster_reached(const char *addr, const struct cJSON *cfg,
                       struct cJSON **out, struct rh_err *err);
/* Whether the cluster's agent runs on this machine, spawned without SSH:
 * the local kind's test (^local, or no server connection on the
 * loopback), which a cluster of another kind may also pass. */
int rh_cluster_here(const char *addr, const struct cJSON *cfg);

/* sync.c: the local directory dir copied to ~/name on a node (over sftp,
 * or, when sftp is NULL, into the directory home of this machine), only
 * the files that changed since the last sync; what an earlier sync put
 * there and dir no longer has is removed. A non-zero *stop (if stop is
 * not NULL) ends it early with -ECANCELED. */
struct rh_sync_stats {
	size_t files;           /* in the directory */
	size_t changed;         /* copied now */
	size_t removed;         /* files and directories removed now */
};
int rh_sync_dir(struct rh_sftp *sftp, const char *home, const char *dir,
                const char *name, const int *stop, struct rh_sync_stats *st,
                struct rh_err *err);

/* slurm.c: Slurm clusters, reached at their login node. */
/* A config of resource_subtype SlurmCluster. */
int rh_slurm_is(const struct cJSON *cfg);
/* The nodes Slurm lists in the cluster's partition (in every partition
 * when the config names none), asked with sinfo on the login node over
 * ssh: an array of {"name", "state" (sinfo's short form: idle, alloc,
 * mix, down, ...), "cpus", "partition"}. ENOENT when there are none. */
int rh_slurm_nodes(struct rh_ssh *ssh, const char *addr,
                   const struct cJSON *cfg, struct cJSON **out,
                   struct rh_err *err);
/* The sbatch options a config asks for, a new array of strings:
 * --partition, then the slurm object's fields in a fixed order (nodes,
 * cpus_per_task, gpus, gres, mem, time, account, qos as --nodes=N, ...),
 * then its sbatch_args as they are. */
struct cJSON *rh_slurm_request(const struct cJSON *cfg);
/* Slurm's verdict on those options: `sbatch --test-only ARGS` on the
 * login node, which submits nothing. *verdict is sbatch's line when it
 * accepts them (when and where the job would start); when it refuses,
 * -EINVAL and err gives its reason. */
int rh_slurm_test_only(struct rh_ssh *ssh, const char *addr,
                       const struct cJSON *args, char **verdict,
                       struct rh_err *err);

/* The allocation of a Slurm cluster: one batch job. Its script and id
 * are kept on the login node in the directory rh_slurm_dir(addr) (".rh/
 * slurm/NAME", NAME as rh_sky_name), so that an rhfs started again finds
 * the job; its output goes to out/JOBID.out there. */
char *rh_slurm_dir(const char *addr);
/* The job's script (a new string): one worker agent a node, started with
 * srun, that reaches the head at head ("HOST:PORT") with the key in the
 * file key; with head NULL, a script that starts none and holds the
 * nodes until the job is cancelled or reaches its time limit. */
char *rh_slurm_script(const char *addr, const char *head, const char *key);
/* Submit script with sbatch and the config's options (rh_slurm_request)
 * on the login node; the job id in *job, also written to the job file. */
int rh_slurm_submit(struct rh_ssh *ssh, const char *addr,
                    const struct cJSON *cfg, const char *script, char **job,
                    struct rh_err *err);
/* The job id the login node keeps for addr: *job NULL when none. */
int rh_slurm_recall(struct rh_ssh *ssh, const char *addr, char **job,
                    struct rh_err *err);
/* The job file removed, if it still names job. */
int rh_slurm_forget(struct rh_ssh *ssh, const char *addr, const char *job,
                    struct rh_err *err);
/* scancel job on the login node. */
int rh_slurm_cancel(struct rh_ssh *ssh, const char *addr, const char *job,
                    struct rh_err *err);
/* What Slurm says of a job: squeue (which keeps an ended job a while),
 * else scontrol, else the accounting (sacct). state "" when no one knows
 * it any more. */
struct rh_slurm_job {
	char id[24];
	char state[32];         /* PENDING, RUNNING, TIMEOUT, CANCELLED, ... */
	char reason[128];       /* Slurm's: Resources, Priority, TimeLimit */
	char nodes[256];        /* node1,node2 or node[1-2] */
	char time_left[32];     /* squeue's %L: 9:58, UNLIMITED */
	char name[64];          /* the job's name: rhfs's are rh_sky_name */
};
int rh_slurm_job_state(struct rh_ssh *ssh, const char *addr, const char *job,
                       struct rh_slurm_job *j, struct rh_err *err);
/* Whether j is the job rhfs submits for addr (its name), or Slurm does
 * not know it (any more): a job id kept from another Slurm may name
 * another's job. */
int rh_slurm_job_ours(const struct rh_slurm_job *j, const char *addr);
/* Whether a job in state still holds, or waits for, its allocation. */
int rh_slurm_state_live(const char *state);
/* The agent on the login node made the head of the allocation's worker
 * agents (`workers` {"listen": true, "local": false}: it listens at the
 * login node's address, ips[0], and runs no call itself); where workers
 * reach it in *head ("HOST:PORT") and the key file they prove themselves
 * with in *key (either may be NULL). -EOPNOTSUPP when the agent has no
 * worker dispatch. */
int rh_slurm_head(struct rh_rpc *rpc, const char *addr,
                  const struct cJSON *cfg, int timeout_ms, char **head,
                  char **key, struct rh_err *err);
/* Why an ended job ended, for the calls it fails: "Slurm job 12 reached
 * its time limit (TIMEOUT, TimeLimit on node1)". */
char *rh_slurm_end_reason(const struct rh_slurm_job *j);

/* sky.c: on-demand clusters through the SkyPilot command line. */
/* A cluster launched on demand: no ips, an instance_type (or subtype
 * OnDemandCluster). */
int rh_sky_is_ondemand(const struct cJSON *cfg);
/* The name SkyPilot knows the cluster at addr by, stable for an address:
 * "rh-", its letters and digits (lower case, others as '-', at most 23),
 * "-" and the first 8 hex digits of its SHA-256. */
char *rh_sky_name(const char *addr);
/* The arguments of its `sky launch` (a JSON array of strings, without
 * "sky"): the config's fields, the defaults of config.yaml where it has
 * none (defaults may be NULL). The cloud and region as
 * `--infra CLOUD/REGION` when infra (a SkyPilot that has the option),
 * else as `--cloud CLOUD --region REGION`. */
int rh_sky_launch_args(const char *addr, const struct cJSON *cfg,
                       const struct rh_config *defaults, int infra,
                       struct cJSON **out, struct rh_err *err);
/* Whether `sky launch --help` (its output, help) offers --infra. */
int rh_sky_help_has_infra(const char *help);
/* "sky ARG..." as a shell would read it, for messages. */
char *rh_sky_command(const struct cJSON *args);
/* sky's path on PATH, or -ENOPKG with a message naming the fix. */
int rh_sky_path(char **path, struct rh_err *err);
/* Run sky with args to its end: each line it prints (stdout and stderr)
 * to line (may be NULL), all of it to out (may be NULL), its exit status
 * in *status. Past timeout_ms (-ETIMEDOUT) or once stop(stop_arg) says so
 * (-ECANCELED), sky and what it started are ended. */
int rh_sky_run(const struct cJSON *args, long timeout_ms,
               int (*stop)(void *), void *stop_arg,
               void (*line)(void *, const char *), void *line_arg,
               struct rh_buf *out, int *status, struct rh_err *err);
/* The STATUS (UP, STOPPED, INIT) of cluster name in the table `sky
 * status` printed; 0 and "" when the table has no such cluster. */
int rh_sky_status_of(const char *out, const char *name, char *state,
                     size_t size);
/* The cluster at addr as SkyPilot records it (~/.sky/generated/ssh/NAME):
 * a BYO cluster's config (ips, head first; ssh_creds), and the known
 * hosts file rhfs keeps for it. -ENOTCONN when SkyPilot has none. */
int rh_sky_reach(const char *addr, struct cJSON **cfg, char **known_hosts,
                 struct rh_err *err);
/* That known hosts file, and removing it (a new launch, new host keys). */
char *rh_sky_known_hosts(const char *name);
void rh_sky_forget_host_keys(const char *name);

#endif
