"""Equal-time campaigns with rewrite templates off and on: distinct graph rewrites fired, buckets.

    python scripts/measure_rewrites.py --seconds 100 --shares 0,0.3            # ~3.5 min
    python scripts/measure_rewrites.py --seconds 80 --shares 0,0.3 --cost      # + an arm with observation off

Each arm is a real campaign (:func:`fuzzer.campaign.run_campaign`: workers, both exporters by
default, findings filed without minimization, coverage tracked) with the same first seed, input
mode and paper-template bias; arms differ only in ``GeneratorOptions.rewrite_share`` (the first
value is the baseline). Printed per arm: cases per exporter, failures, unique buckets, distinct
rewrites fired (ONNX Runtime ``ort:`` and ONNX Script ``onnxscript:``, any exporter), targeted
rewrites fired, and ratios to the first arm.

Observation cost, measured inside every arm from ``results.jsonl``: the time spent reading the
optimized model ORT saved and diffing it (``timings.rewrites``) as a share of the case's time, per
exporter. ``--cost`` adds an arm with the last share and ``ONNXFUZZ_NO_REWRITES=1`` (no ORT model
saved, no ONNX Script hooks), whose cases per second compare with the arm before it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fuzzer.campaign import CampaignConfig, CampaignStats, run_campaign  # noqa: E402
from fuzzer.coverage import CoverageTracker  # noqa: E402
from fuzzer.coverage.metrics import targeted_rewrites  # noqa: E402
from fuzzer.export import Exporter  # noqa: E402
from fuzzer.generate import GeneratorOptions  # noqa: E402


def arm(out: Path, seconds: float, share: float, exporters: tuple[Exporter, ...], seed: int, mode: str, workers: int, observe: bool) -> dict:
    """One campaign; its counters, the rewrites it fired and the observation's share of case time."""
    config = CampaignConfig(
        exporters=exporters, seconds=seconds, seed=seed, input_mode=mode, generator=GeneratorOptions(rewrite_share=share),
        workers=workers, minimize_seconds=None, stats_period=10.0,
    )
    saved = os.environ.get("ONNXFUZZ_NO_REWRITES")
    if not observe:
        os.environ["ONNXFUZZ_NO_REWRITES"] = "1"  # the workers fork after this
    try:
        tracker = CoverageTracker(out)
        stats = CampaignStats()
        stats.coverage = tracker.coverage
        for _ in run_campaign(config, out, [tracker], stats):
            pass
        tracker.close()
    finally:
        if saved is None:
            os.environ.pop("ONNXFUZZ_NO_REWRITES", None)
        else:
            os.environ["ONNXFUZZ_NO_REWRITES"] = saved
    fired = stats.coverage.rewrites_fired()
    targets = {n for names in targeted_rewrites().values() for n in names}
    per = {}
    for e in exporters:
        per[e.value] = {"cases": sum(n for (x, _), n in stats.verdicts.items() if x == e.value),
                        "rewrites": len(stats.coverage.rewrites_fired(e.value)), **_cost(out / "results.jsonl", e.value)}
    return {"share": share, "observe": observe, "cases": stats.cases, "seconds": round(stats.elapsed, 1), "failures": stats.failures(),
            "buckets": len(stats.buckets), "rewrites": len(fired), "targeted": len(fired & targets), "per_exporter": per,
            "fired": sorted(fired)}


def _cost(results: Path, exporter: str) -> dict:
    """Mean case time and mean observation time of ``exporter``'s cases (seconds)."""
    total = obs = 0.0
    n = 0
    try:
        lines = results.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("exporter") != exporter or not isinstance(d.get("timings"), dict):
            continue
        t = d["timings"]
        total += sum(v for v in t.values() if isinstance(v, (int, float)))
        obs += float(t.get("rewrites", 0.0))
        n += 1
    return {"case_s": round(total / n, 4), "observe_s": round(obs / n, 5), "cost": round(total / (total - obs), 4) if total > obs else None} if n else {}


def table(rows: list[dict], exporters, title: str) -> Table:
    base = rows[0]
    t = Table(title=title, title_justify="left")
    for col in ("rewrite share", "observe", "cases", *[f"{e.value} cases" for e in exporters], "failures", "buckets", "rewrites", "targeted",
                *[f"{e.value} observation cost" for e in exporters]):
        t.add_column(col, justify="right")
    for r in rows:
        def cell(k: str) -> str:
            return f"{r[k]} ({r[k] / base[k]:.2f}x)" if base[k] else str(r[k])
        t.add_row(str(r["share"]), "on" if r["observe"] else "off", str(r["cases"]), *[str(r["per_exporter"][e.value].get("cases")) for e in exporters],
                  cell("failures"), cell("buckets"), cell("rewrites"), cell("targeted"),
                  *[f"{r['per_exporter'][e.value].get('cost') or '-'}x" for e in exporters])
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=100.0, help="campaign time per arm")
    ap.add_argument("--shares", default="0,0.3", help="comma-separated rewrite shares (the first is the baseline)")
    ap.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="both")
    ap.add_argument("--cost", action="store_true", help="add an arm with the last share and rewrite observation off")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--input-mode", choices=["normal", "special"], default="special")
    ap.add_argument("--out", type=Path, help="keep the arms' campaign directories here (must not exist)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    if args.out is not None and args.out.exists():
        print(f"measure_rewrites: {args.out} exists; pick a new --out", file=sys.stderr)
        return 2
    try:
        shares = [float(x) for x in args.shares.split(",")]
    except ValueError:
        print(f"measure_rewrites: --shares {args.shares!r} is not a list of numbers", file=sys.stderr)
        return 2
    exporters = (Exporter.TORCHSCRIPT, Exporter.DYNAMO) if args.exporter == "both" else (Exporter(args.exporter),)
    plan = [(s, True) for s in shares] + ([(shares[-1], False)] if args.cost else [])
    tmp = None
    root = args.out
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-measure-")
        root = Path(tmp.name)
    rows = []
    try:
        for k, (share, observe) in enumerate(plan):
            row = arm(root / f"arm{k}-share{share}-{'obs' if observe else 'noobs'}", args.seconds, share, exporters, args.seed, args.input_mode, args.workers, observe)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "fired"}), flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    load = os.getloadavg()
    Console(width=240).print(table(rows, exporters, f"campaigns of {args.seconds:.0f}s each ({args.workers} workers, {args.input_mode} inputs, "
                                                    f"{'+'.join(e.value for e in exporters)}); ratio to the first row; load at the end {load[0]:.1f}"))
    base = set(rows[0]["fired"])
    for r in rows[1:]:
        gained = sorted(set(r["fired"]) - base)
        print(f"share {r['share']} ({'observed' if r['observe'] else 'not observed'}): fired {len(r['fired'])}, new vs baseline: {' '.join(gained) or '-'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
