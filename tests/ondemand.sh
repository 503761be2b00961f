# ondemand.sh - on-demand clusters through SkyPilot's command line. The
# real SkyPilot is NOT run here (it cannot be installed on this machine):
# `sky` is tests/sky-standin.py, which takes the arguments SkyPilot
# documents, prints output shaped like SkyPilot's, records what it was
# asked, and "launches" an instance by starting a loopback sshd with a
# fresh host key for the test user, writing its SSH details where
# SkyPilot does (~/.sky/generated/ssh/NAME).
# Checked: without sky on PATH, status and calls say so and name the fix;
# the first call launches once (two at once: one launch) with arguments
# from the config and config.yaml's defaults (the cloud and region as
# --infra, or as --cloud and --region for a SkyPilot from before --infra:
# `sky launch --help` is asked once per mount), status says launching
# with sky's last lines meanwhile; calls written meanwhile return at once
# and are queued with a calls/ID of their own (status, spec, result and
# stdout that wait, cancel), then run on the launched node under the same
# id, their results read from invoke in order; calls (and rh ssh) run on
# the launched node; autostop, stop (the next call starts it again),
# down; a failed launch fails the calls with sky's reason, in their
# status too; a launch past launch_timeout is ended and fails them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

. "$top_srcdir/tests/sky-lib.sh"
trap 'stop_nodes; cleanup' EXIT

take_node
sky_setup

# call SEND ARG: one call through an open invoke, its result line in $T/out
call() {
	"$PYTHON3" - "$1" "$2" >"$T/out" 2>"$T/errout" <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, (json.dumps([sys.argv[2]]) + "\n").encode())
print(os.fdopen(fd, "r").readline().rstrip("\n"))
PY
}

# --- without sky on PATH
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
check "status of ^rh-cpu without sky" cat "$MNT/^/rh-cpu/status"
has "status says sky is not on PATH" "$T/out" '`sky` is not on PATH'
has "and names the fix" "$T/out" "install SkyPilot"
has "or a BYO or Slurm cluster" "$T/out" "use a BYO cluster (ips) or a Slurm cluster"
mkdir "$R/nosky"
echo '{"resource_type": "send", "hardware": "^rh-cpu", "command": ["echo"]}' \
	>"$R/nosky/config.json"
check "a call on ^rh-cpu without sky is taken" call "$R/nosky/invoke" x
has "and fails saying sky is not on PATH" "$T/out" 'is not on PATH'
refuse "ctl up on ^rh-cpu without sky" "Package not installed" \
	bash -c "echo up > '$MNT/^/rh-cpu/ctl'"
has "the refusal is in .log" "$MNT/.log" '`sky` is not on PATH'
unmount_rhfs

# --- the stand-in on PATH
sky_on_path
cat >"$T/config.yaml" <<'YAML'
default_autostop: 15
use_spot: true
default_provider: cheapest
YAML
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5,config=$T/config.yaml"
mkdir "$R/gpu" "$R/cpu" "$R/who" "$R/who2"
echo '{"resource_type": "cluster", "resource_subtype": "OnDemandCluster", "instance_type": "A100:4", "num_instances": 1, "provider": "aws", "region": "us-east-1", "use_spot": false, "image_id": "ami-0123", "autostop_mins": 30}' \
	>"$R/gpu/config.json"
echo '{"resource_type": "cluster", "resource_subtype": "OnDemandCluster", "instance_type": "CPU:2+"}' \
	>"$R/cpu/config.json"
echo '{"resource_type": "send", "hardware": "~/gpu", "command": ["sh", "-c", "echo $(id -un) $0"]}' \
	>"$R/who/config.json"
cp "$R/who/config.json" "$R/who2/config.json"

NAME=$("$PYTHON3" -c 'import hashlib; print("rh-gpu-" + hashlib.sha256(b"~/gpu").hexdigest()[:8])')
CPUNAME=$("$PYTHON3" -c 'import hashlib; print("rh-cpu-" + hashlib.sha256(b"~/cpu").hexdigest()[:8])')
check "status before the first call" cat "$R/gpu/status"
has "not launched: down" "$T/out" '"state": "down"'
has "SkyPilot's name is rh-, the address's letters, a digest" "$T/out" "\"name\": \"$NAME\""
has "SkyPilot has no such cluster" "$T/out" '"status": null'
[ "$(launches)" = 0 ] && pass "status launches nothing" ||
	fail "status launched ($(launches) launches)"

# Two first calls at once, held at the stand-in's gate: one launch. The
# writes return at once; each call has its calls/ID, queued, until the
# launch ends; the reader of invoke gets the results in order.
touch "$SKYDIR/gate"
"$PYTHON3" - "$R/who/invoke" >"$T/two" 2>"$T/two.err" <<'PY' &
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b'["a"]\n')
os.write(fd, b'["a2"]\n')
print("written", flush=True)
f = os.fdopen(fd, "r")
print(f.readline().rstrip("\n"))
print(f.readline().rstrip("\n"))
PY
A=$!
i=0
until grep -q "Launching on Standin" "$R/gpu/status" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 300 ] && break
	sleep 0.1
done
cat "$R/gpu/status" >"$T/launching"
has "status says launching meanwhile" "$T/launching" '"state": "launching"'
has "with sky's last lines" "$T/launching" "Launching on Standin (a loopback sshd): $NAME"
check "a write while the cluster launches returns" \
	bash -c "echo '[\"b\"]' > '$R/who/invoke'"
i=0
until grep -q written "$T/two" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
has "and so do the writes of a reader of invoke" "$T/two" "written"
kill -0 $A 2>/dev/null && pass "whose read waits for the launch" ||
	fail "the reader of invoke did not wait"
ls "$R/who/calls" | grep -v '^latest$' >"$T/calls"
[ "$(wc -l <"$T/calls")" = 3 ] && pass "each call has its calls/ID at once" ||
	fail "calls/ while launching: $(cat "$T/calls")"
B=$(tail -n 1 "$T/calls")
check "calls/latest while launching" readlink "$R/who/calls/latest"
has "is the newest" "$T/out" "$B"
check "a queued call's status" cat "$R/who/calls/$B/status"
cp "$T/out" "$T/queued"
has "says queued" "$T/queued" '"state": "queued"'
has "waiting for the launch" "$T/queued" '"waiting_for": "~/gpu"'
has "with sky's last line" "$T/queued" "Launching on Standin"
has "its id" "$T/queued" "\"call\": \"$B\""
check "a queued call's spec" cat "$R/who/calls/$B/spec"
has "holds its args" "$T/out" '"b"'
refuse "its result, O_NONBLOCK, while queued" "Resource temporarily unavailable" \
	"$PYTHON3" -c 'import os,sys; os.read(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK), 10)' \
	"$R/who/calls/$B/result"
refuse "its stdout, O_NONBLOCK, while queued" "Resource temporarily unavailable" \
	"$PYTHON3" -c 'import os,sys; os.read(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK), 10)' \
	"$R/who/calls/$B/stdout"
cat "$R/who/calls/$B/result" >"$T/bresult" 2>&1 &
BR=$!
# A signal (a Ctrl-C) ends a reader's wait, and not the launch.
"$PYTHON3" - "$R/who/calls/$B/result" >"$T/intr" 2>&1 <<'PY' &
import os, signal, sys
class Stop(Exception):
    pass
def stop(*_):
    raise Stop()
signal.signal(signal.SIGUSR1, stop)
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.read(fd, 100)
    print("read")
except Stop:
    print("interrupted")
PY
C=$!
i=0
until grep -q request_wait_answer "/proc/$C/wchan" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
cat "/proc/$C/wchan" >"$T/wchan" 2>/dev/null
kill -USR1 $C
i=0
while kill -0 $C 2>/dev/null && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
has "a queued call's result waits in read" "$T/wchan" "request_wait_answer"
has "a signal ends the wait" "$T/intr" "interrupted"
has "and not the launch" "$R/gpu/status" '"state": "launching"'
# a queued call cancelled never runs; its invoke line says so
"$PYTHON3" - "$R/who2/invoke" >"$T/cline" 2>&1 <<'PY' &
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b'["c"]\n')
print(os.fdopen(fd, "r").readline().rstrip("\n"))
PY
CL=$!
i=0
until ls "$R/who2/calls" 2>/dev/null | grep -q '^2'; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
CID=$(ls "$R/who2/calls" | grep -v '^latest$')
check "cancel a queued call" bash -c "echo cancel > '$R/who2/calls/$CID/ctl'"
check "its status" cat "$R/who2/calls/$CID/status"
has "says cancelled" "$T/out" '"state": "cancelled"'
wait $CL
has "its invoke line says cancelled" "$T/cline" '"state":"cancelled"'
has "naming the call" "$T/cline" "\"call\":\"$CID\""
rm "$SKYDIR/gate"
wait $A && pass "the first calls end" || fail "the first calls failed"
printf 'written\n%s a\n%s a2\n' "$SSH_USER" "$SSH_USER" >"$T/want"
same "their results, in order, from the node launched" "$T/two" "$T/want"
wait $BR
echo "$SSH_USER b" >"$T/want"
same "the queued call's result, read while it waited" "$T/bresult" "$T/want"
check "its status once run" cat "$R/who/calls/$B/status"
has "done" "$T/out" '"state": "done"'
has "under the id it had while queued" "$T/out" "\"call\": \"$B\""
check "the cancelled call's status after the launch" \
	cat "$R/who2/calls/$CID/status"
has "still cancelled" "$T/out" '"state": "cancelled"'
[ "$(launches)" = 1 ] && pass "two first calls: one launch" ||
	fail "two first calls: $(launches) launches"
grep '^\["launch", "-c"' "$SKYDIR/argv.log" >"$T/launch"
echo "[\"launch\", \"-c\", \"$NAME\", \"--yes\", \"--gpus\", \"A100:4\", \"--num-nodes\", \"1\", \"--infra\", \"aws/us-east-1\", \"--image-id\", \"ami-0123\", \"-i\", \"30\"]" >"$T/want"
same "sky launch got the config's arguments, as --infra for a SkyPilot that has it" \
	"$T/launch" "$T/want"
[ "$(helps)" = 1 ] && pass "sky launch --help was asked once" ||
	fail "sky launch --help was asked $(helps) times"
PORT=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["port"])' "$SKYDIR/state.json" "$NAME")
has "reached at the SSH details SkyPilot records" \
	"$HOME/.rh/sky/$NAME.known_hosts" "[127.0.0.1]:$PORT"
lacks "nothing written into the cluster's config" "$R/gpu/config.json" '"ips"'
check "a later call" call "$R/who/invoke" there
has "runs on the node" "$T/out" "$SSH_USER there"
check "status when up" cat "$R/gpu/status"
has "up" "$T/out" '"state": "up"'
has "as SkyPilot says" "$T/out" '"status": "UP"'
check "its log, once up" head -c 1 "$R/gpu/log"
if command -v ssh >/dev/null 2>&1; then
	check "rh ssh on it" sh -c "cd '$WORK' && timeout 30 \
		'$top_builddir/rh' ssh '~/gpu' -- 'echo hi \$(id -un)'"
	has "reaches the node SkyPilot records, with rhfs's host key" \
		"$T/out" "hi $SSH_USER"
fi

# config.yaml's defaults where the config has none; ctl up launches.
check "ctl up on ~/cpu" bash -c "exec 3<>'$R/cpu/ctl'; echo up >&3; cat <&3"
has "ctl up says what it ran" "$T/out" "up: sky launch -c $CPUNAME --yes --cpus 2+ --use-spot -i 15"
has "and reached the agent" "$T/out" "up: the agent runs"
check "ctl down on ~/cpu" bash -c "echo down > '$R/cpu/ctl'"
has "sky down ran for ~/cpu" "$SKYDIR/argv.log" "[\"down\", \"-y\", \"$CPUNAME\"]"

# autostop, stop, start, down
check "ctl autostop 5" bash -c "echo 'autostop 5' > '$R/gpu/ctl'"
has "sky autostop -y -i 5 NAME" "$SKYDIR/argv.log" "[\"autostop\", \"-y\", \"-i\", \"5\", \"$NAME\"]"
check "SkyPilot's table" sky status "$NAME"
has "shows the autostop" "$T/out" "5m"
check "ctl autostop -1" bash -c "echo 'autostop -1' > '$R/gpu/ctl'"
has "sky autostop --cancel" "$SKYDIR/argv.log" "[\"autostop\", \"-y\", \"--cancel\", \"$NAME\"]"
check "ctl stop" bash -c "echo stop > '$R/gpu/ctl'"
has "sky stop -y NAME" "$SKYDIR/argv.log" "[\"stop\", \"-y\", \"$NAME\"]"
check "status when stopped" cat "$R/gpu/status"
has "stopped" "$T/out" '"state": "stopped"'
has "as SkyPilot says" "$T/out" '"status": "STOPPED"'
check "a call after stop" call "$R/who/invoke" again
has "runs on the node started again" "$T/out" "$SSH_USER again"
has "with sky start -y NAME" "$SKYDIR/argv.log" "[\"start\", \"-y\", \"$NAME\"]"
[ "$(launches)" = 2 ] && pass "a start, not a launch" ||
	fail "$(launches) launches"
check "ctl down" bash -c "echo down > '$R/gpu/ctl'"
has "sky down -y NAME" "$SKYDIR/argv.log" "[\"down\", \"-y\", \"$NAME\"]"
check "status after down" cat "$R/gpu/status"
has "down" "$T/out" '"state": "down"'
refuse "its log after down" "Transport endpoint is not connected" \
	head -c 1 "$R/gpu/log"
refuse "stop on a BYO cluster" "Invalid argument" \
	bash -c "echo stop > '$MNT/^/local/ctl'"

# A launch that fails: the calls fail with sky's reason.
echo "sky.exceptions.ResourcesUnavailableError: no A100:4 left in us-east-1 (stand-in)" \
	>"$SKYDIR/fail"
check "a call when the launch fails is taken" call "$R/who/invoke" nope
has "and fails with sky's reason" "$T/out" "ResourcesUnavailableError: no A100:4 left"
FID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["call"])' "$T/out")
check "the failed call's status" cat "$R/who/calls/$FID/status"
has "says failed" "$T/out" '"state": "failed"'
has "with sky's reason" "$T/out" "ResourcesUnavailableError: no A100:4 left"
check "its result" cat "$R/who/calls/$FID/result"
[ -s "$T/out" ] && fail "the result of a call that never ran is not empty" ||
	pass "is empty: it never ran"
has "which .log has too" "$MNT/.log" "failed (exit 1): sky.exceptions.ResourcesUnavailableError"
refuse "ctl up when the launch fails" "Input/output error" \
	bash -c "echo up > '$R/gpu/ctl'"
rm "$SKYDIR/fail"
[ "$(helps)" = 1 ] && pass "and sky launch --help was not asked again" ||
	fail "sky launch --help was asked $(helps) times"
unmount_rhfs

# A SkyPilot from before --infra: the cloud and region go as --cloud and
# --region (asked once more: a new mount may have a new SkyPilot).
touch "$SKYDIR/cli-old"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
mkdir "$R/old"
echo '{"resource_type": "cluster", "instance_type": "CPU:2", "provider": "gcp", "region": "us-central1"}' \
	>"$R/old/config.json"
OLDNAME=$("$PYTHON3" -c 'import hashlib; print("rh-old-" + hashlib.sha256(b"~/old").hexdigest()[:8])')
check "ctl up with a SkyPilot before --infra" bash -c "echo up > '$R/old/ctl'"
grep '^\["launch", "-c"' "$SKYDIR/argv.log" | tail -n 1 >"$T/launch"
echo "[\"launch\", \"-c\", \"$OLDNAME\", \"--yes\", \"--cpus\", \"2\", \"--cloud\", \"gcp\", \"--region\", \"us-central1\"]" >"$T/want"
same "sky launch got --cloud and --region" "$T/launch" "$T/want"
[ "$(helps)" = 2 ] && pass "after asking sky launch --help" ||
	fail "sky launch --help was asked $(helps) times"
check "ctl down" bash -c "echo down > '$R/old/ctl'"
rm "$SKYDIR/cli-old"
unmount_rhfs

# A launch past launch_timeout: sky is ended, the calls fail.
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5,launch_timeout=8"
touch "$SKYDIR/gate"
rm -f "$SKYDIR/launch.pid"
check "a call past launch_timeout is taken" call "$R/who/invoke" late
has "and fails: launch_timeout" "$T/out" "launch_timeout"
has "naming what did not end: the launch" "$T/out" \
	"\`sky launch -c $NAME --yes --gpus A100:4 --num-nodes 1 --infra aws/us-east-1 --image-id ami-0123\` did not end within launch_timeout (8 s)"
FID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["call"])' "$T/out")
check "the call's status" cat "$R/who/calls/$FID/status"
has "says failed: launch_timeout" "$T/out" "did not end within launch_timeout (8 s)"
pid=$(cat "$SKYDIR/launch.pid" 2>/dev/null)
[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null &&
	pass "the launch was ended" || fail "the launch still runs (${pid:-no pid})"
check "status after it" cat "$R/gpu/status"
has "SkyPilot has it half made: init" "$T/out" '"state": "init"'
rm "$SKYDIR/gate"
finish
