#!/usr/bin/env python3
"""sky-standin.py - the tests' own stand-in for SkyPilot's `sky` command.

SkyPilot cannot be installed where these tests run, so the real `sky` is
never run here. This script answers the commands rhfs runs, with the
options SkyPilot's CLI documents for them (sky launch -c NAME --yes
--gpus/--cpus/--instance-type/--num-nodes/--infra/--use-spot/--image-id/
-i, and the --cloud/--region that --infra replaced; sky launch --help;
sky status [--refresh] [--ip] NAME; sky start/stop/down -y NAME; sky
autostop -y -i N|--cancel NAME) and output shaped like
SkyPilot's (its status table; its per-cluster SSH config written to
~/.sky/generated/ssh/NAME, a `Host NAME-workerI` entry for each worker
node). An "instance" is a loopback OpenSSH sshd with a host key made at
launch, letting in $SKY_STANDIN_USER with the key $SKY_STANDIN_DIR/sky-key
(SkyPilot's is ~/.ssh/sky-key). With --num-nodes N, instance i (0 the
head) listens on 127.0.0.(i+1), each on a port of its own; all share the
user's home, as nodes on NFS do.

State and knobs live in $SKY_STANDIN_DIR:
  argv.log    one JSON line per run: the arguments it was given
  state.json  the clusters: status, port (the head's), nodes (each
              instance's host and port), autostop
  fail        if present: launch and start print its text and exit 1
  gate        if present: launch prints a line and waits until it is gone
  launch.pid  the pid of the launch running
  cli-old     if present: the command line of a SkyPilot from before
              --infra (--cloud and --region only). Otherwise as SkyPilot
              now: --infra CLOUD[/REGION[/ZONE]] ("*" for any), and
              --cloud/--region/--zone still taken with a warning that
              they are deprecated, but never together with --infra.
"""
import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time

DIR = os.environ["SKY_STANDIN_DIR"]
USER = os.environ["SKY_STANDIN_USER"]
KEY = os.path.join(DIR, "sky-key")
STATE = os.path.join(DIR, "state.json")


def ssh_config_path(name):
    return os.path.expanduser("~/.sky/generated/ssh/%s" % name)


class Locked:
    """The state file, read and written under one lock."""

    def __enter__(self):
        self.fd = open(os.path.join(DIR, "state.lock"), "a")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            with open(STATE) as f:
                self.state = json.load(f)
        except FileNotFoundError:
            self.state = {}
        return self.state

    def __exit__(self, *exc):
        tmp = STATE + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f)
        os.rename(tmp, STATE)
        self.fd.close()


def say(*lines):
    for line in lines:
        print(line, flush=True)


def die(msg, code=1):
    print(msg, flush=True)
    sys.exit(code)


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def node_dir(name):
    return os.path.join(DIR, "nodes", name)


def instances(name, c):
    """Each instance of cluster c: (its directory's name, host, port)."""
    nodes = c.get("nodes") or [{"host": "127.0.0.1", "port": c["port"]}]
    return [(name if i == 0 else "%s-worker%d" % (name, i), n["host"],
             n["port"]) for i, n in enumerate(nodes)]


def start_sshd(name, port, host="127.0.0.1"):
    d = node_dir(name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    if not os.path.exists(KEY):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", KEY], check=True)
    hostkey = os.path.join(d, "host_ed25519")
    if not os.path.exists(hostkey):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", hostkey], check=True)
    auth = os.path.join(d, "authorized_keys")
    with open(KEY + ".pub") as src, open(auth, "w") as dst:
        dst.write(src.read())
    os.chmod(auth, 0o644)
    # sshd's privilege separation directory (a fresh machine may not have
    # it before any sshd ran)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    cfg = os.path.join(d, "sshd_config")
    with open(cfg, "w") as f:
        f.write("\n".join([
            "Port %d" % port, "ListenAddress %s" % host,
            "HostKey %s" % hostkey,
            "PidFile %s" % os.path.join(d, "sshd.pid"),
            "AuthorizedKeysFile %s" % auth, "StrictModes no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "UsePAM no", "AllowUsers %s" % USER, "PermitRootLogin no",
            "Subsystem sftp internal-sftp", "MaxSessions 64",
            "MaxStartups 64", ""]))
    subprocess.run(["/usr/sbin/sshd", "-f", cfg, "-E",
                    os.path.join(d, "sshd.log")], check=True)
    for _ in range(100):
        try:
            socket.create_connection((host, port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    die("sky.exceptions.ProvisionError: the instance's sshd did not start")


def stop_node(name, c):
    """As the cluster's instances stopping: each sshd, its sessions and
    the agents on it (the head's, and a worker node's) end."""
    for i, (d, _, _) in enumerate(instances(name, c)):
        stop_instance(d)
        if i > 0:
            stop_worker_agent(i)
    subprocess.run(["su", "-s", "/bin/sh", USER, "-c",
                    "[ -x ~/.rh/bin/rhagent ] && ~/.rh/bin/rhagent stop"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.unlink(ssh_config_path(name))
    except FileNotFoundError:
        pass


def stop_worker_agent(i):
    """rhfs's worker agent on worker instance i (its node i), detached
    from the session that started it."""
    home = os.path.expanduser("~" + USER)
    try:
        with open(os.path.join(home, ".rh", "nodes", "node%d" % i,
                               "pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"rhagent" not in f.read():
                return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def stop_instance(name):
    """One instance's sshd and its sessions."""
    pidfile = os.path.join(node_dir(name), "sshd.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        pid = None
    if pid is not None:
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                try:
                    os.kill(int(p), signal.SIGTERM)
                except OSError:
                    pass
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass        # sshd removes it as it ends


def start_all(name, c):
    for d, host, port in instances(name, c):
        start_sshd(d, port, host)
    write_ssh_config(name, c)


def write_ssh_config(name, c):
    """As SkyPilot's SSHConfigHelper writes it for a cluster: the head
    as Host NAME, worker i as Host NAME-workerI."""
    path = ssh_config_path(name)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    lines = []
    for i, (_, host, port) in enumerate(instances(name, c)):
        lines += [
            "# Added by sky (use `sky stop/down %s` to remove)" % name,
            "Host %s" % (name if i == 0 else "%s-worker%d" % (name, i)),
            "  HostName %s" % host,
            "  User %s" % USER,
            "  IdentityFile %s" % KEY,
            "  IdentitiesOnly yes",
            "  ForwardAgent yes",
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile=/dev/null",
            "  GlobalKnownHostsFile=/dev/null",
            "  Port %d" % port,
            "", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def where(a):
    """The cloud and region asked for, as SkyPilot's CLI reads them."""
    infra = getattr(a, "infra", None)
    if a.cloud is not None or a.region is not None:
        if not old_cli():
            say("The --cloud, --region, and --zone options are deprecated. "
                "Use --infra instead.")
        if infra is not None:
            die("ValueError: Cannot specify both --infra and --cloud, "
                "--region, or --zone.")
        return a.cloud, a.region
    if infra is None:
        return None, None
    parts = infra.strip().strip("/").split("/")
    if "" in parts or len(parts) > 3:
        die("ValueError: Invalid infra format: %s. Expected format is "
            "\"cloud\", \"cloud/region\", or \"cloud/region/zone\"." % infra)
    cloud = None if parts[0] == "*" else parts[0].lower()
    region = parts[1] if len(parts) > 1 and parts[1] != "*" else None
    return cloud, region


def launch(a):
    name = a.cluster
    res = a.gpus or (a.cpus and "CPU:" + a.cpus) or a.instance_type or "-"
    cloud, region = where(a)
    say("Considered resources (%d node%s):" %
        (a.num_nodes or 1, "" if (a.num_nodes or 1) == 1 else "s"),
        " INFRA                   INSTANCE   REGION",
        " Standin (as %s)   %s   %s" % (cloud or "any cloud", res,
                                        region or "loopback"))
    with Locked() as st:
        c = st.get(name)
        if c is None or c["status"] != "UP":
            # instance i on 127.0.0.(i+1), each on a port of its own
            nodes = [{"host": "127.0.0.%d" % (i + 1),
                      "port": free_port("127.0.0.%d" % (i + 1))}
                     for i in range(a.num_nodes or 1)]
            st[name] = c = {"status": "INIT", "port": nodes[0]["port"],
                            "nodes": nodes, "autostop": -1,
                            "resources": res}
    with open(os.path.join(DIR, "launch.pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    if os.path.exists(os.path.join(DIR, "fail")):
        with open(os.path.join(DIR, "fail")) as f:
            die(f.read().strip())
    if c["status"] != "UP":
        say("Launching on Standin (a loopback sshd): %s" % name)
        while os.path.exists(os.path.join(DIR, "gate")):
            time.sleep(0.1)
        start_all(name, c)
    with Locked() as st:
        st[name]["status"] = "UP"
        if a.idle_minutes_to_autostop is not None:
            st[name]["autostop"] = a.idle_minutes_to_autostop
    say("Cluster launched: %s.  View logs at: ~/sky_logs" % name)


def table(st, names):
    rows = [["NAME", "LAUNCHED", "RESOURCES", "STATUS", "AUTOSTOP",
             "COMMAND"]]
    for n in names:
        c = st[n]
        auto = "%dm" % c["autostop"] if c["autostop"] >= 0 else "-"
        rows.append([n, "a few secs ago", "%dx Standin(%s)" %
                     (len(c.get("nodes") or [0]), c["resources"]),
                     c["status"], auto, "sky launch -c %s" % n])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
            for r in rows]


def status(a):
    with Locked() as st:
        names = [n for n in (a.clusters or sorted(st)) if n in st]
        if a.ip:
            if len(names) != 1 or st[names[0]]["status"] != "UP":
                die("sky.exceptions.ClusterNotUpError: Cluster %s is not "
                    "UP." % (a.clusters or ["?"])[0])
            say(instances(names[0], st[names[0]])[0][1])
            return
        if a.refresh:
            # as querying the cloud: an instance found gone is STOPPED
            for n in names:
                pidfile = os.path.join(node_dir(n), "sshd.pid")
                if st[n]["status"] == "UP" and not os.path.exists(pidfile):
                    st[n]["status"] = "STOPPED"
        say("Clusters")
        if not names:
            say("No existing clusters.")
            return
        say(*table(st, names))


def need(st, name):
    if name not in st:
        die("sky.exceptions.ClusterDoesNotExist: Cluster %s does not "
            "exist." % name)
    return st[name]


def start(a):
    name = a.clusters[0]
    with Locked() as st:
        c = need(st, name)
    if os.path.exists(os.path.join(DIR, "fail")):
        with open(os.path.join(DIR, "fail")) as f:
            die(f.read().strip())
    say("Starting cluster %s..." % name)
    start_all(name, c)
    with Locked() as st:
        st[name]["status"] = "UP"
    say("Cluster %s started." % name)


def stop(a):
    name = a.clusters[0]
    with Locked() as st:
        c = need(st, name)
        stop_node(name, c)
        c["status"] = "STOPPED"
    say("Cluster %s stopped." % name)


def down(a):
    name = a.clusters[0]
    with Locked() as st:
        c = need(st, name)
        stop_node(name, c)
        del st[name]
    for d, _, _ in instances(name, c):
        subprocess.run(["rm", "-rf", node_dir(d)])
    say("Terminating cluster %s...done." % name)


def autostop(a):
    name = a.clusters[0]
    with Locked() as st:
        c = need(st, name)
        if c["status"] != "UP":
            die("sky.exceptions.ClusterNotUpError: Cluster %s is not UP "
                "(status: %s)." % (name, c["status"]))
        c["autostop"] = -1 if a.cancel else a.idle_minutes
    say("Scheduling autostop on cluster %s...done" % name)


def old_cli():
    return os.path.exists(os.path.join(DIR, "cli-old"))


def main():
    os.makedirs(DIR, exist_ok=True)
    with open(os.path.join(DIR, "argv.log"), "a") as f:
        f.write(json.dumps(sys.argv[1:]) + "\n")
    if old_cli() and any(x == "--infra" or x.startswith("--infra=")
                         for x in sys.argv[1:]):
        die("Error: No such option: --infra", 2)
    p = argparse.ArgumentParser(prog="sky")
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("launch")
    lp.add_argument("-c", "--cluster", required=True)
    lp.add_argument("-y", "--yes", action="store_true")
    lp.add_argument("--gpus")
    lp.add_argument("--cpus")
    lp.add_argument("--instance-type")
    lp.add_argument("--num-nodes", type=int)
    if old_cli():
        lp.add_argument("--cloud", help="The cloud to use.")
        lp.add_argument("--region", help="The region to use.")
    else:
        lp.add_argument("--infra", help="Infrastructure to use. Format: "
                        "cloud, cloud/region, cloud/region/zone, "
                        "k8s/context-name, or ssh/node-pool-name.")
        lp.add_argument("--cloud", help="[Deprecated] use --infra.")
        lp.add_argument("--region", help="[Deprecated] use --infra.")
    lp.add_argument("--use-spot", action="store_true")
    lp.add_argument("--image-id")
    lp.add_argument("-i", "--idle-minutes-to-autostop", type=int)
    sp = sub.add_parser("status")
    sp.add_argument("-r", "--refresh", action="store_true")
    sp.add_argument("--ip", action="store_true")
    sp.add_argument("clusters", nargs="*")
    for verb in ("start", "stop", "down"):
        vp = sub.add_parser(verb)
        vp.add_argument("-y", "--yes", action="store_true")
        vp.add_argument("clusters", nargs=1)
    ap = sub.add_parser("autostop")
    ap.add_argument("-y", "--yes", action="store_true")
    ap.add_argument("-i", "--idle-minutes", type=int, default=5)
    ap.add_argument("--cancel", action="store_true")
    ap.add_argument("clusters", nargs=1)
    a = p.parse_args()
    if a.cmd in ("launch", "start", "stop", "down", "autostop") and \
            not a.yes:
        die("Error: this stand-in never prompts: pass --yes", 2)
    {"launch": launch, "status": status, "start": start, "stop": stop,
     "down": down, "autostop": autostop}[a.cmd](a)


if __name__ == "__main__":
    main()
