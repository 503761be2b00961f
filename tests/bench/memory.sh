#!/bin/sh
# memory.sh - benchmark: rhfs's resident memory (VmRSS) idle after mount,
# then after N (100,000) Python calls through one send's invoke on ^local
# (in maps of 10,000 lines, each on a new open of invoke), then after as
# many again, against the targets: idle <= 10 MiB, no growth over 100,000
# calls. The agent's memory is shown too. Prints figures; asserts
# nothing. Run as root from the build tree after make:
# sh tests/bench/memory.sh [N]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-100000}
. "$top_srcdir/tests/lib.sh"

rss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

mount_rhfs
S=$MNT/~
mkdir -p "$HOME/bench"
printf 'def echo(x):\n    return x\n' >"$HOME/bench/benchfns.py"
mkdir "$S/echo"
printf '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["bench", "benchfns", "echo"]}' \
	>"$S/echo/config.json"
ls -l "$S" >/dev/null
echo "rhfs idle after mount: $(rss "$RHFS_PID") KiB (target <= 10240 KiB)"

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

calls 1000
base=$(rss "$RHFS_PID")
echo "rhfs after 1,000 calls: $base KiB"
calls "$N"
one=$(rss "$RHFS_PID")
echo "rhfs after $N more calls: $one KiB"
calls "$N"
two=$(rss "$RHFS_PID")
echo "rhfs after $N more again: $two KiB"
echo "growth over the last $N calls: $((two - one)) KiB (target: none)"
apid=$(cat "$HOME/.rh/agent/pid" 2>/dev/null)
[ -n "$apid" ] && echo "rhagent now: $(rss "$apid") KiB"
finish
