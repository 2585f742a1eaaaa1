"""Scope probing, the pure parts: which variants a finding gets, in which order, how a variant's
graph and inputs are built, and the paragraph a report shows."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fuzzer.ir import Graph, Input, Node, Param, TensorSpec, Value, load_graph
from fuzzer.store.scope import MAX_DTYPES, Variant, check_scope, legal_dtypes, shape_variants, summary, variant_case, variants
from fuzzer.store.store import FindingError, read_finding

FINDINGS = Path(__file__).resolve().parents[3] / "findings"


def _finding(fid):
    return json.loads((FINDINGS / fid / "finding.json").read_text()), load_graph(FINDINGS / fid / "graph.json")


def _rows(vs):
    return [(v.axis, v.label) for v in vs]


def test_a_torchscript_finding_gets_every_axis_in_a_fixed_order():
    doc, g = _finding("c6969aa4d1")  # atan on a 0-d float64 tensor, TorchScript, default opset
    vs = variants(doc, g)
    assert vs == variants(doc, g)  # deterministic
    assert _rows(vs) == [("baseline", "as filed"),
                         ("dtype", "float32"), ("dtype", "float16"), ("dtype", "int64"), ("dtype", "int32"), ("dtype", "int16"), ("dtype", "int8"),
                         ("shape", "empty (0, 3, 4)"), ("shape", "(2, 3, 4)"),  # rank-0 is the finding itself: skipped
                         ("exporter", "dynamo"),
                         ("opset", "7"), ("opset", "9"), ("opset", "13"), ("opset", "17")]  # 20 is the default it was filed at
    assert vs[0] == Variant("baseline", "as filed", "torchscript", None, True)
    assert vs[9].exporter == "dynamo" and vs[9].opset is None
    assert all(v.exporter == "torchscript" and v.opset == int(v.label) for v in vs[10:])


def test_a_dynamo_finding_tries_its_opsets_and_the_optimizer_off():
    doc, g = _finding("162ac9625c")  # floor on int64, dynamo, opset 20
    vs = variants(doc, g)
    assert [v.label for v in vs if v.axis == "opset"] == ["17", "18", "23"]
    assert _rows(vs)[-1] == ("options", "optimize=False") and vs[-1].optimize is False and vs[-1].exporter == "dynamo"
    assert ("exporter", "torchscript") in _rows(vs)
    assert "int64" not in [v.label for v in vs if v.axis == "dtype"]


def test_dtypes_follow_the_catalog_and_are_capped():
    x = Input("x", TensorSpec((3,), "float32"))
    neg = Graph((x,), (Node("neg", ("x",), (Value("v", TensorSpec((3,), "float32")),)),), ("v",))
    assert "uint8" not in legal_dtypes(neg, "float32") and "bool" not in legal_dtypes(neg, "float32")  # neg: signed only
    sign = Graph((x,), (Node("sign", ("x",), (Value("v", TensorSpec((3,), "float32")),)),), ("v",))
    assert "bool" in legal_dtypes(sign, "float32")
    doc = {"exporter": "torchscript", "signature": {"key": "k"}}
    assert len([v for v in variants(doc, sign) if v.axis == "dtype"]) == MAX_DTYPES


def test_shapes_respect_the_operators_ranks():
    x = Input("x", TensorSpec((2, 3), "float32"))
    g = Graph((x,), (Node("sin", ("x",), (Value("v", TensorSpec((2, 3), "float32")),)),), ("v",))
    assert [(label, s) for label, s, _ in shape_variants(g)] == [("rank-0", ()), ("empty (0, 3, 4)", (0, 3, 4)), ("(2, 3, 4)", (2, 3, 4))]
    doc, mm = _finding("b5b2155d4e")  # squeeze: rank >= 1
    first = shape_variants(mm)[0]
    if first[0] == "rank-0" and first[2] is not None:  # the catalog rules it out without a run
        assert first[1] is None and "rank 0" in first[2]
        assert [v.skip for v in variants(doc, mm) if v.label == "rank-0"] == [first[2]]


def test_a_dtype_variant_casts_or_draws_values_and_params_follow():
    x = Input("x", TensorSpec((2,), "float64"))
    y = Input("y", TensorSpec((2,), "int64"))
    p = Param(TensorSpec((2,), "float64"), "normal", 1)
    g = Graph((x, y), (Node("add", ("x", "y"), (Value("v", TensorSpec((2,), "float64")),), {}, (p,)),), ("v",))
    inputs = {"x": np.array([np.nan, 1.5]), "y": np.array([1, 2])}
    g2, x2 = variant_case(g, inputs, Variant("dtype", "float16", "torchscript", None, True, dtype="float16"))
    assert [i.spec.dtype for i in g2.inputs] == ["float16", "int64"] and g2.nodes[0].params[0].spec.dtype == "float16"
    assert x2["x"].dtype == np.float16 and np.isnan(x2["x"][0]) and x2["x"][1] == 1.5  # cast: the trigger value stays
    assert x2["y"].dtype == np.int64 and (x2["y"] == inputs["y"]).all()  # another dtype: unchanged
    g3, x3 = variant_case(g, inputs, Variant("dtype", "int32", "torchscript", None, True, dtype="int32"), seed=7)
    assert x3["x"].dtype == np.int32 and x3["x"].shape == (2,)
    again = variant_case(g, inputs, Variant("dtype", "int32", "torchscript", None, True, dtype="int32"), seed=7)[1]
    assert (again["x"] == x3["x"]).all()  # drawn afresh, deterministically
    assert inputs["x"].dtype == np.float64  # the finding's own arrays are untouched


def test_a_shape_variant_fits_the_findings_values_to_the_new_shape():
    x = Input("x", TensorSpec((3,), "float32"))
    g = Graph((x,), (Node("sin", ("x",), (Value("v", TensorSpec((3,), "float32")),)),), ("v",))
    inputs = {"x": np.array([np.inf, 2.0, 3.0], dtype=np.float32)}
    g2, x2 = variant_case(g, inputs, Variant("shape", "(2, 3, 4)", "torchscript", None, True, shape=(2, 3, 4)))
    assert g2.inputs[0].spec == TensorSpec((2, 3, 4), "float32") and x2["x"].shape == (2, 3, 4) and np.isinf(x2["x"]).any()
    _, x0 = variant_case(g, inputs, Variant("shape", "rank-0", "torchscript", None, True, shape=()))
    assert x0["x"].shape == () and np.isinf(x0["x"])
    _, xe = variant_case(g, inputs, Variant("shape", "empty", "torchscript", None, True, shape=(0, 3, 4)))
    assert xe["x"].shape == (0, 3, 4)


def test_the_summary_says_where_it_reproduces_in_one_paragraph():
    entries = [{"axis": "baseline", "variant": "as filed", "state": "reproduces", "verdict": "numeric_mismatch"},
               {"axis": "dtype", "variant": "float16", "state": "reproduces", "verdict": "numeric_mismatch"},
               {"axis": "dtype", "variant": "float32", "state": "reproduces", "verdict": "numeric_mismatch"},
               {"axis": "dtype", "variant": "int64", "state": "passes", "verdict": "pass"},
               {"axis": "shape", "variant": "rank-0", "state": "not applicable", "verdict": "eager_error", "note": "eager PyTorch rejects it"},
               {"axis": "exporter", "variant": "dynamo", "state": "passes", "verdict": "pass"},
               {"axis": "opset", "variant": "17", "state": "reproduces", "verdict": "numeric_mismatch"},
               {"axis": "opset", "variant": "18", "state": "reproduces", "verdict": "numeric_mismatch"},
               {"axis": "opset", "variant": "7", "state": "other failure", "verdict": "export_crash"},
               {"axis": "opset", "variant": "9", "state": "not run", "note": "out of time (60 s)"}]
    assert check_scope(entries)
    text = summary(entries)
    assert text == ("Reproduces with the finding as filed, float16, float32, opsets 17, 18. Fails otherwise with opset 7 (export_crash). "
                    "Passes with int64, the dynamo exporter. Not applicable: shape rank-0. Not run (out of time): opset 9.")


def test_a_bad_scope_in_finding_json_is_a_clear_error(tmp_path):
    d = tmp_path / "c6969aa4d1"
    shutil.copytree(FINDINGS / "c6969aa4d1", d)
    doc = json.loads((d / "finding.json").read_text())
    assert not check_scope([{"axis": "dtype", "variant": "int8", "state": "maybe"}]) and not check_scope({"a": 1})
    (d / "finding.json").write_text(json.dumps({**doc, "scope": [{"axis": "dtype", "state": "passes"}]}))
    with pytest.raises(FindingError, match="field 'scope'"):
        read_finding(d)
    (d / "finding.json").write_text(json.dumps({**doc, "scope": [{"axis": "dtype", "variant": "int8", "state": "passes", "verdict": "pass"}]}))
    assert read_finding(d)["scope"][0]["variant"] == "int8"
