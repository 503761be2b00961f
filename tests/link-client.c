/*
 * link-client.c - reach a cluster's agent through src/link/link.c and run one
 * command call on it, as rhfs will. Usage:
 *   link-client RHAGENT KNOWN_HOSTS ADDRESS CLUSTER_JSON ARGV...
 * Prints the call's result (its stdout); exits with 0 if the call ended
 * done, 1 if it failed, 2 if the cluster could not be reached. With
 * LINK_REPEAT=N, makes the call N times over the same link.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "proto.h"
#include "link.h"

int
main(int argc, char **argv)
{
	struct rh_link_opts o = { argv[1], argv[2], 5000 };
	struct rh_links *ls;
	struct rh_rpc *rpc;
	struct rh_err err;
	cJSON *cfg, *req, *cmd, *reply = NULL;
	const cJSON *state, *result;
	int i, r, n = getenv("LINK_REPEAT") ? atoi(getenv("LINK_REPEAT")) : 1;
	int status = 2;

	if (argc < 6) {
		fprintf(stderr, "usage: link-client RHAGENT KNOWN_HOSTS ADDRESS "
		        "CLUSTER_JSON ARGV...\n");
		return 2;
	}
	rh_log_init("link-client", 1, RH_LOG_INFO);
	if ((cfg = cJSON_Parse(argv[4])) == NULL) {
		fprintf(stderr, "bad cluster JSON\n");
		return 2;
	}
	if (rh_links_new(&o, &ls, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		cJSON_Delete(cfg);
		return 2;
	}
	if (rh_links_get(ls, argv[3], cfg, &rpc, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		rh_links_free(ls);
		cJSON_Delete(cfg);
		return 2;
	}
	for (i = 0; i < n; i++) {
		req = rh_proto_new(0, "call");
		cmd = cJSON_AddArrayToObject(req, "command");
		for (int a = 5; a < argc; a++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[a]));
		r = rh_rpc_call_wait(rpc, req, 10000, &reply);
		cJSON_Delete(req);
		if (r < 0) {
			fprintf(stderr, "call: %s\n", strerror(-r));
			status = 2;
			break;
		}
		state = cJSON_GetObjectItemCaseSensitive(reply, "state");
		result = cJSON_GetObjectItemCaseSensitive(reply, "result");
		if (i == n - 1 && cJSON_IsString(result))
			fputs(result->valuestring, stdout);
		status = cJSON_IsString(state) &&
		         strcmp(state->valuestring, "done") == 0 ? 0 : 1;
		cJSON_Delete(reply);
		reply = NULL;
	}
	rh_links_free(ls);
	cJSON_Delete(cfg);
	return status;
}
