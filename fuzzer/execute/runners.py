"""Run a graph's module in eager PyTorch, and an exported model in ONNX Runtime.

Both return a :class:`RunOutcome` instead of raising: ``stage`` says where it stopped
("ok", "load" for ORT session creation, "run"). Outputs are numpy arrays in graph-output order.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import torch
from google.protobuf.message import DecodeError

from . import rewrites as rewrites_mod

ort.set_default_logger_severity(4)  # ORT's own kernel errors are captured as outcomes, not printed


@dataclass(frozen=True)
class RunOutcome:
    stage: str  # "ok" | "load" | "run"
    outputs: tuple[np.ndarray, ...] = ()
    error_type: str | None = None
    error_message: str | None = None
    seconds_load: float = 0.0
    seconds_run: float = 0.0
    output_names: tuple[str, ...] = field(default_factory=tuple)
    rewrites: tuple[str, ...] = ()  # ORT rewrites observed at session creation (observe_rewrites)
    seconds_observe: float = 0.0  # time spent observing them (inside seconds_load)

    @property
    def ok(self) -> bool:
        return self.stage == "ok"


def to_torch(inputs: Mapping[str, np.ndarray]) -> list[torch.Tensor]:
    """Fresh tensors (copies, so neither side can alias the other's memory)."""
    return [torch.from_numpy(np.array(v, copy=True)) for v in inputs.values()]


def run_eager(module: torch.nn.Module, inputs: Mapping[str, np.ndarray]) -> RunOutcome:
    t0 = time.perf_counter()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = module(*to_torch(inputs))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:  # an eager failure means the generator produced an invalid graph
        return RunOutcome("run", (), _qualname(e), str(e)[:4000], 0.0, time.perf_counter() - t0)
    outs = tuple(t.detach().cpu().numpy().copy() for t in out)
    return RunOutcome("ok", outs, seconds_run=time.perf_counter() - t0)


_SESSION_OPTIONS: dict[tuple, ort.SessionOptions] = {}


def session_options(optimization: str = "all", threads: int = 1) -> ort.SessionOptions:
    """Cached SessionOptions: ``optimization`` is "all" (ORT's default) or "disabled"."""
    key = (optimization, threads)
    so = _SESSION_OPTIONS.get(key)
    if so is None:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 4
        so.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimization == "all" else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        )
        _SESSION_OPTIONS[key] = so
    return so


def _observing_options(optimization: str, path: str) -> ort.SessionOptions:
    """Fresh SessionOptions like :func:`session_options`, saving the optimized graph to ``path``."""
    base = session_options(optimization)
    so = ort.SessionOptions()
    so.intra_op_num_threads = base.intra_op_num_threads
    so.inter_op_num_threads = base.inter_op_num_threads
    so.log_severity_level = base.log_severity_level
    so.graph_optimization_level = base.graph_optimization_level
    so.optimized_model_filepath = path
    return so


def run_onnxruntime(model: bytes, inputs: Mapping[str, np.ndarray], input_order: Sequence[str], optimization: str = "all",
                    observe_rewrites: bool = False) -> RunOutcome:
    """Load ``model`` on the CPU provider and run it. Inputs are matched by name (both exporters
    keep the module's argument names); a model that wants an input we do not have fails at "load".
    With ``observe_rewrites`` the session also saves the graph it optimized and ``rewrites`` names
    what ORT rewrote (:mod:`fuzzer.execute.rewrites`; nothing when the session fails)."""
    t0 = time.perf_counter()
    path = None
    so = session_options(optimization)
    if observe_rewrites and optimization == "all" and rewrites_mod.observation_enabled():
        fd, path = tempfile.mkstemp(prefix="ort-opt-", suffix=".onnx")
        os.close(fd)
        so = _observing_options(optimization, path)
    try:
        try:
            sess = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as e:  # ORT rejects the model: NOT_IMPLEMENTED kernels, invalid graphs...
            return RunOutcome("load", (), _qualname(e), str(e)[:4000], time.perf_counter() - t0)
        rewrites: tuple[str, ...] = ()
        t_obs = time.perf_counter()
        if path is not None:
            rewrites = _observe(model, path)
        seconds_observe = time.perf_counter() - t_obs if path is not None else 0.0
    finally:
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
    t1 = time.perf_counter()
    wanted = [i.name for i in sess.get_inputs()]
    missing = [n for n in wanted if n not in inputs]
    if missing:
        return RunOutcome("load", (), "InputMismatch", f"model inputs {wanted} do not match the module's {list(input_order)}", t1 - t0,
                          rewrites=rewrites, seconds_observe=seconds_observe)
    feed = {n: inputs[n] for n in wanted}
    try:
        outs = sess.run(None, feed)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:
        return RunOutcome("run", (), _qualname(e), str(e)[:4000], t1 - t0, time.perf_counter() - t1, rewrites=rewrites, seconds_observe=seconds_observe)
    names = tuple(o.name for o in sess.get_outputs())
    return RunOutcome("ok", tuple(np.asarray(o) for o in outs), None, None, t1 - t0, time.perf_counter() - t1, names, rewrites, seconds_observe)


def _observe(model: bytes, path: str) -> tuple[str, ...]:
    """The rewrites between ``model`` and the optimized graph ORT saved at ``path`` (nothing if
    either cannot be read: the observation never changes a case's verdict)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if not data:
            return ()
        return rewrites_mod.observe(onnx.load_model_from_string(model), onnx.load_model_from_string(data))
    except (OSError, DecodeError, ValueError):
        return ()


def _qualname(e: BaseException) -> str:
    t = type(e)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
