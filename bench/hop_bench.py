#!/usr/bin/python3
"""Hop latency: the token's rotation time on rings of 3, 5 and 16 node processes with hold_ms = 0 (no
monitor once the token is made; views off), against udp_ring, the same number of plain processes
passing one 64-byte UDP datagram round (blocking sockets, nothing else: the floor). Each node
measures the gaps between the token's arrivals (its last 4096, `ring status --json`:
rotation_p50_us, rotation_p99_us); the figure is the median over the ring's nodes, read after a
warm-up. Target: within 1.5x of the baseline, p50 and p99. A second baseline, `udp_ring --ack`, adds
what a reliable link cannot do without: each hop also sends an acknowledgement back (to a socket
that wakes nobody, as ours do); the ratio to it is what our event loop, framing and protocol cost
beyond the datagrams themselves.

Usage: hop_bench.py BIN_DIR [SIZES=3,5,16]"""
import statistics
import subprocess
import sys
import json

from ringbench import Ring, emit, fail

bin_dir = sys.argv[1]
sizes = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "3,5,16").split(",")]

def udp_ring(n, *flags):
    return json.loads(subprocess.run([f"{bin_dir}/udp_ring", "--nodes", str(n), "--rotations", "20000", *flags], capture_output=True, text=True,
                                     check=True).stdout)


for n in sizes:
    base = udp_ring(n)
    acked = udp_ring(n, "--ack")
    # Views off: with them a member passes the token on only under a lease the (stopped) monitor
    # would confirm, and the ring stands still between lease requests (rotation times keep only the
    # gaps between arrivals, but the rotations per second then fell to a third of 1/p50).
    ring = Ring(bin_dir, n, hold_ms=0, name="hop", monitor={"evict_after_ms": 0})
    ring.start_nodes()
    ring.first_token("hop")
    ring.run_for(2.0)
    first = ring.status()
    ring.run_for(2.0)  # 4096 rotations and more, even at 16 nodes
    status = ring.status()
    ring.close()
    nodes = [x for x in status["nodes"] if "rotation_p50_us" in x]
    if len(nodes) != n:
        fail("hop", f"{n} nodes: only {len(nodes)} measured rotations")
    rotations = min(x["rotations"] for x in nodes)
    per_s = (nodes[0]["rotations"] - first["nodes"][0]["rotations"]) / (status["asked"] - first["asked"])
    for q, key in (("p50", "rotation_p50_us"), ("p99", "rotation_p99_us")):
        value = statistics.median(x[key] for x in nodes)
        baseline = base[f"{q}_us"]
        emit(bench="hop", case=f"{n} nodes rotation {q}", value=value, unit="us", nodes=n, rotations=rotations,
             baseline=round(baseline, 1), baseline_name=f"plain UDP ring of {n} processes", ratio=round(value / baseline, 2))
        emit(bench="hop", case=f"{n} nodes rotation {q} against acknowledged hops", value=value, unit="us", nodes=n,
             baseline=round(acked[f"{q}_us"], 1), baseline_name=f"UDP ring of {n} processes acknowledging every hop",
             ratio=round(value / acked[f"{q}_us"], 2))
    emit(bench="hop", case=f"{n} nodes rotations per second", value=round(per_s), unit="rotations/s", nodes=n,
         baseline=round(1e6 / base["p50_us"]), baseline_name=f"plain UDP ring of {n} processes (1 / p50)")
