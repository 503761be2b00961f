# rhagent-libs.sh - rhagent, which is uploaded to every node, is linked
# with the base library alone: neither the binary nor its link line
# brings in libcurl, libssh2 or libyaml, which only rhfs and rh use (and
# libcurl not even they: they open it when first needed).
. "$top_srcdir/tests/lib.sh"

# The control: rh links two of them, and ldd shows them by these names.
ldd "$top_builddir/rh" >"$T/rh.ldd"
for lib in libssh2 libyaml; do
	has "ldd shows $lib in rh" "$T/rh.ldd" "$lib"
done
lacks "nor does rh link libcurl" "$T/rh.ldd" libcurl

ldd "$top_builddir/rhagent" >"$T/rhagent.ldd"
check "ldd reads rhagent" grep -q libcjson "$T/rhagent.ldd"
for lib in libcurl libssh2 libyaml; do
	lacks "rhagent needs no $lib" "$T/rhagent.ldd" "$lib"
done

# The linker's --as-needed drops a library no object uses, so the binary
# alone does not show what its link line holds: linked again without it,
# every library on the line is needed by the result.
(cd "$top_builddir" &&
	$RHAGENT_CCLD -Wl,--no-as-needed -o "$T/rhagent" $RHAGENT_LIBS) \
	>"$T/link.out" 2>&1
check "rhagent links again without --as-needed" test -x "$T/rhagent"
ldd "$T/rhagent" >"$T/relinked.ldd"
check "ldd reads the relinked rhagent" grep -q libcjson "$T/relinked.ldd"
for lib in libcurl libssh2 libyaml; do
	lacks "rhagent's link line has no $lib" "$T/relinked.ldd" "$lib"
done

finish
