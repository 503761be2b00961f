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

finish
