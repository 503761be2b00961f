# checks.sh - the checks of lib.sh can fail: each is given a case that
# proves nothing or is false, in a subshell, and must count a failure
# (lacks passed on a file that was not there; has on empty text).
. "$top_srcdir/tests/lib.sh"

# counted RESULT DESCRIPTION CHECK ARGS...: CHECK ARGS, run in a subshell,
# counts one RESULT (pass or fail) and nothing else.
counted() {
	want=$1
	desc=$2
	shift 2
	got=$(PASSED=0; FAILED=0; "$@" >/dev/null 2>&1; echo "$PASSED $FAILED")
	case "$want:$got" in
	"pass:1 0" | "fail:0 1") pass "$desc" ;;
	*) fail "$desc (passed, failed: $got)" ;;
	esac
}

printf 'alpha\nbeta\n' >"$T/f"
printf 'beta\n' >"$T/g"
counted fail "lacks: a missing file proves nothing" \
	lacks x "$T/missing" alpha
counted fail "lacks: the text is there" lacks x "$T/f" alpha
counted pass "lacks: the text is not there" lacks x "$T/f" gamma
counted fail "has: a missing file" has x "$T/missing" alpha
counted fail "has: empty text proves nothing" has x "$T/f" ""
counted fail "has: the text is not there" has x "$T/f" gamma
counted pass "has: the text is there" has x "$T/f" beta
counted fail "no_line_starts: a missing file" \
	no_line_starts x "$T/missing" beta
counted fail "no_line_starts: a line begins with it" \
	no_line_starts x "$T/f" bet
counted pass "no_line_starts: only inside a line" \
	no_line_starts x "$T/f" eta
counted fail "check: a command that fails" check x false
counted fail "refuse: a command that succeeds" refuse x "" true
counted fail "refuse: another error than the one wanted" \
	refuse x "No such file" sh -c 'echo "Permission denied" >&2; exit 1'
counted fail "same: files that differ" same x "$T/f" "$T/g"
counted fail "same: missing files" same x "$T/missing" "$T/missing2"
finish
