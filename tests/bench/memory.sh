#!/bin/sh
# memory.sh - benchmark: rhfs's resident memory (VmRSS) idle after mount,
# then after N (100,000) Python calls through one send's invoke on ^local
# (in maps of 10,000 lines, each on a new open of invoke), then after as
# many again, against the targets: idle <= 10 MiB, at most 1 MiB of
# growth over N calls after a warm-up of 1,000; the floor under the idle
# figure, rhfs's shared libraries loaded by a program that does nothing
# else (tests/bench/lib-floor); rhagent's (the agent
# that ran the calls, not its workers) growth measured the same way;
# then rhfs idle again with its shared namespace on a real etcd, which
# loads libcurl (not loaded until then), against the floor with libcurl
# loaded and initialized as the etcd client does.
# Prints figures and the load average; asserts nothing. With
# BENCH_OUT=FILE every figure is also written there, a "name value" line
# each (tests/bench/summary.sh reads them). Run as root from the build
# tree after make: sh tests/bench/memory.sh [N]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-100000}
. "$top_srcdir/tests/lib.sh"

# status PID FIELD: a kB figure of /proc/PID/status
status() {
	sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status"
}
rss() {
	status "$1" VmRSS
}

out() {
	[ -n "${BENCH_OUT:-}" ] && echo "$1 $2" >>"$BENCH_OUT"
	return 0
}
[ -n "${BENCH_OUT:-}" ] && : >"$BENCH_OUT"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average at the start: $load"
out mem_load_start "$load"
mount_rhfs
S=$MNT/~
mkdir -p "$HOME/bench"
printf 'def echo(x):\n    return x\n' >"$HOME/bench/benchfns.py"
mkdir "$S/echo"
printf '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["bench", "benchfns", "echo"]}' \
	>"$S/echo/config.json"
ls -l "$S" >/dev/null
idle=$(rss "$RHFS_PID")
anon=$(status "$RHFS_PID" RssAnon)
echo "rhfs idle after mount: $idle KiB (target <= 10240 KiB), of it $anon KiB its own (RssAnon; the rest is the shared libraries' pages)"
out rhfs_idle_kib "$idle"
out rhfs_idle_anon_kib "$anon"
# the floor: the same libraries loaded by a program that does nothing
floor=$top_builddir/tests/bench/lib-floor
[ -x "$floor" ] || make -C "$top_builddir" tests/bench/lib-floor >/dev/null 2>&1
if f=$("$floor" 2>/dev/null); then
	set -- $f
	echo "floor: rhfs's libraries loaded by a program that does nothing else (tests/bench/lib-floor): $1 KiB, of it $2 KiB anonymous and $3 KiB the libraries' pages; rhfs above it: $((idle - $1)) KiB"
	out lib_floor_kib "$1"
	echo "the same with libcurl loaded and initialized (curl_global_init), as the etcd client does when first made: $4 KiB (+$(($4 - $1)) KiB)"
	out lib_floor_curl_kib "$4"
	lcurl=$4
	echo "and with libxml2 loaded too, as the S3 store does when opened: $7 KiB (+$(($7 - $1)) KiB)"
	out lib_floor_dl_kib "$7"
fi

calls() {
	"$PYTHON3" - "$S/echo/invoke" "$1" <<'PY'
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
done = 0
while done < n:
    m = min(10000, n - done)
    fd = os.open(path, os.O_RDWR)
    lines = b"".join(b"[%d]\n" % i for i in range(m))
    off = 0
    while off < len(lines):
        end = lines.rfind(b"\n", off, off + 60000) + 1
        off += os.write(fd, lines[off:end])
    buf, got = b"", 0
    while got < m:
        chunk = os.read(fd, 65536)
        if not chunk:
            sys.exit("invoke ended early")
        buf += chunk
        got += chunk.count(b"\n")
    os.close(fd)
    done += m
PY
}

# what a map's end frees goes back to the system a moment after its
# invoke is closed (its last reply may come after): the figures are of
# rhfs at rest
settle() { sleep 1; }

calls 1000
settle
apid=$(cat "$HOME/.rh/agent/pid" 2>/dev/null)
base=$(rss "$RHFS_PID")
abase=$(rss "$apid")
echo "after 1,000 calls: rhfs $base KiB, rhagent $abase KiB"
calls "$N"
settle
one=$(rss "$RHFS_PID")
aone=$(rss "$apid")
echo "after $N more calls: rhfs $one KiB, rhagent $aone KiB"
calls "$N"
settle
two=$(rss "$RHFS_PID")
atwo=$(rss "$apid")
echo "after $N more again: rhfs $two KiB, rhagent $atwo KiB"
echo "rhfs growth over the first $N calls after the warm-up: $((one - base)) KiB (target <= 1024 KiB)"
echo "rhfs growth over the next $N calls: $((two - one)) KiB"
echo "rhagent growth over the first $N calls after the warm-up: $((aone - abase)) KiB (target <= 1024 KiB)"
echo "rhagent growth over the next $N calls: $((atwo - aone)) KiB"
out mem_calls "$N"
out rhfs_growth_kib $((one - base))
out rhfs_growth2_kib $((two - one))
out rhagent_kib "$abase"
out rhagent_growth_kib $((aone - abase))
out rhagent_growth2_kib $((atwo - aone))

# idle with the shared namespace on etcd (alice's folder, auth on), a
# second mount
. "$top_srcdir/tests/etcd-lib.sh"
if etcd_have && etcd_start >/dev/null && {
	ETCDCTL put /rh/t/alice '{"kind":"user"}' &&
	ETCDCTL put /rh/n/alice/ '' &&
	ETCDCTL user add root --new-user-password=rootpw &&
	ETCDCTL user grant-role root root &&
	ETCDCTL user add alice --new-user-password=pw &&
	ETCDCTL role add rh-u-alice &&
	ETCDCTL role grant-permission rh-u-alice --prefix=true readwrite \
		/rh/n/alice/ &&
	ETCDCTL role grant-permission rh-u-alice --prefix=true read /rh/t/ &&
	ETCDCTL user grant-role alice rh-u-alice &&
	ETCDCTL auth enable
} >"$T/etcd-setup.log" 2>&1; then
	mkdir -p "$HOME2/.rh"
	printf '{"url": "%s", "user": "alice", "password": "pw"}\n' \
		"$ETCD_URL" >"$HOME2/.rh/login.json"
	chmod 600 "$HOME2/.rh/login.json"
	mount_rhfs_2
	if ls -l "$MNT2/@/" >/dev/null; then
		idle2=$(rss "$RHFS2_PID")
		anon2=$(status "$RHFS2_PID" RssAnon)
		echo "rhfs idle with @ on etcd (libcurl loaded): $idle2 KiB (target <= 10240 KiB), of it $anon2 KiB its own (RssAnon); above the floor with libcurl: $((idle2 - ${lcurl:-0})) KiB"
		out rhfs_idle_etcd_kib "$idle2"
	else
		echo "rhfs with @ on etcd: ls of @ failed"
	fi
else
	echo "etcd not started: no idle figure with @ on etcd"
fi
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average at the end: $load"
out mem_load_end "$load"
finish
