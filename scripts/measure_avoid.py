"""Known-bug avoidance and cutting past known failures, against the old behaviour, side by side.

    python scripts/measure_avoid.py --seconds 300 --after 60 --known findings

Runs equal-time campaigns *at the same time* (one process each, ``--workers`` each, so the
machine's load falls on every arm alike), each a real campaign (:func:`fuzzer.campaign.run_campaign`:
both exporters, special inputs, both arms of cases, minimization on) with the same first seed:

- ``old``: the behaviour before issue 17: graphs of 1..max nodes, no avoidance, no cutting;
- ``new``: the defaults (CAMPAIGN_MIN_NODES, avoidance and cutting on, ``--known`` stores learnt);
- ``nocut`` / ``noavoid`` / ``min1`` (on request, ``--arms``): the defaults with one part off.

Printed per arm and exporter, over the generated-graph cases finished after ``--after`` seconds of
campaign time (one-operator jobs of the sweep plan are left out: they re-test known operators on
purpose and have one operator): the share that ended on a bucket the campaign already knew (its
coarse bucket appeared earlier in the campaign), the mean operator count of the graphs that
reached ONNX Runtime (verdict pass, ambiguous, a mismatch or an ORT failure), cases, cases cut;
and per arm the buckets and findings. Ratios are to the first arm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Verdicts of cases whose model was handed to ONNX Runtime.
REACHED_ORT = {"pass", "ambiguous", "numeric_mismatch", "shape_or_dtype_mismatch", "ort_load_failure", "ort_run_crash"}
ARMS = ("old", "new", "nocut", "noavoid", "min1")


def config_of(arm: str, seconds: float, seed: int, workers: int, known: list[str]):
    from fuzzer.campaign import CampaignConfig
    from fuzzer.generate import GeneratorOptions

    base = CampaignConfig(seconds=seconds, seed=seed, workers=workers, known=tuple(known), stats_period=10.0)
    if arm == "old":
        return CampaignConfig(seconds=seconds, seed=seed, workers=workers, generator=GeneratorOptions(), avoid=False, cut=False, stats_period=10.0)
    if arm == "nocut":
        return CampaignConfig(**{**_fields(base), "cut": False})
    if arm == "noavoid":
        return CampaignConfig(**{**_fields(base), "avoid": False})
    if arm == "min1":
        return CampaignConfig(**{**_fields(base), "generator": GeneratorOptions()})
    return base


def _fields(c) -> dict:
    import dataclasses

    return {f.name: getattr(c, f.name) for f in dataclasses.fields(c)}


def run_arm(arm: str, out: Path, seconds: float, seed: int, workers: int, known: list[str]) -> None:
    """One campaign (the child process's job)."""
    from fuzzer.campaign import CampaignStats, run_campaign

    stats = CampaignStats()
    for _ in run_campaign(config_of(arm, seconds, seed, workers, known), out, [], stats):
        pass
    (out / "measure.json").write_text(json.dumps({"known_triggers": stats.known_triggers, "findings": stats.findings.new_buckets if stats.findings else 0,
                                                  "interactions": getattr(stats.findings, "interactions", 0)}) + "\n")


def figures(out: Path, after: float) -> dict:
    """The arm's figures from its results.jsonl (see the module docstring)."""
    from fuzzer.campaign.stats import read_results

    lines = read_results(out / "results.jsonl")
    seen: set[str] = set()
    per: dict[str, dict] = {}
    for r in lines:
        b = r.get("bucket")
        graph_case = r.get("op_job") is None and not r.get("mutant")
        if graph_case and r.get("t", 0.0) >= after:
            e = per.setdefault(r["exporter"], {"cases": 0, "rehit": 0, "ort": 0, "ort_ops": 0, "cut": 0})
            e["cases"] += 1
            e["rehit"] += bool(b) and b in seen
            e["cut"] += bool(r.get("cuts"))
            if r["verdict"] in REACHED_ORT:
                e["ort"] += 1
                e["ort_ops"] += r.get("n_nodes", 0)
        if b:
            seen.add(b)
    for e in per.values():
        e["rehit_share"] = round(e["rehit"] / e["cases"], 3) if e["cases"] else None
        e["mean_ops_at_ort"] = round(e["ort_ops"] / e["ort"], 2) if e["ort"] else None
    extra = json.loads((out / "measure.json").read_text()) if (out / "measure.json").exists() else {}
    total = {"cases": sum(e["cases"] for e in per.values()), "rehit": sum(e["rehit"] for e in per.values()),
             "ort": sum(e["ort"] for e in per.values()), "ort_ops": sum(e["ort_ops"] for e in per.values())}
    total["rehit_share"] = round(total["rehit"] / total["cases"], 3) if total["cases"] else None
    total["mean_ops_at_ort"] = round(total["ort_ops"] / total["ort"], 2) if total["ort"] else None
    return {"per_exporter": per, "all": total, "buckets": len(seen), "all_cases": len(lines), **extra}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300.0, help="campaign time per arm (the arms run at the same time)")
    ap.add_argument("--after", type=float, default=60.0, help="count cases finished after this much campaign time")
    ap.add_argument("--arms", default="old,new", help=f"comma-separated, among {', '.join(ARMS)} (the first is the baseline)")
    ap.add_argument("--known", action="append", default=[], metavar="DIR", help="findings stores the new arms learn (e.g. findings)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1, help="workers per arm")
    ap.add_argument("--out", type=Path, help="keep the arms' campaign directories here (must not exist)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--run-arm", nargs=2, metavar=("ARM", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    known = [str(Path(k).resolve()) for k in args.known]
    if args.run_arm:
        run_arm(args.run_arm[0], Path(args.run_arm[1]), args.seconds, args.seed, args.workers, known)
        return 0
    arms = args.arms.split(",")
    bad = [a for a in arms if a not in ARMS]
    if bad or any(not Path(k).is_dir() for k in known):
        print(f"measure_avoid: unknown arms {bad}" if bad else "measure_avoid: --known must name directories", file=sys.stderr)
        return 2
    if args.out is not None and args.out.exists():
        print(f"measure_avoid: {args.out} exists; pick a new --out", file=sys.stderr)
        return 2
    tmp = None
    root = args.out
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-measure-")
        root = Path(tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    try:
        load_before = os.getloadavg()
        procs = []
        for a in arms:
            cmd = [sys.executable, __file__, "--run-arm", a, str(root / a), "--seconds", str(args.seconds), "--seed", str(args.seed),
                   "--workers", str(args.workers)] + [x for k in known for x in ("--known", k)]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(root / f"{a}.log", "w")))
        for p in procs:
            p.wait()
        load_after = os.getloadavg()
        rows = {a: figures(root / a, args.after) for a in arms}
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(f"arms side by side, {args.seconds:.0f}s each, {args.workers} worker(s) each, counting after {args.after:.0f}s; "
          f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min)")
    base = rows[arms[0]]

    def ratio(v, b):
        return f"{v} ({v / b:.2f}x)" if isinstance(v, (int, float)) and isinstance(b, (int, float)) and b else str(v)

    for a in arms:
        r = rows[a]
        print(f"[{a}] buckets {ratio(r['buckets'], base['buckets'])}, findings {ratio(r.get('findings'), base.get('findings'))}, "
              f"known triggers {r.get('known_triggers')}, cases (all arms of cases) {r['all_cases']}")
        for e in sorted(set(r["per_exporter"]) | {"all"}):
            f = r["all"] if e == "all" else r["per_exporter"][e]
            b = base["all"] if e == "all" else base["per_exporter"].get(e, {})
            print(f"    {e:12s} graph cases {f['cases']:6d}  re-hit known bucket {ratio(f['rehit_share'], b.get('rehit_share'))}  "
                  f"mean ops at ORT {ratio(f['mean_ops_at_ort'], b.get('mean_ops_at_ort'))}" + (f"  cut {f['cut']}" if "cut" in f else ""))
    if args.json:
        args.json.write_text(json.dumps({"arms": rows, "load": [load_before, load_after], "seconds": args.seconds, "after": args.after}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
