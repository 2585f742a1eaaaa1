"""The shrink passes. A pass is a function ``pass(shrinker)`` that proposes candidates built from
``shrinker.best`` through ``shrinker.consider(candidate)`` (the one gate) and never assigns the
best itself. It re-reads ``shrinker.best`` after every proposal, so an accepted step is built on at
once. Passes that delete operators come first (they shrink the most per run); the rest make what
is left readable.
"""

from __future__ import annotations

import math

import dataclasses
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from fuzzer.ir import INT_DTYPES, Param, TensorSpec

from . import edits
from .order import DTYPE_COST, PARAM_INIT_COST, attr_cost

if TYPE_CHECKING:
    from .shrinker import Shrinker


def cut_outputs(s: "Shrinker") -> None:
    """Keep one output (the worst-diverging first), then drop outputs one at a time."""
    best = s.best
    outs = best.graph.outputs
    if len(outs) <= 1:
        return
    first = s.preferred_output()
    for o in sorted(outs, key=lambda o: o != first):
        if s.consider(edits.keep_outputs(s.best, (o,))):
            return
    for o in outs:
        cur = s.best.graph.outputs
        if o in cur and len(cur) > 1:
            s.consider(edits.keep_outputs(s.best, tuple(x for x in cur if x != o)))


def remove_operators(s: "Shrinker") -> None:
    """For each operator, last first: cut the graph after it (its inputs become the outputs),
    replace it by fresh inputs holding its values (everything upstream that only fed it goes
    too), or bypass it (readers read an input of the same spec). Last first, because removing
    a late operator by fresh inputs deletes its whole upstream cone in one run."""
    for ident in reversed([n.outputs[0].name for n in s.best.graph.nodes]):
        k = _node_index(s, ident)
        if k is None:
            continue
        if s.consider(edits.truncate_at(s.best, k)):
            continue
        if s.consider(edits.feed_from_inputs(s.best, k, s.intermediates())):
            continue
        node = s.best.graph.nodes[k]
        for via in dict.fromkeys(node.inputs):
            k2 = _node_index(s, ident)
            if k2 is None:
                break
            if s.consider(edits.bypass(s.best, k2, via)):
                break


def shrink_shapes(s: "Shrinker") -> None:
    """Make dimensions smaller: one size everywhere at once (inputs and parameters, so a weight
    follows its input's channels), then each input dimension alone, then drop whole dimensions."""
    sizes = sorted({d for i in s.best.graph.inputs for d in i.spec.shape if d > 1}, reverse=True)
    for size in sizes:
        for new in _smaller_sizes(size):
            if _substitute_size(s, size, new):
                break
    for name in [i.name for i in s.best.graph.inputs]:
        for axis in range(8):
            spec = _spec(s, name)
            if spec is None or axis >= spec.rank:
                break
            for new in _smaller_sizes(spec.shape[axis]):
                shape = spec.shape[:axis] + (new,) + spec.shape[axis + 1:]
                if s.consider(edits.with_input(s.best, name, spec.with_shape(shape), s.best.inputs[name])):
                    break
        axis = 0
        while True:
            spec = _spec(s, name)
            if spec is None or axis >= spec.rank:
                break
            shape = spec.shape[:axis] + spec.shape[axis + 1:]
            if not s.consider(edits.with_input(s.best, name, spec.with_shape(shape), s.best.inputs[name])):
                axis += 1


def simplify_dtypes(s: "Shrinker") -> None:
    """Move dtypes toward float32: all inputs and parameters of one dtype at once (binary ops
    want equal dtypes), then each input alone."""
    for dt in sorted({i.spec.dtype for i in s.best.graph.inputs}, key=lambda d: -DTYPE_COST[d]):
        for new in _cheaper_dtypes(dt):
            g = s.best.graph
            changes = {i.name: (i.spec.with_dtype(new), edits.cast(s.best.inputs[i.name], new)) for i in g.inputs if i.spec.dtype == dt}
            params = {(k, j): dataclasses.replace(p, spec=p.spec.with_dtype(new)) for k, n in enumerate(g.nodes) for j, p in enumerate(n.params) if p.spec.dtype == dt}
            if not changes or s.consider(edits.with_inputs(s.best, changes, params)):
                break
    for name in [i.name for i in s.best.graph.inputs]:
        spec = _spec(s, name)
        if spec is None:
            continue
        for new in _cheaper_dtypes(spec.dtype):
            if s.consider(edits.with_input(s.best, name, spec.with_dtype(new), edits.cast(s.best.inputs[name], new))):
                break


def simplify_attributes(s: "Shrinker") -> None:
    """Each attribute toward a smaller value (None, 0, 1, halves, shorter tuples, False, cheaper
    dtype names); the first accepted value per attribute wins, the pass then moves on."""
    for ident in [n.outputs[0].name for n in s.best.graph.nodes]:
        k = _node_index(s, ident)
        if k is None:
            continue
        for key in list(s.best.graph.nodes[k].attrs):
            k = _node_index(s, ident)
            if k is None:
                break
            node = s.best.graph.nodes[k]
            for value in _smaller_values(node.attrs[key]):
                k = _node_index(s, ident)
                if k is not None and s.consider(edits.with_node(s.best, k, s.best.graph.nodes[k].with_attrs(**{key: value}))):
                    break


def simplify_params(s: "Shrinker") -> None:
    """Constant tensors toward zeros, then ones."""
    for k in range(len(s.best.graph.nodes)):
        for j in range(len(s.best.graph.nodes[k].params) if k < len(s.best.graph.nodes) else 0):
            for init in ("zeros", "ones"):
                node = s.best.graph.nodes[k]
                p = node.params[j]
                if PARAM_INIT_COST[init] < PARAM_INIT_COST.get(p.init, 9):
                    params = node.params[:j] + (Param(p.spec, init, p.seed),) + node.params[j + 1:]
                    if s.consider(edits.with_node(s.best, k, dataclasses.replace(node, params=params))):
                        break


def simplify_values(s: "Shrinker") -> None:
    """Input values toward zeros and small integers, keeping the values that matter: all inputs
    zero; per input zeros, ones, rounded; then each distinct value replaced by 0, 1 or its
    rounding (a NaN or a tie that carries the bug survives, because removing it fails the gate);
    then halves of the elements zeroed (delta-debugging style) for what is left."""
    names = [i.name for i in s.best.graph.inputs]
    s.consider(_all_inputs(s, lambda a: np.zeros_like(a)))
    for name in names:
        for make in (np.zeros_like, np.ones_like, _rounded):
            if name in s.best.inputs and s.consider(edits.with_values(s.best, name, make(s.best.inputs[name]))):
                break
    for name in names:
        if name not in s.best.inputs:
            continue
        distinct = _distinct(s.best.inputs[name])
        for v in distinct[:16]:
            for target in _value_targets(v):
                a = s.best.inputs.get(name)
                if a is None:
                    break
                mask = np.isnan(a.astype(np.float64)) if isinstance(v, float) and np.isnan(v) else (a == v)
                if not mask.any():
                    break
                b = a.copy()
                b[mask] = target
                if s.consider(edits.with_values(s.best, name, b)):
                    break
    for name in names:
        a = s.best.inputs.get(name)
        if a is None or a.size < 2:
            continue
        chunk = a.size // 2
        for _ in range(3):  # halves, quarters, eighths: a few rounds, never element by element
            if chunk < 1:
                break
            start = 0
            while start < a.size:
                cur = s.best.inputs.get(name)
                if cur is None:
                    return
                flat = cur.reshape(-1).copy()
                if np.any(flat[start:start + chunk] != 0):
                    flat[start:start + chunk] = 0
                    s.consider(edits.with_values(s.best, name, flat.reshape(cur.shape)))
                start += chunk
            chunk //= 2


#: The passes in the order the driver runs them (deleting passes first).
PASSES: tuple[Callable[["Shrinker"], None], ...] = (
    cut_outputs, remove_operators, shrink_shapes, simplify_dtypes, simplify_attributes, simplify_params, simplify_values,
)


# -- helpers ---------------------------------------------------------------------------------------------
def _node_index(s: "Shrinker", ident: str) -> int | None:
    for k, n in enumerate(s.best.graph.nodes):
        if n.outputs[0].name == ident:
            return k
    return None


def _spec(s: "Shrinker", name: str) -> TensorSpec | None:
    return next((i.spec for i in s.best.graph.inputs if i.name == name), None)


def _smaller_sizes(d: int) -> list[int]:
    return [x for x in dict.fromkeys([1, d // 2, d - 1]) if 1 <= x < d]


def _substitute_size(s: "Shrinker", size: int, new: int) -> bool:
    g = s.best.graph
    changes = {}
    for i in g.inputs:
        if size in i.spec.shape:
            shape = tuple(new if d == size else d for d in i.spec.shape)
            changes[i.name] = (i.spec.with_shape(shape), s.best.inputs[i.name])
    params = {}
    for k, n in enumerate(g.nodes):
        for j, p in enumerate(n.params):
            if size in p.spec.shape:
                params[(k, j)] = dataclasses.replace(p, spec=p.spec.with_shape(tuple(new if d == size else d for d in p.spec.shape)))
    if not changes:
        return False
    return s.consider(edits.with_inputs(s.best, changes, params))


def _cheaper_dtypes(dt: str) -> list[str]:
    return [d for d in sorted(DTYPE_COST, key=DTYPE_COST.get) if DTYPE_COST[d] < DTYPE_COST[dt]]


def _smaller_values(v) -> Iterator:
    """Candidate replacements for an attribute value, each strictly cheaper by attr_cost."""
    cands: list = []
    if v is True:
        cands = [False]
    elif isinstance(v, int) and not isinstance(v, bool):
        cands = [None, 0, 1, -1, v // 2, v - 1 if v > 0 else v + 1, -v if v < 0 else v]
    elif isinstance(v, float):
        cands = [None, 0.0, 1.0, -1.0, 0.5] + ([float(round(v)), round(v, 1)] if math.isfinite(v) else [])
    elif isinstance(v, str) and v in DTYPE_COST:
        cands = _cheaper_dtypes(v)
    elif isinstance(v, tuple):
        cands = [None]
        cands += [v[:-1], v[1:]] if len(v) > 1 else []
        for i, x in enumerate(v):
            for y in _smaller_values(x):
                cands.append(v[:i] + (y,) + v[i + 1:])
    seen = set()
    for c in cands:
        key = (type(c).__name__, c)
        if key in seen or (c is not None and type(c) is not type(v) and not (isinstance(v, tuple) and c is None)):
            continue
        if c is None and v is not None and not isinstance(v, (int, float, tuple)):
            continue
        seen.add(key)
        if attr_cost(c) < attr_cost(v):
            yield c


def _all_inputs(s: "Shrinker", f) -> edits.Candidate | None:
    inputs = {k: f(a) for k, a in s.best.inputs.items()}
    return edits.Candidate(s.best.graph, inputs)


def _rounded(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind != "f":
        return np.clip(a, -8, 8) if a.dtype.kind in "iu" and str(a.dtype) in INT_DTYPES else a
    with np.errstate(invalid="ignore"):
        return np.round(a)


def _distinct(a: np.ndarray) -> list:
    if a.size == 0:
        return []
    vals, counts = np.unique(a, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return [vals[i].item() for i in order]


def _value_targets(v) -> list:
    if isinstance(v, bool):
        return [False] if v else []
    if isinstance(v, float) and np.isnan(v):
        return [0.0]
    out = []
    for t in (0, 1, round(v) if isinstance(v, float) and np.isfinite(v) else None):
        if t is not None and t != v and t not in out:
            out.append(t)
    return out
