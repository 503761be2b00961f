# send.sh - running a command send on ^local through its files: invoke
# (a line is a call, results read back in order on the same open file),
# a map of many lines, queue order, calls/ID/{status,result,stdout,
# stderr,ctl}, calls/latest, cancel, following output, bad specs.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~
S=$R/tools

mkdir -p "$S/echo" "$S/slow" "$S/fails"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo", "hi"]}' \
	>"$S/echo/config.json"
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.3; done; echo $0 done"]}' \
	>"$S/slow/config.json"
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo bad >&2; exit 3"]}' \
	>"$S/fails/config.json"

ls "$S/echo" >"$T/ls"
has "a send shows invoke" "$T/ls" "invoke"
has "a send shows calls" "$T/ls" "calls"
check "echo > invoke submits a call" sh -c "echo '[\"there\"]' > '$S/echo/invoke'"
check "calls/latest points at it" readlink "$S/echo/calls/latest"
check "its result" cat "$S/echo/calls/latest/result"
has "the result is the command's stdout" "$T/out" "hi there"
check "its status" cat "$S/echo/calls/latest/status"
has "status says done" "$T/out" '"state": "done"'
has "status has the exit code" "$T/out" '"exit": 0'
check "its spec" cat "$S/echo/calls/latest/spec"
has "spec holds the args" "$T/out" '"there"'
has "spec holds the command" "$T/out" '"echo"'

# Write calls and read their results on one open file, as rhfs(1) describes.
cat >"$T/rw.sh" <<SH
exec 3<>'$S/echo/invoke'
echo '[1, 2]' >&3
echo '{"args": ["x"], "kwargs": {"key": "v"}}' >&3
read -r a <&3
read -r b <&3
echo "\$a|\$b"
SH
check "write calls, read results on the same fd" bash "$T/rw.sh"
has "results in order, args and kwargs" "$T/out" "hi 1 2|hi x --key=v"

# A map: many lines in one write, run in parallel, answered in order.
"$PYTHON3" - "$S/echo/invoke" >"$T/map" 2>"$T/map.err" <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
lines = "".join(json.dumps([i]) + "\n" for i in range(200))
os.write(fd, lines.encode())
f = os.fdopen(fd, "r")
out = [f.readline().rstrip("\n") for _ in range(200)]
bad = [i for i, l in enumerate(out) if l != "hi %d" % i]
print("map ok" if not bad else "map bad at %s: %r" % (bad[:3], out[:3]))
PY
has "a map of 200 lines: every result, in order" "$T/map" "map ok"

# Failures: the call fails; its line says so; stderr and exit are kept.
check "a failing call" sh -c "echo '[]' > '$S/fails/invoke'"
check "its status" cat "$S/fails/calls/latest/status"
has "state failed" "$T/out" '"state": "failed"'
has "exit 3" "$T/out" '"exit": 3'
check "its stderr" cat "$S/fails/calls/latest/stderr"
has "stderr kept" "$T/out" "bad"
cat >"$T/fail.sh" <<SH
exec 3<>'$S/fails/invoke'
echo '[]' >&3
read -r a <&3
echo "\$a"
SH
check "a failed call's line" bash "$T/fail.sh"
has "is an error object" "$T/out" '"error":'

# Queue: queued calls run one after another, in order.
mkdir "$S/q"
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "sleep 0.$((5 - $0)); echo $0 >> %s/order"]}' "$T" \
	>"$S/q/config.json"
"$PYTHON3" - "$S/q/invoke" <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, "".join(json.dumps({"args": [i], "queue": True}) + "\n"
                     for i in range(1, 5)).encode())
f = os.fdopen(fd, "r")
for _ in range(4):
    f.readline()
PY
printf '1\n2\n3\n4\n' >"$T/want"
same "queued calls ran in submission order" "$T/order" "$T/want"

# stdout follows a running call; result blocks until it ends.
echo '["slow"]' >"$S/slow/invoke"
id=$(readlink "$S/slow/calls/latest")
timeout 10 cat "$S/slow/calls/$id/stdout" >"$T/follow" 2>&1
has "stdout followed to the end" "$T/follow" "slow done"
has "with every line" "$T/follow" "tick 3"
check "result after the end" cat "$S/slow/calls/$id/result"

# Output arrives as it is written, not when the call ends: the call
# prints a line, then waits (at most 30 s) for the followers to say they
# have it before it prints another and ends. Two followers of stdout and
# one of stderr each get it all, and their reads end when the call does
# (a generous 5 s after it, the wait being 30 s).
mkdir "$S/pause"
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo first; echo e1 >&2; i=0; while [ ! -e \\"$0\\" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; echo second; echo e2 >&2"]}' \
	>"$S/pause/config.json"
echo "[\"$T/go\"]" >"$S/pause/invoke"
id=$(readlink "$S/pause/calls/latest")
follow_outputs "$S/pause/calls/$id"
for f in a b e; do
	has "follower $f: the first line while the call runs" \
		"$T/follow-$f" "state at the first bytes: running"
	has "follower $f: the end once the call ended" \
		"$T/follow-$f" "state at the end: done"
	has "follower $f: ... and soon after it" \
		"$T/follow-$f" "end soon after the call's"
done
has "follower a: all of stdout" "$T/follow-a" "got first|second|"
has "follower b: all of stdout" "$T/follow-b" "got first|second|"
has "follower e: all of stderr" "$T/follow-e" "got e1|e2|"
echo '["again"]' >"$S/slow/invoke"
id=$(readlink "$S/slow/calls/latest")
"$PYTHON3" - "$S/slow/calls/$id/result" >"$T/nb" 2>&1 <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 100)
    print("no EAGAIN")
except OSError as e:
    print("EAGAIN" if e.errno == errno.EAGAIN else "errno %d" % e.errno)
PY
has "result under O_NONBLOCK while running: EAGAIN" "$T/nb" "EAGAIN"
check "result blocks until the end" timeout 10 cat "$S/slow/calls/$id/result"
has "and then gives it" "$T/out" "again done"

# Cancel a running call.
echo '["c"]' >"$S/slow/invoke"
id=$(readlink "$S/slow/calls/latest")
check "ctl takes cancel" sh -c "echo cancel > '$S/slow/calls/$id/ctl'"
timeout 10 cat "$S/slow/calls/$id/result" >/dev/null 2>&1
check "status after cancel" cat "$S/slow/calls/$id/status"
has "state cancelled" "$T/out" '"state": "cancelled"'
refuse "ctl refuses other words" "Invalid argument" \
	bash -c "echo stop > '$S/slow/calls/$id/ctl'"

# A read blocked on result ends at once on a signal (FUSE interrupt ->
# EINTR): without that, the read would stay blocked until the call ends.
mkdir "$S/long"
printf '{"resource_type": "send", "hardware": "^local", "command": ["sleep", "30"]}' \
	>"$S/long/config.json"
echo '[]' >"$S/long/invoke"
id=$(readlink "$S/long/calls/latest")
timeout 10 "$PYTHON3" - "$S/long/calls/$id/result" >"$T/intr" 2>&1 <<'PY'
import os, signal, sys
class Alarm(Exception):
    pass
def ring(*a):
    raise Alarm()
signal.signal(signal.SIGALRM, ring)
signal.setitimer(signal.ITIMER_REAL, 0.3)
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.read(fd, 100)
    print("read returned")
except Alarm:
    print("interrupted")
PY
has "a blocked result read ends on a signal" "$T/intr" "interrupted"
# ... and so does one following stdout, which has nothing yet; under
# O_NONBLOCK such a read gives EAGAIN at once.
timeout 10 "$PYTHON3" - "$S/long/calls/$id/stdout" >"$T/intr" 2>&1 <<'PY'
import errno, os, signal, sys
class Alarm(Exception):
    pass
def ring(*a):
    raise Alarm()
signal.signal(signal.SIGALRM, ring)
signal.setitimer(signal.ITIMER_REAL, 0.3)
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.read(fd, 100)
    print("read returned")
except Alarm:
    print("interrupted")
signal.setitimer(signal.ITIMER_REAL, 0)
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 100)
    print("no EAGAIN")
except OSError as e:
    print("EAGAIN" if e.errno == errno.EAGAIN else "errno %d" % e.errno)
PY
has "a blocked stdout read ends on a signal" "$T/intr" "interrupted"
has "stdout under O_NONBLOCK while nothing is there: EAGAIN" "$T/intr" \
	"EAGAIN"
echo cancel >"$S/long/calls/$id/ctl"

# Bad input: nothing is submitted.
n0=$(ls "$S/echo/calls" | grep -vc latest)
cat >"$T/onewrite.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, sys.argv[2].encode())
except OSError as e:
    print(e.strerror, file=sys.stderr)
    sys.exit(1)
PY
refuse "malformed spec (second line of one write)" "Invalid argument" \
	"$PYTHON3" "$T/onewrite.py" "$S/echo/invoke" '[1]
{bad
'
refuse "a spec that is not an object or array" "Invalid argument" \
	bash -c "echo 42 > '$S/echo/invoke'"
refuse "unknown field" "Invalid argument" \
	bash -c "echo '{\"argz\": [1]}' > '$S/echo/invoke'"
refuse "args not an array" "Invalid argument" \
	bash -c "echo '{\"args\": 1}' > '$S/echo/invoke'"
n1=$(ls "$S/echo/calls" | grep -vc latest)
if [ "$n0" -eq "$n1" ]; then
	pass "a refused write submitted nothing"
else
	fail "a refused write submitted nothing ($n0 -> $n1)"
fi
has "the reason is in .log" "$MNT/.log" "~/tools/echo/invoke: line 2"
mkdir "$S/nohw"
printf '{"resource_type": "send", "hardware": "~/no-such-cluster", "command": ["true"]}' \
	>"$S/nohw/config.json"
refuse "a send whose cluster does not exist" "No such file" \
	bash -c "echo '[]' > '$S/nohw/invoke'"
has ".log names it" "$MNT/.log" "~/no-such-cluster: no such cluster"
refuse "invoke cannot be removed" "Operation not permitted" rm "$S/echo/invoke"

# A send's env: the env_vars of Runhouse's Env config reach the call's
# environment; a variable that is not a string is refused.
mkdir "$S/envs"
printf '%s' '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo \"$GREETING-$OTHER\""], "env": {"resource_type": "env", "name": "e", "reqs": [], "env_vars": {"GREETING": "hola", "OTHER": "x y"}}}' \
	>"$S/envs/config.json"
check "a call of a send with env_vars" sh -c "echo '[]' > '$S/envs/invoke'"
check "its result" cat "$S/envs/calls/latest/result"
has "env_vars are in the call's environment" "$T/out" "hola-x y"
printf '%s' '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo \"$GREETING\""], "env": {"reqs": [], "env_vars": {"GREETING": "plain"}}}' \
	>"$S/envs/config.json"
check "a call of a send with an env without resource_type" sh -c "echo '[]' > '$S/envs/invoke'"
check "its result" cat "$S/envs/calls/latest/result"
has "its env_vars are in the environment" "$T/out" "plain"
refuse "an env variable that is not a string" "Invalid argument" bash -c \
	"echo '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"command\": [\"true\"], \"env\": {\"env_vars\": {\"N\": 1}}}' > '$S/envs/config.json'"
check "the config is unchanged" cat "$S/envs/config.json"
has "... still the plain env" "$T/out" '"plain"'

# Many writers at once: every call answered exactly once.
if many_writers "$S/echo/invoke" "hi "; then
	pass "16 writers x 50 calls: each result once, in order"
else
	fail "16 writers x 50 calls: $(grep -v 'writer ok' "$T/writers" | head -3)"
fi

# A follower killed while its read waits, then an unmount at once: the
# request the agent still holds for it does not keep rhfs running.
echo '[]' >"$S/long/invoke"
id=$(readlink "$S/long/calls/latest")
cat "$S/long/calls/$id/stdout" >/dev/null 2>&1 &
reader=$!
sleep 1
kill "$reader"
wait "$reader" 2>/dev/null
start=$(date +%s)
check "unmount right after a follower was killed" fusermount3 -u "$MNT"
if ! exits_within 5 "$RHFS_PID"; then
	fail "rhfs still runs 5 s after unmount"
else
	pass "rhfs left in $(( $(date +%s) - start )) s"
fi
finish
