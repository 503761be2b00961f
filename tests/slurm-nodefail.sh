#!/bin/sh
# slurm-nodefail.sh - a node of a SlurmCluster's allocation fails while
# calls run on both (a real Slurm, tests/slurm-lib.sh, whose login node
# is a loopback sshd): node2's slurmd and everything of the job there are
# killed (-9). The calls held there fail with a reason naming the node
# (its worker lost, or Slurm's word once slurmctld declares the node down:
# SlurmdTimeout is low here), the call on the other node completes,
# nothing hangs; Slurm requeues the job (its default), and once the node
# is back a later call runs when Slurm starts the job again.
. "$top_srcdir/tests/lib.sh"
# the login node's user: Slurm's tests' own (their node lock too)
SSH_USER=rhfs-slurm
. "$top_srcdir/tests/sshd-lib.sh"
SLURMD_TIMEOUT=10
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

slurm_mount_sl 300
# one slot a node (one CPU each)
slurm_config "$R/sl"
# what a run stopped half-way left (its release file) must not let this
# one's calls end at once
rm -rf "$HOMEDIR/slfail"
mkdir -p "$HOMEDIR/slfail"
# hold: until the file appears (at most 300 s), in the shared home
cat >"$HOMEDIR/slfail/slfailfns.py" <<'PY'
import os, time
def hold(s):
    t = time.time() + 300
    while not os.path.exists(os.path.expanduser("~/slfail/release")) and time.time() < t:
        time.sleep(0.1)
    return [s, os.environ.get("SLURMD_NODENAME")]
PY
chown -R "$SSH_USER" "$HOMEDIR/slfail"
mkdir "$R/nap"
printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["slfail", "slfailfns", "hold"]}' \
	>"$R/nap/config.json"

# calls: each call's state, node and reason
calls() {
	"$PYTHON3" - "$R/nap/calls" <<'PY'
import json, os, sys
d = sys.argv[1]
for c in sorted(os.listdir(d)):
    if c != "latest":
        st = json.load(open(os.path.join(d, c, "status")))
        print(c, st["state"], st.get("node"), st.get("reason"))
PY
}
# calls_within SECS PATTERN: until a line of calls matches (grep)
calls_within() {
	k=$(($1 * 5))
	until calls | grep "$2" >/dev/null; do
		k=$((k - 1))
		[ $k -gt 0 ] || return 1
		sleep 0.2
	done
}

check "the job up" sh -c "echo up > '$R/sl/ctl'"
JOB=$(cat "$HOMEDIR/.rh/slurm/$NAME/job" 2>/dev/null)
wait_for 60 sh -c "timeout 10 squeue -h -j '$JOB' -o %T | grep -qx RUNNING" ||
	fail "  job $JOB runs"
# the node to fail: not the one that runs the job's script (its batch
# host), which would end the job at once
BATCH=$(timeout 10 scontrol -o show job "$JOB" | sed -n 's/.*BatchHost=\([^ ]*\).*/\1/p')
case $BATCH in
node1) VICTIM=node2 ;;
*) VICTIM=node1 ;;
esac
echo "# job $JOB, batch host $BATCH: $VICTIM fails"
# a call on each node (one slot each)
check "two calls" sh -c "echo '[20]' > '$R/nap/invoke' && echo '[20]' > '$R/nap/invoke'"
calls_within 60 "running node.-$JOB.*" || fail "  they run"
k=0
until [ "$(calls | grep -c " running ")" = 2 ] || [ $k -gt 300 ]; do
	k=$((k + 1))
	sleep 0.2
done
calls >"$T/before"
sed 's/^/# /' "$T/before"
has "  one on node1" "$T/before" "running node1-$JOB"
has "  one on node2" "$T/before" "running node2-$JOB"
VCALL=$(sed -n "s/^\([^ ]*\) running $VICTIM-$JOB .*/\1/p" "$T/before")
OCALL=$(grep -v "^$VCALL " "$T/before" | sed -n 's/^\([^ ]*\) running .*/\1/p')

# the node fails: its slurmd, its slurmstepd and the job's tasks there;
# then the call on the other node may end
slurm_kill_node "$VICTIM"
su -s /bin/sh "$SSH_USER" -c 'touch ~/slfail/release'
calls_within 60 "^$OCALL done" ||
	fail "  the call on the other node completes ($(calls | tr '\n' ' '))"
calls_within 60 "^$VCALL failed" ||
	fail "  the call on $VICTIM fails within 60 s ($(calls | tr '\n' ' '))"
check "  the call on $VICTIM" cat "$R/nap/calls/$VCALL/status"
cp "$T/out" "$T/victim"
if grep -q "\"reason\": \"node $VICTIM-$JOB lost: [^\"]*\"" "$T/victim" ||
	grep -q "\"reason\": \"Slurm job $JOB ended: NODE_FAIL (node failure) on $VICTIM\"" "$T/victim" ||
	grep -q "\"reason\": \"Slurm job $JOB was requeued ([A-Z_]*[^\"]*) on $VICTIM\"" "$T/victim"; then
	pass "  fails with a reason naming the node"
else
	fail "  fails with a reason naming the node ($(grep reason "$T/victim"))"
fi
grep '"reason"' "$T/victim" | sed 's/^ */# /'
check "  the other call's result" cat "$R/nap/calls/$OCALL/result"
case $(tr -d ' \n' <"$T/out") in
"[20,\"$BATCH\"]") pass "  as it returns it" ;;
*) fail "  as it returns it (got '$(cat "$T/out")')" ;;
esac
# slurmctld declares the node down (SlurmdTimeout) and, as Slurm does by
# default (JobRequeue=1), requeues the job: it waits again, same id
wait_for 90 sh -c "timeout 10 scontrol -o show job '$JOB' | grep -q 'JobState=PENDING.*Restarts=1'" ||
	fail "  Slurm requeues the job ($(timeout 10 scontrol -o show job "$JOB" | tr ' ' '\n' | grep -E '^(JobState|Reason|Restarts)=' | tr '\n' ' '))"
check "the cluster's status" cat "$R/sl/status"
has "  pending again" "$T/out" '"state": "pending"'
calls >"$T/after"
sed 's/^/# /' "$T/after"
lacks "  no call left running" "$T/after" " running "

# the node back (ReturnToService=2: up once its slurmd registers); a
# later call waits for the requeued job, which Slurm starts again once
# its begin time (about two minutes after the requeue) has come
slurm_start_node "$VICTIM"
wait_for 90 sh -c "timeout 10 sinfo -h -N -o '%N %t' | grep -q '^$VICTIM \(idle\|mix\|alloc\)'" ||
	fail "  $VICTIM is back ($(timeout 10 sinfo -h -N -o '%N %t' | tr '\n' ' '))"
check "a later call" sh -c "echo '[0]' > '$R/nap/invoke'"
LATER=$(ls "$R/nap/calls" | grep -v '^latest$' | tail -n 1)
calls_within 300 "^$LATER done" ||
	fail "  runs ($(calls | tr '\n' ' '))"
calls | grep "^$LATER done node[12]-$JOB " >/dev/null &&
	pass "  in job $JOB, run again by Slurm" ||
	fail "  in job $JOB, run again by Slurm ($(calls | grep "^$LATER"))"
printf 'down\n' >"$R/sl/ctl"
rm -rf "$HOMEDIR/slfail"
finish
