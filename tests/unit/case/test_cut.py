"""Cutting a known culprit out of a case and running the rest, on real TorchScript exports:
relu on uint8 (an invalid model) and atan on float64 (no ONNX Runtime kernel) are current
one-operator defects of the pinned stack (findings 172838eea5, c6969aa4d1)."""

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.case.cut import culprits, cut_node, run_past_known
from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import evaluate, make_inputs, single_op_graph
from fuzzer.generate.avoid import Avoidance, Trigger
from fuzzer.ir import TensorSpec, check_wellformed
from fuzzer.sweep.plan import chain

TS = ExportOptions(Exporter.TORCHSCRIPT)
RELU = Trigger("torchscript", "relu", ("uint8",), (), "invalid_model", "onnx.onnx_cpp2py_export.shape_inference.InferenceError", "172838eea5")
ATAN = Trigger("torchscript", "atan", ("float64",), (), "ort_load_failure", "onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented", "c6969aa4d1")


def _graph(shape=(2, 3)):
    """relu(uint8) -> to(float64) -> atan: three operators, two known culprits."""
    g = chain(single_op_graph("relu", [TensorSpec(shape, "uint8")]), single_op_graph("to", [TensorSpec(shape, "uint8")], {"dtype": "float64"}))
    g = chain(g, single_op_graph("atan", [TensorSpec(shape, "float64")]))
    return g, make_inputs(g, 3, "normal")


def _run(g, x):
    return run_graph(g, x, [TS], seed=3)[0]


@pytest.mark.parametrize("shape", [(2, 3), ()])
def test_cut_node_feeds_the_rest_the_values_it_had(shape):
    g, x = _graph(shape)
    values = {n: t.numpy() for n, t in evaluate(g, dict(x)).items()}
    cut, feed = cut_node(g, x, 0)
    check_wellformed(cut)
    assert all(feed[i.name].shape == i.spec.shape and str(feed[i.name].dtype) == i.spec.dtype for i in cut.inputs)
    assert cut.ops() == ["to", "atan"]
    relu_out = g.nodes[0].outputs[0].name
    np.testing.assert_array_equal(feed[relu_out], values[relu_out])
    after = {n: t.numpy() for n, t in evaluate(cut, feed).items()}
    np.testing.assert_array_equal(after[g.outputs[0]], values[g.outputs[0]])
    sink, _ = cut_node(g, x, 2)  # a sink: its input becomes the output
    assert sink.ops() == ["relu", "to"] and sink.outputs == (g.nodes[1].outputs[0].name,)


def test_a_known_failure_is_cut_until_the_rest_fails_in_a_new_way():
    g, x = _graph()
    r = _run(g, x)
    assert r.verdict is Verdict.INVALID_MODEL
    known = Avoidance((RELU,), ("torchscript",))
    assert [k for k, _ in culprits(g, r, known)] == [0]
    g2, x2, r2, cuts = run_past_known(g, x, r, known, _run)
    assert [c.op for c in cuts] == ["relu"] and cuts[0].finding == "172838eea5"
    assert r2.verdict is Verdict.ORT_LOAD_FAILURE and g2.ops() == ["to", "atan"]  # atan is not known: a new failure, kept
    assert r2.options["cuts"][0]["op"] == "relu" and g2.meta["cuts"] == r2.options["cuts"]
    assert r2.graph_digest != r.graph_digest


def test_cutting_every_known_culprit_lets_the_rest_pass():
    g, x = _graph()
    r = _run(g, x)
    g2, _, r2, cuts = run_past_known(g, x, r, Avoidance((RELU, ATAN), ("torchscript",)), _run)
    assert [c.op for c in cuts] == ["relu", "atan"] and r2.verdict is Verdict.PASS and g2.ops() == ["to"]


def test_nothing_is_cut_without_a_matching_trigger():
    g, x = _graph()
    r = _run(g, x)
    other = Trigger("dynamo", "relu", ("uint8",), (), "invalid_model", RELU.error_type)
    for known in (None, Avoidance((other,), ("dynamo",)), Avoidance((ATAN,), ("torchscript",))):
        g2, _, r2, cuts = run_past_known(g, x, r, known, _run)
        assert cuts == () and g2 is g and r2 is r


def test_a_node_the_error_names_is_cut_on_a_trigger_of_another_dtype():
    """The checker names Relu; relu is known to fail that way on int8: the uint8 relu is cut."""
    g, x = _graph()
    r = _run(g, x)
    int8 = Trigger("torchscript", "relu", ("int8",), (), RELU.verdict, RELU.error_type, "other")
    assert [(k, t.finding) for k, t in culprits(g, r, Avoidance((int8,), ("torchscript",)))] == [(0, "other")]


def test_what_an_error_message_names():
    from fuzzer.case.cut import _named

    unsupported = "Exporting the operator 'aten::expm1' to ONNX opset version 20 is not supported."
    assert _named("expm1", unsupported) and not _named("exp", unsupported) and not _named("to", unsupported)
    assert _named("interpolate", "Exporting the operator 'aten::_upsample_nearest_exact2d' to ONNX opset version 20 is not supported.")
    assert _named("relu", "[ShapeInferenceError] (op_type:Relu, node name: /Relu_3): X typestr: T") and not _named("abs", "(op_type:Relu)")
    assert _named("threshold", "Unsupported: ONNX export of operator threshold, non-zero threshold.")
    kernel = "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Atan(7) node with name '/Atan'"
    assert _named("atan", kernel) and not _named("cosh", kernel)
    assert _named("amin", "step 3/3 at aten.amin.default: ValueError: Required parameter 'dim' is not provided.")  # dynamo's FX node


def test_a_known_failure_of_a_larger_finding_cuts_the_node_its_message_names():
    """No one-operator trigger, but the store knows this failure (from a finding of any size)."""
    from fuzzer.generate.avoid import failure_key

    g, x = _graph()
    r = _run(g, x)
    key = failure_key(r.exporter, r.verdict.value, r.error_type, r.error_head)
    assert [(k, t.finding) for k, t in culprits(g, r, Avoidance((), ("torchscript",), failures={key: "big"}))] == [(0, "big")]
    other = failure_key(r.exporter, r.verdict.value, r.error_type, "something else")
    assert culprits(g, r, Avoidance((), ("torchscript",), failures={other: "big"})) == []
