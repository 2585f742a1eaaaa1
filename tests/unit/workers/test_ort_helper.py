"""ONNX Runtime runs in the helper process: the same outcome as in-process for a model it
survives, and a crash of ONNX Runtime is an outcome, not the end of the caller. Real ONNX Runtime,
on a real crasher of the pinned stack."""

import numpy as np
from onnx import TensorProto, helper

from fuzzer.execute import run_onnxruntime
from fuzzer.workers.ort_helper import run_isolated


def test_a_model_the_helper_survives_gives_the_in_process_outcome(ort_crasher):
    model, x = ort_crasher
    here = run_onnxruntime(model, x, ["x"], "disabled")
    there = run_isolated(model, x, ["x"], "disabled")
    assert here.ok and there.ok and there.output_names == here.output_names == ("y",)
    assert len(there.outputs) == 1 and there.outputs[0].dtype == np.float16 and np.array_equal(there.outputs[0], here.outputs[0])
    bad = helper.make_model(helper.make_graph([helper.make_node("Abs", ["x"], ["y"])], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])]), opset_imports=[helper.make_opsetid("", 20)],
                            ir_version=9).SerializeToString()
    assert run_isolated(bad, {"z": np.zeros(2, np.float32)}, ["z"]).stage == run_onnxruntime(bad, {"z": np.zeros(2, np.float32)}, ["z"]).stage == "load"


def test_an_onnx_runtime_crash_is_an_outcome_and_the_next_run_gets_a_new_helper(ort_crasher):
    model, x = ort_crasher
    r = run_isolated(model, x, ["x"])
    assert r.stage == "crash" and r.error_type == "SIGSEGV" and not r.ok
    after = run_isolated(model, x, ["x"], "disabled")  # a new helper
    assert after.ok and after.outputs[0].shape == (3, 2, 12)
