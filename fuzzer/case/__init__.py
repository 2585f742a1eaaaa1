"""Stage: one case end to end (materialize, eager, export, checker, ONNX Runtime, compare), its
record (:class:`CaseResult`), the oracles beyond the plain comparison (confirmation of mismatches,
the cross-exporter view, export-option variants) and its on-disk form."""

from .files import InputsFormatError, load_case_dir, load_inputs, npz_bytes, save_case, save_inputs
from .result import CaseResult, error_head, graph_digest, inputs_digest, output_digest, worker_death_result
from .run import operator_keys, run_graph, run_graphs_batched, run_graphs_variants

__all__ = [
    "InputsFormatError", "load_case_dir", "load_inputs", "npz_bytes", "save_case", "save_inputs", "CaseResult", "error_head",
    "graph_digest", "inputs_digest", "output_digest", "worker_death_result", "operator_keys", "run_graph", "run_graphs_batched", "run_graphs_variants",
]
