# reqs.sh - what a send needs on its node before its first call: reqs
# "./" (the workdir) and "local:PATH" synced to the node's home, only the
# files that changed (over SFTP to a real sshd on loopback, and by a local
# copy for a cluster on this machine); other reqs (packages) skipped with a
# log line; setup_cmds run once per node; a failing setup_cmd fails the
# calls with the reason; progress in the cluster's log. Also ctl down and
# up of the node's agent over SSH.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

NODE=/home/$SSH_USER
stop_agent() {
	su -s /bin/sh "$SSH_USER" -c \
		'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
		>/dev/null 2>&1
}
trap 'stop_agent; stop_sshd; cleanup' EXIT

start_sshd || finish
stop_agent
rm -rf "$NODE/.rh" "$NODE/work" "$NODE/lib" "$NODE/setup.log"

# the workdir (its rh/ is ~) and a local directory, with what is skipped
mkdir -p "$WORK/pkg" "$WORK/.git" "$WORK/__pycache__" "$T/lib/deep/er"
echo 'print("a")' >"$WORK/a.py"
echo 'b one' >"$WORK/pkg/b.txt"
echo 'git' >"$WORK/.git/HEAD"
echo 'pyc' >"$WORK/__pycache__/a.pyc"
echo 'c one' >"$T/lib/deep/er/c.txt"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/node" "$R/s" "$R/bad"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
cat >"$R/s/config.json" <<JSON
{"resource_type": "send", "hardware": "~/node",
 "command": ["sh", "-c", "cat work/pkg/b.txt lib/deep/er/c.txt"],
 "reqs": ["./", "local:$T/lib", "numpy"],
 "setup_cmds": ["echo ran >> setup.log"]}
JSON
cat >"$R/bad/config.json" <<JSON
{"resource_type": "send", "hardware": "~/node", "command": ["true"],
 "setup_cmds": ["echo about to fail; exit 3"]}
JSON

# sync: every file, the first time
check "first call on the node" sh -c "echo '[]' > '$R/s/invoke'"
check "its result" cat "$R/s/calls/latest/result"
printf 'b one\nc one\n' >"$T/want"
same "the call read the synced files" "$T/out" "$T/want"
same "./ synced" "$WORK/a.py" "$NODE/work/a.py"
same "local:PATH synced, deep" "$T/lib/deep/er/c.txt" \
	"$NODE/lib/deep/er/c.txt"
check ".git is skipped" test ! -e "$NODE/work/.git"
check "__pycache__ is skipped" test ! -e "$NODE/work/__pycache__"
n=$(cd "$WORK" && find . -type f -not -path './.git/*' \
	-not -path './__pycache__/*' | wc -l)
has "rhfs's log: all $n files of ./ the first time" "$MNT/.log" \
	"~/s: syncing ./ to ~/work: $n changed files ($n in all)"
has "rhfs's log: the directory" "$MNT/.log" \
	"syncing local:$T/lib to ~/lib: 1 changed files (1 in all)"
has "a package req is skipped with a reason" "$MNT/.log" \
	"'numpy' is a package; rhfs does not install packages"
check "a manifest on the node" test -s "$NODE/.rh/sync/work.json"
check "setup ran" cat "$NODE/setup.log"
printf 'ran\n' >"$T/want"
same "setup ran once" "$T/out" "$T/want"
check "the cluster's log" timeout 30 "$PYTHON3" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
out = b""
try:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out += b
except BlockingIOError:
    pass
sys.stdout.write(out.decode())' "$R/node/log"
has "cluster log: the sync" "$T/out" "syncing ./ to ~/work: $n changed files"
has "cluster log: the setup" "$T/out" "~/s: setup: running echo ran >> setup.log"
has "cluster log: setup done" "$T/out" "~/s: setup: done (1 commands)"

check "second call" sh -c "echo '[]' > '$R/s/invoke'"
same "setup did not run again" "$NODE/setup.log" "$T/want"

# A new connection (remount): only what changed is copied.
unmount_rhfs
sleep 1.1       # a new mtime even on coarse clocks
echo 'b two' >"$WORK/pkg/b.txt"
mv "$T/rhfs.err" "$T/rhfs.err.1"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
check "first call after remount" sh -c "echo '[]' > '$R/s/invoke'"
check "its result" cat "$R/s/calls/latest/result"
printf 'b two\nc one\n' >"$T/want2"
same "the changed file reached the node" "$T/out" "$T/want2"
has "only the changed file was copied" "$MNT/.log" \
	"~/s: syncing ./ to ~/work: 1 changed files ($n in all)"
has "an unchanged directory copies nothing" "$MNT/.log" \
	"to ~/lib: 0 changed files (1 in all)"
check "third call" sh -c "echo '[]' > '$R/s/invoke'"
same "setup ran once for all the calls" "$NODE/setup.log" "$T/want"

# A failing setup_cmd: the calls fail, with the send and the reason.
cat >"$T/bad.sh" <<SH
exec 3<>'$R/bad/invoke'
echo '[]' >&3
echo '[]' >&3
head -n 2 <&3
SH
check "a send whose setup fails: the write is accepted" timeout 30 \
	bash "$T/bad.sh"
has "its calls fail naming the send" "$T/out" '~/bad: setup_cmds'
has "with the command and its exit" "$T/out" \
	"'echo about to fail; exit 3' failed with exit 3: about to fail"
if [ "$(grep -c 'setup_cmds' "$T/out")" -eq 2 ]; then
	pass "both calls failed"
else
	fail "both calls failed ($(cat "$T/out"))"
fi

# ctl over SSH: down stops the node's agent, up starts it again.
# a live process (the agents' parent may not reap them: a zombie is gone)
alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
		! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
agent_on_node() {
	su -s /bin/sh "$SSH_USER" -c 'cat ~/.rh/agent/pid 2>/dev/null'
}
p1=$(agent_on_node)
check "ctl down on the node" bash -c "echo down > '$R/node/ctl'"
if [ -n "$p1" ] && ! alive "$p1"; then
	pass "down: the node's agent $p1 is gone"
else
	fail "down: agent '$p1' still runs"
fi
check "ctl up on the node" bash -c "echo up > '$R/node/ctl'"
p2=$(agent_on_node)
if [ "$p2" != "$p1" ] && alive "$p2"; then
	pass "up: a new agent on the node ($p2)"
else
	fail "up: '$p1' -> '$p2'"
fi
check "calls work after down and up" sh -c "echo '[]' > '$R/s/invoke'"

# A cluster on this machine: local:PATH is copied into its home ($HOME).
mkdir -p "$T/mine"
echo 'mine' >"$T/mine/m.txt"
mkdir "$R/here"
cat >"$R/here/config.json" <<JSON
{"resource_type": "send", "hardware": "^local",
 "command": ["cat", "mine/m.txt"], "reqs": ["local:$T/mine"]}
JSON
check "a send on ^local with reqs" sh -c "echo '[]' > '$R/here/invoke'"
check "its result" cat "$R/here/calls/latest/result"
has "read the copy in the local home" "$T/out" "mine"
same "local copy" "$T/mine/m.txt" "$HOME/mine/m.txt"
finish
