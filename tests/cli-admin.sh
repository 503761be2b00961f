#!/bin/sh
# cli-admin.sh - rh admin, share, unshare, login and config upload against
# a real etcd: init enables auth, useradd and orgadd lay out users, roles
# and folders, and what each user may read and write is checked with the
# user's own credentials (etcdctl): a share gives bob access, unshare takes
# it back, read and write switch, and nothing leaks to a neighbour path.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"
RH=$top_builddir/rh

etcd_up

admin() {
	"$RH" admin --url "$U" --password-stdin "$@"
}

# on_tty ANSWER... -- COMMAND...: COMMAND on a terminal of its own, each
# prompt answered with the next ANSWER; prints what the terminal showed.
cat >"$T/tty_answer.py" <<'PY'
import os, pty, sys, time
# pty.py ANSWERS... -- COMMAND...: run COMMAND on a terminal, answer each
# prompt (a line ending in ": ") with the next answer, print what the
# terminal showed.
i = sys.argv.index("--")
answers, cmd = sys.argv[1:i], sys.argv[i + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen = b""
deadline = time.time() + 20
while time.time() < deadline:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    seen += data
    if answers and seen.rstrip(b" ").endswith(b":"):
        time.sleep(0.1)
        os.write(fd, answers.pop(0).encode() + b"\n")
_, st = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(st))
PY
on_tty() {
	"$PYTHON3" "$T/tty_answer.py" "$@"
}

refuse "login before auth is enabled says how to enable it" \
	"rh admin init enables it" sh -c \
	"echo pw | '$RH' login --url '$U' --user alice --password-stdin"

# init
refuse "init needs the root password on stdin" "empty password" sh -c \
	"echo | '$RH' admin --url '$U' --password-stdin init"
check "init" sh -c "echo rootpw | '$RH' admin --url '$U' --password-stdin init"
has "says auth is enabled" "$T/out" "auth enabled"
refuse "auth is on: anonymous reads are refused" "user name is empty" \
	ETCDCTL get /rh/t/ --prefix
can "root logs in" root:rootpw get /rh/t/ --prefix
check "init again only checks" sh -c "echo rootpw | '$RH' admin --url '$U' --password-stdin init"
has "and says so" "$T/out" "already enabled"
refuse "init with a wrong root password" "authentication failed" sh -c \
	"echo wrong | '$RH' admin --url '$U' --password-stdin init"

# useradd
check "useradd alice" sh -c "printf 'rootpw\nalicepw\n' | '$RH' admin --url '$U' --password-stdin useradd alice"
has "says so" "$T/out" "user alice added"
check "useradd bob" sh -c "printf 'rootpw\nbobpw\n' | '$RH' admin --url '$U' --password-stdin useradd bob"
check "useradd carol" sh -c "printf 'rootpw\ncarolpw\n' | '$RH' admin --url '$U' --password-stdin useradd carol"
# --prefix, as admin and login read it: rhfs's keys under another prefix
check "useradd grace under --prefix /other" sh -c "printf 'rootpw\ngracepw\n' | '$RH' admin --url '$U' --prefix /other --password-stdin useradd grace"
can "her folder is there" root:rootpw get /other/t/grace --keys-only
has "under that prefix" "$T/out" "/other/t/grace"
mkdir -p "$T/grace"
check "grace logs in with --prefix /other" sh -c "echo gracepw | HOME='$T/grace' '$RH' login --url '$U' --user grace --prefix /other --password-stdin"
lacks "and her folder is found there" "$T/errout" "warning"
has "login.json keeps the prefix" "$T/grace/.rh/login.json" '"prefix":	"/other"'
refuse "useradd alice again" "exists" sh -c \
	"printf 'rootpw\nx\n' | '$RH' admin --url '$U' --password-stdin useradd alice"
can "alice still logs in with her password" alice:alicepw get /rh/t/alice
refuse "useradd with a wrong root password" "authentication failed" sh -c \
	"printf 'nope\ndavepw\n' | '$RH' admin --url '$U' --password-stdin useradd dave"
refuse "and dave was not made" "authentication failed" as dave:davepw get x
refuse "useradd without the user's password" "no line on stdin" sh -c \
	"printf 'rootpw\n' | '$RH' admin --url '$U' --password-stdin useradd erin"
check "and erin was not made" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$U' --user root:rootpw user get erin >/dev/null 2>&1"
refuse "a bad user name" "a name is" sh -c \
	"printf 'rootpw\nx\n' | '$RH' admin --url '$U' --password-stdin useradd 'a/b'"
check "useradd on a terminal asks the new password twice" \
	on_tty rootpw davepw davepw -- "$RH" admin --url "$U" useradd dave
has "the second time" "$T/out" "password of dave (again):"
lacks "no password is echoed" "$T/out" "davepw"
can "dave logs in" dave:davepw get /rh/t/dave
if on_tty rootpw one two -- "$RH" admin --url "$U" useradd frank \
	>"$T/tty" 2>&1; then
	fail "two different answers are refused (succeeded)"
else
	has "two different answers are refused" "$T/tty" \
		"the two answers differ"
fi
refuse "and frank was not made" "authentication failed" \
	as frank:one get x
can "the folder record of alice" root:rootpw get /rh/t/alice --print-value-only
has "is a user" "$T/out" '{"kind":"user"}'
check "role rh-u-alice" as root:rootpw role get rh-u-alice
has "read/write on her folder" "$T/out" "/rh/n/alice/"
has "read/write on her history" "$T/out" "/rh/h/alice/"
has "read/write on her secret values" "$T/out" "/rh/s/alice/"
has "read/write on her secrets key" "$T/out" "/rh/k/alice"
has "read on the folder list" "$T/out" "/rh/t/"

# a user writes only below its own folder
can "alice writes her folder" alice:alicepw put /rh/n/alice/x '{"name": "x"}'
can "alice writes a neighbour of it" alice:alicepw put /rh/n/alice/xy '{"name": "xy"}'
can "alice writes her history" alice:alicepw put /rh/h/alice/x/0000000001 '{}'
cannot "alice cannot write bob's folder" alice:alicepw put /rh/n/bob/x v
cannot "bob cannot read alice's folder" bob:bobpw get /rh/n/alice/x
cannot "bob cannot list alice's folder" bob:bobpw get /rh/n/alice/ --prefix
cannot "bob cannot write the folder list" bob:bobpw put /rh/t/bob v
can "bob reads the folder list" bob:bobpw get /rh/t/ --prefix --keys-only
has "which names alice" "$T/out" "/rh/t/alice"

# orgadd
check "orgadd ml alice" sh -c "echo rootpw | '$RH' admin --url '$U' --password-stdin orgadd ml alice"
can "alice writes the organisation's folder" alice:alicepw put /rh/n/ml/model '{}'
cannot "bob, not a member, cannot read it" bob:bobpw get /rh/n/ml/model
check "orgadd ml bob adds a member" sh -c "echo rootpw | '$RH' admin --url '$U' --password-stdin orgadd ml bob"
can "bob reads it now" bob:bobpw get /rh/n/ml/model
can "the organisation's record" root:rootpw get /rh/t/ml --print-value-only
has "lists both members" "$T/out" '"members":["alice","bob"]'
refuse "orgadd with an unknown user" "mallory: no such user" sh -c \
	"echo rootpw | '$RH' admin --url '$U' --password-stdin orgadd ml carol mallory"
cannot "and carol was not added" carol:carolpw get /rh/n/ml/model
refuse "orgadd on a user's name" "a user of that name exists" sh -c \
	"echo rootpw | '$RH' admin --url '$U' --password-stdin orgadd alice bob"

# login
check "login on a terminal asks for URL, user and password" \
	on_tty "$U" alice alicepw -- "$RH" login
has "asks for the URL" "$T/out" "etcd URL:"
has "asks for the password" "$T/out" "Password:"
has "logs in" "$T/out" "logged in to $U as alice"
lacks "the password is not echoed" "$T/out" "alicepw"
check "logout" "$RH" logout
refuse "login with a wrong password" "authentication failed" sh -c \
	"echo nope | '$RH' login --url '$U' --user alice --password-stdin"
check "nothing written by it" test ! -e "$HOME/.rh/login.json"
check "login alice" sh -c "echo alicepw | '$RH' login --url '$U' --user alice --password-stdin"
lacks "no warning: alice has her folder" "$T/errout" "warning"

# share and unshare (@/x is alice's, she is logged in)
share() {
	echo rootpw | "$RH" share --admin --password-stdin "$@"
}
unshare() {
	echo rootpw | "$RH" unshare --admin --password-stdin "$@"
}
cannot "before a share: bob cannot read /alice/x" bob:bobpw get /rh/n/alice/x
check "share @/x with bob, read" share @/x bob read
has "names the path" "$T/out" "/alice/x shared with bob (read)"
can "bob reads /alice/x" bob:bobpw get /rh/n/alice/x --print-value-only
has "its config" "$T/out" '{"name": "x"}'
can "and its history" bob:bobpw get /rh/h/alice/x/ --prefix
cannot "but cannot write it" bob:bobpw put /rh/n/alice/x v
cannot "nor read a neighbour whose name starts the same" bob:bobpw get /rh/n/alice/xy
cannot "nor alice's other keys" bob:bobpw get /rh/n/alice/ --prefix
cannot "carol still cannot read it" carol:carolpw get /rh/n/alice/x
check "share /alice/x with bob, write" share /alice/x bob write
can "bob writes /alice/x" bob:bobpw put /rh/n/alice/x '{"name": "x", "by": "bob"}'
can "and below it" bob:bobpw put /rh/n/alice/x/sub '{}'
check "share back to read" share /alice/x bob read
cannot "bob cannot write any more" bob:bobpw put /rh/n/alice/x v
can "but still reads" bob:bobpw get /rh/n/alice/x
check "unshare" unshare @/x bob
has "says so" "$T/out" "no longer shared with bob"
cannot "after unshare: bob cannot read /alice/x" bob:bobpw get /rh/n/alice/x
cannot "nor below it" bob:bobpw get /rh/n/alice/x/sub
can "alice still can" alice:alicepw get /rh/n/alice/x
refuse "unshare again" "not shared with bob" unshare @/x bob
refuse "share with a wrong admin password" "authentication failed" sh -c \
	"echo nope | '$RH' share --admin --password-stdin @/x bob read"
cannot "which shared nothing" bob:bobpw get /rh/n/alice/x
refuse "share with a user that does not exist" "mallory: no such user" \
	share @/x mallory read
refuse "share in a folder nobody has" "no user or organisation nobody" \
	share /nobody/x bob read
refuse "share with oneself" "alice's own folder" share @/x alice read
refuse "share of a local path" "not in the remote RNS" share '~/x' bob read

# the same through mounts: alice shares a path of her mount; bob's mount
# refuses it before and after
HOME_B=$T/home-b
MNT_B=$T/mnt-b
RHFS_B_PID=
mkdir -p "$HOME_B" "$MNT_B"
unmount_b() {
	unmount_at "$MNT_B" "$RHFS_B_PID"
	RHFS_B_PID=
}
trap 'unmount_b; etcd_exit' EXIT
check "bob logs in" sh -c "echo bobpw | HOME='$HOME_B' '$RH' login --url '$U' --user bob --password-stdin"
mount_rhfs -o connect_timeout=3
mkdir -p "$T/work-b"
HOME=$HOME_B "$RHFS" -f -o "local=$T/work-b,builtins=$BUILTINS" \
	-o "rhagent=$top_builddir/rhagent,connect_timeout=3" "$MNT_B" \
	2>>"$T/rhfs-b.err" &
RHFS_B_PID=$!
wait_mounted "$MNT_B" || { fail "bob's mount"; finish; }
check "alice makes @/m in her mount" mkdir "$MNT/@/m"
: >"$T/key"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["10.0.0.9"], "ssh_creds": {"ssh_user": "u9", "ssh_private_key": "%s", "ssh_port": 2222}}' \
	"$T/key" >"$T/m.json"
check "with a config" cp "$T/m.json" "$MNT/@/m/config.json"
check "rh ssh finds @/m in etcd" "$RH" ssh --dry-run @/m -- true
has "its head node" "$T/out" " 10.0.0.9 true"
has "its port and user" "$T/out" "-p 2222 -l u9"
refuse "bob's rh ssh is refused /alice/m" "/alice/m: not shared with bob" \
	env HOME="$HOME_B" "$RH" ssh --dry-run /alice/m
refuse "before the share bob's mount refuses /alice/m" "Permission denied" \
	cat "$MNT_B/alice/m/config.json"
check "alice shares it by its path in her mount" share "$MNT/@/m" bob read
has "as /alice/m" "$T/out" "/alice/m shared with bob (read)"
can "which gives bob's credentials /alice/m" bob:bobpw get /rh/n/alice/m
check "and bob's rh ssh finds it" env HOME="$HOME_B" "$RH" ssh --dry-run \
	/alice/m -- true
has "the same node" "$T/out" "-p 2222 -l u9"
has "its config as alice wrote it" "$T/out" "10.0.0.9"
check "unshare by the path" unshare "$MNT/@/m" bob
cannot "bob's credentials are refused again" bob:bobpw get /rh/n/alice/m
refuse "and so is bob's mount" "Permission denied" \
	cat "$MNT_B/alice/m/config.json"
unmount_b
unmount_rhfs

# config upload and download
check "set defaults" "$RH" config set default_autostop 30
check "set use_spot" "$RH" config set use_spot true
check "set default_provider" "$RH" config set default_provider gcp
check "upload" "$RH" config upload
can "the defaults are in etcd" alice:alicepw get /rh/c/alice --print-value-only
has "autostop is a number" "$T/out" '"default_autostop":	30'
has "use_spot a boolean" "$T/out" '"use_spot":	true'
lacks "the user name is not uploaded" "$T/out" "username"
cannot "bob cannot read alice's defaults" bob:bobpw get /rh/c/alice
check "change a default" "$RH" config set default_autostop 5
check "download" "$RH" config download
has "says how many" "$T/out" "3 defaults of alice downloaded"
check "get default_autostop" "$RH" config get default_autostop
has "is the uploaded value" "$T/out" "30"
check "as root, put a bad default" as root:rootpw put /rh/c/alice '{"use_spot": "maybe"}'
cp "$HOME/.rh/config.yaml" "$T/cfg.before"
refuse "a bad uploaded value is refused" "use_spot" "$RH" config download
same "and config.yaml is unchanged" "$T/cfg.before" "$HOME/.rh/config.yaml"
check "logout" "$RH" logout
refuse "download needs a login" "not logged in" "$RH" config download

# etcd gone: a clear error within the timeout
etcd_stop
refuse "share with etcd down" "$U" sh -c \
	"echo rootpw | timeout 30 '$RH' share --admin --url '$U' --password-stdin /alice/x bob read"
finish
