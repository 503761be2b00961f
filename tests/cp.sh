# cp.sh - rh cp: the data of a folder, table or blob copied into
# another's, by address (store to store) and by path in a mount; its
# summary line, its progress bar on a terminal, and its refusals.
. "$top_srcdir/tests/lib.sh"

RH=$top_builddir/rh
for r in a b c e m m2 s marker; do mkdir -p "$WORK/rh/$r"; done
mkdir -p "$T/a/sub/deep" "$T/b" "$T/e" "$WORK/c-data" "$T/blobs"
cat >"$WORK/rh/a/config.json" <<EOF
{"resource_type": "folder", "name": "a", "system": "file", "path": "$T/a"}
EOF
cat >"$WORK/rh/b/config.json" <<EOF
{"resource_type": "folder", "name": "b", "path": "$T/b"}
EOF
cat >"$WORK/rh/e/config.json" <<EOF
{"resource_type": "folder", "name": "e", "path": "$T/e"}
EOF
cat >"$WORK/rh/c/config.json" <<EOF
{"resource_type": "table", "name": "c", "fs": "file", "path": "c-data"}
EOF
cat >"$WORK/rh/m/config.json" <<EOF
{"resource_type": "blob", "name": "m", "system": "file", "path": "$T/blobs/m.bin"}
EOF
cat >"$WORK/rh/m2/config.json" <<EOF
{"resource_type": "blob", "name": "m2", "system": "file", "path": "$T/blobs/m2.bin"}
EOF
cat >"$WORK/rh/s/config.json" <<EOF
{"resource_type": "send", "name": "s", "hardware": "^local", "command": ["true"]}
EOF
cat >"$WORK/rh/marker/config.json" <<EOF
{"resource_type": "folder", "name": "marker"}
EOF
head -c 3000000 /dev/urandom >"$T/a/big.bin"
echo one >"$T/a/one.txt"
echo deep >"$T/a/sub/deep/d.txt"
chmod 600 "$T/a/one.txt"
touch -d "2019-05-06 07:08:09.25" "$T/a/big.bin"
touch -d "2018-01-02" "$T/a/sub/deep" "$T/a/sub"
echo old >"$T/b/one.txt"
echo keep >"$T/b/extra.txt"
head -c 5000 /dev/urandom >"$T/blobs/m.bin"
touch -d "2017-01-01" "$T/blobs/m.bin"

# manifest DIR: each entry's path, type, mode, mtime and checksum
manifest() {
	(cd "$1" && find . -mindepth 1 ! -name extra.txt -printf '%p %y %m %T@ ' \
		-exec sh -c 'if [ -f "$1" ]; then sha256sum <"$1" | cut -c1-64; else echo -; fi' sh {} \; |
		sort)
}

cd "$WORK" || exit 1
check "rh cp between two folders by address" "$RH" cp '~/a' '~/b'
has "one summary line off a terminal" "$T/out" \
	"rh cp: ~/a -> ~/b: 3 files, 2 directories, 2.9 MiB in"
manifest "$T/a" >"$T/m-a"
manifest "$T/b" >"$T/m-b"
same "contents, modes and times are the source's" "$T/m-a" "$T/m-b"
check "a file of the same name is overwritten, others are left" \
	test "$(cat "$T/b/one.txt")" = one -a "$(cat "$T/b/extra.txt")" = keep
check "a blob into a table: a file named as the blob's" \
	"$RH" cp '~/m' '~/c'
same "it is the blob's file, in the table's directory (relative to the workdir)" \
	"$T/blobs/m.bin" "$WORK/c-data/m.bin"
check "a blob into a blob" "$RH" cp '~/m' '~/m2'
same "is its file" "$T/blobs/m.bin" "$T/blobs/m2.bin"
check "with its mtime" \
	test "$(stat -c %Y "$T/blobs/m2.bin")" = "$(stat -c %Y "$T/blobs/m.bin")"

refuse "a folder into a blob is refused" "cannot go into one file" \
	"$RH" cp '~/a' '~/m'
refuse "a send has no data" "~/s: a send, not a folder, table or blob" \
	"$RH" cp '~/s' '~/b'
refuse "a folder marker has no data" "~/marker: a folder marker" \
	"$RH" cp '~/marker' '~/b'
refuse "a missing resource is named" "~/nope: no such resource" \
	"$RH" cp '~/nope' '~/b'
refuse "a copy onto itself is refused" "the same" "$RH" cp '~/a' '~/a'
refuse "two arguments" "usage" "$RH" cp '~/a'
echo file >"$T/e/sub"
refuse "an error stops the copy, naming the resource and the path" \
	"~/e: sub/deep: Not a directory" "$RH" cp '~/a' '~/e'

# on a terminal: a progress bar on stderr
script -qec "'$RH' cp '~/a' '~/b'" /dev/null >"$T/tty" 2>&1
has "on a terminal, a progress bar" "$T/tty" "100% [##############################]"
has "and the summary at its end" "$T/tty" "rh cp: ~/a -> ~/b"

# paths in a mount: through its data/
mount_rhfs
rm -rf "$WORK/c-data"/*
check "rh cp between paths in the mount (data/ or the resource)" \
	"$RH" cp "$MNT/~/a/data" "$MNT/~/c"
has "named by their addresses" "$T/out" "rh cp: ~/a -> ~/c: 3 files"
manifest "$WORK/c-data" >"$T/m-c"
same "the same contents, modes and times" "$T/m-a" "$T/m-c"
check "a blob's data in the mount" "$RH" cp "$MNT/~/m/data" "$MNT/~/b"
same "copied under the blob's file name" "$T/blobs/m.bin" "$T/b/m.bin"
unmount_rhfs

# ---- two resources on one cluster (the loopback sshd): copied on its
# node by cp -a, no byte through this machine (host keys recorded in
# ~/.ssh/known_hosts) ----
. "$top_srcdir/tests/sshd-lib.sh"
trap 'stop_sshd; cleanup' EXIT
start_sshd || finish
NODE=/home/$SSH_USER
node() {
	su -s /bin/sh "$SSH_USER" -c "cd && $1"
}
node 'rm -rf cpn && mkdir -p cpn/a/sub/deep cpn/b cpn/e &&
	echo one >cpn/a/one.txt && echo deep >cpn/a/sub/deep/d.txt &&
	head -c 3000000 /dev/urandom >cpn/a/r.bin && chmod 600 cpn/a/one.txt &&
	touch -d "2019-05-06 07:08:09" cpn/a/r.bin && touch -d 2018-01-02 cpn/a/sub &&
	echo old >cpn/b/one.txt && echo keep >cpn/b/extra.txt && echo file >cpn/e/sub &&
	truncate -s 64G cpn/a/sparse.bin && mkdir cpn/blobs && echo w >cpn/blobs/w.bin'
mkdir -p rh/box rh/na rh/nb rh/ne rh/nw rh/nw2 rh/nx
cat >rh/box/config.json <<EOF
{"resource_type": "cluster", "name": "box", "ips": ["127.0.0.1"],
 "ssh_creds": {"ssh_user": "$SSH_USER", "ssh_private_key": "$SSH_KEY",
 "ssh_port": $SSH_PORT}}
EOF
for r in a b e; do
	echo '{"resource_type": "folder", "system": "~/box", "path": "cpn/'$r'"}' \
		>rh/n$r/config.json
done
echo '{"resource_type": "blob", "system": "~/box", "path": "~/cpn/blobs/w.bin"}' \
	>rh/nw/config.json
echo '{"resource_type": "blob", "system": "~/box", "path": "'$NODE'/cpn/blobs/w2.bin"}' \
	>rh/nw2/config.json
# a copy that came through here would read 64 GiB over SFTP
check "rh cp between two folders on one cluster, in far less time than 64 GiB could pass" \
	timeout 60 "$RH" cp '~/na' '~/nb'
has "copied on the node, one summary line" "$T/out" \
	"rh cp: ~/na -> ~/nb: 4 files, 2 directories, 65538.9 MiB in"
has "which says where" "$T/out" "copied on the node of ~/box"
# node_manifest DIR: each entry's path, type, mode, mtime and checksum
node_manifest() {
	node "cd $1 && find . -mindepth 1 ! -name extra.txt ! -name sparse.bin -printf '%p %y %m %T@ ' \
		-exec sh -c 'if [ -f \"\$1\" ]; then sha256sum <\"\$1\" | cut -c1-64; else echo -; fi' sh {} \; | sort"
}
node_manifest cpn/a >"$T/n-a"
node_manifest cpn/b >"$T/n-b"
check "the node's manifest is not empty" test -s "$T/n-a"
same "contents, modes and times are the source's" "$T/n-a" "$T/n-b"
check "a file of the same name is overwritten, others are left" \
	test "$(node 'cat cpn/b/one.txt cpn/b/extra.txt')" = "one
keep"
check "the sparse file is whole on the node" \
	test "$(node 'stat -c %s cpn/b/sparse.bin')" = 68719476736
check "and stays sparse" test "$(node 'du -k cpn/b/sparse.bin | cut -f1')" -lt 1024
check "a blob into a folder on the same node" "$RH" cp '~/nw' '~/nb'
has "on the node" "$T/out" "rh cp: ~/nw -> ~/nb: 1 file, 0 directories"
check "is a file of the blob's name" test "$(node 'cat cpn/b/w.bin')" = w
check "a blob into a blob on the same node" "$RH" cp '~/nw' '~/nw2'
has "on the node too" "$T/out" "copied on the node of ~/box"
check "the blob's file" test "$(node 'cat cpn/blobs/w2.bin')" = w
refuse "a folder into a blob is refused" "cannot go into one file" \
	"$RH" cp '~/na' '~/nw'
refuse "an error on the node stops the copy, naming both and the cause" \
	"~/na -> ~/ne: the copy on the node of ~/box failed: cp: cannot overwrite non-directory" \
	"$RH" cp '~/na' '~/ne'
script -qec "'$RH' cp '~/nw' '~/nb'" /dev/null >"$T/tty" 2>&1
has "on a terminal, the progress bar" "$T/tty" "100% [##############################]"
node 'rm -rf cpn'

finish
