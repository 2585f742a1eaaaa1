"""Which ONNX Script optimizer rewrites fired while the dynamo exporter exported a model.

``torch.onnx.export(dynamo=True, optimize=True)`` runs ONNX Script's optimizer
(``onnxscript.optimizer.optimize_ir``): constant folding (``FoldConstantsPass``) and the default
pattern rewrite rules (``onnxscript.rewriter._DEFAULT_REWRITE_RULES``: no-op removals, Cast/
Expand/Reshape/Transpose eliminations, Relu/Clip/Min/Max fusions, BatchNorm and Pad into Conv,
Slice collapsing, ...). Two observations, both free of a second optimizer run:

- the rewriter tags each node it creates with the rule's name (metadata ``RULE_NAME_TAG``,
  merged when rules compose): :func:`tagged_rules` reads the tags of the exported model;
- :func:`recording` hooks ``RewriteRule.try_rewrite`` and ``FoldConstantsPass.replace_node`` for
  the duration of an export and records every application with the names of the values it
  touched (:class:`Fired`): rewrites that only remove nodes leave no tag. For a batched export
  (several graphs in one model, :mod:`fuzzer.export.batch`) :func:`attribute` gives each graph
  the applications that touched its values.

Names start with ``onnxscript:``; rules without a name of their own are named after their module
and pattern (:data:`UNNAMED`). :func:`targeted` lists the default rule set plus constant folding.
The hooks are installed once per process, record only inside ``recording()``, and call the
original methods unchanged (the exported model is the one the plain call gives).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

import onnx

RULE_TAG = "pkg.onnxscript.rewriter.rule_name"
FOLD = "onnxscript:FoldConstants"
PREFIX = "onnxscript:"

#: Rules of the default set without a name: (module, replacement function, first pattern op) -> name.
UNNAMED: dict[tuple[str, str, str], str] = {
    ("_no_op", "identity", "Mul"): "NoOpMul",
    ("_no_op", "identity", "Add"): "NoOpAdd",
    ("_no_op", "identity", "Sub"): "NoOpSub",
    ("_no_op", "identity", "Div"): "NoOpDiv",
    ("_no_op", "identity", "Dropout"): "NoOpDropout",
    ("_broadcast_to_matmul", "_matmul", "Reshape"): "BroadcastToMatMul",
    ("_cast_constant_of_shape", "fused_cast_constant_of_shape", "ConstantOfShape"): "CastConstantOfShape",
    ("_cast_constant_of_shape", "fused_cast_constant_of_shape_without_value", "ConstantOfShape"): "CastConstantOfShape",
    ("_collapse_slices", "_identity_to_itself", "Slice"): "CollapseSlice",
}

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


@dataclass(frozen=True)
class Fired:
    """One rewrite applied during an export: its name and the names of the values it touched
    (matched nodes' inputs and outputs, the values that replaced them)."""

    name: str
    values: frozenset[str]


def _own_name(rule) -> str | None:
    if getattr(rule, "name", None):
        return PREFIX + str(rule.name)
    try:
        fn = rule._replacement_pattern._function
        first = next((n.op_identifier()[1] for n in rule._target_pattern._nodes if n.op_identifier()), None)
        key = (fn.__module__.rsplit(".", 1)[-1], fn.__name__, str(first))
    except (AttributeError, TypeError, IndexError):
        return None
    return PREFIX + UNNAMED[key] if key in UNNAMED else None


@lru_cache(maxsize=1)
def _default_names() -> dict[int, str]:
    """Names of the default rule set's rules by identity. A commuted copy of a rule (its pattern
    has no fixed first op) takes the name of the rule it follows."""
    from onnxscript import rewriter

    out: dict[int, str] = {}
    prev = None
    for r in rewriter._DEFAULT_REWRITE_RULES:
        name = _own_name(r) or prev or PREFIX + type(r).__name__
        out[id(r)] = prev = name
    return out


def rule_name(rule) -> str:
    """``onnxscript:<name>`` of a rewrite rule (its own name, else one from :data:`UNNAMED`)."""
    return _default_names().get(id(rule)) or _own_name(rule) or PREFIX + type(rule).__name__


@lru_cache(maxsize=1)
def targeted() -> tuple[str, ...]:
    """Every rewrite the dynamo exporter's optimizer may apply, by name (sorted, distinct)."""
    return tuple(sorted(set(_default_names().values()) | {FOLD}))


def _names(values) -> set[str]:
    return {v.name for v in values if v is not None and getattr(v, "name", None)}


def _record(name: str, values: set[str]) -> None:
    stack = getattr(_local, "stack", None)
    if stack:
        stack[-1].append(Fired(name, frozenset(values)))


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        from onnxscript.optimizer import _constant_folding as cf
        from onnxscript.rewriter import _rewrite_rule as rr

        original_try = rr.RewriteRule.try_rewrite
        original_replace = cf.FoldConstantsPass.replace_node

        def try_rewrite(self, model, graph_or_function, node, *args, **kwargs):
            delta = original_try(self, model, graph_or_function, node, *args, **kwargs)
            if delta is not None and kwargs.get("tracer") is None and getattr(_local, "stack", None):
                names = set()
                for n in delta.match.nodes:
                    names |= _names(n.inputs) | _names(n.outputs)
                _record(rule_name(self), names | _names(delta.new_outputs))
            return delta

        def replace_node(self, node, replacement, root):
            if getattr(_local, "stack", None):
                _record(FOLD, _names(node.inputs) | _names(node.outputs) | _names(replacement.new_outputs))
            return original_replace(self, node, replacement, root)

        rr.RewriteRule.try_rewrite = try_rewrite
        cf.FoldConstantsPass.replace_node = replace_node
        _installed = True


@contextlib.contextmanager
def recording() -> Iterator[list[Fired]]:
    """Record the rewrites applied inside the block (this thread) into the yielded list (left empty,
    hooks not installed, when ``ONNXFUZZ_NO_REWRITES`` is set)."""
    if os.environ.get("ONNXFUZZ_NO_REWRITES"):
        yield []
        return
    _install()
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    fired: list[Fired] = []
    stack.append(fired)
    try:
        yield fired
    finally:
        stack.pop()


def tagged_rules(model: onnx.ModelProto) -> set[str]:
    """Rule names the rewriter tagged the model's nodes with (top-level graph)."""
    out = set()
    for n in model.graph.node:
        for p in n.metadata_props:
            if p.key == RULE_TAG:
                out.update(PREFIX + x.strip() for x in p.value.split(",") if x.strip())
    return out


def value_names(model: onnx.ModelProto) -> set[str]:
    """Every value name of the model's top-level graph."""
    g = model.graph
    names = {x for n in g.node for x in list(n.input) + list(n.output) if x}
    return names | {i.name for i in g.initializer} | {i.name for i in g.input} | {o.name for o in g.output}


def attribute(fired: Iterable[Fired], names: set[str] | None) -> set[str]:
    """Names of the rewrites in ``fired`` that touched one of ``names`` (all when None)."""
    return {f.name for f in fired if names is None or f.values & names}


def observed(model: onnx.ModelProto, fired: Iterable[Fired], names: set[str] | None = None) -> tuple[str, ...]:
    """The rewrites of one exported model: its tags plus the recorded applications that touched
    ``names`` (the model's own value names in the exported namespace; None: all of them)."""
    return tuple(sorted(tagged_rules(model) | attribute(fired, names)))
