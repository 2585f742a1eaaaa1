"""Which stage broke: each rule on the evidence it reads, and the project mapping is total."""

from fuzzer.compare import Verdict
from fuzzer.compare.stages import PROJECT, Stage, failing_stage

STEP2 = "Failed to decompose the FX graph for ONNX compatibility. This is step 2/3 of exporting the model to ONNX."
STEP3 = "Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the model to ONNX."
OPT = {"label": "exporter optimizer", "breaks": True, "failing": {"exporter": "dynamo", "opset": 20, "optimize": True}}
CONV = {"label": "opset conversion", "breaks": True, "failing": {"exporter": "dynamo", "opset": 17, "optimize": True}}


def test_every_stage_has_a_project():
    assert set(PROJECT) == set(Stage)
    assert PROJECT[Stage.TRANSLATION] == PROJECT[Stage.EXPORTER_OPTIMIZER] == "ONNX Script"
    assert PROJECT[Stage.CAPTURE] == PROJECT[Stage.DECOMPOSITION] == PROJECT[Stage.TORCHSCRIPT_SYMBOLIC] == "PyTorch"
    assert PROJECT[Stage.ORT_KERNEL] == PROJECT[Stage.ORT_OPTIMIZER] == "ONNX Runtime"


def test_dynamo_export_crashes_name_their_step():
    crash = Verdict.EXPORT_CRASH
    assert failing_stage("dynamo", crash, "torch.onnx._internal.exporter._errors.TorchExportError", "Failed to export") is Stage.CAPTURE
    assert failing_stage("dynamo", crash, "torch.onnx._internal.exporter._errors.ConversionError", STEP2) is Stage.DECOMPOSITION
    assert failing_stage("dynamo", crash, "torch.onnx._internal.exporter._errors.ConversionError", STEP3) is Stage.TRANSLATION
    assert failing_stage("torchscript", crash, "torch.onnx.errors.UnsupportedOperatorError", "Exporting the operator") is Stage.TORCHSCRIPT_SYMBOLIC


def test_an_option_that_breaks_the_case_names_its_stage_before_anything_else():
    v = Verdict.INVALID_MODEL
    assert failing_stage("dynamo", v, differential=[OPT]) is Stage.EXPORTER_OPTIMIZER
    assert failing_stage("dynamo", v, differential=[CONV]) is Stage.OPSET_CONVERSION
    assert failing_stage("dynamo", Verdict.NUMERIC_MISMATCH, culprit="ort_kernel", differential=[OPT]) is Stage.EXPORTER_OPTIMIZER
    # failing unoptimized, or at torchlib's own opset: that option's stage is not to blame
    assert failing_stage("dynamo", v, differential=[{**OPT, "failing": {"opset": 20, "optimize": False}}]) is Stage.TRANSLATION
    assert failing_stage("dynamo", v, differential=[{**CONV, "failing": {"opset": 18, "optimize": True}}]) is Stage.TRANSLATION
    # both variants fail (differently): no option is shown to break it, the other evidence decides
    assert failing_stage("dynamo", v, differential=[{**OPT, "breaks": False}]) is Stage.TRANSLATION


def test_oracles_and_verdicts_decide_the_rest():
    assert failing_stage("torchscript", Verdict.NUMERIC_MISMATCH, culprit="ort_kernel") is Stage.ORT_KERNEL
    assert failing_stage("dynamo", Verdict.NUMERIC_MISMATCH, culprit="ort_optimizer") is Stage.ORT_OPTIMIZER
    assert failing_stage("dynamo", Verdict.NUMERIC_MISMATCH, culprit="exporter") is Stage.TRANSLATION
    assert failing_stage("dynamo", Verdict.NUMERIC_MISMATCH, culprit="unknown") is Stage.UNKNOWN
    assert failing_stage("dynamo", Verdict.ORT_LOAD_FAILURE, "NotImplemented", "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find") is Stage.ORT_KERNEL
    assert failing_stage("dynamo", Verdict.SHAPE_OR_DTYPE_MISMATCH) is Stage.TRANSLATION
    assert failing_stage("torchscript", Verdict.INVALID_MODEL) is Stage.TORCHSCRIPT_SYMBOLIC
    assert failing_stage("dynamo", Verdict.PROCESS_CRASH, "SIGSEGV") is Stage.PROCESS
