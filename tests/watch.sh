# watch.sh - ~ changed on the disk beside the mount (an editor, git, a
# script in rh/): the kernel keeps ~'s entries and attributes until the
# disk changes, and each change shows at once. The mount's -o timeout is
# 30 s here: a change that was not watched would stay unseen for that
# long, past every bound below.
. "$top_srcdir/tests/lib.sh"

cfg() {         # cfg NAME PATH: a folder's config in the workdir
	printf '{"resource_type": "folder", "name": "%s", "system": "file", "path": "%s"}' \
		"$1" "$2" >"$WORK/rh/$1/config.json"
}
mkdir -p "$WORK/rh/a" "$WORK/rh/b" "$WORK/rh/c" "$WORK/rh/f/g"
cfg a /srv
cfg b /srv
cfg c /srv
mount_rhfs -o timeout=30
R=$MNT/~

# what the kernel holds: every name, with its attributes
ls -l "$R" "$R/a" "$R/b" "$R/c" "$R/f" "$R/f/g" >/dev/null
stat "$R/a/config.json" >/dev/null
check "a stat of a name that is not there" sh -c "! stat '$R/later'"

mkdir "$WORK/rh/new"
cfg new /srv
check "a resource made on the disk shows at once" \
	wait_for 3 sh -c "ls '$R' | grep -qx new"
check "... and reads as it is" \
	wait_for 3 grep -q /srv "$R/new/config.json"
mkdir "$WORK/rh/later"
check "a name looked up before, made on the disk: found at once" \
	wait_for 3 test -d "$R/later"

rm -rf "$WORK/rh/b"
check "a resource removed on the disk: a stat of it fails at once" \
	wait_for 3 sh -c "! stat '$R/b'"
check "... and it is not listed" sh -c "! ls '$R' | grep -qx b"

mv "$WORK/rh/c" "$WORK/rh/c2"
check "one renamed on the disk: its old name goes at once" \
	wait_for 3 sh -c "! stat '$R/c'"
check "... and its new one is there" test -f "$R/c2/config.json"

printf '{"resource_type": "folder", "name": "a", "system": "file", "path": "/opt"}' \
	>"$WORK/rh/a/config.json"
touch -d "2001-02-03 04:05:06" "$WORK/rh/a/config.json"
check "a config rewritten on the disk: its time at once" \
	wait_for 3 sh -c "[ \"\$(stat -c %Y '$R/a/config.json')\" = \
	\"\$(date -d '2001-02-03 04:05:06' +%s)\" ]"
check "... the resource's too" \
	wait_for 3 sh -c "[ \"\$(stat -c %Y '$R/a')\" = \
	\"\$(date -d '2001-02-03 04:05:06' +%s)\" ]"
check "... and its text" grep -q /opt "$R/a/config.json"

rm "$WORK/rh/a/config.json"
check "a config removed on the disk: the resource is a folder at once" \
	wait_for 3 sh -c "! ls '$R/a' | grep -qx config.json"

cfg f/g /var
check "a folder below becomes a resource at once" \
	wait_for 3 sh -c "ls '$R/f/g' | grep -qx config.json"

# rh/ itself removed and made again (a checkout of another branch)
rm -rf "$WORK/rh"
check "rh/ removed on the disk: ~ is empty at once" \
	wait_for 3 sh -c "[ -z \"\$(ls '$R')\" ]"
mkdir -p "$WORK/rh/back"
cfg back /srv
check "... and made again: what is in it shows" \
	wait_for 3 test -f "$R/back/config.json"
mkdir "$WORK/rh/again"
check "... and what is made in it after" \
	wait_for 3 test -d "$R/again"

# through the mount, as before
mkdir "$R/made"
printf '{"resource_type": "folder", "name": "made", "system": "file", "path": "/srv"}' \
	>"$R/made/config.json"
check "made through the mount: on the disk" test -f "$WORK/rh/made/config.json"
rm -rf "$WORK/rh/made"
check "... and removed on the disk: gone at once" \
	wait_for 3 sh -c "! stat '$R/made'"

# a config.json with another hard link: a write through that link is no
# event of its directory, so the kernel holds it for -o timeout (1 s on
# this mount) only, not until the disk changes
mount_rhfs_2 -o timeout=1
H=$T/work-2/rh/hl
mkdir -p "$H"
printf '{"resource_type": "folder", "name": "hl", "system": "file", "path": "/srv"}' \
	>"$H/config.json"
ln "$H/config.json" "$T/hl-link"
ls -l "$MNT2/~" "$MNT2/~/hl" >/dev/null
printf '{"resource_type": "folder", "name": "hl", "system": "file", "path": "/srv/other"}' \
	>"$T/hl-link"
check "a config written through another hard link: its size within -o timeout" \
	wait_for 5 sh -c "[ \"\$(stat -c %s '$MNT2/~/hl/config.json')\" = \
	\"\$(stat -c %s '$H/config.json')\" ]"
check "... and its text" grep -q /srv/other "$MNT2/~/hl/config.json"
unmount_rhfs_2

# more changes at once than inotify's queue holds: all of ~ is asked
# again (a mount whose queue holds 16 events)
Q=/proc/sys/fs/inotify/max_queued_events
if [ "$(id -u)" = 0 ] && [ -w "$Q" ]; then
	old=$(cat "$Q")
	echo 16 >"$Q"
	mount_rhfs_2 -o timeout=30
	echo "$old" >"$Q"
	mkdir -p "$T/work-2/rh"
	ls -l "$MNT2/~" >/dev/null
	"$PYTHON3" -c '
import os, sys
for i in range(300):
    os.mkdir(os.path.join(sys.argv[1], "n%d" % i))' "$T/work-2/rh"
	check "300 made at once on the disk: all of them show" \
		wait_for 5 sh -c "[ \"\$(ls '$MNT2/~' | grep -c '^n')\" = 300 ]"
	unmount_rhfs_2
fi
finish
