#!/bin/sh
# rns-cluster.sh - the shared namespace on an etcd cluster of three
# members: rh admin, rh login, rh share and rh secrets given every
# member, and two mounts of alice's (two machines) that keep writing and
# seeing each other's changes when the member they use is killed, serve
# what they have while there is no quorum and come back by themselves.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"
RH=$top_builddir/rh

etcd_need
# Tokens that expire quickly: they are renewed on whichever member is up.
etcd_cluster_start --auth-token-ttl 2 || exit 1
U=$ETCD_URL
CFG='{"resource_type": "blob", "path": "/data/x"}'

# has_config DIR: DIR/config.json is a blob's
has_config() {
	grep -q '"resource_type": "blob"' "$1/config.json"
}
# make_resource DIR: mkdir and write its config, as a user would
make_resource() {
	mkdir "$1" && printf '%s' "$CFG" >"$1/config.json"
}
admin() {
	"$RH" admin --url "$U" --password-stdin "$@"
}
login() { # HOME
	echo alicepw | HOME=$1 "$RH" login --url "$U" --user alice \
		--password-stdin
}

# --- rh on a member list ---
refuse "a list with a bad member names it" "'ftp://x' is not an http" \
	sh -c "echo alicepw | '$RH' login --url '$U,ftp://x' --user alice --password-stdin"
check "rh config takes a member list" "$RH" config set rns_url "$U"
check "rh admin init" sh -c "echo rootpw | '$RH' admin --url '$U' --password-stdin init"
for u in alice bob; do
	check "rh admin useradd $u" sh -c \
		"printf 'rootpw\n${u}pw\n' | '$RH' admin --url '$U' --password-stdin useradd $u"
done
check "rh login" login "$HOME"
has "says every member" "$T/out" "logged in to $U as alice"
check "the login records every member" \
	test "$(jfield "$HOME/.rh/login.json" url)" = "\"$U\""
has "and so does config.yaml" "$HOME/.rh/config.yaml" "$U"
mkdir -p "$HOME2"
check "a second machine logs in" login "$HOME2"

mount_rhfs
mount_rhfs_2
A=$MNT/@
B=$MNT2/@

# --- all members up ---
check "mkdir" mkdir "$A/proj"
check "a resource" make_resource "$A/proj/one"
check "the other mount sees it" wait_for 20 has_config "$B/proj/one"

# --- the member both mounts use is killed ---
etcd_member_kill 1
check "member 1 killed: a new resource" make_resource "$A/proj/two"
check "the other mount, its watch on member 1 until now, sees it" \
	wait_for 20 has_config "$B/proj/two"
ls "$B/proj" >"$T/ls"
check "once" test "$(grep -c '^two$' "$T/ls")" -eq 1
check "an edit" sh -c "printf '%s' '{\"resource_type\": \"blob\", \"path\": \"/data/y\"}' >'$A/proj/one/config.json'"
check "is seen there too" wait_for 20 grep -q /data/y "$B/proj/one/config.json"
check "the second mount writes" make_resource "$B/proj/three"
check "and the first sees it" wait_for 20 has_config "$A/proj/three"
has "the first mount says it moved on" "$MNT/.log" "asking http://"
has "so does the second" "$MNT2/.log" "asking http://"
lacks "the second did not lose etcd as a whole" "$MNT2/.log" "lost etcd"

check "rh login with member 1 down" login "$HOME"
check "rh share, the admin path" sh -c \
	"echo rootpw | '$RH' share --admin --password-stdin @/proj/one bob read"
has "names the path" "$T/out" "/alice/proj/one shared with bob (read)"
check "bob may read it" as bob:bobpw get /rh/n/alice/proj/one
mkdir -p "$HOME/.cache/huggingface"
printf 'hf_cluster' >"$HOME/.cache/huggingface/token"
check "rh secrets extract" sh -c "cd '$WORK' && '$RH' secrets extract huggingface"
hf_token() {
	[ "$(cat "$A/secrets/huggingface/token")" = hf_cluster ]
}
check "the mount reads the secret" wait_for 20 hf_token
rm "$HOME/.cache/huggingface/token"
check "rh secrets download" sh -c "cd '$WORK' && '$RH' secrets download huggingface"
check "the token is back" \
	test "$(cat "$HOME/.cache/huggingface/token")" = hf_cluster

# --- no quorum: members 1 and 2 down ---
etcd_member_kill 2
# (etcd may still carry it out when a quorum is back: a leader that lost
# its quorum keeps what it had taken but not committed.)
refuse "without quorum a write fails" "" mkdir "$A/proj/four"
has "the log says why" "$MNT/.log" "etcd has no quorum"
check "reads are served: a config" has_config "$A/proj/two"
check "a listing" ls "$A/proj"
has "with what was there" "$T/out" three
check "the top level" ls "$MNT"
has "lists alice" "$T/out" alice
check "the other mount reads too" has_config "$B/proj/three"

# --- quorum back: no remount ---
etcd_member_start 2
etcd_cluster_leader || fail "member 2 rejoins"
check "quorum back: the same mount writes" make_resource "$A/proj/six"
check "the other mount sees it" wait_for 20 has_config "$B/proj/six"
etcd_member_start 1
etcd_cluster_leader || fail "member 1 rejoins"
check "all three back: still writing" make_resource "$B/proj/five"
check "and seen" wait_for 20 has_config "$A/proj/five"
finish
