# lib.sh - shared by the integration tests: a throwaway workdir and HOME,
# a real rhfs mounted in a temp dir and always unmounted, and checks that
# count what passed and failed.
#
# A test sources this file, calls mount_rhfs (and mount_rhfs_2 for a
# second mount), runs its checks and ends with `finish`.

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
: "${PYTHON3:=python3}"
RHFS=$top_builddir/rhfs
BUILTINS=$top_srcdir/src/builtins

T=$(mktemp -d /tmp/rhfs-test.XXXXXX)
WORK=$T/work
MNT=$T/mnt
HOME=$T/home
export HOME
unset RH_CONFIG
mkdir -p "$WORK" "$MNT" "$HOME"
PASSED=0
FAILED=0
RHFS_PID=

# A second mount, as on another machine: its own HOME and workdir.
MNT2=$T/mnt-2
HOME2=$T/home-2
RHFS2_PID=

# unmount_at DIR PID: unmount, then a bounded wait for the daemon to leave.
unmount_at() {
	if grep -q " $1 fuse" /proc/mounts; then
		fusermount3 -u "$1" 2>/dev/null || fusermount3 -u -z "$1"
	fi
	if [ -n "$2" ]; then
		exits_within 5 "$2" || kill -9 "$2" 2>/dev/null
	fi
}

unmount_rhfs() {
	unmount_at "$MNT" "$RHFS_PID"
	RHFS_PID=
}

unmount_rhfs_2() {
	unmount_at "$MNT2" "$RHFS2_PID"
	RHFS2_PID=
}

cleanup() {
	unmount_rhfs_2
	unmount_rhfs
	# the ^local agent a test started runs in its HOME
	if [ -S "$HOME/.rh/agent/sock" ]; then
		"$top_builddir/rhagent" stop >/dev/null 2>&1
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait (at most 10 s) until a live rhfs answers at $1: statfs is never
# answered from the kernel's caches, so a dead mount cannot pass.
wait_mounted() {
	i=0
	while ! grep -q " $1 fuse" /proc/mounts ||
		! stat -f "$1" >/dev/null 2>&1 || ! test -d "$1/^"; do
		i=$((i + 1))
		# a bound that only a hang reaches, also on a loaded machine
		if [ $i -gt 300 ]; then
			echo "FAIL: rhfs did not mount $1" >&2
			cat "$T/rhfs.err" >&2 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}

# mount_rhfs [rhfs options...]: rhfs in the foreground, in the background.
mount_rhfs() {
	"$RHFS" -f -o "local=$WORK,builtins=$BUILTINS" \
		-o "rhagent=$top_builddir/rhagent" "$@" "$MNT" \
		2>>"$T/rhfs.err" &
	RHFS_PID=$!
	wait_mounted "$MNT" || { FAILED=$((FAILED + 1)); finish; }
}

# mount_rhfs_2 [rhfs options...]: the same at $MNT2, with HOME=$HOME2.
mount_rhfs_2() {
	mkdir -p "$MNT2" "$HOME2" "$T/work-2"
	HOME=$HOME2 "$RHFS" -f -o "local=$T/work-2,builtins=$BUILTINS" \
		-o "rhagent=$top_builddir/rhagent" "$@" "$MNT2" \
		2>>"$T/rhfs-2.err" &
	RHFS2_PID=$!
	wait_mounted "$MNT2" || { FAILED=$((FAILED + 1)); finish; }
}

# wait_for SECS COMMAND...: poll until the command succeeds.
wait_for() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# exits_within SECS PID: wait (at most SECS) for process PID to end;
# fails if it still runs then.
exits_within() {
	i=0
	while kill -0 "$2" 2>/dev/null && [ $i -lt $(($1 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$2" 2>/dev/null
}

# follow_outputs CALLDIR: three followers of a running call's output (a
# and b of its stdout, e of its stderr), each reading until the end; once
# each has its first bytes, $T/go is made, which the call waits for
# before it prints more and ends. Each follower's report is in
# $T/follow-a, -b, -e: "state at the first bytes: S", "state at the end:
# S", "end soon after the call's" (within 5 s of its ended_at) and "got
# OUTPUT" (line ends as |).
follow_outputs() {
	cat >"$T/follow.py" <<'PY'
import datetime, json, os, sys, time
d, stream, got_file = sys.argv[1], sys.argv[2], sys.argv[3]
def status():
    with open(os.path.join(d, "status")) as f:
        return json.load(f)
fd = os.open(os.path.join(d, stream), os.O_RDONLY)
got, first_state = b"", None
while True:
    b = os.read(fd, 4096)
    if not b:
        break
    got += b
    if first_state is None:
        first_state = status()["state"]
        open(got_file, "w").close()
end = time.time()
st = status()
ended = datetime.datetime.strptime(st["ended_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
lag = end - ended.replace(tzinfo=datetime.timezone.utc).timestamp()
print("state at the first bytes: %s" % first_state)
print("state at the end: %s" % st["state"])
print("end %s" % ("soon after the call's" if lag < 5 else
                  "%.1f s after the call's" % lag))
print("got %s" % got.decode().replace("\n", "|"))
PY
	for f in a b e; do
		stream=stdout
		[ $f = e ] && stream=stderr
		timeout 60 "$PYTHON3" "$T/follow.py" "$1" $stream \
			"$T/got-$f" >"$T/follow-$f" 2>&1 &
		eval "pid_$f=\$!"
	done
	i=0
	while ! [ -e "$T/got-a" ] || ! [ -e "$T/got-b" ] ||
		! [ -e "$T/got-e" ]; do
		[ $i -ge 200 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	touch "$T/go"
	# shellcheck disable=SC2154
	wait "$pid_a" "$pid_b" "$pid_e"
}

# many_writers INVOKE [PREFIX]: 16 writers at once on one send's invoke
# file, each writing 50 calls ["w<W>-<I>"] on its own open file, then
# reading their 50 result lines, which must be PREFIXw<W>-<I> in order.
# 0 when all 16 read theirs; what each said is in $T/writers.
many_writers() {
	writers=
	for w in $(seq 1 16); do
		"$PYTHON3" - "$1" "$w" "${2-}" >"$T/w$w" 2>&1 <<'PY' &
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
w, prefix = sys.argv[2], sys.argv[3]
for i in range(50):
    os.write(fd, (json.dumps(["w%s-%d" % (w, i)]) + "\n").encode())
f = os.fdopen(fd, "r")
got = [f.readline().rstrip("\n") for _ in range(50)]
want = ["%sw%s-%d" % (prefix, w, i) for i in range(50)]
print("writer ok" if got == want else "writer bad %r" % got[:2])
PY
		writers="$writers $!"
	done
	# shellcheck disable=SC2086
	wait $writers
	cat "$T"/w[0-9]* >"$T/writers"
	[ "$(grep -c 'writer ok' "$T/writers")" -eq 16 ]
}

pass() {
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $1" >&2
	echo "not ok - $1"
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	desc=$1
	shift
	if "$@" >"$T/out" 2>"$T/errout"; then
		pass "$desc"
	else
		fail "$desc (exit $?: $(head -c 300 "$T/errout"))"
	fi
}

# refuse DESCRIPTION MESSAGE COMMAND...: the command must fail and its
# error output must contain MESSAGE (the strerror text of the errno).
refuse() {
	desc=$1
	msg=$2
	shift 2
	if "$@" >"$T/out" 2>"$T/errout"; then
		fail "$desc (succeeded, expected '$msg')"
	elif [ -z "$msg" ] || grep -q -- "$msg" "$T/errout"; then
		pass "$desc"
	else
		fail "$desc (expected '$msg', got: $(head -c 300 "$T/errout"))"
	fi
}

# same DESCRIPTION FILE1 FILE2: byte-for-byte equal.
same() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1 ($2 and $3 differ)"
		diff "$2" "$3" | head -n 20 | sed 's/^/# /'
	fi
}

# has DESCRIPTION FILE TEXT: FILE contains TEXT (empty TEXT, say from a
# command that printed nothing, proves nothing and fails).
has() {
	if [ -z "$3" ]; then
		fail "$1 (no text to look for in $2)"
	elif grep -q -F -- "$3" "$2" 2>/dev/null; then
		pass "$1"
	else
		fail "$1 ('$3' not in $2)"
	fi
}

# lacks DESCRIPTION FILE TEXT: FILE exists and does not contain TEXT
# (a file that is not there proves nothing).
lacks() {
	if [ ! -f "$2" ]; then
		fail "$1 ($2 is missing)"
	elif grep -q -F -- "$3" "$2"; then
		fail "$1 ('$3' found in $2)"
	else
		pass "$1"
	fi
}

# no_line_starts DESCRIPTION FILE TEXT: FILE exists and no line of it
# begins with TEXT.
no_line_starts() {
	if [ ! -f "$2" ]; then
		fail "$1 ($2 is missing)"
	elif awk -v t="$3" 'index($0, t) == 1 { found = 1 } END { exit !found }' "$2"; then
		fail "$1 (a line of $2 begins with '$3')"
	else
		pass "$1"
	fi
}

# jfield FILE KEY: the JSON value of KEY in FILE, as JSON text.
jfield() {
	"$PYTHON3" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])).get(sys.argv[2])))' "$1" "$2"
}

# pyrename FROM TO: rename(2) itself, without mv's own checks.
pyrename() {
	"$PYTHON3" -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$1" "$2"
}

# start_silent_peer: a TCP listener on loopback that accepts every
# connection and never says a word (300 s at most), ready when this
# returns: its port in SILENT_PORT, its pid in SILENT_PID.
start_silent_peer() {
	SILENT_PORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$PYTHON3" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); s.settimeout(1)
held, end = [], time.monotonic() + 300
while time.monotonic() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass' "$SILENT_PORT" &
	SILENT_PID=$!
	i=0
	until "$PYTHON3" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$SILENT_PORT" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && break
		sleep 0.1
	done
}

finish() {
	unmount_rhfs_2
	unmount_rhfs
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}
