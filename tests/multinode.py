"""multinode.py - a head agent and worker agents (rhagent worker), each
node with a home of its own, checked through the head's protocol.

usage: multinode.py RHAGENT WORKDIR CHECK

The head is the agent of $HOME (reached with `rhagent bridge`, as rhfs
does); each worker runs with HOME=WORKDIR/NAME. Checks:
  listen   the head listens; its key file is private
  badkey   a worker with a wrong key is refused, and the key is not logged
  map      a map of 200 Python calls spreads over the head and a worker
  node     output, cancel and $ref of calls that run on a worker node
  lost     a worker killed mid-map fails only its calls; it rejoins
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_client import Conn, expect  # noqa: E402

RHAGENT, WORK, CHECK = sys.argv[1], sys.argv[2], sys.argv[3]
MOD = """import os, sys, time
def double(x, pause=0.0):
    time.sleep(pause)
    return x * 2
def talk(n):
    for i in range(n):
        print("line", i, flush=True)
        time.sleep(0.1)
    return n
def add(a, b):
    return a + b
"""


def home(name):
    h = os.path.join(WORK, name)
    os.makedirs(h, exist_ok=True)
    with open(os.path.join(h, "mnmod.py"), "w") as f:
        f.write(MOD)
    return h


def listen(c):
    return c.ok("workers", listen=True, name="node0")


def start_worker(w, name, key=None, slots=2):
    """rhagent worker for node NAME; its stderr in WORK/NAME.err."""
    env = dict(os.environ, HOME=home(name))
    err = open(os.path.join(WORK, name + ".err"), "ab")
    return subprocess.Popen(
        [RHAGENT, "worker", "--head", "%s:%d" % (w["host"], w["port"]),
         "--key-file", key or w["key_file"], "--node", name,
         "--slots", str(slots)],
        env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err)


def node_of(c, name):
    for n in c.ok("status").get("nodes", []):
        if n["name"] == name:
            return n
    return None


def wait_node(c, name, state="up", timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = node_of(c, name)
        if n is not None and n["state"] == state:
            return n
        time.sleep(0.1)
    raise AssertionError("node %s not %s: %s" % (name, state,
                                                  c.ok("status")))


def submit(c, fn, args, **kw):
    rids = [c.send("call", fn_pointers=["", "mnmod", fn], args=a,
                   wait=False, **kw) for a in args]
    out = []
    for rid in rids:
        r = c.wait(rid)
        expect(r.get("ok") is True, "call refused: %s" % r)
        out.append(r["call"])
    return out


def results(c, ids):
    return [c.ok("get", call=i, wait=True) for i in ids]


def check_listen():
    c = Conn(RHAGENT)
    c.hello()
    w = listen(c)
    expect(w["host"] == "127.0.0.1" and w["port"] > 0, "listens: %s" % w)
    mode = os.stat(w["key_file"]).st_mode & 0o777
    expect(mode == 0o600, "key file mode %o" % mode)
    key = open(w["key_file"]).read().strip()
    expect(len(key) >= 32, "a key of %d characters" % len(key))
    again = listen(c)
    expect(again["port"] == w["port"] and again["new"] is False,
           "a second listen keeps the listener: %s" % again)
    st = c.ok("status")
    expect([n["name"] for n in st["nodes"]] == ["node0"],
           "the head alone: %s" % st["nodes"])
    print("listen: port %d, key file 0600" % w["port"])


def check_badkey():
    c = Conn(RHAGENT)
    c.hello()
    w = listen(c)
    bad = os.path.join(WORK, "bad.key")
    with open(bad, "w") as f:
        f.write("0" * 64 + "\n")
    os.chmod(bad, 0o600)
    p = start_worker(w, "intruder", key=bad)
    rc = p.wait(60)
    expect(rc != 0, "a worker with a wrong key exited %d" % rc)
    log = open(os.path.join(WORK, "intruder", ".rh", "nodes", "intruder",
                            "log")).read()
    expect("the head refused" in log, "the worker says why: %s" % log)
    key = open(w["key_file"]).read().strip()
    hlog = open(os.path.join(os.environ["HOME"], ".rh", "agent",
                             "log")).read()
    expect("gave a wrong proof of the key" in hlog,
           "the head logs the refusal")
    expect(key not in hlog and key not in log, "the key is in no log")
    expect(node_of(c, "intruder") is None, "the intruder is not a node")
    # a key file others may read is refused before anything is sent
    os.chmod(bad, 0o644)
    p = start_worker(w, "loose", key=bad)
    rc = p.wait(60)
    err = open(os.path.join(WORK, "loose.err")).read()
    expect(rc != 0 and "mode 0600" in err, "a readable key file: %s" % err)
    print("badkey: refused (exit %d), not logged" % rc)


def check_map():
    c = Conn(RHAGENT)
    c.hello()
    w = listen(c)
    home("node0-home")
    p = start_worker(w, "node1")
    try:
        wait_node(c, "node1")
        ids = submit(c, "double", [[i, 0.02] for i in range(200)])
        expect(len(set(ids)) == 200, "200 distinct call ids")
        recs = results(c, ids)
        bad = [r for r in recs if r["state"] != "done"]
        expect(not bad, "every call done: %s" % bad[:3])
        got = sorted(json.loads(r["result"]) for r in recs)
        expect(got == [2 * i for i in range(200)],
               "each result once: %s" % got[:10])
        nodes = {}
        for r in recs:
            nodes[r.get("node")] = nodes.get(r.get("node"), 0) + 1
        expect(set(nodes) == {"node0", "node1"},
               "calls on both nodes: %s" % nodes)
        # the records on the worker's own home, not the head's
        wdir = os.path.join(WORK, "node1", ".rh", "nodes", "node1", "calls")
        on1 = [r["call"] for r in recs if r["node"] == "node1"]
        with open(os.path.join(wdir, "records.log"), "rb") as f:
            kept = {json.loads(line)["call"] for line in f}
        expect(on1[0] in kept,
               "the worker keeps its record in its own directory")
        lst = c.ok("list", limit=1000)["calls"]
        expect({r["call"] for r in lst} >= set(ids), "list has them all")
        n1 = node_of(c, "node1")
        expect(n1["calls"] >= nodes["node1"] and n1["slots"] == 2 and
               "load" in n1 and n1["agent"]["pid"] > 0,
               "status of node1: %s" % n1)
        print("map: 200 calls, %s" % " ".join(
            "%s=%d" % kv for kv in sorted(nodes.items())))
    finally:
        p.terminate()
        p.wait(30)


def check_node():
    c = Conn(RHAGENT)
    c.hello()
    # no local slots: every call runs on the worker
    w = c.ok("workers", listen=True, name="node0", local=False)
    p = start_worker(w, "node1")
    try:
        wait_node(c, "node1")
        cid, = submit(c, "talk", [[30]])
        # follow its output through the head while it runs
        off, seen = 0, b""
        deadline = time.monotonic() + 60
        while b"line 3\n" not in seen and time.monotonic() < deadline:
            o = c.ok("output", call=cid, offset=off, wait_ms=2000)
            seen += o["data"].encode()
            off += len(o["data"].encode())
        expect(b"line 3\n" in seen, "followed its output: %r" % seen)
        r = c.ok("cancel", call=cid)
        expect(r["cancelled"] is True, "cancel: %s" % r)
        r = c.ok("get", call=cid, wait=True)
        expect(r["state"] == "cancelled" and r["node"] == "node1",
               "cancelled on node1: %s" % r)
        # a call queued on the head (the node's 2 slots busy), followed
        # from then on: its output comes once it runs on the node
        busy = submit(c, "talk", [[100], [100]])
        late, = submit(c, "talk", [[5]])
        expect(c.ok("get", call=late)["state"] == "queued",
               "queued behind the busy slots")
        # the first request is held on the head while the call waits
        # there; the call then goes to the node
        rid = c.send("output", call=late, offset=0, wait_ms=20000)
        time.sleep(0.3)
        for b in busy:
            c.ok("cancel", call=b)
        o = c.wait(rid)
        expect(o.get("ok") is True, "output: %s" % o)
        seen = o["data"].encode()
        off, eof = len(seen), o["eof"]
        deadline = time.monotonic() + 60
        while not eof and time.monotonic() < deadline:
            o = c.ok("output", call=late, offset=off, wait_ms=1000)
            seen += o["data"].encode()
            off += len(o["data"].encode())
            eof = o["eof"]
        expect(eof and seen == b"".join(b"line %d\n" % i for i in range(5)),
               "followed from the queue: %r" % seen)
        # a call's node: "head" runs on the head though it runs no calls
        # otherwise; a worker's name on that worker; another fails
        hpid = c.ok("status")["pid"]
        r = c.ok("call", command=["sh", "-c", "echo $PPID"], node="head")
        expect(r["state"] == "done" and r["result"] == "%d\n" % hpid and
               r["node"] == "node0", "node head: %s" % r)
        r = c.ok("call", command=["true"], node="node1")
        expect(r["state"] == "done" and r["node"] == "node1",
               "node node1: %s" % r)
        r = c.ok("call", command=["true"], node="node7")
        expect(r["state"] == "failed" and r["reason"] ==
               "node node7 is not connected to the head", "node7: %s" % r)
        # a $ref to a result of a call on the node
        a, = submit(c, "double", [[21]], send="~/s")
        b = c.ok("call", fn_pointers=["", "mnmod", "add"],
                 args=[{"$ref": "~/s/calls/" + a}, 0.5], send="~/s")
        expect(b["state"] == "done" and json.loads(b["result"]) == 42.5,
               "$ref: %s" % b)
        # the output of an ended call, read through the head
        o = c.ok("output", call=cid)
        expect(o["data"].startswith("line 0\n") and o["eof"] is True,
               "ended call's output: %s" % o)
        print("node: output followed, cancelled, $ref")
    finally:
        p.terminate()
        p.wait(30)
    wait_node(c, "node1", "lost")
    r = c.request("output", call=cid)
    expect(r["ok"] is False and r["error"] == "EHOSTUNREACH" and
           "node1" in r["message"], "output of a lost node: %s" % r)


def check_lost():
    c = Conn(RHAGENT)
    c.hello()
    w = listen(c)
    p = start_worker(w, "node1")
    try:
        n = wait_node(c, "node1")
        wpid = n["agent"]["pid"]
        ids = submit(c, "double", [[i, 0.3] for i in range(60)])
        # the worker dies once it runs calls
        deadline = time.monotonic() + 60
        while node_of(c, "node1")["running"] == 0:
            expect(time.monotonic() < deadline, "node1 never ran a call")
            time.sleep(0.05)
        p.kill()
        p.wait(30)
        recs = results(c, ids)
        failed = [r for r in recs if r["state"] != "done"]
        expect(failed, "some calls failed with the node")
        for r in failed:
            expect(r["state"] == "failed" and r["node"] == "node1" and
                   r["reason"].startswith("node node1 lost: "),
                   "a failed call: %s" % r)
        done = [r for r in recs if r["state"] == "done"]
        expect(len(done) + len(failed) == 60 and len(done) > 0,
               "the others went on")
        n = wait_node(c, "node1", "lost")
        expect(n["reason"], "the lost node says why: %s" % n)
        print("lost: %d failed (%s), %d done" % (
            len(failed), failed[0]["reason"], len(done)))
        # it comes back, and runs calls again
        p = start_worker(w, "node1")
        n = wait_node(c, "node1")
        expect(n["agent"]["pid"] != wpid, "a new worker joined")
        ids = submit(c, "double", [[i, 0.2] for i in range(30)])
        recs = results(c, ids)
        expect(all(r["state"] == "done" for r in recs), "done after rejoin")
        expect(any(r["node"] == "node1" for r in recs),
               "node1 runs calls again")
        print("lost: node1 rejoined")
    finally:
        p.terminate()
        p.wait(30)


{"listen": check_listen, "badkey": check_badkey, "map": check_map,
 "node": check_node, "lost": check_lost}[CHECK]()
