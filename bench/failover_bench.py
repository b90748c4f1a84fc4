#!/usr/bin/python3
"""How fast a standby monitor takes over when the leader dies: three monitors and five nodes on
127.0.0.1 (`monitor --json --monitor N` each, views on). Each trial SIGKILLs the monitor that leads,
taking the monotonic time just before the signal, and measures until another monitor's `leading`
event (its `at_us`, on the same monotonic clock): the dead leader's port found closed by a probe,
a claim of the next term to every node, and a majority's promises. Split in two: kill to that
monitor's `claimed` event (the leader's death known: a standby claims as soon as every monitor
before it is known down), and `claimed` to `leading` (one round trip to the nodes). The killed monitor is started
again (it listens for a leader and stays a standby) before the next trial, which kills whichever
leads then. Run at the default snapshot interval (100 ms) and at 20 ms (monitors probe and hello
each other every interval). Corosync (../shared/anchors) has one membership and no separate
monitor: its nearest figure is 3235 ms to declare a token lost after a SIGKILL with default settings.

Usage: failover_bench.py BIN_DIR [TRIALS=20]"""
import signal
import statistics
import sys
import time

from ringbench import Ring, emit, fail, quantile

bin_dir = sys.argv[1]
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 20
MONITORS = 3


def leading_events(ring):
    return [e for e in ring.events if e.get("event") == "leadership" and e.get("kind") == "leading"]


def claimed_at(ring, monitor, term):
    return next(e["at_us"] for e in ring.events
                if e.get("event") == "leadership" and e.get("kind") == "claimed" and e["_monitor"] == monitor and e["term"] == term)


def run(interval_ms):
    ring = Ring(bin_dir, 5, hold_ms=5, name="failover", monitors=MONITORS,
                monitor={"interval_ms": interval_ms, "timeout_ms": 1000, "node_timeout_ms": 1000, "evict_after_ms": 5000})
    ring.start_nodes()
    for k in range(MONITORS):
        ring.start_monitor(index=k)
    ring.wait_until("failover", "a leader", lambda: leading_events(ring), 20)
    ring.wait_until("failover", "ok snapshots", lambda: ring.count("snapshot", verdict="ok") >= 3 * MONITORS, 20)
    takeovers, known, claims = [], [], []
    for t in range(trials):
        leader = leading_events(ring)[-1]
        tag, term = leader["_monitor"], leader["term"]
        seen = len(leading_events(ring))
        kill_us = time.monotonic() * 1e6
        ring.procs[tag].send_signal(signal.SIGKILL)
        ring.wait_until("failover", f"trial {t}: another monitor leading", lambda: len(leading_events(ring)) > seen, 20)
        new = leading_events(ring)[seen]
        if new["_monitor"] == tag or new["term"] <= term:
            ring.close()
            fail("failover", f"trial {t}: after {tag} (term {term}) was killed, {new['_monitor']} led term {new['term']}")
        takeovers.append((new["at_us"] - kill_us) / 1000)
        claim_us = claimed_at(ring, new["_monitor"], new["term"])
        known.append((claim_us - kill_us) / 1000)
        claims.append((new["at_us"] - claim_us) / 1000)
        ring.procs[tag].wait()
        ring.procs.pop(tag)
        ring.start_monitor(index=int(tag[len("monitor"):]))
        ring.run_for(1.0)  # the restarted monitor's links and hellos: it hears the leader, and stays a standby
    alarms = ring.count("alarm")
    ring.close()
    for case, xs in (("leader SIGKILL to the next monitor's claim (death known)", known), ("claim to leading (after the death is known)", claims)):
        for q, value in (("p50", statistics.median(xs)), ("p99", quantile(xs, 0.99))):
            emit(bench="failover", case=f"{case} {q}", value=round(value, 1), unit="ms", trials=trials, interval_ms=interval_ms, monitors=MONITORS,
                 nodes=5, **({"target_ms": 200} if xs is claims else {}))
    for q, value in (("p50", statistics.median(takeovers)), ("p99", quantile(takeovers, 0.99)), ("max", max(takeovers))):
        emit(bench="failover", case=f"leader SIGKILL to the next leader's term {q}", value=round(value, 1), unit="ms", trials=trials,
             interval_ms=interval_ms, monitors=MONITORS, nodes=5, target_ms=200,
             baseline=3235.0, baseline_name="corosync token lost declared after a SIGKILL (anchors)", ratio=round(value / 3235.0, 4))
    emit(bench="failover", case="token alarms during the failovers", value=alarms, unit="alarms", trials=trials, interval_ms=interval_ms,
         note="a monitor's death changes nothing in the ring: no alarm is expected")
    if alarms:
        fail("failover", f"{alarms} token alarm(s) while monitors failed over")


for interval in (100, 20):
    run(interval)
