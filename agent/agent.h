/*
 * agent.h - rhagent, the node agent: the event loop and its connections
 * (serve.c), the requests they carry (op.c), calls (call.c) and their
 * records (record.c), and the stdio bridge that rhfs runs over SSH
 * (bridge.c).
 * Everything it shares with rhfs comes from src/base and src/proto.
 */
#ifndef AGENT_H
#define AGENT_H

#include <spawn.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "base.h"
#include "proto.h"
#include "callspec.h"

struct cJSON;
struct pollfd;

/* Names inside the agent's directory, ~/.rh/agent (which is our cwd). */
#define AGENT_SOCK "sock"
/* A bridge hands its stdin and stdout to the agent here (SCM_RIGHTS), so
 * that the agent reads and writes the SSH channel's pipes itself. */
#define AGENT_FDSOCK "sock-fds"
#define AGENT_PID "pid"
#define AGENT_LOG "log"
#define AGENT_CALLS "calls"     /* calls/ID/: one per call (record.c) */
#define AGENT_ACTIVE "active"   /* active/ID: calls not yet ended */
#define AGENT_RECLOG AGENT_CALLS "/records.log" /* ended calls' records */

/* Most clients served at once; more are closed at accept. */
#define AGENT_MAX_CONNS 1024
/* Stop reading a client's requests while this much output waits for it. */
#define AGENT_OUT_HIGH (8u * 1024 * 1024)
/* Largest stdout sent inside a call's reply; beyond it, use "output".
 * Both limits stay under the frame maximum even if every byte is a
 * control character that JSON spells in six. */
#define AGENT_RESULT_INLINE (1024u * 1024)
/* Largest chunk one "output" request returns. */
#define AGENT_OUTPUT_MAX (2u * 1024 * 1024)
/* From cancel's SIGTERM to SIGKILL. */
#define AGENT_KILL_GRACE_MS 5000

/* A client connection (serve.c). */
struct conn {
	int fd;                 /* read from */
	int ofd;                /* written to: fd, or the stdout a bridge
	                         * handed over */
	int hold;               /* a bridge's socket, closed with the
	                         * connection so that it exits; or -1 */
	uint64_t serial;        /* names the client in the log */
	struct rh_proto_dec dec;
	struct rh_buf out;      /* encoded frames not yet written */
	size_t out_off;
	int proto;              /* version agreed by hello; 0 before */
	int eof;                /* the client sends no more */
	unsigned waiting;       /* calls that will answer it */
	int dead;               /* closed; freed at the end of the turn */
	int to_head;            /* a worker's connection to its head
	                         * (worker.c): losing it stops the worker */
	struct conn *next;
};

struct call;
struct call_list {
	struct call *head, *tail;
	unsigned n;
	unsigned nother;        /* of them, not pool_only (call_schedule) */
	unsigned nstep;         /* of them, a Slurm job step's (step.c) */
};

/* A call that has not ended (call.c); ended calls live only on disk. */
enum call_state { CALL_QUEUED, CALL_RUNNING, CALL_DONE, CALL_FAILED,
                  CALL_CANCELLED };

struct waiter {
	struct conn *conn;
	uint64_t id;            /* the request to answer */
	struct waiter *next;
};

struct call {
	char id[32];
	enum call_state state;
	char **argv;
	char **envp;            /* NULL: the agent's own */
	char *cwd;
	char *queue;            /* runs after earlier calls of this queue */
	char *send;             /* the send it belongs to, for "list" */
	pid_t pid;
	unsigned long long start_ticks; /* tells our pid from a reused one */
	struct timespec queued_at, started_at, ended_at; /* CLOCK_REALTIME */
	int exit_code;          /* -1: none */
	int signo;              /* 0: none */
	char reason[256];
	int cancelled;
	struct timespec kill_at;        /* CLOCK_MONOTONIC; 0: none */
	struct waiter *waiters;
	struct cJSON *py;       /* a Python call: what its worker needs
	                         * (pool.c); NULL: a command */
	struct pool *pool;      /* its worker pool once looked up (pool.c) */
	struct cJSON *spec;     /* the request as recorded (record.c) */
	long long out_size[2];  /* a Python call's stdout and stderr sizes as
	                         * its worker told them at its end; -1: not
	                         * told (look at the files) */
	char *result;           /* a Python call's result as its worker sent
	                         * it (JSON and a newline), or NULL: it is in
	                         * its result file (large), or a command's */
	struct cJSON *refspec;  /* its spec while $refs in it wait to be
	                         * resolved (call.c); else NULL */
	struct call_list *list;         /* queued or running */
	int pool_only;          /* when listed: waits for nothing but a
	                         * worker of its pool (no queue, no $ref) */
	/* head.c: a head's call may run on a worker node */
	char *node;             /* the node that ran it; NULL: no nodes */
	struct node *on;        /* running on this worker node */
	struct cJSON *secrets;  /* its secret_env, kept to send a node */
	struct cJSON *resolved; /* its spec with $refs resolved */
	int result_truncated;   /* its result stayed on the node (large) */
	char *pin;              /* the node it must run on, or NULL */
	struct cJSON *slurm;    /* step.c: it runs as a Slurm job step of
	                         * its own, of these resources; or NULL */
	struct call *prev, *next;
};

/* pool.c's state: the worker pools. */
struct pool;
struct worker;
struct pool_set {
	struct pool *list;
	unsigned max_workers;   /* per pool: one per CPU, at most jobs */
	long idle_ms;           /* an idle worker is let go after this */
	char *runner_path;      /* runner.py, as its workers are given it */
	char *work_path;        /* the workers' output files' directory */
	struct worker **polled; /* the workers of the last pool_pollfds, */
	size_t npolled, polled_cap;     /* in the order of their pollfds */
};

/* reclog.c: the ended calls' records, one line each in one log
 * (calls/records.log), kept in memory as blocks of lines: where each
 * starts and the ids it spans. */
struct reclog_blk {
	uint64_t min, max;      /* of the ids' times (record_id_time) */
	uint64_t off;           /* its first line's; it ends at the next's */
	unsigned lines;
};
struct reclog {
	int fd;                 /* O_APPEND; -1: not open */
	char *path;
	struct reclog_blk *b;   /* in the log's order */
	size_t nb, cap;
	size_t lines;           /* in the blocks */
	off_t size;             /* of the log */
	uint64_t last_key;      /* the greatest id's time */
};
void reclog_init(struct reclog *l);
/* Load path (made if missing): torn or unreadable lines are skipped with
 * a warning, and the log compacted (the latest line of each id, in id
 * order: a new file renamed over it) if it holds any, or superseded
 * lines. */
int reclog_open(struct reclog *l, const char *path, struct rh_err *err);
void reclog_close(struct reclog *l);
/* Append id's record: line is len bytes of one line, its newline last. */
int reclog_append(struct reclog *l, const char *id, const char *line,
                  size_t len);
int reclog_has(const struct reclog *l, const char *id);
/* id's latest record (no newline, NUL-terminated) as out; -ENOENT. */
int reclog_get(const struct reclog *l, const char *id, struct rh_buf *out);
/* The ids recorded, appended to v (*n of them; repeats and all): v. */
char **reclog_ids(const struct reclog *l, char **v, size_t *n);
uint64_t reclog_last_key(const struct reclog *l);

/* record.c's state: the journal of calls not ended, the log of ended
 * calls' records, and the spare call directories that new calls take. */
#define RECORD_SPARES 2
struct records {
	struct reclog log;      /* AGENT_RECLOG */
	int jfd;                /* the journal (O_APPEND); -1: not open */
	off_t jsize, jbase;     /* its size, and the size it had when last
	                         * rewritten */
	struct timespec jidle;  /* CLOCK_MONOTONIC: since when no call is
	                         * active (0: one is) */
	int spare_made[RECORD_SPARES];  /* 0: none; 1: the directory;
	                                 * 1 + k: and its first k files */
};

/* All of the agent's state. The agent is one thread (serve.c's loop):
 * nothing here needs a lock. */
struct agent {
	char *home;             /* where calls run unless they say */
	char *dir;              /* ~/.rh/agent */
	int foreground;
	enum rh_log_level log_level;    /* -v: debug */
	int lfd;                /* the listening socket */
	int hfd;                /* AGENT_FDSOCK's, or -1 */
	int sigfd;
	unsigned jobs;          /* most calls running at once */
	struct conn *conns;
	unsigned nconns;
	uint64_t next_serial;
	struct call_list queued, running;
	uint64_t last_id;       /* microseconds of the newest call id */
	uint64_t ncalls;        /* accepted since start */
	/* a call just queued whose journal line waits for the end of its
	 * request: one that starts at once then writes one line, not two */
	const struct call *unsaved;
	int trim;               /* many calls were active: give memory back
	                         * once none is (serve.c) */
	struct timespec started;        /* CLOCK_MONOTONIC */
	struct timespec started_wall;
	int stopping;
	/* autostop.c: stop after this many idle minutes; -1: never */
	int autostop_mins;
	struct timespec last_active;    /* CLOCK_MONOTONIC */
	/* logwait.c: "log" requests waiting for the log to grow */
	struct log_waiter *log_waiters;
	/* outwait.c: "output" requests waiting for a call's output */
	struct outwait *outwait;
	struct pool_set pools;          /* pool.c */
	struct records records;         /* record.c */
	unsigned long long sched_pass;  /* call_schedule's passes */
	struct head *head;      /* head.c: worker nodes; NULL: none */
	char *worker_name;      /* worker.c: this agent is worker NAME */
	int reexec;             /* worker.c: run again once stopped */
};

/* rhagent.c */
int agent_dir(char **dir, char **home, struct rh_err *err);

/* serve.c */
/* (Re)open the log file as stderr. */
int agent_log_open(void);
int serve_setup(struct agent *a, struct rh_err *err);
int serve_loop(struct agent *a);
/* A new client on fd (its replies to ofd; hold: a descriptor closed
 * with it, or -1). */
struct conn *conn_new(struct agent *a, int fd, int ofd, int hold);
/* Queue msg (consumed) for c; it goes out at the end of the turn. */
void conn_send(struct agent *a, struct conn *c, struct cJSON *msg);
/* Write c's queued replies now, as far as it takes them (the rest at the
 * end of the turn). */
void conn_flush(struct agent *a, struct conn *c);

/* op.c */
void op_handle(struct agent *a, struct conn *c, struct rh_proto_msg *m);

/* call.c: calls from request to end */
int call_init(struct agent *a, struct rh_err *err);
/* A call from its request, checked (its argv, or its Python worker's
 * request, and the form of its $refs), not yet recorded nor queued. */
int call_parse(struct agent *a, const struct cJSON *req, struct call **out,
               struct rh_err *err);
void call_free(struct call *c);
/* Validate a call request, record it on disk and queue it; its journal
 * line is written by call_submitted (after call_schedule) unless it has
 * started or ended by then. */
void call_submitted(struct agent *a);
int call_submit(struct agent *a, const struct cJSON *req, struct call **out,
                struct rh_err *err);
void call_schedule(struct agent *a);
void call_reap(struct agent *a);
/* Deal with expired deadlines; return ms until the next one, or -1. */
int call_tick(struct agent *a);
int call_cancel(struct agent *a, const char *id, int *was_active,
                struct rh_err *err);
void call_stop_all(struct agent *a);
/* A call not yet ended, or NULL. */
struct call *call_find(struct agent *a, const char *id);
/* Answer request id on c when the call ends. */
void call_wait(struct call *call, struct conn *c, uint64_t id);
void call_forget_conn(struct agent *a, struct conn *c);
const char *call_state_name(enum call_state s);

/* record.c: call records on disk, and what clients read of them */
uint64_t record_id_time(const char *id);
void record_id_format(uint64_t us, char *out, size_t len);
/* Load the log of ended calls' records (call_init, before anything
 * reads a record). */
int record_log_open(struct agent *a, struct rh_err *err);
/* Close it, once no call will end (the agent stops). */
void record_close(struct agent *a);
char *record_path(const char *id, const char *name);
/* Give c its id and write its spec; then record_save its status. */
int record_create(struct agent *a, struct call *c, const struct cJSON *req,
                  struct rh_err *err);
void record_save(struct agent *a, const struct call *c);
void record_end(struct agent *a, const struct call *c);
void record_clear_active(struct agent *a, const char *id);
/* The journal of calls not ended: what it holds (the last record of each
 * active call, read at start), then open it anew for appending; keep it
 * small (each turn of the loop). */
struct cJSON *record_journal_load(void);
int record_journal_open(struct agent *a, struct rh_err *err);
int record_journal_tidy(struct agent *a);  /* ms until it looks again */
/* Make a little more of the spare call directories that new calls take
 * (no inode made while a client waits): 1 when there is more to make. */
int record_spare_step(struct agent *a);
/* Whether a record is of a call not yet ended. */
int record_is_active(const struct cJSON *rec);
int record_exists(const char *id);
struct cJSON *record_read(const char *id, const char *name);
/* A call's record from disk (its latest line in calls/records.log, or an
 * older agent's calls/ID.json or calls/ID/status.json) into rec, which points into *json: free both,
 * also on failure. ENOENT when there is none; EIO (logged) when it does
 * not read as a record. */
struct rh_call_record;
int record_load(const char *id, struct cJSON **json,
                struct rh_call_record *rec, struct rh_err *err);
/* An ended call's record appended to calls/records.log. */
int record_write_ended(const char *id, const struct rh_call_record *rec);
/* Make the call's directory (a Python call has none until needed). */
int record_dir(const char *id);
/* A Python call's result kept in its record; -ENOENT: none there. */
int record_result(const char *id, struct rh_buf *out);
/* The valid call ids in a directory, sorted. */
char **record_ids(const char *dir, size_t *count);
void record_ids_free(char **ids, size_t count);
/* Add a call's record to a reply, with its result once ended
 * (RECORD_RESULT) and its spec (RECORD_SPEC) when asked; from c when
 * given, else from memory or disk. */
#define RECORD_RESULT 1
#define RECORD_SPEC 2
int record_describe(struct agent *a, const char *id, const struct call *c,
                    struct cJSON *into, int what, struct rh_err *err);
/* Up to len bytes of a call's stream from off into out (its data
 * appended), with the stream's size and whether it has ended there. */
struct rh_bytes_reply;
int record_output(struct agent *a, const char *id, const char *stream,
                  uint64_t off, size_t len, struct rh_bytes_reply *out,
                  struct rh_err *err);
/* The newest calls first, those of send only when it is not NULL, those
 * before id before only when it is not NULL. */
void record_history(struct agent *a, const char *send, const char *before,
                    size_t limit, struct cJSON *into);

/* autostop.c: stop when idle for autostop_mins (kept in the agent's
 * directory across restarts) */
#define AUTOSTOP_MAX (60 * 24 * 365)    /* minutes */
void autostop_init(struct agent *a);
int autostop_set(struct agent *a, int mins, struct rh_err *err);
void autostop_touch(struct agent *a);
/* Set stopping when idle long enough; ms until the next look, or -1. */
int autostop_tick(struct agent *a);

/* logwait.c: the agent's log read from an offset; at its end, the
 * request waits (at most wait_ms, RH_LOG_WAIT_MAX_MS) until the log
 * grows */
struct log_waiter;
int logwait_read(struct agent *a, struct conn *c, uint64_t id, uint64_t off,
                 size_t len, unsigned wait_ms);
/* Answer waiters whose log grew or whose wait ended; ms until the next
 * deadline, or -1. Call at the end of each turn. */
int logwait_tick(struct agent *a);
void logwait_forget_conn(struct agent *a, struct conn *c);

/* outwait.c: a call's stdout or stderr read from an offset; at its end,
 * while the call runs, the request waits (at most wait_ms, capped at
 * OUTWAIT_MAX_MS) until the file grows or the call ends */
#define OUTWAIT_MAX_MS 30000
struct outwait;
void outwait_init(struct agent *a);
void outwait_stop(struct agent *a);
/* The descriptor that tells of output written (for poll), or -1. */
int outwait_fd(struct agent *a);
int outwait_read(struct agent *a, struct conn *c, uint64_t id,
                 const char *call, const char *stream, uint64_t off,
                 size_t len, uint64_t wait_ms, struct rh_err *err);
/* Answer waiters with news or whose wait ended; ms until the next
 * deadline, or -1. Call at the end of each turn. */
int outwait_tick(struct agent *a);
/* What poll said of outwait_fd: the next tick reads its events. */
void outwait_polled(struct agent *a, short revents);
/* A call started or ended: its waiters look again (where its output
 * is, whether it has ended). */
void outwait_wake(struct agent *a, const char *call);
void outwait_forget_conn(struct agent *a, struct conn *c);

/* pool.c: Python calls, run by warm worker processes per module */
int pool_init(struct agent *a, struct rh_err *err);
/* Keep what the worker of a Python call needs in c->py (its function,
 * args, kwargs, env and secret_env; python: the interpreter, NULL for
 * python3). */
void pool_spec(struct agent *a, const struct rh_call_spec *s,
               const char *python, struct call *c);
/* Whether a worker can take the Python call c now. */
int pool_ready(struct agent *a, struct call *c,
               unsigned long long pass);
/* Whether some pool could take a call now. */
int pool_any_room(const struct agent *a);
/* Where a running Python call's stdout or stderr is (its worker's file),
 * or NULL: in its call directory. */
char *pool_output_path(const struct call *c, const char *stream);
/* Hand a Python call to a worker; it is running, or ended if none can
 * start. */
void pool_start(struct agent *a, struct call *c);
/* A child ended: 1 if it was a worker (its call, if any, is ended). */
int pool_reaped(struct agent *a, pid_t pid, int status);
/* The workers' descriptors for poll: at most pool_nfds of them, filled
 * in by pool_pollfds (which says how many), handled by pool_events after
 * the poll. */
size_t pool_nfds(struct agent *a);
size_t pool_pollfds(struct agent *a, struct pollfd *pfd);
void pool_events(struct agent *a, const struct pollfd *pfd);
/* Let idle workers go; ms until the next one is due, or -1. */
int pool_tick(struct agent *a);
void pool_stop_all(struct agent *a);
/* call.c, for pool.c: the spawn attributes of a call's program. */
void call_spawnattr_init(posix_spawnattr_t *at);
/* A call's stdout or stderr file (name), made empty, for its program to
 * write: the descriptor, or -1 and errno. */
int call_open_output(const char *id, const char *name);
/* call.c, for pool.c and step.c: c runs as process pid (started at
 * start_ticks, as proc_start says), from now; its record says so. */
void call_running(struct agent *a, struct call *c, pid_t pid,
                  unsigned long long start_ticks);
/* call.c, for pool.c: end a running call; reason may be NULL. */
void call_finish(struct agent *a, struct call *c, enum call_state state,
                 const char *reason);
/* The start time of a process (ticks since boot): pid and it name one
 * process for good. */
unsigned long long proc_start(pid_t pid);

/* head.c: the head of several nodes: worker agents connect to its TCP
 * listener, prove they hold its key, and run the calls it hands them */
struct node;
int head_op_workers(struct agent *a, struct conn *c,
                    const struct rh_proto_msg *m, struct rh_err *err);
/* Whether the head runs calls itself (a head with no local slots does
 * not). */
int head_local(const struct agent *a);
/* Whether a call's node names this head: its name, or "head". */
int head_is(const struct agent *a, const char *name);
/* The name of the head's own node. */
const char *head_name(const struct agent *a);
/* A node with a free slot, or NULL. */
struct node *head_pick(struct agent *a);
/* The worker node name, when it is up and has a free slot; *up says
 * whether it is up. */
struct node *head_node_named(struct agent *a, const char *name, int *up);
/* Send a call (already listed as running, on node n) to its node. */
void head_send_call(struct agent *a, struct node *n, struct call *c);
/* A running call on a node: ask the node to cancel it. */
void head_cancel(struct agent *a, struct call *c);
/* A request about call id that ran on another node is sent there, its
 * reply relayed: 1 when so, 0 when the call is this node's, -errno with
 * err when its node is not connected. */
int head_proxy(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
               const char *id, struct rh_err *err);
void head_forget_conn(struct agent *a, struct conn *c);
/* Whether call id runs or ran on a worker node (not here). */
int head_elsewhere(struct agent *a, const char *id);
/* status: the nodes */
void head_status(struct agent *a, struct cJSON *into);
size_t head_nfds(struct agent *a);
size_t head_pollfds(struct agent *a, struct pollfd *pfd);
void head_events(struct agent *a, const struct pollfd *pfd);
int head_tick(struct agent *a);
void head_stop(struct agent *a);
/* record.c: the node in a call's record, and what it told of the call */
struct rh_call_record;
void node_record(const struct call *c, struct rh_call_record *rec);
/* HMAC-SHA256 of the parts (each NUL-ended string) with key, in hex
 * (65 bytes). */
void head_proof(const unsigned char *key, size_t keylen, const char *what,
                const char *n1, const char *n2, const char *node,
                char *hex);

/* step.c: a call with Slurm resources of its own runs as a job step of
 * the allocation (srun --jobid), which runs `rhagent step` */
/* Start a ready call (already listed as running) as its job step; it is
 * running, or ended if srun cannot start. */
void step_start(struct agent *a, struct call *c);
/* Its srun ended with status (not cancelled): end the call as the step
 * says it ended, or with Slurm's reason. */
void step_reaped(struct agent *a, struct call *c, int status);
/* Learn the node of steps that started; ms until the next look, or -1. */
int step_tick(struct agent *a);
/* Whether call id ran as a job step (its output is here). */
int step_ran(const char *id);
/* A call whose agent died while its step ran: scancel the step, if it
 * started and did not end. */
void step_orphan(const char *id);
/* rhagent step --dir DIR: run the call of the spec on stdin, once. */
int step_main(int argc, char **argv);

/* head-slurm.c: what Slurm says of the job of a lost or leaving worker
 * node (its end state), asked in a child of the head's. */
struct slurm_ask;
/* Whether s is a Slurm job id (digits). */
int slurm_job_valid(const char *s);
/* Start asking about job (patient: while it still runs too, for a
 * while); NULL when it cannot be (logged). */
struct slurm_ask *slurm_ask_start(const char *job, int patient);
/* Its descriptor to poll for reading; -1 once done. */
int slurm_ask_fd(const struct slurm_ask *q);
/* Read what is there: 1 once done (the answer is in). */
int slurm_ask_read(struct slurm_ask *q);
/* Its deadline: ms until it, or 0 when done (killed at the deadline). */
int slurm_ask_tick(struct slurm_ask *q);
/* Once done: 1 and Slurm's end of the job in buf ("Slurm job 12 ended:
 * TIMEOUT (time limit reached) on node1"), or 0 while Slurm says it runs
 * or said nothing. */
int slurm_ask_reason(const struct slurm_ask *q, const char *node, char *buf,
                     size_t len);
void slurm_ask_free(struct slurm_ask *q);
/* call.c, for head.c: a call handed to a worker node that did not take
 * it (the node is leaving) waits in the queue again, first. */
void call_requeue(struct agent *a, struct call *c);
/* worker.c: rhagent worker */
int worker_main(int argc, char **argv, enum rh_log_level log_level);
/* rhagent.c, for worker.c */
int agent_make_dir(const char *home, const char *dir, struct rh_err *err);
int agent_lock_pid(int *fd, struct rh_err *err);
void agent_write_pid(int fd);
int agent_stop_dir(const char *dir, const char *home);

/* bridge.c */
int bridge_main(const char *dir, int verbose);
/* The message on AGENT_FDSOCK: one byte, and a bridge's stdin and stdout
 * (SCM_RIGHTS) that the bridge sends and the agent takes (serve.c). */
struct handoff_msg {
	struct msghdr msg;
	struct iovec iov;
	char byte;
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
};
/* m made ready to send byte, or to receive into. */
void handoff_msg_init(struct handoff_msg *m, char byte);

#endif
