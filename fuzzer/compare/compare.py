"""Stage 5: compare the exported model's outputs with eager PyTorch's, output by output.

Every output is compared (a problem in one never hides the next): count, then shape, then dtype,
then values. For floats NaN positions and +-inf positions (with sign) must match exactly; the
finite rest is compared with :mod:`fuzzer.compare.tolerance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .tolerance import Tolerance, tolerance_for


@dataclass(frozen=True)
class OutputDiff:
    """How one output compares. ``kind`` is "ok", "missing", "shape", "dtype", "nan", "inf" or "value"."""

    index: int
    kind: str
    expected: str  # "float32[2, 3]"
    actual: str
    max_abs: float = 0.0  # over finite elements present on both sides
    max_rel: float = 0.0
    mismatched: int = 0  # elements outside tolerance (or with a different NaN/inf status)
    total: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def structural(self) -> bool:
        return self.kind in ("missing", "shape", "dtype")

    def to_dict(self) -> dict:
        return {
            "index": self.index, "kind": self.kind, "expected": self.expected, "actual": self.actual,
            "max_abs": _finite(self.max_abs), "max_rel": _finite(self.max_rel), "mismatched": self.mismatched,
            "total": self.total, "detail": self.detail,
        }


    @classmethod
    def from_dict(cls, d: dict) -> "OutputDiff":
        return cls(d["index"], d["kind"], d["expected"], d["actual"], float(d["max_abs"]), float(d["max_rel"]), d["mismatched"], d["total"], d.get("detail", ""))


def _finite(x: float) -> float | str:
    return x if np.isfinite(x) else str(x)


def describe(a: np.ndarray) -> str:
    return f"{a.dtype}{list(a.shape)}"


def compare_outputs(
    expected: Sequence[np.ndarray],
    actual: Sequence[np.ndarray],
    tolerances: Sequence[Tolerance] | None = None,
    slack: Sequence[np.ndarray | None] | None = None,
) -> list[OutputDiff]:
    """Compare output by output. ``tolerances[k]`` overrides output k's dtype tolerance (see
    :func:`fuzzer.compare.tolerance.output_tolerances`); ``slack[k]``, an array broadcastable to
    output k, is added elementwise to the allowed absolute difference (a condition estimate)."""
    diffs = []
    for k, e in enumerate(expected):
        if k >= len(actual):
            diffs.append(OutputDiff(k, "missing", describe(e), "-", detail="the ONNX model has fewer outputs"))
            continue
        tol = tolerances[k] if tolerances is not None and k < len(tolerances) else None
        sl = slack[k] if slack is not None and k < len(slack) else None
        diffs.append(compare_one(k, e, np.asarray(actual[k]), tol, sl))
    for k in range(len(expected), len(actual)):
        diffs.append(OutputDiff(k, "missing", "-", describe(np.asarray(actual[k])), detail="the ONNX model has extra outputs"))
    return diffs


def compare_one(k: int, e: np.ndarray, a: np.ndarray, tol: Tolerance | None = None, slack: np.ndarray | None = None) -> OutputDiff:
    de, da = describe(e), describe(a)
    if e.shape != a.shape:
        return OutputDiff(k, "shape", de, da, total=e.size)
    if e.dtype != a.dtype:
        return OutputDiff(k, "dtype", de, da, total=e.size)
    n = e.size
    if n == 0:
        return OutputDiff(k, "ok", de, da)
    if e.dtype.kind not in "fc":
        bad = e != a
        nbad = int(np.count_nonzero(bad))
        if nbad == 0:
            return OutputDiff(k, "ok", de, da, total=n)
        if e.dtype == np.bool_:
            return OutputDiff(k, "value", de, da, 1.0, 1.0, nbad, n, _first(bad, e, a))
        diff = np.abs(e.astype(np.float64) - a.astype(np.float64))
        return OutputDiff(k, "value", de, da, float(diff.max()), float((diff / np.maximum(np.abs(e.astype(np.float64)), 1)).max()), nbad, n, _first(bad, e, a))
    with np.errstate(all="ignore"):
        return _compare_float(k, e, a, de, da, n, tol or tolerance_for(str(e.dtype)), slack)


def _compare_float(k: int, e: np.ndarray, a: np.ndarray, de: str, da: str, n: int, tol: Tolerance, slack: np.ndarray | None) -> OutputDiff:
    e64, a64 = e.astype(np.float64), a.astype(np.float64)
    nan_e, nan_a = np.isnan(e64), np.isnan(a64)
    inf_e, inf_a = np.isinf(e64), np.isinf(a64)
    both_finite = ~(nan_e | nan_a | inf_e | inf_a)
    diff = np.abs(e64 - a64, where=both_finite, out=np.zeros_like(e64))
    rel = diff / np.maximum(np.abs(e64), np.finfo(np.float64).tiny)
    max_abs = float(diff.max()) if both_finite.any() else 0.0
    max_rel = float(np.where(both_finite, rel, 0).max()) if both_finite.any() else 0.0
    if (nan_e != nan_a).any():
        bad = nan_e != nan_a
        return OutputDiff(k, "nan", de, da, max_abs, max_rel, int(bad.sum()), n, _first(bad, e, a))
    inf_mismatch = (inf_e != inf_a) | (inf_e & inf_a & (np.sign(e64) != np.sign(a64)))
    if inf_mismatch.any():
        return OutputDiff(k, "inf", de, da, max_abs, max_rel, int(inf_mismatch.sum()), n, _first(inf_mismatch, e, a))
    allowed = tol.atol + tol.rtol * np.abs(e64)
    if slack is not None:
        allowed = allowed + np.nan_to_num(np.asarray(slack, dtype=np.float64), nan=0.0, posinf=np.inf)
    bad = both_finite & (diff > allowed)
    nbad = int(bad.sum())
    if nbad:
        return OutputDiff(k, "value", de, da, max_abs, max_rel, nbad, n, _first(bad, e, a))
    return OutputDiff(k, "ok", de, da, max_abs, max_rel, 0, n)


def _first(bad: np.ndarray, e: np.ndarray, a: np.ndarray) -> str:
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    return f"first at {list(idx)}: expected {e[idx]!r}, got {a[idx]!r}"
