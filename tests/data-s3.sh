# data-s3.sh - a folder's, blob's and table's data in S3 (system "s3")
# through a real mount, against moto's S3 server on a free loopback port:
# what shell tools, cp -a, rsync, tar and a plain-IO Python script do in
# data/ is what the AWS CLI and boto3 find in the bucket; what they change
# there shows in the mount within the cache time, what the mount changes
# at once; a store that stops answering fails within io_timeout and works
# again after; kill -9 of rhfs mid-write leaves the old object whole; the
# aws secret's and the AWS variables' credentials are used, and wrong ones
# are EACCES without the credential in any log.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/moto-lib.sh"

MOTO_PID=
AUTH_PID=
FAULTS_PID=
WRITER=
s3_cleanup() {
	for p in $MOTO_PID $AUTH_PID $FAULTS_PID $WRITER; do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	cleanup
}
trap s3_cleanup EXIT

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
moto_start "$PORT" "$T/moto.log"
MOTO_PID=$STARTED
awsc s3 mb s3://bkt >/dev/null || { echo "data-s3.sh: no bucket" >&2; exit 1; }

# a second server that checks credentials, with a user made for it
APORT=$(free_port)
AURL=http://127.0.0.1:$APORT
moto_start "$APORT" "$T/moto-auth.log" INITIAL_NO_AUTH_ACTION_COUNT=3
AUTH_PID=$STARTED
"$PYTHON3" - "$AURL" >"$T/keys" <<'EOF' || fail "IAM user for the credential checks"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1])
iam.create_user(UserName="t")
iam.put_user_policy(UserName="t", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
k = iam.create_access_key(UserName="t")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
EOF
read -r KEY SECRET <"$T/keys"
BAD=NotTheSecret$$
echo locked >"$T/locked.txt"
AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
	aws --endpoint-url "$AURL" s3 mb s3://auth >/dev/null
AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
	aws --endpoint-url "$AURL" s3 cp "$T/locked.txt" s3://auth/f.txt >/dev/null

DC='"data_config": {"endpoint_url": "'$URL'", "region": "us-east-1"}'
# res DIR JSON: the resource ~/DIR (and the same in the second workdir)
res() {
	for w in "$WORK" "$T/work-2"; do
		mkdir -p "$w/rh/$1"
		echo "$2" >"$w/rh/$1/config.json"
	done
}
res ckpts '{"resource_type": "folder", "name": "ckpts", "system": "s3", "path": "bkt/ckpts", '"$DC"'}'
res model '{"resource_type": "blob", "name": "model", "fs": "s3", "url": "s3://bkt/blobs/model.bin", '"$DC"'}'
res sales '{"resource_type": "table", "name": "sales", "system": "s3", "path": "bkt/sales", "partition_cols": ["year"], '"$DC"'}'
for n in 1 2 3; do
	res "locked$n" '{"resource_type": "folder", "name": "locked'$n'", "system": "s3", "path": "auth", "data_config": {"endpoint_url": "'$AURL'"}}'
done
echo "made outside" >"$T/outside.txt"
awsc s3 cp "$T/outside.txt" s3://bkt/ckpts/outside.txt >/dev/null

# the mount's credentials: the AWS variables (the right ones for the
# server that checks; the other takes any); allow_other: another user's
# changes through it are checked below
AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
	mount_rhfs -o io_timeout=5,allow_other
D=$MNT/~/ckpts/data
s3get() {
	awsc s3 cp "s3://bkt/ckpts/$1" "$2" >/dev/null 2>&1
}
# mpu WHAT BUCKET KEY OP N: of KEY's multipart uploads in progress
# (boto3), how many there are (WHAT "uploads") or how many parts they
# hold ("parts"), until it is N (OP "is") or N or more ("least"), at
# most 120 s; fails with the last count if it never was.
mpu() {
	"$PYTHON3" - "$URL" "$@" <<'EOF'
import boto3, sys, time
url, what, bucket, key, op, n = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=url)
end = time.time() + 120
while True:
    ups = [u for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=key)
           .get("Uploads", []) if u["Key"] == key]
    c = len(ups) if what == "uploads" else sum(
        len(s3.list_parts(Bucket=bucket, Key=key, UploadId=u["UploadId"])
            .get("Parts", [])) for u in ups)
    if c == int(n) or (op == "least" and c > int(n)):
        break
    if time.time() > end:
        sys.exit("%s of %s: %d" % (what, key, c))
    time.sleep(0.2)
EOF
}
# writer SRC DST OUT [BACK]: SRC copied to DST (O_TRUNC) in 1 MiB
# writes in order by a Python script, which keeps DST open after them
# ("written" in OUT) until $T/go-NAME exists (NAME: DST's name), then
# closes it ("closed" in OUT, or the errno's name). With BACK it stops
# halfway ("half") until $T/go-NAME.back exists, then, if BACK is not
# -1, writes 1 MiB of 0xAA at offset BACK (back into the first half)
# before the rest. In the background; its pid in WRITER.
writer() {
	"$PYTHON3" - "$@" "$T/go-$(basename "$2")" <<'EOF' >"$3" 2>&1 &
import errno, os, sys, time
src, dst, out = sys.argv[1:4]
back = int(sys.argv[4]) if len(sys.argv) > 5 else None
go = sys.argv[-1]
end = time.time() + 900
def wait():
    if time.time() > end:
        sys.exit("writer: no word to go on")
    time.sleep(0.1)
data = open(src, "rb").read()
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
half = len(data) if back is None else len(data) // 2
for i in range(0, half, 1 << 20):
    os.pwrite(fd, data[i:min(i + (1 << 20), half)], i)
if back is not None:
    print("half", flush=True)
    while not os.path.exists(go + ".back"):
        wait()
    if back >= 0:
        os.pwrite(fd, b"\xaa" * (1 << 20), back)
    for i in range(half, len(data), 1 << 20):
        os.pwrite(fd, data[i:i + (1 << 20)], i)
print("written", flush=True)
while not os.path.exists(go):
    wait()
try:
    os.close(fd)
    print("closed", flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
EOF
	WRITER=$!
}
s3has() {
	awsc s3api head-object --bucket bkt --key "ckpts/$1" >/dev/null 2>&1
}

# --- the tree ---
ls -a "$MNT/~/ckpts" >"$T/ls-res"
has "a folder in S3 shows data/ beside its config" "$T/ls-res" "data"
check "data/ is a directory" test -d "$D"
check "it lists the prefix's objects" test "$(ls "$D")" = outside.txt
check "and reads them" test "$(cat "$D/outside.txt")" = "made outside"

# --- files ---
check "create and write" sh -c "printf hello >'$D/a.txt'"
s3get a.txt "$T/got"
check "the AWS CLI reads what was written" test "$(cat "$T/got")" = hello
check "and read back" test "$(cat "$D/a.txt")" = hello
check "append" sh -c "printf ' world' >>'$D/a.txt'"
s3get a.txt "$T/got"
check "appended in the object" test "$(cat "$T/got")" = "hello world"
check "size is the object's" test "$(stat -c %s "$D/a.txt")" = 11
check "truncate" truncate -s 5 "$D/a.txt"
s3get a.txt "$T/got"
check "truncated in the object" test "$(cat "$T/got")" = hello
check "and in the mount" test "$(stat -c %s "$D/a.txt")" = 5
check "write in the middle" sh -c "printf J | dd of='$D/a.txt' bs=1 seek=0 conv=notrunc 2>/dev/null"
check "changes that byte" test "$(cat "$D/a.txt")" = Jello
s3get a.txt "$T/got"
check "in the object too" test "$(cat "$T/got")" = Jello
check "chmod" chmod 640 "$D/a.txt"
check "the mode shows in the mount" test "$(stat -c %a "$D/a.txt")" = 640
awsc s3api head-object --bucket bkt --key ckpts/a.txt >"$T/head"
has "kept as s3fs keeps it" "$T/head" '"mode": "33184"'
check "utimens" touch -d "2020-01-02 03:04:05" "$D/a.txt"
check "the mtime shows" test "$(stat -c %Y "$D/a.txt")" = \
	"$(date -d "2020-01-02 03:04:05" +%s)"
check "both in a listing" sh -c "ls -l --time-style=+%Y '$D' | grep -q '^-rw-r----- .* 2020 a.txt'"
check "O_TRUNC empties" sh -c ": >'$D/a.txt'"
s3get a.txt "$T/got"
check "the object too" test ! -s "$T/got"

# --- directories and names ---
check "mkdir" mkdir -p "$D/x/y"
check "an empty directory is a marker object" s3has x/y/
check "rename a file into a directory" mv "$D/a.txt" "$D/x/y/b.txt"
check "moved in the bucket" s3has x/y/b.txt
refuse "the old object is gone" "" s3has a.txt
check "rename a directory" mv "$D/x" "$D/z"
check "moved in the bucket, with what is in it" s3has z/y/b.txt
check "and through the mount" test -f "$D/z/y/b.txt"
check "nothing under the old name" test ! -e "$D/x"
refuse "rmdir of a directory that is not empty" "not empty" rmdir "$D/z/y"
check "unlink" rm "$D/z/y/b.txt"
check "rmdir" rmdir "$D/z/y" "$D/z"
awsc s3 ls --recursive s3://bkt/ckpts/ >"$T/ls"
lacks "gone from the bucket" "$T/ls" "ckpts/z/"
refuse "mkdir of what exists" "File exists" mkdir "$D/outside.txt"
refuse "no hard links in S3" "not permitted" ln "$D/outside.txt" "$D/hard"
refuse "no symbolic links in S3" "not permitted" ln -s outside.txt "$D/sym"
refuse "no FIFOs in S3" "not permitted" mkfifo "$D/fifo"
check "mknod of a regular file is an empty object" "$PYTHON3" -c \
	"import os, stat, sys; os.mknod(sys.argv[1], stat.S_IFREG | 0o600)" \
	"$D/made"
check "... in the bucket" s3has made
if [ "$(id -u)" = 0 ]; then
	# rhfs runs as root: owners are kept as s3fs keeps them, and what
	# another user makes through the mount (allow_other) is theirs
	check "an object without owners is the mounting user's" \
		test "$(stat -c %u:%g "$D/outside.txt")" = 0:0
	check "chown of an object" chown 123:456 "$D/made"
	check "... shows in the mount" \
		test "$(stat -c %u:%g "$D/made")" = 123:456
	awsc s3api head-object --bucket bkt --key ckpts/made >"$T/head"
	has "... kept as s3fs keeps it" "$T/head" '"uid": "123"'
	has "... its group too" "$T/head" '"gid": "456"'
	check "chmod, a rename and a rewrite keep the owner" sh -c \
		"chmod 640 '$D/made' && mv '$D/made' '$D/made2' &&
		 echo new >'$D/made2' &&
		 [ \"\$(stat -c %u:%g:%a '$D/made2')\" = 123:456:640 ]"
	awsc s3api head-object --bucket bkt --key ckpts/made2 >"$T/head"
	has "... in the bucket" "$T/head" '"uid": "123"'
	check "chown to the owner shown changes nothing" \
		chown 123:456 "$D/made2"
	chmod 0755 "$T"
	mkdir -m 0777 "$D/pub"
	check "another user makes a file and a directory" \
		setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		"echo x >'$D/pub/f' && mkdir '$D/pub/d'"
	check "... theirs in the mount" sh -c \
		"[ \"\$(stat -c %u:%g '$D/pub/f' '$D/pub/d' | sort -u)\" = 65534:65534 ]"
	awsc s3api head-object --bucket bkt --key ckpts/pub/f >"$T/head"
	has "... and in the bucket: the file" "$T/head" '"uid": "65534"'
	awsc s3api head-object --bucket bkt --key ckpts/pub/d/ >"$T/head"
	has "... and the directory's marker" "$T/head" '"uid": "65534"'
	check "... with what they wrote" test "$(cat "$D/pub/f")" = x
	refuse "... who cannot give it away" "not permitted" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		chown 0 "$D/pub/f"
	rm -rf "$D/pub" "$D/made2"
else
	refuse "S3 keeps no owners: chown to another is refused" \
		"not permitted" chown 65534 "$D/made"
	rm "$D/made"
fi
check "rm of it" test ! -e "$D/made"

# --- a file open for writing whose name changes here follows a rename;
# removed (unlinked, or renamed over), its close stores nothing ---
"$PYTHON3" - "$D" >"$T/openmv" 2>&1 <<'EOF'
import os, sys
d = sys.argv[1]
def w(name, data):
    fd = os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY | os.O_TRUNC,
                 0o644)
    os.write(fd, data)
    return fd
fd = w("gone.txt", b"one")
os.unlink(os.path.join(d, "gone.txt"))
os.write(fd, b"two")
os.fchmod(fd, 0o600)
os.utime(fd, (1000000000, 1000000000))
st = os.fstat(fd)
assert (st.st_mode & 0o7777, st.st_mtime, st.st_size) == \
    (0o600, 1000000000, 6), st
os.close(fd)
fd = w("old.txt", b"one")
os.rename(os.path.join(d, "old.txt"), os.path.join(d, "new.txt"))
os.write(fd, b"two")
os.close(fd)
fd = w("over.txt", b"mine")
with open(os.path.join(d, "other.txt"), "w") as f:
    f.write("theirs")
os.rename(os.path.join(d, "other.txt"), os.path.join(d, "over.txt"))
os.write(fd, b" more")
os.close(fd)
os.mkdir(os.path.join(d, "dm"))
fd = w("dm/f.txt", b"one")
os.rename(os.path.join(d, "dm"), os.path.join(d, "dm2"))
os.write(fd, b"two")
os.close(fd)
print("done")
EOF
has "files renamed and removed while open for writing (fchmod and futimens of one removed work)" \
	"$T/openmv" done
refuse "one unlinked while open is not stored at its close" "" s3has gone.txt
s3get new.txt "$T/got"
check "one renamed while open is stored under its new name" \
	test "$(cat "$T/got")" = onetwo
refuse "... and not under its old one" "" s3has old.txt
s3get over.txt "$T/got"
check "one renamed over while open: what took its name stays" \
	test "$(cat "$T/got")" = theirs
s3get dm2/f.txt "$T/got"
check "one in a directory renamed while open follows it" \
	test "$(cat "$T/got")" = onetwo
refuse "... and is not under the old directory" "" s3has dm/f.txt
rm -rf "$D/new.txt" "$D/over.txt" "$D/dm2" "$T/got"

# --- a Python program using only open() and os.* ---
check "a plain-IO Python script works in data/" \
	"$PYTHON3" "$top_srcdir/tests/data-plain.py" "$D"
s3get py/first.txt "$T/got"
check "and what it did is in the bucket" test "$(cat "$T/got")" = "liXe 0"
check "every file it left" \
	test "$(awsc s3 ls s3://bkt/ckpts/py/a/b/ | grep -c 'f[0-9]*\.txt')" = 18

# --- cp -a, rsync, tar: contents, sizes, modes, mtimes ---
SRC=$T/src
mkdir -p "$SRC/d1/d2" "$SRC/empty"
head -c 100000 /dev/urandom >"$SRC/d1/r.bin"
head -c 3000000 /dev/urandom >"$SRC/d1/d2/big.bin"
echo small >"$SRC/s.txt"
: >"$SRC/zero"
chmod 600 "$SRC/s.txt"
chmod 750 "$SRC/d1"
touch -d "2019-05-06 07:08:09" "$SRC/d1/r.bin"
touch -d "2018-01-01" "$SRC/d1/d2"
touch -d "2017-03-04 05:06:07" "$SRC/d1" "$SRC/empty"
# manifest DIR: each entry's path, type, mode, mtime (seconds: what S3
# keeps), size and checksum
cat >"$T/manifest.py" <<'EOF'
import hashlib, os, stat, sys
top = sys.argv[1]
out = []
for d, dirs, files in os.walk(top):
    for n in dirs + files:
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, top)
        if stat.S_ISDIR(st.st_mode):
            out.append("%s d %o %d" % (rel, st.st_mode & 0o7777, int(st.st_mtime)))
        else:
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out.append("%s f %o %d %d %s" % (rel, st.st_mode & 0o7777,
                       int(st.st_mtime), st.st_size, h))
print("\n".join(sorted(out)))
EOF
# s3manifest PREFIX: the same for the files under PREFIX, by boto3
cat >"$T/s3manifest.py" <<'EOF'
import boto3, hashlib, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
pre = sys.argv[2]
out = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt", Prefix=pre):
    for o in page.get("Contents", []):
        if o["Key"].endswith("/"):
            continue
        r = s3.get_object(Bucket="bkt", Key=o["Key"])
        m = r["Metadata"]
        mode = int(m["mode"]) & 0o7777 if "mode" in m else 0o644
        mtime = int(m["mtime"]) if "mtime" in m else int(o["LastModified"].timestamp())
        body = r["Body"].read()
        out.append("%s f %o %d %d %s" % (o["Key"][len(pre):], mode, mtime,
                   len(body), hashlib.sha256(body).hexdigest()))
print("\n".join(sorted(out)))
EOF
manifest() { "$PYTHON3" "$T/manifest.py" "$1"; }
s3manifest() { "$PYTHON3" "$T/s3manifest.py" "$URL" "ckpts/$1/"; }
manifest "$SRC" >"$T/m-src"
grep ' f ' "$T/m-src" >"$T/m-src-f"
check "cp -a into data/" cp -a "$SRC" "$D/cp"
s3manifest cp >"$T/m-cp-s3"
same "cp -a: contents, modes and mtimes in the bucket are the source's" \
	"$T/m-src-f" "$T/m-cp-s3"
manifest "$D/cp" >"$T/m-cp-mnt"
same "and the same through the mount, directories too" "$T/m-src" "$T/m-cp-mnt"
check "cp -a out of data/" cp -a "$D/cp" "$T/cp-out"
manifest "$T/cp-out" >"$T/m-cp-out"
same "cp -a out: the same again" "$T/m-src" "$T/m-cp-out"

check "rsync -a into data/" rsync -a "$SRC/" "$D/rs/"
s3manifest rs >"$T/m-rs"
same "rsync -a: the same in the bucket" "$T/m-src-f" "$T/m-rs"
head -c 5000 /dev/urandom >>"$SRC/d1/d2/big.bin"
echo changed >"$SRC/s.txt"
touch -d "2019-05-06 07:08:09" "$SRC/d1/d2/big.bin"
manifest "$SRC" >"$T/m-src2"
grep ' f ' "$T/m-src2" >"$T/m-src2-f"
check "rsync -a again, files changed (temp file and rename)" \
	rsync -a "$SRC/" "$D/rs/"
s3manifest rs >"$T/m-rs2"
same "rsync -a: the changes are in the bucket" "$T/m-src2-f" "$T/m-rs2"
head -c 7000 /dev/urandom | dd of="$SRC/d1/d2/big.bin" bs=1 seek=1000 \
	conv=notrunc 2>/dev/null
touch -d "2021-02-03" "$SRC/d1/d2/big.bin"
manifest "$SRC" >"$T/m-src3"
grep ' f ' "$T/m-src3" >"$T/m-src3-f"
check "rsync -a --inplace (writes into the existing files)" \
	rsync -a --inplace --no-whole-file "$SRC/" "$D/rs/"
s3manifest rs >"$T/m-rs3"
same "rsync --inplace: the same in the bucket" "$T/m-src3-f" "$T/m-rs3"
manifest "$D/rs" >"$T/m-rs3-mnt"
same "and through the mount" "$T/m-src3" "$T/m-rs3-mnt"
check "rsync -a out of data/" rsync -a "$D/rs/" "$T/rs-out/"
manifest "$T/rs-out" >"$T/m-rs-out"
same "rsync out: the same" "$T/m-src3" "$T/m-rs-out"

check "tar into data/" sh -c "mkdir '$D/tar' && tar -C '$SRC' -cf - . | tar -C '$D/tar' -xf -"
s3manifest tar >"$T/m-tar"
same "tar in: the same in the bucket" "$T/m-src3-f" "$T/m-tar"
check "tar out of data/" sh -c "mkdir '$T/tar-out' && tar -C '$D/tar' -cf - . | tar -C '$T/tar-out' -xf -"
manifest "$T/tar-out" >"$T/m-tar-out"
same "tar out: the same" "$T/m-src3" "$T/m-tar-out"

# --- a large file, and readers and writers at once ---
head -c $((256 * 1024 * 1024)) /dev/urandom >"$T/large"
sum=$(sha256sum <"$T/large" | cut -c1-64)
check "a 256 MiB file copied in" cp "$T/large" "$D/large"
awsc s3 cp s3://bkt/ckpts/large "$T/large.s3" >/dev/null 2>&1
check "the AWS CLI's copy: its checksum" \
	test "$(sha256sum <"$T/large.s3" | cut -c1-64)" = "$sum"
rm -f "$T/large" "$T/large.s3"
check "read back through the mount: its checksum" \
	test "$(sha256sum <"$D/large" | cut -c1-64)" = "$sum"
for i in 1 2 3 4; do
	head -c $((8 * 1024 * 1024 + i)) /dev/urandom >"$T/w$i"
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
	s3get "w$i" "$T/got"
	same "writer $i's object is whole" "$T/w$i" "$T/got"
	check "reader $i read the whole large file" \
		test "$(cat "$T/r$i")" = "$sum"
done
rm -f "$D/large"

# --- a file written in order from offset 0: its full parts go up
# while it is written, the rest at close; one written back into a part
# already sent is stored whole at close ---
head -c $((257 * 1024 * 1024)) /dev/urandom >"$T/seq"
writer "$T/seq" "$D/seq.bin" "$T/seq.out"
check "a 257 MiB file written in order" wait_for 300 grep -q written "$T/seq.out"
check "its 32 full parts go up while it is open" \
	mpu parts bkt ckpts/seq.bin is 32
awsc s3api head-object --bucket bkt --key ckpts/seq.bin >"$T/head" 2>&1
has "the object stays as it was meanwhile (made empty at open)" "$T/head" \
	'"ContentLength": 0,'
touch "$T/go-seq.bin"
wait "$WRITER"
WRITER=
has "its close stores it" "$T/seq.out" closed
check "no multipart upload left" mpu uploads bkt ckpts/seq.bin is 0
awsc s3api head-object --bucket bkt --key ckpts/seq.bin >"$T/head" 2>&1
has "the object is 33 parts (32 sent while written, the tail at close)" \
	"$T/head" '-33\"'
s3get seq.bin "$T/got"
check "the AWS CLI's copy: its checksum" \
	test "$(sha256sum <"$T/got" | cut -c1-64)" = "$(sha256sum <"$T/seq" | cut -c1-64)"
rm -f "$D/seq.bin" "$T/seq" "$T/got"

head -c $((48 * 1024 * 1024)) /dev/urandom >"$T/bk"
writer "$T/bk" "$D/back.bin" "$T/back.out" $((4 * 1024 * 1024))
check "a file written in order, half of it" wait_for 120 grep -q half "$T/back.out"
check "its first parts go up" mpu parts bkt ckpts/back.bin least 2
touch "$T/go-back.bin.back"
check "a write back into a part sent: that upload is aborted" \
	mpu uploads bkt ckpts/back.bin is 0
touch "$T/go-back.bin"
wait "$WRITER"
WRITER=
has "its close stores it" "$T/back.out" closed
"$PYTHON3" -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[4 << 20:5 << 20] = b"\xaa" * (1 << 20)
open(sys.argv[2], "wb").write(d)' "$T/bk" "$T/bk.want"
s3get back.bin "$T/got"
same "the object holds every write, the one back too" "$T/bk.want" "$T/got"
awsc s3api head-object --bucket bkt --key ckpts/back.bin >"$T/head" 2>&1
has "stored whole at close: 6 parts" "$T/head" '-6\"'
rm -f "$D/back.bin" "$T/bk" "$T/bk.want" "$T/got"

# --- changes made elsewhere show within the cache time; ours at once ---
echo one >"$T/one"
echo two >"$T/two"
awsc s3 cp "$T/one" s3://bkt/ckpts/ext.txt >/dev/null
check "an object the AWS CLI put shows" test "$(cat "$D/ext.txt")" = one
awsc s3 cp "$T/two" s3://bkt/ckpts/ext.txt >/dev/null
check "an object changed by the AWS CLI (same size) shows within the cache time" \
	wait_for 10 sh -c "test \"\$(cat '$D/ext.txt')\" = two"
awsc s3 rm s3://bkt/ckpts/ext.txt >/dev/null
check "an object removed by the AWS CLI goes" wait_for 10 test ! -e "$D/ext.txt"
# a second mount keeping what it saw for 30 s: its listings come from
# its cache, but what it writes itself shows at once
mount_rhfs_2 -o data_timeout=30
D2=$MNT2/~/ckpts/data
ls "$D2" >/dev/null
awsc s3 cp "$T/one" s3://bkt/ckpts/later.txt >/dev/null
ls "$D2" >"$T/ls2"
lacks "within its cache time, a listing is the one it saw" "$T/ls2" later.txt
check "after it, the object the AWS CLI put is listed" \
	wait_for 60 sh -c "ls '$D2' | grep -q later.txt"
i=0
while [ $i -lt 5 ]; do
	echo "v$i" >"$D2/own.txt"
	test "$(cat "$D2/own.txt")" = "v$i" || break
	ls "$D2" | grep -q own.txt || break
	i=$((i + 1))
done
check "what this mount wrote is listed and read back at once, each time" \
	test $i = 5
rm "$D2/own.txt"
check "what it removed is gone at once" test ! -e "$D2/own.txt"
unmount_rhfs_2

# --- a blob's data is one object ---
ls -a "$MNT/~/model" >"$T/ls-blob"
lacks "a blob whose object does not exist shows no data" "$T/ls-blob" data
check "cp a file to a blob's data" cp "$SRC/d1/r.bin" "$MNT/~/model/data"
awsc s3 cp s3://bkt/blobs/model.bin "$T/got" >/dev/null 2>&1
same "it is the blob's object" "$SRC/d1/r.bin" "$T/got"
same "read back" "$SRC/d1/r.bin" "$MNT/~/model/data"
check "rm of a blob's data removes its object" rm "$MNT/~/model/data"
refuse "gone from the bucket" "" \
	awsc s3api head-object --bucket bkt --key blobs/model.bin

# --- a table's data/: its partition files ---
check "a table's partitions are directories in its data/" \
	mkdir -p "$MNT/~/sales/data/year=2024" "$MNT/~/sales/data/year=2025"
check "with their files" sh -c "cp '$SRC/d1/r.bin' '$MNT/~/sales/data/year=2024/part-0.parquet' && cp '$SRC/s.txt' '$MNT/~/sales/data/year=2025/part-0.parquet'"
awsc s3 ls --recursive s3://bkt/sales/ >"$T/parts"
has "as pyarrow writes them, in the bucket" "$T/parts" \
	"sales/year=2025/part-0.parquet"
if "$PYTHON3" -c 'import pandas, pyarrow' 2>/dev/null; then
	"$PYTHON3" - "$MNT/~/sales/data" <<'EOF' >"$T/pd" 2>&1
import sys, shutil, pandas as pd
for y in ("2024", "2025"):
    shutil.rmtree(sys.argv[1] + "/year=" + y)
df = pd.DataFrame({"year": [2024, 2024, 2025], "v": [1, 2, 3]})
df.to_parquet(sys.argv[1], partition_cols=["year"])
assert sorted(pd.read_parquet(sys.argv[1])["v"].tolist()) == [1, 2, 3]
print("ok")
EOF
	has "pandas writes and reads the table's partitions" "$T/pd" ok
fi

# --- the store stops answering, then goes: bounded, then back ---
echo keep >"$T/keep"
awsc s3 cp "$T/keep" s3://bkt/ckpts/stopped.txt >/dev/null
kill -STOP "$MOTO_PID"
refuse "a server that stops answering: reading fails (io_timeout 5 s)" \
	"timed out" timeout 60 cat "$D/stopped.txt"
refuse "so does creating a file" "timed out" timeout 60 sh -c "echo x >'$D/new-while-stopped'"
kill -CONT "$MOTO_PID"
check "once it answers, the same read works" \
	wait_for 30 sh -c "test \"\$(cat '$D/stopped.txt')\" = keep"
kill "$MOTO_PID"
wait "$MOTO_PID" 2>/dev/null
MOTO_PID=
sleep 2
refuse "a server that is gone: EIO" "Input/output error" \
	timeout 60 ls "$D/py"
moto_start "$PORT" "$T/moto.log"
MOTO_PID=$STARTED
awsc s3 mb s3://bkt >/dev/null
check "the same mount works again after the restart" \
	wait_for 30 sh -c "echo back >'$D/back.txt'"
s3get back.txt "$T/got"
check "what it wrote is there" test "$(cat "$T/got")" = back

# --- kill -9 of rhfs during a write: the old object, whole (the parts
# sent while it was written are no object) ---
head -c $((24 * 1024 * 1024)) /dev/urandom >"$T/old"
head -c $((48 * 1024 * 1024)) /dev/urandom >"$T/new"
awsc s3 cp "$T/old" s3://bkt/ckpts/k.bin >/dev/null
writer "$T/new" "$D/k.bin" "$T/k.out"
check "a file being written over an object: its parts go up" \
	mpu parts bkt ckpts/k.bin is 6
kill -9 "$RHFS_PID"
touch "$T/go-k.bin"
wait "$WRITER" 2>/dev/null
WRITER=
unmount_rhfs
awsc s3 cp s3://bkt/ckpts/k.bin "$T/got" >/dev/null 2>&1
same "after kill -9 mid-write the object is the old file, whole" "$T/old" "$T/got"
AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET mount_rhfs -o io_timeout=5
check "a new mount reads it" cmp -s "$T/got" "$D/k.bin"

# --- credentials ---
check "the AWS variables' credentials reach a server that checks them" \
	test "$(cat "$MNT/~/locked1/data/f.txt")" = locked
mkdir -p "$MNT/~/secrets/aws"
echo '{"resource_type": "secret", "provider": "aws", "fields": ["access_key", "secret_key"]}' \
	>"$MNT/~/secrets/aws/config.json"
printf %s "$KEY" >"$MNT/~/secrets/aws/access_key"
printf %s "$BAD" >"$MNT/~/secrets/aws/secret_key"
refuse "the aws secret's credentials come first: a wrong one is EACCES" \
	"Permission denied" cat "$MNT/~/locked2/data/f.txt"
has "the store's message is in .log" "$MNT/.log" "SignatureDoesNotMatch"
lacks "and no credential is" "$MNT/.log" "$BAD"
lacks "nor in rhfs's own output" "$T/rhfs.err" "$BAD"
printf %s "$SECRET" >"$MNT/~/secrets/aws/secret_key"
check "the aws secret's right credentials work" \
	test "$(cat "$MNT/~/locked3/data/f.txt")" = locked
lacks "no credential in .log" "$MNT/.log" "$SECRET"
lacks "nor in rhfs's own output" "$T/rhfs.err" "$SECRET"

# --- a server in passing trouble (a relay in front of moto brings it): a
# connection lost midway and 503 SlowDown answers are tried again within
# io_timeout, and the operation succeeds; trouble that lasts fails it
# with EIO, bounded, and the mount works again after ---
FPORT=$(free_port)
"$PYTHON3" "$top_srcdir/tests/s3-faults.py" "$FPORT" "$PORT" >"$T/faults.log" 2>&1 &
FAULTS_PID=$!
wait_for 10 grep -q ready "$T/faults.log"
res flaky '{"resource_type": "folder", "name": "flaky", "system": "s3", "path": "bkt/flaky", "data_config": {"endpoint_url": "http://127.0.0.1:'$FPORT'", "region": "us-east-1"}}'
F=$MNT/~/flaky/data
head -c $((24 * 1024 * 1024)) /dev/urandom >"$T/flaky"
awsc s3 cp "$T/flaky" s3://bkt/flaky/in.bin >/dev/null
echo calm >"$T/calm"
awsc s3 cp "$T/calm" s3://bkt/flaky/calm.txt >/dev/null
check "the relay passes requests" test "$(cat "$F/calm.txt")" = calm
kill -USR1 "$FAULTS_PID"
check "a read whose connection is cut midway, then answered 503 twice" \
	cmp "$T/flaky" "$F/in.bin"
check "(the relay cut it and answered 503 twice)" \
	test "$(grep -c '^cut$' "$T/faults.log")" = 1 -a \
	"$(grep -c '^503$' "$T/faults.log")" = 2
kill -USR1 "$FAULTS_PID"
check "a write (a multipart upload) cut midway, then answered 503 twice" \
	cp "$T/flaky" "$F/out.bin"
check "(the relay cut it and answered 503 twice)" \
	test "$(grep -c '^cut$' "$T/faults.log")" = 2 -a \
	"$(grep -c '^503$' "$T/faults.log")" = 4
awsc s3 cp s3://bkt/flaky/out.bin "$T/got" >/dev/null 2>&1
same "the object is the file, whole" "$T/flaky" "$T/got"
awsc s3 cp "$T/calm" s3://bkt/flaky/later.txt >/dev/null
# opened before: its read is a GET, whose 503 says why
exec 4<"$F/later.txt"
kill -USR2 "$FAULTS_PID"
t0=$(date +%s)
refuse "503 on every try: the read fails with EIO" "Input/output error" \
	timeout 60 cat <&4
took=$(( $(date +%s) - t0 ))
exec 4<&-
check "within io_timeout (took ${took} s)" test "$took" -le 6
has "the store's words are in .log" "$MNT/.log" "SlowDown"
kill -USR2 "$FAULTS_PID"
check "trouble over: the same read works" \
	wait_for 10 sh -c "test \"\$(cat '$F/later.txt')\" = calm"

# a part that fails while the file is written (503 on every try) fails
# its close with EIO: the object stays the old one, and the multipart
# upload is aborted
echo "the old one" >"$T/old"
awsc s3 cp "$T/old" s3://bkt/flaky/fail.bin >/dev/null
head -c $((48 * 1024 * 1024)) /dev/urandom >"$T/new"
writer "$T/new" "$F/fail.bin" "$T/fail.out" -1
check "a file written in order through the relay, half of it" \
	wait_for 120 grep -q half "$T/fail.out"
check "its first parts go up" mpu parts bkt flaky/fail.bin least 2
kill -USR2 "$FAULTS_PID"
touch "$T/go-fail.bin.back"
check "the next parts meet 503s and fail" \
	wait_for 60 grep -q "fail.bin: PUT: .*SlowDown" "$MNT/.log"
sleep 1
kill -USR2 "$FAULTS_PID"
touch "$T/go-fail.bin"
wait "$WRITER"
WRITER=
has "the close fails with EIO" "$T/fail.out" EIO
check "no multipart upload left" mpu uploads bkt flaky/fail.bin is 0
awsc s3 cp s3://bkt/flaky/fail.bin "$T/got" >/dev/null 2>&1
same "the object is the old one, whole" "$T/old" "$T/got"
kill "$FAULTS_PID"

finish
