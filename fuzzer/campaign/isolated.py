"""Run single cases in a worker process, so a case that kills its process becomes a verdict
(``process_crash`` with the signal, ``hang``, ``out_of_memory``) instead of killing the caller.

Used by ``onnxfuzz check`` and by everything that replays stored cases.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions
from fuzzer.ir import Graph, graph_to_dict
from fuzzer.versions import stack_versions

from .artifacts import save_inputs
from .case import CaseResult
from .pool import WorkerPool

_KIND_VERDICT = {"crash": Verdict.PROCESS_CRASH, "hang": Verdict.HANG, "oom": Verdict.OUT_OF_MEMORY}


class IsolatedRunner:
    """A one-worker pool kept open across calls (a worker costs ~2 s to start)."""

    def __init__(self, case_timeout: float = 120.0, memory_limit_mb: int = 8192, env: dict[str, str] | None = None):
        self.tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-isolated-")
        # the worker's log lives as long as the runner: a worker that cannot start says why
        self.pool = WorkerPool(1, case_timeout, memory_limit_mb, log_dir=Path(self.tmp.name) / "logs", env=env)

    def run(self, graph: Graph, inputs: Mapping[str, np.ndarray], exports: Sequence[ExportOptions], input_mode: str = "normal") -> list[CaseResult]:
        path = Path(self.tmp.name) / "inputs.npz"
        save_inputs(path, inputs)
        out = []
        for ex in exports:
            while self.pool.idle() == 0:
                self.pool.poll(0.05)
            self.pool.submit({"kind": "graph", "graph": graph_to_dict(graph), "inputs": str(path), "export": ex.to_dict(), "input_mode": input_mode})
            done: list = []
            while not done:
                done = self.pool.poll(0.05)
            c = done[0]
            if c.kind == "ok":
                b64 = c.reply.get("model_b64")
                out.append(CaseResult.from_dict(c.reply["result"], model=base64.b64decode(b64) if b64 else None))
            else:
                out.append(CaseResult(
                    seed=graph.meta.get("seed"), exporter=ex.exporter.value, opset_requested=ex.opset, opset=None,
                    verdict=_KIND_VERDICT[c.kind], input_mode=input_mode, error_type=c.detail.split()[0] if c.kind == "crash" else c.kind,
                    error_head=f"worker {c.kind}: {c.detail}", error_message=f"the worker process running this case ended with: {c.detail}",
                    timings={"total": c.seconds}, n_nodes=len(graph), ops=tuple(graph.ops()), versions=stack_versions(),
                ))
        return out

    def close(self) -> None:
        self.pool.close()
        self.tmp.cleanup()

    def __enter__(self) -> "IsolatedRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_isolated(graph: Graph, inputs: Mapping[str, np.ndarray], exports: Sequence[ExportOptions], input_mode: str = "normal") -> list[CaseResult]:
    with IsolatedRunner() as r:
        return r.run(graph, inputs, exports, input_mode)
