# firstrun.sh - what a new user sees first, from the README's demo
# command: autoreconf and the archiver print no warnings, and the demo
# begins with a heading, narrates each step in one line and shows a
# Python send served by a warm worker, a map and a call's streamed stdout.
. "$top_srcdir/tests/lib.sh"

# autoreconf on a copy of the build description: no warning of any kind
mkdir -p "$T/ac/m4"
cp "$top_srcdir/configure.ac" "$top_srcdir/Makefile.am" "$T/ac/"
(cd "$T/ac" && autoreconf -fi) >"$T/ac.out" 2>&1
lacks "autoreconf prints no warnings" "$T/ac.out" "warning"

# the archiver, with the flags the build uses, on an object of the build
AR_CMD=$(sed -n 's/^AR = //p' "$top_builddir/Makefile")
ARFLAGS=$(sed -n 's/^ARFLAGS = //p' "$top_builddir/Makefile")
obj=$(ls "$top_builddir"/src/base/*.o | head -n 1)
$AR_CMD $ARFLAGS "$T/t.a" "$obj" >"$T/ar.out" 2>&1
check "ar builds an archive" test -s "$T/t.a"
check "ar prints nothing" test ! -s "$T/ar.out"

sh "$top_srcdir/tests/demo.sh" >"$T/demo" 2>&1
check "the demo ends by unmounting" grep -q '^unmounted ' "$T/demo"
check "the demo begins with a heading" \
	sh -c "head -n 1 '$T/demo' | grep -q '^=== rhfs demo ===\$'"
# every command shown follows a one-line narration, or another command
awk '/^# /{said=1; next} /^\$ /{if (!said) {print; bad=1}; next}
	/^$/{said=0} END{exit bad}' "$T/demo" >"$T/unsaid"
check "each step of the demo is narrated" test ! -s "$T/unsaid"
grep '^{"pid"' "$T/demo" | sed 's/.*"pid": \([0-9]*\).*/\1/' | sort -u >"$T/pids"
check "the Python calls ran in one warm worker" \
	test "$(wc -l <"$T/pids")" -eq 1
has "the warm worker kept its state" "$T/demo" '"calls": 2}'
check "the map's results come in order" \
	sh -c "grep -A 4 '^# A map' '$T/demo' | tail -n 3 | tr '\n' ' ' | grep -q '^3 7 \"ab\" \$'"
check "the call's stdout is streamed" \
	sh -c "grep -A 5 '^# A call.s stdout' '$T/demo' | grep -q '^step 3\$'"
finish
