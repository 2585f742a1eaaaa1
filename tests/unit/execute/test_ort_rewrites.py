"""Naming ONNX Runtime's graph rewrites from the optimized model it saves: small hand-built ONNX
models run through a real ORT session (fuzzer.execute.runners.run_onnxruntime with
observe_rewrites), each built so that one known transformer applies (or none does)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fuzzer.execute.rewrites import ORT_REWRITES, observe
from fuzzer.execute.runners import run_onnxruntime

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, s) for n, s in inputs],
                          [helper.make_tensor_value_info(n, F, None) for n in outputs],
                          initializer=[numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _observed(model, shapes):
    feed = {n: np.random.default_rng(0).standard_normal(s).astype(np.float32) for n, s in shapes}
    r = run_onnxruntime(model.SerializeToString(), feed, list(feed), observe_rewrites=True)
    assert r.ok, r.error_message
    return r.rewrites


def test_relu_then_clip_is_fused():
    m = _model([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Clip", ["r", "lo", "hi"], ["y"])],
               [("x", [2, 3])], ["y"], [("lo", 0.0), ("hi", 6.0)])
    assert _observed(m, [("x", (2, 3))]) == ("ort:FuseReluClip",)


def test_matmul_add_becomes_gemm():
    m = _model([helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])],
               [("x", [2, 4])], ["y"], [("w", np.ones((4, 3))), ("b", np.ones(3))])
    assert _observed(m, [("x", (2, 4))]) == ("ort:MatMulAddFusion",)


def test_gemm_relu_becomes_fused_gemm():
    m = _model([helper.make_node("Gemm", ["x", "w", "b"], ["m"]), helper.make_node("Relu", ["m"], ["y"])],
               [("x", [2, 4])], ["y"], [("w", np.ones((4, 3))), ("b", np.ones(3))])
    assert _observed(m, [("x", (2, 4))]) == ("ort:GemmActivationFusion",)


def test_identity_inside_the_graph_is_eliminated():
    m = _model([helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Sin", ["i"], ["y"])], [("x", [3])], ["y"])
    assert _observed(m, [("x", (3,))]) == ("ort:EliminateIdentity",)


def test_constant_subgraph_is_folded():
    m = _model([helper.make_node("Add", ["a", "b"], ["c"]), helper.make_node("Mul", ["x", "c"], ["y"])],
               [("x", [3])], ["y"], [("a", np.ones(3)), ("b", np.full(3, 2.0))])
    assert _observed(m, [("x", (3,))]) == ("ort:ConstantFolding",)


def test_cast_to_its_own_type_is_eliminated():
    m = _model([helper.make_node("Cast", ["x"], ["c"], to=F), helper.make_node("Sin", ["c"], ["y"])], [("x", [3])], ["y"])
    assert _observed(m, [("x", (3,))]) == ("ort:CastElimination",)


def test_nothing_to_rewrite_names_nothing():
    m = _model([helper.make_node("Sin", ["x"], ["s"]), helper.make_node("Cos", ["s"], ["y"])], [("x", [3])], ["y"])
    assert _observed(m, [("x", (3,))]) == ()


def test_duplicate_nodes_are_merged_by_cse():
    m = _model([helper.make_node("Sin", ["x"], ["a"]), helper.make_node("Sin", ["x"], ["b"]), helper.make_node("Mul", ["a", "b"], ["y"])],
               [("x", [3])], ["y"])
    assert _observed(m, [("x", (3,))]) == ("ort:CommonSubexpressionElimination",)


def test_observe_is_a_pure_diff():
    before = _model([helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Sin", ["i"], ["y"])], [("x", [3])], ["y"])
    assert observe(before, before) == ()
    after = _model([helper.make_node("Sin", ["x"], ["y"])], [("x", [3])], ["y"])
    assert observe(before, after) == ("ort:EliminateIdentity",)
    unknown = _model([helper.make_node("Sin", ["x"], ["s"]), helper.make_node("Cos", ["s"], ["y"])], [("x", [3])], ["y"])
    assert observe(unknown, _model([helper.make_node("Cos", ["x"], ["y"])], [("x", [3])], ["y"])) == ("ort:removed:Sin",)


def test_observation_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("ONNXFUZZ_NO_REWRITES", "1")
    m = _model([helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Sin", ["i"], ["y"])], [("x", [3])], ["y"])
    assert _observed(m, [("x", (3,))]) == ()


def test_every_name_the_observer_gives_for_known_ops_is_targeted():
    from fuzzer.execute.rewrites import ABSORBED, ELIMINATED, FUSED

    for name in list(FUSED.values()) + list(ABSORBED.values()) + list(ELIMINATED.values()):
        assert name in ORT_REWRITES, name
