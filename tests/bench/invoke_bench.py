"""Latency of warm calls through a send's invoke file, and map throughput.
Uses only os.open/os.write/os.read, as a user's script would.
usage: invoke_bench.py INVOKE N_SEQUENTIAL N_MAP [NAME]
NAME prefixes the figures (default "invoke"). With BENCH_PIDS_CMD set, a
shell command printing "LABEL PID" lines (run after the warm-up), the CPU
time each LABEL's processes used during the map is printed per call, and
for the label "agent" also that of the programs it started and waited
for (the kernel adds them to its children's times)."""
import os
import subprocess
import sys
import time


def readline(fd, buf):
    while b"\n" not in buf[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\n", 1)
    return line


def cpu(pids):
    """{label: [own seconds, waited-for children's seconds]}"""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for label, pid in pids:
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own = (int(st[11]) + int(st[12])) / tick
        kids = (int(st[13]) + int(st[14])) / tick
        o = out.setdefault(label, [0.0, 0.0])
        o[0] += own
        o[1] += kids
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


path, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
name = sys.argv[4] if len(sys.argv) > 4 else "invoke"
fd = os.open(path, os.O_RDWR)
buf = [b""]
for i in range(20):     # warm: connection, agent, caches
    os.write(fd, b"[0]\n")
    readline(fd, buf)
lat = []
for i in range(n):
    t0 = time.perf_counter()
    os.write(fd, b"[%d]\n" % i)
    readline(fd, buf)
    lat.append((time.perf_counter() - t0) * 1000)
print("%s_p50_ms %.3f" % (name, pct(lat, 50)))
print("%s_p99_ms %.3f" % (name, pct(lat, 99)))
os.close(fd)

pids = []
if os.environ.get("BENCH_PIDS_CMD"):
    txt = subprocess.run(["sh", "-c", os.environ["BENCH_PIDS_CMD"]],
                         capture_output=True, text=True).stdout
    pids = [tuple(line.split()) for line in txt.splitlines()
            if len(line.split()) == 2]
fd = os.open(path, os.O_RDWR)
buf = [b""]
cpu0, times0 = cpu(pids), os.times()
lines = b"".join(b"[%d]\n" % i for i in range(m))
t0 = time.perf_counter()
off = 0
while off < len(lines):     # whole lines, under FUSE's 128 KiB max_write
    end = lines.rfind(b"\n", off, off + 60000) + 1
    if end <= off:
        end = len(lines)
    off += os.write(fd, lines[off:end])
got = 0
while got < m:
    readline(fd, buf)
    got += 1
dt = time.perf_counter() - t0
cpu1, times1 = cpu(pids), os.times()
mapname = "map" if name == "invoke" else name + "_map"
print("%s_calls %d" % (mapname, m))
print("%s_calls_per_s %.0f" % (mapname, m / dt))
if pids:
    client = (times1.user + times1.system) - (times0.user + times0.system)
    print("%s_cpu_client_ms %.3f" % (mapname, client * 1000 / m))
    for label in sorted(cpu1):
        a, b = cpu1[label], cpu0.get(label, [0.0, 0.0])
        print("%s_cpu_%s_ms %.3f" % (mapname, label, (a[0] - b[0]) * 1000 / m))
        if label == "agent":
            print("%s_cpu_programs_ms %.3f" %
                  (mapname, (a[1] - b[1]) * 1000 / m))
