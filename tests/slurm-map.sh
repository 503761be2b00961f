#!/bin/sh
# slurm-map.sh - calls in a SlurmCluster's allocation, against a real
# Slurm (tests/slurm-lib.sh) whose login node is a loopback sshd: the
# job starts one worker agent a node (srun), the agent on the login node
# is their head and runs no call itself; a Python map of 1,000 calls
# written to one invoke runs over both nodes (each result once, each
# record naming its node); the cluster's status lists the nodes; a job
# cancelled from outside fails the calls running on its nodes with
# Slurm's reason, and the calls that waited on the head run in a new job.
. "$top_srcdir/tests/lib.sh"
# the login node's user: Slurm's tests' own (their node lock too)
SSH_USER=rhfs-slurm
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

slurm_mount_sl 120
slurm_config "$R/sl"
# the function, in the home the login node and both nodes share
mkdir -p "$HOMEDIR/slmap"
cat >"$HOMEDIR/slmap/slfns.py" <<'PY'
import os, time
def double(x):
    return 2 * x
def where(x):
    return [x, os.environ.get("SLURMD_NODENAME")]
def nap(s):
    time.sleep(s)
    return s
PY
chown -R "$SSH_USER" "$HOMEDIR/slmap"
send() {
	mkdir "$R/$1"
	printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["slmap", "slfns", "%s"]}' \
		"$2" >"$R/$1/config.json"
}
send double double
send where where
send nap nap

# a map of 1,000 written to one invoke: the allocation is submitted, the
# calls wait for it, then run on both nodes
"$PYTHON3" - "$R/double/invoke" >"$T/map" 2>"$T/map.err" <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
n = 1000
os.write(fd, b"".join(b"[%d]\n" % i for i in range(n)))
buf, got = b"", []
while len(got) < n:
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        got.append(json.loads(line))
bad = [i for i, g in enumerate(got) if g != 2 * i]
print("results", len(got), "wrong", len(bad))
PY
has "a map of 1,000: every result, in order" "$T/map" "results 1000 wrong 0"
# the records: each call once, each on a node of the allocation
"$PYTHON3" - "$R/double/calls" >"$T/nodes" <<'PY'
import json, os, sys
d = sys.argv[1]
ids = [c for c in os.listdir(d) if c != "latest"]
nodes = {}
for c in ids:
    st = json.load(open(os.path.join(d, c, "status")))
    if st.get("state") != "done":
        print("not done", c, st.get("state"), st.get("reason"))
    n = (st.get("node") or "").split("-")[0]
    nodes[n] = nodes.get(n, 0) + 1
print("calls", len(ids))
for n in sorted(nodes):
    print("node", n, "yes" if nodes[n] > 0 else "no")
PY
has "  1,000 calls" "$T/nodes" "calls 1000"
has "  some on node1" "$T/nodes" "node node1 yes"
has "  some on node2" "$T/nodes" "node node2 yes"
lacks "  all done" "$T/nodes" "not done"
lacks "  none on the login node" "$T/nodes" "node login"
check "the cluster's status" cat "$R/sl/status"
cp "$T/out" "$T/st"
has "  up" "$T/st" '"state": "up"'
has "  node1's worker" "$T/st" "\"name\": \"node1-"
has "  node2's worker" "$T/st" "\"name\": \"node2-"
JOB=$(cat "$HOMEDIR/.rh/slurm/$NAME/job" 2>/dev/null)
has "  worker names carry the job id" "$T/st" "-$JOB\""

# where a call runs: in the allocation, on a node Slurm gave it
check "a call on the allocation" sh -c "echo '[7]' > '$R/where/invoke'"
wait_for 30 sh -c "grep -q node '$R/where/calls/latest/result'"
check "  its result" cat "$R/where/calls/latest/result"
case $(cat "$T/out") in
'[7, "node1"]'|'[7, "node2"]'|'[7,"node1"]'|'[7,"node2"]')
	pass "  ran on a Slurm node" ;;
*) fail "  ran on a Slurm node (got '$(cat "$T/out")')" ;;
esac

# the job cancelled from outside while calls fill every slot and more
# wait on the head: every one of them ends (none is left running or
# waiting for nodes that are gone), each failed one with its reason
SLOTS=$("$PYTHON3" -c 'import json, sys
st = json.load(open(sys.argv[1]))
print(sum(n.get("slots", 0) for n in st.get("nodes", []) if n.get("role") == "worker"))' "$T/st")
[ "$SLOTS" -gt 0 ] 2>/dev/null && pass "the workers' slots ($SLOTS)" ||
	fail "the workers' slots (got '$SLOTS')"
"$PYTHON3" - "$R/nap/invoke" "$((SLOTS + 2))" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"[15]\n" * int(sys.argv[2]))
os.close(fd)
PY
# states: how many nap calls are in each state
states() {
	"$PYTHON3" - "$R/nap/calls" <<'PY'
import json, os, sys
d = sys.argv[1]
n = {}
for c in os.listdir(d):
    if c != "latest":
        st = json.load(open(os.path.join(d, c, "status")))["state"]
        n[st] = n.get(st, 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(n.items())))
PY
}
wait_for 60 sh -c "[ \"\$(ls '$R/nap/calls' | grep -vc latest)\" = $((SLOTS + 2)) ]" ||
	fail "  each call has its calls/ID ($(ls "$R/nap/calls" | tr '\n' ' '))"
i=0
until states | grep -qx "queued=2 running=$SLOTS"; do
	i=$((i + 1))
	[ $i -gt 150 ] && break
	sleep 0.2
done
states >"$T/before"
check "  $SLOTS calls run (every slot), 2 wait" grep -qx "queued=2 running=$SLOTS" "$T/before"
check "scancel from outside" timeout 30 scancel "$JOB"
wait_for 30 sh -c "timeout 60 cat '$R/sl/status' | grep -q 'last_job.*was cancelled (scancel)'" ||
	fail "  the cluster says the job was cancelled"
# the calls running on its workers fail with Slurm's reason; the two
# waiting on the head stay queued (none goes to a worker that is
# stopping) and run in the next job
# states_within SECS PATTERN: until the states match (grep -x)
states_within() {
	k=$(($1 * 5))
	until states | grep -qx "$2"; do
		k=$((k - 1))
		[ $k -gt 0 ] || return 1
		sleep 0.2
	done
}
states_within 60 ".*failed=$SLOTS.*" ||
	fail "  the running calls fail ($(states))"
states >"$T/after"
sed 's/^/# /' "$T/after"
has "  the $SLOTS running calls failed" "$T/after" "failed=$SLOTS"
# each call: its state, its node, its reason
calls() {
	"$PYTHON3" - "$R/nap/calls" <<'PY'
import json, os, sys
d = sys.argv[1]
for c in sorted(os.listdir(d)):
    if c != "latest":
        st = json.load(open(os.path.join(d, c, "status")))
        print(st["state"], st.get("node"), st.get("reason"))
PY
}
calls >"$T/reasons"
sed 's/^/# /' "$T/reasons"
lacks "  each failed one with Slurm's reason" "$T/reasons" \
	"^failed .* None$\|^failed .* node [^ ]* lost"
n=$(grep -c "^failed node[12]-$JOB Slurm job $JOB ended: CANCELLED (scancel) on node[12]$" "$T/reasons")
[ "$n" = "$SLOTS" ] && pass "  Slurm job $JOB ended: CANCELLED (scancel) on the node" ||
	fail "  Slurm job $JOB ended: CANCELLED (scancel) on the node ($n of $SLOTS)"
states_within 120 "done=2 failed=$SLOTS" ||
	fail "  the two that waited run in the next job ($(states))"
calls >"$T/queued"
NEW=$(cat "$HOMEDIR/.rh/slurm/$NAME/job" 2>/dev/null)
n=$(grep -c "^done node[12]-$NEW None$" "$T/queued")
[ -n "$NEW" ] && [ "$NEW" != "$JOB" ] && [ "$n" = 2 ] &&
	pass "  the two that waited ran in a new job ($NEW)" ||
	fail "  the two that waited ran in a new job (was $JOB, now '$NEW': $(grep -c '^done' "$T/queued") done)"
check "the next call" sh -c "echo '[3]' > '$R/double/invoke'"
wait_for 120 sh -c "grep -qx 6 '$R/double/calls/latest/result'" ||
	fail "  runs, in the new job"
printf 'down\n' >"$R/sl/ctl"
rm -rf "$HOMEDIR/slmap"
finish
