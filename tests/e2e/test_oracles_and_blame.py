"""Blame attribution, ties, the cross-exporter differential and mismatch confirmation on real
exports, real ONNX Runtime sessions and the real ONNX reference, each on a current defect of the
pinned stack (constraints.txt). If upstream fixes one, its test fails: update the fixture."""

import json

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.case.confirm import confirm_mismatch
from fuzzer.case.cross import cross_exporter
from fuzzer.compare import Verdict
from fuzzer.compare.blame import Culprit
from fuzzer.execute.oracles import OracleConfig
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value

pytestmark = pytest.mark.e2e
TS, DYN = ExportOptions(Exporter.TORCHSCRIPT), ExportOptions(Exporter.DYNAMO)


def by_exporter(graph, inputs, exports=(TS,), **kw):
    rs = {r.exporter: r for r in run_graph(graph, inputs, list(exports), **kw)}
    for r in rs.values():
        json.dumps(r.to_dict(), allow_nan=False, default=str)  # the record stays JSON-able
    return rs


def test_exporter_culprit_and_one_wrong_exporter_any_of_fractional_float64():
    # torch.any on float64 0.5 is True; the TorchScript export casts to an integer type first (0.5 -> 0)
    g = single_op_graph("any", [TensorSpec((4,), "float64")], {"dim": 0, "keepdim": False})
    rs = by_exporter(g, {"x0": np.array([0.5, 0.0, 0.0, 0.0])}, (TS, DYN))
    ts = rs["torchscript"]
    assert ts.verdict is Verdict.NUMERIC_MISMATCH and ts.blame.culprit is Culprit.EXPORTER
    ref, unopt = ts.blame.oracle("reference"), ts.blame.oracle("ort_unoptimized")
    assert ref.status == "ok" and ref.agrees_with_ort and not ref.agrees_with_eager
    assert unopt.status == "ok" and unopt.agrees_with_ort
    assert rs["dynamo"].verdict is Verdict.PASS and rs["dynamo"].blame is None  # oracles only on failure
    assert ts.cross.status == "one_wrong" and ts.cross.wrong == "torchscript"
    assert cross_exporter(rs["dynamo"], ts).wrong == "torchscript"  # the function the campaign loop calls
    assert ts.to_dict()["blame"]["culprit"] == "exporter" and ts.to_dict()["cross_exporter"]["status"] == "one_wrong"


def test_ort_kernel_culprit_max_pool_of_minus_inf():
    # ONNX Runtime's MaxPool starts from the lowest finite float: a window of -inf gives -3.4e38
    g = single_op_graph("max_pool1d", [TensorSpec((1, 1, 4), "float32")], {"kernel": 2, "stride": None, "padding": 0, "dilation": 1, "ceil_mode": False})
    (r,) = by_exporter(g, {"x0": np.array([[[-np.inf, -np.inf, 1.0, 2.0]]], np.float32)}).values()
    assert r.verdict is Verdict.NUMERIC_MISMATCH and r.worst.kind == "inf"
    assert r.blame.culprit is Culprit.ORT_KERNEL
    assert r.blame.oracle("reference").agrees_with_eager and not r.blame.oracle("ort_unoptimized").agrees_with_eager
    c = confirm_mismatch(g, {"x0": np.array([[[-np.inf, -np.inf, 1.0, 2.0]]], np.float32)}, r)
    assert c.status == "confirmed" and c.within_noise is False


def test_ort_optimizer_culprit_relu_clip_fusion_on_float64():
    # ORT's Relu+Clip fusion rejects a double-typed Clip 'min' at session creation; unoptimized, the model runs fine
    f64 = TensorSpec((3,), "float64")
    g = Graph(
        (Input("x0", f64),),
        (Node("relu", ("x0",), (Value("v0", f64),)), Node("clamp", ("v0",), (Value("v1", f64),), {"min": -1.0, "max": 1.0})),
        ("v1",),
    )
    (r,) = by_exporter(g, {"x0": np.array([-2.0, 0.5, 3.0])}).values()
    assert r.verdict is Verdict.ORT_LOAD_FAILURE and "relu_clip_fusion" in r.error_head
    assert r.blame.culprit is Culprit.ORT_OPTIMIZER
    assert r.blame.oracle("ort_unoptimized").status == "ok" and r.blame.oracle("ort_unoptimized").agrees_with_eager


def test_tie_in_topk_is_ambiguous_not_a_failure():
    g = single_op_graph("topk", [TensorSpec((8,), "float32")], {"k": 3, "dim": 0, "largest": True, "sorted": True})
    (r,) = by_exporter(g, {"x0": np.zeros(8, np.float32)}).values()  # ORT picks other indices of the tied zeros
    assert r.verdict is Verdict.AMBIGUOUS and not r.verdict.is_failure
    assert [(a.kind, a.output) for a in r.ambiguities] == [("tie", 1)]
    assert r.blame is None  # not a failure: no extra oracles
    assert r.diffs[0].ok and not r.diffs[1].ok  # the values agree, only the indices differ


def test_cancelling_sum_is_numeric_noise():
    g = single_op_graph("sum", [TensorSpec((64,), "float32")], {"dim": None, "keepdim": False})
    x = (np.random.default_rng(0).standard_normal(64) * 1e7).astype(np.float32)
    x[-1] = -x[:-1].sum(dtype=np.float64)  # the exact sum is ~0: every summation order gives another answer
    (r,) = by_exporter(g, {"x0": x}).values()
    assert r.verdict is Verdict.NUMERIC_MISMATCH  # the static policy cannot know about the cancellation
    c = confirm_mismatch(g, {"x0": x}, r)
    assert c.status == "numeric_noise" and c.within_noise and c.unstable_elements == 1
    assert c.second_inputs_mismatch is False


def test_oracles_are_configurable_and_cheap_on_pass():
    g = single_op_graph("add", [TensorSpec((2, 3), "float32"), TensorSpec((3,), "float32")])
    inputs = make_inputs(g, 0)
    (r,) = by_exporter(g, inputs).values()
    assert r.verdict is Verdict.PASS and r.blame is None and "oracles" not in r.timings
    (r,) = by_exporter(g, inputs, oracles=OracleConfig(when="always")).values()
    assert r.blame.culprit is Culprit.UNKNOWN and all(o.agrees_with_eager for o in r.blame.oracles)
    assert {o.name for o in r.blame.oracles} == {"ort_unoptimized", "reference"}
    (r,) = by_exporter(g, inputs, oracles=OracleConfig(when="always", reference_max_elements=1)).values()
    assert r.blame.oracle("reference").status == "skipped"  # the size cap keeps the slow reference off big models


def test_unknown_when_the_reference_cannot_run_the_model():
    # the any/float64 exporter defect behind a GatherElements whose indices are smaller than the
    # data in a non-axis dim: valid ONNX, run by ORT, but the reference implementation rejects it
    x, idx, v = TensorSpec((5, 5, 3), "float64"), TensorSpec((1, 4, 3), "int64"), TensorSpec((1, 4, 3), "float64")
    g = Graph(
        (Input("x0", x), Input("x1", idx, "index", 5)),
        (Node("gather", ("x0", "x1"), (Value("v0", v),), {"dim": 1}), Node("any", ("v0",), (Value("v1", TensorSpec((4, 3), "bool")),), {"dim": 0, "keepdim": False})),
        ("v1",),
    )
    inputs = {"x0": np.full((5, 5, 3), 0.5), "x1": np.zeros((1, 4, 3), np.int64)}
    (r,) = by_exporter(g, inputs).values()
    assert r.verdict is Verdict.NUMERIC_MISMATCH and r.blame.culprit is Culprit.UNKNOWN
    ref = r.blame.oracle("reference")
    # the reference raises while running (numpy IndexError): stage "run", but ORT runs the model,
    # so that failure is the reference's own and blames nobody
    assert ref.status == "run" and ref.agrees_with_eager is None and ref.error_head


def test_the_oracle_export_is_made_once_per_graph_and_gives_the_public_calls_outcomes():
    """The decomposed and unoptimized-export oracles of a graph's failing cases (every opset and
    input mode of a sweep job) come from one capture and one decomposition, and give what the
    public ``torch.onnx.export(..., optimize=False, opset_version=o)`` gives: the same outputs,
    and for a graph whose decomposition fails the same error."""
    from fuzzer.case.run import ready_digest
    from fuzzer.execute import decomposed
    from fuzzer.execute.decomposed import run_unoptimized
    from fuzzer.materialize import build_module

    def same(a, b):
        assert (a.stage, a.error_type, a.error_message) == (b.stage, b.error_type, b.error_message)
        assert len(a.outputs) == len(b.outputs)
        for x, y in zip(a.outputs, b.outputs):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc")

    g = single_op_graph("logaddexp", [TensorSpec((3, 4), "float16")] * 2, {})
    names = [i.name for i in g.inputs]
    for mode in ("normal", "special"):
        inputs = make_inputs(g, 0, mode)
        for opset in (None, 17, 18, 20, 23):
            cached = run_unoptimized(build_module(g), inputs, names, opset, key=ready_digest(g, inputs))
            public = run_unoptimized(build_module(g), inputs, names, opset)
            assert set(cached) == set(public) == {"decomposed", "unoptimized_export"}
            for oracle in cached:
                same(cached[oracle], public[oracle])
            assert cached["decomposed"].stage == "ok"
    entry = decomposed._DERIVED[ready_digest(g, make_inputs(g, 0))]
    assert entry.exports == 10 and entry.derived.decompositions == 1
    # diagonal_scatter of float16 in a composite: PyTorch's decomposition fails (step 2/3)
    bad = single_op_graph("diagonal_scatter.s2", [TensorSpec((5, 3), "float16"), TensorSpec((3,), "float16")], {})
    inputs = make_inputs(bad, 0)
    for opset in (17, 20):
        cached = run_unoptimized(build_module(bad), inputs, [i.name for i in bad.inputs], opset, key=ready_digest(bad, inputs))
        public = run_unoptimized(build_module(bad), inputs, [i.name for i in bad.inputs], opset)
        assert cached["decomposed"].stage == "load" and "step 2/3" in cached["decomposed"].error_message
        for oracle in cached:
            same(cached[oracle], public[oracle])
