"""Runners: how the sweep's jobs get executed. The sweep takes any :class:`Runner`, so the shared
worker pool of ``fuzzer.campaign`` can replace :class:`SubprocessRunner` without touching the sweep.

- :class:`InProcessRunner`: runs jobs in this process (tests, debugging). A case that kills the
  process (e.g. a SIGFPE inside the TorchScript exporter) kills the sweep.
- :class:`SubprocessRunner`: ``workers`` child processes (``python -m fuzzer.sweep.worker``) fed
  one job at a time over JSON lines. When a child dies (signal, abnormal exit) or is silent for
  ``timeout`` seconds (then its process group is killed), the export variant in flight is
  recorded as a :class:`ProcessCrash`, a fresh child is forked (or the worker restarted), and the
  job continues with its next variant.

Invariant of both: every job yields exactly one :class:`JobOutcome` with one result per export
variant, in the job's export order.
"""

from __future__ import annotations

import collections
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from fuzzer.campaign import CaseResult

from .plan import SweepJob
from .wire import ProcessCrash, result_from_wire
from .worker import INTERNAL_ERROR_EXIT


@dataclass(frozen=True)
class JobOutcome:
    job: SweepJob
    results: tuple[CaseResult | ProcessCrash, ...]
    seconds: float


class Runner(Protocol):
    def run(self, jobs: Iterable[SweepJob]) -> Iterator[JobOutcome]: ...

    def close(self) -> None: ...


class InProcessRunner:
    """Runs each job here, in order. No isolation."""

    def run(self, jobs: Iterable[SweepJob]) -> Iterator[JobOutcome]:
        from .worker import run_job

        for job in jobs:
            t0 = time.perf_counter()
            msgs: list[dict] = []
            run_job(job.to_wire(), msgs.append)
            yield JobOutcome(job, tuple(result_from_wire(m["result"]) for m in msgs if "result" in m), time.perf_counter() - t0)

    def close(self) -> None:
        pass


def crash_record(job: SweepJob, index: int, error_type: str, head: str, exit_code: int | None) -> ProcessCrash:
    ex = job.exports[index]
    return ProcessCrash(
        seed=job.seed, exporter=ex.exporter.value, opset_requested=ex.opset, input_mode=job.mode,
        error_type=error_type, error_head=head, exit_code=exit_code, options=dict(job.context(), export=ex.to_dict()),
    )


@dataclass
class _Slot:
    """One worker process and the job it is on (None: idle)."""

    proc: subprocess.Popen | None = None
    job: SweepJob | None = None
    started: float = 0.0
    deadline: float = 0.0
    buf: bytes = b""


@dataclass
class RunnerStats:
    restarts: int = 0
    crashes: collections.Counter = field(default_factory=collections.Counter)


class SubprocessRunner:
    def __init__(self, workers: int = 1, timeout: float = 300.0, stderr_path: Path | None = None):
        if workers < 1:
            raise ValueError("need at least one worker")
        self.workers = workers
        self.timeout = timeout
        self.stderr_path = stderr_path
        self.stats = RunnerStats()
        self._slots = [_Slot() for _ in range(workers)]
        self._sel = selectors.DefaultSelector()
        self._results: dict[str, list] = {}
        self._stderr = None

    # -- processes -------------------------------------------------------------------------------
    def _start(self, slot: _Slot) -> None:
        if self._stderr is None:
            self._stderr = open(self.stderr_path, "ab") if self.stderr_path else subprocess.DEVNULL
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        slot.proc = subprocess.Popen(
            [sys.executable, "-m", "fuzzer.sweep.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env, start_new_session=True,  # own process group: a kill reaches the forked child
        )
        slot.buf = b""
        self._sel.register(slot.proc.stdout, selectors.EVENT_READ, slot)

    def _stop(self, slot: _Slot, kill: bool) -> int | None:
        p = slot.proc
        if p is None:
            return None
        self._sel.unregister(p.stdout)
        if kill:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the worker's own group (its supervisor and child)
            except ProcessLookupError:
                pass
        else:
            try:
                p.stdin.close()
            except OSError:
                pass
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
        p.stdout.close()
        if p.stdin and not p.stdin.closed:
            try:
                p.stdin.close()
            except OSError:
                pass
        slot.proc = None
        return rc

    def close(self) -> None:
        for s in self._slots:
            self._stop(s, kill=s.job is not None)
        if self._stderr not in (None, subprocess.DEVNULL):
            self._stderr.close()
        self._stderr = None

    # -- scheduling -------------------------------------------------------------------------------
    def _submit(self, slot: _Slot, job: SweepJob, start: int) -> None:
        if slot.proc is None:
            self._start(slot)
        wire = dict(job.to_wire(), start=start)
        slot.job = job
        slot.started = slot.started if start else time.perf_counter()
        slot.deadline = time.monotonic() + self.timeout
        try:
            slot.proc.stdin.write((json.dumps(wire, allow_nan=False) + "\n").encode())
            slot.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child already died; the selector sees EOF and records the crash

    def run(self, jobs: Iterable[SweepJob]) -> Iterator[JobOutcome]:
        it = iter(jobs)
        resume: collections.deque[tuple[SweepJob, int, float]] = collections.deque()
        exhausted = False
        while True:
            for slot in self._slots:
                if slot.job is not None:
                    continue
                if resume:
                    job, start, started = resume.popleft()
                    slot.started = started
                    self._submit(slot, job, start)
                elif not exhausted:
                    job = next(it, None)
                    if job is None:
                        exhausted = True
                        continue
                    self._results[job.key] = []
                    slot.started = 0.0
                    self._submit(slot, job, 0)
            busy = [s for s in self._slots if s.job is not None]
            if not busy:
                return
            wait = max(0.0, min(s.deadline for s in busy) - time.monotonic())
            for sk, _ in self._sel.select(timeout=wait):
                slot = sk.data
                data = os.read(slot.proc.stdout.fileno(), 1 << 20)
                if not data:  # the supervisor itself is gone
                    rc = self._stop(slot, kill=False)
                    yield from self._died(slot, resume, "exit", rc)
                    continue
                slot.buf += data
                *lines, slot.buf = slot.buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        msg = json.loads(line)
                        if msg.get("died"):
                            yield from self._died(slot, resume, msg["signal"] and "signal", msg["exit_code"], msg["signal"])
                            continue
                        out = self._message(slot, msg)
                        if out is not None:
                            yield out
            now = time.monotonic()
            for slot in self._slots:
                if slot.job is not None and now >= slot.deadline:
                    self._stop(slot, kill=True)
                    yield from self._died(slot, resume, "timeout", None)

    def _message(self, slot: _Slot, msg: dict) -> JobOutcome | None:
        job = slot.job
        assert job is not None and msg["key"] == job.key, "worker answered for another job"
        if msg.get("done"):
            slot.job = None
            results = tuple(self._results.pop(job.key))
            assert len(results) == len(job.exports)
            return JobOutcome(job, results, time.perf_counter() - slot.started)
        assert msg["index"] == len(self._results[job.key]), "worker skipped an export variant"
        self._results[job.key].append(result_from_wire(msg["result"]))
        slot.deadline = time.monotonic() + self.timeout
        return None

    def _died(self, slot: _Slot, resume, how: str | None, rc: int | None, sig: str | None = None) -> Iterator[JobOutcome]:
        """The variant in flight on ``slot`` ended its process (``how``: "signal", "exit" or
        "timeout"): record it, and queue the job's remaining variants."""
        job = slot.job
        assert job is not None
        if how is None:
            how = "exit"
        if how == "exit" and rc == INTERNAL_ERROR_EXIT:
            raise RuntimeError(f"sweep worker hit an internal error on job {job.key} (traceback in the worker log)")
        self.stats.restarts += 1
        done = self._results[job.key]
        index = len(done)
        if how == "timeout":
            etype, head = "timeout", f"no answer within {self.timeout:.0f}s; worker killed"
        elif how == "signal":
            etype, head = f"signal {sig}", f"process killed by {sig}"
        else:
            etype, head = f"exit code {rc}", f"process exited with code {rc}"
        self.stats.crashes[etype] += 1
        ex = job.exports[index]
        done.append(crash_record(job, index, etype, f"{head} ({ex.exporter.value} opset {ex.opset})", rc))
        slot.job = None
        if len(done) < len(job.exports):
            resume.append((job, len(done), slot.started))
        else:
            self._results.pop(job.key)
            yield JobOutcome(job, tuple(done), time.perf_counter() - slot.started)
