"""Interaction findings: bugs that need a chain of operators.

A failing graph is an *interaction* when it has two or more operators and each of them, run alone
on exactly the values it receives in the failing case, passes: no single operator is wrong on its
own inputs, their sequence is (a rewrite of the chain by an optimizer, type promotion across ops,
one op's output dtype or shape mishandled by the next). :func:`isolate` builds the one-operator
cases (the operator's inputs become graph inputs holding the intermediate values eager PyTorch
computed); :func:`is_interaction` runs them through an injected case runner.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from fuzzer.generate import EagerRejected, evaluate
from fuzzer.ir import Graph

from .edits import Candidate, feed_from_inputs, keep_outputs


def isolate(graph: Graph, inputs: Mapping[str, np.ndarray], k: int, intermediates: Mapping[str, np.ndarray] | None = None) -> Candidate | None:
    """Node ``k`` alone, fed the values its inputs have in the case (None if that cannot be built)."""
    if intermediates is None:
        intermediates = {n: t.numpy() for n, t in evaluate(graph, dict(inputs)).items()}
    target = {v.name for v in graph.nodes[k].outputs}
    c = keep_outputs(Candidate(graph, dict(inputs)), tuple(v.name for v in graph.nodes[k].outputs))
    while c is not None and len(c.graph.nodes) > 1:
        j = next((j for j, n in enumerate(c.graph.nodes) if not {v.name for v in n.outputs} & target), None)
        if j is None:
            return None
        c = feed_from_inputs(c, j, intermediates)
    return c


def is_interaction(graph: Graph, inputs: Mapping[str, np.ndarray], run: Callable[[Graph, Mapping[str, np.ndarray]], object]) -> bool | None:
    """True when ``graph`` (a failing case, at least two operators) has no operator that fails
    alone on its own inputs; False when one does, or the graph has one operator; None when it
    cannot be decided (eager PyTorch rejects a value, or an operator cannot be isolated)."""
    if len(graph.nodes) < 2:
        return False
    try:
        inter = {n: t.numpy() for n, t in evaluate(graph, dict(inputs)).items()}
    except EagerRejected:
        return None
    for k in range(len(graph.nodes)):
        c = isolate(graph, inputs, k, inter)
        if c is None:
            return None
        r = run(c.graph, c.inputs)
        if r.verdict.value == "eager_error":
            return None
        if r.verdict.is_failure:
            return False
    return True
