"""The extra oracles used for blame attribution, and when to run them.

Besides eager PyTorch and ONNX Runtime with its default (all) graph optimizations, a case can run:

- ``ort_unoptimized``: the same model in ONNX Runtime with every graph optimization disabled
  (same kernels, no fusions / constant folding / layout rewrites);
- ``reference``: the model in ONNX's reference implementation (:mod:`fuzzer.execute.reference`);
- ``decomposed`` (dynamo mismatches only): the decomposed program the dynamo exporter translates,
  run in eager (:mod:`fuzzer.execute.decomposed`; run by the case, which holds the module).

They cost one more session (and a slow numpy interpreter), so by default they run only when the
primary comparison already failed (``when="on_failure"``): pass cases stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .reference import REFERENCE_MAX_ELEMENTS, run_reference
from .runners import RunOutcome, run_onnxruntime

ORACLE_NAMES = ("ort_unoptimized", "reference", "decomposed")
WHEN = ("never", "on_failure", "always")


@dataclass(frozen=True)
class OracleConfig:
    """Which extra oracles run, and when. ``when``: "never", "on_failure" (the default: only for
    cases whose primary comparison failed or whose ORT run crashed) or "always"."""

    when: str = "on_failure"
    ort_unoptimized: bool = True
    reference: bool = True
    reference_max_elements: int = REFERENCE_MAX_ELEMENTS
    decomposed: bool = True

    def __post_init__(self) -> None:
        if self.when not in WHEN:
            raise ValueError(f"unknown oracle policy {self.when!r} (expected one of {', '.join(WHEN)})")

    def wanted(self, primary_failed: bool) -> bool:
        return self.when == "always" or (self.when == "on_failure" and primary_failed)

    def to_dict(self) -> dict:
        return {"when": self.when, "ort_unoptimized": self.ort_unoptimized, "reference": self.reference, "reference_max_elements": self.reference_max_elements,
                "decomposed": self.decomposed}


def run_oracles(model: bytes, inputs: Mapping[str, np.ndarray], input_order: Sequence[str], config: OracleConfig) -> dict[str, RunOutcome]:
    """Run the enabled extra oracles on ``model``; keys are from :data:`ORACLE_NAMES`."""
    out: dict[str, RunOutcome] = {}
    if config.ort_unoptimized:
        out["ort_unoptimized"] = run_onnxruntime(model, inputs, input_order, optimization="disabled")
    if config.reference:
        out["reference"] = run_reference(model, inputs, input_order, config.reference_max_elements)
    return out
