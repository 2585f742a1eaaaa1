import json

import numpy as np

from fuzzer.case import CaseResult, output_digest
from fuzzer.case.cross import cross_exporter
from fuzzer.compare import Verdict

GOOD = (np.array([1.0, 2.0], np.float32),)
BAD = (np.array([1.0, 9.0], np.float32),)


def result(exporter, verdict, outputs=(), graph="g1", error_type=None):
    return CaseResult(
        seed=1, exporter=exporter, opset_requested=None, opset=18, verdict=verdict, input_mode="normal", outputs=outputs,
        output_digests=tuple(output_digest(o) for o in outputs), graph_digest=graph, inputs_digest="i1", error_type=error_type,
    )


def status(a, b):
    c = cross_exporter(a, b)
    json.dumps(c.to_dict(), allow_nan=False)
    return c.status, c.wrong


def test_exactly_one_wrong_names_it():
    assert status(result("torchscript", Verdict.NUMERIC_MISMATCH, BAD), result("dynamo", Verdict.PASS, GOOD)) == ("one_wrong", "torchscript")
    assert status(result("torchscript", Verdict.PASS, GOOD), result("dynamo", Verdict.EXPORT_CRASH)) == ("one_wrong", "dynamo")


def test_both_wrong_alike_or_differently():
    assert status(result("torchscript", Verdict.NUMERIC_MISMATCH, BAD), result("dynamo", Verdict.NUMERIC_MISMATCH, BAD))[0] == "both_wrong_alike"
    other = (np.array([5.0, 2.0], np.float32),)
    assert status(result("torchscript", Verdict.NUMERIC_MISMATCH, BAD), result("dynamo", Verdict.NUMERIC_MISMATCH, other))[0] == "both_wrong_differently"
    assert status(result("torchscript", Verdict.ORT_LOAD_FAILURE, error_type="Fail"), result("dynamo", Verdict.ORT_LOAD_FAILURE, error_type="Fail"))[0] == "both_wrong_alike"


def test_agree_and_not_comparable():
    assert status(result("torchscript", Verdict.PASS, GOOD), result("dynamo", Verdict.AMBIGUOUS, GOOD))[0] == "agree"
    assert status(result("torchscript", Verdict.PASS, GOOD), result("dynamo", Verdict.NUMERIC_MISMATCH, BAD, graph="g2"))[0] == "not_comparable"


def test_records_read_back_without_arrays_use_digests():
    a = result("torchscript", Verdict.NUMERIC_MISMATCH, BAD)
    b = result("dynamo", Verdict.NUMERIC_MISMATCH, BAD)
    a2 = CaseResult(**{**a.__dict__, "outputs": ()})
    b2 = CaseResult(**{**b.__dict__, "outputs": ()})
    assert status(a2, b2)[0] == "both_wrong_alike"
