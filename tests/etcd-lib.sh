# etcd-lib.sh - a real etcd for the tests (Debian's etcd-server, 3.4): on
# loopback, on free ports, its data in a temp dir, always killed at exit,
# every wait bounded.
#
# Source it after lib.sh when a test uses both: its exit trap also runs
# lib.sh's cleanup.
#
#   etcd_need                       skip the test without etcd
#   etcd_start [ETCD OPTION...]     a fresh etcd (in place of the one
#                                   running); sets ETCD_URL, ETCD_PID
#   etcd_tls_start [ETCD OPTION...] the same on https; also sets ETCD_CA,
#                                   the CA file that signed its certificate
#   etcd_stop                       kill it (its data stays)
#   etcd_restart                    the same etcd again: ports, data, options
#
#   etcd_cluster_start [ETCD OPTION...]  three members, --initial-cluster
#                                   on loopback; sets ETCD_URL to all of
#                                   them (URL,URL,URL) and ETCD_MEMBER_1..3
#                                   to each one's URL
#   etcd_member_kill N              kill -9 member N (1..3)
#   etcd_member_start N             member N again (its ports and data)
#   etcd_member_stop N / _cont N    SIGSTOP, SIGCONT: a member that takes
#                                   connections and answers nothing
#   etcd_cluster_leader             wait (at most 30 s) until the members
#                                   running agree on a leader
#
# Options are split on blanks. ETCDCTL runs etcdctl against it (all the
# members of a cluster).

: "${PYTHON3:=python3}"
ETCD_BIN=${ETCD_BIN:-etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-etcdctl}
ETCD_TMP=$(mktemp -d /tmp/rhfs-etcd.XXXXXX)
ETCD_PID=
ETCD_URL=
ETCD_CA=
ETCD_N=0

etcd_have() {
	command -v "$ETCD_BIN" >/dev/null 2>&1 &&
		command -v "$ETCDCTL_BIN" >/dev/null 2>&1
}

# Skip the test (exit 77) where etcd is not installed.
etcd_need() {
	etcd_have && return 0
	echo "SKIP: etcd and etcdctl are not installed (tests/deps.sh)"
	exit 77
}

# etcd_up [etcd options...]: in a test of lib.sh, an etcd of its own
# (the test skipped where etcd is not installed); its URL in U.
etcd_up() {
	etcd_need
	etcd_start "$@" || { fail "etcd starts"; finish; }
	U=$ETCD_URL
}

# N (2) ports free on loopback, asked of the kernel at the same time so
# that they differ; a test running in parallel gets others.
etcd_ports() {
	"$PYTHON3" -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))' "${1:-2}"
}

ETCDCTL() {
	# shellcheck disable=SC2086
	ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints "$ETCD_URL" \
		${ETCD_CA:+--cacert "$ETCD_CA"} "$@"
}

# "endpoint status" needs no user when auth is on ("endpoint health"
# does in 3.4).
etcd_ready() {
	ETCDCTL --dial-timeout 1s --command-timeout 2s endpoint status \
		>/dev/null 2>&1
}

etcd_log() {
	echo "--- etcd log $ETCD_DATA.log:" >&2
	tail -n 20 "$ETCD_DATA.log" >&2 2>/dev/null
}

# Start etcd as set up in ETCD_*; wait (at most 30 s) for it to answer.
# 0 ready, 1 it did not come up, 2 it died at once (port taken?).
etcd_launch() {
	peer=http://127.0.0.1:$ETCD_PEER_PORT
	# The test's own descriptors (fifos) are not etcd's business.
	# shellcheck disable=SC2086
	"$ETCD_BIN" --name rhfs-test --data-dir "$ETCD_DATA" \
		--listen-client-urls "$ETCD_URL" \
		--advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "$peer" \
		--initial-advertise-peer-urls "$peer" \
		--initial-cluster "rhfs-test=$peer" \
		--logger zap --log-outputs stderr $ETCD_ARGS \
		</dev/null >>"$ETCD_DATA.log" 2>&1 \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	ETCD_PID=$!
	deadline=$(($(date +%s) + 30))
	while ! etcd_ready; do
		if ! kill -0 "$ETCD_PID" 2>/dev/null; then
			wait "$ETCD_PID" 2>/dev/null
			ETCD_PID=
			return 2
		fi
		if [ "$(date +%s)" -gt $deadline ]; then
			echo "etcd at $ETCD_URL did not come up" >&2
			etcd_log
			etcd_stop
			return 1
		fi
		sleep 0.2
	done
}

# etcd_fresh SCHEME [OPTION...]: a new data dir, new ports (again if the
# ones picked were taken in the meantime).
etcd_fresh() {
	etcd_stop       # one at a time
	scheme=$1
	shift
	ETCD_ARGS="$*"
	tries=0
	while :; do
		ETCD_N=$((ETCD_N + 1))
		ETCD_DATA=$ETCD_TMP/data.$ETCD_N
		# shellcheck disable=SC2046
		set -- $(etcd_ports)
		ETCD_CLIENT_PORT=$1
		ETCD_PEER_PORT=$2
		ETCD_URL=$scheme://127.0.0.1:$ETCD_CLIENT_PORT
		etcd_launch
		r=$?
		[ $r -ne 2 ] && return $r
		tries=$((tries + 1))
		if [ $tries -ge 5 ]; then
			echo "etcd would not start" >&2
			etcd_log
			return 1
		fi
	done
}

etcd_start() {
	ETCD_CA=
	etcd_fresh http "$@"
}

# A throwaway CA and a certificate for 127.0.0.1 signed by it.
etcd_certs() {
	d=$ETCD_TMP/tls
	[ -f "$d/server.pem" ] && return 0
	mkdir -p "$d"
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
		>"$d/ext"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 2 -subj /CN=rhfs-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=127.0.0.1 -keyout "$d/server.key" \
		-out "$d/server.csr" 2>/dev/null &&
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" \
		-CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
}

etcd_tls_start() {
	command -v openssl >/dev/null 2>&1 || return 1
	etcd_certs || return 1
	ETCD_CA=$ETCD_TMP/tls/ca.pem
	etcd_fresh https --cert-file "$ETCD_TMP/tls/server.pem" \
		--key-file "$ETCD_TMP/tls/server.key" "$@"
}

etcd_restart() {
	etcd_stop
	etcd_launch || { etcd_log; return 1; }
}

# Ask it to go, wait (at most 5 s), then make it.
etcd_stop() {
	[ -n "$ETCD_PID" ] || return 0
	kill "$ETCD_PID" 2>/dev/null
	i=0
	while kill -0 "$ETCD_PID" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$ETCD_PID" 2>/dev/null
	wait "$ETCD_PID" 2>/dev/null
	ETCD_PID=
}

# With lib.sh: etcdctl as a user, and checks of what the user may do.
#   as USER:PW ARGS...            etcdctl with the user's credentials
#   can DESC USER:PW ARGS...      allowed
#   cannot DESC USER:PW ARGS...   refused as permission denied
as() {
	who=$1
	shift
	ETCDCTL --dial-timeout 3s --command-timeout 5s --user "$who" "$@"
}
can() {
	d=$1
	shift
	check "$d" as "$@"
}
cannot() {
	d=$1
	shift
	refuse "$d" "permission denied" as "$@"
}

# ---- a cluster of three ----
ETCD_MEMBERS="1 2 3"

# etcd_member_launch N: member N as set up by etcd_cluster_start.
etcd_member_launch() {
	eval "m_client=\$ETCD_MEMBER_$1 m_peer=\$ETCD_PEER_$1"
	# shellcheck disable=SC2086,SC2154
	"$ETCD_BIN" --name "m$1" --data-dir "$ETCD_TMP/cluster/m$1" \
		--listen-client-urls "$m_client" \
		--advertise-client-urls "$m_client" \
		--listen-peer-urls "$m_peer" \
		--initial-advertise-peer-urls "$m_peer" \
		--initial-cluster "$ETCD_CLUSTER" \
		--initial-cluster-state new \
		--initial-cluster-token "rhfs-test-$$" \
		--logger zap --log-outputs stderr $ETCD_ARGS \
		</dev/null >>"$ETCD_TMP/cluster/m$1.log" 2>&1 \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	eval "ETCD_PID_$1=\$!"
}

# The members running answer, and one of them says who leads.
etcd_cluster_has_leader() {
	for n in $ETCD_MEMBERS; do
		eval "m_pid=\$ETCD_PID_$n m_client=\$ETCD_MEMBER_$n"
		[ -n "$m_pid" ] || continue
		ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints "$m_client" \
			--dial-timeout 1s --command-timeout 2s endpoint status \
			-w json 2>/dev/null | grep -q '"leader":' || return 1
	done
}

etcd_cluster_leader() {
	deadline=$(($(date +%s) + 30))
	until etcd_cluster_has_leader; do
		if [ "$(date +%s)" -gt $deadline ]; then
			echo "etcd cluster at $ETCD_URL has no leader" >&2
			tail -n 20 "$ETCD_TMP"/cluster/m*.log >&2
			return 1
		fi
		sleep 0.2
	done
}

etcd_cluster_start() {
	etcd_stop
	ETCD_CA=
	ETCD_ARGS="$*"
	mkdir -p "$ETCD_TMP/cluster"
	# shellcheck disable=SC2046
	set -- $(etcd_ports 6)
	ETCD_CLUSTER=
	ETCD_URL=
	for n in $ETCD_MEMBERS; do
		eval "ETCD_MEMBER_$n=http://127.0.0.1:\$1"
		eval "ETCD_PEER_$n=http://127.0.0.1:\$4"
		eval "ETCD_URL=\${ETCD_URL:+\$ETCD_URL,}\$ETCD_MEMBER_$n"
		eval "ETCD_CLUSTER=\${ETCD_CLUSTER:+\$ETCD_CLUSTER,}m$n=\$ETCD_PEER_$n"
		shift
	done
	for n in $ETCD_MEMBERS; do
		etcd_member_launch "$n"
	done
	etcd_cluster_leader
}

etcd_member_kill() {
	eval "m_pid=\$ETCD_PID_$1"
	[ -n "$m_pid" ] || return 0
	kill -CONT "$m_pid" 2>/dev/null
	kill -9 "$m_pid" 2>/dev/null
	wait "$m_pid" 2>/dev/null
	eval "ETCD_PID_$1="
}

etcd_member_start() {
	etcd_member_launch "$1"
}

etcd_member_stop() {
	eval "kill -STOP \$ETCD_PID_$1"
}

etcd_member_cont() {
	eval "kill -CONT \$ETCD_PID_$1"
}

etcd_cluster_stop() {
	for n in $ETCD_MEMBERS; do
		etcd_member_kill "$n"
	done
}

etcd_exit() {
	etcd_cluster_stop
	etcd_stop
	rm -rf "$ETCD_TMP"
	if command -v cleanup >/dev/null 2>&1; then
		cleanup
	fi
}
trap etcd_exit EXIT
trap 'exit 130' INT TERM
