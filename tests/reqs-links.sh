# reqs-links.sh - a sync of reqs never acts outside ~/NAME on the node,
# over SFTP (a real sshd on loopback) and by the local copy (^local):
# not through a symlinked directory on the way, not through a symlink at
# a synced file's name, not into a ~/NAME that is itself a symlink, and
# not on a manifest entry with "..". Each refusal is in rhfs's log,
# naming the path and the cause, and fails the calls with the reason;
# what the link points to is untouched.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

node_up
rm -rf "$NODE/.rh" "$NODE/lka" "$NODE/lkb" "$NODE/lkc" "$NODE/lkd" \
	"$NODE/out" "$NODE/victim.txt"

# the sources: one per case and cluster, each synced to ~/ITS-NAME (the
# log names the source, so each cluster's lines are its own)
for hw in node here; do
	mkdir -p "$T/$hw/lka/sub" "$T/$hw/lkb" "$T/$hw/lkc" "$T/$hw/lkd"
	echo 'new' >"$T/$hw/lka/sub/file.txt"
	echo 'new' >"$T/$hw/lkb/f.txt"
	echo 'c' >"$T/$hw/lkc/c.txt"
	echo 'new' >"$T/$hw/lkd/d.txt"
done

# lay_node HOME OUT OWNER: the traps in a node's home, pointing at OUT
# (outside every copy): ~/lka/sub and ~/lkd are links to the directory
# OUT/dir, ~/lkb/f.txt a link to the file OUT/precious.txt, and the
# manifest of ~/lkc names ../victim.txt and ../victim.
lay_node() {
	mkdir -p "$1/lka" "$1/lkb" "$1/.rh/sync" "$2/dir" "$1/victim"
	echo 'precious' >"$2/precious.txt"
	echo 'victim' >"$1/victim.txt"
	ln -s "$2/dir" "$1/lka/sub"
	ln -s "$2/precious.txt" "$1/lkb/f.txt"
	ln -s "$2/dir" "$1/lkd"
	printf '{"files": {"../victim.txt": "1:1.0"}, "dirs": ["../victim"]}' \
		>"$1/.rh/sync/lkc.json"
	chown -R -h "$3" "$1/lka" "$1/lkb" "$1/lkd" "$1/.rh" "$1/victim" \
		"$1/victim.txt" "$2"
}
lay_node "$NODE" "$NODE/out" "$SSH_USER"
lay_node "$HOME" "$T/outside" root

mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
R=$MNT/~
mkdir "$R/node"
printf '{"resource_type": "cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"

# call SEND: one call; its reply line (an error for a refused sync)
call() {
	timeout 60 bash -c "exec 3<>'$R/$1/invoke'; echo '[]' >&3; head -n 1 <&3"
}

# cases HW HOME OUT: every case on one cluster
cases() {
	for c in lka lkb lkc lkd; do
		mkdir "$R/$1-$c"
		printf '{"resource_type": "send", "hardware": "%s", "command": ["true"], "reqs": ["local:%s"]}' \
			"$4" "$T/$1/$c" >"$R/$1-$c/config.json"
	done

	check "$1: a symlinked directory on the way: the call" call "$1-lka"
	has "$1:   fails naming the link" "$T/out" \
		"lka/sub is a symbolic link on the node"
	check "$1:   nothing written through it" test ! -e "$3/dir/file.txt"
	has "$1:   the refusal in rhfs's log" "$MNT/.log" \
		"$T/$1/lka to ~/lka: lka/sub is a symbolic link on the node: nothing is written or removed through it"
	check "$1:   the link stays" test -L "$2/lka/sub"

	check "$1: a symlink at a synced file's name: the call" call "$1-lkb"
	has "$1:   fails naming the link" "$T/out" \
		"lkb/f.txt is a symbolic link on the node"
	echo 'precious' >"$T/want"
	same "$1:   what it points to is untouched" "$3/precious.txt" \
		"$T/want"
	has "$1:   the refusal in rhfs's log" "$MNT/.log" \
		"$T/$1/lkb to ~/lkb: lkb/f.txt is a symbolic link on the node"

	check "$1: a manifest naming ../: the call" call "$1-lkc"
	same "$1:   the file is synced" "$T/$1/lkc/c.txt" "$2/lkc/c.txt"
	echo 'victim' >"$T/want"
	same "$1:   ../victim.txt is untouched" "$2/victim.txt" "$T/want"
	check "$1:   ../victim stays" test -d "$2/victim"
	has "$1:   the entry is ignored, in the log" "$MNT/.log" \
		"$T/$1/lkc to ~/lkc: the manifest names '../victim.txt', which is not a path below ~/lkc: ignored"
	has "$1:   and the directory entry" "$MNT/.log" \
		"$T/$1/lkc to ~/lkc: the manifest names '../victim', which is not a path below ~/lkc: ignored"
	lacks "$1:   the new manifest forgets them" "$2/.rh/sync/lkc.json" \
		"victim"

	check "$1: ~/NAME itself a symlink: the call" call "$1-lkd"
	has "$1:   fails naming the link" "$T/out" \
		"lkd is a symbolic link on the node"
	check "$1:   nothing written through it" test ! -e "$3/dir/d.txt"
	has "$1:   the refusal in rhfs's log" "$MNT/.log" \
		"$T/$1/lkd to ~/lkd: lkd is a symbolic link on the node"
}
cases node "$NODE" "$NODE/out" "~/node"
cases here "$HOME" "$T/outside" "^local"

# A stale entry is removed only below real directories of the copy:
# with ~/lkc/gone a link to OUT/dir, the manifest's gone/x.txt is not
# removed from OUT/dir.
for hw in node here; do
	[ $hw = node ] && h=$NODE o=$NODE/out || h=$HOME o=$T/outside
	echo 'x' >"$o/dir/x.txt"
	ln -s "$o/dir" "$h/lkc/gone"
	printf '{"files": {"c.txt": "0:0.0", "gone/x.txt": "1:1.0"}, "dirs": ["gone"]}' \
		>"$h/.rh/sync/lkc.json"
	[ $hw = node ] && chown -h "$SSH_USER" "$o/dir/x.txt" "$h/lkc/gone" \
		"$h/.rh/sync/lkc.json"
done
unmount_rhfs
mv "$T/rhfs.err" "$T/rhfs.err.1"
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
for hw in node here; do
	[ $hw = node ] && h=$NODE o=$NODE/out || h=$HOME o=$T/outside
	check "$hw: a stale entry behind a link: the call" call "$hw-lkc"
	check "$hw:   what the link points to is not removed" \
		test -f "$o/dir/x.txt"
	check "$hw:   the link stays" test -L "$h/lkc/gone"
	has "$hw:   why, in rhfs's log" "$MNT/.log" \
		"$T/$hw/lkc to ~/lkc: lkc/gone/x.txt stays on the node: lkc/gone is a symbolic link on the node"
done
finish
