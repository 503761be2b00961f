#!/bin/sh
# run.sh [SECONDS [TARGET...]] - run each libFuzzer target of a build
# configured with --enable-fuzz for SECONDS (default 60), from its seed
# corpus, and fail if any finds a crash, a leak, a hang or a broken
# property. Run from the build directory. New inputs go to
# fuzz-out/NAME/corpus, a failing one to fuzz-out/NAME/ with libFuzzer's
# output in fuzz-out/NAME/log. One line a target tells its execs,
# exec/s and coverage.
set -u
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-proto config invoke spec yaml}
srcdir=$(cd "$(dirname "$0")" && pwd)
status=0
for name in $targets; do
	prog=tests/fuzz/fuzz-$name
	out=fuzz-out/$name
	mkdir -p "$out/corpus"
	# -timeout: one input over 10 s is a hang; -rss_limit_mb: over
	# 2 GiB is a failure (libFuzzer's default too)
	"$prog" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -dict="$srcdir/json.dict" \
		-artifact_prefix="$out/" "$out/corpus" "$srcdir/corpus/$name" \
		>"$out/log" 2>&1
	rc=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$out/log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log")
	cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
	if [ $rc -ne 0 ]; then
		status=1
		echo "FAIL fuzz-$name (exit $rc): see $out/log"
		grep -E -A30 'ERROR:|property failed|runtime error' "$out/log" |
			head -n 60
		ls "$out" | grep -E '^(crash|leak|timeout|oom)-' |
			sed "s|^|  input: $out/|"
	else
		echo "ok fuzz-$name: ${secs}s, ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-cov ?}"
	fi
done
exit $status
