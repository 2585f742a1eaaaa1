"""Tolerances by output dtype, with the reason for each. One table, used by every comparison.

An element differs when ``|actual - expected| > atol + rtol * |expected|`` (numpy's isclose rule),
after NaN and +-inf positions were compared as such. Integer and bool outputs must be exact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str


TOLERANCES: dict[str, Tolerance] = {
    # ~1e-7 relative precision; two correct float64 libraries differ by a few ulps per op, and a
    # chain of 30 ops compounds that.
    "float64": Tolerance(1e-6, 1e-9, "few-ulp differences between libm implementations, compounded over chains"),
    # ~6e-8 unit roundoff, but ORT and ATen use different vectorized transcendental kernels
    # (tanh, erf, exp approximations) whose errors reach ~1e-6 relative and compound.
    "float32": Tolerance(1e-3, 1e-5, "vectorized transcendental approximations differ between ORT and ATen"),
    # ~1e-3 unit roundoff; ATen computes many float16 ops in float32 and rounds once, ORT may
    # round after each op of a decomposition: a few float16 ulps.
    "float16": Tolerance(1e-2, 1e-3, "float16 intermediate rounding differs (one rounding vs several)"),
}
EXACT = Tolerance(0.0, 0.0, "integers and bools have one right answer")


def tolerance_for(dtype: str) -> Tolerance:
    return TOLERANCES.get(dtype, EXACT)
