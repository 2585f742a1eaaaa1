"""Blame attribution: which component is the likely culprit of a failing case.

Four opinions on the same ONNX model and inputs: eager PyTorch (E, the oracle), ONNX Runtime with
all graph optimizations (O, the primary run), ONNX Runtime with none (U) and the ONNX reference
implementation (R). "≈" is agreement under the tolerance policy. The rules, in order:

1. ``ort_optimizer``: O and U disagree (or O crashed and U ran): optimizations must not change
   results, and U runs the very same kernels without them.
2. ``exporter``: R ≈ ORT (U, or O without U) and R ≉ E: two independent implementations of
   the ONNX model agree with each other, so the model itself computes something other than the
   PyTorch program. The same when ORT cannot run the model and R ≉ E, and when ORT and R both
   raise while running it (two implementations reject the model at run time: it is invalid in a
   way the checker does not see, such as a Reshape to 0 elements without allowzero).
3. ``ort_kernel``: R ≈ E and ORT ≉ E (or ORT crashed / has no kernel): the model is right, the
   runtime's kernel is not.
4. ``decomposition`` (dynamo): before rules 2 and 3, when the decomposed program the dynamo
   exporter translates (D, run in eager: :mod:`fuzzer.execute.decomposed`) agrees with ORT (or,
   when ORT cannot run, with R) and not with E: the difference was there before translation, in
   PyTorch's decompositions or type promotion (or between eager's kernel and its decomposition).
5. ``exporter_optimizer`` (dynamo): first of all, when the same export with ONNX Script's
   optimizer off, run in ORT (X), agrees with E and the optimized model's run (O) does not: the
   exporter's own graph optimizer changed the result (e.g. a rewrite fusing two Clips).
6. ``unknown``: anything else, e.g. the reference does not support the model (an oracle's
   limitation, never a finding by itself), all three disagree, or there is nothing to attribute.

The reference outputs are compared after a cast to the model's declared output types (done by
:func:`fuzzer.execute.reference.run_reference`): numpy type promotion inside the reference's
kernels is the reference's own affair, not information about the model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .compare import OutputDiff, compare_outputs
from .tolerance import Tolerance


class Culprit(str, enum.Enum):
    EXPORTER = "exporter"
    ORT_KERNEL = "ort_kernel"
    ORT_OPTIMIZER = "ort_optimizer"
    DECOMPOSITION = "decomposition"
    EXPORTER_OPTIMIZER = "exporter_optimizer"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class OracleReport:
    """One extra oracle's run, as recorded in the case: its status and whom it agrees with."""

    name: str  # "ort_unoptimized" | "reference" | "decomposed" | "unoptimized_export"
    status: str  # "ok" | "load" | "run" | "unsupported" | "skipped"
    agrees_with_eager: bool | None = None
    agrees_with_ort: bool | None = None
    worst_vs_eager: OutputDiff | None = None
    error_type: str | None = None
    error_head: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "name": self.name, "status": self.status, "agrees_with_eager": self.agrees_with_eager,
            "agrees_with_ort": self.agrees_with_ort, "worst_vs_eager": self.worst_vs_eager.to_dict() if self.worst_vs_eager else None,
            "error_type": self.error_type, "error_head": self.error_head, "seconds": round(self.seconds, 6),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "OracleReport":
        w = d.get("worst_vs_eager")
        return cls(d["name"], d["status"], d.get("agrees_with_eager"), d.get("agrees_with_ort"), OutputDiff.from_dict(w) if w else None,
                   d.get("error_type"), d.get("error_head"), float(d.get("seconds", 0.0)))


@dataclass(frozen=True)
class Blame:
    culprit: Culprit
    reason: str
    oracles: tuple[OracleReport, ...] = ()

    def to_dict(self) -> dict:
        return {"culprit": self.culprit.value, "reason": self.reason, "oracles": [o.to_dict() for o in self.oracles]}

    @classmethod
    def from_dict(cls, d: dict) -> "Blame":
        return cls(Culprit(d["culprit"]), d["reason"], tuple(OracleReport.from_dict(o) for o in d.get("oracles", ())))

    def oracle(self, name: str) -> OracleReport | None:
        return next((o for o in self.oracles if o.name == name), None)


@dataclass(frozen=True)
class OracleRun:
    """What :func:`attribute_blame` needs from one run: its stage and outputs (a view of
    :class:`fuzzer.execute.RunOutcome`, kept separate so this module stays pure)."""

    stage: str
    outputs: tuple[np.ndarray, ...] = ()
    error_type: str | None = None
    error_message: str | None = None
    seconds: float = 0.0


def agree(a: Sequence[np.ndarray], b: Sequence[np.ndarray], tolerances: Sequence[Tolerance] | None = None) -> tuple[bool, OutputDiff | None]:
    diffs = compare_outputs(a, b, tolerances)
    bad = [d for d in diffs if not d.ok]
    return (not bad), (max(bad, key=lambda d: (d.structural, d.max_abs)) if bad else None)


def attribute_blame(
    eager: Sequence[np.ndarray],
    ort: OracleRun,
    oracles: Mapping[str, OracleRun],
    tolerances: Sequence[Tolerance] | None = None,
) -> Blame:
    """Apply the module's rules to the primary ORT run ``ort`` and the extra ``oracles``
    (keys "ort_unoptimized", "reference", "decomposed", "unoptimized_export"; any may be missing)."""
    reports = []
    ok: dict[str, Sequence[np.ndarray]] = {"eager": eager}
    if ort.stage == "ok":
        ok["ort"] = ort.outputs
    for name in ("ort_unoptimized", "reference", "decomposed", "unoptimized_export"):
        run = oracles.get(name)
        if run is None:
            continue
        if run.stage != "ok":
            head = (run.error_message or "").strip().splitlines()[0][:300] if run.error_message else None
            reports.append(OracleReport(name, run.stage, error_type=run.error_type, error_head=head, seconds=run.seconds))
            continue
        ok[name] = run.outputs
        with_e, worst = agree(eager, run.outputs, tolerances)
        with_o = agree(ort.outputs, run.outputs, tolerances)[0] if ort.stage == "ok" else None
        reports.append(OracleReport(name, "ok", with_e, with_o, worst, seconds=run.seconds))
    ref = oracles.get("reference")
    culprit, reason = _rules(ok, ort.stage, tolerances, ref.stage if ref is not None else None)
    return Blame(culprit, reason, tuple(reports))


def _rules(ok: Mapping[str, Sequence[np.ndarray]], ort_stage: str, tol, ref_stage: str | None = None) -> tuple[Culprit, str]:
    e = ok["eager"]
    o, u, r = ok.get("ort"), ok.get("ort_unoptimized"), ok.get("reference")
    if o is not None and agree(e, o, tol)[0] and (u is None or agree(e, u, tol)[0]):
        return Culprit.UNKNOWN, "ORT agrees with eager: nothing to attribute"
    x = ok.get("unoptimized_export")
    if x is not None and o is not None and agree(e, x, tol)[0] and not agree(e, o, tol)[0]:
        return Culprit.EXPORTER_OPTIMIZER, "the same export with the exporter's optimizer off agrees with eager; the optimized model does not"
    if u is not None:
        u_vs_e = agree(e, u, tol)[0]
        if o is not None and not agree(u, o, tol)[0]:
            return Culprit.ORT_OPTIMIZER, "ORT with optimizations differs from ORT without" + (" (which agrees with eager)" if u_vs_e else " (neither agrees with eager)")
        if o is None and ort_stage in ("load", "run"):
            return Culprit.ORT_OPTIMIZER, f"ORT fails ({ort_stage}) with optimizations and runs without" + (" (agreeing with eager)" if u_vs_e else "")
    kernel = u if u is not None else o  # ORT's kernels, without the optimizer when we have that
    d = ok.get("decomposed")
    if d is not None and not agree(e, d, tol)[0]:
        onnx_side = kernel if kernel is not None else r
        if onnx_side is not None and agree(d, onnx_side, tol)[0]:
            return Culprit.DECOMPOSITION, ("eager PyTorch on the decomposed program the dynamo exporter translates agrees with "
                                           + ("ORT" if kernel is not None else "the reference") + " and differs from eager: the difference comes before translation")
    if r is None:
        if kernel is None and ort_stage == "run" and ref_stage == "run":
            return Culprit.EXPORTER, "ORT and the reference both raise while running the model: the model is invalid"
        return Culprit.UNKNOWN, "the reference implementation gave no result"
    r_vs_e = agree(e, r, tol)[0]
    if kernel is None:
        if r_vs_e:
            return Culprit.ORT_KERNEL, f"ORT fails ({ort_stage}) where the reference runs the model and agrees with eager"
        return Culprit.EXPORTER, f"ORT fails ({ort_stage}) and the reference's result differs from eager"
    k_vs_e, r_vs_k = agree(e, kernel, tol)[0], agree(kernel, r, tol)[0]
    if r_vs_k and not r_vs_e:
        return Culprit.EXPORTER, "the reference agrees with ORT, both differ from eager: the ONNX model computes something else"
    if r_vs_e and not k_vs_e:
        return Culprit.ORT_KERNEL, "the reference agrees with eager, ORT differs: ORT's kernels are wrong on this model"
    return Culprit.UNKNOWN, "eager, ORT and the reference all disagree"
