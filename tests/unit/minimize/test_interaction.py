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
