"""Verify the rewrite-template table: export every candidate chain and observe the rewrite.

    python scripts/rewrite_templates.py                     # both exporters, 3 instantiations per chain (~5 min)
    python scripts/rewrite_templates.py --exporter torchscript --samples 2

For every targeted rewrite of ``fuzzer/generate/rewrite_templates.py`` (CANDIDATES) and each of its
chains, builds ``--samples`` instantiations the way the generator plants them (random dtypes,
shapes, attributes; ``template_graph``), runs each through the exporter, ``onnx.checker`` and ONNX
Runtime with rewrite observation on (a forked child per batch: a crash costs only that batch,
which is then re-run graph by graph), and records per exporter the share of instantiations on
which the rewrite was observed. Writes (atomically) ``fuzzer/generate/rewrite_templates.json``
(the table the generator plants with ``--rewrite-share``) and ``corpus/templates/rewrites.md``
(per rewrite: the best chain, its shares, and what fired instead when nothing did). An exporter not
run keeps the previous table's figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch: instances run in forked children

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzzer.atomic import atomic_write_text  # noqa: E402
from fuzzer.export import ExportOptions, Exporter  # noqa: E402
from fuzzer.generate.generator import GenerationError, template_graph  # noqa: E402
from fuzzer.generate.rewrite_templates import TABLE_PATH, RewriteTemplate, derive, load_rewrite_templates, table_to_json  # noqa: E402
from fuzzer.generate.templates import Chain  # noqa: E402
from fuzzer.ir import graph_from_dict, graph_to_dict  # noqa: E402
from fuzzer.workers.helpers import call_forked  # noqa: E402

BATCH = 12  # graphs per forked child (dynamo exports them in one batched call)


def _run(graph_docs: list[dict], exporter: str) -> list[dict]:
    """In a child: each graph's verdict and observed rewrites under ``exporter``."""
    from fuzzer.case.run import run_graph, run_graphs_batched
    from fuzzer.generate import make_inputs

    graphs = [graph_from_dict(d) for d in graph_docs]
    cases = [(g, make_inputs(g, k, "normal"), k) for k, g in enumerate(graphs)]
    ex = ExportOptions(Exporter(exporter))
    if ex.exporter is Exporter.DYNAMO:
        results = run_graphs_batched(cases, ex, max_batch=BATCH)
    else:
        results = [run_graph(g, x, [ex], seed=s)[0] for g, x, s in cases]
    return [{"verdict": r.verdict.value, "rewrites": list(r.rewrites)} for r in results]


def run_all(graph_docs: list[dict], exporter: str) -> list[dict]:
    """:func:`_run` on forked children, BATCH graphs at a time; a batch whose child dies is re-run
    one graph per child, and a graph that kills its child alone is a 'process_crash'."""
    out: list[dict] = []
    for start in range(0, len(graph_docs), BATCH):
        part = graph_docs[start:start + BATCH]
        res, sig = call_forked(_run, part, exporter)
        if res is None:
            res = []
            for d in part:
                one, sig = call_forked(_run, [d], exporter)
                res.append(one[0] if one else {"verdict": f"process_crash ({sig})", "rewrites": []})
        out.extend(res)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="both")
    ap.add_argument("--samples", type=int, default=3, help="instantiations per chain and exporter")
    ap.add_argument("--only", default="", help="comma-separated rewrite names to verify (default: all)")
    args = ap.parse_args()
    if args.samples < 1:
        print("rewrite_templates: --samples must be >= 1", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    from fuzzer.export.dynamo_cache import install_dynamo_caches

    install_dynamo_caches()
    exporters = ["torchscript", "dynamo"] if args.exporter == "both" else [args.exporter]
    only = {x for x in args.only.split(",") if x}
    fresh = [t for t in derive() if not only or t.rewrite in only]
    old = {t.rewrite: t for t in load_rewrite_templates()}
    # instantiate every chain
    slots: list[tuple[int, int]] = []  # (template index, chain index) per graph
    docs: list[dict] = []
    unplaced: Counter = Counter()
    for i, t in enumerate(fresh):
        for j, c in enumerate(t.chains):
            for s in range(args.samples):
                try:
                    g = template_graph(c, seed=1000 * j + s)
                except GenerationError:
                    unplaced[(i, j)] += 1
                    continue
                slots.append((i, j))
                docs.append(graph_to_dict(g))
    print(f"{len(fresh)} rewrites, {sum(len(t.chains) for t in fresh)} chains, {len(docs)} graphs", flush=True)
    if "dynamo" in exporters:  # warm the exporter once in the parent, so children start warm
        _run(docs[:1], "dynamo")
    fired: dict[str, list[dict]] = {}
    for ex in exporters:
        t0 = time.time()
        fired[ex] = run_all(docs, ex)
        print(f"{ex}: {len(docs)} graphs in {time.time() - t0:.0f}s", flush=True)
    out: list[RewriteTemplate] = []
    for i, t in enumerate(fresh):
        prev = old.get(t.rewrite)
        chains = []
        notes = dict(prev.notes) if prev else {}
        for j, c in enumerate(t.chains):
            verified = dict(_old_verified(prev, c))
            for ex in exporters:
                runs = [fired[ex][k] for k, sl in enumerate(slots) if sl == (i, j)]
                n = len(runs) + unplaced[(i, j)]
                verified[ex] = round(sum(1 for r in runs if t.rewrite in r["rewrites"]) / n, 3) if n else 0.0
            chains.append(Chain(c.steps, verified))
        for ex in exporters:
            if any(c.verified.get(ex) for c in chains):
                notes.pop(ex, None)
            else:
                runs = [fired[ex][k] for k, sl in enumerate(slots) if sl[0] == i]
                seen = Counter(x for r in runs for x in r["rewrites"])
                verdicts = Counter(r["verdict"] for r in runs)
                notes[ex] = (f"verdicts {dict(verdicts)}; fired instead: {', '.join(f'{k} x{v}' for k, v in seen.most_common(4)) or 'nothing'}")[:300]
        out.append(RewriteTemplate(t.rewrite, tuple(chains), notes))
    if only:  # keep the rest of the previous table
        new = {t.rewrite: t for t in out}
        out = [new.get(t.rewrite) or old.get(t.rewrite) or t for t in derive()]
    atomic_write_text(TABLE_PATH, table_to_json(out))
    write_report(out, ROOT / "corpus" / "templates" / "rewrites.md", fired, docs)
    for ex in ("torchscript", "dynamo"):
        n = sum(1 for t in out if any(c.verified.get(ex) for c in t.chains))
        print(f"{ex}: {n} of {len(out)} targeted rewrites fired by their chains")
    n = sum(1 for t in out if t.usable_chains())
    print(f"either exporter: {n} of {len(out)} targeted rewrites verified")
    return 0


def _old_verified(prev: RewriteTemplate | None, chain: Chain) -> dict:
    if prev is None:
        return {}
    return next((dict(c.verified) for c in prev.chains if c.steps == chain.steps), {})


def _share(t: RewriteTemplate, ex: str) -> str:
    vals = [c.verified[ex] for c in t.chains if ex in c.verified]
    return f"{max(vals):.2f}" if vals else "not run"


def _constraints(step) -> str:
    if not step.attrs:
        return ""
    return "{" + ",".join(f"{k} in {v.get('in')}" for k, v in step.attrs.items()) + "}"


def write_report(templates: list[RewriteTemplate], path: Path, fired: dict, docs: list) -> None:
    lines = [
        "# Rewrite templates: verification by export and observation",
        "",
        "Generated by `scripts/rewrite_templates.py`; do not edit. For each targeted graph rewrite (ONNX Runtime's",
        "session optimizer, `ort:`; ONNX Script's optimizer in the dynamo exporter, `onnxscript:`), the best chain",
        "of catalog ops and, per exporter, the best share of sampled instantiations (random dtypes, shapes,",
        "attributes) on which the rewrite was observed (`fuzzer/execute/rewrites.py`, `fuzzer/export/rewrites.py`).",
        "The last column says what fired instead when no chain fired the rewrite.",
        "",
    ]
    for ex in ("torchscript", "dynamo"):
        n = sum(1 for t in templates if any(c.verified.get(ex) for c in t.chains))
        lines.append(f"- {ex}: {n} of {len(templates)} targeted rewrites fired by their chains")
    n = sum(1 for t in templates if t.usable_chains())
    lines.append(f"- either exporter: {n} of {len(templates)}")
    everything = Counter(x for runs in fired.values() for r in runs for x in r["rewrites"])
    lines.append(f"- distinct rewrites observed on all {len(docs)} instantiations: {len(everything)}")
    lines += ["", "| rewrite | best chain | torchscript | dynamo | instead |", "|---|---|---|---|---|"]
    for t in templates:
        best = max(t.chains, key=lambda c: (c.verified.get("torchscript", 0.0) + c.verified.get("dynamo", 0.0)))
        chain = " → ".join(s.op + _constraints(s) for s in best.steps)
        notes = "; ".join(f"{k}: {v}" for k, v in sorted(t.notes.items())).replace("|", "/")
        lines.append(f"| {t.rewrite} | {chain} | {_share(t, 'torchscript')} | {_share(t, 'dynamo')} | {notes} |")
    atomic_write_text(path, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
