#!/bin/sh
# summary.sh - benchmark: runs tests/bench/invoke.sh, tests/bench/memory.sh,
# tests/bench/meta.sh and tests/bench/ls-etcd.sh and prints one table of
# their figures: each figure, its peer measured in the same run, their
# ratio, the target, and whether it is met; for the metadata figures also
# the floor (tests/bench/fuse-floor: the kernel's FUSE path with rhfs's
# options and a daemon that does no work) and whether the floor itself is
# above the target. With the load average at the start and end of each
# run (the machine is shared: read the figures with it). Asserts nothing.
# Run as root from the build tree after make:
#   sh tests/bench/summary.sh [N] [MAP] [PYTHON_MAP] [MEMORY_N]
# With SUMMARY_FROM=DIR, reads DIR/invoke.out, DIR/memory.out,
# DIR/meta.out and DIR/ls-etcd.out (written by an earlier run, or by the
# benchmarks run with BENCH_OUT=FILE) and runs nothing.
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
: "${PYTHON3:=python3}"
export top_srcdir top_builddir
N=${1:-1000}
MAP=${2:-5000}
PYMAP=${3:-20000}
MEMN=${4:-100000}

if [ -n "${SUMMARY_FROM:-}" ]; then
	D=$SUMMARY_FROM
else
	D=$(mktemp -d /tmp/rhfs-summary.XXXXXX)
	echo "figures in $D"
	BENCH_OUT=$D/invoke.out sh "$top_srcdir/tests/bench/invoke.sh" \
		"$N" "$MAP" "$PYMAP" >"$D/invoke.log" 2>&1 ||
		echo "invoke.sh failed: $D/invoke.log"
	BENCH_OUT=$D/memory.out sh "$top_srcdir/tests/bench/memory.sh" \
		"$MEMN" >"$D/memory.log" 2>&1 ||
		echo "memory.sh failed: $D/memory.log"
	BENCH_OUT=$D/meta.out sh "$top_srcdir/tests/bench/meta.sh" \
		>"$D/meta.log" 2>&1 || echo "meta.sh failed: $D/meta.log"
	BENCH_OUT=$D/ls-etcd.out sh "$top_srcdir/tests/bench/ls-etcd.sh" \
		>"$D/ls-etcd.log" 2>&1 || echo "ls-etcd.sh failed: $D/ls-etcd.log"
fi

"$PYTHON3" - "$D/invoke.out" "$D/memory.out" "$D/meta.out" \
	"$D/ls-etcd.out" <<'PY'
import sys
v = {}
for f in sys.argv[1:]:
    try:
        for line in open(f):
            parts = line.split()
            if len(parts) == 2:
                try:
                    v[parts[0]] = float(parts[1])
                except ValueError:
                    pass
    except OSError as e:
        print("cannot read %s: %s" % (f, e.strerror))

rows = []


def row(what, key, unit, peer, peer_val, target, ok, faster=False):
    """faster: the ratio is peer / value (how many times faster than the
    peer); else value / peer."""
    val = v.get(key)
    if val is None:
        rows.append((what, "-", peer, "-", "-", target, "not measured"))
        return
    ratio = None
    if peer_val and val:
        ratio = peer_val / val if faster else val / peer_val
    fmt = {"ms": "%.3f", "us": "%.2f"}.get(unit, "%.0f")
    verdict = "-" if ok is None else ok(val)
    if verdict is True or verdict is False:
        verdict = "met" if verdict else "NOT met"
    rows.append((what, (fmt + " %s") % (val, unit), peer,
                 "-" if peer_val is None else fmt % peer_val,
                 "-" if ratio is None else "%.2fx" % ratio, target, verdict))


def meta_rows(what, base, unit, peer, target):
    """A metadata figure (base_unit) against its native peer
    (base_native_unit) with the floor (base_floor_unit, the FUSE path
    alone) in the row below it: whether the floor itself is above the
    target says whether rhfs can meet it."""
    key = "%s_%s" % (base, unit)
    nat = v.get("%s_native_%s" % (base, unit))
    fl = v.get("%s_floor_%s" % (base, unit))
    def ok(x):
        if nat is None:
            return "-"
        if x <= target * nat:
            return "met"
        if fl is not None and fl > target * nat:
            return "NOT met: floor %.2fx native" % (fl / nat)
        return "NOT met"
    row(what, key, unit, peer, nat, "<= %gx" % target, ok)
    row("  floor: FUSE path alone", "%s_floor_%s" % (base, unit), unit,
        peer, nat, "-",
        lambda x: "-" if nat is None else
        "above target" if x > target * nat else "below target")
    val = v.get(key)
    if val is not None and fl:
        rows.append(("  rhfs / floor", "%.2fx" % (val / fl), "", "", "",
                     "", ""))


g = v.get
ssh = g("ssh_p50_ms")
floor = (g("floor_fuse_rt_ms") or 0) + (g("floor_py_rt_ms") or 0)
spawn = g("spawn_p50_ms")
lspawn = g("spawn_local_p50_ms") or spawn      # ^local: this machine
cores = g("cores") or 1
row("Python call p50, SSH", "python_p50_ms", "ms", "ssh ControlMaster p50",
    ssh, "<= 0.3 ms, >= 30x faster",
    lambda x: x <= 0.3 and ssh is not None and ssh / x >= 30, faster=True)
row("Python call p99, SSH", "python_p99_ms", "ms", "ssh ControlMaster p99",
    g("ssh_p99_ms"), "<= 1 ms", lambda x: x <= 1, faster=True)
row("Python call p50, ^local", "lpython_p50_ms", "ms",
    "floor: FUSE + Python round trips", floor or None, "<= 0.2 ms",
    lambda x: x <= 0.2)
row("Python call p99, ^local", "lpython_p99_ms", "ms", "-", None, "-", None)
row("Python map, SSH", "python_map_calls_per_s", "/s",
    "calls/s of ssh ControlMaster", 1000 / ssh if ssh else None,
    ">= 10,000/s", lambda x: x >= 10000)
row("Python map, ^local", "lpython_map_calls_per_s", "/s",
    "calls/s of ssh ControlMaster", 1000 / ssh if ssh else None,
    ">= 10,000/s", lambda x: x >= 10000)
row("command call p50, SSH", "invoke_p50_ms", "ms", "node's program start",
    spawn, "<= program start + 0.3 ms",
    lambda x: spawn is not None and x <= spawn + 0.3)
row("command call p50, ^local", "local_p50_ms", "ms",
    "program start here", lspawn, "<= program start + 0.3 ms",
    lambda x: lspawn is not None and x <= lspawn + 0.3)
# measured (a spawner per core), else from the sequential start
cap = g("spawn_all_cores_per_s") or (cores * 1000 / spawn if spawn else None)
row("command map, SSH", "map_calls_per_s", "/s",
    "program starts/s on all cores", cap, ">= 80% of that",
    lambda x: cap is not None and x >= 0.8 * cap)
lcap = g("spawn_local_all_cores_per_s") or cap
row("command map, ^local", "local_map_calls_per_s", "/s",
    "program starts/s here, all cores", lcap, ">= 80% of that",
    lambda x: lcap is not None and x >= 0.8 * lcap)
row("rhfs idle RSS", "rhfs_idle_kib", "KiB",
    "floor: its libraries alone (lib-floor)", g("lib_floor_kib"),
    "<= 10240 KiB", lambda x: x <= 10240)
row("rhfs idle, its own (RssAnon)", "rhfs_idle_anon_kib", "KiB", "-", None,
    "-", None)
row("rhfs idle RSS, @ on etcd", "rhfs_idle_etcd_kib", "KiB",
    "floor: its libraries with libcurl loaded and initialized",
    g("lib_floor_curl_kib"), "<= 10240 KiB",
    lambda x: "met" if x <= 10240 else
    "NOT met: floor %.0f KiB" % g("lib_floor_curl_kib")
    if (g("lib_floor_curl_kib") or 0) > 10240 else "NOT met")
n = int(g("mem_calls") or 0)
row("rhfs growth, %d calls" % n, "rhfs_growth_kib", "KiB", "-", None,
    "<= 1024 KiB", lambda x: x <= 1024)
row("rhagent growth, %d calls" % n, "rhagent_growth_kib", "KiB",
    "rhagent RSS after warm-up", g("rhagent_kib"), "<= 1024 KiB",
    lambda x: x <= 1024)

n = int(g("ls_n") or 0)
meta_rows("config.json open+read+close", "orc", "us",
          "native file", 3)
meta_rows("ls -l of %d resources in ~" % n, "ls", "ms",
          "native ls -l of as many dirs", 1.2)
meta_rows("  the same after 1.2 s", "ls_stale", "ms",
          "native ls -l of as many dirs", 1.2)
meta_rows("  the same after 31 s", "ls_expired", "ms",
          "native ls -l of as many dirs", 1.2)
meta_rows("ls -l of %d resources in @, warm" % int(g("etcd_ls_n") or 0),
          "etcd_ls_warm", "ms", "native ls -l of as many dirs", 1.2)

w = [max(len(str(r[i])) for r in rows + [("figure", "value", "peer",
     "peer value", "ratio", "target", "")]) for i in range(7)]
head = ("figure", "value", "peer", "peer value", "ratio", "target", "")
for r in [head] + rows:
    print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip())
print("load average (1 min): invoke.sh %s -> %s, memory.sh %s -> %s; %d cores"
      % (g("load_start"), g("load_end"), g("mem_load_start"),
         g("mem_load_end"), cores))
print("load average (1 min): meta.sh %s -> %s, ls-etcd.sh %s -> %s"
      % (g("meta_load_start"), g("meta_load_end"), g("etcd_load_start"),
         g("etcd_load_end")))
# The floor under a command map: the CPU time each process sharing the
# cores spent per call during it, and the rate those cores allow at most.
for what, m in (("SSH", "map"), ("^local", "local_map")):
    parts = [(k[len(m) + 5:-3], v[k]) for k in sorted(v)
             if k.startswith(m + "_cpu_") and k.endswith("_ms")]
    total = sum(x for _, x in parts)
    if parts and total > 0:
        print("command map, %s: CPU per call %s = %.3f ms: at most %.0f "
              "calls/s on %d cores" % (what, ", ".join(
                  "%s %.3f" % p for p in parts), total,
                  cores * 1000 / total, cores))
print("floors this run: FUSE round trip %s ms, Python JSON round trip %s ms,"
      " program start %s ms, a new file in the node's calls directory %s ms"
      " (%s records there), in the ^local agent's %s ms (%s ms before"
      " its command calls)"
      % (g("floor_fuse_rt_ms"), g("floor_py_rt_ms"), spawn,
         g("floor_create_ms"), g("node_calls_files"),
         g("floor_create_local_ms"), g("floor_create_local_start_ms")))
PY
