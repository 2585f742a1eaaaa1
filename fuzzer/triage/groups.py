"""Root-cause groups: findings that one fix would close together.

A signature (:mod:`.signature`) is one bug per operator and path; many bugs share a cause, and a
maintainer wants one issue listing every affected operator and type. The group key of a finding is
its signature with the *instance* removed and the *rule* kept:

- **documented limitations** (:mod:`.limitations`): one group per kind ("ONNX Runtime registers
  no kernel for this operator and type", "the TorchScript exporter refuses this operator");
- **crashes** (export crash, invalid model, ORT load/run failure): scope, verdict, exception type
  and the normalized message with the operator named in it blanked (``op_type:Floor`` ->
  ``op_type:<op>``, ``'aten::cosh'`` -> ``'<op>'``, ``Atan(#)`` -> ``<op>(#)``): "a float-only ONNX op
  emitted on integer inputs" is one rule of one exporter whether the op is Sin, Floor or Relu;
- **wrong values / shapes**: for ONNX Runtime, the kind of difference and the diverging (last) op of
  the path, min/max twins folded (ReduceMin with ReduceMax: one kernel template); for an exporter,
  the torch ops of the (minimized) graph and the diverging op, whatever the kind of difference
  (value, nan, inf) or the opset's variant of the path (one symbolic to fix); a wrong dtype by the
  dtype pair instead (float64 -> float32, and whether the output is 0-d: one promotion rule);
- **process deaths**: scope, verdict and the signal.

A store files a new minimized one-operator finding whose group already has a one-operator finding
as a *variant* of that finding (:func:`variant_group`; :meth:`fuzzer.store.FindingStore.finish_minimization`):
one finding per cause, its variants listed in it and kept under ``<id>/variants/``.

Each finding is described by its :class:`Member` line (id, ONNX op, torch ops, input dtypes), so a
group lists every affected op/dtype. Pure functions of finding.json (and graph.json) documents:
no run, no store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from .limitations import KINDS, limitation_of_doc, limited_op

#: ops whose min and max forms share one implementation (a bug of one is usually in both)
_TWINS = {"ReduceMin": "ReduceMax", "ArgMin": "ArgMax", "Min": "Max", "MaxPool": "MaxPool", "ReduceMinimum": "ReduceMax"}
_OP_IN_MESSAGE = re.compile(r"op_type:(\w+)|'aten::(\w+)'|for (\w+)\(#\)|running (\w+) node|operator (\w+)\b")
_BLANK_OPS = (
    (re.compile(r"op_type:\w+"), "op_type:<op>"),
    (re.compile(r"'(?:aten|prim|onnx)::\w+'"), "'<op>'"),
    (re.compile(r"\b[A-Z]\w*\(#\)"), "<op>(#)"),
    (re.compile(r"running \w+ node"), "running <op> node"),
    (re.compile(r"schema\(::\w+:#\)"), "schema(::<op>:#)"),
    (re.compile(r"operator \w+\b"), "operator <op>"),
    (re.compile(r"\w+ typestr: \w+, has unsupported type"), "<input> typestr: <T>, has unsupported type"),
)


@dataclass(frozen=True)
class Member:
    """One finding of a group: what it is about."""

    id: str
    exporter: str
    onnx_op: str  # the ONNX (or aten) op the failure names, or the diverging op; "" if none
    torch_ops: tuple[str, ...]
    dtypes: tuple[str, ...]  # the graph's input dtypes
    hits: int = 1

    def describe(self) -> str:
        ops = "+".join(self.torch_ops) or "?"
        return f"{self.onnx_op or ops} ({ops}; {', '.join(self.dtypes) or 'no inputs'}; {self.exporter})"


@dataclass
class Group:
    key: str
    cause: str  # one line for a reader
    limitation: str | None = None
    members: list[Member] = field(default_factory=list)

    @property
    def id(self) -> str:
        import hashlib

        return hashlib.sha256(self.key.encode()).hexdigest()[:8]

    def ops(self) -> list[str]:
        return sorted({m.onnx_op or "+".join(m.torch_ops) for m in self.members})

    def dtypes(self) -> list[str]:
        return sorted({d for m in self.members for d in m.dtypes})

    def to_dict(self) -> dict:
        return {"id": self.id, "key": self.key, "cause": self.cause, "limitation": self.limitation,
                "members": [m.__dict__ | {"torch_ops": list(m.torch_ops), "dtypes": list(m.dtypes)} for m in self.members]}


def blank_ops(message: str) -> str:
    """``message`` with the operator it names replaced by ``<op>`` (the rule, not the instance)."""
    for pat, rep in _BLANK_OPS:
        message = pat.sub(rep, message)
    return message


def named_op(doc: Mapping) -> str:
    """The op a finding's failure is about: named in its message, else the diverging op of its
    mismatch path, else ""."""
    sig = doc.get("signature") or {}
    path = list(sig.get("path_ops") or [])
    verdict = str(doc.get("verdict"))
    if verdict in ("numeric_mismatch", "shape_or_dtype_mismatch") and path:
        return path[-1]
    op = limited_op(verdict, doc.get("error_message") or doc.get("error_head"))
    if op:
        return op.split("::")[-1]
    m = _OP_IN_MESSAGE.search(str(doc.get("error_message") or doc.get("error_head") or ""))
    if m:
        return next(g for g in m.groups() if g)
    return path[-1] if path else ""


def group_key(doc: Mapping) -> tuple[str, str, str | None]:
    """(key, cause, limitation kind) of a finding.json document (see the module docstring)."""
    lim = limitation_of_doc(doc)
    if lim is not None:
        return f"limitation|{lim}", KINDS[lim], lim
    sig = doc.get("signature") or {}
    verdict, scope = str(doc.get("verdict")), str(sig.get("exporter") or doc.get("exporter"))
    if doc.get("project") == "ONNX Runtime" or str(doc.get("component", "")).startswith("onnxruntime"):
        scope = "onnxruntime"  # an older finding's signature still names the exporter (signature.legacy_key)
    detail = str(sig.get("detail") or str(sig.get("key", "")).split("|", 2)[-1])
    if verdict in ("numeric_mismatch", "shape_or_dtype_mismatch"):
        kind = detail.split(":", 1)[0]
        worst = doc.get("worst") if isinstance(doc.get("worst"), Mapping) else {}
        if kind == "dtype" and worst.get("expected") and worst.get("actual"):
            # a type promotion rule: the dtype it should give, the one it gives, and whether the
            # output is 0-d (the TorchScript exporter treats 0-d tensors like Python scalars)
            want, got = (str(worst[k]).split("[", 1) for k in ("expected", "actual"))
            zero_d = " (0-d)" if want[1:] == ["]"] else ""
            return (f"{verdict}|{scope}|dtype|{want[0]}->{got[0]}{zero_d}",
                    f"{scope}: gives {got[0]} where PyTorch gives {want[0]}{zero_d} (a type promotion rule)", None)
        path = list(sig.get("path_ops") or [])
        last = _TWINS.get(path[-1], path[-1]) if path else "(no op)"
        ops = sorted(set(doc.get("ops") or ()))
        if scope != "onnxruntime" and ops:
            # the exporter's symbolic for these torch ops: every kind of wrong value (value, nan,
            # inf) and every opset's variant of the path is one function to fix
            return (f"{verdict}|{scope}|{'+'.join(ops)}|{last}",
                    f"{scope}: {'+'.join(ops)} exported wrong ({'shape' if kind == 'shape' else 'values'}) at {last}", None)
        return (f"{verdict}|{scope}|{kind}|{last}", f"{scope}: {kind} difference at {last}"
                + (" (min and max forms)" if last in _TWINS.values() and last != "MaxPool" else ""), None)
    if verdict in ("process_crash", "hang", "out_of_memory"):
        signal = detail.split(":", 1)[0]
        return f"{verdict}|{scope}|{signal}", f"{scope}: the process dies ({signal})", None
    rule = blank_ops(detail)
    return f"{verdict}|{scope}|{rule}", _cause(scope, rule), None


#: statuses a finding may have to take variants (a fixed or declined finding does not gather new ones)
_JOINABLE = ("new", "filed")


def variant_group(doc: Mapping) -> str | None:
    """The group key under which a finding joins another as a variant, or None if it never does.

    Only minimized one-operator findings join, and only one-operator findings take variants: a
    chain of operators is the sequence finding this tool exists for and stays its own finding.
    Documented limitations (one group per kind, not per cause) and process deaths (one group per
    signal) never join: their group key does not name a cause."""
    if doc.get("awaiting_minimization") or doc.get("variant_of") or doc.get("absorbed_into"):
        return None
    if doc.get("n_ops") != 1 or not isinstance(doc.get("minimization"), Mapping) or doc.get("status", "new") not in _JOINABLE:
        return None
    if str(doc.get("verdict")) in ("process_crash", "hang", "out_of_memory"):
        return None
    key, _, lim = group_key(doc)
    return None if lim is not None else key


def _cause(scope: str, rule: str) -> str:
    """A reader's line for a crash rule: the named rules first, else the rule itself."""
    m = re.search(r"has unsupported type: (tensor\(\w+\))", rule)
    if m:
        return f"{scope}: emits ONNX ops on {m.group(1)} inputs their schema does not accept (a Cast is missing)"
    m = re.search(r"Unrecognized attribute: (\w+) for operator", rule)
    if m:
        return f"{scope}: emits attribute {m.group(1)} that the op's version in the model's opset does not have"
    return f"{scope}: {rule}"[:160]


def member_of(doc: Mapping, graph_doc: Mapping | None = None) -> Member:
    dtypes: tuple[str, ...] = ()
    if graph_doc is not None:
        dtypes = tuple(sorted({str(i.get("dtype")) for i in graph_doc.get("inputs", []) if isinstance(i, Mapping)}))
    return Member(str(doc.get("id")), str(doc.get("exporter")), named_op(doc), tuple(doc.get("ops") or ()), dtypes, int(doc.get("hits", 1)))


def group_findings(items: Iterable[tuple[Mapping, Mapping | None]]) -> list[Group]:
    """Groups of (finding.json, graph.json) documents, largest first, then by key; members by id."""
    groups: dict[str, Group] = {}
    for doc, graph_doc in items:
        key, cause, lim = group_key(doc)
        g = groups.setdefault(key, Group(key, cause, lim))
        g.members.append(member_of(doc, graph_doc))
    for g in groups.values():
        g.members.sort(key=lambda m: m.id)
    return sorted(groups.values(), key=lambda g: (g.limitation is not None, -len(g.members), g.key))


def load_groups(root: Path) -> list[Group]:
    """:func:`group_findings` of every finding directory under ``root`` and of their variants
    (unreadable ones skipped)."""
    items = []
    dirs = sorted(p for p in root.iterdir() if (p / "finding.json").is_file()) if root.is_dir() else []
    dirs = [v for d in dirs for v in [d, *sorted(p for p in (d / "variants").glob("*") if (p / "finding.json").is_file())]]
    for d in dirs:  # a finding's variants are members of its group too
        try:
            doc = json.loads((d / "finding.json").read_text(encoding="utf-8"))
            graph_doc = json.loads((d / "graph.json").read_text(encoding="utf-8")) if (d / "graph.json").is_file() else None
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(doc, dict):
            items.append((doc, graph_doc if isinstance(graph_doc, dict) else None))
    return group_findings(items)
