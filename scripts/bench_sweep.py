"""Sweep throughput of two source trees in one run (before/after a change), for issue 16's
"a dynamo sweep of the whole catalog in under an hour".

Runs ``onnxfuzz sweep --exporter E --sample N --workers W`` from each tree in turn, ``--rounds``
times (order alternated: these machines are noisy), each into a fresh temporary directory, and
prints per run the jobs, the cases, the seconds spent running jobs (elapsed less planning), jobs
per second, and at the end the after/before ratio of jobs per second and the hours the whole plan
would take at the after tree's rate. Both trees use this Python.

    python scripts/bench_sweep.py --before ../old --after . --sample 200 --rounds 2
    python scripts/bench_sweep.py --before ../old --after . --op-subset 20 --rounds 1

``--sample`` spreads whole graphs evenly over the plan, so consecutive graphs are of different
operators and the crash memory of a worker (a graph whose operator crashed before is exported
alone, not in a batch it would break) rarely applies; in the whole sweep, graphs of one operator
come one after another. ``--op-subset K`` runs instead every job of K catalog operators drawn
with a fixed seed (``--subset-seed``), in plan order, as the whole sweep would run them: the rate
to extrapolate the whole plan from.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def sweep(tree: Path, out: Path, exporter: str, sample: int | None, workers: int, ops: list[str] | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    which = ["--ops", ",".join(ops)] if ops else ["--sample", str(sample)]
    cmd = [sys.executable, "-m", "fuzzer", "sweep", "--exporter", exporter, *which, "--workers", str(workers), "--out", str(out)]
    subprocess.run(cmd, env=env, cwd=str(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=7200, check=True)
    s = json.loads((out / "summary.json").read_text())
    run = max(1e-9, s["elapsed"] - s["plan_seconds"])
    return {"jobs": s["jobs_done"], "cases": s["cases"], "seconds": round(run, 1), "jobs_per_s": s["jobs_done"] / run, "jobs_total": s["jobs_total"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="source tree before the change")
    ap.add_argument("--after", type=Path, default=Path("."), help="source tree after the change (default: .)")
    ap.add_argument("--exporter", default="dynamo", choices=("dynamo", "torchscript"))
    ap.add_argument("--sample", type=int, default=200, help="jobs per run (evenly spread over the plan)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--op-subset", type=int, default=None, metavar="K", help="run every job of K catalog operators instead of --sample")
    ap.add_argument("--subset-seed", type=int, default=0)
    args = ap.parse_args(argv)
    ops, total = None, 0
    if args.op_subset is not None:
        import random

        sys.path.insert(0, str(args.after.resolve()))
        from fuzzer.catalog import CATALOG

        names = sorted(CATALOG)
        if not 1 <= args.op_subset <= len(names):
            print(f"--op-subset must be between 1 and {len(names)} (the catalog's operators)", file=sys.stderr)
            return 2
        ops = sorted(random.Random(args.subset_seed).sample(names, args.op_subset))
        print(f"operators: {', '.join(ops)}")
        from fuzzer.export import Exporter
        from fuzzer.sweep.plan import SweepConfig, enumerate_jobs

        total = sum(1 for _ in enumerate_jobs(SweepConfig(exporters=(Exporter(args.exporter),))))
    rates: dict[str, list[float]] = {"before": [], "after": []}
    print(f"load at start: {os.getloadavg()[0]:.1f}")
    for k in range(args.rounds):
        order = ("before", "after") if k % 2 == 0 else ("after", "before")
        for name in order:
            with tempfile.TemporaryDirectory() as tmp:
                r = sweep(getattr(args, name), Path(tmp) / "sweep", args.exporter, args.sample, args.workers, ops)
            rates[name].append(r["jobs_per_s"])
            total = r["jobs_total"] if ops is None else total
            print(f"round {k + 1} {name:6}: {r['jobs']} jobs, {r['cases']} cases in {r['seconds']} s: {r['jobs_per_s']:.2f} jobs/s")
    before, after = (sum(v) / len(v) for v in (rates["before"], rates["after"]))
    print(f"load at end: {os.getloadavg()[0]:.1f}")
    print(f"jobs/s: before {before:.2f}, after {after:.2f}: after/before {after / before:.2f}x")
    print(f"the whole plan ({total} jobs) at the after rate: {total / after / 3600:.2f} h (before: {total / before / 3600:.2f} h)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
