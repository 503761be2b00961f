#!/bin/sh
# etcd-cluster.sh - the etcd client (src/rns/etcd.c) on a cluster of three
# members: runs tests/etcd-client --cluster, killing, starting, stopping
# and continuing members when it asks (a line on a fifo, answered on
# another).
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
. "$top_srcdir/tests/etcd-lib.sh"

etcd_need
etcd_cluster_start || exit 1

mkfifo "$ETCD_TMP/ask" "$ETCD_TMP/answer" || exit 1
"$top_builddir/tests/etcd-client" --cluster "$ETCD_URL" \
	3>"$ETCD_TMP/ask" 4<"$ETCD_TMP/answer" &
client_pid=$!
exec 5<"$ETCD_TMP/ask" 6>"$ETCD_TMP/answer"
while read -r cmd n <&5; do
	case $cmd in
	kill) etcd_member_kill "$n" && echo ok >&6 ;;
	stop) etcd_member_stop "$n" && echo ok >&6 ;;
	cont) etcd_member_cont "$n" && echo ok >&6 ;;
	start)
		if etcd_member_start "$n" && etcd_cluster_leader; then
			echo ok
		else
			echo failed
		fi >&6
		;;
	*) echo "unknown request $cmd" >&6 ;;
	esac
done
exec 5<&- 6>&-
wait $client_pid
