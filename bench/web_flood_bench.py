#!/usr/bin/python3
"""The dashboard under a flood: a 5-node ring (hold_ms 20) watched by `monitor --http` with
interval_ms 20, first quiet for 10 s, then for 20 s while another process holds 15,000 idle TCP
connections and 1,000 `GET /events` streams to the dashboard's port (reopening any the server
closes). The snapshot loop must not notice: the largest gap between two verdicts (the monitor's
own `decided_us` clock) under the flood against the quiet phase of the same run, and no false
event (node_down, alarm) during the flood.

Usage: web_flood_bench.py BIN_DIR [IDLE=15000] [STREAMS=1000] [SECONDS=20]
       web_flood_bench.py --flood PORT IDLE STREAMS SECONDS     (the flooding process)"""
import errno
import os
import resource
import socket
import subprocess
import sys
import time

from ringbench import Ring, emit, fail, pid_stat, quantile


def flood(port, idle, streams, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    conns = []  # [socket, wants_events, request_sent]

    def opened(wants_events):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        return [s, wants_events, False]

    for i in range(idle + streams):
        conns.append(opened(i < streams))
    print(f"opened {len(conns)}", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in conns:
            s, wants_events, sent = c
            if wants_events and not sent:
                try:
                    s.send(request)
                    c[2] = True
                except (BlockingIOError, OSError):
                    pass
            try:
                data = s.recv(65536, socket.MSG_PEEK)
                gone = data == b""
            except BlockingIOError:
                gone = False
            except OSError as e:
                gone = e.errno not in (errno.EAGAIN, errno.ENOTCONN)
            if gone:  # the server let it go: another takes its place
                s.close()
                c[:] = opened(wants_events)
        time.sleep(0.5)
    for c in conns:
        c[0].close()


if len(sys.argv) > 1 and sys.argv[1] == "--flood":
    flood(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    sys.exit(0)

bin_dir = sys.argv[1]
idle = int(sys.argv[2]) if len(sys.argv) > 2 else 15000
streams = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0

http_port = subprocess.run([f"{bin_dir}/free_ports", "1"], capture_output=True, text=True, check=True).stdout.split()[0]
ring = Ring(bin_dir, 5, hold_ms=20, name="webflood", monitor={"interval_ms": 20})
ring.start_nodes()
monitor = ring.start_monitor("--http", f"127.0.0.1:{http_port}")
ring.wait_until("web_flood", "the ring to be healthy", lambda: ring.count("snapshot", verdict="ok") >= 10, 20)


def phase(duration, flooding):
    start = len(ring.events)
    flooder = None
    if flooding:
        flooder = subprocess.Popen([sys.executable, __file__, "--flood", http_port, str(idle), str(streams), str(duration)],
                                   stdout=subprocess.DEVNULL)
    rss = 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        ring.run_for(1)
        rss = max(rss, pid_stat(monitor.pid)[1])
    if flooder:
        flooder.wait()
    events = ring.events[start:]
    decided = [e["decided_us"] for e in events if e.get("event") == "snapshot" and "decided_us" in e]
    if len(decided) < 2:
        ring.close()
        fail("web_flood", f"{len(decided)} verdicts in {duration} s{' under the flood' if flooding else ''}")
    gaps = [(b - a) / 1000 for a, b in zip(decided, decided[1:])]
    false = {kind: sum(1 for e in events if e.get("event") == kind) for kind in ("node_down", "alarm")}
    return max(gaps), quantile(gaps, 0.99), len(decided), false, rss


quiet_max, quiet_p99, quiet_n, _, quiet_rss = phase(10, False)
flood_max, flood_p99, flood_n, false, flood_rss = phase(seconds, True)
ring.close()
load = f"{idle} idle connections + {streams} /events streams"
emit(bench="web_flood", case=f"largest gap between verdicts under {load}", value=round(flood_max, 1), unit="ms",
     baseline=round(quiet_max, 1), baseline_name="the same ring, no web clients (same run)", ratio=round(flood_max / quiet_max, 2),
     p99_ms=round(flood_p99, 1), quiet_p99_ms=round(quiet_p99, 1), verdicts=flood_n, quiet_verdicts=quiet_n, interval_ms=20)
emit(bench="web_flood", case=f"false node_down under {load}", value=false["node_down"], unit="events")
emit(bench="web_flood", case=f"alarms under {load}", value=false["alarm"], unit="events")
emit(bench="web_flood", case=f"monitor resident memory under {load}", value=flood_rss, unit="kB", baseline=quiet_rss,
     baseline_name="no web clients (same run)")
