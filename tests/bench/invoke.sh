#!/bin/sh
# invoke.sh - benchmark: a warm call through a send's invoke file on a
# loopback SSH cluster (rhfs -> sshd -> rhagent), of a command send and of
# a Python send (warm worker), against
# `ssh -o ControlMaster=auto -o ControlPersist=60` running the same command,
# both measured in this run; the floor under any command send (the
# node starting the program, posix_spawn and wait, without rhfs); and map
# throughput (many lines to one invoke). Prints figures; asserts nothing. Run as root from the build
# tree after make: sh tests/bench/invoke.sh [N] [MAP] [PYTHON_MAP]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-1000}
MAP=${2:-20000}
PYMAP=${3:-5000}
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
trap 'su -s /bin/sh "$SSH_USER" -c "~/.rh/bin/rhagent stop" >/dev/null 2>&1; rm -rf "/home/$SSH_USER/rhbench"; stop_sshd; cleanup' EXIT

start_sshd || exit 1
mount_rhfs -o "known_hosts=$T/known_hosts"
R=$MNT/~
mkdir "$R/node" "$R/echo"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["echo", "hi"]}' \
	>"$R/echo/config.json"

# The same command send on ^local: rhfs -> rhagent, no SSH.
mkdir "$R/lecho"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo", "hi"]}' \
	>"$R/lecho/config.json"
echo "rhfs invoke on ^local, command send, $N sequential warm calls, map of $MAP:"
"$PYTHON3" "$top_srcdir/tests/bench/invoke_bench.py" "$R/lecho/invoke" \
	"$N" "$MAP" | sed 's/^invoke_/local_/; s/^map_/local_map_/' |
	tee "$T/local.txt"

echo "rhfs invoke, command send, $N sequential warm calls, map of $MAP:"
"$PYTHON3" "$top_srcdir/tests/bench/invoke_bench.py" "$R/echo/invoke" \
	"$N" "$MAP" | tee "$T/rhfs.txt"

echo "ssh -o ControlMaster=auto -o ControlPersist=60, same command:"
"$PYTHON3" - "$SSH_KEY" "$SSH_PORT" "$SSH_USER" "$T" <<'PY' | tee "$T/ssh.txt"
import subprocess, sys, time
key, port, user, t = sys.argv[1:5]
cmd = ["ssh", "-o", "ControlMaster=auto", "-o", "ControlPath=%s/cm-%%r@%%h:%%p" % t,
       "-o", "ControlPersist=60", "-o", "StrictHostKeyChecking=no",
       "-o", "UserKnownHostsFile=%s/ssh_known_hosts" % t, "-o", "BatchMode=yes",
       "-i", key, "-p", port, "%s@127.0.0.1" % user, "echo", "hi", "1"]
for _ in range(5):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
lat = []
for _ in range(200):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
print("ssh_p50_ms %.3f" % lat[len(lat) // 2])
print("ssh_p99_ms %.3f" % lat[min(len(lat) - 1, len(lat) * 99 // 100)])
PY
# The floor under any command send: starting the program at all
# (posix_spawn and wait of the same command, as the node's user, no rhfs).
echo "posix_spawn + wait of the same command on the node, no rhfs:"
su -s /bin/sh "$SSH_USER" -c "'$PYTHON3' -" <<'PY' | tee "$T/spawn.txt"
import os, shutil, time
exe = shutil.which("echo")
null = os.open(os.devnull, os.O_WRONLY)
fa = [(os.POSIX_SPAWN_DUP2, null, 1)]
lat = []
for i in range(220):
    t0 = time.perf_counter()
    pid = os.posix_spawn(exe, ["echo", "hi", str(i)], os.environ, file_actions=fa)
    os.waitpid(pid, 0)
    if i >= 20:
        lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
print("spawn_p50_ms %.3f" % lat[len(lat) // 2])
PY
"$PYTHON3" - "$T/rhfs.txt" "$T/ssh.txt" "$T/local.txt" "$T/spawn.txt" <<'PY'
import sys
v = {}
for f in sys.argv[1:]:
    for line in open(f):
        k, x = line.split()
        v[k] = float(x)
print("ratio ssh_p50 / invoke_p50: %.1fx (target >= 15x)" % (v["ssh_p50_ms"] / v["invoke_p50_ms"]))
print("ratio ssh_p50 / local_p50: %.1fx" % (v["ssh_p50_ms"] / v["local_p50_ms"]))
print("ratio ssh_p50 / spawn_p50: %.1fx (the most a command send could reach here)" %
      (v["ssh_p50_ms"] / v["spawn_p50_ms"]))
PY
ssh -o ControlPath="$T/cm-%r@%h:%p" -O exit -p "$SSH_PORT" "$SSH_USER@127.0.0.1" >/dev/null 2>&1

# A Python send whose module the node's warm workers hold.
mkdir -p "/home/$SSH_USER/rhbench"
printf 'def echo(x):\n    return x\n' >"/home/$SSH_USER/rhbench/benchfns.py"
chown -R "$SSH_USER" "/home/$SSH_USER/rhbench"
mkdir "$R/pyecho"
printf '{"resource_type": "send", "hardware": "~/node", "fn_pointers": ["rhbench", "benchfns", "echo"]}' \
	>"$R/pyecho/config.json"
echo "rhfs invoke, Python send, $N sequential warm calls, map of $PYMAP:"
"$PYTHON3" "$top_srcdir/tests/bench/invoke_bench.py" "$R/pyecho/invoke" \
	"$N" "$PYMAP" python | tee "$T/py.txt"
"$PYTHON3" - "$T/py.txt" "$T/ssh.txt" <<'PY'
import sys
v = {}
for f in sys.argv[1:]:
    for line in open(f):
        k, x = line.split()
        v[k] = float(x)
print("ratio ssh_p50 / python_p50: %.1fx" % (v["ssh_p50_ms"] / v["python_p50_ms"]))
PY
