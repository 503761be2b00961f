# sky-lib.sh - the tests' stand-in SkyPilot (tests/sky-standin.py; the
# real SkyPilot is NOT run here: it cannot be installed on this machine).
# Source after lib.sh and sshd-lib.sh (SSH_USER: the user its instances
# let in); sky_setup makes its directory, sky_on_path puts it on PATH.
SKYDIR=$T/sky
BIN=$T/bin

# every "instance" the stand-in started, and the agents on them (the
# head's, and the worker agents of a cluster of several nodes)
stop_nodes() {
	for pidfile in "$SKYDIR"/nodes/*/sshd.pid; do
		[ -f "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		for p in $(pgrep -P "$pid"); do
			kill "$p" 2>/dev/null
		done
		kill "$pid" 2>/dev/null
	done
	if id -u "$SSH_USER" >/dev/null 2>&1; then
		for pidf in "/home/$SSH_USER"/.rh/nodes/*/pid; do
			[ -f "$pidf" ] || continue
			pid=$(cat "$pidf" 2>/dev/null)
			grep -q rhagent "/proc/$pid/cmdline" 2>/dev/null &&
				kill "$pid" 2>/dev/null
		done
		su -s /bin/sh "$SSH_USER" -c \
			'[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop' \
			>/dev/null 2>&1
	fi
}

# the stand-in's directory, for the test user
sky_setup() {
	ensure_ssh_user
	chmod 711 "$T"
	mkdir -p "$SKYDIR" "$BIN"
	chmod 755 "$SKYDIR"
	export SKY_STANDIN_DIR="$SKYDIR" SKY_STANDIN_USER="$SSH_USER"
}

sky_on_path() {
	ln -sf "$top_srcdir/tests/sky-standin.py" "$BIN/sky"
	PATH=$BIN:$PATH
	export PATH
}

# launches: the launch lines of the stand-in's argv log; helps: the
# `sky launch --help` lines
launches() {
	grep -c '^\["launch", "-c"' "$SKYDIR/argv.log" 2>/dev/null
}
helps() {
	grep -c '^\["launch", "--help"\]' "$SKYDIR/argv.log" 2>/dev/null
}
