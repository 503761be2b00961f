#!/bin/sh
# slurm-step.sh - a call with Slurm resources of its own ("slurm" in its
# spec) on a SlurmCluster, against a real Slurm (tests/slurm-lib.sh)
# whose nodes have two GPUs each (a gres.conf of plain files: Slurm
# counts and hands them out; nothing here is a real GPU): such a call
# runs as its own job step of the allocation (srun --exact, on one node,
# with the CPUs or GPUs it asks), its record naming the node and the
# step, while a call without runs on a warm worker; its result goes on
# as a $ref, a large one too, a function's exception is its reason; a
# step that asks for more than any node has fails at once with Slurm's
# reason; a running step is cancelled (srun ends it, Slurm lists it no
# more); bad 'slurm' keys or values are refused at write(), and nothing
# runs; a step whose agent was killed is ended when it starts again.
. "$top_srcdir/tests/lib.sh"
# the login node's user: Slurm's tests' own (their node lock too)
SSH_USER=rhfs-slurm
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

# two GPUs a node: Slurm's gres/gpu wants a File for each, which it
# does not open when nothing confines devices (TaskPlugin=task/none)
mkdir -p "$SLURM_DIR/dev"
touch "$SLURM_DIR/dev/gpu0" "$SLURM_DIR/dev/gpu1"
SLURM_CONF_EXTRA="GresTypes=gpu"
SLURM_NODE_EXTRA="Gres=gpu:2 "
SLURM_GRES_CONF="NodeName=node[1-2] Name=gpu File=$SLURM_DIR/dev/gpu[0-1]"
CPUS=$(nproc)
[ "$CPUS" -ge 2 ] || { echo "SKIP: a node of one CPU has no room for a step of two"; exit 77; }
slurm_mount_sl 120
# whole nodes: every CPU of each, and its GPUs
slurm_config "$R/sl" '{"nodes": 2, "sbatch_args": ["--exclusive"]}'
mkdir -p "$HOMEDIR/slstep"
cat >"$HOMEDIR/slstep/stepfns.py" <<'PY'
import os
def where(x):
    e = os.environ
    print("out of", x)
    return {"x": x, "node": e.get("SLURMD_NODENAME"),
            "step": e.get("SLURM_STEP_ID"),
            "cpus": e.get("SLURM_CPUS_PER_TASK"),
            "gpus": e.get("SLURM_GPUS_ON_NODE")}
def big(n):
    return ["x" * 1000] * n
def boom(x):
    raise ValueError("no %s" % x)
PY
chown -R "$SSH_USER" "$HOMEDIR/slstep"
mkdir "$R/where"
printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["slstep", "stepfns", "where"]}' \
	>"$R/where/config.json"
for f in big boom; do
	mkdir "$R/$f"
	printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["slstep", "stepfns", "%s"]}' \
		"$f" >"$R/$f/config.json"
done
mkdir "$R/cmd"
printf '{"resource_type": "send", "hardware": "~/sl", "command": ["sh", "-c", "echo step $SLURM_STEP_ID on $SLURMD_NODENAME; exec sleep \\"$0\\""]}' \
	>"$R/cmd/config.json"

# call SEND LINE: the line written to SEND's invoke, what it read back
# in $T/res; the call's id in CALL, its status in $T/st.
call() {
	"$PYTHON3" - "$R/$1/invoke" "$2" >"$T/res" 2>&1 <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, (sys.argv[2] + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode(), end="")
PY
	CALL=$(ls "$R/$1/calls" | grep -v '^latest$' | tail -n 1)
	timeout 30 cat "$R/$1/calls/$CALL/status" >"$T/st"
}
# field FILE KEY [SUBKEY]: a JSON value as text (strings bare).
field() {
	"$PYTHON3" -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v.get(k) if isinstance(v, dict) else None
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}

# a call with two CPUs of its own: a job step of the allocation
call where '{"args": [1], "slurm": {"cpus_per_task": 2}}'
STEPCALL=$CALL
JOB=$(cat "$HOMEDIR/.rh/slurm/$NAME/job" 2>/dev/null)
[ -n "$JOB" ] && pass "the allocation runs (job $JOB)" ||
	fail "the allocation runs (no job id)"
check "a call with cpus_per_task 2: its result" cat "$T/res"
[ "$(field "$T/res" x)" = 1 ] && pass "  the function's result" ||
	fail "  the function's result (got $(cat "$T/res"))"
STEP=$(field "$T/res" step)
NODE=$(field "$T/res" node)
# (its step may be the job's first, 0, when it starts before the
# workers' step: its record names it, and the worker agents' step is
# another)
case $STEP in
''|null|*[!0-9]*) fail "  ran in a job step (SLURM_STEP_ID $STEP)" ;;
*) pass "  ran in a job step (step $JOB.$STEP)" ;;
esac
[ "$(field "$T/res" cpus)" = 2 ] && pass "  with its two CPUs" ||
	fail "  with its two CPUs (SLURM_CPUS_PER_TASK $(field "$T/res" cpus))"
has "  done" "$T/st" '"state": "done"'
[ "$(field "$T/st" node)" = "$NODE-$JOB.$STEP" ] &&
	pass "  its record names the node and the step ($NODE-$JOB.$STEP)" ||
	fail "  its record names the node and the step (got $(field "$T/st" node), want $NODE-$JOB.$STEP)"
check "  its spec" cat "$R/where/calls/$CALL/spec"
"$PYTHON3" -c 'import json, sys
print(json.dumps(json.load(open(sys.argv[1])).get("slurm"), sort_keys=True))' "$T/out" >"$T/spec"
has "  keeps what it asked, and the job" "$T/spec" "{\"cpus_per_task\": 2, \"job\": \"$JOB\"}"
check "  its stdout" cat "$R/where/calls/$CALL/stdout"
has "  what it printed, through srun" "$T/out" "out of 1"

# a call without: a warm worker of the allocation
call where '[2]'
[ "$(field "$T/res" x)" = 2 ] && pass "a call without 'slurm': its result" ||
	fail "a call without 'slurm': its result (got $(cat "$T/res"))"
case $(field "$T/st" node) in
node[12]-"$JOB") pass "  ran on a worker agent ($(field "$T/st" node))" ;;
*) fail "  ran on a worker agent (node $(field "$T/st" node))" ;;
esac
[ "$(field "$T/res" step)" != "$STEP" ] &&
	pass "  in the workers' step, not the call's" ||
	fail "  in the workers' step, not the call's (step $STEP)"

# a step's result as a later call's argument ($ref), and a result too
# large for the record (over 64 KiB: the step writes it to the call's
# directory on the login node)
call where "{\"args\": [{\"\$ref\": \"~/where/calls/$STEPCALL\"}]}"
[ "$(field "$T/res" x step)" = "$STEP" ] &&
	pass "a step's result as a \$ref: the next call gets it" ||
	fail "a step's result as a \$ref: the next call gets it (got $(cat "$T/res"))"
call big '{"args": [100], "slurm": {"cpus_per_task": 1}}'
"$PYTHON3" -c 'import json, sys
v = json.load(open(sys.argv[1]))
print("big ok" if v == ["x" * 1000] * 100 else "big wrong")' "$T/res" >"$T/big" 2>&1
has "a step's result of 100 KB" "$T/big" "big ok"
has "  done" "$T/st" '"state": "done"'
# a function that raises, in its step: failed with its reason, the
# traceback in its stderr
call boom '{"args": ["luck"], "slurm": {"cpus_per_task": 1}}'
has "a step's function raises: failed" "$T/st" '"state": "failed"'
has "  with its reason" "$T/st" "boom raised ValueError: no luck"
check "  its stderr" cat "$R/boom/calls/$CALL/stderr"
has "  the traceback" "$T/out" "ValueError: no luck"

# more CPUs than any node has: Slurm refuses the step at once
call where "{\"args\": [3], \"slurm\": {\"cpus_per_task\": $((CPUS + 1))}}"
has "more CPUs than a node has: failed" "$T/st" '"state": "failed"'
has "  with Slurm's reason" "$T/st" "its Slurm job step did not start: srun: error: Unable to create step for job $JOB: More processors requested than permitted"

# GPUs: one of a node's two, then more than a node has
call where '{"args": [4], "slurm": {"gpus": 1}}'
[ "$(field "$T/res" gpus)" = 1 ] && pass "a call with gpus 1: one GPU in its step" ||
	fail "a call with gpus 1: one GPU in its step (got $(cat "$T/res"))"
has "  done" "$T/st" '"state": "done"'
call where '{"args": [5], "slurm": {"gres": "gpu:2"}}'
[ "$(field "$T/res" gpus)" = 2 ] && pass "a call with gres gpu:2: both of a node's GPUs" ||
	fail "a call with gres gpu:2: both of a node's GPUs (got $(cat "$T/res"))"
call where '{"args": [6], "slurm": {"gpus": 3}}'
has "gpus 3: failed" "$T/st" '"state": "failed"'
has "  with Slurm's reason" "$T/st" "its Slurm job step did not start: srun: error: Unable to create step for job $JOB"

# a command step: its output followed while it runs, then cancelled
echo '{"args": ["300"], "slurm": {"cpus_per_task": 1, "time": "10"}}' >"$R/cmd/invoke"
CALL=$(ls "$R/cmd/calls" | grep -v '^latest$' | tail -n 1)
wait_for 60 sh -c "grep -q '^step' '$R/cmd/calls/$CALL/stdout'" ||
	fail "a command step starts and prints"
check "a command step runs" cat "$R/cmd/calls/$CALL/status"
has "  running" "$T/out" '"state": "running"'
check "  Slurm lists its step" sh -c "timeout 10 squeue -h -s -j $JOB -o '%i %j' | grep -q ' rh-$CALL\$'"
STEPID=$(timeout 10 squeue -h -s -j "$JOB" -o '%i %j' | sed -n "s/^$JOB\\.\\([0-9]*\\) rh-$CALL\$/\\1/p")
check "  its status names the step" grep -q "\"node\": \"node[12]-$JOB.$STEPID\"" "$R/cmd/calls/$CALL/status"
check "cancel it" sh -c "echo cancel > '$R/cmd/calls/$CALL/ctl'"
wait_for 30 sh -c "grep -q '\"state\": \"cancelled\"' '$R/cmd/calls/$CALL/status'" &&
	pass "  cancelled" || fail "  cancelled ($(cat "$R/cmd/calls/$CALL/status"))"
wait_for 60 sh -c "! timeout 10 squeue -h -s -j $JOB -o '%j' | grep -q 'rh-$CALL'" &&
	pass "  Slurm lists its step no more" ||
	fail "  Slurm lists its step no more ($(timeout 10 squeue -h -s -j "$JOB"))"

# bad 'slurm' in a call: refused at write(), naming the field; nothing
# runs
N0=$(ls "$R/where/calls" | grep -vc '^latest$')
# bad DESCRIPTION LOG-TEXT LINE
bad() {
	refuse "$1: refused at write()" "Invalid argument" \
		bash -c "printf '%s\n' \"\$1\" > '$R/where/invoke'" sh "$3"
	has "  the reason in .log" "$MNT/.log" "~/where/invoke: line 1: slurm: $2"
}
bad "an unknown key" "unknown field 'cpus' (known: cpus_per_task, gpus, gres, mem, time)" \
	'{"args": [1], "slurm": {"cpus": 2}}'
bad "cpus_per_task 0" "field 'cpus_per_task' must be a whole number, 1 or more" \
	'{"args": [1], "slurm": {"cpus_per_task": 0}}'
bad "gpus of another form" "field 'gpus' must be" \
	'{"args": [1], "slurm": {"gpus": "a:b:c"}}'
bad "mem without a size" "field 'mem' must be" \
	'{"args": [1], "slurm": {"mem": "lots"}}'
bad "gpus and gres" "fields 'gpus' and 'gres' both ask for GPUs" \
	'{"args": [1], "slurm": {"gpus": 1, "gres": "gpu:1"}}'
bad "nodes, the allocation's" "field 'nodes' is the allocation's" \
	'{"args": [1], "slurm": {"nodes": 2}}'
bad "a job id of the writer's" "unknown field 'job'" \
	'{"args": [1], "slurm": {"job": "1"}}'
refuse "slurm not an object: refused at write()" "Invalid argument" \
	bash -c "echo '{\"args\": [1], \"slurm\": 2}' > '$R/where/invoke'"
[ "$(ls "$R/where/calls" | grep -vc '^latest$')" = "$N0" ] &&
	pass "  and no call was made" ||
	fail "  and no call was made ($(ls "$R/where/calls" | tr '\n' ' '))"

# the agent on the login node killed while a step runs: started again,
# it fails the call and ends the step (SIGTERM to srun, and scancel)
echo '{"args": ["300"], "slurm": {"cpus_per_task": 1}}' >"$R/cmd/invoke"
CALL=$(ls "$R/cmd/calls" | grep -v '^latest$' | tail -n 1)
wait_for 60 sh -c "grep -q '^step' '$R/cmd/calls/$CALL/stdout'" ||
	fail "a step runs when its agent is killed"
APID=$(cat "$HOMEDIR/.rh/agent/pid" 2>/dev/null)
check "the login node's agent killed (SIGKILL) mid-step" kill -9 "$APID"
# (unless rhfs, which lost its link, has started it again already)
su -s /bin/sh "$SSH_USER" -c \
	"cd && SLURM_CONF='$SLURM_CONF' timeout 60 ~/.rh/bin/rhagent serve" \
	>/dev/null 2>&1
# (bounds for a loaded machine and a sanitizer build's slower agent)
wait_for 90 sh -c "p=\$(cat '$HOMEDIR/.rh/agent/pid') && [ \"\$p\" != '$APID' ] && kill -0 \"\$p\"" &&
	pass "  and started again" || fail "  and started again"
wait_for 60 sh -c "! timeout 10 squeue -h -s -j $JOB -o '%j' | grep -q 'rh-$CALL'" &&
	pass "  Slurm lists the step no more" ||
	fail "  Slurm lists the step no more ($(timeout 10 squeue -h -s -j "$JOB"))"
check "  the call's status" timeout 60 cat "$R/cmd/calls/$CALL/status"
has "  failed" "$T/out" '"state": "failed"'
has "  with the reason" "$T/out" "the agent died while the call ran"
finish
