"""The verdict rule: from what each stage did to one :class:`Verdict`, defined once.

A case's stages run in order (export, checker, ONNX Runtime load and run, comparison); the first
stage that failed decides the verdict. After a successful run the output differences decide:
a structural difference (count, shape, dtype) is a shape/dtype mismatch, any other a numeric one,
unless every bad output is explained by a documented ambiguity (ties). ``worst_difference`` is the
one ordering of differences used everywhere (reports, bucket keys, error heads).
"""

from __future__ import annotations

from typing import Sequence

from .compare import OutputDiff
from .verdict import Verdict

#: The verdict of a stage that raised (export outcome / ORT run outcome stage names).
STAGE_VERDICTS: dict[str, Verdict] = {
    "export": Verdict.EXPORT_CRASH,
    "checker": Verdict.INVALID_MODEL,
    "load": Verdict.ORT_LOAD_FAILURE,
    "run": Verdict.ORT_RUN_CRASH,
}


def worst_difference(diffs: Sequence[OutputDiff]) -> OutputDiff | None:
    """The most telling bad difference: structural before numeric, NaN/inf patterns before plain
    values, then the largest absolute difference. None when every output agrees."""
    bad = [d for d in diffs if not d.ok]
    if not bad:
        return None
    return max(bad, key=lambda d: (d.structural, d.kind in ("nan", "inf"), d.max_abs))


def verdict_of_diffs(diffs: Sequence[OutputDiff], ambiguous: bool = False) -> Verdict:
    """The verdict of a run that produced outputs. ``ambiguous``: every bad output is explained by
    a documented ambiguity (only consulted for numeric differences)."""
    bad = [d for d in diffs if not d.ok]
    if not bad:
        return Verdict.PASS
    if any(d.structural for d in bad):
        return Verdict.SHAPE_OR_DTYPE_MISMATCH
    return Verdict.AMBIGUOUS if ambiguous else Verdict.NUMERIC_MISMATCH


def mismatch_head(diffs: Sequence[OutputDiff]) -> str | None:
    """One line about the worst difference (a mismatch's ``error_head``)."""
    w = worst_difference(diffs)
    if w is None:
        return None
    return (f"output {w.index}: {w.kind} mismatch, expected {w.expected}, got {w.actual}" + (f"; {w.detail}" if w.detail else "")
            + (f"; max abs diff {w.max_abs:.3g}" if w.kind == "value" else ""))
