/* file-run.c - a cluster's run and python: each write to run is one
 * shell command, and the source written to python up to a read, fsync
 * or close is one Python program, run by python3 on the cluster's node
 * with the call machinery of invoke (file-invoke.c); reading the same
 * open file gives its output (stdout and stderr, as they came) and a
 * last line "exit N". A command or program over RUN_COMMAND_MAX fails
 * whole and nothing runs. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "proto.h"
#include "callrecord.h"
#include "rhfs.h"

/* Longest command written to run: a longer write fails at its first
 * piece, whole, so that no part of it runs. And sh -c takes the command
 * as one argument, which Linux holds to 128 KiB. */
#define RUN_COMMAND_MAX WRITE_PIECE_MIN

/* The whole of data is one what (a command, a program), for file name
 * (run, python). */
static int
parse_program(const char *name, const char *what, const char *addr,
              const char *data,
              size_t size, cJSON **out, struct rh_err *err)
{
	char *cmd;

	*out = NULL;
	if (size > RUN_COMMAND_MAX)
		return rh_err_set(err, E2BIG, "%s/%s: a %s of %zu bytes "
		                  "or more, over the %u KiB one holds: nothing "
		                  "runs", addr, name, what, size, RUN_COMMAND_MAX >> 10);

	while (size > 0 && strchr(" \t\r\n", data[size - 1]) &&
	       data[size - 1] != '\0')
		size--;
	*out = cJSON_CreateArray();
	if (size == 0)
		return 0;
	if (memchr(data, '\0', size) != NULL) {
		cJSON_Delete(*out);
		*out = NULL;
		return rh_err_set(err, EINVAL, "%s/%s: a %s cannot hold "
		                  "a NUL byte", addr, name, what);
	}
	cmd = xstrndup(data, size);
	cJSON_AddItemToArray(*out, cJSON_CreateString(cmd));
	free(cmd);
	return 0;
}

/* The whole write is one command. */
static int
parse_command(const char *addr, const char *data, size_t size,
              cJSON **out, struct rh_err *err)
{
	return parse_program("run", "command", addr, data, size, out, err);
}

static int
parse_python(const char *addr, const char *data, size_t size,
             cJSON **out, struct rh_err *err)
{
	return parse_program("python", "program", addr, data, size, out, err);
}

static cJSON *
run_request(struct invoke *inv, const cJSON *spec)
{
	struct rh_call_spec cs;
	cJSON *req;

	/* stderr joins stdout: the output reads as it came */
	rh_call_spec_init(&cs);
	rh_call_spec_set_shell(&cs, spec->valuestring);
	cs.send = xstrdup(invoke_addr(inv));
	cs.node = xstrdup("head");      /* of several nodes: on the head */
	req = rh_call_spec_encode(&cs);
	rh_call_spec_free(&cs);
	return req;
}

/* python3 -c SOURCE, SOURCE as the shell's $1: the interpreter python3
 * finds on the node's PATH (a venv's first, when the call names one) */
static cJSON *
python_request(struct invoke *inv, const cJSON *spec)
{
	struct rh_call_spec cs;
	struct rh_err err;
	cJSON *argv, *req;

	argv = cJSON_CreateArray();
	cJSON_AddItemToArray(argv, cJSON_CreateString("sh"));
	cJSON_AddItemToArray(argv, cJSON_CreateString("-c"));
	cJSON_AddItemToArray(argv, cJSON_CreateString(
		"exec 2>&1\nexec python3 -c \"$1\""));
	cJSON_AddItemToArray(argv, cJSON_CreateString("python"));
	cJSON_AddItemToArray(argv, cJSON_CreateString(spec->valuestring));
	rh_call_spec_init(&cs);
	(void)rh_call_spec_set_command(&cs, argv, &err);  /* well-formed */
	cJSON_Delete(argv);
	cs.send = xstrdup(invoke_addr(inv));
	cs.node = xstrdup("head");      /* of several nodes: on the head */
	req = rh_call_spec_encode(&cs);
	rh_call_spec_free(&cs);
	return req;
}

/* run's answer: the output, then "exit N" on a line of its own. */
static void
run_answer(struct rh_buf *out, int err, const struct rh_call_record *rec)
{
	if (err < 0) {
		rh_buf_printf(out, "rhfs: %s\nexit -1\n", strerror(-err));
		return;
	}
	if (rec->result_is == RH_RESULT_BYTES)
		rh_buf_append(out, rec->result.data, rec->result.len);
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		rh_buf_append(out, "\n", 1);
	if (rec->exit >= 0)
		rh_buf_printf(out, "exit %d\n", rec->exit);
	else
		rh_buf_printf(out, "exit -1 (%s)\n", rec->reason != NULL ?
		              rec->reason : "no exit status");
}

static const struct call_stream run_stream = {
	.parse = parse_command,
	.request = run_request,
	.answer = run_answer,
	.check = invoke_cluster_check,
	.prepare = invoke_cluster_prepare,
};

static int
run_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	return call_stream_open(fs, h, &run_stream, err);
}

static const struct call_stream python_stream = {
	.parse = parse_python,
	.request = python_request,
	.answer = run_answer,
	.check = invoke_cluster_check,
	.prepare = invoke_cluster_prepare,
	.whole = RUN_COMMAND_MAX,
};

static int
python_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	return call_stream_open(fs, h, &python_stream, err);
}

const struct fs_kind kind_run = {
	.name = "run",
	.mode = 0644,
	.nonseekable = 1,
	.open = run_open,
	.read = call_stream_read,
	.write = call_stream_write,
	.release = call_stream_release,
	.truncate = stream_truncate,
};

const struct fs_kind kind_python = {
	.name = "python",
	.mode = 0644,
	.nonseekable = 1,
	.open = python_open,
	.read = call_stream_read,
	.write = call_stream_write,
	.release = call_stream_release,
	.truncate = stream_truncate,
	.flush = call_stream_flush,
};
