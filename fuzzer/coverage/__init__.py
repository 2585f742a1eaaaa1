"""Coverage of exported ONNX models (op types, typed ops, op n-grams, paper sequences)."""

from .metrics import Coverage, ExporterCoverage, model_items, paper_index
from .paths import contains_path, ngrams, onnx_digraph
from .tracker import FILENAME, CoverageTracker, load_coverage

__all__ = ["Coverage", "ExporterCoverage", "model_items", "paper_index", "contains_path", "ngrams", "onnx_digraph", "FILENAME", "CoverageTracker", "load_coverage"]
