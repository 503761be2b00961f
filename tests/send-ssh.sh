# send-ssh.sh - a command send on a cluster reached over SSH (a real sshd
# on loopback): the agent installed on first use, calls through one
# channel, the node going away (an error within the timeout, never a
# hang) and coming back (recovery without remount), rhfs killed mid-call
# (the call's result still readable after remount), the agent killed
# mid-call (the call fails with a reason; the next call brings it back),
# a map of 200 lines and a result passed by $ref on the node, and the
# node back with another host key (refused, EACCES, a clear .log line).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

stop_all() {
	if id -u "$SSH_USER" >/dev/null 2>&1; then
		su -s /bin/sh "$SSH_USER" -c \
			'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
			>/dev/null 2>&1
		rm -rf "/home/$SSH_USER/rhpy"
	fi
	kill_node
}
# sshd and every session it forked
kill_node() {
	if [ -n "$SSHD_PID" ]; then
		for p in $(pgrep -P "$SSHD_PID"); do
			kill "$p" 2>/dev/null
		done
	fi
	stop_sshd
}
trap 'stop_all; cleanup' EXIT

start_sshd || finish
su -s /bin/sh "$SSH_USER" -c \
	'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' >/dev/null 2>&1
rm -rf "/home/$SSH_USER/.rh"
# An agent of the same version but another build on the node: replaced.
mkdir -p "/home/$SSH_USER/.rh/bin"
{
	echo '#!/bin/sh'
	"$top_builddir/rhagent" --version | sed -n '1,2s/^/echo /p'
	echo 'echo build 0000'
} >"/home/$SSH_USER/.rh/bin/rhagent"
chmod 755 "/home/$SSH_USER/.rh/bin/rhagent"
chown -R "$SSH_USER" "/home/$SSH_USER/.rh"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=3"
R=$MNT/~
mkdir "$R/node" "$R/who" "$R/nap"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["sh", "-c", "echo $(id -un) $0"]}' \
	>"$R/who/config.json"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["sh", "-c", "sleep $0; echo woke after $0"]}' \
	>"$R/nap/config.json"

check "invoke on the node" sh -c "echo '[\"there\"]' > '$R/who/invoke'"
check "result" cat "$R/who/calls/latest/result"
has "ran as the node's user" "$T/out" "$SSH_USER there"
check "this build's rhagent replaced the node's other build" \
	cmp "$top_builddir/rhagent" "/home/$SSH_USER/.rh/bin/rhagent"
has "the host key was recorded" "$T/known_hosts" "[127.0.0.1]:$SSH_PORT"

# A map of 200 lines on the node: every result, in order.
"$PYTHON3" - "$R/who/invoke" "$SSH_USER" >"$T/map" 2>"$T/map.err" <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, "".join(json.dumps([i]) + "\n" for i in range(200)).encode())
f = os.fdopen(fd, "r")
out = [f.readline().rstrip("\n") for _ in range(200)]
bad = [i for i, l in enumerate(out) if l != "%s %d" % (sys.argv[2], i)]
print("map ok" if not bad else "map bad at %s: %r" % (bad[:3], out[:3]))
PY
has "a map of 200 lines on the node: every result, in order" "$T/map" "map ok"

# A result passed by reference on the node, the data never in the mount.
mkdir "$R/say"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["echo", "said:"]}' \
	>"$R/say/config.json"
echo '["by ref"]' >"$R/who/invoke"
id=$(readlink "$R/who/calls/latest")
cat >"$T/ref.sh" <<SH
exec 3<>'$R/say/invoke'
echo '[{"\$ref": "~/who/calls/$id"}]' >&3
read -r a <&3
echo "\$a"
SH
check "a \$ref to a call of another send on the node" bash "$T/ref.sh"
has "gets its result" "$T/out" "said: $SSH_USER by ref"
check "the call that named it" cat "$R/say/calls/latest/spec"
has "keeps the reference" "$T/out" "~/who/calls/$id"

check "the cluster's status" cat "$R/node/status"
has "is up" "$T/out" '"state": "up"'
cat >"$T/run.sh" <<SH
exec 3<>'$R/node/run'
echo 'id -un; exit 4' >&3
cat <&3
SH
check "run on the node" bash "$T/run.sh"
printf '%s\nexit 4\n' "$SSH_USER" >"$T/want"
same "run: its output and exit status" "$T/out" "$T/want"

# A Python send on the node: its module in the node user's home, run by
# the node agent's warm workers (the runner came with the agent).
mkdir -p "/home/$SSH_USER/rhpy"
cat >"/home/$SSH_USER/rhpy/sshfns.py" <<'PY'
import getpass


def who(x, times=1):
    print("printed on the node")
    return {"user": getpass.getuser(), "x": x * times}
PY
chown -R "$SSH_USER" "/home/$SSH_USER/rhpy"
mkdir "$R/pywho"
printf '{"resource_type": "send", "hardware": "~/node", "fn_pointers": ["rhpy", "sshfns", "who"]}' \
	>"$R/pywho/config.json"
cat >"$T/py.sh" <<SH
exec 3<>'$R/pywho/invoke'
echo '[2]' >&3
echo '{"args": [3], "kwargs": {"times": 2}}' >&3
read -r a <&3
read -r b <&3
echo "\$a"
echo "\$b"
SH
check "a Python send on the node" bash "$T/py.sh"
"$PYTHON3" - "$T/out" "$SSH_USER" >"$T/pyres" 2>&1 <<'PY'
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
ok = (a["user"] == b["user"] == sys.argv[2] and a["x"] == 2 and
      b["x"] == 6)
print("python ok" if ok else "python bad: %r %r" % (a, b))
PY
has "ran as the node's user, with args and kwargs" \
	"$T/pyres" "python ok"
check "its stdout" cat "$R/pywho/calls/latest/stdout"
has "print() reached the call's stdout" "$T/out" "printed on the node"

# The node goes away: a clear error within the timeout, never a hang.
kill_node
check "node gone: status still answers" timeout 30 cat "$R/node/status"
has "node gone: status says down" "$T/out" '"state": "down"'

start=$(date +%s)
refuse "node gone: invoke fails" "" timeout 30 \
	bash -c "echo '[1]' > '$R/who/invoke'"
took=$(( $(date +%s) - start ))
if [ "$took" -lt 25 ]; then
	pass "node gone: the error came within the timeout (${took}s)"
else
	fail "node gone: took ${took}s"
fi
check "the mount stays up" ls "$R"
# The node is back: the next call reconnects, no remount.
start_sshd || finish
check "node back: status" cat "$R/node/status"
has "node back: up again" "$T/out" '"state": "up"'
check "node back: invoke works again" \
	sh -c "echo '[\"again\"]' > '$R/who/invoke'"
check "its result" cat "$R/who/calls/latest/result"
has "from the node" "$T/out" "$SSH_USER again"

# rhfs killed while a call runs: the call lives on the node.
echo '[2]' >"$R/nap/invoke"
id=$(readlink "$R/nap/calls/latest")
kill -9 "$RHFS_PID"
wait "$RHFS_PID" 2>/dev/null
RHFS_PID=
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=3"
check "after remount the call is listed" test -d "$R/nap/calls/$id"
check "its result is readable" timeout 20 cat "$R/nap/calls/$id/result"
has "and complete" "$T/out" "woke after 2"
check "its status" cat "$R/nap/calls/$id/status"
has "done" "$T/out" '"state": "done"'

# The agent killed mid-call: the call fails with a reason.
echo '[30]' >"$R/nap/invoke"
id=$(readlink "$R/nap/calls/latest")
sleep 0.5
pid=$(cat "/home/$SSH_USER/.rh/agent/pid" 2>/dev/null)
if [ -n "$pid" ] && kill -9 "$pid"; then
	pass "agent killed"
else
	fail "agent killed (no pid)"
fi
check "the next call brings the agent back" \
	sh -c "echo '[\"back\"]' > '$R/who/invoke'"
check "and runs" timeout 20 cat "$R/who/calls/latest/result"
has "on the node" "$T/out" "$SSH_USER back"
check "the killed call's status" timeout 20 cat "$R/nap/calls/$id/status"
has "is failed" "$T/out" '"state": "failed"'
lacks "with a reason" "$T/out" '"reason": null'

# The node comes back with another host key: refused, with a clear .log
# line, and the known key kept.
kill_node
ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/other_host_key"
start_sshd "$SSH_DIR/other_host_key" || finish
refuse "a changed host key is refused" "Permission denied" timeout 30 \
	bash -c "echo '[\"x\"]' > '$R/who/invoke'"
has ".log says the host key changed" "$MNT/.log" "the host key has changed"
if [ "$(grep -c "$SSH_PORT" "$T/known_hosts")" -eq 1 ]; then
	pass "known_hosts keeps the old key only"
else
	fail "known_hosts keeps the old key only"
fi
finish
