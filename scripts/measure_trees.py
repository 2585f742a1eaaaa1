"""Default campaigns of two source trees in one run (before/after a change).

Throughput (the default): runs ``onnxfuzz fuzz --seconds S`` (otherwise default options) from each
tree in turn, ``--rounds`` times, each into a fresh temporary directory, and prints cases per
second per exporter and the ratio after/before, with the load average at the start and the end.

Bugs found (``--side-by-side``): runs both trees' default campaigns *at the same time*, each with
``--workers`` workers (default 1: one core each on a 2-core machine, so load falls on both alike),
and prints per exporter the cases and the distinct buckets (each tree's own ``bucket`` key of
``results.jsonl``, limitations included) by 5, 10 and 20 minutes and at the end, with after/before
ratios. ``--keep DIR`` keeps both campaign directories (DIR/before, DIR/after) for a closer look.
Both trees use this Python.

    python scripts/measure_trees.py --before ../main --after . --seconds 75 --rounds 2
    python scripts/measure_trees.py --before ../base --after . --side-by-side --seconds 1200 --keep runs/trees
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def start(tree: Path, seconds: float, out: Path, extra: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    cmd = [sys.executable, "-m", "fuzzer", "fuzz", "--seconds", str(seconds), "--out", str(out), *extra]
    return subprocess.Popen(cmd, env=env, cwd=str(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def campaign(tree: Path, seconds: float, out: Path, extra: list[str]) -> dict:
    start(tree, seconds, out, extra).wait(timeout=seconds * 4 + 300)
    return read_summary(out)


def read_summary(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    # the generated-graphs arm alone: graphs per second of that arm's worker time (op jobs are
    # one-operator variants whose cost depends on which operators the plan reached)
    graphs: dict[str, int] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("op_job") is None:
            graphs[r["exporter"]] = graphs.get(r["exporter"], 0) + 1
    arms = summary.get("arms") or {}
    summary["graph_arm_rate"] = {e: n / max(1e-9, arms.get(f"{e}/graphs", {}).get("seconds", 0)) for e, n in graphs.items() if arms.get(f"{e}/graphs")}
    return summary


def rates(summary: dict) -> dict[str, float]:
    """Cases per second of campaign time, per exporter and in all (summary.json's verdict counts)."""
    elapsed = float(summary.get("elapsed") or 0) or 1.0
    out: dict[str, float] = {}
    for key, n in (summary.get("verdicts") or {}).items():
        exporter = key.split("/", 1)[0]
        out[exporter] = out.get(exporter, 0.0) + n / elapsed
    out["all"] = float(summary.get("cases", 0)) / elapsed
    for e, v in (summary.get("graph_arm_rate") or {}).items():
        out[f"{e} graphs per arm-second"] = v
    return out


MARKS = (300, 600, 1200)


def buckets_by_time(out: Path) -> dict[str, dict]:
    """Per exporter: cases, and distinct buckets first seen by each mark (s of campaign time) and
    in all, from ``results.jsonl`` (each line's ``bucket`` and ``t``)."""
    first: dict[str, dict[str, float]] = {}
    cases: dict[str, int] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        e = r.get("exporter", "?")
        cases[e] = cases.get(e, 0) + 1
        if r.get("bucket"):
            seen = first.setdefault(e, {})
            seen[r["bucket"]] = min(seen.get(r["bucket"], float("inf")), float(r.get("t") or 0))
    return {e: {"cases": cases[e], **{f"by {m // 60} min": sum(t <= m for t in first.get(e, {}).values()) for m in MARKS},
                "all": len(first.get(e, {}))} for e in sorted(cases)}


def side_by_side(args) -> int:
    load0 = os.getloadavg()
    extra = ["--workers", str(args.workers), *args.extra.split()]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        outs = {label: root / label for label in ("before", "after")}
        if any(o.exists() for o in outs.values()):
            print(f"{root}: holds a before/ or after/ campaign already; give another --keep", file=sys.stderr)
            return 2
        root.mkdir(parents=True, exist_ok=True)
        procs = {label: start(tree, args.seconds, outs[label], extra) for label, tree in (("before", args.before), ("after", args.after))}
        for p in procs.values():
            p.wait(timeout=args.seconds * 4 + 600)
        found = {label: buckets_by_time(o) for label, o in outs.items()}
    load1 = os.getloadavg()
    cols = ["cases", *(f"by {m // 60} min" for m in MARKS), "all"]
    print(f"{'exporter':<12} {'tree':<7} " + " ".join(f"{c:>14}" for c in cols))
    for e in sorted(set(found["before"]) | set(found["after"])):
        b, a = found["before"].get(e, {}), found["after"].get(e, {})
        print(f"{e:<12} {'before':<7} " + " ".join(f"{b.get(c, 0):>14}" for c in cols))
        print(f"{e:<12} {'after':<7} " + " ".join(f"{a.get(c, 0):>8} ({a.get(c, 0) / max(1, b.get(c, 0)):.2f}x)" for c in cols))
    print(json.dumps(found))
    print(f"buckets: each tree's own bucket key, limitations included; {args.workers} worker(s) per tree, both trees at the same time")
    print(f"load average at start {load0[0]:.1f}, at end {load1[0]:.1f}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source tree before the change")
    ap.add_argument("--after", type=Path, default=Path("."), help="source tree after the change (default: .)")
    ap.add_argument("--seconds", type=float, default=75.0, help="campaign seconds per run (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=2, help="before/after pairs (default: %(default)s)")
    ap.add_argument("--extra", default="", help="more fuzz flags, space-separated")
    ap.add_argument("--side-by-side", action="store_true", help="both trees at the same time; buckets found by time instead of throughput")
    ap.add_argument("--workers", type=int, default=1, help="--side-by-side: workers per tree (default: %(default)s)")
    ap.add_argument("--keep", default=None, help="--side-by-side: keep both campaign directories under this directory")
    args = ap.parse_args(argv)
    if args.side_by_side:
        return side_by_side(args)
    load0 = os.getloadavg()
    totals: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for label, tree in (("before", args.before), ("after", args.after)):
                s = campaign(tree, args.seconds, Path(tmp) / f"{label}{r}", args.extra.split())
                for e, v in rates(s).items():
                    totals[label].setdefault(e, []).append(v)
                print(f"round {r} {label}: " + ", ".join(f"{e} {v:.2f} cases/s" for e, v in rates(s).items()), flush=True)
    load1 = os.getloadavg()
    for e in sorted(set(totals["before"]) & set(totals["after"])):
        b = sum(totals["before"][e]) / len(totals["before"][e])
        a = sum(totals["after"][e]) / len(totals["after"][e])
        print(f"{e}: before {b:.2f} cases/s, after {a:.2f} cases/s, after/before {a / b:.2f}x")
    print(f"load average at start {load0[0]:.1f}, at end {load1[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
