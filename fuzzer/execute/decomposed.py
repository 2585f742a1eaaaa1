"""The program the dynamo exporter translates, run in eager PyTorch: the ``decomposed`` oracle.

``torch.onnx.export(dynamo=True)`` captures the module with torch.export, decomposes it into the
operators torchlib implements and inserts explicit type promotion, then translates that program
node by node; ``ONNXProgram.exported_program`` is that decomposed program. Run in eager, it says
whether a difference between eager PyTorch and the ONNX model was already there before
translation: when it agrees with the ONNX model (ONNX Runtime or the reference) and not with
eager, PyTorch's decompositions or type promotion changed the result (a PyTorch bug, or eager's
kernel and its decomposition disagree on these inputs), not torchlib or ONNX Runtime.

One more export (translation included, optimizer off) per failing dynamo case: only run for
mismatches of the dynamo exporter, when the extra oracles run (:mod:`.oracles`).
"""

from __future__ import annotations

import time
import warnings
from typing import Mapping

import numpy as np
import torch

from .runners import RunOutcome, _qualname, to_torch


def run_decomposed(module: torch.nn.Module, inputs: Mapping[str, np.ndarray]) -> RunOutcome:
    """Eager outputs of the decomposed program the dynamo exporter translates for ``module`` at
    ``inputs`` (stage "ok"), or the stage that failed: "load" when the export fails, "run" when
    the decomposed program raises."""
    from fuzzer.export.quiet import quiet

    t0 = time.perf_counter()
    args = tuple(to_torch(inputs))
    try:
        with quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, args, dynamo=True, optimize=False,
                                        verbose=False, report=False, verify=False, external_data=False)
            ep = program.exported_program
        if ep is None:
            return RunOutcome("load", (), "RuntimeError", "the dynamo exporter kept no exported program", time.perf_counter() - t0, 0.0)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:
        return RunOutcome("load", (), _qualname(e), str(e)[:4000], time.perf_counter() - t0, 0.0)
    t1 = time.perf_counter()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = ep.module()(*to_torch(inputs))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:
        return RunOutcome("run", (), _qualname(e), str(e)[:4000], t1 - t0, time.perf_counter() - t1)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return RunOutcome("ok", tuple(t.detach().cpu().numpy().copy() for t in outs), seconds_load=t1 - t0, seconds_run=time.perf_counter() - t1)
