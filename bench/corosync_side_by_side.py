#!/usr/bin/python3
"""Corosync side by side (issue 13): a 3-node Corosync cluster and a 3-node ringwatch ring in the
same network namespaces, the same faults applied to both at the same moment.

Usage: /usr/bin/python3 bench/corosync_side_by_side.py BIN_DIR
  BIN_DIR holds Release-built `ring`, `monitor` and `free_ports`.

Topology (as the netns e2e scenario): a hub namespace with a bridge; namespaces n1, n2, n3 (one
veth each into the bridge, 10.77.0.1-3/24), each running ONE corosync (nodeid k) and ONE
`ring node --id k`; the ringwatch monitor in a fifth namespace `mon` (10.77.0.10). "Node k" of
both systems therefore lives in the same namespace, and a fault to node k hits both: a signal is
sent to the corosync process and to the ring node right after each other (the host's wall clock is
read just before), and the nftables loss rule in node k's namespace drops both systems' datagrams.

Corosync (Debian's package; installed with apt-get when missing): defaults as in
../shared/anchors/corosync-measured.md: token 3000 (effective 3650 with 3 nodes), knet, crypto
none, a nodelist of 3, votequorum, `timestamp: hires` logging to one file per node, its own
state_dir, a private /run bind-mounted in its mount namespace (the pid file path is built in),
`move_to_root_cgroup: no`. Run in the foreground (-f), with its default SCHED_RR priority.

ringwatch: 3 nodes, hold_ms 20, monitor interval_ms 20 (RW_INTERVAL_MS overrides), timeout_ms
1000, node_timeout_ms 1000 (as the node_down benchmark), recover = regenerate (so a token that
died with a killed node is replaced, and so that recoveries can be counted), insecure = true (no
key beyond loopback, as in the netns e2e; corosync runs with crypto none too).

How times are taken, and why they are comparable: t0 is the host's wall clock (CLOCK_REALTIME,
time.time_ns()) read just before the first signal. Corosync's events are its own log timestamps
(CLOCK_REALTIME, ms resolution, truncated: at most 1 ms early). ringwatch's events are the
moment this script receives the monitor's JSON line: a thread blocks on the monitor's stdout pipe
(the monitor flushes every line) and stamps each line with CLOCK_REALTIME on arrival, so its times
are at most a scheduling delay late (well under a millisecond on an idle host; more on this busy
2-core one). Both are "ms after the signal".

Reading the SIGKILL figure: ringwatch's node_down across namespaces varies from ~25 ms to
node_timeout_ms. The kernel answers the monitor's probe with ICMP port unreachable (`port_closed`)
only while the dead node's namespace has ICMP budget left for the monitor's host
(net.ipv4.icmp_ratelimit: 1000 ms per destination host, a burst of 6; loopback is exempt, so
the node_down benchmark on 127.0.0.1 never sees this); the datagrams the monitor's host keeps sending to the
dead port use it up. Then the probe is answered only when the budget refills (up to 1 s later) or
not before node_timeout_ms (`no_answer`, ~1000 ms). Each line says which (`address`,
`port_closed`).
The same budget is shared by both systems (same namespaces), so corosync's knet link-down time
varies too (230 ms to ~1 s); Totem's token loss and membership times do not depend on it.

Faults, in one run:
  0. baseline: 10 s with no fault (any detection there is noise of the machine, not of a fault);
  1. SIGKILL of node 2, 3 times: corosync's token loss declared (first "A processor failed" on a
     survivor), knet link down, new membership without node 2 on both survivors; ringwatch's
     node_down for node 2, its new membership (the monitor's view without node 2: at once when
     the port is seen closed, else after evict_after_ms = 5000 of silence) and the first ok
     verdict of the two others (the view's token circulates). Then both restarted and awaited
     back (corosync: Members[3] on all three; ringwatch: node_up, the view of three, ok snapshots);
  2. SIGSTOP of node 2 for 2 s then SIGCONT, 3 times, each followed by 10 s: counted from the
     SIGSTOP to 10 s after the SIGCONT;
  3. 20% outgoing UDP loss in node 3's namespace (nftables: `meta l4proto udp numgen random mod 5
     0 counter drop` in an output chain) for 60 s: counted from the rule's insertion to 5 s after
     its removal (a reformation triggered late in the window shows up to ~8 s later); ringwatch's
     ok snapshots are counted during the 60 s only.

Output: one JSON line per figure on stdout ({"bench", "case", "system", "value", "unit", ...}),
then a table of both systems side by side on stderr (progress notes go to stderr too). Skips with
{"bench":"corosync","skipped":REASON} (exit 0) without root or usable namespaces, or when corosync
or nftables cannot be installed; {"bench":"corosync_side_by_side","error":...} and exit 1 when
something does not come up within its bound. Everything it made (namespaces, processes, the
temporary directory, corosync's shared-memory blackbox files) is removed on exit, also on an
error, Ctrl-C or SIGTERM. CS_KILLS, CS_PAUSES, CS_LOSS_S shorten a run; CS_KEEP=1 keeps the
temporary directory (its path is printed). Takes about 4 minutes.
"""
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = "corosync_side_by_side"
NODES = (1, 2, 3)
VICTIM = 2            # killed and paused
LOSSY = 3             # its namespace drops 20% of outgoing UDP
SUBNET = "10.77.0"
RW_INTERVAL_MS = int(os.environ.get("RW_INTERVAL_MS", "20"))
RW_NODE_TIMEOUT_MS = 1000
KILLS = int(os.environ.get("CS_KILLS", "3"))
PAUSES = int(os.environ.get("CS_PAUSES", "3"))
PAUSE_S = 2.0
AFTER_PAUSE_S = 10.0
LOSS_S = float(os.environ.get("CS_LOSS_S", "60"))
LOSS_TAIL_S = 5.0
BASELINE_S = 10.0
os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"


class BenchError(Exception):
    pass


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def note(msg):
    print(f"[{BENCH}] {msg}", file=sys.stderr, flush=True)


def skip(reason):
    out({"bench": "corosync", "skipped": reason})
    sys.exit(0)


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)}: exit {r.returncode}: {(r.stderr or r.stdout).strip()[:300]}")
    return r


def now_ns():
    return time.time_ns()


# ---------------------------------------------------------------- corosync logs

MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
TS_RE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)\.(\d{3}) ")
FAILED = "A processor failed, forming new configuration"
MEMB_RE = re.compile(r"A new membership \(([0-9a-f]+\.[0-9a-f]+)\) was formed\.(.*)$")
MEMBERS_RE = re.compile(r"\[QUORUM\] Members\[(\d+)\]:([\d ]*)$")
LINKDOWN_RE = re.compile(r"link: host: (\d+) link: \d+ is down")
TOKWARN = "Token has not been received"
RETRANS = "Retransmit List"


def log_time_ns(text):
    """Wall-clock ns of a corosync hires log line ("Nov 24 00:15:53.807 ..."; local time, no
    year: the current one, or the one before when that would put the line in the future)."""
    m = TS_RE.match(text)
    if not m or m.group(1) not in MONTHS:
        return None
    mon, day, hh, mm, ss, msec = MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), int(m.group(6))
    year = datetime.datetime.now().year
    for y in (year, year - 1):
        try:
            t = datetime.datetime(y, mon, day, hh, mm, ss).timestamp()  # naive: local time, as corosync writes
        except ValueError:
            continue
        if t <= time.time() + 86400:
            return int(round(t)) * 1_000_000_000 + msec * 1_000_000
    return None


class CsLog:
    """One corosync instance's log file, read incrementally: [(wall ns, text)]."""

    def __init__(self, path):
        self.path, self.pos, self.partial, self.lines = path, 0, b"", []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        self.pos += len(data)
        *complete, self.partial = (self.partial + data).split(b"\n")
        for raw in complete:
            text = raw.decode(errors="replace")
            t = log_time_ns(text)
            if t is not None:
                self.lines.append((t, text))

    def between(self, a, b=None):
        return [(t, x) for t, x in self.lines if t >= a and (b is None or t <= b)]

    def memberships(self, a, b=None):
        """[(t, ring id, left ids, joined ids)] of "A new membership" lines in [a, b]."""
        res = []
        for t, x in self.between(a, b):
            m = MEMB_RE.search(x)
            if m:
                rest = m.group(2)
                left = re.search(r"left:((?: \d+)+)", rest)
                joined = re.search(r"joined:((?: \d+)+)", rest)
                res.append((t, m.group(1), [int(v) for v in left.group(1).split()] if left else [],
                            [int(v) for v in joined.group(1).split()] if joined else []))
        return res

    def last_members(self):
        for t, x in reversed(self.lines):
            m = MEMBERS_RE.search(x)
            if m:
                return t, sorted(int(v) for v in m.group(2).split())
        return None, []

    def first(self, pred, a):
        for t, x in self.lines:
            if t >= a and pred(x):
                return t
        return None

    def count(self, pred, a, b):
        return sum(1 for t, x in self.between(a, b) if pred(x))


# ---------------------------------------------------------------- ringwatch monitor events

class Monitor:
    """The monitor's --json lines, each stamped with the wall clock when it arrived."""

    def __init__(self, proc, raw_path):
        self.proc, self.events, self.lock = proc, [], threading.Lock()
        self.raw = open(raw_path, "w")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fd, buf = self.proc.stdout.fileno(), b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            t = now_ns()
            if not chunk:
                return
            *lines, buf = (buf + chunk).split(b"\n")
            for raw in lines:
                text = raw.decode(errors="replace")
                try:
                    self.raw.write(f"{t} {text}\n")
                    self.raw.flush()
                except ValueError:
                    return
                try:
                    ev = json.loads(text)
                except ValueError:
                    continue
                with self.lock:
                    self.events.append((t, ev))

    def between(self, a, b=None):
        with self.lock:
            return [(t, e) for t, e in self.events if t >= a and (b is None or t <= b)]

    def first(self, pred, a):
        for t, e in self.between(a):
            if pred(e):
                return t, e
        return None, None

    def count(self, pred, a, b=None):
        return sum(1 for t, e in self.between(a, b) if pred(e))

    def state(self):
        """(nodes down now, token incident open now, verdicts of the last snapshots)."""
        down, open_incident, verdicts = set(), False, []
        with self.lock:
            evs = list(self.events)
        for t, e in evs:
            k = e.get("event")
            if k == "node_down":
                down.add(e.get("node"))
            elif k == "node_up":
                down.discard(e.get("node"))
            elif k == "alarm":
                open_incident = True
            elif k == "resolved" and not str(e.get("how", "")).startswith("became_"):
                open_incident = False
            elif k == "snapshot":
                verdicts.append((t, e.get("verdict")))
        return down, open_incident, verdicts


def is_alarm(e):
    return e.get("event") == "alarm"


def is_recovery(e):
    return e.get("event") == "recovery"


def is_node_down(e):
    return e.get("event") == "node_down"


def is_ok(e):
    return e.get("event") == "snapshot" and e.get("verdict") == "ok"


def is_snapshot(e):
    return e.get("event") == "snapshot"


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, bin_dir):
        self.bin = os.path.abspath(bin_dir)
        for exe in ("ring", "monitor", "free_ports"):
            if not os.access(os.path.join(self.bin, exe), os.X_OK):
                raise SystemExit(f"usage: corosync_side_by_side.py BIN_DIR: no executable {exe} in {self.bin}")
        self.tag = f"cs{os.getpid()}"
        self.namespaces, self.procs, self.cs_pids = [], [], []
        self.cs, self.rw, self.logs = {}, {}, {}
        self.work = tempfile.mkdtemp(prefix="ringwatch-corosync-")
        self.monitor = None
        self.cs_token_ms = None
        self.figures = []

    def ns(self, name):
        return f"{self.tag}{name}"

    # ---------------- setup

    def probe_namespaces(self):
        hub = self.ns("hub")
        r = run(["ip", "netns", "add", hub], check=False)
        if r.returncode != 0:
            skip(f"cannot create a network namespace here: {r.stderr.strip()}")
        self.namespaces.append(hub)
        # Creating one is not enough (in a chroot, say, entering it fails): probe that it can be used.
        r = run(["ip", "-n", hub, "link", "set", "lo", "up"], check=False)
        if r.returncode != 0:
            skip(f"cannot enter a network namespace here: {r.stderr.strip().splitlines()[0] if r.stderr.strip() else 'exit %d' % r.returncode}")

    def ensure_packages(self):
        if shutil.which("corosync") and shutil.which("nft"):
            return
        note("corosync or nft missing: apt-get install -y --no-install-recommends corosync nftables")
        before = self.system_corosyncs()
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "corosync", "nftables"]
        r = run(cmd, check=False, env=env)
        if r.returncode != 0:
            run(["apt-get", "update"], check=False, env=env)
            r = run(cmd, check=False, env=env)
        # The package's maintainer scripts may start a system corosync (where services can start):
        # none may be left running.
        self.stop_new_corosyncs(before)
        if r.returncode != 0 or not (shutil.which("corosync") and shutil.which("nft")):
            last = (r.stderr or r.stdout).strip().splitlines()
            skip(f"corosync/nftables not installable: apt-get exit {r.returncode}: {last[-1] if last else ''}")

    @staticmethod
    def system_corosyncs():
        r = run(["pgrep", "-x", "corosync"], check=False)
        return {int(p) for p in r.stdout.split()}

    def stop_new_corosyncs(self, before):
        new = self.system_corosyncs() - before
        for p in new:
            note(f"stopping the corosync daemon (pid {p}) that the package installation started")
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        while new and time.time() < deadline:
            new &= self.system_corosyncs()
            time.sleep(0.2)
        for p in new:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def make_network(self):
        hub = self.ns("hub")
        run(["ip", "-n", hub, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", hub, "link", "set", "br0", "up"])
        for idx, name in enumerate(["n1", "n2", "n3", "mon"]):
            ns = self.ns(name)
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            v, p = f"v{self.tag}{idx}", f"p{self.tag}{idx}"
            run(["ip", "link", "add", v, "type", "veth", "peer", "name", p])
            run(["ip", "link", "set", v, "netns", ns])
            run(["ip", "link", "set", p, "netns", hub])
            run(["ip", "-n", ns, "addr", "add", f"{self.addr(name)}/24", "dev", v])
            run(["ip", "-n", ns, "link", "set", v, "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", hub, "link", "set", p, "master", "br0"])
            run(["ip", "-n", hub, "link", "set", p, "up"])

    @staticmethod
    def addr(name):
        return f"{SUBNET}.10" if name == "mon" else f"{SUBNET}.{name[1:]}"

    def write_configs(self):
        nodelist = "".join(f"  node {{\n    name: n{k}\n    nodeid: {k}\n    ring0_addr: {SUBNET}.{k}\n  }}\n" for k in NODES)
        for k in NODES:
            d = os.path.join(self.work, f"n{k}")
            for sub in ("run", "state"):
                os.makedirs(os.path.join(d, sub))
            with open(os.path.join(d, "corosync.conf"), "w") as f:
                f.write(f"""totem {{
  version: 2
  cluster_name: rwbench
  transport: knet
  crypto_cipher: none
  crypto_hash: none
}}
logging {{
  fileline: off
  to_stderr: no
  to_logfile: yes
  logfile: {d}/corosync.log
  to_syslog: no
  timestamp: hires
  debug: off
}}
quorum {{
  provider: corosync_votequorum
}}
system {{
  move_to_root_cgroup: no
  state_dir: {d}/state
}}
nodelist {{
{nodelist}}}
""")
            self.logs[k] = CsLog(os.path.join(d, "corosync.log"))
        with open(os.path.join(self.work, "ring.toml"), "w") as f:
            f.write(f'[ring]\nname = "corosync-side-by-side"\nhold_ms = 20\ninsecure = true\n\n'
                    f'[monitor]\naddress = "{SUBNET}.10:7100"\ninterval_ms = {RW_INTERVAL_MS}\ntimeout_ms = 1000\n'
                    f'node_timeout_ms = {RW_NODE_TIMEOUT_MS}\nrecover = "regenerate"\n')
            for k in NODES:
                f.write(f'\n[[nodes]]\nid = {k}\naddress = "{SUBNET}.{k}:7101"\n')

    def spawn(self, cmd, out_path, **kw):
        f = open(out_path, "ab")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=kw.pop("stdout", f), stderr=f,
                             start_new_session=True, env=dict(os.environ, LC_ALL="C"), **kw)
        f.close()
        self.procs.append(p)
        return p

    def start_corosync(self, k):
        d = os.path.join(self.work, f"n{k}")
        # `ip netns exec` gives the command a mount namespace of its own (slave to the host's), so
        # the bind mount of a private /run (corosync's pid file is /var/run/corosync.pid) is seen by
        # this corosync alone; `exec` keeps the pid: the Popen's pid is corosync's.
        p = self.spawn(["ip", "netns", "exec", self.ns(f"n{k}"), "sh", "-c",
                        'mount --bind "$1" /run && exec corosync -f -c "$2"', "sh", f"{d}/run", f"{d}/corosync.conf"],
                       f"{d}/corosync.out")
        self.cs[k] = p
        self.cs_pids.append(p.pid)

    def start_ring(self, k):
        # `ip netns exec` execs the program: the Popen's pid is the ring node's.
        self.rw[k] = self.spawn(["ip", "netns", "exec", self.ns(f"n{k}"), f"{self.bin}/ring", "node",
                                 f"{self.work}/ring.toml", "--id", str(k)], f"{self.work}/ring-n{k}.out")

    def start_monitor(self):
        p = self.spawn(["ip", "netns", "exec", self.ns("mon"), f"{self.bin}/monitor", f"{self.work}/ring.toml", "--json"],
                       f"{self.work}/monitor.err", stdout=subprocess.PIPE)
        self.monitor = Monitor(p, f"{self.work}/monitor.jsonl")

    # ---------------- waiting

    def poll_logs(self):
        for lg in self.logs.values():
            lg.poll()

    def wait_until(self, pred, bound_s, what):
        deadline = time.time() + bound_s
        while True:
            self.poll_logs()
            v = pred()
            if v:
                return v
            for name, procs in (("corosync", self.cs), ("ring node", self.rw)):
                for k, p in procs.items():
                    if p.poll() is not None and p.returncode not in (-signal.SIGKILL,):
                        raise BenchError(f"{name} {k} exited ({p.returncode}) while waiting for {what}")
            if self.monitor.proc.poll() is not None:
                raise BenchError(f"the monitor exited ({self.monitor.proc.returncode}) while waiting for {what}")
            if time.time() >= deadline:
                raise BenchError(f"waited {bound_s:g} s for {what}; {self.describe()}")
            time.sleep(0.005)

    def describe(self):
        self.poll_logs()
        down, incident, verdicts = self.monitor.state()
        cs = {k: lg.last_members()[1] for k, lg in self.logs.items()}
        return (f"corosync members per node {cs}; ringwatch: down {sorted(down)}, incident open {incident}, "
                f"last verdicts {[v for _, v in verdicts[-5:]]}")

    def cs_healthy(self, quiet_s):
        limit = now_ns() - int(quiet_s * 1e9)
        for lg in self.logs.values():
            t, members = lg.last_members()
            if members != list(NODES):
                return False
            if any(t > limit for t, *_ in lg.memberships(limit)) or lg.first(lambda x: FAILED in x, limit):
                return False
        return True

    def rw_healthy(self, quiet_s):
        down, incident, verdicts = self.monitor.state()
        if down or incident or len(verdicts) < 5 or any(v != "ok" for _, v in verdicts[-5:]):
            return False
        limit = now_ns() - int(quiet_s * 1e9)
        return self.monitor.count(lambda e: is_alarm(e) or is_node_down(e) or is_recovery(e), limit) == 0

    def wait_healthy(self, bound_s, what, quiet_s=2.0):
        self.wait_until(lambda: self.cs_healthy(quiet_s) and self.rw_healthy(quiet_s), bound_s,
                        f"both systems healthy and quiet for {quiet_s:g} s ({what})")

    def sleep_until(self, t_ns):
        while True:
            left = (t_ns - now_ns()) / 1e9
            if left <= 0:
                return
            time.sleep(min(left, 0.2))

    # ---------------- figures

    def figure(self, case, system, value, unit, **extra):
        cfg = (f"token 3000 (effective {self.cs_token_ms} ms), knet, crypto none" if system == "corosync" else
               f"hold_ms 20, interval_ms {RW_INTERVAL_MS}, node_timeout_ms {RW_NODE_TIMEOUT_MS}, recover regenerate")
        fig = {"bench": BENCH, "case": case, "system": system, "value": value, "unit": unit, **extra, "config": cfg}
        self.figures.append(fig)
        out(fig)

    def counts(self, a, b):
        """What each system did in [a, b] (wall ns)."""
        ring_ids, evict_ids = set(), set()
        failed = tokwarn = linkdown = retrans = 0
        for lg in self.logs.values():
            for t, rid, left, joined in lg.memberships(a, b):
                ring_ids.add(rid)
                if left:
                    evict_ids.add(rid)
            failed += lg.count(lambda x: FAILED in x, a, b)
            tokwarn += lg.count(lambda x: TOKWARN in x, a, b)
            linkdown += lg.count(lambda x: LINKDOWN_RE.search(x) is not None, a, b)
            retrans += lg.count(lambda x: RETRANS in x, a, b)
        m = self.monitor
        return {
            "cs_token_losses": failed, "cs_reformations": len(ring_ids), "cs_evictions": len(evict_ids),
            "cs_token_warnings": tokwarn, "cs_link_down": linkdown, "cs_retransmit_lists": retrans,
            "rw_alarms": m.count(is_alarm, a, b), "rw_node_down": m.count(is_node_down, a, b),
            "rw_recoveries": m.count(is_recovery, a, b),
            "rw_ok": m.count(is_ok, a, b), "rw_snapshots": m.count(is_snapshot, a, b),
        }

    # ---------------- the run

    def run(self):
        self.probe_namespaces()
        self.ensure_packages()
        self.make_network()
        self.write_configs()
        note(f"namespaces {self.tag}{{hub,n1,n2,n3,mon}}, work dir {self.work}")
        for k in NODES:
            self.start_corosync(k)
            self.start_ring(k)
        self.start_monitor()
        self.wait_until(lambda: all(lg.last_members()[1] == list(NODES) for lg in self.logs.values()), 30,
                        "corosync's first membership of 3 on every node")
        self.wait_until(lambda: self.monitor.count(is_ok, 0) >= 10, 30, "ringwatch's first 10 ok snapshots")
        r = run(["ip", "netns", "exec", self.ns("n1"), "corosync-cmapctl", "-g", "runtime.config.totem.token"], check=False)
        m = re.search(r"= (\d+)", r.stdout)
        self.cs_token_ms = int(m.group(1)) if m else None
        r = run(["ip", "netns", "exec", self.ns("n1"), "corosync-cmapctl", "-g", "runtime.config.totem.consensus"], check=False)
        m = re.search(r"= (\d+)", r.stdout)
        cs_consensus = int(m.group(1)) if m else None
        note(f"corosync effective token {self.cs_token_ms} ms, consensus {cs_consensus} ms; "
             f"ringwatch interval {RW_INTERVAL_MS} ms")
        self.wait_healthy(30, "start")

        # 0. No fault: the machine's own noise.
        a = now_ns()
        time.sleep(BASELINE_S)
        c = self.counts(a, now_ns())
        note(f"baseline {BASELINE_S:g} s: {c}")
        self.figure(f"no fault ({BASELINE_S:g} s): false detections", "corosync", c["cs_token_losses"] + c["cs_reformations"],
                    "events", definition="token losses declared + ring re-formations", **{k: v for k, v in c.items() if k.startswith("cs_")})
        self.figure(f"no fault ({BASELINE_S:g} s): false detections", "ringwatch", c["rw_alarms"] + c["rw_recoveries"] + c["rw_node_down"],
                    "events", definition="token alarms + recoveries + node_down", **{k: v for k, v in c.items() if k.startswith("rw_")})

        self.kill_phase()
        self.pause_phase()
        self.loss_phase()
        self.table()

    def kill_phase(self):
        if KILLS < 1:
            return
        rw_det, cs_loss, cs_memb, cs_link, cs_rejoin, rw_rejoin, rw_up, rw_alarms, rw_addr = [], [], [], [], [], [], [], 0, []
        rw_view, rw_healed, rw_view_back = [], [], []
        for i in range(KILLS):
            self.wait_healthy(60, f"before SIGKILL {i + 1}")
            first, second = (self.cs[VICTIM], self.rw[VICTIM]) if i % 2 == 0 else (self.rw[VICTIM], self.cs[VICTIM])
            t0 = now_ns()
            os.kill(first.pid, signal.SIGKILL)
            os.kill(second.pid, signal.SIGKILL)
            survivors = [k for k in NODES if k != VICTIM]
            t, ev = self.wait_until(lambda: (lambda r: r if r[0] else None)(
                self.monitor.first(lambda e: is_node_down(e) and e.get("node") == VICTIM, t0)), 15, f"ringwatch's node_down for node {VICTIM}")
            rw_det.append((t - t0) / 1e6)
            rw_addr.append(ev.get("address"))
            # The ring heals (views on, evict_after_ms 5000): the view of the others (at once when
            # the port is seen closed, else after evict_after_ms of silence), and its first ok verdict.
            tv, _ = self.wait_until(lambda: (lambda r: r if r[0] else None)(
                self.monitor.first(lambda e: e.get("event") == "view" and e.get("members") == survivors, t0)), 30,
                f"ringwatch's view without node {VICTIM}")
            rw_view.append((tv - t0) / 1e6)
            th, _ = self.wait_until(lambda: (lambda r: r if r[0] else None)(
                self.monitor.first(lambda e: is_ok(e) and e.get("members") == survivors, t0)), 30,
                f"ringwatch's first ok verdict of the ring without node {VICTIM}")
            rw_healed.append((th - t0) / 1e6)

            def left_on_all():
                ts = []
                for k in survivors:
                    hit = [tt for tt, rid, left, joined in self.logs[k].memberships(t0) if VICTIM in left]
                    if not hit:
                        return None
                    ts.append(hit[0])
                return max(ts)
            memb = self.wait_until(left_on_all, 30, f"corosync's new membership without node {VICTIM} on both survivors")
            cs_memb.append((memb - t0) / 1e6)
            losses = [x for x in (self.logs[k].first(lambda s: FAILED in s, t0) for k in survivors) if x]
            cs_loss.append((min(losses) - t0) / 1e6 if losses else None)
            links = [x for x in (self.logs[k].first(lambda s: (lambda m: m and int(m.group(1)) == VICTIM)(LINKDOWN_RE.search(s)), t0)
                                 for k in survivors) if x]
            cs_link.append((min(links) - t0) / 1e6 if links else None)
            first.wait()
            second.wait()
            t1 = now_ns()
            self.start_corosync(VICTIM)
            self.start_ring(VICTIM)

            def cs_back():
                ts = []
                for k in NODES:
                    hit = [tt for tt, x in self.logs[k].between(t1) if (lambda m: m and sorted(map(int, m.group(2).split())) == list(NODES))(MEMBERS_RE.search(x))]
                    if not hit:
                        return None
                    ts.append(hit[0])
                return max(ts)
            back = self.wait_until(cs_back, 30, f"corosync's membership of 3 after node {VICTIM}'s restart")
            cs_rejoin.append((back - t1) / 1e6)
            tup, _ = self.wait_until(lambda: (lambda r: r if r[0] else None)(
                self.monitor.first(lambda e: e.get("event") == "node_up" and e.get("node") == VICTIM, t1)), 30,
                f"ringwatch's node_up for node {VICTIM} after its restart")
            rw_up.append((tup - t1) / 1e6)
            tb, _ = self.wait_until(lambda: (lambda r: r if r[0] else None)(
                self.monitor.first(lambda e: e.get("event") == "view" and e.get("members") == list(NODES), t1)), 30,
                f"ringwatch's view of 3 after node {VICTIM}'s restart")
            rw_view_back.append((tb - t1) / 1e6)
            self.wait_until(lambda: self.monitor.count(is_ok, tup) >= 5, 30, "5 ok ringwatch snapshots after node_up")
            tok, _ = self.monitor.first(is_ok, tup)
            rw_rejoin.append((tok - t1) / 1e6)
            n_alarms = self.monitor.count(is_alarm, t0)
            rw_alarms += n_alarms
            def f(x):
                return "none" if x is None else f"{x:.0f}"
            note(f"SIGKILL {i + 1}: ringwatch node_down {rw_det[-1]:.1f} ms ({rw_addr[-1]}); corosync knet link down {f(cs_link[-1])} ms, "
                 f"token loss declared {f(cs_loss[-1])} ms, membership without node {VICTIM} on both survivors {cs_memb[-1]:.0f} ms; "
                 f"ringwatch view without it {rw_view[-1]:.0f} ms, its ok verdict {rw_healed[-1]:.0f} ms, view of 3 after the restart "
                 f"{rw_view_back[-1]:.0f} ms; "
                 f"back after restart: corosync {cs_rejoin[-1]:.0f} ms, ringwatch node_up {rw_up[-1]:.0f} ms, ok again {rw_rejoin[-1]:.0f} ms; "
                 f"ringwatch token alarms since the kill (the token died with the node): {n_alarms}")

        def stats(vals):
            v = [x for x in vals if x is not None]
            return (round(statistics.median(v), 1) if v else None, round(max(v), 1) if v else None, len(v))
        p50, mx, n = stats(cs_loss)
        kw = dict(trials=KILLS, values_ms=[None if x is None else round(x, 1) for x in cs_loss])
        self.figure("SIGKILL to detection p50", "corosync", p50, "ms", what="token loss declared: first 'A processor failed' on a survivor", declared_in=n, **kw)
        p50r, mxr, _ = stats(rw_det)
        kwr = dict(trials=KILLS, values_ms=[round(x, 1) for x in rw_det])
        self.figure("SIGKILL to detection p50", "ringwatch", p50r, "ms", what="monitor's node_down event for the node (line received)",
                    port_closed=rw_addr.count("port_closed"), address=rw_addr, **kwr)
        self.figure("SIGKILL to detection max", "corosync", mx, "ms", what="token loss declared", **kw)
        self.figure("SIGKILL to detection max", "ringwatch", mxr, "ms", what="node_down", **kwr)
        p50m, mxm, _ = stats(cs_memb)
        self.figure("SIGKILL to new membership p50", "corosync", p50m, "ms",
                    what="'A new membership ... Members left' on both survivors", trials=KILLS, values_ms=[round(x, 1) for x in cs_memb], max_ms=mxm)
        self.figure("SIGKILL to new membership p50", "ringwatch", stats(rw_view)[0], "ms",
                    what="the monitor's view without the node (line received): at once when its port is seen closed, else after "
                    "evict_after_ms (5000) of silence", trials=KILLS, values_ms=[round(x, 1) for x in rw_view], max_ms=stats(rw_view)[1],
                    address=rw_addr)
        self.figure("SIGKILL to the ring judged ok without the node p50", "ringwatch", stats(rw_healed)[0], "ms",
                    what="first ok verdict whose members are the survivors: the new view's token circulates", trials=KILLS,
                    values_ms=[round(x, 1) for x in rw_healed], max_ms=stats(rw_healed)[1])
        p50l, _, nl = stats(cs_link)
        self.figure("SIGKILL to knet link down p50", "corosync", p50l, "ms", what="first 'link: host: 2 link: 0 is down' on a survivor",
                    trials=KILLS, values_ms=[None if x is None else round(x, 1) for x in cs_link])
        self.figure("restart to back in p50", "corosync", stats(cs_rejoin)[0], "ms", what="restart to 'Members[3]' on all three",
                    trials=KILLS, values_ms=[round(x, 1) for x in cs_rejoin])
        self.figure("restart to back in the ring's view p50", "ringwatch", stats(rw_view_back)[0], "ms",
                    what="restart to the monitor's view of all 3", trials=KILLS, values_ms=[round(x, 1) for x in rw_view_back])
        self.figure("restart to back in p50", "ringwatch", stats(rw_rejoin)[0], "ms",
                    what="restart to the first ok snapshot after node_up (the token regenerated if it died)",
                    trials=KILLS, values_ms=[round(x, 1) for x in rw_rejoin], node_up_ms=[round(x, 1) for x in rw_up],
                    token_alarms_after_kills=rw_alarms,
                    note="a token alarm after a kill is a true one: the token died with the node (then regenerated)")

    def pause_phase(self):
        if PAUSES < 1:
            return
        per = []
        for i in range(PAUSES):
            self.wait_healthy(60, f"before SIGSTOP {i + 1}")
            first, second = (self.cs[VICTIM], self.rw[VICTIM]) if i % 2 == 0 else (self.rw[VICTIM], self.cs[VICTIM])
            t_stop = now_ns()
            os.kill(first.pid, signal.SIGSTOP)
            os.kill(second.pid, signal.SIGSTOP)
            self.sleep_until(t_stop + int(PAUSE_S * 1e9))
            t_cont = now_ns()
            os.kill(first.pid, signal.SIGCONT)
            os.kill(second.pid, signal.SIGCONT)
            self.sleep_until(t_cont + int(AFTER_PAUSE_S * 1e9))
            self.poll_logs()
            c = self.counts(t_stop, now_ns())
            cs_first = [x for x in (lg.first(lambda s: FAILED in s, t_stop) for lg in self.logs.values()) if x]
            c["cs_first_token_loss_ms"] = round((min(cs_first) - t_stop) / 1e6) if cs_first else None
            t_down, _ = self.monitor.first(lambda e: is_node_down(e) and e.get("node") == VICTIM, t_stop)
            c["rw_node_down_ms"] = round((t_down - t_stop) / 1e6) if t_down else None
            per.append(c)
            note(f"SIGSTOP {i + 1} ({PAUSE_S:g} s, counted to {AFTER_PAUSE_S:g} s after SIGCONT): {c}")
        tot = {k: sum(c[k] for c in per) for k in per[0] if not k.endswith("_ms")}
        case = f"{PAUSE_S:g} s SIGSTOP"
        cs_hit = sum(1 for c in per if c["cs_token_losses"] or c["cs_reformations"])
        rw_hit = sum(1 for c in per if c["rw_alarms"] or c["rw_recoveries"])
        self.figure(f"{case} false detections", "corosync", cs_hit, f"of {PAUSES} pauses",
                    definition="pauses after which corosync declared a token loss or formed a new ring")
        self.figure(f"{case} false detections", "ringwatch", rw_hit, f"of {PAUSES} pauses",
                    definition="pauses after which ringwatch raised a token alarm or a recovery (node_down counted apart)")
        self.figure(f"{case}: token losses declared / token alarms", "corosync", tot["cs_token_losses"], "events", pauses=PAUSES,
                    per_pause=[c["cs_token_losses"] for c in per], first_ms=[c["cs_first_token_loss_ms"] for c in per])
        self.figure(f"{case}: token losses declared / token alarms", "ringwatch", tot["rw_alarms"], "events", pauses=PAUSES,
                    per_pause=[c["rw_alarms"] for c in per])
        self.figure(f"{case}: ring re-formations / recoveries", "corosync", tot["cs_reformations"], "events", pauses=PAUSES,
                    per_pause=[c["cs_reformations"] for c in per])
        self.figure(f"{case}: ring re-formations / recoveries", "ringwatch", tot["rw_recoveries"], "events", pauses=PAUSES,
                    per_pause=[c["rw_recoveries"] for c in per])
        self.figure(f"{case}: node evicted / node_down", "corosync", tot["cs_evictions"], "events", pauses=PAUSES,
                    per_pause=[c["cs_evictions"] for c in per])
        self.figure(f"{case}: node evicted / node_down", "ringwatch", tot["rw_node_down"], "events", pauses=PAUSES,
                    per_pause=[c["rw_node_down"] for c in per], after_ms=[c["rw_node_down_ms"] for c in per],
                    note=f"node_down 'no_answer' after node_timeout_ms {RW_NODE_TIMEOUT_MS}: the node was silent that long")

    def loss_phase(self):
        self.wait_healthy(60, "before the loss")
        ns = self.ns(f"n{LOSSY}")
        rule = ("table inet rwbench_loss {\n chain out {\n  type filter hook output priority 0; policy accept;\n"
                "  meta l4proto udp numgen random mod 5 0 counter drop\n }\n}\n")
        t_on = now_ns()
        r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rule, capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"nft in {ns}: {r.stderr.strip()}")
        note(f"20% outgoing UDP loss on node {LOSSY} for {LOSS_S:g} s")
        self.sleep_until(t_on + int(LOSS_S * 1e9))
        listing = run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "rwbench_loss"]).stdout
        run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "rwbench_loss"])
        t_off = now_ns()
        m = re.search(r"counter packets (\d+)", listing)
        dropped = int(m.group(1)) if m else None
        self.sleep_until(t_off + int(LOSS_TAIL_S * 1e9))
        self.poll_logs()
        c = self.counts(t_on, now_ns())
        during = self.counts(t_on, t_off)
        note(f"loss window (+{LOSS_TAIL_S:g} s): {c}; during the loss: ok {during['rw_ok']} of {during['rw_snapshots']} snapshots; "
             f"nft dropped {dropped}")
        per_node = {k: self.logs[k].count(lambda s: FAILED in s, t_on, now_ns()) for k in NODES}
        case = f"{int(LOSS_S)} s of 20% UDP loss on node {LOSSY}" if LOSS_S != 60 else "20% UDP loss for 60 s"
        win = f"from the rule's insertion to {LOSS_TAIL_S:g} s after its removal"
        self.figure(f"{case}: false detections", "corosync", c["cs_token_losses"], "events",
                    what="'A processor failed' lines (token loss declared), all nodes", per_node=per_node, window=win, nft_dropped=dropped,
                    token_warnings=c["cs_token_warnings"], knet_link_down=c["cs_link_down"], retransmit_lists=c["cs_retransmit_lists"])
        self.figure(f"{case}: false detections", "ringwatch", c["rw_alarms"], "events", what="token alarms", window=win, nft_dropped=dropped)
        self.figure(f"{case}: ring re-formations", "corosync", c["cs_reformations"], "events", what="distinct new ring ids", window=win)
        self.figure(f"{case}: ring re-formations", "ringwatch", c["rw_recoveries"], "events", what="recoveries (new token epochs)", window=win)
        self.figure(f"{case}: node evicted / node_down", "corosync", c["cs_evictions"], "events",
                    what="new rings with 'Members left'", window=win)
        self.figure(f"{case}: node evicted / node_down", "ringwatch", c["rw_node_down"], "events", what="node_down events", window=win)
        self.figure(f"{case}: ok snapshots", "ringwatch", during["rw_ok"], "snapshots", of=during["rw_snapshots"],
                    share=round(during["rw_ok"] / during["rw_snapshots"], 3) if during["rw_snapshots"] else None,
                    window="during the loss only", interval_ms=RW_INTERVAL_MS)
        self.wait_healthy(90, "after the loss")

    def table(self):
        rows, order = {}, []
        for f in self.figures:
            if f["case"] not in rows:
                rows[f["case"]] = {}
                order.append(f["case"])
            rows[f["case"]][f["system"]] = f

        def cell(f):
            if f is None:
                return "-"
            v = f["value"]
            if v is None:
                return "n/a"
            return f"{v:g}" if isinstance(v, float) else str(v)
        lines = [("case", "corosync", "ringwatch", "unit")]
        for case in order:
            r = rows[case]
            unit = (r.get("corosync") or r.get("ringwatch"))["unit"]
            lines.append((case, cell(r.get("corosync")), cell(r.get("ringwatch")), unit))
        w = [max(len(l[i]) for l in lines) for i in range(4)]
        print("", file=sys.stderr)
        print(f"Corosync {self.cs_token_ms and 'token 3000 (effective %d ms)' % self.cs_token_ms}, knet, crypto none | ringwatch hold_ms 20, "
              f"interval_ms {RW_INTERVAL_MS}, node_timeout_ms {RW_NODE_TIMEOUT_MS}, recover regenerate | 3 nodes each, in the same "
              f"network namespaces", file=sys.stderr)
        for j, l in enumerate(lines):
            print(f"{l[0]:<{w[0]}}  {l[1]:>{w[1]}}  {l[2]:>{w[2]}}  {l[3]}", file=sys.stderr)
            if j == 0:
                print("  ".join("-" * x for x in w), file=sys.stderr)

    # ---------------- cleanup

    def cleanup(self):
        live = [p for p in self.procs if p.poll() is None]
        for p in live:
            for sig in (signal.SIGCONT, signal.SIGTERM):
                try:
                    os.kill(p.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for p in live:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # Anything else still inside our namespaces is ours too.
        for ns in self.namespaces:
            r = run(["ip", "netns", "pids", ns], check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns], check=False)
        # A corosync killed with SIGKILL leaves its blackbox in /dev/shm.
        for pid in self.cs_pids:
            for name in os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else []:
                if name.startswith(f"qb-corosync-{pid}-") or name.startswith(f"qb-{pid}-"):
                    try:
                        os.unlink(os.path.join("/dev/shm", name))
                    except OSError:
                        pass
        if self.monitor:
            try:
                self.monitor.raw.close()
            except Exception:
                pass
        if os.environ.get("CS_KEEP") == "1":
            note(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        print("usage: corosync_side_by_side.py BIN_DIR", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        skip("needs root to create network namespaces")
    if not shutil.which("ip"):
        skip("no 'ip' (iproute2) to create network namespaces")

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: a background job starts with it ignored
        signal.signal(sig, on_signal)
    bench = Bench(sys.argv[1])
    try:
        bench.run()
        return 0
    except BenchError as e:
        out({"bench": BENCH, "error": str(e)})
        for k in NODES:
            path = os.path.join(bench.work, f"n{k}", "corosync.out")
            if os.path.exists(path) and os.path.getsize(path):
                note(f"corosync {k} output: {open(path).read()[-500:]}")
        return 1
    except KeyboardInterrupt as e:
        out({"bench": BENCH, "error": f"interrupted ({e or 'Ctrl-C'})"})
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
