#!/bin/sh
# demo.sh - the main job on the embedded default: mount rhfs on a
# throwaway workdir (its rh/ is the local RNS ~), browse the builtins with
# ^local among them, and create and edit resources with plain file
# operations. Always unmounts.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
RHFS=$top/rhfs
[ -x "$RHFS" ] || { echo "demo: build first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/rhfs-demo.XXXXXX)
M=$T/mnt
mkdir -p "$T/work" "$M"
trap 'fusermount3 -u "$M" 2>/dev/null; rm -rf "$T"' EXIT

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
cd / && fusermount3 -u "$M" && echo && echo "unmounted $M"
