"""The ONNX-level reduction of ONNX Runtime bugs and its torch-free script, on real models run in
real ONNX Runtime (no PyTorch)."""

import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fuzzer.store.onnx_repro import Kind, array_expr, kind_for, reduce_model, render_onnx_script


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)], ir_version=9).SerializeToString()


def _run(script: str, tmp_path) -> subprocess.CompletedProcess:
    p = tmp_path / "s.py"
    p.write_text(script)
    return subprocess.run([sys.executable, str(p)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_kind_follows_the_stage():
    assert kind_for("ort_kernel", "ort_load_failure") is Kind.LOAD and kind_for("ort_kernel", "numeric_mismatch") is Kind.KERNEL
    assert kind_for("ort_optimizer", "ort_load_failure") is Kind.OPTIMIZER and kind_for("translation", "invalid_model") is None


def test_array_literals_round_trip_exactly():
    for a in (np.array([-0.0, np.nan, np.inf, -np.inf, 1e-45], np.float32), np.array(-(2**63) + 1, np.int64), np.zeros((2, 0), np.float16),
              np.array([[True, False]])):
        b = eval(array_expr(a), {"np": np})
        assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(b, a, equal_nan=a.dtype.kind == "f")
        if a.dtype.kind == "f" and a.size:
            assert np.array_equal(np.signbit(a), np.signbit(b))


def test_a_missing_kernel_is_cut_to_its_node_and_the_script_exits_1(tmp_path):
    d = TensorProto.DOUBLE
    m = _model([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Atan", ["a"], ["b"]), helper.make_node("Neg", ["b"], ["y"])],
               [helper.make_tensor_value_info("x", d, [3])], [helper.make_tensor_value_info("y", d, [3])])
    r = reduce_model(m, {"x": np.array([-1.0, 0.5, 2.0])}, Kind.LOAD, "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Atan(7)")
    assert r is not None and r.op_types == ["Atan"] and r.nodes_before == 3
    out = _run(render_onnx_script(r, "test"), tmp_path)
    assert out.returncode == 1 and "REPRODUCED" in out.stdout and "NOT_IMPLEMENTED" in out.stdout, out.stdout + out.stderr


def test_a_wrong_kernel_is_cut_to_the_node_that_disagrees_with_the_reference(tmp_path):
    f = TensorProto.FLOAT
    m = _model([helper.make_node("Abs", ["x"], ["a"]), helper.make_node("Neg", ["a"], ["b"]),
                helper.make_node("ReduceMax", ["b"], ["y"], keepdims=0)],
               [helper.make_tensor_value_info("x", f, [2])], [helper.make_tensor_value_info("y", f, [])])
    r = reduce_model(m, {"x": np.array([0.0, np.nan], np.float32)}, Kind.KERNEL)  # max([-0, nan]) is nan by the spec
    assert r is not None and r.op_types == ["ReduceMax"], r and r.op_types
    assert np.isnan(r.expected[0]) and list(r.feeds) == ["x0"]
    out = _run(render_onnx_script(r, "test"), tmp_path)
    assert out.returncode == 1 and "disagrees with the ONNX reference" in out.stdout, out.stdout + out.stderr


def test_an_optimizer_bug_keeps_the_nodes_the_rewrite_needs_and_its_constants(tmp_path):
    d = TensorProto.DOUBLE
    consts = [helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.array(-1.0))),
              helper.make_node("Constant", [], ["hi"], value=numpy_helper.from_array(np.array(1.0)))]
    m = _model([helper.make_node("Neg", ["x"], ["n"]), *consts, helper.make_node("Relu", ["n"], ["r"]),
                helper.make_node("Clip", ["r", "lo", "hi"], ["y"])],
               [helper.make_tensor_value_info("x", d, [3])], [helper.make_tensor_value_info("y", d, [3])])
    r = reduce_model(m, {"x": np.array([-2.0, 0.5, 3.0])}, Kind.OPTIMIZER)
    assert r is not None and r.op_types == ["Relu", "Clip"] and len(r.model.graph.initializer) == 2
    onnx.checker.check_model(r.model, full_check=True)
    out = _run(render_onnx_script(r, "test"), tmp_path)
    assert out.returncode == 1 and "with graph optimizations (the default)" in out.stdout, out.stdout + out.stderr


def test_a_model_without_the_bug_gives_no_reduction():
    f = TensorProto.FLOAT
    m = _model([helper.make_node("Abs", ["x"], ["y"])], [helper.make_tensor_value_info("x", f, [2])], [helper.make_tensor_value_info("y", f, [2])])
    assert reduce_model(m, {"x": np.array([1.0, -2.0], np.float32)}, Kind.KERNEL) is None


def test_a_window_that_crashes_onnx_runtime_does_not_end_the_filing_process(ort_crasher):
    """reduce_model creates sessions on cut-down models no worker ran; one of them crashes ONNX
    Runtime (the ``ort_crasher`` fixture). The reduction goes on in this process, and
    the crash does not count as showing the bug."""
    from fuzzer.workers.ort_helper import install

    install()  # as the CLI, a sweep and a campaign do
    model, x = ort_crasher
    assert reduce_model(model, x, Kind.RUN, "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION") is None
    assert reduce_model(model, x, Kind.KERNEL) is None  # disabled, ONNX Runtime agrees with the reference; optimized, it crashes
