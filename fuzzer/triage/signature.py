"""The failure signature: the one definition of "the same bug".

A signature is ``verdict | scope | detail``. The scope is the exporter that produced the model,
except for a failure blamed on ONNX Runtime (its kernels, a kernel it lacks, its optimizer: stage
``ort_kernel`` / ``ort_optimizer`` of :mod:`fuzzer.compare.stages`), whose scope is
``onnxruntime``: the same runtime bug reached through either exporter is one bug, one finding.
Findings filed before this rule carry the exporter there; :func:`legacy_key` gives that older key,
and the store and replay accept it, so their ids stay what they were.

- **crash verdicts** (export_crash, invalid_model, ort_load_failure, ort_run_crash): ``detail`` is
  the exception type plus the first line of its message (for a dynamo exporter error, whose first
  line only names the step: the step, the FX node's operator and the innermost exception, from its
  exception summary, :mod:`fuzzer.export.errors`) with everything that varies between two
  occurrences of one defect *removed*: node and value names ('/Sin_3', 'node_Floor_6', 'v12'),
  quoted identifiers, numbers, shapes, file paths, URLs, addresses, the TorchScript IR dump after
  "[Caused by the value", and the width of an ONNX tensor type (``tensor(int64)`` and
  ``tensor(int32)`` both read ``tensor(int)``: a symbolic that forgets a Cast for integers
  forgets it for every width, one fix). Kept on purpose: the ONNX op type in "op_type:Sin" and
  "Atan(7)" (op type kept, its version dropped), and a qualified PyTorch operator name such as
  'aten::cosh'. Why keep 'aten::cosh' when every other quoted name goes: "operator X is not
  supported" is fixed by writing the symbolic function for X, so each unsupported operator is its
  own upstream issue; folding cosh and sinh together would file one issue for two missing
  symbolics and the second would never be tracked.
- **mismatch verdicts** (numeric_mismatch, shape_or_dtype_mismatch): ``detail`` is the kind of the
  worst output difference (value / nan / inf / shape / dtype / missing) and the ONNX op types on
  the path from the model's inputs to the diverging output, in a canonical topological order
  (ties broken by name). The exported model is loaded with ``onnx`` and walked backwards with
  networkx from that output. This names the converted computation itself, which is what differs
  between two bugs whose symptom is the same. It is only meaningful on a *minimized* model: an
  unminimized 30-op case names all 30 ops. So the store buckets mismatches by the signature of the
  minimized case, and the minimizer itself uses :func:`same_bug` (below), not equality.

:func:`same_bug` is the minimizer's "same failure origin" test, derived from the signature (a scope
of ``onnxruntime`` matches any exporter, so an older finding's reference still matches): for
crashes it is equality (so the shrinker cannot slide from one crash onto another); for mismatches it
is equal verdict, exporter and difference kind, with the candidate's path op types a sub-multiset
of the reference's (removing operators can only drop ops from the path; a candidate whose
divergence runs through an op type the original never had is a different bug).

A dynamic-shape export that only fails away from its traced size (or crashes where the static
export does not) keeps its usual verdict; its detail starts with ``dynamic@run`` (``dynamic@export``),
so it is its own bug, never merged with the same verdict at the traced size (:func:`dynamic_detail`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import onnx

from fuzzer.compare import Verdict
from fuzzer.export.errors import summary_head

if TYPE_CHECKING:  # a type only: triage sits after campaign.case in the pipeline, never imports it
    from fuzzer.case import CaseResult

CRASH_VERDICTS = frozenset({Verdict.EXPORT_CRASH, Verdict.INVALID_MODEL, Verdict.ORT_LOAD_FAILURE, Verdict.ORT_RUN_CRASH})
MISMATCH_VERDICTS = frozenset({Verdict.NUMERIC_MISMATCH, Verdict.SHAPE_OR_DTYPE_MISMATCH})
#: The process died, hung or blew its memory: nothing but the signal says what went wrong, so the
#: operators of the (minimized) graph identify the bug, compared like a mismatch path.
PROCESS_VERDICTS = frozenset({Verdict.PROCESS_CRASH, Verdict.HANG, Verdict.OUT_OF_MEMORY})


#: The scope of a signature blamed on ONNX Runtime (see the module docstring).
ORT_SCOPE = "onnxruntime"


@dataclass(frozen=True)
class Signature:
    """``key`` is the bucket identity; ``id`` a short stable hash of it (directory names)."""

    verdict: str
    exporter: str
    detail: str
    path_ops: tuple[str, ...] = ()  # mismatches only: the op types on the diverging path

    @property
    def key(self) -> str:
        return f"{self.verdict}|{self.exporter}|{self.detail}"

    @property
    def id(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:10]

    def to_dict(self) -> dict:
        return {"key": self.key, "id": self.id, "verdict": self.verdict, "exporter": self.exporter, "detail": self.detail, "path_ops": list(self.path_ops)}


def legacy_key(sig: Signature, exporter: str) -> str | None:
    """The key ``sig`` had before ONNX Runtime-blamed signatures stopped naming the exporter
    (``exporter``: the one that produced the model); None when the rule does not touch it."""
    return f"{sig.verdict}|{exporter}|{sig.detail}" if sig.exporter == ORT_SCOPE and exporter != ORT_SCOPE else None


def matches(sig: Signature, key: str, exporter: str) -> bool:
    """Whether ``sig`` (a fresh run) is the bug filed under ``key`` by a finding of ``exporter``,
    in the current form or the older one (:func:`legacy_key`)."""
    return sig.key == key or legacy_key(sig, exporter) == key


def scope_of(result: "CaseResult") -> str:
    """``onnxruntime`` for a failure blamed on ONNX Runtime, else the exporter."""
    from fuzzer.compare.stages import PROJECT, stage_of

    return ORT_SCOPE if PROJECT[stage_of(result)] == "ONNX Runtime" else result.exporter


class NotAFailure(ValueError):
    """A pass or eager_error result has no signature."""


def dynamic_detail(result: "CaseResult") -> str:
    """"dynamic@run " for a dynamic-shape export that passed at its traced size and failed at another,
    "dynamic@export " for a dynamic export that crashed where the static one did not; "" otherwise
    (see :func:`fuzzer.case.run._other_sizes`). Prefixed to a signature's and a bucket's detail,
    so a model that only works at its traced size is a bug of its own, under the usual verdicts."""
    failed = ((result.options or {}).get("dynamic") or {}).get("failed")
    return f"dynamic@{failed} " if failed in ("run", "export") else ""


def signature_of(result: "CaseResult") -> Signature:
    """The signature of a failing case (see the module docstring); a dynamic-shape failure's
    detail starts with :func:`dynamic_detail`."""
    sig = _signature_of(result)
    prefix = dynamic_detail(result)
    return dataclasses.replace(sig, detail=prefix + sig.detail) if prefix else sig


def _signature_of(result: "CaseResult") -> Signature:
    v = result.verdict
    if v in CRASH_VERDICTS:
        detail = f"{_short_type(result.error_type)}: {normalize_message(summary_head(result.error_message) or result.error_message or '')}"
        if (result.options or {}).get("declared_dtypes"):  # the exporter's model declares other types than eager: its own bug
            from .limitations import DECLARED_MARK

            detail += f" [{DECLARED_MARK}]"
        return Signature(v.value, scope_of(result), detail)
    if v in MISMATCH_VERDICTS:
        w = result.worst
        if w is None or result.model is None:
            raise ValueError(f"{v.value} result without a diff or a model: cannot sign it")
        path = diverging_path(result.model, w.index) if w.kind != "missing" else _all_ops(result.model)
        return Signature(v.value, scope_of(result), f"{w.kind}: {'>'.join(path) or '(no op)'}", tuple(path))
    if v in PROCESS_VERDICTS:
        ops = tuple(sorted(set(result.ops)))
        return Signature(v.value, result.exporter, f"{_short_type(result.error_type)}: {'>'.join(ops) or '(no op)'}", ops)
    raise NotAFailure(f"a {v.value} result is not a failure")


def same_bug(reference: Signature, candidate: Signature) -> bool:
    """Does ``candidate`` (a shrunk case) still show the bug of ``reference``? See module doc."""
    if reference.verdict != candidate.verdict:
        return False
    if reference.exporter != candidate.exporter and ORT_SCOPE not in (reference.exporter, candidate.exporter):
        return False  # ONNX Runtime's scope matches its older, per-exporter form (legacy_key)
    if reference.verdict in {x.value for x in CRASH_VERDICTS}:
        return reference.detail == candidate.detail
    kind_ref, kind_cand = reference.detail.split(":", 1)[0], candidate.detail.split(":", 1)[0]
    return kind_ref == kind_cand and not (Counter(candidate.path_ops) - Counter(reference.path_ops))


# -- crash messages --------------------------------------------------------------------------------
_ONNX_INT = re.compile(r"tensor\((?:u?int(?:8|16|32|64))\)")
_ONNX_FLOAT = re.compile(r"tensor\((?:float16|bfloat16|float|double)\)")
_RULES: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"0x[0-9a-fA-F]+"), "<addr>"),
    # file paths (with a file extension, optionally :line)
    (re.compile(r"(?:[A-Za-z]:)?(?:/[\w.+-]+)+\.\w+(?::\d+)?"), "<path>"),
    # qualified PyTorch operator names are the bug identity: protect them from the quote rule
    (re.compile(r"'((?:aten|prim|onnx|quantized|torchvision)::\w+)'"), r"«\1»"),
    (re.compile(r"'[^'\n]*'|\"[^\"\n]*\""), "<name>"),
    (re.compile(r"node name: [^\s,)]+"), "node name: <node>"),
    (re.compile(r"(?<![\w/])/[\w/.:-]+"), "<node>"),  # TorchScript node names: /Sin_3, /layer/Conv
    (re.compile(r"\bnode_\w+|\bval_\d+\b|\b[xvp]\d+(?:_\d+)?\b|%\w+"), "<name>"),
    (re.compile(r"\b[su]\d+\b"), "<sym>"),  # symbolic sizes of torch.export: s0, u0
    # shapes: torch.Size([2, 3]), [2, 3], [], (2, 3), (4,); symbolic dims (s0) included
    (re.compile(r"torch\.Size\(\[[^\]]*\]\)|\[\s*(?:-?(?:\d+|s\d+)\s*,?\s*)*\]|\((?:\s*-?\d+\s*,)+\s*-?\d*\s*\)"), "<shape>"),
    (re.compile(r"\b(?P<op>[A-Z]\w*)\(\d+\)"), r"\g<op>(#)"),  # ONNX op with its since-version: Atan(7)
    (re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])"), "#"),
)


def normalize_message(msg: str, limit: int = 240) -> str:
    """The first non-empty line of ``msg`` with what varies between occurrences removed."""
    text = msg.split("[Caused by the value", 1)[0]
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    line = _ONNX_INT.sub("tensor(int)", line)
    line = _ONNX_FLOAT.sub("tensor(float)", line)
    for pat, rep in _RULES:
        line = pat.sub(rep, line)
    line = line.replace("«", "'").replace("»", "'")
    line = re.sub(r"\s+", " ", line).strip()
    return line[:limit]


def _short_type(error_type: str | None) -> str:
    """``onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented`` -> ``NotImplemented``: the
    module path of an exception class moves between releases; the class name is the identity."""
    return (error_type or "UnknownError").rsplit(".", 1)[-1]


# -- mismatch paths --------------------------------------------------------------------------------
_IGNORED_OPS = frozenset({"Constant"})  # literals, not computation


def diverging_path(model: bytes, output_index: int) -> list[str]:
    """ONNX op types of every node the model's ``output_index``-th output depends on (itself
    included), in topological order with ties broken by op type: a canonical form, so two models
    of the same computation give the same list whatever their node order or names."""
    proto = onnx.load_model_from_string(model)
    g = proto.graph
    if not 0 <= output_index < len(g.output):
        return _all_ops(model)
    dag, producer = _dataflow(g)
    target = producer.get(g.output[output_index].name)
    if target is None:  # the output is a graph input or an initializer: no op on the path
        return []
    keep = nx.ancestors(dag, target) | {target}
    sub = dag.subgraph(keep)
    order = nx.lexicographical_topological_sort(sub, key=lambda n: (g.node[n].op_type, n))
    return [g.node[n].op_type for n in order if g.node[n].op_type not in _IGNORED_OPS]


def _all_ops(model: bytes) -> list[str]:
    g = onnx.load_model_from_string(model).graph
    dag, _ = _dataflow(g)
    order = nx.lexicographical_topological_sort(dag, key=lambda n: (g.node[n].op_type, n))
    return [g.node[n].op_type for n in order if g.node[n].op_type not in _IGNORED_OPS]


def _dataflow(g: onnx.GraphProto) -> tuple[nx.DiGraph, dict[str, int]]:
    """One vertex per node (by index), an edge producer -> consumer per tensor. Subgraph
    attributes (If/Loop bodies) count as reads of the outer names they use."""
    producer: dict[str, int] = {}
    for k, n in enumerate(g.node):
        for o in n.output:
            if o:
                producer[o] = k
    dag = nx.DiGraph()
    dag.add_nodes_from(range(len(g.node)))
    for k, n in enumerate(g.node):
        for name in list(n.input) + _subgraph_reads(n):
            src = producer.get(name)
            if src is not None and src != k:
                dag.add_edge(src, k)
    return dag, producer


def _subgraph_reads(n: onnx.NodeProto) -> list[str]:
    names: list[str] = []
    for a in n.attribute:
        for sg in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
            for m in sg.node:
                names.extend(m.input)
                names.extend(_subgraph_reads(m))
    return names
