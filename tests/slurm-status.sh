#!/bin/sh
# slurm-status.sh - a SlurmCluster's status against a real Slurm (tests/
# slurm-lib.sh) whose login node is a loopback sshd: with no allocation
# yet it is down (the reason says what makes one), and the slurm object
# lists the partition's nodes and their states as sinfo on the login
# node gives them, as the test user; a partition with no nodes and a
# login node that is down are said in its error.
. "$top_srcdir/tests/lib.sh"
# the login node's user: Slurm's tests' own (their node lock too)
SSH_USER=rhfs-slurm
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

start_sshd || { fail "the login node's sshd starts"; finish; }
slurm_start || { fail "Slurm starts"; finish; }
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/sl"
# config PARTITION [SLURM-OBJECT]
config() {
	part=$SLURM_PARTITION
	SLURM_PARTITION=$1
	slurm_config "$R/sl" "${2:-}"
	SLURM_PARTITION=$part
}
config "$SLURM_PARTITION"

# slurm FILE: the status's slurm object as lines: "partition P", each
# node "NAME STATE CPUS PARTITION", "error: ..."
cat >"$T/slurm.py" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
s = st.get("slurm", {})
print("state", st.get("state"))
print("partition", s.get("partition"))
for n in s.get("nodes", []):
    print(n["name"], n["state"], n["cpus"], n["partition"])
if "error" in s:
    print("error: " + s["error"])
if "request" in s:
    print("request " + " ".join(s["request"]))
for k in ("request_check", "request_error"):
    if k in s:
        print(k + ": " + s[k])
PY
status() {
	timeout 60 cat "$R/sl/status" >"$T/st" 2>"$T/errout" &&
		"$PYTHON3" "$T/slurm.py" "$T/st"
}
cpus=$(nproc)

check "status of a SlurmCluster" status
cp "$T/out" "$T/s1"
has "  state down" "$T/s1" "state down"
has "  the reason" "$T/st" "no Slurm allocation; a call or 'up' in its ctl submits one"
has "  its partition" "$T/s1" "partition $SLURM_PARTITION"
has "  node1 idle, its CPUs" "$T/s1" "node1 idle $cpus $SLURM_PARTITION"
has "  node2 idle" "$T/s1" "node2 idle $cpus $SLURM_PARTITION"
check "  the login node was asked, as the test user" \
	grep -q "Accepted publickey for $SSH_USER" "$SSH_DIR/sshd.log"
has "  the sbatch options the config asks for" "$T/s1" \
	"request --partition=$SLURM_PARTITION --nodes=2"
has "  Slurm's verdict: where it would start" "$T/s1" \
	"on nodes node[1-2] in partition $SLURM_PARTITION"
check "  and nothing was submitted" \
	sh -c "[ -z \"\$(timeout 10 squeue -h -o %i)\" ]"

# every field: the options, accepted by this Slurm
config "$SLURM_PARTITION" '{"nodes": 1, "cpus_per_task": 1, "mem": "1M", "time": "10", "sbatch_args": ["--exclusive"]}'
check "status of a config with more fields" status
cp "$T/out" "$T/s5"
has "  its options, in order" "$T/s5" \
	"request --partition=$SLURM_PARTITION --nodes=1 --cpus-per-task=1 --mem=1M --time=10 --exclusive"
has "  accepted" "$T/s5" "request_check: sbatch: Job"
# more nodes than the partition has: Slurm's refusal
config "$SLURM_PARTITION" '{"nodes": 3}'
check "status of a config asking three nodes of two" status
cp "$T/out" "$T/s6"
has "  refused by Slurm, with its reason" "$T/s6" \
	"request_error: ~/sl: sbatch on the login node refuses the request: allocation failure: Requested node configuration is not available"
config "$SLURM_PARTITION"

# a job holding both nodes: Slurm's states change, and status says so
job_state() {
	timeout 10 scontrol show job "$1" 2>/dev/null |
		sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}
hold=$(timeout 30 sbatch --parsable -N2 --exclusive -o /dev/null \
	--wrap 'exec sleep 600' 2>"$T/errout")
wait_for 60 sh -c "[ \"\$(timeout 10 scontrol show job $hold |
	sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')\" = RUNNING ]" ||
	fail "a job holding both nodes runs (state $(job_state "$hold"))"
check "status with both nodes taken" status
cp "$T/out" "$T/s2"
has "  node1 allocated" "$T/s2" "node1 alloc $cpus"
has "  node2 allocated" "$T/s2" "node2 alloc $cpus"
timeout 30 scancel "$hold"

# a partition Slurm does not have: the error says so
config nosuch
check "status with a partition Slurm does not have" status
cp "$T/out" "$T/s3"
has "  still down" "$T/s3" "state down"
has "  the error, naming the cluster and the partition" "$T/s3" \
	"error: ~/sl: Slurm lists no nodes in partition 'nosuch'"

# the login node down: the error says that, within the timeout
config "$SLURM_PARTITION"
stop_sshd
check "status with the login node down" status
cp "$T/out" "$T/s4"
has "  the error: the login node cannot be reached" "$T/s4" \
	"error: ~/sl: the login node: 127.0.0.1:$SSH_PORT: cannot connect"
finish
