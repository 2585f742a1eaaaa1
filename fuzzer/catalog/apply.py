"""Apply one catalog entry in eager PyTorch: the one place a node's rendered code is run.

The generator's probe, its whole-graph re-inference and the execute stage's trace all run nodes
through :func:`run_node`, and the materialized ``forward`` holds the very line :func:`node_line`
returns, so none of them can compute something else. Modules (``OpSpec.module``) are built by
:func:`make_module` exactly as the generated ``__init__`` builds them.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import torch

from .render import render
from .spec import OpSpec


def module_attr(node_index: int) -> str:
    """The attribute of the generated module holding node ``node_index``'s torch.nn module."""
    return f"m{node_index}"


def raw_fields(op: OpSpec, node_index: int, self_prefix: str, out: str) -> dict[str, str]:
    raw = {}
    if op.module:
        raw["m"] = f"{self_prefix}{module_attr(node_index)}"
    if op.statement:
        raw["out"] = out
    return raw


def node_code(op: OpSpec, node_index: int, inputs: Sequence[str], params: Sequence[str], attrs: Mapping[str, Any], self_prefix: str = "self.", out: str = "_out") -> str:
    """The rendered template: an expression, or for a statement entry a statement assigning ``out``."""
    return render(op.template, inputs, params, attrs, raw_fields(op, node_index, self_prefix, out))


def node_line(op: OpSpec, node_index: int, targets: Sequence[str], inputs: Sequence[str], params: Sequence[str], attrs: Mapping[str, Any]) -> str:
    """The line of ``forward`` that computes the node (without indentation)."""
    if op.statement:
        return node_code(op, node_index, inputs, params, attrs, out=targets[0])
    lhs = ", ".join(targets)
    if op.returns_tuple and len(targets) == 1:
        lhs += ","  # unpack a one-element tuple
    return f"{lhs} = {node_code(op, node_index, inputs, params, attrs)}"


def run_node(op: OpSpec, node_index: int, inputs: Sequence[str], params: Sequence[str], attrs: Mapping[str, Any], env: dict) -> Any:
    """Evaluate the node in ``env`` (values by name, ``self`` holding params and modules) and return
    what the call returned (a tensor, or a tuple for ``returns_tuple`` entries). Exceptions of eager
    PyTorch propagate."""
    code = node_code(op, node_index, inputs, params, attrs)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if op.statement:
            scope = dict(env)
            exec(code, {"torch": torch}, scope)  # noqa: S102 - our own rendered template
            return scope["_out"]
        return eval(code, {"torch": torch}, env)  # noqa: S307 - our own rendered template


def module_init_lines(op: OpSpec, node_index: int, attrs: Mapping[str, Any]) -> list[str]:
    """The ``__init__`` lines that build the node's module (seeded, as a person would write it)."""
    ctor = render(op.module, [], [], attrs)
    return [f"torch.manual_seed({int(attrs['seed'])})", f"self.{module_attr(node_index)} = {ctor}"]


def make_module(op: OpSpec, attrs: Mapping[str, Any]) -> torch.nn.Module:
    """The node's module, as :func:`module_init_lines` builds it, in eval mode (the global RNG is
    left as it was)."""
    ctor = render(op.module, [], [], attrs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(attrs["seed"]))
        m = eval(ctor, {"torch": torch})  # noqa: S307 - our own rendered template
    return m.eval()
