#!/bin/sh
# ondemand-nodes.sh - an on-demand cluster of two nodes (num_instances: 2)
# through rhfs. The real SkyPilot is NOT run here (it cannot be installed
# on this machine): `sky` is tests/sky-standin.py, which for --num-nodes 2
# starts two loopback sshds, the head on 127.0.0.1 and the worker on
# 127.0.0.2 on a port of its own, and writes them into
# ~/.sky/generated/ssh/NAME as SkyPilot does (Host NAME, Host
# NAME-worker1). Checked: one launch with --num-nodes 2; the worker is
# reached with the details SkyPilot records for it (its own port, host
# key in rhfs's known hosts for the cluster) and runs `rhagent worker`; a
# Python map of 300 calls written to one invoke spreads over both nodes
# (each result once, the records naming node0 and node1); a send's
# setup_cmds run on each node; status lists both nodes; the worker killed
# mid-map fails only its calls, with the reason; ctl down takes both
# instances down.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/nodes-lib.sh"
# a test user of its own (its home is both nodes'), with a lock of its
# own: two runs of this test at once (from two build trees) take turns
SSH_USER=rhfs-odnodes
NH=/home/$SSH_USER
. "$top_srcdir/tests/sky-lib.sh"
trap 'stop_nodes; cleanup' EXIT

take_node
sky_setup
sky_on_path
stop_nodes
rm -rf "$NH/.rh"
nodes_module "$NH"

mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/two" "$R/dbl" "$R/set"
echo '{"resource_type": "cluster", "resource_subtype": "OnDemandCluster", "instance_type": "CPU:2", "num_instances": 2}' \
	>"$R/two/config.json"
echo '{"resource_type": "send", "hardware": "~/two", "fn_pointers": ["mnpy", "mnfns", "double"]}' \
	>"$R/dbl/config.json"

check "a map of 300 Python calls on a two-node on-demand cluster" \
	timeout 600 "$PYTHON3" "$T/map.py" "$R/dbl/invoke" 300 0.02
sort -n "$T/out" >"$T/got"
seq 0 2 598 >"$T/want"
same "  each result once" "$T/got" "$T/want"
[ "$(launches)" = 1 ] && pass "  one launch" || fail "  $(launches) launches"
has "  with --num-nodes 2" "$SKYDIR/argv.log" '"--num-nodes", "2"'
check "  their records" "$PYTHON3" "$T/recs.py" "$R/dbl/calls"
cp "$T/out" "$T/recs"
has "  some ran on the head (node0)" "$T/recs" "done node0 None"
has "  some ran on the worker node (node1)" "$T/recs" "done node1 None"
lacks "  none failed" "$T/recs" "failed"

check "status of the cluster" timeout 60 cat "$R/two/status"
cp "$T/out" "$T/st"
NAME=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sky"]["name"])' "$T/st" 2>/dev/null)
"$PYTHON3" - "$SKYDIR/state.json" "$NAME" >"$T/ports" <<'PY'
import json, sys
for n in json.load(open(sys.argv[1]))[sys.argv[2]]["nodes"]:
    print(n["host"], n["port"])
PY
P0=$(sed -n 's/^127\.0\.0\.1 //p' "$T/ports")
P1=$(sed -n 's/^127\.0\.0\.2 //p' "$T/ports")
check "  two instances, the worker on a port of its own" \
	sh -c "[ -n '$P0' ] && [ -n '$P1' ] && [ '$P0' != '$P1' ]"
has "  SkyPilot's SSH config names the worker" \
	"$HOME/.sky/generated/ssh/$NAME" "Host $NAME-worker1"
has "  whose host key rhfs checked at its own port" \
	"$HOME/.rh/sky/$NAME.known_hosts" "[127.0.0.2]:$P1"
check "  lists each node" "$PYTHON3" "$T/nodes.py" "$T/st"
cp "$T/out" "$T/n"
hpid=$(sed -n 's/^node0 127\.0\.0\.1 head up \([0-9][0-9]*\) .*/\1/p' "$T/n")
wpid=$(sed -n 's/^node1 127\.0\.0\.2 worker up \([0-9][0-9]*\) .*/\1/p' "$T/n")
check "  the head, up, with its agent" test -n "$hpid"
check "  node1, up, with its own worker agent" \
	sh -c "[ -n '$wpid' ] && [ '$wpid' != '$hpid' ]"
has "  with its running calls and load" "$T/n" "running=0 load"

# a send's setup_cmds run on every node (here, twice in the one home)
printf '{"resource_type": "send", "hardware": "~/two", "fn_pointers": ["mnpy", "mnfns", "double"], "setup_cmds": ["echo ran >>mnpy/setup-ran"]}' \
	>"$R/set/config.json"
check "a send with setup_cmds" sh -c "echo '[4]' >'$R/set/invoke'"
check "  its result" cat "$R/set/calls/latest/result"
if [ "$(grep -c '^ran$' "$NH/mnpy/setup-ran" 2>/dev/null)" = 2 ]; then
	pass "  its setup_cmds ran once on each node"
else
	fail "  its setup_cmds ran once on each node ($(cat "$NH/mnpy/setup-ran" 2>&1))"
fi

# the worker dies mid-map: its calls fail, naming it; the others run
map_kill_worker "$R/dbl/invoke" "$R/two/status" "$wpid"
check "  the map's records" "$PYTHON3" "$T/recs.py" "$R/dbl/calls"
cp "$T/out" "$T/recs2"
has "  the worker's calls failed, naming it" "$T/recs2" \
	"failed node1 node node1 lost: "
if [ "$(grep -c '^done' "$T/recs2")" -gt 300 ]; then
	pass "  the others went on"
else
	fail "  the others went on ($(grep -c '^done' "$T/recs2") done)"
fi
[ "$(launches)" = 1 ] && pass "  still one launch" || fail "  $(launches) launches"

# status starts the worker again: it rejoins
i=0
npid=
while [ -z "$npid" ] && [ $i -lt 30 ]; do
	timeout 60 cat "$R/two/status" >"$T/st2" 2>/dev/null
	"$PYTHON3" "$T/nodes.py" "$T/st2" >"$T/n2" 2>&1
	npid=$(sed -n 's/^node1 127\.0\.0\.2 worker up \([0-9][0-9]*\) .*/\1/p' "$T/n2")
	[ -n "$npid" ] || sleep 1
	i=$((i + 1))
done
check "  node1 rejoined with a new worker" \
	sh -c "[ -n '$npid' ] && [ '$npid' != '$wpid' ]"

# ctl down: both instances go, and the agents on them
check "ctl down" bash -c "echo down > '$R/two/ctl'"
has "  ran sky down" "$SKYDIR/argv.log" "[\"down\", \"-y\", \"$NAME\"]"
for hp in "127.0.0.1 $P0" "127.0.0.2 $P1"; do
	set -- $hp
	if "$PYTHON3" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' "$1" "$2" 2>/dev/null; then
		fail "  the instance at $1:$2 still answers"
	else
		pass "  the instance at $1:$2 is gone"
	fi
done
# (a zombie is gone: this machine's init may not reap it)
i=0
while [ -n "$npid" ] && [ $i -lt 50 ] &&
	sed 's/.*) //' "/proc/$npid/stat" 2>/dev/null | grep -qv '^Z'; do
	sleep 0.1
	i=$((i + 1))
done
if [ -n "$npid" ] &&
	sed 's/.*) //' "/proc/$npid/stat" 2>/dev/null | grep -qv '^Z'; then
	fail "  the worker agent still runs"
else
	pass "  the worker agent is gone"
fi
check "status after down" cat "$R/two/status"
has "  down" "$T/out" '"state": "down"'
finish
