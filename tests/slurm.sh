#!/bin/sh
# slurm.sh - the tests' Slurm (tests/slurm-lib.sh) is a real one: two
# slurmd nodes that srun spreads a step over, sbatch jobs that run,
# queue while the nodes are taken, and scancel that ends a running job
# and its processes; and a login node (a loopback sshd) whose
# unprivileged user runs, submits and cancels jobs as that user.
. "$(dirname "$0")/lib.sh"
# the login node's user: Slurm's tests' own (their node lock too)
SSH_USER=rhfs-slurm
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_need

# the login node first: its sshd is not one of Slurm's processes
start_sshd || { fail "the login node's sshd starts"; finish; }
slurm_start || { fail "Slurm starts, node1 and node2 idle"; finish; }
pass "Slurm starts, node1 and node2 idle"

# job_state ID: Slurm's state of job ID (scontrol keeps ended jobs for
# MinJobAge).
job_state() {
	timeout 10 scontrol show job "$1" 2>/dev/null |
		sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

# job_in STATE ID: job ID is in STATE.
job_in() {
	[ "$(job_state "$2")" = "$1" ]
}

check "sinfo: the partition has both nodes" \
	sh -c "timeout 10 sinfo -h -p $SLURM_PARTITION -o %N | grep -qx 'node\[1-2\]'"

# a step of two tasks, one per node: each task says where it runs
if timeout 60 srun -N2 -n2 sh -c 'echo "$SLURMD_NODENAME $SLURM_PROCID"' \
	>"$T/srun.out" 2>"$T/srun.err"; then
	got=$(sort "$T/srun.out" | tr '\n' '|')
	case $got in
	"node1 "[01]"|node2 "[01]"|")
		[ "$(cut -d' ' -f2 "$T/srun.out" | sort | tr -d '\n')" = 01 ] &&
			pass "srun -N2: one task on node1, one on node2" ||
			fail "srun -N2: task ranks (got $got)" ;;
	*) fail "srun -N2: one task on node1, one on node2 (got $got)" ;;
	esac
else
	fail "srun -N2 runs (exit $?: $(head -c 300 "$T/srun.err"))"
fi

# a batch job: its script runs on a node of the allocation, and a step
# inside it (srun) spreads over both nodes
mkdir -p "$T/jobs"
cat >"$T/jobs/two.sh" <<'JOB'
#!/bin/sh
echo "batch $SLURMD_NODENAME $SLURM_JOB_ID $SLURM_JOB_NUM_NODES"
srun sh -c 'echo "step $SLURMD_NODENAME"' | sort
JOB
id=$(timeout 30 sbatch --parsable -N2 -n2 -o "$T/jobs/two.out" \
	"$T/jobs/two.sh" 2>"$T/errout")
if [ -n "$id" ]; then
	pass "sbatch takes a job ($id)"
	if wait_for 60 job_in COMPLETED "$id"; then
		pass "the batch job completes"
	else
		fail "the batch job completes (state $(job_state "$id"))"
	fi
	first=$(head -n 1 "$T/jobs/two.out")
	case $first in
	"batch node"[12]" $id 2") pass "the job's script ran in its allocation" ;;
	*) fail "the job's script ran in its allocation (got '$first')" ;;
	esac
	steps=$(sed -n 's/^step //p' "$T/jobs/two.out" | tr '\n' ' ')
	[ "$steps" = "node1 node2 " ] &&
		pass "a step inside the job runs on both nodes" ||
		fail "a step inside the job runs on both nodes (got '$steps')"
else
	fail "sbatch takes a job ($(head -c 300 "$T/errout"))"
fi

# queueing: while a job holds every CPU of both nodes, another waits
# (PENDING, reason Resources) and runs once the first is cancelled
cat >"$T/jobs/hold.sh" <<'JOB'
#!/bin/sh
echo $$ >"$HOLD_PID.$SLURM_JOB_ID"
exec sleep 600
JOB
export HOLD_PID="$T/jobs/hold.pid"
hold=$(timeout 30 sbatch --parsable -N2 --exclusive -o /dev/null \
	"$T/jobs/hold.sh" 2>"$T/errout")
if [ -n "$hold" ] && wait_for 60 job_in RUNNING "$hold" &&
	wait_for 30 test -s "$HOLD_PID.$hold"; then
	pass "a job holding both nodes runs"
else
	fail "a job holding both nodes runs (state $(job_state "$hold"): $(head -c 300 "$T/errout"))"
fi
next=$(timeout 30 sbatch --parsable -N1 -o "$T/jobs/next.out" \
	--wrap 'echo "next $SLURMD_NODENAME"' 2>"$T/errout")
reason=
wait_for 30 job_in PENDING "$next" &&
	wait_for 30 sh -c "timeout 10 squeue -h -j $next -o %r |
		grep -qx Resources" &&
	reason=Resources
[ "$reason" = Resources ] &&
	pass "a job waits while the nodes are taken (PENDING, Resources)" ||
	fail "a job waits while the nodes are taken (state $(job_state "$next"), reason '$(timeout 10 squeue -h -j "$next" -o %r 2>/dev/null)')"

# scancel ends the running job, and its process with it
pid=$(cat "$HOLD_PID.$hold" 2>/dev/null)
check "scancel takes the cancel" timeout 30 scancel "$hold"
if wait_for 60 job_in CANCELLED "$hold"; then
	pass "the cancelled job is CANCELLED"
else
	fail "the cancelled job is CANCELLED (state $(job_state "$hold"))"
fi
if [ -n "$pid" ] && wait_for 30 eval "! slurm_alive $pid"; then
	pass "the cancelled job's process has ended"
else
	fail "the cancelled job's process has ended (pid '$pid')"
fi
if wait_for 60 job_in COMPLETED "$next"; then
	pass "the waiting job runs once the nodes are free"
else
	fail "the waiting job runs once the nodes are free (state $(job_state "$next"))"
fi
grep -qx "next node[12]" "$T/jobs/next.out" 2>/dev/null &&
	pass "the waiting job's output is there" ||
	fail "the waiting job's output is there (got '$(head -c 100 "$T/jobs/next.out" 2>/dev/null)')"

# the login node: the test user's commands over SSH reach this Slurm
login() {
	timeout 60 ssh -i "$SSH_KEY" -p "$SSH_PORT" -o BatchMode=yes \
		-o UserKnownHostsFile="$KNOWN_HOSTS" \
		-o StrictHostKeyChecking=accept-new -o ConnectTimeout=10 \
		"$SSH_USER@127.0.0.1" "$@"
}
if login 'srun -N2 -n2 sh -c "echo \$SLURMD_NODENAME \$(id -un)"' \
	>"$T/login.out" 2>"$T/login.err"; then
	got=$(sort "$T/login.out" | tr '\n' '|')
	[ "$got" = "node1 $SSH_USER|node2 $SSH_USER|" ] &&
		pass "login node: srun -N2 runs on both nodes as its user" ||
		fail "login node: srun -N2 runs on both nodes as its user (got '$got')"
else
	fail "login node: srun -N2 runs (exit $?: $(head -c 300 "$T/login.err"))"
fi
mkdir -p "$T/login"
chown "$SSH_USER" "$T/login"
id=$(login "sbatch --parsable -o $T/login/job.out --wrap 'id -un'" \
	2>"$T/errout")
if [ -n "$id" ] && wait_for 60 job_in COMPLETED "$id"; then
	pass "login node: its user's batch job completes"
else
	fail "login node: its user's batch job completes (job '$id', state $(job_state "$id"): $(head -c 300 "$T/errout"))"
fi
grep -qx "$SSH_USER" "$T/login/job.out" 2>/dev/null &&
	pass "login node: the job ran as its user" ||
	fail "login node: the job ran as its user (got '$(head -c 100 "$T/login/job.out" 2>/dev/null)')"
id=$(login "sbatch --parsable -o /dev/null --wrap 'exec sleep 600'" \
	2>"$T/errout")
if [ -n "$id" ] && wait_for 60 job_in RUNNING "$id" &&
	login "scancel $id" && wait_for 60 job_in CANCELLED "$id"; then
	pass "login node: its user cancels its running job"
else
	fail "login node: its user cancels its running job (job '$id', state $(job_state "$id"): $(head -c 300 "$T/errout"))"
fi

# a job left running at the end is the harness's to end (slurm_stop)
left=$(timeout 30 sbatch --parsable -N1 -o /dev/null \
	--wrap 'exec sleep 600' 2>"$T/errout")
wait_for 60 job_in RUNNING "$left" ||
	fail "a last job runs (state $(job_state "$left"))"
pids=$(slurm_leftovers | tr '\n' ' ')
slurm_stop
still=
for p in $pids; do
	slurm_alive "$p" && still="$still $p"
done
[ -n "$pids" ] && [ -z "$still" ] &&
	pass "slurm_stop ends the daemons and the jobs' processes" ||
	fail "slurm_stop ends the daemons and the jobs' processes (had '$pids', left '$still')"

finish
