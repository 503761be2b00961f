#!/bin/sh
# slurm-status.sh - a SlurmCluster's status against a real Slurm (tests/
# slurm-lib.sh) whose login node is a loopback sshd: calls are not
# supported yet (state "unsupported", the reason), and the slurm object
# lists the partition's nodes and their states as sinfo on the login
# node gives them, as the test user; a partition with no nodes and a
# login node that is down are said in its error.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

start_sshd || { fail "the login node's sshd starts"; finish; }
slurm_start || { fail "Slurm starts"; finish; }
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/sl"
config() {
	printf '{"resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}, "partition": "%s", "slurm": {"nodes": 2}}' \
		"$SSH_USER" "$SSH_KEY" "$SSH_PORT" "$1" >"$R/sl/config.json"
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
PY
status() {
	timeout 60 cat "$R/sl/status" >"$T/st" 2>"$T/errout" &&
		"$PYTHON3" "$T/slurm.py" "$T/st"
}
cpus=$(nproc)

check "status of a SlurmCluster" status
cp "$T/out" "$T/s1"
has "  state unsupported" "$T/s1" "state unsupported"
has "  the reason" "$T/st" "cannot ask Slurm for allocations yet"
has "  its partition" "$T/s1" "partition $SLURM_PARTITION"
has "  node1 idle, its CPUs" "$T/s1" "node1 idle $cpus $SLURM_PARTITION"
has "  node2 idle" "$T/s1" "node2 idle $cpus $SLURM_PARTITION"
check "  the login node was asked, as the test user" \
	grep -q "Accepted publickey for $SSH_USER" "$SSH_DIR/sshd.log"

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
has "  still unsupported" "$T/s3" "state unsupported"
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
