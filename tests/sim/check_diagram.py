#!/usr/bin/env python3
"""Checks a space-time diagram (SVG) against the record of the run that drew it.

  check_diagram.py clreplay CLREPLAY CASE_DIR OUT.svg [expectations]
      replays the conformance case with --diagram; the replay's own record is the .snap text it prints.
  check_diagram.py ringsim RINGSIM OUT.svg [expectations] -- RINGSIM_FLAGS...
      runs ringsim with --diagram and --json; the record is the oracle's cuts in the "diagram" line
      (and the monitor's verdicts, for snapshots complete in the window).

Always: the SVG is well-formed XML; every recording point of the record is drawn, with its state, and
no other; per snapshot and channel, the tokens drawn as recorded in flight are exactly the ones
recorded (clreplay: their amounts, in order); each of them arrives after its receiver's recording
point and before that snapshot's marker on its channel; every snapshot with two points has its cut.
Expectations:
  --recorded-total N            N token arrows recorded in flight in all
  --recorded FROM:TO=N          N of them on channel FROM->TO
  --received-before-record FROM:TO:LANE   every token FROM->TO arrives before LANE records
  --received-after-record FROM:TO:LANE    ... after LANE records
  --min-recorded N / --faults KIND=N,...  (ringsim) the run shows at least N recorded tokens / these faults
  --same-as FILE                the SVG is byte for byte FILE (a committed picture stays current)
"""
import argparse
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

SVG = "{http://www.w3.org/2000/svg}"


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def classes(e):
    return set((e.get("class") or "").split())


def when(e, name):
    return (float(e.get(f"data-{name}")), int(e.get(f"data-{name}-seq")))


class Picture:
    """The plot's elements, read back from their attributes."""

    def __init__(self, path):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            raise Failed(f"{path} is not well-formed XML: {e}")
        check(root.tag == SVG + "svg", f"{path}: the root element is {root.tag}, not svg")
        groups = {g.get("id"): g for g in root.iter(SVG + "g") if g.get("id")}
        for gid in ("plot", "lanes", "axis", "legend"):
            check(gid in groups, f"{path}: no <g id=\"{gid}\">")
        plot = groups["plot"]
        self.lanes = [g.get("data-lane") for g in groups["lanes"] if "lane" in classes(g)]
        self.arrows = [g for g in plot if classes(g) & {"token", "marker", "start"}]
        self.tokens = [g for g in self.arrows if "token" in classes(g)]
        self.markers = [g for g in self.arrows if "marker" in classes(g)]
        self.records = [c for c in plot if "record" in classes(c)]
        self.cuts = [p for p in plot if "cut" in classes(p)]
        self.faults = [g for g in plot if "fault" in classes(g)]
        for a in self.arrows:
            check(a.get("data-from") in self.lanes and a.get("data-to") in self.lanes, f"an arrow between unknown lanes: {a.attrib}")
            if a.get("data-received") is not None:
                check(when(a, "sent") < when(a, "received"), f"an arrow arrives before it leaves: {a.attrib}")

    def recorded(self, snapshot):
        return [t for t in self.tokens if "recorded" in classes(t) and snapshot in t.get("data-recorded-by", "").split()]

    def record_of(self, lane, snapshot):
        rs = [r for r in self.records if r.get("data-lane") == lane and r.get("data-snapshot") == snapshot]
        check(len(rs) == 1, f"{len(rs)} recording points of {lane} for snapshot {snapshot}, expected 1")
        return rs[0]


def check_cut(pic, snapshot, points, channels):
    """points: {lane: state}; channels: {(src, dst): [labels] or count} as recorded."""
    drawn = {r.get("data-lane"): r.get("data-state") for r in pic.records if r.get("data-snapshot") == snapshot}
    check(set(drawn) == set(points), f"snapshot {snapshot}: recording points drawn at {sorted(drawn)}, recorded at {sorted(points)}")
    for lane, state in points.items():
        check(drawn[lane] == state, f"snapshot {snapshot}: {lane}'s point says state {drawn[lane]!r}, it recorded {state!r}")
    if len(points) > 1:
        check(any(c.get("data-snapshot") == snapshot for c in pic.cuts), f"snapshot {snapshot}: no cut drawn")
    rec = pic.recorded(snapshot)
    by_channel = defaultdict(list)
    for t in sorted(rec, key=lambda t: when(t, "received")):
        by_channel[(t.get("data-from"), t.get("data-to"))].append(t)
    for ch in set(by_channel) | set(channels):
        want = channels.get(ch, 0)
        got = by_channel.get(ch, [])
        if isinstance(want, list):
            labels = [t.get("data-label") for t in got]
            check(labels == want, f"snapshot {snapshot}: channel {ch[0]}->{ch[1]} drawn as recording {labels}, it recorded {want}")
        else:
            check(len(got) == want, f"snapshot {snapshot}: {len(got)} tokens drawn recorded in flight on {ch[0]}->{ch[1]}, it recorded {want}")
    # The rule the picture teaches: after the receiver recorded, before the channel's marker arrived.
    for (src, dst), ts in by_channel.items():
        point = when(pic.record_of(dst, snapshot), "at")
        marker = [m for m in pic.markers if (m.get("data-from"), m.get("data-to"), m.get("data-snapshot")) == (src, dst, snapshot)]
        for t in ts:
            check(when(t, "received") > point, f"snapshot {snapshot}: a token recorded on {src}->{dst} arrives before {dst} recorded")
            if marker and marker[0].get("data-received") is not None:
                check(when(t, "received") < when(marker[0], "received"), f"snapshot {snapshot}: a token recorded on {src}->{dst} arrives after the marker")
    return len(rec)


def parse_snap(text):
    snaps, cur = [], None
    for line in text.splitlines():
        f = line.split()
        if not f:
            cur = None
        elif cur is None:
            cur = {"id": f[0], "balances": {}, "channels": {}}
            snaps.append(cur)
        elif len(f) == 2:
            cur["balances"][f[0]] = f[1]
        else:
            cur["channels"].setdefault((f[0], f[1]), []).extend(f[2:])
    return snaps


def expectations(pic, args):
    rec = [t for t in pic.tokens if "recorded" in classes(t)]
    if args.recorded_total is not None:
        check(len(rec) == args.recorded_total, f"{len(rec)} tokens drawn recorded in flight, expected {args.recorded_total}")
    for spec in args.recorded:
        ch, n = spec.split("=")
        src, dst = ch.split(":")
        got = sum(1 for t in rec if (t.get("data-from"), t.get("data-to")) == (src, dst))
        check(got == int(n), f"{got} tokens drawn recorded in flight on {src}->{dst}, expected {n}")
    for spec, before in [(s, True) for s in args.received_before_record] + [(s, False) for s in args.received_after_record]:
        src, dst, lane = spec.split(":")
        ts = [t for t in pic.tokens if (t.get("data-from"), t.get("data-to")) == (src, dst)]
        points = [r for r in pic.records if r.get("data-lane") == lane]
        check(ts and points, f"no token {src}->{dst} or no recording point of {lane} drawn")
        for t in ts:
            for p in points:
                ok = when(t, "received") < when(p, "at") if before else when(t, "received") > when(p, "at")
                check(ok, f"the token {src}->{dst} arrives {'after' if before else 'before'} {lane} records (snapshot {p.get('data-snapshot')})")
    if args.min_recorded is not None:
        check(len(rec) >= args.min_recorded, f"only {len(rec)} tokens recorded in flight in the window; the check needs {args.min_recorded}")
    if args.faults:
        got = Counter(f.get("data-kind") for f in pic.faults)
        for spec in args.faults.split(","):
            kind, n = spec.split("=")
            check(got[kind] == int(n), f"{got[kind]} {kind} faults drawn, expected {n}")


def run_clreplay(args):
    case = args.target
    delays = "0"
    if os.path.exists(os.path.join(case, "delays")):
        delays = "".join(open(os.path.join(case, "delays")).read().split())
    out = subprocess.run([args.program, "--top", "case.top", "--events", "case.events", "--delays", delays, "--diagram", os.path.abspath(args.svg)],
                         cwd=case, capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, f"clreplay exit {out.returncode}: {out.stderr.strip()}")
    pic = Picture(args.svg)
    total = 0
    snaps = parse_snap(out.stdout)
    for s in snaps:
        total += check_cut(pic, s["id"], s["balances"], s["channels"])
    ids = {s["id"] for s in snaps}
    check({r.get("data-snapshot") for r in pic.records} == ids, "recording points drawn for snapshots never recorded")
    for t in pic.tokens:
        if "recorded" in classes(t):
            check(set(t.get("data-recorded-by").split()) <= ids, f"a token drawn recorded in flight by a snapshot never recorded: {t.attrib}")
    return pic, f"{len(snaps)} snapshot(s), {total} token(s) recorded in flight"


def run_ringsim(args):
    out = subprocess.run([args.program, *args.rest, "--diagram", args.svg, "--json"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, f"ringsim exit {out.returncode}: {out.stderr.strip()}")
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    diagram = [j for j in lines if j["event"] == "diagram"]
    check(len(diagram) == 1, "ringsim printed no diagram line")
    start, end = diagram[0]["window_us"]
    cuts = diagram[0]["cuts"]
    verdicts = {j["id"]: j for j in lines if j["event"] == "snapshot"}
    pic = Picture(args.svg)
    nodes = [lane for lane in pic.lanes if lane != "monitor"]
    by_snapshot = defaultdict(list)
    for c in cuts:
        by_snapshot[str(c["snapshot"])].append(c)
    drawn_points = {(r.get("data-lane"), r.get("data-snapshot")) for r in pic.records}
    check(drawn_points == {(str(c["node"]), str(c["snapshot"])) for c in cuts},
          f"recording points drawn {sorted(drawn_points)} differ from the oracle's cuts in the window")
    complete, total = 0, 0
    for snap, cs in by_snapshot.items():
        for c in cs:
            r = pic.record_of(str(c["node"]), snap)
            check(float(r.get("data-at")) == c["recorded_us"], f"snapshot {snap}: node {c['node']}'s point is drawn at {r.get('data-at')}, "
                  f"the oracle has it at {c['recorded_us']}")
        if len(cs) < len(nodes) or max(c["closed_us"] for c in cs) > end:
            continue  # its channels close after the window: what it records is not all drawn
        points = {str(c["node"]): f"{c['held']} token{'' if c['held'] == 1 else 's'}" for c in cs}
        preds = {n: nodes[(i - 1) % len(nodes)] for i, n in enumerate(nodes)}
        channels = {(preds[str(c["node"])], str(c["node"])): c["in_flight"] for c in cs}
        n = check_cut(pic, snap, points, channels)
        check(n == sum(c["in_flight"] for c in cs), f"snapshot {snap}: {n} tokens drawn recorded in flight, the oracle counted "
              f"{sum(c['in_flight'] for c in cs)}")
        v = verdicts.get(int(snap))
        if v and v["verdict"] != "inconclusive":
            check(v["in_flight"] == n, f"snapshot {snap}: the monitor's verdict counts {v['in_flight']} in flight, the diagram shows {n}")
        complete += 1
        total += n
    check(complete > 0, f"no snapshot complete in the window {start}..{end} us: nothing was checked")
    return pic, f"{complete} complete snapshot(s) in the window, {total} token(s) recorded in flight"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["clreplay", "ringsim"])
    p.add_argument("program")
    p.add_argument("target", help="clreplay: the case directory; ringsim: the SVG to write")
    p.add_argument("svg", nargs="?")
    p.add_argument("--recorded-total", type=int)
    p.add_argument("--recorded", action="append", default=[])
    p.add_argument("--received-before-record", action="append", default=[])
    p.add_argument("--received-after-record", action="append", default=[])
    p.add_argument("--min-recorded", type=int)
    p.add_argument("--faults")
    p.add_argument("--same-as")
    argv = sys.argv[1:]
    rest = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.rest = rest
    if args.mode == "ringsim":
        args.svg = args.target
    try:
        check(args.svg, "no SVG path given")
        pic, summary = run_clreplay(args) if args.mode == "clreplay" else run_ringsim(args)
        expectations(pic, args)
        if args.same_as:
            with open(args.svg, "rb") as a, open(args.same_as, "rb") as b:
                check(a.read() == b.read(), f"{args.same_as} is not what the diagram draws now (regenerate it: cp {args.svg} {args.same_as})")
    except Failed as e:
        print(f"check_diagram: {args.svg}: {e}", file=sys.stderr)
        return 1
    print(f"ok: {args.svg}: well-formed; {summary}; {len(pic.records)} recording point(s), {len(pic.faults)} fault(s) drawn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
