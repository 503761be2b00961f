# data-plain.py DIR - what a program using only open() and os.* does in
# a data/ directory (tests/data-local.sh, tests/data-s3.sh): files made,
# listed, read, renamed, appended, overwritten in place, truncated,
# removed, their times set; prints "ok". The test checks the store after.
import os, sys
d = sys.argv[1]
os.makedirs(os.path.join(d, "py/a/b"), exist_ok=True)
for i in range(20):
    with open(os.path.join(d, "py/a/b", "f%02d.txt" % i), "w") as f:
        f.write("line %d\n" % i * (i + 1))
names = sorted(os.listdir(os.path.join(d, "py/a/b")))
assert names == ["f%02d.txt" % i for i in range(20)], names
for i in range(20):
    p = os.path.join(d, "py/a/b", "f%02d.txt" % i)
    assert os.stat(p).st_size == len("line %d\n" % i * (i + 1))
    with open(p) as f:
        assert f.read() == "line %d\n" % i * (i + 1)
os.rename(os.path.join(d, "py/a/b/f00.txt"), os.path.join(d, "py/first.txt"))
with open(os.path.join(d, "py/first.txt"), "a") as f:
    f.write("more\n")
with open(os.path.join(d, "py/first.txt"), "rb+") as f:
    f.seek(2)
    f.write(b"X")
    f.truncate(7)
with open(os.path.join(d, "py/first.txt")) as f:
    assert f.read() == "liXe 0\n"
os.remove(os.path.join(d, "py/a/b/f01.txt"))
os.utime(os.path.join(d, "py/first.txt"), (1000000000, 1000000000))
assert os.stat(os.path.join(d, "py/first.txt")).st_mtime == 1000000000
for e in os.scandir(os.path.join(d, "py/a/b")):
    assert e.is_file()
print("ok")
