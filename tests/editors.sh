# editors.sh - editing config.json in place the ways people do: echo >,
# cat >, sed -i, vim (writing in place and through a backup rename), nano,
# and a script's write-temp-then-rename.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~
C=$R/box/config.json

mkdir "$R/box"
check "echo > creates" bash -c \
	"echo '{\"resource_type\": \"cluster\", \"ips\": [\"10.0.0.1\"]}' > '$C'"
check "cat > replaces" bash -c "cat > '$C' <<'JSON'
{
    \"name\": \"~/box\",
    \"resource_type\": \"cluster\",
    \"ips\": [\"10.0.0.1\"]
}
JSON"
has "cat > stored" "$WORK/rh/box/config.json" '"~/box"'

check "sed -i edits" sed -i 's/10.0.0.1/10.0.0.2/' "$C"
has "sed -i stored" "$WORK/rh/box/config.json" '10.0.0.2'
cp "$WORK/rh/box/config.json" "$T/before"
refuse "sed -i making it invalid fails" "Invalid argument" \
	sed -i 's/"ips"/"ips": 5, "x"/' "$C"
same "sed -i refused: config intact" "$WORK/rh/box/config.json" "$T/before"
ls -a "$R/box" >"$T/ls"
lines=$(grep -v -x -e . -e .. -e config.json -e status -e ctl -e run -e python -e log "$T/ls" | grep -c .)
if [ "$lines" -le 1 ]; then
	pass "at most sed's refused temp file is left"
else
	fail "stray files left: $(tr '\n' ' ' <"$T/ls")"
fi
for f in "$R"/box/sed*; do [ -e "$f" ] && rm -f "$f"; done

# vim: backupcopy=yes writes into the file; =no renames it to a backup and
# writes a new one. Both must store the edit.
if command -v vim >/dev/null; then
	check "vim (backupcopy=yes) edits" vim -u NONE -i NONE -N -n -Es \
		-c 'set backupcopy=yes' -c '%s/10.0.0.2/10.0.0.3/' -c 'wq' "$C"
	has "vim (backupcopy=yes) stored" "$WORK/rh/box/config.json" '10.0.0.3'
	check "vim (backupcopy=no, writebackup) edits" vim -u NONE -i NONE -N \
		-n -Es -c 'set backupcopy=no writebackup nobackup' \
		-c '%s/10.0.0.3/10.0.0.4/' -c 'wq' "$C"
	has "vim (backupcopy=no) stored" "$WORK/rh/box/config.json" '10.0.0.4'
	check "vim with swap file and backup" vim -u NONE -i NONE -N -Es \
		-c 'set backup backupcopy=auto' -c '%s/10.0.0.4/10.0.0.5/' \
		-c 'wq' "$C"
	has "vim (swap, backup) stored" "$WORK/rh/box/config.json" '10.0.0.5'
	rm -f "$R/box/config.json~"
	cp "$WORK/rh/box/config.json" "$T/before"
	vim -u NONE -i NONE -N -n -Es -c 'set backupcopy=yes' \
		-c '%s/"ips"/"ips": 7, "y"/' -c 'wq' "$C" >/dev/null 2>&1
	same "vim writing an invalid config: intact" \
		"$WORK/rh/box/config.json" "$T/before"
	vim -u NONE -i NONE -N -n -Es -c 'set backupcopy=no writebackup' \
		-c '%s/"ips"/"ips": 7, "y"/' -c 'wq' "$C" >/dev/null 2>&1
	same "vim (rename) writing an invalid config: intact" \
		"$WORK/rh/box/config.json" "$T/before"
	check "the resource is still there" test -f "$C"
	ls -a "$R/box" >"$T/ls"
	lacks "no swap file left" "$T/ls" ".swp"
fi

# nano, driven through a terminal by tmux.
if command -v nano >/dev/null && command -v tmux >/dev/null; then
	sock=$T/tmux
	tmux -S "$sock" new-session -d -x 100 -y 30 \
		"nano --ignorercfiles '$C'"
	sleep 0.5
	tmux -S "$sock" send-keys C-\\ ; sleep 0.2
	tmux -S "$sock" send-keys '10.0.0.5' Enter; sleep 0.2
	tmux -S "$sock" send-keys '10.9.9.9' Enter; sleep 0.2
	tmux -S "$sock" send-keys a; sleep 0.2     # replace this one
	tmux -S "$sock" send-keys C-o; sleep 0.2
	tmux -S "$sock" send-keys Enter; sleep 0.5
	tmux -S "$sock" send-keys C-x; sleep 0.5
	tmux -S "$sock" kill-server 2>/dev/null
	has "nano edits and saves" "$WORK/rh/box/config.json" '10.9.9.9'
fi

# A script that writes a temp file beside it and renames it over.
cat >"$T/replace.py" <<'PY'
import json, os, sys
path = sys.argv[1]
with open(path) as f:
    cfg = json.load(f)
cfg["ips"] = [sys.argv[2]]
tmp = os.path.join(os.path.dirname(path), ".config.json.tmp")
with open(tmp, "w") as f:
    json.dump(cfg, f, indent=4)
os.replace(tmp, path)
PY
check "write temp + os.replace" "$PYTHON3" "$T/replace.py" "$C" 10.7.7.7
has "os.replace stored" "$WORK/rh/box/config.json" '10.7.7.7'
cp "$WORK/rh/box/config.json" "$T/before"
printf '{"resource_type": 1}' >"$R/box/tmpfile"
refuse "renaming an invalid temp file onto config.json" "Invalid argument" \
	pyrename "$R/box/tmpfile" "$C"
same "config intact" "$WORK/rh/box/config.json" "$T/before"
check "the temp file is still there" test -f "$R/box/tmpfile"
check "and can be removed" rm "$R/box/tmpfile"
check "temp files never reach the disk" test ! -e "$WORK/rh/box/tmpfile"
ls -a "$WORK/rh/box" >"$T/ls"
if [ "$(grep -c . "$T/ls")" -eq 3 ]; then
	pass "rh/box on disk holds only config.json"
else
	fail "rh/box on disk holds only config.json: $(cat "$T/ls")"
fi
finish
