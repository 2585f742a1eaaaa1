"""What "simpler" means: one sort key, defined once.

:func:`simplicity_key` orders test cases; the shrinker accepts a candidate only if its key is
strictly smaller than the current best's, so every accepted step makes progress and the search
terminates. The components, most important first, and why in that order:

1. **operators** - what a maintainer must read and understand; the issue's measure of success.
2. **outputs** - each extra output is one more thing to compare.
3. **graph inputs** - one more tensor to build by hand in a bug report.
4. **elements** of the inputs and parameters - the data printed in the report.
5. **sum of input ranks** - (3,) reads easier than (1, 3, 1) at equal size.
6. **dtype cost** - float32 is what every user and kernel tries first (see :data:`DTYPE_COST`).
7. **attribute cost** - small non-negative ints, zeros, False, None, short tuples read best.
8. **parameter init** - zeros < ones < other constants.
9. **input values** - fewer distinct values first, then small integers before fractions before
   special values: a reader checks ``[0, 0, 1]`` in their head, not ``[0.731, -1.2e-3, ...]``.

Operators come before everything else so that a pass which removes an operator while adding a
graph input (feeding the consumers with the intermediate's value) still counts as progress.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from fuzzer.ir import DTYPES, Graph

#: float32 first (the default everyone tests), then the other common widths, exotic last.
DTYPE_COST: dict[str, int] = {"float32": 0, "float64": 1, "int64": 2, "bool": 3, "int32": 4, "float16": 5, "int16": 6, "int8": 7, "uint8": 8}
assert set(DTYPE_COST) == set(DTYPES), "DTYPE_COST must rank every IR dtype"
PARAM_INIT_COST: dict[str, int] = {"zeros": 0, "ones": 1, "positive": 2, "uniform": 3, "normal": 4}


def simplicity_key(graph: Graph, inputs: Mapping[str, np.ndarray]) -> tuple:
    """Smaller is simpler (see module docstring). Depends only on the graph's inputs, nodes'
    ops, attrs and params, and the input values: never on inferred output specs."""
    params = [p for n in graph.nodes for p in n.params]
    return (
        len(graph.nodes),
        len(graph.outputs),
        len(graph.inputs),
        sum(i.spec.numel for i in graph.inputs) + sum(p.spec.numel for p in params),
        sum(i.spec.rank for i in graph.inputs),
        sum(DTYPE_COST[i.spec.dtype] for i in graph.inputs) + sum(DTYPE_COST[p.spec.dtype] for p in params),
        sum(attr_cost(v) for n in graph.nodes for v in n.attrs.values()),
        sum(PARAM_INIT_COST.get(p.init, 9) for p in params),
        values_cost(inputs),
    )


def is_simpler(a: tuple, b: tuple) -> bool:
    """Strictly simpler: ``a`` and ``b`` are :func:`simplicity_key` values."""
    return a < b


def attr_cost(v: Any) -> float:
    """None, 0 and False cost nothing; ints cost their magnitude (negative ones a little more);
    fractional floats more than integral ones; a dtype name its :data:`DTYPE_COST`."""
    if v is None or v is False:
        return 0.0
    if v is True:
        return 1.0
    if isinstance(v, int):
        return abs(v) + (0.5 if v < 0 else 0.0)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return 20.0
        if v == int(v):
            return abs(v) + (0.5 if v < 0 else 0.0) + 0.25  # 2.0 costs a bit more than 2
        return abs(v) + 3.0 + len(repr(v)) * 0.1
    if isinstance(v, str):
        return float(DTYPE_COST.get(v, 0))
    if isinstance(v, (tuple, list)):
        return 1.0 + len(v) + sum(attr_cost(x) for x in v)
    return 0.0


def element_cost(x: np.ndarray) -> np.ndarray:
    """Per element: 0 for zero/False, 1 for +-1/True, 2 for other small ints, 3 for halves and
    larger ints, 4 for special values (NaN, inf), 5 for any other number."""
    if x.dtype == np.bool_:
        return x.astype(np.int64)
    f = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        a = np.abs(f)
        cost = np.full(f.shape, 5, dtype=np.int64)
        finite = np.isfinite(f)
        integral = finite & (f == np.round(f))
        cost[finite & (f * 2 == np.round(f * 2))] = 3
        cost[integral & (a <= 16)] = 2
        cost[integral & (a > 16)] = 3
        cost[integral & (a == 1)] = 1
        cost[f == 0] = 0
        cost[~finite] = 4
    return cost


def values_cost(inputs: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """(distinct values over all inputs, summed element cost)."""
    distinct: set = set()
    total = 0
    for a in inputs.values():
        a = np.asarray(a)
        if a.size == 0:
            continue
        u = np.unique(a.astype(np.float64) if a.dtype != np.bool_ else a)
        distinct.update(("nan" if isinstance(x, float) and math.isnan(x) else x) for x in u.tolist())
        total += int(element_cost(a).sum())
    return (len(distinct), total)
