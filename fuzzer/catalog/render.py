"""Render a catalog template into a Python expression.

Attribute values are rendered as Python literals with ``repr`` (strings are quoted, so no value
from a graph file can inject code); a ``{name:dtype}`` field must hold one of the known dtype names
and renders as ``torch.<name>``.
"""

from __future__ import annotations

import math
import string
from typing import Any, Mapping, Sequence

from fuzzer.ir import DTYPES


class TemplateError(ValueError):
    """A template or its attribute values do not fit together."""


class _Lit:
    __slots__ = ("v",)

    def __init__(self, v: Any):
        self.v = v

    def __format__(self, spec: str) -> str:
        if spec == "dtype":
            if self.v not in DTYPES:
                raise TemplateError(f"{self.v!r} is not a dtype name")
            return f"torch.{self.v}"
        if spec == "index":
            return subscript(self.v)
        if spec:
            raise TemplateError(f"unknown field format {spec!r}")
        return literal(self.v)


def literal(v: Any) -> str:
    """Python source for a JSON-able attribute value."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "float('-inf')"
        return repr(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (tuple, list)):
        inner = ", ".join(literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    raise TemplateError(f"attribute value {v!r} of type {type(v).__name__} cannot be rendered")


def subscript(index: Any) -> str:
    """Python subscript for a tuple whose entries are None (``:``), an int (select) or a
    (start, stop, step) triple of ints/None (slice). ``()`` renders as ``...``."""
    if not isinstance(index, (tuple, list)):
        raise TemplateError(f"index {index!r} must be a tuple")
    parts = []
    for e in index:
        if e is None:
            parts.append(":")
        elif isinstance(e, int) and not isinstance(e, bool):
            parts.append(str(e))
        elif isinstance(e, (tuple, list)) and len(e) == 3 and all(x is None or (isinstance(x, int) and not isinstance(x, bool)) for x in e):
            a, b, c = ("" if x is None else str(x) for x in e)
            parts.append(f"{a}:{b}:{c}" if c else f"{a}:{b}")
        else:
            raise TemplateError(f"index entry {e!r} is not None, an int or a (start, stop, step) triple")
    return ", ".join(parts) if parts else "..."


_FORMATTER = string.Formatter()

#: Template fields that are code of our own, never attribute values (see :func:`render`).
RAW_FIELDS = frozenset({"m", "out"})


def template_fields(template: str) -> set[str]:
    return {f for _, f, _, _ in _FORMATTER.parse(template) if f is not None}


def render(template: str, inputs: Sequence[str], params: Sequence[str], attrs: Mapping[str, Any], raw: Mapping[str, str] | None = None) -> str:
    """Fill ``template``: ``{0}``.. with input expressions, ``{p0}``.. with parameter expressions,
    other fields with attribute literals; ``raw`` names code fields of our own (``{m}``: the
    node's module, ``{out}``: a statement's target), never taken from attributes. Raises
    :class:`TemplateError` on a missing field."""
    named = {f"p{k}": _Raw(e) for k, e in enumerate(params)}
    named.update({k: _Lit(v) for k, v in attrs.items() if k not in RAW_FIELDS})
    named.update({k: _Raw(v) for k, v in (raw or {}).items()})
    try:
        return template.format(*[_Raw(e) for e in inputs], **named)
    except (KeyError, IndexError) as e:
        raise TemplateError(f"template {template!r} needs {e} which the node does not provide") from None


class _Raw:
    __slots__ = ("s",)

    def __init__(self, s: str):
        self.s = s

    def __format__(self, spec: str) -> str:
        return self.s
