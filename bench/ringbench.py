"""What the Python benchmarks share: a ring config on free loopback ports, node and monitor
processes whose output is read as it comes (without blocking on any one of them), `ring status
--json`, quantiles, and one JSON line per figure. Standard library only (/usr/bin/python3)."""
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time


def emit(**fields):
    print(json.dumps(fields), flush=True)


def fail(bench, what):
    emit(bench=bench, error=what)
    sys.exit(1)


def quantile(xs, q):
    """Nearest rank, as RotationTimes and detection_bench do."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Ring:
    """A ring of `nodes` node processes (and, if asked, the monitor) on 127.0.0.1. Lines the
    processes print are kept per process tag ("node3", "monitor"); the monitor's JSON events are
    parsed into `events`."""

    def __init__(self, bin_dir, nodes, hold_ms=20, monitor=None, name="bench", monitors=1):
        self.bin = bin_dir
        self.work = tempfile.mkdtemp(prefix=f"ringwatch-{name}-")
        ports = subprocess.run([f"{bin_dir}/free_ports", str(nodes + monitors)], capture_output=True, text=True, check=True).stdout.split()
        self.config = f"{self.work}/ring.toml"
        with open(self.config, "w") as f:
            f.write(f'[ring]\nname = "{name}"\nhold_ms = {hold_ms}\n\n[monitor]\n')
            if monitors == 1:
                f.write(f'address = "127.0.0.1:{ports[0]}"\n')
            for key, value in (monitor or {}).items():
                f.write(f"{key} = {value}\n")
            if monitors > 1:
                for k in range(monitors):
                    f.write(f'\n[[monitors]]\naddress = "127.0.0.1:{ports[k]}"\n')
            for i in range(nodes):
                f.write(f'\n[[nodes]]\nid = {i}\naddress = "127.0.0.1:{ports[i + monitors]}"\n')
        self.nodes = nodes
        self.procs = {}
        self.lines = {}
        self.events = []       # the monitor's JSON events
        self.node_events = []  # the nodes' (ring node --json)
        self.sel = selectors.DefaultSelector()

    def start(self, tag, args):
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(p.stdout.fileno(), False)
        self.sel.register(p.stdout, selectors.EVENT_READ, (tag, bytearray()))
        self.procs[tag] = p
        self.lines.setdefault(tag, [])
        return p

    def start_nodes(self, prefix=()):
        for i in range(self.nodes):
            self.start_node(i, prefix)

    def start_node(self, i, prefix=()):
        return self.start(f"node{i}", [*prefix, f"{self.bin}/ring", "node", self.config, "--id", str(i), "--json"])

    def start_monitor(self, *flags, index=None):
        """The monitor (or, with several configured, monitor `index`, tagged "monitor<index>")."""
        if index is None:
            return self.start("monitor", [f"{self.bin}/monitor", self.config, "--json", *flags])
        return self.start(f"monitor{index}", [f"{self.bin}/monitor", self.config, "--json", "--monitor", str(index), *flags])

    def first_token(self, bench):
        """A ring has no token until a monitor orders one: a monitor runs until its first ok
        snapshot (the token is born and circulates), then stops; its events are forgotten."""
        self.start_monitor()
        self.wait_until(bench, "the monitor's order of the first token", lambda: self.count("snapshot", verdict="ok") >= 1, 20)
        self.stop("monitor")
        self.events = []
        self.lines["monitor"] = []

    def stop(self, tag):
        p = self.procs.pop(tag)
        p.terminate()
        p.wait()
        self.pump(time.monotonic())  # what it said last
        try:
            self.sel.unregister(p.stdout)
        except (KeyError, ValueError):
            pass
        p.stdout.close()

    def pump(self, deadline):
        """Reads what the processes printed until `deadline`; returns once something was read."""
        for key, _ in self.sel.select(timeout=max(0.0, deadline - time.monotonic())):
            tag, buf = key.data
            try:
                chunk = key.fileobj.read()
            except ValueError:
                continue
            if not chunk:
                self.sel.unregister(key.fileobj)
                continue
            buf += chunk
            *lines, rest = buf.split(b"\n")
            buf[:] = rest
            for raw in lines:
                line = raw.decode(errors="replace")
                self.lines[tag].append(line)
                if line.startswith("{"):
                    e = json.loads(line)
                    if tag.startswith("monitor"):
                        e["_monitor"] = tag  # which monitor said it ("monitor", or "monitor1" ... with several)
                        self.events.append(e)
                    else:
                        self.node_events.append(e)

    def wait_until(self, bench, what, cond, seconds=10):
        deadline = time.monotonic() + seconds
        while not cond():
            if time.monotonic() > deadline:
                self.close()
                fail(bench, f"waited {seconds} s for {what}")
            self.pump(deadline)

    def run_for(self, seconds):
        """Lets the ring run (reading its output) for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(deadline)

    def count(self, event, **match):
        return sum(1 for e in self.events if e.get("event") == event and all(e.get(k) == v for k, v in match.items()))

    def status(self):
        """`ring status --json`, with `asked` (monotonic seconds): when the question went out. The
        nodes answer at once; the tool itself may wait a second longer for a monitor that is not
        running, so rates are taken between the times asked, not the times answered."""
        asked = time.monotonic()
        out = subprocess.run([f"{self.bin}/ring", "status", self.config, "--json"], capture_output=True, text=True, timeout=10)
        answer = json.loads(out.stdout)
        answer["asked"] = asked
        return answer

    def close(self):
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            p.wait()
        self.procs = {}


def pid_stat(pid):
    """(CPU seconds used, resident set in kB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return cpu, rss
