# envs.sh - env resources (Runhouse's rh.env) and a send's env: an env
# is validated and stored like any resource; a send names one (address or
# bare name) or holds one inline; each env with packages is a virtualenv
# of its own on the node, so two sends with clashing versions of a package
# each see their own (on ^local and over SSH); a command send gets the
# env's bin/ first on PATH, its env_vars and its working_dir; a changed
# env is updated in place (no new virtualenv) and the Python workers that
# ran the old one are let go; a virtualenv removed from the node is made
# again; system_site_packages; bad envs refused with
# the send and the env named, nothing changed; a cluster's default_env:
# its python and run files and its sends of no env run in it, bad ones
# refused. Packages come from a local
# wheelhouse (tests/wheels-lib.sh): no index is reachable here.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
. "$top_srcdir/tests/wheels-lib.sh"

NODE=/home/$SSH_USER
node_clean() {
	rm -rf "$NODE/.rh/envs" "$NODE/plib" "$NODE/wdir" \
		"$NODE/.config/pip/pip.conf"
}
trap 'stop_node_agent; stop_sshd; node_clean; cleanup' EXIT

wheel rhpkg 1.0
wheel rhpkg 2.0
wheel rhpkg 3.0
local_pip_conf

cat >"$WORK/fns.py" <<'PY'
import os


def info():
    import rhpkg
    return [rhpkg.VERSION, os.getpid()]


def has(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False
PY

mount_rhfs
R=$MNT/~
# put NAME JSON: the config of ~/NAME
put() {
	mkdir -p "$R/$1"
	printf '%s' "$2" >"$R/$1/config.json"
}
# call NAME [ARGS]: one call of ~/NAME; its result in $T/out
call() {
	timeout 180 sh -c "echo '${2:-[]}' > '$R/$1/invoke' &&
		cat '$R/$1/calls/latest/result'" >"$T/out" 2>"$T/errout"
}
# result DESC NAME WANT [ARGS]
result() {
	if call "$2" "$4" && [ "$(cat "$T/out")" = "$3" ]; then
		pass "$1"
	else
		fail "$1 (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
	fi
}
# field N: the Nth (from 0) element of the JSON array in $T/out
field() {
	"$PYTHON3" -c 'import json, sys; print(json.load(open(sys.argv[1]))[int(sys.argv[2])])' \
		"$T/out" "$1"
}

# env configs: validated and stored like any resource
put e1 '{"resource_type": "env", "reqs": ["./", "rhpkg==1.0"]}'
check "an env is stored" cat "$R/e1/config.json"
has "and shown with its name" "$T/out" '"name": "~/e1"'
put e2 '{"resource_type": "env", "resource_subtype": "Env", "name": "e2", "reqs": ["./", "pip:rhpkg==2.0"], "setup_cmds": ["echo e2 > e2-setup.txt"]}'
check "a Runhouse-style env (subtype, setup_cmds) is stored" \
	test -s "$WORK/rh/e2/config.json"
mkdir "$R/bad"
cp "$WORK/rh/e1/config.json" "$T/e1-before"
# bad DESC LOG-TEXT JSON: an env config refused, the old one kept
bad() {
	refuse "$1: refused" "Invalid argument" \
		bash -c "printf '%s' \"\$1\" > '$R/e1/config.json'" sh "$3"
	same "$1: the env is unchanged" "$WORK/rh/e1/config.json" \
		"$T/e1-before"
	has "$1: the reason in .log" "$MNT/.log" "$2"
}
bad "env_vars not strings" "~/e1: env_vars: variable 'A' must be a string" \
	'{"resource_type": "env", "env_vars": {"A": 1}}'
bad "an unknown field" "~/e1: unknown field 'packages'" \
	'{"resource_type": "env", "packages": ["x"]}'
bad "reqs not an array" "~/e1: field 'reqs' must be an array" \
	'{"resource_type": "env", "reqs": "rhpkg"}'
bad "system_site_packages not a bool" \
	"~/e1: field 'system_site_packages' must be true or false" \
	'{"resource_type": "env", "system_site_packages": "yes"}'
bad "a conda env" "~/e1: conda environments are not supported" \
	'{"resource_type": "env", "resource_subtype": "CondaEnv", "conda_yaml": {"dependencies": ["python"]}}'
refuse "a send with a bad inline env is refused" "Invalid argument" \
	bash -c "printf '%s' '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"command\": [\"true\"], \"env\": {\"working_dir\": 3}}' > '$R/bad/config.json'"
has "naming the send and its env" "$MNT/.log" \
	"~/bad: field 'env': field 'working_dir' must be a string"
check "nothing was stored" test ! -e "$WORK/rh/bad/config.json"

# two sends, two envs with clashing versions: each its own
put p1 '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["work", "fns", "info"], "env": "~/e1"}'
put p2 '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["work", "fns", "info"], "env": "e2"}'
if call p1 && [ "$(field 0)" = 1.0 ]; then
	pass "a send in env ~/e1 imports its rhpkg 1.0"
else
	fail "a send in env ~/e1 imports its rhpkg 1.0 (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
pid1=$(field 1)
if call p2 && [ "$(field 0)" = 2.0 ]; then
	pass "a send naming env e2 (a bare name) sees rhpkg 2.0"
else
	fail "a send naming env e2 (a bare name) sees rhpkg 2.0 (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
pid2=$(field 1)
if call p1 && [ "$(field 0)" = 1.0 ] && [ "$(field 1)" = "$pid1" ]; then
	pass "the first still sees its own, on the same warm worker"
else
	fail "the first still sees its own, on the same warm worker (got '$(cat "$T/out")', worker $pid1)"
fi
n=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 -name 'env-e1-*' | wc -l)
if [ "$n" -eq 1 ]; then
	pass "env ~/e1 is one virtualenv on the node"
else
	fail "env ~/e1 is one virtualenv on the node (found $n)"
fi
E1=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 -name 'env-e1-*')
check "an env's setup_cmds ran" cat "$HOME/e2-setup.txt"
has "... once" "$T/out" "e2"
has "the env's progress in the log" "$MNT/.log" \
	"~/p1: reqs: installing 1 pip arguments into ~/.rh/envs/env-e1-"

# a command send: the env's bin/ first on PATH, its env_vars, its
# working_dir (a directory on the node)
mkdir -p "$HOME/envwd"
put e3 '{"resource_type": "env", "reqs": ["rhpkg==2.0"], "env_vars": {"GREETING": "hola", "OTHER": "x y"}, "working_dir": "envwd"}'
put c3 '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "echo \"$GREETING|$OTHER|$(pwd)|$(command -v python)\"; python -c \"import rhpkg; print(rhpkg.VERSION)\""], "env": "~/e3"}'
check "a command send in an env runs" call c3
E3=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 -name 'env-e3-*')
has "its env_vars, working_dir and the env's python first on PATH" \
	"$T/out" "hola|x y|$HOME/envwd|$E3/bin/python"
has "and the env's package" "$T/out" "2.0"
# a Python send gets env_vars and working_dir as well
cat >"$WORK/where.py" <<'PY'
import os


def where():
    return [os.getcwd(), os.environ.get("GREETING")]
PY
put w3 '{"resource_type": "send", "hardware": "^local", "reqs": ["./"], "fn_pointers": ["work", "where", "where"], "env": "~/e3"}'
result "a Python send in the env: its working_dir and env_vars" w3 \
	"[\"$HOME/envwd\", \"hola\"]"

# the env changes: updated in place, the old workers let go
put e1 '{"resource_type": "env", "reqs": ["./", "rhpkg==3.0"]}'
if call p1 && [ "$(field 0)" = 3.0 ]; then
	pass "a changed env: the new version is seen"
else
	fail "a changed env: the new version is seen (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
if [ "$(field 1)" != "$pid1" ]; then
	pass "by a new worker"
else
	fail "by a new worker (still $pid1)"
fi
if wait_for 10 sh -c "! kill -0 $pid1 2>/dev/null"; then
	pass "the worker that ran the old env is gone"
else
	fail "the worker that ran the old env is gone ($pid1 still runs)"
fi
check "in the same virtualenv" test -d "$E1"
n=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 -name 'env-e1-*' | wc -l)
if [ "$n" -eq 1 ]; then
	pass "no new virtualenv for a changed env"
else
	fail "no new virtualenv for a changed env (found $n)"
fi
if call p2 && [ "$(field 0)" = 2.0 ] && [ "$(field 1)" = "$pid2" ]; then
	pass "the other env's worker goes on"
else
	fail "the other env's worker goes on (got '$(cat "$T/out")', worker $pid2)"
fi
n=$(grep -c "~/p2: reqs: installing" "$MNT/.log")
if [ "$n" -eq 1 ]; then
	pass "an unchanged env is not installed again"
else
	fail "an unchanged env is not installed again ($n installs)"
fi

# an env's virtualenv removed from the node: made again (and its
# setup_cmds run again) when a new connection readies the send
E2=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 -name 'env-e2-*')
rm -rf "$E2" "$HOME/e2-setup.txt"
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.0"
mount_rhfs
if call p2 && [ "$(field 0)" = 2.0 ]; then
	pass "a removed virtualenv is made again"
else
	fail "a removed virtualenv is made again (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
has "the log says so" "$MNT/.log" "is gone from the node: made again"
check "and the env's setup_cmds ran again" test -s "$HOME/e2-setup.txt"

# system_site_packages: the node's own packages (here the user's
# site-packages of its python3) in sight, or not
usite=$(python3 -c 'import site; print(site.getusersitepackages())')
mkdir -p "$usite"
echo 'X = 1' >"$usite/rhsys.py"
put sys1 '{"resource_type": "env", "reqs": ["./"], "system_site_packages": true}'
put sys0 '{"resource_type": "env", "reqs": ["./"], "system_site_packages": false}'
put ps1 '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["work", "fns", "has"], "env": "~/sys1"}'
put ps0 '{"resource_type": "send", "hardware": "^local", "fn_pointers": ["work", "fns", "has"], "env": "~/sys0"}'
result "system_site_packages true: the node's packages are seen" ps1 true \
	'["rhsys"]'
result "system_site_packages false: they are not" ps0 false '["rhsys"]'
S1=$(find "$HOME/.rh/envs" -mindepth 1 -maxdepth 1 -name 'env-sys1-*')
has "... made with --system-site-packages" "$S1/pyvenv.cfg" \
	"include-system-site-packages = true"
put sys1 '{"resource_type": "env", "reqs": ["./"], "system_site_packages": false}'
result "turned off: the same virtualenv no longer sees them" ps1 false \
	'["rhsys"]'
rm -f "$usite/rhsys.py"

# bad env references: the write of a call fails, naming send and env
put nx '{"resource_type": "send", "hardware": "^local", "command": ["true"], "env": "~/no-such-env"}'
refuse "a send naming an env that is not there: the call is refused" \
	"No such file" bash -c "echo '[]' > '$R/nx/invoke'"
has "the reason names the send and the env" "$MNT/.log" \
	"~/nx: env ~/no-such-env: no such env"
check "no call was made" test ! -e "$R/nx/calls/latest"
put nx '{"resource_type": "send", "hardware": "^local", "command": ["true"], "env": "~/p1"}'
refuse "a send whose env is not an env" "Invalid argument" \
	bash -c "echo '[]' > '$R/nx/invoke'"
has "the reason names both" "$MNT/.log" "~/nx: env ~/p1: is a send, not an env"
# an env edited behind rhfs's back into a bad one
printf '%s' '{"resource_type": "env", "env_vars": {"A": 1}}' \
	>"$WORK/rh/e3/config.json"
refuse "a send whose env is broken: the call is refused" "Invalid argument" \
	bash -c "echo '[]' > '$R/c3/invoke'"
has "the reason names send, env and field" "$MNT/.log" \
	"~/c3: env ~/e3: env_vars: variable 'A' must be a string"

# over SSH: two envs with clashing versions, each seen by its own send;
# a working_dir synced from here
start_sshd || finish
stop_node_agent
node_clean
node_pip_conf
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.1"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
mkdir -p "$T/plib" "$T/wdir"
cp "$WORK/fns.py" "$T/plib/fns.py"
echo 'synced here' >"$T/wdir/marker.txt"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$T/node.json"
put node "$(cat "$T/node.json")"
put n1 "{\"resource_type\": \"env\", \"reqs\": [\"local:$T/plib\", \"rhpkg==1.0\"]}"
put n2 "{\"resource_type\": \"env\", \"reqs\": [\"local:$T/plib\", \"rhpkg==2.0\"], \"working_dir\": \"local:$T/wdir\"}"
put s1 '{"resource_type": "send", "hardware": "~/node", "fn_pointers": ["plib", "fns", "info"], "env": "~/n1"}'
put s2 '{"resource_type": "send", "hardware": "~/node", "command": ["sh", "-c", "cat marker.txt; python -c \"import rhpkg; print(rhpkg.VERSION)\""], "env": "~/n2"}'
put s3 "{\"resource_type\": \"send\", \"hardware\": \"~/node\", \"fn_pointers\": [\"plib\", \"fns\", \"info\"], \"env\": {\"name\": \"inline\", \"reqs\": [\"local:$T/plib\", \"rhpkg==2.0\"]}}"
if call s1 && [ "$(field 0)" = 1.0 ]; then
	pass "over SSH: a send in env ~/n1 sees rhpkg 1.0"
else
	fail "over SSH: a send in env ~/n1 sees rhpkg 1.0 (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
if call s3 && [ "$(field 0)" = 2.0 ]; then
	pass "over SSH: a send with an inline env sees rhpkg 2.0"
else
	fail "over SSH: a send with an inline env sees rhpkg 2.0 (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
printf 'synced here\n2.0\n' >"$T/want"
check "over SSH: a command send in env ~/n2" call s2
same "runs in its working_dir, synced, with its env's python" \
	"$T/out" "$T/want"
check "the virtualenvs are in the node user's ~/.rh/envs" \
	sh -c "ls -d '$NODE'/.rh/envs/env-n1-* '$NODE'/.rh/envs/env-n2-* '$NODE'/.rh/envs/env-inline-*"

# A cluster's default_env: what its python and run files run in.
# prog FILE SOURCE: SOURCE written to FILE, what it gave read back on the
# same open file (tests/write_read.py), into $T/out
prog() {
	timeout 180 "$PYTHON3" "$top_srcdir/tests/write_read.py" "$1" "$2" \
		>"$T/out" 2>"$T/errout"
}
put n4 "{\"resource_type\": \"env\", \"reqs\": [\"rhpkg==2.0\"], \"env_vars\": {\"RH_E\": \"from-n4\"}, \"working_dir\": \"local:$T/wdir\"}"
"$PYTHON3" - "$T/node.json" "$T/node-env.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["default_env"] = "~/n4"
json.dump(c, open(sys.argv[2], "w"))
PY
put denv "$(cat "$T/node-env.json")"
check "a cluster with a default_env is stored" cat "$R/denv/config.json"
has "with its default_env" "$T/out" '"default_env": "~/n4"'
printf '2.0 from-n4\nexit 0\n' >"$T/want"
check "python of a cluster with a default_env" prog "$R/denv/python" \
	'import os, rhpkg; print(rhpkg.VERSION, os.environ.get("RH_E"))'
same "runs the env's interpreter with its env_vars" "$T/out" "$T/want"
printf 'synced here\n2.0\nexit 0\n' >"$T/want"
check "run of that cluster" prog "$R/denv/run" \
	'cat marker.txt; python -c "import rhpkg; print(rhpkg.VERSION)"'
same "runs in the env's working_dir, its bin/ first on PATH" \
	"$T/out" "$T/want"
printf '%s\n' 'import importlib.util as u; print(u.find_spec("rhpkg") is None)' \
	>"$T/nopkg.py"
check "python of the cluster without a default_env" prog "$R/node/python" \
	"$(cat "$T/nopkg.py")"
has "runs the node's python3, which lacks the package" "$T/out" "True"
"$PYTHON3" - "$T/node.json" "$T/node-inline.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["default_env"] = {"name": "dinline", "reqs": ["rhpkg==3.0"]}
json.dump(c, open(sys.argv[2], "w"))
PY
put denv "$(cat "$T/node-inline.json")"
printf '3.0\nexit 0\n' >"$T/want"
check "an inline default_env" prog "$R/denv/python" \
	'import rhpkg; print(rhpkg.VERSION)'
same "its packages are seen" "$T/out" "$T/want"
put s5 "{\"resource_type\": \"send\", \"hardware\": \"~/denv\", \"reqs\": [\"local:$T/plib\"], \"fn_pointers\": [\"plib\", \"fns\", \"info\"]}"
if call s5 && [ "$(field 0)" = 3.0 ]; then
	pass "a send of no env runs in its cluster's default_env"
else
	fail "a send of no env runs in its cluster's default_env (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
put s6 "{\"resource_type\": \"send\", \"hardware\": \"~/denv\", \"fn_pointers\": [\"plib\", \"fns\", \"info\"], \"env\": \"~/n1\"}"
if call s6 && [ "$(field 0)" = 1.0 ]; then
	pass "a send's own env wins over its cluster's default_env"
else
	fail "a send's own env wins over its cluster's default_env (got '$(cat "$T/out")': $(head -c 300 "$T/errout"))"
fi
cp "$WORK/rh/denv/config.json" "$T/denv-before"
refuse "a default_env that is no env's address: refused" "Invalid argument" \
	bash -c "printf '%s' '{\"resource_type\": \"cluster\", \"ips\": [\"127.0.0.1\"], \"default_env\": \"~/\"}' > '$R/denv/config.json'"
has "the reason names the cluster and the field" "$MNT/.log" \
	"~/denv: field 'default_env': '~/' is neither the address of an env"
refuse "a default_env of the wrong type: refused" "Invalid argument" \
	bash -c "printf '%s' '{\"resource_type\": \"cluster\", \"ips\": [\"127.0.0.1\"], \"default_env\": 7}' > '$R/denv/config.json'"
same "the cluster is unchanged" "$WORK/rh/denv/config.json" "$T/denv-before"
"$PYTHON3" - "$T/node.json" "$T/node-gone.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["default_env"] = "~/nosuch"
json.dump(c, open(sys.argv[2], "w"))
PY
put dgone "$(cat "$T/node-gone.json")"
refuse "a default_env that does not exist: the program is refused" \
	"No such file" "$PYTHON3" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"print(1)\\n")
os.fsync(fd)' "$R/dgone/python"
has "the reason names the cluster and the env" "$MNT/.log" \
	"~/dgone: env ~/nosuch: no such env"
put s7 '{"resource_type": "send", "hardware": "~/dgone", "command": ["true"]}'
refuse "a send of no env on that cluster: its call is refused" \
	"No such file" bash -c "echo '[]' > '$R/s7/invoke'"
finish
