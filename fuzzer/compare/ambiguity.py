"""Documented ambiguities: mismatches that are not bugs because the spec leaves the answer open.

The one ambiguity recognised is a **tie**: ``argmax``/``argmin``/``max(dim)``/``min(dim)`` and the
index outputs of ``topk``/``sort``/``argsort`` may return any of several positions holding equal
values. ONNX ``ArgMax``/``ArgMin`` have ``select_last_index`` (default: first) and ``TopK`` says
"if two elements are equal, the lower-index element appears first", but PyTorch documents neither
for ``max(dim)``/``sort`` on CPU (``sort`` is unstable unless ``stable=True``), and a value equal
in eager may differ by one ulp in ONNX Runtime (a *near* tie, within the dtype tolerance), which
flips the choice. So:

- ``tie``: a mismatching index output of such an op, where at every mismatching position the
  values at the expected and at the actual index are equal (or within the source dtype's
  tolerance, or both NaN). Checked by looking the values up in eager's trace.
- ``tie_upstream``: a mismatching output that depends on the index output of such an op whose
  input has (near-)ties along the reduced dim. The propagated difference cannot be checked
  elementwise; the case is recorded as ambiguous, and the confirmation replay with fresh inputs
  (:func:`fuzzer.case.confirm.confirm_mismatch`) is what still finds a real bug there.

Exact halves are *not* an ambiguity: ONNX ``Round`` rounds half to even, as ``torch.round`` does.

The other kind is a **documented difference** (``documented_difference``): an operator whose ONNX
definition gives another answer than PyTorch for some special input values, by the letter of both
specifications. Learned from hand-checked findings (findings/ambiguous.md): each rule names the op,
the input values and the reason; a mismatching output of such an op is explained iff every
mismatching element has such a value at the same position of the op's (broadcast) inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from fuzzer.ir import Graph

from .compare import OutputDiff
from .tolerance import tolerance_for

#: op -> indices of its outputs that are positions chosen among candidates (ties possible)
TIE_OPS: dict[str, tuple[int, ...]] = {
    "argmax": (0,), "argmin": (0,), "max_dim": (1,), "min_dim": (1,), "topk": (1,), "sort": (1,), "argsort": (0,),
}


def _nan(*xs: np.ndarray) -> np.ndarray:
    return np.logical_or.reduce([np.isnan(x.astype(np.float64)) for x in xs])


def _inf(*xs: np.ndarray) -> np.ndarray:
    return np.logical_or.reduce([np.isinf(x.astype(np.float64)) for x in xs])


#: op -> (which input values the rule covers, reason). The predicate gets the op's inputs broadcast
#: to the output shape and returns the positions where the two specifications differ.
DOCUMENTED_DIFFERENCES: dict[str, tuple] = {
    "sign": (_nan, "torch.sign(NaN) is 0; ONNX Sign(NaN) is NaN"),
    "hardshrink": (_nan, "torch hardshrink keeps NaN; ONNX HardShrink compares, and NaN compares false, giving 0"),
    "softshrink": (_nan, "torch softshrink keeps NaN; ONNX Shrink compares, and NaN compares false, giving 0"),
    "floor_divide": (_inf, "torch.floor_divide follows Python: inf // 1 is NaN; ONNX Floor(Div) gives inf"),
}


@dataclass(frozen=True)
class Ambiguity:
    kind: str  # "tie" | "tie_upstream" | "documented_difference"
    output: int  # graph output index
    node: int  # index of the tie op in the graph
    op: str
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "output": self.output, "node": self.node, "op": self.op, "detail": self.detail}


def explain_mismatches(
    graph: Graph, values: Mapping[str, np.ndarray], actual: Sequence[np.ndarray], diffs: Sequence[OutputDiff]
) -> tuple[list[Ambiguity], list[int]]:
    """Explain the bad ``diffs`` by ties. Returns (ambiguities found, indices of bad outputs left
    unexplained). The case is ambiguous iff the second list is empty (and the first is not)."""
    producers = graph.producers()
    found: list[Ambiguity] = []
    unexplained: list[int] = []
    for d in diffs:
        if d.ok:
            continue
        amb = None
        if not d.structural and d.index < len(graph.outputs) and d.index < len(actual):
            if d.kind == "value":
                amb = _direct_tie(graph, values, producers, d.index, np.asarray(actual[d.index]))
            if amb is None:
                amb = _documented(graph, values, producers, d.index, np.asarray(actual[d.index]))
        if amb is None and not d.structural:
            amb = _upstream_tie(graph, values, producers, d.index)
        if amb is None:
            unexplained.append(d.index)
        else:
            found.append(amb)
    return found, unexplained


def _documented(graph: Graph, values, producers, out_index: int, actual: np.ndarray) -> Ambiguity | None:
    name = graph.outputs[out_index]
    k = producers.get(name)
    if k is None or graph.nodes[k].op not in DOCUMENTED_DIFFERENCES:
        return None
    node = graph.nodes[k]
    rule, reason = DOCUMENTED_DIFFERENCES[node.op]
    expected = np.asarray(values[name])
    if expected.shape != actual.shape or expected.dtype.kind != "f" or actual.dtype != expected.dtype:
        return None
    try:
        ins = [np.broadcast_to(np.asarray(values[i]), expected.shape) for i in node.inputs]
    except ValueError:
        return None
    if not all(x.dtype.kind in "fiub" for x in ins):
        return None
    e64, a64 = expected.astype(np.float64), actual.astype(np.float64)
    tol = tolerance_for(str(expected.dtype))
    with np.errstate(all="ignore"):
        same = (e64 == a64) | (np.isnan(e64) & np.isnan(a64)) | (np.abs(e64 - a64) <= tol.atol + tol.rtol * np.abs(e64))
    bad = ~same
    if not bad.any() or not np.all(rule(*ins)[bad]):
        return None
    return Ambiguity("documented_difference", out_index, k, node.op, f"{int(bad.sum())} element(s) differ, all where {reason}")


def _tie_source(graph: Graph, producers: Mapping[str, int], value: str) -> tuple[int, int] | None:
    k = producers.get(value)
    if k is None:
        return None
    node = graph.nodes[k]
    j = [v.name for v in node.outputs].index(value)
    return (k, j) if j in TIE_OPS.get(node.op, ()) else None


def _axis_and_source(graph: Graph, values: Mapping[str, np.ndarray], k: int) -> tuple[np.ndarray, int | None, bool]:
    node = graph.nodes[k]
    src = np.asarray(values[node.inputs[0]])
    dim = node.attrs.get("dim", -1)
    keep = bool(node.attrs.get("keepdim", False))
    if node.op in ("topk", "sort", "argsort"):
        keep = True  # index output keeps the dim (with k or n entries)
    return src, dim, keep


def _direct_tie(graph: Graph, values, producers, out_index: int, actual: np.ndarray) -> Ambiguity | None:
    name = graph.outputs[out_index]
    where = _tie_source(graph, producers, name)
    if where is None:
        return None
    k, _ = where
    node = graph.nodes[k]
    src, dim, keep = _axis_and_source(graph, values, k)
    expected = np.asarray(values[name])
    if expected.shape != actual.shape or src.size == 0:
        return None
    if dim is None:  # argmax/argmin over the flattened tensor
        src_m = src.reshape(1, -1)
        e_idx, a_idx = expected.reshape(1, -1), actual.reshape(1, -1)
    else:
        d = dim % src.ndim if src.ndim else 0
        src_m = np.moveaxis(src.reshape(src.shape or (1,)), d, -1)
        if keep:
            e_idx = np.moveaxis(expected.reshape(expected.shape or (1,)), d, -1)
            a_idx = np.moveaxis(actual.reshape(actual.shape or (1,)), d, -1)
        else:
            e_idx = expected.reshape(src_m.shape[:-1] + (1,))
            a_idx = actual.reshape(src_m.shape[:-1] + (1,))
    n = src_m.shape[-1]
    a_idx = a_idx.astype(np.int64)
    if (a_idx < 0).any() or (a_idx >= n).any():
        return None  # ORT returned a position that does not exist: not a tie
    ve = np.take_along_axis(src_m, e_idx.astype(np.int64), -1)
    va = np.take_along_axis(src_m, a_idx, -1)
    tied = _close(ve, va, str(src.dtype))
    if not tied.all():
        return None
    exact = bool(np.all((ve == va) | (np.isnan(ve.astype(np.float64)) & np.isnan(va.astype(np.float64)))))
    nbad = int(np.count_nonzero(e_idx != a_idx))
    return Ambiguity("tie", out_index, k, node.op, f"{nbad} index(es) differ, each between {'equal' if exact else 'near-equal'} values")


def _close(x: np.ndarray, y: np.ndarray, dtype: str) -> np.ndarray:
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    tol = tolerance_for(dtype)
    with np.errstate(all="ignore"):
        return (x64 == y64) | (np.isnan(x64) & np.isnan(y64)) | (np.abs(x64 - y64) <= tol.atol + tol.rtol * np.abs(x64))


def _upstream_tie(graph: Graph, values, producers, out_index: int) -> Ambiguity | None:
    """The nearest tie op the output depends on through an index output, if its input has ties.
    The output's own producer does not count: a direct index output was judged by the lookup."""
    name = graph.outputs[out_index]
    stack, seen = [name], set()
    while stack:
        v = stack.pop()
        k = producers.get(v)
        if k is None or k in seen:
            continue
        seen.add(k)
        node = graph.nodes[k]
        if v != name and _tie_source(graph, producers, v) is not None and _has_tie(graph, values, k):
            return Ambiguity("tie_upstream", out_index, k, node.op, f"depends on {node.op} (node {k}) whose input has (near-)ties")
        stack.extend(node.inputs)
    return None


def _has_tie(graph: Graph, values, k: int) -> bool:
    node = graph.nodes[k]
    src, dim, _ = _axis_and_source(graph, values, k)
    if src.size < 2:
        return False
    src_m = src.reshape(1, -1) if dim is None else np.moveaxis(src.reshape(src.shape or (1,)), dim % max(src.ndim, 1), -1)
    s = np.sort(src_m.astype(np.float64), axis=-1)
    if node.op in ("argmax", "max_dim"):
        s = s[..., -2:]
    elif node.op in ("argmin", "min_dim"):
        s = s[..., :2]
    elif node.op == "topk":
        kk = int(node.attrs.get("k", 0))
        s = s[..., -(kk + 1):] if node.attrs.get("largest", True) else s[..., : kk + 1]
    if s.shape[-1] < 2:
        return False
    return bool(_close(s[..., 1:], s[..., :-1], str(src.dtype)).any())
