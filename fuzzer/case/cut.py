"""Get past a shallow, known failure inside one case: cut the culprit out and run the rest.

A case that fails the way a known one-operator trigger fails (:mod:`fuzzer.generate.avoid`: same
exporter, verdict and error type) on a graph holding a node that matches the trigger ends before
anything else in the graph was tested. :func:`run_past_known` cuts such a node out and runs the
rest, repeating until the graph passes, fails in a way no matching node explains (a new failure),
or :data:`MAX_CUTS` cuts were made.

Cutting node *k* (:func:`cut_node`): each of its outputs that another node reads becomes a fresh
graph input of the same name and spec, holding the value eager PyTorch computed for it in the case
(so the rest computes what it did); each of its outputs that is a graph output is replaced by the
node's own node-valued inputs. Nodes and inputs nothing needs any more are dropped.

Which node: one matching a trigger of the failure (same exporter, verdict and error type; same
operator, input dtypes and categorical attributes), or one whose operator the error message names
(the unsupported ``aten::`` operator, the node the checker names: its operator or one of the ONNX
ops it exports to) when that operator has a trigger of the failure on other dtypes or attributes,
or the failure itself is a known finding's (:func:`~fuzzer.generate.avoid.failure_key`). Named
ones first, then graph order. The cuts are recorded in the final result's
``options["cuts"]`` and in the graph's ``meta["cuts"]``: the case that is kept is the graph that ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from fuzzer.catalog import CATALOG
from fuzzer.generate import EagerRejected, evaluate, prune
from fuzzer.generate.avoid import Avoidance, Trigger, failure_key
from fuzzer.ir import Graph, Input

from .result import CaseResult

#: Most nodes cut out of one case (each cut re-runs the case).
MAX_CUTS = 4


@dataclass(frozen=True)
class Cut:
    """One node cut out of a case: its index in the graph it was cut from, its operator, the known
    failure it caused (verdict, error type) and the finding the trigger was learnt from."""

    node: int
    op: str
    verdict: str
    error_type: str | None
    finding: str

    def to_dict(self) -> dict:
        return {"node": self.node, "op": self.op, "verdict": self.verdict, "error_type": self.error_type, "finding": self.finding}


#: Operators an ``aten::`` name in an error stands for, by prefix (the catalog op's own name and the
#: functions its template calls are matched whole).
_ATEN_PREFIXES = {"upsample": "interpolate", "_upsample": "interpolate"}


def _names(op: str) -> set[str]:
    """What an error message may call catalog op ``op``: its name and the functions its template calls."""
    spec = CATALOG.get(op)
    names = {op.lower()}
    if spec is not None:
        names |= {m.lower() for m in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)\(", spec.template)}
    return names


def _named(op: str, message: str) -> bool:
    """Whether the error message names a node of catalog op ``op``: as a word, as the operator of an
    ``aten::`` name, or as an ONNX op type (``op_type:Relu``, a checker's node) it exports to."""
    text = message.lower()
    names = _names(op)
    for aten in re.findall(r"aten(?:::|\.)([a-z0-9_]+)", text):  # TorchScript's aten::cosh, dynamo's aten.amin.default
        if aten in names or aten.lstrip("_") in names or any(aten.startswith(p) and o in names for p, o in _ATEN_PREFIXES.items()):
            return True
    if len(op) >= 5 and re.search(r"(?<![a-z0-9_:])" + re.escape(op.lower()) + r"(?![a-z0-9_])", text):
        return True  # (short names such as 'to' or 'all' are ordinary words of a message)
    spec = CATALOG.get(op)
    # the ONNX node an error is about: the checker's "op_type:Relu", ONNX Runtime's "implementation
    # for Atan(7) node" (a missing kernel) and "running Gather node"
    return spec is not None and any(re.search(r"op_type:\s*" + re.escape(o.lower()) + r"\b|\bfor " + re.escape(o.lower()) + r"\(\d+\) node|\brunning "
                                              + re.escape(o.lower()) + r" node", text) for o in spec.onnx)


def culprits(graph: Graph, result: CaseResult, known: Avoidance) -> list[tuple[int, Trigger]]:
    """Nodes of ``graph`` that match a trigger of ``result``'s exporter with ``result``'s verdict
    and error type, the ones the error message names first."""
    specs = graph.specs()
    message = f"{result.error_head or ''}\n{result.error_message or ''}"
    key = failure_key(result.exporter, result.verdict.value, result.error_type, result.error_head)
    known_failure = known.failures.get(key) if key is not None else None
    found = []
    for k, n in enumerate(graph.nodes):
        named = _named(n.op, message)
        t = known.match(result.exporter, n.op, [specs[i].dtype for i in n.inputs], n.attrs)
        if t is None and named:  # the error names this operator, known to fail this way on other dtypes or attributes
            t = known.match_op(result.exporter, n.op, result.verdict.value, result.error_type)
        if t is None and named and known_failure is not None:  # a known failure, and the node its message names
            t = Trigger(result.exporter, n.op, (), (), result.verdict.value, result.error_type, known_failure)
        if t is not None and t.verdict == result.verdict.value and t.error_type == result.error_type:
            found.append((not named, k, t))
    return [(k, t) for _, k, t in sorted(found, key=lambda f: f[:2])]


def cut_node(graph: Graph, inputs: Mapping[str, np.ndarray], k: int, values: Mapping[str, np.ndarray] | None = None
             ) -> tuple[Graph, dict[str, np.ndarray]] | None:
    """``graph`` without node ``k`` (see the module docstring) and its inputs, or None when nothing
    would be left to run. ``values``: eager values of the case (computed when not given)."""
    g = graph
    node = g.nodes[k]
    mine = {v.name for v in node.outputs}
    read = {n for j, nd in enumerate(g.nodes) if j != k for n in nd.inputs}
    produced = {v.name for nd in g.nodes for v in nd.outputs} - mine
    outputs: list[str] = []
    for o in g.outputs:
        for x in ([u for u in node.inputs if u in produced] if o in mine else [o]):
            if x not in outputs:
                outputs.append(x)
    if not outputs or len(g.nodes) < 2:
        return None
    if values is None:
        try:
            values = {n: t.numpy() for n, t in evaluate(g, dict(inputs)).items()}
        except EagerRejected:
            return None
    fresh = tuple(Input(v.name, v.spec) for v in node.outputs if v.name in read)
    feed = dict(inputs)
    for i in fresh:
        a = np.asarray(values[i.name])
        if tuple(a.shape) != i.spec.shape:  # a data-dependent shape differs from the spec: the rest was built for the spec
            return None
        feed[i.name] = np.array(a, dtype=i.spec.dtype, order="C", copy=True)  # (np.ascontiguousarray makes a 0-d array 1-d)
    cut = prune(Graph(g.inputs + fresh, g.nodes[:k] + g.nodes[k + 1:], tuple(outputs), g.meta))
    if not cut.nodes:
        return None
    return cut, {i.name: feed[i.name] for i in cut.inputs}


def run_past_known(graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult, known: Avoidance | None,
                   rerun: Callable[[Graph, Mapping[str, np.ndarray]], CaseResult], max_cuts: int = MAX_CUTS,
                   pending: Path | None = None) -> tuple[Graph, dict[str, np.ndarray], CaseResult, tuple[Cut, ...]]:
    """The case after cutting known culprits out (the graph, inputs and result that ran last, and
    the cuts). A case that passes, or fails in a way no node of it is known for, is returned as
    it is. ``rerun(graph, inputs)`` runs a cut graph through the same export. With ``pending``,
    each cut graph is saved there before it runs and removed when this returns, so a re-run that
    kills the process leaves the graph that killed it (:func:`load_pending`)."""
    try:
        return _run_past_known(graph, inputs, result, known, rerun, max_cuts, pending)
    finally:
        if pending is not None:
            clear_pending(pending)


def _run_past_known(graph, inputs, result, known, rerun, max_cuts, pending):
    cuts: list[Cut] = []
    x = dict(inputs)
    while known is not None and result.verdict.is_failure and len(cuts) < max_cuts:
        done = None
        for k, t in culprits(graph, result, known):
            done = cut_node(graph, x, k)
            if done is not None:
                cuts.append(Cut(k, graph.nodes[k].op, result.verdict.value, result.error_type, t.finding))
                break
        if done is None:
            break
        g2, x2 = done
        g2 = Graph(g2.inputs, g2.nodes, g2.outputs, {**g2.meta, "cuts": [c.to_dict() for c in cuts]})
        if pending is not None:
            save_pending(pending, g2, x2)
        r2 = rerun(g2, x2)
        if r2.verdict.value == "eager_error":  # cannot happen on eager's own values; keep what ran
            cuts.pop()
            break
        graph, x, result = g2, x2, r2
    if cuts:
        result = replace(result, options={**result.options, "cuts": [c.to_dict() for c in cuts]})
    return graph, x, result, tuple(cuts)


# -- a cut graph in flight ---------------------------------------------------------------------
# A cut graph re-runs in the worker; if that run kills the process, the supervisor rebuilds the
# case from its seed, which gives the *uncut* graph: a crash found past a cut would be filed with
# a graph that fails on the known culprit instead. So before each re-run the worker leaves the cut
# graph and its inputs in a directory the supervisor can find (:func:`pending_dir`), and removes
# it once the case is over; a dead worker's case is taken from there (fuzzer.campaign.rescue).


def pending_dir(cases_dir: str | Path, exporter: str, seed: int) -> Path:
    """Where the cut graph of ``seed`` for ``exporter`` waits while it runs (under the request's
    cases directory, in a hidden folder nothing scans for cases)."""
    return Path(cases_dir) / ".cutting" / f"{exporter}-{seed}"


def save_pending(where: Path, graph: Graph, inputs: Mapping[str, np.ndarray]) -> None:
    """Replace ``where`` with ``graph.json`` and ``inputs.npz`` of the graph about to run (published
    whole with one rename: a reader sees the previous cut or this one, never half of one)."""
    from fuzzer.atomic import StagedDir
    from fuzzer.ir import graph_to_json

    from .files import npz_bytes

    clear_pending(where)
    with StagedDir(where) as tmp:
        (tmp / "graph.json").write_text(graph_to_json(graph) + "\n", encoding="utf-8")
        (tmp / "inputs.npz").write_bytes(npz_bytes(inputs))


def load_pending(where: Path) -> tuple[Graph, dict[str, np.ndarray]] | None:
    """The cut graph and inputs left at ``where`` by a worker that died running them (None when
    there is none or it cannot be read: the caller falls back to rebuilding the case)."""
    from fuzzer.ir import load_graph

    from .files import load_inputs

    if not (where / "graph.json").is_file():
        return None
    try:
        graph = load_graph(where / "graph.json")
        return graph, load_inputs(where / "inputs.npz", graph)
    except (OSError, ValueError):
        return None


def clear_pending(where: Path) -> None:
    import shutil

    shutil.rmtree(where, ignore_errors=True)
