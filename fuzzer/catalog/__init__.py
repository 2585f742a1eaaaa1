"""The operator catalog: one table (``ops.OPS``, the option-rich ``composite.OPS``, Python
operators/methods/indexing/in-place forms ``pyops.OPS``, ``torch.nn`` modules ``modules.OPS``, then
the entries derived from PyTorch's op_db, ``opdb.py``) of PyTorch operators the fuzzer composes."""

from __future__ import annotations

from . import composite, modules, opdb, ops, pyops
from .spec import BuildContext, Choice, NewInput, OpSpec, Reject

#: The entries the paper-sequence templates are derived from (fuzzer/generate/templates.py): their
#: chains are verified by export (scripts/templates.py); newer entries join after a re-verification.
TEMPLATE_SOURCES: tuple[OpSpec, ...] = ops.OPS + composite.OPS
HAND_WRITTEN: tuple[OpSpec, ...] = ops.OPS + composite.OPS + pyops.OPS + modules.OPS
OPS: tuple[OpSpec, ...] = HAND_WRITTEN + opdb.derived_ops(HAND_WRITTEN)
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


__all__ = ["CATALOG", "HAND_WRITTEN", "OPS", "TEMPLATE_SOURCES", "BuildContext", "Choice", "NewInput", "OpSpec", "Reject", "UnknownOperator", "get_op"]
