"""ONNX Runtime runs of models no worker has run, away from the calling process.

A sweep's or a campaign's supervisor files findings itself, and filing runs ONNX Runtime on
models that no worker ran: the evidence's run without graph optimizations and the cut-down
windows of the ONNX-only reproduction (:mod:`fuzzer.store.onnx_repro`). ONNX Runtime can crash on
such a model: creating a session on a window of ``nn.MultiheadAttention``'s float16 model
(opset 23) killed a whole dynamo sweep with SIGSEGV after 17 minutes, and the resumed sweep died
the same way on the same job. So those runs happen in one long-lived helper process
(``python -m fuzzer.workers.ort_helper``, one request line per run, arrays through ``.npz`` files
read with ``allow_pickle=False``). A run that kills the helper is an outcome, stage ``"crash"``
with the signal's name; the next run starts a new helper.

Invariant: for a model the helper survives, :func:`run_isolated` returns what
:func:`fuzzer.execute.run_onnxruntime` returns in the calling process (same session options).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from fuzzer.execute.runners import RunOutcome, run_onnxruntime

#: seconds one run may take before the helper is killed (and the run reported as a crash)
TIMEOUT = 120.0


class _Helper:
    """The helper process and its scratch directory (under :func:`use_scratch`'s, if set)."""

    def __init__(self) -> None:
        from fuzzer.workers.helpers import LineHelper

        if _scratch is not None:
            _scratch.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="onnxfuzz-ort-", dir=_scratch))
        self.proc = LineHelper("fuzzer.workers.ort_helper", [], Path(os.devnull))

    def close(self) -> None:
        self.proc.close()
        shutil.rmtree(self.dir, ignore_errors=True)


_helper: _Helper | None = None
_scratch: Path | None = None


def use_scratch(path: Path | None) -> None:
    """Put the helper's files under ``path`` (a run's own scratch space, which the run clears, so
    that a killed sweep or campaign leaves nothing in the system's temporary directory); None: the
    system's. Ends the current helper."""
    global _scratch
    _close()
    _scratch = path
    if path is not None:
        install()


def install() -> None:
    """Make :func:`run_isolated` the way this process runs models no worker ran
    (:func:`fuzzer.execute.untrusted.run_untrusted`: filing's evidence and ONNX-only reduction).
    The CLI installs it for every command; library users and tests call it themselves."""
    from fuzzer.execute import untrusted

    untrusted.use_runner(run_isolated)


def _close() -> None:
    global _helper
    if _helper is not None:
        _helper.close()
        _helper = None


atexit.register(_close)


def run_isolated(model: bytes, inputs: Mapping[str, np.ndarray], input_order: Sequence[str], optimization: str = "all",
                 timeout: float = TIMEOUT) -> RunOutcome:
    """:func:`fuzzer.execute.run_onnxruntime` in the helper process; a run that kills it (or
    outlives ``timeout``) gives stage ``"crash"``, ``error_type`` the signal's name (or "timeout")."""
    global _helper
    t0 = time.perf_counter()
    if _helper is None:
        _helper = _Helper()
    d = _helper.dir
    (d / "model.onnx").write_bytes(model)
    np.savez(d / "inputs.npz", **{k: np.asarray(v) for k, v in inputs.items()})
    (d / "outputs.npz").unlink(missing_ok=True)
    reply = _helper.proc.ask(json.dumps({"dir": str(d), "order": list(input_order), "optimization": optimization}), timeout)
    if reply is None:
        code = _helper.proc.returncode
        what = "timeout" if code is None else (signal.Signals(-code).name if code < 0 and -code in signal.valid_signals() else f"exit {code}")
        _close()
        return RunOutcome("crash", (), what, f"ONNX Runtime ended its process ({what}) on this model", time.perf_counter() - t0)
    r = json.loads(reply)
    outputs: tuple[np.ndarray, ...] = ()
    if r["status"] == "ok":
        with np.load(d / "outputs.npz", allow_pickle=False) as z:
            outputs = tuple(z[f"o{k}"] for k in range(len(z.files)))
    return RunOutcome(r["status"], outputs, r.get("error_type"), r.get("error"), r.get("seconds_load", 0.0), r.get("seconds_run", 0.0),
                      tuple(r.get("names") or ()))


def _serve() -> int:
    """The helper: one run per request line, in the directory its parent gave it."""
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        d = Path(req["dir"])
        model = (d / "model.onnx").read_bytes()
        with np.load(d / "inputs.npz", allow_pickle=False) as z:
            inputs = {k: z[k] for k in z.files}
        r = run_onnxruntime(model, inputs, req["order"], req["optimization"])
        status, error_type, error = r.stage, r.error_type, r.error_message
        if status == "ok":
            outs = [np.asarray(a) for a in r.outputs]
            if any(a.dtype.hasobject for a in outs):  # a string tensor: savez would pickle it, and the reader refuses pickle
                status, error_type, error = "run", "ValueError", "an output numpy cannot store without pickle (object dtype)"
            else:
                np.savez(d / "outputs.npz", **{f"o{k}": a for k, a in enumerate(outs)})
        out.write(json.dumps({"status": status, "error_type": error_type, "error": error, "seconds_load": r.seconds_load,
                              "seconds_run": r.seconds_run, "names": list(r.output_names)}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_serve())
