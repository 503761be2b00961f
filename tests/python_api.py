"""A script that manages resources with open(), os.listdir(), os.rename()
and friends only, as a user's script would. Prints one line per check and
a closing 'N passed, M failed' line; exits 1 on any failure."""
import errno
import json
import os
import sys

mnt, work = sys.argv[1], sys.argv[2]
root = os.path.join(mnt, "~")
passed = failed = 0


def check(desc, cond):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc)
        print("FAIL - " + desc, file=sys.stderr)


def fails(desc, err, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        check(desc, e.errno == err)
        return
    check(desc + " (no error)", False)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


top = sorted(os.listdir(mnt))
check("the root lists ~, ^ and @", top == ["@", "^", "~"])
builtins = os.listdir(os.path.join(mnt, "^"))
check("^ lists ten builtins", len(builtins) == 10 and "local" in builtins)
with open(os.path.join(mnt, "^", "rh-4-gpu", "config.json")) as f:
    cfg = json.load(f)
check("a builtin reads as JSON", cfg["instance_type"] == "K80:4")
check("a builtin has no provider", cfg["provider"] is None)

os.mkdir(os.path.join(root, "proj"))
os.makedirs(os.path.join(root, "proj", "fns", "add"))
spec = {"resource_type": "send", "hardware": "^local",
        "fn_pointers": ["proj/mod", "fns", "add"], "reqs": ["./"]}
write(os.path.join(root, "proj", "fns", "add", "config.json"),
      json.dumps(spec, indent=4))
with open(os.path.join(root, "proj", "fns", "add", "config.json")) as f:
    back = json.load(f)
check("a send written with open() reads back",
      back["fn_pointers"] == ["proj/mod", "fns", "add"])
check("its name is its address", back["name"] == "~/proj/fns/add")
check("it is on disk in rh/",
      os.path.isfile(os.path.join(work, "rh", "proj", "fns", "add",
                                  "config.json")))
check("listdir shows config.json and a send's files",
      sorted(os.listdir(os.path.join(root, "proj", "fns", "add"))) ==
      ["calls", "config.json", "errors", "invoke"])
check("isdir on a resource", os.path.isdir(os.path.join(root, "proj", "fns",
                                                       "add")))
check("exists on a missing one",
      not os.path.exists(os.path.join(root, "proj", "nope")))

# Invalid content: the write (complete in one call) raises EINVAL.
path = os.path.join(root, "proj", "fns", "add", "config.json")
before = open(path, "rb").read()
try:
    with open(path, "w") as f:
        f.write('{"resource_type": "send", "hardware": 5}')
    check("invalid write raises", False)
except OSError as e:
    check("invalid write raises EINVAL", e.errno == errno.EINVAL)
check("invalid write leaves the config", open(path, "rb").read() == before)
log = open(os.path.join(mnt, ".log")).read()
check(".log says why", "~/proj/fns/add: field 'hardware'" in log)

# rename moves, and the name follows.
os.rename(os.path.join(root, "proj", "fns"), os.path.join(root, "proj", "f"))
with open(os.path.join(root, "proj", "f", "add", "config.json")) as f:
    check("name follows os.rename", json.load(f)["name"] == "~/proj/f/add")
fails("rename across stores: EXDEV", errno.EXDEV, os.rename,
      os.path.join(root, "proj"), os.path.join(mnt, "^", "proj"))
fails("mkdir in ^: EROFS", errno.EROFS, os.mkdir,
      os.path.join(mnt, "^", "mine"))
fails("mkdir at the root: EPERM", errno.EPERM, os.mkdir,
      os.path.join(mnt, "mine"))
fails("mkdir of an existing folder: EEXIST", errno.EEXIST, os.mkdir,
      os.path.join(root, "proj"))
fails("rmdir of a non-empty folder: ENOTEMPTY", errno.ENOTEMPTY, os.rmdir,
      os.path.join(root, "proj"))
fails("open of a missing file: ENOENT", errno.ENOENT, open,
      os.path.join(root, "proj", "missing"))
fails("symlink: EPERM", errno.EPERM, os.symlink, "x",
      os.path.join(root, "proj", "ln"))
fails("chmod to another mode: EPERM", errno.EPERM, os.chmod,
      os.path.join(root, "proj", "f", "add", "config.json"), 0o600)
os.remove(os.path.join(root, "proj", "f", "add", "config.json"))
check("remove config.json: a folder again",
      os.listdir(os.path.join(root, "proj", "f", "add")) == [])
os.rmdir(os.path.join(root, "proj", "f", "add"))
os.rmdir(os.path.join(root, "proj", "f"))
os.rmdir(os.path.join(root, "proj"))
check("all gone", os.listdir(root) == [])
check("all gone on disk", os.listdir(os.path.join(work, "rh")) == [])

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
