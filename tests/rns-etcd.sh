#!/bin/sh
# rns-etcd.sh - the shared namespace (the etcd store behind the mount's top
# folders and @) against a real etcd with auth: two users (alice, bob) and
# an organisation (acme) set up with etcdctl as docs/architecture.md lays
# them out, and two mounts, one per user, each with its own HOME.
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"

etcd_need

# The second mount: bob's.
HOME_B=$T/home-b
MNT_B=$T/mnt-b
WORK_B=$T/work-b
RHFS_B_PID=
mkdir -p "$HOME_B" "$MNT_B" "$WORK_B"
unmount_b() {
	unmount_at "$MNT_B" "$RHFS_B_PID"
	RHFS_B_PID=
}
trap 'unmount_b; etcd_exit' EXIT

# Generous txn size: a folder's keys all move in one transaction.
etcd_start --max-txn-ops 1024 || exit 1
P=/rh
RCTL() { ETCDCTL --user root:rootpw "$@"; }

# Users, roles and top folders as `rh admin` lays them out.
setup() {
	ETCDCTL put $P/t/alice '{"kind":"user"}' &&
	ETCDCTL put $P/t/bob '{"kind":"user"}' &&
	ETCDCTL put $P/t/acme '{"kind":"org","members":["alice","bob"]}' &&
	ETCDCTL user add root --new-user-password=rootpw &&
	ETCDCTL user grant-role root root || return 1
	for u in alice bob; do
		ETCDCTL user add $u --new-user-password=pw-$u &&
		ETCDCTL role add rh-u-$u &&
		for k in n h s; do
			ETCDCTL role grant-permission rh-u-$u --prefix=true \
				readwrite $P/$k/$u/ || return 1
		done &&
		ETCDCTL role grant-permission rh-u-$u readwrite $P/k/$u &&
		ETCDCTL role grant-permission rh-u-$u --prefix=true read \
			$P/t/ &&
		ETCDCTL user grant-role $u rh-u-$u || return 1
	done
	ETCDCTL role add rh-o-acme &&
	for k in n h s; do
		ETCDCTL role grant-permission rh-o-acme --prefix=true \
			readwrite $P/$k/acme/ || return 1
	done &&
	ETCDCTL user grant-role alice rh-o-acme &&
	ETCDCTL user grant-role bob rh-o-acme &&
	ETCDCTL auth enable
}
setup >"$T/setup.log" 2>&1 || { cat "$T/setup.log" >&2; exit 1; }

login_file() { # HOME USER
	mkdir -p "$1/.rh"
	printf '{"url": "%s", "user": "%s", "password": "pw-%s", "ca_file": null, "prefix": "%s"}\n' \
		"$ETCD_URL" "$2" "$2" "$P" >"$1/.rh/login.json"
	chmod 600 "$1/.rh/login.json"
}
login_file "$HOME" alice
login_file "$HOME_B" bob

mount_rhfs -o connect_timeout=2
HOME=$HOME_B "$RHFS" -f -o "local=$WORK_B,builtins=$BUILTINS" \
	-o "rhagent=$top_builddir/rhagent,connect_timeout=2" "$MNT_B" \
	2>>"$T/rhfs-b.err" &
RHFS_B_PID=$!
wait_mounted "$MNT_B" || { FAILED=$((FAILED + 1)); finish; }

A=$MNT
B=$MNT_B
CFG='{"resource_type": "blob", "path": "/data/x"}'


# --- the mount's top level ---
check "@ is a symlink to the user's top folder" \
	test "$(readlink "$A/@")" = alice -a "$(readlink "$B/@")" = bob
ls "$A" >"$T/top-a"
has "alice sees her top folder" "$T/top-a" alice
has "alice sees her organisation" "$T/top-a" acme
lacks "alice does not see bob's folder" "$T/top-a" bob
check "an empty top folder lists" ls "$A/@/"

# --- create, read, edit, validation ---
check "mkdir" mkdir "$A/@/proj"
check "create a resource" sh -c "mkdir '$A/@/proj/data' &&
	printf '%s' '$CFG' >'$A/@/proj/data/config.json'"
check "read it back" cat "$A/@/proj/data/config.json"
has "its name follows its address" "$T/out" '"/alice/proj/data"'
ETCDCTL --user alice:pw-alice get $P/n/alice/proj/data >"$T/key"
has "etcd holds it under the agreed key" "$T/key" blob
check "an edit" sh -c "sed 's|/data/x|/data/y|' '$A/alice/proj/data/config.json' >'$T/new' && cat '$T/new' >'$A/alice/proj/data/config.json'"
has "the edit is stored" "$A/alice/proj/data/config.json" /data/y
refuse "an invalid config is refused" "Invalid argument" \
	bash -c "printf '[1, 2]' >'$A/alice/proj/data/config.json'"
has "and changes nothing" "$A/alice/proj/data/config.json" /data/y
refuse "a config at a top folder's root is refused" "Invalid argument" \
	sh -c "printf '%s' '$CFG' >'$A/alice/config.json'"
refuse "mkdir beside the top folders is refused" "" mkdir "$A/newtop"

# --- versions ---
ls "$A/alice/proj/data/versions" >"$T/versions" 2>&1
check "versions/ lists 1 and 2" sh -c "test \"\$(tr '\n' ' ' <'$T/versions')\" = '1 2 '"
has "versions/1 is the first config" "$A/alice/proj/data/versions/1" /data/x
has "versions/2 the second" "$A/alice/proj/data/versions/2" /data/y
has "versions/.index names each version's author" \
	"$A/alice/proj/data/versions/.index" "1 "
check "... alice, twice" test "$(grep -c ' alice ' "$A/alice/proj/data/versions/.index")" = 2
check "a version's mtime is its time" sh -c \
	"test \$(( \$(date +%s) - \$(stat -c %Y '$A/alice/proj/data/versions/1') )) -lt 120"
refuse "versions are read-only" "" \
	sh -c "echo x >'$A/alice/proj/data/versions/1'"
lacks "versions/ is not in the resource's listing (rm -r)" \
	"$(ls "$A/alice/proj/data" >"$T/ls-res"; echo "$T/ls-res")" versions
check "cp versions/1 config.json restores" \
	cp "$A/alice/proj/data/versions/1" "$A/alice/proj/data/config.json"
has "restored content" "$A/alice/proj/data/config.json" /data/x
check "the restore is version 3" test -f "$A/alice/proj/data/versions/3"

# compaction forgets etcd's history, not the versions
rev=$(RCTL endpoint status -w json | sed 's/.*"revision":\([0-9]*\).*/\1/')
check "etcd compacted" RCTL compact "$rev" --physical
ls "$B/acme" >/dev/null 2>&1
check "versions survive compaction" test -f "$A/alice/proj/data/versions/2"
has "and keep their content" "$A/alice/proj/data/versions/2" /data/y

# --- a cluster in the shared namespace, named by a send in ~ ---
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "nobody", "ssh_private_key": "%s", "ssh_port": 1}}' \
	"$T/nokey" >"$T/c.json"
printf '{"resource_type": "send", "hardware": "/alice/c", "command": ["echo"]}' \
	>"$T/s.json"
check "a cluster in @" sh -c "mkdir '$A/@/c' && cp '$T/c.json' '$A/@/c/config.json'"
check "a send in ~ on it" sh -c "mkdir '$A/~/s' && cp '$T/s.json' '$A/~/s/config.json'"
refuse "its call fails reaching the node (port 1)" "" \
	timeout 20 sh -c "echo '[]' >'$A/~/s/invoke'"
lacks "not for want of the cluster's config" "$A/.log" "not available in this mount"
lacks "which was found" "$A/.log" "/alice/c: no such"

# --- mv, rm -r, rmdir ---
check "mv a folder" mv "$A/alice/proj" "$A/alice/proj2"
has "its resource's name follows" "$A/alice/proj2/data/config.json" \
	'"/alice/proj2/data"'
check "its versions follow" test -f "$A/alice/proj2/data/versions/3"
refuse "the old path is gone" "No such file" ls "$A/alice/proj"
check "mv a resource" mv "$A/alice/proj2/data" "$A/alice/proj2/d2"
has "its name follows" "$A/alice/proj2/d2/config.json" '"/alice/proj2/d2"'
refuse "rmdir of a non-empty folder" "not empty" rmdir "$A/alice/proj2"
check "rm -r" rm -r "$A/alice/proj2"
refuse "gone after rm -r" "No such file" ls "$A/alice/proj2"
check "etcd holds nothing of it under n/" test -z \
	"$(ETCDCTL --user alice:pw-alice get --prefix --keys-only $P/n/alice/proj2)"
check "mkdir then rmdir" sh -c "mkdir '$A/alice/e' && rmdir '$A/alice/e'"

# --- access: another user's folder ---
refuse "alice cannot list bob's folder" "Permission denied" \
	timeout 10 ls "$A/bob"
refuse "nor read in it" "Permission denied" \
	timeout 10 cat "$A/bob/x/config.json"
refuse "nor write in it" "Permission denied" \
	timeout 10 mkdir "$A/bob/y"

# --- a share: /alice/shared, read and write for bob (a role as rh share
# makes it) ---
check "alice makes a resource" sh -c "mkdir '$A/alice/shared' &&
	printf '%s' '$CFG' >'$A/alice/shared/config.json'"
refuse "bob cannot read it before it is shared" "Permission denied" \
	timeout 10 cat "$B/alice/shared/config.json"
share() {
	RCTL role add rh-share-test &&
	RCTL role grant-permission rh-share-test readwrite $P/n/alice/shared &&
	for k in n h s; do
		RCTL role grant-permission rh-share-test --prefix=true \
			readwrite $P/$k/alice/shared/ || return 1
	done &&
	RCTL user grant-role bob rh-share-test
}
check "shared with bob" share
check "bob reads it (asked again after a refusal)" wait_for 10 \
	grep -q /data/x "$B/alice/shared/config.json"
refuse "but still cannot list alice's folder" "Permission denied" \
	timeout 10 ls "$B/alice"
refuse "nor read what was not shared" "Permission denied" \
	timeout 10 cat "$B/alice/proj/config.json"
check "bob edits it" sh -c "sed 's|/data/x|/data/bob|' '$B/alice/shared/config.json' >'$T/s' && cat '$T/s' >'$B/alice/shared/config.json'"
check "alice sees bob's edit" wait_for 5 \
	grep -q /data/bob "$A/alice/shared/config.json"
check "alice's next edit reaches bob" sh -c "sed 's|/data/bob|/data/al|' '$A/alice/shared/config.json' >'$T/s2' && cat '$T/s2' >'$A/alice/shared/config.json'"
check "... seen" wait_for 5 grep -q /data/al "$B/alice/shared/config.json"
check "bob reads its versions" test -f "$B/alice/shared/versions/3"
has "with bob as an author" "$B/alice/shared/versions/.index" " bob "
check "unshared (the role deleted)" RCTL role delete rh-share-test
check "bob's mount refuses it within seconds, cached or not" wait_for 15 \
	sh -c "cat '$B/alice/shared/config.json' 2>&1 | grep -q 'Permission denied'"

# --- changes from the other mount ---
check "alice writes in the organisation's folder" sh -c \
	"mkdir '$A/acme/m' && printf '%s' '$CFG' >'$A/acme/m/config.json'"
check "bob's mount sees it" wait_for 5 grep -q /data/x "$B/acme/m/config.json"
check "bob sees alice's edit within a few seconds" sh -c \
	"ls -l '$B/acme/m' >/dev/null; sed 's|/data/x|/data/z|' '$A/acme/m/config.json' >'$T/z' && cat '$T/z' >'$A/acme/m/config.json'"
check "... seen" wait_for 5 grep -q /data/z "$B/acme/m/config.json"
check "bob sees a new folder in a listing he had read" sh -c \
	"ls '$B/acme' >/dev/null && mkdir '$A/acme/n2'"
check "... listed" wait_for 5 sh -c "ls '$B/acme' | grep -qx n2"

# --- compare-and-swap: two writers ---
cat >"$T/cas.py" <<'EOF'
import errno, sys
a = open(sys.argv[1], "r+")
b = open(sys.argv[2], "r+")
ta, tb = a.read(), b.read()
a.seek(0); a.truncate(); a.write(ta.replace("/data/z", "/data/a"))
b.seek(0); b.truncate(); b.write(tb.replace("/data/z", "/data/b"))
a.close()
try:
    b.close()
except OSError as e:
    print("second writer:", errno.errorcode[e.errno])
    sys.exit(0)
print("second writer succeeded")
sys.exit(1)
EOF
check "the second of two writers fails" \
	"$PYTHON3" "$T/cas.py" "$A/acme/m/config.json" "$B/acme/m/config.json"
has "with EBUSY" "$T/out" EBUSY
check "the first writer's config stands" wait_for 5 \
	grep -q /data/a "$B/acme/m/config.json"
lacks "not the second's" "$A/acme/m/config.json" /data/b

# --- etcd stopped, then back ---
cat "$A/acme/m/config.json" >/dev/null
etcd_stop
check "a cached config still reads with etcd down" \
	grep -q /data/a "$A/acme/m/config.json"
ls "$A" >"$T/top-down" 2>&1
has "the loaded top folders are still listed" "$T/top-down" acme
start=$(date +%s)
refuse "a write fails with etcd down" "" sh -c \
	"sed 's|/data/a|/data/down|' '$A/acme/m/config.json' >'$T/d' && cat '$T/d' >'$A/acme/m/config.json'"
check "within the connect timeout" test $(($(date +%s) - start)) -le 8
has "the log says why" "$A/.log" /acme/m
check "etcd restarted" etcd_restart
check "writes work again without remounting" wait_for 10 sh -c \
	"cat '$T/d' >'$A/acme/m/config.json'"
check "and the other mount sees them" wait_for 10 \
	grep -q /data/down "$B/acme/m/config.json"

# --- a mount made while etcd is down ---
unmount_b
etcd_stop
login_file "$HOME_B" alice
start=$(date +%s)
HOME=$HOME_B "$RHFS" -f -o "local=$WORK_B,builtins=$BUILTINS" \
	-o "rhagent=$top_builddir/rhagent,connect_timeout=2" "$MNT_B" \
	2>>"$T/rhfs-b.err" &
RHFS_B_PID=$!
check "mounts with etcd down" wait_mounted "$MNT_B"
check "promptly" test $(($(date +%s) - start)) -le 8
refuse "the shared namespace says etcd cannot be reached" \
	"No route to host" timeout 10 ls "$B/alice"
check "etcd restarted again" etcd_restart
check "the mount made while it was down now reads it" wait_for 10 \
	grep -q /data/down "$B/acme/m/config.json"

# --- a login.json without a password: the mount goes on without @ ---
unmount_b
printf '{"url": "%s", "user": "alice"}\n' "$ETCD_URL" \
	>"$HOME_B/.rh/login.json"
HOME=$HOME_B "$RHFS" -f -o "local=$WORK_B,builtins=$BUILTINS" \
	-o "rhagent=$top_builddir/rhagent,connect_timeout=2" "$MNT_B" \
	2>>"$T/rhfs-b.err" &
RHFS_B_PID=$!
check "mounts with a login.json that has no password" wait_mounted "$MNT_B"
has "its log says why @ is not there" "$B/.log" \
	'@ not available: '"$HOME_B"'/.rh/login.json: no "password" string'
check "and ~ is there" test -d "$B/~"

unmount_b
finish
