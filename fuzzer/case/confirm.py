"""Confirm a mismatch before it becomes a finding: numeric noise or a semantic difference?

:func:`confirm_mismatch` replays a failing case three ways, reusing the exported model
(``result.model``) so no export is repeated for the first two:

1. **same inputs again**: a mismatch that does not replay is ``flaky``;
2. **float64 condition estimate**: eager PyTorch runs the graph widened to float64
   (:func:`fuzzer.ir.widen.widen_floats`), on the inputs and on the inputs perturbed by one
   rounding; :func:`fuzzer.compare.noise.noise_scaled_compare` skips
   elements whose value is itself unstable at this precision and widens the tolerance by the
   observed rounding sensitivity elsewhere. If ORT's output passes that, the mismatch is
   ``numeric_noise``;
3. **range edge** (:mod:`.range_edge`): with inputs near the dtype's largest value, a mismatch
   made only of overflow elements (decided against float64) that goes away once those inputs are
   moved off the edge is ``numeric_noise``: evaluation order decided the overflow;
4. **second inputs**: fresh well-conditioned inputs (``normal`` mode, another seed); and, when
   ``float64_pipeline`` is set, the whole pipeline (export + ORT) on the widened graph. Recorded as
   evidence, and used when the float64 estimate is unavailable.

Status: ``confirmed`` (a semantic difference: it survives the condition estimate, or reproduces on
second inputs / in float64 when no estimate exists), ``numeric_noise``, ``flaky``,
``inconclusive`` (no estimate and nothing reproduces) or ``not_applicable`` (not a mismatch
verdict). Structural mismatches (shape, dtype, output count) are ``confirmed`` at once: rounding
cannot change a shape; so is a replaying mismatch of a graph without any float (int64 overflow in a
reduction: nothing rounds, and fresh normal inputs would not overflow).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from fuzzer.compare import Verdict, compare_outputs
from fuzzer.compare.noise import noise_scaled_compare
from fuzzer.compare.tolerance import output_tolerances
from fuzzer.execute import run_eager, run_onnxruntime, to_torch
from fuzzer.export import ExportOptions, Exporter, export
from fuzzer.generate import make_inputs
from fuzzer.ir import FLOAT_DTYPES, Graph
from fuzzer.ir.widen import has_floats, widen_floats
from fuzzer.materialize import build_module

from .range_edge import range_edge_noise
from .result import CaseResult

MISMATCHES = (Verdict.NUMERIC_MISMATCH, Verdict.SHAPE_OR_DTYPE_MISMATCH)


@dataclass(frozen=True)
class Confirmation:
    status: str  # "confirmed" | "numeric_noise" | "flaky" | "inconclusive" | "not_applicable"
    reason: str
    replays: bool | None = None  # the mismatch replays on the same inputs
    within_noise: bool | None = None  # ORT passes the float64-condition-scaled comparison
    unstable_elements: int = 0  # elements skipped as unstable by that comparison
    second_inputs_mismatch: bool | None = None  # the model also mismatches on fresh inputs
    float64_mismatch: bool | None = None  # the widened graph, exported and run, also mismatches
    range_edge: bool | None = None  # overflow at the dtype's range edge, decided by evaluation order (see .range_edge)

    @property
    def is_real(self) -> bool:
        return self.status == "confirmed"

    def to_dict(self) -> dict:
        return {
            "status": self.status, "reason": self.reason, "replays": self.replays, "within_noise": self.within_noise,
            "unstable_elements": self.unstable_elements, "second_inputs_mismatch": self.second_inputs_mismatch,
            "float64_mismatch": self.float64_mismatch, "range_edge": self.range_edge,
        }


def second_seed(seed: int | None) -> int:
    """A seed for the second input set, unrelated to the first but reproducible from it."""
    return int.from_bytes(hashlib.sha256(f"onnxfuzz-confirm/{seed}".encode()).digest()[:4], "little")


def confirm_mismatch(
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
    result: CaseResult,
    *,
    float64_pipeline: bool = True,
    second_inputs: Mapping[str, np.ndarray] | None = None,
) -> Confirmation:
    """Classify the mismatch in ``result`` (a :func:`run_graph` result for ``graph`` and
    ``inputs``, with its model) as numeric noise or a semantic difference. See the module doc."""
    if result.verdict not in MISMATCHES or result.model is None:
        return Confirmation("not_applicable", f"verdict {result.verdict.value} is not a mismatch (or no model)")
    names = [i.name for i in graph.inputs]
    tolerances = output_tolerances(graph)
    module = build_module(graph)
    eager = run_eager(module, inputs)
    run = run_onnxruntime(result.model, inputs, names)
    if not (eager.ok and run.ok):
        return Confirmation("flaky", f"the replay did not run (eager {eager.stage}, ORT {run.stage})", replays=False)
    diffs = compare_outputs(eager.outputs, run.outputs, tolerances)
    bad = [d for d in diffs if not d.ok]
    if not bad:
        return Confirmation("flaky", "the same inputs no longer mismatch", replays=False)
    if any(d.structural for d in bad):
        return Confirmation("confirmed", f"structural: output {bad[0].index} {bad[0].kind} differs", replays=True)
    if not has_floats(graph):  # integers and bools only: nothing rounds, a replaying difference is semantic
        return Confirmation("confirmed", "no float in the graph: no rounding to blame, and it replays", replays=True)
    within, unstable, wide = _within_noise(graph, inputs, eager.outputs, run.outputs, tolerances)
    if within is not True and range_edge_noise(graph, module, inputs, result.model, eager.outputs, run.outputs, wide, tolerances):
        return Confirmation("numeric_noise", "overflow at the edge of the dtype's range, decided by evaluation order: float64 and a "
                            "replay with the inputs moved off the edge agree", replays=True, within_noise=within, unstable_elements=unstable,
                            range_edge=True)
    second = _second_inputs_mismatch(graph, module, result, second_inputs, tolerances, names)
    f64 = _float64_mismatch(graph, inputs, result) if float64_pipeline else None
    ev = dict(replays=True, within_noise=within, unstable_elements=unstable, second_inputs_mismatch=second, float64_mismatch=f64)
    if within is True:
        return Confirmation("numeric_noise", f"within the float64 condition estimate ({unstable} unstable elements skipped)", **ev)
    if within is False:
        return Confirmation("confirmed", "ORT differs where eager's result is stable under float64", **ev)
    if second or f64:
        return Confirmation("confirmed", "no float64 estimate; reproduces " + ("on second inputs" if second else "in float64"), **ev)
    return Confirmation("inconclusive", "no float64 estimate, and neither second inputs nor float64 reproduce it", **ev)


def _widened_inputs(graph: Graph, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {i.name: (np.asarray(inputs[i.name]).astype(np.float64) if i.spec.dtype in FLOAT_DTYPES else np.asarray(inputs[i.name])) for i in graph.inputs}


def _within_noise(graph: Graph, inputs, eager_outputs, ort_outputs, tolerances) -> tuple[bool | None, int, list | None]:
    """(ORT within the float64 condition estimate, unstable elements skipped, the float64 outputs)."""
    if not has_floats(graph):
        return None, 0, None
    module = build_module(widen_floats(graph))
    winputs = _widened_inputs(graph, inputs)
    wide = run_eager(module, winputs)
    perturbed = run_eager(module, _perturbed(graph, winputs))
    if not (wide.ok and perturbed.ok) or len(wide.outputs) != len(eager_outputs):
        return None, 0, (list(wide.outputs) if wide.ok else None)
    diffs, unstable = noise_scaled_compare(eager_outputs, wide.outputs, ort_outputs, tolerances, perturbed.outputs)
    return all(d.ok for d in diffs), unstable, list(wide.outputs)


def _perturbed(graph: Graph, winputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Widened float inputs times (1 + u * eps) with u uniform in [-1, 1] and eps the input's
    own dtype's unit roundoff: one rounding's worth of input noise (fixed stream: reproducible)."""
    rng = np.random.default_rng(20240901)
    out = {}
    for i in graph.inputs:
        x = winputs[i.name]
        if i.spec.dtype in FLOAT_DTYPES and x.size:
            eps = float(np.finfo(i.spec.dtype).eps) / 2
            with np.errstate(all="ignore"):
                x = x * (1.0 + rng.uniform(-1.0, 1.0, size=x.shape) * eps)
        out[i.name] = x
    return out


def _second_inputs_mismatch(graph: Graph, module, result: CaseResult, second_inputs, tolerances, names) -> bool | None:
    inputs2 = second_inputs if second_inputs is not None else make_inputs(graph, second_seed(result.seed), "normal")
    eager = run_eager(module, inputs2)
    run = run_onnxruntime(result.model, inputs2, names)
    if not (eager.ok and run.ok):
        return None
    return not all(d.ok for d in compare_outputs(eager.outputs, run.outputs, tolerances))


def _float64_mismatch(graph: Graph, inputs, result: CaseResult) -> bool | None:
    """Export and run the widened graph; None when it cannot run (e.g. ORT lacks a float64 kernel)."""
    if not has_floats(graph):
        return None
    wide = widen_floats(graph)
    winputs = _widened_inputs(graph, inputs)
    module = build_module(wide)
    eager = run_eager(module, winputs)
    if not eager.ok:
        return None
    opts = ExportOptions(Exporter(result.exporter), result.opset_requested)
    out = export(module, to_torch(winputs), [i.name for i in wide.inputs], opts)
    if not out.ok:
        return None
    run = run_onnxruntime(out.model, winputs, [i.name for i in wide.inputs])
    if not run.ok:
        return None
    return not all(d.ok for d in compare_outputs(eager.outputs, run.outputs, output_tolerances(wide)))
