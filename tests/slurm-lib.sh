# slurm-lib.sh - a real Slurm for the tests (Debian's slurm-wlm and
# munge): a munged with its own key and socket, a slurm.conf, slurmctld
# and two slurmd (node1, node2, both on this host, each on its own port),
# all in a temp dir, on free loopback ports, with no accounting. Every
# wait is bounded; at exit the jobs are cancelled and every process the
# cluster started is ended (by its id).
#
# Source it after lib.sh when a test uses both: its exit trap also runs
# lib.sh's cleanup (and sshd-lib.sh's, when that is sourced first).
#
#   slurm_need          skip the test (77) without slurm-wlm and munge
#   slurm_start         the cluster up, both nodes idle (at most 60 s);
#                       exports SLURM_CONF for srun, sbatch, squeue, ...
#   slurm_stop          cancel the jobs, end the daemons and whatever
#                       they left running
#   slurm_log           the daemons' logs, to stderr
#
#   slurm_kill_node N   kill -9 node N's slurmd and every process of a job
#                       step there (slurmstepd, tasks): the node fails
#   slurm_start_node N  start node N's slurmd again
#
# SLURMD_TIMEOUT, set before slurm_start, is slurm.conf's SlurmdTimeout
# (default 30 s): how long slurmctld waits before it declares a node
# that does not answer down.
#
# SLURM_DIR is the temp dir, SLURM_NODES the node names, SLURM_PARTITION
# the partition (both nodes), SLURM_CLUSTER the cluster name. Lines of
# SLURM_CONF_EXTRA, set before slurm_start, go into slurm.conf (say
# MaxArraySize=10001 for a large job array); SLURM_NODE_EXTRA is added to
# each node's line (say Gres=gpu:2) and the lines of SLURM_GRES_CONF make
# gres.conf.
#
# A login node: an sshd of tests/sshd-lib.sh started after this file is
# sourced gives its sessions SLURM_CONF (SSHD_SETENV), and the cluster's
# config and munge socket are open to its unprivileged test user, so
# that user's srun, sbatch, squeue and scancel reach this cluster.

: "${PYTHON3:=python3}"
SLURM_DIR=$(mktemp -d /tmp/rhfs-slurm.XXXXXX)
SLURM_NODES="node1 node2"
SLURM_PARTITION=debug
SLURM_CLUSTER=rhfs$$
SLURM_UP=
MUNGE_SOCKET=$SLURM_DIR/munge/munge.socket
SSHD_SETENV="${SSHD_SETENV:+$SSHD_SETENV }SLURM_CONF=$SLURM_DIR/slurm.conf"
MUNGED_PID=
SLURMCTLD_PID=
SLURMD_PIDS=

slurm_have() {
	for p in munged slurmctld slurmd srun sbatch squeue scancel sinfo; do
		command -v "$p" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$p" ] || return 1
	done
}

slurm_need() {
	slurm_have && return 0
	echo "SKIP: slurm-wlm and munge are not installed (tests/deps.sh)"
	exit 77
}

# N ports free on loopback, asked of the kernel at the same time so that
# they differ; a test running in parallel gets others.
slurm_ports() {
	"$PYTHON3" -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))' "$1"
}

slurm_log() {
	for f in "$SLURM_DIR"/log/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f:" >&2
		tail -n 20 "$f" >&2
	done
}

# A daemon of ours, in the background, its output in log/NAME.out; it
# cannot hold the test's own descriptors (fifos, locks).
slurm_daemon() {
	name=$1
	shift
	"$@" </dev/null >>"$SLURM_DIR/log/$name.out" 2>&1 \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
}

munge_start() {
	d=$SLURM_DIR/munge
	mkdir -p "$d"
	# others reach the socket (a login node's user); the key stays root's
	chmod 755 "$SLURM_DIR" "$d"
	# a key of its own, as mungekey makes it
	dd if=/dev/urandom of="$d/munge.key" bs=1024 count=1 2>/dev/null
	chmod 400 "$d/munge.key"
	# munged would rather not run as root: --force
	slurm_daemon munged /usr/sbin/munged --foreground --force \
		--key-file "$d/munge.key" --socket "$MUNGE_SOCKET" \
		--pid-file "$d/munged.pid" --log-file "$SLURM_DIR/log/munged.log" \
		--seed-file "$d/munged.seed"
	MUNGED_PID=$!
	i=0
	until [ -S "$MUNGE_SOCKET" ] &&
		timeout 5 munge -n -S "$MUNGE_SOCKET" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$MUNGED_PID" 2>/dev/null; then
			echo "munged did not start" >&2
			return 1
		fi
		sleep 0.1
	done
}

slurm_conf() {
	# shellcheck disable=SC2046
	set -- $(slurm_ports 4)
	SLURMCTLD_PORT=$1
	shift
	cpus=$(nproc)
	cat >"$SLURM_DIR/slurm.conf" <<CONF
ClusterName=$SLURM_CLUSTER
SlurmctldHost=localhost
SlurmctldPort=$SLURMCTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool/%n
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd-%n.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldTimeout=30
SlurmdTimeout=${SLURMD_TIMEOUT:-30}
InactiveLimit=0
KillWait=5
MinJobAge=300
CONF
	[ -z "${SLURM_CONF_EXTRA:-}" ] ||
		printf '%s\n' "$SLURM_CONF_EXTRA" >>"$SLURM_DIR/slurm.conf"
	for n in $SLURM_NODES; do
		echo "NodeName=$n NodeHostname=localhost NodeAddr=127.0.0.1" \
			"Port=$1 CPUs=$cpus ${SLURM_NODE_EXTRA:-}State=UNKNOWN" \
			>>"$SLURM_DIR/slurm.conf"
		shift
	done
	[ -z "${SLURM_GRES_CONF:-}" ] ||
		printf '%s\n' "$SLURM_GRES_CONF" >"$SLURM_DIR/gres.conf"
	nodes=$(echo "$SLURM_NODES" | tr ' ' ,)
	echo "PartitionName=$SLURM_PARTITION Nodes=$nodes Default=YES" \
		"MaxTime=INFINITE State=UP" >>"$SLURM_DIR/slurm.conf"
}

# Every node idle, as sinfo tells it.
slurm_idle() {
	s=$(timeout 10 sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
	for n in $SLURM_NODES; do
		echo "$s" | grep -qx "$n idle" || return 1
	done
}

# slurm_config DIR [SLURM-OBJECT] [MORE-FIELDS]: DIR/config.json, a
# SlurmCluster whose login node is the test's sshd, in the test Slurm's
# partition; its slurm object {"nodes": 2} unless given.
slurm_config() {
	printf '{"resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}, "partition": "%s", "slurm": %s%s}' \
		"$SSH_USER" "$SSH_KEY" "$SSH_PORT" "$SLURM_PARTITION" \
		"${2:-{\"nodes\": 2\}}" "${3:+, $3}" >"$1/config.json"
}

# slurm_login_clean: no agent, calls or worker agents of an earlier run
# on the login node (the test user's home, which the nodes share).
slurm_login_clean() {
	stop_node_agent
	rm -rf "/home/$SSH_USER/.rh/agent" "/home/$SSH_USER/.rh/nodes"
}

# slurm_mount_sl LAUNCH_TIMEOUT: the login node's sshd and Slurm started
# (the test ends if either does not), no agent of an earlier run there,
# rhfs mounted with OPTS (its known hosts, connect_timeout 10 and
# launch_timeout LAUNCH_TIMEOUT) and the cluster's directory $R/sl made
# (R=$MNT/~); HOMEDIR is the login user's home, NAME the name rhfs gives
# ~/sl's Slurm job.
slurm_mount_sl() {
	start_sshd || { fail "the login node's sshd starts"; finish; }
	slurm_start || { fail "Slurm starts"; finish; }
	OPTS="known_hosts=$T/known_hosts,connect_timeout=10,launch_timeout=$1"
	mount_rhfs -o "$OPTS"
	R=$MNT/~
	HOMEDIR=/home/$SSH_USER
	NAME=$("$PYTHON3" -c 'import hashlib; print("rh-sl-" + hashlib.sha256(b"~/sl").hexdigest()[:8])')
	slurm_login_clean
	mkdir "$R/sl"
}

slurm_start() {
	mkdir -p "$SLURM_DIR/log" "$SLURM_DIR/state" "$SLURM_DIR/spool"
	# the job ids an earlier test's Slurm left on the login node: this
	# Slurm is new and knows none of them (it numbers its jobs from 1)
	rm -rf "/home/$SSH_USER/.rh/slurm"
	munge_start || { slurm_log; return 1; }
	slurm_conf
	SLURM_CONF=$SLURM_DIR/slurm.conf
	export SLURM_CONF
	slurm_daemon slurmctld /usr/sbin/slurmctld -D -i -f "$SLURM_CONF"
	SLURMCTLD_PID=$!
	SLURM_UP=1
	for n in $SLURM_NODES; do
		mkdir -p "$SLURM_DIR/spool/$n"
		slurm_daemon "slurmd-$n" /usr/sbin/slurmd -D -N "$n" \
			-f "$SLURM_CONF"
		SLURMD_PIDS="$SLURMD_PIDS $!"
	done
	deadline=$(($(date +%s) + 60))
	until slurm_idle; do
		for p in $SLURMCTLD_PID $SLURMD_PIDS; do
			kill -0 "$p" 2>/dev/null && continue
			echo "a Slurm daemon (pid $p) died at start" >&2
			slurm_log
			return 1
		done
		if [ "$(date +%s)" -gt $deadline ]; then
			echo "Slurm's nodes are not idle after 60 s:" >&2
			timeout 10 sinfo -N >&2
			slurm_log
			return 1
		fi
		sleep 0.5
	done
}

# slurmd_pid N: the pid of node N's slurmd (of its pid file).
slurmd_pid() {
	cat "$SLURM_DIR/slurmd-$1.pid" 2>/dev/null
}

slurm_kill_node() {
	# the steps' tasks there, and their slurmstepd (their parent), then
	# all at once
	pids=$(slurmd_pid "$1")
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}
		p=${p%/environ}
		{ tr '\0' '\n' <"$e"; } 2>/dev/null |
			grep -qxF "SLURMD_NODENAME=$1" || continue
		{ tr '\0' '\n' <"$e"; } 2>/dev/null |
			grep -qxF "SLURM_CONF=$SLURM_DIR/slurm.conf" || continue
		pp=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
		case $(cat "/proc/$pp/comm" 2>/dev/null) in
		slurmstepd) pids="$pids $pp" ;;
		esac
		pids="$pids $p"
	done
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null
}

slurm_start_node() {
	slurm_daemon "slurmd-$1" /usr/sbin/slurmd -D -N "$1" -f "$SLURM_CONF"
	SLURMD_PIDS="$SLURMD_PIDS $!"
}

# The pids of processes that run with our SLURM_CONF in their
# environment: the daemons' children (slurmstepd) and the jobs' tasks.
slurm_leftovers() {
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}
		p=${p%/environ}
		[ "$p" != $$ ] || continue
		{ tr '\0' '\n' <"$e"; } 2>/dev/null |
			grep -qxF "SLURM_CONF=$SLURM_DIR/slurm.conf" && echo "$p"
	done
}

# slurm_alive PID: the process runs (a zombie left to its new parent to
# reap has ended).
slurm_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	! { sed 's/.*) //' "/proc/$1/stat" | cut -c1 | grep -qx Z; } 2>/dev/null
}

# slurm_end PID...: TERM, a bounded wait, then KILL.
slurm_end() {
	for p in "$@"; do
		kill "$p" 2>/dev/null
	done
	i=0
	for p in "$@"; do
		while slurm_alive "$p" && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

slurm_stop() {
	[ -n "$SLURM_UP" ] || { slurm_end $MUNGED_PID; MUNGED_PID=; return 0; }
	SLURM_UP=
	# every job of this cluster, whoever submitted it
	jobs=$(timeout 10 squeue -h -o %i 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$jobs" ] || timeout 10 scancel $jobs >/dev/null 2>&1
	i=0
	while [ -n "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] &&
		[ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	slurm_end $SLURMD_PIDS $SLURMCTLD_PID
	# shellcheck disable=SC2046
	slurm_end $(slurm_leftovers)
	slurm_end $MUNGED_PID
	SLURMD_PIDS=
	SLURMCTLD_PID=
	MUNGED_PID=
}

slurm_exit() {
	slurm_stop
	rm -rf "$SLURM_DIR"
	if command -v cleanup >/dev/null 2>&1; then
		# sshd-lib.sh's sshd and the agent on its node, when sourced
		# before
		command -v stop_node_agent >/dev/null 2>&1 && stop_node_agent
		command -v stop_sshd >/dev/null 2>&1 && stop_sshd
		cleanup
	fi
}
trap slurm_exit EXIT
trap 'exit 130' INT TERM
