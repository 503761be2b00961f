#!/bin/sh
# data.sh - benchmark: a folder's data/ against its peers, all in one
# run: sequential write and read of a SIZE_MIB (1024) MiB file in 1 MiB
# requests (written with an fsync at the end, read cold where the page
# cache can be dropped), and `ls -lR` of FILES (10,000) small files in
# 100 directories, cold. Prints figures and each row's ratio to its peer;
# asserts nothing. Run as root from the build tree after make:
#     sh tests/bench/data.sh [SIZE_MIB] [FILES] [S3_FILES]
# STORES (default "local sftp s3") names the stores whose rows are run.
#
# A row is `row NAME DIR [PEER]`: DIR is where its files go, PEER the
# row it is compared with. Each store adds its rows in the section at
# the end (the local store: rhfs's data/ on a "file" folder against the
# native directory it is in; a cluster's: rhfs over SFTP against sshfs on
# the same sshd; S3: rhfs against s3fs on the same server).
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
SIZE_MIB=${1:-1024}
FILES=${2:-10000}
STORES=${STORES:-local sftp s3}
# wants STORE: whether STORE's rows are run
wants() {
	case " $STORES " in *" $1 "*) return 0 ;; esac
	return 1
}
. "$top_srcdir/tests/lib.sh"

now() { date +%s.%N; }
# secs START END
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# The page cache (and the kernel's FUSE entries) dropped where allowed:
# reads and listings that follow are cold.
cold() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo 3 >/proc/sys/vm/drop_caches
		COLD=cold
	else
		COLD=warm
	fi
}

RESULTS=$T/results
: >"$RESULTS"

# SERVER_PID: a server the rows use (moto), whose CPU time in each
# phase each row prints, to show when the server is the bound.
SERVER_PID=
# CLIENT_PIDS and NODE_PIDS: commands that print the pids of a row's
# client (rhfs; sshfs and its ssh) and of the node's side (sshd and its
# SFTP server): each row then prints the CPU seconds of both, and how
# busy the machine was, in its write and its read (on a machine of few
# cores, what bounds the cluster rows).
CLIENT_PIDS=
NODE_PIDS=
# cpu_s PID: the user and system CPU seconds PID has used so far.
cpu_s() {
	awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}
# mark FILE: each party's pids and their CPU ticks so far, and the
# machine's busy and total ticks, in FILE (nothing without parties)
mark() {
	: >"$1"
	[ -n "$CLIENT_PIDS" ] || return 0
	for p in $($CLIENT_PIDS); do echo "c $p $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f12,13)"; done >>"$1"
	for p in $($NODE_PIDS); do echo "n $p $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f12,13)"; done >>"$1"
	awk '$1 == "cpu" { print "b 0", $2 + $3 + $4 + $7 + $8, 0
		print "t 0", $2 + $3 + $4 + $5 + $6 + $7 + $8, 0 }' /proc/stat >>"$1"
}
# cpu_line WHAT MARK0 MARK1: what the parties used between two marks
# (a process started between them counted whole: the store connects
# again after the cold cache dropped its data/ directory), and the most
# MiB/s the machine's CPUs allow at that cost (all of them given to the
# row: a bound of the row however many threads or sessions it would
# spread its work over); after a "|", the CPU seconds of both parties.
cpu_line() {
	[ -s "$2" ] || return 0
	awk -v w="$1" -v n="$(nproc)" -v s="$SIZE_MIB" -v t="$(getconf CLK_TCK)" '
		NR == FNR { if (NF == 4) a[$1 " " $2] = $3 + $4; next }
		NF == 4 { d[$1] += $3 + $4 - a[$1 " " $2] }
		END {
			c = d["c"] / t; q = d["n"] / t
			printf "%s %.1f s CPU rhfs/sshfs+ssh, %.1f s sshd+sftp-server (at most %.0f MiB/s on %d CPUs), machine %.0f%% busy|%.2f",
			       w, c, q, (c + q > 0 ? s * n / (c + q) : 0), n,
			       (d["t"] > 0 ? 100 * d["b"] / d["t"] : 0), c + q
		}' "$2" "$3"
}
CPU_ROWS=$T/cpu-rows
: >"$CPU_ROWS"

# row NAME DIR [PEER]: the three figures for DIR, kept as NAME's.
row() {
	name=$1 dir=$2 peer=${3:-}
	mkdir -p "$dir/bench-seq" "$dir/bench-ls" || { echo "$name: $dir: cannot write"; return 1; }
	[ -n "$SERVER_PID" ] && c0=$(cpu_s "$SERVER_PID")
	mark "$T/m0"
	t0=$(now)
	dd if=/dev/zero of="$dir/bench-seq/big" bs=1M count="$SIZE_MIB" \
		conv=fsync 2>/dev/null || { echo "$name: write failed"; return 1; }
	t1=$(now)
	mark "$T/m1"
	[ -n "$SERVER_PID" ] && c1=$(cpu_s "$SERVER_PID")
	cold
	[ -n "$SERVER_PID" ] && c2=$(cpu_s "$SERVER_PID")
	mark "$T/m2"
	t2=$(now)
	dd if="$dir/bench-seq/big" of=/dev/null bs=1M 2>/dev/null ||
		{ echo "$name: read failed"; return 1; }
	t3=$(now)
	mark "$T/m3"
	server=
	if [ -n "$SERVER_PID" ]; then
		c3=$(cpu_s "$SERVER_PID")
		server=$(awk -v a="$c0" -v b="$c1" -v c="$c2" -v d="$c3" \
			-v w="$(secs "$t0" "$t1")" -v r="$(secs "$t2" "$t3")" \
			-v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
			printf "  (the server: %.1f s CPU in the %.1f s write, %.1f s in the %.1f s read; load %s)",
			       b - a, w, d - c, r, l }')
	fi
	rm -f "$dir/bench-seq/big"
	# FILES files of 100 bytes, 100 to a directory
	"$PYTHON3" - "$dir/bench-ls" "$FILES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "d%03d" % (i // 100))
    if i % 100 == 0:
        os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d" % i), "wb") as f:
        f.write(b"x" * 100)
PY
	cold
	sleep 1.1       # past the attribute and entry cache times too
	t4=$(now)
	n=$(ls -lR "$dir/bench-ls" | grep -c '^-')
	t5=$(now)
	rm -rf "$dir/bench-ls" "$dir/bench-seq"
	w=$(secs "$t0" "$t1") r=$(secs "$t2" "$t3") l=$(secs "$t4" "$t5")
	echo "$name $w $r $l $n $COLD ${peer:--}" >>"$RESULTS"
	awk -v n="$name" -v w="$w" -v r="$r" -v l="$l" -v s="$SIZE_MIB" \
		-v f="$n" -v c="$COLD" 'BEGIN {
		printf "%-22s write %7.1f MiB/s  read (%s) %7.1f MiB/s  ls -lR %d files %6.3f s\n",
		       n, s / w, c, s / r, f, l }'
	[ -z "$server" ] || echo "$server"
	[ -s "$T/m0" ] || return 0
	cw=$(cpu_line write "$T/m0" "$T/m1")
	cr=$(cpu_line read "$T/m2" "$T/m3")
	echo "  (${cw%|*};"
	echo "   ${cr%|*}; load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "$name ${cw##*|} ${cr##*|} ${peer:--}" >>"$CPU_ROWS"
}

# The ratios of each row to its peer: above 1 is faster than the peer.
ratios() {
	echo
	echo "ratios to the peer (write, read: MiB/s over the peer's; ls -lR: the peer's time over this one's)"
	awk '{ w[$1] = $2; r[$1] = $3; l[$1] = $4; p[$1] = $7; o[NR] = $1 }
	END {
		for (i = 1; i <= NR; i++) {
			n = o[i]; q = p[n]
			if (q == "-" || !(q in w)) continue
			printf "%-22s vs %-16s write %5.2fx  read %5.2fx  ls -lR %5.2fx\n",
			       n, q, w[q] / w[n], r[q] / r[n], l[q] / l[n]
		}
	}' "$RESULTS"
}

echo "data/ benchmark: ${SIZE_MIB} MiB sequential, ls -lR of $FILES files; $(nproc) CPUs, $(uname -r)"

# --- the local store: data/ of a "file" folder against its directory ---
mkdir -p "$T/native" "$T/store" "$WORK/rh/bench"
cat >"$WORK/rh/bench/config.json" <<EOF
{"resource_type": "folder", "name": "bench", "system": "file", "path": "$T/store"}
EOF
mount_rhfs
if wants local; then
	row native "$T/native"
	row rhfs-local "$MNT/~/bench/data" native
fi

# --- a cluster's store: data/ of a folder on the loopback sshd's node
# against sshfs on the same sshd, as the same user ---
. "$top_srcdir/tests/sshd-lib.sh"
SSHFS_MNT=$T/sshfs
bench_cleanup() {
	grep -q " $SSHFS_MNT fuse" /proc/mounts && fusermount3 -u "$SSHFS_MNT"
	stop_sshd
	cleanup
}
trap bench_cleanup EXIT
# The floor of the cluster rows: rhfs's SFTP transport without FUSE
# (tests/bench/sftp-floor: libssh2 on a session as the store makes it,
# the same sshd and user), and what its cipher costs in libcrypto as
# libssh2 1.10 calls it (a call per 16-byte block) and as OpenSSH does
# (a call per packet).
sftp_floor() {
	floor=$top_builddir/tests/bench/sftp-floor
	[ -x "$floor" ] || make -C "$top_builddir" tests/bench/sftp-floor \
		>/dev/null 2>&1 || { echo "sftp-floor: cannot build"; return; }
	set -- 127.0.0.1 "$SSH_PORT" "$SSH_USER" "$SSH_KEY" "$KNOWN_HOSTS" \
		rhfs-bench/floor "$SIZE_MIB"
	: >"$T/floor-rows"
	# one session, then the file cut in a part per CPU, a session (and
	# thread) each: what spreading a file over sessions could give
	for ns in 1 $(nproc); do
		[ "$ns" = 1 ] && fname="libssh2 (no FUSE)" ||
			fname="libssh2 x$ns (no FUSE)"
		[ "$ns" = 1 ] || [ "$(nproc)" -gt 1 ] || break
		"$floor" "$@" write "$ns" >"$T/floor-w" && cold &&
			"$floor" "$@" read "$ns" >"$T/floor-r" ||
			{ echo "sftp-floor: failed"; return; }
		read -r cipher mac fw cw <"$T/floor-w"
		read -r _ _ fr cr <"$T/floor-r"
		awk -v w="$fw" -v r="$fr" -v c="$COLD" -v m="$cipher $mac" \
			-v cw="$cw" -v cr="$cr" -v n="$fname" -v s="$SIZE_MIB" \
			-v p="$(nproc)" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
			printf "%-22s write %7.1f MiB/s  read (%s) %7.1f MiB/s  (%s)\n",
			       n, w, c, r, m
			printf "  (write %.1f s CPU, read %.1f s CPU in the client alone: at most %.0f and %.0f MiB/s on %d CPUs; load %s)\n",
			       cw, cr, (cw > 0 ? s * p / cw : 0), (cr > 0 ? s * p / cr : 0), p, l }'
		echo "$fname|$fw|$fr" >>"$T/floor-rows"
	done
	command -v openssl >/dev/null || return 0
	# SSH's aes128-ctr is OpenSSL's aes-128-ctr; hmac-sha2-256 its
	# HMAC of sha256
	evp=$(echo "$cipher" | sed 's/^aes\([0-9]*\)-/aes-\1-/')
	hmac=$(echo "$mac" | sed 's/^hmac-//; s/^sha2-/sha/')
	for b in 16 32768; do
		speed "$cipher, $b-byte calls" -bytes $b -evp "$evp"
	done
	speed "$mac, 32768-byte calls" -bytes 32768 -hmac "$hmac"
}
# speed WHAT ARGS...: one figure of `openssl speed ARGS`, in MiB/s
speed() {
	what=$1
	shift
	openssl speed -seconds 1 "$@" 2>/dev/null | awk -v w="$what" '
		$1 != "type" && NF >= 2 { v = $NF }
		END { sub(/k$/, "", v)
		      printf "%-22s %-32s %7.1f MiB/s\n", "libcrypto", w,
		             v * 1000 / 1048576 }'
}

# the parties of the cluster rows, for their CPU time (the node's user
# runs nothing else while the bench holds its node)
sshfs_pids() {
	# its ssh: started before sshfs went to the background, not its child
	pgrep -f -- " $SSHFS_MNT\$"
	pgrep -f -- "-oport=$SSH_PORT .* sftp\$"
}
rhfs_pid() { echo "$RHFS_PID"; }
node_pids() { pgrep -u "$SSH_USER"; }

if ! wants sftp; then
	:
elif ! command -v sshfs >/dev/null 2>&1; then
	echo "sshfs: missing (tests/deps.sh installs it): no cluster rows"
elif start_sshd; then
	su -s /bin/sh "$SSH_USER" -c 'cd && rm -rf rhfs-bench sshfs-bench &&
		mkdir rhfs-bench sshfs-bench'
	mkdir -p "$WORK/rh/box" "$WORK/rh/cbench" "$SSHFS_MNT"
	cat >"$WORK/rh/box/config.json" <<EOF
{"resource_type": "cluster", "name": "box", "ips": ["127.0.0.1"],
 "ssh_creds": {"ssh_user": "$SSH_USER", "ssh_private_key": "$SSH_KEY",
 "ssh_port": $SSH_PORT}}
EOF
	cat >"$WORK/rh/cbench/config.json" <<EOF
{"resource_type": "folder", "name": "cbench", "system": "~/box", "path": "rhfs-bench"}
EOF
	NODE_PIDS=node_pids
	if sshfs -o "IdentityFile=$SSH_KEY,UserKnownHostsFile=$KNOWN_HOSTS" \
		-o "StrictHostKeyChecking=accept-new,port=$SSH_PORT" \
		"$SSH_USER@127.0.0.1:sshfs-bench" "$SSHFS_MNT"; then
		CLIENT_PIDS=sshfs_pids
		row sshfs "$SSHFS_MNT"
	fi
	CLIENT_PIDS=rhfs_pid
	row rhfs-sftp "$MNT/~/cbench/data" sshfs
	CLIENT_PIDS= NODE_PIDS=
	sftp_floor
fi

# --- other stores add their rows here ---

# --- S3: data/ of an "s3" folder against s3fs and the AWS CLI, all on
# one moto server (S3_FILES small files: moto takes a request per file)
S3_FILES=${3:-$FILES}
if ! wants s3; then
	:
elif "$PYTHON3" -c 'import moto.server, boto3' 2>/dev/null &&
	command -v aws >/dev/null && command -v s3fs >/dev/null; then
	. "$top_srcdir/tests/moto-lib.sh"
	S3PORT=$(free_port)
	S3URL=http://127.0.0.1:$S3PORT
	moto_start "$S3PORT" "$T/moto.log"
	S3PID=$STARTED
	SERVER_PID=$S3PID
	s3_bench_cleanup() {
		grep -q " $T/s3fs fuse" /proc/mounts && fusermount3 -u "$T/s3fs"
		kill "$S3PID" 2>/dev/null
		bench_cleanup
	}
	trap s3_bench_cleanup EXIT
	aws --endpoint-url "$S3URL" s3 mb s3://bench >/dev/null
	mkdir -p "$WORK/rh/bench-s3" "$T/s3fs"
	cat >"$WORK/rh/bench-s3/config.json" <<EOF
{"resource_type": "folder", "name": "bench-s3", "system": "s3", "path": "bench/rhfs",
 "data_config": {"endpoint_url": "$S3URL", "region": "us-east-1"}}
EOF
	# the same keys for all three (rhfs: from ~/.aws/credentials)
	mkdir -p "$HOME/.aws"
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$HOME/.aws/credentials"
	echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" >"$T/s3fs.passwd"
	chmod 600 "$T/s3fs.passwd"
	aws --endpoint-url "$S3URL" s3api put-object --bucket bench \
		--key s3fs/ >/dev/null
	s3fs bench:/s3fs "$T/s3fs" -o url="$S3URL" -o use_path_request_style \
		-o passwd_file="$T/s3fs.passwd" -o endpoint=us-east-1
	FILES_ALL=$FILES
	FILES=$S3_FILES
	row s3fs "$T/s3fs"
	row rhfs-s3 "$MNT/~/bench-s3/data" s3fs
	FILES=$FILES_ALL
	SERVER_PID=
	fusermount3 -u "$T/s3fs"
	# the AWS CLI: the same file up and down (no listing figure)
	dd if=/dev/zero of="$T/aws-big" bs=1M count="$SIZE_MIB" 2>/dev/null
	t0=$(now)
	aws --endpoint-url "$S3URL" s3 cp "$T/aws-big" s3://bench/aws/big >/dev/null
	t1=$(now)
	rm -f "$T/aws-big"
	t2=$(now)
	aws --endpoint-url "$S3URL" s3 cp s3://bench/aws/big - >/dev/null
	t3=$(now)
	w=$(secs "$t0" "$t1") r=$(secs "$t2" "$t3")
	awk -v w="$w" -v r="$r" -v s="$SIZE_MIB" 'BEGIN {
		printf "%-22s write %7.1f MiB/s  read        %7.1f MiB/s\n",
		       "aws-cli", s / w, s / r }'
	echo "aws-cli $w $r" >"$T/aws-row"
	kill "$S3PID"
else
	echo "S3 rows skipped: moto, boto3, the AWS CLI and s3fs are needed (tests/deps.sh)"
fi

ratios
if [ -f "$T/floor-rows" ]; then
	while IFS='|' read -r fname fw fr; do
		awk -v fw="$fw" -v fr="$fr" -v n="$fname" '$1 == "sshfs" || $1 == "rhfs-sftp" {
			printf "%-22s vs %-16s write %5.2fx  read %5.2fx\n", n,
			       $1, fw * $2 / '"$SIZE_MIB"', fr * $3 / '"$SIZE_MIB"' }' "$RESULTS"
	done <"$T/floor-rows"
fi
# on a machine whose CPUs are all busy, throughput goes as the inverse
# of the CPU a byte costs (client and node together)
awk '{ w[$1] = $2; r[$1] = $3; p[$1] = $4; o[NR] = $1 }
END {
	for (i = 1; i <= NR; i++) {
		n = o[i]; q = p[n]
		if (q == "-" || !(q in w) || w[n] <= 0 || r[n] <= 0) continue
		printf "%-22s vs %-16s write %5.2fx  read %5.2fx  (CPU bound: the peer'"'"'s CPU seconds over this one'"'"'s)\n",
		       n, q, w[q] / w[n], r[q] / r[n]
	}
}' "$CPU_ROWS"
if [ -f "$T/aws-row" ]; then
	read -r _ aw ar <"$T/aws-row"
	awk -v aw="$aw" -v ar="$ar" '$1 == "rhfs-s3" {
		printf "%-22s vs %-16s write %5.2fx  read %5.2fx\n",
		       $1, "aws-cli", aw / $2, ar / $3 }' "$RESULTS"
fi
finish >/dev/null
