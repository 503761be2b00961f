# errors.sh - where the reason of a refusal is read: a write refused
# with EINVAL keeps its errno, and the reason is in .log, in the
# resource's own errors file (the recent refusals naming it), and on
# rhfs -f's standard error as it happens.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
R=$MNT/~

mkdir -p "$R/a" "$R/ab" "$R/box" "$R/plain"
for s in a ab; do
	printf '{"resource_type": "send", "hardware": "^local", "command": ["echo"]}' \
		>"$R/$s/config.json"
done
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"]}' \
	>"$R/box/config.json"

ls "$R/a" >"$T/ls"
has "a send lists errors" "$T/ls" "errors"
ls "$R/box" >"$T/ls"
has "a cluster lists errors" "$T/ls" "errors"
ls "$R/plain" >"$T/ls"
lacks "a folder that is not a resource has none" "$T/ls" "errors"
check "errors is empty before any refusal" test ! -s "$R/a/errors"

refuse "a malformed invoke line fails with EINVAL" "Invalid argument" \
	bash -c "echo 'not json' > '$R/a/invoke'"
has "the send's errors file gives the reason" "$R/a/errors" \
	"refused: ~/a/invoke: line 1"
has ".log gives it too" "$MNT/.log" "refused: ~/a/invoke: line 1"
has "rhfs -f printed it on stderr as it happened" "$T/rhfs.err" \
	"rhfs: warning: refused: ~/a/invoke: line 1"
check "another send's errors file does not show it" test ! -s "$R/ab/errors"

refuse "an invalid config fails with EINVAL" "Invalid argument" \
	bash -c "echo '{\"resource_type\": \"send\", \"hardware\": 5}' > '$R/a/config.json'"
tail -n 1 "$R/a/errors" >"$T/last"
has "the last line of errors is the latest refusal" "$T/last" \
	"refused: ~/a:"
refuse "errors is read-only" "Permission denied" \
	bash -c "echo x > '$R/a/errors'"
echo '[]' >"$R/ab/invoke"
id=$(readlink "$R/ab/calls/latest")
refuse "a call's ctl refuses an unknown command" "Invalid argument" \
	bash -c "echo frobnicate > '$R/ab/calls/latest/ctl'"
has "the send's errors file gives the reason" "$R/ab/errors" \
	"refused: ~/ab/calls/$id/ctl: takes 'cancel'"
refuse "a cluster's ctl refuses an unknown command" "Invalid argument" \
	bash -c "echo frobnicate > '$R/box/ctl'"
has "the cluster's errors file gives the reason" "$R/box/errors" \
	"frobnicate"
finish
