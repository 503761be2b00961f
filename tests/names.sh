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

# Names already on disk that rhfs would refuse are not shown.
mkdir "$WORK/rh/$ctl"
ls "$R" >"$T/ls"
lacks "a control-character name on disk is hidden" "$T/ls" "$ctl"
finish
