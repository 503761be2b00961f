# nodes-lib.sh - the checks of a cluster of several nodes, shared by the
# tests of its kinds (multinode-byo.sh, ondemand-nodes.sh): Python helpers
# written into $T. Source after lib.sh.

# map INVOKE N PAUSE: N lines written at once, N results read back
cat >"$T/map.py" <<'PY'
import json, os, sys
n, pause = int(sys.argv[2]), float(sys.argv[3])
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, "".join(json.dumps([i, pause]) + "\n"
                     for i in range(n)).encode())
f = os.fdopen(fd, "r")
for _ in range(n):
    print(f.readline().rstrip("\n"))
PY
# nodes CALLSDIR: each call's "state node reason" (a line each)
cat >"$T/recs.py" <<'PY'
import json, os, sys
d = sys.argv[1]
for cid in sorted(os.listdir(d)):
    if cid == "latest":
        continue
    r = json.load(open(os.path.join(d, cid, "status")))
    print(r["state"], r.get("node"), r.get("reason"))
PY
# status FILE: each node as "NAME ROLE STATE AGENT-PID|-", then errors
cat >"$T/nodes.py" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
for n in st.get("nodes", []):
    print(n["name"], n["address"], n["role"], n["state"],
          n.get("agent", {}).get("pid", "-"), "running=%s" % n.get("running"),
          "load" if "load" in n else "noload")
for n in st.get("nodes", []):
    if "error" in n:
        print("error: " + n["error"])
PY

# nodes_module HOME: the module the maps call (mnpy/mnfns.py, double(x,
# pause)) in the test user's HOME
nodes_module() {
	rm -rf "$1/mnpy"
	mkdir -p "$1/mnpy"
	cat >"$1/mnpy/mnfns.py" <<'PY'
import time
def double(x, pause=0.0):
    time.sleep(pause)
    return x * 2
PY
	chown -R "$SSH_USER" "$1/mnpy"
}

# map_kill_worker INVOKE STATUS PID: a map of 40 calls of 0.5 s through
# INVOKE; once the cluster's STATUS says node1 runs some, its worker
# agent PID is killed (-9); returns when the map has all its lines
map_kill_worker() {
	"$PYTHON3" "$T/map.py" "$1" 40 0.5 >"$T/map2" 2>&1 &
	mkw_pid=$!
	mkw_i=0
	until timeout 30 cat "$2" >"$T/stw" 2>/dev/null &&
		"$PYTHON3" "$T/nodes.py" "$T/stw" |
		grep -q "^node1 .* running=[1-9]"; do
		mkw_i=$((mkw_i + 1))
		[ $mkw_i -gt 200 ] && break
		sleep 0.1
	done
	kill -9 "$3"
	wait $mkw_pid
}
