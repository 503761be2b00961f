#!/bin/sh
# slurm-config.sh - a SlurmCluster's config through the mount: a valid one
# is stored as written, each bad field is refused at write() naming the
# field, the previous config stays; with its login node out of reach,
# its calls, status and ctl fail with that reason, and nothing runs
# elsewhere; a call's own 'slurm' of a bad form, or on a cluster that is
# not a SlurmCluster, is refused at write().
. "$top_srcdir/tests/lib.sh"
mount_rhfs -o connect_timeout=5
R=$MNT/~
C=$R/sl/config.json

mkdir "$R/sl"
good='{"name": "~/sl", "resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "me"}, "partition": "debug", "slurm": {"nodes": 2, "cpus_per_task": 1, "gpus": "a100:1", "mem": "4G", "time": "1:00:00", "account": "proj", "qos": "normal", "sbatch_args": ["--exclusive"]}}'
check "a SlurmCluster config is stored" sh -c "printf '%s\n' '$good' > '$C'"
printf '%s\n' "$good" >"$T/good"
same "  as written" "$WORK/rh/sl/config.json" "$T/good"
cp "$WORK/rh/sl/config.json" "$T/before"

# bad DESCRIPTION LOG-TEXT CONTENT: refused at write() (EINVAL), the
# previous config intact, the reason (naming ~/sl) in .log.
bad() {
	refuse "$1: refused at write()" "Invalid argument" \
		bash -c "printf '%s' \"\$1\" > '$C'" sh "$3"
	same "$1: previous config intact" "$WORK/rh/sl/config.json" "$T/before"
	has "$1: reason in .log" "$MNT/.log" "~/sl: $2"
}
head='{"resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["127.0.0.1"]'
bad "unknown slurm field" "slurm: unknown field 'ntasks'" \
	"$head, \"slurm\": {\"ntasks\": 4}}"
bad "nodes 0" "slurm: field 'nodes' must be a whole number, 1 or more" \
	"$head, \"slurm\": {\"nodes\": 0}}"
bad "gpus and gres" "slurm: fields 'gpus' and 'gres'" \
	"$head, \"slurm\": {\"gpus\": 1, \"gres\": \"gpu:1\"}}"
bad "mem without a size" "slurm: field 'mem'" \
	"$head, \"slurm\": {\"mem\": \"lots\"}}"
bad "time in hours" "slurm: field 'time'" \
	"$head, \"slurm\": {\"time\": \"2h\"}}"
bad "an sbatch argument that is not an option" "slurm: field 'sbatch_args'" \
	"$head, \"slurm\": {\"sbatch_args\": [\"job.sh\"]}}"
bad "two login nodes" "field 'ips' of a SlurmCluster is its login node" \
	'{"resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["a", "b"]}'
bad "slurm on a BYO cluster" "field 'slurm' is for a cluster of subtype 'SlurmCluster'" \
	'{"resource_type": "cluster", "ips": ["a"], "slurm": {"nodes": 1}}'

# What needs an allocation reaches for the login node (here nothing
# listens: port 1), fails with the reason, and runs nowhere.
printf '{"resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "me", "ssh_port": 1}, "partition": "debug"}' >"$C"
GONE="~/sl: the login node: 127.0.0.1:1: cannot connect"
mkdir "$R/job"
printf '{"resource_type": "send", "hardware": "~/sl", "command": ["touch", "%s"]}' \
	"$T/ran" >"$R/job/config.json"
check "a call on it: the write returns (the call is held)" \
	bash -c "echo '[]' > '$R/job/invoke'"
CALL=$(ls "$R/job/calls" | grep -v '^latest$' | tail -n 1)
wait_for 30 sh -c "grep -q '\"state\": \"failed\"' '$R/job/calls/$CALL/status'" ||
	fail "  the call fails"
check "  its status" cat "$R/job/calls/$CALL/status"
has "  failed, with the reason" "$T/out" "$GONE"
check "  the command ran nowhere" test ! -e "$T/ran"
refuse "a call asking for a Slurm step of a form Slurm refuses is refused" \
	"Invalid argument" \
	bash -c "echo '{\"args\": [], \"slurm\": {\"gpus\": 0}}' > '$R/job/invoke'"
has "  the reason in .log" "$MNT/.log" \
	"~/job/invoke: line 1: slurm: field 'gpus' must be a whole number, 1 or more"
[ "$(ls "$R/job/calls" | grep -vc '^latest$')" = 1 ] &&
	pass "  and no call was made" ||
	fail "  and no call was made ($(ls "$R/job/calls" | tr '\n' ' '))"
# a job step of its own is for a SlurmCluster's calls only
mkdir "$R/byo" "$R/byojob"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "me", "ssh_port": 1}}' >"$R/byo/config.json"
printf '{"resource_type": "send", "hardware": "~/byo", "command": ["touch", "%s"]}' \
	"$T/ran" >"$R/byojob/config.json"
refuse "a call with 'slurm' on a BYO cluster is refused" "Invalid argument" \
	bash -c "echo '{\"args\": [], \"slurm\": {\"cpus_per_task\": 1}}' > '$R/byojob/invoke'"
has "  the reason in .log" "$MNT/.log" \
	"~/byojob/invoke: a call with 'slurm' runs as a job step of a SlurmCluster's allocation, and the send's cluster ~/byo is not one"
[ "$(ls "$R/byojob/calls" 2>/dev/null | grep -vc '^latest$')" = 0 ] &&
	pass "  and no call was made" ||
	fail "  and no call was made ($(ls "$R/byojob/calls" | tr '\n' ' '))"
check "its status reads" cat "$R/sl/status"
has "  state unreachable" "$T/out" '"state": "unreachable"'
has "  with the reason" "$T/out" "$GONE"
refuse "ctl up fails" "Connection refused" \
	bash -c "echo up > '$R/sl/ctl'"
has "  the reason in .log" "$MNT/.log" "$GONE"
refuse "stop in its ctl is refused" "Invalid argument" \
	bash -c "echo stop > '$R/sl/ctl'"
check "a command written to run: the write returns" \
	bash -c "echo 'touch $T/ran' > '$R/sl/run'"
# a python program runs at its close
check "a program written to python: its close returns" \
	"$PYTHON3" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, ("open(%r, \"w\")\n" % sys.argv[2]).encode())
os.close(fd)' "$R/sl/python" "$T/ran"
sleep 2
check "  and neither ran anywhere" test ! -e "$T/ran"
finish
