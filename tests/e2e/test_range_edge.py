"""Overflow at the edge of a dtype's range is decided against float64 and a replay off the edge
before a mismatch may become a finding (the two real cases a default campaign filed)."""

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.case.confirm import confirm_mismatch
from fuzzer.case.range_edge import near_edge_inputs
from fuzzer.export import ExportOptions, Exporter
from fuzzer.ir import graph_from_dict

pytestmark = pytest.mark.e2e
TS = ExportOptions(Exporter.TORCHSCRIPT)


def _one_op(op, attrs, shape, dtype):
    return graph_from_dict({"format": "onnxfuzz-graph", "version": 1, "inputs": [{"name": "x0", "shape": shape, "dtype": dtype, "domain": "any"}],
                            "nodes": [{"op": op, "inputs": ["x0"], "attrs": attrs, "outputs": [{"name": "v0", "shape": shape, "dtype": dtype}]}],
                            "outputs": ["v0"], "meta": {}})


def test_gelu_tanh_overflowing_at_dbl_max_is_range_edge_noise():
    # eager gives DBL_MAX, the exported x*x*x of the tanh approximation overflows to inf first
    g = _one_op("gelu", {"approximate": "tanh"}, [1], "float64")
    x = {"x0": np.array([np.finfo(np.float64).max])}
    (r,) = run_graph(g, x, [ExportOptions(Exporter.TORCHSCRIPT, 7)])  # opset 7: the formula, not opset 20's Gelu op
    assert r.verdict.value == "numeric_mismatch" and near_edge_inputs(g, x)
    c = confirm_mismatch(g, x, r)
    assert c.status == "numeric_noise" and c.range_edge is True


def test_logsigmoid_as_log_of_sigmoid_is_still_a_finding_off_the_edge():
    # log(sigmoid(x)) underflows to -inf for any x below about -104, not only at -FLT_MAX
    g = _one_op("logsigmoid", {}, [3], "float32")
    x = {"x0": np.array([0.0, 0.0, -np.finfo(np.float32).max], dtype=np.float32)}
    (r,) = run_graph(g, x, [TS])
    assert r.verdict.value == "numeric_mismatch"
    c = confirm_mismatch(g, x, r)
    assert c.status == "confirmed" and not c.range_edge


def test_an_integer_only_mismatch_that_replays_is_confirmed():
    # int64 sum wrapping around: ONNX Runtime's ReduceSum differs (curated 41c6b99eda); no float,
    # so no rounding to blame, and fresh normal inputs would not overflow
    from pathlib import Path

    from fuzzer.store import load_case

    doc, g, x = load_case(Path(__file__).resolve().parents[2] / "findings" / "41c6b99eda")
    (r,) = run_graph(g, x, [TS])
    assert r.verdict.value == "numeric_mismatch"
    assert confirm_mismatch(g, x, r).status == "confirmed"
