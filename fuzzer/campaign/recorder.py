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
import shutil
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions
from fuzzer.ir import Graph

from fuzzer.case import CaseResult, load_case_dir
from fuzzer.workers import kill_group, start_helper


def case_key(result: CaseResult) -> str:
    return f"{result.exporter}/{result.seed}"


@dataclass
class RecorderStats:
    filed: int = 0
    new_buckets: int = 0  # bugs in the store
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
        self._proc = None  # the running minimize_one process
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
            if new:
                self.stats.new_buckets = len(self.store.list())
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
                graph, inputs, result = load_case_dir(d)  # with model.onnx: a mismatch is signed from it
                self.submit(graph, inputs, result)
                n += 1
            except (OSError, ValueError, KeyError, TypeError) as e:  # a damaged kept case: say so, keep going
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
            if self._thread.is_alive():
                self._abandoning = True
                if self._proc is not None:
                    kill_group(self._proc)  # the kept case is re-filed by --resume
                self._thread.join(timeout=10)
        self.store.close()

    # -- minimizer thread ------------------------------------------------------------------------
    def _work(self) -> None:
        """Minimize and file new bugs, each in a process of its own (see minimize_one): eager
        PyTorch can die on the shapes a minimizer tries, and must not take the campaign along."""
        import tempfile

        from fuzzer.store import FindingStore

        store = FindingStore(self.root)
        tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-minimize-")
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                batch = [item]  # every new bug queued by now goes to one minimizing process
                while True:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)
                        break
                    batch.append(nxt)
                self._busy = True
                try:
                    self._process(batch, store, Path(tmp.name))
                except Exception:  # a bug of ours while filing: log it, go on (the cases stay kept on disk)
                    if self._abandoning:
                        return
                    self.stats.errors += 1
                    self._log(traceback.format_exc())
                finally:
                    self._busy = False
                    self._pending_bugs -= sum(int(first) for *_, first in batch)
        finally:
            store.close()
            tmp.cleanup()

    def _process(self, batch: list, store, tmp: Path) -> None:
        from fuzzer.case import save_case

        firsts = [(g, x, r, save_case(tmp, g, x, r, name=f"case-{k}-{r.seed}-{r.exporter}")) for k, (g, x, r, first) in enumerate(batch) if first]
        later = [(g, x, r) for g, x, r, first in batch if not first]
        if firsts:
            self._minimize(firsts, store)
        if self._abandoning:  # closed under us: kept cases are re-filed by --resume
            return
        for graph, inputs, result in later:  # later cases of bugs filed by now: hits
            store.record(graph, inputs, result, None, case_key(result))
            self.stats.filed += 1

    def _minimize(self, firsts: list, store) -> None:
        from fuzzer.workers.helpers import finish_helper
        from fuzzer.workers.pool import signal_name

        args = [str(self.root), json.dumps({k: e.to_dict() for k, e in self.exports.items()}), str(self.minimize_seconds), self.input_mode, *[str(c) for *_, c in firsts]]
        self._proc = start_helper("fuzzer.campaign.minimize_one", args)
        out, err, rc = finish_helper(self._proc, (self.minimize_seconds * 3 + 60) * len(firsts) + 60)
        if self._abandoning:
            return
        done = set(out.decode(errors="replace").split())  # the process prints each case it filed
        culprit_seen = False
        retry = []
        for graph, inputs, result, case in firsts:
            if str(case) in done or store.recorded(case_key(result)) is not None:
                self.stats.minimized += 1
            elif not culprit_seen:  # the case the process died on: file it raw, say why
                culprit_seen = True
                self.stats.errors += 1
                self._log(f"minimizing {result.exporter} seed {result.seed}: the process ended with "
                          f"{'a timeout' if rc is None else signal_name(rc)}; filed unminimized\n{(err or b'').decode(errors='replace')[-1500:]}")
                store.record(graph, inputs, result, None, case_key(result))
            else:  # not reached before the death: minimize in a new process
                retry.append((graph, inputs, result, case))
                continue
            self.stats.filed += 1
            shutil.rmtree(case, ignore_errors=True)
        if retry:
            self._minimize(retry, store)
        self.stats.new_buckets = len(store.list())  # bugs in the store (a minimized case may join an existing one)

    def _log(self, text: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text.rstrip() + "\n")
