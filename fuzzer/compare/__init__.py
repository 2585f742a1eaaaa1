"""Stage 5: compare outputs and classify the case."""

from .compare import OutputDiff, compare_outputs
from .tolerance import TOLERANCES, Tolerance, tolerance_for
from .verdict import DESCRIPTIONS, Verdict

__all__ = ["OutputDiff", "compare_outputs", "TOLERANCES", "Tolerance", "tolerance_for", "DESCRIPTIONS", "Verdict"]
