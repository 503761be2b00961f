# runner.py - a warm Python worker of rhagent (agent/pool.c).
#
# usage: python3 runner.py FD RELATIVE_PATH MODULE WORKDIR
#
# (WORKDIR "-": rhagent step runs one call with it, whose fd 1 and 2 stay
# the step's own, which srun forwards; nothing is redirected or moved.)
#
# Imports MODULE once, with ~/RELATIVE_PATH first on sys.path, and runs
# one call at a time for as long as the agent keeps it. The agent talks
# to it over the socket FD, one JSON object a line, never over stdout:
#   agent -> worker  {"call": ID, "function": NAME, "args": [...],
#                     "kwargs": {...}, "cwd": DIR, "env": {...},
#                     "dir": CALL_DIR}
#   worker -> agent  {"ready": BOOL, "pid": N, "file": PATH, "mtime": [S, NS]}
#                    once it tried the import, on the first call (file
#                    null when the module has none or did not import);
#                    {"call": ID, "ok": true, "result": TEXT} with the JSON
#                    text of the return value and a newline, or
#                    {"call": ID, "ok": true} when CALL_DIR/result holds
#                    that (a large one), or {"call": ID, "ok": false,
#                    "reason": TEXT, "retire": BOOL} with the traceback in
#                    CALL_DIR/stderr. retire: the module did not import, so
#                    this worker exits and the next call tries again.
#                    Each of these also has "stdout": N and "stderr": N,
#                    the sizes of the call's output.
# fd 1 and 2 are WORKDIR/PID.stdout and WORKDIR/PID.stderr, so print()
# and the output of child processes land there, and what is there at a
# call's end moves to CALL_DIR/stdout and CALL_DIR/stderr (none: the call
# printed nothing). Between calls they stay there (what lands there then
# is dropped when the next call begins), not /dev/null. A call that prints
# nothing and leaves fd 1 and 2 alone costs an fstat of each before and
# after, and no dup2. Before the first call fd 2 is the agent's log.
# Standard library only: the node has nothing else.
import importlib
import json
import os
import sys
import traceback

# A result up to this many characters of JSON goes back in the reply;
# a larger one to CALL_DIR/result.
RESULT_INLINE = 65536


def send(sock, obj):
    data = (json.dumps(obj) + "\n").encode()
    while data:
        n = os.write(sock, data)
        data = data[n:]


def describe(exc):
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


class Output:
    """One of the worker's own output files, WORKDIR/PID.NAME: fd 1 or 2
    during a call. Most calls print nothing, so a call's file is made
    only when it has something: at the end its output moves to
    CALL_DIR/NAME and the worker starts a new file."""

    FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC

    def __init__(self, workdir, name, target):
        self.name = name
        self.target = target        # the fd it is: 1 or 2
        self.path = os.path.join(workdir, "%d.%s" % (os.getpid(), name))
        self.fd = None
        self.fresh()

    def fresh(self):
        if self.fd is not None:
            os.close(self.fd)
        self.fd = os.open(self.path, self.FLAGS, 0o600)
        st = os.fstat(self.fd)
        self.ino = (st.st_dev, st.st_ino)

    def begin(self):
        """Makes fd 1 or 2 this file again, if the last call's code
        made it another, and empty: what a process left from an earlier
        call wrote since is dropped. One fstat when nothing changed."""
        try:
            st = os.fstat(self.target)
            same = (st.st_dev, st.st_ino) == self.ino and st.st_size == 0
        except OSError:         # the code closed it
            same = False
        if not same:
            if os.fstat(self.fd).st_size > 0:
                self.fresh()
            os.dup2(self.fd, self.target)

    def end(self, call_dir):
        """Moves the output to the call; its size."""
        size = os.fstat(self.fd).st_size
        if size > 0:
            os.makedirs(call_dir, 0o700, exist_ok=True)
            os.rename(self.path, os.path.join(call_dir, self.name))
            self.fresh()
            os.dup2(self.fd, self.target)     # not the moved file
        return size


class Kept:
    """fd 1 or 2 left as it is (WORKDIR "-")."""

    def begin(self):
        pass

    def end(self, call_dir):
        return None


def main():
    sock = int(sys.argv[1])
    rel, modname, workdir = sys.argv[2], sys.argv[3], sys.argv[4]
    os.set_inheritable(sock, False)
    home = os.path.expanduser("~")
    where = os.path.join(home, rel) if rel else home
    # Not the runner's own directory: the user's code comes first.
    sys.path[0] = where
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    shown = "~/" + rel if rel else "~"
    if workdir == "-":
        out, err = Kept(), Kept()
    else:
        out, err = Output(workdir, "stdout", 1), Output(workdir, "stderr", 2)

    # The module is imported on the first call, so that what the import
    # prints, or its traceback, lands in that call's output.
    mod, import_error = None, None
    inbox = os.fdopen(sock, "rb", closefd=False)
    for line in inbox:
        req = json.loads(line)
        # each call: what the last one's code did to fd 1 and 2 is undone
        out.begin()
        err.begin()
        if mod is None and import_error is None:
            mod, import_error = load(sock, modname, shown)
        reply = {"call": req["call"], "ok": False}
        if mod is None:
            sys.stderr.write(import_error[0])
            reply["reason"] = import_error[1]
            reply["retire"] = True
        else:
            run(mod, modname, shown, req, reply, home)
        sys.stdout.flush()
        sys.stderr.flush()
        reply["stdout"] = out.end(req["dir"])
        reply["stderr"] = err.end(req["dir"])
        send(sock, reply)
        if reply.get("retire"):
            return


def load(sock, modname, shown):
    """The module, or None and (traceback, reason); tells the agent."""
    mod, error, file, mtime = None, None, None, None
    try:
        mod = importlib.import_module(modname)
        file = getattr(mod, "__file__", None)
        if file:
            st = os.stat(file)
            mtime = [st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9]
    except BaseException as e:
        mod = None
        error = ("".join(traceback.format_exception(
                    type(e), e, e.__traceback__.tb_next)),
                 "cannot import module '%s' from %s: %s" % (
                     modname, shown, describe(sys.exc_info()[1])))
    send(sock, {"ready": mod is not None, "pid": os.getpid(),
                "file": file, "mtime": mtime})
    return mod, error


def run(mod, modname, shown, req, reply, home):
    name = req["function"]
    fn = getattr(mod, name, None)
    if not callable(fn):
        reply["reason"] = "module '%s' (from %s) has no function '%s'" % (
            modname, shown, name)
        print("rhagent: " + reply["reason"], file=sys.stderr)
        return
    env = req.get("env")
    saved = {k: os.environ.get(k) for k in env} if env else None
    if env:
        os.environ.update(env)
    cwd = req.get("cwd") or home
    try:
        if cwd != home:
            os.chdir(cwd)
        value = fn(*(req.get("args") or []), **(req.get("kwargs") or {}))
    except BaseException as e:
        # From the user's code on: the runner's own frame says nothing.
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        reply["reason"] = "%s raised %s" % (name, describe(e))
        return
    finally:
        for k, v in (saved or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.chdir(home)      # the function may have moved
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        print("rhagent: the result of %s is not JSON: %s" % (name, e),
              file=sys.stderr)
        reply["reason"] = "the result of %s is not JSON: %s" % (name, e)
        return
    if len(text) <= RESULT_INLINE:
        # in the reply: the agent keeps it in the call's status.json,
        # which saves a file per call
        reply["result"] = text + "\n"
    else:
        data = (text + "\n").encode()
        os.makedirs(req["dir"], 0o700, exist_ok=True)
        fd = os.open(os.path.join(req["dir"], "result"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                     0o600)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
    reply["ok"] = True


if __name__ == "__main__":
    main()
