"""The other-size case of a dynamic-shape failure: what its confirmation replays.

A dynamic export that fails only away from its traced size (``options["dynamic"]["failed"] ==
"run"``, see :func:`fuzzer.case.run._other_sizes`) records the size rule and map that failed; the
graph and inputs at that size are rebuilt from them, from the case's seed and input mode
(:func:`fuzzer.generate.resize.resized_inputs`), so nothing but the record is kept.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from fuzzer.generate import reinfer
from fuzzer.generate.resize import resized_inputs
from fuzzer.ir import Graph

from .result import CaseResult


def failing_size_case(graph: Graph, result: CaseResult) -> tuple[Graph, dict[str, np.ndarray]] | None:
    """(graph at the failing size, with exact specs; its inputs), or None when ``result`` is not a
    failure at another size."""
    info = (result.options or {}).get("dynamic") or {}
    if info.get("failed") != "run" or not info.get("sizes"):
        return None
    mapping: Mapping[str, int] = info["sizes"][-1]["map"]
    seed = result.seed if result.seed is not None else int(graph.meta.get("seed") or 0)
    g2, x2 = resized_inputs(graph, seed, result.input_mode, {int(k): int(v) for k, v in mapping.items()})
    return (reinfer(g2, x2) or g2), x2


__all__ = ["failing_size_case"]
