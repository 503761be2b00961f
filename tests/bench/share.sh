#!/bin/sh
# share.sh - benchmark: how long a user's `rh share` waits for the grant
# controller's answer (target: 2 s at most), and how many requests the
# controller answers per second when B users' requests come at once. A
# real etcd on loopback with auth on; `rh admin serve` as the
# administrator runs it. Prints figures; asserts nothing. Run from the
# build tree after make: sh tests/bench/share.sh [N] [B]
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
N=${1:-20}
B=${2:-50}
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/etcd-lib.sh"
RH=$top_builddir/rh

etcd_have || { echo "etcd and etcdctl are needed (tests/deps.sh)"; exit 1; }
etcd_start || exit 1
U=$ETCD_URL
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill "$SERVE_PID"; etcd_exit' EXIT

{
	echo rootpw | "$RH" admin --url "$U" --password-stdin init &&
	printf 'rootpw\nalicepw\n' | "$RH" admin --url "$U" \
		--password-stdin useradd alice &&
	printf 'rootpw\nbobpw\n' | "$RH" admin --url "$U" \
		--password-stdin useradd bob &&
	echo alicepw | "$RH" login --url "$U" --user alice --password-stdin
} >"$T/setup.log" 2>&1 || { cat "$T/setup.log"; exit 1; }
printf 'rootpw\n' >"$T/rootpw"
chmod 600 "$T/rootpw"
"$RH" admin --url "$U" --password-file "$T/rootpw" serve 2>"$T/serve.log" &
SERVE_PID=$!
i=0
while ! grep -q "answering the requests" "$T/serve.log" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

now_ms() {
	"$PYTHON3" -c 'import time; print(int(time.monotonic() * 1000))'
}

# N shares one after another, each timed from the command's start to its
# exit (logging in, the request, the controller's work, the answer).
: >"$T/times"
i=0
while [ $i -lt "$N" ]; do
	t0=$(now_ms)
	"$RH" share "@/p$i" bob read >/dev/null || exit 1
	t1=$(now_ms)
	echo $((t1 - t0)) >>"$T/times"
	i=$((i + 1))
done
sort -n "$T/times" >"$T/sorted"
echo "rh share, $N one after another: median $(sed -n "$(((N + 1) / 2))p" \
	"$T/sorted") ms, max $(tail -n 1 "$T/sorted") ms (target: 2000 ms)"

# B requests put at once with alice's one login (through etcd's JSON
# gateway), then the time until the controller has answered them all:
# the controller's own rate, without B logins to etcd (bcrypt) in it.
"$PYTHON3" - "$U" "$B" <<'PY'
import base64, json, sys, time, urllib.error, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
b = lambda s: base64.b64encode(s.encode()).decode()
def call(path, body, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = token
    req = urllib.request.Request(url + path, json.dumps(body).encode(), h)
    try:
        return json.loads(urllib.request.urlopen(req).read())
    except urllib.error.HTTPError as e:
        return {"error": e.read().decode()}
def login():
    return call("/v3/auth/authenticate",
                {"name": "alice", "password": "alicepw"})["token"]
token = login()
# Every change of roles makes tokens stale: log in again, as rh does.
def as_alice(path, body):
    global token
    while True:
        r = call(path, body, token)
        if "auth store is old" not in r.get("error", ""):
            if "error" in r:
                sys.exit("%s: %s" % (path, r["error"]))
            return r
        token = login()
t0 = time.monotonic()
for i in range(n):
    req = {"op": "share", "path": "/alice/q%d" % i, "user": "bob",
           "perm": "write"}
    as_alice("/v3/kv/put", {"key": b("/rh/r/alice/q%d" % i),
                            "value": b(json.dumps(req))})
t1 = time.monotonic()
while True:
    r = as_alice("/v3/kv/range", {"key": b("/rh/r/alice/q"),
                                  "range_end": b("/rh/r/alice/r")})
    done = sum(1 for kv in r.get("kvs", [])
               if b'"outcome"' in base64.b64decode(kv["value"]))
    if done == n or time.monotonic() - t0 > 120:
        break
    time.sleep(0.05)
t2 = time.monotonic()
print("%d requests put at once (%.0f ms to put): %d answered in %.0f ms, "
      "%.0f requests/s" % (n, (t1 - t0) * 1000, done, (t2 - t0) * 1000,
                           done / (t2 - t0)))
PY
