# sftp.sh - the cluster data store (src/data/sftp.c) against the loopback
# sshd, driven through rh_data_ops by tests/data-client. The node's own
# tools (ls, stat, sha256sum as the test user) are the independent
# reader and writer that check what the store did.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
DC=$top_builddir/tests/data-client

DC_PID=
WEAK_PID=
sftp_cleanup() {
	[ -n "$DC_PID" ] && kill "$DC_PID" 2>/dev/null
	[ -n "$WEAK_PID" ] && kill "$WEAK_PID" 2>/dev/null
	for p in $(sshd_tree); do
		kill -CONT "$p" 2>/dev/null
	done
	stop_sshd
	cleanup
}
trap sftp_cleanup EXIT

start_sshd || finish
NODE=/home/$SSH_USER
# node CMD: a shell command run on the node as its user
node() {
	su -s /bin/sh "$SSH_USER" -c "cd && $1"
}
node 'rm -rf store lstore && mkdir store'

CLUSTER='{"resource_type": "cluster", "name": "box", "ips": ["127.0.0.1"],
 "ssh_creds": {"ssh_user": "'$SSH_USER'", "ssh_private_key": "'$SSH_KEY'",
 "ssh_port": '$SSH_PORT'}}'
echo "$CLUSTER" >"$T/box.json"
CFG='{"resource_type": "folder", "system": "~/box", "path": "store"}'
DCO="-t 10 -k $KNOWN_HOSTS -c $T/box.json"
dc() {
	# shellcheck disable=SC2086
	"$DC" $DCO "$CFG" "$@" >"$T/dc.out" 2>"$T/dc.err"
}
# dc_is DESCRIPTION WORDS OP ARGS...: the answer's first line begins
# with WORDS
dc_is() {
	desc=$1
	want=$2
	shift 2
	dc "$@"
	got=$(head -n 1 "$T/dc.out")
	if [ "${got#"$want"}" != "$got" ]; then
		pass "$desc"
	else
		fail "$desc (got '$got', want '$want': $(head -c 300 "$T/dc.err"))"
	fi
}
# on_node DESCRIPTION FILE PATH: the node's PATH (from the store's root)
# holds FILE's bytes, read by the node's own sha256sum
on_node() {
	want=$(sha256sum <"$2" | cut -d' ' -f1)
	got=$(node "sha256sum <store/$3" 2>&1 | cut -d' ' -f1)
	if [ "$want" = "$got" ]; then
		pass "$1"
	else
		fail "$1 (node: $got, want $want)"
	fi
}

# ---- files ----
printf 'first line\n' >"$T/a"
printf 'second\n' >"$T/b"
dc_is "create a file" "ok" put f.txt "$T/a"
on_node "the node holds its bytes" "$T/a" f.txt
check "owned by the node's user" test "$(stat -c %U "$NODE/store/f.txt")" = "$SSH_USER"
dc_is "stat: a regular file of its size" "ok reg 11 0644" stat f.txt
head -c 3000000 /dev/urandom >"$T/rnd"
cp "$T/rnd" "$NODE/store/rnd.bin" && chown "$SSH_USER" "$NODE/store/rnd.bin"
dc_is "read a file the node wrote (odd-sized reads, read ahead)" "ok" \
	get rnd.bin "$T/rnd.got"
same "read back whole" "$T/rnd" "$T/rnd.got"
dc getat rnd.bin 2999990 100
head -c 10 "$T/dc.out" >"$T/tail.got"
tail -c 10 "$T/rnd" >"$T/tail.want"
same "a read at an offset near the end" "$T/tail.want" "$T/tail.got"
head -c 25165824 /dev/urandom >"$T/ooo"
cp "$T/ooo" "$NODE/store/ooo.bin" && chown "$SSH_USER" "$NODE/store/ooo.bin"
dc_is "reads out of order, jumps back and far ahead" "ok" \
	shuffled ooo.bin "$T/ooo.got"
same "each read its own bytes" "$T/ooo" "$T/ooo.got"
printf 'changed!' >"$T/changed"
dc stale ooo.bin "$T/changed" 300000
check "a reader sees another handle's write where it had read ahead" \
	test "$(head -n 1 "$T/dc.out")" = 'changed!'
node 'rm store/ooo.bin'
dc_is "overwrite (O_TRUNC)" "ok" put f.txt "$T/b"
on_node "the node's file is the new content" "$T/b" f.txt
dc_is "append (O_APPEND)" "ok" append f.txt "$T/a"
cat "$T/b" "$T/a" >"$T/ba"
on_node "the node's file is old + appended" "$T/ba" f.txt
dc_is "write in the middle" "ok" pwrite f.txt 3 "$T/b"
"$PYTHON3" -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read()); w = open(sys.argv[2], "rb").read()
d[3:3 + len(w)] = w; open(sys.argv[3], "wb").write(d)' "$T/ba" "$T/b" "$T/mid"
on_node "the middle was rewritten, the rest kept" "$T/mid" f.txt
dc_is "truncate to 4 bytes" "ok" truncate f.txt 4
head -c 4 "$T/mid" >"$T/four"
on_node "the node's file is the first 4 bytes" "$T/four" f.txt
dc_is "truncate to 0" "ok" truncate f.txt 0
check "the node's file is empty" test ! -s "$NODE/store/f.txt"
dc_is "O_EXCL on an existing file" "error EEXIST" excl f.txt "$T/a"
dc_is "O_EXCL makes a new file" "ok" excl new.txt "$T/a"
on_node "the new file's bytes" "$T/a" new.txt
dc_is "a new file in a missing directory" "error ENOENT" put no/f "$T/a"
dc_is "read of a missing file" "error ENOENT" get nothing "$T/x"
dc_is "stat of a missing file" "error ENOENT" stat nothing

# ---- directories ----
dc_is "mkdir" "ok" mkdir sub
check "the node has the directory" test -d "$NODE/store/sub"
dc_is "mkdir of an existing one" "error EEXIST" mkdir sub
dc_is "a file in it" "ok" put sub/in.txt "$T/a"
on_node "the node's file in the directory" "$T/a" sub/in.txt
dc ls /
check "ls shows the files and the directory" \
	grep -qx 'sub/ [0-9]*' "$T/dc.out"
has "with the sizes" "$T/dc.out" "new.txt 11"
dc ls sub
has "ls of the directory" "$T/dc.out" "in.txt 11"
dc_is "ls of a file" "error ENOTDIR" ls new.txt
dc_is "rmdir of a directory with entries" "error ENOTEMPTY" rmdir sub
dc_is "rmdir of a file" "error ENOTDIR" rmdir new.txt
dc_is "unlink of a directory" "error EISDIR" unlink sub
dc_is "open a directory for writing" "error EISDIR" put sub "$T/a"
dc_is "the root stays" "error EBUSY" rmdir /
dc_is "unlink" "ok" unlink sub/in.txt
check "the node's file is gone" test ! -e "$NODE/store/sub/in.txt"
dc_is "unlink of a missing file" "error ENOENT" unlink sub/in.txt
dc_is "rmdir" "ok" rmdir sub
check "the node's directory is gone" test ! -e "$NODE/store/sub"

# ---- rename ----
dc_is "rename a file" "ok" rename rnd.bin moved.bin
on_node "the new name holds the bytes" "$T/rnd" moved.bin
check "the old name is gone" test ! -e "$NODE/store/rnd.bin"
dc_is "rename with RENAME_NOREPLACE onto a file" "error EEXIST" \
	rename moved.bin new.txt noreplace
dc_is "rename over an existing file replaces it" "ok" \
	rename moved.bin new.txt
on_node "the target holds the moved bytes" "$T/rnd" new.txt
check "the source is gone" test ! -e "$NODE/store/moved.bin"
ls -a "$NODE/store" >"$T/node-ls"
lacks "nothing left aside" "$T/node-ls" ".rhfs-rename"
dc mkdir d1
dc mkdir d2
dc put d1/x "$T/a"
dc_is "rename a directory over an empty one" "ok" rename d1 d2
on_node "its files moved with it" "$T/a" d2/x
dc mkdir d3
dc_is "rename a directory over one with entries" "error ENOTEMPTY" \
	rename d3 d2
dc_is "rename a file over a directory" "error EISDIR" rename new.txt d3
dc_is "rename a directory over a file" "error ENOTDIR" rename d3 new.txt
dc_is "rename of a missing file" "error ENOENT" rename nothing x

# ---- attributes ----
dc_is "chmod" "ok" chmod f.txt 600
check "the node's mode" test "$(stat -c %a "$NODE/store/f.txt")" = 600
dc_is "utimens" "ok" touch f.txt 1000000000
check "the node's mtime" test "$(stat -c %Y "$NODE/store/f.txt")" = 1000000000
dc_is "stat shows both" "ok reg 0 0600 1000000000" stat f.txt
node 'touch -d @1200000000 store/new.txt'
dc_is "stat shows the node's change" "ok reg 3000000 0644 1200000000" \
	stat new.txt

# ---- symbolic links, made on the node ----
node 'cd store && ln -s new.txt in && ln -s ../../../etc/passwd out &&
ln -s /etc/passwd abs && mkdir -p ld && ln -s ../new.txt ld/up'
dc_is "readlink of a link inside" "ok new.txt" readlink in
dc_is "readlink of a link inside, up a level" "ok ../new.txt" readlink ld/up
dc_is "a link leading out is refused" "error EACCES" readlink out
dc_is "an absolute link is refused" "error EACCES" readlink abs
dc_is "readlink of a file" "error EINVAL" readlink new.txt
dc_is "opening a link is refused (never followed)" "error ELOOP" \
	get out "$T/x"
dc_is "writing through a link is refused" "error ELOOP" put abs "$T/a"
dc_is "chmod of a link is refused (the server would follow it)" \
	"error EOPNOTSUPP" chmod out 777
dc_is "truncate of a link is refused" "error ELOOP" truncate out 0
check "/etc/passwd untouched" test -s /etc/passwd -a "$(stat -c %a /etc/passwd)" = 644
dc_is "unlink of a link removes the link" "ok" unlink out
check "the node's link is gone" test ! -L "$NODE/store/out"

# ---- a larger file, with fsync ----
head -c 67108864 /dev/urandom >"$T/big"
dc_is "64 MiB written and fsynced" "ok" sync big.bin "$T/big"
on_node "the node's sha256 of it" "$T/big" big.bin
dc_is "read back" "ok" get big.bin "$T/big.got"
same "read back whole" "$T/big" "$T/big.got"
rm -f "$T/big" "$T/big.got"
dc unlink big.bin

# ---- configs ----
INLINE='{"resource_type": "folder", "system": '$CLUSTER', "path": "store"}'
"$DC" $DCO "$INLINE" stat new.txt >"$T/dc.out" 2>"$T/dc.err"
has "an inline cluster config" "$T/dc.out" "ok reg 3000000"
"$DC" $DCO "{\"resource_type\": \"folder\", \"fs\": \"~/box\", \"path\": \"$NODE/store\"}" \
	stat new.txt >"$T/dc.out" 2>"$T/dc.err"
has "an absolute path, system spelled fs" "$T/dc.out" "ok reg 3000000"
"$DC" $DCO '{"resource_type": "blob", "system": "~/box", "path": "store/new.txt"}' \
	stat new.txt >"$T/dc.out" 2>"$T/dc.err"
has "a blob: the entry of its directory" "$T/dc.out" "blob new.txt"
has "a blob: its stat" "$T/dc.out" "ok reg 3000000"
"$DC" $DCO '{"resource_type": "folder", "system": "~/box", "path": "nowhere"}' \
	stat / >"$T/dc.out" 2>"$T/dc.err"
has "a missing root: an error naming the resource" "$T/dc.out" \
	"error ENOENT ~/data: its data directory nowhere on ~/box"
"$DC" -t 10 -k "$KNOWN_HOSTS" '{"resource_type": "folder", "system": "~/gone", "path": "x"}' \
	stat / >"$T/dc.out" 2>"$T/dc.err"
has "an unknown cluster: an error naming the resource" "$T/dc.out" \
	"error ENOENT ~/data: its data on ~/gone cannot be reached: no config known"
echo '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds":
 {"ssh_user": "'$SSH_USER'", "ssh_private_key": "'$T/nokey'", "ssh_port": '$SSH_PORT'}}' >"$T/nokey.json"
"$DC" -t 10 -k "$KNOWN_HOSTS" -c "$T/nokey.json" "$CFG" stat / \
	>"$T/dc.out" 2>"$T/dc.err"
has "a key that does not log in: EACCES" "$T/dc.out" "error EACCES ~/data"
has "naming the key" "$T/dc.err" "authentication with key $T/nokey failed"
# ^local is this machine: the local store, in $HOME
mkdir -p "$HOME/lstore"
"$DC" -t 10 '{"resource_type": "folder", "system": "^local", "path": "lstore"}' \
	put here.txt "$T/a" >"$T/dc.out" 2>"$T/dc.err"
has "^local: written" "$T/dc.out" "ok"
same "^local: in \$HOME on this machine, no SSH" "$T/a" "$HOME/lstore/here.txt"
echo '{"resource_type": "cluster", "ips": ["localhost"], "server_connection_type": "none"}' >"$T/here.json"
"$DC" -t 10 -c "$T/here.json" '{"resource_type": "folder", "system": "~/here", "path": "lstore"}' \
	stat here.txt >"$T/dc.out" 2>"$T/dc.err"
has "a cluster on this machine, reached without SSH: the local store" \
	"$T/dc.out" "ok reg 11"

# ---- rh cp between a folder here and one on the cluster ----
mkdir -p "$WORK/rh/box" "$WORK/rh/here" "$WORK/rh/there" "$WORK/rh/back" \
	"$T/here/sub" "$T/back"
echo "$CLUSTER" >"$WORK/rh/box/config.json"
echo '{"resource_type": "folder", "path": "'$T/here'"}' >"$WORK/rh/here/config.json"
echo '{"resource_type": "folder", "system": "~/box", "path": "store/cp"}' \
	>"$WORK/rh/there/config.json"
echo '{"resource_type": "folder", "path": "'$T/back'"}' >"$WORK/rh/back/config.json"
node 'mkdir store/cp'
head -c 2000000 /dev/urandom >"$T/here/sub/r.bin"
printf top >"$T/here/t.txt"
check "rh cp into a folder on the cluster" \
	sh -c "cd '$WORK' && '$top_builddir/rh' cp '~/here' '~/there'"
on_node "the node has its files" "$T/here/sub/r.bin" cp/sub/r.bin
check "rh cp out of it" sh -c "cd '$WORK' && '$top_builddir/rh' cp '~/there' '~/back'"
same "the bytes back" "$T/here/sub/r.bin" "$T/back/sub/r.bin"
same "every file" "$T/here/t.txt" "$T/back/t.txt"

# ---- a lost session: every operation ends within io_timeout ----
mkfifo "$T/in"
: >"$T/live.out"
"$DC" -t 3 -k "$KNOWN_HOSTS" -c "$T/box.json" "$CFG" <"$T/in" \
	>>"$T/live.out" 2>"$T/live.err" &
DC_PID=$!
exec 7>"$T/in"
# ask OP...: one operation of the live store; its answer in ANSWER and
# the seconds it took in TOOK (at most 30: a hang fails)
ask() {
	before=$(wc -l <"$T/live.out")
	t0=$(date +%s.%N)
	echo "$*" >&7
	i=0
	while [ "$(wc -l <"$T/live.out")" -le "$before" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	t1=$(date +%s.%N)
	ANSWER=$(tail -n 1 "$T/live.out")
	TOOK=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", b - a + 0.5 }')
}
ask stat new.txt
check "the live store answers" test "${ANSWER#ok reg}" != "$ANSWER"
STOPPED=$(sshd_tree)
# shellcheck disable=SC2086
kill -STOP $STOPPED 2>/dev/null
ask stat new.txt
check "a node that stops answering: ETIMEDOUT ($ANSWER)" \
	test "$ANSWER" = "error ETIMEDOUT"
check "within io_timeout (3 s; took $TOOK s)" test "$TOOK" -le 6
ask stat new.txt
check "the next operation too, also bounded ($ANSWER, $TOOK s)" \
	test "${ANSWER#error E}" != "$ANSWER" -a "$TOOK" -le 6
# shellcheck disable=SC2086
kill -CONT $STOPPED 2>/dev/null
sleep 1.1
ask stat new.txt
check "answering again: the store reconnects ($ANSWER)" \
	test "${ANSWER#ok reg}" != "$ANSWER"
# the node closes the idle session (its sshd stays): the next operation
# connects again instead of failing
SESSION=$(sshd_tree | grep -vx "$SSHD_PID" | tac)
# shellcheck disable=SC2086
kill $SESSION 2>/dev/null
# closed once its processes are gone (a loaded machine may take a while)
for p in $SESSION; do
	wait_for 10 sh -c "! kill -0 $p 2>/dev/null" ||
		echo "# the session's sshd $p did not end within 10 s"
done
ask stat new.txt
check "a session the node closed while idle: made anew ($ANSWER)" \
	test "${ANSWER#ok reg}" != "$ANSWER"
has "and said in the log" "$T/live.err" "closed the idle connection"
# the node's sshd gone: its sessions and its listener
# shellcheck disable=SC2086
kill $(sshd_tree | tac) 2>/dev/null
wait "$SSHD_PID" 2>/dev/null
SSHD_PID=
ask stat new.txt
check "sshd gone: EIO ($ANSWER)" test "$ANSWER" = "error EIO"
check "at once (took $TOOK s)" test "$TOOK" -le 4
ask stat new.txt
check "and again while it is down ($ANSWER)" test "$ANSWER" = "error EIO"
start_sshd || finish
sleep 1.1
ask stat new.txt
check "sshd back: the store reconnects ($ANSWER)" \
	test "${ANSWER#ok reg}" != "$ANSWER"
has "the loss is logged, naming the resource" "$T/live.err" \
	"~/data: ~/box: lstat"
# a file written (its writes returned) whose answers never come: its
# fsync and close fail, never reported as written
head -c 33554432 /dev/urandom >"$T/held"
"$DC" -t 3 -k "$KNOWN_HOSTS" -c "$T/box.json" "$CFG" hold held.bin \
	"$T/held" "$T/flag" >"$T/hold.out" 2>"$T/hold.err" &
HOLD_PID=$!
wait_for 60 grep -q held "$T/hold.out"
STOPPED=$(sshd_tree)
# shellcheck disable=SC2086
kill -STOP $STOPPED 2>/dev/null
touch "$T/flag"
exits_within 20 "$HOLD_PID"
HOLD_RC=$?
check "a node stopped before fsync: the writer ends" test "$HOLD_RC" = 0
has "with an error from fsync, not ok" "$T/hold.out" "error E"
# shellcheck disable=SC2086
kill -CONT $STOPPED 2>/dev/null
exec 7>&-
exits_within 10 "$DC_PID" && DC_PID=
check "the live store ends at the end of its input" test -z "$DC_PID"

# a node whose sshd offers only a MAC rhfs does not take (hmac-sha1):
# refused, naming the cause
WEAK_PORT=$(free_port)
sed -e "s/^Port .*/Port $WEAK_PORT/" \
	-e "s|^PidFile .*|PidFile $SSH_DIR/weak.pid|" \
	"$SSH_DIR/sshd_config" >"$SSH_DIR/weak_config"
echo "MACs hmac-sha1" >>"$SSH_DIR/weak_config"
/usr/sbin/sshd -D -e -f "$SSH_DIR/weak_config" 2>>"$SSH_DIR/weak.log" &
WEAK_PID=$!
wait_for 10 ssh-keyscan -T 1 -p "$WEAK_PORT" 127.0.0.1 >/dev/null 2>&1
sed "s/\"ssh_port\": $SSH_PORT/\"ssh_port\": $WEAK_PORT/" "$T/box.json" \
	>"$T/weak.json"
"$DC" -t 10 -k "$KNOWN_HOSTS" -c "$T/weak.json" "$CFG" stat f.txt \
	>"$T/weak.out" 2>"$T/weak.err"
WEAK=$(head -n 1 "$T/weak.out")
check "a node offering only hmac-sha1: refused" test "${WEAK#error EIO }" != "$WEAK"
has "the cause named" "$T/weak.out" "may offer no cipher or MAC rhfs takes"
kill "$WEAK_PID" 2>/dev/null
wait "$WEAK_PID" 2>/dev/null
WEAK_PID=

finish
