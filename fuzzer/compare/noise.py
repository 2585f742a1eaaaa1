"""Condition-scaled comparison: tell numeric noise from a semantic difference.

The condition estimate is empirical and elementwise: eager PyTorch runs the program in the output
dtype (E), with float inputs and parameters widened to float64 (W), and in float64 on inputs
perturbed by about one float32 ulp (P). ``|E - W|`` is eager's own rounding error; ``|P - W|`` is
how much one rounding of the inputs moves the exact result (condition number times unit
roundoff: large for a sum that cancels even when eager happens to be exact). Where either is
large the program is sensitive to rounding at these inputs (cancellation, a near-tie flipping a
comparison, exp of a large intermediate...), and ONNX Runtime, which rounds differently, may
legitimately land elsewhere. So ORT's output A is accepted when, at every element,

- E, W and P do not all agree within the tolerance policy (exactly, for int and bool outputs): an
  *unstable* element, not judged, or
- ``|A - E| <= atol + rtol*|E| + NOISE_FACTOR * (|E - W| + |P - W|)`` (tolerance plus the observed
  rounding sensitivity), with NaN/inf status compared exactly.

A mismatch at a stable element (E ≈ W, yet A far from both) is a semantic difference.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .compare import OutputDiff, compare_outputs
from .tolerance import Tolerance, tolerance_for

#: ORT's own rounding error is of the same order as eager's; 4x leaves room for a different
#: algorithm (another summation order) with the same conditioning.
NOISE_FACTOR = 4.0


def noise_scaled_compare(
    eager: Sequence[np.ndarray],
    wide: Sequence[np.ndarray],
    actual: Sequence[np.ndarray],
    tolerances: Sequence[Tolerance] | None = None,
    perturbed: Sequence[np.ndarray] | None = None,
) -> tuple[list[OutputDiff], int]:
    """Compare ``actual`` with ``eager`` ignoring unstable elements and adding the rounding
    sensitivity as slack. Returns the diffs and the number of unstable elements skipped."""
    e_masked, a_masked, slack, skipped = [], [], [], 0
    for k, e in enumerate(eager):
        e = np.asarray(e)
        a = np.asarray(actual[k]) if k < len(actual) else None
        w = np.asarray(wide[k]) if k < len(wide) else None
        p = np.asarray(perturbed[k]) if perturbed is not None and k < len(perturbed) else None
        if p is not None and (w is None or p.shape != w.shape):
            p = None
        if a is None:  # a missing output stays missing
            e_masked.append(e)
            slack.append(None)
            continue
        if w is not None and e.dtype.kind in "iub" and w.shape == e.shape == a.shape and a.dtype == e.dtype:
            unstable = e != w.astype(e.dtype)  # an int/bool computed from floats (argmax, cast, compare...)
            if p is not None:
                unstable |= p.astype(e.dtype) != w.astype(e.dtype)
            skipped += int(unstable.sum())
            e2, a2 = _zero_where(unstable, e, a)
            e_masked.append(e2)
            a_masked.append(a2)
            slack.append(None)
            continue
        if w is None or e.dtype.kind not in "fc" or w.shape != e.shape or a.shape != e.shape or a.dtype != e.dtype:
            e_masked.append(e)
            a_masked.append(a)
            slack.append(None)
            continue
        tol = tolerances[k] if tolerances is not None and k < len(tolerances) else tolerance_for(str(e.dtype))
        with np.errstate(all="ignore"):
            e64, w64 = e.astype(np.float64), w.astype(np.float64)
            same_status = (np.isnan(e64) == np.isnan(w64)) & (np.isinf(e64) == np.isinf(w64)) & ~(np.isinf(e64) & (np.sign(e64) != np.sign(w64)))
            finite = np.isfinite(e64) & np.isfinite(w64)
            gap = np.where(finite, np.abs(e64 - w64), 0.0)
            if p is not None:
                p64 = p.astype(np.float64)
                same_status &= (np.isnan(p64) == np.isnan(w64)) & (np.isinf(p64) == np.isinf(w64))
                finite &= np.isfinite(p64)
                gap = np.where(finite, gap + np.abs(p64 - w64), 0.0)
            unstable = ~same_status | (finite & (gap > tol.atol + tol.rtol * np.abs(e64)))
            skipped += int(unstable.sum())
            e2, a2 = _zero_where(unstable, e, a)
        e_masked.append(e2)
        a_masked.append(a2)
        slack.append(NOISE_FACTOR * gap)
    a_masked.extend(np.asarray(x) for x in actual[len(eager):])  # extra outputs stay extra
    diffs = compare_outputs(e_masked, a_masked, tolerances, slack)
    return diffs, skipped


def _zero_where(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Copies of ``arrays`` with the unstable elements set to 0 on every side (skipped, not compared)."""
    out = []
    for x in arrays:
        y = x.copy()
        y[mask] = 0
        out.append(y)
    return tuple(out)
