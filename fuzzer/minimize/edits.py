"""Pure graph-IR edits the passes compose. Each returns a :class:`Candidate` (or None when the
edit does not apply); none runs anything. Output specs of edited nodes may be stale: the gate
re-infers them in eager PyTorch before a candidate is run.

Every candidate goes through :func:`tidy`, which prunes dead nodes and unused inputs and orders
inputs by first use, so a candidate that is well-formed in substance is well-formed in form.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from fuzzer.generate import prune
from fuzzer.ir import Graph, Input, Node, TensorSpec


@dataclass(frozen=True)
class Candidate:
    """A test case: a graph and the values of its inputs (name -> array of the input's spec)."""

    graph: Graph
    inputs: Mapping[str, np.ndarray]

    def identity(self) -> tuple:
        """Hashable identity of the computation and the data (the gate's cache key)."""
        h = hashlib.sha256()
        for name in sorted(self.inputs):
            a = np.ascontiguousarray(self.inputs[name])
            h.update(f"{name}|{a.dtype}|{a.shape}|".encode())
            h.update(a.tobytes())
        return (self.graph.structural_key(), h.hexdigest())


def tidy(graph: Graph, inputs: Mapping[str, np.ndarray]) -> Candidate | None:
    """Prune, drop values of vanished inputs, order inputs by first use. None if nothing is left
    to compute (no outputs, or an output that is a graph input)."""
    if not graph.outputs:
        return None
    input_names = {i.name for i in graph.inputs}
    if any(o in input_names for o in graph.outputs):
        return None
    g = prune(graph)
    first_use: dict[str, int] = {}
    for k, n in enumerate(g.nodes):
        for name in n.inputs:
            first_use.setdefault(name, k)
    ordered = tuple(sorted(g.inputs, key=lambda i: first_use.get(i.name, len(g.nodes))))
    g = dataclasses.replace(g, inputs=ordered)
    return Candidate(g, {i.name: inputs[i.name] for i in g.inputs})


# -- operators and outputs --------------------------------------------------------------------------
def keep_outputs(c: Candidate, outputs: tuple[str, ...]) -> Candidate | None:
    return tidy(dataclasses.replace(c.graph, outputs=outputs), c.inputs)


def feed_from_inputs(c: Candidate, k: int, intermediates: Mapping[str, np.ndarray]) -> Candidate | None:
    """Remove node ``k``; each of its outputs that other nodes read becomes a fresh graph input
    (same name and spec) holding the value it had, so downstream nodes compute exactly what they
    did. Outputs of ``k`` that are graph outputs are dropped from the outputs."""
    g = c.graph
    node = g.nodes[k]
    mine = {v.name for v in node.outputs}
    outputs = tuple(o for o in g.outputs if o not in mine)
    read = {n for j, nd in enumerate(g.nodes) if j != k for n in nd.inputs}
    fresh = [Input(v.name, v.spec) for v in node.outputs if v.name in read]
    if any(v.name not in intermediates for v in node.outputs if v.name in read):
        return None
    inputs = dict(c.inputs)
    for i in fresh:
        inputs[i.name] = _fit(intermediates[i.name], i.spec)
    graph = Graph(g.inputs + tuple(fresh), g.nodes[:k] + g.nodes[k + 1:], outputs, g.meta)
    return tidy(graph, inputs)


def truncate_at(c: Candidate, k: int) -> Candidate | None:
    """Remove node ``k`` whose outputs include graph outputs, making its node-valued inputs the
    graph's outputs instead (drop everything downstream of the divergence's cause)."""
    g = c.graph
    node = g.nodes[k]
    mine = {v.name for v in node.outputs}
    if not mine & set(g.outputs):
        return None
    produced = {v.name for nd in g.nodes for v in nd.outputs}
    replacement = [u for u in dict.fromkeys(node.inputs) if u in produced]
    outputs: list[str] = []
    for o in g.outputs:
        for x in (replacement if o in mine else [o]):
            if x not in outputs:
                outputs.append(x)
    read = {n for j, nd in enumerate(g.nodes) if j != k for n in nd.inputs}
    if mine & read:  # another node still reads an output of k: use feed_from_inputs instead
        return None
    return tidy(Graph(g.inputs, g.nodes[:k] + g.nodes[k + 1:], tuple(outputs), g.meta), c.inputs)


def bypass(c: Candidate, k: int, via: str) -> Candidate | None:
    """Remove single-output node ``k``, its readers reading its input ``via`` instead (which must
    have exactly the output's spec)."""
    g = c.graph
    node = g.nodes[k]
    if len(node.outputs) != 1:
        return None
    out = node.outputs[0]
    specs = g.specs()
    if specs.get(via) != out.spec:
        return None
    input_names = {i.name for i in g.inputs}
    if out.name in g.outputs and (via in input_names or via in g.outputs):
        return None
    nodes = tuple(
        dataclasses.replace(nd, inputs=tuple(via if n == out.name else n for n in nd.inputs))
        for j, nd in enumerate(g.nodes) if j != k
    )
    outputs = tuple(via if o == out.name else o for o in g.outputs)
    return tidy(Graph(g.inputs, nodes, outputs, g.meta), c.inputs)


# -- data: shapes, dtypes, values -------------------------------------------------------------------
def with_input(c: Candidate, name: str, spec: TensorSpec, values: np.ndarray, **changes: Any) -> Candidate | None:
    g = c.graph
    ins = tuple(dataclasses.replace(i, spec=spec, **changes) if i.name == name else i for i in g.inputs)
    inputs = dict(c.inputs)
    inputs[name] = _fit(values, spec)
    return tidy(dataclasses.replace(g, inputs=ins), inputs)


def with_inputs(c: Candidate, changes: Mapping[str, tuple[TensorSpec, np.ndarray]], params: Mapping[tuple[int, int], Any] | None = None) -> Candidate | None:
    """Change several inputs (and optionally node params, keyed (node, index)) at once."""
    g = c.graph
    ins = tuple(dataclasses.replace(i, spec=changes[i.name][0]) if i.name in changes else i for i in g.inputs)
    nodes = g.nodes
    if params:
        nodes = tuple(
            dataclasses.replace(nd, params=tuple(params.get((k, j), p) for j, p in enumerate(nd.params))) if any((k, j) in params for j in range(len(nd.params))) else nd
            for k, nd in enumerate(g.nodes)
        )
    inputs = dict(c.inputs)
    for name, (spec, values) in changes.items():
        inputs[name] = _fit(values, spec)
    return tidy(Graph(ins, nodes, g.outputs, g.meta), inputs)


def with_values(c: Candidate, name: str, values: np.ndarray) -> Candidate | None:
    spec = next(i.spec for i in c.graph.inputs if i.name == name)
    inputs = dict(c.inputs)
    inputs[name] = _fit(values, spec)
    return Candidate(c.graph, inputs)


def with_node(c: Candidate, k: int, node: Node) -> Candidate | None:
    g = c.graph
    return tidy(dataclasses.replace(g, nodes=g.nodes[:k] + (node,) + g.nodes[k + 1:]), c.inputs)


def resize(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The leading block of ``values`` with ``shape``; a dimension dropped from the rank keeps
    index 0 of it; a grown dimension repeats the last slice (zeros when the source is empty)."""
    a = np.asarray(values)
    if a.ndim > len(shape):
        # drop axes, preferring size-1 axes and then the leading ones, matching dims from the right
        while a.ndim > len(shape):
            ax = next((i for i, d in enumerate(a.shape) if d == 1), 0)
            a = np.take(a, 0, axis=ax) if a.shape[ax] > 0 else np.zeros(a.shape[:ax] + a.shape[ax + 1:], a.dtype)
    while a.ndim < len(shape):
        a = a[np.newaxis]
    out = np.zeros(shape, dtype=a.dtype)
    if a.size == 0 or out.size == 0:
        return out
    if not shape:
        return np.array(a.reshape(-1)[0], dtype=a.dtype)
    idx = tuple(slice(0, min(s, d)) for s, d in zip(shape, a.shape))
    block = a[idx]
    reps = tuple(-(-s // max(b, 1)) for s, b in zip(shape, block.shape))
    return np.ascontiguousarray(np.tile(block, reps)[tuple(slice(0, s) for s in shape)])


def cast(values: np.ndarray, dtype: str) -> np.ndarray:
    a = np.asarray(values)
    if dtype == "bool":
        return a != 0
    with np.errstate(all="ignore"):
        if a.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
            info = np.iinfo(dtype)
            a = np.nan_to_num(np.clip(np.round(a), info.min, info.max), nan=0.0)
        return a.astype(dtype)


def _fit(values: np.ndarray, spec: TensorSpec) -> np.ndarray:
    a = np.asarray(values)
    if tuple(a.shape) != spec.shape:
        a = resize(a, spec.shape)
    if str(a.dtype) != spec.dtype:
        a = cast(a, spec.dtype)
    return np.array(a, order="C", copy=True)


def canonical_names(c: Candidate) -> Candidate:
    """Rename inputs x0, x1... and node values v0, v1... in order of definition, so a minimized
    case reads like a fresh one (names are not part of any signature)."""
    g = c.graph
    ren = {i.name: f"x{k}" for k, i in enumerate(g.inputs)}
    count = 0
    for n in g.nodes:
        for v in n.outputs:
            ren[v.name] = f"v{count}"
            count += 1
    ins = tuple(dataclasses.replace(i, name=ren[i.name]) for i in g.inputs)
    nodes = tuple(
        dataclasses.replace(n, inputs=tuple(ren[x] for x in n.inputs), outputs=tuple(dataclasses.replace(v, name=ren[v.name]) for v in n.outputs))
        for n in g.nodes
    )
    graph = Graph(ins, nodes, tuple(ren[o] for o in g.outputs), g.meta)
    return Candidate(graph, {ren[k]: v for k, v in c.inputs.items()})
