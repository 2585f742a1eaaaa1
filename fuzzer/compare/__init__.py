"""Stage: compare outputs and classify the case (the verdict rule lives in :mod:`.classify`)."""

from .classify import STAGE_VERDICTS, mismatch_head, verdict_of_diffs, worst_difference
from .compare import OutputDiff, compare_outputs
from .tolerance import TOLERANCES, Tolerance, tolerance_for
from .verdict import DESCRIPTIONS, Verdict

__all__ = [
    "STAGE_VERDICTS", "mismatch_head", "verdict_of_diffs", "worst_difference", "OutputDiff", "compare_outputs",
    "TOLERANCES", "Tolerance", "tolerance_for", "DESCRIPTIONS", "Verdict",
]
