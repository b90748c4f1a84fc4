#!/usr/bin/python3
"""How long a SIGKILLed node takes to be reported down: a 5-node ring (hold_ms 20) and
`monitor --json --recover regenerate` with interval_ms 20 on 127.0.0.1 (a node silent for two intervals is probed; a
refused probe means no process holds its port). Each trial kills one node (1 to 4 in turn), takes
the monotonic time just before the signal and the time the monitor's node_down line is read (the
output is read as it comes, so this is the time an operator's tool would see it), then starts the
node again and awaits node_up and ok snapshots. Against Corosync's token-loss declaration after a
SIGKILL (../shared/anchors: 3235 ms median with default settings, new membership 7615 ms).

Usage: node_down_bench.py BIN_DIR [TRIALS=20]"""
import signal
import statistics
import sys
import time

from ringbench import Ring, emit, fail, quantile

bin_dir = sys.argv[1]
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 20

ring = Ring(bin_dir, 5, hold_ms=20, name="down", monitor={"interval_ms": 20, "timeout_ms": 1000, "node_timeout_ms": 1000})
ring.start_nodes()
ring.start_monitor("--recover", "regenerate")  # a killed node may take the token with it
ring.wait_until("node_down", "the ring to be healthy", lambda: ring.count("snapshot", verdict="ok") >= 10, 20)
took = []
for t in range(trials):
    victim = 1 + t % 4
    downs, ups = ring.count("node_down"), ring.count("node_up")
    proc = ring.procs[f"node{victim}"]
    before = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    ring.wait_until("node_down", f"trial {t}: node_down", lambda: ring.count("node_down") > downs, 10)
    took.append((time.monotonic() - before) * 1000)
    event = [e for e in ring.events if e.get("event") == "node_down"][-1]
    if event["node"] != victim or event["address"] != "port_closed":
        fail("node_down", f"trial {t}: killed node {victim}, the monitor said {event}")
    proc.wait()
    ring.start_node(victim)
    ring.wait_until("node_down", f"trial {t}: node_up", lambda: ring.count("node_up") > ups, 10)
    oks = ring.count("snapshot", verdict="ok")
    ring.wait_until("node_down", f"trial {t}: ok snapshots", lambda: ring.count("snapshot", verdict="ok") >= oks + 3, 10)
alarms = ring.count("alarm")
ring.close()

anchor = 3235.0
for name, value in (("p50", statistics.median(took)), ("p99", quantile(took, 0.99)), ("max", max(took))):
    emit(bench="node_down", case=f"SIGKILL to node_down {name}", value=round(value, 1), unit="ms", trials=trials, interval_ms=20,
         baseline=anchor, baseline_name="corosync default token loss after SIGKILL (anchors)", ratio=round(value / anchor, 4))
emit(bench="node_down", case="token alarms during the kills", value=alarms, unit="alarms", trials=trials,
     note="a killed node may take the token with it: then the alarm is right")
