# data-posix.py NATIVE DATA - the same operations (mkdir, create, rename,
# unlink, rmdir, links, FIFOs, chmod, utimens, truncate, O_APPEND, files
# unlinked while open, and what they do to link counts and times) done in
# a directory of the disk and in a data/ directory of the mount: each
# result (a value, or the errno) must be the same. Prints each that
# differs, and exits 1 if any does (tests/data-local.sh).
import os, sys, stat, errno, time


def run(d):
    out = []
    def rec(name, f):
        try:
            r = f()
            out.append((name, "ok", r))
        except OSError as e:
            out.append((name, errno.errorcode.get(e.errno, e.errno)))
    P = lambda *a: os.path.join(d, *a)
    def st(p, follow=False):
        s = os.stat(p) if follow else os.lstat(p)
        return (stat.filemode(s.st_mode), s.st_nlink, s.st_size)
    os.umask(0o022)
    rec("mkdir a", lambda: os.mkdir(P("a")))
    rec("mkdir a again", lambda: os.mkdir(P("a")))
    rec("mkdir a/b", lambda: os.mkdir(P("a", "b")))
    rec("nlink a", lambda: st(P("a")))
    rec("create f", lambda: os.close(os.open(P("f"), os.O_CREAT | os.O_WRONLY, 0o644)))
    rec("excl f", lambda: os.open(P("f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    rec("rmdir f", lambda: os.rmdir(P("f")))
    rec("unlink a", lambda: os.unlink(P("a")))
    rec("rmdir a nonempty", lambda: os.rmdir(P("a")))
    rec("rename f over a", lambda: os.rename(P("f"), P("a")))
    rec("mkdir e", lambda: os.mkdir(P("e")))
    rec("rename a over f", lambda: os.rename(P("a"), P("f")))
    rec("rename a into a/b", lambda: os.rename(P("a"), P("a", "b", "c")))
    rec("rename e over a (nonempty)", lambda: os.rename(P("e"), P("a")))
    rec("rename a/b over e (empty)", lambda: os.rename(P("a", "b"), P("e")))
    rec("st e", lambda: st(P("e")))
    rec("nlink a after", lambda: st(P("a")))
    rec("rename f f", lambda: os.rename(P("f"), P("f")))
    rec("rename missing", lambda: os.rename(P("nope"), P("x")))
    rec("open dir wr", lambda: os.open(P("a"), os.O_WRONLY))
    rec("open file as dir", lambda: os.open(P("f"), os.O_RDONLY | os.O_DIRECTORY))
    rec("f/x", lambda: os.stat(P("f", "x")))
    rec("truncate -1", lambda: os.truncate(P("f"), -1))
    rec("truncate 5", lambda: (os.truncate(P("f"), 5), st(P("f")))[1])
    rec("read zeros", lambda: open(P("f"), "rb").read())
    rec("symlink", lambda: os.symlink("f", P("l")))
    rec("symlink exists", lambda: os.symlink("f", P("l")))
    rec("readlink", lambda: os.readlink(P("l")))
    rec("readlink file", lambda: os.readlink(P("f")))
    rec("lstat l", lambda: st(P("l"))[0])
    rec("stat l", lambda: st(P("l"), True))
    rec("O_NOFOLLOW l", lambda: os.open(P("l"), os.O_RDONLY | os.O_NOFOLLOW))
    rec("link f g", lambda: os.link(P("f"), P("g")))
    rec("nlink f", lambda: st(P("f")))
    rec("link dir", lambda: os.link(P("a"), P("h")))
    rec("link over", lambda: os.link(P("f"), P("g")))
    rec("rename f g (same inode)", lambda: os.rename(P("f"), P("g")))
    rec("after: f", lambda: st(P("f")))
    rec("chmod 0", lambda: (os.chmod(P("g"), 0), st(P("g")))[1])
    rec("chmod 4755", lambda: (os.chmod(P("g"), 0o4755), st(P("g")))[1])
    rec("chmod 1777 dir", lambda: (os.chmod(P("a"), 0o1777), st(P("a")))[1])
    rec("utime omit", lambda: (os.utime(P("g"), ns=(10**9, 2 * 10**9)), os.stat(P("g")).st_mtime_ns, os.stat(P("g")).st_atime_ns)[1:])
    rec("mkfifo", lambda: (os.mkfifo(P("p")), st(P("p")))[1])
    rec("unlink p", lambda: os.unlink(P("p")))
    rec("rmdir .", lambda: os.rmdir(P("a", "..", "a", ".")))
    rec("mkdir long", lambda: os.mkdir(P("x" * 256)))
    rec("create in missing", lambda: os.open(P("nope", "x"), os.O_CREAT | os.O_WRONLY))
    fd = os.open(P("u"), os.O_CREAT | os.O_RDWR, 0o600)
    os.write(fd, b"hello")
    rec("unlink open", lambda: os.unlink(P("u")))
    rec("read after unlink", lambda: os.pread(fd, 5, 0))
    rec("write after unlink", lambda: os.pwrite(fd, b"X", 0))
    rec("fstat after unlink", lambda: (os.fstat(fd).st_size, os.fstat(fd).st_nlink))
    os.close(fd)
    fd = os.open(P("ap"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    os.write(fd, b"ab"); os.lseek(fd, 0, 0); os.write(fd, b"cd")
    os.close(fd)
    rec("append", lambda: open(P("ap"), "rb").read())
    rec("listing", lambda: sorted(os.listdir(d)))
    rec("dir size>0", lambda: os.stat(P("a")).st_size > 0)
    rec("blocks", lambda: os.stat(P("ap")).st_blocks > 0)
    rec("sparse", lambda: (os.truncate(P("ap"), 1 << 20), os.stat(P("ap")).st_size)[1])
    rec("mtime dir changes", lambda: (lambda m: (time.sleep(0.01), os.mkdir(P("a", "z")), os.stat(P("a")).st_mtime_ns != m)[2])(os.stat(P("a")).st_mtime_ns))
    rec("ctime on chmod", lambda: (lambda c: (time.sleep(0.01), os.chmod(P("ap"), 0o600), os.stat(P("ap")).st_ctime_ns != c)[2])(os.stat(P("ap")).st_ctime_ns))
    rec("ctime on rename", lambda: (lambda c: (time.sleep(0.01), os.rename(P("ap"), P("ap2")), os.stat(P("ap2")).st_ctime_ns != c)[2])(os.stat(P("ap")).st_ctime_ns))
    rec("ctime on link", lambda: (lambda c: (time.sleep(0.01), os.link(P("ap2"), P("ap3")), os.stat(P("ap2")).st_ctime_ns != c)[2])(os.stat(P("ap2")).st_ctime_ns))
    return out


a = run(sys.argv[1])
b = run(sys.argv[2])
bad = [(x, y) for x, y in zip(a, b) if x != y]
for x, y in bad:
    print("differs: disk %r, data/ %r" % (x, y))
print("%d operations, %d differ" % (len(a), len(bad)))
sys.exit(1 if bad or len(a) != len(b) else 0)
