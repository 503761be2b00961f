# link.sh - reaching a cluster's agent as rhfs does (src/link/link.c): ^local
# spawned directly; a node over SSH, its rhagent installed on first
# contact and reused after; calls multiplexed over the one stream.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
CLIENT=$top_builddir/tests/link-client
RHAGENT=$top_builddir/rhagent
KH=$T/known_hosts

stop_agents() {
	HOME=$T/home "$RHAGENT" stop >/dev/null 2>&1
	if [ -n "$SSHD_PID" ]; then
		su -s /bin/sh "$SSH_USER" -c \
			'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
			>/dev/null 2>&1
	fi
	stop_sshd
}
trap 'stop_agents; cleanup' EXIT

local='{"name": "^local", "resource_type": "cluster", "ips": ["localhost"], "server_connection_type": "none"}'
check "^local: a call through a spawned bridge" \
	"$CLIENT" "$RHAGENT" "$KH" "^local" "$local" echo hello local
has "^local: its result" "$T/out" "hello local"
check "^local: the agent runs as this user, in this HOME" \
	test -S "$HOME/.rh/agent/sock"
refuse "^local: a failing command fails the call" "" \
	"$CLIENT" "$RHAGENT" "$KH" "^local" "$local" false
check "^local: 200 calls over one link" env LINK_REPEAT=200 \
	"$CLIENT" "$RHAGENT" "$KH" "^local" "$local" echo again
has "^local: the last result" "$T/out" "again"

start_sshd || finish
rm -rf "/home/$SSH_USER/.rh"
node=$(printf '{"name": "~/node", "resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT")
check "ssh: first contact installs rhagent and runs a call" \
	"$CLIENT" "$RHAGENT" "$KH" "~/node" "$node" id -un
has "ssh: the call ran as the node's user" "$T/out" "$SSH_USER"
has "ssh: rhagent was installed" "$T/errout" "installing rhagent"
check "ssh: the node has our rhagent" \
	cmp "$RHAGENT" "/home/$SSH_USER/.rh/bin/rhagent"
check "ssh: second contact" \
	"$CLIENT" "$RHAGENT" "$KH" "~/node" "$node" echo second
lacks "ssh: nothing installed the second time" "$T/errout" "installing"
has "ssh: its result" "$T/out" "second"
check "ssh: 200 calls over one channel" env LINK_REPEAT=200 \
	"$CLIENT" "$RHAGENT" "$KH" "~/node" "$node" echo many
has "ssh: the last result" "$T/out" "many"
has "ssh: the host key was recorded" "$KH" "[127.0.0.1]:$SSH_PORT"

# The bridge's stderr is read and logged, also when it says more than the
# channel's window (2 MiB) before it starts the agent: unread, it would
# stop the bridge, and no call would run.
A=/home/$SSH_USER/.rh/bin/rhagent
su -s /bin/sh "$SSH_USER" -c '~/.rh/bin/rhagent stop' >/dev/null 2>&1
cp "$A" "$A.real"
rm -f "$A"
cat >"$A" <<'SH'
#!/bin/sh
if [ "$1" = bridge ]; then
	yes "a note from the bridge $(printf '%0900d' 0 | tr 0 Q)" |
		head -n 4000 >&2
fi
exec ~/.rh/bin/rhagent.real "$@"
SH
chmod 755 "$A"
chown "$SSH_USER" "$A" "$A.real"
check "ssh: a bridge that writes 3.6 MB to stderr first still serves calls" \
	env LINK_REPEAT=20 "$CLIENT" "$RHAGENT" "$KH" "~/node" "$node" echo noted
has "ssh: their result" "$T/out" "noted"
lacks "ssh: no install (the wrapper gives the same version)" "$T/errout" \
	"installing"
has "ssh: the bridge's stderr was logged" "$T/errout" \
	"agent bridge: a note from the bridge"
rm -f "$A.real"

# A stale rhagent on the node (another version) is replaced.
rm -f "/home/$SSH_USER/.rh/bin/rhagent"
printf '#!/bin/sh\necho rhagent 0.0.1\n' >"/home/$SSH_USER/.rh/bin/rhagent"
chmod 755 "/home/$SSH_USER/.rh/bin/rhagent"
check "ssh: an old rhagent is replaced" \
	"$CLIENT" "$RHAGENT" "$KH" "~/node" "$node" echo replaced
has "ssh: installed again" "$T/errout" "installing rhagent"

bad=$(printf '{"name": "~/bad", "resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": 1}}' "$SSH_USER" "$SSH_KEY")
refuse "ssh: an unreachable node is a clear error" "cannot connect" \
	"$CLIENT" "$RHAGENT" "$KH" "~/bad" "$bad" true
finish
