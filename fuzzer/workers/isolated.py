"""Run single cases in a worker process, so a case that kills its process becomes a verdict
(``process_crash`` with the signal, ``hang``, ``out_of_memory``) instead of killing the caller.

Used by ``onnxfuzz check``, the minimizer and everything that replays stored cases.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from fuzzer.case import CaseResult, save_inputs, worker_death_result
from fuzzer.export import ExportOptions
from fuzzer.ir import Graph, graph_to_dict

from .pool import WorkerPool
from .protocol import CaseSpec, RunGraphs


#: Scratch directories in the system's temporary directory are named ``PREFIX<pid>-<random>``, so
#: one left by a runner killed with SIGKILL (``check``, ``findings replay``) can be told by its dead
#: owner and removed by the next runner.
PREFIX = "onnxfuzz-isolated-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or a number no process can have: leave it)
    return True


def reap_stale(tmp: Path) -> list[Path]:
    """Remove this tool's scratch directories in ``tmp`` whose owning process is gone; returns
    them. Directories of live processes, of other users and of other names are left alone."""
    removed = []
    try:
        entries = list(tmp.glob(f"{PREFIX}*-*"))
    except OSError:
        return removed
    for d in entries:
        pid = d.name[len(PREFIX):].split("-", 1)[0]
        try:
            if not pid.isdigit() or not d.is_dir() or d.is_symlink() or d.stat().st_uid != os.getuid() or _alive(int(pid)):
                continue
        except OSError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


class IsolatedRunner:
    """A one-worker pool kept open across calls (a worker costs ~2 s to start)."""

    def __init__(self, case_timeout: float = 120.0, memory_limit_mb: int = 8192, env: dict[str, str] | None = None,
                 scratch: Path | None = None):
        """``scratch``: the directory for the runner's files (inputs, worker logs; default: the
        system's temporary directory); a campaign passes its own ``DIR/.tmp``, which it clears
        when it starts, so even a killed runner leaves nothing elsewhere."""
        if scratch is not None:
            scratch.mkdir(parents=True, exist_ok=True)
        else:
            reap_stale(Path(tempfile.gettempdir()))
        self.tmp = tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-", dir=scratch)
        # the worker's log lives as long as the runner: a worker that cannot start says why
        self.pool = WorkerPool(1, case_timeout, memory_limit_mb, log_dir=Path(self.tmp.name) / "logs", env=env)

    def run(self, graph: Graph, inputs: Mapping[str, np.ndarray], exports: Sequence[ExportOptions], input_mode: str = "normal") -> list[CaseResult]:
        """One result per export, in order, each with its model; each export runs as a request of
        its own, so a death is blamed on the right one."""
        path = Path(self.tmp.name) / "inputs.npz"
        save_inputs(path, inputs)
        spec = CaseSpec(graph_to_dict(graph), graph.meta.get("seed"), str(path))
        out = []
        for ex in exports:
            c = self.pool.call(RunGraphs((spec,), (ex,), input_mode, return_model=True))
            if c.kind == "ok":
                out.append(c.reply.cases[0].result)
            else:
                out.append(worker_death_result(c.kind, c.detail, c.seconds, ex, seed=graph.meta.get("seed"), input_mode=input_mode, graph=graph))
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
