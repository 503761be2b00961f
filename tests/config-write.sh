# config-write.sh - writing config.json: every kind of invalid content is
# refused, the writer sees the error, the reason is logged in MOUNT/.log,
# and the previous config stays byte-for-byte.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~
C=$R/c/config.json

mkdir "$R/c"
good='{"name": "~/c", "resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["10.0.0.1"], "ssh_creds": {"ssh_user": "ubuntu", "ssh_private_key": "~/.ssh/id_ed25519"}, "ssh_port": 2222}'
check "a valid cluster config is stored" sh -c "printf '%s\n' '$good' > '$C'"
cp "$WORK/rh/c/config.json" "$T/before"

# bad DESCRIPTION EXPECTED-ERROR LOG-TEXT CONTENT: written in one write()
# through the shell; refused at write(), nothing changed, reason logged.
bad() {
	refuse "$1: refused at write()" "$2" \
		bash -c "printf '%s' \"\$1\" > '$C'" sh "$4"
	same "$1: previous config intact" "$WORK/rh/c/config.json" "$T/before"
	has "$1: reason in .log" "$MNT/.log" "$3"
}

bad "malformed JSON" "Invalid argument" "~/c: config.json is not valid JSON" \
	'{"resource_type": "cluster", "ips": ["a",]}'
bad "not JSON at all" "Invalid argument" "~/c: config.json is not valid JSON" 'bad'
bad "an array" "Invalid argument" "must hold a JSON object" '[1, 2]'
bad "a number" "Invalid argument" "must hold a JSON object" '42'
bad "text after the object" "Invalid argument" "text after the JSON value" \
	'{"resource_type": "folder", "path": "/x"} {}'
bad "no resource_type" "Invalid argument" "has no 'resource_type'" \
	'{"name": "~/c", "ips": ["1.2.3.4"]}'
bad "unknown resource_type" "Invalid argument" "unknown resource_type 'gpu'" \
	'{"resource_type": "gpu"}'
bad "resource_type not a string" "Invalid argument" \
	"field 'resource_type' must be a string" '{"resource_type": 7}'
bad "ips not an array" "Invalid argument" "field 'ips' must be an array" \
	'{"resource_type": "cluster", "ips": "1.2.3.4"}'
bad "port out of range" "Invalid argument" "field 'ssh_port' must be a port" \
	'{"resource_type": "cluster", "ips": ["h"], "ssh_port": 70000}'
bad "ssh_creds field type" "Invalid argument" "ssh_creds: field 'ssh_user'" \
	'{"resource_type": "cluster", "ips": ["h"], "ssh_creds": {"ssh_user": 5}}'
bad "use_spot not a bool" "Invalid argument" "field 'use_spot' must be true or false" \
	'{"resource_type": "cluster", "resource_subtype": "OnDemandCluster", "use_spot": "yes"}'
bad "Cluster without ips" "Invalid argument" "needs 'ips'" \
	'{"resource_type": "cluster", "resource_subtype": "Cluster"}'
bad "send without hardware" "Invalid argument" "a send needs 'hardware'" \
	'{"resource_type": "send", "command": ["true"]}'
bad "send without code" "Invalid argument" "a send needs 'fn_pointers'" \
	'{"resource_type": "send", "hardware": "^local"}'
bad "send with both" "Invalid argument" "not both" \
	'{"resource_type": "send", "hardware": "^local", "command": ["x"], "fn_pointers": ["a", "b", "c"]}'
bad "fn_pointers shape" "Invalid argument" "field 'fn_pointers' must be" \
	'{"resource_type": "function", "system": "^local", "fn_pointers": ["a", "b"]}'
bad "command not strings" "Invalid argument" "field 'command' must be" \
	'{"resource_type": "send", "hardware": "^local", "command": [1]}'
bad "folder without path" "Invalid argument" "a folder needs 'path'" \
	'{"resource_type": "folder", "fs": "file"}'
bad "table partition_cols" "Invalid argument" "field 'partition_cols'" \
	'{"resource_type": "table", "path": "/t", "partition_cols": "a"}'
bad "data_config with a credential" "Invalid argument" \
	"data_config holds no credentials ('aws_secret_access_key')" \
	'{"resource_type": "folder", "fs": "s3", "path": "b/p", "data_config": {"aws_secret_access_key": "x"}}'
bad "unknown system" "Invalid argument" "unknown system 'gs'" \
	'{"resource_type": "blob", "system": "gs", "path": "b/x"}'
bad "blob path type" "Invalid argument" "field 'path' must be a string" \
	'{"resource_type": "blob", "path": 3}'
bad "secret with values" "Invalid argument" "must not hold 'values'" \
	'{"resource_type": "secret", "provider": "aws", "values": {"k": "v"}}'
bad "secret field name" "Invalid argument" "not a usable file name" \
	'{"resource_type": "secret", "provider": "x", "fields": ["a/b"]}'

# Incomplete JSON cannot be judged at write(): close() reports it. The
# shell ignores close() errors, so a script that checks them is used.
cat >"$T/close.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, sys.argv[2].encode())
try:
    os.close(fd)
except OSError as e:
    print(e.strerror, file=sys.stderr)
    sys.exit(1)
PY
refuse "incomplete JSON: refused at close()" "Invalid argument" \
	"$PYTHON3" "$T/close.py" "$C" '{"resource_type": "cluster", "ips": ['
same "incomplete JSON: previous config intact" "$WORK/rh/c/config.json" \
	"$T/before"

# Written in pieces: judged when complete.
cat >"$T/pieces.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
for piece in sys.argv[2:]:
    os.write(fd, piece.encode())
os.close(fd)
PY
check "a config written in several writes" "$PYTHON3" "$T/pieces.py" "$C" \
	'{"resource_type": "cluster", "ips": ["10.0.0.' '2"], "use_spot"' \
	': false, "s": "}{\""' '}'
has "stored whole" "$WORK/rh/c/config.json" '"ips": ["10.0.0.2"]'
cp "$WORK/rh/c/config.json" "$T/before"
refuse "pieces completing an invalid config: the last write fails" \
	"Invalid argument" "$PYTHON3" "$T/pieces.py" "$C" \
	'{"resource_type": "cluster", ' '"ips": 5}'
same "previous config intact" "$WORK/rh/c/config.json" "$T/before"

# JSON that Python's json (Runhouse) reads otherwise, or not at all.
bad "a duplicate resource_type" "Invalid argument" \
	"~/c: config.json: '(top level)': key 'resource_type' appears twice" \
	'{"resource_type": "folder", "path": "/x", "resource_type": "send"}'
bad "\\u0000 in a string" "Invalid argument" \
	"~/c: config.json: 'command[0]': a string holds \\u0000" \
	'{"resource_type": "send", "hardware": "^local", "command": ["\u0000rm"]}'
bad "invalid UTF-8 in a string" "Invalid argument" \
	"~/c: config.json: 'path': a string is not valid UTF-8" \
	"$(printf '{"resource_type": "folder", "path": "/x\377"}')"
bad "a number out of range" "Invalid argument" \
	"~/c: config.json: 'ssh_port': the number 1e999 is out of range" \
	'{"resource_type": "cluster", "ips": ["h"], "ssh_port": 1e999}'
bad "a raw tab in a string" "Invalid argument" \
	"~/c: config.json: 'path': a raw control character (0x09)" \
	"$(printf '{"resource_type": "folder", "path": "/a\tb"}')"
same "previous config intact" "$WORK/rh/c/config.json" "$T/before"

# A config whose name rhfs rewrites keeps every other value exactly.
mkdir "$R/nums"
printf '%s\n' '{"name": "elsewhere", "resource_type": "folder", "path": "/d", "provenance": {"big": 9007199254740993, "f": 1.0, "e": 1e2}}' >"$T/nums"
check "a config named elsewhere is stored" cp "$T/nums" "$R/nums/config.json"
"$PYTHON3" -c 'import json, sys; a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); print(b["name"], b["provenance"] == a["provenance"], [type(v).__name__ for v in b["provenance"].values()])' \
	"$T/nums" "$WORK/rh/nums/config.json" >"$T/numsout" 2>&1
has "its name follows its address" "$T/numsout" "~/nums True"
has "numbers read back as written (int past 2^53, float 1.0)" "$T/numsout" \
	"['int', 'float', 'float']"
has "the stored text keeps them" "$WORK/rh/nums/config.json" \
	'"big": 9007199254740993'

# Truncation to nothing is not a config either.
check "truncate -s 0 runs" sh -c "truncate -s 0 '$C' || true"
same "truncate to empty: config intact" "$WORK/rh/c/config.json" "$T/before"
check ": > config.json runs" sh -c ": > '$C'"
same ": > config.json: config intact" "$WORK/rh/c/config.json" "$T/before"

# A NUL byte and oversize content.
refuse "a NUL byte" "Invalid argument" bash -c \
	"printf '{\"resource_type\": \"folder\", \"path\": \"a\0b\"}' > '$C'"
same "NUL: config intact" "$WORK/rh/c/config.json" "$T/before"
"$PYTHON3" -c 'import sys; sys.stdout.write("{\"resource_type\": \"folder\", \"path\": \"" + "x" * (1100 * 1024) + "\"}")' >"$T/big"
refuse "over 1 MiB" "too large" cp "$T/big" "$C"
same "oversize: config intact" "$WORK/rh/c/config.json" "$T/before"
# One write(2) of a valid config and white space, 2 MB in all: the
# kernel's first piece is a whole config, the next one passes 1 MiB.
cat >"$T/bigpad.py" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
data = b'{"resource_type": "folder", "path": "padded"}' + b" " * 2000000
try:
    n = os.write(fd, data)
    os.write(fd, data[n:])
    print("written")
except OSError as e:
    print("write: " + errno.errorcode[e.errno])
os.close(fd)
PY
check "a 2 MB write of a config and white space" "$PYTHON3" "$T/bigpad.py" "$C"
has "fails with EFBIG" "$T/out" "write: EFBIG"
same "and close stores nothing" "$WORK/rh/c/config.json" "$T/before"

# A new config.json that is invalid leaves no resource behind.
mkdir "$R/newres"
refuse "invalid new config.json" "Invalid argument" \
	bash -c "echo '{\"resource_type\": \"nope\"}' > '$R/newres/config.json'"
check "no config.json on disk" test ! -e "$WORK/rh/newres/config.json"
ls "$R/newres" >"$T/ls"
lacks "no config.json listed" "$T/ls" "config.json"
check "touch config.json in a folder makes nothing" \
	sh -c "touch '$R/newres/config.json' || true"
check "still a folder on disk" test ! -e "$WORK/rh/newres/config.json"

# Unknown fields are kept; the bytes are stored as written.
printf '%s\n' '{"name": "~/c", "resource_type": "cluster", "ips": ["h"], "den_auth": false, "my_own": {"x": [1, 2]}}' >"$T/extra"
check "unknown fields are accepted" cp "$T/extra" "$C"
same "and stored byte for byte" "$WORK/rh/c/config.json" "$T/extra"
# Appending completes nothing valid: a second object after the first.
refuse "appending a second object" "Invalid argument" \
	bash -c "echo '{}' >> '$C'"
same "append refused: config intact" "$WORK/rh/c/config.json" "$T/extra"

# A value with a newline is logged on one line, escaped.
printf '%s' '{"resource_type": "x\nFORGED-LINE error: y"}' >"$T/forge"
refuse "a resource_type that would forge a log line" "Invalid argument" \
	cp "$T/forge" "$C"
no_line_starts "no line of .log is the value's second half" "$MNT/.log" \
	"FORGED-LINE"
has ".log has the value escaped" "$MNT/.log" \
	"unknown resource_type 'x\\nFORGED-LINE error: y'"

# A folder marker as Runhouse writes it (neither system nor path) loads,
# is edited and round-trips byte for byte.
mkdir "$WORK/rh/marker"
printf '%s' '{"resource_type": "folder", "name": "builtins", "rns_address": "/builtins"}' \
	>"$WORK/rh/marker/config.json"
check "a Runhouse folder marker is read" cp "$R/marker/config.json" "$T/marker"
same "as it is on disk" "$T/marker" "$WORK/rh/marker/config.json"
printf '%s' '{"resource_type": "folder", "name": "marker", "rns_address": "~/marker", "visibility": "private"}' \
	>"$T/marker2"
check "an edited marker is stored" cp "$T/marker2" "$R/marker/config.json"
same "byte for byte" "$WORK/rh/marker/config.json" "$T/marker2"
check "and read back" cmp "$R/marker/config.json" "$T/marker2"

# The reason is readable by the user, and names the resource.
has ".log names resource and cause" "$MNT/.log" \
	"refused: ~/c: field 'ips' must be an array of strings or null"

# Readers keep the kernel's pages while the stored config is unchanged;
# any change, here or in the workdir, is what the next open reads, in
# full, within the attribute cache time.
mkdir "$R/pc"
printf '%s' '{"resource_type": "folder", "name": "pc", "path": "/a"}' >"$T/pc1"
cp "$T/pc1" "$R/pc/config.json"
check "a read config is read again" cmp "$R/pc/config.json" "$T/pc1"
check "and again, unchanged" cmp "$R/pc/config.json" "$T/pc1"
printf '%s' '{"resource_type": "folder", "name": "pc", "path": "/a/much/longer/path"}' >"$T/pc2"
cat "$T/pc2" >"$WORK/rh/pc/config.json"
check "grown in the workdir: read in full at once" cmp "$R/pc/config.json" "$T/pc2"
printf '%s' '{"resource_type": "folder", "name": "pc", "path": "/b/much/longer/path"}' >"$T/pc3"
cat "$T/pc3" >"$WORK/rh/pc/config.json"
check "same size, changed in the workdir: read at once" cmp "$R/pc/config.json" "$T/pc3"
cp "$T/pc1" "$WORK/rh/pc/new" && mv "$WORK/rh/pc/new" "$WORK/rh/pc/config.json"
check "shrunk by a rename in the workdir: read at once" cmp "$R/pc/config.json" "$T/pc1"
printf '%s' '{"resource_type": "folder", "name": "pc", "path": "/through/the/mount"}' >"$T/pc4"
cat "$T/pc4" >"$R/pc/config.json"
check "written through the mount: read at once" cmp "$R/pc/config.json" "$T/pc4"
check "and again" cmp "$R/pc/config.json" "$T/pc4"
finish
