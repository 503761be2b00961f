#!/bin/sh
# share.sh - sharing without the administrator's password, on a real etcd
# with auth on: users ask with their own login (rh share, rh unshare), the
# grant controller (rh admin serve) answers with root's credentials read
# from a 0600 file or stdin. Checked with each user's own credentials
# (etcdctl): what a share gives, what unshare takes back, who may share
# what, requests made while no controller runs, forged and malformed
# requests, the audit, and that root's password shows nowhere.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"
RH=$top_builddir/rh

etcd_up
# a password no other test uses, to look for in process listings
ROOTPW=grants-root-pw-$$
SERVE_PID=

stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}
trap 'stop_serve; etcd_exit' EXIT

admin() {
	echo "$ROOTPW" | "$RH" admin --url "$U" --password-stdin "$@"
}
# rh as one of the users: each has a HOME (and login) of their own;
# alice's is the test's HOME, so that mount_rhfs mounts as her.
HOME_B=$T/home-b
HOME_C=$T/home-c
mkdir -p "$HOME_B" "$HOME_C"
alice() { "$RH" "$@"; }
bob() { HOME=$HOME_B "$RH" "$@"; }
carol() { HOME=$HOME_C "$RH" "$@"; }

# serve LOG [OPTION...]: the controller, its stdin from $SERVE_IN; waits
# (bounded) until it answers requests.
serve() {
	log=$1
	shift
	: >"$log"
	"$RH" admin --url "$U" "$@" serve <"${SERVE_IN:-/dev/null}" \
		2>"$log" &
	SERVE_PID=$!
	i=0
	while ! grep -q "answering the requests" "$log" && [ $i -lt 100 ]; do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "answering the requests" "$log"
}
# answered KEY: waits (bounded) until the request at KEY has its answer
answered() {
	i=0
	while [ $i -lt 100 ]; do
		as "root:$ROOTPW" get "$1" --print-value-only >"$T/answer" &&
			grep -q '"outcome"' "$T/answer" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

check "init" admin init
for u in alice bob carol; do
	check "useradd $u" sh -c "printf '%s\n%s\n' '$ROOTPW' ${u}pw | '$RH' admin --url '$U' --password-stdin useradd $u"
done
check "orgadd ml alice carol" admin orgadd ml alice carol
check "role rh-u-alice" as "root:$ROOTPW" role get rh-u-alice
has "lets alice write her requests" "$T/out" "/rh/r/alice/"
has "and read the shares of her folder" "$T/out" "/rh/g/alice/"
check "alice logs in" sh -c "echo alicepw | '$RH' login --url '$U' --user alice --password-stdin"
check "bob logs in" sh -c "echo bobpw | HOME='$HOME_B' '$RH' login --url '$U' --user bob --password-stdin"
check "carol logs in" sh -c "echo carolpw | HOME='$HOME_C' '$RH' login --url '$U' --user carol --password-stdin"
can "alice writes /alice/x" alice:alicepw put /rh/n/alice/x '{"name": "x"}'
can "and /alice/y" alice:alicepw put /rh/n/alice/y '{"name": "y"}'
can "carol writes /ml/m" carol:carolpw put /rh/n/ml/m '{"name": "m"}'
# carol as a user made before there was a controller: no request range
check "carol without her request range" as "root:$ROOTPW" role \
	revoke-permission rh-u-carol /rh/r/carol/ --prefix

# no controller yet
refuse "with no controller, share says who must act" \
	"no grant controller answered in 5 s: the administrator runs \`rh admin serve\`" \
	alice share @/x bob read
cannot "and bob cannot read /alice/x yet" bob:bobpw get /rh/n/alice/x
check "the request waits in etcd" as "root:$ROOTPW" get /rh/r/alice/ --prefix --keys-only
has "under alice's prefix" "$T/out" "/rh/r/alice/"
refuse "a user made before the controller is told why" \
	"may not make requests there yet: the administrator runs" \
	carol share /ml/m bob read

# forged requests: etcd refuses them
cannot "alice cannot write a request as bob" alice:alicepw put /rh/r/bob/1 \
	'{"op":"share","path":"/bob","user":"alice","perm":"write"}'
cannot "nor a share record" alice:alicepw put /rh/g/bob/x '{}'
cannot "nor the audit" alice:alicepw put /rh/a/1 '{}'
cannot "nor read another's requests" bob:bobpw get /rh/r/alice/ --prefix

# the controller's password: a 0600 file, or stdin
printf '%s\n' "$ROOTPW" >"$T/rootpw"
chmod 644 "$T/rootpw"
refuse "a password file others may read is refused" \
	"lets others read it; a password file is 0600" \
	"$RH" admin --url "$U" --password-file "$T/rootpw" serve
chmod 600 "$T/rootpw"
refuse "a missing password file" "$T/nofile: No such file" \
	"$RH" admin --url "$U" --password-file "$T/nofile" serve
if serve "$T/serve.log" --password-file "$T/rootpw"; then
	pass "the controller starts"
else
	fail "the controller starts ($(cat "$T/serve.log"))"
fi

# requests made while it was down are answered at its start
can "bob reads /alice/x: the waiting request was applied" bob:bobpw \
	get /rh/n/alice/x --print-value-only
has "its config" "$T/out" '{"name": "x"}'
has "the controller logged the grant" "$T/serve.log" \
	"granted: alice asked to share /alice/x with bob (read)"
check "carol's range is given to her at start" carol share /ml/m bob read
has "she shares her organisation's folder" "$T/out" \
	"/ml/m shared with bob (read)"
can "bob reads /ml/m" bob:bobpw get /rh/n/ml/m

# share, write, unshare
check "alice shares @/y with bob, read" alice share @/y bob read
has "says so" "$T/out" "/alice/y shared with bob (read)"
can "bob reads it at once" bob:bobpw get /rh/n/alice/y --print-value-only
cannot "but cannot write it" bob:bobpw put /rh/n/alice/y v
cannot "nor read alice's other keys" bob:bobpw get /rh/n/alice/ --prefix
check "the answered request is removed" as "root:$ROOTPW" get /rh/r/alice/ \
	--prefix --keys-only
check "alice shares /alice/y with bob, write" alice share /alice/y bob write
can "bob writes it" bob:bobpw put /rh/n/alice/y '{"name": "y", "by": "bob"}'
refuse "even with a write share, bob cannot share it on" \
	"bob may not share /alice/y" bob share /alice/y carol write
cannot "so carol cannot read it" carol:carolpw get /rh/n/alice/y
check "alice lists her shares" alice shares
has "/alice/x with bob" "$T/out" "/alice/x bob read"
has "/alice/y with bob, write" "$T/out" "/alice/y bob write"
has "and her organisation's" "$T/out" "/ml/m bob read"
check "the shares of one path" alice shares @/y
has "lists it" "$T/out" "/alice/y bob write"
lacks "and nothing else" "$T/out" "/alice/x"
refuse "bob may not list alice's shares" "only its owner" bob shares /alice
check "alice unshares @/y" alice unshare @/y bob
has "says so" "$T/out" "/alice/y no longer shared with bob"
cannot "bob cannot read it any more" bob:bobpw get /rh/n/alice/y
refuse "unshare again is refused" "/alice/y is not shared with bob" \
	alice unshare @/y bob
check "and no longer listed" alice shares
lacks "/alice/y" "$T/out" "/alice/y"

# who may share
refuse "bob cannot share alice's path" \
	"bob may not share /alice/x: only /alice's owner" \
	bob share /alice/x carol read
cannot "nothing was granted to carol" carol:carolpw get /rh/n/alice/x
has "the refusal is logged" "$T/serve.log" \
	"refused: bob asked to share /alice/x with carol (read): bob may not share"
refuse "sharing with someone who does not exist" "mallory: no such user" \
	alice share @/x mallory read
refuse "sharing in a folder nobody has" "bob may not share /nobody/x" \
	bob share /nobody/x alice read

# malformed requests are refused, the controller goes on
can "alice writes a request that is not JSON" alice:alicepw put /rh/r/alice/bad 'not json'
check "it is answered" answered /rh/r/alice/bad
has "refused" "$T/answer" '"outcome":"refused"'
has "as malformed" "$T/answer" "malformed request /rh/r/alice/bad"
can "one without a user" alice:alicepw put /rh/r/alice/bad2 '{"op":"share","path":"/alice/x","perm":"read"}'
check "is answered" answered /rh/r/alice/bad2
has "refused, saying what is missing" "$T/answer" "are strings"
can "one with a bad path" alice:alicepw put /rh/r/alice/bad3 '{"op":"share","path":"/alice/../bob","user":"carol","perm":"read"}'
check "is answered" answered /rh/r/alice/bad3
has "refused" "$T/answer" '"outcome":"refused"'
cannot "and grants nothing" carol:carolpw get /rh/n/bob/x
can "one with a key twice" alice:alicepw put /rh/r/alice/bad4 '{"op":"share","path":"/alice/x","user":"carol","user":"bob","perm":"read"}'
check "is answered" answered /rh/r/alice/bad4
has "refused: JSON that Python reads otherwise" "$T/answer" "malformed request /rh/r/alice/bad4"
cannot "and grants nothing" carol:carolpw get /rh/n/alice/x
NL='
'
can "a request whose key holds a line of its own" alice:alicepw put \
	"/rh/r/alice/k${NL}granted: mallory asked to share /bob with mallory" junk
can "and one whose user does" alice:alicepw put /rh/r/alice/k2 \
	'{"op":"share","path":"/alice/x","user":"b\ngranted: mallory asked","perm":"read"}'
check "is answered" answered /rh/r/alice/k2
has "refused" "$T/answer" '"outcome":"refused"'
check "no line of the log is forged" sh -c "! grep -q '^granted: mallory' '$T/serve.log'"
has "the log shows them, made safe" "$T/serve.log" \
	"malformed request /rh/r/alice/k?granted: mallory"
check "the controller still runs" kill -0 "$SERVE_PID"

# many at once: each answered
i=0
pids=
while [ $i -lt 12 ]; do
	alice share "@/many/p$i" bob read >"$T/many.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
# shellcheck disable=SC2086
wait $pids
i=0
while [ $i -lt 12 ]; do
	has "share $i of 12 made at once is answered" "$T/many.$i" \
		"/alice/many/p$i shared with bob (read)"
	i=$((i + 1))
done
check "all are listed" alice shares @/many
check "twelve of them" test "$(wc -l <"$T/out")" -eq 12

# etcd restarts under the controller: it goes on answering
if etcd_restart; then
	pass "etcd restarts"
else
	fail "etcd restarts"
fi
check "a share after the restart is answered" alice share @/z bob read
can "bob reads /alice/z" bob:bobpw get /rh/n/alice/z

# the administrator's way, through the same code
check "share --admin with root's password" sh -c \
	"echo '$ROOTPW' | '$RH' share --admin --password-stdin /alice/y carol read"
can "carol reads /alice/y" carol:carolpw get /rh/n/alice/y
check "it is listed with the others" alice shares /alice/y
has "as carol's" "$T/out" "/alice/y carol read"
refuse "--password-stdin without --admin says what it is for" \
	"go with --admin" alice share --password-stdin @/y carol read

# the audit key
check "root reads the audit" as "root:$ROOTPW" get /rh/a/ --prefix --print-value-only
has "with the grant" "$T/out" '"by":"alice","op":"share","path":"/alice/x","user":"bob","perm":"read","outcome":"granted"'
has "the revocation" "$T/out" '"op":"unshare","path":"/alice/y","user":"bob","outcome":"revoked"'
has "the refusal with its reason" "$T/out" '"outcome":"refused","reason":"bob may not share /alice/x'
has "and the administrator's share" "$T/out" '"by":"root","op":"share","path":"/alice/y","user":"carol"'
cannot "users cannot read the audit" alice:alicepw get /rh/a/ --prefix

# root's password shows nowhere
lacks "not in the controller's command line" "/proc/$SERVE_PID/cmdline" "$ROOTPW"
lacks "nor its environment" "/proc/$SERVE_PID/environ" "$ROOTPW"
cat /proc/[0-9]*/cmdline >"$T/cmdlines" 2>/dev/null
lacks "nor any process's command line" "$T/cmdlines" "$ROOTPW"
lacks "nor its log" "$T/serve.log" "$ROOTPW"
check "the audit again" as "root:$ROOTPW" get /rh/a/ --prefix --print-value-only
lacks "nor the audit" "$T/out" "$ROOTPW"

# restart: what came while it was down is applied, nothing twice
stop_serve
refuse "a share while it is stopped waits" "no grant controller answered" \
	alice share @/y bob write
cannot "bob cannot write /alice/y meanwhile" bob:bobpw put /rh/n/alice/y v
if SERVE_IN=$T/rootpw serve "$T/serve2.log" --password-stdin; then
	pass "the controller starts again, password on stdin"
else
	fail "the controller starts again ($(cat "$T/serve2.log"))"
fi
can "bob writes /alice/y: applied at start" bob:bobpw put /rh/n/alice/y '{"name": "y"}'
has "logged" "$T/serve2.log" "granted: alice asked to share /alice/y with bob (write)"
lacks "the request answered before is not applied again" "$T/serve2.log" \
	"asked to share /alice/x with bob"
lacks "nor the malformed ones" "$T/serve2.log" "malformed"

# the mount shows resources, never requests or records
mount_rhfs -o connect_timeout=3
check "alice's folder in her mount" ls "$MNT/@/"
has "has x" "$T/out" "x"
check "her mount's root" ls "$MNT"
lacks "shows no request folder" "$T/out" "bad"
check "shares are listed the same, through a path in the mount" \
	alice shares "$MNT/@/x"
has "/alice/x" "$T/out" "/alice/x bob read"
unmount_rhfs

# --prefix: share and shares find rhfs's keys under another prefix
for u in dave erin; do
	check "useradd $u under --prefix /other" sh -c "printf '%s\n%s\n' '$ROOTPW' ${u}pw | '$RH' admin --url '$U' --prefix /other --password-stdin useradd $u"
done
can "dave writes /dave/z under /other" dave:davepw put /other/n/dave/z \
	'{"name": "z"}'
cannot "erin cannot read it yet" erin:erinpw get /other/n/dave/z
check "share --prefix /other --admin" sh -c "echo '$ROOTPW' | '$RH' share --prefix /other --admin --url '$U' --password-stdin /dave/z erin read"
can "erin reads it under /other" erin:erinpw get /other/n/dave/z
check "nothing of it under /rh" as "root:$ROOTPW" get /rh/g/dave --prefix \
	--keys-only
lacks "no share record under /rh" "$T/out" "dave"
HOME_D=$T/home-d
mkdir -p "$HOME_D"
check "dave logs in (the default prefix)" sh -c "echo davepw | HOME='$HOME_D' '$RH' login --url '$U' --user dave --password-stdin"
check "shares --prefix /other" env HOME="$HOME_D" "$RH" shares --prefix /other
has "lists /dave/z under /other" "$T/out" "/dave/z erin read"
refuse "without it, /dave is no folder of dave's" "only its owner" \
	env HOME="$HOME_D" "$RH" shares

stop_serve
echo "--- the controller's log:"
cat "$T/serve.log" "$T/serve2.log"
cat "$T/serve.log" "$T/serve2.log" >"$T/serve-all.log"
lacks "the controller ends clean" "$T/serve-all.log" "Sanitizer"
finish
