# silent-node.sh - a node that accepts TCP and never says a word: every
# operation that needs it fails with ETIMEDOUT within about
# connect_timeout (never EIO, never a hang), and its status says
# "unreachable" with the reason.
. "$top_srcdir/tests/lib.sh"

start_silent_peer
port=$SILENT_PORT
trap 'kill "$SILENT_PID" 2>/dev/null; cleanup' EXIT
ssh-keygen -q -t ed25519 -N '' -f "$T/key"

mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=2"
R=$MNT/~
mkdir "$R/node" "$R/s"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "nobody", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$T/key" "$port" >"$R/node/config.json"
printf '{"resource_type": "send", "hardware": "~/node", "command": ["true"]}' \
	>"$R/s/config.json"

# op PATH write DATA | op PATH read: the errno name, or "ok"
cat >"$T/op.py" <<'PY'
import errno, os, sys
try:
    if sys.argv[2] == "write":
        fd = os.open(sys.argv[1], os.O_WRONLY)
        os.write(fd, sys.argv[3].encode())
    else:
        fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
        os.read(fd, 4096)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
op() {
	timeout 60 "$PYTHON3" "$T/op.py" "$@"
}

check "status: the read" timeout 60 cat "$R/node/status"
has "  says unreachable" "$T/out" '"state": "unreachable"'
has "  with the reason" "$T/out" "SSH handshake: timed out after 2000 ms"
for what in "s/invoke write []\n" "node/run write true" \
	"node/ctl write up" "node/log read"; do
	set -- $what
	check "$1: the $2" op "$R/$1" "$2" "$(printf "${3:-}")"
	echo ETIMEDOUT >"$T/want"
	same "  fails with ETIMEDOUT" "$T/out" "$T/want"
done
has "the reason in .log" "$MNT/.log" "SSH handshake: timed out after 2000 ms"
check "the mount still answers" ls "$R"
finish
