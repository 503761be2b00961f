"""Latency of warm calls through a send's invoke file, and map throughput.
Uses only os.open/os.write/os.read, as a user's script would.
usage: invoke_bench.py INVOKE N_SEQUENTIAL N_MAP [NAME]
NAME prefixes the figures (default "invoke")."""
import os
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

fd = os.open(path, os.O_RDWR)
buf = [b""]
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
mapname = "map" if name == "invoke" else name + "_map"
print("%s_calls %d" % (mapname, m))
print("%s_calls_per_s %.0f" % (mapname, m / dt))
