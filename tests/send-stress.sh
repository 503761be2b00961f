# send-stress.sh - a send under load and over time, on ^local: queued
# calls that never overlap and run in order (an append-only log of their
# starts and ends), calls that are not queued overlapping, output read
# while the call still runs, a queued call cancelled before it started,
# 16 shells writing 50 calls each to one send (every call in calls/
# exactly once, every result read back exactly once, in order), 400
# writes each closed at once after it is answered, and 200 writes one
# after another on one open.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~

mkdir "$R/q" "$R/tick" "$R/w"
# logs "start N", sleeps, logs "end N"
cat >"$R/q/config.json" <<JSON
{"resource_type": "send", "hardware": "^local",
 "command": ["sh", "-c", "echo start \$0 >>$T/qlog; sleep 0.2; echo end \$0 >>$T/qlog; echo \$0"]}
JSON
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo first; sleep 3; echo second"]}' \
	>"$R/tick/config.json"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo"]}' \
	>"$R/w/config.json"

# Queued calls run one at a time, in the order written, even when
# written from several opens; their log is start/end pairs in order.
"$PYTHON3" - "$R/q/invoke" <<'PY'
import json, os, sys
fds = [os.open(sys.argv[1], os.O_RDWR) for _ in range(2)]
for i in range(1, 7):
    os.write(fds[i % 2], (json.dumps({"args": [i], "queue": True}) +
                          "\n").encode())
for fd in fds:
    f = os.fdopen(fd, "r")
    for _ in range(3):
        f.readline()
PY
for i in 1 2 3 4 5 6; do
	printf 'start %s\nend %s\n' "$i" "$i"
done >"$T/want"
same "queued calls ran one after another, in the order written" \
	"$T/qlog" "$T/want"
check "a queued call's status names its queue" cat "$R/q/calls/latest/status"
has "the send's address" "$T/out" '"queue": "~/q"'

# Without queue they overlap: every start before the first end.
: >"$T/qlog"
"$PYTHON3" - "$R/q/invoke" <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, "".join(json.dumps([i]) + "\n" for i in range(1, 5)).encode())
f = os.fdopen(fd, "r")
for _ in range(4):
    f.readline()
PY
if [ "$(head -4 "$T/qlog" | grep -c '^start')" -eq 4 ]; then
	pass "calls not queued run at the same time"
else
	fail "calls not queued run at the same time: $(tr '\n' ' ' <"$T/qlog")"
fi

# A queued call waiting behind another, cancelled before it starts.
"$PYTHON3" - "$R/q/invoke" >"$T/cq" 2>&1 <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, (json.dumps({"args": ["a"], "queue": True}) + "\n" +
              json.dumps({"args": ["b"], "queue": True}) + "\n").encode())
calls = sorted(n for n in os.listdir(os.path.dirname(sys.argv[1]) + "/calls")
               if n != "latest")
with open(os.path.dirname(sys.argv[1]) + "/calls/%s/ctl" % calls[-1], "w") as c:
    c.write("cancel\n")
f = os.fdopen(fd, "r")
print("first=" + f.readline().rstrip("\n"))
print("second=" + f.readline().rstrip("\n"))
PY
has "the call before it ran" "$T/cq" "first=a"
has "the waiting one was cancelled" "$T/cq" '"state":"cancelled"'
check "its status" cat "$R/q/calls/latest/status"
has "cancelled before it started" "$T/out" "cancelled before it started"
has "never started" "$T/out" '"started_at": null'

# stdout read while the call runs: the first line comes before the end.
echo '[]' >"$R/tick/invoke"
id=$(readlink "$R/tick/calls/latest")
timeout 20 "$PYTHON3" - "$R/tick/calls/$id" >"$T/stream" 2>&1 <<'PY'
import json, os, sys, time
d = sys.argv[1]
t0 = time.time()
fd = os.open(d + "/stdout", os.O_RDONLY)
first = os.read(fd, 100).decode()
t1 = time.time()
state = json.load(open(d + "/status"))["state"]
rest = b""
while True:
    b = os.read(fd, 100)
    if not b:
        break
    rest += b
t2 = time.time()
print("first=%r state=%s early=%s rest=%r" % (first, state, t1 - t0 < 2.5,
                                                 rest.decode()))
PY
if grep -q -F "first='first\\n' state=running early=True rest='second\\n'" \
	"$T/stream"; then
	pass "the first line is read while the call runs, the rest after"
else
	fail "streaming: $(cat "$T/stream")"
fi

# 16 shells x 50 calls on one send: every call once in calls/, every
# result once, in order, to the shell that wrote it.
if many_writers "$R/w/invoke"; then
	pass "16 writers x 50 calls: each read its 50 results, in order"
else
	fail "16 writers x 50 calls: $(grep -v 'writer ok' "$T/writers" | head -3)"
fi
"$PYTHON3" - "$R/w/calls" >"$T/calls" 2>&1 <<'PY'
import collections, json, os, sys
d = sys.argv[1]
ids = [n for n in os.listdir(d) if n != "latest"]
seen = collections.Counter()
states = collections.Counter()
for i in ids:
    seen[tuple(json.load(open("%s/%s/spec" % (d, i)))["args"])] += 1
    states[json.load(open("%s/%s/status" % (d, i)))["state"]] += 1
want = {("w%d-%d" % (w, i),) for w in range(1, 17) for i in range(50)}
dups = [k for k, n in seen.items() if n > 1]
print("calls=%d lost=%d dup=%d extra=%d done=%d" % (
    len(ids), len(want - set(seen)), len(dups), len(set(seen) - want),
    states["done"]))
PY
has "calls/ holds each of the 800 calls exactly once" "$T/calls" \
	"calls=800 lost=0 dup=0 extra=0 done=800"

# Each open closed at once after its write is answered, 4 shells x 100
# opens: every call is in calls/ once, and rhfs lives on.
mkdir "$R/c"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo"]}' \
	>"$R/c/config.json"
"$PYTHON3" - "$R/c" >"$T/closes" 2>&1 <<'PY'
import collections, json, os, sys, threading
d = sys.argv[1]
def shell(w):
    for i in range(100):
        fd = os.open(d + "/invoke", os.O_WRONLY)
        os.write(fd, (json.dumps(["c%d-%d" % (w, i)]) + "\n").encode())
        os.close(fd)
ts = [threading.Thread(target=shell, args=(w,)) for w in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
ids = [n for n in os.listdir(d + "/calls") if n != "latest"]
seen = collections.Counter(
    tuple(json.load(open("%s/calls/%s/spec" % (d, i)))["args"]) for i in ids)
want = {("c%d-%d" % (w, i),) for w in range(4) for i in range(100)}
print("calls=%d lost=%d dup=%d" % (len(ids), len(want - set(seen)),
                                   len([k for k, n in seen.items() if n > 1])))
PY
has "400 writes each closed at once: each call in calls/ once" "$T/closes" \
	"calls=400 lost=0 dup=0"
check "rhfs is still up after them" ls "$R/c"

# One process writing call after call on one open: no write waits out
# connect_timeout (10 s) for an acceptance that came.
"$PYTHON3" - "$R/c/invoke" >"$T/overlap" 2>&1 <<'PY' &
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(200):
    os.write(fd, b'["o%d"]\n' % i)
os.close(fd)
print("200 written")
PY
writer=$!
if exits_within 9 "$writer"; then
	pass "200 writes on one open, one after another, within 9 s"
else
	fail "200 writes on one open: not done after 9 s"
	kill "$writer" 2>/dev/null
fi
wait "$writer" 2>/dev/null
finish
