#!/usr/bin/env python3
"""agent_client.py - a small client of rhagent's wire protocol
(docs/protocol.md), standard library only. Like rhfs, it reaches the
agent through `rhagent bridge` on stdin/stdout.

Run as `agent_client.py RHAGENT CHECK [ARGS...]`: each CHECK drives the
agent through one behaviour and exits 0 when it held, 1 (saying why on
stderr) when it did not. tests/agent.sh runs them. Every wait is bounded.
"""

import base64
import json
import os
import select
import struct
import subprocess
import sys
import time

TIMEOUT = 30.0          # seconds: no single wait is longer
HDR = struct.Struct(">I")


class Closed(Exception):
    """The agent closed the connection."""


class Failed(Exception):
    """A check did not hold."""


def expect(cond, what):
    if not cond:
        raise Failed(what)


def frame(body):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return HDR.pack(len(body)) + body


class Conn:
    """One connection: an `rhagent bridge` child and its byte stream."""

    def __init__(self, rhagent):
        self.p = subprocess.Popen([rhagent, "bridge"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.inp = self.p.stdin.fileno()
        self.out = self.p.stdout.fileno()
        os.set_blocking(self.inp, False)
        os.set_blocking(self.out, False)
        self.buf = b""
        self.next_id = 1
        self.held = []          # frames read while waiting for others
        self.eof = False

    def send_raw(self, data, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("cannot write to the bridge")
            # Read while writing: a bridge whose replies nobody takes
            # stops taking requests.
            r, w, _ = select.select([self.out], [self.inp], [], left)
            if r:
                self._fill()
            if w:
                try:
                    n = os.write(self.inp, view)
                except BlockingIOError:
                    continue
                view = view[n:]

    def send(self, op, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "op": op}
        msg.update(fields)
        self.send_raw(frame(msg))
        return rid

    def _fill(self):
        try:
            data = os.read(self.out, 1 << 20)
        except BlockingIOError:
            return
        if not data:
            self.eof = True
        self.buf += data

    def _take(self):
        if len(self.buf) < 4:
            return None
        (n,) = HDR.unpack(self.buf[:4])
        if len(self.buf) < 4 + n:
            return None
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        msg = json.loads(body)
        expect(isinstance(msg, dict) and "id" in msg and "op" in msg,
               "agent sent a frame without id or op: %r" % body[:200])
        return msg

    def recv(self, timeout=TIMEOUT):
        """The next frame from the agent."""
        if self.held:
            return self.held.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._take()
            if msg is not None:
                return msg
            if self.eof:
                raise Closed("closed with %d bytes left" % len(self.buf))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame from the agent in %gs" % timeout)
            r, _, _ = select.select([self.out], [], [], left)
            if r:
                self._fill()

    def wait(self, rid, op="reply", timeout=TIMEOUT):
        """The frame for request rid with this op; others are held."""
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.held):
            if m["id"] == rid and m["op"] == op:
                return self.held.pop(i)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s for #%d" % (op, rid))
            m = self._recv_new(left)
            if m["id"] == rid and m["op"] == op:
                return m
            self.held.append(m)

    def _recv_new(self, timeout):
        held, self.held = self.held, []
        try:
            return self.recv(timeout)
        finally:
            self.held = held + self.held

    def request(self, op, **fields):
        return self.wait(self.send(op, **fields))

    def ok(self, op, **fields):
        r = self.request(op, **fields)
        expect(r.get("ok") is True, "%s refused: %s" % (op, r))
        return r

    def hello(self):
        r = self.ok("hello", proto=1, client="agent_client.py")
        expect(r.get("proto") == 1, "hello agreed on %r" % r.get("proto"))
        return r

    def until_closed(self, timeout=TIMEOUT):
        """Every frame up to the agent's close."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                frames.append(self.recv(max(0.0, deadline - time.monotonic())))
            except Closed:
                return frames

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()


def agent_dir():
    return os.path.join(os.environ["HOME"], ".rh", "agent")


def call_file(cid, name):
    with open(os.path.join(agent_dir(), "calls", cid, name), "rb") as f:
        return f.read()


def call_record(cid):
    """An ended call's record: its latest line in calls/records.log."""
    found = None
    with open(os.path.join(agent_dir(), "calls", "records.log"), "rb") as f:
        for line in f:
            if json.loads(line).get("call") == cid:
                found = line
    expect(found is not None, "no record of %s in calls/records.log" % cid)
    return found


def run_call(c, command, **fields):
    """A call waited for: (accepted frame, final reply)."""
    rid = c.send("call", command=command, **fields)
    acc = c.wait(rid, "accepted")
    rep = c.wait(rid)
    expect(rep.get("ok") is True, "call refused: %s" % rep)
    expect(rep.get("call") == acc.get("call"),
           "reply names call %r, accepted %r" % (rep.get("call"),
                                                acc.get("call")))
    return acc, rep


def wait_state(c, cid, states):
    """Poll a call's record (bounded) until it is in one of states."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        r = c.ok("get", call=cid)
        if r["state"] in states:
            return r
        expect(time.monotonic() < deadline,
               "call %s stayed %s" % (cid, r["state"]))
        time.sleep(0.02)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purpose.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid):
    deadline = time.monotonic() + TIMEOUT
    while pid_alive(pid):
        expect(time.monotonic() < deadline, "pid %d still alive" % pid)
        time.sleep(0.02)


# ---- checks ---------------------------------------------------------------

def check_hello(rhagent, version):
    c = Conn(rhagent)
    r = c.request("status")
    expect(r.get("ok") is False and r.get("error") == "EPROTO",
           "status before hello: %s" % r)
    r = c.request("hello", proto=99, proto_min=99)
    expect(r.get("ok") is False and r.get("error") == "EPROTONOSUPPORT",
           "hello for protocol 99 only: %s" % r)
    r = c.request("hello")
    expect(r.get("ok") is False and r.get("error") == "EINVAL",
           "hello without proto: %s" % r)
    r = c.ok("hello", proto=7, proto_min=1)
    expect(r["proto"] == 1, "hello 1..7 agreed on %r" % r["proto"])
    expect(r["agent"] == "rhagent" and r["version"] == version,
           "hello names %s %s, want rhagent %s" % (r.get("agent"),
                                                   r.get("version"), version))
    expect(r["frame_max"] == 16 * 1024 * 1024, "frame_max %r" % r)
    c.ok("ping")
    r = c.request("frobnicate")
    expect(r.get("ok") is False and r.get("error") == "ENOSYS",
           "unknown op: %s" % r)
    c.ok("ping")
    c.close()


def check_echo(rhagent):
    c = Conn(rhagent)
    c.hello()
    _, rep = run_call(c, ["echo", "hello"],
                      args=["world", 42, {"a": [1, 2]}, True, None],
                      kwargs={"name": "x y", "n": 3, "flag": False})
    want = ('hello world 42 {"a":[1,2]} true null '
            '--name=x y --n=3 --flag=false\n')
    expect(rep["state"] == "done" and rep["exit"] == 0,
           "echo ended %s: %s" % (rep["state"], rep))
    expect(rep["result"] == want, "result %r, want %r" % (rep["result"], want))
    # argv exactly: one argument per arg, spaces kept
    _, rep = run_call(c, ["printf", "[%s]"], args=["a b", "", "c"],
                      kwargs={"k": "v w"})
    expect(rep["result"] == "[a b][][c][--k=v w]",
           "printf argv: %r" % rep["result"])
    cid = rep["call"]
    expect(call_file(cid, "stdout") == b"[a b][][c][--k=v w]",
           "calls/%s/stdout holds %r" % (cid, call_file(cid, "stdout")))
    st = json.loads(call_record(cid))
    expect(st["state"] == "done" and st["exit"] == 0 and st["ended_at"],
           "calls/records.log, %s: %s" % (cid, st))
    expect(st["spec"]["command"] == ["printf", "[%s]"],
           "calls/records.log, %s's spec: %s" % (cid, st))
    # env and cwd
    os.makedirs(os.path.join(os.environ["HOME"], "work"), exist_ok=True)
    _, rep = run_call(c, ["sh", "-c", 'printf "%s %s" "$RH_X" "$PWD"'],
                      env={"RH_X": "1 2"}, cwd="work")
    expect(rep["result"] == "1 2 " + os.path.join(
        os.path.realpath(os.environ["HOME"]), "work"),
        "env and cwd: %r" % rep["result"])
    # output that is not text travels as base64: bytes that are not
    # UTF-8, a NUL, an overlong form, a surrogate, past U+10FFFF
    for raw in [b"\xff\x00x", b"a\xc0\xafb", b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80"]:
        octal = "".join("\\%03o" % ch for ch in raw)
        _, rep = run_call(c, ["printf", octal])
        expect("result" not in rep and
               base64.b64decode(rep.get("result_b64", "")) == raw,
               "result of %r: %s" % (raw, rep))
    _, rep = run_call(c, ["printf", "caf\u00e9 \u2713 \U0001f680"])
    expect(rep.get("result") == "caf\u00e9 \u2713 \U0001f680",
           "UTF-8 result: %s" % rep)
    c.close()


def check_fail(rhagent):
    c = Conn(rhagent)
    c.hello()
    _, rep = run_call(c, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    expect(rep["state"] == "failed" and rep["exit"] == 3,
           "exit 3 gave %s" % rep)
    expect("status 3" in rep["reason"], "reason %r" % rep["reason"])
    expect(rep["result"] == "out\n", "result %r" % rep["result"])
    cid = rep["call"]
    expect(call_file(cid, "stderr") == b"err\n",
           "stderr file %r" % call_file(cid, "stderr"))
    r = c.ok("output", call=cid, stream="stderr")
    expect(r["data"] == "err\n" and r["eof"] is True and r["size"] == 4,
           "output stderr: %s" % r)
    r = c.ok("output", call=cid, stream="stdout", offset=1, length=2)
    expect(r["data"] == "ut" and r["eof"] is False, "output slice: %s" % r)
    # a killed program fails with its signal
    _, rep = run_call(c, ["sh", "-c", "kill -9 $$"])
    expect(rep["state"] == "failed" and rep["signal"] == 9,
           "killed: %s" % rep)
    # a program that does not exist fails with a reason, not a refusal
    _, rep = run_call(c, ["rh-no-such-program"])
    expect(rep["state"] == "failed" and "cannot run" in rep["reason"],
           "missing program: %s" % rep)
    # bad requests are refused and change nothing
    bad = [
        {},
        {"command": []},
        {"command": "echo"},
        {"command": ["echo", 1]},
        {"command": ["echo"], "args": {"a": 1}},
        {"command": ["echo"], "kwargs": {"a=b": 1}},
        {"command": ["echo"], "env": {"X": 1}},
        {"command": ["echo"], "colour": "red"},
        {"command": ["echo"], "wait": "yes"},
        {"command": ["echo"], "call": "tomorrow"},
    ]
    before = sorted(os.listdir(os.path.join(agent_dir(), "calls")))
    for spec in bad:
        r = c.request("call", **spec)
        expect(r.get("ok") is False and r.get("error") == "EINVAL",
               "bad call %s: %s" % (spec, r))
        expect(r.get("message"), "refusal without a message: %s" % r)
    after = sorted(os.listdir(os.path.join(agent_dir(), "calls")))
    expect(before == after, "refused calls left records")
    for req in [{"call": "../../etc"}, {"call": "20990101-000000-000000"},
                {}]:
        r = c.request("get", **req)
        expect(r.get("ok") is False and r.get("error") in ("EINVAL", "ENOENT"),
               "get %s: %s" % (req, r))
    c.ok("ping")
    c.close()


def check_list(rhagent):
    """Calls of a send, newest first, in pages."""
    c = Conn(rhagent)
    c.hello()
    ids = [run_call(c, ["echo", str(i)], send="~/s1")[1]["call"]
           for i in range(3)]
    other = run_call(c, ["echo", "x"], send="~/s2")[1]["call"]
    r = c.ok("list", send="~/s1")
    got = [x["call"] for x in r["calls"]]
    expect(got == ids[::-1], "list of ~/s1: %s, want %s" % (got, ids[::-1]))
    expect(all(x["state"] == "done" and x["send"] == "~/s1" and
               "result" not in x for x in r["calls"]), "records: %s" % r)
    r = c.ok("list", send="~/s1", limit=2)
    expect([x["call"] for x in r["calls"]] == ids[:0:-1], "limit 2: %s" % r)
    r = c.ok("list", send="~/s1", before=ids[1])
    expect([x["call"] for x in r["calls"]] == ids[:1], "before: %s" % r)
    r = c.ok("list", limit=1)
    expect([x["call"] for x in r["calls"]] == [other], "newest: %s" % r)
    r = c.request("list", before="yesterday")
    expect(r.get("error") == "EINVAL", "bad before: %s" % r)
    # an id proposed later than every id given is the call's; one not
    # later gets the time's id, after the newest
    t = time.time() + 2
    later = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t)) + \
        "-%06d" % int(t % 1 * 1000000)
    acc, rep = run_call(c, ["echo", "p"], send="~/s3", call=later)
    expect(acc["call"] == later and rep["call"] == later,
           "proposed id %s: %s" % (later, acc))
    expect("call" not in c.ok("get", call=later, spec=True)["spec"],
           "the proposal is kept in the spec")
    acc, rep = run_call(c, ["echo", "q"], send="~/s3", call=ids[0])
    expect(acc["call"] > later, "an id not later was taken: %s" % acc)
    c.close()


def check_big(rhagent):
    """Output over the inline limit is read back with "output"."""
    c = Conn(rhagent)
    c.hello()
    fill = "head -c %d /dev/zero | tr '\\0' '%s'"
    _, rep = run_call(c, ["sh", "-c", fill % (1 << 20, "a")])
    expect(rep.get("result") == "a" * (1 << 20), "1 MiB result not inline")
    n = 5 * 1024 * 1024 + 7
    _, rep = run_call(c, ["sh", "-c", fill % (n, "\\1")])
    expect(rep.get("result_truncated") is True and "result" not in rep and
           rep["stdout_size"] == n, "5 MiB result: %s" % {
               k: v for k, v in rep.items() if k != "result"})
    got, off = [], 0
    while True:
        r = c.ok("output", call=rep["call"], offset=off, length=4 << 20)
        expect(r["offset"] == off and r["size"] == n, "output: %s" % {
            k: v for k, v in r.items() if k != "data"})
        got.append(r["data"])
        off += len(r["data"])
        if r["eof"]:
            break
        expect(r["data"], "output made no progress at %d" % off)
    expect("".join(got) == "\x01" * n, "output read back %d bytes" % off)
    c.close()


def check_map(rhagent, n):
    n = int(n)
    c = Conn(rhagent)
    c.hello()
    data = b"".join(frame({"id": i, "op": "call",
                           "command": ["sh", "-c", 'echo "$0"', str(i)]})
                    for i in range(1, n + 1))
    c.send_raw(data)
    accepted, replies = {}, {}
    deadline = time.monotonic() + 120
    while len(replies) < n:
        expect(time.monotonic() < deadline,
               "%d of %d replies" % (len(replies), n))
        m = c.recv()
        if m["op"] == "accepted":
            expect(m["id"] not in accepted, "#%d accepted twice" % m["id"])
            accepted[m["id"]] = m["call"]
        else:
            expect(m["op"] == "reply", "unexpected frame %s" % m)
            expect(m["id"] not in replies, "#%d answered twice" % m["id"])
            expect(m["id"] in accepted, "#%d answered before accepted"
                   % m["id"])
            replies[m["id"]] = m
    # Whatever else the agent had queued for us arrives before this.
    c.next_id = n + 1
    c.ok("ping")
    expect(not c.held, "frames after all replies: %s" % c.held[:3])
    expect(sorted(replies) == list(range(1, n + 1)), "request ids answered")
    for i, m in replies.items():
        expect(m["state"] == "done" and m["result"] == "%d\n" % i,
               "#%d: %s" % (i, m))
        expect(m["call"] == accepted[i], "#%d call id changed" % i)
    ids = [accepted[i] for i in range(1, n + 1)]
    expect(len(set(ids)) == n, "call ids are not unique")
    expect(ids == sorted(ids), "call ids do not sort in submission order")
    c.close()


def check_parallel(rhagent, n):
    """n calls that can only end if all n run at the same time."""
    n = int(n)
    d = os.path.join(os.environ["HOME"], "barrier")
    os.makedirs(d, exist_ok=True)
    script = ('touch "$1/$0"; i=0; '
              'while [ "$(ls "$1" | wc -l)" -lt "$2" ]; do '
              'i=$((i+1)); [ $i -gt 1000 ] && exit 1; sleep 0.02; done')
    c = Conn(rhagent)
    c.hello()
    rids = [c.send("call", command=["sh", "-c", script, str(i), d, str(n)])
            for i in range(n)]
    for rid in rids:
        rep = c.wait(rid, timeout=60)
        expect(rep["state"] == "done",
               "barrier call #%d: %s (calls did not run together)"
               % (rid, rep))
    c.close()


def check_status(rhagent):
    c = Conn(rhagent)
    c.hello()
    rid = c.send("call", command=["sleep", "30"])
    cid = c.wait(rid, "accepted")["call"]
    wait_state(c, cid, ["running"])
    r = c.ok("status")
    expect(r["agent"] == "rhagent" and r["proto"] == 1, "status %s" % r)
    expect(isinstance(r["uptime"], (int, float)) and r["uptime"] >= 0,
           "uptime %r" % r["uptime"])
    expect(r["running"] >= 1 and cid in r["running_calls"],
           "running calls %s" % r)
    expect(len(r["load"]) == 3 and r["cpus"] >= 1, "load %s" % r)
    expect(r["clients"] >= 1 and r["pid"] > 0 and r["jobs"] >= 1,
           "status %s" % r)
    c.ok("cancel", call=cid)
    c.wait(rid)
    c.close()


def check_cancel(rhagent):
    c = Conn(rhagent)
    c.hello()
    # A sleep in its own queue, and a call queued behind it.
    rid = c.send("call", command=["sh", "-c", "sleep 30; echo late"],
                 queue="q")
    cid = c.wait(rid, "accepted")["call"]
    rid2 = c.send("call", command=["echo", "second"], queue="q")
    cid2 = c.wait(rid2, "accepted")["call"]
    r = wait_state(c, cid, ["running"])
    pid = r["pid"]
    expect(pid_alive(pid), "the sleep is not running")
    expect(c.ok("get", call=cid2)["state"] == "queued",
           "a call of the same queue did not wait")
    # Cancel the waiting one: it never runs.
    r = c.ok("cancel", call=cid2)
    expect(r["cancelled"] is True and r["state"] == "cancelled",
           "cancel of a queued call: %s" % r)
    rep = c.wait(rid2)
    expect(rep["state"] == "cancelled" and rep["started_at"] is None,
           "queued call's reply: %s" % rep)
    r = c.ok("cancel", call=cid)
    expect(r["cancelled"] is True, "cancel: %s" % r)
    rep = c.wait(rid)
    expect(rep["state"] == "cancelled" and rep["signal"] == 15 and
           rep["result"] == "", "cancelled call's reply: %s" % rep)
    wait_gone(pid)
    expect(json.loads(call_record(cid))["state"] == "cancelled",
           "%s not cancelled in calls/records.log" % cid)
    r = c.ok("cancel", call=cid)
    expect(r["cancelled"] is False and r["state"] == "cancelled",
           "cancel of an ended call: %s" % r)
    r = c.request("cancel", call="20990101-000000-000000")
    expect(r.get("error") == "ENOENT", "cancel of no call: %s" % r)
    c.close()


def check_badframes(rhagent):
    good = Conn(rhagent)
    good.hello()
    cases = [
        ("not JSON", frame(b"hello"), "EBADMSG"),
        ("oversized", HDR.pack(0xFFFFFFFF) + b"{}", "EMSGSIZE"),
        ("just over the maximum", HDR.pack(16 * 1024 * 1024 + 1), "EMSGSIZE"),
        ("not an object", frame(b"[1,2]"), "EBADMSG"),
        ("no id", frame(b'{"op":"ping"}'), "EBADMSG"),
        ("no op", frame(b'{"id":1}'), "EBADMSG"),
        ("fractional id", frame(b'{"id":1.5,"op":"ping"}'), "EBADMSG"),
        ("trailing bytes", frame(b'{"id":1,"op":"ping"} x'), "EBADMSG"),
        ("empty", frame(b""), "EBADMSG"),
    ]
    for what, data, err in cases:
        bad = Conn(rhagent)
        bad.hello()
        bad.send_raw(data)
        frames = bad.until_closed()
        expect(frames and frames[-1]["op"] == "bye" and
               frames[-1].get("error") == err,
               "%s: got %s, want bye %s" % (what, frames, err))
        bad.close()
        expect(bad.p.returncode == 0, "%s: bridge exit %s"
               % (what, bad.p.returncode))
        good.ok("ping")
    # Valid frames before the bad one are still answered.
    bad = Conn(rhagent)
    bad.send_raw(frame({"id": 5, "op": "ping"}) + frame(b"{"))
    frames = bad.until_closed()
    expect([f["op"] for f in frames] == ["reply", "bye"],
           "ping then garbage: %s" % frames)
    bad.close()
    # Truncated: a frame cut short, then the stream ends.
    bad = Conn(rhagent)
    bad.send_raw(HDR.pack(100) + b'{"id":1,')
    bad.p.stdin.close()
    bad.until_closed()
    bad.close()
    # A frame fed in pieces, a byte at a time, is one frame.
    slow = Conn(rhagent)
    data = frame({"id": 9, "op": "hello", "proto": 1})
    for i in range(len(data)):
        slow.send_raw(data[i:i + 1])
    expect(slow.wait(9)["ok"] is True, "hello a byte at a time")
    slow.close()
    # The good connection was never disturbed.
    _, rep = run_call(good, ["echo", "still here"])
    expect(rep["result"] == "still here\n", "after bad frames: %s" % rep)
    good.close()


def check_halfclose(rhagent):
    """A client that ends its requests still gets every reply."""
    c = Conn(rhagent)
    c.send_raw(frame({"id": 1, "op": "hello", "proto": 1}) +
               frame({"id": 2, "op": "call",
                      "command": ["sh", "-c", "sleep 0.2; echo late"]}) +
               frame({"id": 3, "op": "ping"}))
    c.p.stdin.close()
    frames = c.until_closed()
    got = sorted((f["id"], f["op"]) for f in frames)
    expect(got == [(1, "reply"), (2, "accepted"), (2, "reply"), (3, "reply")],
           "frames after a half-close: %s" % frames)
    rep = [f for f in frames if f["id"] == 2 and f["op"] == "reply"][0]
    expect(rep["result"] == "late\n", "late reply: %s" % rep)
    c.close()
    expect(c.p.returncode == 0, "bridge exit %s" % c.p.returncode)


def check_follow(rhagent):
    """"output" with wait_ms: held at the end of the output until the
    file grows (written by the call's own process) or the call ends, or
    the wait is over; never holding up other requests; every follower
    answered; the wait capped."""
    c, d = Conn(rhagent), Conn(rhagent)
    c.hello()
    d.hello()
    cid = c.ok("call", wait=False, command=[
        "sh", "-c", "echo one; echo err1 >&2; sleep 2; echo two; "
        "echo err2 >&2; sleep 1"])["call"]
    r = c.ok("output", call=cid, offset=0, wait_ms=20000)
    expect(r["data"] == "one\n" and r["eof"] is False and
           r["wait_ms"] == 20000, "the first line: %s" % r)
    # Three followers at the end of stdout and one of stderr, on two
    # connections; a ping meanwhile is answered at once.
    t0 = time.monotonic()
    waits = [(c, c.send("output", call=cid, offset=4, wait_ms=20000)),
             (c, c.send("output", call=cid, offset=4, wait_ms=20000)),
             (d, d.send("output", call=cid, offset=4, wait_ms=20000)),
             (d, d.send("output", call=cid, stream="stderr", offset=5,
                        wait_ms=20000))]
    c.ok("ping")
    expect(not any(m["id"] == rid for m in c.held for _, rid in waits[:2]),
           "a follower was answered before the output grew")
    for conn, rid in waits:
        r = conn.wait(rid)
        expect(r.get("ok") is True and r["data"] in ("two\n", "err2\n") and
               r["eof"] is False, "a follower got %s" % r)
    expect(time.monotonic() - t0 < 15, "the followers waited for the wait "
           "to end, not for the output")
    # At the end of the output: answered when the call ends, with eof.
    r = c.ok("output", call=cid, offset=8, wait_ms=20000)
    expect(r["data"] == "" and r["eof"] is True, "at the end: %s" % r)
    expect(c.ok("get", call=cid)["state"] == "done", "eof before the end")
    r = c.ok("output", call=cid, offset=0, wait_ms=10 ** 9)
    expect(r["data"] == "one\ntwo\n" and r["eof"] is True and
           r["wait_ms"] == 30000, "an ended call, the wait capped: %s" % r)
    # Nothing comes: an empty answer once the wait is over.
    cid = c.ok("call", wait=False, command=["sleep", "30"])["call"]
    t0 = time.monotonic()
    r = c.ok("output", call=cid, wait_ms=300)
    expect(r["data"] == "" and r["eof"] is False and
           time.monotonic() - t0 >= 0.25, "a wait that ran out: %s" % r)
    r = c.request("output", call=cid, wait_ms=-1)
    expect(r.get("error") == "EINVAL", "wait_ms -1: %s" % r)
    # A follower whose connection goes, and one whose client ends its
    # requests (answered at once); the agent goes on.
    d.send("output", call=cid, wait_ms=20000)
    d.p.kill()
    d.close()
    e = Conn(rhagent)
    e.hello()
    rid = e.send("output", call=cid, wait_ms=20000)
    t0 = time.monotonic()
    e.p.stdin.close()
    frames = e.until_closed()
    expect([(f["id"], f.get("data"), f.get("eof")) for f in frames] ==
           [(rid, "", False)] and time.monotonic() - t0 < 15,
           "a follower that ended its requests: %s" % frames)
    e.close()
    c.ok("cancel", call=cid)
    # A Python call followed from before it starts: its output moves to
    # its worker's file then (pool.c), and the follower with it.
    mod = os.path.join(os.environ["HOME"], "followmod")
    os.makedirs(mod, exist_ok=True)
    with open(os.path.join(mod, "fm.py"), "w") as f:
        f.write("import os, time\n"
                "def gated(path):\n"
                "    print('py before', flush=True)\n"
                "    for _ in range(300):\n"
                "        if os.path.exists(path):\n"
                "            break\n"
                "        time.sleep(0.1)\n"
                "    print('py after')\n")
    gates = [os.path.join(mod, g) for g in ("gate1", "gate2")]
    ids = [c.ok("call", wait=False, queue="pyq",
                fn_pointers=["followmod", "fm", "gated"], args=[g])["call"]
           for g in gates]
    expect(c.ok("get", call=ids[1])["state"] == "queued",
           "the second Python call is not queued")
    rid = c.send("output", call=ids[1], wait_ms=30000)
    t0 = time.monotonic()
    open(gates[0], "w").close()
    r = c.wait(rid)
    expect(time.monotonic() - t0 < 20, "a queued Python call's output "
           "came at the end of the wait, not when it was printed")
    got = r.get("data", "")
    while r.get("ok") is True and not got.endswith("\n") and not r["eof"]:
        r = c.ok("output", call=ids[1], offset=len(got), wait_ms=30000)
        got += r["data"]
    expect(got == "py before\n" and r["eof"] is False,
           "a queued Python call followed: %r, %s" % (got, r))
    expect(c.ok("get", call=ids[1])["state"] == "running",
           "its first line came only at its end")
    rid = c.send("output", call=ids[1], offset=10, wait_ms=30000)
    t0 = time.monotonic()
    open(gates[1], "w").close()
    r = c.wait(rid)
    expect(time.monotonic() - t0 < 20, "the second line came late")
    got = r.get("data", "")
    while r.get("ok") is True and not r["eof"]:
        r = c.ok("output", call=ids[1], offset=10 + len(got), wait_ms=30000)
        got += r["data"]
    expect(got == "py after\n", "the Python call's second line and end: "
           "%r, %s" % (got, r))
    # Nobody waits now: the agent is idle (what inotify still says of the
    # watches dropped must not wake it again and again).
    pid = c.ok("status")["pid"]
    def cpu():
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    before = cpu()
    time.sleep(2)
    used = cpu() - before
    expect(used < 0.2, "the idle agent used %.2f s of CPU in 2 s" % used)
    c.close()


def check_submit(rhagent, *argv):
    """Print the id of a call that is not waited for."""
    queue = None
    if argv and argv[0].startswith("--queue="):
        queue, argv = argv[0][8:], argv[1:]
    c = Conn(rhagent)
    c.hello()
    fields = {"command": list(argv), "wait": False}
    if queue:
        fields["queue"] = queue
    r = c.ok("call", **fields)
    if queue is None or c.ok("get", call=r["call"])["state"] != "queued":
        wait_state(c, r["call"], ["running", "done", "failed"])
    print(r["call"])
    c.close()


def check_run(rhagent, *argv):
    """Run a call to its end and print its id."""
    c = Conn(rhagent)
    c.hello()
    _, rep = run_call(c, list(argv))
    print(rep["call"])
    c.close()


def check_get(rhagent, *argv):
    """[--wait] ID KEY=JSON|KEY~=TEXT...: the call's record (once it has
    ended, with --wait) must have these values."""
    wait = argv[0] == "--wait"
    cid, want = argv[wait], argv[wait + 1:]
    c = Conn(rhagent)
    c.hello()
    r = c.ok("get", call=cid, wait=wait)
    for kv in want:
        k, v = kv.split("=", 1)
        if k.endswith("~"):
            expect(v in str(r.get(k[:-1])), "%s: %s=%r lacks %r"
                   % (cid, k[:-1], r.get(k[:-1]), v))
        else:
            expect(r.get(k) == json.loads(v), "%s: %s=%r, want %s"
                   % (cid, k, r.get(k), v))
    print(json.dumps(r))
    c.close()


def check_output(rhagent, cid, stream, text):
    """ID STREAM TEXT: the ended call's whole STREAM is TEXT (\n: a
    newline), with the size its record gives."""
    text = text.replace("\\n", "\n")
    c = Conn(rhagent)
    c.hello()
    rec = c.ok("get", call=cid)
    r = c.ok("output", call=cid, stream=stream, length=1 << 20)
    expect(r["data"] == text and r["size"] == len(text) and r["eof"],
           "%s %s: %r (size %s, eof %s), want %r" %
           (cid, stream, r["data"], r["size"], r["eof"], text))
    expect(rec["%s_size" % stream] == len(text), "%s: %s_size %s, want %d"
           % (cid, stream, rec.get("%s_size" % stream), len(text)))
    c.close()


def check_pid_gone(pid):
    wait_gone(int(pid))


CHECKS = {
    "hello": check_hello,
    "echo": check_echo,
    "fail": check_fail,
    "big": check_big,
    "list": check_list,
    "map": check_map,
    "parallel": check_parallel,
    "status": check_status,
    "cancel": check_cancel,
    "badframes": check_badframes,
    "halfclose": check_halfclose,
    "follow": check_follow,
    "submit": check_submit,
    "run": check_run,
    "get": check_get,
    "output": check_output,
}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "pid-gone":
        name, run = "pid-gone", lambda: check_pid_gone(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[2] in CHECKS:
        name = sys.argv[2]
        run = lambda: CHECKS[name](sys.argv[1], *sys.argv[3:])
    else:
        print("usage: agent_client.py RHAGENT CHECK [ARGS...]\n"
              "       agent_client.py pid-gone PID", file=sys.stderr)
        return 2
    try:
        run()
    except (Failed, Closed, TimeoutError) as e:
        print("%s: %s: %s" % (name, type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
