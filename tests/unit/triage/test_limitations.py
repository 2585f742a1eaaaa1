"""Documented limitations are recognised on real records (the curated findings/ and the messages the
exporters and ONNX Runtime really give), kept apart from bugs, and their signatures do not depend on
the exporter when ONNX Runtime is to blame."""

import json
from collections import Counter
from pathlib import Path

import pytest

from fuzzer.campaign.stats import CampaignStats, restore_stats
from fuzzer.case import CaseResult
from fuzzer.compare import Verdict
from fuzzer.triage.buckets import bucket_key
from fuzzer.triage.limitations import limitation_of, limitation_of_doc, limitation_of_key, limited_op
from fuzzer.triage.signature import ORT_SCOPE, Signature, legacy_key, matches, same_bug, signature_of

FINDINGS = Path(__file__).resolve().parents[3] / "findings"


def _doc(fid: str) -> dict:
    return json.loads((FINDINGS / fid / "finding.json").read_text())


def _curated() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(FINDINGS.glob("*/finding.json"))]


def test_curated_missing_kernels_are_limitations_and_exporter_bugs_are_not():
    tagged = {d["id"]: limitation_of_doc(d) for d in _curated()}
    # the six "no kernel for this type" findings of findings/README.md (Where on bool, LeakyRelu,
    # Atan, InstanceNormalization, Resize on double, Trilu on int16)
    assert {i for i, k in tagged.items() if k == "missing_kernel"} == {"10af7cdc91", "45a1cacc28", "60620a953a", "6745b28eb4", "c075a67478", "c6969aa4d1"}
    # an ORT optimizer crash at load (68e9cded46) and invalid models are bugs, not limitations
    assert tagged["68e9cded46"] is None and tagged["162ac9625c"] is None and tagged["5e036fe66f"] is None
    assert limited_op("ort_load_failure", _doc("c6969aa4d1")["error_message"]) == "Atan"


@pytest.mark.parametrize("message, kind", [
    ("Exporting the operator 'aten::cosh' to ONNX opset version 20 is not supported. Please feel free to request support or submit "
     "a pull request on PyTorch GitHub: https://github.com/pytorch/pytorch/issues", "unsupported_operator"),
    ("Unsupported: ONNX export of operator max_pool1d, dilation. Please feel free to request support or submit a pull request on "
     "PyTorch GitHub: https://github.com/pytorch/pytorch/issues", "unsupported_operator"),
    ("Unsupported type for attn_mask: 11", None),  # a symbolic's own type check, not a documented refusal
])
def test_the_torchscript_exporters_refusals_are_limitations(message, kind):
    etype = "torch.onnx.errors.UnsupportedOperatorError" if "Exporting the operator" in message else "torch.onnx.errors.SymbolicValueError"
    assert limitation_of("export_crash", "torchscript", etype, message) == kind
    assert limitation_of("export_crash", "dynamo", etype, message) is None  # a dynamo gap is a translation bug to file
    r = CaseResult(seed=1, exporter="torchscript", opset_requested=20, opset=20, verdict=Verdict.EXPORT_CRASH, input_mode="normal",
                   error_type=etype, error_head=message.splitlines()[0], error_message=message)
    assert limitation_of_key(bucket_key(r)) == kind  # a campaign's coarse bucket
    assert limitation_of_key(signature_of(r).key) == kind  # a finding's signature


def _missing_kernel(exporter: str) -> CaseResult:
    msg = _doc("c6969aa4d1")["error_message"]
    return CaseResult(seed=1, exporter=exporter, opset_requested=None, opset=20, verdict=Verdict.ORT_LOAD_FAILURE, input_mode="special",
                      error_type="onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented", error_head=msg.splitlines()[0], error_message=msg)


def test_an_onnxruntime_bug_has_one_signature_whichever_exporter_made_the_model_and_old_ids_still_match():
    ts, dyn = signature_of(_missing_kernel("torchscript")), signature_of(_missing_kernel("dynamo"))
    assert ts.key == dyn.key and ts.exporter == ORT_SCOPE
    old = _doc("c6969aa4d1")["signature"]["key"]  # filed under the per-exporter key before
    assert legacy_key(ts, "torchscript") == old and matches(ts, old, "torchscript") and not matches(ts, old.replace("|torchscript|", "|dynamo|"), "torchscript")
    reference = Signature(**{k: v for k, v in _doc("c6969aa4d1")["signature"].items() if k in ("verdict", "exporter", "detail")})
    assert same_bug(reference, ts)  # a minimization of the old finding still recognises its bug
    # an exporter bug keeps its exporter
    r = CaseResult(seed=1, exporter="dynamo", opset_requested=None, opset=20, verdict=Verdict.INVALID_MODEL, input_mode="special",
                   error_type="InferenceError", error_head=_doc("162ac9625c")["error_message"], error_message=_doc("162ac9625c")["error_message"])
    assert signature_of(r).key == _doc("162ac9625c")["signature"]["key"]


def test_campaign_counters_keep_limitations_out_of_new_buckets():
    lines = [{"exporter": "torchscript", "seed": k, "verdict": v, "bucket": b, "t": k, "seconds": 0.1}
             for k, (v, b) in enumerate([("ort_load_failure", bucket_key(_missing_kernel("torchscript"))),
                                         ("ort_load_failure", bucket_key(_missing_kernel("torchscript"))),
                                         ("invalid_model", "invalid_model|torchscript|InferenceError|(op_type:Sin) unsupported type")])]
    st = CampaignStats()
    restore_stats(st, lines)
    assert len(st.buckets) == 1 and st.limitation_buckets == Counter({lines[0]["bucket"]: 2})
    assert st.to_dict()["limitation_buckets"] == 1 and st.to_dict()["buckets"] == 1
    assert st.arm_buckets["torchscript/graphs"] == 1  # only the bug rewards its arm


def test_a_symbolic_not_implemented_for_the_opset_is_a_refusal_too():
    msg = "ONNX export failed on max_pool2d_with_indices, which is not implemented for opset 7. Try exporting with a newer opset."
    assert limitation_of("export_crash", "torchscript", "torch.onnx.errors.OnnxExporterError", msg) == "unsupported_operator"
    assert limited_op("export_crash", msg) == "max_pool2d_with_indices"


def test_a_missing_kernel_for_a_type_the_exporter_should_not_have_declared_is_the_exporters_bug():
    """TorchScript exports minimum(0-d int64, 0-d int16) as Min on int16 (eager: int64), and ONNX
    Runtime has no int16 Min kernel. The missing kernel is real, but the model is wrong first: not
    a documented limitation, blamed on the exporter (a hand-checked c20 finding, b3aa8e4078)."""
    from fuzzer.case import run_graph
    from fuzzer.compare.stages import Stage, stage_of
    from fuzzer.export import ExportOptions, Exporter
    from fuzzer.generate import make_inputs, single_op_graph
    from fuzzer.ir import TensorSpec

    g = single_op_graph("minimum", [TensorSpec((), "int64"), TensorSpec((), "int16")])
    (r,) = run_graph(g, make_inputs(g, 1, "normal"), [ExportOptions(Exporter.TORCHSCRIPT, 20)], seed=1)
    assert r.verdict is Verdict.ORT_LOAD_FAILURE and "NOT_IMPLEMENTED" in r.error_message
    assert r.options["declared_dtypes"] == "output 0: int16, eager int64"
    assert stage_of(r) is Stage.TORCHSCRIPT_SYMBOLIC
    assert limitation_of_key(signature_of(r).key) is None and limitation_of_key(bucket_key(r)) is None
    # the same message on a model whose types are right stays a limitation
    ort = f"ort_load_failure|{ORT_SCOPE}|NotImplemented: [ONNXRuntimeError] : # : NOT_IMPLEMENTED : Could not find an implementation for Min(#) node with name <name>"
    assert limitation_of_key(ort) == "missing_kernel"
