"""Stage 4: run both sides. Eager PyTorch is the oracle; ONNX Runtime (CPU) runs the export."""

from .runners import RunOutcome, run_eager, run_onnxruntime, to_torch

__all__ = ["RunOutcome", "run_eager", "run_onnxruntime", "to_torch"]
