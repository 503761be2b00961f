# python-api.sh - a Python script using only open()/os.listdir()/
# os.rename() manages resources through a real mount.
. "$top_srcdir/tests/lib.sh"
mount_rhfs
if "$PYTHON3" "$top_srcdir/tests/python_api.py" "$MNT" "$WORK"; then
	pass "python script"
else
	fail "python script"
fi
finish
