#!/bin/sh
# invoke.sh - benchmark: a warm call through a send's invoke file on a
# loopback SSH cluster (rhfs -> sshd -> rhagent), of a command send and of
# a Python send (warm worker), against
# `ssh -o ControlMaster=auto -o ControlPersist=60` running the same command,
# both measured in this run; the floor under any command send (the
# node starting the program, posix_spawn and wait, without rhfs); and map
# throughput (many lines to one invoke); the same Python send on ^local;
# and the floors under a warm Python call: one FUSE request and reply (a
# statfs of the mount) and one JSON line to a Python process and back
# over a socket pair (what a warm worker costs at the least). Prints
# figures and the load average; asserts nothing. With BENCH_OUT=FILE
# every figure is also written there, a "name value" line each
# (tests/bench/summary.sh reads them). Run as root from the build
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

load() { cut -d' ' -f1 /proc/loadavg; }
echo "load_start $(load)" | tee "$T/load.txt"
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

# What a new file in an agent's calls directory costs (a command call
# makes three inodes there, a directory and two files), measured before
# the ^local agent's command calls and again at the end: on ext4 without
# a journal, the inode allocator skips inodes deleted in the last minutes
# (five, if their block is not yet written back), so after many
# deletions nearby a new file can cost far more than usual.
cat >"$T/create.py" <<'PY'
import os, sys, time
d, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lat = []
if os.path.isdir(d):
    for i in range(n + 50):
        t0 = time.perf_counter()
        fd = os.open(os.path.join(d, ".bench-%d" % i),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"{}" * 150)
        os.close(fd)
        if i >= 50:
            lat.append((time.perf_counter() - t0) * 1000)
    for i in range(n + 50):
        os.unlink(os.path.join(d, ".bench-%d" % i))
    lat.sort()
    print("%s %.3f" % (name, lat[len(lat) // 2]))
PY
echo '[]' >"$R/lecho/invoke"    # the ^local agent and its calls directory
"$PYTHON3" "$T/create.py" "$HOME/.rh/agent/calls" \
	floor_create_local_start_ms 300 | tee "$T/create-start.txt"
# Who shares the cores during a command map (their CPU time per call is
# printed): rhfs, the agent (and the programs it starts), and over SSH the
# node user's other processes (sshd's session and the bridge).
echo "rhfs invoke on ^local, command send, $N sequential warm calls, map of $MAP:"
BENCH_PIDS_CMD="echo rhfs $RHFS_PID; echo agent \$(cat '$HOME/.rh/agent/pid')" \
"$PYTHON3" "$top_srcdir/tests/bench/invoke_bench.py" "$R/lecho/invoke" \
	"$N" "$MAP" | sed 's/^invoke_/local_/; s/^map_/local_map_/' |
	tee "$T/local.txt"

echo "rhfs invoke, command send, $N sequential warm calls, map of $MAP:"
apid=/home/$SSH_USER/.rh/agent/pid
BENCH_PIDS_CMD="echo rhfs $RHFS_PID; echo agent \$(cat $apid);
for p in \$(pgrep -u $SSH_USER); do [ \$p = \$(cat $apid) ] || echo ssh \$p; done" \
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
# On ^local the node is this machine as this user, and the program gets
# the environment rhfs has (its locale and PATH change what a start
# costs): measured again so.
cat >"$T/spawn.py" <<'PY'
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
# what program start allows on all the node's cores: one spawner per
# core, each starting and waiting for the program in turn
n, k = 1000, os.cpu_count() or 1
t0 = time.perf_counter()
kids = []
for j in range(k):
    pid = os.fork()
    if pid == 0:
        for i in range(n):
            os.waitpid(os.posix_spawn(exe, ["echo", "hi", str(i)], os.environ,
                                      file_actions=fa), 0)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("spawn_all_cores_per_s %.0f" % (n * k / (time.perf_counter() - t0)))
PY
echo "posix_spawn + wait of the same command on the node, no rhfs:"
su -s /bin/sh "$SSH_USER" -c "'$PYTHON3' -" <"$T/spawn.py" | tee "$T/spawn.txt"
echo "the same here, in rhfs's environment (what ^local starts):"
"$PYTHON3" - <"$T/spawn.py" | sed 's/^spawn_/spawn_local_/' |
	tee -a "$T/spawn.txt"
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

# The same Python send on ^local (rhfs -> rhagent, no SSH).
mkdir -p "$HOME/rhbench"
cp "/home/$SSH_USER/rhbench/benchfns.py" "$HOME/rhbench/"
mkdir "$R/lpyecho"
printf '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["rhbench", "benchfns", "echo"]}' \
	>"$R/lpyecho/config.json"
echo "rhfs invoke on ^local, Python send, $N sequential warm calls, map of $PYMAP:"
"$PYTHON3" "$top_srcdir/tests/bench/invoke_bench.py" "$R/lpyecho/invoke" \
	"$N" "$PYMAP" lpython | tee "$T/lpy.txt"

# The floors under a warm Python call, measured here and now.
echo "floors: a FUSE round trip (statfs), a JSON line to a Python process and back,"
echo "a new file (open O_CREAT, write, close) in the node's calls directory"
echo "and in the ^local agent's (where each command call makes three inodes):"
"$PYTHON3" - "$MNT" <<'PY' | tee "$T/floor.txt"
import json, os, socket, subprocess, sys, time
def p50(f, n):
    for _ in range(50):
        f()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    return lat[len(lat) // 2]
print("floor_fuse_rt_ms %.3f" % p50(lambda: os.statvfs(sys.argv[1]), 2000))
a, b = socket.socketpair()
echo = ("import json, os, sys\n"
        "fd = int(sys.argv[1])\n"
        "for line in os.fdopen(fd, 'rb'):\n"
        "    r = json.loads(line)\n"
        "    os.write(fd, (json.dumps({'call': r['call'], 'ok': True, "
        "'result': json.dumps(r['args'][0])}) + '\\n').encode())\n")
p = subprocess.Popen([sys.executable, "-c", echo, str(b.fileno())],
                     pass_fds=(b.fileno(),))
b.close()
rf = a.makefile("rb")
def rt():
    a.sendall(b'{"call": "x", "function": "echo", "args": [1], "kwargs": {}}\n')
    rf.readline()
print("floor_py_rt_ms %.3f" % p50(rt, 2000))
rf.close()
a.close()
p.wait()
PY
"$PYTHON3" "$T/create.py" "/home/$SSH_USER/.rh/agent/calls" floor_create_ms \
	2000 | tee -a "$T/floor.txt"
echo "node_calls_files $(ls "/home/$SSH_USER/.rh/agent/calls" | wc -l)" |
	tee -a "$T/floor.txt"
"$PYTHON3" "$T/create.py" "$HOME/.rh/agent/calls" floor_create_local_ms \
	2000 | tee -a "$T/floor.txt"
echo "load_end $(load)" | tee -a "$T/load.txt"
"$PYTHON3" - "$T/py.txt" "$T/ssh.txt" "$T/lpy.txt" "$T/floor.txt" <<'PY'
import sys
v = {}
for f in sys.argv[1:]:
    for line in open(f):
        k, x = line.split()
        v[k] = float(x)
print("ratio ssh_p50 / python_p50: %.1fx (target >= 30x, python_p50 <= 0.3 ms)" %
      (v["ssh_p50_ms"] / v["python_p50_ms"]))
print("python_p50 - floors (FUSE round trip + Python round trip): %.3f ms" %
      (v["python_p50_ms"] - v["floor_fuse_rt_ms"] - v["floor_py_rt_ms"]))
print("lpython_p50 - floors: %.3f ms (target lpython_p50 <= 0.2 ms)" %
      (v["lpython_p50_ms"] - v["floor_fuse_rt_ms"] - v["floor_py_rt_ms"]))
PY
[ -n "${BENCH_OUT:-}" ] && cat "$T"/local.txt "$T"/rhfs.txt "$T"/ssh.txt \
	"$T"/spawn.txt "$T"/py.txt "$T"/lpy.txt "$T"/floor.txt "$T"/load.txt \
	"$T"/create-start.txt \
	>"$BENCH_OUT"
echo "cores $(nproc)"
[ -n "${BENCH_OUT:-}" ] && echo "cores $(nproc)" >>"$BENCH_OUT"
exit 0
