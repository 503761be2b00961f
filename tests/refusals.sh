# refusals.sh - what a resource is made of stays as it is: the names its
# type shows (invoke, calls, status, ctl, run, log) are neither renamed
# nor replaced (EPERM, nothing changes), a call's records are not removed
# (EPERM), a stream's truncate, and of two opens of one config.json the
# last to close wins.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~
EPERM="Operation not permitted"

mkdir "$R/s" "$R/c" "$R/d"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo"]}' \
	>"$R/s/config.json"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"]}' \
	>"$R/c/config.json"
cp "$WORK/rh/s/config.json" "$T/send.json"
cp "$WORK/rh/c/config.json" "$T/cluster.json"

# rename(2) onto a type's name: the config became a temporary file hidden
# behind invoke, gone at unmount.
refuse "config.json onto a send's invoke" "$EPERM" \
	pyrename "$R/s/config.json" "$R/s/invoke"
same "the send's config stays" "$WORK/rh/s/config.json" "$T/send.json"
for name in status ctl run log; do
	refuse "config.json onto a cluster's $name" "$EPERM" \
		pyrename "$R/c/config.json" "$R/c/$name"
done
same "the cluster's config stays" "$WORK/rh/c/config.json" "$T/cluster.json"
touch "$R/s/notes"
refuse "a temporary file onto invoke" "$EPERM" \
	pyrename "$R/s/notes" "$R/s/invoke"
check "it keeps its name" test -e "$R/s/notes"
refuse "a folder onto calls" "$EPERM" pyrename "$R/d" "$R/s/calls"
check "it stays where it was" test -d "$WORK/rh/d"
refuse "a config.json from elsewhere onto run" "$EPERM" \
	pyrename "$R/s/config.json" "$R/c/run"
same "and stays a send" "$WORK/rh/s/config.json" "$T/send.json"
# ... and from them: ENOENT before
refuse "invoke renamed" "$EPERM" pyrename "$R/s/invoke" "$R/s/x"
refuse "calls renamed" "$EPERM" pyrename "$R/s/calls" "$R/d/calls"
refuse "a cluster's ctl renamed" "$EPERM" pyrename "$R/c/ctl" "$R/c/ctl2"
ls "$R/s" >"$T/ls"
has "invoke still listed" "$T/ls" invoke
lacks "no x" "$T/ls" x
has ".log says why" "$MNT/.log" "~/s/invoke is part of the resource"

# A call's records: rm -rf exited 0 having removed nothing (ENOTDIR).
check "a call" sh -c "echo '[\"kept\"]' > '$R/s/invoke'"
id=$(readlink "$R/s/calls/latest")
refuse "rm -rf calls/ID" "$EPERM" rm -rf "$R/s/calls/$id"
check "the call is still there" cat "$R/s/calls/$id/result"
has "with its result" "$T/out" kept
refuse "rm of a call's file" "$EPERM" rm -f "$R/s/calls/$id/stdout"
refuse "rmdir calls/ID" "$EPERM" rmdir "$R/s/calls/$id"
refuse "rm calls/latest" "$EPERM" rm -f "$R/s/calls/latest"
refuse "mkdir in calls/" "$EPERM" mkdir "$R/s/calls/new"
refuse "rmdir of a send's calls/" "$EPERM" rmdir "$R/s/calls"

# truncate(2) of invoke (EISDIR): to 0 is what O_TRUNC does, nothing;
# to another size EPERM; dd truncates its output to 0 first.
refuse "truncate -s 5 invoke" "$EPERM" truncate -s 5 "$R/s/invoke"
check "truncate -s 0 invoke changes nothing" truncate -s 0 "$R/s/invoke"
check "dd into invoke" \
	sh -c "echo '[\"by dd\"]' | dd of='$R/s/invoke' status=none"
check "its call ran" cat "$R/s/calls/latest/result"
has "with dd's line" "$T/out" "by dd"
refuse "truncate of a cluster's status" "Permission denied" \
	truncate -s 0 "$R/c/status"

# Two opens of one config.json: the last to close wins (EBUSY before).
printf '{"resource_type": "folder", "path": "/data/z"}' >"$R/d/config.json"
cat >"$T/two.py" <<'PY'
import errno, sys
a = open(sys.argv[1], "r+")
b = open(sys.argv[1], "r+")
ta, tb = a.read(), b.read()
for f, t, v in ((a, ta, "/data/a"), (b, tb, "/data/b")):
    f.seek(0)
    f.truncate()
    f.write(t.replace("/data/z", v))
a.close()
try:
    b.close()
except OSError as e:
    print("second close: " + errno.errorcode[e.errno])
    sys.exit(1)
PY
check "two writers of one config both close" \
	"$PYTHON3" "$T/two.py" "$R/d/config.json"
has "the last to close wins" "$WORK/rh/d/config.json" "/data/b"
# one changed behind the mount's back is still not overwritten
cat >"$T/behind.py" <<'PY'
import errno, sys
a = open(sys.argv[1], "r+")
t = a.read()
with open(sys.argv[2], "w") as w:
    w.write('{"resource_type": "folder", "path": "/data/disk"}')
a.seek(0)
a.truncate()
a.write(t.replace("/data/b", "/data/c"))
try:
    a.close()
    print("closed")
except OSError as e:
    print("close: " + errno.errorcode[e.errno])
PY
check "a config changed on disk while open" \
	"$PYTHON3" "$T/behind.py" "$R/d/config.json" "$WORK/rh/d/config.json"
has "fails its close with EBUSY" "$T/out" "close: EBUSY"
has "and the change on disk stays" "$WORK/rh/d/config.json" "/data/disk"

finish
