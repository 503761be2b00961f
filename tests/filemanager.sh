# filemanager.sh - the mount as a file manager and GIO see it, under
# Xvfb. PCManFM browses /, ~, ^, @, a send, its calls/, a call and a
# cluster while files that block by design are busy: a running call's
# result, its stdout being followed, the cluster's log being followed.
# The window must keep answering (each folder asked for is shown), and
# gio list/info/copy/open must each return within a second (a bound that
# detects a hang, not a speed check): dynamic files have size 0, so
# neither GIO nor libfm opens them to sniff their type. A send copied out
# with the file manager and pasted back in is the same resource; a
# refused paste ends in the file manager's error report, not a hang.
# Screenshots go to tests/screenshots/ (not part of the sources).
#
# PCManFM, because it is a real Debian file manager built on GIO (like
# Nautilus) that installs in a few packages and runs headless without a
# session bus, gvfs or a settings daemon (Thunar wants xfconfd over
# D-Bus); it takes a folder on its command line, opening it as a new tab
# of the running window, which the window's main loop must serve.
. "$top_srcdir/tests/lib.sh"

for tool in Xvfb pcmanfm xdotool gio import; do
	if ! command -v "$tool" >/dev/null; then
		echo "filemanager: $tool is missing (sh tests/deps.sh installs it)" >&2
		exit 1
	fi
done

XVFB_PID=
FM_PID=
FOLLOW_PIDS=
fm_cleanup() {
	for p in $FOLLOW_PIDS $FM_PID $XVFB_PID; do
		kill "$p" 2>/dev/null
	done
	cleanup
}
trap fm_cleanup EXIT

SHOTS=$top_builddir/tests/screenshots
mkdir -p "$SHOTS" "$T/outside" "$T/run" "$HOME/.config" \
	"$HOME/.local/share/applications"
chmod 700 "$T/run"
# the file manager and GIO keep their settings in the test's HOME
XDG_CONFIG_HOME=$HOME/.config
XDG_DATA_HOME=$HOME/.local/share
XDG_CACHE_HOME=$HOME/.cache
XDG_RUNTIME_DIR=$T/run
export XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR
unset DBUS_SESSION_BUS_ADDRESS

# wait_for DESCRIPTION COMMAND...: a bounded wait (20 s) for COMMAND to
# succeed; a hang detector, not a speed check.
wait_for() {
	desc=$1
	shift
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			fail "$desc (waited 20 s)"
			return 1
		fi
		sleep 0.1
	done
	pass "$desc"
}

shot() {
	import -window root "$SHOTS/$1.png" 2>>"$T/import.err"
}

# window NAME: the visible window titled NAME (the folder shown)
window() {
	xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | head -n 1
}

# shown NAME: whether such a window is there
shown() {
	[ -n "$(window "$1")" ]
}

# show DIR TITLE: open DIR in the running file manager (a new tab, asked
# through its single-instance socket and served by its main loop) and
# check that the window shows it.
show() {
	timeout 10 pcmanfm --no-desktop "$1" >>"$T/fm.out" 2>&1 &
	wait_for "the file manager shows $1" shown "$2"
}

# keys TITLE KEYS...: type KEYS into the window titled TITLE
keys() {
	w=$(window "$1")
	shift
	[ -n "$w" ] || return 1
	timeout 10 xdotool windowfocus --sync "$w" && sleep 0.2 &&
		xdotool key "$@" && sleep 0.3
}

mount_rhfs
R=$MNT/~/fm
mkdir -p "$R/slow" "$R/hello" "$R/out/hello" "$R/in"
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo started; exec sleep 300"]}' \
	>"$R/slow/config.json"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo", "hello"]}' \
	>"$R/hello/config.json"
cp "$R/hello/config.json" "$R/out/hello/config.json"

# The blocking files: a running call's result, its stdout and the
# cluster's log, both followed by readers.
echo '[]' >"$R/slow/invoke"
ID=$(readlink "$R/slow/calls/latest")
C=$R/slow/calls/$ID
check "the running call printed its first line" \
	timeout 20 head -n 1 "$C/stdout"
cat "$C/stdout" >/dev/null 2>&1 &
FOLLOW_PIDS="$FOLLOW_PIDS $!"
cat "$MNT/^/local/log" >/dev/null 2>&1 &
FOLLOW_PIDS="$FOLLOW_PIDS $!"

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$T/display" \
	2>"$T/xvfb.err" &
XVFB_PID=$!
wait_for "Xvfb starts" test -s "$T/display"
DISPLAY=:$(head -n 1 "$T/display")
export DISPLAY

# ---- PCManFM on the mount ----
pcmanfm --no-desktop "$MNT" >"$T/fm.out" 2>&1 &
FM_PID=$!
wait_for "PCManFM opens the mount" shown mnt
shot 01-root
show "$MNT/~" '~'
shot 02-local
show "$MNT/^" '\^'
shot 03-builtins
show "$MNT/@" @
shot 04-shared
show "$R/slow" slow
shot 05-send
show "$R/slow/calls" calls
shot 06-calls
show "$C" "$ID"
shot 07-running-call
show "$MNT/^/local" local
shot 08-cluster
check "the call was still running, its result still blocking" \
	grep -q '"state": "running"' "$C/status"
if kill -0 "$FM_PID" 2>/dev/null; then
	pass "PCManFM is still running"
else
	fail "PCManFM ended: $(tail -n 5 "$T/fm.out")"
fi

# ---- GIO: each call bounded by 1 s ----
for d in "$MNT" "$MNT/~" "$MNT/^" "$MNT/@" "$R/slow" "$R/slow/calls" "$C" \
	"$MNT/^/local"; do
	check "gio list with content types: $d" \
		timeout 1 gio list -a 'standard::*' "$d"
done
for f in "$C/result" "$C/stdout" "$C/stderr" "$MNT/^/local/log" \
	"$MNT/^/local/status" "$R/slow/invoke"; do
	check "gio info with content type: $f" \
		timeout 1 gio info -a 'standard::*' "$f"
	has "... and its size is 0 (nothing to sniff)" "$T/out" \
		"standard::size: 0"
done
check "gio copy copies a config out" \
	timeout 1 gio copy "$R/hello/config.json" "$T/outside/hello.json"
same "... as cat reads it" "$T/outside/hello.json" "$R/hello/config.json"
check "gio mkdir makes a folder" timeout 1 gio mkdir "$R/gio"
check "gio copy of that config into it" \
	timeout 1 gio copy "$T/outside/hello.json" "$R/gio/config.json"
check "... makes the same resource" \
	sh -c "grep -v '\"name\"' '$R/gio/config.json' >'$T/a' &&
	       grep -v '\"name\"' '$R/hello/config.json' >'$T/b' &&
	       cmp -s '$T/a' '$T/b'"
printf '{"resource_type": "send", "hardware": 5}' >"$T/outside/bad.json"
check "gio mkdir for a refused copy" timeout 1 gio mkdir "$R/giobad"
refuse "gio copy of an invalid config fails, within a second" \
	"Invalid argument" \
	timeout 1 gio copy "$T/outside/bad.json" "$R/giobad/config.json"
check "... and makes nothing" test ! -e "$R/giobad/config.json"
# gio open runs the default application of the config's type
cat >"$XDG_DATA_HOME/applications/rhfs-test-open.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=rhfs test opener
Exec=sh -c 'cat "\$1" >"$T/opened"' sh %f
MimeType=application/json;text/plain;
NoDisplay=true
EOF
printf '[Default Applications]\napplication/json=rhfs-test-open.desktop\n' \
	>"$XDG_CONFIG_HOME/mimeapps.list"
check "gio open on a config.json" \
	timeout 1 gio open "$R/hello/config.json"
wait_for "... runs its application on it" test -s "$T/opened"
same "... which reads the config" "$T/opened" "$R/hello/config.json"

# ---- copy a send out with the file manager, and back in ----
mkdir -p "$T/outside/copy"
show "$R/out" out
keys out ctrl+a ctrl+c
show "$T/outside/copy" copy
keys copy ctrl+v
wait_for "the send is copied out" test -s "$T/outside/copy/hello/config.json"
shot 09-copied-out
same "... its config as cat reads it" "$T/outside/copy/hello/config.json" \
	"$R/out/hello/config.json"
# back in: the send's own files (invoke, errors, calls/) are already
# there once config.json is: the file manager asks, and is told to skip
keys copy ctrl+a ctrl+c
show "$R/in" in
keys in ctrl+v
i=0
while [ $i -lt 100 ]; do
	if shown 'Confirm File Replacing'; then
		shot 10-paste-asks
		keys 'Confirm File Replacing' alt+a alt+s
	fi
	[ -s "$R/in/hello/config.json" ] &&
		! shown 'Confirm File Replacing' && break
	sleep 0.2
	i=$((i + 1))
done
check "pasting it back makes a resource" test -s "$R/in/hello/config.json"
check "... the same resource" \
	sh -c "grep -v '\"name\"' '$R/in/hello/config.json' >'$T/a' &&
	       grep -v '\"name\"' '$R/hello/config.json' >'$T/b' &&
	       cmp -s '$T/a' '$T/b'"
check "... a send, with its files" test -e "$R/in/hello/invoke"
shot 11-pasted-in

# a refused paste: an invalid config
mkdir -p "$T/outside/refused/bad"
cp "$T/outside/bad.json" "$T/outside/refused/bad/config.json"
show "$T/outside/refused" refused
keys refused ctrl+a ctrl+c
show "$R/in" in
keys in ctrl+v
wait_for "a refused paste ends in the file manager's error report" \
	shown Finished
shot 12-paste-refused
check "... and makes no resource" test ! -e "$R/in/bad/config.json"
has "... .log says why" "$MNT/.log" "refused: ~/fm/in/bad"
keys Finished Return
show "$MNT/~" '~'
shot 13-after

# the running call cancelled, the followers stopped
echo cancel >"$C/ctl"
for p in $FOLLOW_PIDS; do
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
FOLLOW_PIDS=
kill "$FM_PID" 2>/dev/null
wait "$FM_PID" 2>/dev/null
FM_PID=
finish
