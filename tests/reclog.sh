# reclog.sh - rhagent's log of ended calls' records (calls/records.log):
# records survive a stop, a kill -9 and a restart; a later line of a call
# wins and compaction keeps it alone; a torn last line and a line that
# does not read are skipped with a warning while the rest load; the
# records of an older agent (calls/ID.json) still load; no call makes a
# record file of its own. In a throwaway HOME, as tests/agent.sh.

. "$top_srcdir/tests/lib.sh"
RHAGENT=$top_builddir/rhagent
CLIENT=$top_srcdir/tests/agent_client.py
AGENT=$HOME/.rh/agent
LOG=$AGENT/calls/records.log

agent_cleanup() {
	if ! "$RHAGENT" stop >/dev/null 2>&1; then
		pid=$(cat "$AGENT/pid" 2>/dev/null)
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	fi
	cleanup
}
trap agent_cleanup EXIT

client() {
	timeout 120 "$PYTHON3" "$CLIENT" "$RHAGENT" "$@"
}

# py SCRIPT ARGS...: a Python snippet on the log (argv[1] is its path).
py() {
	script=$1
	shift
	timeout 60 "$PYTHON3" -c "$script" "$LOG" "$@"
}

# lines ID: how many lines of the log are ID's record.
lines() {
	py 'import json, sys
print(sum(1 for l in open(sys.argv[1], "rb") if json.loads(l)["call"] == sys.argv[2]))' "$1"
}

# Calls end: their records are lines of the log, and no file of their own.
a=$(client run echo one)
b=$(client run sh -c 'echo two; exit 3')
c=$(client run echo three)
if [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && [ -f "$LOG" ]; then
	pass "three calls ran, their records in calls/records.log"
else
	fail "calls: '$a' '$b' '$c'; calls/: $(ls "$AGENT/calls" 2>&1 | head)"
fi
if [ "$(lines "$a")" = 1 ] && [ "$(lines "$c")" = 1 ]; then
	pass "... one line each"
else
	fail "lines of $a: $(lines "$a"), of $c: $(lines "$c")"
fi
if [ -z "$(find "$AGENT/calls" -maxdepth 1 -name '*.json' | head -1)" ]; then
	pass "... and no calls/ID.json"
else
	fail "record files: $(find "$AGENT/calls" -name '*.json' | head -3)"
fi
check "get reads a record from the log" \
	client get "$b" 'state="failed"' 'exit=3' 'result="two\n"'

# A stop and a restart: the log loads, and get, cancel and list read it.
check "rhagent stop" "$RHAGENT" stop
check "after a restart, get reads the log" \
	client get "$a" 'state="done"' 'result="one\n"' 'exit=0'
check "... cancel of an ended call answers from it" \
	"$PYTHON3" - "$RHAGENT" "$c" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["top_srcdir"] + "/tests")
from agent_client import Conn, expect
c = Conn(sys.argv[1])
c.hello()
r = c.ok("cancel", call=sys.argv[2])
expect(r["cancelled"] is False and r["state"] == "done", "cancel: %s" % r)
ids = [x["call"] for x in c.ok("list", limit=100)["calls"]]
expect(ids[:3] == [sys.argv[2]] + ids[1:3] and len(ids) >= 3,
       "list: %s" % ids)
r = c.request("get", call="20200101-000000-000009")
expect(r.get("error") == "ENOENT", "get of no call: %s" % r)
PY

# kill -9 of the agent: what was written stays, the running call fails.
sleeper=$(client submit sleep 300)
killed=$(cat "$AGENT/pid")
kill -9 "$killed"
check "the killed agent is gone" "$PYTHON3" "$CLIENT" pid-gone "$killed"
check "after kill -9, the ended calls' records are there" \
	client get "$c" 'state="done"' 'result="three\n"'
check "... and the call that ran failed, in the log" \
	client get "$sleeper" 'state="failed"' \
	'reason="the agent died while the call ran"'
[ "$(lines "$sleeper")" = 1 ] && pass "... one line for it" ||
	fail "lines of $sleeper: $(lines "$sleeper")"

# A later line of a call wins; loading compacts the log to one line each,
# in id order.
check "rhagent stop" "$RHAGENT" stop
py 'import json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
rec = [json.loads(l) for l in lines if json.loads(l)["call"] == sys.argv[2]][0]
rec["state"] = "cancelled"
rec["reason"] = "a later line"
open(sys.argv[1], "ab").write(json.dumps(rec).encode() + b"\n")' "$a"
[ "$(lines "$a")" = 2 ] && pass "a second line for $a" ||
	fail "lines of $a: $(lines "$a")"
check "the later line is the record" \
	client get "$a" 'state="cancelled"' 'reason="a later line"'
if [ "$(lines "$a")" = 1 ] && py 'import json, sys
ids = [json.loads(l)["call"] for l in open(sys.argv[1], "rb")]
sys.exit(ids != sorted(set(ids)))'; then
	pass "... and loading compacted the log: one line each, in id order"
else
	fail "after compaction: $(cut -c1-60 "$LOG")"
fi

# A torn last line (an append cut by a death) and a line that does not
# read are skipped with a warning; the rest loads and appends go on.
check "rhagent stop" "$RHAGENT" stop
py 'import sys
data = open(sys.argv[1], "rb").read().splitlines(True)
data.insert(1, b"{not a record\n")
data.append(b"{\"call\": \"20991231-000000-000001\", \"sta")
open(sys.argv[1], "wb").write(b"".join(data))'
check "with a torn tail and a bad line, the records load" \
	client get "$c" 'state="done"' 'result="three\n"'
check "... every one" client get "$b" 'state="failed"' 'exit=3'
has "... the torn line is named in the log" "$AGENT/log" \
	"its last record is torn"
has "... and the line that does not read" "$AGENT/log" \
	"does not read"
d=$(client run echo four)
check "a call after them is recorded" \
	client get "$d" 'state="done"' 'result="four\n"'
if py 'import json, sys
for l in open(sys.argv[1], "rb"):
    json.loads(l)' && [ "$(tail -c1 "$LOG" | od -An -c | tr -d ' ')" = '\n' ]; then
	pass "... and every line of the log reads"
else
	fail "the log: $(cut -c1-60 "$LOG")"
fi

# An older agent's records: calls/ID.json (and calls/ID/stdout) load;
# new ids sort after the newest id of the log.
check "rhagent stop" "$RHAGENT" stop
old=20200101-000000-000007
mkdir "$AGENT/calls/$old"
printf 'legacy\n' >"$AGENT/calls/$old/stdout"
printf '{"call": "%s", "state": "done", "send": "~/old", "exit": 0, "queued_at": "2020-01-01T00:00:00.000007Z", "ended_at": "2020-01-01T00:00:01.000000Z", "spec": {"command": ["echo", "legacy"]}}' \
	"$old" >"$AGENT/calls/$old.json"
future=$(py 'import json, sys, time
t = time.gmtime(time.time() + 3600)
cid = time.strftime("%Y%m%d-%H%M%S", t) + "-000001"
open(sys.argv[1], "ab").write(json.dumps({"call": cid, "state": "done", "exit": 0}).encode() + b"\n")
print(cid)')
check "an older agent's calls/ID.json loads" \
	client get "$old" 'state="done"' 'result="legacy\n"' 'send="~/old"'
check "... and lists" "$PYTHON3" - "$RHAGENT" "$old" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["top_srcdir"] + "/tests")
from agent_client import Conn, expect
c = Conn(sys.argv[1])
c.hello()
r = c.ok("list", send="~/old")
expect([x["call"] for x in r["calls"]] == [sys.argv[2]], "list: %s" % r)
PY
e=$(client run echo five)
if [ -n "$e" ] && [ "$e" \> "$future" ]; then
	pass "a new id ($e) sorts after the log's newest ($future)"
else
	fail "new id '$e', the log's newest $future"
fi

check "rhagent stop" "$RHAGENT" stop
finish
