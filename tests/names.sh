# names.sh - names that are not names are refused everywhere a name is
# made (mkdir, create, rename), with an error and no change.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~
mkdir "$R/ok"
printf '{"resource_type": "folder", "path": "/d"}' >"$R/ok/config.json"

long=$(printf 'n%.0s' $(seq 1 256))
max=$(printf 'm%.0s' $(seq 1 255))
ctl=$(printf 'a\001b')
nl=$(printf 'a\nb')
del=$(printf 'a\177b')
nel=$(printf 'a\302\205b')
latin1=$(printf 'caf\351')

refuse "mkdir: over NAME_MAX" "File name too long" mkdir "$R/$long"
check "mkdir: NAME_MAX exactly" mkdir "$R/$max"
refuse "mkdir: control character" "Invalid argument" mkdir "$R/$ctl"
refuse "mkdir: newline" "Invalid argument" mkdir "$R/$nl"
refuse "mkdir: DEL" "Invalid argument" mkdir "$R/$del"
refuse "mkdir: a C1 control (U+0085)" "Invalid argument" mkdir "$R/$nel"
refuse "mkdir: invalid UTF-8" "Invalid argument" mkdir "$R/$latin1"
refuse "create: a C1 control (U+0085)" "Invalid argument" \
	touch "$R/ok/$nel"
refuse "rename: invalid UTF-8" "Invalid argument" \
	pyrename "$R/ok" "$R/$latin1"
refuse "mkdir: config.json as a directory" "Invalid argument" \
	mkdir "$R/ok2" "$R/config.json"
refuse "create: control character" "Invalid argument" touch "$R/ok/$ctl"
refuse "create: over NAME_MAX" "File name too long" touch "$R/ok/$long"
refuse "rename: control character" "Invalid argument" \
	pyrename "$R/ok" "$R/$ctl"
refuse "rename: over NAME_MAX" "File name too long" \
	pyrename "$R/ok" "$R/$long"
refuse "rename: a directory onto config.json" "Not a directory" \
	pyrename "$R/ok2" "$R/ok/config.json"
check "the resource did not move" test -f "$WORK/rh/ok/config.json"
refuse "lookup: over NAME_MAX" "File name too long" stat "$R/$long"
refuse "config.json at the root of ~" "Invalid argument" \
	bash -c "echo '{\"resource_type\": \"folder\", \"path\": \"/\"}' > '$R/config.json'"
check "no config.json at the root of rh/" test ! -e "$WORK/rh/config.json"
# '..' and '.' are resolved by the kernel; '/' separates; NUL ends the
# string: none can reach rhfs as part of a name. On disk, nothing odd:
ls "$WORK/rh" >"$T/ls"
if [ "$(grep -c . "$T/ls")" -eq 3 ]; then
	pass "only the valid names reached the disk"
else
	fail "only the valid names reached the disk: $(cat "$T/ls")"
fi
has ".log names the refused name" "$MNT/.log" "control character 0x01"
has ".log names the C1 control" "$MNT/.log" "control character U+0085"
has ".log says invalid UTF-8" "$MNT/.log" "name is not valid UTF-8 (byte 0xe9)"

# Paths too long to reach: a move (or a mkdir) that would put a config
# past PATH_MAX is refused with ENAMETOOLONG and changes nothing (the
# deepest config was left past it, with its old name).
cat >"$T/deep.py" <<'PY'
import errno, json, os, sys
home, work = sys.argv[1], sys.argv[2]
top = os.path.join(home, "d")
os.mkdir(top)
path = top
while len(path) + 201 + len("/config.json") < 4096 - 100:
    path = os.path.join(path, "c" * 200)
    os.mkdir(path)
with open(os.path.join(path, "config.json"), "w") as f:
    f.write('{"resource_type": "folder", "path": "/deep"}')
rel = path[len(top):]

def attempt(what, fn):
    try:
        fn()
        print(what + ": done")
    except OSError as e:
        print(what + ": " + errno.errorcode[e.errno])

attempt("move to a long name", lambda: os.rename(top, top + "x" * 250))
fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
attempt("mkdir below the deepest", lambda: os.mkdir("z" * 250, dir_fd=fd))
os.close(fd)
print("left: " + " ".join(sorted(n for n in os.listdir(home) if n[0] == "d")))
fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
print("below: " + " ".join(sorted(os.listdir(fd))))
os.close(fd)
attempt("move to a short name", lambda: os.rename(top, os.path.join(home, "e")))
cfg = os.path.join(work, "e") + rel + "/config.json"
print("name: " + json.load(open(cfg))["name"][:5])
PY
check "a deep tree" "$PYTHON3" "$T/deep.py" "$R" "$WORK/rh"
has "moved where a config is past PATH_MAX: ENAMETOOLONG" "$T/out" \
	"move to a long name: ENAMETOOLONG"
has "a folder made past it: ENAMETOOLONG" "$T/out" \
	"mkdir below the deepest: ENAMETOOLONG"
has "nothing moved" "$T/out" "left: d"
has "nothing made" "$T/out" "below: config.json"
has "a move that fits is done" "$T/out" "move to a short name: done"
has "and the deepest name follows" "$T/out" "name: ~/e/c"
has ".log says why" "$MNT/.log" "over the 4096 a path can have"

# A refused name is logged as one line: its newline is escaped, so it
# cannot forge a line of rhfs's own in .log or on stderr.
forge=$(printf 'x\nFORGED-LINE error: y')
refuse "mkdir: a name that would forge a log line" "Invalid argument" \
	mkdir "$R/$forge"
for f in "$MNT/.log" "$T/rhfs.err"; do
	no_line_starts "${f##*/}: no line is the name's second half" "$f" \
		"FORGED-LINE"
	has "${f##*/}: the name escaped on one line" "$f" \
		'x\nFORGED-LINE error: y: name contains control character 0x0a'
done

# Names already on disk that rhfs would refuse are not shown.
mkdir "$WORK/rh/$ctl"
ls "$R" >"$T/ls"
lacks "a control-character name on disk is hidden" "$T/ls" "$ctl"
finish
