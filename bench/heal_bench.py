#!/usr/bin/python3
"""How fast the ring heals around a dead node: a 5-node ring (hold_ms 5) and `monitor --json` with
interval_ms 20 on 127.0.0.1 (views on, evict_after_ms 5000). Each trial SIGKILLs the middle node
(node 2), taking the monotonic time just before the signal, and measures until
  - the new view's token is born (the issuer's `issued` event for the view's epoch, on the node's
    own monotonic clock: the same clock as this script's),
  - the first ok verdict of the ring of four (the monitor's `decided_us`): the token circulates
    among the others again and a snapshot has seen exactly one;
then starts node 2 again and measures until the view of five is taken (the monitor's `view` event)
and an ok verdict of the five. Corosync (../shared/anchors): 3235 ms to declare the token lost
after a SIGKILL with default settings, 7615 ms to a new membership.

Usage: heal_bench.py BIN_DIR [TRIALS=20]"""
import signal
import statistics
import sys
import time

from ringbench import Ring, emit, fail, quantile

bin_dir = sys.argv[1]
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 20
VICTIM = 2

ring = Ring(bin_dir, 5, hold_ms=5, name="heal", monitor={"interval_ms": 20, "timeout_ms": 1000, "node_timeout_ms": 1000, "evict_after_ms": 5000})
ring.start_nodes()
ring.start_monitor()
ring.wait_until("heal", "the ring to be healthy", lambda: ring.count("snapshot", verdict="ok") >= 10, 20)


def views(members):
    return [e for e in ring.events if e.get("event") == "view" and e.get("members") == members]


def ok_of(members, after_us):
    return [e for e in ring.events if e.get("event") == "snapshot" and e.get("verdict") == "ok" and e.get("members") == members and e["decided_us"] > after_us]


four = [n for n in range(5) if n != VICTIM]
born, healed, rejoined, whole = [], [], [], []
for t in range(trials):
    seen_views = len(views(four))
    proc = ring.procs[f"node{VICTIM}"]
    kill_us = time.monotonic() * 1e6
    proc.send_signal(signal.SIGKILL)
    ring.wait_until("heal", f"trial {t}: a view of the four others", lambda: len(views(four)) > seen_views, 10)
    epoch = views(four)[-1]["epoch"]
    ring.wait_until("heal", f"trial {t}: the view's token", lambda: any(e.get("event") == "issued" and e.get("epoch") == epoch for e in ring.node_events), 10)
    issued = next(e for e in ring.node_events if e.get("event") == "issued" and e.get("epoch") == epoch)
    born.append((issued["mono_us"] - kill_us) / 1000)
    ring.wait_until("heal", f"trial {t}: an ok verdict of the four", lambda: ok_of(four, kill_us), 10)
    healed.append((ok_of(four, kill_us)[0]["decided_us"] - kill_us) / 1000)
    proc.wait()
    seen_whole = len(views(list(range(5))))
    start_us = time.monotonic() * 1e6
    ring.start_node(VICTIM)
    ring.wait_until("heal", f"trial {t}: the view of five", lambda: len(views(list(range(5)))) > seen_whole, 10)
    rejoined.append((time.monotonic() * 1e6 - start_us) / 1000)
    ring.wait_until("heal", f"trial {t}: an ok verdict of the five", lambda: ok_of(list(range(5)), start_us), 10)
    whole.append((ok_of(list(range(5)), start_us)[0]["decided_us"] - start_us) / 1000)
alarms = ring.count("alarm")
ring.close()

for case, xs, baseline, name in (
    ("SIGKILL to the new view's token born", born, 7615.0, "corosync new membership after SIGKILL (anchors)"),
    ("SIGKILL to an ok verdict of the ring without it", healed, 7615.0, "corosync new membership after SIGKILL (anchors)"),
    ("restart to the view with it taken", rejoined, None, None),
    ("restart to an ok verdict of the whole ring", whole, None, None),
):
    for q, value in (("p50", statistics.median(xs)), ("p99", quantile(xs, 0.99)), ("max", max(xs))):
        fields = dict(bench="heal", case=f"{case} {q}", value=round(value, 1), unit="ms", trials=trials, interval_ms=20)
        if baseline:
            fields.update(baseline=baseline, baseline_name=name, ratio=round(value / baseline, 4))
        emit(**fields)
emit(bench="heal", case="token alarms during the kills", value=alarms, unit="alarms", trials=trials,
     note="a view replaces the token the dead node took: no alarm is expected")
if alarms:
    fail("heal", f"{alarms} token alarm(s) while the ring healed around a killed node")
