"""s3-faults.py - a loopback TCP relay in front of a real S3 server (moto)
that brings the faults an S3 client must live through, on a signal:

  SIGUSR1  armed: the next connection to have carried 1 MiB (either way)
           is cut there, midway through its request (the client sees the
           connection lost), and the two connections after it are
           answered 503 SlowDown, as S3 does under load;
  SIGUSR2  every connection from now on is answered 503 SlowDown, until
           the next SIGUSR2.

Otherwise bytes pass as they are. Each fault is printed on stdout ("cut",
"503").

    python3 s3-faults.py LISTEN_PORT SERVER_PORT
"""
import os
import signal
import socket
import sys
import threading

LISTEN, SERVER = (int(a) for a in sys.argv[1:3])
CUT_AT = 1 << 20
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown'
            b'</Code><Message>Please reduce your request rate.</Message>'
            b'</Error>')

lock = threading.Lock()
moved = {}          # client socket -> bytes it carried, both ways
armed = False
pending = 0         # connections still to answer 503
storm = False


def say(text):
    os.write(1, (text + "\n").encode())


def pipe(src, dst, client):
    """src to dst; the connection cut when armed and it has carried
    CUT_AT bytes."""
    global armed, pending
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            with lock:
                moved[client] = moved.get(client, 0) + len(data)
                cut = armed and moved[client] >= CUT_AT
                if cut:
                    armed = False
                    pending = 2
            if cut:
                say("cut")
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def slowdown(c):
    c.settimeout(5)
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            data = c.recv(65536)
            if not data:
                break
            head += data
        c.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml"
                  b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                  % len(SLOWDOWN) + SLOWDOWN)
    except OSError:
        pass
    say("503")
    c.close()


def serve(c):
    global pending
    with lock:
        fault = storm or pending > 0
        if fault and not storm:
            pending -= 1
    if fault:
        slowdown(c)
        return
    try:
        u = socket.create_connection(("127.0.0.1", SERVER), timeout=10)
    except OSError:
        c.close()
        return
    u.settimeout(None)
    back = threading.Thread(target=pipe, args=(u, c, c), daemon=True)
    back.start()
    pipe(c, u, c)
    back.join()
    with lock:
        moved.pop(c, None)
    c.close()
    u.close()


def on_usr1(signum, frame):
    global armed
    with lock:
        armed = True
    say("armed")


def on_usr2(signum, frame):
    global storm
    with lock:
        storm = not storm
    say("storm %s" % ("on" if storm else "off"))


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", LISTEN))
ls.listen(64)
say("ready")
while True:
    try:
        conn, _ = ls.accept()
    except InterruptedError:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
