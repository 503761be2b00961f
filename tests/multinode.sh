#!/bin/sh
# multinode.sh - one head and worker agents (`rhagent worker`), each node
# with a home of its own: the head's listener and key, a wrong key
# refused, a map spread over both nodes, output, cancel and $ref of calls
# on a worker, a worker killed mid-map and its rejoin. Driven through the
# head's protocol by tests/multinode.py; tests/multinode-byo.sh does the
# same through rhfs, over SSH.
. "$top_srcdir/tests/lib.sh"
RHAGENT=$top_builddir/rhagent
NODES=$T/nodes
mkdir -p "$NODES"

# no agent of ours outlives the test: the head, and any worker left
mn_cleanup() {
	for pidf in "$NODES"/*/.rh/nodes/*/pid; do
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf" 2>/dev/null)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	"$RHAGENT" stop >/dev/null 2>&1
	cleanup
}
trap mn_cleanup EXIT

mn() {
	timeout 300 "$PYTHON3" "$top_srcdir/tests/multinode.py" "$RHAGENT" \
		"$NODES" "$1"
}
# the head's calls import the module from its home too
cat >"$HOME/mnmod.py" <<'PY'
import os, sys, time
def double(x, pause=0.0):
    time.sleep(pause)
    return x * 2
def talk(n):
    for i in range(n):
        print("line", i, flush=True)
        time.sleep(0.1)
    return n
def add(a, b):
    return a + b
PY

for c in listen badkey map node lost; do
	check "multinode: $c" mn "$c"
	sed 's/^/# /' "$T/out"
	# a new head for each check
	"$RHAGENT" stop >/dev/null 2>&1
done
finish
