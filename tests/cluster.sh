# cluster.sh - a cluster's files: status (a fresh probe, as JSON) and run
# (write a shell command, read its output and exit status on the same
# open file), on ^local and on the read-only on-demand builtins.
. "$top_srcdir/tests/lib.sh"
mount_rhfs

ls "$MNT/^/local" >"$T/ls"
has "a cluster shows status" "$T/ls" "status"
has "a cluster shows run" "$T/ls" "run"
check "^local status" cat "$MNT/^/local/status"
has "is up" "$T/out" '"state": "up"'
has "names the cluster" "$T/out" '"cluster": "^local"'
has "reports the agent's load" "$T/out" '"load"'
check "^rh-cpu status" cat "$MNT/^/rh-cpu/status"
has "an on-demand cluster is down" "$T/out" '"state": "down"'
has "and says why" "$T/out" "on-demand"

cat >"$T/run.sh" <<SH
exec 3<>'$MNT/^/local/run'
printf 'echo out; echo err >&2; exit 3' >&3
cat <&3
SH
check "run: a command and its output on one open file" bash "$T/run.sh"
printf 'out\nerr\nexit 3\n' >"$T/want"
same "run: output, then the exit status" "$T/out" "$T/want"
cat >"$T/run2.sh" <<SH
exec 3<>'$MNT/^/local/run'
echo 'echo one' >&3
echo 'echo two; false' >&3
cat <&3
SH
check "run: two commands answered in order" bash "$T/run2.sh"
printf 'one\nexit 0\ntwo\nexit 1\n' >"$T/want"
same "run: both outputs and statuses" "$T/out" "$T/want"
refuse "run: a NUL byte is refused" "Invalid argument" \
	bash -c "printf 'echo a\\0b' > '$MNT/^/local/run'"
refuse "status is read-only" "Permission denied" \
	bash -c "echo x > '$MNT/^/local/status'"
finish
