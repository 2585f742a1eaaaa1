"""File a campaign's failing cases into its findings store, minimizing new bugs as they appear.

A failure whose raw signature the store already knows is only a hit: filed at once, in the
campaign's thread. A new one is queued for a background thread that minimizes it with its own
isolated worker (so a candidate that crashes its process is just a verdict) and files the
result. All store writes go through :meth:`FindingStore.record` with the case key
``"<exporter>/<seed>"``, which makes filing idempotent: after a kill, :meth:`refile` queues the
kept cases that never made it into the store, and nothing is counted twice.
"""

from __future__ import annotations

import json
import queue
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions
from fuzzer.ir import Graph, load_graph

from .artifacts import load_inputs
from .case import CaseResult
from .isolated import IsolatedRunner


def case_key(result: CaseResult) -> str:
    return f"{result.exporter}/{result.seed}"


@dataclass
class RecorderStats:
    filed: int = 0
    new_buckets: int = 0
    minimized: int = 0
    queued: int = 0
    errors: int = 0


class FindingRecorder:
    def __init__(self, root: Path, exports: Mapping[str, ExportOptions], input_mode: str, minimize_seconds: float | None, case_timeout: float = 60.0):
        from fuzzer.store import FindingStore

        self.root = root
        self.exports = dict(exports)
        self.input_mode = input_mode
        self.minimize_seconds = minimize_seconds
        self.case_timeout = case_timeout
        self.store = FindingStore(root)  # this thread's connection; the worker thread opens its own
        self.stats = RecorderStats()
        self._queue: queue.Queue = queue.Queue()
        self._queued_raw: set[str] = set()
        self._runner: IsolatedRunner | None = None
        self._thread: threading.Thread | None = None
        self.log_path = root / "recorder.log"

    # -- campaign side --------------------------------------------------------------------------
    def is_new(self, result: CaseResult) -> bool:
        """Whether this failure may open a new bucket (its raw signature is neither filed nor queued)."""
        from fuzzer.triage.signature import signature_of

        return signature_of(result).key not in self._queued_raw and not self.store.knows(result)

    def submit(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult) -> None:
        if not result.verdict.is_failure:
            return
        from fuzzer.triage.signature import signature_of

        raw = signature_of(result).key
        queued = raw in self._queued_raw
        if self.minimize_seconds is None or (not queued and self.store.knows(result)):
            _, new = self.store.record(graph, inputs, result, None, case_key(result))
            self.stats.filed += 1
            self.stats.new_buckets += int(new)
            return
        # a new raw signature is minimized; later cases of one still in the queue wait behind
        # it and become plain hits once it is filed
        self._queued_raw.add(raw)
        self.stats.queued += 1
        self._pending_bugs += int(not queued)
        self._queue.put((graph, dict(inputs), result, not queued))
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="onnxfuzz-minimizer", daemon=True)
            self._thread.start()

    def refile(self, cases_dir: Path) -> int:
        """Queue kept cases whose filing a kill interrupted. Returns how many."""
        n = 0
        if not cases_dir.is_dir():
            return 0
        for d in sorted(cases_dir.iterdir()):
            try:
                doc = json.loads((d / "result.json").read_text())
                if not Verdict(doc["verdict"]).is_failure or self.store.recorded(f"{doc['exporter']}/{doc['seed']}"):
                    continue
                graph = load_graph(d / "graph.json")
                self.submit(graph, load_inputs(d / "inputs.npz", graph), CaseResult.from_dict(doc))
                n += 1
            except (OSError, ValueError, KeyError) as e:  # a damaged kept case: say so, keep going
                self._log(f"cannot re-file {d}: {e}")
        return n

    @property
    def pending(self) -> int:
        """New bugs queued or under minimization."""
        return self._pending_bugs

    _pending_bugs = 0
    _busy = False
    _abandoning = False

    def close(self, wait: float = 0.0) -> None:
        """Stop the minimizer thread: let it finish the queue for up to ``wait`` seconds, then
        abandon the rest (those cases are kept on disk and re-filed on resume)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=wait)
            if self._thread.is_alive() and self._runner is not None:
                self._abandoning = True
                self._runner.close()  # the thread's current candidate fails; the thread ends
                self._thread.join(timeout=10)
        self.store.close()

    # -- minimizer thread ------------------------------------------------------------------------
    def _work(self) -> None:
        from fuzzer.minimize import minimize
        from fuzzer.store import FindingStore

        store = FindingStore(self.root)
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                graph, inputs, result, first = item
                self._busy = True
                try:
                    if self._runner is None:
                        self._runner = IsolatedRunner(case_timeout=self.case_timeout)
                    runner = self._runner
                    export = self.exports[result.exporter]

                    def run(g: Graph, x: Mapping[str, np.ndarray]) -> CaseResult:
                        return runner.run(g, x, [export], self.input_mode)[0]

                    def mini(g, x, r):
                        return minimize(g, x, run, seconds=self.minimize_seconds)

                    _, new = store.record(graph, inputs, result, mini if first else None, case_key(result))
                    self.stats.filed += 1
                    self.stats.minimized += int(first)
                    self.stats.new_buckets += int(new)
                except Exception:  # a bug of ours while minimizing: file the raw case, log it, go on
                    if self._abandoning:  # closed under us: the kept case is re-filed by --resume
                        return
                    self.stats.errors += 1
                    self._log(traceback.format_exc())
                    try:
                        store.record(graph, inputs, result, None, case_key(result))
                        self.stats.filed += 1
                    except Exception:
                        self._log(traceback.format_exc())
                finally:
                    self._busy = False
                    self._pending_bugs -= int(first)
        finally:
            store.close()
            if self._runner is not None:
                self._runner.close()

    def _log(self, text: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text.rstrip() + "\n")
