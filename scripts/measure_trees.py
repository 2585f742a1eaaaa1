"""Default-campaign throughput of two source trees in one run (before/after a change), alternating.

Runs ``onnxfuzz fuzz --seconds S`` (otherwise default options) from each tree in turn, ``--rounds``
times, each into a fresh temporary directory, and prints cases per second per exporter and the
ratio after/before, with the load average at the start and the end. Both trees use this Python.

    python scripts/measure_trees.py --before ../main --after . --seconds 75 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def campaign(tree: Path, seconds: float, out: Path, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    cmd = [sys.executable, "-m", "fuzzer", "fuzz", "--seconds", str(seconds), "--out", str(out), *extra]
    subprocess.run(cmd, env=env, cwd=str(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds * 4 + 300)
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source tree before the change")
    ap.add_argument("--after", type=Path, default=Path("."), help="source tree after the change (default: .)")
    ap.add_argument("--seconds", type=float, default=75.0, help="campaign seconds per run (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=2, help="before/after pairs (default: %(default)s)")
    ap.add_argument("--extra", default="", help="more fuzz flags, space-separated")
    args = ap.parse_args(argv)
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
