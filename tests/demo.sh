#!/bin/sh
# demo.sh - the main job on the embedded default: mount rhfs on a
# throwaway workdir (its rh/ is the local RNS ~) and HOME, browse the
# builtins with ^local among them, create and edit a send with plain file
# operations, and run it on ^local by writing to its invoke file. Always
# unmounts and stops the agent it started.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
RHFS=$top/rhfs
[ -x "$RHFS" ] || { echo "demo: build first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/rhfs-demo.XXXXXX)
M=$T/mnt
mkdir -p "$T/work" "$T/home" "$M"
HOME=$T/home
export HOME
trap 'cd /; fusermount3 -u "$M" 2>/dev/null; "$top/rhagent" stop >/dev/null 2>&1; rm -rf "$T"' EXIT

run() {
	printf '\n$ %s\n' "$*"
	bash -c "$*" 2>&1
}

"$RHFS" -o "local=$T/work,builtins=$top/src/builtins,rhagent=$top/rhagent" "$M" || exit 1
cd "$M" || exit 1
echo "rhfs mounted at $M (local RNS: $T/work/rh)"
run 'ls -la'
run 'ls ^'
run 'cat ^/local/config.json'
run 'mkdir -p ./~/demo/hello'
run "echo '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"command\": [\"echo\", \"hello from\"]}' > ./~/demo/hello/config.json"
run 'cat ./~/demo/hello/config.json'
run "sed -i 's/hello from/hi from/' ./~/demo/hello/config.json"
run 'cat ./~/demo/hello/config.json'
run "echo '{\"resource_type\": \"send\", \"hardware\": 5}' > ./~/demo/hello/config.json"
run "grep refused .log"
run 'mv ./~/demo/hello ./~/demo/greet'
run 'ls -l ./~/demo'
run "cat $T/work/rh/demo/greet/config.json"
run 'ls ./~/demo/greet'
run "echo '[\"world\"]' > ./~/demo/greet/invoke"
run 'ls ./~/demo/greet/calls'
run 'cat ./~/demo/greet/calls/latest/result'
run 'cat ./~/demo/greet/calls/latest/status'
run "exec 3<>./~/demo/greet/invoke; echo '[1, 2]' >&3; echo '{\"args\": [\"x\"], \"kwargs\": {\"n\": 3}}' >&3; read -r a <&3; read -r b <&3; echo \"\$a / \$b\""
run 'cat ^/local/status'
run "exec 3<>^/local/run; echo 'uname -s; exit 7' >&3; cat <&3"
cd / && fusermount3 -u "$M" && echo && echo "unmounted $M"
