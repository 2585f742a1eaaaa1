"""Cross-exporter differential: the two exporters' results on the same graph and inputs.

When exactly one exporter is wrong, the other is a working reference for the same PyTorch
program: the most useful report for the faulty exporter's maintainers. A pure function of two
:class:`CaseResult` s, so the campaign loop can call it whenever both exporters have reached the
same seed (they run at different paces).

``status``:

- ``agree``: neither is wrong (pass or a documented ambiguity);
- ``one_wrong``: exactly one failed (any failure verdict) and the other did not: ``wrong`` names it;
- ``both_wrong_alike``: both failed and their ONNX outputs agree with each other (a shared cause:
  ONNX Runtime, or a decomposition both exporters use), or both crashed with the same verdict;
- ``both_wrong_differently``: both failed, differently;
- ``not_comparable``: not the same case (graph or inputs digests differ) or eager PyTorch failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from fuzzer.compare import OutputDiff, Verdict, compare_outputs

from .result import CaseResult


@dataclass(frozen=True)
class CrossExporter:
    status: str
    exporters: tuple[str, str]
    wrong: str | None = None  # the exporter that is wrong, for "one_wrong"
    detail: str = ""
    worst: OutputDiff | None = None  # worst output difference between the two ONNX models' outputs

    def to_dict(self) -> dict:
        return {"status": self.status, "exporters": list(self.exporters), "wrong": self.wrong, "detail": self.detail, "worst": self.worst.to_dict() if self.worst else None}


def _wrong(r: CaseResult) -> bool:
    return r.verdict.is_failure


def cross_exporter(a: CaseResult, b: CaseResult) -> CrossExporter:
    """Compare two results of the same (graph, inputs) from different exporters."""
    names = (a.exporter, b.exporter)
    if a.graph_digest != b.graph_digest or a.inputs_digest != b.inputs_digest:
        return CrossExporter("not_comparable", names, detail="different graphs or inputs")
    if Verdict.EAGER_ERROR in (a.verdict, b.verdict):
        return CrossExporter("not_comparable", names, detail="eager PyTorch rejected the graph")
    worst, same_outputs = None, None
    if a.outputs and b.outputs:
        bad = [d for d in compare_outputs(a.outputs, b.outputs, a.tolerances or None) if not d.ok]
        same_outputs = not bad
        worst = max(bad, key=lambda d: (d.structural, d.max_abs)) if bad else None
    elif a.output_digests and b.output_digests:  # records read back from JSON: bytes-identical or unknown
        same_outputs = True if a.output_digests == b.output_digests else None
    wa, wb = _wrong(a), _wrong(b)
    if not wa and not wb:
        return CrossExporter("agree", names, detail=f"{a.verdict.value} / {b.verdict.value}", worst=worst)
    if wa != wb:
        bad, good = (a, b) if wa else (b, a)
        return CrossExporter("one_wrong", names, wrong=bad.exporter, detail=f"{bad.exporter}: {bad.verdict.value}; {good.exporter}: {good.verdict.value}", worst=worst)
    crashed_alike = not a.output_digests and not b.output_digests and a.verdict is b.verdict and a.error_type == b.error_type
    if same_outputs is True or crashed_alike:
        return CrossExporter("both_wrong_alike", names, detail=f"both {a.verdict.value}" + (", with the same outputs" if same_outputs else ""), worst=worst)
    return CrossExporter("both_wrong_differently", names, detail=f"{a.exporter}: {a.verdict.value}; {b.exporter}: {b.verdict.value}", worst=worst)
