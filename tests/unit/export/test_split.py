"""Cutting one member out of a batched ONNX model: real ONNX models built with onnx.helper,
checked with onnx.checker and run in ONNX Runtime."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fuzzer.export.split import SplitError, canonical_form, extract_part


def _vi(name, shape=(3,)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def batched_model(shared_value: bool = False) -> onnx.ModelProto:
    """Two members: b0 computes (x + c0) * x; b1 computes relu(x) and an unused TopK index."""
    c0 = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], np.float32), "c0")
    k = numpy_helper.from_array(np.array([2], np.int64), "k")
    nodes = [
        helper.make_node("Add", ["b0_x", "c0"], ["t0"], name="n_add"),
        helper.make_node("Mul", ["t0", "b0_x"], ["y0"], name="n_mul"),
        helper.make_node("Relu", ["t0" if shared_value else "b1_x"], ["y1"], name="n_relu"),
        helper.make_node("TopK", ["b1_x", "k"], ["y2", "unused_idx"], name="n_topk"),
    ]
    g = helper.make_graph(
        nodes, "batch", [_vi("b0_x"), _vi("b1_x")], [_vi("y0"), _vi("y1"), _vi("y2", (2,))], [c0, k],
        value_info=[_vi("t0"), helper.make_tensor_value_info("unused_idx", TensorProto.INT64, [2])],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])


def test_each_part_holds_exactly_its_own_nodes_and_runs_alone():
    m = batched_model()
    p0 = extract_part(m, ["b0_x"], ["y0"], {"b0_x": "x"})
    p1 = extract_part(m, ["b1_x"], ["y1", "y2"], {"b1_x": "x"})
    assert [n.name for n in p0.graph.node] == ["n_add", "n_mul"]
    assert [n.name for n in p1.graph.node] == ["n_relu", "n_topk"]
    assert [t.name for t in p0.graph.initializer] == ["c0"] and [t.name for t in p1.graph.initializer] == ["k"]
    assert {vi.name for vi in p1.graph.value_info} == {"unused_idx"}  # unused outputs of kept nodes keep their types
    for p in (p0, p1):
        onnx.checker.check_model(p, full_check=True)
        assert [i.name for i in p.graph.input] == ["x"]
    x = np.array([-1.0, 0.5, 2.0], np.float32)
    (y0,) = ort.InferenceSession(p0.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(y0, (x + [1, 2, 3]) * x)
    y1, y2 = ort.InferenceSession(p1.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(y1, np.maximum(x, 0))
    np.testing.assert_allclose(y2, [2.0, 0.5])


def test_a_part_reading_another_members_input_is_refused():
    m = batched_model(shared_value=True)
    with pytest.raises(SplitError, match="b0_x"):
        extract_part(m, ["b1_x"], ["y1", "y2"])


def test_canonical_form_ignores_names_but_not_values():
    m = batched_model()
    a = extract_part(m, ["b0_x"], ["y0"], {"b0_x": "x"})
    b = onnx.ModelProto()
    b.CopyFrom(a)
    for n in b.graph.node:  # rename every node and intermediate value
        n.name = "other_" + n.name
    b.graph.node[0].output[0] = "renamed"
    b.graph.node[1].input[0] = "renamed"
    b.graph.value_info[0].name = "renamed"
    assert canonical_form(a) == canonical_form(b)
    b.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.array([1.0, 2.0, 4.0], np.float32), "c0"))
    assert canonical_form(a) != canonical_form(b)
    b.CopyFrom(a)
    b.graph.node[1].op_type = "Sub"
    assert canonical_form(a) != canonical_form(b)
