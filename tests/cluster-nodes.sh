#!/bin/sh
# cluster-nodes.sh - a BYO cluster of several ips: its status lists every
# node, not only the head (address, role, state, its agent or the
# reason): the second node runs a worker agent of its own, joined to the
# head. Two real sshds on loopback are the nodes (127.0.0.1 and
# 127.0.0.2, one port); they log in the same test user, so they share its
# home, as nodes on a shared home do: each node's agent has a directory
# of its own there.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
# the worker agents, by their pid files, and the head's
stop_agents() {
	for pidf in /home/"$SSH_USER"/.rh/nodes/*/pid; do
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf" 2>/dev/null)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	stop_node_agent
}
trap 'stop_agents; stop_sshd2; stop_sshd; cleanup' EXIT

start_sshd || finish
start_sshd2 || { fail "a second sshd on 127.0.0.2"; finish; }
stop_agents
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=3"
R=$MNT/~
mkdir "$R/two" "$R/one"
creds=$(printf '"ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT")
printf '{"resource_type": "cluster", "ips": ["127.0.0.1", "127.0.0.2"], %s}' \
	"$creds" >"$R/two/config.json"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], %s}' \
	"$creds" >"$R/one/config.json"

# nodes FILE: each node of a status as "ADDRESS ROLE STATE AGENT-PID|-",
# then "error: ..." lines; "no nodes" when it has none
cat >"$T/nodes.py" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
if "nodes" not in st:
    print("no nodes")
for n in st.get("nodes", []):
    print(n["address"], n["role"], n["state"],
          n.get("agent", {}).get("pid", "-"))
for n in st.get("nodes", []):
    if "error" in n:
        print("error: " + n["error"])
PY
nodes() {
	"$PYTHON3" "$T/nodes.py" "$1"
}

check "status of a cluster of two nodes" timeout 60 cat "$R/two/status"
cp "$T/out" "$T/st"
has "  the head is up" "$T/st" '"state": "up"'
check "  lists its nodes" nodes "$T/st"
cp "$T/out" "$T/n"
pid=$(sed -n 's/^127\.0\.0\.1 head up \([0-9][0-9]*\)$/\1/p' "$T/n")
check "  the head, up, with its agent" test -n "$pid"
wpid=$(sed -n 's/^127\.0\.0\.2 worker up \([0-9][0-9]*\)$/\1/p' "$T/n")
check "  the second node: up, its own worker agent (a shared home)" \
	sh -c "[ -n '$wpid' ] && [ '$wpid' != '$pid' ]"
[ -n "$wpid" ] || sed 's/^/# /' "$T/n"
check "  the second node was reached at its own address" \
	grep -q "Accepted publickey for $SSH_USER" "$SSH_DIR/sshd2.log"
check "status of a cluster of one node" timeout 60 cat "$R/one/status"
cp "$T/out" "$T/st1"
check "  has no node list" nodes "$T/st1"
has "  (none)" "$T/out" "no nodes"

# the second node goes away (its sshd, its agent): it alone is lost,
# with the reason
stop_sshd2
kill "$wpid"
check "status with the second node gone" timeout 60 cat "$R/two/status"
cp "$T/out" "$T/st"
has "  the head is still up" "$T/st" '"state": "up"'
check "  lists its nodes" nodes "$T/st"
has "  the head: up" "$T/out" "127.0.0.1 head up $pid"
has "  the second node: lost" "$T/out" "127.0.0.2 worker lost -"
has "  with the reason, naming it" "$T/out" "error: node node1 lost: "
has "  and why it cannot be started again" "$T/out" \
	"127.0.0.2:$SSH_PORT: cannot connect"

# and comes back
start_sshd2 || { fail "the second sshd again"; finish; }
check "status with the second node back" timeout 60 cat "$R/two/status"
cp "$T/out" "$T/st"
check "  lists its nodes" nodes "$T/st"
has "  the second node is up again" "$T/out" "127.0.0.2 worker up"
lacks "  with a new worker agent" "$T/out" "127.0.0.2 worker up $wpid"
finish
