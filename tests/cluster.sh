# cluster.sh - a cluster's files: status (a fresh probe, as JSON), run
# (write a shell command, read its output and exit status on the same
# open file), ctl (up, down, restart, autostop; bad lines refused) and log
# (the agent's, followed), on ^local, a local cluster of ~ and the
# read-only on-demand builtins.
. "$top_srcdir/tests/lib.sh"
mount_rhfs

ls "$MNT/^/local" >"$T/ls"
has "a cluster shows status" "$T/ls" "status"
has "a cluster shows run" "$T/ls" "run"
check "^local status" cat "$MNT/^/local/status"
has "is up" "$T/out" '"state": "up"'
has "names the cluster" "$T/out" '"cluster": "^local"'
has "reports the agent's load" "$T/out" '"load"'
check "^rh-cpu status" cat "$MNT/^/rh-cpu/status"
has "an on-demand cluster is down" "$T/out" '"state": "down"'
has "and says why" "$T/out" "on-demand"

cat >"$T/run.sh" <<SH
exec 3<>'$MNT/^/local/run'
printf 'echo out; echo err >&2; exit 3' >&3
cat <&3
SH
check "run: a command and its output on one open file" bash "$T/run.sh"
printf 'out\nerr\nexit 3\n' >"$T/want"
same "run: output, then the exit status" "$T/out" "$T/want"
cat >"$T/run2.sh" <<SH
exec 3<>'$MNT/^/local/run'
echo 'echo one' >&3
echo 'echo two; false' >&3
cat <&3
SH
check "run: two commands answered in order" bash "$T/run2.sh"
printf 'one\nexit 0\ntwo\nexit 1\n' >"$T/want"
same "run: both outputs and statuses" "$T/out" "$T/want"
refuse "run: a NUL byte is refused" "Invalid argument" \
	bash -c "printf 'echo a\\0b' > '$MNT/^/local/run'"
# A command over the limit fails whole with E2BIG and nothing of it runs:
# the kernel cut a 1.1 MiB write in pieces, and each ran as a command.
cat >"$T/runbig.py" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for size in (1100 * 1024, 200 * 1024, 120 * 1024 + 1):
    text = (b"echo tail\n" * (size // 10 + 1))[:size]
    try:
        n = os.write(fd, text)
        print("%d bytes: wrote %d" % (size, n))
    except OSError as e:
        print("%d bytes: %s" % (size, errno.errorcode[e.errno]))
# at the limit: runs
os.write(fd, b"echo at the limit; :" + b" " * (120 * 1024 - 21))
os.write(fd, b"echo after\n")
out = b""
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    out += b
print("output: %r" % out)
PY
check "run: commands over the limit" "$PYTHON3" "$T/runbig.py" \
	"$MNT/^/local/run"
has "run: a 1.1 MiB write fails whole (E2BIG)" "$T/out" "1126400 bytes: E2BIG"
has "run: a 200 KiB write fails whole" "$T/out" "204800 bytes: E2BIG"
has "run: one byte over 120 KiB fails" "$T/out" "122881 bytes: E2BIG"
has "run: nothing of them ran; one at the limit did" "$T/out" \
	"output: b'at the limit\nexit 0\nafter\nexit 0\n'"
refuse "status is read-only" "Permission denied" \
	bash -c "echo x > '$MNT/^/local/status'"

# ctl: up, down, restart and autostop; bad lines change nothing.
has "a cluster shows ctl" "$T/ls" "ctl"
has "a cluster shows log" "$T/ls" "log"
# a live process (the agents' parent may not reap them: a zombie is gone)
alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
		! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
agent_pid() {
	cat "$1/status" >"$T/st" && "$PYTHON3" -c \
		'import json,sys; print(json.load(open(sys.argv[1]))["agent"]["pid"])' \
		"$T/st"
}
cat >"$T/up.sh" <<SH
exec 3<>'$MNT/^/local/ctl'
echo up >&3
cat <&3
SH
check "ctl up, its result read on the same open file" bash "$T/up.sh"
has "up: the agent runs" "$T/out" "up: the agent runs (pid"
p1=$(agent_pid "$MNT/^/local")
check "ctl down" bash -c "echo down > '$MNT/^/local/ctl'"
if alive "$p1"; then
	fail "down: agent $p1 still runs"
else
	pass "down: the agent is gone"
fi
check "ctl up after down" bash -c "echo up > '$MNT/^/local/ctl'"
p2=$(agent_pid "$MNT/^/local")
if [ -n "$p2" ] && [ "$p2" != "$p1" ] && alive "$p2"; then
	pass "up: a new agent runs ($p2)"
else
	fail "up: no new agent ($p1 -> $p2)"
fi
check "ctl restart" bash -c "echo restart > '$MNT/^/local/ctl'"
p3=$(agent_pid "$MNT/^/local")
if [ -n "$p3" ] && [ "$p3" != "$p2" ] && ! alive "$p2"; then
	pass "restart: another agent ($p2 -> $p3)"
else
	fail "restart: $p2 -> $p3"
fi
refuse "ctl: an unknown command" "Invalid argument" \
	bash -c "echo bogus > '$MNT/^/local/ctl'"
refuse "ctl: up takes no argument" "Invalid argument" \
	bash -c "echo 'up now' > '$MNT/^/local/ctl'"
refuse "ctl: autostop needs a number" "Invalid argument" \
	bash -c "echo 'autostop soon' > '$MNT/^/local/ctl'"
refuse "ctl: autostop below -1" "Invalid argument" \
	bash -c "echo 'autostop -2' > '$MNT/^/local/ctl'"
# one write() of two lines (a shell's printf may write line by line)
cat >"$T/onewrite.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, sys.argv[2].encode())
except OSError as e:
    print(e.strerror, file=sys.stderr)
    sys.exit(1)
PY
refuse "ctl: a bad second line fails the write" "Invalid argument" \
	"$PYTHON3" "$T/onewrite.py" "$MNT/^/local/ctl" "down
bogus
"
if alive "$p3"; then
	pass "ctl: the good first line did not run"
else
	fail "ctl: 'down' of a refused write ran"
fi
has "a refused ctl line is logged with the cluster" "$MNT/.log" \
	"^local/ctl: line 2: 'bogus' is not a command"
refuse "ctl: a builtin's autostop cannot be recorded" "Read-only" \
	bash -c "echo 'autostop 5' > '$MNT/^/local/ctl'"
# (tests/ondemand.sh puts a stand-in sky on PATH; here there is none)
refuse "ctl: up on an on-demand cluster without sky" "Package not installed" \
	bash -c "echo up > '$MNT/^/rh-cpu/ctl'"
has "the on-demand refusal names the cluster and the cause" "$MNT/.log" \
	"^rh-cpu: \`sky\` is not on PATH"

# autostop on a cluster of ~ (a local agent): recorded in its config and
# by the agent, which stops itself when idle that long.
R=$MNT/~
mkdir "$R/loc"
printf '{"resource_type": "cluster", "ips": ["localhost"], "server_connection_type": "none"}' \
	>"$R/loc/config.json"
check "ctl autostop 5" bash -c "echo 'autostop 5' > '$R/loc/ctl'"
check "autostop_mins in config.json" jfield "$R/loc/config.json" autostop_mins
has "autostop_mins is 5" "$T/out" "5"
has "the agent keeps it" "$HOME/.rh/agent/autostop" "5"
refuse "ctl autostop 1e3 is refused" "Invalid argument" \
	bash -c "echo 'autostop 1e3' > '$R/loc/ctl'"
check "config unchanged by a refused line" jfield "$R/loc/config.json" \
	autostop_mins
has "autostop_mins still 5" "$T/out" "5"
p4=$(agent_pid "$R/loc")
check "ctl autostop 0" bash -c "echo 'autostop 0' > '$R/loc/ctl'"
i=0
while alive "$p4" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if alive "$p4"; then
	fail "autostop 0: agent $p4 still runs after 10 s idle"
else
	pass "autostop 0: the idle agent stopped itself"
fi
has "the agent logged why" "$HOME/.rh/agent/log" "autostop: idle for"
check "ctl autostop -1" bash -c "echo 'autostop -1' > '$R/loc/ctl'"
check "autostop_mins -1 in config.json" jfield "$R/loc/config.json" \
	autostop_mins
has "autostop_mins is -1" "$T/out" "-1"
check "ctl up: the agent runs again" bash -c "echo up > '$R/loc/ctl'"
sleep 4
p5=$(agent_pid "$R/loc")
if alive "$p5"; then
	pass "autostop -1: the agent stays up"
else
	fail "autostop -1: agent gone"
fi

# log: the agent's log, followed while open.
"$PYTHON3" - "$MNT/^/local/log" "$T/logtext" >"$T/nb" 2>&1 <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
out = open(sys.argv[2], "wb")
n = 0
try:
    while True:
        b = os.read(fd, 65536)
        if not b:
            print("eof after", n)
            break
        out.write(b)
        n += len(b)
except BlockingIOError:
    print("EAGAIN after", n)
PY
has "log: O_NONBLOCK gives EAGAIN at the end" "$T/nb" "EAGAIN after"
has "log: the agent's log as it is on disk" "$T/logtext" \
	"$(head -n 1 "$HOME/.rh/agent/log")"
has "log: down and up are in it" "$T/logtext" "stopping: asked by client"
timeout 10 "$PYTHON3" - "$MNT/^/local/log" >"$T/intr" 2>&1 <<'PY'
import os, signal, sys
class Alarm(Exception):
    pass
def ring(*a):
    raise Alarm()
signal.signal(signal.SIGALRM, ring)
signal.setitimer(signal.ITIMER_REAL, 1.0)
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    while os.read(fd, 65536):
        pass
    print("read returned end of file")
except Alarm:
    print("interrupted")
PY
has "log: a read at the end waits, and ends on a signal" "$T/intr" \
	"interrupted"
cat "$MNT/^/local/log" >"$T/follow" 2>&1 &
reader=$!
sleep 1
lacks "log: not yet there" "$T/follow" "autostop after 7 idle minutes"
echo 'autostop 7' >"$R/loc/ctl"
i=0
while ! grep -q "autostop after 7 idle minutes" "$T/follow" && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
has "log: a following reader sees a later line" "$T/follow" \
	"autostop after 7 idle minutes"
if kill -0 "$reader" 2>/dev/null; then
	pass "log: the reader still follows"
else
	fail "log: the reader ended"
fi
kill "$reader"
# a reader parked in a read ends on the signal (killed: status 143)
i=0
while kill -0 "$reader" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$reader" 2>/dev/null; then
	fail "log: the reader was killed (still running)"
	kill -9 "$reader"
	wait "$reader" 2>/dev/null
else
	wait "$reader" 2>/dev/null
	st=$?
	if [ "$st" -eq 143 ]; then
		pass "log: the reader was killed"
	else
		fail "log: the reader was killed (it ended with status $st)"
	fi
fi
start=$(date +%s)
check "unmount right after" fusermount3 -u "$MNT"
if ! exits_within 5 "$RHFS_PID"; then
	fail "rhfs still runs 5 s after unmount"
else
	pass "rhfs left in $(( $(date +%s) - start )) s"
fi
finish
