"""Which ATen operators each catalog entry reaches: fuzzer/catalog/reach_table.json.

For every catalog entry, a few one-operator graphs (the generator restricted to that entry) are
materialized and run twice: under ``torch.jit.trace`` (the ``aten::`` nodes of the traced graph:
what the TorchScript exporter's symbolic functions are looked up by) and under a
``TorchDispatchMode`` (the ATen calls after autograd's decompositions: what torch.export's graph,
and so torchlib, sees). ``onnxfuzz catalog`` matches these names against what each exporter
registers (fuzzer/export/registries.py).

    python scripts/derive_reach.py                 # rewrite fuzzer/catalog/reach_table.json
    python scripts/derive_reach.py --ops abs,addmm --print
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "fuzzer" / "catalog" / "reach_table.json"


def _kinds(graph, out: set) -> None:
    for node in graph.nodes():
        k = node.kind()
        if k.startswith("aten::"):
            out.add(k.split("::", 1)[1])
        for b in node.blocks():
            _kinds(b, out)


def reach_of(name: str, seeds: int = 3, export: bool = False) -> dict:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from fuzzer.generate.generator import GenerationError, GeneratorOptions, generate
    from fuzzer.generate.inputs import make_inputs
    from fuzzer.materialize import build_module

    traced: set[str] = set()
    dispatched: set[str] = set()
    exported: set[str] = set()

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            n = func._schema.name
            if n.startswith("aten::"):
                dispatched.add(n.split("::", 1)[1])
            return func(*args, **(kwargs or {}))

    opt = GeneratorOptions(ops=(name,), max_nodes=1, min_nodes=1, bias=0.0)
    built = 0
    for seed in range(seeds * 4):
        try:
            g = generate(seed, opt)
        except GenerationError:
            continue
        if not any(n.op == name for n in g.nodes):
            continue
        module = build_module(g)
        inputs = make_inputs(g, seed, "normal")
        args = tuple(torch.from_numpy(inputs[i.name]) for i in g.inputs)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with Record():
                    module(*args)
            except Exception:
                pass
            try:
                tr = torch.jit.trace(module, args, check_trace=False, strict=False)
                _kinds(tr.inlined_graph, traced)
            except Exception:
                pass
            if export:
                try:
                    ep = torch.export.export(module, args, strict=False)
                    for node in ep.graph.nodes:
                        schema = getattr(node.target, "_schema", None)
                        if node.op == "call_function" and schema is not None and schema.name.startswith("aten::"):
                            exported.add(schema.name.split("::", 1)[1])
                except Exception:
                    pass
        built += 1
        if built >= seeds:
            break
    out = {"traced": sorted(traced), "dispatched": sorted(dispatched), "graphs": built}
    if export:
        out["exported"] = sorted(exported)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", default="", help="comma-separated catalog names (default: every entry)")
    ap.add_argument("--seeds", type=int, default=2, help="graphs per derived entry (default: %(default)s)")
    ap.add_argument("--seeds-hand-written", type=int, default=6, help="graphs per hand-written entry, whose options vary more (default: %(default)s)")
    ap.add_argument("--no-export", action="store_true", help="skip the torch.export view (faster)")
    ap.add_argument("--print", action="store_true", help="print instead of writing the table")
    ap.add_argument("--update", action="store_true", help="keep the table's other entries (default: write only these)")
    ap.add_argument("--hand-written", action="store_true", help="only the hand-written entries")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from fuzzer.catalog import CATALOG, HAND_WRITTEN

    names = [n for n in args.ops.split(",") if n] or ([o.name for o in HAND_WRITTEN] if args.hand_written else list(CATALOG))
    t0 = time.monotonic()
    table = {}
    for k, n in enumerate(names):
        table[n] = reach_of(n, args.seeds if CATALOG[n].family == "opdb" else args.seeds_hand_written, not args.no_export)
        if (k + 1) % 100 == 0:
            print(f"{k + 1}/{len(names)} entries, {time.monotonic() - t0:.0f} s", file=sys.stderr)
    if args.print:
        print(json.dumps(table, indent=1))
        return 0
    if args.update and OUT.exists():
        old = json.loads(OUT.read_text())["ops"]
        table = {**{k: v for k, v in old.items() if k in CATALOG}, **table}
    data = {"about": "Written by scripts/derive_reach.py: ATen ops each catalog entry reaches (jit trace / dispatch).",
            "torch": torch.__version__, "ops": table}
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")).replace('},"', '},\n"') + "\n")
    os.replace(tmp, OUT)
    print(f"{len(table)} entries, {sum(1 for v in table.values() if not v['graphs'])} never placed; {time.monotonic() - t0:.0f} s -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
