#!/bin/sh
# cli-ssh.sh - rh ssh and rh tunnel against a real sshd on loopback: a
# command on the head node and its exit status, the cluster named as an
# address, a bare name or a path in the mount, host keys shared with rhfs
# both ways (recorded by one, accepted by the other; a changed key
# refused), and a TCP service on the node reached through a tunnel.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
RH=$top_builddir/rh

stop_all() {
	[ -n "${TUNNEL_PID:-}" ] && kill "$TUNNEL_PID" 2>/dev/null
	[ -n "${SERVICE_PID:-}" ] && kill "$SERVICE_PID" 2>/dev/null
	if id -u "$SSH_USER" >/dev/null 2>&1; then
		su -s /bin/sh "$SSH_USER" -c \
			'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
			>/dev/null 2>&1
	fi
	stop_sshd
}
trap 'stop_all; cleanup' EXIT

command -v ssh >/dev/null 2>&1 || {
	echo "SKIP: no ssh client (tests/deps.sh)"
	exit 77
}
start_sshd || finish
KH=$T/kh-rh
mkdir -p "$WORK/rh/node" "$WORK/rh/nokey" "$WORK/rh/who"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$WORK/rh/node/config.json"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s/none", "ssh_port": %s}}' \
	"$SSH_USER" "$T" "$SSH_PORT" >"$WORK/rh/nokey/config.json"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["true"]}' \
	>"$WORK/rh/who/config.json"
cd "$WORK" || finish

check "--dry-run prints the ssh command" "$RH" ssh --known-hosts "$KH" \
	--dry-run '~/node' -- echo hi
has "with the node's port" "$T/out" "-p $SSH_PORT"
has "its user" "$T/out" "-l $SSH_USER"
has "its key" "$T/out" "-i $SSH_KEY"
has "rhfs's host key policy" "$T/out" "StrictHostKeyChecking=accept-new"
has "the known_hosts given" "$T/out" "UserKnownHostsFile=$KH"

check "rh ssh CLUSTER -- echo hi" timeout 30 "$RH" ssh --known-hosts "$KH" \
	'~/node' -- echo hi
printf 'hi\n' >"$T/want"
same "prints hi" "$T/out" "$T/want"
check "the host key was recorded" grep -q "\[127.0.0.1\]:$SSH_PORT" "$KH"
check "on the node, as its ssh_user" timeout 30 "$RH" ssh \
	--known-hosts "$KH" '~/node' -- id -un
has "is $SSH_USER" "$T/out" "$SSH_USER"
timeout 30 "$RH" ssh --known-hosts "$KH" '~/node' -- 'exit 7' \
	>/dev/null 2>&1
st=$?
if [ "$st" -eq 7 ]; then
	pass "the remote exit status is rh's"
else
	fail "the remote exit status is rh's (got $st)"
fi
echo from-stdin | timeout 30 "$RH" ssh --known-hosts "$KH" '~/node' -- cat \
	>"$T/out" 2>&1
has "stdin reaches the command" "$T/out" "from-stdin"
check "a bare name is in the default folder (~)" timeout 30 "$RH" ssh \
	--known-hosts "$KH" node -- echo bare
has "and runs" "$T/out" "bare"
refuse "a key that does not exist" "ssh key $T/none" \
	"$RH" ssh --known-hosts "$KH" '~/nokey' -- true
refuse "a send is not a cluster" "not a cluster (a send)" \
	"$RH" ssh --known-hosts "$KH" '~/who' -- true
refuse "a folder is not a cluster" "a folder, not a resource" \
	"$RH" ssh --known-hosts "$KH" '~/' -- true

# rhfs and rh share known_hosts: rhfs reads what rh recorded ...
mount_rhfs -o "known_hosts=$KH,connect_timeout=5"
check "rhfs reaches the node with the key rh recorded" \
	timeout 60 cat "$MNT/~/node/status"
has "the node is up" "$T/out" '"state": "up"'
check "a path in the mount names the cluster" timeout 30 "$RH" ssh \
	--known-hosts "$KH" "$MNT/~/node" -- echo via-mount
has "and runs" "$T/out" "via-mount"
check "so does a relative one" sh -c "cd '$MNT/~' && timeout 30 '$RH' ssh --known-hosts '$KH' ./node -- echo relative"
has "and runs" "$T/out" "relative"
unmount_rhfs
# ... and rh accepts what rhfs recorded.
KH2=$T/kh-rhfs
mount_rhfs -o "known_hosts=$KH2,connect_timeout=5"
check "rhfs records the host key" timeout 60 cat "$MNT/~/node/status"
check "in its known_hosts" grep -q "127.0.0.1" "$KH2"
unmount_rhfs
cp "$KH2" "$T/kh2.before"
check "rh ssh with rhfs's known_hosts" timeout 30 "$RH" ssh \
	--known-hosts "$KH2" '~/node' -- echo shared
has "runs" "$T/out" "shared"
lacks "without recording the host again" "$T/errout" "Permanently added"
same "known_hosts unchanged" "$T/kh2.before" "$KH2"

# a TCP service on the node, reached through the tunnel
RPORT=$(free_port)
LPORT=$(free_port)
"$PYTHON3" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
while True:
    c, _ = s.accept()
    c.sendall(b"service on the node\n")
    c.close()
' "$RPORT" &
SERVICE_PID=$!
fetch() {
	"$PYTHON3" -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
sys.stdout.write(c.makefile().readline())
' "$1"
}
# wait_fetch PORT PID: what PORT answers, trying for at most 30 s while
# PID lives.
wait_fetch() {
	i=0
	while ! fetch "$1" >"$T/fetched" 2>/dev/null ||
		! [ -s "$T/fetched" ]; do
		i=$((i + 1))
		if [ $i -gt 150 ] || ! kill -0 "$2" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
}
wait_fetch "$RPORT" "$SERVICE_PID"
has "the service runs on the node" "$T/fetched" "service on the node"
"$RH" tunnel --known-hosts "$KH" '~/node' "$LPORT:$RPORT" \
	>"$T/tunnel.out" 2>"$T/tunnel.err" &
TUNNEL_PID=$!
: >"$T/fetched"
wait_fetch "$LPORT" "$TUNNEL_PID"
has "the service answers through the local port" "$T/fetched" \
	"service on the node"
has "the tunnel says what it forwards" "$T/tunnel.err" \
	"127.0.0.1:$LPORT to port $RPORT of ~/node"
kill "$TUNNEL_PID" 2>/dev/null
wait "$TUNNEL_PID" 2>/dev/null
TUNNEL_PID=
refuse "the port is closed once the tunnel ends" "" fetch "$LPORT"
refuse "a local port already taken fails at once" "" \
	timeout 30 "$RH" tunnel --known-hosts "$KH" '~/node' "$RPORT:$RPORT"
kill "$SERVICE_PID" 2>/dev/null
wait "$SERVICE_PID" 2>/dev/null
SERVICE_PID=

# a changed host key is refused, as rhfs refuses it
stop_sshd
start_sshd "$SSH_DIR/host_ed25519_other" || finish
refuse "a changed host key is refused" "HOST IDENTIFICATION HAS CHANGED" \
	timeout 30 "$RH" ssh --known-hosts "$KH" '~/node' -- echo no
finish
