# packages.sh - a send's packages installed on its node: reqs entries that
# are pip requirements, and a synced directory's requirements.txt, each
# list in a virtualenv of its own under the node's ~/.rh/envs, its calls
# (Python workers and commands) run in it. No package index is reachable
# here, so the test builds its own: tiny packages made into wheels with
# pip wheel, in a wheelhouse the node user's pip.conf points at
# (no-index, find-links), as a node's own pip configuration would.
# Checks, on ^local and over SSH: a send imports a package given only in
# its reqs; requirements.txt is installed; two sends with clashing
# versions each see their own; a command send finds the virtualenv's
# python first on PATH; a failing requirement fails the call with pip's
# reason, in the cluster's log too, and the next call tries again; a list
# already installed on the node is not installed again.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/wheels-lib.sh"

NODE=/home/$SSH_USER
NODE_PIP=$NODE/.config/pip
node_clean() {
	rm -rf "$NODE/.rh/envs" "$NODE/plib" "$NODE_PIP/pip.conf"
	rmdir "$NODE_PIP" "$NODE/.config" 2>/dev/null
}
trap 'stop_node_agent; stop_sshd; node_clean; cleanup' EXIT

wheel rhpkg 1.0
wheel rhpkg 2.0
wheel rhextra 1.0
local_pip_conf

# a Python module and a directory with a requirements.txt
cat >"$WORK/fns.py" <<'PY'
def version():
    import rhpkg
    return rhpkg.VERSION
PY
mkdir -p "$T/plib"
cat >"$T/plib/uses.py" <<'PY'
def extra():
    import rhextra
    return rhextra.VERSION
PY
echo 'rhextra==1.0' >"$T/plib/requirements.txt"

mount_rhfs
R=$MNT/~
# send NAME HARDWARE REQS FN|COMMAND
send() {
	mkdir -p "$R/$1"
	printf '{"resource_type": "send", "hardware": "%s", "reqs": %s, %s}' \
		"$2" "$3" "$4" >"$R/$1/config.json"
}
# result DESC NAME WANT
result() {
	if timeout 120 sh -c "echo '[]' > '$R/$2/invoke' &&
	    cat '$R/$2/calls/latest/result'" >"$T/out" 2>"$T/errout" &&
	    [ "$(cat "$T/out")" = "$3" ]; then
		pass "$1"
	else
		fail "$1 (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
	fi
}

send v1 ^local '["./", "rhpkg==1.0"]' '"fn_pointers": ["work", "fns", "version"]'
send v2 ^local '["./", "pip:rhpkg==2.0"]' '"fn_pointers": ["work", "fns", "version"]'
send rt ^local "[\"local:$T/plib\"]" '"fn_pointers": ["plib", "uses", "extra"]'
send cmd ^local '["rhpkg==1.0"]' \
	'"command": ["python", "-c", "import rhpkg, sys; print(rhpkg.VERSION, sys.prefix)"]'
send none ^local '["./"]' '"fn_pointers": ["work", "fns", "version"]'

result "a package given only in reqs is imported" v1 '"1.0"'
result "a clashing version in another send: its own" v2 '"2.0"'
result "and the first still sees its own" v1 '"1.0"'
result "requirements.txt of a synced directory installed" rt '"1.0"'
check "a command send runs" timeout 120 sh -c "echo '[]' > '$R/cmd/invoke' &&
	cat '$R/cmd/calls/latest/result'"
has "with its virtualenv's python first on PATH" "$T/out" "1.0 $HOME/.rh/envs/reqs-"
check "a send without packages" timeout 60 sh -c "echo '[]' > '$R/none/invoke'"
check "its call ends" timeout 60 cat "$R/none/calls/latest/stderr"
has "and fails: python3 of the node itself has no rhpkg" "$T/out" \
	"No module named 'rhpkg'"
check "the virtualenvs are on the node" test -x "$HOME/.rh/envs"
n=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 | wc -l)
if [ "$n" -eq 3 ]; then
	pass "one per distinct list: 3"
else
	fail "one per distinct list: 3 (got $n)"
fi
has "progress in the log" "$MNT/.log" "~/v1: reqs: installing 1 pip arguments into ~/.rh/envs/reqs-"
has "pip's output in the log" "$MNT/.log" "~/v1: pip: Successfully installed rhpkg-1.0"

# a failing requirement: the call fails with pip's reason; the next
# call tries again, and succeeds once the package is there
send bad ^local '["rhnew==1.0"]' '"command": ["python", "-c", "import rhnew; print(rhnew.VERSION)"]'
cat >"$T/bad.sh" <<SH
exec 3<>'$R/bad/invoke'
echo '[]' >&3
head -n 1 <&3
SH
check "a send with a missing package: the call ends" timeout 120 \
	sh "$T/bad.sh"
has "with pip's last lines in the reason" "$T/out" \
	"~/bad: reqs: 'pip install' failed with exit 1: ERROR: Could not find a version that satisfies the requirement rhnew==1.0"
has "and in the log" "$MNT/.log" \
	"No matching distribution found for rhnew==1.0"
wheel rhnew 1.0
result "the next call tries again and installs it" bad '1.0'

# a list installed on the node is not installed again (a new mount)
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.1"
mount_rhfs
result "after a remount, the same list" v1 '"1.0"'
lacks "is not installed again" "$MNT/.log" "reqs: installing"
send v1 ^local '["./", "rhpkg==2.0", "rhextra"]' '"fn_pointers": ["work", "fns", "version"]'
result "a changed list" v1 '"2.0"'
has "is installed" "$MNT/.log" "~/v1: reqs: installing"

# over SSH: the node user's pip.conf
start_sshd || finish
stop_node_agent
node_clean
node_pip_conf
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.2"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
mkdir "$R/node"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
send s1 '~/node' "[\"local:$T/plib\", \"rhpkg==1.0\"]" \
	'"command": ["python", "-c", "import rhpkg, rhextra; print(rhpkg.VERSION, rhextra.VERSION)"]'
send s2 '~/node' "[\"local:$T/plib\"]" '"fn_pointers": ["plib", "uses", "extra"]'
result "over SSH: packages from reqs and requirements.txt" s1 '1.0 1.0'
result "over SSH: a Python send's worker imports its package" s2 '"1.0"'
check "in the node user's ~/.rh/envs" test -d "$NODE/.rh/envs"
finish
