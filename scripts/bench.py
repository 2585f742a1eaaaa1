"""Benchmark: generator validity rate, cases per second per exporter, and time per stage.

Usage: python scripts/bench.py [--graphs N] [--dynamo-graphs M] [--max-nodes K]

Figures are printed with the same-run baseline they should be read against: the export stage's
share of each case (what the exporter itself costs) and the harness overhead around it.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import warnings

import torch

from fuzzer.campaign import run_graph
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GenerationStats, GeneratorOptions, generate, make_inputs
from fuzzer.materialize import build_module


def validity(n: int, max_nodes: int) -> tuple[float, float, GenerationStats]:
    stats = GenerationStats()
    ok = 0
    t0 = time.perf_counter()
    for s in range(n):
        g = generate(s, GeneratorOptions(max_nodes=max_nodes), stats)
        ins = make_inputs(g, s)
        try:
            with torch.no_grad():
                build_module(g)(*[torch.from_numpy(v) for v in ins.values()])
            ok += 1
        except Exception:
            pass
    return ok / n, (time.perf_counter() - t0) / n, stats


def throughput(exporter: Exporter, n: int, max_nodes: int) -> tuple[float, Counter, Counter]:
    stage = Counter()
    verdicts = Counter()
    gen_s = 0.0
    t0 = time.perf_counter()
    for s in range(n):
        t = time.perf_counter()
        g = generate(s, GeneratorOptions(max_nodes=max_nodes))
        ins = make_inputs(g, s)
        gen_s += time.perf_counter() - t
        (r,) = run_graph(g, ins, [ExportOptions(exporter)], seed=s)
        verdicts[r.verdict.value] += 1
        for k, v in r.timings.items():
            stage[k] += v
    total = time.perf_counter() - t0
    stage["generate"] = gen_s
    stage["harness (rest)"] = max(0.0, total - sum(stage.values()))
    return n / total, stage, verdicts


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--graphs", type=int, default=1000, help="seeds for the validity rate and the TorchScript figures")
    ap.add_argument("--dynamo-graphs", type=int, default=40)
    ap.add_argument("--max-nodes", type=int, default=10)
    a = ap.parse_args()

    rate, per_graph, gstats = validity(a.graphs, a.max_nodes)
    print(f"generator: validity {rate:.2%} over {a.graphs} seeds (max {a.max_nodes} nodes); "
          f"{per_graph * 1e3:.2f} ms per graph incl. eager run; {sum(gstats.rejected.values())} candidate ops rejected "
          f"({gstats.accepted / max(1, gstats.attempts):.1%} accepted)")
    throughput(Exporter.DYNAMO, 2, a.max_nodes)  # warm-up: first dynamo export pays for imports
    for ex, n in ((Exporter.TORCHSCRIPT, min(a.graphs, 300)), (Exporter.DYNAMO, a.dynamo_graphs)):
        cps, stage, verdicts = throughput(ex, n, a.max_nodes)
        total = sum(stage.values())
        print(f"\n{ex.value}: {cps:.2f} cases/s over {n} graphs; verdicts {dict(verdicts)}")
        print(f"  {'stage':<16}{'ms/case':>10}{'share':>9}")
        for k in ("generate", "materialize", "eager", "export", "ort_load", "ort_run", "compare", "harness (rest)"):
            print(f"  {k:<16}{stage[k] / n * 1e3:>10.2f}{stage[k] / total:>9.1%}")


if __name__ == "__main__":
    main()
