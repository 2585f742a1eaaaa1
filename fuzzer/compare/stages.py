"""Which stage of the export-and-run pipeline went wrong, and so which project's tracker a finding
belongs in.

The dynamo exporter is a pipeline of its own: capture (``torch.export``), decomposition and type
promotion (PyTorch's FX passes, step 2 of 3 in its own error messages), translation to ONNX by
torchlib functions (ONNX Script, step 3 of 3), the ONNX Script optimizer, and conversion from
torchlib's own opset (18) to the requested one. After it come the ONNX checker and ONNX Runtime
(kernels, and its graph optimizer). The evidence, strongest first:

- an export crash names its step: the dynamo exporter raises ``TorchExportError`` in capture and
  ``ConversionError`` with "step 2/3" (decomposition) or "step 3/3" (translation) in its message;
- an export-option differential (:mod:`.differential`) on the failing side: the case fails with
  the optimizer and passes with ``optimize=False`` (the optimizer breaks it), or fails at a
  converted opset and passes at opset 18 (the conversion breaks it);
- the extra oracles (:mod:`.blame`): ONNX reference agrees with eager and ONNX Runtime does not
  (an ORT kernel), ORT optimized differs from unoptimized (the ORT optimizer), the decomposed
  program the dynamo exporter translates, run in eager, agrees with ORT and not eager (PyTorch's
  decompositions), the reference agrees with ORT and not eager (the exported model is wrong: the
  exporter);
- a model ONNX Runtime cannot load or run that declares output types other than eager's
  (``options["declared_dtypes"]``) is the exporter's, even when ORT only says it lacks a kernel;
- otherwise what the verdict implies (a missing kernel is ONNX Runtime's; an exported model the
  checker rejects is the translation's).

:func:`failing_stage` is a pure function of a result's fields; :data:`PROJECT` maps every stage
to the project to file it with (total over :class:`Stage`, tested).
"""

from __future__ import annotations

import enum
from typing import Any, Iterable, Mapping

from .verdict import Verdict


class Stage(str, enum.Enum):
    CAPTURE = "capture"  # torch.export
    DECOMPOSITION = "decomposition"  # FX decompositions and type promotion (dynamo step 2/3)
    TRANSLATION = "translation"  # torchlib: FX node -> ONNX (dynamo step 3/3)
    EXPORTER_OPTIMIZER = "exporter_optimizer"  # the ONNX Script optimizer (optimize=True)
    OPSET_CONVERSION = "opset_conversion"  # converting torchlib's opset 18 to the requested one
    TORCHSCRIPT_SYMBOLIC = "torchscript_symbolic"  # the TorchScript exporter's symbolic functions
    ORT_KERNEL = "ort_kernel"  # an ONNX Runtime kernel (or a missing one)
    ORT_OPTIMIZER = "ort_optimizer"  # ONNX Runtime's graph optimizer
    PROCESS = "process"  # the process died or hung: the stage is not known from the verdict
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


#: The project whose tracker a stage's bugs go to. Total over Stage (tested).
PROJECT: dict[Stage, str] = {
    Stage.CAPTURE: "PyTorch",
    Stage.DECOMPOSITION: "PyTorch",
    Stage.TRANSLATION: "ONNX Script",
    Stage.EXPORTER_OPTIMIZER: "ONNX Script",
    Stage.OPSET_CONVERSION: "ONNX Script",
    Stage.TORCHSCRIPT_SYMBOLIC: "PyTorch",
    Stage.ORT_KERNEL: "ONNX Runtime",
    Stage.ORT_OPTIMIZER: "ONNX Runtime",
    Stage.PROCESS: "unknown",
    Stage.UNKNOWN: "unknown",
}

#: The opset torchlib emits (other opsets are converted from it); see fuzzer.compare.differential.
NATIVE_OPSET = 18

_LABEL_STAGE = {"exporter optimizer": Stage.EXPORTER_OPTIMIZER, "opset conversion": Stage.OPSET_CONVERSION,
                "opset-specific symbolic": Stage.TORCHSCRIPT_SYMBOLIC}


def failing_stage(
    exporter: str, verdict: Verdict, error_type: str | None = None, error_message: str | None = None, *,
    culprit: str | None = None, differential: Iterable[Mapping[str, Any]] = (), declared_dtypes: str | None = None,
) -> Stage:
    """The stage to blame for a failing result (see the module docstring). ``culprit``: the extra
    oracles' verdict (:class:`~fuzzer.compare.blame.Culprit` value); ``differential``: the
    attributions on this result's side (``options["differential"]``)."""
    if verdict in (Verdict.PROCESS_CRASH, Verdict.HANG, Verdict.OUT_OF_MEMORY):
        return Stage.PROCESS
    msg = error_message or ""
    dynamo = exporter == "dynamo"
    if verdict is Verdict.EXPORT_CRASH and dynamo:
        if (error_type or "").endswith("TorchExportError") or "step 1/3" in msg:
            return Stage.CAPTURE
        if "step 2/3" in msg:
            return Stage.DECOMPOSITION
        if "step 3/3" in msg:
            return Stage.TRANSLATION
    for a in differential:  # one export option's value breaks it: the stage that value turns on
        stage = _LABEL_STAGE.get(a.get("label")) if a.get("breaks") else None
        failing = a.get("failing") or {}
        if stage is Stage.EXPORTER_OPTIMIZER and failing.get("optimize") is False:
            continue  # it fails unoptimized and passes optimized: the optimizer hides a translation or ORT problem
        if stage is Stage.OPSET_CONVERSION and failing.get("opset") == NATIVE_OPSET:
            continue  # it fails at torchlib's own opset, not after a conversion
        if stage is not None:
            return stage
    exporter_stage = Stage.TRANSLATION if dynamo else Stage.TORCHSCRIPT_SYMBOLIC
    if declared_dtypes and verdict in (Verdict.ORT_LOAD_FAILURE, Verdict.ORT_RUN_CRASH):
        return exporter_stage  # the model declares another type than eager gives: ORT's kernel table is not the cause
    if culprit == "exporter_optimizer":
        return Stage.EXPORTER_OPTIMIZER
    if culprit == "decomposition":
        return Stage.DECOMPOSITION
    if culprit == "ort_kernel":
        return Stage.ORT_KERNEL
    if culprit == "ort_optimizer":
        return Stage.ORT_OPTIMIZER
    if verdict is Verdict.ORT_LOAD_FAILURE and "NOT_IMPLEMENTED" in msg:
        return Stage.ORT_KERNEL  # a valid model whose kernel ONNX Runtime does not register
    if verdict is Verdict.EXPORT_CRASH:
        return exporter_stage if not dynamo else Stage.UNKNOWN
    # the exported model itself is wrong: rejected by the checker or by ORT's type checks, outputs
    # of the wrong type or shape (ORT follows the model's declared types), or the oracles say so
    if verdict in (Verdict.INVALID_MODEL, Verdict.ORT_LOAD_FAILURE, Verdict.SHAPE_OR_DTYPE_MISMATCH) or culprit == "exporter":
        return exporter_stage
    return Stage.UNKNOWN  # wrong values or a run failure, and no oracle says on which side


def stage_of(result) -> Stage:
    """:func:`failing_stage` of a :class:`~fuzzer.case.CaseResult`."""
    opts = result.options or {}
    return failing_stage(
        result.exporter, result.verdict, result.error_type, result.error_message or result.error_head,
        culprit=result.blame.culprit.value if result.blame is not None else None, differential=opts.get("differential", ()),
        declared_dtypes=opts.get("declared_dtypes"),
    )
