"""The record of one case: :class:`CaseResult`, its JSON form, and the digests that identify a case.

``to_dict``/``from_dict`` are the one JSON form of a result, on disk (``result.json``,
``results.jsonl``) and across the worker-process boundary; they are inverses on every field except
the model bytes, ORT's output arrays and the coverage items, which travel separately.
:func:`worker_death_result` is the one way a case that took its worker process down (signal,
hang, memory limit) becomes a result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from fuzzer.compare import OutputDiff, Verdict, worst_difference
from fuzzer.compare.ambiguity import Ambiguity
from fuzzer.compare.blame import Blame
from fuzzer.compare.tolerance import Tolerance
from fuzzer.export import ExportOptions
from fuzzer.ir import Graph, graph_to_dict
from fuzzer.versions import stack_versions

if TYPE_CHECKING:  # cross.py imports this module
    from .cross import CrossExporter


@dataclass(frozen=True)
class CaseResult:
    """The record of one (graph, inputs, exporter) case. JSON-able via :meth:`to_dict`."""

    seed: int | None
    exporter: str
    opset_requested: int | None
    opset: int | None
    verdict: Verdict
    input_mode: str
    error_type: str | None = None
    error_head: str | None = None  # first line of the error message (<= 300 chars)
    error_message: str | None = None
    diffs: tuple[OutputDiff, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    n_nodes: int = 0
    ops: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    model: bytes | None = field(default=None, repr=False, compare=False)  # not serialized in to_dict
    outputs: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)  # ORT's outputs; not serialized (see output_digests)
    output_digests: tuple[str, ...] = ()  # one per ORT output: sha256 of dtype, shape and bytes (16 hex)
    graph_digest: str | None = None  # see graph_digest(): same digest = same test case
    inputs_digest: str | None = None  # see inputs_digest()
    tolerances: tuple[Tolerance, ...] = ()  # the policy's tolerance per output (when compared)
    ambiguities: tuple[Ambiguity, ...] = ()  # why an AMBIGUOUS case is not a bug
    blame: Blame | None = None  # extra oracles and the culprit, when they ran
    cross: "CrossExporter | None" = None  # the other exporter's view of the same case, when both ran
    coverage_items: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)  # of the exported model (worker-extracted)
    #: graph rewrites observed on this case's model: the exporter's optimizer ("onnxscript:...",
    #: dynamo) and ONNX Runtime's session optimizer ("ort:...", when the model reached ORT); sorted
    rewrites: tuple[str, ...] = ()

    @property
    def worst(self) -> OutputDiff | None:
        return worst_difference(self.diffs)

    def to_dict(self) -> dict:
        w = self.worst
        return {
            "seed": self.seed, "exporter": self.exporter, "opset_requested": self.opset_requested, "opset": self.opset,
            "verdict": self.verdict.value, "input_mode": self.input_mode, "error_type": self.error_type,
            "error_head": self.error_head, "error_message": self.error_message,
            "worst": w.to_dict() if w else None, "diffs": [d.to_dict() for d in self.diffs],
            "timings": {k: round(v, 6) for k, v in self.timings.items()}, "n_nodes": self.n_nodes,
            "ops": list(self.ops), "options": dict(self.options), "versions": dict(self.versions),
            "warnings": list(self.warnings),
            "output_digests": list(self.output_digests), "graph_digest": self.graph_digest, "inputs_digest": self.inputs_digest,
            "tolerances": [{"rtol": t.rtol, "atol": t.atol, "reason": t.reason} for t in self.tolerances],
            "ambiguities": [a.to_dict() for a in self.ambiguities],
            "blame": self.blame.to_dict() if self.blame else None,
            "cross_exporter": self.cross.to_dict() if self.cross is not None else None,
            "rewrites": list(self.rewrites),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], model: bytes | None = None) -> "CaseResult":
        """Inverse of :meth:`to_dict` (the model bytes travel separately; the cross-exporter view
        is a campaign-time comparison and is not rebuilt). Raises KeyError/ValueError/TypeError on
        a malformed record."""
        return cls(
            seed=d["seed"], exporter=d["exporter"], opset_requested=d["opset_requested"], opset=d["opset"],
            verdict=Verdict(d["verdict"]), input_mode=d["input_mode"], error_type=d.get("error_type"),
            error_head=d.get("error_head"), error_message=d.get("error_message"),
            diffs=tuple(OutputDiff.from_dict(x) for x in d.get("diffs", ())), timings=dict(d.get("timings", {})),
            n_nodes=d.get("n_nodes", 0), ops=tuple(d.get("ops", ())), options=dict(d.get("options", {})),
            versions=dict(d.get("versions", {})), warnings=tuple(d.get("warnings", ())), model=model,
            output_digests=tuple(d.get("output_digests", ())), graph_digest=d.get("graph_digest"), inputs_digest=d.get("inputs_digest"),
            tolerances=tuple(Tolerance(float(t["rtol"]), float(t["atol"]), t["reason"]) for t in d.get("tolerances", ())),
            ambiguities=tuple(Ambiguity(a["kind"], a["output"], a["node"], a["op"], a["detail"]) for a in d.get("ambiguities", ())),
            blame=Blame.from_dict(d["blame"]) if d.get("blame") else None,
            rewrites=tuple(str(x) for x in d.get("rewrites", ()) if isinstance(x, str)),
        )


def error_head(msg: str | None) -> str | None:
    """The first non-empty line of an error message, at most 300 characters; for a dynamo exporter
    error, whose first line only names the step, its cause instead (:mod:`fuzzer.export.errors`)."""
    if not msg:
        return msg
    from fuzzer.export.errors import summary_head

    summary = summary_head(msg)
    if summary is not None:
        return summary[:300]
    lines = [ln.strip() for ln in msg.strip().splitlines() if ln.strip()]
    return (lines[0] if lines else "")[:300]


#: How a worker process ended on a case, as the pool reports it, and the verdict it gives.
DEATH_VERDICTS: dict[str, Verdict] = {"crash": Verdict.PROCESS_CRASH, "hang": Verdict.HANG, "oom": Verdict.OUT_OF_MEMORY}


def worker_death_result(
    kind: str, detail: str, seconds: float, export: ExportOptions, *, seed: int | None, input_mode: str,
    graph: Graph | None = None, options: Mapping[str, Any] | None = None,
) -> CaseResult:
    """The result of a case whose worker died (``kind`` "crash": ``detail`` is the signal name or
    exit code), hung ("hang") or passed its memory limit ("oom"). Nothing of the case's own run
    survived; ``graph``, when known, gives its size and operators."""
    return CaseResult(
        seed=seed, exporter=export.exporter.value, opset_requested=export.opset, opset=None, verdict=DEATH_VERDICTS[kind],
        input_mode=input_mode, error_type=detail.split()[0] if kind == "crash" and detail else kind,
        error_head=f"worker {kind}: {detail}", error_message=f"the process running this case ended with: {detail}",
        timings={"total": seconds}, n_nodes=len(graph) if graph is not None else 0, ops=tuple(graph.ops()) if graph is not None else (),
        options=dict(options or {}), versions=stack_versions(),
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def graph_digest(graph: Graph) -> str:
    """sha256 (16 hex digits) of the graph's compact JSON: equal for equal graphs."""
    return _sha(json.dumps(graph_to_dict(graph), separators=(",", ":"), allow_nan=False).encode())


def inputs_digest(inputs: Mapping[str, np.ndarray]) -> str:
    """sha256 (16 hex digits) over each input's name, dtype, shape and bytes, in order."""
    h = hashlib.sha256()
    for name, value in inputs.items():
        a = np.ascontiguousarray(value)
        h.update(f"{name}|{a.dtype.str}|{list(a.shape)}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def output_digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return _sha(f"{a.dtype.str}{list(a.shape)}".encode() + a.tobytes())
