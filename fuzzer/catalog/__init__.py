"""The operator catalog: one table (``ops.OPS`` followed by the option-rich ``composite.OPS``) of
PyTorch operators the fuzzer composes."""

from __future__ import annotations

from . import composite, ops
from .spec import BuildContext, Choice, NewInput, OpSpec, Reject

OPS: tuple[OpSpec, ...] = ops.OPS + composite.OPS
CATALOG: dict[str, OpSpec] = {}
for _op in OPS:
    if _op.name in CATALOG:
        raise RuntimeError(f"catalog: operator {_op.name!r} is defined twice")
    CATALOG[_op.name] = _op


class UnknownOperator(KeyError):
    def __str__(self) -> str:
        return f"unknown operator {self.args[0]!r} (not in the catalog)"


def get_op(name: str) -> OpSpec:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownOperator(name) from None


__all__ = ["CATALOG", "OPS", "BuildContext", "Choice", "NewInput", "OpSpec", "Reject", "UnknownOperator", "get_op"]
