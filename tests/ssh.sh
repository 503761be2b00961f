# ssh.sh - the SSH transport (src/link/ssh.c) against a real sshd: key auth,
# known_hosts, commands, a persistent channel, SFTP upload, failures.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
CLIENT=$top_builddir/tests/ssh-client

start_sshd || finish
ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/wrong_key"
# a peer that accepts connections and never says a word
start_silent_peer

if "$CLIENT" suite 127.0.0.1 "$SSH_PORT" "$SSH_USER" "$SSH_KEY" \
	"$KNOWN_HOSTS" "$SSH_DIR/wrong_key" "$SILENT_PORT"; then
	pass "transport suite"
else
	fail "transport suite"
fi
kill "$SILENT_PID" 2>/dev/null

has "the new host was recorded in known_hosts" "$KNOWN_HOSTS" \
	"[127.0.0.1]:$SSH_PORT ssh-ed25519"
check "a recorded host connects again" "$CLIENT" connect 127.0.0.1 \
	"$SSH_PORT" "$SSH_USER" "$SSH_KEY" "$KNOWN_HOSTS"
check "exec runs as the node's user" "$CLIENT" exec 127.0.0.1 "$SSH_PORT" \
	"$SSH_USER" "$SSH_KEY" "$KNOWN_HOSTS" "id -un"
has "as $SSH_USER" "$T/out" "$SSH_USER"

# A home without ~/.ssh (rhfs's default known_hosts is in it): the first
# key is pinned all the same, ~/.ssh made 0700.
HOMEKH=$HOME/.ssh/known_hosts
check "no ~/.ssh: the first connection" "$CLIENT" connect 127.0.0.1 \
	"$SSH_PORT" "$SSH_USER" "$SSH_KEY" "$HOMEKH"
check "  ~/.ssh was made" test -d "$HOME/.ssh"
check "  its mode" stat -c %a "$HOME/.ssh"
echo 700 >"$T/want"
same "  is 0700" "$T/out" "$T/want"
has "  the key is pinned there" "$HOMEKH" "[127.0.0.1]:$SSH_PORT ssh-ed25519"
# A key that cannot be recorded: the connection is refused.
: >"$T/afile"
refuse "a new host whose key cannot be recorded is refused" \
	"cannot be recorded in $T/afile/known_hosts" \
	"$CLIENT" connect 127.0.0.1 "$SSH_PORT" "$SSH_USER" "$SSH_KEY" \
	"$T/afile/known_hosts"

# The node comes back with another host key: refused, clearly.
stop_sshd
ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/other_host_key"
start_sshd "$SSH_DIR/other_host_key" || finish
refuse "a changed host key is refused" "host key has changed" \
	"$CLIENT" connect 127.0.0.1 "$SSH_PORT" "$SSH_USER" "$SSH_KEY" \
	"$KNOWN_HOSTS"
if [ "$(grep -c "$SSH_PORT" "$KNOWN_HOSTS")" -eq 1 ]; then
	pass "known_hosts keeps the old key only"
else
	fail "known_hosts keeps the old key only"
fi
refuse "no ~/.ssh at first: a changed host key is refused" \
	"host key has changed" \
	"$CLIENT" connect 127.0.0.1 "$SSH_PORT" "$SSH_USER" "$SSH_KEY" \
	"$HOMEKH"

# The node is gone: an error, quickly, never a hang.
stop_sshd
refuse "a stopped node answers with an error" "cannot connect" \
	"$CLIENT" connect 127.0.0.1 "$SSH_PORT" "$SSH_USER" "$SSH_KEY" \
	"$KNOWN_HOSTS"
finish
