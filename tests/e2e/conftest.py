"""Fixtures of the end-to-end scenarios (test_ring_e2e.py): real `ring` and `monitor` processes on
127.0.0.1, on free ports, read through their JSON events (never their log text).

`pytest --bin BUILD/bin tests/e2e/test_ring_e2e.py::test_lose` runs one scenario. Every process a
test starts is in a process group of its own, killed and reaped at teardown, also on failure. Every
wait has a deadline and fails saying what it awaited and what it saw, with the tail of every output.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# Scenarios stop processes (SIGSTOP). When the test's process group is orphaned (ctest started from
# a shell that has since exited), the kernel sends the whole group SIGHUP, then SIGCONT, as soon as
# a member exits while one is stopped: a paused monitor died of it. Nothing here may die of that;
# the processes inherit the ignored SIGHUP.
signal.signal(signal.SIGHUP, signal.SIG_IGN)

POLL_S = 0.05


def pytest_addoption(parser):
    parser.addoption("--bin", required=True, help="the build's bin directory (ring, monitor, free_ports, hostile)")


class WaitFailed(AssertionError):
    pass


class Events:
    """Queries over poll(): the events so far."""

    def where(self, **fields):
        return [e for e in self.poll() if matches(e, fields)]

    def count(self, **fields):
        return len(self.where(**fields))


class JsonLines(Events):
    """A JSON-lines file some process writes: read as it grows, complete lines only (a line still
    being written is left for the next poll). A line that is not a JSON object fails the test."""

    def __init__(self, path, label=None):
        self.path = Path(path)
        self.label = label or self.path.name
        self.events = []
        self._offset = 0
        self._partial = b""

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return self.events
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
            except ValueError:
                raise AssertionError(f"{self.label}: not a JSON line: {raw[:200]!r}") from None
            if not isinstance(event, dict) or "event" not in event:
                raise AssertionError(f"{self.label}: not an event object: {raw[:200]!r}")
            self.events.append(event)
        return self.events


class EventLog(Events):
    """The events of several JSON-lines files (one per process), as one list: each file's events in
    their order, the files in the order they were added."""

    def __init__(self, label):
        self.label = label
        self.sources = []

    def add(self, source):
        self.sources.append(source)

    def poll(self):
        return [e for s in self.sources for e in s.poll()]


def matches(event, fields):
    """Every given field has the given value; a callable value is a test of the field's value."""
    for k, want in fields.items():
        if k not in event:
            return False
        have = event[k]
        if callable(want):
            if not want(have):
                return False
        elif have != want:
            return False
    return True


def describe(fields):
    return ", ".join(f"{k}={'<test>' if callable(v) else json.dumps(v)}" for k, v in fields.items())


def tail(path, n):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return "(no file)"
    return "\n".join(lines[-n:]) if lines else "(empty)"


class Proc:
    def __init__(self, name, popen, stdout, stderr):
        self.name, self.popen, self.stdout, self.stderr = name, popen, stdout, stderr

    @property
    def pid(self):
        return self.popen.pid

    def signal(self, sig):
        if self.popen.poll() is None:
            os.kill(self.popen.pid, sig)

    def wait(self, timeout=20):
        return self.popen.wait(timeout=timeout)

    def kill_and_reap(self):
        """SIGKILL, then wait: for processes the test kills on purpose (kill -9 of a node)."""
        self.signal(signal.SIGKILL)
        return self.wait()


class Harness:
    """One scenario's world: its work directory, config, processes and their outputs."""

    def __init__(self, bin_dir, work):
        self.bin = Path(bin_dir)
        self.work = Path(work)
        self.procs = []
        self.reaped = []
        self.nodes = EventLog("nodes")       # every node's events (ring up --json or ring node --json)
        self.monitor = None                  # the current monitor
        self.monitors = []                   # every monitor started, oldest first
        self.config = self.work / "ring.toml"
        self.ports = []
        self.spare = []
        self._starts = 0

    # --- processes -------------------------------------------------------------------------------
    def spawn(self, name, args, stdout=None, stderr=None, env=None):
        """Starts args in a new process group, its stdout and stderr to files created first (a poll
        never finds one missing); the group is killed at teardown."""
        self._starts += 1
        stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
        out = Path(stdout) if stdout else self.work / f"{stem}.{self._starts}.out"
        err = Path(stderr) if stderr else self.work / f"{stem}.{self._starts}.err"
        with open(out, "ab") as o, open(err, "ab") as e:
            popen = subprocess.Popen([str(a) for a in args], stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                     process_group=0, env=env)
        proc = Proc(name, popen, out, err)
        self.procs.append(proc)
        return proc

    def run(self, *args, timeout=30, env=None):
        """A tool run to its end: (exit code, stdout and stderr together)."""
        try:
            r = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{' '.join(map(str, args))} did not end within {timeout} s") from None
        return r.returncode, r.stdout.decode("utf-8", "replace").rstrip("\n")

    def ring(self, *args, timeout=30, ok=True):
        """`ring ARGS`; with ok, a non-zero exit fails the test."""
        rc, out = self.run(self.bin / "ring", *args, timeout=timeout)
        if ok and rc != 0:
            raise AssertionError(f"ring {' '.join(map(str, args))} exited {rc}: {out}")
        return rc, out

    def teardown(self):
        for p in self.procs:
            if p.popen.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for p in self.procs:
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever is left of the group (ring up's children too)
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.popen.wait()
        self.reaped.extend(self.procs)  # their outputs are still worth a look
        self.procs = []

    def outputs_tail(self, n=15):
        parts = []
        for p in self.reaped + self.procs:
            for path, what in ((p.stdout, "stdout"), (p.stderr, "stderr")):
                if path.exists() and path.stat().st_size > 0:
                    parts.append(f"--- {p.name} {what} ({path.name}):\n{tail(path, n)}")
        return "\n".join(parts)

    # --- config ----------------------------------------------------------------------------------
    def free_ports(self, n):
        out = subprocess.run([self.bin / "free_ports", str(n)], stdout=subprocess.PIPE, check=True, timeout=10).stdout
        ports = [int(p) for p in out.split()]
        assert len(ports) == n, f"free_ports gave {len(ports)} port(s), not {n}"
        return ports

    def write_config(self, n, hold_ms=20, state_dir=None, key_file=None, name="e2e"):
        """ring.toml for n nodes on free ports; three more free ports in self.spare (relays, HTTP)."""
        self.ports = self.free_ports(n + 4)
        self.spare = self.ports[n + 1:]
        ring = [f'name = "{name}"', f"hold_ms = {hold_ms}"]
        if key_file:
            ring.append(f'key_file = "{key_file}"')
        if state_dir:
            ring.append(f'state_dir = "{state_dir}"')
        text = "[ring]\n" + "\n".join(ring) + "\n"
        text += f'\n[monitor]\naddress = "127.0.0.1:{self.ports[0]}"\ninterval_ms = 100\ntimeout_ms = 1000\n'
        for i in range(n):
            text += f'\n[[nodes]]\nid = {i}\naddress = "127.0.0.1:{self.node_port(i)}"\n'
        self.config.write_text(text)
        self.n = n
        return self.config

    def node_port(self, i):
        return self.ports[i + 1]

    def derived_config(self, name, **replace):
        """A copy of ring.toml under another name, each key of `replace` (old text) replaced."""
        text = self.config.read_text()
        for old, new in replace.items():
            assert old in text, f"{old!r} not in the config"
            text = text.replace(old, new)
        path = self.work / name
        path.write_text(text)
        return path

    def keygen(self, name="ring.key"):
        self.ring("keygen", self.work / name)
        return self.work / name

    def keyed(self):
        """A new key for the ring, named by ring.toml."""
        self.keygen()
        text = self.config.read_text()
        self.config.write_text(re.sub(r"^(hold_ms = \d+)$", r'\1\nkey_file = "ring.key"', text, count=1, flags=re.M))

    # --- the ring and the monitor ----------------------------------------------------------------
    def start_ring(self, *extra, config=None):
        """`ring up --json`: every node's events (and ring up's own) in self.nodes."""
        proc = self.spawn("ring up", [self.bin / "ring", "up", config or self.config, "--json", *extra])
        proc.events = JsonLines(proc.stdout, proc.name)
        self.nodes.add(proc.events)
        return proc

    def start_node(self, i, config=None, prefix=()):
        """`ring node --json` (after prefix, e.g. `ip netns exec NS`): its events in proc.events and self.nodes."""
        proc = self.spawn(f"node {i}", [*prefix, self.bin / "ring", "node", config or self.config, "--id", i, "--json"])
        proc.events = JsonLines(proc.stdout, proc.name)
        self.nodes.add(proc.events)
        return proc

    def new_node_log(self, label):
        """Nodes started from now on are read apart from the earlier ones."""
        self.nodes = EventLog(label)
        return self.nodes

    def start_each_node(self, n=None, config_of=None):
        return [self.start_node(i, config_of(i) if config_of else None) for i in range(n if n is not None else self.n)]

    def restart_node(self, procs, i):
        """kill -9 node i (procs[i]), start it again and await its link to the monitor."""
        before = self.nodes.count(event="link", node=i, peer="monitor", state="connected")
        procs[i].kill_and_reap()
        procs[i] = self.start_node(i)
        self.await_count(self.nodes, before + 1, 20, f"node {i}'s link to the monitor after its restart",
                         event="link", node=i, peer="monitor", state="connected")

    def start_monitor(self, *args, config=None, prefix=()):
        proc = self.spawn("monitor", [*prefix, self.bin / "monitor", config or self.config, "--json", *args])
        self.monitor = Monitor(self, proc)
        self.monitors.append(self.monitor)
        return self.monitor

    # --- waits -----------------------------------------------------------------------------------
    def await_value(self, fn, want, secs, what):
        """Until fn() >= want; fails at the deadline with what was awaited and what was had."""
        deadline = time.monotonic() + secs
        while True:
            have = fn()
            if have is not None and have >= want:
                return have
            if time.monotonic() >= deadline:
                raise WaitFailed(f"waited {secs} s for {what}: {have} of {want}")
            time.sleep(POLL_S)

    def await_true(self, fn, secs, what):
        deadline = time.monotonic() + secs
        while True:
            have = fn()
            if have:
                return have
            if time.monotonic() >= deadline:
                raise WaitFailed(f"waited {secs} s for {what}: not seen")
            time.sleep(POLL_S)

    def await_count(self, log, n, secs, what, after=0, **fields):
        """Until `log` has n events with these fields (among those past index `after`); returns them."""
        deadline = time.monotonic() + secs
        while True:
            found = [e for e in log.poll()[after:] if matches(e, fields)]
            if len(found) >= n:
                return found
            if time.monotonic() >= deadline:
                seen = log.poll()[-5:]
                raise WaitFailed(f"waited {secs} s for {what} ({n} event(s) {describe(fields)} in {log.label}): "
                                 f"{len(found)} seen; its last events:\n" + "\n".join(json.dumps(e) for e in seen))
            time.sleep(POLL_S)

    def await_event(self, log, secs, what, **fields):
        return self.await_count(log, 1, secs, what, **fields)[0]

    def await_process_exit(self, proc, secs, what):
        try:
            return proc.wait(timeout=secs)
        except subprocess.TimeoutExpired:
            raise WaitFailed(f"waited {secs} s for {what}: still running") from None

    def await_formed(self, secs=20):
        """Every node's links to both neighbours connected."""
        def formed():
            links = {(e["node"], e["peer"]) for e in self.nodes.where(event="link", state="connected")
                     if isinstance(e["peer"], int)}
            return len(links)
        self.await_value(formed, 2 * self.n, secs, "every node's links to both neighbours")


class Monitor(Events):
    """A `monitor --json` process and its events."""

    def __init__(self, harness, proc):
        self.h, self.proc = harness, proc
        self.events = JsonLines(proc.stdout, "monitor")
        self.label = "monitor"

    def poll(self):
        return self.events.poll()

    def snapshots(self):
        return self.where(event="snapshot")

    def max_snapshot_id(self):
        return max((s["id"] for s in self.snapshots()), default=0)

    def snapshots_after(self, anchor, **fields):
        return [s for s in self.snapshots() if s["id"] > anchor and matches(s, fields)]

    def stderr_lines(self):
        return self.proc.stderr.read_text(errors="replace").splitlines() if self.proc.stderr.exists() else []

    def await_ok(self, n, secs=20):
        return self.h.await_count(self, n, secs, f"{n} ok snapshots", event="snapshot", verdict="ok")

    def await_more(self, n, secs, what, **fields):
        """n more snapshots (with these fields) than printed so far."""
        anchor = self.max_snapshot_id()
        return self.h.await_value(lambda: len(self.snapshots_after(anchor, **fields)), n, secs, what)

    def await_event(self, secs, what, **fields):
        return self.h.await_event(self, secs, what, **fields)

    def no_alarm(self, kind=None):
        alarms = self.where(event="alarm") if kind is None else self.where(event="alarm", kind=kind)
        assert not alarms, f"unexpected alarm: {json.dumps(alarms[0])}"

    def fault_caught(self, fault, node):
        """To call right after `ring inject ... FAULT` (lose or duplicate) was acknowledged. Anchored
        at the moment the fault took effect: the node says so (its event), and A is the highest
        snapshot id printed by then. The first alarm of the matching kind is for a snapshot <= A + 3;
        then, the programs having no recovery, at least 10 later snapshots have the alarm's verdict,
        none has another token verdict (an ok one would be a wrong answer) and no alarm of the other
        kind appears. Returns a summary."""
        kind, other, tokens, event = {
            "lose": ("token_lost", "token_duplicated", 0, "lost_by_fault"),
            "duplicate": ("token_duplicated", "token_lost", 2, "duplicated_by_fault"),
        }[fault]
        self.h.await_event(self.h.nodes, 10, f"the {fault} fault taking effect at node {node}", event=event, node=node)
        anchor = self.max_snapshot_id()
        self.await_event(10, f"a {kind} alarm", event="alarm", kind=kind)
        alarm = min(a["snapshot"] for a in self.where(event="alarm", kind=kind))
        assert alarm <= anchor + 3, (f"{kind} alarm at snapshot {alarm}, more than 3 after snapshot {anchor} "
                                     "(the last one printed when the fault took effect)")
        seen = [s for s in self.snapshots() if s["id"] == alarm]
        assert seen and seen[0]["verdict"] == kind and seen[0]["tokens"] == tokens, \
            f"snapshot {alarm} of the {kind} alarm is not '{kind}' with {tokens} token(s): {seen}"
        # Counted as the alarm's verdicts, not as snapshots: a node starved past timeout_ms makes one
        # inconclusive (truly), which is not a wrong answer.
        self.h.await_value(lambda: len(self.snapshots_after(alarm, verdict=kind)), 10, 20,
                           f"10 {kind} snapshots after the alarm at snapshot {alarm}")
        bad = [s for s in self.snapshots_after(alarm)
               if s["verdict"] != "inconclusive" and (s["verdict"] != kind or s["tokens"] != tokens)]
        assert not bad, f"after the {kind} alarm at snapshot {alarm}, a snapshot the fault cannot give: {json.dumps(bad[0])}"
        assert not self.where(event="alarm", kind=other), \
            f"a {other} alarm in a {fault} run: {json.dumps(self.where(event='alarm', kind=other)[0])}"
        return (f"{kind} alarm at snapshot {alarm} (A = {anchor} when the fault took effect), then "
                f"{len(self.snapshots_after(alarm))} snapshot(s), none with another token verdict")


@pytest.fixture(scope="session")
def bin_dir(request):
    path = Path(request.config.getoption("--bin")).resolve()
    for program in ("ring", "monitor", "free_ports"):
        assert (path / program).is_file(), f"--bin {path}: no {program} there"
    return path


@pytest.fixture
def e2e(bin_dir, request):
    work = tempfile.mkdtemp(prefix="ringwatch-e2e-")
    h = Harness(bin_dir, work)
    request.node.e2e_harness = h
    yield h
    h.teardown()
    failed = getattr(request.node, "e2e_failed", False)
    if failed:
        print(f"(work directory kept: {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    h = getattr(item, "e2e_harness", None)
    if h is not None and report.when == "call" and report.failed:
        item.e2e_failed = True
        report.sections.append(("outputs (tails)", h.outputs_tail()))


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
