#!/bin/sh
# multinode.sh - benchmark: the same Python map written to one invoke on a
# BYO cluster of one node, then of two (loopback sshds on 127.0.0.1 and
# 127.0.0.2; the second node runs `rhagent worker` joined to the head),
# both measured in this run: calls/s and the ratio two/one, for trivial
# calls and for calls that wait 20 ms each (work that is not this
# machine's CPU). Both nodes are this machine: its cores are shared, so
# trivial calls measure the dispatch's cost, waiting calls the added
# slots. Prints figures; asserts nothing. Run as root from the build tree
# after make: sh tests/bench/multinode.sh [N] [NWAIT]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-2000}
NWAIT=${2:-400}
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
# the user of tests/multinode-byo.sh (and its lock), not the shared test
# node's
SSH_USER=rhfs-multinode
NH=/home/$SSH_USER
SSHD2_PID=
stop_all() {
	for pidf in "$NH"/.rh/nodes/*/pid; do
		[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	done
	su -s /bin/sh "$SSH_USER" -c "~/.rh/bin/rhagent stop" >/dev/null 2>&1
	rm -rf "$NH/mnbench"
	[ -n "$SSHD2_PID" ] && kill "$SSHD2_PID" 2>/dev/null
	stop_sshd
	cleanup
}
trap stop_all EXIT

start_sshd || exit 1
sed -e 's/^ListenAddress .*/ListenAddress 127.0.0.2/' \
	-e "s|^PidFile .*|PidFile $SSH_DIR/sshd2.pid|" \
	"$SSH_DIR/sshd_config" >"$SSH_DIR/sshd2_config"
/usr/sbin/sshd -D -e -f "$SSH_DIR/sshd2_config" 2>>"$SSH_DIR/sshd2.log" &
SSHD2_PID=$!
su -s /bin/sh "$SSH_USER" -c "~/.rh/bin/rhagent stop" >/dev/null 2>&1
mkdir -p "$NH/mnbench"
cat >"$NH/mnbench/bfns.py" <<'PY'
import time
def f(x, pause=0.0):
    if pause:
        time.sleep(pause)
    return x
PY
chown -R "$SSH_USER" "$NH/mnbench"
mount_rhfs -o "known_hosts=$T/known_hosts"
R=$MNT/~
creds=$(printf '"ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT")
mkdir "$R/one" "$R/two" "$R/f1" "$R/f2"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], %s}' "$creds" \
	>"$R/one/config.json"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1", "127.0.0.2"], %s}' \
	"$creds" >"$R/two/config.json"
for c in 1 2; do
	h=one
	[ $c = 2 ] && h=two
	printf '{"resource_type": "send", "hardware": "~/%s", "fn_pointers": ["mnbench", "bfns", "f"]}' \
		"$h" >"$R/f$c/config.json"
done

cat >"$T/map.py" <<'PY'
import json, os, sys, time
inv, n, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def run(k):
    fd = os.open(inv, os.O_RDWR)
    f = os.fdopen(fd, "r")
    t = time.monotonic()
    os.write(fd, "".join(json.dumps([i, pause]) + "\n"
                         for i in range(k)).encode())
    got = [f.readline() for _ in range(k)]
    dt = time.monotonic() - t
    f.close()
    return dt
run(20)                 # warm: the link, the workers
dt = run(n)
print("%.1f" % (n / dt))
PY
# one node first: the head has no workers yet (the clusters share it)
one=$("$PYTHON3" "$T/map.py" "$R/f1/invoke" "$N" 0)
onew=$("$PYTHON3" "$T/map.py" "$R/f1/invoke" "$NWAIT" 0.02)
two=$("$PYTHON3" "$T/map.py" "$R/f2/invoke" "$N" 0)
twow=$("$PYTHON3" "$T/map.py" "$R/f2/invoke" "$NWAIT" 0.02)
echo "map of $N trivial Python calls, one invoke write:"
echo "  one node:  $one calls/s"
echo "  two nodes: $two calls/s"
echo "  ratio two/one: $(echo "$two $one" | awk '{printf "%.2f", $1 / $2}')"
echo "map of $NWAIT Python calls waiting 20 ms each:"
echo "  one node:  $onew calls/s"
echo "  two nodes: $twow calls/s"
echo "  ratio two/one: $(echo "$twow $onew" | awk '{printf "%.2f", $1 / $2}')"
