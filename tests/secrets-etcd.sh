# secrets-etcd.sh - secrets in the shared namespace, against a real etcd
# with auth: values sealed under alice's secrets key (made on first use,
# wrapped under her password at P/k/alice), etcd holding ciphertext only,
# a second machine (another HOME, same login) reading the same values,
# changed or swapped ciphertext and a changed wrapped key refused, and
# no value in etcd, the logs or rhfs's debug output.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"

etcd_need

HOME_2=$T/home-2
MNT_2=$T/mnt-2
WORK_2=$T/work-2
RHFS_2_PID=
mkdir -p "$HOME_2" "$MNT_2" "$WORK_2"
unmount_2() {
	unmount_at "$MNT_2" "$RHFS_2_PID"
	RHFS_2_PID=
}
trap 'unmount_2; etcd_exit' EXIT

etcd_start || exit 1
P=/rh
RCTL() { ETCDCTL --user root:rootpw "$@"; }
setup() {
	ETCDCTL put $P/t/alice '{"kind":"user"}' &&
	ETCDCTL user add root --new-user-password=rootpw &&
	ETCDCTL user grant-role root root &&
	ETCDCTL user add alice --new-user-password=pw-alice &&
	ETCDCTL role add rh-u-alice || return 1
	for k in n h s; do
		ETCDCTL role grant-permission rh-u-alice --prefix=true \
			readwrite $P/$k/alice/ || return 1
	done
	ETCDCTL role grant-permission rh-u-alice readwrite $P/k/alice &&
	ETCDCTL role grant-permission rh-u-alice --prefix=true read $P/t/ &&
	ETCDCTL user grant-role alice rh-u-alice &&
	ETCDCTL auth enable
}
setup >"$T/setup.log" 2>&1 || { cat "$T/setup.log" >&2; exit 1; }
login_file() { # HOME
	mkdir -p "$1/.rh"
	printf '{"url": "%s", "user": "alice", "password": "pw-alice", "ca_file": null, "prefix": "%s"}\n' \
		"$ETCD_URL" "$P" >"$1/.rh/login.json"
	chmod 600 "$1/.rh/login.json"
}
login_file "$HOME"
login_file "$HOME_2"

VALUE=PLANTED-etcd-$$-wJalrXUtnFEMI
mount_rhfs -d -o connect_timeout=2
S=$MNT/@/secrets/aws
check "a secret in @" sh -c "mkdir -p '$S' && echo \
'{\"resource_type\": \"secret\", \"provider\": \"aws\", \"fields\": [\"secret_key\"]}' \
	> '$S/config.json'"
check "mode 0600" test "$(stat -c %a "$S/secret_key")" = 600
check "owned by the mounting user" \
	test "$(stat -c %u:%g "$S/secret_key")" = "$(id -u):$(id -g)"
check "writing a field" sh -c "printf %s '$VALUE' > '$S/secret_key'"
printf %s "$VALUE" >"$T/want"
same "reading it back" "$S/secret_key" "$T/want"
check "a new field" sh -c "printf k2-$$ > '$S/access_key'"

RCTL get $P/s/alice/secrets/aws/secret_key --print-value-only >"$T/sealed"
has "etcd holds the sealed value at P/s" "$T/sealed" '"alg":"AES-256-GCM"'
RCTL get $P/k/alice --print-value-only >"$T/wrapped"
has "the key is wrapped at P/k/alice" "$T/wrapped" '"kdf":"scrypt"'
RCTL get --prefix $P/ >"$T/all"
lacks "no plaintext anywhere in etcd" "$T/all" "$VALUE"
check "no secrets key file on this machine" \
	test ! -e "$HOME/.rh/secrets.key"

# Another machine: the same login reads the same values.
HOME=$HOME_2 "$RHFS" -f -o "local=$WORK_2,builtins=$BUILTINS" \
	-o "rhagent=$top_builddir/rhagent,connect_timeout=2" "$MNT_2" \
	2>>"$T/rhfs-2.err" &
RHFS_2_PID=$!
wait_mounted "$MNT_2" || { FAILED=$((FAILED + 1)); finish; }
same "a second machine reads the value" "$MNT_2/@/secrets/aws/secret_key" \
	"$T/want"
unmount_2

# Ciphertext that does not belong where it is.
RCTL get $P/s/alice/secrets/aws/access_key --print-value-only >"$T/other"
RCTL put $P/s/alice/secrets/aws/secret_key -- "$(cat "$T/other")" >/dev/null
refuse "a value swapped between fields" "Permission denied" \
	cat "$S/secret_key"
"$PYTHON3" -c 'import base64, json, sys
s = json.load(open(sys.argv[1]))
ct = bytearray(base64.b64decode(s["ct"]))
ct[0] ^= 1
s["ct"] = base64.b64encode(bytes(ct)).decode()
print(json.dumps(s))' "$T/sealed" >"$T/bad"
RCTL put $P/s/alice/secrets/aws/secret_key -- "$(cat "$T/bad")" >/dev/null
refuse "changed ciphertext" "Permission denied" cat "$S/secret_key"
RCTL put $P/s/alice/secrets/aws/secret_key -- "$(cat "$T/sealed")" >/dev/null
# (read whole: the kernel may still hold the size it saw before)
check "restored, it reads" test "$(cat "$S/secret_key")" = "$VALUE"
has "one clear log line" "$MNT/.log" \
	"/alice/secrets/aws/secret_key: cannot decrypt"

# Moving a secret re-seals its values for the new address.
check "mv a secret" mv "$S" "$MNT/@/secrets/aws2"
check "its value follows" \
	test "$(cat "$MNT/@/secrets/aws2/secret_key")" = "$VALUE"
RCTL get --prefix $P/s/alice/secrets/aws/ --keys-only >"$T/old"
check "nothing left at the old address" test ! -s "$T/old"
check "rm -r a secret" rm -r "$MNT/@/secrets/aws2"
RCTL get --prefix $P/s/alice/ --keys-only >"$T/left"
check "its values are gone from etcd" test ! -s "$T/left"

# A wrapped key that is not the one written: refused on a fresh mount.
check "a new secret" sh -c "mkdir -p '$MNT/@/s2' && echo \
'{\"resource_type\": \"secret\", \"fields\": [\"k\"]}' > '$MNT/@/s2/config.json' &&
	printf %s '$VALUE' > '$MNT/@/s2/k'"
cp "$MNT/.log" "$T/log"
unmount_rhfs
"$PYTHON3" -c 'import base64, json, sys
s = json.load(open(sys.argv[1]))
ct = bytearray(base64.b64decode(s["ct"]))
ct[0] ^= 1
s["ct"] = base64.b64encode(bytes(ct)).decode()
print(json.dumps(s))' "$T/wrapped" >"$T/badkey"
RCTL put $P/k/alice -- "$(cat "$T/badkey")" >/dev/null
mount_rhfs -o connect_timeout=2
refuse "a changed wrapped key" "Permission denied" cat "$MNT/@/s2/k"
has "says why" "$MNT/.log" "cannot unwrap the secrets key"
cat "$MNT/.log" >>"$T/log"
RCTL put $P/k/alice -- "$(cat "$T/wrapped")" >/dev/null
unmount_rhfs

# rh passwd: a new password (etcd 3.4: set by root), the key wrapped
# again under it; a wrong administrator password changes nothing.
RH=$top_builddir/rh
RCTL get $P/k/alice --print-value-only >"$T/k-before"
refuse "rh passwd with a wrong admin password" "" sh -c \
	"printf 'pw-new\nwrong\n' | '$RH' passwd --password-stdin"
RCTL get $P/k/alice --print-value-only >"$T/k-after"
same "... changes nothing" "$T/k-before" "$T/k-after"
check "rh passwd" sh -c "printf 'pw-new\nrootpw\n' | '$RH' passwd --password-stdin"
has "the login keeps the new password" "$HOME/.rh/login.json" pw-new
check "etcd takes the new password" ETCDCTL --user alice:pw-new get $P/t/alice
refuse "and not the old" "" ETCDCTL --user alice:pw-alice get $P/t/alice
RCTL get $P/k/alice --print-value-only >"$T/k-new"
check "the key is wrapped again" sh -c "! cmp -s '$T/k-before' '$T/k-new'"
mount_rhfs -o connect_timeout=2
check "a mount with the new password reads the secret" \
	test "$(cat "$MNT/@/s2/k")" = "$VALUE"
cat "$MNT/.log" >>"$T/log"
unmount_rhfs

# rh secrets, logged in: into @/secrets through the library.
mkdir -p "$HOME/.cache/huggingface"
printf 'hf_%s' "$VALUE" >"$HOME/.cache/huggingface/token"
check "rh secrets extract, logged in" \
	sh -c "cd '$WORK' && '$RH' secrets extract huggingface"
has "says where" "$T/out" "/alice/secrets/huggingface"
RCTL get $P/n/alice/secrets/huggingface --print-value-only >"$T/hfcfg"
has "its config is in etcd" "$T/hfcfg" '"token"'
mount_rhfs -o connect_timeout=2
check "the mount reads it" \
	test "$(cat "$MNT/@/secrets/huggingface/token")" = "hf_$VALUE"
cat "$MNT/.log" >>"$T/log"
unmount_rhfs
rm "$HOME/.cache/huggingface/token"
check "rh secrets download, logged in" \
	sh -c "cd '$WORK' && '$RH' secrets download huggingface"
check "the token is back" \
	test "$(cat "$HOME/.cache/huggingface/token")" = "hf_$VALUE"

RCTL get --prefix $P/ >"$T/all"
for f in "$T/all" "$T/rhfs.err" "$T/rhfs-2.err" "$T/log"; do
	lacks "no value in $(basename "$f")" "$f" "$VALUE"
done
has "the debug output is there to scan" "$T/rhfs.err" "secret_key"
finish
