"""Graph IR (torch-free): the test case and its JSON form."""

from .graph import (
    DOMAINS,
    DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    SIGNED_INT_DTYPES,
    Graph,
    Input,
    Node,
    PARAM_INITS,
    Param,
    TensorSpec,
    Value,
    WellformednessError,
    check_wellformed,
)
from .serialize import GraphFormatError, graph_from_dict, graph_from_json, graph_to_dict, graph_to_json, load_graph, save_graph

__all__ = [
    "DOMAINS", "DTYPES", "FLOAT_DTYPES", "INT_DTYPES", "SIGNED_INT_DTYPES", "Graph", "Input", "Node", "PARAM_INITS", "Param",
    "TensorSpec", "Value", "WellformednessError", "check_wellformed", "GraphFormatError", "graph_from_dict",
    "graph_from_json", "graph_to_dict", "graph_to_json", "load_graph", "save_graph",
]
