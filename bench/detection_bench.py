#!/usr/bin/python3
"""Detection latency: from the moment an injected token fault takes effect (the node's own
monotonic timestamp in its JSON event (`ring node --json`) when it drops the token or passes it on twice) to the monitor's decision
of the alarm (its verdict's monotonic decision time, `decided_us`); one machine, one clock.

A 5-node ring (hold_ms 20) and `monitor --json --recover regenerate` with interval_ms 20 on
127.0.0.1. Each trial injects a fault at the next node (round robin), waits for it to take effect,
for the alarm, the recovery and 3 ok snapshots. Faults alternate lose / duplicate. One JSON line per
fault kind (p50, p99, max) and one for the whole run against the target (p99 <= interval + 10 ms).
Recovery time too: alarm to `recovered` (the monitor's since_alarm_ms), for the recovery mode used;
with a mode other than regenerate only the recovery lines are printed.

With COST_SECONDS > 0, first what watching at that interval costs, measured on the healthy ring for
that long: CPU per node and of the monitor (share of one core), and the bytes per second every node
and the monitor send (UDP payloads); detection_cost_bench.py compares them with a ring without a
monitor.

Usage: detection_bench.py BIN_DIR [TRIALS_PER_KIND=200] [RECOVER_MODE=regenerate] [INTERVAL_MS=20] [COST_SECONDS=0]"""
import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time

from ringbench import pid_stat, quantile

bin_dir = sys.argv[1]
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 200
mode = sys.argv[3] if len(sys.argv) > 3 else "regenerate"
interval_ms = int(sys.argv[4]) if len(sys.argv) > 4 else 20
cost_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
nodes = 5
work = tempfile.mkdtemp(prefix="ringwatch-detect-")
ports = subprocess.run([f"{bin_dir}/free_ports", str(nodes + 1)], capture_output=True, text=True, check=True).stdout.split()
config = f"{work}/ring.toml"
with open(config, "w") as f:
    f.write(f'[ring]\nname = "detect"\nhold_ms = 20\n\n[monitor]\naddress = "127.0.0.1:{ports[0]}"\n'
            f"interval_ms = {interval_ms}\ntimeout_ms = 500\nnode_timeout_ms = 1000\n")
    for i in range(nodes):
        f.write(f'\n[[nodes]]\nid = {i}\naddress = "127.0.0.1:{ports[i + 1]}"\n')

procs = []
sel = selectors.DefaultSelector()


def start(args, tag):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.set_blocking(p.stdout.fileno(), False)
    sel.register(p.stdout, selectors.EVENT_READ, (tag, bytearray()))
    procs.append(p)


for i in range(nodes):
    start([f"{bin_dir}/ring", "node", config, "--id", str(i), "--json"], f"node{i}")
start([f"{bin_dir}/monitor", config, "--json", "--recover", mode], "monitor")

effects, alarms, recovered, ok_since = [], [], 0, 0
recovery_ms = []
verdicts = []  # (decided_us, started_us, verdict) of every snapshot: what came before a late alarm
tails = []     # trials slower than the target: what the monitor did in between


def pump(deadline):
    """Reads what the processes printed until `deadline`; returns when something was read."""
    global recovered, ok_since
    for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
        tag, buf = key.data
        chunk = key.fileobj.read()
        if not chunk:
            continue
        buf += chunk
        *lines, rest = buf.split(b"\n")
        buf[:] = rest
        for raw in lines:
            line = raw.decode(errors="replace")
            if tag.startswith("node"):
                # A fault taking effect: its node's JSON event, on the monotonic clock the monitor's decided_us uses.
                if line.startswith("{") and (e := json.loads(line))["event"] in ("lost_by_fault", "duplicated_by_fault"):
                    effects.append(e["mono_us"])
            elif line.startswith("{"):
                e = json.loads(line)
                if e.get("event") == "alarm":
                    alarms.append((e["kind"], e["decided_us"]))
                elif e.get("event") == "recovered":
                    recovered += 1
                    recovery_ms.append(e["since_alarm_ms"])
                    ok_since = 0
                elif e.get("event") == "snapshot":
                    verdicts.append((e["decided_us"], e["decided_us"] - e["duration_us"], e["verdict"]))
                    if e["verdict"] == "ok":
                        ok_since += 1


def wait_until(what, cond, seconds=10):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            print(json.dumps({"bench": "detection", "error": f"waited {seconds} s for {what}"}))
            sys.exit(1)
        pump(deadline)


results = {"lose": [], "duplicate": []}
try:
    wait_until("the ring to be healthy", lambda: ok_since >= 10, 20)
    if cost_seconds > 0:
        def sent():
            out = subprocess.run([f"{bin_dir}/ring", "status", config, "--json"], capture_output=True, text=True, timeout=10).stdout
            st = json.loads(out)
            return sum(n.get("bytes_sent", 0) for n in st["nodes"]) + (st["monitor"] or {}).get("bytes_sent", 0)
        cpu0, bytes0, t0 = [pid_stat(p.pid)[0] for p in procs], sent(), time.monotonic()
        deadline = t0 + cost_seconds
        while time.monotonic() < deadline:
            pump(deadline)
        cpu1, bytes1, t1 = [pid_stat(p.pid)[0] for p in procs], sent(), time.monotonic()
        share = [(b - a) / (t1 - t0) * 100 for a, b in zip(cpu0, cpu1)]
        for case, value, unit in (("CPU per node", statistics.mean(share[:nodes]), "% of a core"), ("CPU of the monitor", share[nodes], "% of a core"),
                                  ("bytes sent per second, all", (bytes1 - bytes0) / (t1 - t0), "B/s")):
            print(json.dumps({"bench": "watching_cost", "case": f"interval {interval_ms} ms: {case}", "value": round(value, 2), "unit": unit,
                              "interval_ms": interval_ms, "seconds": round(t1 - t0, 1)}), flush=True)
    for t in range(2 * trials):
        kind = "lose" if t % 2 == 0 else "duplicate"
        node = t % nodes
        n_effects, n_alarms, n_recovered = len(effects), len(alarms), recovered
        subprocess.run([f"{bin_dir}/ring", "inject", config, "--node", str(node), kind], check=True, capture_output=True)
        wait_until(f"trial {t}: the fault to take effect", lambda: len(effects) > n_effects)
        wait_until(f"trial {t}: the alarm", lambda: len(alarms) > n_alarms)
        alarm_kind, decided = alarms[n_alarms]
        expected = "token_lost" if kind == "lose" else "token_duplicated"
        if alarm_kind != expected:
            print(json.dumps({"bench": "detection", "error": f"trial {t}: {kind} raised {alarm_kind}"}))
            sys.exit(1)
        effect = effects[n_effects]
        results[kind].append((decided - effect) / 1000.0)
        if decided - effect > (interval_ms + 10) * 1000:
            # Snapshots started after the fault took effect but judged it ok or inconclusive, and how late
            # the first start after the fault came: a late alarm is one of those, or a slow snapshot.
            after = [(d, st, v) for d, st, v in verdicts if st >= effect and d < decided]
            starts = [st for d, st, v in verdicts if st >= effect]
            tails.append({"kind": kind, "ms": round((decided - effect) / 1000.0, 1),
                          "first_start_after_ms": round((min(starts) - effect) / 1000.0, 1) if starts else None,
                          "judged_before": [v for d, st, v in after]})
        wait_until(f"trial {t}: the recovery", lambda: recovered > n_recovered and ok_since >= 3)
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()

target = interval_ms + 10

for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
    print(json.dumps({"bench": "recovery", "case": f"{mode} alarm to recovered {name}", "value": quantile(recovery_ms, q), "unit": "ms",
                      "faults": len(recovery_ms), "interval_ms": interval_ms}))
if mode != "regenerate":
    sys.exit(0)
print(json.dumps({"bench": "detection", "case": "trials over the target", "value": len(tails), "unit": "trials",
                  "target_ms": interval_ms + 10, "trials": tails[:20]}))
everything = results["lose"] + results["duplicate"]
for kind, xs in results.items():
    for name, value in [("p50", statistics.median(xs)), ("p99", quantile(xs, 0.99)), ("max", max(xs))]:
        print(json.dumps({"bench": "detection", "case": f"{kind} {name}", "value": round(value, 2), "unit": "ms", "trials": len(xs),
                          "interval_ms": interval_ms, "baseline": 3235.0, "baseline_name": "corosync default token loss (anchors)",
                          "ratio": round(value / 3235.0, 5)}))
p99 = quantile(everything, 0.99)
print(json.dumps({"bench": "detection", "case": "all p99", "value": round(p99, 2), "unit": "ms", "trials": len(everything),
                  "target": f"<= {target} ms", "met": p99 <= target}))
