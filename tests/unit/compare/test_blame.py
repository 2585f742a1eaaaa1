"""The blame rules over oracle outcomes (arrays in, culprit out; the e2e tests run real oracles)."""

import numpy as np

from fuzzer.compare.blame import Culprit, OracleRun, attribute_blame

E = (np.array([1.0, 2.0], np.float32),)
W = (np.array([1.0, 5.0], np.float32),)  # a wrong answer
W2 = (np.array([7.0, 2.0], np.float32),)  # another wrong answer


def ok(outs):
    return OracleRun("ok", outs)


def culprit(ort, unopt=None, ref=None, dec=None):
    oracles = {k: v for k, v in (("ort_unoptimized", unopt), ("reference", ref), ("decomposed", dec)) if v is not None}
    return attribute_blame(E, ort, oracles).culprit


def test_decomposition_when_the_decomposed_program_computes_what_the_model_computes():
    assert culprit(ok(W), ok(W), ok(W), dec=ok(W)) is Culprit.DECOMPOSITION
    assert culprit(OracleRun("run"), OracleRun("run"), ok(W), dec=ok(W)) is Culprit.DECOMPOSITION  # ORT cannot run: the reference speaks
    # the decomposed program agrees with eager: translation or ONNX Runtime, as without it
    assert culprit(ok(W), ok(W), ok(W), dec=ok(E)) is Culprit.EXPORTER
    assert culprit(ok(W), ok(W), ok(E), dec=ok(E)) is Culprit.ORT_KERNEL
    # a third answer, or no decomposed run: no decomposition blame
    assert culprit(ok(W), ok(W), ok(W), dec=ok(W2)) is Culprit.EXPORTER
    assert culprit(ok(W), ok(W), ok(W), dec=OracleRun("load")) is Culprit.EXPORTER
    # the ORT optimizer rule comes first
    assert culprit(ok(W), ok(E), ok(E), dec=ok(W)) is Culprit.ORT_OPTIMIZER


def test_optimizer_when_optimized_and_unoptimized_ort_differ():
    assert culprit(ok(W), ok(E), ok(E)) is Culprit.ORT_OPTIMIZER
    assert culprit(OracleRun("load", error_message="fusion failed"), ok(E), ok(E)) is Culprit.ORT_OPTIMIZER


def test_exporter_when_reference_agrees_with_ort():
    assert culprit(ok(W), ok(W), ok(W)) is Culprit.EXPORTER
    assert culprit(OracleRun("load"), OracleRun("load"), ok(W)) is Culprit.EXPORTER


def test_exporter_when_ort_and_the_reference_both_raise_while_running():
    run = OracleRun("run", error_message="Reshape: cannot reshape 2 elements to 0")
    assert culprit(run, run, OracleRun("run", error_message="cannot reshape")) is Culprit.EXPORTER
    # a reference that merely does not support the model says nothing about it
    assert culprit(run, run, OracleRun("unsupported", error_message="no Foo")) is Culprit.UNKNOWN
    # nor does a model ORT cannot load (a missing kernel) that the reference cannot run
    assert culprit(OracleRun("load"), OracleRun("load"), OracleRun("run")) is Culprit.UNKNOWN


def test_kernel_when_reference_agrees_with_eager():
    assert culprit(ok(W), ok(W), ok(E)) is Culprit.ORT_KERNEL
    assert culprit(OracleRun("load"), OracleRun("load"), ok(E)) is Culprit.ORT_KERNEL


def test_unknown_without_reference_or_when_all_disagree():
    assert culprit(ok(W), ok(W), OracleRun("unsupported", error_message="no Foo")) is Culprit.UNKNOWN
    assert culprit(ok(W), ok(W), ok(W2)) is Culprit.UNKNOWN
    assert culprit(ok(W)) is Culprit.UNKNOWN


def test_reports_record_every_oracle_and_are_json_able():
    import json

    b = attribute_blame(E, ok(W), {"ort_unoptimized": ok(W), "reference": OracleRun("unsupported", error_type="NotImplementedError", error_message="no kernel\nmore")})
    d = json.loads(json.dumps(b.to_dict(), allow_nan=False))
    assert [o["name"] for o in d["oracles"]] == ["ort_unoptimized", "reference"]
    assert d["oracles"][0]["agrees_with_ort"] is True and d["oracles"][0]["agrees_with_eager"] is False
    assert d["oracles"][1]["status"] == "unsupported" and d["oracles"][1]["error_head"] == "no kernel"
