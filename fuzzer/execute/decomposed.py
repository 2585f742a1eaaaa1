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
    return run_unoptimized(module, inputs)["decomposed"]


def run_unoptimized(module: torch.nn.Module, inputs: Mapping[str, np.ndarray], input_order=None, opset: int | None = None) -> dict[str, RunOutcome]:
    """One export with ONNX Script's optimizer off, two oracles: "decomposed" (:func:`run_decomposed`)
    and, with ``input_order`` given, "unoptimized_export": that unoptimized ONNX model run in ONNX
    Runtime (all of ONNX Runtime's optimizations on, as the primary run). When it agrees with eager
    and the optimized model does not, the exporter's own optimizer broke the model."""
    from fuzzer.export.quiet import quiet

    from .runners import run_onnxruntime

    t0 = time.perf_counter()
    args = tuple(to_torch(inputs))
    try:
        with quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, args, dynamo=True, optimize=False, opset_version=opset,
                                        verbose=False, report=False, verify=False, external_data=False)
            ep = program.exported_program
            model = program.model_proto.SerializeToString() if input_order is not None else None
        if ep is None:
            return {"decomposed": RunOutcome("load", (), "RuntimeError", "the dynamo exporter kept no exported program", time.perf_counter() - t0, 0.0)}
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:
        failed = RunOutcome("load", (), _qualname(e), str(e)[:4000], time.perf_counter() - t0, 0.0)
        return {"decomposed": failed} | ({"unoptimized_export": failed} if input_order is not None else {})
    out = {"decomposed": _run_program(ep, inputs, t0)}
    if model is not None:
        out["unoptimized_export"] = run_onnxruntime(model, inputs, input_order)
    return out


def _run_program(ep, inputs: Mapping[str, np.ndarray], t0: float) -> RunOutcome:
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
