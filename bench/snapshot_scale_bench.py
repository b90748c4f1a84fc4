#!/usr/bin/python3
"""Where a 64-node snapshot's time goes on a small machine. The same many-initiator snapshot (start
to verdict, the monitor's `duration_us`; hold_ms 20, one snapshot every 100 ms, 5 left out, 40
measured) on 64 members run four ways:

  processes  64 `ring node` processes (as snapshot_bench.py): 32 per core on 2 cores
  threads    64 members in one process, each on its own event loop and thread
  loops-2    64 members on 2 event loops (2 threads, one per core): no process switches
  loop-1     64 members on 1 event loop: every step done one after another on one core

and 16 processes for scale. With the CPU the members spent per snapshot (their processes' user +
system time over the measured snapshots, divided by snapshots and members: an upper bound, it holds
the token's hops and keep-alives too). If the work per member per snapshot is W and C cores serve
N members, a verdict needs about N/C x W once markers go one hop; what is left is scheduling.

Usage: snapshot_scale_bench.py BIN_DIR [SNAPSHOTS=40]"""
import os
import statistics
import sys

from ringbench import Ring, emit, quantile

bin_dir = sys.argv[1]
measured = int(sys.argv[2]) if len(sys.argv) > 2 else 40
skip = 5
cores = os.cpu_count()
tick = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def run(n, how):
    ring = Ring(bin_dir, n, hold_ms=20, name="scale", monitor={"interval_ms": 100, "timeout_ms": 2000})
    if how == "processes":
        ring.start_nodes()
        pids = [ring.procs[f"node{i}"].pid for i in range(n)]
    else:
        loops = {"threads": n, "loops-2": 2, "loop-1": 1}[how]
        pids = [ring.start("host", [f"{bin_dir}/node_host", ring.config, "--ids", f"0-{n - 1}", "--loops", str(loops)]).pid]
    ring.start_monitor("--snapshots", str(skip + measured))
    ring.wait_until("snapshot_scale", f"{n} members, {how}: {skip} verdicts", lambda: ring.count("snapshot") >= skip, 60)
    cpu0 = cpu_seconds(pids)
    ring.wait_until("snapshot_scale", f"{n} members, {how}: {skip + measured} verdicts", lambda: ring.count("snapshot") >= skip + measured, 60)
    cpu1 = cpu_seconds(pids)
    ring.close()
    snaps = [e for e in ring.events if e.get("event") == "snapshot"][skip:skip + measured]
    ok = [e["duration_us"] / 1000 for e in snaps if e["verdict"] == "ok"]
    if len(ok) < measured * 0.9:
        emit(bench="snapshot_scale", error=f"{n} members, {how}: only {len(ok)} of {measured} snapshots ok")
        sys.exit(1)
    p50 = statistics.median(ok)
    per_member_us = (cpu1 - cpu0) / measured / n * 1e6
    runnable = n if how in ("processes", "threads") else {"loops-2": 2, "loop-1": 1}[how]
    emit(bench="snapshot_scale", case=f"{n} members as {how}: many-initiator p50", value=round(p50, 2), unit="ms", members=n,
         how=how, p99=round(quantile(ok, 0.99), 2), snapshots=len(ok), cores=cores)
    emit(bench="snapshot_scale", case=f"{n} members as {how}: CPU per member per snapshot", value=round(per_member_us), unit="us",
         members=n, how=how)
    emit(bench="snapshot_scale", case=f"{n} members as {how}: p50 per member per core", value=round(p50 * 1000 / (n / min(cores, runnable))),
         unit="us", members=n, how=how, note="p50 / (members / cores they share)")
    return p50


results = {}
for n, how in ((16, "processes"), (64, "processes"), (64, "threads"), (64, "loops-2"), (64, "loop-1")):
    results[(n, how)] = run(n, how)
emit(bench="snapshot_scale", case="64 members: processes against 2 loops (p50)", value=round(results[(64, "processes")] / results[(64, "loops-2")], 2),
     unit="x", baseline=round(results[(64, "loops-2")], 2), baseline_name="64 members on 2 event loops, p50 (ms)")
