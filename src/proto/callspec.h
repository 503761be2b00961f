/* callspec.h - the call request of the agent protocol ("op": "call",
 * docs/protocol.md) as a C struct, with the one encoder rhfs uses and the
 * one decoder rhagent uses, so that both sides read the same fields the
 * same way. */
#ifndef RH_CALLSPEC_H
#define RH_CALLSPEC_H

#include "base.h"

/* A call spec. It owns every pointer it holds: rh_call_spec_free frees
 * them (and wipes secret_env's values). What runs is either a program,
 * command, or a Python function, fn_module set. */
struct rh_call_spec {
	char **command;         /* argv, NULL-ended: the program first */
	char *fn_path;          /* fn_pointers: [path (NULL: null), */
	char *fn_module;        /*               module (NULL: a command), */
	char *fn_function;      /*               function] */
	struct cJSON *args;     /* an array, or NULL */
	struct cJSON *kwargs;   /* an object, or NULL */
	char *cwd;              /* NULL: the node's home */
	struct cJSON *env;      /* an object of strings, or NULL */
	struct cJSON *secret_env;       /* likewise: never written to disk */
	char *queue;
	char *send;
	char *venv;
	char *call;             /* the id proposed for the call, or NULL */
	char *node;             /* the node it must run on (a head's), or
	                         * NULL: any */
	struct cJSON *slurm;    /* the call's own Slurm job step: its
	                         * resources and the allocation's "job"
	                         * (slurmres.h), or NULL */
	int wait;               /* "wait", 1 unless false */
};

/* An empty spec: no program yet, wait 1. */
void rh_call_spec_init(struct rh_call_spec *s);
void rh_call_spec_free(struct rh_call_spec *s);

/* The program: command (a JSON array of strings, the first non-empty)
 * or fn_pointers ([path or null, module, function]); EINVAL with the
 * reason for any other value. The decoder's checks: rhfs judges a send's
 * config with them before it builds calls. */
int rh_call_spec_set_command(struct rh_call_spec *s, const struct cJSON *cmd,
                             struct rh_err *err);
int rh_call_spec_set_fn(struct rh_call_spec *s, const struct cJSON *fn,
                        struct rh_err *err);
/* The program sh -c "exec 2>&1; cmd": a shell command, its stderr
 * joined to its stdout so that the output reads as it came. */
void rh_call_spec_set_shell(struct rh_call_spec *s, const char *cmd);

/* The request message (id 0, op "call"): the fields set, "wait" always. */
struct cJSON *rh_call_spec_encode(const struct rh_call_spec *s);
/* A request into s, every field checked; EINVAL naming the field at
 * fault otherwise (s then holds nothing). Fields it does not know are
 * refused: the agent keeps the spec and it must mean what it says.
 * "id" and "op" are the frame's, not looked at. */
int rh_call_spec_decode(const struct cJSON *req, struct rh_call_spec *s,
                        struct rh_err *err);

/* A call id as the agent makes them: YYYYMMDD-HHMMSS-uuuuuu. */
int rh_call_id_valid(const char *id);
/* The call id of a $ref's text "<send>/calls/<ID>", and in *send_len the
 * length of its send; NULL if it has not that form. */
const char *rh_call_ref_split(const char *ref, size_t *send_len);

#endif
