"""The interaction test isolates each operator on its real input values, and calls a failure an
interaction only when every operator passes alone."""

from types import SimpleNamespace

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.generate import evaluate, make_inputs, single_op_graph
from fuzzer.ir import TensorSpec
from fuzzer.minimize.interaction import is_interaction, isolate
from fuzzer.sweep.plan import chain


def _two_ops():
    g = chain(single_op_graph("exp", [TensorSpec((3,), "float32")]), single_op_graph("sin", [TensorSpec((3,), "float32")]))
    return g, make_inputs(g, 0)


def test_isolate_feeds_an_operator_the_values_it_receives_in_the_case():
    g, x = _two_ops()
    inter = {n: t.numpy() for n, t in evaluate(g, dict(x)).items()}
    c = isolate(g, x, 1)
    assert [n.op for n in c.graph.nodes] == ["sin"]
    (name,) = [i.name for i in c.graph.inputs]
    np.testing.assert_array_equal(c.inputs[name], inter[g.nodes[0].outputs[0].name])  # exp's output, as sin saw it
    assert [n.op for n in isolate(g, x, 0).graph.nodes] == ["exp"]


def _runner(fails):
    return lambda graph, inputs: SimpleNamespace(verdict=Verdict.NUMERIC_MISMATCH if fails(graph) else Verdict.PASS)


def test_only_a_chain_whose_operators_all_pass_alone_is_an_interaction():
    g, x = _two_ops()
    assert is_interaction(g, x, _runner(lambda graph: len(graph.nodes) >= 2)) is True
    assert is_interaction(g, x, _runner(lambda graph: "sin" in graph.ops())) is False  # sin is wrong on its own
    one = single_op_graph("sin", [TensorSpec((3,), "float32")])
    assert is_interaction(one, make_inputs(one, 0), _runner(lambda graph: True)) is False


# -- the definition on real graphs and real exports ----------------------------------------------
def _ts(graph, inputs):
    from fuzzer.case import run_graph
    from fuzzer.export import ExportOptions, Exporter

    return run_graph(graph, inputs, [ExportOptions(Exporter.TORCHSCRIPT)], seed=0)[0]


def test_relu_then_clamp_in_float64_is_a_real_interaction():
    """Curated finding 68e9cded46: ONNX Runtime's Relu+Clip fusion rejects float64. Each operator
    passes alone on the values it receives; the chain fails."""
    from pathlib import Path

    from fuzzer.store import load_case

    _, g, x = load_case(Path(__file__).resolve().parents[3] / "findings" / "68e9cded46")
    assert g.ops() == ["relu", "clamp"] and _ts(g, x).verdict is Verdict.ORT_LOAD_FAILURE
    assert [_ts(isolate(g, x, k).graph, isolate(g, x, k).inputs).verdict for k in (0, 1)] == [Verdict.PASS, Verdict.PASS]
    assert is_interaction(g, x, _ts) is True


def test_a_chain_holding_a_one_operator_bug_is_not_an_interaction():
    """relu on uint8 fails alone under TorchScript (curated finding 172838eea5): the chain's
    failure is that operator's, not the sequence's."""
    g = chain(single_op_graph("relu", [TensorSpec((2, 3), "uint8")]), single_op_graph("to", [TensorSpec((2, 3), "uint8")], {"dtype": "float64"}))
    x = make_inputs(g, 1, "normal")
    assert _ts(g, x).verdict.is_failure
    assert is_interaction(g, x, _ts) is False
