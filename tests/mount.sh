# mount.sh - starting and stopping rhfs: options, help, unmount, a stale
# mountpoint, the mount helper, config.yaml errors, workdir discovery.
. "$top_srcdir/tests/lib.sh"

check "rhfs --help exits 0" "$RHFS" --help
has "--help names rhfs's own options" "$T/out" "local=DIR"
check "rhfs --version exits 0" "$RHFS" --version
has "--version prints the version" "$T/out" "rhfs "
"$RHFS" --version >"$T/version" 2>&1
check "--version prints rhfs's line first, then libfuse's" \
	sh -c "head -n 1 '$T/version' | grep -q '^rhfs [0-9]'"
# --help shows the paths this run uses: from the build tree, unless
# installed
"$RHFS" --help >"$T/help" 2>&1
if [ ! -x /usr/local/share/rhfs/builtins ]; then
	has "--help shows the builtins this run uses" "$T/help" \
		"builtin resources (default: $top_srcdir/src/builtins)"
fi
if [ ! -x /usr/local/bin/rhagent ]; then
	has "--help shows the agent this run uses" "$T/help" \
		"(default: $top_builddir/rhagent)"
fi
has "--help shows the known_hosts this run uses" "$T/help" \
	"(default: $HOME/.ssh/known_hosts)"
refuse "no mountpoint is an error" "usage" "$RHFS"

mount_rhfs
ls -a "$MNT" >"$T/root"
has "root shows ~" "$T/root" "~"
has "root shows ^" "$T/root" "^"
has "root shows @" "$T/root" "@"
check "@ lists without error" ls "$MNT/@"
check "before rh login, @ holds only a README" \
	test "$(ls "$MNT/@")" = README
check "the README says how to log in" grep -q "rh login --url" "$MNT/@/README"
refuse "nothing may be made in @ before rh login" \
	"Operation not permitted" mkdir "$MNT/@/x"
has "and .log says why and how to log in" "$MNT/.log" \
	"refused: @: this mount has no login"
check "df reports the mount" df "$MNT"
has "the mount's type is fuse.rhfs" /proc/mounts "rhfs $MNT fuse.rhfs"
refuse "nothing may be made at the root" "Operation not permitted" \
	mkdir "$MNT/x"
ls -l "$MNT/~" "$MNT/^" >/dev/null
lacks "a mount without etcd or S3 has not loaded libcurl" \
	"/proc/$RHFS_PID/maps" libcurl
lacks "nor libxml2" "/proc/$RHFS_PID/maps" libxml2
pid=$RHFS_PID
check "fusermount3 -u unmounts" fusermount3 -u "$MNT"
if ! exits_within 5 "$pid"; then
	fail "rhfs left running after unmount"
else
	pass "rhfs exits after unmount"
fi
RHFS_PID=

# A second rhfs on a live mount is refused (two would stack); with
# -o replace it takes the mountpoint over.
mount_rhfs
refuse "mounting again on a live rhfs is refused" "already mounted there" \
	"$RHFS" -o "local=$WORK,builtins=$BUILTINS" "$MNT"
has "and says how to replace it" "$T/errout" "-o replace"
check "one rhfs stays mounted" \
	test "$(grep -c " $MNT fuse" /proc/mounts)" -eq 1
check "and it still serves" test -e "$MNT/^/local/config.json"
check "-o replace mounts over a live rhfs" \
	"$RHFS" -o "local=$WORK,builtins=$BUILTINS,replace" "$MNT"
has "and says it unmounted the old one" "$T/errout" "unmounted the rhfs"
check "one rhfs is mounted after replacing" \
	test "$(grep -c " $MNT fuse" /proc/mounts)" -eq 1
i=0
while kill -0 "$RHFS_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$RHFS_PID" 2>/dev/null; then
	fail "the replaced rhfs is left running"
else
	pass "the replaced rhfs exits"
fi
RHFS_PID=
check "the new rhfs serves" test -e "$MNT/^/local/config.json"
unmount_rhfs

# A killed rhfs leaves the mountpoint answering ENOTCONN: reused.
mount_rhfs
kill -9 "$RHFS_PID"
wait "$RHFS_PID" 2>/dev/null
RHFS_PID=
refuse "a killed rhfs leaves a stale mountpoint" \
	"Transport endpoint is not connected" stat "$MNT"
mount_rhfs
check "rhfs reuses the stale mountpoint" ls "$MNT/^/rh-cpu"
has "and says so" "$T/rhfs.err" "reusing the mountpoint"
unmount_rhfs

# Daemon mode: rhfs returns once mounted and leaves no process at unmount.
check "rhfs mounts as a daemon" \
	"$RHFS" -o "local=$WORK,builtins=$BUILTINS" "$MNT"
check "the daemon serves" test -e "$MNT/^/local/config.json"
check "the daemon unmounts" fusermount3 -u "$MNT"
i=0
while pgrep -f "rhfs -o local=$WORK" >/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if pgrep -f "rhfs -o local=$WORK" >/dev/null; then
	fail "daemon left running after unmount"
else
	pass "no daemon left after unmount"
fi

# fstab and mount(8) go through mount.fuse3, which runs
# "rhfs SOURCE MOUNTPOINT -o rw,OPTIONS,dev,suid". With type fuse the
# program is named in the source; type fuse.rhfs finds an installed rhfs.
if [ "$(id -u)" = 0 ]; then
	check "mount -t fuse PROGRAM#rhfs mounts" mount -t fuse "$RHFS#rhfs" \
		"$MNT" -o "local=$WORK,builtins=$BUILTINS"
	check "the helper's mount serves" test -e "$MNT/^/rh-gpu/config.json"
	check "umount unmounts it" umount "$MNT"
	installed=
	for d in /usr/local/bin /usr/bin; do
		[ -x "$d/rhfs" ] && installed=$d/rhfs && break
	done
	if [ -n "$installed" ]; then
		check "mount -t fuse.rhfs mounts ($installed)" \
			mount -t fuse.rhfs rhfs "$MNT" \
			-o "local=$WORK,builtins=$BUILTINS"
		check "mount -t fuse.rhfs serves" test -d "$MNT/~"
		check "umount unmounts it" umount "$MNT"
	else
		echo "skip - mount -t fuse.rhfs: rhfs is not installed"
	fi
fi

# Malformed config.yaml: one line naming file and line, no mount.
mkdir -p "$HOME/.rh"
printf 'username: alice\ntoken: [unclosed\nuse_spot: false\n' \
	>"$HOME/.rh/config.yaml"
refuse "malformed config.yaml is refused" "$HOME/.rh/config.yaml:" \
	"$RHFS" -f -o "local=$WORK,builtins=$BUILTINS" "$MNT"
if [ "$(wc -l <"$T/errout")" -eq 1 ]; then
	pass "the refusal is one line"
else
	fail "the refusal is one line (got $(wc -l <"$T/errout"))"
fi
if grep -q " $MNT fuse" /proc/mounts; then
	fail "nothing mounted after a bad config.yaml"
else
	pass "nothing mounted after a bad config.yaml"
fi
printf 'a: [1, 2]\n' >"$T/alt.yaml"
printf 'x: y: z\n' >"$T/bad.yaml"
refuse "RH_CONFIG names the config file" "$T/bad.yaml:1" \
	env RH_CONFIG="$T/bad.yaml" "$RHFS" -f -o "local=$WORK" "$MNT"
refuse "-o config=FILE names the config file" "$T/bad.yaml:1" \
	"$RHFS" -f -o "config=$T/bad.yaml,local=$WORK" "$MNT"
rm -f "$HOME/.rh/config.yaml"

# The workdir is found from the start directory as Runhouse finds it.
mkdir -p "$T/proj/src/deep"
mkdir "$T/proj/.git"
(cd "$T/proj/src/deep" &&
	"$RHFS" -o "builtins=$BUILTINS" "$MNT" 2>>"$T/rhfs.err")
check "mounted from a subdirectory of a git repo" wait_mounted "$MNT"
check "mkdir through the mount" mkdir "$MNT/~/found"
check "lands in the repo's rh/" test -d "$T/proj/rh/found"
check "unmount" fusermount3 -u "$MNT"

finish
