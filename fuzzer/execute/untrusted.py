"""ONNX Runtime runs of models no worker has run (filing a finding: the evidence's runs, the
ONNX-only reduction's cut-down windows). ONNX Runtime can crash on such a model, so the process
that files should run them in a helper process: :func:`fuzzer.workers.ort_helper.install` makes
:func:`run_untrusted` do that (the CLI installs it for every command). Until then they run in this
process, as :func:`fuzzer.execute.run_onnxruntime` does.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from .runners import RunOutcome, run_onnxruntime

_runner: Callable[..., RunOutcome] = run_onnxruntime


def use_runner(fn: Callable[..., RunOutcome]) -> None:
    """Run untrusted models with ``fn`` (the signature of :func:`fuzzer.execute.run_onnxruntime`)."""
    global _runner
    _runner = fn


def run_untrusted(model: bytes, inputs: Mapping[str, np.ndarray], input_order: Sequence[str], optimization: str = "all") -> RunOutcome:
    """``model`` run by ONNX Runtime with the installed runner (in a helper: a crash is stage ``"crash"``)."""
    return _runner(model, inputs, input_order, optimization)
