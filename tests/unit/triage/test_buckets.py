"""The coarse bucket key: one definition for campaigns, sweeps and the live display."""

from fuzzer.case import CaseResult, worker_death_result
from fuzzer.compare import OutputDiff, Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.triage.buckets import bucket_id, bucket_key, normalize_head


def _crash(head, **kw):
    return CaseResult(seed=1, exporter="torchscript", opset_requested=20, opset=20, verdict=Verdict.EXPORT_CRASH, input_mode="normal",
                      error_type="UnsupportedOperatorError", error_head=head, **kw)


def test_normalize_head_blanks_numbers_names_nodes_and_paths_but_keeps_dtypes():
    assert normalize_head("output 0: dtype mismatch, expected float64[2, 3], got float32[2, 3]") == "output #: dtype mismatch, expected float64[#, #], got float32[#, #]"
    assert normalize_head("Unsupported 'aten::cosh' in opset 17") == "Unsupported # in opset #"
    assert normalize_head("Failed. \x1b[96mThis is step 3/3\x1b[0m of it\nmore") == "Failed. This is step #/# of it"
    assert normalize_head("Non-zero status code running node_Cast_12 in /tmp/x/model.onnx") == "Non-zero status code running # in #"
    # a node's name is not the bug: one shape-inference error keyed once whatever the node is called
    # (the whole dynamo sweep had 506 coarse buckets, 358 once node names were blanked)
    heads = ["[ShapeInferenceError] (op_type:IsNaN, node name: n0_3): X typestr: T1, has unsupported type: tensor(uint8)",
             "[ShapeInferenceError] (op_type:IsNaN, node name: n0): X typestr: T1, has unsupported type: tensor(uint8)",
             "[ShapeInferenceError] (op_type:IsNaN, node name: node_isnan): X typestr: T1, has unsupported type: tensor(uint8)",
             "[ShapeInferenceError] (op_type:IsNaN, node name: node_isnan_2): X typestr: T1, has unsupported type: tensor(uint8)"]
    assert {normalize_head(h) for h in heads} == {"[ShapeInferenceError] (op_type:IsNaN, node name: #): X typestr: T1, has unsupported type: tensor(uint8)"}
    assert normalize_head(heads[0].replace("uint8", "int16")) != normalize_head(heads[0])  # the dtype stays: another bug


def test_one_bug_at_two_places_shares_a_bucket_and_another_bug_does_not():
    a = _crash("Exporting the operator 'aten::cosh' to ONNX opset version 17 is not supported")
    b = _crash("Exporting the operator 'aten::frac' to ONNX opset version 20 is not supported")
    c = _crash("Unsupported: ONNX export of operator adaptive pooling")
    assert bucket_key(a) == bucket_key(b) != bucket_key(c)
    assert len(bucket_id(bucket_key(a))) == 10


def test_mismatches_are_keyed_by_the_worst_difference_and_blamed_options_split_buckets():
    d = OutputDiff(0, "dtype", "float64[3]", "float32[3]", 0.0, 0.0, 3, 3, "")
    r = CaseResult(seed=1, exporter="dynamo", opset_requested=20, opset=20, verdict=Verdict.SHAPE_OR_DTYPE_MISMATCH, input_mode="normal",
                   error_head="output 0: dtype mismatch", diffs=(d,))
    assert bucket_key(r).startswith("shape_or_dtype_mismatch|dynamo||dtype float64")
    blamed = CaseResult(**{**r.__dict__, "options": {"differential": [{"label": "exporter optimizer"}]}})
    drift = CaseResult(**{**r.__dict__, "options": {"opset_drift": {"requested": 17, "actual": 18}}})
    assert len({bucket_key(r), bucket_key(blamed), bucket_key(drift)}) == 3
    assert "blamed: exporter optimizer" in bucket_key(blamed) and "opset drift 17->18" in bucket_key(drift)


def test_process_deaths_share_a_bucket_across_seeds_and_opsets():
    a = worker_death_result("crash", "SIGFPE", 1.0, ExportOptions(Exporter.TORCHSCRIPT, 20), seed=1, input_mode="normal")
    b = worker_death_result("crash", "SIGFPE", 2.0, ExportOptions(Exporter.TORCHSCRIPT, 7), seed=9, input_mode="special")
    h = worker_death_result("hang", "no answer after 60s", 60.0, ExportOptions(Exporter.TORCHSCRIPT, 7), seed=9, input_mode="special")
    assert a.verdict is Verdict.PROCESS_CRASH and a.error_type == "SIGFPE" and h.verdict is Verdict.HANG
    assert bucket_key(a) == bucket_key(b) != bucket_key(h)


def test_a_dynamic_shape_failure_is_a_bucket_and_a_signature_of_its_own():
    from fuzzer.triage.signature import signature_of

    base = _crash("Unsupported: ONNX export of operator adaptive pooling")
    dyn = CaseResult(**{**base.__dict__, "options": {"dynamic": {"export": "crash", "failed": "export"}}})
    refused = CaseResult(**{**base.__dict__, "options": {"dynamic": {"export": "refused"}}})  # the static export's crash: the usual bug
    assert bucket_key(dyn) == bucket_key(base) + "|dynamic@export"
    assert bucket_key(refused) == bucket_key(base)
    assert signature_of(dyn).detail == "dynamic@export " + signature_of(base).detail
    assert signature_of(refused) == signature_of(base)
