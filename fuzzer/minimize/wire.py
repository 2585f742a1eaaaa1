"""A minimization's plain form, to ship it between machines: JSON-able fields plus bytes (the
inputs as ``.npz``, the model as ``.onnx``). Nothing is pickled; the receiver rebuilds the
:class:`~fuzzer.minimize.shrinker.MinimizeResult` with :func:`minimization_from_wire`.

Paired functions, inverses of each other on everything the findings store reads
(``best``, ``result`` with its model, ``signature``, ``stats()``).
"""

from __future__ import annotations

import io
from typing import Any, Mapping

import numpy as np

from fuzzer.case import CaseResult
from fuzzer.case.files import npz_bytes
from fuzzer.ir import Graph, graph_from_dict, graph_to_dict
from fuzzer.triage.signature import Signature

from .edits import Candidate
from .shrinker import MinimizeResult, PassStats


def inputs_from_npz_bytes(data: bytes, graph: Graph) -> dict[str, np.ndarray]:
    """The inputs of ``graph`` from ``.npz`` bytes (read without pickle)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {i.name: np.asarray(z[i.name]) for i in graph.inputs}


def candidate_to_wire(c: Candidate) -> dict:
    return {"graph": graph_to_dict(c.graph), "inputs_npz": npz_bytes(c.inputs)}


def candidate_from_wire(d: Mapping[str, Any]) -> Candidate:
    g = graph_from_dict(d["graph"])
    return Candidate(g, inputs_from_npz_bytes(d["inputs_npz"], g))


def minimization_to_wire(m: MinimizeResult) -> dict:
    return {
        "original": candidate_to_wire(m.original), "best": candidate_to_wire(m.best),
        "result": m.result.to_dict(), "model": m.result.model, "signature": m.signature.to_dict(),
        "stop_reason": m.stop_reason, "seconds": m.seconds, "candidates": m.candidates, "runs": m.runs,
        "passes": {k: v.to_dict() for k, v in m.passes.items()}, "rejections": dict(m.rejections),
    }


def minimization_from_wire(d: Mapping[str, Any]) -> MinimizeResult:
    s = d["signature"]
    return MinimizeResult(
        original=candidate_from_wire(d["original"]), best=candidate_from_wire(d["best"]),
        result=CaseResult.from_dict(d["result"], model=d.get("model")),
        signature=Signature(s["verdict"], s["exporter"], s["detail"], tuple(s.get("path_ops", ()))),
        stop_reason=d["stop_reason"], seconds=float(d["seconds"]), candidates=int(d["candidates"]), runs=int(d["runs"]),
        passes={k: PassStats(**v) for k, v in d["passes"].items()}, rejections=dict(d["rejections"]),
    )
