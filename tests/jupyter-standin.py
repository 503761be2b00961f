#!/usr/bin/env python3
"""A stand-in for `jupyter lab`, for tests/notebook.sh: JupyterLab cannot
be installed here, so the tests put this on the node user's PATH as
`jupyter`. Like `jupyter lab --no-browser --ip IP --port P` it listens on
IP at P (or the next free port, as jupyter's port_retries does), prints
its URLs with a token on stderr in jupyter's words, and answers HTTP GETs
(200 with the token, 403 without; size=N asks for N bytes), one thread
per connection. It writes its pid to
~/jupyter-standin.pid and its sys.prefix to ~/jupyter-standin.prefix, and
ends on SIGTERM, as jupyter does."""
import http.server
import os
import secrets
import sys


def main():
    args = sys.argv[1:]
    if not args or args[0] != "lab":
        print("stand-in jupyter: only 'jupyter lab'", file=sys.stderr)
        return 2
    ip, port = "localhost", 8888
    for a in args[1:]:
        if a.startswith("--ip="):
            ip = a[5:]
        elif a.startswith("--port="):
            port = int(a[7:])
    token = secrets.token_hex(24)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = ("token=" + token) in self.path
            body = ("stand-in jupyter: %s %s\n" %
                    ("token ok" if ok else "no token", self.path)).encode()
            if ok and "size=" in self.path:
                # a large answer: bytes i % 251, for i below size
                n = int(self.path.split("size=")[1].split("&")[0])
                body = bytes(i % 251 for i in range(n))
            self.send_response(200 if ok else 403)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            pass

    server = None
    for p in range(port, port + 51):
        try:
            server = http.server.ThreadingHTTPServer((ip, p), Handler)
            break
        except OSError:
            print("[I ServerApp] The port %d is already in use, trying "
                  "another port." % p, file=sys.stderr)
    if server is None:
        print("[C ServerApp] ERROR: no available port", file=sys.stderr)
        return 1
    p = server.server_address[1]
    with open(os.path.expanduser("~/jupyter-standin.pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    with open(os.path.expanduser("~/jupyter-standin.prefix"), "w") as f:
        f.write(sys.prefix + "\n")    # the virtualenv it runs in, if any
    url = "http://%s:%d/lab?token=%s" % (ip, p, token)
    print("[I ServerApp] Jupyter Server is running at:\n"
          "[I ServerApp] %s\n"
          "[I ServerApp]     http://127.0.0.1:%d/lab?token=...\n"
          "\n"
          "    To access the server, open this file in a browser:\n"
          "        file:///nowhere/jpserver-%d-open.html\n"
          "    Or copy and paste one of these URLs:\n"
          "        %s\n" % (url, p, os.getpid(), url),
          file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
