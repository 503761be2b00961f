#!/bin/sh
# slurm.sh - benchmark: a SlurmCluster on the tests' real Slurm
# (tests/slurm-lib.sh: slurmctld, two slurmd on this host, a loopback
# sshd as the login node), measured in one run:
#   - the allocation: `up` in its ctl to the job RUNNING on both nodes;
#   - a map of N trivial Python calls through one invoke, and the latency
#     of sequential calls in the running allocation (p50, p99);
#   - the same N calls as one `sbatch --array` job (one task a call, each
#     a python3 writing its result to a file; the results read back), as
#     submitit and job-array users run them;
# and the ratio of the two maps' throughputs. A part that cannot run says
# why. Prints figures; asserts nothing. Run as root from the build tree
# after make:
#   sh tests/bench/slurm.sh [N] [SEQUENTIAL] [ARRAY_N]
# ARRAY_N (default N) sizes the job array alone: at a few tasks a second
# on one host, 10,000 tasks take an hour.
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-10000}
SEQ=${2:-200}
AN=${3:-$N}
. "$top_srcdir/tests/lib.sh"
SSH_USER=rhfs-slurm
. "$top_srcdir/tests/sshd-lib.sh"
# an array of N tasks, and room for it in slurmctld
SLURM_CONF_EXTRA="MaxArraySize=$((AN + 1))
MaxJobCount=$((AN * 2 + 1000))"
. "$top_srcdir/tests/slurm-lib.sh"
slurm_need

start_sshd || exit 1
slurm_start || exit 1
mount_rhfs -o "known_hosts=$T/known_hosts,launch_timeout=300"
R=$MNT/~
mkdir "$R/sl" "$R/py"
printf '{"resource_type": "cluster", "resource_subtype": "SlurmCluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}, "partition": "%s", "slurm": {"nodes": 2, "time": "60", "sbatch_args": ["--exclusive"]}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" "$SLURM_PARTITION" >"$R/sl/config.json"
NAME=$("$PYTHON3" -c 'import hashlib; print("rh-sl-" + hashlib.sha256(b"~/sl").hexdigest()[:8])')
stop_node_agent
rm -rf "/home/$SSH_USER/.rh/slurm/$NAME" "/home/$SSH_USER/.rh/agent" \
	"/home/$SSH_USER/.rh/nodes"
# the function: in the login node's home, which the nodes share
mkdir -p "/home/$SSH_USER/rhbench"
printf 'def double(x):\n    return 2 * x\n' >"/home/$SSH_USER/rhbench/benchfns.py"
chown -R "$SSH_USER" "/home/$SSH_USER/rhbench"
printf '{"resource_type": "send", "hardware": "~/sl", "fn_pointers": ["rhbench", "benchfns", "double"]}' \
	>"$R/py/config.json"

echo "Slurm: $(sinfo -V), nodes $SLURM_NODES, $(nproc) CPUs each (one host)"

# the allocation
"$PYTHON3" - "$R/sl" <<'PY' | tee "$T/alloc.txt"
import json, os, sys, time
d = sys.argv[1]
t0 = time.perf_counter()
fd = os.open(d + "/ctl", os.O_RDWR)
os.write(fd, b"up\n")
said = os.read(fd, 4096).decode().strip()
os.close(fd)
t1 = time.perf_counter()
state = None
while time.perf_counter() - t0 < 120:
    st = json.load(open(d + "/status"))
    state = (st.get("job") or {}).get("state")
    if state == "RUNNING":
        break
    time.sleep(0.05)
t2 = time.perf_counter()
print("# " + said)
print("alloc_submit_ms %.1f" % ((t1 - t0) * 1000))
print("alloc_running_ms %.1f" % ((t2 - t0) * 1000))
if state != "RUNNING":
    print("# the allocation did not run within 120 s: " + str(state))
PY

# the map through invoke, and sequential calls, once calls run there
echo "rhfs invoke on the allocation: $SEQ sequential calls, a map of $N:"
"$PYTHON3" - "$R/py" "$N" "$SEQ" <<'PY' | tee "$T/rhfs.txt"
import json, os, sys, time
d, n, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def readline(fd, buf):
    while b"\n" not in buf[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\n", 1)
    return line


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


fd = os.open(d + "/invoke", os.O_RDWR)
buf = [b""]
try:
    os.write(fd, b"[1]\n")
    first = json.loads(readline(fd, buf))
except OSError as e:
    first = {"error": str(e)}
if first != 2:
    st = {}
    try:
        latest = os.readlink(d + "/calls/latest")
        st = json.load(open(d + "/calls/" + latest + "/status"))
    except OSError:
        pass
    print("# rhfs: not measured: a call does not run in the allocation "
          "(%s)" % (st.get("reason") or first))
    sys.exit(0)
lat = []
for i in range(seq):
    t0 = time.perf_counter()
    os.write(fd, b"[%d]\n" % i)
    readline(fd, buf)
    lat.append((time.perf_counter() - t0) * 1000)
print("first_call_p50_ms %.3f" % pct(lat, 50))
print("first_call_p99_ms %.3f" % pct(lat, 99))
t0 = time.perf_counter()
os.write(fd, b"".join(b"[%d]\n" % i for i in range(n)))
got = [json.loads(readline(fd, buf)) for _ in range(n)]
t1 = time.perf_counter()
bad = sum(1 for i, g in enumerate(got) if g != 2 * i)
print("map_s %.3f" % (t1 - t0))
print("map_calls_per_s %.1f" % (n / (t1 - t0)))
if bad:
    print("# %d results wrong" % bad)
PY
printf 'down\n' >"$R/sl/ctl" 2>/dev/null

# the same calls as one job array: one task a call
A=$T/array
mkdir -p "$A/out"
cat >"$A/task.sh" <<'TASK'
#!/bin/sh
exec python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchfns; print(benchfns.double(int(sys.argv[2])))' \
	"$BENCHFNS" "$SLURM_ARRAY_TASK_ID" >"$OUT/$SLURM_ARRAY_TASK_ID"
TASK
echo "the same calls as one sbatch --array of $AN tasks:"
"$PYTHON3" - "$A" "$AN" "/home/$SSH_USER/rhbench" <<'PY' | tee "$T/array.txt"
import os, subprocess, sys, time
a, n, fns = sys.argv[1], int(sys.argv[2]), sys.argv[3]
env = dict(os.environ, BENCHFNS=fns, OUT=a + "/out")
t0 = time.perf_counter()
r = subprocess.run(["sbatch", "--parsable", "--wait", "--array=0-%d" % (n - 1),
                    "-N1", "-n1", "-o", "/dev/null", a + "/task.sh"],
                   env=env, capture_output=True, text=True, timeout=7200)
got = 0
for i in range(n):
    try:
        with open("%s/out/%d" % (a, i)) as f:
            got += int(f.read()) == 2 * i
    except (OSError, ValueError):
        pass
t1 = time.perf_counter()
if r.returncode != 0:
    print("# sbatch --wait: exit %d: %s" % (r.returncode, r.stderr.strip()[:300]))
print("array_s %.3f" % (t1 - t0))
print("array_calls_per_s %.1f" % (n / (t1 - t0)))
print("array_results_ok %d" % got)
PY
"$PYTHON3" - "$T/rhfs.txt" "$T/array.txt" <<'PY'
import sys
v = {}
for f in sys.argv[1:]:
    for line in open(f):
        if not line.startswith("#"):
            k, x = line.split()
            v[k] = float(x)
if "map_calls_per_s" in v:
    print("ratio rhfs map / sbatch --array: %.1fx (target >= 20x)" %
          (v["map_calls_per_s"] / v["array_calls_per_s"]))
else:
    print("ratio rhfs map / sbatch --array: not measured (no map)")
PY
