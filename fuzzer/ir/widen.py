"""Widen a graph's floating-point inputs and parameters to float64 (for the float64 replay).

The widened graph computes the same program at higher precision: every float32/float16 graph
input and parameter becomes float64, and so do float node outputs (their specs are recomputed
naively: a float output becomes float64; the real dtypes come from PyTorch when it runs).
Attributes are untouched, so an explicit ``.to(float16)`` in the program still rounds: that
rounding is part of the program, not noise.
"""

from __future__ import annotations

import dataclasses

from .graph import FLOAT_DTYPES, Graph, Input, Node, Param, TensorSpec, Value


def _wide(spec: TensorSpec) -> TensorSpec:
    return spec.with_dtype("float64") if spec.dtype in FLOAT_DTYPES else spec


def widen_floats(graph: Graph) -> Graph:
    """The graph with float inputs, parameters and node outputs in float64 (``meta`` says so)."""
    inputs = tuple(Input(i.name, _wide(i.spec), i.domain, i.bound) for i in graph.inputs)
    nodes = tuple(
        Node(n.op, n.inputs, tuple(Value(v.name, _wide(v.spec)) for v in n.outputs), dict(n.attrs), tuple(Param(_wide(p.spec), p.init, p.seed) for p in n.params))
        for n in graph.nodes
    )
    return dataclasses.replace(graph, inputs=inputs, nodes=nodes, meta={**graph.meta, "widened": "float64"})


def has_floats(graph: Graph) -> bool:
    return any(i.spec.dtype in FLOAT_DTYPES for i in graph.inputs) or any(p.spec.dtype in FLOAT_DTYPES for n in graph.nodes for p in n.params)
