# send-data.sh - a folder, table or blob passed to a call: {"$data":
# "~/ckpts"} among a call's args or kwargs is put in by the mount before
# the call is sent, as the data's place where the call runs: its path on
# the node for data on the send's own cluster (the loopback sshd as the
# node, and ^local), its local path for data on this machine with a send
# on ^local, its s3:// URL for data in S3. Data on another cluster, a
# name that is not a folder, table or blob, and a $data of another form
# fail the write with EINVAL, naming the $data, and nothing of it runs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"

trap 'stop_sshd; cleanup' EXIT

start_sshd || finish
NODE=/home/$SSH_USER
node() {
	su -s /bin/sh "$SSH_USER" -c "cd && $1"
}
node 'rm -rf dstore && mkdir dstore && echo on the node >dstore/n.txt'

mkdir -p "$T/ckpts" "$T/blobs" "$HOME/lstore"
echo ckpt-1 >"$T/ckpts/c.txt"
echo weights >"$T/blobs/w.bin"
echo local-home >"$HOME/lstore/l.txt"
cd "$WORK" || exit 1
mkdir -p rh/ckpts rh/w rh/rel-data rh/lcl rh/bucket rh/tbl rh/box \
	rh/boxdata rh/boxabs rh/boxinline rh/marker rh/ls rh/rs rh/nodels \
	rh/wrongcl wrel
echo in-workdir >wrel/r.txt
cat >rh/ckpts/config.json <<EOF
{"resource_type": "folder", "name": "ckpts", "system": "file", "path": "$T/ckpts"}
EOF
cat >rh/w/config.json <<EOF
{"resource_type": "blob", "name": "w", "system": "file", "path": "$T/blobs/w.bin"}
EOF
cat >rh/rel-data/config.json <<EOF
{"resource_type": "folder", "name": "rel-data", "path": "wrel"}
EOF
cat >rh/lcl/config.json <<EOF
{"resource_type": "folder", "name": "lcl", "system": "^local", "path": "lstore"}
EOF
cat >rh/bucket/config.json <<EOF
{"resource_type": "folder", "name": "bucket", "system": "s3", "path": "s3://my-bucket/runs/7",
 "data_config": {"endpoint_url": "http://127.0.0.1:1"}}
EOF
cat >rh/tbl/config.json <<EOF
{"resource_type": "table", "name": "tbl", "fs": "s3", "path": "my-bucket/sales"}
EOF
BOX='{"resource_type": "cluster", "name": "box", "ips": ["127.0.0.1"],
 "ssh_creds": {"ssh_user": "'$SSH_USER'", "ssh_private_key": "'$SSH_KEY'",
 "ssh_port": '$SSH_PORT'}}'
echo "$BOX" >rh/box/config.json
cat >rh/boxdata/config.json <<EOF
{"resource_type": "folder", "name": "boxdata", "system": "~/box", "path": "dstore"}
EOF
cat >rh/boxabs/config.json <<EOF
{"resource_type": "folder", "name": "boxabs", "system": "~/box", "path": "$NODE/dstore/"}
EOF
cat >rh/boxinline/config.json <<EOF
{"resource_type": "folder", "name": "boxinline", "system": $BOX, "path": "~/dstore"}
EOF
cat >rh/marker/config.json <<EOF
{"resource_type": "folder", "name": "marker"}
EOF
# a send on ^local that lists what it is given, and one on the node
cat >rh/ls/config.json <<EOF
{"resource_type": "send", "hardware": "^local",
 "command": ["sh", "-c", "echo \"\$0\" \$(cat \"\$0\"/*)"]}
EOF
cat >rh/nodels/config.json <<EOF
{"resource_type": "send", "hardware": "~/box",
 "command": ["sh", "-c", "echo \"\$0\" \$(cat \"\$0\"/*)"]}
EOF
cat >rh/rs/config.json <<EOF
{"resource_type": "send", "hardware": "^local", "command": ["printf", "%s|"]}
EOF
cat >rh/wrongcl/config.json <<EOF
{"resource_type": "send", "hardware": "~/box", "command": ["printf", "%s|"]}
EOF
mount_rhfs -o "known_hosts=$KNOWN_HOSTS,connect_timeout=10"
R=$MNT/~

# invoke FILE LINE: write one line, read its answer on the same open file
invoke() {
	"$PYTHON3" - "$1" "$2" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, (sys.argv[2] + "\n").encode())
print(os.fdopen(fd, "r").read().rstrip("\n"))
PY
}
# write1 FILE TEXT: TEXT and a newline in one write(2) (\n: a newline)
write1() {
	"$PYTHON3" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, (sys.argv[2].replace("\\n", "\n") + "\n").encode())' "$1" "$2"
}
# ncalls SEND: how many calls it has
ncalls() {
	ls "$R/$1/calls" | grep -vc latest
}

# --- on this machine (^local) ---
check "a folder on this machine, to a call on ^local" \
	invoke "$R/ls/invoke" '[{"$data": "~/ckpts"}]'
has "is its local path, and the call reads its files" "$T/out" \
	"$T/ckpts ckpt-1"
check "in kwargs, in lists, a blob, S3 and ^local's home" \
	invoke "$R/rs/invoke" '{"args": [[{"$data": "~/w"}], {"$data": "~/bucket"}, {"$data": "~/tbl"}], "kwargs": {"dir": {"$data": "~/lcl"}}}'
has "a blob is its file, S3 its URL, a kwarg the path" "$T/out" \
	"[\"$T/blobs/w.bin\"]|s3://my-bucket/runs/7|s3://my-bucket/sales|--dir=$HOME/lstore|"
id=$(readlink "$R/rs/calls/latest")
check "the call's spec" cat "$R/rs/calls/$id/spec"
has "holds the path it was given" "$T/out" "\"dir\": \"$HOME/lstore\""
check "a relative path of a file folder" \
	invoke "$R/rs/invoke" '[{"$data": "~/rel-data"}]'
has "is the workdir's" "$T/out" "$WORK/wrel|"

# --- refused: nothing of the write runs ---
before=$(ncalls rs)
refuse "no such resource" "Invalid argument" \
	write1 "$R/rs/invoke" '[1]\n[{"$data": "~/nope"}]\n'
has ".log names it and the cause" "$MNT/.log" \
	"~/rs/invoke: \$data '~/nope': ~/nope: no such resource"
refuse "a send is not data" "Invalid argument" \
	write1 "$R/rs/invoke" '[{"$data": "~/ls"}]'
has ".log says what it is" "$MNT/.log" \
	"\$data '~/ls': a send, not a folder, table or blob"
refuse "a folder marker has no data" "Invalid argument" \
	write1 "$R/rs/invoke" '{"kwargs": {"m": {"$data": "~/marker"}}}'
has ".log says so" "$MNT/.log" "\$data '~/marker': a folder marker"
refuse "a \$data with another member" "Invalid argument" \
	write1 "$R/rs/invoke" '[{"$data": "~/ckpts", "x": 1}]'
has ".log shows the form" "$MNT/.log" \
	"line 1: a \$data is {\"\$data\": \"<folder, table or blob>\"} alone"
refuse "a \$data that is not a string" "Invalid argument" \
	write1 "$R/rs/invoke" '[{"$data": ["~/ckpts"]}]'
refuse "a \$data that is not an address" "Invalid argument" \
	write1 "$R/rs/invoke" '[[{"$data": "ckpts"}]]'
has ".log names it" "$MNT/.log" \
	"\$data 'ckpts' is not the address of a folder, table or blob"
refuse "data on a cluster, to a call on another" "Invalid argument" \
	write1 "$R/rs/invoke" '[{"$data": "~/boxdata"}]'
has ".log names both clusters" "$MNT/.log" \
	"\$data '~/boxdata': its data is on ~/box, and ~/rs runs on ^local"
refuse "data on this machine, to a call on the node" "Invalid argument" \
	write1 "$R/wrongcl/invoke" '[{"$data": "~/ckpts"}]'
has ".log says where each is" "$MNT/.log" \
	"\$data '~/ckpts': its data is on this machine (system file), and ~/wrongcl runs on ~/box"
check "none of the refused writes ran a call" test "$(ncalls rs)" = "$before"
check "and none ran on the node" test "$(ncalls wrongcl)" = 0

# --- on the node (the loopback sshd) ---
check "data on the send's cluster, relative to the node's home" \
	invoke "$R/nodels/invoke" '[{"$data": "~/boxdata"}]'
has "is its absolute path on the node, which the call reads" "$T/out" \
	"$NODE/dstore on the node"
check "an absolute path, and a cluster given inline as its config" \
	invoke "$R/wrongcl/invoke" '[{"$data": "~/boxabs"}, {"$data": "~/boxinline"}, {"$data": "~/tbl"}]'
has "are the node's paths, S3 its URL" "$T/out" \
	"$NODE/dstore|$NODE/dstore|s3://my-bucket/sales|"
refuse "data on the node, to a call on ^local" "Invalid argument" \
	write1 "$R/ls/invoke" '[{"$data": "~/boxinline"}]'
has ".log says it is another cluster" "$MNT/.log" \
	"\$data '~/boxinline': its data is on a cluster of its own config, and ~/ls runs on ^local"
finish
