#!/usr/bin/python3
"""Snapshot latency against ring size: start to verdict (the monitor's `duration_us`) on rings of
3, 5, 16 and 64 node processes (hold_ms 20), in the default many-initiator mode (every node is
asked to start at once, so markers travel one hop) and in single-initiator mode (only the first
node starts; the markers go all the way round). One snapshot every 100 ms, the first 5 of each run
left out (links still meeting), 40 measured. Target: many-initiator p50 at 64 nodes <= 2x its value
at 3 (flat in ring size), while single-initiator grows with the ring.

Usage: snapshot_bench.py BIN_DIR [SIZES=3,5,16,64] [SNAPSHOTS=40]"""
import statistics
import sys

from ringbench import Ring, emit, quantile

bin_dir = sys.argv[1]
sizes = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "3,5,16,64").split(",")]
measured = int(sys.argv[3]) if len(sys.argv) > 3 else 40
skip = 5

p50 = {}
for mode in ("many", "single"):
    for n in sizes:
        ring = Ring(bin_dir, n, hold_ms=20, name="snap", monitor={"interval_ms": 100, "timeout_ms": 2000})
        ring.start_nodes()
        flags = ["--snapshots", str(skip + measured)] + (["--single-initiator"] if mode == "single" else [])
        ring.start_monitor(*flags)
        ring.wait_until("snapshot", f"{n} nodes, {mode}: {skip + measured} verdicts",
                        lambda: ring.count("snapshot") >= skip + measured, 60)
        ring.close()
        snaps = [e for e in ring.events if e.get("event") == "snapshot"][skip:skip + measured]
        ok = [e["duration_us"] / 1000 for e in snaps if e["verdict"] == "ok"]
        if len(ok) < measured * 0.9:
            emit(bench="snapshot", error=f"{n} nodes, {mode}: only {len(ok)} of {measured} snapshots ok",
                 verdicts=[e["verdict"] for e in snaps])
            sys.exit(1)
        p50[(mode, n)] = statistics.median(ok)
        for q in (0.5, 0.99):
            name = "p50" if q == 0.5 else "p99"
            emit(bench="snapshot", case=f"{mode}-initiator {n} nodes {name}", value=round(quantile(ok, q), 2), unit="ms", nodes=n,
                 mode=mode, snapshots=len(ok))

small, large = min(sizes), max(sizes)
for mode in ("many", "single"):
    emit(bench="snapshot", case=f"{mode}-initiator p50 growth {small} to {large} nodes",
         value=round(p50[(mode, large)] / p50[(mode, small)], 2), unit="x", baseline=round(p50[(mode, small)], 2),
         baseline_name=f"{mode}-initiator p50 at {small} nodes (ms)")
