#!/bin/sh
# first-contact.sh - benchmark: the first call to a node that has no
# agent yet (SSH session, rhagent uploaded over SFTP, started, the call's
# result read back), on a fresh node user each round, for a command send
# and a Python send; against, in the same run, what any tool pays for the
# same first contact: a fresh `ssh` login running `true` (no
# ControlMaster) and `scp` of the same rhagent binary. Prints each
# figure (median and worst of ROUNDS), the ratio to the ssh floor and the
# target (1.5 s); asserts nothing. Run as root from the build tree after
# make: sh tests/bench/first-contact.sh [ROUNDS]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
ROUNDS=${1:-5}
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
# a user of its own: its home is made afresh each round
SSH_USER=rhfs-fc
NODE=/home/$SSH_USER
fresh_user() {
	su -s /bin/sh "$SSH_USER" -c '[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
		>/dev/null 2>&1
	pkill -u "$SSH_USER" 2>/dev/null
	userdel -r "$SSH_USER" >/dev/null 2>&1
	useradd -m -d "$NODE" -s /bin/sh "$SSH_USER"
	usermod -p '*' "$SSH_USER"
}
trap 'unmount_rhfs; su -s /bin/sh "$SSH_USER" -c "~/.rh/bin/rhagent stop" >/dev/null 2>&1; pkill -u "$SSH_USER" 2>/dev/null; stop_sshd; userdel -r "$SSH_USER" >/dev/null 2>&1; cleanup' EXIT

fresh_user
start_sshd || exit 1

echo "first contact, $ROUNDS rounds, each on a fresh node user ($(uptime | sed 's/.*load/load/'))"

# the floor: a fresh ssh login, and scp of the agent, the same key and sshd
"$PYTHON3" - "$SSH_KEY" "$SSH_PORT" "$SSH_USER" "$T" \
	"$top_builddir/rhagent" "$ROUNDS" <<'PY' | tee "$T/floor.txt"
import statistics, subprocess, sys, time
key, port, user, t, agent, rounds = sys.argv[1:7]
opts = ["-o", "StrictHostKeyChecking=no", "-o",
        "UserKnownHostsFile=%s/ssh_known_hosts" % t, "-o", "BatchMode=yes",
        "-i", key]
def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0
timed(["ssh"] + opts + ["-p", port, "%s@127.0.0.1" % user, "true"])
ssh, scp = [], []
for _ in range(int(rounds)):
    ssh.append(timed(["ssh"] + opts + ["-p", port, "%s@127.0.0.1" % user,
                                       "true"]))
    scp.append(timed(["scp", "-q"] + opts + ["-P", port, agent,
                      "%s@127.0.0.1:rhagent-copy" % user]))
print("ssh_login_s %.3f" % statistics.median(ssh))
print("scp_agent_s %.3f" % statistics.median(scp))
PY

# one round: remount (no session kept), a fresh user, the first call of
# the send in $1 timed from the write to its result read back
cat >"$T/first.py" <<'PY'
import os, sys, time
inv, res = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
fd = os.open(inv, os.O_WRONLY)
os.write(fd, b"[]\n")
os.close(fd)
with open(res) as f:
    out = f.read()
t1 = time.perf_counter()
fd = os.open(inv, os.O_WRONLY)
os.write(fd, b"[]\n")
os.close(fd)
with open(res) as f:
    f.read()
t2 = time.perf_counter()
print("%.4f %.4f %s" % (t1 - t0, t2 - t1, out.strip()[:40]))
PY
round_of() {
	fresh_user
	mount_rhfs -o "known_hosts=$T/known_hosts"
	R=$MNT/~
	mkdir -p "$R/node" "$R/$1"
	printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
		"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
	printf '%s' "$2" >"$R/$1/config.json"
	timeout 120 "$PYTHON3" "$T/first.py" "$R/$1/invoke" \
		"$R/$1/calls/latest/result"
	unmount_rhfs
	rm -rf "$WORK/rh/node" "$WORK/rh/$1"
}

mkdir -p "$T/py"
cat >"$T/py/fns.py" <<'PY'
def hi():
    return "hi"
PY
for i in $(seq "$ROUNDS"); do
	round_of cmd '{"resource_type": "send", "hardware": "~/node", "command": ["echo", "hi"]}' \
		>>"$T/cmd.txt"
	round_of py "{\"resource_type\": \"send\", \"hardware\": \"~/node\", \"reqs\": [\"local:$T/py\"], \"fn_pointers\": [\"py\", \"fns\", \"hi\"]}" \
		>>"$T/py.txt"
done

echo "rounds (first s, warm s, result):"
sed 's/^/  command: /' "$T/cmd.txt"
sed 's/^/  python: /' "$T/py.txt"
"$PYTHON3" - "$T/floor.txt" "$T/cmd.txt" "$T/py.txt" <<'PY'
import statistics, sys
floor = dict(l.split() for l in open(sys.argv[1]))
ssh = float(floor["ssh_login_s"])
print("%-34s %9s %9s %9s %8s %7s" % ("figure", "median_s", "worst_s", "warm_ms",
                                     "x_ssh", "target"))
print("%-34s %9.3f" % ("ssh login, fresh (floor)", ssh))
print("%-34s %9.3f" % ("scp of rhagent (floor)", float(floor["scp_agent_s"])))
for name, path in (("first call, command send", sys.argv[2]),
                   ("first call, Python send (+sync)", sys.argv[3])):
    rows = [l.split() for l in open(path) if l.strip()]
    if not rows:
        print("%-34s no result" % name)
        continue
    first = [float(r[0]) for r in rows]
    warm = [float(r[1]) for r in rows]
    med = statistics.median(first)
    print("%-34s %9.3f %9.3f %9.2f %8.1f %7s %s" % (
        name, med, max(first), statistics.median(warm) * 1000, med / ssh,
        "1.5", "met" if med <= 1.5 else "NOT met"))
PY
