# secrets.sh - secret resources in ~: one file per field (0600, owned by
# the mounter), values sealed under ~/.rh/ and never in the workdir's rh/;
# a wrong key, swapped or changed ciphertext refused; editors work; no
# value in any log, rhfs's debug output included.
. "$top_srcdir/tests/lib.sh"
mount_rhfs -d
R=$MNT/~
S=$R/secrets/aws
V=$HOME/.rh/secrets/secrets/aws
# values planted to be looked for everywhere they must not be
VALUE=PLANTED-secret-$$-wJalrXUtnFEMI
VALUE2=PLANTED-access-$$-AKIAIOSFODNN7

mkdir -p "$R/secrets/aws"
check "a secret is created by its config.json" sh -c "echo \
'{\"resource_type\": \"secret\", \"provider\": \"aws\",
  \"fields\": [\"access_key\", \"secret_key\"]}' > '$S/config.json'"
ls "$S" >"$T/ls"
has "a field is a file" "$T/ls" secret_key
has "every listed field is" "$T/ls" access_key
check "mode 0600" test "$(stat -c %a "$S/secret_key")" = 600
check "owned by the mounting user" \
	test "$(stat -c %u:%g "$S/secret_key")" = "$(id -u):$(id -g)"
check "a field with no value yet reads empty" test ! -s "$S/secret_key"

check "writing a field" sh -c "printf %s '$VALUE' > '$S/secret_key'"
printf %s "$VALUE" >"$T/want"
same "reading it back" "$S/secret_key" "$T/want"
check "its size is the value's" \
	test "$(stat -c %s "$S/secret_key")" = "${#VALUE}"
check "a value written with echo" sh -c "echo '$VALUE2' > '$S/access_key'"
echo "$VALUE2" >"$T/want2"
same "read with a newline" "$S/access_key" "$T/want2"
check "the sealed value is under ~/.rh/secrets" test -f "$V/secret_key"
check "sealed value 0600" test "$(stat -c %a "$V/secret_key")" = 600
check "its folder 0700" test "$(stat -c %a "$V")" = 700
check "the key file 0600" \
	test "$(stat -c %a "$HOME/.rh/secrets.key")" = 600
has "the sealed value says what it is" "$V/secret_key" '"alg":"AES-256-GCM"'
lacks "config.json holds no value" "$WORK/rh/secrets/aws/config.json" \
	"$VALUE"
ls -a "$WORK/rh/secrets/aws" >"$T/ls"
check "rh/ holds only config.json" test "$(grep -c . "$T/ls")" -eq 3

check "appending" sh -c "printf '%s' '-tail' >> '$S/secret_key'"
printf '%s-tail' "$VALUE" >"$T/want"
same "appended" "$S/secret_key" "$T/want"
check "truncate -s" truncate -s "${#VALUE}" "$S/secret_key"
printf %s "$VALUE" >"$T/want"
same "truncated" "$S/secret_key" "$T/want"

# A value over 1 MiB: the write fails (EFBIG) and nothing of that open
# is stored, though the kernel took the first piece of the write(2).
cat >"$T/bigvalue.py" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
data = b"x" * (2 * 1000 * 1000)
done = 0
try:
    while done < len(data):
        done += os.write(fd, data[done:])
    print("written")
except OSError as e:
    print("write: " + errno.errorcode[e.errno])
os.close(fd)
print("closed")
PY
check "2 MB to a field" "$PYTHON3" "$T/bigvalue.py" "$S/secret_key"
has "fails with EFBIG" "$T/out" "write: EFBIG"
same "and the old value stays" "$S/secret_key" "$T/want"
has ".log says why" "$MNT/.log" \
	"secrets/aws/secret_key: a value over 1048576 bytes"

# Fields come and go with their files.
check "creating a file adds a field" sh -c "printf tok > '$S/token'"
has "listed in config.json" "$WORK/rh/secrets/aws/config.json" '"token"'
check "rm drops it" rm "$S/token"
lacks "no longer listed" "$WORK/rh/secrets/aws/config.json" '"token"'
check "and its value is gone" test ! -e "$V/token"
refuse "a field not listed is not there" "No such file" cat "$S/token"

# Editors: sed -i (temp file + rename), a script's write + os.replace,
# vim through a backup rename.
check "sed -i" sed -i 's/PLANTED-secret/PLANTED-edited/' "$S/secret_key"
VALUE=$(echo "$VALUE" | sed 's/PLANTED-secret/PLANTED-edited/')
printf %s "$VALUE" >"$T/want"
same "sed -i stored" "$S/secret_key" "$T/want"
ls "$S" >"$T/ls"
check "no temp field left" test "$(grep -c . "$T/ls")" -eq 3
cat >"$T/replace.py" <<'PY'
import os, sys
path = sys.argv[1]
tmp = os.path.join(os.path.dirname(path), ".secret.tmp")
with open(tmp, "w") as f:
    f.write(open(path).read() + "-py")
os.replace(tmp, path)
PY
check "write a dot temp file + os.replace" "$PYTHON3" "$T/replace.py" \
	"$S/secret_key"
VALUE=$VALUE-py
printf %s "$VALUE" >"$T/want"
same "os.replace stored" "$S/secret_key" "$T/want"
if command -v vim >/dev/null; then
	check "vim (backupcopy=no, writebackup)" vim -u NONE -i NONE -N -n \
		-Es -c 'set backupcopy=no writebackup nobackup' \
		-c 's/$/-vim/' -c 'wq' "$S/access_key"
	echo "$VALUE2-vim" >"$T/want2"
	same "vim stored" "$S/access_key" "$T/want2"
	VALUE2=$VALUE2-vim
	ls -a "$S" >"$T/ls"
	lacks "no backup left" "$T/ls" "~"
fi
check "mv renames a field" mv "$S/access_key" "$S/ak"
same "its value follows" "$S/ak" "$T/want2"
has "config.json follows" "$WORK/rh/secrets/aws/config.json" '"ak"'
lacks "the old name is gone" "$WORK/rh/secrets/aws/config.json" \
	'"access_key"'
check "and back" mv "$S/ak" "$S/access_key"

# Ciphertext that does not belong where it is refuses to open.
mkdir "$R/secrets/gcp"
echo '{"resource_type": "secret", "provider": "gcp", "fields": ["secret_key"]}' \
	>"$R/secrets/gcp/config.json"
echo other >"$R/secrets/gcp/secret_key"
G=$HOME/.rh/secrets/secrets/gcp
cp "$G/secret_key" "$T/gcp-sealed"
cp "$V/secret_key" "$G/secret_key"
refuse "a value swapped in from another secret" "Permission denied" \
	cat "$R/secrets/gcp/secret_key"
cp "$T/gcp-sealed" "$G/secret_key"
check "its own value reads again" grep -qx other "$R/secrets/gcp/secret_key"
cp "$V/secret_key" "$T/aws-sealed"
cp "$V/access_key" "$V/secret_key"
refuse "a value swapped between fields" "Permission denied" \
	cat "$S/secret_key"
"$PYTHON3" -c 'import base64, json, sys
s = json.load(open(sys.argv[1]))
ct = bytearray(base64.b64decode(s["ct"]))
ct[0] ^= 1
s["ct"] = base64.b64encode(bytes(ct)).decode()
json.dump(s, open(sys.argv[2], "w"))' "$T/aws-sealed" "$V/secret_key"
refuse "changed ciphertext" "Permission denied" cat "$S/secret_key"
echo "not sealed" >"$V/secret_key"
refuse "a stored value that is not sealed" "Input/output error" \
	cat "$S/secret_key"
cp "$T/aws-sealed" "$V/secret_key"
printf %s "$VALUE" >"$T/want"
same "restored, it reads" "$S/secret_key" "$T/want"
cp "$HOME/.rh/secrets.key" "$T/key"
head -c 32 /dev/urandom >"$HOME/.rh/secrets.key"
refuse "a wrong key" "Permission denied" cat "$S/secret_key"
rm "$HOME/.rh/secrets.key"
refuse "a missing key" "Permission denied" cat "$S/secret_key"
cp "$T/key" "$HOME/.rh/secrets.key"
chmod 600 "$HOME/.rh/secrets.key"
same "the right key again" "$S/secret_key" "$T/want"
has "one clear log line" "$MNT/.log" \
	"~/secrets/aws/secret_key: cannot decrypt"
refuse "a config.json carrying values is refused" "Invalid argument" \
	bash -c "echo '{\"resource_type\": \"secret\", \"values\": {\"k\": \"v\"}}' \
	> '$R/secrets/gcp/config.json'"

printf '%s' '{"provider": "aws", "resource_type": "secret", "fields": ["access_key"], "access_key": "AKIAPLAINTEXT"}' >"$T/plain"
refuse "a config.json holding a field's value is refused" "Invalid argument" \
	cp "$T/plain" "$R/secrets/gcp/config.json"
check "the value is nowhere in the workdir" sh -c \
	"! grep -r -q AKIAPLAINTEXT '$WORK'"
has "the reason names the field" "$MNT/.log" \
	"must not hold the value of field 'access_key'"

# Moving a secret re-seals its values for the new address.
check "mv a secret" mv "$S" "$R/secrets/aws2"
same "its values follow" "$R/secrets/aws2/secret_key" "$T/want"
check "and leave the old place" test ! -e "$V"
check "rm -r a secret" rm -r "$R/secrets/aws2"
check "its values are gone" test ! -e "$HOME/.rh/secrets/secrets/aws2"

# Never a value where it must not be.
ps -eo args >"$T/ps"
lacks "not in process arguments" "$T/ps" "$VALUE"
cp "$MNT/.log" "$T/log"
unmount_rhfs
has "the debug output is there to scan" "$T/rhfs.err" "secret_key"
for v in "$VALUE" "$VALUE2" PLANTED; do
	lacks "no value in rhfs's debug output" "$T/rhfs.err" "$v"
	lacks "no value in .log" "$T/log" "$v"
	if grep -r -q -F -- "$v" "$WORK" "$HOME/.rh"; then
		fail "no plaintext in rh/ or ~/.rh/ ($v)"
	else
		pass "no plaintext in rh/ or ~/.rh/"
	fi
done
finish
