#!/bin/sh
# slurm-alloc.sh - a SlurmCluster's allocation against a real Slurm
# (tests/slurm-lib.sh) whose login node is a loopback sshd: `up` in its
# ctl submits one job (sbatch, as the login node's user) and status shows
# it RUNNING on both nodes, its job id kept on the login node (an rhfs
# mounted again finds it); `down` cancels it; a job cancelled from
# outside (scancel) is seen to end, with the reason; calls written while
# the nodes are taken by another job wait (queued, Slurm's reason in
# their status and the cluster's) and run once it runs; the job's time
# limit and autostop end it, with the reason.
. "$top_srcdir/tests/lib.sh"
# the login node's user: Slurm's tests' own (their node lock too)
SSH_USER=rhfs-slurm
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

slurm_mount_sl 120
# config [SLURM-OBJECT] [MORE-FIELDS]
config() {
	slurm_config "$R/sl" "$@"
}
config
JOBFILE=$HOMEDIR/.rh/slurm/$NAME/job

# st: the cluster's status as lines "state S", "job ID STATE REASON
# NODES", "error: ...", "last_job: ...".
cat >"$T/st.py" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
print("state", st.get("state"))
j = st.get("job") or {}
if j:
    print("job", j.get("id"), j.get("state"), j.get("reason"), j.get("nodes"))
    print("time_left", j.get("time_left"))
for k in ("error", "last_job", "last_error", "workers"):
    if k in st:
        v = st[k]
        print(k + ": " + (v if isinstance(v, str) else json.dumps(v)))
PY
st() {
	timeout 60 cat "$R/sl/status" >"$T/st.json" 2>"$T/errout" &&
		"$PYTHON3" "$T/st.py" "$T/st.json"
}
job_state() {
	timeout 10 scontrol show job "$1" 2>/dev/null |
		sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}
job_in() {
	[ "$(job_state "$2")" = "$1" ]
}
# ctl LINE: written to the cluster's ctl, what it answered in $T/ctl.
ctl() {
	"$PYTHON3" - "$R/sl/ctl" "$1" >"$T/ctl" 2>&1 <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, (sys.argv[2] + "\n").encode())
finally:
    print(os.read(fd, 4096).decode(), end="")
PY
}

check "status before any job" st
cp "$T/out" "$T/s0"
has "  down" "$T/s0" "state down"
has "  no allocation, and what makes one" "$T/s0" \
	"error: no Slurm allocation; a call or 'up' in its ctl submits one"
check "  and nothing was submitted" \
	sh -c "[ -z \"\$(timeout 10 squeue -h -o %i)\" ]"

# up: one job, as the login node's user, named after the cluster
check "up in its ctl" ctl up
cp "$T/ctl" "$T/up1"
JOB=$(sed -n 's/^up: Slurm job \([0-9]*\) .*/\1/p' "$T/up1")
[ -n "$JOB" ] && pass "  says the job it submitted ($JOB)" ||
	fail "  says the job it submitted (got '$(cat "$T/up1")')"
check "  Slurm has it, as the login node's user, named after the cluster" \
	sh -c "timeout 10 squeue -h -j '$JOB' -o '%u %j' | grep -qx '$SSH_USER $NAME'"
check "  one job only" \
	sh -c "[ \"\$(timeout 10 squeue -h -o %i | wc -l)\" = 1 ]"
has "  the login node keeps its id" "$JOBFILE" "$JOB"
wait_for 60 job_in RUNNING "$JOB" ||
	fail "  the job runs (state $(job_state "$JOB"))"
check "status with the job running" st
cp "$T/out" "$T/s1"
has "  up" "$T/s1" "state up"
has "  the job, RUNNING on both nodes" "$T/s1" "job $JOB RUNNING None node[1-2]"
check "  time left (no limit asked: the partition's)" \
	grep -qx 'time_left UNLIMITED' "$T/s1"
check "up again: the same job" ctl up
has "  said" "$T/ctl" "up: Slurm job $JOB RUNNING on node[1-2]"
check "  still one job" \
	sh -c "[ \"\$(timeout 10 squeue -h -o %i | wc -l)\" = 1 ]"

# rhfs mounted again finds its job: down then cancels it
unmount_rhfs
mount_rhfs -o "$OPTS"
check "status after rhfs is mounted again" st
has "  the same job" "$T/out" "job $JOB RUNNING None node[1-2]"
check "down in its ctl" ctl down
has "  says it cancelled the job" "$T/ctl" "down: cancelled Slurm job $JOB"
check "  the job is over" sh -c "! timeout 10 squeue -h -j $JOB -o %T | grep -qx RUNNING"
check "  the login node's job id is gone" test ! -e "$JOBFILE"
check "status after down" st
cp "$T/out" "$T/s2"
has "  down" "$T/s2" "state down"
has "  the last job's end" "$T/s2" \
	"last_job: Slurm job $JOB was cancelled: by 'down' in its ctl"
check "down with no job" ctl down
has "  says so" "$T/ctl" "down: no Slurm job to cancel"

# a job cancelled from outside: seen to end, with its reason
check "up" ctl up
JOB=$(sed -n 's/^up: Slurm job \([0-9]*\) .*/\1/p' "$T/ctl")
wait_for 60 job_in RUNNING "$JOB" ||
	fail "  the job runs (state $(job_state "$JOB"))"
check "scancel from outside" timeout 30 scancel "$JOB"
wait_for 30 sh -c "timeout 60 cat '$R/sl/status' | grep -q 'last_job.*was cancelled (scancel)'" ||
	fail "  the cluster's status says the job was cancelled"
check "status after scancel" st
cp "$T/out" "$T/s3"
has "  down" "$T/s3" "state down"
has "  why" "$T/s3" "last_job: Slurm job $JOB was cancelled (scancel) (CANCELLED"

# queueing: a job of another user holds both nodes; a call submits the
# allocation, which waits (PENDING), and the call with it
hold=$(timeout 30 sbatch --parsable -N2 --exclusive -o /dev/null \
	--wrap 'exec sleep 600' 2>"$T/errout")
wait_for 60 job_in RUNNING "$hold" ||
	fail "a job holding both nodes runs (state $(job_state "$hold"))"
mkdir "$R/py"
# its function, in the home the login node and the nodes share
mkdir -p "/home/$SSH_USER/slalloc"
printf 'import time\ndef inc(x):\n    return x + 1\ndef nap(s):\n    time.sleep(s)\n    return s\n' >"/home/$SSH_USER/slalloc/slallocfns.py"
chown -R "$SSH_USER" "/home/$SSH_USER/slalloc"
printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["slalloc", "slallocfns", "inc"]}' \
	>"$R/py/config.json"
check "a call while the nodes are taken: the write returns" \
	sh -c "echo '[1]' > '$R/py/invoke'"
CALL=$(ls "$R/py/calls" | grep -v '^latest$' | tail -n 1)
wait_for 30 test -s "$JOBFILE"
JOB=$(cat "$JOBFILE" 2>/dev/null)
[ -n "$JOB" ] && pass "  a job was submitted ($JOB)" ||
	fail "  a job was submitted"
wait_for 30 sh -c "timeout 10 squeue -h -j '$JOB' -o %r | grep -qx Resources" ||
	fail "  it is pending for Resources ($(timeout 10 squeue -h -j "$JOB" -o '%T %r'))"
wait_for 30 sh -c "grep -q 'PENDING: Resources' '$R/py/calls/$CALL/status'" ||
	fail "  the call's status tells Slurm's reason"
check "  the call's status" cat "$R/py/calls/$CALL/status"
cp "$T/out" "$T/q1"
has "  queued" "$T/q1" '"state": "queued"'
has "  waiting for the cluster" "$T/q1" '"waiting_for": "~/sl"'
has "  with the job and Slurm's reason" "$T/q1" \
	"its Slurm allocation (job $JOB) is PENDING: Resources"
check "  the cluster's status" st
cp "$T/out" "$T/s4"
has "  pending" "$T/s4" "state pending"
has "  the job and the reason" "$T/s4" "job $JOB PENDING Resources"
check "  the filler cancelled" timeout 30 scancel "$hold"
wait_for 60 job_in RUNNING "$JOB" ||
	fail "  the allocation runs (state $(job_state "$JOB"))"
# once the job runs, the held call runs on a worker agent the job
# started on one of its nodes (named after the node and the job)
wait_for 60 sh -c "grep -q '\"state\": \"done\"' '$R/py/calls/$CALL/status'" ||
	fail "  the held call runs once the job runs"
check "  its result" cat "$R/py/calls/$CALL/result"
has "  as the function returns it" "$T/out" 2
check "  its status" cat "$R/py/calls/$CALL/status"
if grep -q "\"node\": \"node[0-9]*-$JOB\"" "$T/out"; then
	pass "  it ran on a worker agent of the allocation"
else
	fail "  it ran on a worker agent of the allocation ($(tr '\n' ' ' <"$T/out"))"
fi
check "down" ctl down

# the time limit: 1 minute, the shortest Slurm takes
config '{"nodes": 1, "time": "1"}'
check "up with a time limit of 1 minute" ctl up
JOB=$(sed -n 's/^up: Slurm job \([0-9]*\) .*/\1/p' "$T/ctl")
wait_for 60 job_in RUNNING "$JOB" ||
	fail "  the job runs (state $(job_state "$JOB"))"
# its one slot (one CPU) taken by a call longer than the time left, and
# two calls waiting on the head behind it
mkdir "$R/nap"
printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["slalloc", "slallocfns", "nap"]}' \
	>"$R/nap/config.json"
check "a call longer than the time limit" sh -c "echo '[600]' > '$R/nap/invoke'"
NAP=$(ls "$R/nap/calls" | grep -v '^latest$' | tail -n 1)
wait_for 60 sh -c "grep -q '\"state\": \"running\"' '$R/nap/calls/$NAP/status'" ||
	fail "  it runs"
check "two calls behind it" sh -c "echo '[10]' > '$R/py/invoke' && echo '[20]' > '$R/py/invoke'"
ls "$R/py/calls" | grep -v '^latest$' | tail -n 2 >"$T/behind"
B1=$(sed -n 1p "$T/behind")
B2=$(sed -n 2p "$T/behind")
check "  they wait" sh -c "grep -q '\"state\": \"queued\"' '$R/py/calls/$B1/status' && grep -q '\"state\": \"queued\"' '$R/py/calls/$B2/status'"
wait_for 180 sh -c "timeout 60 cat '$R/sl/status' | grep -q 'last_job.*reached its time limit'" ||
	fail "  the cluster's status says the job reached its time limit"
check "status after the time limit" st
has "  why, from Slurm" "$T/out" "last_job: Slurm job $JOB reached its time limit (TIMEOUT"
check "  Slurm ended it" job_in TIMEOUT "$JOB"
wait_for 60 sh -c "grep -q '\"state\": \"failed\"' '$R/nap/calls/$NAP/status'" ||
	fail "  the running call fails"
check "  the running call's status" cat "$R/nap/calls/$NAP/status"
if grep -q "\"reason\": \"Slurm job $JOB ended: TIMEOUT (time limit reached) on node[12]\"" "$T/out"; then
	pass "  with Slurm's reason (TIMEOUT, time limit reached)"
else
	fail "  with Slurm's reason ($(grep reason "$T/out"))"
fi
wait_for 120 sh -c "grep -q '\"state\": \"done\"' '$R/py/calls/$B2/status'" ||
	fail "  the two that waited run in the next job"
NEXT=$(cat "$JOBFILE" 2>/dev/null)
[ -n "$NEXT" ] && [ "$NEXT" != "$JOB" ] && pass "  a new job ($NEXT)" ||
	fail "  a new job (was $JOB, now '$NEXT')"
for b in "$B1" "$B2"; do
	check "  call $b" cat "$R/py/calls/$b/status"
	grep -q '"state": "done"' "$T/out" &&
		grep -q "\"node\": \"node[12]-$NEXT\"" "$T/out" &&
		pass "    done in job $NEXT" || fail "    done in job $NEXT"
done
check "  their results" sh -c "cat '$R/py/calls/$B1/result' '$R/py/calls/$B2/result'"
has "  11" "$T/out" 11
has "  21" "$T/out" 21
check "down" ctl down

# autostop: 0 minutes, as soon as it is idle
config '{"nodes": 1}'
check "up" ctl up
JOB=$(sed -n 's/^up: Slurm job \([0-9]*\) .*/\1/p' "$T/ctl")
wait_for 60 job_in RUNNING "$JOB" ||
	fail "  the job runs (state $(job_state "$JOB"))"
check "autostop 0" ctl "autostop 0"
has "  said" "$T/ctl" "autostop: after 0 idle minutes"
check "  recorded in its config" jfield "$R/sl/config.json" autostop_mins
has "  as 0" "$T/out" 0
wait_for 60 job_in CANCELLED "$JOB" ||
	fail "  autostop cancels the job (state $(job_state "$JOB"))"
check "status after autostop" st
has "  why" "$T/out" "last_job: Slurm job $JOB was cancelled: autostop: idle for 0 minutes"
check "  no job left" sh -c "[ -z \"\$(timeout 10 squeue -h -o %i)\" ]"

# stop is not a Slurm cluster's
refuse "stop in its ctl is refused" "Invalid argument" \
	bash -c "echo stop > '$R/sl/ctl'"
has "  the reason" "$MNT/.log" "~/sl: stop: a SlurmCluster has no instances"

rm -rf "/home/$SSH_USER/slalloc"
finish
