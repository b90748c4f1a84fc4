#!/usr/bin/python3
"""Pauses are not faults: 20 SIGSTOPs of 2 s (nodes 1 to 4 in turn) on a 5-node ring (hold_ms 20)
watched by `monitor --recover regenerate` with interval_ms 20. A paused node holds the token or
lets it wait on its link; either way the token is still there, so: zero token alarms and zero
recoveries (Corosync, default settings, declares the token lost and re-forms the ring on a 2 s
pause). The monitor does say the paused node went silent (node_down, then node_up): that is true,
and counted. Between pauses the ring is awaited healthy again (node_up, 5 ok snapshots).

Usage: pause_bench.py BIN_DIR [PAUSES=20] [SECONDS=2]"""
import os
import signal
import sys
import time

from ringbench import Ring, emit

bin_dir = sys.argv[1]
pauses = int(sys.argv[2]) if len(sys.argv) > 2 else 20
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0

ring = Ring(bin_dir, 5, hold_ms=20, name="pause", monitor={"interval_ms": 20, "timeout_ms": 500, "node_timeout_ms": 1000})
ring.start_nodes()
ring.start_monitor("--recover", "regenerate")
ring.wait_until("pause", "the ring to be healthy", lambda: ring.count("snapshot", verdict="ok") >= 10, 20)
start_events = len(ring.events)
for p in range(pauses):
    victim = ring.procs[f"node{1 + p % 4}"]
    ups = ring.count("node_up")
    downs = ring.count("node_down")
    victim.send_signal(signal.SIGSTOP)
    ring.run_for(seconds)
    victim.send_signal(signal.SIGCONT)
    if ring.count("node_down") > downs:
        ring.wait_until("pause", f"pause {p}: node_up", lambda: ring.count("node_up") > ups, 10)
    oks = ring.count("snapshot", verdict="ok")
    ring.wait_until("pause", f"pause {p}: ok snapshots again", lambda: ring.count("snapshot", verdict="ok") >= oks + 5, 10)
ring.close()

during = ring.events[start_events:]


def counted(event, **match):
    return sum(1 for e in during if e.get("event") == event and all(e.get(k) == v for k, v in match.items()))


alarms = counted("alarm")
recoveries = counted("recovery")
emit(bench="pause", case=f"{pauses} SIGSTOP pauses of {seconds:g} s: token alarms", value=alarms, unit="alarms", pauses=pauses,
     baseline=1, baseline_name=f"corosync default: token loss and ring re-formation per 2 s pause (anchors)")
emit(bench="pause", case=f"{pauses} SIGSTOP pauses of {seconds:g} s: recoveries", value=recoveries, unit="recoveries", pauses=pauses)
emit(bench="pause", case=f"{pauses} SIGSTOP pauses of {seconds:g} s: node_down reported", value=counted("node_down"), unit="events",
     pauses=pauses, note="the paused node was silent for longer than node_timeout_ms (1 s): reported, and node_up after")
emit(bench="pause", case=f"{pauses} SIGSTOP pauses of {seconds:g} s: inconclusive snapshots", value=counted("snapshot", verdict="inconclusive"),
     unit="snapshots", ok=counted("snapshot", verdict="ok"))
