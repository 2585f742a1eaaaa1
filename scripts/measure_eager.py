"""Eager-pass rate of generated graphs: the share that runs in eager PyTorch on the campaign's inputs.

A generated graph that eager PyTorch rejects becomes an ``eager_error`` case (a generator bug, never a
finding). For each seed this generates a graph with the default options, materializes it and runs
the module on its inputs in each input mode, and counts failures per operator (the node whose line
raised). ``--baseline`` runs the same seeds restricted to the hand-written entries in the same run
(the catalog before op_db derivation) and prints generation time per graph for both, as a ratio.

    python scripts/measure_eager.py --seeds 2000
    python scripts/measure_eager.py --seeds 300 --baseline
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run(seeds: range, ops: tuple[str, ...], modes: tuple[str, ...]) -> dict:
    import torch

    from fuzzer.catalog import CATALOG
    from fuzzer.generate.generator import GenerationError, GeneratorOptions, generate
    from fuzzer.generate.inputs import make_inputs
    from fuzzer.materialize import build_module, node_at_line
    from fuzzer.materialize.source import graph_to_source

    opt = GeneratorOptions(ops=ops)
    fails: Counter = Counter()
    examples: dict[str, str] = {}
    used: Counter = Counter()
    graphs = failed = gen_errors = 0
    t_gen = 0.0
    for seed in seeds:
        t0 = time.perf_counter()
        try:
            g = generate(seed, opt)
        except GenerationError:
            gen_errors += 1
            continue
        t_gen += time.perf_counter() - t0
        graphs += 1
        used.update({n.op for n in g.nodes})
        module = build_module(g)
        src = graph_to_source(g)
        bad = False
        for mode in modes:
            inputs = make_inputs(g, seed, mode)
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    module(*[torch.from_numpy(inputs[i.name]) for i in g.inputs])
            except Exception as e:  # what we count
                bad = True
                tb = traceback.extract_tb(e.__traceback__)
                k = next((node_at_line(src, f.lineno) for f in reversed(tb) if f.filename.startswith("<onnxfuzz-graph")), None)
                op = g.nodes[k].op if k is not None else "?"
                fails[op] += 1
                examples.setdefault(op, f"seed {seed} {mode}: {type(e).__name__}: {str(e)[:120]}")
                break
        failed += bad
    derived = sum(1 for o in used if CATALOG[o].family == "opdb")
    return {"graphs": graphs, "failed": failed, "gen_errors": gen_errors, "t_gen": t_gen, "fails": fails,
            "examples": examples, "distinct_ops": len(used), "derived_ops": derived}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=2000, help="graphs to generate (default: %(default)s)")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--modes", default="special,normal", help="input modes to run each graph on (default: %(default)s)")
    ap.add_argument("--baseline", action="store_true", help="also run the hand-written catalog alone on the same seeds")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from fuzzer.catalog import HAND_WRITTEN

    modes = tuple(m for m in args.modes.split(",") if m)
    seeds = range(args.start, args.start + args.seeds)
    rows = [("full catalog", run(seeds, (), modes))]
    if args.baseline:
        rows.append(("hand-written only", run(seeds, tuple(o.name for o in HAND_WRITTEN), modes)))
    for label, r in rows:
        rate = 1 - r["failed"] / max(1, r["graphs"])
        print(f"{label}: {r['graphs']} graphs, eager pass {rate:.2%} ({r['failed']} failing), "
              f"{r['gen_errors']} generation errors, {1000 * r['t_gen'] / max(1, r['graphs']):.1f} ms/graph to generate, "
              f"{r['distinct_ops']} distinct ops used ({r['derived_ops']} derived)")
        for op, n in r["fails"].most_common(15):
            print(f"   {n:4d}  {op:40s} {r['examples'][op]}")
    if args.baseline:
        a, b = rows[0][1], rows[1][1]
        ta, tb = a["t_gen"] / max(1, a["graphs"]), b["t_gen"] / max(1, b["graphs"])
        print(f"generation time per graph, full / hand-written: {ta / tb:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
