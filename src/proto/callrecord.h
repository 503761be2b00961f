/* callrecord.h - a call's record (docs/protocol.md, "The call record") as
 * a C struct, with the one encoder and the one decoder both sides use:
 * rhagent writes its records on disk and builds the replies of call,
 * get, cancel and list with the encoder and reads its records back with
 * the decoder; rhfs decodes every record an agent sends with it, and
 * encodes the records of the calls it holds itself.
 *
 * A field's absence and its null are told apart only where the record's
 * forms differ: pid_start is on disk only, stdout_size and stderr_size in
 * replies only, spec and the result where asked for. */
#ifndef RH_CALLRECORD_H
#define RH_CALLRECORD_H

#include <time.h>

#include "base.h"

struct cJSON;

enum rh_call_state {
	RH_CALL_QUEUED, RH_CALL_RUNNING,        /* not ended */
	RH_CALL_DONE, RH_CALL_FAILED, RH_CALL_CANCELLED,
};
/* "queued", "running", "done", "failed", "cancelled" */
const char *rh_call_state_name(enum rh_call_state s);
/* The state a name says, or -1. */
int rh_call_state_of(const char *name);
#define RH_CALL_ENDED(s) ((s) >= RH_CALL_DONE)

/* What a record says of the call's result. */
enum rh_call_result {
	RH_RESULT_NONE,         /* nothing: not ended, or not asked for */
	RH_RESULT_BYTES,        /* result (or result_b64): in result */
	RH_RESULT_TRUNCATED,    /* result_truncated: too large for a reply,
	                         * read by "output" of stream "result" */
};

/*
 * A record. Its strings and spec point into what was decoded (or into
 * what the encoder's caller holds); result is the record's own, freed by
 * rh_call_record_free. A NULL or empty string, a 0 pid or signal, an exit
 * of -1 and a zero time are null in JSON.
 */
struct rh_call_record {
	const char *call;       /* the call id: required */
	enum rh_call_state state;       /* required */
	const char *send;       /* the send it belongs to, as given */
	const char *queue;      /* as given */
	const char *node;       /* of several: the node that ran it */
	long long pid;          /* of its process (a Python call's worker) */
	long long pid_start;    /* on disk: the pid's start time in clock
	                         * ticks (0: unknown), written beside pid so
	                         * that a reused pid is never killed; -1: not
	                         * in this form (replies) */
	int exit;               /* exit status */
	int signal;             /* the signal that killed it */
	const char *reason;     /* why it failed or was cancelled */
	struct timespec queued_at, started_at, ended_at;
	long long stdout_size, stderr_size;     /* -1: not in this form */
	const struct cJSON *spec;       /* the request as the agent got it
	                                 * (an object), or NULL: absent */
	struct cJSON *spec_ref; /* or this spec, referred to and not copied:
	                         * the encoded object is printed and deleted
	                         * while it stays as it is */
	enum rh_call_result result_is;
	struct rh_buf result;   /* its bytes, when RH_RESULT_BYTES */
};

/* An empty record: every field null, the sizes and pid_start absent. */
void rh_call_record_init(struct rh_call_record *rec);
void rh_call_record_free(struct rh_call_record *rec);

/* rec's fields added to the object o (a reply message, or an empty
 * object for disk), in the order of docs/protocol.md; spec copied, or
 * referred to (spec_ref). */
void rh_call_record_encode(struct cJSON *o, const struct rh_call_record *rec);

/*
 * The record o holds into rec (which is initialised first; free it with
 * rh_call_record_free even on failure). call and state are required;
 * every other field is optional and null is as absent. A field of the
 * wrong type, a state or time not of the record's forms, or a result that
 * is not bytes is EINVAL naming the field. Fields it does not know are
 * ignored: a newer agent may add some (and a reply carries id, op, ok).
 */
int rh_call_record_decode(const struct cJSON *o, struct rh_call_record *rec,
                          struct rh_err *err);

#endif
