# agent.sh - rhagent as rhfs uses it: `rhagent bridge` on stdin/stdout,
# starting the agent when needed, in a throwaway HOME. The protocol checks
# are driven by tests/agent_client.py; this file reads like the session of
# a person managing the agent. The agent started here is always stopped.

. "$top_srcdir/tests/lib.sh"
RHAGENT=$top_builddir/rhagent
CLIENT=$top_srcdir/tests/agent_client.py
AGENT=$HOME/.rh/agent
sleep_pid=

# Whatever happens, no agent and no call of ours outlives the test.
agent_cleanup() {
	if ! "$RHAGENT" stop >/dev/null 2>&1; then
		pid=$(cat "$AGENT/pid" 2>/dev/null)
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	fi
	# the sleep of a killed agent, if its recovery failed
	if [ -n "$sleep_pid" ] &&
	   [ "$(tr '\0' ' ' 2>/dev/null <"/proc/$sleep_pid/cmdline")" = \
	     "sleep 300 " ]; then
		kill -9 "$sleep_pid"
	fi
	cleanup
}
trap agent_cleanup EXIT

# client CHECK ARGS...: one check of agent_client.py.
client() {
	timeout 120 "$PYTHON3" "$CLIENT" "$RHAGENT" "$@"
}

# jvalue FILE KEY: the value of KEY in the JSON object in FILE.
jvalue() {
	"$PYTHON3" -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null
}

agent_pid() {
	cat "$AGENT/pid" 2>/dev/null
}

alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# --version names the build and the protocol.
version=$(sed -n 's/^AC_INIT(\[rhfs\], \[\([^]]*\)\].*/\1/p' \
	"$top_srcdir/configure.ac")
check "--version" "$RHAGENT" --version
if [ "$(sed -n 1p "$T/out")" = "rhagent $version" ] &&
   [ "$(sed -n 2p "$T/out")" = "protocol 1" ]; then
	pass "--version says 'rhagent $version' and 'protocol 1'"
else
	fail "--version printed: $(cat "$T/out")"
fi

# The first bridge starts the agent; the protocol checks follow.
check "hello, version negotiation, refusals" client hello "$version"
if [ -d "$AGENT" ] && [ "$(stat -c %a "$AGENT")" = 700 ] &&
   [ -S "$AGENT/sock" ] && [ -f "$AGENT/log" ] && alive "$(agent_pid)"; then
	pass "the bridge started a detached agent owning ~/.rh/agent (0700)"
else
	fail "no agent in ~/.rh/agent: $(ls -la "$AGENT" 2>&1)"
fi
first=$(agent_pid)
check "command call: args, kwargs, env, cwd, binary output" client echo
check "failing calls, captured stderr, refused requests" client fail
check "output over 1 MiB: read back in pieces" client big
check "list a send's calls, newest first, in pages" client list
check "200 calls at once, each answered exactly once" client map 200
check "8 calls that can only end together" client parallel 8
check "status" client status
check "cancel a running sleep 30 and a queued call" client cancel
check "bad frames close only their own connection" client badframes
check "after its requests end, a client still gets every reply" \
	client halfclose
check "output follows a running call: held until it grows or ends" \
	client follow
for why in "frame is not valid JSON" "exceeds the maximum" "has no 'id'" \
	"is not a JSON object" "truncated frame"; do
	has "the log gives the reason: $why" "$AGENT/log" "$why"
done
if [ "$(agent_pid)" = "$first" ] && alive "$first"; then
	pass "one agent served every connection and is still up"
else
	fail "the agent changed or died (was $first, now $(agent_pid))"
fi

# One agent per user.
if timeout 30 "$RHAGENT" serve >"$T/out" 2>"$T/err"; then
	fail "a second 'rhagent serve' started"
else
	has "a second 'rhagent serve' refuses to start" "$T/err" \
		"already running (pid $first)"
fi

# A finished call's record survives a stop and a restart.
if id=$(client run echo persisted) && [ -n "$id" ]; then
	pass "a call ran: $id"
else
	fail "a call to keep across a restart"
fi
# ... and so do the output of a call that printed nothing and of one
# that wrote both streams.
quiet=$(client run true)
loud=$(client run sh -c 'echo out; echo err >&2')
if [ -n "$quiet" ] && [ -n "$loud" ]; then
	pass "a call with no output and one with output ran"
else
	fail "calls with and without output: '$quiet' '$loud'"
fi
check "rhagent stop" "$RHAGENT" stop
check "the agent is gone" "$PYTHON3" "$CLIENT" pid-gone "$first"
if ! [ -e "$AGENT/sock" ]; then
	pass "... with its socket"
else
	fail "after stop the socket is left"
fi
check "rhagent stop again is fine" "$RHAGENT" stop
has "... and says so, naming the HOME it looked in" "$T/errout" \
	"not running for HOME=$HOME"
check "after a restart, the call is still done with its result" \
	client get --wait "$id" 'state="done"' 'result="persisted\n"' 'exit=0'
check "after a restart, a call's empty stdout reads back" \
	client output "$quiet" stdout ""
check "... and its empty stderr" client output "$quiet" stderr ""
check "... and another's stdout" client output "$loud" stdout 'out\n'
check "... and its stderr" client output "$loud" stderr 'err\n'
check "... and its result is its stdout" \
	client get --wait "$loud" 'state="done"' 'result="out\n"'
if alive "$(agent_pid)" && [ "$(agent_pid)" != "$first" ]; then
	pass "the bridge restarted the agent"
else
	fail "no new agent after stop"
fi
# stop reaches the agent of its own HOME, and names those of other homes
mkdir -p "$T/other"
HOME=$T/other "$RHAGENT" stop 2>"$T/errout"
has "stop with another HOME names the HOME it looked in" "$T/errout" \
	"not running for HOME=$T/other"
has "... and the running agent of this HOME" "$T/errout" \
	"HOME=$HOME (pid $(agent_pid))"
check "... which it left running" alive "$(agent_pid)"

# An agent killed mid-call: the call fails with the reason and its
# process goes; a call that was still waiting runs when the agent is back.
# (long enough that it cannot end by itself while the test waits)
sleeper=$(client submit --queue=q sleep 300)
waiter=$(client submit --queue=q echo after)
if [ -n "$sleeper" ] && [ -n "$waiter" ] &&
   client get "$sleeper" 'state="running"' >"$T/rec" 2>"$T/err"; then
	pass "a sleep runs and a call waits behind it"
else
	fail "sleep and waiter: $sleeper $waiter $(cat "$T/err")"
fi
sleep_pid=$(jvalue "$T/rec" pid)
killed=$(agent_pid)
kill -9 "$killed"
check "the killed agent is gone" "$PYTHON3" "$CLIENT" pid-gone "$killed"
check "the killed agent's running call failed with the reason" \
	client get "$sleeper" 'state="failed"' \
	'reason="the agent died while the call ran"'
check "... and its process was killed" "$PYTHON3" "$CLIENT" pid-gone \
	"${sleep_pid:-1}"
check "the waiting call ran after the restart" \
	client get --wait "$waiter" 'state="done"' 'result="after\n"'

# Calls not ended are kept in a journal, emptied once none is active.
i=0
while [ -s "$AGENT/journal" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
if [ -f "$AGENT/journal" ] && ! [ -s "$AGENT/journal" ]; then
	pass "with no call active, the journal is empty"
else
	fail "idle, the journal holds: $(head -c 300 "$AGENT/journal" 2>&1)"
fi

# A call that an agent from before the journal left queued (marked by
# active/ID) runs after the restart.
check "rhagent stop" "$RHAGENT" stop
old=20200101-000000-000001
mkdir "$AGENT/calls/$old"
printf '{"command": ["echo", "legacy"]}' >"$AGENT/calls/$old/spec.json"
printf '{"call": "%s", "state": "queued"}' "$old" \
	>"$AGENT/calls/$old/status.json"
: >"$AGENT/active/$old"
check "a call queued by an older agent runs after the restart" \
	client get --wait "$old" 'state="done"' 'result="legacy\n"'
if ! [ -e "$AGENT/active/$old" ]; then
	pass "... and its active/ mark is gone"
else
	fail "active/$old is left"
fi

check "rhagent stop" "$RHAGENT" stop
finish
