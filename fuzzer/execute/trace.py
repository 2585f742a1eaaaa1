"""Every intermediate value of a graph in eager PyTorch, node by node.

Used after a mismatch only (to look up the values an argmax or a sort chose between, see
:mod:`fuzzer.compare.ambiguity`). Each node is evaluated with the same rendered expression the
module's ``forward`` runs (:func:`fuzzer.catalog.apply.run_node`), against the module's own
parameter buffers, so the trace and the module cannot compute different things.
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import torch

from fuzzer.catalog import get_op
from fuzzer.catalog.apply import run_node
from fuzzer.ir import Graph
from fuzzer.materialize.source import param_attr

from .runners import to_torch


class TraceError(RuntimeError):
    """Eager PyTorch failed on one node while the whole module ran: our own bug."""


def eager_values(graph: Graph, module: torch.nn.Module, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Value name -> numpy array, for every graph input and node output."""
    env: dict = dict(zip([i.name for i in graph.inputs], to_torch({i.name: inputs[i.name] for i in graph.inputs})))
    env["self"] = module
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, node in enumerate(graph.nodes):
            op = get_op(node.op)
            params = [f"self.{param_attr(k, j)}" for j in range(len(node.params))]
            try:
                result = run_node(op, k, list(node.inputs), params, node.attrs, env)
            except Exception as e:  # the module ran this very expression a moment ago
                raise TraceError(f"node {k} ({node.op}) failed in the trace: {type(e).__name__}: {e}") from e
            outs = list(result) if get_op(node.op).returns_tuple else [result]
            for v, t in zip(node.outputs, outs):
                env[v.name] = t
    del env["self"]
    return {n: t.detach().cpu().numpy().copy() for n, t in env.items()}
