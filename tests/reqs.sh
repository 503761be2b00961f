# reqs.sh - what a send needs on its node before its first call: reqs
# "./" (the workdir) and "local:PATH" synced to the node's home, only the
# files that changed (over SFTP to a real sshd on loopback, and by a local
# copy for a cluster on this machine); files deleted from the source
# removed from the node, and only what a sync put there; setup_cmds run once per node; a
# failing setup_cmd fails the calls with the reason; progress in the
# cluster's log; a writer waiting for a long setup ends on Ctrl-C (EINTR)
# while the setup goes on, and never holds up unmount. Also ctl down and
# up of the node's agent over SSH.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

node_up
rm -rf "$NODE/.rh" "$NODE/work" "$NODE/lib" "$NODE/setup.log" \
	"$NODE/outside" "$NODE/slow.log"

# the workdir (its rh/ is ~) and a local directory, with what is skipped
mkdir -p "$WORK/pkg" "$WORK/.git" "$WORK/__pycache__" "$T/lib/deep/er"
echo 'print("a")' >"$WORK/a.py"
echo 'b one' >"$WORK/pkg/b.txt"
echo 'git' >"$WORK/.git/HEAD"
echo 'pyc' >"$WORK/__pycache__/a.pyc"
echo 'c one' >"$T/lib/deep/er/c.txt"
# to be deleted locally later
mkdir -p "$WORK/gone/sub" "$WORK/both" "$WORK/ln"
echo 'old' >"$WORK/old.txt"
echo 'g' >"$WORK/gone/sub/g.txt"
echo 'b2' >"$WORK/both/b2.txt"
echo 'l' >"$WORK/ln/l.txt"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/node" "$R/s" "$R/bad"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
cat >"$R/s/config.json" <<JSON
{"resource_type": "send", "hardware": "~/node",
 "command": ["sh", "-c", "cat work/pkg/b.txt lib/deep/er/c.txt"],
 "reqs": ["./", "local:$T/lib"],
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
check "a manifest on the node" test -s "$NODE/.rh/sync/work.json"
check "setup ran" cat "$NODE/setup.log"
printf 'ran\n' >"$T/want"
same "setup ran once" "$T/out" "$T/want"
# everything the cluster's log has now, without waiting for more
read_log() {
	timeout 30 "$PYTHON3" -c '
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
sys.stdout.write(out.decode())' "$1"
}
check "the cluster's log" read_log "$R/node/log"
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

# Deleted locally: what a sync put on the node goes with the next sync;
# what else is there stays (files put there by hand, a directory that
# still holds one, anything behind a symlink put in a synced directory).
check "synced before the deletion" test -f "$NODE/work/gone/sub/g.txt"
echo 'mine' >"$NODE/work/mine.txt"
echo 'hand' >"$NODE/work/both/hand.txt"
mv "$NODE/work/ln" "$NODE/outside"
ln -s "$NODE/outside" "$NODE/work/ln"
chown -h "$SSH_USER" "$NODE/work/mine.txt" "$NODE/work/both/hand.txt" \
	"$NODE/outside" "$NODE/work/ln"
unmount_rhfs
rm -r "$WORK/old.txt" "$WORK/gone" "$WORK/both" "$WORK/ln"
mv "$T/rhfs.err" "$T/rhfs.err.2"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
check "first call after deleting files" sh -c "echo '[]' > '$R/s/invoke'"
check "its result" cat "$R/s/calls/latest/result"
same "the call still reads the synced files" "$T/out" "$T/want2"
check "a deleted file is removed from the node" test ! -e "$NODE/work/old.txt"
check "a deleted directory is removed, with what it held" \
	test ! -e "$NODE/work/gone"
check "a deleted file in a directory holding another is removed" \
	test ! -e "$NODE/work/both/b2.txt"
check "a file put on the node by hand stays" cat "$NODE/work/mine.txt"
printf 'mine\n' >"$T/want3"
same "  untouched" "$T/out" "$T/want3"
check "a file put by hand in a synced directory stays" \
	test -f "$NODE/work/both/hand.txt"
check "  and so does its directory" test -d "$NODE/work/both"
check "nothing is removed behind a symlink" test -f "$NODE/outside/l.txt"
check "  and the symlink stays" test -L "$NODE/work/ln"
check "the rest is still there" test -f "$NODE/work/pkg/b.txt"
n=$(cd "$WORK" && find . -type f -not -path './.git/*' \
	-not -path './__pycache__/*' | wc -l)
# old.txt, gone/sub/g.txt, both/b2.txt, gone/sub, gone
has "rhfs's log: the removals" "$MNT/.log" \
	"~/s: syncing ./ to ~/work: 0 changed files ($n in all), 5 removed"
has "rhfs's log: each removal" "$MNT/.log" "removed work/gone/sub/g.txt"
has "rhfs's log: why a directory stays" "$MNT/.log" "work/both stays"
check "the cluster's log after the removals" read_log "$R/node/log"
has "cluster log: the removals" "$T/out" \
	"~/s: syncing ./ to ~/work: 0 changed files ($n in all), 5 removed"
check "the manifest" cat "$NODE/.rh/sync/work.json"
lacks "the manifest forgets a removed file" "$T/out" '"old.txt"'
lacks "the manifest forgets a removed directory" "$T/out" '"gone'
has "the manifest keeps a directory still in use" "$T/out" '"pkg"'
check "a call after the removals" sh -c "echo '[]' > '$R/s/invoke'"
check "the hand-made file is still there" cat "$NODE/work/mine.txt"
same "  unchanged" "$T/out" "$T/want3"

# A long setup: a writer's Ctrl-C ends its own wait with EINTR, promptly,
# and the setup goes on for the other writers; a later write works.
# (Writers of one file take turns in the kernel: the next one starts
# once the first is interrupted.)
mkdir "$R/slow"
cat >"$R/slow/config.json" <<JSON
{"resource_type": "send", "hardware": "~/node", "command": ["echo", "ok"],
 "setup_cmds": ["sleep 20", "echo slow >> slow.log"]}
JSON
cat >"$T/intr.py" <<'PY'
import ctypes, errno, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGINT, lambda *a: None)
fd = os.open(sys.argv[1], os.O_WRONLY)
t0 = time.monotonic()
n = libc.write(fd, b"[]\n", 3)
e = ctypes.get_errno()
print("write=%d errno=%s after %.1f s" %
      (n, errno.errorcode.get(e, e) if n < 0 else "-",
       time.monotonic() - t0))
PY
"$PYTHON3" "$T/intr.py" "$R/slow/invoke" >"$T/intr" 2>&1 &
wpid=$!
sleep 2
kill -INT "$wpid"
timeout 120 sh -c "echo '[]' > '$R/slow/invoke'" >"$T/other" 2>&1 &
opid=$!
i=0
while kill -0 "$wpid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$wpid" 2>/dev/null; then
	fail "Ctrl-C: the writer still waits 10 s after it"
	kill -9 "$wpid"
else
	pass "Ctrl-C: the writer returned within $((i / 10)) s"
fi
wait "$wpid"
has "Ctrl-C: the write failed with EINTR" "$T/intr" "write=-1 errno=EINTR"
secs=$(sed -n 's/.* after \([0-9]*\)\..*/\1/p' "$T/intr")
if [ -n "$secs" ] && [ "$secs" -lt 12 ]; then
	pass "Ctrl-C: well before the setup's end ($secs s)"
else
	fail "Ctrl-C: the write took '$secs' s ($(cat "$T/intr"))"
fi
check "Ctrl-C: no call was submitted" test -z "$(ls -A "$R/slow/calls")"
if wait "$opid"; then
	pass "another writer's wait went on to the end of the setup"
else
	fail "another writer: $(cat "$T/other")"
fi
printf 'slow\n' >"$T/want4"
same "the setup completed once" "$NODE/slow.log" "$T/want4"
if [ "$(grep -c '~/slow: setup: running sleep 20' "$MNT/.log")" -eq 1 ]; then
	pass "the interrupted setup went on (started once)"
else
	fail "the setup started $(grep -c '~/slow: setup: running sleep 20' \
		"$MNT/.log") times"
fi
check "a later write works" timeout 30 sh -c "echo '[]' > '$R/slow/invoke'"
check "  its result" cat "$R/slow/calls/latest/result"
has "  is the command's" "$T/out" "ok"
same "the setup did not run again" "$NODE/slow.log" "$T/want4"

# A writer waiting for a setup never holds up unmount: after its Ctrl-C,
# and when rhfs is stopped while it waits. The setup (30 s) would; the
# node's connection, a call in flight on it, closes at once too.
mkdir "$R/slow2"
cat >"$R/slow2/config.json" <<JSON
{"resource_type": "send", "hardware": "~/node", "command": ["true"],
 "setup_cmds": ["sleep 30"]}
JSON
"$PYTHON3" "$T/intr.py" "$R/slow2/invoke" >"$T/intr" 2>&1 &
wpid=$!
sleep 2
kill -INT "$wpid"
wait "$wpid"
has "Ctrl-C on a writer of slow2" "$T/intr" "write=-1 errno=EINTR"
start=$(date +%s)
check "unmount while its setup runs" fusermount3 -u "$MNT"
if ! exits_within 15 "$RHFS_PID"; then
	fail "rhfs still runs 15 s after unmount, its setup running"
else
	pass "rhfs left in $(( $(date +%s) - start )) s, its setup running"
fi
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.3"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
"$PYTHON3" "$T/intr.py" "$R/slow2/invoke" >"$T/intr" 2>&1 &
wpid=$!
sleep 2
start=$(date +%s)
kill -TERM "$RHFS_PID"
i=0
while kill -0 "$RHFS_PID" 2>/dev/null && [ $i -lt 150 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$RHFS_PID" 2>/dev/null; then
	fail "rhfs still runs 15 s after SIGTERM, a writer waiting"
else
	pass "rhfs stopped in $(( $(date +%s) - start )) s, a writer waiting"
fi
i=0
while kill -0 "$wpid" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$wpid" 2>/dev/null; then
	fail "the waiting writer still waits after rhfs stopped"
	kill -9 "$wpid"
else
	pass "the waiting writer's write ended"
fi
wait "$wpid"
has "  with an error" "$T/intr" "write=-1"
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.4"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"

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
echo 'm2' >"$T/mine/m2.txt"
mkdir "$R/here"
cat >"$R/here/config.json" <<JSON
{"resource_type": "send", "hardware": "^local",
 "command": ["cat", "mine/m.txt"], "reqs": ["local:$T/mine"]}
JSON
check "a send on ^local with reqs" sh -c "echo '[]' > '$R/here/invoke'"
check "its result" cat "$R/here/calls/latest/result"
has "read the copy in the local home" "$T/out" "mine"
same "local copy" "$T/mine/m.txt" "$HOME/mine/m.txt"
same "local copy, another file" "$T/mine/m2.txt" "$HOME/mine/m2.txt"
# deleted from the source: gone from the copy too, what else is there not
echo 'hand' >"$HOME/mine/hand.txt"
unmount_rhfs
rm "$T/mine/m2.txt"
mv "$T/rhfs.err" "$T/rhfs.err.5"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
check "^local: a call after a deletion" sh -c "echo '[]' > '$R/here/invoke'"
check "^local: the deleted file is removed from the copy" \
	test ! -e "$HOME/mine/m2.txt"
check "^local: a file put there by hand stays" test -f "$HOME/mine/hand.txt"
same "^local: the rest stays" "$T/mine/m.txt" "$HOME/mine/m.txt"
has "^local: the removal in rhfs's log" "$MNT/.log" \
	"to ~/mine: 0 changed files (1 in all), 1 removed"
finish
