#!/bin/sh
# cli.sh - the rh command line without a cluster: usage and exit status,
# config set (every key checked, bad values refused and nothing written),
# and rh login / rh logout against a real etcd: the files they write,
# their modes, a wrong password refused with one line and nothing kept.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"
RH=$top_builddir/rh
CFG=$HOME/.rh/config.yaml

# status WANT DESCRIPTION COMMAND...: the command exits with WANT.
status() {
	want=$1
	desc=$2
	shift 2
	"$@" >"$T/out" 2>"$T/errout" </dev/null
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$desc"
	else
		fail "$desc (exit $got, want $want: $(head -c 200 "$T/errout"))"
	fi
}

# one_line DESCRIPTION: the last command said one line on stderr.
one_line() {
	if [ "$(wc -l <"$T/errout")" -eq 1 ]; then
		pass "$1"
	else
		fail "$1 ($(wc -l <"$T/errout") lines: $(head -c 300 "$T/errout"))"
	fi
}

status 0 "rh --help" "$RH" --help
has "lists login" "$T/out" "rh login"
has "lists config" "$T/out" "rh config set"
status 0 "rh --version" "$RH" --version
status 2 "rh with no command" "$RH"
status 2 "rh with an unknown command" "$RH" frobnicate
has "names it" "$T/errout" "'frobnicate' is not a command"
status 2 "a bad option is a usage error" "$RH" login --bogus
status 2 "config without a verb" "$RH" config
status 2 "config set without a value" "$RH" config set use_spot

# config set: each key checked before anything is written
check "set default_folder @" "$RH" config set default_folder @
check "the file exists" test -f "$CFG"
has "default_folder written" "$CFG" "default_folder: '@'"
check "config is 0600" sh -c "[ \$(stat -c %a '$CFG') = 600 ]"
check "set default_folder /myorg/team" "$RH" config set default_folder /myorg/team
check "set default_provider aws" "$RH" config set default_provider aws
check "set default_autostop 60" "$RH" config set default_autostop 60
check "set default_autostop -1" "$RH" config set default_autostop -1
check "set use_spot true" "$RH" config set use_spot true
check "set token" "$RH" config set token abc.DEF-123
check "set username" "$RH" config set username carol
check "set rns_url" "$RH" config set rns_url https://etcd.example:2379
check "set rns_prefix" "$RH" config set rns_prefix /rh
check "get use_spot" "$RH" config get use_spot
has "reads back true" "$T/out" "true"
cp "$CFG" "$T/cfg.before"
refuse "an unknown key" "not a key of config.yaml" \
	"$RH" config set colour blue
one_line "one line for an unknown key"
has "the known keys are listed" "$T/errout" "default_autostop"
refuse "use_spot yes" "use_spot: 'yes': true or false" \
	"$RH" config set use_spot yes
refuse "autostop -2" "default_autostop" "$RH" config set default_autostop -2
refuse "autostop 1h" "default_autostop" "$RH" config set default_autostop 1h
refuse "an unknown provider" "not a provider" \
	"$RH" config set default_provider ibm
refuse "a folder that is not one" "a folder is" \
	"$RH" config set default_folder 'x/../y'
refuse "a folder with .." "a folder is" \
	"$RH" config set default_folder '~/a/../b'
refuse "a URL that is not http" "http:// or https://" \
	"$RH" config set rns_url ftp://x
refuse "a URL without a host" "no host" "$RH" config set rns_url http://
refuse "a user name with a slash" "a name is" \
	"$RH" config set username a/b
refuse "a token with a blank" "blanks" "$RH" config set token 'a b'
refuse "a prefix without a slash" "prefix" "$RH" config set rns_prefix rh
same "refusals changed nothing" "$T/cfg.before" "$CFG"
refuse "get of a key not set" "not set" sh -c \
	"HOME=$T/empty '$RH' config get use_spot"
printf 'use_spot: [\n' >"$T/bad.yaml"
refuse "a malformed config.yaml is named with its line" "bad.yaml:" \
	env RH_CONFIG="$T/bad.yaml" "$RH" config set use_spot true
same "and is left as it was" "$T/bad.yaml" /dev/stdin <<EOF
use_spot: [
EOF

# unknown keys that Runhouse wrote survive rh config set
printf 'disable_data_collection: true\nsecrets_extra:\n  aws: x\n' >>"$CFG"
check "set after foreign keys" "$RH" config set use_spot false
has "a foreign scalar is kept" "$CFG" "disable_data_collection: true"
has "a foreign mapping is kept" "$CFG" "aws: x"

# bad inputs of the other commands, before any network
refuse "share without login" "not logged in (rh login first" sh -c \
	"HOME=$T/empty '$RH' share /alice/x bob read </dev/null"
refuse "share --admin without login or URL" "no etcd URL" sh -c \
	"HOME=$T/empty '$RH' share --admin /alice/x bob read </dev/null"
refuse "share of a local path" "not in the remote RNS" \
	"$RH" share --admin --url http://127.0.0.1:9 '~/x' bob read
refuse "share to a bad user name" "a name is" \
	"$RH" share --admin --url http://127.0.0.1:9 /alice/x 'b b' read
refuse "share with a bad mode" "read or write" \
	"$RH" share --admin --url http://127.0.0.1:9 --password-stdin /alice/x bob admin
status 2 "unshare with a missing user" "$RH" unshare /alice/x
refuse "ssh to a resource that does not exist" "no such resource" \
	"$RH" ssh '~/nothing'
refuse "tunnel with a bad port" "LOCAL_PORT:REMOTE_PORT" \
	"$RH" tunnel '^local' 8080:99999
refuse "tunnel with no colon" "LOCAL_PORT:REMOTE_PORT" \
	"$RH" tunnel '^local' 8080
refuse "ssh to a builtin that is not up" "it is not up" "$RH" ssh '^rh-cpu'
one_line "one line for it"
refuse "tunnel to ^local" "this machine" "$RH" tunnel '^local' 8080:80
check "ssh to ^local runs here" "$RH" ssh '^local' -- echo here '$HOME'
has "the command's output" "$T/out" "here $HOME"
refuse "@ without a login" "not logged in" sh -c \
	"HOME=$T/empty '$RH' share @/x bob read"
refuse "admin init without a URL" "no etcd URL" sh -c \
	"HOME=$T/empty '$RH' admin init </dev/null"
status 2 "admin useradd without a name" "$RH" admin --url http://x useradd
refuse "admin useradd root" "administrator" sh -c \
	"echo pw | '$RH' admin --url http://127.0.0.1:9 --password-stdin useradd root"
refuse "a password is never taken without a terminal" "no terminal" sh -c \
	"'$RH' login --url http://127.0.0.1:9 --user alice </dev/null"
refuse "an empty password" "empty password" sh -c \
	"echo | '$RH' login --url http://127.0.0.1:9 --user alice --password-stdin"
refuse "an unreachable etcd is an error, quickly" "127.0.0.1:9" sh -c \
	"echo pw | timeout 20 '$RH' login --url http://127.0.0.1:9 --user alice --password-stdin"
one_line "one line for it"
check "nothing was written by failed logins" test ! -e "$HOME/.rh/login.json"

# login and logout against a real etcd with auth on
if ! etcd_have; then
	echo "SKIP: etcd is not installed: no login tests (tests/deps.sh)"
	finish
fi
etcd_start || { fail "etcd starts"; finish; }
ETCDCTL user add root --new-user-password=rootpw >/dev/null &&
	ETCDCTL user grant-role root root >/dev/null &&
	ETCDCTL user add alice --new-user-password='al ice' >/dev/null &&
	ETCDCTL auth enable >/dev/null ||
	fail "etcd users set up with etcdctl"
rm -f "$CFG"
check "login" sh -c "printf 'al ice\n' | '$RH' login --url '$ETCD_URL' --user alice --password-stdin"
has "says so" "$T/out" "logged in to $ETCD_URL as alice"
has "warns that alice has no folder yet" "$T/errout" "rh admin useradd alice"
L=$HOME/.rh/login.json
check "login.json exists" test -f "$L"
check "login.json is 0600" sh -c "[ \$(stat -c %a '$L') = 600 ]"
check "~/.rh is 0700" sh -c "[ \$(stat -c %a '$HOME/.rh') = 700 ]"
check "config.yaml is 0600" sh -c "[ \$(stat -c %a '$CFG') = 600 ]"
has "login.json has the URL" "$L" "\"url\":	\"$ETCD_URL\""
has "login.json has the user" "$L" '"user":	"alice"'
has "login.json has the prefix" "$L" '"prefix":	"/rh"'
check "login.json is JSON" "$PYTHON3" -c "import json,sys; d=json.load(open('$L')); assert d['password']=='al ice' and d['ca_file'] is None"
has "config.yaml has the user" "$CFG" "username: alice"
has "config.yaml has rns_url" "$CFG" "rns_url: $ETCD_URL"
cp "$L" "$T/login.before"
refuse "a wrong password" "authentication failed" sh -c \
	"echo nope | '$RH' login --url '$ETCD_URL' --user alice --password-stdin"
one_line "one line for a wrong password"
lacks "the password is not echoed in the error" "$T/errout" "nope"
same "a failed login keeps the previous login" "$T/login.before" "$L"
refuse "an unknown user" "authentication failed" sh -c \
	"echo x | '$RH' login --url '$ETCD_URL' --user mallory --password-stdin"
check "login again, URL and user from config.yaml" sh -c \
	"echo 'al ice' | '$RH' login --password-stdin"
has "as alice again" "$T/out" "as alice"
refuse "a CA file that does not exist" "CA file" sh -c \
	"echo 'al ice' | '$RH' login --url '$ETCD_URL' --user alice --ca-file '$T/none.pem' --password-stdin"

check "logout" "$RH" logout
check "login.json is gone" test ! -e "$L"
lacks "username removed from config.yaml" "$CFG" "username"
lacks "rns_url removed from config.yaml" "$CFG" "rns_url"
check "logout again is fine" "$RH" logout

# a damaged login is named, never used
mkdir -p "$HOME/.rh"
printf '{"url": "%s", "user": ' "$ETCD_URL" >"$L"
refuse "a truncated login.json" "login.json is not valid JSON" \
	"$RH" config upload
one_line "one line for it"
printf '{"url": "%s", "password": "x"}' "$ETCD_URL" >"$L"
refuse "a login.json without a user" 'login.json: no "user" string' \
	"$RH" config download
printf '{"url": "%s", "user": "alice", "password": 5}' "$ETCD_URL" >"$L"
refuse "a password that is not a string" '"password" is not a string' \
	"$RH" config download
printf '{"url": "%s", "user": "alice"}' "$ETCD_URL" >"$L"
refuse "a login.json without a password" 'login.json: no "password" string' \
	"$RH" config download
check "logout removes a damaged login" "$RH" logout
check "and it is gone" test ! -e "$L"

# https with the CA file
if etcd_tls_start; then
	ETCDCTL user add root --new-user-password=rootpw >/dev/null &&
		ETCDCTL user grant-role root root >/dev/null &&
		ETCDCTL user add alice --new-user-password=tls >/dev/null &&
		ETCDCTL auth enable >/dev/null
	refuse "https without the CA is refused" "$ETCD_URL" sh -c \
		"echo tls | '$RH' login --url '$ETCD_URL' --user alice --password-stdin"
	check "https with --ca-file" sh -c \
		"echo tls | '$RH' login --url '$ETCD_URL' --user alice --ca-file '$ETCD_CA' --password-stdin"
	has "login.json keeps the CA file" "$L" "$ETCD_CA"
fi
finish
