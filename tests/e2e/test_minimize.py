"""The minimizer on real failing graphs of the pinned stack (TorchScript exporter, real exports
and ONNX Runtime sessions): each pass from a known bad case to its exact minimum, and the whole
driver on a generated 30-operator case."""

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions, generate, make_inputs, reinfer, single_op_graph
from fuzzer.ir import Graph, Input, Node, Param, TensorSpec, Value
from fuzzer.minimize import minimize, passes
from fuzzer.minimize.shrinker import Shrinker
from fuzzer.triage.signature import signature_of

pytestmark = pytest.mark.e2e
TS = ExportOptions(Exporter.TORCHSCRIPT)


def runner(graph, inputs):
    return run_graph(graph, inputs, [TS])[0]


def build(inputs, nodes, outputs) -> Graph:
    """A graph from (op, input names, output names, attrs[, params]) rows; specs inferred."""
    rows = [Node(op, tuple(ins), tuple(Value(o, TensorSpec((), "float32")) for o in outs), dict(attrs), tuple(p[0] if p else ())) for op, ins, outs, attrs, *p in nodes]
    g = reinfer(Graph(tuple(inputs), tuple(rows), tuple(outputs)))
    assert g is not None
    return g


def shrinker_at(graph, inputs) -> Shrinker:
    """A started shrinker whose best is ``graph`` (checked to fail), ready to run one pass."""
    s = Shrinker(graph, inputs, runner, seconds=60)
    assert s.start() is not None
    return s


def test_remove_operators_leaves_exactly_the_unsupported_one():
    x = Input("x0", TensorSpec((3,), "float32"))
    g = build([x], [("abs", ["x0"], ["v0"], {}), ("cosh", ["v0"], ["v1"], {}), ("neg", ["v1"], ["v2"], {}), ("exp", ["v2"], ["v3"], {})], ["v3"])
    s = shrinker_at(g, {"x0": np.array([0.5, -1.0, 2.0], np.float32)})
    s.run_pass(passes.remove_operators)
    assert s.best.graph.ops() == ["cosh"]
    assert s.pass_stats["remove_operators"].successes >= 1
    assert signature_of(s.best_result) == s.reference


def test_cut_outputs_keeps_the_failing_output_only():
    g = build([Input("x0", TensorSpec((2,), "float32")), Input("x1", TensorSpec((2,), "float32"))],
              [("abs", ["x1"], ["v0"], {}), ("sinh", ["x0"], ["v1"], {})], ["v0", "v1"])
    s = shrinker_at(g, {"x0": np.ones(2, np.float32), "x1": np.ones(2, np.float32)})
    s.run_pass(passes.cut_outputs)
    assert s.best.graph.ops() == ["sinh"] and [i.name for i in s.best.graph.inputs] == ["x0"]


def test_shrink_shapes_goes_to_rank_zero_when_the_bug_allows():
    g = single_op_graph("cosh", [TensorSpec((3, 4), "float32")])
    s = shrinker_at(g, make_inputs(g, 0))
    s.run_pass(passes.shrink_shapes)
    assert s.best.graph.inputs[0].spec.shape == ()


def test_simplify_dtypes_stops_where_the_bug_needs_the_dtype():
    # atan has a float32 kernel in ORT but not a float64 one: the bug needs float64, so it stays
    g = single_op_graph("atan", [TensorSpec((2,), "float64")])
    s = shrinker_at(g, make_inputs(g, 0))
    s.run_pass(passes.simplify_dtypes)
    assert s.best.graph.inputs[0].spec.dtype == "float64"
    # sin of an integer is invalid for every width: int16 moves to int64, the cheapest integer
    g = single_op_graph("sin", [TensorSpec((2,), "int16")])
    s = shrinker_at(g, make_inputs(g, 0))
    s.run_pass(passes.simplify_dtypes)
    assert s.best.graph.inputs[0].spec.dtype == "int64"


def test_simplify_attributes_keeps_the_nonzero_threshold_and_zeroes_the_rest():
    g = single_op_graph("threshold", [TensorSpec((3,), "float32")], {"threshold": 0.5, "value": 7.0})
    s = shrinker_at(g, make_inputs(g, 0))
    s.run_pass(passes.simplify_attributes)
    assert dict(s.best.graph.nodes[0].attrs) == {"threshold": 1.0, "value": 0.0}


def test_simplify_params_moves_weights_to_zeros():
    g = single_op_graph("prelu", [TensorSpec((2,), "float64")], params=[Param(TensorSpec((1,), "float64"), "uniform", 5)])
    s = shrinker_at(g, make_inputs(g, 0))
    s.run_pass(passes.simplify_params)
    assert s.best.graph.nodes[0].params[0].init == "zeros"


def test_simplify_values_keeps_only_the_value_that_matters():
    # torch.any on float64: a fractional non-zero is True in eager, False in the TorchScript export
    g = single_op_graph("any", [TensorSpec((4,), "float64")], {"dim": 0, "keepdim": False})
    s = shrinker_at(g, {"x0": np.array([0.25, 0.0, 0.5, 0.0])})
    assert s.reference.verdict == "numeric_mismatch"
    s.run_pass(passes.simplify_values)
    # 0.25 -> 0 keeps the bug (0.5 still carries it); 0.5 -> 0, 1 or round(0.5) = 0 loses it
    assert s.best.inputs["x0"].tolist() == [0.0, 0.0, 0.5, 0.0]


def test_a_generated_30_operator_case_minimizes_to_one_operator_within_a_minute():
    # a 30-operator generated graph that TorchScript rejects for an unsupported operator (searched,
    # so the test does not depend on one seed's graph)
    for seed in range(100):
        g = generate(seed, GeneratorOptions(min_nodes=30, max_nodes=30))
        first = runner(g, make_inputs(g, seed))
        if len(g) == 30 and first.error_type == "torch.onnx.errors.UnsupportedOperatorError":
            break
    else:
        raise AssertionError("no 30-operator graph hits an unsupported operator")
    m = minimize(g, make_inputs(g, seed), runner, seconds=60)
    assert m.reproduced and m.stop_reason == "fixpoint" and m.seconds < 60
    (op,) = m.best.graph.ops()  # the minimum is the unsupported operator alone
    # catalog names need not be ATen names (alias.sinc, nn.functional.x.s2): the reach table maps them
    from fuzzer.coverage.reach import aten_of

    assert f"aten::{op}" in first.error_head or op in first.error_head or any(f"aten::{a}'" in first.error_head for a in aten_of(op, "torchscript"))
    assert m.signature == signature_of(first)
    st = m.stats()
    assert st["ops_before"] == 30 and st["ops_after"] == 1 and st["runs"] <= st["candidates"]


def test_a_case_that_does_not_fail_is_reported_not_minimized():
    g = single_op_graph("add", [TensorSpec((2,), "float32"), TensorSpec((2,), "float32")])
    m = minimize(g, make_inputs(g, 0), runner, seconds=10)
    assert not m.reproduced and m.stop_reason == "does not reproduce" and m.best.graph == m.original.graph
