#!/usr/bin/python3
"""What watching costs. (1) Token rotations per second on a 5-node ring with hold_ms = 0 (views
off): with no monitor at all, then with a monitor taking a snapshot every 10 ms; target >= 95% of the rotations
kept. (2) Bytes on the wire per snapshot: an idle 5-node ring (hold_ms 1000, the token nearly
still), the datagram bytes every node and the monitor sent in 10 s with snapshots every 10 ms,
less what the nodes send in 10 s without a monitor, over the snapshots taken (UDP payloads: the
frames with their headers and acknowledgements, without IP/UDP headers).

Usage: overhead_bench.py BIN_DIR [SECONDS=10]"""
import sys

from ringbench import Ring, emit, fail

bin_dir = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
nodes = 5


def rotations_per_s(ring):
    a = ring.status()
    ring.run_for(seconds)
    b = ring.status()
    return (b["nodes"][0]["rotations"] - a["nodes"][0]["rotations"]) / (b["asked"] - a["asked"])


def bytes_sent(status):
    total = sum(n.get("bytes_sent", 0) for n in status["nodes"])
    return total + (status["monitor"] or {}).get("bytes_sent", 0)


# Views off (evict_after_ms 0): with them a member passes the token on only under a lease the monitor
# confirms, so a ring with no monitor would stand still between lease requests and the baseline would
# measure that (the 2026-12-06 run: 685 rotations/s alone, 6687 watched).
monitor_settings = {"interval_ms": 10, "timeout_ms": 1000, "evict_after_ms": 0}

# (1) Rotations kept.
ring = Ring(bin_dir, nodes, hold_ms=0, name="overhead", monitor=monitor_settings)
ring.start_nodes()
ring.first_token("overhead")
ring.run_for(2.0)
alone = rotations_per_s(ring)
ring.start_monitor()
ring.wait_until("overhead", "the monitor's first ok snapshots", lambda: ring.count("snapshot", verdict="ok") >= 20, 20)
watched = rotations_per_s(ring)
snapshots = ring.count("snapshot")
# A monitor's first snapshot may start before its links have met every node (inconclusive, said).
bad = [e for e in ring.events if e.get("event") == "snapshot" and e["verdict"] not in ("ok", "inconclusive")]
inconclusive = ring.count("snapshot", verdict="inconclusive")
ring.close()
if bad:
    fail("overhead", f"{len(bad)} alarm verdict(s) on a healthy ring: {bad[0]['verdict']}")
emit(bench="overhead", case="rotations per second, snapshots every 10 ms", value=round(watched), unit="rotations/s", nodes=nodes,
     baseline=round(alone), baseline_name="rotations per second, no monitor", ratio=round(watched / alone, 3), snapshots=snapshots,
     inconclusive=inconclusive)

# (2) Bytes per snapshot.
ring = Ring(bin_dir, nodes, hold_ms=1000, name="bytes", monitor=monitor_settings)
ring.start_nodes()
ring.first_token("overhead")
ring.run_for(2.0)
a = ring.status()
ring.run_for(seconds)
b = ring.status()
idle_rate = (bytes_sent(b) - bytes_sent(a)) / (b["asked"] - a["asked"])
ring.start_monitor()
ring.wait_until("overhead", "the monitor's first ok snapshots", lambda: ring.count("snapshot", verdict="ok") >= 20, 20)
a = ring.status()
before = ring.count("snapshot")
ring.run_for(seconds)
b = ring.status()
taken = ring.count("snapshot") - before
ring.close()
# The status queries themselves are on the wire too (the same in both runs).
per_snapshot = (bytes_sent(b) - bytes_sent(a) - idle_rate * (b["asked"] - a["asked"])) / taken
emit(bench="overhead", case="bytes on the wire per snapshot (5 nodes)", value=round(per_snapshot), unit="bytes", nodes=nodes, snapshots=taken,
     idle_bytes_per_s=round(idle_rate))
