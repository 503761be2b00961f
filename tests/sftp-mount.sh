# sftp-mount.sh - a folder whose data is on a cluster (the loopback sshd
# as its node), through a real mount: what shell tools, cp -a, rsync,
# tar and a plain-IO Python script do in MOUNT/~/ckpts/data/ is what the
# node's user finds in ~/mstore, read with the node's own tools; a node
# that stops answering fails operations within io_timeout, and the
# mount recovers when it is back.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

mount_cleanup() {
	for p in $(sshd_tree); do
		kill -CONT "$p" 2>/dev/null
	done
	stop_sshd
	cleanup
}
trap mount_cleanup EXIT

start_sshd || finish
NODE=/home/$SSH_USER
STORE=$NODE/mstore
# node CMD: a shell command run on the node as its user
node() {
	su -s /bin/sh "$SSH_USER" -c "cd && $1"
}
node 'rm -rf mstore && mkdir mstore && echo made on the node >mstore/node.txt'

mkdir -p "$WORK/rh/box" "$WORK/rh/ckpts"
cat >"$WORK/rh/box/config.json" <<EOF
{"resource_type": "cluster", "name": "box", "ips": ["127.0.0.1"],
 "ssh_creds": {"ssh_user": "$SSH_USER", "ssh_private_key": "$SSH_KEY",
 "ssh_port": $SSH_PORT}}
EOF
cat >"$WORK/rh/ckpts/config.json" <<EOF
{"resource_type": "folder", "name": "ckpts", "system": "~/box", "path": "mstore"}
EOF
mount_rhfs -o "known_hosts=$KNOWN_HOSTS,io_timeout=3"
D=$MNT/~/ckpts/data

# on_node DESCRIPTION FILE PATH: the node's ~/mstore/PATH holds FILE's
# bytes, by the node's own sha256sum
on_node() {
	want=$(sha256sum <"$2" | cut -d' ' -f1)
	got=$(node "sha256sum <mstore/$3" 2>&1 | cut -d' ' -f1)
	if [ "$want" = "$got" ]; then
		pass "$1"
	else
		fail "$1 (node: $got, want $want)"
	fi
}

# --- the tree ---
check "data/ is a directory" test -d "$D"
check "it lists the node's directory" test "$(ls "$D")" = node.txt
check "and reads its files" test "$(cat "$D/node.txt")" = "made on the node"

# --- files ---
check "create and write" sh -c "printf hello >'$D/a.txt'"
check "the bytes are on the node" test "$(node 'cat mstore/a.txt')" = hello
check "and read back" test "$(cat "$D/a.txt")" = hello
check "append" sh -c "printf ' world' >>'$D/a.txt'"
check "appended on the node" test "$(node 'cat mstore/a.txt')" = "hello world"
check "size is the file's" test "$(stat -c %s "$D/a.txt")" = 11
check "truncate" truncate -s 5 "$D/a.txt"
check "truncated on the node" test "$(node 'stat -c %s mstore/a.txt')" = 5
check "overwrite with >" sh -c "printf new >'$D/a.txt'"
check "the node's file is the new bytes" test "$(node 'cat mstore/a.txt')" = new
check "rename" mv "$D/a.txt" "$D/b.txt"
check "renamed on the node" test "$(node 'cat mstore/b.txt')" = new
check "the old name is gone on the node" test ! -e "$STORE/a.txt"
printf other >"$T/other"
cp "$T/other" "$D/c.txt"
check "rename over an existing file" pyrename "$D/c.txt" "$D/b.txt"
check "the node's file is the moved one" test "$(node 'cat mstore/b.txt')" = other
check "unlink" rm "$D/b.txt"
check "gone on the node" test ! -e "$STORE/b.txt"
check "mkdir" mkdir "$D/sub"
check "a directory on the node" test -d "$STORE/sub"
check "a file in it" sh -c "echo x >'$D/sub/f'"
refuse "rmdir of a directory with entries" "not empty" rmdir "$D/sub"
check "rmdir after unlink" sh -c "rm '$D/sub/f' && rmdir '$D/sub'"
check "gone on the node" test ! -e "$STORE/sub"
check "chmod" chmod 600 "$D/node.txt"
check "the node's mode" test "$(stat -c %a "$STORE/node.txt")" = 600
check "touch -d" touch -d @1500000000 "$D/node.txt"
check "the node's mtime" test "$(stat -c %Y "$STORE/node.txt")" = 1500000000
check "the mount's mtime" test "$(stat -c %Y "$D/node.txt")" = 1500000000
check "the node user's files are the mounting user's" \
	test "$(stat -c %u:%g "$D/node.txt")" = "$(id -u):$(id -g)"
refuse "chown to another owner is refused" "not permitted" \
	chown 65534 "$D/node.txt"
check "... chown to the owner shown changes nothing" \
	chown "$(id -u):$(id -g)" "$D/node.txt"
refuse "no symbolic links made on a cluster" "not permitted" \
	ln -s node.txt "$D/sym"
refuse "no hard links" "not permitted" ln "$D/node.txt" "$D/hard"
refuse "no FIFOs" "not permitted" mkfifo "$D/fifo"
check "mknod of a regular file is an empty file on the node" "$PYTHON3" -c \
	"import os, stat, sys; os.mknod(sys.argv[1], stat.S_IFREG | 0o600)" \
	"$D/made"
check "... there" test -f "$STORE/made" -a ! -s "$STORE/made"
check "rm of it" rm "$D/made"

# --- a large file, round-tripped ---
head -c 268435456 /dev/urandom >"$T/big"
check "a 256 MiB file copied in" cp "$T/big" "$D/big.bin"
on_node "the node's sha256 of it" "$T/big" big.bin
check "copied out" cp "$D/big.bin" "$T/big.out"
same "read back whole" "$T/big" "$T/big.out"
rm -f "$T/big.out"
# writes of 999,999 bytes: the write-behind's unanswered bytes (up to
# 8 MiB) end, and move to the front of its buffer, at odd places
check "48 MiB in odd-sized writes" dd if="$T/big" of="$D/odd.bin" \
	bs=999999 count=50 conv=fsync status=none
head -c 49999950 "$T/big" >"$T/odd"
on_node "the node's sha256 of it" "$T/odd" odd.bin
check "other bytes written over it at an offset (in place, odd-sized)" \
	dd if="$T/big" of="$D/odd.bin" bs=999999 skip=100 seek=3 count=20 \
	conv=notrunc,fsync status=none
dd if="$T/big" of="$T/odd" bs=999999 skip=100 seek=3 count=20 \
	conv=notrunc status=none
on_node "the node's sha256 after it" "$T/odd" odd.bin
rm -f "$T/odd" "$D/odd.bin"

# --- cp -a, rsync -a, tar: contents, sizes, modes, mtimes ---
mkdir -p "$T/tree/a/b" "$T/tree/empty"
printf one >"$T/tree/one.txt"
head -c 300000 /dev/urandom >"$T/tree/a/blob.bin"
printf deep >"$T/tree/a/b/deep.txt"
: >"$T/tree/a/zero"
chmod 640 "$T/tree/one.txt"
chmod 700 "$T/tree/a/b"
touch -d @1400000000 "$T/tree/one.txt" "$T/tree/a/blob.bin" "$T/tree/a/zero"
touch -d @1300000000 "$T/tree/a/b/deep.txt" "$T/tree/a/b" "$T/tree/empty"
touch -d @1200000000 "$T/tree/a" "$T/tree"
# listing DIR: each entry's path, type, size (files), mode, mtime
cat >"$T/listing.py" <<'PY'
import os, stat, sys
top = sys.argv[1]
for d, dirs, files in os.walk(top):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        size = st.st_size if stat.S_ISREG(st.st_mode) else "-"
        print(os.path.relpath(p, top), "d" if stat.S_ISDIR(st.st_mode) else "f",
              size, "%o" % stat.S_IMODE(st.st_mode), int(st.st_mtime))
PY
chmod 644 "$T/listing.py"
listing() {
	"$PYTHON3" "$T/listing.py" "$1"
}
# as_node DIR: the same, by the node's user
as_node() {
	su -s /bin/sh "$SSH_USER" -c "/usr/bin/python3 $T/listing.py $1" \
		>"$T/node-listing"
}
listing "$T/tree" >"$T/want"
check "cp -a into data/" cp -a "$T/tree" "$D/cp"
as_node "$STORE/cp"
same "cp -a: the node has the tree (contents, sizes, modes, mtimes)" \
	"$T/want" "$T/node-listing"
check "rsync -a into data/" rsync -a "$T/tree/" "$D/rs/"
as_node "$STORE/rs"
same "rsync -a: the node has the tree" "$T/want" "$T/node-listing"
check "rsync -a --inplace again after a change" sh -c \
	"printf changed >'$T/tree/one.txt' && touch -d @1400000000 '$T/tree/one.txt' && rsync -a --inplace '$T/tree/' '$D/rs/'"
listing "$T/tree" >"$T/want"
as_node "$STORE/rs"
same "rsync --inplace: the node has the change" "$T/want" "$T/node-listing"
# rsync sets the times by path right after its close(2), while the file's
# release may still be under way here: never "No such file"
check "rsync -a --inplace of a changed file, 30 times in a row" sh -c "
	i=0
	while [ \$i -lt 30 ]; do
		printf 'change %d' \$i >'$T/tree/one.txt'
		touch -d @\$((1400000000 + i)) '$T/tree/one.txt'
		rsync -a --inplace '$T/tree/' '$D/rs/' || exit 1
		i=\$((i + 1))
	done"
listing "$T/tree" >"$T/want"
as_node "$STORE/rs"
same "... the node has the last" "$T/want" "$T/node-listing"
mkdir "$D/tar"
check "tar into data/" sh -c "tar -C '$T/tree' -cf - . | tar -C '$D/tar' -xpf -"
as_node "$STORE/tar"
same "tar: the node has the tree" "$T/want" "$T/node-listing"
check "cp -a out of data/" cp -a "$D/cp" "$T/cp-out"
listing "$T/cp-out" >"$T/got"
listing "$D/cp" >"$T/want-cp"
same "cp -a out: the tree as the mount shows it" "$T/want-cp" "$T/got"
check "rsync -a out of data/" rsync -a "$D/rs/" "$T/rs-out/"
listing "$T/rs-out" >"$T/got"
same "rsync -a out: the tree" "$T/want" "$T/got"
mkdir "$T/tar-out"
check "tar out of data/" sh -c "tar -C '$D/tar' -cf - . | tar -C '$T/tar-out' -xpf -"
listing "$T/tar-out" >"$T/got"
listing "$T/tree" >"$T/want"
same "tar out: the tree" "$T/want" "$T/got"
check "the files' bytes out" cmp "$T/tree/a/blob.bin" "$T/tar-out/a/blob.bin"

# --- a Python script using only open() and os.* ---
cat >"$T/plain.py" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(os.path.join(d, "py", "x"))
with open(os.path.join(d, "py", "x", "f.txt"), "w") as f:
    for i in range(1000):
        f.write("line %d\n" % i)
with open(os.path.join(d, "py", "x", "f.txt"), "a") as f:
    f.write("end\n")
with open(os.path.join(d, "py", "x", "f.txt"), "r+b") as f:
    f.seek(5)
    f.write(b"L")
    f.seek(0)
    head = f.read(7)
assert head == b"line L\n", head
lines = open(os.path.join(d, "py", "x", "f.txt")).read().splitlines()
assert len(lines) == 1001 and lines[-1] == "end", lines[-3:]
os.rename(os.path.join(d, "py", "x", "f.txt"), os.path.join(d, "py", "g.txt"))
assert sorted(os.listdir(os.path.join(d, "py"))) == ["g.txt", "x"]
assert os.stat(os.path.join(d, "py", "g.txt")).st_size == 8894, \
    os.stat(os.path.join(d, "py", "g.txt")).st_size
os.rmdir(os.path.join(d, "py", "x"))
os.truncate(os.path.join(d, "py", "g.txt"), 10)
with open(os.path.join(d, "py", "g.txt"), "rb") as f:
    assert f.read() == b"line L\nlin"
print("plain ok")
PY
check "a plain-IO Python script" "$PYTHON3" "$T/plain.py" "$D"
check "the node has what it left" test "$(node 'cat mstore/py/g.txt')" = "line L
lin"

# --- concurrent readers and writers ---
for i in 1 2 3 4; do
	head -c 8388608 /dev/urandom >"$T/w$i"
done
pids=
for i in 1 2 3 4; do
	cp "$T/w$i" "$D/w$i" &
	pids="$pids $!"
	cmp "$T/big" "$D/big.bin" >"$T/r$i" 2>&1 &
	pids="$pids $!"
done
ok=0
for p in $pids; do
	wait "$p" && ok=$((ok + 1))
done
check "4 writers and 4 readers at once all succeed ($ok of 8)" test "$ok" = 8
for i in 1 2 3 4; do
	on_node "writer $i's file on the node" "$T/w$i" "w$i"
done
rm -f "$T/big" "$D/big.bin"

# --- rhfs killed (kill -9) while files are written whole: the node has
# the old file, or for a new one an empty file, never a part of the new;
# what was written waits beside it, under a name .rhfs-write-* ---
head -c 3000000 /dev/urandom >"$T/old"
cp "$T/old" "$D/kill.bin"
# slow_write FILE: 4 MiB written and synced, then $T/go-FILE made, then
# more each second until killed
cat >"$T/slow.py" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, os.urandom(4 << 20))
os.fsync(fd)
open(sys.argv[2], "w").close()
while True:
    time.sleep(1)
    os.write(fd, os.urandom(1 << 20))
PY
"$PYTHON3" "$T/slow.py" "$D/kill.bin" "$T/go-old" 2>/dev/null &
W1=$!
"$PYTHON3" "$T/slow.py" "$D/killnew.bin" "$T/go-new" 2>/dev/null &
W2=$!
check "two files under way (one over an old file, one new)" \
	wait_for 30 test -e "$T/go-old" -a -e "$T/go-new"
kill -9 "$RHFS_PID"
wait "$RHFS_PID" 2>/dev/null
RHFS_PID=
kill "$W1" "$W2" 2>/dev/null
wait "$W1" "$W2" 2>/dev/null
on_node "killed: the old file is whole on the node" "$T/old" kill.bin
check "killed: the new file is there, empty" \
	test "$(node 'stat -c %s mstore/killnew.bin')" = 0
check "what was written waits beside them (.rhfs-write-*)" \
	test "$(node 'ls -A mstore | grep -c "^\.rhfs-write-"')" = 2
node 'rm -f mstore/.rhfs-write-*'
unmount_rhfs
mount_rhfs -o "known_hosts=$KNOWN_HOSTS,io_timeout=3"
same "mounted again: the old file reads whole" "$T/old" "$D/kill.bin"
check "a whole write that ends" cp "$T/w1" "$D/kill.bin"
on_node "puts the new file in its place" "$T/w1" kill.bin
check "and leaves nothing beside it" \
	test "$(node 'ls -A mstore | grep -c "^\.rhfs-write-"')" = 0
check "a file open for writing is seen at its name" \
	sh -c "exec 3>'$D/open.txt'; printf abc >&3; test \"\$(stat -c %s '$D/open.txt')\" = 3"
check "and written in place on the node at its close" \
	test "$(node 'cat mstore/open.txt')" = abc
rm -f "$D/kill.bin" "$D/killnew.bin" "$D/open.txt"

# --- the node stops answering: operations end within io_timeout (3 s) ---
# secs_of COMMAND...: run it (at most 30 s); its exit status in RC and
# the seconds it took in TOOK
secs_of() {
	t0=$(date +%s.%N)
	timeout 30 "$@" >"$T/out" 2>"$T/errout"
	RC=$?
	TOOK=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a + 0.5 }')
}
dd if=/dev/zero of="$D/stall.bin" bs=1M count=2048 2>"$T/dd.err" &
DD_PID=$!
# (written whole: to a name beside it until its close)
wait_for 30 sh -c 'for f in "$1"/.rhfs-write-*; do test -s "$f" && exit 0; done; exit 1' sh "$STORE"
STOPPED=$(sshd_tree)
# shellcheck disable=SC2086
kill -STOP $STOPPED 2>/dev/null
exits_within 30 "$DD_PID"
DD_RC=$?
check "a write under way when the node stops answering ends (30 s bound)" \
	test "$DD_RC" = 0
wait "$DD_PID"
DD_RC=$?
check "and fails: never reported as written ($(tr "\n" " " <"$T/dd.err"))" \
	test "$DD_RC" != 0
secs_of stat "$D/fresh1"
check "a node that stops answering: stat fails ($(cat "$T/errout"))" \
	test "$RC" != 0 -a "$RC" != 124
check "within io_timeout (took $TOOK s)" test "$TOOK" -le 8
secs_of sh -c "echo x >'$D/fresh2'"
check "a write fails too, also bounded (rc $RC, $TOOK s)" \
	test "$RC" != 0 -a "$RC" != 124 -a "$TOOK" -le 8
# shellcheck disable=SC2086
kill -CONT $STOPPED 2>/dev/null
sleep 1.2
secs_of sh -c "echo back >'$D/fresh3'"
check "answering again: writes work ($(cat "$T/errout"))" test "$RC" = 0
check "on the node" test "$(node 'cat mstore/fresh3')" = back
check "the stalled file can be removed" rm -f "$D/stall.bin"
# shellcheck disable=SC2086
kill $(sshd_tree | tac) 2>/dev/null
wait "$SSHD_PID" 2>/dev/null
SSHD_PID=
secs_of cat "$D/fresh3"
check "sshd gone: reads fail ($(cat "$T/errout"))" test "$RC" != 0
check "at once (took $TOOK s)" test "$TOOK" -le 5
start_sshd || finish
sleep 1.2
check "sshd back: the mount reads again" test "$(cat "$D/fresh3")" = back
has "the loss is in .log, naming the folder" "$MNT/.log" "~/ckpts: ~/box"

finish
