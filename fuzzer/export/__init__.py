"""Stage 3: torch.onnx export (both exporters) and ONNX model validation."""

from .exporters import ExportOptions, ExportOutcome, Exporter, export

__all__ = ["ExportOptions", "ExportOutcome", "Exporter", "export"]
