#!/usr/bin/python3
"""Footprint and scale, from /proc. (1) Idle CPU: a 5-node ring with hold_ms = 20 and its monitor
(default settings) for 30 s; each node's CPU time over the wall time (target: under 1% of a core
per node). (2) For MINUTES (default 10), side by side: a busy 5-node ring (hold_ms = 0, a message
sent every second, monitor snapshots every 100 ms) whose nodes' and monitor's resident memory is
read at minute 2 and at the end (targets: node < 8 MB, monitor < 16 MB, no growth between the two),
and a ring of 64 node processes (hold_ms 20) with its monitor, which must raise zero alarms.

Usage: footprint_bench.py BIN_DIR [MINUTES=10]"""
import statistics
import subprocess
import sys
import time

from ringbench import Ring, emit, fail, pid_stat

bin_dir = sys.argv[1]
minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0

# (1) Idle CPU.
idle = Ring(bin_dir, 5, hold_ms=20, name="idle")
idle.start_nodes()
idle.start_monitor()
idle.wait_until("footprint", "the idle ring's first ok snapshots", lambda: idle.count("snapshot", verdict="ok") >= 5, 20)
before = {tag: pid_stat(p.pid)[0] for tag, p in idle.procs.items()}
t0 = time.monotonic()
idle.run_for(30.0)
wall = time.monotonic() - t0
share = {tag: (pid_stat(p.pid)[0] - before[tag]) / wall * 100 for tag, p in idle.procs.items()}
idle.close()
nodes_share = [v for tag, v in share.items() if tag.startswith("node")]
emit(bench="footprint", case="idle CPU per node (hold_ms 20), max", value=round(max(nodes_share), 3), unit="% of a core",
     median=round(statistics.median(nodes_share), 3), seconds=round(wall, 1))
emit(bench="footprint", case="idle CPU of the monitor (interval 100 ms)", value=round(share["monitor"], 3), unit="% of a core")

# (2) Memory of a busy ring, and 64 nodes, side by side.
busy = Ring(bin_dir, 5, hold_ms=0, name="busy", monitor={"interval_ms": 100})
busy.start_nodes()
busy.start_monitor()
big = Ring(bin_dir, 64, hold_ms=20, name="big")
big.start_nodes()
big.start_monitor()
t0 = time.monotonic()
busy.wait_until("footprint", "the busy ring's first ok snapshots", lambda: busy.count("snapshot", verdict="ok") >= 5, 20)
big.wait_until("footprint", "the 64-node ring's first ok snapshots", lambda: big.count("snapshot", verdict="ok") >= 5, 60)
end = t0 + minutes * 60
at_two = t0 + minutes * 60 * 0.2
rss_two = None
sent = 0
while time.monotonic() < end:
    subprocess.run([f"{bin_dir}/ring", "send", busy.config, "--from", str(sent % 5), "--to", str((sent + 2) % 5), f"message {sent}"],
                   capture_output=True, timeout=10)
    sent += 1
    busy.run_for(0.5)
    big.run_for(0.5)
    if rss_two is None and time.monotonic() >= at_two:
        rss_two = {tag: pid_stat(p.pid)[1] for tag, p in busy.procs.items()}
rss_end = {tag: pid_stat(p.pid)[1] for tag, p in busy.procs.items()}
big_rss = max(pid_stat(p.pid)[1] for tag, p in big.procs.items() if tag.startswith("node"))
busy.close()
big.close()

delivered = sum(1 for e in busy.node_events if e["event"] == "delivered")
node_rss = max(v for tag, v in rss_end.items() if tag.startswith("node"))
growth = max(rss_end[tag] - rss_two[tag] for tag in rss_end)
mark = f"{minutes * 0.2:g} min"
emit(bench="footprint", case=f"node resident memory after {minutes:g} min of a busy ring, max", value=round(node_rss / 1024, 2), unit="MB",
     messages_sent=sent, delivered=delivered, snapshots=busy.count("snapshot"))
emit(bench="footprint", case=f"monitor resident memory after {minutes:g} min of a busy ring", value=round(rss_end["monitor"] / 1024, 2),
     unit="MB")
emit(bench="footprint", case=f"resident memory growth from {mark} to {minutes:g} min, max over processes", value=round(growth / 1024, 3),
     unit="MB")
emit(bench="footprint", case=f"node resident memory in the 64-node ring after {minutes:g} min, max", value=round(big_rss / 1024, 2), unit="MB")
big_alarms = big.count("alarm")
emit(bench="scale", case=f"64 node processes for {minutes:g} min: alarms", value=big_alarms, unit="alarms",
     snapshots_ok=big.count("snapshot", verdict="ok"), inconclusive=big.count("snapshot", verdict="inconclusive"),
     node_down=big.count("node_down"))
emit(bench="scale", case=f"busy 5-node ring for {minutes:g} min: alarms", value=busy.count("alarm"), unit="alarms",
     snapshots_ok=busy.count("snapshot", verdict="ok"))
if delivered < sent * 0.99:
    fail("footprint", f"the busy ring delivered {delivered} of {sent} messages")
