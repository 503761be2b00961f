# s3.sh - the S3 data store (src/data/s3.c) against moto's S3 server on
# a free loopback port, driven through rh_data_ops by tests/data-client;
# the AWS CLI is the independent reader and writer that checks what the
# store did. A second moto server checks credentials (it signs nothing
# off until its IAM user exists).
. "$top_srcdir/tests/lib.sh"
DC=$top_builddir/tests/data-client
RH=$top_builddir/rh

. "$top_srcdir/tests/moto-lib.sh"

MOTO_PID=
AUTH_PID=
DC_PID=
s3_cleanup() {
	[ -n "$DC_PID" ] && kill "$DC_PID" 2>/dev/null
	for p in $MOTO_PID $AUTH_PID; do
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
awsc s3 mb s3://bkt >/dev/null || { echo "s3.sh: no bucket" >&2; exit 1; }
CFG='{"resource_type": "folder", "system": "s3", "path": "bkt/pre",
 "data_config": {"endpoint_url": "'$URL'", "region": "us-east-1"}}'
dc() {
	"$DC" -t 10 "$CFG" "$@" >"$T/dc.out" 2>"$T/dc.err"
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
s3get() {
	awsc s3 cp "s3://bkt/pre/$1" "$2" >/dev/null 2>&1
}
s3has() {
	awsc s3api head-object --bucket bkt --key "pre/$1" >/dev/null 2>&1
}

# ---- files ----
printf 'first line\n' >"$T/a"
printf 'second\n' >"$T/b"
dc_is "create a file" "ok" put f.txt "$T/a"
check "the AWS CLI reads what was written" s3get f.txt "$T/got"
same "its bytes are the file's" "$T/a" "$T/got"
dc_is "stat: a regular file of its size" "ok reg 11 0644" stat f.txt
head -c 3000000 /dev/urandom >"$T/rnd"
awsc s3 cp "$T/rnd" s3://bkt/pre/rnd.bin >/dev/null
dc_is "read an object the AWS CLI wrote (ranged, read ahead)" "ok" \
	get rnd.bin "$T/rnd.got"
same "read back whole" "$T/rnd" "$T/rnd.got"
dc "getat" rnd.bin 2999990 100
head -c 10 "$T/dc.out" >"$T/tail.got"
tail -c 10 "$T/rnd" >"$T/tail.want"
same "a read at an offset near the end" "$T/tail.want" "$T/tail.got"
dc_is "overwrite" "ok" put f.txt "$T/b"
s3get f.txt "$T/got"
same "the object is the new content" "$T/b" "$T/got"
dc_is "append (O_APPEND)" "ok" append f.txt "$T/a"
cat "$T/b" "$T/a" >"$T/ba"
s3get f.txt "$T/got"
same "the object is old + appended" "$T/ba" "$T/got"
dc_is "write in the middle" "ok" pwrite f.txt 3 "$T/b"
"$PYTHON3" -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read()); w = open(sys.argv[2], "rb").read()
d[3:3 + len(w)] = w; open(sys.argv[3], "wb").write(d)' "$T/ba" "$T/b" "$T/mid"
s3get f.txt "$T/got"
same "the middle was rewritten, the rest kept" "$T/mid" "$T/got"
dc_is "truncate to 4 bytes" "ok" truncate f.txt 4
s3get f.txt "$T/got"
head -c 4 "$T/mid" >"$T/four"
same "the object is the first 4 bytes" "$T/four" "$T/got"
dc_is "truncate to 0" "ok" truncate f.txt 0
s3get f.txt "$T/got"
check "the object is empty" test ! -s "$T/got"
dc_is "O_EXCL on an existing file" "error EEXIST" excl f.txt "$T/a"
dc_is "a new file in a missing directory" "error ENOENT" put no/f "$T/a"
dc_is "rename a file" "ok" rename rnd.bin moved.bin
check "the new name holds the bytes" s3get moved.bin "$T/got"
same "renamed whole" "$T/rnd" "$T/got"
refuse "the old name is gone" "" s3has rnd.bin
dc_is "rename with RENAME_NOREPLACE onto a file" "error EEXIST" \
	rename moved.bin f.txt noreplace
dc_is "unlink" "ok" unlink moved.bin
refuse "the object is deleted" "" s3has moved.bin
dc_is "unlink of a missing file" "error ENOENT" unlink moved.bin
dc_is "no symbolic links" "error EINVAL" readlink f.txt
dc_is "chmod is kept" "ok" chmod f.txt 600
dc_is "utimens is kept" "ok" touch f.txt 1000000000
dc_is "stat shows both" "ok reg 0 0600 1000000000" stat f.txt
awsc s3api head-object --bucket bkt --key pre/f.txt >"$T/head"
has "as s3fs keeps the mode" "$T/head" '"mode": "33152"'

# ---- directories ----
dc_is "mkdir" "ok" mkdir d
check "an empty directory is a marker object d/" s3has d/
dc_is "mkdir again" "error EEXIST" mkdir d
dc_is "stat: a directory" "ok dir 0 0755" stat d
dc_is "a file in it" "ok" put d/x "$T/a"
dc_is "rmdir of a non-empty directory" "error ENOTEMPTY" rmdir d
dc_is "unlink of a directory" "error EISDIR" unlink d
dc_is "rmdir of a file" "error ENOTDIR" rmdir f.txt
dc_is "unlink its file" "ok" unlink d/x
dc_is "rmdir" "ok" rmdir d
refuse "its marker is gone" "" s3has d/
dc_is "stat of the removed directory" "error ENOENT" stat d
awsc s3 cp "$T/a" s3://bkt/pre/imp/sub/y >/dev/null
dc "ls" imp
has "a directory that is only a prefix is listed" "$T/dc.out" "sub/ 0"
dc_is "unlink the last file of a prefix-only directory" "ok" \
	unlink imp/sub/y
dc_is "the directory stays (a marker was made)" "ok dir 0 0755" \
	stat imp/sub
dc_is "mkdir dd" "ok" mkdir dd
dc "mkdir" dd/sub
dc "put" dd/one "$T/a"
dc "put" dd/sub/two "$T/b"
dc_is "rename a directory (object by object)" "ok" rename dd ee
awsc s3 ls --recursive s3://bkt/pre/ >"$T/ls"
has "its file moved" "$T/ls" "pre/ee/one"
has "its subdirectory's file moved" "$T/ls" "pre/ee/sub/two"
lacks "nothing left under the old name" "$T/ls" "pre/dd/"
s3get ee/sub/two "$T/got"
same "moved bytes intact" "$T/b" "$T/got"
dc_is "rename a directory into itself" "error EINVAL" rename ee ee/sub/in
dc_is "rename a directory onto a non-empty one" "error ENOTEMPTY" \
	rename imp ee

# ---- a listing of more than 1000 keys (continuation) ----
"$PYTHON3" - "$URL" <<'EOF'
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
for i in range(1100):
    s3.put_object(Bucket="bkt", Key="pre/many/k%04d" % i, Body=b"x")
EOF
dc "ls" many
n=$(grep -c '^k[0-9]* 1$' "$T/dc.out")
if [ "$n" = 1100 ]; then
	pass "all 1100 keys listed (two pages)"
else
	fail "listing of 1100 keys gave $n"
fi

# ---- a multipart upload ----
head -c $((64 * 1024 * 1024 + 12345)) /dev/urandom >"$T/big"
dc_is "write a 64 MiB file" "ok" put big.bin "$T/big"
awsc s3api head-object --bucket bkt --key pre/big.bin >"$T/head"
has "uploaded in 9 parts" "$T/head" '-9\"'
s3get big.bin "$T/big.s3"
check "the AWS CLI's copy has the same SHA-256" \
	test "$(sha256sum <"$T/big" | cut -d' ' -f1)" = \
	"$(sha256sum <"$T/big.s3" | cut -d' ' -f1)"
dc_is "read it back" "ok" get big.bin "$T/big.got"
check "the store's read has the same SHA-256" \
	test "$(sha256sum <"$T/big" | cut -d' ' -f1)" = \
	"$(sha256sum <"$T/big.got" | cut -d' ' -f1)"
rm -f "$T/big" "$T/big.s3" "$T/big.got"

# ---- bad configs ----
"$DC" "$(echo "$CFG" | sed 's|bkt/pre|nobkt/p|')" stat / >"$T/dc.out" 2>&1
has "a missing bucket" "$T/dc.out" \
	"error ENOENT ~/data: no bucket 'nobkt' at $URL"
"$DC" '{"resource_type": "folder", "system": "s3", "path": "bkt",
 "data_config": {"endpoint_url": "ftp://x"}}' >"$T/dc.out" 2>&1
has "an endpoint_url that is no URL" "$T/dc.out" "endpoint_url"

# ---- the store lost and back: every operation bounded ----
: >"$T/long.out"
mkfifo "$T/in"
"$DC" -t 3 "$CFG" <"$T/in" >"$T/long.out" 2>"$T/long.err" &
DC_PID=$!
exec 3>"$T/in"
# the long-lived client's answers so far; await N: until it gave more
# than N, the last in LAST
answers() {
	grep -c '^ok\|^error\|^held' "$T/long.out"
}
more_than() {
	[ "$(answers)" -gt "$1" ]
}
await() {
	wait_for 120 more_than "$1"
	LAST=$(grep '^ok\|^error\|^held' "$T/long.out" | tail -n 1)
}
# say COMMAND: one command to the long-lived client, then its answer
say() {
	n=$(answers)
	echo "$*" >&3
	await "$n"
}
said() {
	if [ "$LAST" = "$2" ]; then
		pass "$1"
	else
		fail "$1 (got '$LAST', want '$2': $(tail -c 300 "$T/long.err"))"
	fi
}
printf 'old content\n' >"$T/old"
printf 'new content, longer\n' >"$T/new"
say put keep.txt "$T/old"
said "the long-lived client writes" "ok"
kill -STOP "$MOTO_PID"
say stat keep.txt
said "a store that stops answering: ETIMEDOUT" "error ETIMEDOUT"
kill -CONT "$MOTO_PID"
say stat keep.txt
said "answered again once it answers" "ok reg 12 0644 ${LAST##* }"
say hold keep.txt "$T/new" "$T/flag"
said "a write staged" "held"
n=$(answers)
kill -STOP "$MOTO_PID"
touch "$T/flag"
await "$n"
said "its upload failed: fsync and close fail" "error ETIMEDOUT"
kill -CONT "$MOTO_PID"
s3get keep.txt "$T/got"
if cmp -s "$T/got" "$T/old" || cmp -s "$T/got" "$T/new"; then
	pass "the object is the old or the new file, whole"
else
	fail "the object is neither the old nor the new file"
fi
kill "$MOTO_PID"
wait "$MOTO_PID" 2>/dev/null
say stat keep.txt
said "a store that is gone: EIO" "error EIO"
moto_start "$PORT" "$T/moto.log"
MOTO_PID=$STARTED
awsc s3 mb s3://bkt >/dev/null
say put back.txt "$T/new"
said "the same store works again after the restart" "ok"
s3get back.txt "$T/got"
same "what it wrote is there" "$T/new" "$T/got"
exec 3>&-
wait "$DC_PID"
DC_PID=

# ---- credentials: a server that checks them ----
APORT=$(free_port)
moto_start "$APORT" "$T/moto-auth.log" INITIAL_NO_AUTH_ACTION_COUNT=3
AUTH_PID=$STARTED
AURL=http://127.0.0.1:$APORT
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
AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
	aws --endpoint-url "$AURL" s3 mb s3://auth >/dev/null
AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
	aws --endpoint-url "$AURL" s3 cp "$T/a" s3://auth/f >/dev/null
ACFG='{"resource_type": "folder", "system": "s3", "path": "auth",
 "data_config": {"endpoint_url": "'$AURL'"}}'
adc() {
	"$DC" -t 10 "$ACFG" "$@" >"$T/dc.out" 2>"$T/dc.err"
}
AWS_SECRET_ACCESS_KEY=$BAD AWS_ACCESS_KEY_ID=$KEY adc stat f
has "wrong credentials: EACCES" "$T/dc.out" "error EACCES"
has "the store's message is logged" "$T/dc.err" "SignatureDoesNotMatch"
lacks "no secret in the log" "$T/dc.err" "$BAD"
AWS_SECRET_ACCESS_KEY=$SECRET AWS_ACCESS_KEY_ID=$KEY adc get f "$T/got"
has "the AWS variables' credentials" "$T/dc.out" "ok"
same "read with them" "$T/a" "$T/got"
lacks "no secret in the log" "$T/dc.err" "$SECRET"
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$KEY" "$SECRET" >"$HOME/.aws/credentials"
(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; adc stat f)
has "~/.aws/credentials' credentials" "$T/dc.out" "ok reg 11"
mkdir -p "$WORK/rh"
(cd "$WORK" && "$RH" secrets extract aws >/dev/null) ||
	fail "rh secrets extract aws"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$KEY" "$BAD" >"$HOME/.aws/credentials"
AWS_SECRET_ACCESS_KEY=$BAD AWS_ACCESS_KEY_ID=$KEY adc stat f
has "the aws secret's credentials come first" "$T/dc.out" "ok reg 11"
lacks "no secret in the log" "$T/dc.err" "$SECRET"
finish
