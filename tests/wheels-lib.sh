# wheels-lib.sh - a local wheelhouse for tests that install packages: no
# package index is reachable here, so tiny packages are built into wheels
# with pip wheel, and pip configuration (no-index, find-links) points at
# them, as a node's own pip configuration would. Source after lib.sh
# (which provides $T); skips the test when no python3 can build wheels.

# a python3 that builds wheels (Debian: python3-pip, -setuptools, -wheel)
WHEEL_PY=
for py in /usr/bin/python3 "$PYTHON3"; do
	if "$py" -c 'import setuptools, wheel, pip' 2>/dev/null; then
		WHEEL_PY=$py
		break
	fi
done
if [ -z "$WHEEL_PY" ]; then
	echo "SKIP: no python3 with pip, setuptools and wheel" >&2
	exit 77
fi

# wheel NAME VERSION: a package NAME whose VERSION is VERSION, as a wheel
# in the wheelhouse $WH (readable by every user)
WH=$T/wheels
wheel() {
	d=$T/src/$1-$2
	mkdir -p "$d/$1"
	printf 'from setuptools import setup\nsetup(name="%s", version="%s", packages=["%s"])\n' \
		"$1" "$2" "$1" >"$d/setup.py"
	echo "VERSION = \"$2\"" >"$d/$1/__init__.py"
	(cd "$d" && "$WHEEL_PY" -m pip wheel -q --no-index \
		--no-build-isolation --no-deps -w "$WH" .) >"$T/wheel.log" 2>&1 ||
		{ cat "$T/wheel.log" >&2; exit 1; }
	chmod -R a+rX "$WH"
}

# pip_conf_text: a pip.conf that installs from the wheelhouse alone
pip_conf_text() {
	printf '[global]\nno-index = true\nfind-links = %s\n' "$WH"
}

# local_pip_conf: the pip configuration of this machine's node (^local:
# the test's HOME), and none from this shell's environment
local_pip_conf() {
	for v in $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/\1/p'); do
		unset "$v"
	done
	mkdir -p "$HOME/.config/pip"
	pip_conf_text >"$HOME/.config/pip/pip.conf"
}

# node_pip_conf: the same for the SSH test user's node (sshd-lib.sh)
node_pip_conf() {
	su -s /bin/sh "$SSH_USER" -c "mkdir -p ~/.config/pip &&
		cat >~/.config/pip/pip.conf" <<CONF
$(pip_conf_text)
CONF
}
