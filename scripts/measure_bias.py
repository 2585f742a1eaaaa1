"""Equal-time campaigns with and without template bias and corpus feedback, compared in one table.

    python scripts/measure_bias.py --seconds 180 --biases 0,0.3 --feedback off,on

Each arm is a real campaign (:func:`fuzzer.campaign.run_campaign`, the code ``onnxfuzz fuzz``
runs: worker processes, crash isolation, findings filing without minimization, coverage of the
exported models) with the TorchScript exporter, the same first seed and input mode, and its own
directory under ``--out`` (default: a temporary directory, removed at the end). With feedback on,
a share ``--mutate-share`` of the cases are mutants of the corpus (``corpus/seeds`` plus every
graph that brought new coverage), mutated inside the workers.

Printed per arm: cases, mutant cases, final corpus size, failures, unique failure buckets (the
campaign's coarse buckets), distinct finding signatures (the findings store), coverage of the
exported models (op types, typed-op triples, bigrams, trigrams, paper sequences of the reduced
list) and each as a ratio to the first arm. Arms run one after the other; the machine's load
during each arm changes its case count, so compare the cases column too.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fuzzer.campaign import CampaignConfig, CampaignStats, run_campaign  # noqa: E402
from fuzzer.coverage import CoverageTracker  # noqa: E402
from fuzzer.export import Exporter  # noqa: E402
from fuzzer.generate import GeneratorOptions  # noqa: E402
from fuzzer.generate.corpus import FEEDBACK_SHARE  # noqa: E402

COLUMNS = ("failures", "buckets", "signatures", "ops", "triples", "bigrams", "trigrams", "paper")


def arm(out: Path, seconds: float | None, cases: int | None, bias: float, feedback: bool, share: float, seed: int, max_nodes: int, mode: str, workers: int) -> dict:
    """One campaign; its counters and the coverage it reached."""
    config = CampaignConfig(
        exporters=(Exporter.TORCHSCRIPT,), seconds=seconds, cases=cases, seed=seed, input_mode=mode,
        generator=GeneratorOptions(max_nodes=max_nodes, bias=bias), workers=workers, minimize_seconds=None,
        feedback=feedback, mutate_share=share, stats_period=10.0,
    )
    tracker = CoverageTracker(out)
    stats = CampaignStats()
    stats.coverage = tracker.coverage
    for _ in run_campaign(config, out, [tracker], stats):
        pass
    tracker.close()
    c = stats.coverage.by_exporter.get("torchscript")
    sizes = c.sizes() if c else {k: 0 for k in ("ops", "triples", "bigrams", "trigrams")}
    return {
        "bias": bias, "feedback": feedback, "cases": stats.cases, "seconds": round(stats.elapsed, 1), "mutants": stats.mutants,
        "corpus": stats.corpus or 0, "failures": stats.failures(), "buckets": len(stats.buckets),
        "signatures": stats.findings.new_buckets if stats.findings is not None else 0,
        "ops": sizes["ops"], "triples": sizes["triples"], "bigrams": sizes["bigrams"], "trigrams": sizes["trigrams"],
        "paper": stats.coverage.paper_share("torchscript", "reduced")[0],
    }


def table(rows: list[dict], title: str) -> Table:
    base = rows[0]
    t = Table(title=title, title_justify="left")
    for col in ("bias", "feedback", "cases", "mutants", "corpus", *COLUMNS):
        t.add_column(col if col != "paper" else "paper (/131)", justify="right")
    for r in rows:
        def cell(k: str) -> str:
            return f"{r[k]} ({r[k] / base[k]:.2f}x)" if base[k] else str(r[k])
        t.add_row(str(r["bias"]), "on" if r["feedback"] else "off", str(r["cases"]), str(r["mutants"]), str(r["corpus"]), *[cell(k) for k in COLUMNS])
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="time per arm")
    ap.add_argument("--cases", type=int, default=None, help="instead of time: cases per arm (the machine's load then matters less)")
    ap.add_argument("--biases", default="0,0.3", help="comma-separated bias values (the first is the baseline)")
    ap.add_argument("--feedback", default="off,on", help="off, on or off,on")
    ap.add_argument("--mutate-share", type=float, default=FEEDBACK_SHARE, help="share of mutant cases when feedback is on")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-nodes", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--input-mode", choices=["normal", "special"], default="normal")
    ap.add_argument("--out", type=Path, help="keep the arms' campaign directories here (must not exist)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    if args.out is not None and args.out.exists():
        print(f"measure_bias: {args.out} exists; pick a new --out", file=sys.stderr)
        return 2
    tmp = None
    root = args.out
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-measure-")
        root = Path(tmp.name)
    rows = []
    try:
        for fb in args.feedback.split(","):
            for b in args.biases.split(","):
                out = root / f"bias{b}-feedback-{fb}"
                row = arm(out, None if args.cases else args.seconds, args.cases, float(b), fb == "on", args.mutate_share, args.seed,
                          args.max_nodes, args.input_mode, args.workers)
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    budget = f"{args.cases} cases" if args.cases else f"{args.seconds:.0f}s"
    Console(width=220).print(table(rows, f"TorchScript campaigns of equal budget ({budget} each, {args.workers} worker(s), max {args.max_nodes} nodes, "
                                         f"{args.input_mode} inputs, mutate share {args.mutate_share}); ratio to the first row"))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
