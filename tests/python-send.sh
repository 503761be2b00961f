# python-send.sh - Python sends (fn_pointers) on ^local through a real
# mount: args and kwargs in, the JSON of the return value out; an
# exception fails the call with its traceback in stderr; print() lands in
# stdout, also after a call moved fd 1 and 2, and nothing printed between
# calls does; a map; the agent's warm worker pool (one interpreter serves many
# calls, module state persists); cancel; a killed worker is replaced; a
# changed module is picked up; bad fn_pointers fail clearly.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
S=$MNT/~/py

mkdir -p "$HOME/proj/mod" "$S"
cat >"$HOME/proj/mod/fns.py" <<'PY'
import os
import sys
import time

calls = 0


def add(a, b=0):
    print("adding", a, b)
    return a + b


def echo(x):
    return x


def info():
    global calls
    calls += 1
    return {"pid": os.getpid(), "calls": calls}


def boom():
    print("about to fail", file=sys.stderr)
    raise ValueError("bad value %d" % 42)


def nap(s):
    print("napping", flush=True)
    time.sleep(s)
    return s


def version():
    return 1


def notjson():
    return {1, 2}


def big(n):
    return "x" * n


def gated(path):
    print("before", flush=True)
    print("err before", file=sys.stderr, flush=True)
    for _ in range(300):
        if os.path.exists(path):
            break
        time.sleep(0.1)
    print("after")
    return "opened"


def hijack():
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    print("to /dev/null", flush=True)
    return "moved"


def closer():
    os.close(1)
    os.close(2)
    return "closed"


def later():
    import subprocess
    subprocess.Popen(["sh", "-c", "sleep 0.5; echo late; echo late >&2"])
    return "started"
PY
send() {
	mkdir "$S/$1"
	printf '{"resource_type": "send", "hardware": "^local", "fn_pointers": %s}' \
		"$2" >"$S/$1/config.json"
}
for f in add echo info boom nap version notjson big gated hijack closer later; do
	send "$f" "[\"proj/mod\", \"fns\", \"$f\"]"
done
send nomod '["proj/mod", "nosuchmod", "f"]'
send nofn '["proj/mod", "fns", "nosuchfn"]'

check "echo '[2, 3]' > invoke submits a Python call" \
	sh -c "echo '[2, 3]' > '$S/add/invoke'"
check "its result" cat "$S/add/calls/latest/result"
echo 5 >"$T/want"
same "the result is the JSON of the return value" "$T/out" "$T/want"
check "its status" cat "$S/add/calls/latest/status"
has "status says done" "$T/out" '"state": "done"'
has "status gives its stdout's size" "$T/out" '"stdout_size": 11,'
if grep -q '"stderr_size": 0$' "$T/out"; then
	pass "and its stderr's"
else
	fail "and its stderr's ($(grep stderr_size "$T/out"))"
fi
check "its stdout" cat "$S/add/calls/latest/stdout"
has "print() went to the call's stdout" "$T/out" "adding 2 3"
check "its spec" cat "$S/add/calls/latest/spec"
has "spec holds fn_pointers" "$T/out" '"fns"'

# What a call's code does to fd 1 and 2 is undone for the next call (the
# same warm worker), and what lands there between calls is dropped.
check "a call that moves its fd 1 and 2 elsewhere" \
	sh -c "echo '[]' > '$S/hijack/invoke'"
check "the next call's print() still lands in its stdout" \
	sh -c "echo '[4, 5]' > '$S/add/invoke' &&
	       cat '$S/add/calls/latest/stdout'"
has "that is, its own output" "$T/out" "adding 4 5"
check "a call that closes its fd 1 and 2" \
	sh -c "echo '[]' > '$S/closer/invoke' &&
	       cat '$S/closer/calls/latest/result'"
has "ends done" "$T/out" "closed"
check "the next call's print() lands in its stdout" \
	sh -c "echo '[5, 6]' > '$S/add/invoke' &&
	       cat '$S/add/calls/latest/stdout'"
has "its own output" "$T/out" "adding 5 6"
check "a call that leaves a process writing after it ended" \
	sh -c "echo '[]' > '$S/later/invoke'"
sleep 1.5
check "a call after that" sh -c "echo '[6, 7]' > '$S/add/invoke'"
check "its stdout" cat "$S/add/calls/latest/stdout"
has "holds its own output" "$T/out" "adding 6 7"
lacks "not what came between the calls" "$T/out" "late"
check "nor does its stderr" cat "$S/add/calls/latest/stderr"
lacks "hold it" "$T/out" "late"

# A Python call's output is followed as it is printed: the call prints,
# then waits (at most 30 s) for its followers to say they have it. Two
# followers of stdout and one of stderr get it all, and end with the call.
echo "[\"$T/go\"]" >"$S/gated/invoke"
id=$(readlink "$S/gated/calls/latest")
follow_outputs "$S/gated/calls/$id"
for f in a b e; do
	has "follower $f: the first line while the call runs" \
		"$T/follow-$f" "state at the first bytes: running"
	has "follower $f: the end once the call ended" \
		"$T/follow-$f" "state at the end: done"
done
has "follower a: all of stdout" "$T/follow-a" "got before|after|"
has "follower b: all of stdout" "$T/follow-b" "got before|after|"
has "follower e: all of stderr" "$T/follow-e" "got err before|"

# args and kwargs, and JSON types, on one open file.
cat >"$T/rw.sh" <<SH
exec 3<>'$S/add/invoke'
echo '[1, 2]' >&3
echo '{"args": [1], "kwargs": {"b": 10}}' >&3
echo '{"kwargs": {"a": "x", "b": "y"}}' >&3
echo '[[1, 2], [3]]' >&3
read -r a <&3
read -r b <&3
read -r c <&3
read -r d <&3
echo "\$a|\$b|\$c|\$d"
SH
check "args and kwargs, results read on the same fd" bash "$T/rw.sh"
has "results in order" "$T/out" '3|11|"xy"|[1, 2, 3]'
"$PYTHON3" - "$S/echo/invoke" >"$T/types" 2>&1 <<'PY'
import json, os, sys
vals = [None, True, False, 0, -7, 2.5, 1e300, "text", "two\nlines",
        "ünïcode", [], [1, [2, None]], {}, {"a": {"b": [1.5, "c"]}}]
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, "".join(json.dumps([v]) + "\n" for v in vals).encode())
f = os.fdopen(fd, "r", encoding="utf-8")
got = [json.loads(f.readline()) for _ in vals]
print("types ok" if got == vals else "types bad: %r" % got)
PY
has "every JSON type comes back as it went" "$T/types" "types ok"

# Results of every size: kept in the record (small), in a file of their
# own (large), read by parts (over what one reply holds).
"$PYTHON3" - "$S/big" >"$T/big" 2>&1 <<'PY'
import json, os, sys
d = sys.argv[1]
bad = []
for n in (10, 65534, 70000, 3 * 1024 * 1024):
    fd = os.open(d + "/invoke", os.O_RDWR)
    os.write(fd, b"[%d]\n" % n)
    f = os.fdopen(fd, "rb")
    line = f.readline()
    f.close()
    want = json.dumps("x" * n).encode()
    if line != want + b"\n":
        bad.append("invoke %d: %d bytes" % (n, len(line)))
    with open(d + "/calls/latest/result", "rb") as f:
        got = f.read()
    if got != want + b"\n":
        bad.append("result file %d: %d bytes" % (n, len(got)))
print("sizes ok" if not bad else "sizes bad: %s" % bad)
PY
has "results of 10 B to 3 MiB, on invoke and in result" "$T/big" "sizes ok"

# An exception fails the call; the traceback is in its stderr.
cat >"$T/fail.sh" <<SH
exec 3<>'$S/boom/invoke'
echo '[]' >&3
read -r a <&3
echo "\$a"
SH
check "a call that raises" bash "$T/fail.sh"
has "its line is an error object" "$T/out" '"error":'
has "naming the exception" "$T/out" "ValueError: bad value 42"
check "its status" cat "$S/boom/calls/latest/status"
has "state failed" "$T/out" '"state": "failed"'
has "the reason names the exception" "$T/out" "boom raised ValueError: bad value 42"
check "its stderr" cat "$S/boom/calls/latest/stderr"
has "stderr holds the traceback" "$T/out" "Traceback (most recent call last)"
has "pointing into the module" "$T/out" "fns.py"
has "and what the function wrote to stderr" "$T/out" "about to fail"
echo '[]' >"$S/notjson/invoke"
# its status once it has ended: a read of its result waits for that
timeout 10 cat "$S/notjson/calls/latest/result" >/dev/null 2>&1
check "a result that is not JSON" timeout 10 cat "$S/notjson/calls/latest/status"
has "fails the call and says why" "$T/out" "is not JSON"

# A map of 100 lines: every result, in order.
"$PYTHON3" - "$S/add/invoke" >"$T/map" 2>&1 <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, "".join(json.dumps([i, 1000]) + "\n" for i in range(100)).encode())
f = os.fdopen(fd, "r")
out = [f.readline().rstrip("\n") for _ in range(100)]
bad = [i for i, l in enumerate(out) if l != str(i + 1000)]
print("map ok" if not bad else "map bad at %s: %r" % (bad[:3], out[:3]))
PY
has "a map of 100 lines" "$T/map" "map ok"

# Warm: the same interpreter serves call after call, and module state
# persists between them.
"$PYTHON3" - "$S/info/invoke" >"$T/warm" 2>&1 <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
got, buf = [], b""
for _ in range(5):
    os.write(fd, b"[]\n")
    while b"\n" not in buf:
        buf += os.read(fd, 4096)
    line, buf = buf.split(b"\n", 1)
    got.append(json.loads(line))
pids = {g["pid"] for g in got}
counts = [g["calls"] for g in got]
print("warm ok" if len(pids) == 1 and counts == sorted(counts) and
      counts[-1] - counts[0] == 4 else "warm bad: %r" % got)
print("pid %d" % got[0]["pid"])
PY
has "5 sequential calls: one worker, its state kept" "$T/warm" "warm ok"
wpid=$(sed -n 's/^pid //p' "$T/warm")
if [ -n "$wpid" ] && kill -0 "$wpid" 2>/dev/null &&
	grep -q runner.py "/proc/$wpid/cmdline"; then
	pass "the worker is a live runner process between calls"
else
	fail "the worker is a live runner process between calls (pid '$wpid')"
fi

# A map is spread over at most one worker per CPU.
"$PYTHON3" - "$S/info/invoke" >"$T/bound" 2>&1 <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b"[]\n" * 60)
buf = b""
while buf.count(b"\n") < 60:
    buf += os.read(fd, 65536)
pids = {json.loads(l)["pid"] for l in buf.splitlines()}
n = os.cpu_count()
print("bound ok" if 1 <= len(pids) <= n else
      "bound bad: %d workers for %d CPUs" % (len(pids), n))
PY
has "a map of 60 uses at most one worker per CPU" "$T/bound" "bound ok"

# Cancel: the worker running the call is killed and replaced.
echo '[30]' >"$S/nap/invoke"
id=$(readlink "$S/nap/calls/latest")
timeout 10 sh -c "until grep -q napping '$S/nap/calls/$id/stdout'; do sleep 0.1; done"
check "ctl takes cancel" sh -c "echo cancel > '$S/nap/calls/$id/ctl'"
check "result returns once cancelled" timeout 10 cat "$S/nap/calls/$id/result"
check "status after cancel" cat "$S/nap/calls/$id/status"
has "state cancelled" "$T/out" '"state": "cancelled"'
check "the module serves the next call" sh -c "echo '[0]' > '$S/nap/invoke'"
check "its result" timeout 10 cat "$S/nap/calls/latest/result"
has "is right" "$T/out" "0"

# A worker killed under a call: that call fails with the reason; the next
# one gets a new worker.
echo '[30]' >"$S/nap/invoke"
id=$(readlink "$S/nap/calls/latest")
timeout 10 sh -c "until grep -q napping '$S/nap/calls/$id/stdout'; do sleep 0.1; done"
kpid=$(jfield "$S/nap/calls/$id/status" pid)
kill -9 "$kpid"
check "result returns when its worker dies" timeout 10 cat "$S/nap/calls/$id/result"
check "status" cat "$S/nap/calls/$id/status"
has "the call failed" "$T/out" '"state": "failed"'
has "the reason says its worker was killed" "$T/out" "Python worker (pid $kpid) was killed by signal 9"
check "the next call" sh -c "echo '[]' > '$S/info/invoke'"
check "runs on a new worker" timeout 10 cat "$S/info/calls/latest/result"
has "and succeeds" "$T/out" '"pid":'

# A changed module is picked up by the next call.
cat >"$T/v.sh" <<SH
exec 3<>'$S/version/invoke'
echo '[]' >&3
read -r a <&3
echo "\$a"
SH
check "version before the change" bash "$T/v.sh"
has "is 1" "$T/out" "1"
sed -i 's/return 1$/return "two, changed"/' "$HOME/proj/mod/fns.py"
check "version after the change" bash "$T/v.sh"
has "comes from the changed file" "$T/out" '"two, changed"'

# Bad fn_pointers: clear reasons, in status and in the invoke line.
cat >"$T/bad.sh" <<SH
exec 3<>"$S/\$1/invoke"
echo '[]' >&3
read -r a <&3
echo "\$a"
SH
check "a missing module" bash "$T/bad.sh" nomod
has "fails: cannot import" "$T/out" "cannot import module 'nosuchmod' from ~/proj/mod"
check "its stderr" cat "$S/nomod/calls/latest/stderr"
has "holds the import error" "$T/out" "ModuleNotFoundError"
check "a missing function" bash "$T/bad.sh" nofn
has "fails: no such function" "$T/out" "module 'fns' (from ~/proj/mod) has no function 'nosuchfn'"
mkdir "$S/badfp"
refuse "fn_pointers of two strings is refused" "Invalid argument" \
	bash -c "printf '%s' '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"fn_pointers\": [\"a\", \"b\"]}' >'$S/badfp/config.json'"
has ".log says why" "$MNT/.log" "field 'fn_pointers' must be [relative_path, module, function]"

# An idle worker exits after RHAGENT_WORKER_IDLE seconds; the next call
# starts another. A bad value stops the agent at start, naming it.
mkdir -p "$T/idlehome"
refuse "RHAGENT_WORKER_IDLE=0 is refused" "RHAGENT_WORKER_IDLE='0'" \
	env RHAGENT_WORKER_IDLE=0 HOME="$T/idlehome" "$top_builddir/rhagent" serve
unmount_rhfs
"$top_builddir/rhagent" stop >/dev/null 2>&1
RHAGENT_WORKER_IDLE=2
export RHAGENT_WORKER_IDLE
mount_rhfs
unset RHAGENT_WORKER_IDLE
check "a call after the remount" sh -c "echo '[]' > '$S/info/invoke'"
check "its result" timeout 10 cat "$S/info/calls/latest/result"
p1=$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$T/out")
check "its worker runs" kill -0 "$p1"
i=0
while kill -0 "$p1" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
refuse "the idle worker exited" "" kill -0 "$p1"
check "the next call" sh -c "echo '[]' > '$S/info/invoke'"
check "its result" timeout 10 cat "$S/info/calls/latest/result"
p2=$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$T/out")
if [ -n "$p2" ] && [ "$p2" != "$p1" ]; then
	pass "ran on a new worker"
else
	fail "ran on a new worker ($p1, then $p2)"
fi
finish
