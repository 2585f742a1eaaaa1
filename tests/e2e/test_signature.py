"""Signatures of real failing cases of the pinned stack: the same bug on other shapes, dtypes and
values signs the same; different bugs sign differently."""

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec
from fuzzer.triage.signature import NotAFailure, same_bug, signature_of

pytestmark = pytest.mark.e2e
TS, DYN = ExportOptions(Exporter.TORCHSCRIPT), ExportOptions(Exporter.DYNAMO)


def sig(op, specs, attrs=None, inputs=None, ex=TS):
    g = single_op_graph(op, specs, attrs)
    (r,) = run_graph(g, inputs if inputs is not None else make_inputs(g, 0), [ex])
    return signature_of(r)


def test_sin_of_integers_is_one_bug_whatever_the_width_and_shape():
    a = sig("sin", [TensorSpec((3,), "int64")])
    b = sig("sin", [TensorSpec((2, 5), "int32")])
    assert a.verdict == "invalid_model" and a == b
    assert a != sig("cos", [TensorSpec((3,), "int64")])  # another symbolic, another bug


def test_each_unsupported_operator_is_its_own_bug():
    cosh1 = sig("cosh", [TensorSpec((3,), "float32")])
    cosh2 = sig("cosh", [TensorSpec((2, 2), "float64")])
    sinh = sig("sinh", [TensorSpec((3,), "float32")])
    assert cosh1 == cosh2 and "'aten::cosh'" in cosh1.detail
    assert cosh1 != sinh and not same_bug(cosh1, sinh)


def test_missing_ort_kernel_signs_once_whichever_exporter_made_the_model():
    ts = sig("atan", [TensorSpec((3,), "float64")])
    assert ts == sig("atan", [TensorSpec((4, 2), "float64")])
    dyn = sig("atan", [TensorSpec((3,), "float64")], ex=DYN)  # node named 'node_atan', not '/Atan'
    assert ts == dyn and ts.exporter == "onnxruntime"  # ONNX Runtime's gap: one bucket, not one per exporter


def test_mismatch_signature_is_the_onnx_path_to_the_diverging_output():
    a = sig("any", [TensorSpec((4,), "float64")], {"dim": 0, "keepdim": False}, {"x0": np.array([0.5, 0, 0, 0])})
    b = sig("any", [TensorSpec((6,), "float64")], {"dim": 0, "keepdim": False}, {"x0": np.array([0, 0, 0.25, 0, 0, 0])})
    assert a.verdict == "numeric_mismatch" and a == b and a.path_ops
    silu = sig("silu", [TensorSpec((), "float64")])
    assert silu.verdict == "shape_or_dtype_mismatch" and silu.detail.startswith("dtype:")
    assert silu != a and not same_bug(a, silu)
    assert same_bug(a, a)


def test_a_passing_case_has_no_signature():
    with pytest.raises(NotAFailure):
        sig("add", [TensorSpec((2,), "float32"), TensorSpec((2,), "float32")])


def test_each_dynamo_translation_crash_is_its_own_bug():
    """Every dynamo exporter error starts "Failed to convert the exported program ... step 3/3":
    the signature and the coarse bucket read the cause and the FX node from its exception summary,
    so two operators torchlib cannot translate are two bugs, and the same one on another dtype or
    shape stays one (the cause's varying parts are blanked)."""
    from fuzzer.catalog import NewInput
    from fuzzer.triage.buckets import bucket_key

    def run(op, specs, attrs):
        g = single_op_graph(op, specs, attrs)
        (r,) = run_graph(g, make_inputs(g, 0), [DYN])
        return r

    amin16 = run("amin", [TensorSpec((5,), "int16")], {"dim": None, "keepdim": False})
    amin8 = run("amin", [TensorSpec((2, 3), "int8")], {"dim": None, "keepdim": False})
    onehot = run("one_hot_inferred", [NewInput(TensorSpec((5,), "int64"), "index", 6)], {})
    pool = run("adaptive_avg_pool1d", [TensorSpec((2, 0, 4), "float64")], {"size": 2})
    for r, op in ((amin16, "aten.amin.default"), (onehot, "torch.nn.functional.one_hot"), (pool, "aten.adaptive_avg_pool1d.default")):
        assert r.verdict.value == "export_crash" and op in r.error_head and op in signature_of(r).key and op in bucket_key(r)
    assert "Failed to convert" not in amin16.error_head and "ValueError" in amin16.error_head
    assert signature_of(amin16) == signature_of(amin8)
    assert len({signature_of(r).key for r in (amin16, onehot, pool)}) == 3
    assert len({bucket_key(r) for r in (amin16, onehot, pool)}) == 3
