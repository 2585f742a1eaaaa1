"""Scope probing: where a (minimized) finding reproduces and where not.

A maintainer reading a report wants to know how far the bug reaches: other dtypes, other shapes,
the other exporter, other opsets. :func:`variants` enumerates, in a fixed order, the variants of a
finding to run (pure: from finding.json and the graph); :func:`variant_case` builds a variant's
graph and inputs (pure, numpy only); :func:`probe` runs them through an injected runner factory
(the one ``findings replay`` uses: an isolated worker, so a variant that kills its process is a
``process_crash`` verdict, not a dead command) within a time budget and classifies each:

- ``reproduces``: the same bug, as the store decides it (:func:`~fuzzer.triage.signature.matches`
  the finding's signature key, or :func:`~fuzzer.triage.signature.same_bug` against it: a
  mismatch whose path shrank, a crash of the same normalized message);
- ``other failure``: a failing verdict with another signature (the verdict is recorded);
- ``passes``: no failure (``pass``, or ``ambiguous``: the verdict is recorded);
- ``not applicable``: eager PyTorch rejects the variant (``eager_error``), or the catalog rules it
  out without a run (a rank outside an operator's ranks);
- ``not run``: the budget ran out before the variant started (a started variant always finishes,
  bounded by the runner's case timeout).

Variants, in order (the first is the finding as filed, so a scope of a finding that no longer
reproduces says so):

1. ``baseline``: the finding's own graph, inputs and export options;
2. ``dtype``: every graph input (and node parameter) of the finding's dtype (the most common input
   dtype) converted to another dtype that every operator reading such an input as its primary
   input allows (catalog ``dtypes``), at most :data:`MAX_DTYPES`, in :data:`DTYPE_ORDER`. Values
   are cast when the new dtype holds them (float to float, integer to float or integer); a float
   or integer input that becomes an integer or bool input of another kind gets fresh values
   (:func:`fuzzer.generate.inputs.make_value`, from the finding's seed and input mode), since
   casting N(0, 1) floats to integers gives mostly zeros;
3. ``shape``: every graph input given one shape: ``rank-0`` (when every primary operator accepts
   rank 0), ``empty`` (the typical shape with its first dimension 0) and the ``typical`` shape
   (``(2, 3, 4)``, or the nearest rank the operators allow); the finding's own values are fitted
   to the new shape (:func:`fuzzer.minimize.edits.resize`: the leading block, tiled), so the values
   that trigger the bug stay and only the shape changes. A shape every input already has is
   skipped;
4. ``exporter``: the other exporter at its default opset;
5. ``opset``: the finding's exporter at the opsets of :data:`OPSETS` but its own; for dynamo,
   ``optimize=False`` (or ``True`` for a finding filed with ``False``) at the finding's opset
   (axis ``options``).

Results live in finding.json under ``"scope"``: a list of ``{"axis", "variant", "state"}`` plus
``"verdict"`` when a run gave one and ``"note"`` for a reason (see
:meth:`~fuzzer.store.store.FindingStore.record_scope`). A replacement of the reproduction
(minimize, refresh) drops it: it described the old graph.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from fuzzer.ir import DTYPES, FLOAT_DTYPES, INT_DTYPES, Graph

#: Target dtypes in the order they are tried (the finding's own is skipped).
DTYPE_ORDER: tuple[str, ...] = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")
MAX_DTYPES = 6
#: The typical non-empty shape per rank (distinct dims: transposes and reductions stay visible).
TYPICAL_SHAPES: dict[int, tuple[int, ...]] = {0: (), 1: (5,), 2: (3, 4), 3: (2, 3, 4), 4: (2, 3, 4, 5), 5: (2, 2, 3, 2, 3)}
TYPICAL_RANK = 3
#: The opsets a scope tries per exporter (the finding's own is skipped).
OPSETS: dict[str, tuple[int, ...]] = {"torchscript": (7, 9, 13, 17, 20), "dynamo": (17, 18, 20, 23)}
#: Both exporters' default opset on the pinned stack (torch.onnx._constants.ONNX_DEFAULT_OPSET):
#: what a finding filed without an opset ran at.
DEFAULT_OPSET = 20

STATES = ("reproduces", "other failure", "passes", "not applicable", "not run")
AXES = ("baseline", "dtype", "shape", "exporter", "opset", "options")


@dataclass(frozen=True)
class Variant:
    """One way to re-run a finding. ``dtype``/``shape``: the change to the inputs (None: none);
    ``skip``: why it cannot apply, decided without a run (the catalog's ranks)."""

    axis: str
    label: str
    exporter: str
    opset: int | None
    optimize: bool
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    skip: str | None = None


@dataclass(frozen=True)
class ScopeEntry:
    axis: str
    variant: str
    state: str
    verdict: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"axis": self.axis, "variant": self.variant, "state": self.state}
        if self.verdict is not None:
            d["verdict"] = self.verdict
        if self.note is not None:
            d["note"] = self.note
        return d


# -- enumeration (pure) ------------------------------------------------------------------------------

def finding_dtype(graph: Graph) -> str | None:
    """The dtype the dtype axis varies: the most common input dtype (ties: the first input's)."""
    counts = Counter(i.spec.dtype for i in graph.inputs)
    if not counts:
        return None
    top = max(counts.values())
    return next(i.spec.dtype for i in graph.inputs if counts[i.spec.dtype] == top)


def _primary_ops(graph: Graph, names: set[str]):
    """Catalog entries of the nodes whose primary (first) input is one of ``names``."""
    from fuzzer.catalog import CATALOG

    return [CATALOG[n.op] for n in graph.nodes if n.inputs and n.inputs[0] in names and n.op in CATALOG]


def legal_dtypes(graph: Graph, dtype: str) -> list[str]:
    """Dtypes every operator reading an input of ``dtype`` as its primary input allows, in
    :data:`DTYPE_ORDER`, ``dtype`` itself excluded (no such operator: every numeric dtype)."""
    ops = _primary_ops(graph, {i.name for i in graph.inputs if i.spec.dtype == dtype})
    allowed = set.intersection(*(set(op.dtypes) for op in ops)) if ops else set(DTYPES) - {"bool"}
    return [d for d in DTYPE_ORDER if d in allowed and d != dtype]


def allowed_ranks(graph: Graph) -> tuple[int, int]:
    """(lowest, highest) rank every operator reading a graph input as its primary input accepts."""
    lo, hi = 0, 5
    for op in _primary_ops(graph, {i.name for i in graph.inputs}):
        lo, hi = max(lo, op.ranks[0]), min(hi, op.ranks[1])
    return lo, hi


def shape_variants(graph: Graph) -> list[tuple[str, tuple[int, ...] | None, str | None]]:
    """(label, shape, skip reason) of the shape axis (see the module docstring)."""
    if not graph.inputs:
        return []
    lo, hi = allowed_ranks(graph)
    out: list[tuple[str, tuple[int, ...] | None, str | None]] = []
    if lo > hi:
        return [("any shape", None, f"the operators allow no common rank ({lo}..{hi})")]
    typical_rank = min(max(TYPICAL_RANK, lo), hi)
    typical = TYPICAL_SHAPES.get(typical_rank, (2,) * typical_rank)
    out.append(("rank-0", (), None) if lo == 0 else ("rank-0", None, f"rank 0 is outside the operators' ranks {lo}..{hi}"))
    if typical:
        out.append(("empty " + _shape_text((0,) + typical[1:]), (0,) + typical[1:], None))
    out.append((_shape_text(typical), typical, None))
    current = {i.spec.shape for i in graph.inputs}
    return [(label, s, skip) for label, s, skip in out if not (s is not None and current == {s})]


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def effective_opset(doc: Mapping[str, Any]) -> int:
    """The opset the finding was exported at (requested, else the default)."""
    from .store import export_options

    _, opset, _ = export_options(doc)
    return opset if opset is not None else DEFAULT_OPSET


def variants(doc: Mapping[str, Any], graph: Graph) -> list[Variant]:
    """Every variant of a finding to run, in the order they run (module docstring)."""
    from .store import export_options

    exporter, opset, optimize = export_options(doc)
    out = [Variant("baseline", "as filed", exporter, opset, optimize)]
    dt = finding_dtype(graph)
    if dt is not None:
        for new in legal_dtypes(graph, dt)[:MAX_DTYPES]:
            out.append(Variant("dtype", new, exporter, opset, optimize, dtype=new))
    for label, shape, skip in shape_variants(graph):
        out.append(Variant("shape", label, exporter, opset, optimize, shape=shape, skip=skip))
    other = "dynamo" if exporter == "torchscript" else "torchscript"
    out.append(Variant("exporter", other, other, None, True))
    own = effective_opset(doc)
    for o in OPSETS.get(exporter, ()):
        if o != own:
            out.append(Variant("opset", str(o), exporter, o, optimize))
    if exporter == "dynamo":
        out.append(Variant("options", f"optimize={not optimize}", exporter, opset, not optimize))
    return out


# -- building a variant (pure) -----------------------------------------------------------------------

def _same_kind(old: str, new: str) -> bool:
    """Can values of ``old`` be cast to ``new`` and keep what they are (float->float, int->float/int)?"""
    if new in FLOAT_DTYPES:
        return old in FLOAT_DTYPES or old in INT_DTYPES
    if new in INT_DTYPES:
        return old in INT_DTYPES
    return old == new


def variant_case(graph: Graph, inputs: Mapping[str, np.ndarray], v: Variant, seed: int = 0,
                 mode: str = "normal") -> tuple[Graph, dict[str, np.ndarray]]:
    """The graph and inputs of variant ``v`` of a finding (``seed``/``mode``: the finding's, for
    values drawn afresh). Node output specs are left as they are: nothing that runs a case reads
    them (the minimizer leaves them too)."""
    from fuzzer.generate.inputs import input_rng, make_value
    from fuzzer.minimize.edits import cast, resize

    if v.dtype is not None:
        old = finding_dtype(graph)
        ins, new_inputs = [], dict(inputs)
        for i in graph.inputs:
            if i.spec.dtype != old:
                ins.append(i)
                continue
            spec = i.spec.with_dtype(v.dtype)
            ins.append(dataclasses.replace(i, spec=spec))
            if i.domain == "index" or _same_kind(old, v.dtype):
                new_inputs[i.name] = np.array(cast(inputs[i.name], v.dtype), order="C", copy=True)
            else:
                new_inputs[i.name] = make_value(spec, i.domain, i.bound, input_rng(seed, i.name, mode), mode)
        nodes = tuple(dataclasses.replace(n, params=tuple(dataclasses.replace(p, spec=p.spec.with_dtype(v.dtype)) if p.spec.dtype == old else p
                                                          for p in n.params)) for n in graph.nodes)
        return dataclasses.replace(graph, inputs=tuple(ins), nodes=nodes), new_inputs
    if v.shape is not None:
        ins = tuple(dataclasses.replace(i, spec=i.spec.with_shape(v.shape)) for i in graph.inputs)
        new_inputs = {i.name: np.array(resize(inputs[i.name], v.shape), order="C", copy=True) for i in graph.inputs}
        return dataclasses.replace(graph, inputs=ins), new_inputs
    return graph, dict(inputs)


# -- running -----------------------------------------------------------------------------------------

def classify(result: Any, doc: Mapping[str, Any]) -> tuple[str, str]:
    """(state, verdict) of a variant's result against the finding ``doc`` (module docstring)."""
    from fuzzer.triage.signature import NotAFailure, Signature, matches, same_bug, signature_of

    verdict = result.verdict.value
    if verdict == "eager_error":
        return "not applicable", verdict
    try:
        sig = signature_of(result)
    except NotAFailure:
        return "passes", verdict
    s = doc["signature"]
    reference = Signature(s.get("verdict", doc["verdict"]), s.get("exporter", doc["exporter"]), s.get("detail", ""), tuple(s.get("path_ops") or ()))
    if matches(sig, s["key"], doc["exporter"]) or same_bug(reference, sig):
        return "reproduces", verdict
    return "other failure", verdict


def probe(doc: Mapping[str, Any], graph: Graph, inputs: Mapping[str, np.ndarray], runners: Callable[..., Callable],
          seconds: float, clock: Callable[[], float] = time.monotonic,
          on_entry: Callable[[ScopeEntry], None] | None = None) -> list[ScopeEntry]:
    """Run the variants of a finding within ``seconds`` (checked before each variant starts);
    ``runners(exporter, opset, input mode, optimize[, dynamic=True])`` as for
    :func:`fuzzer.store.replay.replay_state`. One entry per variant, in order; ``on_entry`` hears
    each as it is decided."""
    from .store import dynamic_kw

    t0 = clock()
    mode = doc.get("input_mode") or "normal"
    seed = (doc.get("original") or {}).get("seed")
    seed = seed if isinstance(seed, int) else graph.meta.get("seed") if isinstance(graph.meta.get("seed"), int) else 0
    out: list[ScopeEntry] = []
    for v in variants(doc, graph):
        if v.skip is not None:
            e = ScopeEntry(v.axis, v.label, "not applicable", note=v.skip)
        elif clock() - t0 >= seconds:
            e = ScopeEntry(v.axis, v.label, "not run", note=f"out of time ({seconds:g} s)")
        else:
            g, x = variant_case(graph, inputs, v, seed, mode)
            result = runners(v.exporter, v.opset, mode, v.optimize, **dynamic_kw(doc))(g, x)
            state, verdict = classify(result, doc)
            note = "eager PyTorch rejects it" if verdict == "eager_error" else None
            e = ScopeEntry(v.axis, v.label, state, verdict, note)
        out.append(e)
        if on_entry is not None:
            on_entry(e)
    return out


# -- the summary a report shows ----------------------------------------------------------------------

_AXIS_WORDS = {"baseline": "", "dtype": "", "shape": "shape ", "exporter": "the ", "opset": "opset ", "options": ""}


def _label(e: Mapping[str, Any]) -> str:
    axis, variant = str(e.get("axis")), str(e.get("variant"))
    if axis == "exporter":
        return f"the {variant} exporter"
    if axis == "baseline":
        return "the finding as filed"
    return _AXIS_WORDS.get(axis, "") + variant


def _join_opsets(labels: list[str]) -> list[str]:
    """'opset 7', 'opset 9' -> 'opsets 7, 9'."""
    ops = [x.removeprefix("opset ") for x in labels if x.startswith("opset ")]
    rest = [x for x in labels if not x.startswith("opset ")]
    if len(ops) > 1:
        return rest + ["opsets " + ", ".join(ops)]
    return rest + [f"opset {o}" for o in ops]


def summary(entries: Sequence[Mapping[str, Any]]) -> str:
    """One short paragraph: where the finding reproduces and where not (a report's Scope
    section, ``findings show``)."""
    parts = []
    lead = {"reproduces": "Reproduces with", "other failure": "Fails otherwise with", "passes": "Passes with",
            "not applicable": "Not applicable", "not run": "Not run (out of time)"}
    for state in STATES:
        chosen = [e for e in entries if e.get("state") == state]
        if not chosen:
            continue
        labels = _join_opsets([_label(e) for e in chosen])
        if state == "other failure":
            by_verdict: dict[str, list[str]] = {}
            for e in chosen:
                by_verdict.setdefault(str(e.get("verdict")), []).append(_label(e))
            text = "; ".join(f"{', '.join(_join_opsets(ls))} ({v})" for v, ls in by_verdict.items())
        elif state == "passes":
            plain = [_label(e) for e in chosen if e.get("verdict") in (None, "pass")]
            other = [f"{_label(e)} ({e.get('verdict')})" for e in chosen if e.get("verdict") not in (None, "pass")]
            text = ", ".join(_join_opsets(plain) + other)
        else:
            text = ", ".join(labels)
        parts.append(f"{lead[state]}{':' if state in ('not applicable', 'not run') else ''} {text}.")
    return " ".join(parts)


def check_scope(value: Any) -> bool:
    """Is ``value`` a scope list as :func:`probe` records it (finding.json ``"scope"``)?"""
    return isinstance(value, list) and len(value) <= 1000 and all(
        isinstance(e, dict) and isinstance(e.get("axis"), str) and isinstance(e.get("variant"), str) and e.get("state") in STATES
        and isinstance(e.get("verdict", ""), str) and isinstance(e.get("note", ""), str) for e in value)
