#!/usr/bin/python3
"""Detection near the floor, and what it costs: for each snapshot interval, a 5-node ring (hold_ms
20) watched by a monitor with `--recover regenerate`: what watching costs (CPU per node, CPU of the
monitor, bytes per second sent by everyone) and then the detection latency of injected losses and
duplications (detection_bench.py at that interval). Against the same ring with no monitor at all
(views off, so that its token keeps going without one: the baseline's CPU and bytes).

Usage: detection_cost_bench.py BIN_DIR [INTERVALS_MS=100,20,5,2,1] [TRIALS_PER_KIND=50] [COST_SECONDS=10]"""
import os
import subprocess
import sys
import time

from ringbench import Ring, emit, pid_stat

bin_dir = sys.argv[1]
intervals = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "100,20,5,2,1").split(",")]
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 50
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
here = os.path.dirname(os.path.abspath(__file__))

# The baseline: the token going round with nobody watching.
ring = Ring(bin_dir, 5, hold_ms=20, monitor={"evict_after_ms": 0}, name="unwatched")
try:
    ring.start_nodes()
    ring.first_token("watching_cost")
    bytes_of = lambda st: sum(n.get("bytes_sent", 0) for n in st["nodes"])
    a, cpu0 = ring.status(), [pid_stat(p.pid)[0] for p in ring.procs.values()]
    t0 = time.monotonic()
    ring.run_for(seconds)
    b, cpu1 = ring.status(), [pid_stat(p.pid)[0] for p in ring.procs.values()]
    wall = time.monotonic() - t0
    emit(bench="watching_cost", case="no monitor: CPU per node", value=round(sum(y - x for x, y in zip(cpu0, cpu1)) / len(cpu0) / wall * 100, 2),
         unit="% of a core", seconds=round(wall, 1))
    emit(bench="watching_cost", case="no monitor: bytes sent per second, all", value=round((bytes_of(b) - bytes_of(a)) / (b["asked"] - a["asked"]), 1),
         unit="B/s", seconds=round(wall, 1))
finally:
    ring.close()

for interval in intervals:
    sys.stdout.flush()
    subprocess.run(["/usr/bin/python3", f"{here}/detection_bench.py", bin_dir, str(trials), "regenerate", str(interval), str(seconds)], check=False)
