# python-file.sh - a cluster's python file, on ^local and on a node over
# SSH (a real sshd on loopback): the source written up to a read, fsync
# or close is one program, run by python3 on the node; reading the same
# open file gives its output (stdout and stderr, as they came) and
# "exit N". Output, SystemExit's status, a traceback, a multi-line
# program written in pieces, a syntax error, two programs in order, one
# run by close alone, one over the limit and a NUL byte refused, and a
# node that cannot be reached.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/sshd-lib.sh"
node_up
mount_rhfs -o "known_hosts=$T/known_hosts,connect_timeout=5"
# SOURCE written to a python file, its answer read on the same open file
WR=$top_srcdir/tests/write_read.py

# pieces.py PYFILE: a program of 40 lines written one line per write(2),
# then two programs in turn on the same open file, each read back.
cat >"$T/pieces.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
def readall():
    out = b""
    while True:
        b = os.read(fd, 65536)
        if not b:
            return out.decode()
        out += b
src = ["def square(n):\n", "    return n * n\n", "total = 0\n"]
src += ["total += square(%d)\n" % i for i in range(37)]
src += ["print('total', total)\n"]
for line in src:
    os.write(fd, line.encode())
print("first: %r" % readall())
os.write(fd, b"print('second')\n")
os.write(fd, b"raise SystemExit(5)\n")
print("second: %r" % readall())
PY
# limits.py PYFILE: a program over 120 KiB and one with a NUL byte.
cat >"$T/limits.py" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, b"print('big')\n" + b"#" * (121 * 1024) + b"\n")
    print("big: wrote")
except OSError as e:
    print("big: %s" % errno.errorcode[e.errno])
try:
    print("big read: %r" % os.read(fd, 100))
except OSError as e:
    print("big read: %s" % errno.errorcode[e.errno])
os.write(fd, b"print('a\0b')\n")
try:
    os.fsync(fd)
    print("nul: ran")
except OSError as e:
    print("nul: %s" % errno.errorcode[e.errno])
os.write(fd, b"print('after')\n")
print("after: %r" % os.read(fd, 100))
PY

# on CLUSTER DIR WHO MARK: the checks on the cluster at DIR whose user is
# WHO; MARK is a file that cluster's python writes (its path there).
on() {
	c=$1 P=$2/python who=$3 mark=$4
	check "$c: python is listed" ls "$2"
	has "$c: python is listed" "$T/out" "python"
	check "$c: a program's output" "$PYTHON3" "$WR" "$P" \
		'import getpass; print("hi", getpass.getuser()); print(6 * 7)'
	printf 'hi %s\n42\nexit 0\n' "$who" >"$T/want"
	same "$c: its output, then exit 0" "$T/out" "$T/want"
	check "$c: raise SystemExit(3)" "$PYTHON3" "$WR" "$P" \
		'print("leaving"); raise SystemExit(3)'
	printf 'leaving\nexit 3\n' >"$T/want"
	same "$c: exit 3" "$T/out" "$T/want"
	check "$c: an exception" "$PYTHON3" "$WR" "$P" \
		'import sys; print("to stderr", file=sys.stderr); 1 / 0'
	has "$c: stderr is read back" "$T/out" "to stderr"
	has "$c: its traceback" "$T/out" "Traceback (most recent call last)"
	has "$c: names the error" "$T/out" "ZeroDivisionError: division by zero"
	has "$c: exit 1" "$T/out" "exit 1"
	check "$c: a syntax error" "$PYTHON3" "$WR" "$P" 'def f(:'
	has "$c: SyntaxError" "$T/out" "SyntaxError"
	has "$c: a syntax error exits 1" "$T/out" "exit 1"
	check "$c: a program written a line per write, then two in turn" \
		"$PYTHON3" "$T/pieces.py" "$P"
	has "$c: the 40 lines ran as one program" "$T/out" \
		"first: 'total 16206\\nexit 0\\n'"
	has "$c: the next program, after the first was read" "$T/out" \
		"second: 'second\\nexit 5\\n'"
	check "$c: from Python, open(path, 'r+b', buffering=0)" "$PYTHON3" -c '
import sys
f = open(sys.argv[1], "r+b", buffering=0)
f.write(b"for i in range(3):\n")
f.write(b"    print(i)\n")
sys.stdout.write(f.read().decode())' "$P"
	printf '0\n1\n2\nexit 0\n' >"$T/want"
	same "$c: a write, then a read of its answer" "$T/out" "$T/want"
	rm -f "$mark"
	check "$c: echo ... > python runs it at close" sh -c \
		"echo 'open(\"$mark\", \"w\").write(\"by close\")' > '$P'"
	# close returns once the program is accepted; it runs on
	wait_for 20 grep -q "by close" "$mark"
	has "$c: it ran" "$mark" "by close"
	printf 'lines = []\nfor i in range(3):\n    lines.append("line %%d" %% i)\nopen("%s", "w").write(" ".join(lines))\n' \
		"$mark" >"$T/script.py"
	check "$c: cat script.py > python" sh -c "cat '$T/script.py' > '$P'"
	wait_for 20 grep -q "line 2" "$mark"
	has "$c: the script ran whole" "$mark" "line 0 line 1 line 2"
	check "$c: limits" "$PYTHON3" "$T/limits.py" "$P"
	has "$c: a program over 120 KiB is refused (E2BIG)" "$T/out" "big: E2BIG"
	has "$c: nothing of it ran" "$T/out" "big read: b''"
	has "$c: a NUL byte is refused (EINVAL)" "$T/out" "nul: EINVAL"
	has "$c: and the next program runs" "$T/out" "after: b'after\\nexit 0\\n'"
}

on "^local" "$MNT/^/local" "$(id -un)" "$T/mark"

R=$MNT/~
mkdir "$R/node"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$SSH_PORT" >"$R/node/config.json"
on "ssh" "$R/node" "$SSH_USER" "$NODE/python-mark"
rm -f "$NODE/python-mark"

# A node that cannot be reached fails the program's first write, which a
# shell reports (it does not report a failed close).
mkdir "$R/gone"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "%s", "ssh_private_key": "%s", "ssh_port": %s}}' \
	"$SSH_USER" "$SSH_KEY" "$(free_port)" >"$R/gone/config.json"
refuse "a node that cannot be reached: the first write fails" \
	"write error" bash -c "echo 'print(1)' > '$R/gone/python'"
check "its errors" cat "$R/gone/errors"
has "name the node and the cause" "$T/out" "~/gone: 127.0.0.1:"
finish
