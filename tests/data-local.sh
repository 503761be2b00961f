# data-local.sh - a folder's, blob's and table's data on this machine's
# disk (system "file"), through a real mount: what shell tools, cp -a,
# rsync, tar and a plain-IO Python script do in data/ is what lands in
# the folder's directory, and what changes there shows in the mount.
. "$top_srcdir/tests/lib.sh"

STORE=$T/store          # ~/ckpts's bytes
mkdir -p "$STORE" "$WORK/rh/ckpts" "$WORK/rh/other" "$WORK/rh/model" \
	"$WORK/rh/sales" "$WORK/rh/proj" "$WORK/rh/gone" "$WORK/rh/tmpf" \
	"$T/blobs" "$T/sales" "$T/tmpf" "$WORK/other-data"
cat >"$WORK/rh/ckpts/config.json" <<EOF
{"resource_type": "folder", "name": "ckpts", "system": "file", "path": "$STORE"}
EOF
# a relative path is relative to the workdir; "fs" is the other spelling
cat >"$WORK/rh/other/config.json" <<EOF
{"resource_type": "folder", "name": "other", "fs": "file", "path": "other-data"}
EOF
cat >"$WORK/rh/model/config.json" <<EOF
{"resource_type": "blob", "name": "model", "system": "file", "path": "$T/blobs/model.bin"}
EOF
cat >"$WORK/rh/sales/config.json" <<EOF
{"resource_type": "table", "name": "sales", "system": "file", "path": "$T/sales", "partition_cols": ["year"]}
EOF
cat >"$WORK/rh/proj/config.json" <<EOF
{"resource_type": "folder", "name": "proj", "rns_address": "~/proj"}
EOF
cat >"$WORK/rh/gone/config.json" <<EOF
{"resource_type": "folder", "name": "gone", "system": "file", "path": "$T/nowhere"}
EOF
cat >"$WORK/rh/tmpf/config.json" <<EOF
{"resource_type": "folder", "name": "tmpf", "path": "$T/tmpf"}
EOF
echo "made outside" >"$STORE/outside.txt"

# allow_other: another user's changes through it are checked below
mount_rhfs -o allow_other
D=$MNT/~/ckpts/data

# --- the tree ---
ls -a "$MNT/~/ckpts" >"$T/ls-res"
has "a folder shows data/ beside its config" "$T/ls-res" "data"
check "data/ is a directory" test -d "$D"
check "it lists the folder's directory" test "$(ls "$D")" = outside.txt
check "and reads its files" test "$(cat "$D/outside.txt")" = "made outside"
ls -a "$MNT/~/proj" >"$T/ls-marker"
lacks "a folder marker (no system, no path) has no data/" "$T/ls-marker" "data"
refuse "and data is no name in it" "No such file" ls "$MNT/~/proj/data"
refuse "a folder whose directory is missing: data/ fails" "No such file" \
	ls "$MNT/~/gone/data/"
has "naming the folder and the directory in .log" "$MNT/.log" \
	"~/gone: its data directory $T/nowhere"

# --- files: create, write, read, append, truncate, sizes, modes, times
check "create and write" sh -c "printf hello >'$D/a.txt'"
check "the bytes are in the folder's directory" \
	test "$(cat "$STORE/a.txt")" = hello
check "and read back" test "$(cat "$D/a.txt")" = hello
check "append" sh -c "printf ' world' >>'$D/a.txt'"
check "appended on disk" test "$(cat "$STORE/a.txt")" = "hello world"
check "size is the file's" test "$(stat -c %s "$D/a.txt")" = 11
check "truncate" truncate -s 5 "$D/a.txt"
check "truncated on disk" test "$(cat "$STORE/a.txt")" = hello
check "and in the mount" test "$(stat -c %s "$D/a.txt")" = 5
check "chmod" chmod 640 "$D/a.txt"
check "the mode is the file's" test "$(stat -c %a "$STORE/a.txt")" = 640
check "and shows in the mount" test "$(stat -c %a "$D/a.txt")" = 640
check "utimens" touch -d "2020-01-02 03:04:05.123456789" "$D/a.txt"
check "the mtime is set on disk, to the nanosecond" \
	test "$(stat -c %y "$STORE/a.txt")" = "$(stat -c %y "$D/a.txt")"
check "and it is the one asked for" \
	test "$(stat -c %Y "$STORE/a.txt")" = "$(date -d "2020-01-02 03:04:05" +%s)"
check "write in the middle" sh -c "printf J | dd of='$D/a.txt' bs=1 seek=0 conv=notrunc 2>/dev/null"
check "changes that byte" test "$(cat "$D/a.txt")" = Jello
check "O_TRUNC empties" sh -c ": >'$D/a.txt'"
check "on disk too" test "$(stat -c %s "$STORE/a.txt")" = 0

# --- directories and names ---
check "mkdir" mkdir -p "$D/x/y"
check "makes the directories" test -d "$STORE/x/y"
check "rename a file into a directory" mv "$D/a.txt" "$D/x/y/b.txt"
check "moved on disk" test -f "$STORE/x/y/b.txt" -a ! -e "$STORE/a.txt"
check "rename a directory" mv "$D/x" "$D/z"
check "moved on disk, with what is in it" test -f "$STORE/z/y/b.txt"
check "and through the mount" test -f "$D/z/y/b.txt"
refuse "rmdir of a directory that is not empty" "not empty" rmdir "$D/z/y"
check "unlink" rm "$D/z/y/b.txt"
check "rmdir" rmdir "$D/z/y" "$D/z"
check "gone on disk" test ! -e "$STORE/z"
refuse "mkdir of what exists" "File exists" mkdir "$D/outside.txt"
refuse "nothing but the folder's data: data/ cannot be renamed" \
	"Operation not permitted" mv "$D" "$MNT/~/ckpts/data2"

# across stores and out of data/: EXDEV (mv copies instead)
cat >"$T/rename.py" <<'EOF'
import errno, os, sys
try:
    os.rename(sys.argv[1], sys.argv[2])
except OSError as e:
    print(errno.errorcode[e.errno])
    sys.exit(1)
EOF
echo x >"$D/cross.txt"
"$PYTHON3" "$T/rename.py" "$D/cross.txt" "$MNT/~/other/data/cross.txt" \
	>"$T/exdev1"
has "rename to another folder's data is EXDEV" "$T/exdev1" EXDEV
"$PYTHON3" "$T/rename.py" "$D/cross.txt" "$MNT/~/ckpts/cross.txt" >"$T/exdev2"
has "rename out of data/ is EXDEV" "$T/exdev2" EXDEV
check "mv falls back to a copy across folders" \
	mv "$D/cross.txt" "$MNT/~/other/data/cross.txt"
check "which lands in the other folder's directory (relative to the workdir)" \
	test -f "$WORK/other-data/cross.txt" -a ! -e "$STORE/cross.txt"

# --- open, unlinked: the file lives while open ---
cat >"$T/unlinked.py" <<'EOF'
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.unlink(p)
assert not os.path.exists(p)
os.write(fd, b"still here")
os.lseek(fd, 0, 0)
assert os.read(fd, 100) == b"still here"
assert os.fstat(fd).st_size == 10
os.close(fd)
print("ok")
EOF
check "an open file outlives its unlink" "$PYTHON3" "$T/unlinked.py" "$D/u.bin"

# --- links, special files and owners, as on the disk ---
check "ln -s with a target outside the folder" \
	ln -s /etc/hostname "$D/host-link"
check "... which readlink gives as it is" \
	sh -c "[ \"\$(readlink '$D/host-link')\" = /etc/hostname ]"
check "... and the disk holds" \
	sh -c "[ \"\$(readlink '$STORE/host-link')\" = /etc/hostname ]"
check "... which the kernel follows for the reader" \
	cmp "$D/host-link" /etc/hostname
check "ln -s relative" ln -s outside.txt "$D/rel-link"
check "... read through" cmp "$D/rel-link" "$STORE/outside.txt"
refuse "ln -s over a name that exists" "File exists" \
	ln -s x "$D/outside.txt"
echo "one" >"$D/hard-a"
check "ln (a hard link)" ln "$D/hard-a" "$D/hard-b"
check "... two names, one file: link count 2 in the mount" \
	sh -c "[ \"\$(stat -c %h '$D/hard-a')\" = 2 ] &&
	       [ \"\$(stat -c %h '$D/hard-b')\" = 2 ]"
check "... and on the disk" \
	sh -c "[ \"\$(stat -c %i '$STORE/hard-a')\" = \"\$(stat -c %i '$STORE/hard-b')\" ]"
echo "two" >>"$D/hard-b"
check "... a write through one is read through the other" \
	sh -c "[ \"\$(cat '$D/hard-a')\" = \"\$(printf 'one\ntwo')\" ]"
check "... unlinking one leaves the other" rm "$D/hard-a"
check "... with link count 1" \
	sh -c "[ \"\$(stat -c %h '$D/hard-b')\" = 1 ] && [ -f '$STORE/hard-b' ]"
refuse "ln to another folder's data is EXDEV" "cross-device" \
	ln "$D/hard-b" "$MNT/~/other/data/hard-c"
refuse "ln of a resource's config into data/ is EXDEV" "cross-device" \
	ln "$MNT/~/ckpts/config.json" "$D/cfg-link"
check "mkfifo" mkfifo "$D/fifo"
check "... a FIFO in the mount and on the disk" \
	sh -c "[ -p '$D/fifo' ] && [ -p '$STORE/fifo' ]"
check "mknod of a regular file (os.mknod)" "$PYTHON3" -c \
	"import os, stat, sys; os.mknod(sys.argv[1], stat.S_IFREG | 0o640)" \
	"$D/made"
check "... an empty file, mode 0640" \
	sh -c "[ -f '$STORE/made' ] && [ ! -s '$STORE/made' ] &&
	       [ \"\$(stat -c %a '$D/made')\" = 640 ]"
if [ "$(id -u)" = 0 ]; then
	check "chown (as root)" chown 65534:65534 "$D/made"
	check "... the owner in the mount and on the disk" \
		sh -c "[ \"\$(stat -c %u:%g '$D/made')\" = 65534:65534 ] &&
		       [ \"\$(stat -c %u:%g '$STORE/made')\" = 65534:65534 ]"
	check "chown -h of a symbolic link changes the link" \
		chown -h 65534 "$D/rel-link"
	check "... not its target" \
		sh -c "[ \"\$(stat -c %u '$STORE/rel-link')\" = 65534 ] &&
		       [ \"\$(stat -c %u '$STORE/outside.txt')\" != 65534 ]"
	check "chgrp alone" chgrp 0 "$D/made"
	check "... leaves the user" \
		sh -c "[ \"\$(stat -c %u:%g '$STORE/made')\" = 65534:0 ]"
fi
rm -f "$D/host-link" "$D/rel-link" "$D/hard-b" "$D/fifo" "$D/made"

# --- modes and owners as the caller gives them ---
check "made with umask 0: the modes asked for, not less" sh -c \
	"umask 0 && mkdir -m 0777 '$D/m777' && : >'$D/m666' &&
	 mkfifo -m 0666 '$D/p666'"
check "... on the disk" sh -c \
	"[ \"\$(stat -c %a '$STORE/m777' '$STORE/m666' '$STORE/p666' | tr '\n' ' ')\" = '777 666 666 ' ]"
check "with umask 022: 0755 and 0644" sh -c \
	"umask 022 && mkdir '$D/m755' && : >'$D/m644' &&
	 [ \"\$(stat -c %a '$STORE/m755' '$STORE/m644' | tr '\n' ' ')\" = '755 644 ' ]"
check "O_CREAT of a file that exists keeps its mode" sh -c \
	"chmod 600 '$D/m644' && umask 0 && : >>'$D/m644' &&
	 [ \"\$(stat -c %a '$STORE/m644')\" = 600 ]"
rm -rf "$D/m777" "$D/m666" "$D/p666" "$D/m755" "$D/m644"
if [ "$(id -u)" = 0 ]; then
	# another user, through this mount (allow_other): what they make
	# is theirs, as on a disk; a set-group-ID directory passes its group
	chmod 0755 "$T"
	mkdir -m 0777 "$D/pub"
	mkdir "$D/sg" && chgrp 0 "$D/sg" && chmod 2777 "$D/sg"
	check "another user makes a file, a directory, a link and a FIFO" \
		setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		"echo x >'$D/pub/f' && mkdir '$D/pub/d' && ln -s f '$D/pub/l' &&
		 mkfifo '$D/pub/p' && echo y >'$D/sg/f'"
	check "... all theirs on the disk" sh -c \
		"[ \"\$(stat -c %u:%g '$STORE/pub/f' '$STORE/pub/d' '$STORE/pub/l' '$STORE/pub/p' | sort -u)\" = 65534:65534 ]"
	check "... and in the mount" sh -c \
		"[ \"\$(stat -c %u:%g '$D/pub/f' '$D/pub/d' '$D/pub/l' | sort -u)\" = 65534:65534 ]"
	check "... in a set-group-ID directory, its group" sh -c \
		"[ \"\$(stat -c %u:%g '$STORE/sg/f')\" = 65534:0 ]"
	refuse "... who cannot give it away" "not permitted" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		chown 0 "$D/pub/f"
	rm -rf "$D/pub" "$D/sg"
fi

# --- a Python program using only open() and os.* ---
check "a plain-IO Python script works in data/" \
	"$PYTHON3" "$top_srcdir/tests/data-plain.py" "$D"
check "and what it did is on disk" \
	test "$(cat "$STORE/py/first.txt")" = "liXe 0" -a \
	"$(ls "$STORE/py/a/b" | wc -l)" = 18

# --- the same operations on the disk and in data/: the same results ---
mkdir "$T/posix" "$D/posix"
check "what POSIX says: data/ gives what the disk gives" \
	"$PYTHON3" "$top_srcdir/tests/data-posix.py" "$T/posix" "$D/posix"
rm -rf "$D/posix"

# --- cp -a, rsync, tar: contents, sizes, mtimes, modes ---
SRC=$T/src
mkdir -p "$SRC/d1/d2" "$SRC/empty"
head -c 100000 /dev/urandom >"$SRC/d1/r.bin"
head -c 3000000 /dev/urandom >"$SRC/d1/d2/big.bin"
echo small >"$SRC/s.txt"
: >"$SRC/zero"
chmod 600 "$SRC/s.txt"
chmod 750 "$SRC/d1"
touch -d "2019-05-06 07:08:09.5" "$SRC/d1/r.bin"
touch -d "2018-01-01" "$SRC/d1/d2"
# directories older than the copy (rsync compares their mtimes to the
# second)
touch -d "2017-03-04 05:06:07.25" "$SRC/d1" "$SRC/empty"
# manifest DIR: each entry's path, type, size, mode, mtime and checksum
manifest() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %T@ ' \
		-exec sh -c 'if [ -f "$1" ]; then sha256sum <"$1" | cut -c1-64; else echo -; fi' sh {} \; |
		sort)
}
manifest "$SRC" >"$T/m-src"
check "cp -a into data/" cp -a "$SRC" "$D/cp"
manifest "$STORE/cp" >"$T/m-cp-disk"
same "cp -a: contents, modes and mtimes on disk are the source's" \
	"$T/m-src" "$T/m-cp-disk"
manifest "$D/cp" >"$T/m-cp-mnt"
same "and the same through the mount" "$T/m-src" "$T/m-cp-mnt"
check "cp -a out of data/" cp -a "$D/cp" "$T/cp-out"
manifest "$T/cp-out" >"$T/m-cp-out"
same "cp -a out: the same again" "$T/m-src" "$T/m-cp-out"

check "rsync -a into data/" rsync -a "$SRC/" "$D/rs/"
manifest "$STORE/rs" >"$T/m-rs"
same "rsync -a: the same on disk" "$T/m-src" "$T/m-rs"
head -c 5000 /dev/urandom >>"$SRC/d1/d2/big.bin"
echo changed >"$SRC/s.txt"
manifest "$SRC" >"$T/m-src2"
check "rsync -a again, files changed (temp file and rename)" \
	rsync -a "$SRC/" "$D/rs/"
manifest "$STORE/rs" >"$T/m-rs2"
same "rsync -a: the changes are there" "$T/m-src2" "$T/m-rs2"
head -c 7000 /dev/urandom | dd of="$SRC/d1/d2/big.bin" bs=1 seek=1000 \
	conv=notrunc 2>/dev/null
touch -d "2021-02-03" "$SRC/d1/d2/big.bin"
manifest "$SRC" >"$T/m-src3"
check "rsync -a --inplace (writes into the existing files)" \
	rsync -a --inplace --no-whole-file "$SRC/" "$D/rs/"
manifest "$STORE/rs" >"$T/m-rs3"
same "rsync --inplace: the same on disk" "$T/m-src3" "$T/m-rs3"
check "rsync -a out of data/" rsync -a "$D/rs/" "$T/rs-out/"
manifest "$T/rs-out" >"$T/m-rs-out"
same "rsync out: the same" "$T/m-src3" "$T/m-rs-out"

check "tar into data/" sh -c "mkdir '$D/tar' && tar --format=posix -C '$SRC' -cf - . | tar -C '$D/tar' -xf -"
manifest "$STORE/tar" >"$T/m-tar"
same "tar in: the same on disk" "$T/m-src3" "$T/m-tar"
check "tar out of data/" sh -c "mkdir '$T/tar-out' && tar --format=posix -C '$D/tar' -cf - . | tar -C '$T/tar-out' -xf -"
manifest "$T/tar-out" >"$T/m-tar-out"
same "tar out: the same" "$T/m-src3" "$T/m-tar-out"

# --- a large file, and readers and writers at once ---
head -c $((256 * 1024 * 1024)) /dev/urandom >"$T/large"
sum=$(sha256sum <"$T/large" | cut -c1-64)
check "a 256 MiB file copied in" cp "$T/large" "$D/large"
check "on disk: its checksum" \
	test "$(sha256sum <"$STORE/large" | cut -c1-64)" = "$sum"
check "read back through the mount: its checksum" \
	test "$(sha256sum <"$D/large" | cut -c1-64)" = "$sum"
rm -f "$T/large"
for i in 1 2 3 4; do
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/w$i"
done
pids=
for i in 1 2 3 4; do
	cp "$T/w$i" "$D/w$i" &
	pids="$pids $!"
	sh -c "sha256sum <'$D/large' | cut -c1-64 >'$T/r$i'" &
	pids="$pids $!"
done
ok=1
for p in $pids; do wait "$p" || ok=0; done
check "four writers and four readers at once all end well" test $ok = 1
for i in 1 2 3 4; do
	same "writer $i's file is whole" "$T/w$i" "$STORE/w$i"
	check "reader $i read the whole large file" \
		test "$(cat "$T/r$i")" = "$sum"
done
cat >"$T/append.py" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(200):
    os.write(fd, (sys.argv[2] * 9 + "\n").encode())
os.close(fd)
EOF
"$PYTHON3" "$T/append.py" "$D/log" a & p1=$!
"$PYTHON3" "$T/append.py" "$D/log" b & p2=$!
wait $p1; wait $p2
check "two appenders at once: every line whole, none lost" \
	test "$(grep -c -x -e aaaaaaaaa -e bbbbbbbbb "$STORE/log")" = 400

# --- changes made outside show within data_timeout; ours at once ---
echo one >"$STORE/ext.txt"
check "a file made outside shows" test "$(cat "$D/ext.txt")" = one
echo two >"$STORE/ext.txt"
touch -d "2030-01-01" "$STORE/ext.txt"
check "a file changed outside (same size) shows within the cache time" \
	wait_for 10 sh -c "test \"\$(cat '$D/ext.txt')\" = two"
echo longer-now >"$STORE/ext.txt"
check "its new size shows too" \
	wait_for 10 sh -c "test \"\$(stat -c %s '$D/ext.txt')\" = 11"
rm "$STORE/ext.txt"
check "a file removed outside goes" wait_for 10 test ! -e "$D/ext.txt"
i=0
while [ $i -lt 5 ]; do
	echo "v$i" >"$D/own.txt"
	test "$(cat "$D/own.txt")" = "v$i" || break
	i=$((i + 1))
done
check "what this mount wrote is read back at once, each time" test $i = 5

# --- a blob's data is one file ---
ls -a "$MNT/~/model" >"$T/ls-blob"
lacks "a blob whose file does not exist shows no data" "$T/ls-blob" data
check "cp a file to a blob's data" cp "$SRC/d1/r.bin" "$MNT/~/model/data"
same "it is the blob's file" "$SRC/d1/r.bin" "$T/blobs/model.bin"
check "and a regular file in the mount" test -f "$MNT/~/model/data"
ls -a "$MNT/~/model" >"$T/ls-blob2"
has "listed beside the blob's config" "$T/ls-blob2" data
same "read back" "$SRC/d1/r.bin" "$MNT/~/model/data"
refuse "a blob's data is no directory" "Not a directory" ls "$MNT/~/model/data/x"
check "rm of a blob's data removes its file" rm "$MNT/~/model/data"
check "gone from disk" test ! -e "$T/blobs/model.bin"

# --- a table's data/: its partition files ---
check "a table's partitions are directories in its data/" \
	mkdir -p "$MNT/~/sales/data/year=2024" "$MNT/~/sales/data/year=2025"
check "with their files" sh -c "cp '$SRC/d1/r.bin' '$MNT/~/sales/data/year=2024/part-0.parquet' && cp '$SRC/s.txt' '$MNT/~/sales/data/year=2025/part-0.parquet'"
check "as pyarrow writes them, on disk" \
	test -f "$T/sales/year=2024/part-0.parquet" -a \
	-f "$T/sales/year=2025/part-0.parquet"
(cd "$MNT/~/sales/data" && find . -type f | sort) >"$T/parts"
has "listed through the mount" "$T/parts" "./year=2025/part-0.parquet"
if "$PYTHON3" -c 'import pandas, pyarrow' 2>/dev/null; then
	"$PYTHON3" - "$MNT/~/sales/data" "$T/sales" <<'EOF' >"$T/pd" 2>&1
import sys, pandas as pd
df = pd.DataFrame({"year": [2024, 2024, 2025], "v": [1, 2, 3]})
import shutil; shutil.rmtree(sys.argv[1] + "/year=2024"); shutil.rmtree(sys.argv[1] + "/year=2025")
df.to_parquet(sys.argv[1], partition_cols=["year"])
back = pd.read_parquet(sys.argv[1])
assert sorted(back["v"].tolist()) == [1, 2, 3]
assert sorted(pd.read_parquet(sys.argv[2])["v"].tolist()) == [1, 2, 3]
print("ok")
EOF
	has "pandas writes and reads the table's partitions" "$T/pd" ok
fi

# --- a folder's config changed: its data/ follows ---
mkdir -p "$T/store2"
echo elsewhere >"$T/store2/moved.txt"
cat >"$MNT/~/ckpts/config.json" <<EOF
{"resource_type": "folder", "name": "ckpts", "system": "file", "path": "$T/store2"}
EOF
check "after the path changes, data/ is the new directory" \
	wait_for 10 test -f "$D/moved.txt"
check "and no longer the old one" test ! -e "$D/outside.txt"

# --- rm -r of a folder resource empties its data and removes it ---
echo bye >"$T/tmpf/f"
mkdir "$T/tmpf/sub"
check "rm -r of a folder" rm -r "$MNT/~/tmpf"
check "removes it from the namespace" test ! -e "$MNT/~/tmpf"
check "and its data with it (the directory itself stays)" \
	test -d "$T/tmpf" -a -z "$(ls -A "$T/tmpf")"
refuse "mkdir data in a folder: it is there" "File exists" \
	mkdir "$MNT/~/ckpts/data"

# --- a folder whose data holds this mount's mountpoint ($T/mnt): the
# mount is not entered (each level through it would hold one of rhfs's
# threads until none is left) ---
mkdir "$MNT/~/holds"
printf '{"resource_type": "folder", "name": "holds", "path": "%s"}' "$T" \
	>"$MNT/~/holds/config.json"
check "its listing ends, without the mountpoint" sh -c \
	"timeout 30 ls -A '$MNT/~/holds/data' >'$T/holds' &&
	 grep -qx work '$T/holds' && ! grep -qx mnt '$T/holds'"
refuse "... which is not entered" "Too many levels" \
	timeout 30 stat "$MNT/~/holds/data/mnt"
refuse "... nor a path through it" "Too many levels" \
	timeout 30 ls "$MNT/~/holds/data/mnt/~"
check "ls -R of it ends" sh -c \
	"timeout 60 ls -R '$MNT/~/holds/data' >/dev/null"
mkdir "$MNT/~/inside"
printf '{"resource_type": "folder", "name": "inside", "path": "%s"}' \
	"$MNT/~/ckpts/data" >"$MNT/~/inside/config.json"
refuse "a folder whose data is in this mount: refused" "" \
	timeout 30 ls "$MNT/~/inside/data"
has "... saying why" "$MNT/.log" "is in this rhfs mount"
# (not rm -r: that would empty $T, the data of ~/holds)
rm "$MNT/~/holds/config.json" "$MNT/~/inside/config.json"
rmdir "$MNT/~/holds" "$MNT/~/inside"
check "rhfs still answers" timeout 10 ls "$MNT/~/ckpts/data"

finish
