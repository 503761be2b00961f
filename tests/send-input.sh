# send-input.sh - what a send's invoke takes and gives back at the edges:
# malformed specs (EINVAL, nothing submitted), text after a spec, a line
# cut between writes (buffered until its newline), a result over the
# 1 MiB an agent's reply holds (whole in result and in invoke), a result
# over the invoke line's cap (a clear error line), a connect_timeout
# under a second, and rm -r of a send and of a cluster.
. "$top_srcdir/tests/lib.sh"
mount_rhfs -o connect_timeout=0.4
R=$MNT/~

mkdir "$R/echo" "$R/big" "$R/huge"
printf '{"resource_type": "send", "hardware": "^local", "command": ["echo"]}' \
	>"$R/echo/config.json"
# its argument's count of bytes, as lines of 'abcdefghi'
printf '{"resource_type": "send", "hardware": "^local", "command": ["sh", "-c", "yes abcdefghi | head -c $0"]}' \
	>"$R/big/config.json"

ncalls() {
	ls "$1/calls" | grep -vc latest
}

# submitted_none DESCRIPTION COUNT: calls/ of ~/echo still has COUNT calls.
submitted_none() {
	n1=$(ncalls "$R/echo")
	if [ "$2" -eq "$n1" ]; then
		pass "$1"
	else
		fail "$1 ($2 -> $n1)"
	fi
}

# onewrite FILE TEXT: one write(2) of TEXT; its error on stderr.
cat >"$T/onewrite.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, sys.argv[2].encode())
except OSError as e:
    print(e.strerror, file=sys.stderr)
    sys.exit(1)
PY

# A connect_timeout under a second still lets writes wait for acceptance
# (it counted whole seconds: every write failed at once). The first one
# starts the agent, which a loaded machine may not do in 0.4 s.
for i in 1 2 3; do
	echo '["warm"]' >"$R/echo/invoke" 2>/dev/null && break
	sleep 1
done
ok=0
for i in 1 2 3 4 5; do
	echo "[\"quick $i\"]" >"$R/echo/invoke" && ok=$((ok + 1))
done
if [ "$ok" -eq 5 ]; then
	pass "connect_timeout=0.4: writes wait for acceptance"
else
	fail "connect_timeout=0.4: $((5 - ok)) of 5 writes failed"
fi
check "and the result is read" cat "$R/echo/calls/latest/result"
has "it ran" "$T/out" "quick 5"

# Malformed specs: EINVAL, and calls/ is as it was.
n0=$(ncalls "$R/echo")
for spec in '42' '"text"' 'null' '{bad' '[1' '{"args": 1}' \
	'{"kwargs": [1]}' '{"queue": "yes"}' '{"argz": []}' '[1] [2]' \
	'[1] x' '{"args": [1]} // comment' '[1],'; do
	refuse "malformed: $spec" "Invalid argument" \
		"$PYTHON3" "$T/onewrite.py" "$R/echo/invoke" "$spec
"
done
refuse "a good line then a bad one: all refused" "Invalid argument" \
	"$PYTHON3" "$T/onewrite.py" "$R/echo/invoke" '["good"]
["also good"]
[1] trailing
'
submitted_none "malformed specs submitted nothing" "$n0"
has ".log says what follows the spec" "$MNT/.log" \
	"~/echo/invoke: line 3 has text after the JSON value"

# What Python's json reads otherwise, or not at all, is refused whole:
# a NUL after a spec or a line of NULs (they were taken as blank), a
# duplicate key, \u0000 (it cut "\u0000rm" to ""), invalid UTF-8, a
# number out of range.
n0=$(ncalls "$R/echo")
"$PYTHON3" - "$R/echo/invoke" >"$T/strict" 2>&1 <<'PY'
import os, sys
for name, line in [
        ("NUL after a spec", b'["a"]\0\n'),
        ("a NUL without a newline", b'["a"]\0'),
        ("a line of NULs", b'["a"]\n\0\0\0\n'),
        ("a duplicate key", b'{"args": ["a"], "args": ["b"]}\n'),
        ("a kwargs key twice", b'{"kwargs": {"k": 1, "k": 2}}\n'),
        ("\\u0000 in an argument", b'["\\u0000rm"]\n'),
        ("\\u0000 in a kwargs key", b'{"kwargs": {"a\\u0000b": 1}}\n'),
        ("invalid UTF-8", b'["\xff"]\n'),
        ("1e999", b'[1e999]\n')]:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, line)
        print("%s: accepted" % name)
    except OSError as e:
        print("%s: %s" % (name, e.strerror))
    os.close(fd)
PY
for what in "NUL after a spec" "a NUL without a newline" "a line of NULs" \
	"a duplicate key" "a kwargs key twice" "\\u0000 in an argument" \
	"\\u0000 in a kwargs key" "invalid UTF-8" "1e999"; do
	has "refused: $what" "$T/strict" "$what: Invalid argument"
done
submitted_none "strictly refused lines submitted nothing" "$n0"
has ".log names the field" "$MNT/.log" \
	"~/echo/invoke: line 1: 'kwargs': key 'k' appears twice"
has ".log names the argument" "$MNT/.log" \
	"~/echo/invoke: line 1: '[0]': a string holds \\u0000"
has ".log on a NUL" "$MNT/.log" "~/echo/invoke: line 2 holds a NUL byte"
# A number is passed on as it was written: 2^53+1 stays exact. (The
# 0.4 s connect_timeout may lapse on a loaded machine: a few tries.)
for i in 1 2 3; do
	"$PYTHON3" "$T/onewrite.py" "$R/echo/invoke" '[9007199254740993, 1.0]
' 2>/dev/null && break
	sleep 1
done
check "a big integer argument: its result" \
	cat "$R/echo/calls/latest/result"
has "the command got it exactly" "$T/out" "9007199254740993 1.0"

# A line cut between writes: the pieces make one call.
"$PYTHON3" - "$R/echo/invoke" >"$T/pieces" 2>&1 <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for piece in ['["one', '", "two"', ']\n["three"]\n[', '"four"]', '\n']:
    os.write(fd, piece.encode())
f = os.fdopen(fd, "r")
print("|".join(f.readline().rstrip("\n") for _ in range(3)))
PY
has "a line written in pieces is one call" "$T/pieces" "one two|three|four"
cat >"$T/printf.sh" <<SH
exec 3<>'$R/echo/invoke'
/usr/bin/printf '[1,' >&3
/usr/bin/printf ' 2]\n' >&3
read -r a <&3
echo "\$a"
exec 3>&-
SH
check "printf in pieces, from two processes" bash "$T/printf.sh"
has "is one call" "$T/out" "1 2"
check "a last line without a newline is a call" \
	"$PYTHON3" "$T/onewrite.py" "$R/echo/invoke" '["no newline"]'
check "its result" cat "$R/echo/calls/latest/result"
has "ran" "$T/out" "no newline"
# A line longer than the kernel's largest write (1 MiB here).
"$PYTHON3" - "$R/echo/invoke" >"$T/long" 2>&1 <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
# each argument under the kernel's 128 KiB, 1.2 MiB in all
args = [chr(ord("a") + i) * (100 * 1024) for i in range(12)]
os.write(fd, (json.dumps(args) + "\n").encode())
f = os.fdopen(fd, "r")
got = f.readline().rstrip("\n")
want = " ".join(args)
print("long line ok" if got == want else "long line bad: %d bytes" % len(got))
PY
has "a 1.2 MiB line, cut by the kernel, is one call" "$T/long" "long line ok"
# A line over 16 MiB: nothing of it is submitted. The kernel cuts the
# write(2) in pieces: the one passing the limit fails, so the write
# returns the count before it, and the rest of the line fails (EFBIG)
# when written, whatever writes carry it; the next line is a call.
n0=$(ncalls "$R/echo")
"$PYTHON3" - "$R/echo/invoke" >"$T/overlong" 2>&1 <<'PY'
import errno, json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)

def write(what, text):
    try:
        n = os.write(fd, text)
        print("%s: wrote %d of %d" % (what, n, len(text)))
        return n
    except OSError as e:
        print("%s: %s" % (what, errno.errorcode[e.errno]))
        return 0

line = (json.dumps(["a" * (17 << 20)]) + "\n").encode()
n = write("one write", line)
if 0 < n < len(line):
    print("one write: short")
    write("its rest", line[n:])
# by pieces: 1 MiB writes, then the rest in small ones
line = (json.dumps(["b" * (17 << 20), 1]) + "\n").encode()
for off in range(0, 16 << 20, 1 << 20):
    write("piece", line[off:off + (1 << 20)])
write("past the limit", line[16 << 20:(16 << 20) + 100])
write("more of it", line[(16 << 20) + 100:-5])
write("its end", line[-5:])
write("next line", b'["after"]\n')
print("read: " + os.read(fd, 4096).decode().strip())
PY
has "one write of a 17 MiB line: a count short of it" "$T/overlong" \
	"one write: short"
has "and writing its rest fails" "$T/overlong" "its rest: EFBIG"
has "a line passing 16 MiB by pieces fails there" "$T/overlong" \
	"past the limit: EFBIG"
has "and so does the rest of it" "$T/overlong" "more of it: EFBIG"
has "up to its end" "$T/overlong" "its end: EFBIG"
has "the next line is a call" "$T/overlong" "next line: wrote 10 of 10"
has "whose result is read" "$T/overlong" "read: after"
n1=$(ncalls "$R/echo")
if [ "$n1" -eq $((n0 + 1)) ]; then
	pass "nothing of a line over 16 MiB was submitted"
else
	fail "nothing of a line over 16 MiB was submitted ($n0 -> $n1 calls)"
fi
has ".log says why" "$MNT/.log" "a line longer than 16 MiB"
n0=$(ncalls "$R/echo")
"$PYTHON3" - "$R/echo/invoke" "$MNT/.log" >"$T/unended" 2>&1 <<'PY'
import os, sys
for text in [b'["never ended"', b'{bad}']:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.write(fd, text)
    os.close(fd)
PY
submitted_none "a line never ended, or not a spec, is not submitted" "$n0"
has ".log says so at close" "$MNT/.log" \
	"~/echo/invoke: closed inside a line"

# A result over the 1 MiB an agent's reply holds: whole, both ways.
"$PYTHON3" - "$R/big/invoke" 3000000 >"$T/bigline" 2>&1 <<'PY'
import json, os, sys
n = int(sys.argv[2])
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, ("[%d]\n" % n).encode())
line = os.fdopen(fd, "r").readline()
want = ("abcdefghi\n" * (n // 10 + 1))[:n]
try:
    got = json.loads(line)
except ValueError:
    got = line
print("big line ok" if got == want.rstrip("\n") else
      "big line bad: %r" % line[:200])
PY
has "a 3 MB result comes whole as the invoke line" "$T/bigline" "big line ok"
id=$(readlink "$R/big/calls/latest")
yes abcdefghi | head -c 3000000 >"$T/want"
check "its result file" cat "$R/big/calls/$id/result"
same "the result file holds all of it" "$T/out" "$T/want"
check "read in small pieces at offsets" \
	dd if="$R/big/calls/$id/result" of="$T/dd" bs=7777 status=none
same "the same bytes" "$T/dd" "$T/want"
check "its stdout" cat "$R/big/calls/$id/stdout"
same "stdout too" "$T/out" "$T/want"

# Over the invoke line's cap (64 MiB): a clear error, and result has it.
"$PYTHON3" - "$R/big/invoke" >"$T/hugeline" 2>&1 <<'PY'
import json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b"[70000000]\n")
print(os.fdopen(fd, "r").readline())
PY
has "a result over 64 MiB: invoke says where to read it" "$T/hugeline" \
	"the most an invoke line holds: read calls/"
id=$(readlink "$R/big/calls/latest")
size=$(wc -c <"$R/big/calls/$id/result")
if [ "$size" -eq 70000000 ]; then
	pass "and its result file holds all 70000000 bytes"
else
	fail "its result file holds $size bytes, not 70000000"
fi

# rm -r of a send and of a cluster, the first time.
echo '["x"]' >"$R/echo/invoke"
check "rm -r of a send" rm -r "$R/echo"
check "is gone" test ! -e "$R/echo"
mkdir "$R/c1"
printf '{"resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"]}' \
	>"$R/c1/config.json"
check "rm -r of a cluster" rm -r "$R/c1"
check "is gone" test ! -e "$R/c1"
mkdir -p "$R/tree/sub"
printf '{"resource_type": "send", "hardware": "^local", "command": ["true"]}' \
	>"$R/tree/sub/config.json"
printf '{"resource_type": "send", "hardware": "^local", "command": ["true"]}' \
	>"$R/tree/config.json"
check "rm -r of a send holding a send" rm -r "$R/tree"
check "is gone" test ! -e "$R/tree"
check "the workdir holds none of them" test ! -e "$WORK/rh/tree"
finish
