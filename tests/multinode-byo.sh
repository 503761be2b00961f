#!/bin/sh
# multinode-byo.sh - a BYO cluster of two ips through rhfs: two real sshds
# on loopback are the nodes (127.0.0.1 and 127.0.0.2; one test user of
# this test's own, so they share a home, as nodes on NFS do). rhfs installs rhagent on both,
# the head listens, the second node gets the key over SFTP and runs
# `rhagent worker`; a Python map of 200 calls written to one invoke runs
# on both (each result once, both node names in the records); status
# lists each node; the worker killed mid-map fails only its own calls,
# with the reason, and status brings it back; a node down (worker killed,
# sshd stopped) and back rejoins on rhfs's timer, with no status read.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/nodes-lib.sh"
# a test user of its own: this test does not wait for the shared node's,
# only for another run of itself (its user's own lock, sshd-lib.sh)
SSH_USER=rhfs-multinode
NH=/home/$SSH_USER

# the node's worker agents and its head's agent, by their pid files
stop_agents() {
	for pidf in "$NH"/.rh/nodes/*/pid; do
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
rm -rf "$NH/.rh"
nodes_module "$NH"

mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/two" "$R/dbl"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1", "127.0.0.2"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/two/config.json"
printf '{"resource_type": "send", "hardware": "~/two", "fn_pointers": ["mnpy", "mnfns", "double"]}' \
	>"$R/dbl/config.json"

check "a map of 200 Python calls on two nodes" \
	timeout 300 "$PYTHON3" "$T/map.py" "$R/dbl/invoke" 200 0.02
sort -n "$T/out" >"$T/got"
seq 0 2 398 >"$T/want"
same "  each result once" "$T/got" "$T/want"
check "  their records" "$PYTHON3" "$T/recs.py" "$R/dbl/calls"
cp "$T/out" "$T/recs"
has "  some ran on the head (node0)" "$T/recs" "done node0 None"
has "  some ran on the second node (node1)" "$T/recs" "done node1 None"
lacks "  none failed" "$T/recs" "failed"
check "  the worker keeps its records in its own directory" \
	test -d "$NH/.rh/nodes/node1/calls"
check "  the key was copied to the node, private" \
	sh -c "[ \$(stat -c %a '$NH/.rh/nodes/node1/worker.key') = 600 ]"

# a send's setup_cmds run on every node (here, twice in the one home)
mkdir "$R/set"
printf '{"resource_type": "send", "hardware": "~/two", "fn_pointers": ["mnpy", "mnfns", "double"], "setup_cmds": ["echo ran >>mnpy/setup-ran"]}' \
	>"$R/set/config.json"
check "a send with setup_cmds" sh -c "echo '[4]' >'$R/set/invoke'"
check "  its result" cat "$R/set/calls/latest/result"
if [ "$(grep -c '^ran$' "$NH/mnpy/setup-ran" 2>/dev/null)" = 2 ]; then
	pass "  its setup_cmds ran once on each node"
else
	fail "  its setup_cmds ran once on each node ($(cat "$NH/mnpy/setup-ran" 2>&1))"
fi

check "status of the cluster" timeout 60 cat "$R/two/status"
cp "$T/out" "$T/st"
check "  lists each node" "$PYTHON3" "$T/nodes.py" "$T/st"
cp "$T/out" "$T/n"
hpid=$(sed -n 's/^node0 127\.0\.0\.1 head up \([0-9][0-9]*\) .*/\1/p' "$T/n")
wpid=$(sed -n 's/^node1 127\.0\.0\.2 worker up \([0-9][0-9]*\) .*/\1/p' "$T/n")
check "  the head, up, with its agent" test -n "$hpid"
check "  node1, up, with its own worker agent" \
	sh -c "[ -n '$wpid' ] && [ '$wpid' != '$hpid' ]"
has "  with its running calls and load" "$T/n" "running=0 load"

# the worker dies mid-map: its calls fail, naming it; the others run
map_kill_worker "$R/dbl/invoke" "$R/two/status" "$wpid"
check "  the map's records" "$PYTHON3" "$T/recs.py" "$R/dbl/calls"
cp "$T/out" "$T/recs2"
has "  the worker's calls failed, naming it" "$T/recs2" \
	"failed node1 node node1 lost: "
if [ "$(grep -c '^done' "$T/recs2")" -gt 200 ]; then
	pass "  the others went on"
else
	fail "  the others went on ($(grep -c '^done' "$T/recs2") done)"
fi
check "status with the worker gone, and back" timeout 60 cat "$R/two/status"
cp "$T/out" "$T/st2"
check "  lists each node" "$PYTHON3" "$T/nodes.py" "$T/st2"
cp "$T/out" "$T/n2"
# the worker started again by that status joins within seconds
i=0
while ! grep -q "^node1 127\.0\.0\.2 worker up [0-9]" "$T/n2" &&
	[ $i -lt 30 ]; do
	sleep 1
	i=$((i + 1))
	timeout 60 cat "$R/two/status" >"$T/st2" 2>/dev/null
	"$PYTHON3" "$T/nodes.py" "$T/st2" >"$T/n2" 2>&1
done
npid=$(sed -n 's/^node1 127\.0\.0\.2 worker up \([0-9][0-9]*\) .*/\1/p' "$T/n2")
check "  node1 rejoined with a new worker" \
	sh -c "[ -n '$npid' ] && [ '$npid' != '$wpid' ]"
[ -n "$npid" ] || sed 's/^/# /' "$T/n2" "$NH/.rh/nodes/node1/log" | tail -20
check "a map after the rejoin" \
	timeout 300 "$PYTHON3" "$T/map.py" "$R/dbl/invoke" 40 0.2
check "  their records" "$PYTHON3" "$T/recs.py" "$R/dbl/calls"
if [ "$(grep -c '^done node1' "$T/out")" -gt \
	"$(grep -c '^done node1' "$T/recs2")" ]; then
	pass "  node1 runs calls again"
else
	fail "  node1 runs calls again"
fi

# node1 down (its worker killed, its sshd stopped), then back: rhfs
# starts its worker again on a timer, with no status read; calls go to
# it again within a bounded wait
opid=$(cat "$NH/.rh/nodes/node1/pid")
joins=$(grep -c 'joined the head' "$NH/.rh/nodes/node1/log")
stop_sshd2
kill -9 "$opid"
check "a map while node1 is down" \
	timeout 300 "$PYTHON3" "$T/map.py" "$R/dbl/invoke" 20 0
"$PYTHON3" "$T/recs.py" "$R/dbl/calls" >"$T/recs3"
start_sshd2 || fail "  the second sshd again"
wait_for 120 sh -c "[ \$(grep -c 'joined the head' '$NH/.rh/nodes/node1/log') -gt $joins ]" ||
	fail "  node1 rejoins by itself within 120 s"
npid2=$(cat "$NH/.rh/nodes/node1/pid")
check "  with a new worker, unasked" \
	sh -c "[ -n '$npid2' ] && [ '$npid2' != '$opid' ] && kill -0 '$npid2'"
grep 'not up: starting' "$MNT/.log" | tail -n 2 | sed 's/^/# /'
has "  rhfs's timer started it" "$MNT/.log" "1 node not up: starting its worker again"
check "a map after that" \
	timeout 300 "$PYTHON3" "$T/map.py" "$R/dbl/invoke" 40 0.2
"$PYTHON3" "$T/recs.py" "$R/dbl/calls" >"$T/recs4"
if [ "$(grep -c '^done node1' "$T/recs4")" -gt \
	"$(grep -c '^done node1' "$T/recs3")" ]; then
	pass "  node1 runs calls again"
else
	fail "  node1 runs calls again"
fi
finish
