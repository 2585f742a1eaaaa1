"""IR -> PyTorch: standalone Python source, and a ``torch.nn.Module`` compiled from that source."""

from .module import build_module
from .source import graph_to_source, materialize_problem, node_at_line, node_expression

__all__ = ["build_module", "graph_to_source", "materialize_problem", "node_at_line", "node_expression"]
