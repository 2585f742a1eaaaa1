"""False-mismatch rate on known-good graphs, before and after the tolerance policy.

Usage: python scripts/false_positives.py [--graphs N] [--seed S] [--exporter torchscript|dynamo]
       [--ops all|known-good] [--max-nodes K] [--seconds T] [--json OUT]

Each seed's graph that passes on its first inputs is re-run on fresh inputs; every mismatch there
is a false mismatch (see fuzzer/campaign/false_positives.py). Rates are printed as ratios for the
dtype-only tolerance (before), the tolerance policy (after), the ties it calls ambiguous, and what
confirm_mismatch still confirms.

Some generated graphs kill the process (a SIGFPE inside the exporter or ONNX Runtime): the work
runs in a child process per chunk of seeds; a chunk that dies is resumed after the seed it was on,
which is counted as "crashed".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path


def child(args: argparse.Namespace) -> int:
    from fuzzer.case.false_positives import KNOWN_GOOD_OPS, rerun_known_good
    from fuzzer.export import ExportOptions, Exporter
    from fuzzer.generate import GeneratorOptions

    ops = KNOWN_GOOD_OPS if args.ops == "known-good" else ()
    gen = GeneratorOptions(max_nodes=args.max_nodes, ops=ops)
    deadline = time.monotonic() + args.seconds if args.seconds else None
    for seed in range(args.seed, args.seed + args.graphs):
        if deadline is not None and time.monotonic() > deadline:
            break
        print(json.dumps({"start": seed}), flush=True)
        for kind, rerun in rerun_known_good([seed], ExportOptions(Exporter(args.exporter)), gen):
            print(json.dumps({"seed": seed, "kind": kind, "rerun": rerun.to_dict() if rerun else None}), flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript")
    p.add_argument("--ops", choices=["all", "known-good"], default="all")
    p.add_argument("--max-nodes", type=int, default=8)
    p.add_argument("--seconds", type=float, default=None, help="stop starting new graphs after this long")
    p.add_argument("--json", type=Path, help="write the full report (with examples) here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.graphs < 1 or args.max_nodes < 1:
        print("false_positives: --graphs and --max-nodes must be >= 1", file=sys.stderr)
        return 2
    if args.child:
        return child(args)
    t0 = time.monotonic()
    end = args.seed + args.graphs
    seed = args.seed
    graphs, skipped, reruns, crashed = 0, Counter(), [], []
    while seed < end:
        left = None if args.seconds is None else args.seconds - (time.monotonic() - t0)
        if left is not None and left <= 0:
            break
        cmd = [sys.executable, __file__, "--child", "--graphs", str(end - seed), "--seed", str(seed), "--exporter", args.exporter, "--ops", args.ops, "--max-nodes", str(args.max_nodes)]
        if left is not None:
            cmd += ["--seconds", str(left)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        current = None
        for line in proc.stdout.splitlines():
            rec = json.loads(line)
            if "start" in rec:
                current = rec["start"]
                continue
            current = None
            graphs += 1
            if rec["kind"] == "rerun":
                reruns.append(rec["rerun"])
            else:
                skipped[rec["kind"].removeprefix("skipped:")] += 1
        if proc.returncode == 0:
            break
        if current is None:  # died before starting a seed: not a per-graph crash
            print(f"false_positives: child failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1
        graphs += 1
        crashed.append(current)
        skipped[f"crashed (signal {-proc.returncode})" if proc.returncode < 0 else f"crashed (exit {proc.returncode})"] += 1
        seed = current + 1
    n = len(reruns)
    count = {
        "dtype_only": sum(r["dtype_only_mismatch"] for r in reruns),
        "policy": sum(r["policy_verdict"] not in ("pass", "ambiguous", "eager_error") for r in reruns),
        "ambiguous": sum(r["policy_verdict"] == "ambiguous" for r in reruns),
        "confirmed": sum(r["confirmation"] == "confirmed" for r in reruns),
    }
    print(f"false_positives: exporter {args.exporter}, ops {args.ops}, seeds {args.seed}..{args.seed + graphs - 1}, {time.monotonic() - t0:.0f}s")
    print(f"  graphs {graphs}, known-good (pass on first inputs) {n}, skipped {dict(skipped)}")
    if crashed:
        print(f"  seeds whose case killed the process: {crashed}")
    print(f"  false mismatches on fresh inputs, dtype-only tolerance (before): {count['dtype_only']}/{n}")
    print(f"  false mismatches on fresh inputs, tolerance policy (after):      {count['policy']}/{n}  (+ {count['ambiguous']}/{n} ties, ambiguous)")
    print(f"  of those, still confirmed by confirm_mismatch (not noise):       {count['confirmed']}/{n}")
    for r in reruns:
        if r["dtype_only_mismatch"] or r["policy_verdict"] != "pass":
            print(f"    seed {r['seed']}: dtype-only {'mismatch' if r['dtype_only_mismatch'] else 'ok'}, policy {r['policy_verdict']}, confirm {r['confirmation']}: {(r['head'] or '')[:110]}")
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps({"args": {k: v for k, v in vars(args).items() if k != "json"}, "graphs": graphs, "skipped": dict(skipped), "counts": count, "crashed_seeds": crashed, "reruns": reruns}, indent=1, default=str) + "\n")
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
