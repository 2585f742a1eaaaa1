"""Exporter-option differentials as an oracle of a case: run one graph through several export
variants and annotate each result with what :mod:`fuzzer.compare.differential` concludes.

Usable by any driver (the sweep does; the fuzz loop can): :func:`run_variants` runs the variants in
this process; :func:`annotate` works on results however they were obtained (a worker pool, or
records of cases that killed their process). Annotations go into ``CaseResult.options``:

- ``options["export"]``: the variant's :class:`ExportOptions` as a dict (CaseResult alone does not
  say whether dynamo's optimizer ran);
- ``options["differential"]``: a list of :class:`Attribution` dicts, on the *failing* side only;
- ``options["opset_drift"]``: ``{"requested", "actual"}`` when the model declares another opset.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.compare.differential import Attribution, VariantOutcome, attribute, opset_drift
from fuzzer.export import ExportOptions, Exporter
from fuzzer.ir import Graph

from .result import CaseResult
from .run import run_graph


def _verdict(r: Any) -> str:
    return r.verdict.value if isinstance(r.verdict, Verdict) else str(r.verdict)


def annotate(results: Sequence[Any], exports: Sequence[ExportOptions], baselines: Mapping[Exporter, ExportOptions]) -> list[Any]:
    """``results[i]`` is the outcome of ``exports[i]`` (a CaseResult, or any frozen dataclass with
    ``verdict``, ``error_type``, ``opset``, ``opset_requested`` and ``options``). Returns copies
    with the annotations described in the module docstring."""
    if len(results) != len(exports):
        raise ValueError(f"{len(results)} results for {len(exports)} export variants")
    outcomes = [VariantOutcome(ex, _verdict(r), r.error_type, r.opset) for r, ex in zip(results, exports)]
    attributions: list[Attribution] = []
    for ex, base in baselines.items():
        attributions += attribute([o for o in outcomes if o.options.exporter is ex], base)
    out = []
    for r, ex in zip(results, exports):
        opts = dict(r.options or {})
        opts["export"] = ex.to_dict()
        mine = [a.to_dict() for a in attributions if a.failing == ex]
        if mine:
            opts["differential"] = mine
        if _verdict(r) not in ("eager_error",) and opset_drift(r.opset_requested, r.opset):
            opts["opset_drift"] = {"requested": r.opset_requested, "actual": r.opset}
        out.append(dataclasses.replace(r, options=opts))
    return out


def run_variants(
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
    exports: Sequence[ExportOptions],
    baselines: Mapping[Exporter, ExportOptions],
    *,
    seed: int | None = None,
    input_mode: str = "normal",
    options: Mapping[str, Any] | None = None,
) -> list[CaseResult]:
    """Run ``graph`` through every variant in this process (one module, one eager run) and
    annotate the results. ``baselines`` maps each exporter to its reference variant."""
    results = run_graph(graph, inputs, list(exports), seed=seed, input_mode=input_mode, options=options)
    return annotate(results, exports, baselines)
