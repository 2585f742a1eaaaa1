"""Verdicts: the paper's failure taxonomy, plus ``eager_error`` for our own generator's bugs."""

from __future__ import annotations

import enum


class Verdict(str, enum.Enum):
    PASS = "pass"
    EXPORT_CRASH = "export_crash"  # torch.onnx.export raised
    INVALID_MODEL = "invalid_model"  # onnx.checker (full check, strict shape inference) rejects it
    ORT_LOAD_FAILURE = "ort_load_failure"  # ONNX Runtime cannot create a session (e.g. NOT_IMPLEMENTED)
    ORT_RUN_CRASH = "ort_run_crash"  # the session raised while running
    SHAPE_OR_DTYPE_MISMATCH = "shape_or_dtype_mismatch"  # output count, shape or dtype differ
    NUMERIC_MISMATCH = "numeric_mismatch"  # same structure, different values (incl. NaN/inf pattern)
    PROCESS_CRASH = "process_crash"  # the worker process died (segfault, abort, SIGFPE...) on this case
    HANG = "hang"  # the case ran past the campaign's time limit
    OUT_OF_MEMORY = "out_of_memory"  # the case's worker passed the memory limit
    EAGER_ERROR = "eager_error"  # eager PyTorch failed: a generator bug, counted, never a finding
    AMBIGUOUS = "ambiguous"  # differs only where the spec leaves the answer open (ties): not a bug

    def __str__(self) -> str:
        return self.value

    @property
    def is_failure(self) -> bool:
        """A behaviour difference of the stack under test (what becomes a finding)."""
        return self not in (Verdict.PASS, Verdict.EAGER_ERROR, Verdict.AMBIGUOUS)


#: One-line meaning of each verdict, for help texts and reports. Total over Verdict (tested).
DESCRIPTIONS: dict[Verdict, str] = {
    Verdict.PASS: "exported model agrees with eager PyTorch",
    Verdict.EXPORT_CRASH: "torch.onnx.export raised an exception",
    Verdict.INVALID_MODEL: "the exported model fails onnx.checker (full check)",
    Verdict.ORT_LOAD_FAILURE: "ONNX Runtime cannot load the exported model",
    Verdict.ORT_RUN_CRASH: "ONNX Runtime raised while running the model",
    Verdict.SHAPE_OR_DTYPE_MISMATCH: "an output's count, shape or dtype differs from eager",
    Verdict.NUMERIC_MISMATCH: "an output's values differ beyond tolerance (or NaN/inf positions differ)",
    Verdict.PROCESS_CRASH: "the process died while running the case (signal recorded)",
    Verdict.HANG: "the case did not finish within the time limit",
    Verdict.OUT_OF_MEMORY: "the case's process exceeded the memory limit",
    Verdict.EAGER_ERROR: "eager PyTorch failed on the generated graph (generator bug)",
    Verdict.AMBIGUOUS: "differs only in documented ambiguities (ties in argmax/topk/sort): not a bug",
}
