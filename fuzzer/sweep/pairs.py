"""Operator pairs (op -> op) guided by the paper's mismatch sequences.

The paper lists ONNX op sequences found only in mismatching PyTorch models
(``torch_mismatch_sequences.json``). Each adjacent pair (A, B) of those sequences, most frequent
first, is mapped to catalog operators whose ``onnx`` field names A and B (the operator listing the
ONNX op earliest wins, then catalog order), and swept as a two-node graph: the first op's output
feeds the second op's primary input.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterator

from fuzzer.catalog import CATALOG, NewInput
from fuzzer.generate import GenerationError, single_op_graph
from fuzzer.ir import Graph, TensorSpec

from fuzzer.generate.templates import paper_sequences_path

from .errors import PaperDataError
from .plan import PlanStats, SweepConfig, _sample_builds, chain, shapes_for


def load_sequences(path: Path) -> list[list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [list(s) for key in ("torch_reduced", "torch_nonoverlapping") for s in data[key]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as e:
        raise PaperDataError(f"{path}: cannot read the paper's sequences ({e})") from None


def onnx_to_catalog() -> dict[str, list[str]]:
    """ONNX op type -> catalog ops that export to it, best match first."""
    ranked: dict[str, list[tuple[int, int, int, str]]] = {}
    for k, op in enumerate(CATALOG.values()):
        for pos, o in enumerate(op.onnx):
            ranked.setdefault(o, []).append((pos, len(op.onnx), k, op.name))
    return {o: [n for *_, n in sorted(v)] for o, v in ranked.items()}


def paper_op_pairs(path: Path, limit: int) -> list[tuple[str, str]]:
    counts: Counter = Counter()
    for seq in load_sequences(path):
        for a, b in zip(seq, seq[1:]):
            counts[(a, b)] += 1
    table = onnx_to_catalog()
    out: list[tuple[str, str]] = []
    for (a, b), _ in counts.most_common():
        if a in table and b in table:
            pair = (table[a][0], table[b][0])
            if pair not in out:
                out.append(pair)
        if len(out) >= limit:
            break
    return out


def pair_graphs(config: SweepConfig, stats: PlanStats) -> Iterator[tuple[tuple[str, ...], str, tuple[int, ...], Graph]]:
    path = Path(config.paper_path) if config.paper_path else paper_sequences_path()
    for a, b in paper_op_pairs(path, config.pairs_limit):
        if config.ops and not {a, b} & set(config.ops):
            continue
        op_a, op_b = CATALOG[a], CATALOG[b]
        for dtype in [d for d in config.dtypes if d in op_a.dtypes]:
            shapes = shapes_for(op_a, 4)
            shape = shapes[-2] if len(shapes) >= 2 else shapes[0]  # the typical shape (the last one is empty)
            for inputs, attrs, params in _sample_builds(op_a, TensorSpec(shape, dtype), config.attr_tries, config.attr_variants, stats):
                try:
                    g1 = single_op_graph(a, inputs, attrs, params)
                except GenerationError:
                    stats.skipped["pair: eager PyTorch rejects the first op"] += 1
                    continue
                link = g1.nodes[0].outputs[0].spec
                if not op_b.accepts(link):
                    stats.skipped["pair: second op does not take the first op's output"] += 1
                    continue
                for inputs_b, attrs_b, params_b in _sample_builds(op_b, link, config.attr_tries, 1, stats):
                    if inputs_b[0].spec != link:
                        stats.skipped["pair: second op replaces its primary input"] += 1
                        continue
                    try:
                        g2 = single_op_graph(b, [NewInput(link, inputs_b[0].domain)] + inputs_b[1:], attrs_b, params_b)
                    except GenerationError:
                        stats.skipped["pair: eager PyTorch rejects the second op"] += 1
                        continue
                    yield (a, b), dtype, shape, chain(g1, g2)
