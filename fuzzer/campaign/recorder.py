"""File a campaign's failing cases into its findings store as they come; minimize new bugs behind.

Every real failure is filed at once, in the campaign's thread (:meth:`FindingStore.record` with
the case key ``"<exporter>/<seed>"``, which makes filing idempotent): a bug seen before is a hit;
a new one is filed *raw*, awaiting minimization. So every bug a campaign has seen is in the store,
raw or minimized, whenever it stops, however it stops (``kill -9`` included), and the end of a
campaign waits for nothing.

A background thread minimizes the raw findings, one at a time, in a process of its own
(:mod:`fuzzer.campaign.minimize_one`: a candidate that kills its process cannot end the campaign,
and the culprit is known) and the store replaces each raw reproduction by the minimized one
(:meth:`FindingStore.finish_minimization`). The queue is the store itself: a resumed campaign
re-queues every finding still awaiting minimization (:meth:`FindingRecorder.requeue`). It works
new kinds of failure first: a finding whose kind (verdict, exporter, and the crash message or the
kind of difference) no other finding shows is a new bug whatever minimization finds, while one
that shares its kind may turn out a duplicate of a known bug once minimized (mismatches and
process deaths are signed by the operators of the minimized model).
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from fuzzer.case import CaseResult, load_case_dir
from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions
from fuzzer.ir import Graph
from fuzzer.triage.signature import CRASH_VERDICTS
from fuzzer.workers.helpers import LineHelper
from fuzzer.workers.pool import signal_name


#: How much lower the minimizer's scheduling priority is than the workers' (``os.nice``). A
#: minimizer at the workers' priority took about a third of a 2-core machine in a 20-minute default
#: campaign (1,115 s of minimization in 1,200 s), slowing the search itself; at +10 it gets the
#: CPU the workers leave (and all of it once they stop). Findings it has not reached stay raw:
#: ``--resume`` or ``onnxfuzz findings minimize --pending`` finishes them.
MINIMIZER_NICE = 10


def case_key(result: CaseResult, op_job: int | None = None) -> str:
    """The key a case is filed under in the store (idempotent filing): "<exporter>/<seed>" for a
    generated graph or a mutant (its mutation seed); "<exporter>/o<job>@<opset>[-noopt]" for one
    export variant of an op job (the variants of a job share its seed). :func:`line_case_key`
    gives the same key from the case's results.jsonl line."""
    if op_job is None:
        return f"{result.exporter}/{result.seed}"
    ex = (result.options or {}).get("export") or {}
    return _variant_key(result.exporter, op_job, ex.get("opset", result.opset_requested), ex.get("optimize", True), ex.get("dynamic", False))


def line_case_key(line: Mapping) -> str:
    """:func:`case_key` of the case a results.jsonl line records."""
    if line.get("op_job") is not None:
        ex = line.get("export") or {}
        return _variant_key(line["exporter"], line["op_job"], ex.get("opset"), ex.get("optimize", True), ex.get("dynamic", False))
    return f"{line['exporter']}/{line['seed']}"


def _variant_key(exporter: str, job: int, opset, optimize, dynamic=False) -> str:
    return f"{exporter}/o{job}@{opset}" + ("" if optimize is not False else "-noopt") + ("-dynamic" if dynamic is True else "")


@dataclass
class RecorderStats:
    filed: int = 0  # failing cases filed (hits included)
    new_buckets: int = 0  # bugs in the store (documented limitations not counted)
    limitations: int = 0  # documented limitations in the store (fuzzer.triage.limitations)
    minimized: int = 0  # raw findings whose minimization finished
    queued: int = 0  # raw findings queued for minimization (this run)
    errors: int = 0  # minimizations that failed (kept raw; see recorder.log)
    interactions: int = 0  # interaction findings in the store (fuzzer.minimize.interaction)


def _interaction(path: Path) -> bool | None:
    """The ``interaction`` flag of finding directory ``path`` (None: unset, or unreadable)."""
    try:
        return json.loads((path / "finding.json").read_text(encoding="utf-8")).get("interaction")
    except (OSError, ValueError, AttributeError):
        return None


def failure_kind(signature: Mapping) -> str:
    """What two findings of possibly the same bug share before minimization: verdict, exporter and
    the crash message (crashes: the whole signature) or the kind of difference / death."""
    verdict, exporter, detail = signature.get("verdict"), signature.get("exporter"), str(signature.get("detail", ""))
    if verdict in {v.value for v in CRASH_VERDICTS}:
        return f"{verdict}|{exporter}|{detail}"
    return f"{verdict}|{exporter}|{detail.split(':', 1)[0]}"


class FindingRecorder:
    def __init__(self, root: Path, exports: Mapping[str, ExportOptions], input_mode: str, minimize_seconds: float | None,
                 case_timeout: float = 60.0, scratch: Path | None = None, remote=None):
        """``remote``: minimize elsewhere (a Ray cluster's nodes, :mod:`fuzzer.campaign.cluster`):
        ``remote(job, cancelled) -> answer`` as :func:`fuzzer.workers.cluster.remote_minimizer`;
        None: in a process of this machine (:mod:`.minimize_one`)."""
        from fuzzer.store import FindingStore

        self.root = root
        self.exports = dict(exports)
        self.input_mode = input_mode
        self.minimize_seconds = minimize_seconds
        self.case_timeout = case_timeout
        self.scratch = scratch if scratch is not None else root / ".minimizer-tmp"
        self.remote = remote
        self.store = FindingStore(root)  # this thread's connection; the minimizer thread opens its own
        self.stats = RecorderStats()
        self.log_path = root / "recorder.log"
        self._heap: list[tuple[int, int, str]] = []  # (priority, order, finding id)
        self._queued: set[str] = set()
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._current: str | None = None
        self._closing = False
        self._helper: LineHelper | None = None
        self._thread: threading.Thread | None = None
        self._interactions = {d.name for d in (root.iterdir() if root.is_dir() else ()) if _interaction(d) is True}
        self.stats.interactions = len(self._interactions)

    # -- campaign side --------------------------------------------------------------------------
    def is_new(self, result: CaseResult) -> bool:
        """Whether this failure may open a new bucket (its raw signature is not filed yet)."""
        return not self.store.knows(result)

    def submit(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult, op_job: int | None = None) -> None:
        """File one failing case now: a hit, or a new bug filed raw and queued for minimization.
        ``op_job``: the index of the op job the case is a variant of (see :func:`case_key`)."""
        if not result.verdict.is_failure:
            return
        minimizing = self.minimize_seconds is not None
        fid, new = self.store.record(graph, inputs, result, None, case_key(result, op_job), pending=minimizing)
        self.stats.filed += 1
        if new:
            self._count(self.store)
            if minimizing:
                self._enqueue(fid)

    def requeue(self) -> int:
        """Queue the findings still awaiting minimization (a stopped or killed earlier run's)."""
        if self.minimize_seconds is None or not self.root.exists():
            return 0
        waiting = self.store.awaiting_minimization()
        for path, _ in waiting:
            self._enqueue(path.name)
        return len(waiting)

    def refile(self, cases_dir: Path, results: list[dict]) -> int:
        """File kept cases that are recorded as done (a line in results.jsonl) but not in the store:
        a campaign of an older build queued them in memory and lost them to a kill. Only real
        failures: unconfirmed mismatches are counted, never filed. Returns how many."""
        n = 0
        if not cases_dir.is_dir():
            return 0
        wanted = {f"{r['exporter']}/{r['seed']}" for r in results if r.get("op_job") is None and r.get("kept")
                  and Verdict(r["verdict"]).is_failure and (r.get("confirmation") or {}).get("status", "confirmed") == "confirmed"}
        if not wanted:
            return 0
        filed = self.store.case_index()
        for d in sorted(cases_dir.iterdir()):
            try:
                doc = json.loads((d / "result.json").read_text())
                key = f"{doc['exporter']}/{doc['seed']}"
                if key not in wanted or key in filed:
                    continue
                graph, inputs, result = load_case_dir(d)  # with model.onnx: a mismatch is signed from it
                self.submit(graph, inputs, result)
                n += 1
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as e:  # a damaged kept case: say so, keep going
                self._log(f"cannot re-file {d}: {e}")
        return n

    @property
    def pending(self) -> int:
        """Raw findings queued or under minimization."""
        return len(self._heap) + (self._current is not None)

    def close(self) -> None:
        """Stop minimizing at once: the process is killed, and what it was doing stays raw in the
        store, awaiting minimization (a resumed campaign goes on with it)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            helper = self._helper
        if helper is not None:
            helper.close()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.store.close()

    # -- the queue --------------------------------------------------------------------------------
    def _enqueue(self, fid: str) -> None:
        with self._cond:
            if fid in self._queued or self._closing:
                return
            self._queued.add(fid)
            heapq.heappush(self._heap, (self._priority(fid), next(self._order), fid))
            self.stats.queued += 1
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="onnxfuzz-minimizer", daemon=True)
                self._thread.start()

    def _priority(self, fid: str) -> int:
        """0: its kind of failure is new (no other finding shows it); 1: it may be a duplicate."""
        rows = self.store.list("id")
        kinds = {}
        for r in rows:
            v, e, detail = (r.signature.split("|", 2) + ["", ""])[:3]
            kinds.setdefault(failure_kind({"verdict": v, "exporter": e, "detail": detail}), []).append(r.id)
        mine = next((r for r in rows if r.id == fid), None)
        if mine is None:
            return 1
        v, e, detail = (mine.signature.split("|", 2) + ["", ""])[:3]
        return 0 if kinds.get(failure_kind({"verdict": v, "exporter": e, "detail": detail}), []) == [fid] else 1

    # -- minimizer thread ------------------------------------------------------------------------
    def _work(self) -> None:
        from fuzzer.store import FindingStore

        store = FindingStore(self.root)
        try:
            while True:
                with self._cond:
                    while not self._heap and not self._closing:
                        self._cond.wait()
                    if self._closing:
                        return
                    _, _, fid = heapq.heappop(self._heap)
                    self._current = fid
                try:
                    self._minimize(fid, store)
                except Exception:  # a bug of ours while filing: log it, go on (the finding stays raw)
                    if self._closing:
                        return
                    self.stats.errors += 1
                    self._log(traceback.format_exc())
                finally:
                    with self._cond:
                        self._current = None
                        self._queued.discard(fid)
        finally:
            with self._cond:
                helper, self._helper = self._helper, None
            if helper is not None:
                helper.close()
            store.close()

    def _helper_process(self) -> LineHelper | None:
        with self._cond:
            if self._closing:
                return None
            if self._helper is None or self._helper.proc.poll() is not None:
                import os

                self.scratch.mkdir(parents=True, exist_ok=True)
                args = [str(self.root), json.dumps({k: e.to_dict() for k, e in self.exports.items()}), str(self.minimize_seconds), str(self.scratch),
                        str(MINIMIZER_NICE)]
                self._helper = LineHelper("fuzzer.campaign.minimize_one", args, self.root / "minimizer.log",
                                          env={**os.environ, "TMPDIR": str(self.scratch)})
            return self._helper

    def _minimize(self, fid: str, store) -> None:
        if self.remote is not None:
            return self._minimize_remote(fid, store)
        helper = self._helper_process()
        if helper is None:
            return
        # a budget per finding, the first and last runs, and the process's start (imports, pool)
        reply = helper.ask(fid, timeout=3 * float(self.minimize_seconds or 0) + 4 * self.case_timeout + 120)
        if self._closing:
            return  # killed by close(): the finding stays raw, for a resumed campaign
        path = self.root / fid
        if reply is None:  # the process died on this finding (eager PyTorch can) or hung: keep it raw
            rc = helper.returncode
            why = "gave no answer in time" if rc is None else f"ended with {signal_name(rc)}"
            with self._cond:
                self._helper = None
            helper.close()
            self.stats.errors += 1
            self._log(f"minimizing {fid}: the minimizing process {why}; kept unminimized (see {self.root / 'minimizer.log'})")
            if (path / "finding.json").exists():
                store.give_up_minimization(path, f"the minimizing process {why}")
        else:
            kind, _, rest = reply.partition(" ")
            if kind == "done":
                self.stats.minimized += 1
                into = rest.split()[-1] if rest.split() else fid
                self._interactions.discard(fid)
                if _interaction(self.root / into) is True:
                    self._interactions.add(into)
                self.stats.interactions = len(self._interactions)
            elif kind == "error":
                self.stats.errors += 1
                self._log(f"minimizing {fid}: {rest}; kept unminimized (the traceback is in {self.root / 'minimizer.log'})")
                if (path / "finding.json").exists():
                    store.give_up_minimization(path, f"minimization failed: {rest.partition(' ')[2][:200]}")
        self._count(store)  # bugs in the store (a minimized case may join an existing one)

    def _count(self, store) -> None:
        """Bugs and documented limitations in the store: a limitation is never a new bug."""
        from fuzzer.triage.limitations import limitation_of_key

        rows = store.list("id")
        self.stats.limitations = sum(limitation_of_key(r.signature) is not None for r in rows)
        self.stats.new_buckets = len(rows) - self.stats.limitations

    def _minimize_remote(self, fid: str, store) -> None:
        """Ship the raw case to a node, file what comes back (the store stays on this machine)."""
        from fuzzer.case.files import npz_bytes
        from fuzzer.ir import graph_to_dict
        from fuzzer.minimize.wire import minimization_from_wire
        from fuzzer.store import FindingError, load_case

        from .minimize_one import finding_job

        path = self.root / fid
        try:
            doc, graph, inputs = load_case(path)
        except FindingError as e:
            self.stats.errors += 1
            self._log(f"minimizing {fid}: {' '.join(str(e).split())[:300]}; kept unminimized")
            return
        if not doc.get("awaiting_minimization"):
            return
        export, mode, reference = finding_job(doc, self.exports)
        job = {"graph": graph_to_dict(graph), "inputs_npz": npz_bytes(inputs), "export": export.to_dict(), "input_mode": mode,
               "reference": reference.to_dict(), "seconds": float(self.minimize_seconds or 0)}
        answer = self.remote(job, lambda: self._closing)
        if self._closing:
            return  # stays raw, for a resumed campaign
        why = None
        if answer is None:
            why = "the minimizing task gave no answer in time"
        elif "died" in answer:
            why = f"the minimizing task ended ({answer['died']})"
        elif "error" in answer:
            why = f"minimization failed: {answer['error']}"
        if why is not None:
            self.stats.errors += 1
            self._log(f"minimizing {fid}: {why}; kept unminimized")
            if (path / "finding.json").exists():
                store.give_up_minimization(path, why[:300])
        else:
            into = store.finish_minimization(path, minimization_from_wire(answer["minimization"]))
            if answer.get("interaction") is not None:
                store.mark_interaction(into, answer["interaction"])
            self.stats.minimized += 1
        self.stats.new_buckets = len(store.list())

    def _log(self, text: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text.rstrip() + "\n")
