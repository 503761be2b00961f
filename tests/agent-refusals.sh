# agent-refusals.sh - an agent that refuses every request ({"ok": false} with
# a long message): each operation of rhfs that asks it fails with the
# refusal's error, the mount stays up, and nothing of the replies is
# kept (built with --enable-asan, LeakSanitizer reports at rhfs's exit
# what was, in rhfs's stderr: none may be; with ASAN_OPTIONS' log_path,
# as in .ci/run, the report goes to that file, which fails the pass).
# The refusing agent is a small peer of the wire protocol on ^local's
# socket, where rhfs looks for the agent first.
. "$top_srcdir/tests/lib.sh"

SOCK=$HOME/.rh/agent/sock
mkdir -p "$HOME/.rh/agent"
# hello is answered; a call id asked for without its spec exists (so
# that calls/ID can be looked up); everything else is refused
"$PYTHON3" -c '
import json, os, socket, struct, sys, threading, time
HDR = struct.Struct(">I")
MSG = "refused: " + "x" * 20000
def serve(c):
    buf = b""
    def send(obj):
        body = json.dumps(obj).encode()
        c.sendall(HDR.pack(len(body)) + body)
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while len(buf) >= 4:
            n = HDR.unpack(buf[:4])[0]
            if len(buf) < 4 + n:
                break
            m, buf = json.loads(buf[4:4 + n]), buf[4 + n:]
            r = {"id": m["id"], "op": "reply"}
            if m["op"] == "hello":
                r.update(ok=True, proto=m["proto"], agent="rhagent",
                         version="0", pid=os.getpid())
            elif m["op"] == "get" and not m.get("spec"):
                r.update(ok=True, call=m["call"], state="done")
            else:
                r.update(ok=False, error="EACCES", message=MSG)
            send(r)
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8); s.settimeout(1)
end = time.monotonic() + 300
while time.monotonic() < end:
    try:
        c = s.accept()[0]
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$SOCK" &
refuser=$!
trap 'kill "$refuser" 2>/dev/null; rm -f "$SOCK"; cleanup' EXIT
i=0
until [ -S "$SOCK" ] || [ $i -gt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done

mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/s"
printf '{"resource_type": "send", "hardware": "^local", "command": ["true"]}' \
	>"$R/s/config.json"
ID=20240501-120000-000001

# op PATH: read PATH (a directory: list it); the errno name, or "ok"
cat >"$T/op.py" <<'PY'
import errno, os, sys
try:
    if os.path.isdir(sys.argv[1]):
        os.listdir(sys.argv[1])
    else:
        with open(sys.argv[1], "rb") as f:
            f.read()
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
echo EACCES >"$T/want"
for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	timeout 30 "$PYTHON3" "$T/op.py" "$R/s/calls" >>"$T/list" 2>&1
	timeout 30 "$PYTHON3" "$T/op.py" "$R/s/calls/$ID/spec" >>"$T/spec" 2>&1
	timeout 30 "$PYTHON3" "$T/op.py" "$R/s/calls/$ID/stdout" \
		>>"$T/stdout" 2>&1
	timeout 30 cat "$MNT/^/local/status" >"$T/status" 2>&1
done
check "20 listings of calls/" sort -u "$T/list"
same "  fail with EACCES, the refusal's" "$T/out" "$T/want"
check "20 opens of a call's spec" sort -u "$T/spec"
same "  fail with EACCES" "$T/out" "$T/want"
check "20 reads of a call's stdout" sort -u "$T/stdout"
same "  fail with EACCES" "$T/out" "$T/want"
has "the cluster's status: unreachable, the refusal" "$T/status" \
	'"state": "unreachable"'
check "the mount still answers" ls "$R/s"
unmount_rhfs
lacks "rhfs kept nothing of the refused replies (LeakSanitizer)" \
	"$T/rhfs.err" "LeakSanitizer"
finish
