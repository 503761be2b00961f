#!/bin/sh
# demo.sh - a tour for a new user: mount rhfs on a throwaway workdir (its
# rh/ is the local RNS ~) and HOME, browse the builtins with ^local among
# them, create and edit a command send with plain file operations and run
# it through its invoke file, then a Python send served by a warm worker:
# a call, a map, and a call's stdout streamed while it runs; a folder
# whose data is on ^local. Each step is narrated in one line. Always
# unmounts and stops the agent it started.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# the programs: in the build tree (make check says where), else here
bin=${top_builddir:-$top}
RHFS=$bin/rhfs
[ -x "$RHFS" ] || { echo "demo: build first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/rhfs-demo.XXXXXX)
M=$T/mnt
mkdir -p "$T/work" "$T/home" "$M"
HOME=$T/home
export HOME
trap 'cd /; fusermount3 -u "$M" 2>/dev/null; "$bin/rhagent" stop >/dev/null 2>&1; rm -rf "$T"' EXIT

# say TEXT: one line saying what the next command shows
say() {
	printf '\n# %s\n' "$*"
}

run() {
	printf '$ %s\n' "$*"
	bash -c "$*" 2>&1
}

echo "=== rhfs demo ==="
echo "Runhouse resources as files: browse, create and run sends with ls, cat and echo."
"$RHFS" -o "local=$T/work,builtins=$top/src/builtins,rhagent=$bin/rhagent" "$M" || exit 1
cd "$M" || exit 1
echo "rhfs mounted at $M (local RNS: $T/work/rh)"

say "The mount's top level: ~ (local RNS), ^ (builtins), @ (shared, after rh login), .log"
run 'ls -la'
say "The builtin clusters; ^local is this machine"
run 'ls ^'
say "Every resource is a directory with its config.json"
run 'cat ^/local/config.json'
say "Create a send (a remote function) with mkdir and one config write"
run 'mkdir -p ./~/demo/hello'
run "echo '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"command\": [\"echo\", \"hello from\"]}' > ./~/demo/hello/config.json"
run 'cat ./~/demo/hello/config.json'
say "Edit it in place with any editor (here sed -i)"
run "sed -i 's/hello from/hi from/' ./~/demo/hello/config.json"
run 'cat ./~/demo/hello/config.json'
say "An invalid config is refused with EINVAL; the reason is in .log and in the resource's errors"
run "echo '{\"resource_type\": \"send\", \"hardware\": 5}' > ./~/demo/hello/config.json"
run "grep refused .log"
run 'cat ./~/demo/hello/errors'
say "Rename it with mv; on disk it is stored as Runhouse stores it"
run 'mv ./~/demo/hello ./~/demo/greet'
run 'ls -l ./~/demo'
run "cat $T/work/rh/demo/greet/config.json"
say "Run it: each line written to invoke is one call"
run 'ls ./~/demo/greet'
run "echo '[\"world\"]' > ./~/demo/greet/invoke"
run 'ls ./~/demo/greet/calls'
say "The call's result and status"
run 'cat ./~/demo/greet/calls/latest/result'
run 'cat ./~/demo/greet/calls/latest/status'
say "Calls and their results on one open file: args and kwargs"
run "exec 3<>./~/demo/greet/invoke; echo '[1, 2]' >&3; echo '{\"args\": [\"x\"], \"kwargs\": {\"n\": 3}}' >&3; read -r a <&3; read -r b <&3; echo \"\$a / \$b\""

say "A Python send: a function in ~/fns/demofns.py, served by a warm worker"
mkdir -p "$HOME/fns"
cat >"$HOME/fns/demofns.py" <<'PY'
import os
import time

calls = 0


def add(a, b):
    return a + b


def worker():
    global calls
    calls += 1
    return {"pid": os.getpid(), "calls": calls}


def count(n):
    for i in range(1, n + 1):
        print("step", i, flush=True)
        time.sleep(0.3)
    return n
PY
run 'cat ~/fns/demofns.py'
for f in add worker count; do
	mkdir -p "./~/demo/$f"
	echo "{\"resource_type\": \"send\", \"hardware\": \"^local\", \"fn_pointers\": [\"fns\", \"demofns\", \"$f\"]}" >"./~/demo/$f/config.json"
done
say "Its send names the function: [directory under HOME, module, function]"
run 'cat ./~/demo/add/config.json'
say "One call after another: the same warm interpreter (same pid) keeps its state"
run "echo '[]' > ./~/demo/worker/invoke; cat ./~/demo/worker/calls/latest/result"
run "echo '[]' > ./~/demo/worker/invoke; cat ./~/demo/worker/calls/latest/result"
say "A map: three lines written at once are three calls, results in order"
run "exec 3<>./~/demo/add/invoke; printf '[1, 2]\n[3, 4]\n[\"a\", \"b\"]\n' >&3; for i in 1 2 3; do read -r r <&3; echo \"\$r\"; done"
say "A call's stdout, followed while it runs (cat ends when the call does)"
run "echo '[3]' > ./~/demo/count/invoke; cat ./~/demo/count/calls/latest/stdout; cat ./~/demo/count/calls/latest/result"

say "A folder whose data is on a cluster: on ^local, a directory in its user's home"
run "mkdir -p $HOME/results ./~/demo/results"
run "echo '{\"resource_type\": \"folder\", \"system\": \"^local\", \"path\": \"results\"}' > ./~/demo/results/config.json"
say "Its files are its data/: written here, there on the node"
run "echo 0.93 > ./~/demo/results/data/acc.txt; ls -l ./~/demo/results/data"
run "cat $HOME/results/acc.txt"

say "The cluster's status: a fresh probe"
run 'cat ^/local/status'
say "A shell command on the cluster through its run file, with its exit status"
run "exec 3<>^/local/run; echo 'uname -s; exit 7' >&3; cat <&3"
cd / && fusermount3 -u "$M" && echo && echo "unmounted $M"
