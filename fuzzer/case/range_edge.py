"""Overflow at the edge of a dtype's range: decided against float64 before a mismatch may be filed.

With inputs near the largest finite value (FLT_MAX, DBL_MAX, 65504: ``special`` input mode puts
them there on purpose), whether an intermediate overflows depends on evaluation order, fused
multiply-add and accumulator width: eager PyTorch may compute ``x * 2 * 0.5`` as ``x`` while the
exported ``Mul(Mul(x, 2), 0.5)`` gives inf, and ONNX Runtime may be exact where eager overflows.
Neither is a converter or runtime bug. :func:`range_edge_noise` calls a mismatch *range-edge
noise* when both hold:

1. every differing element is an overflow element: finite on exactly one side (eager vs ONNX
   Runtime), or its float64 value (eager on the widened graph, W) is itself within
   ``EDGE_FACTOR`` of the output dtype's range, or ONNX Runtime agrees with W (ORT exact, eager
   overflowed);
2. the mismatch goes away when the near-edge inputs are moved away from the edge (multiplied by
   ``RESCALE``, other inputs unchanged) and the same model runs again: a semantic difference (a
   wrong formula, a dropped NaN) survives that, an order-dependent overflow does not.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from fuzzer.compare import compare_outputs
from fuzzer.compare.tolerance import Tolerance, tolerance_for
from fuzzer.execute import run_eager, run_onnxruntime
from fuzzer.ir import FLOAT_DTYPES, Graph

#: an input or output value with |v| >= EDGE_FACTOR * max(dtype) is near the range edge
EDGE_FACTOR = 2.0 ** -8
#: near-edge inputs are multiplied by this for the rescaled replay (far from the edge in every float dtype but float16's 65504)
RESCALE = 2.0 ** -12


def near_edge_inputs(graph: Graph, inputs: Mapping[str, np.ndarray]) -> bool:
    """Whether some float input holds a finite value near its dtype's largest one."""
    for i in graph.inputs:
        if i.spec.dtype in FLOAT_DTYPES:
            x = np.asarray(inputs[i.name])
            if x.size and np.any(_near(x, x.dtype)):
                return True
    return False


def range_edge_noise(graph: Graph, module, inputs: Mapping[str, np.ndarray], model: bytes, eager: Sequence[np.ndarray], ort: Sequence[np.ndarray],
                     wide: Sequence[np.ndarray] | None, tolerances: Sequence[Tolerance] | None) -> bool:
    """Whether the mismatch between ``eager`` and ``ort`` is range-edge noise (module docstring)."""
    if not near_edge_inputs(graph, inputs):
        return False
    for k, (e, a) in enumerate(zip(eager, ort)):
        e, a = np.asarray(e), np.asarray(a)
        if e.shape != a.shape or e.dtype != a.dtype:
            return False  # structural: not about values
        tol = tolerances[k] if tolerances is not None and k < len(tolerances) else tolerance_for(str(e.dtype))
        w = np.asarray(wide[k]) if wide is not None and k < len(wide) and np.shape(wide[k]) == e.shape else None
        differs = ~_close(e, a, tol)
        if not differs.any():
            continue
        if e.dtype.kind != "f":
            return False  # an integer or bool output that differs: not an overflow of this output
        with np.errstate(all="ignore"):
            edge = np.isfinite(e) != np.isfinite(a)
            edge |= _near(e.astype(np.float64), e.dtype) | _near(a.astype(np.float64), e.dtype)
            if w is not None:
                wf = w.astype(np.float64)
                edge |= _near(wf, e.dtype) | _close(a.astype(np.float64), wf.astype(e.dtype).astype(np.float64), tol)
        if not edge[differs].all():
            return False
    rescaled = _rescaled(graph, inputs)
    names = [i.name for i in graph.inputs]
    e2, a2 = run_eager(module, rescaled), run_onnxruntime(model, rescaled, names)
    if not (e2.ok and a2.ok):
        return False
    return all(d.ok for d in compare_outputs(e2.outputs, a2.outputs, tolerances))


def _near(x: np.ndarray, dtype) -> np.ndarray:
    top = float(np.finfo(dtype).max)
    with np.errstate(all="ignore"):
        return np.isfinite(x) & (np.abs(x) >= EDGE_FACTOR * top)


def _close(e: np.ndarray, a: np.ndarray, tol: Tolerance) -> np.ndarray:
    if e.dtype.kind not in "fc":
        return e == a
    with np.errstate(all="ignore"):
        e64, a64 = e.astype(np.float64), a.astype(np.float64)
        same_special = (np.isnan(e64) & np.isnan(a64)) | (np.isinf(e64) & np.isinf(a64) & (np.sign(e64) == np.sign(a64)))
        near = np.isfinite(e64) & np.isfinite(a64) & (np.abs(e64 - a64) <= tol.atol + tol.rtol * np.abs(e64))
    return same_special | near


def _rescaled(graph: Graph, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for i in graph.inputs:
        x = np.asarray(inputs[i.name])
        if i.spec.dtype in FLOAT_DTYPES and x.size:
            x = np.where(_near(x, x.dtype), x * x.dtype.type(RESCALE), x).astype(x.dtype)
        out[i.name] = x
    return out
