# sshd-lib.sh - a real OpenSSH sshd on loopback for the tests, as a cluster
# node: its own ed25519 host key, a dedicated unprivileged user (root's
# shell start-up is slow), an ed25519 client key. Source after lib.sh
# (which provides $T and the cleanup trap); call start_sshd.

# A test may name a user of its own (set SSH_USER before sourcing): its
# node is then its own, with a lock of its own.
SSH_USER=${SSH_USER:-rhfs-test}
SSH_DIR=$T/ssh
SSH_KEY=$SSH_DIR/client_ed25519
KNOWN_HOSTS=$SSH_DIR/known_hosts
SSHD_PID=

# A free TCP port on loopback.
free_port() {
	"$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ensure_ssh_user() {
	# parallel tests may race to create the user: serialize
	(
		flock 9
		if ! id -u "$SSH_USER" >/dev/null 2>&1; then
			useradd -m -d "/home/$SSH_USER" -s /bin/sh "$SSH_USER"
		fi
		# a locked account ('!') may not log in even with a key
		usermod -p '*' "$SSH_USER"
	) 9>/tmp/rhfs-test-user.lock
}

# The test user's node (its home, its agent) is one per machine: tests
# that use it take turns, holding the lock until they exit.
take_node() {
	if [ -z "${NODE_LOCKED:-}" ]; then
		exec 8>"/tmp/$SSH_USER-node.lock"
		flock 8
		NODE_LOCKED=1
	fi
}

# start_sshd [HOSTKEY]: (re)start sshd on $SSH_PORT with the given host
# key (default: $SSH_DIR/host_ed25519, made on first use).
start_sshd() {
	take_node
	hostkey=${1:-$SSH_DIR/host_ed25519}
	mkdir -p "$SSH_DIR" /run/sshd
	# sshd reads authorized_keys as the user: let it through $T
	chmod 711 "$T"
	chmod 755 "$SSH_DIR"
	ensure_ssh_user
	[ -f "$hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$hostkey"
	[ -f "$SSH_KEY" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSH_KEY"
	cp "$SSH_KEY.pub" "$SSH_DIR/authorized_keys"
	chmod 644 "$SSH_DIR/authorized_keys"
	: "${SSH_PORT:=$(free_port)}"
	cat >"$SSH_DIR/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $hostkey
PidFile $SSH_DIR/sshd.pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers $SSH_USER
PermitRootLogin no
Subsystem sftp internal-sftp
MaxSessions 64
MaxStartups 64
LogLevel VERBOSE
CONF
	# the sessions' environment, on one SetEnv line (sshd keeps the
	# first): the test's own (SSHD_SETENV, NAME=VALUE ...), and a
	# sanitizer build's agent reports where the test's own programs do
	setenv=${SSHD_SETENV:-}
	[ -z "${ASAN_OPTIONS:-}" ] ||
		setenv="$setenv ASAN_OPTIONS=$ASAN_OPTIONS"
	[ -z "${UBSAN_OPTIONS:-}" ] ||
		setenv="$setenv UBSAN_OPTIONS=$UBSAN_OPTIONS"
	[ -z "$setenv" ] || echo "SetEnv $setenv" >>"$SSH_DIR/sshd_config"
	/usr/sbin/sshd -D -e -f "$SSH_DIR/sshd_config" \
		2>>"$SSH_DIR/sshd.log" &
	SSHD_PID=$!
	i=0
	until ssh-keyscan -T 1 -p "$SSH_PORT" 127.0.0.1 >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$SSHD_PID" 2>/dev/null; then
			echo "FAIL: sshd did not start" >&2
			cat "$SSH_DIR/sshd.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

stop_sshd() {
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
}

# The agent a test started in the test user's home, stopped.
stop_node_agent() {
	su -s /bin/sh "$SSH_USER" -c \
		'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
		>/dev/null 2>&1
}

# node_up: in a test of lib.sh, sshd started and no agent of an earlier
# run left on the node; at exit both stop. NODE is the ssh user's home.
node_up() {
	NODE=/home/$SSH_USER
	trap 'stop_node_agent; stop_sshd; cleanup' EXIT
	start_sshd || finish
	stop_node_agent
}

# run after lib.sh's cleanup
trap 'stop_sshd; cleanup' EXIT

# sshd and every process under it (the sessions), by pid.
sshd_tree() {
	[ -n "$SSHD_PID" ] || return 0
	todo=$SSHD_PID
	while [ -n "$todo" ]; do
		next=
		for p in $todo; do
			echo "$p"
			next="$next $(pgrep -P "$p" | tr '\n' ' ')"
		done
		todo=$(echo $next)
	done
}

# A second node on 127.0.0.2, the same port, user and keys: start_sshd2
# after start_sshd; stop_sshd2 ends it and every session it forked.
SSHD2_PID=

# the second node: sshd's config with its own address and pid file
start_sshd2() {
	sed -e 's/^ListenAddress .*/ListenAddress 127.0.0.2/' \
		-e "s|^PidFile .*|PidFile $SSH_DIR/sshd2.pid|" \
		"$SSH_DIR/sshd_config" >"$SSH_DIR/sshd2_config"
	/usr/sbin/sshd -D -e -f "$SSH_DIR/sshd2_config" \
		2>>"$SSH_DIR/sshd2.log" &
	SSHD2_PID=$!
	i=0
	until ssh-keyscan -T 1 -p "$SSH_PORT" 127.0.0.2 >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$SSHD2_PID" 2>/dev/null; then
			echo "FAIL: the second sshd did not start" >&2
			cat "$SSH_DIR/sshd2.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# the second node gone: its sshd and every session it forked
stop_sshd2() {
	[ -n "$SSHD2_PID" ] || return 0
	for p in $(pgrep -P "$SSHD2_PID"); do
		kill "$p" 2>/dev/null
	done
	kill "$SSHD2_PID" 2>/dev/null
	wait "$SSHD2_PID" 2>/dev/null
	SSHD2_PID=
}
