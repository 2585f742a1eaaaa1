import pytest
from hypothesis import given, strategies as st

from fuzzer.generate import GeneratorOptions, generate
from fuzzer.ir import (
    Graph, GraphFormatError, Input, Node, TensorSpec, Value, WellformednessError, check_wellformed,
    graph_from_json, graph_to_json, load_graph,
)


def _tiny() -> Graph:
    x = Input("x0", TensorSpec((2, 3), "float32"))
    n = Node("sin", ("x0",), (Value("v0", TensorSpec((2, 3), "float32")),))
    return Graph((x,), (n,), ("v0",), {"seed": 1})


@given(st.integers(0, 10_000), st.integers(1, 30))
def test_json_round_trip_is_exact(seed, max_nodes):
    g = generate(seed, GeneratorOptions(max_nodes=max_nodes))
    text = graph_to_json(g)
    back = graph_from_json(text)
    assert back == g
    assert graph_to_json(back) == text


def test_special_float_attrs_round_trip():
    g = _tiny()
    n = Node("clamp", ("x0",), g.nodes[0].outputs, {"min": float("-inf"), "max": 2.5})
    g2 = Graph(g.inputs, (n,), g.outputs)
    back = graph_from_json(graph_to_json(g2))
    assert back.nodes[0].attrs["min"] == float("-inf")
    assert "Infinity" not in graph_to_json(g2)  # stays valid JSON


@pytest.mark.parametrize(
    "mutate, rule",
    [
        (lambda g: Graph(g.inputs, (Node("sin", ("nope",), g.nodes[0].outputs),), g.outputs), "topological-order"),
        (lambda g: Graph(g.inputs + (Input("x1", TensorSpec((1,), "float32")),), g.nodes, g.outputs), "inputs-used"),
        (lambda g: Graph(g.inputs, g.nodes, ("x0",)), "outputs-are-node-values"),
        (lambda g: Graph(g.inputs, g.nodes, ("v0", "v0")), "distinct-outputs"),
        (lambda g: Graph(g.inputs, g.nodes, ()), "has-outputs"),
        (lambda g: Graph((Input("x0", TensorSpec((2, -1), "float32")),), g.nodes, g.outputs), "shape-dims"),
        (lambda g: Graph((Input("x0", TensorSpec((2, 3), "complex64")),), g.nodes, g.outputs), "known-dtype"),
        (lambda g: Graph((Input("self", TensorSpec((2, 3), "float32")),), (Node("sin", ("self",), g.nodes[0].outputs),), g.outputs), "value-name"),
        (lambda g: Graph((Input("x0", TensorSpec((2,), "int64"), "index"),), g.nodes, g.outputs), "index-bound"),
    ],
)
def test_wellformedness_names_the_broken_rule(mutate, rule):
    check_wellformed(_tiny())
    with pytest.raises(WellformednessError) as e:
        check_wellformed(mutate(_tiny()))
    assert e.value.rule == rule


def test_networkx_view_follows_dataflow():
    g = generate(3, GeneratorOptions(max_nodes=12))
    nxg = g.to_networkx()
    import networkx as nx

    assert nx.is_directed_acyclic_graph(nxg)
    assert {n for n, d in nxg.nodes(data=True) if d["kind"] == "input"} == {i.name for i in g.inputs}
    assert sum(1 for _, d in nxg.nodes(data=True) if d["kind"] == "node") == len(g.nodes)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other"}', "not an onnxfuzz graph"),
        ('{"format": "onnxfuzz-graph", "version": 99}', "version 99 is not supported"),
        ('{"format": "onnxfuzz-graph", "version": 1, "inputs": [], "nodes": [{"op": "sin"}], "outputs": []}', "nodes[0]: missing field 'inputs'"),
        ('{"format": "onnxfuzz-graph", "version": 1, "inputs": [{"name": "x0", "shape": "2", "dtype": "float32"}], "nodes": [], "outputs": []}', "inputs[0].shape"),
    ],
)
def test_load_errors_name_the_field(text, needle):
    with pytest.raises(GraphFormatError) as e:
        graph_from_json(text)
    assert needle in str(e.value)


def test_load_graph_missing_file(tmp_path):
    with pytest.raises(GraphFormatError, match="no such file"):
        load_graph(tmp_path / "nope.json")
