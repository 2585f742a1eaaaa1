"""Real exports, real ONNX Runtime sessions: each verdict of the taxonomy on a real current defect
of the pinned stack (see constraints.txt). If upstream fixes one, its test fails: update the
fixture, and record the fix."""

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec

pytestmark = pytest.mark.e2e
TS, DYN = ExportOptions(Exporter.TORCHSCRIPT), ExportOptions(Exporter.DYNAMO)


def verdicts(graph, inputs, exports=(TS, DYN)):
    return {r.exporter: r for r in run_graph(graph, inputs, list(exports))}


def test_agreeing_graph_passes_on_both_exporters():
    g = single_op_graph("add", [TensorSpec((2, 3), "float32"), TensorSpec((3,), "float32")])
    rs = verdicts(g, make_inputs(g, 0))
    assert {e: r.verdict for e, r in rs.items()} == {"torchscript": Verdict.PASS, "dynamo": Verdict.PASS}
    for r in rs.values():
        assert r.opset == 20 and r.diffs and all(d.ok for d in r.diffs)
        assert {"export", "ort_load", "ort_run", "compare"} <= set(r.timings)
        assert r.versions["torch"].startswith("2.13.0")


def test_export_crash_unsupported_operator():
    g = single_op_graph("cosh", [TensorSpec((3,), "float32")])
    r = verdicts(g, make_inputs(g, 0), [TS])["torchscript"]
    assert r.verdict is Verdict.EXPORT_CRASH
    assert r.error_type == "torch.onnx.errors.UnsupportedOperatorError" and "aten::cosh" in r.error_head


def test_invalid_model_sin_of_int64():
    g = single_op_graph("sin", [TensorSpec((3,), "int64")])
    rs = verdicts(g, make_inputs(g, 0))
    assert rs["torchscript"].verdict is Verdict.INVALID_MODEL  # Sin on an int64 tensor: no Cast inserted
    assert "ShapeInferenceError" in rs["torchscript"].error_head
    assert rs["dynamo"].verdict is Verdict.PASS  # the other exporter gets it right


def test_ort_load_failure_missing_float64_kernel():
    g = single_op_graph("atan", [TensorSpec((3,), "float64")])
    rs = verdicts(g, make_inputs(g, 0))
    for r in rs.values():
        assert r.verdict is Verdict.ORT_LOAD_FAILURE and "NOT_IMPLEMENTED" in r.error_head


def test_dtype_mismatch_rank0_float64_silu():
    g = single_op_graph("silu", [TensorSpec((), "float64")])
    r = verdicts(g, make_inputs(g, 0), [TS])["torchscript"]
    assert r.verdict is Verdict.SHAPE_OR_DTYPE_MISMATCH
    assert r.worst.kind == "dtype" and r.worst.expected == "float64[]" and r.worst.actual == "float32[]"


def test_numeric_mismatch_any_of_fractional_float64():
    g = single_op_graph("any", [TensorSpec((4,), "float64")], {"dim": 0, "keepdim": False})
    rs = verdicts(g, {"x0": np.array([0.5, 0.0, 0.0, 0.0])})
    assert rs["torchscript"].verdict is Verdict.NUMERIC_MISMATCH  # 0.5 is truthy; the export says False
    assert rs["dynamo"].verdict is Verdict.PASS


def test_ort_run_crash_is_classified_not_raised():
    # ConvTranspose whose computed output size is <= 0 in ORT; eager PyTorch accepts the same call.
    from fuzzer.generate import generate, GeneratorOptions

    found = None
    for s in range(200):
        g = generate(s, GeneratorOptions(max_nodes=1, ops=("conv_transpose2d",)))
        rs = verdicts(g, make_inputs(g, s), [TS])
        if rs["torchscript"].verdict is Verdict.ORT_RUN_CRASH:
            found = rs["torchscript"]
            break
    assert found is not None, "no conv_transpose2d case crashes ORT at run time any more"
    assert "ConvTranspose" in found.error_head
