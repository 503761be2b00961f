# docs.sh - docs/architecture.md names every source file of src/, fs/
# and agent/ with its directory, and every such path it names exists.
. "$top_srcdir/tests/lib.sh"

DOC=$top_srcdir/docs/architecture.md
(cd "$top_srcdir" && find src fs agent -name '*.[ch]' | sort) >"$T/files"
# NAME: a recipe's placeholder
grep -o '\(src\|fs\|agent\)/[A-Za-z0-9_./-]*\.[ch]\b' "$DOC" |
	grep -v NAME | sort -u >"$T/named"

check "there are sources to look for" test -s "$T/files"
check "architecture.md names sources by path" test -s "$T/named"
while read -r f; do
	if grep -qxF "$f" "$T/named"; then
		pass "architecture.md names $f"
	else
		fail "architecture.md does not name $f"
	fi
done <"$T/files"
while read -r f; do
	# a generated header (agent/runner-py.h) is the build's
	if [ -f "$top_srcdir/$f" ] || [ -f "$top_builddir/$f" ]; then
		pass "$f, named in architecture.md, exists"
	else
		fail "architecture.md names $f, which does not exist"
	fi
done <"$T/named"
finish
