"""The program the dynamo exporter translates, run in eager PyTorch: the ``decomposed`` oracle.

``torch.onnx.export(dynamo=True)`` captures the module with torch.export, decomposes it into the
operators torchlib implements and inserts explicit type promotion, then translates that program
node by node; ``ONNXProgram.exported_program`` is that decomposed program. Run in eager, it says
whether a difference between eager PyTorch and the ONNX model was already there before
translation: when it agrees with the ONNX model (ONNX Runtime or the reference) and not with
eager, PyTorch's decompositions or type promotion changed the result (a PyTorch bug, or eager's
kernel and its decomposition disagree on these inputs), not torchlib or ONNX Runtime.

One more export (translation included, optimizer off) per failing dynamo case: only run for
mismatches of the dynamo exporter, when the extra oracles run (:mod:`.oracles`). Given a ``key``
(what the export depends on: the graph and its inputs' shapes and dtypes), the cases of one graph
share it: its module is captured once and decomposed and translated once per distinct input
(:class:`fuzzer.export.exporters.DerivedExports`, which gives the public call's models and
errors), for every opset and input mode its cases ask for; the last few graphs are kept.
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from typing import Hashable, Mapping

import numpy as np
import torch

from .runners import RunOutcome, _qualname, to_torch


def run_decomposed(module: torch.nn.Module, inputs: Mapping[str, np.ndarray]) -> RunOutcome:
    """Eager outputs of the decomposed program the dynamo exporter translates for ``module`` at
    ``inputs`` (stage "ok"), or the stage that failed: "load" when the export fails, "run" when
    the decomposed program raises."""
    return run_unoptimized(module, inputs)["decomposed"]


def run_unoptimized(module: torch.nn.Module, inputs: Mapping[str, np.ndarray], input_order=None, opset: int | None = None,
                    key: Hashable | None = None) -> dict[str, RunOutcome]:
    """One export with ONNX Script's optimizer off, two oracles: "decomposed" (:func:`run_decomposed`)
    and, with ``input_order`` given, "unoptimized_export": that unoptimized ONNX model run in ONNX
    Runtime (all of ONNX Runtime's optimizations on, as the primary run). When it agrees with eager
    and the optimized model does not, the exporter's own optimizer broke the model. ``key``: see
    the module doc (two calls with one key must be about the same graph and input shapes)."""
    from fuzzer.export.quiet import quiet

    from .runners import run_onnxruntime

    t0 = time.perf_counter()
    args = tuple(to_torch(inputs))
    try:
        with quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            derived = _derived(module, args, key) if key is not None else None
            if derived is not None:
                ep, model = derived.unoptimized(opset, input_order is not None)
            else:
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


#: Oracle exports of the last graphs (``key`` -> their derived exports, or None when the first
#: capture strategy failed and the public call, with its fallbacks, is made every time).
_DERIVED: OrderedDict = OrderedDict()
_DERIVED_KEPT = 4


class _OracleExports:
    """A graph's unoptimized exports at any opset from one capture (see the module doc)."""

    def __init__(self, program, args):
        from fuzzer.export.exporters import DerivedExports

        self.derived = DerivedExports(program, args, None)
        self.exports = 0  # opsets asked for (for tests)

    def unoptimized(self, opset: int | None, want_model: bool):
        """(the decomposed program, the serialized model or None) the public call with
        ``optimize=False, opset_version=opset`` returns; raises what it raises."""
        from fuzzer.export.exporters import ExportOptions, Exporter

        self.exports += 1
        options = ExportOptions(Exporter.DYNAMO, opset, optimize=False)
        model = self.derived.model(options)  # decomposes and translates (once per distinct input)
        return self.derived.decomposed(options), model.SerializeToString() if want_model else None


def _derived(module: torch.nn.Module, args: tuple, key: Hashable) -> _OracleExports | None:
    if key in _DERIVED:
        _DERIVED.move_to_end(key)
        return _DERIVED[key]
    from fuzzer.export.exporters import first_capture

    program, error = first_capture(module, args)
    del error
    entry = _OracleExports(program, args) if program is not None else None
    _DERIVED[key] = entry
    while len(_DERIVED) > _DERIVED_KEPT:
        _DERIVED.popitem(last=False)
    return entry
