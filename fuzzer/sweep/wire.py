"""JSON form of case results crossing the worker-process boundary (no pickle anywhere).

``result_to_wire`` / ``result_from_wire`` are inverses on everything :class:`CaseResult` holds,
including the ONNX model bytes (base64). :class:`ProcessCrash` is the record of a case that killed
or hung its worker process: there is no :class:`CaseResult` for it, so it carries the same fields
the recorder and the report read (``exporter``, ``verdict``, ``error_type``, ``error_head``...).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Mapping

from fuzzer.campaign import CaseResult
from fuzzer.compare import OutputDiff, Verdict

#: The verdict text of a case that killed (signal, abort) or hung its worker process.
PROCESS_CRASH = "process_crash"


@dataclass(frozen=True)
class ProcessCrash:
    """A case whose process died (``error_type`` "signal SIGFPE", "exit code 3") or hung
    ("timeout"). Nothing of the case's own result survived; ``exit_code`` is the worker's."""

    seed: int | None
    exporter: str
    opset_requested: int | None
    input_mode: str
    error_type: str
    error_head: str
    exit_code: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    verdict: str = PROCESS_CRASH
    opset: None = None
    model: None = None
    diffs: tuple = ()

    def to_dict(self) -> dict:
        return {
            "seed": self.seed, "exporter": self.exporter, "opset_requested": self.opset_requested, "opset": None,
            "verdict": self.verdict, "input_mode": self.input_mode, "error_type": self.error_type,
            "error_head": self.error_head, "exit_code": self.exit_code, "options": dict(self.options),
        }


def verdict_text(result: CaseResult | ProcessCrash) -> str:
    v = result.verdict
    return v.value if isinstance(v, Verdict) else str(v)


def result_to_wire(r: CaseResult) -> dict:
    d = r.to_dict()
    d["model_b64"] = base64.b64encode(r.model).decode("ascii") if r.model is not None else None
    return d


def _num(x: Any) -> float:
    return float(x) if isinstance(x, str) else x  # "inf"/"nan" were stringified by OutputDiff.to_dict


def result_from_wire(d: Mapping[str, Any]) -> CaseResult:
    diffs = tuple(
        OutputDiff(x["index"], x["kind"], x["expected"], x["actual"], _num(x["max_abs"]), _num(x["max_rel"]), x["mismatched"], x["total"], x["detail"])
        for x in d["diffs"]
    )
    model = base64.b64decode(d["model_b64"]) if d.get("model_b64") else None
    return CaseResult(
        seed=d["seed"], exporter=d["exporter"], opset_requested=d["opset_requested"], opset=d["opset"],
        verdict=Verdict(d["verdict"]), input_mode=d["input_mode"], error_type=d["error_type"],
        error_head=d["error_head"], error_message=d["error_message"], diffs=diffs, timings=dict(d["timings"]),
        n_nodes=d["n_nodes"], ops=tuple(d["ops"]), options=dict(d["options"]), versions=dict(d["versions"]),
        warnings=tuple(d["warnings"]), model=model,
    )

