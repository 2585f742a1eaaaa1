"""Inputs at other sizes, for running a model exported with dynamic shapes away from its traced size.

A *size rule* maps each input size that may change (a size every input dimension of which the
model declares dynamic, see :func:`fuzzer.export.dynamic.changeable_sizes`) to another size, by
the size alone, so a rule still means something after the minimizer shrank the graph:

- ``grow``: ``s -> s + 1``;
- ``shrink``: ``s -> s - 1``, or ``s + 2`` for ``s == 2`` (sizes stay >= 2: 0 and 1 specialize).

Every dimension of one size changes together, so dimensions that broadcasting or concatenation
ties together stay consistent. An ``index`` input's bound follows a shrinking size it equals (an
index into a dimension that shrank stays in range) and never grows (it may index a constant).
Values are drawn again by :func:`fuzzer.generate.inputs.make_inputs` from the case's seed and mode,
with the same dtypes and domains: ``resized_inputs`` is a pure function of its arguments.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from fuzzer.ir import Graph

from .inputs import make_inputs

#: The size rules, in the order a case tries them.
RULES: tuple[str, ...] = ("grow", "shrink")


def new_size(rule: str, size: int) -> int:
    if rule == "grow":
        return size + 1
    if rule == "shrink":
        return size - 1 if size > 2 else size + 2
    raise ValueError(f"unknown size rule {rule!r} (known: {', '.join(RULES)})")


def size_map(rule: str, sizes: set[int] | frozenset[int]) -> dict[int, int]:
    """Old size -> new size for every changeable size."""
    return {s: new_size(rule, s) for s in sorted(sizes)}


def resized_graph(graph: Graph, sizes: Mapping[int, int]) -> Graph:
    """``graph`` with its inputs' dimensions mapped by ``sizes`` (node output specs unchanged: they
    are the traced size's; :func:`fuzzer.generate.reinfer` gives exact ones)."""
    inputs = []
    for i in graph.inputs:
        spec = i.spec.with_shape(sizes.get(d, d) for d in i.spec.shape)
        bound = i.bound
        if i.domain == "index" and bound is not None and bound in sizes:
            bound = min(bound, sizes[bound])
        inputs.append(dataclasses.replace(i, spec=spec, bound=bound))
    return dataclasses.replace(graph, inputs=tuple(inputs))


def resized_inputs(graph: Graph, seed: int, mode: str, sizes: Mapping[int, int]) -> tuple[Graph, dict[str, np.ndarray]]:
    """The resized graph (see :func:`resized_graph`) and fresh inputs for it."""
    g = resized_graph(graph, sizes)
    return g, make_inputs(g, seed, mode)


__all__ = ["RULES", "new_size", "resized_graph", "resized_inputs", "size_map"]
