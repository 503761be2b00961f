# notebook.sh - rh notebook on a node reached over SSH (a real sshd on
# loopback) and on ^local. JupyterLab cannot be installed here (no
# package index), so the tests put a stand-in `jupyter` of their own,
# tests/jupyter-standin.py, in the node user's ~/.local/bin: a small
# Python HTTP server that prints a URL with a token as jupyter does. The
# checks: it is started as the node's user, the URL printed has the token
# and the local port, an HTTP GET through that port reaches it over the
# tunnel (it listens on another port on the node), Ctrl-C and SIGTERM
# stop it and rh killed outright stops it too; no jupyter gives an error
# naming the fix; --env runs it in an env's virtualenv on the node.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
RH=$top_builddir/rh

stop_all() {
	[ -n "${NB_PID:-}" ] && kill -9 "$NB_PID" 2>/dev/null
	# a stand-in left running (and only it: its pid may be another's now)
	for f in "/home/$SSH_USER/jupyter-standin.pid" \
	    "$HOME/jupyter-standin.pid"; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		grep -q jupyter "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p"
	done
	rm -rf "/home/$SSH_USER/.local/bin/jupyter" \
		"/home/$SSH_USER/jupyter-standin.pid" \
		"/home/$SSH_USER/jupyter-standin.prefix" \
		"/home/$SSH_USER"/.rh/envs/env-nbenv-*
	stop_node_agent
	stop_sshd
}
node_up
trap 'stop_all; cleanup' EXIT
KH=$T/kh-rh
mkdir -p "$WORK/rh/node" "$HOME/.local/bin"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$WORK/rh/node/config.json"
cd "$WORK" || finish

standin() {
	mkdir -p "$1/.local/bin"
	cp "$top_srcdir/tests/jupyter-standin.py" "$1/.local/bin/jupyter"
	chmod 755 "$1/.local/bin/jupyter"
	rm -f "$1/jupyter-standin.pid"
}
# get URL: the body of an HTTP GET, or "HTTP <code>"
get() {
	"$PYTHON3" -c 'import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode(), end="")
except urllib.error.HTTPError as e:
    print("HTTP %d" % e.code)' "$1"
}
# start_nb NAME ARGS...: rh notebook in the background; its URL (stdout)
# in $T/NAME.url, its messages in $T/NAME.err
start_nb() {
	name=$1
	shift
	"$RH" notebook "$@" >"$T/$name.url" 2>"$T/$name.err" &
	NB_PID=$!
	wait_for 30 grep -q token= "$T/$name.url"
}

# --- over SSH ---
standin "/home/$SSH_USER"
chown -R "$SSH_USER" "/home/$SSH_USER/.local"
LPORT=$(free_port)
if start_nb ssh --known-hosts "$KH" --port "$LPORT" '~/node'; then
	pass "ssh: rh notebook printed a URL"
else
	fail "ssh: rh notebook printed a URL ($(cat "$T/ssh.url" "$T/ssh.err"))"
fi
PIDF=/home/$SSH_USER/jupyter-standin.pid
check "ssh: jupyter was started on the node" test -s "$PIDF"
JPID=$(cat "$PIDF" 2>/dev/null)
check "ssh: as the node's user" sh -c "ps -o user= -p '$JPID' | grep -qx '$SSH_USER'"
URL=$(head -n 1 "$T/ssh.url")
has "ssh: the URL is the local port's" "$T/ssh.url" "http://127.0.0.1:$LPORT/lab?token="
has "ssh: the tunnel is reported" "$T/ssh.err" "tunnelled to 127.0.0.1:$LPORT"
lacks "ssh: jupyter listens on another port there (this one is rh's)" \
	"$T/ssh.err" "(port $LPORT there)"
check "ssh: a GET through the tunnel" get "$URL"
has "ssh: reaches jupyter, which takes the token" "$T/out" "stand-in jupyter: token ok"
# many connections at once, and answers larger than any buffer on the way
"$PYTHON3" - "$URL" >"$T/many" 2>&1 <<'PY'
import sys, threading, urllib.request
url, bad = sys.argv[1], []
def one(i):
    size = 3 * 1024 * 1024 + i
    try:
        got = urllib.request.urlopen("%s&size=%d" % (url, size), timeout=60).read()
        if got != bytes(j % 251 for j in range(size)):
            bad.append("%d: %d bytes, not the ones sent" % (i, len(got)))
    except Exception as e:
        bad.append("%d: %s" % (i, e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print("8 GETs of 3 MiB at once: " + ("all whole" if not bad else "; ".join(bad)))
PY
has "ssh: 8 GETs of 3 MiB at once through the tunnel, each whole" "$T/many" \
	"8 GETs of 3 MiB at once: all whole"
check "ssh: a GET without the token" get "http://127.0.0.1:$LPORT/lab"
has "ssh: is jupyter's to refuse" "$T/out" "HTTP 403"
kill -INT "$NB_PID"
if exits_within 20 "$NB_PID"; then
	pass "ssh: Ctrl-C ends rh notebook"
else
	fail "ssh: Ctrl-C ends rh notebook"
fi
wait "$NB_PID"
st=$?
NB_PID=
[ "$st" -eq 0 ] && pass "ssh: with status 0" || fail "ssh: with status 0 (got $st)"
if exits_within 20 "$JPID"; then
	pass "ssh: and stops jupyter on the node"
else
	fail "ssh: and stops jupyter on the node (pid $JPID still runs)"
fi
has "ssh: says so" "$T/ssh.err" "stopped"

# rh killed outright: the session ends, and so does jupyter on the node
rm -f "$PIDF"
start_nb kill9 --known-hosts "$KH" --port "$LPORT" '~/node'
JPID=$(cat "$PIDF" 2>/dev/null)
check "ssh: started again" test -n "$JPID"
kill -9 "$NB_PID"
wait "$NB_PID" 2>/dev/null
NB_PID=
if exits_within 20 "$JPID"; then
	pass "ssh: rh killed with SIGKILL: jupyter on the node stops too"
else
	fail "ssh: rh killed with SIGKILL: jupyter on the node stops too"
fi

rm -f "/home/$SSH_USER/.local/bin/jupyter"
refuse "ssh: no jupyter on the node" "jupyter is not installed on the node" \
	timeout 60 "$RH" notebook --known-hosts "$KH" --port "$LPORT" '~/node'
has "ssh: names the fix" "$T/errout" "pip install --user jupyterlab"

# --env: jupyter from the env's virtualenv, which a send using the env
# made on the node (through a mount)
mount_rhfs -o "known_hosts=$KH,connect_timeout=5"
mkdir "$MNT/~/nbenv" "$MNT/~/nbenv2" "$MNT/~/usenb"
echo '{"resource_type": "env", "setup_cmds": ["true"]}' >"$MNT/~/nbenv/config.json"
echo '{"resource_type": "env", "setup_cmds": ["true"]}' >"$MNT/~/nbenv2/config.json"
echo '{"resource_type": "send", "hardware": "~/node", "env": "~/nbenv", "command": ["true"]}' \
	>"$MNT/~/usenb/config.json"
check "--env: a send in the env makes its virtualenv on the node" \
	sh -c "echo '[]' > '$MNT/~/usenb/invoke' && cat '$MNT/~/usenb/calls/latest/result'"
VENV=$(ls -d "/home/$SSH_USER"/.rh/envs/env-nbenv-* 2>/dev/null | head -n 1)
check "--env: the virtualenv is there" test -x "$VENV/bin/python"
cp "$top_srcdir/tests/jupyter-standin.py" "$VENV/bin/jupyter"
chown "$SSH_USER" "$VENV/bin/jupyter"
chmod 755 "$VENV/bin/jupyter"
rm -f "$PIDF"
if start_nb env --known-hosts "$KH" --port "$LPORT" --env '~/nbenv' '~/node'; then
	pass "--env: rh notebook printed a URL"
else
	fail "--env: rh notebook printed a URL ($(cat "$T/env.url" "$T/env.err"))"
fi
JPID=$(cat "$PIDF" 2>/dev/null)
check "--env: jupyter runs in the env's virtualenv" \
	grep -qx "$VENV" "/home/$SSH_USER/jupyter-standin.prefix"
check "--env: a GET through the tunnel" get "$(head -n 1 "$T/env.url")"
has "--env: reaches it" "$T/out" "stand-in jupyter: token ok"
kill -INT "$NB_PID"
exits_within 20 "$NB_PID"
NB_PID=
if exits_within 20 "$JPID"; then
	pass "--env: Ctrl-C stops it"
else
	fail "--env: Ctrl-C stops it"
fi
refuse "--env: an env the node does not have yet" \
	"the env's virtualenv is not on the node (rhfs-test@127.0.0.1:$SSH_PORT) yet" \
	timeout 60 "$RH" notebook --known-hosts "$KH" --port "$LPORT" \
	--env '~/nbenv2' '~/node'
has "--env: says how it is made" "$T/errout" "call a send that uses the env"
refuse "--env: what is not an env" "--env ~/node: ~/node is not an env" \
	"$RH" notebook --env '~/node' '~/node'
refuse "--env: no such env" "--env ~/nothing: ~/nothing: no such resource" \
	"$RH" notebook --env '~/nothing' '~/node'
unmount_rhfs
refuse "--port must be a port" "--port '0': a port" \
	"$RH" notebook --port 0 '~/node'
start_silent_peer
refuse "a local port in use fails at once, naming it" \
	"127.0.0.1:$SILENT_PORT: Address already in use" \
	timeout 30 "$RH" notebook --known-hosts "$KH" --port "$SILENT_PORT" '~/node'
kill "$SILENT_PID" 2>/dev/null

# --- ^local: run here, no tunnel ---
standin "$HOME"
LPORT=$(free_port)
if start_nb local --port "$LPORT" '^local'; then
	pass "^local: rh notebook printed a URL"
else
	fail "^local: rh notebook printed a URL ($(cat "$T/local.url" "$T/local.err"))"
fi
JPID=$(cat "$HOME/jupyter-standin.pid" 2>/dev/null)
check "^local: jupyter was started here" test -n "$JPID"
has "^local: on the port asked" "$T/local.url" "http://127.0.0.1:$LPORT/lab?token="
lacks "^local: no tunnel" "$T/local.err" "tunnelled"
check "^local: a GET" get "$(head -n 1 "$T/local.url")"
has "^local: reaches jupyter" "$T/out" "stand-in jupyter: token ok"
kill -TERM "$NB_PID"
if exits_within 20 "$NB_PID"; then
	pass "^local: SIGTERM ends rh notebook"
else
	fail "^local: SIGTERM ends rh notebook"
fi
NB_PID=
if exits_within 20 "$JPID"; then
	pass "^local: and stops jupyter"
else
	fail "^local: and stops jupyter (pid $JPID still runs)"
fi
rm -f "$HOME/.local/bin/jupyter"
refuse "^local: no jupyter here" "jupyter is not installed on this machine" \
	env PATH=/usr/bin:/bin timeout 60 "$RH" notebook --port "$LPORT" '^local'
finish
