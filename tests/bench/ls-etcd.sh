#!/bin/sh
# ls-etcd.sh - benchmark: `ls -l` of a folder of N (10,000) resources in
# the shared namespace on a real etcd (loopback, auth on): cold (a fresh
# mount, nothing loaded) and warm (the same again), against the targets
# 1 s and 0.1 s; and warm against the kernel's own `ls -l` of N local
# directories and of N directories on tests/bench/fuse-floor (a FUSE
# mount with rhfs's options that does no work), measured in turn, the
# best of 5 (target 1.2x native). Prints figures; asserts nothing. With
# BENCH_OUT=FILE the figures are also written there, a "name value" line
# (for tests/bench/summary.sh). Run from the build tree after make:
# sh tests/bench/ls-etcd.sh [N]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-10000}
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"

etcd_have || { echo "etcd and etcdctl are needed (tests/deps.sh)"; exit 1; }
FLOOR=$top_builddir/tests/bench/fuse-floor
[ -x "$FLOOR" ] || make -C "$top_builddir" tests/bench/fuse-floor \
	>/dev/null 2>&1 || { echo "fuse-floor: cannot build"; exit 1; }
load_start=$(cut -d' ' -f1 /proc/loadavg)
etcd_start || exit 1
P=/rh

# N resources put through the JSON gateway, 100 keys per transaction,
# before auth is on.
"$PYTHON3" - "$ETCD_URL" "$P" "$N" <<'PY' || exit 1
import base64, json, sys, urllib.request
url, p, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = lambda s: base64.b64encode(s.encode()).decode()
def txn(puts):
    body = {"success": [{"request_put": {"key": b(k), "value": b(v)}}
                        for k, v in puts]}
    req = urllib.request.Request(url + "/v3/kv/txn",
                                 json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
puts = [(p + "/t/alice", '{"kind":"user"}'), (p + "/n/alice/big/", "")]
for i in range(n):
    addr = "/alice/big/r%05d" % i
    cfg = {"name": addr, "rns_address": addr, "resource_type": "blob",
           "resource_subtype": "Blob", "path": "/data/%d" % i}
    puts.append((p + "/n/alice/big/r%05d" % i, json.dumps(cfg, indent=4)))
    puts.append((p + "/n/alice/big/r%05d/" % i, ""))
    if len(puts) >= 100:
        txn(puts)
        puts = []
if puts:
    txn(puts)
PY
{
	ETCDCTL user add root --new-user-password=rootpw &&
	ETCDCTL user grant-role root root &&
	ETCDCTL user add alice --new-user-password=pw &&
	ETCDCTL role add rh-u-alice &&
	ETCDCTL role grant-permission rh-u-alice --prefix=true readwrite \
		$P/n/alice/ &&
	ETCDCTL role grant-permission rh-u-alice --prefix=true read $P/t/ &&
	ETCDCTL user grant-role alice rh-u-alice &&
	ETCDCTL auth enable
} >"$T/setup.log" 2>&1 || { cat "$T/setup.log"; exit 1; }
mkdir -p "$HOME/.rh"
printf '{"url": "%s", "user": "alice", "password": "pw", "prefix": "%s"}\n' \
	"$ETCD_URL" "$P" >"$HOME/.rh/login.json"
chmod 600 "$HOME/.rh/login.json"

mount_rhfs
timed() {
	"$PYTHON3" -c '
import subprocess, sys, time
t = time.monotonic()
out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True).stdout
print("%.3f %d" % (time.monotonic() - t, out.count(b"\n")))' "$@"
}
set -- $(timed ls -l "$MNT/alice/big")
echo "ls -l of $N resources on etcd, cold: $1 s ($2 lines; target 1 s)"
set -- $(timed ls -l "$MNT/alice/big")
echo "ls -l of $N resources on etcd, warm: $1 s ($2 lines; target 0.1 s)"
set -- $(timed ls -l "$MNT/alice/big")
echo "ls -l of $N resources on etcd, warm again: $1 s (target 0.1 s)"

# warm, against N local directories and N on the floor mount (its
# entries cached as long as the shared namespace's: 30 s)
mkdir -p "$T/dirs" "$T/floor"
i=0
while [ $i -lt "$N" ]; do
	mkdir "$T/dirs/r$i"
	i=$((i + 1))
done
echo '{}' >"$T/floor.json"
"$FLOOR" -f -o "file=$T/floor.json,dirs=$N,timeout=30" "$T/floor" \
	2>"$T/floor.err" &
FLOOR_PID=$!
trap 'unmount_at "$T/floor" "$FLOOR_PID"; etcd_exit' EXIT
wait_for 10 test -f "$T/floor/cfg/config.json" ||
	{ echo "fuse-floor did not mount"; cat "$T/floor.err"; exit 1; }
"$PYTHON3" - "$MNT/alice/big" "$T/floor" "$T/dirs" "$N" "$load_start" \
	"$T/figures.txt" <<'PY'
import subprocess, sys, time
paths, n, load_start, figures = sys.argv[1:4], sys.argv[4], sys.argv[5], \
    sys.argv[6]
def ls(p):
    t = time.perf_counter()
    subprocess.run(["ls", "-l", p], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t) * 1000
for p in paths:
    ls(p)
b = [min(x) for x in zip(*[[ls(p) for p in paths] for _ in range(5)])]
print("ls -l of %s, warm: rhfs (@) %.1f ms  floor %.1f ms  native %.1f ms"
      % (n, b[0], b[1], b[2]))
print("  rhfs/native %.2fx  floor/native %.2fx  rhfs/floor %.2fx"
      "  target <= 1.2x native" % (b[0] / b[2], b[1] / b[2], b[0] / b[1]))
open(figures, "w").write(
    "etcd_ls_n %s\netcd_ls_warm_ms %.3f\netcd_ls_warm_floor_ms %.3f\n"
    "etcd_ls_warm_native_ms %.3f\netcd_load_start %s\netcd_load_end %s\n"
    % (n, b[0], b[1], b[2], load_start,
       open("/proc/loadavg").read().split()[0]))
PY
[ -n "${BENCH_OUT:-}" ] && cp "$T/figures.txt" "$BENCH_OUT"
finish
