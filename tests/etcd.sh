#!/bin/sh
# etcd.sh - the etcd client (src/rns/etcd.c) against a real etcd: runs
# tests/etcd-client, and stops, restarts or replaces etcd when it asks
# (a line on a fifo, answered on another).
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
. "$top_srcdir/tests/etcd-lib.sh"

etcd_need
# Tokens that expire quickly, so that renewing them is tested.
etcd_start --auth-token-ttl 2 || exit 1

mkfifo "$ETCD_TMP/ask" "$ETCD_TMP/answer" || exit 1
"$top_builddir/tests/etcd-client" "$ETCD_URL" \
	3>"$ETCD_TMP/ask" 4<"$ETCD_TMP/answer" &
client=$!
exec 5<"$ETCD_TMP/ask" 6>"$ETCD_TMP/answer"
while read -r cmd <&5; do
	case $cmd in
	stop)
		etcd_stop
		echo ok >&6
		;;
	start)
		if etcd_restart; then echo ok; else echo failed; fi >&6
		;;
	tls)
		# shellcheck disable=SC2119
		if etcd_tls_start; then
			echo "ok $ETCD_URL $ETCD_CA"
		else
			echo failed
		fi >&6
		;;
	*)
		echo "unknown request $cmd" >&6
		;;
	esac
done
exec 5<&- 6>&-
wait $client
