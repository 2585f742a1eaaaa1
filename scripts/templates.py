"""Derive the sequence-template table from the paper file and verify it by exporting.

    python scripts/templates.py --exporter torchscript --samples 3        # derive + verify (fast)
    python scripts/templates.py --exporter both --samples 3 --dynamo-samples 1   # + dynamo (minutes)

Writes (atomically): ``fuzzer/generate/paper_templates.json`` (the table the generator plants),
``corpus/templates/verification.md`` (per template: the chain used and what each exporter emits
when it does not contain the sequence) and ``corpus/seeds/<id>.json`` (one instantiation per
template: the corpus' seed graphs). Verification of an exporter not run keeps the previous
table's figures for it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch: the verification forks children (see fuzzer.coverage.verify)

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzer.workers.helpers import call_forked  # noqa: E402
from fuzzer.coverage.verify import describe_miss, verify_chain  # noqa: E402
from fuzzer.export import Exporter  # noqa: E402
from fuzzer.generate.generator import GenerationError, template_graph  # noqa: E402
from fuzzer.generate.templates import TABLE_PATH, Chain, Template, derive, load_templates, paper_sequences_path, table_to_json  # noqa: E402
from fuzzer.ir import graph_to_json  # noqa: E402
from fuzzer.atomic import atomic_write_text  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", choices=["torchscript", "dynamo", "both", "none"], default="torchscript")
    ap.add_argument("--samples", type=int, default=3, help="instantiations per chain (TorchScript)")
    ap.add_argument("--dynamo-samples", type=int, default=1, help="instantiations of the best chain (dynamo: ~1-4 s each)")
    ap.add_argument("--dynamo-every", type=int, default=1, help="check dynamo on every N-th template only (1: all, ~10 min)")
    ap.add_argument("--paper", type=Path, default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # instances run in forked children
    from fuzzer.coverage.verify import export_instance
    from fuzzer.generate.templates import Step

    for ex in exporters_of(args.exporter):  # warm the exporters up once, so forked children start warm
        export_instance(Chain((Step("sin"),)), ("Sin",), 0, ex)
    paper = args.paper or paper_sequences_path()
    if paper is None or not paper.exists():
        print("templates: shared/paper/torch_mismatch_sequences.json not found (pass --paper)", file=sys.stderr)
        return 2
    fresh = derive(json.loads(paper.read_text()))
    old = {t.sequence: t for t in load_templates()}
    exporters = exporters_of(args.exporter)
    out: list[Template] = []
    t0 = time.time()
    for k, t in enumerate(fresh):
        prev = old.get(t.sequence)
        chains = [Chain(c.steps, _old_verified(prev, c)) for c in t.chains]
        notes = dict(prev.notes) if prev else {}
        for ex in exporters:
            name = ex.value
            if ex is Exporter.TORCHSCRIPT:
                misses = []
                for j, c in enumerate(chains):
                    share, insts = verify_chain(t, c, ex, args.samples, isolate=call_forked)
                    chains[j] = Chain(c.steps, {**c.verified, name: round(share, 3)})
                    if not share:
                        misses.append(insts)
                if not any(c.verified.get(name) for c in chains):  # more instantiations before giving up
                    for j, c in enumerate(chains):
                        extra = [verify_chain(t, c, ex, args.samples + 5, isolate=call_forked, first_seed=args.samples)[0]]
                        if extra[0]:
                            chains[j] = Chain(c.steps, {**c.verified, name: round(extra[0] * 5 / (args.samples + 5), 3)})
                hit = any(c.verified.get(name) for c in chains)
            else:  # one chain (the best TorchScript one, else the first): dynamo exports are slow
                if k % args.dynamo_every:
                    continue
                order = sorted(range(len(chains)), key=lambda j: -chains[j].verified.get("torchscript", 0.0))
                j = order[0]
                share, insts = verify_chain(t, chains[j], ex, args.dynamo_samples, isolate=call_forked)
                chains[j] = Chain(chains[j].steps, {**chains[j].verified, name: round(share, 3)})
                misses = [] if share else [insts]
                hit = bool(share)
            if hit:
                notes.pop(name, None)
            elif misses:
                notes[name] = describe_miss(misses[0])
        out.append(Template(t.id, t.sequence, t.sets, tuple(chains), notes))
        if (k + 1) % 20 == 0:
            print(f"  {k + 1}/{len(fresh)} templates, {time.time() - t0:.0f}s", flush=True)
    atomic_write_text(TABLE_PATH, table_to_json(out))
    write_report(out, ROOT / "corpus" / "templates" / "verification.md")
    write_seeds(out, ROOT / "corpus" / "seeds")
    for ex in ("torchscript", "dynamo"):
        n = sum(1 for t in out if any(c.verified.get(ex) for c in t.chains))
        tried = sum(1 for t in out if any(ex in c.verified for c in t.chains))
        print(f"{ex}: {n}/{tried} templates verified (of {len(out)})")
    return 0


def exporters_of(name: str) -> list[Exporter]:
    return {"both": [Exporter.TORCHSCRIPT, Exporter.DYNAMO], "none": []}.get(name) or [Exporter(name)]


def _old_verified(prev: Template | None, chain: Chain) -> dict:
    if prev is None:
        return {}
    for c in prev.chains:
        if c.steps == chain.steps:
            return dict(c.verified)
    return {}


def _share(t: Template, ex: str) -> str:
    vals = [c.verified[ex] for c in t.chains if ex in c.verified]
    if not vals:
        return "not run"
    return f"{max(vals):.2f}"


def write_report(templates: list[Template], path: Path) -> None:
    lines = [
        "# Sequence templates: verification by export",
        "",
        "Generated by `scripts/templates.py`; do not edit. For each of the paper's ONNX mismatch sequences",
        "(union of `torch_reduced` and `torch_nonoverlapping`), the first chain of catalog ops that exports",
        "to it, and per exporter the best share of sampled instantiations whose exported model contains the",
        "sequence as a path (Cast/Identity glue tolerated, see `fuzzer/coverage/paths.py`). Dynamo is checked",
        "on one chain per template. The last column says what an exporter emitted instead when no chain hit.",
        "",
    ]
    for ex in ("torchscript", "dynamo"):
        n = sum(1 for t in templates if any(c.verified.get(ex) for c in t.chains))
        tried = sum(1 for t in templates if any(ex in c.verified for c in t.chains))
        lines.append(f"- {ex}: {n} of {tried} checked templates contain their sequence ({len(templates)} templates)")
    lines += ["", "| id | sets | sequence | chain | torchscript | dynamo | instead |", "|---|---|---|---|---|---|---|"]
    for t in templates:
        best = max(t.chains, key=lambda c: (c.verified.get("torchscript", 0.0), c.verified.get("dynamo", 0.0)))
        chain = " → ".join(s.op + ("(promote)" if s.promote else "") + (f"{{{','.join(s.attrs)}}}" if s.attrs else "") for s in best.steps)
        notes = "; ".join(f"{k}: {v}" for k, v in sorted(t.notes.items())).replace("|", "/")
        lines.append(f"| {t.id} | {','.join(t.sets)} | {' '.join(t.sequence)} | {chain} | {_share(t, 'torchscript')} | {_share(t, 'dynamo')} | {notes} |")
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_seeds(templates: list[Template], root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for t in templates:
        chains = t.usable_chains()
        if not chains:
            continue
        try:
            g = template_graph(chains[0], 0)
        except GenerationError:
            continue
        g = type(g)(g.inputs, g.nodes, g.outputs, {"seed": 0, "built": "template_graph", "template": t.id, "sequence": list(t.sequence)})
        atomic_write_text(root / f"{t.id}.json", graph_to_json(g) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
