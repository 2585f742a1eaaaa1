"""Default campaigns of two source trees in one run, one after the other on the whole machine:
issue 16's "3x the distinct dynamo buckets, >= 90% of the TorchScript ones in 20 minutes".

    python scripts/measure_campaigns.py --before ../old --after . --minutes 20
    python scripts/measure_campaigns.py --before . --after . --after-args "--dynamo-share 0.9"

Each tree runs ``onnxfuzz fuzz --exporter both --seconds 60*M`` (the default campaign: both
exporters, special inputs, ``--workers`` workers) with its own code (``PYTHONPATH``) into a
fresh directory under ``--keep`` (or a temporary one); ``--before-args`` and ``--after-args`` add
options to one side (so one tree can be measured against itself with a changed option). The
campaigns run in turn, not at the same time, so each has every core, as a user's campaign does;
with ``--rounds 2`` the order is alternated (these machines are noisy).
(``scripts/measure_trees.py --side-by-side`` runs the two at the same time, one core each,
counting each tree's own bucket key.)

Printed per tree and exporter: cases, and the distinct coarse buckets by 5/10/20 minutes, with
the recorded key, with the key issue 16 counted its figures with (node names kept, dynamo crash
heads as they were: ``rehit_figures.old_bucket``) and with node names blanked as the fuzzer does now
(``node_blind_bucket``, both trees alike); then after/before ratios, and the issue's targets (dynamo >= 3x
its 73 buckets by 20 minutes, TorchScript >= 90% of its 260).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure_trees import buckets_by_time  # noqa: E402
from rehit_figures import distinct_buckets  # noqa: E402

#: issue 16's figures for the campaign it was filed against (distinct buckets by 20 minutes)
ISSUE_DYNAMO, ISSUE_TORCHSCRIPT = 73, 260


def campaign(tree: Path, out: Path, minutes: float, workers: int, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    cmd = [sys.executable, "-m", "fuzzer", "fuzz", "--exporter", "both", "--seconds", str(int(minutes * 60)),
           "--workers", str(workers), "--out", str(out), *extra]
    subprocess.run(cmd, env=env, cwd=str(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=minutes * 60 + 1800, check=True)
    cases = {e: d["cases"] for e, d in buckets_by_time(out).items()}
    marks = tuple(m * 60 for m in (5, 10, minutes))
    return {"dir": str(out), "cases": cases, "buckets": distinct_buckets(out, marks)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source tree of the baseline")
    ap.add_argument("--after", type=Path, default=Path("."), help="source tree measured against it (default: .)")
    ap.add_argument("--before-args", default="", help="extra `onnxfuzz fuzz` options for the baseline")
    ap.add_argument("--after-args", default="", help="extra `onnxfuzz fuzz` options for the other side")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="keep the campaign directories here (default: a temporary directory)")
    args = ap.parse_args(argv)
    for tree in (args.before, args.after):
        if not (tree / "fuzzer" / "__init__.py").is_file():
            print(f"{tree}: not a source tree of this project (no fuzzer/__init__.py)", file=sys.stderr)
            return 2
    if args.minutes <= 0 or args.workers < 1 or args.rounds < 1:
        print("--minutes must be > 0, --workers and --rounds >= 1", file=sys.stderr)
        return 2
    sides = {"before": (args.before, shlex.split(args.before_args)), "after": (args.after, shlex.split(args.after_args))}
    root = args.keep or Path(tempfile.mkdtemp(prefix="measure_campaigns."))
    root.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for k in range(args.rounds):
        for side in (("before", "after") if k % 2 == 0 else ("after", "before")):
            tree, extra = sides[side]
            out = root / f"{side}{k}"
            runs[side].append(campaign(tree, out, args.minutes, args.workers, extra))
            r = runs[side][-1]
            print(f"round {k} {side:6s} {out}: cases {r['cases']}", flush=True)
            for exporter, d in sorted(r["buckets"].items()):
                print(f"  {exporter:12s} buckets by 5/10/{args.minutes:g} min: {'/'.join(map(str, d['key']))} "
                      f"(issue 16's key: {'/'.join(map(str, d['old key']))}; node names blanked: {'/'.join(map(str, d['node-blind key']))})", flush=True)

    def final(side: str, exporter: str, key: str) -> float:
        vals = [r["buckets"].get(exporter, {}).get(key, [0, 0, 0])[-1] for r in runs[side]]
        return sum(vals) / len(vals)

    print(f"\nmean of {args.rounds} round(s), distinct buckets by {args.minutes:g} minutes:")
    for exporter in ("dynamo", "torchscript"):
        for key in ("old key", "node-blind key", "key"):
            b, a = final("before", exporter, key), final("after", exporter, key)
            print(f"  {exporter:12s} {key:15s} before {b:7.1f}  after {a:7.1f}  ratio {a / b if b else float('nan'):.2f}x")
    if args.minutes == 20:  # the issue's figures were counted with its own key ("old key"), so the targets are too
        d, t = final("after", "dynamo", "old key"), final("after", "torchscript", "old key")
        print(f"issue 16's targets: dynamo {d:.0f} >= {3 * ISSUE_DYNAMO} ({d / ISSUE_DYNAMO:.2f}x of {ISSUE_DYNAMO}): {'met' if d >= 3 * ISSUE_DYNAMO else 'not met'}; "
              f"TorchScript {t:.0f} >= {0.9 * ISSUE_TORCHSCRIPT:.0f}: {'met' if t >= 0.9 * ISSUE_TORCHSCRIPT else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
