# refusals.sh - what a resource is made of stays as it is: the names its
# type shows (invoke, calls, status, ctl, run, log) are neither renamed
# nor replaced (EPERM, nothing changes).
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

finish
