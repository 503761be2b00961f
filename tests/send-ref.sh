# send-ref.sh - passing a call's result by reference: {"$ref":
# "<send>/calls/ID"} among a call's args or kwargs, resolved by the agent
# on the node when the call starts (waiting for the call it names), a
# failed, cancelled or unknown call failing the call that names it, and
# references the mount refuses at write (another cluster, no such send,
# a malformed reference) submitting nothing.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~

mkdir "$R/echo" "$R/slow" "$R/fails" "$R/json" "$R/far" "$R/node"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo"]}' \
	>"$R/echo/config.json"
# prints its args after 1.5 s, and the time it ended
cat >"$R/slow/config.json" <<JSON
{"resource_type": "send", "hardware": "^local",
 "command": ["sh", "-c", "sleep 1.5; date +%s.%N >$T/slow-end; echo \$0 \$1"]}
JSON
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "exit 7"]}' \
	>"$R/fails/config.json"
# its argument as the program sees it, one line, and a multi-line result
printf '{"resource_type": "send", "hardware": "^local", "command": ["printf", "%%s|"]}' \
	>"$R/json/config.json"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "nobody"}}' \
	>"$R/node/config.json"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["echo"]}' \
	>"$R/far/config.json"

# invoke FILE LINE: write one line, read its answer on the same open file
invoke() {
	"$PYTHON3" - "$1" "$2" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, (sys.argv[2] + "\n").encode())
print(os.fdopen(fd, "r").readline().rstrip("\n"))
PY
}

# A reference to a call still running: the call naming it waits, then
# gets its result (stdout, without its last newline) as the argument.
echo '["a b", "c"]' >"$R/slow/invoke"
slow=$(readlink "$R/slow/calls/latest")
check "a call naming a running call is accepted" invoke "$R/echo/invoke" \
	"[{\"\$ref\": \"~/slow/calls/$slow\"}, \"and\", {\"\$ref\": \"~/slow/calls/$slow\"}]"
has "it got the result, twice, as arguments" "$T/out" "a b c and a b c"
date +%s.%N >"$T/ref-end"
id=$(readlink "$R/echo/calls/latest")
check "its status" cat "$R/echo/calls/$id/status"
has "done" "$T/out" '"state": "done"'
started=$("$PYTHON3" -c 'import json,sys,datetime; s=json.load(open(sys.argv[1]))["started_at"]; print(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp())' "$T/out")
if "$PYTHON3" -c 'import sys; sys.exit(not float(sys.argv[1]) >= float(sys.argv[2]))' \
	"$started" "$(cat "$T/slow-end")"; then
	pass "it started only after the call it names ended"
else
	fail "it started at $started, before the named call ended ($(cat "$T/slow-end"))"
fi
check "its spec keeps the reference, not the data" cat "$R/echo/calls/$id/spec"
has "spec holds the \$ref" "$T/out" "\"\$ref\": \"~/slow/calls/$slow\""
lacks "spec does not hold the result" "$T/out" "a b c"

# In kwargs, nested in a value, and the mount's path form ^/ is taken too.
check "a reference in kwargs and nested in a list" invoke "$R/json/invoke" \
	"{\"kwargs\": {\"x\": {\"\$ref\": \"~/slow/calls/$slow\"}}, \"args\": [[{\"\$ref\": \"~/slow/calls/$slow\"}]]}"
has "kwarg gets the text, a nested one its JSON string" "$T/out" \
	'["a b c"]|--x=a b c|'

# A result of several lines passes whole, only the last newline off.
mkdir "$R/lines"
printf '{"resource_type": "send", "hardware": "^local", "command": ["printf", "l1\\\\nl2\\\\n\\\\n"]}' \
	>"$R/lines/config.json"
echo '[]' >"$R/lines/invoke"
lines=$(readlink "$R/lines/calls/latest")
check "a multi-line result" invoke "$R/json/invoke" \
	"[{\"\$ref\": \"~/lines/calls/$lines\"}]"
has "keeps its inner newlines" "$T/out" '"l1\nl2\n|"'

# The call named failed, was cancelled, or never was: the call naming it
# fails, and says which reference and why.
echo '[]' >"$R/fails/invoke"
bad=$(readlink "$R/fails/calls/latest")
check "naming a failed call" invoke "$R/echo/invoke" \
	"[{\"\$ref\": \"~/fails/calls/$bad\"}]"
has "fails, naming the reference" "$T/out" "\$ref ~/fails/calls/$bad"
has "and why" "$T/out" "exited with status 7"
check "its status" cat "$R/echo/calls/latest/status"
has "is failed" "$T/out" '"state": "failed"'

echo '["x", "y"]' >"$R/slow/invoke"
slow2=$(readlink "$R/slow/calls/latest")
echo "[{\"\$ref\": \"~/slow/calls/$slow2\"}]" >"$R/echo/invoke"
waiting=$(readlink "$R/echo/calls/latest")
check "the waiting call's status" cat "$R/echo/calls/$waiting/status"
has "is queued while the call it names runs" "$T/out" '"state": "queued"'
echo cancel >"$R/slow/calls/$slow2/ctl"
check "naming a cancelled call: result" timeout 20 cat "$R/echo/calls/$waiting/result"
check "its status" cat "$R/echo/calls/$waiting/status"
has "is failed" "$T/out" '"state": "failed"'
has "naming the reference" "$T/out" "\$ref ~/slow/calls/$slow2: that call cancelled"

check "naming a call that does not exist" invoke "$R/echo/invoke" \
	'[{"$ref": "~/slow/calls/20000101-000000-000000"}]'
has "fails with the reason" "$T/out" "no such call"
check "naming a call of another send" invoke "$R/echo/invoke" \
	"[{\"\$ref\": \"~/echo/calls/$slow\"}]"
has "fails: the call belongs to ~/slow" "$T/out" "belongs to ~/slow"

# Python sends: a reference is the JSON value a function returned, and a
# function gets a command's result as a string.
mkdir -p "$HOME/refmod" "$R/pyecho"
cat >"$HOME/refmod/fns.py" <<'PY'
def pair(a):
    return {"a": a, "list": [1, 2]}


def kind(x):
    return [type(x).__name__, x]
PY
printf '{"resource_type": "function", "system": "^local", "fn_pointers": ["refmod", "fns", "pair"]}' \
	>"$R/pyecho/config.json"
mkdir "$R/pykind"
printf '{"resource_type": "function", "system": "^local", "fn_pointers": ["refmod", "fns", "kind"]}' \
	>"$R/pykind/config.json"
echo '["x"]' >"$R/pyecho/invoke"
py=$(readlink "$R/pyecho/calls/latest")
check "a command naming a Python call" invoke "$R/echo/invoke" \
	"[{\"\$ref\": \"~/pyecho/calls/$py\"}]"
has "gets the JSON of its value" "$T/out" '{"a":"x","list":[1,2]}'
check "a Python call naming a Python call" invoke "$R/pykind/invoke" \
	"[{\"\$ref\": \"~/pyecho/calls/$py\"}]"
has "gets the value itself" "$T/out" '["dict", {"a": "x", "list": [1, 2]}]'
check "a Python call naming a command call" invoke "$R/pykind/invoke" \
	"[{\"\$ref\": \"~/slow/calls/$slow\"}]"
has "gets its output as a string" "$T/out" '["str", "a b c"]'

# Refused at write, nothing submitted.
n0=$(ls "$R/echo/calls" | grep -vc latest)
refuse "a send on another cluster" "Invalid argument" \
	bash -c "echo '[{\"\$ref\": \"~/far/calls/$slow\"}]' > '$R/echo/invoke'"
has ".log names the reference and the clusters" "$MNT/.log" \
	"\$ref '~/far/calls/$slow': ~/far runs on ~/node, not on ^local"
refuse "a send that does not exist" "Invalid argument" \
	bash -c "echo '[{\"\$ref\": \"~/nope/calls/$slow\"}]' > '$R/echo/invoke'"
has ".log says so" "$MNT/.log" "~/nope: no such resource"
refuse "a reference to a cluster, not a send" "Invalid argument" \
	bash -c "echo '[{\"\$ref\": \"~/node/calls/$slow\"}]' > '$R/echo/invoke'"
refuse "a reference without a call id" "Invalid argument" \
	bash -c "echo '[{\"\$ref\": \"~/slow/calls/latest\"}]' > '$R/echo/invoke'"
refuse "a reference with other keys" "Invalid argument" \
	bash -c "echo '[{\"\$ref\": \"~/slow/calls/$slow\", \"x\": 1}]' > '$R/echo/invoke'"
refuse "a reference that is not a string" "Invalid argument" \
	bash -c "echo '{\"kwargs\": {\"k\": {\"\$ref\": 3}}}' > '$R/echo/invoke'"
"$PYTHON3" - "$R/echo/invoke" >"$T/second" 2>&1 <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, b'[1]\n[{"$ref": "~/slow"}]\n')
    print("accepted")
except OSError as e:
    print(e.strerror)
PY
has "a bad reference on the second line of a write: all refused" \
	"$T/second" "Invalid argument"
n1=$(ls "$R/echo/calls" | grep -vc latest)
if [ "$n0" -eq "$n1" ]; then
	pass "refused references submitted nothing"
else
	fail "refused references submitted nothing ($n0 -> $n1)"
fi
finish
