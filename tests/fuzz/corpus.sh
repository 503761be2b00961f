# corpus.sh - every input of each fuzz target's corpus
# (tests/fuzz/corpus/NAME: seeds, and inputs that once failed) run once
# through the target: none may crash, leak or break a property.
. "$top_srcdir/tests/lib.sh"
for name in proto config invoke spec yaml; do
	prog=$top_builddir/tests/fuzz/fuzz-$name
	if "$prog" "$top_srcdir/tests/fuzz/corpus/$name"/* \
		>"$T/out" 2>"$T/errout"; then
		pass "fuzz-$name: every input of corpus/$name"
	else
		fail "fuzz-$name: an input of corpus/$name failed (exit $?)"
		cat "$T/errout" >&2
	fi
done
finish
