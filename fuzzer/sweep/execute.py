"""How a sweep's jobs run: through the shared worker pool (:class:`fuzzer.workers.WorkerPool`, the
same fork server, isolation, recycling and dynamo batching as campaigns), or in this process.

Jobs are sent ``batch`` graphs at a time (same export variants; every input mode of a graph in the
same request, as cases with their own mode) as one :class:`~fuzzer.workers.protocol.RunGraphs`
request with every export variant, so the dynamo variants of those graphs are exported in one
call each, and the input modes of one graph share that export. When a worker dies on a request, the request is split (per graph, then per variant,
:meth:`RunGraphs.split`) and the parts run first; the death of a request of one graph and one
variant is that variant's verdict (:func:`fuzzer.case.worker_death_result`).

Invariant: every job yields exactly one :class:`JobOutcome` with one result per export variant,
in the job's export order.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from fuzzer.case import CaseResult, load_inputs, run_graph, worker_death_result
from fuzzer.export.batch import BatchStats
from fuzzer.generate import make_inputs
from fuzzer.ir import graph_to_dict
from fuzzer.workers import WorkerPool
from fuzzer.workers.protocol import CaseSpec, RunGraphs

from .plan import SweepJob


@dataclass(frozen=True)
class JobOutcome:
    job: SweepJob
    results: tuple[CaseResult, ...]
    seconds: float
    #: per result, the mismatch confirmation (``Confirmation.to_dict()``) when the job asked for
    #: one (``job.confirm``) and the result is a mismatch; else None (or empty: none asked)
    confirmations: tuple[dict | None, ...] = ()


def run_in_process(jobs: Iterable[SweepJob]) -> Iterator[JobOutcome]:
    """Each job here, in order; no isolation (a case that kills the process ends the sweep)."""
    for job in jobs:
        t0 = time.perf_counter()
        inputs = load_inputs(Path(job.inputs), job.graph) if job.inputs else make_inputs(job.graph, job.seed, job.mode)
        results, confirmations = [], []
        for ex in job.exports:
            (r,) = run_graph(job.graph, inputs, [ex], seed=job.seed, input_mode=job.mode, options=job.context())
            results.append(r)
            confirmations.append(_confirm(job, inputs, r))
        yield JobOutcome(job, tuple(results), time.perf_counter() - t0, tuple(confirmations) if job.confirm else ())


def _confirm(job: SweepJob, inputs, r: CaseResult) -> dict | None:
    if not job.confirm or not r.verdict.is_failure:
        return None
    from fuzzer.case.confirm import MISMATCHES, confirm_mismatch

    return confirm_mismatch(job.graph, inputs, r).to_dict() if r.verdict in MISMATCHES else None


@dataclass
class _Part:
    """What a request in flight covers: jobs, and export indices of each."""

    jobs: list[SweepJob]
    exports: list[int]


def run_on_pool(jobs: Iterable[SweepJob], pool: WorkerPool, batch: int = 8, timeout: float = 300.0,
                batching: BatchStats | None = None) -> Iterator[JobOutcome]:
    """Run ``jobs`` on ``pool`` (see the module docstring). ``timeout``: seconds one export
    variant of one graph may take; a request of several gets the sum. ``batching``: where to add
    what the workers' dynamo batching did."""
    it = iter(jobs)
    buffers: dict[tuple, list[SweepJob]] = {}  # export variants -> jobs waiting for a batch
    queue: deque[tuple[RunGraphs, _Part]] = deque()
    inflight: dict[int, tuple[RunGraphs, _Part]] = {}
    table: dict[str, list[CaseResult | None]] = {}
    seconds: dict[str, float] = {}
    confirmed: dict[str, list[dict | None]] = {}
    exhausted = False

    def request(part: _Part) -> RunGraphs:
        job0 = part.jobs[0]
        cases = tuple(CaseSpec(graph_to_dict(j.graph), j.seed, j.inputs, j.context(), j.mode) for j in part.jobs)
        exports = tuple(job0.exports[k] for k in part.exports)
        return RunGraphs(cases, exports, job0.mode, return_model=True, max_batch=batch, timeout=timeout * len(cases) * len(exports),
                         confirm=any(j.confirm for j in part.jobs))

    def refill() -> bool:
        """Queue the next batch of one variant list (``batch`` graphs, all their input modes); False when the jobs are used up."""
        for job in it:
            table[job.key] = [None] * len(job.exports)
            confirmed[job.key] = [None] * len(job.exports)
            seconds[job.key] = 0.0
            group = job.exports
            buf = buffers.setdefault(group, [])
            graphs = {j.graph_key for j in buf}
            if len(graphs) >= batch and job.graph_key not in graphs:  # full: the next graph starts the next batch
                part = _Part(buf, list(range(len(job.exports))))
                queue.append((request(part), part))
                buffers[group] = [job]
                return True
            buf.append(job)
        for group in list(buffers):  # the rest, partial batches
            buf = buffers.pop(group)
            part = _Part(buf, list(range(len(buf[0].exports))))
            queue.append((request(part), part))
        return bool(queue)

    def finished(part: _Part) -> Iterator[JobOutcome]:
        for job in part.jobs:
            row = table.get(job.key)
            if row is not None and all(r is not None for r in row):
                del table[job.key]
                conf = tuple(confirmed.pop(job.key))
                yield JobOutcome(job, tuple(row), seconds.pop(job.key), conf if job.confirm else ())  # type: ignore[arg-type]

    while True:
        while pool.idle() > 0:
            if not queue and not exhausted:
                exhausted = not refill()
            if not queue:
                break
            req, part = queue.popleft()
            inflight[pool.submit(req).id] = (req, part)
        if not inflight and not queue and exhausted:
            return
        for c in pool.poll(0.05):
            req, part = inflight.pop(c.task.id)
            share = c.seconds / max(1, len(part.jobs))
            for job in part.jobs:
                seconds[job.key] += share
            if c.kind == "ok":
                if batching is not None:
                    batching.add(c.reply.batching)
                answers = iter(c.reply.cases)
                for job in part.jobs:
                    for k in part.exports:
                        a = next(answers)
                        table[job.key][k] = a.result
                        confirmed[job.key][k] = dict(a.confirmation) if a.confirmation else None
            else:
                parts = req.split()
                if parts is not None:
                    if len(part.jobs) > 1:
                        subs = [_Part([j], part.exports) for j in part.jobs]
                    else:
                        subs = [_Part(part.jobs, [k]) for k in part.exports]
                    queue.extendleft(reversed(list(zip(parts, subs))))
                    continue
                (job,), (k,) = part.jobs, part.exports
                ex = job.exports[k]
                table[job.key][k] = worker_death_result(c.kind, c.detail, c.seconds, ex, seed=job.seed, input_mode=job.mode, graph=job.graph,
                                                        options=job.context())
            yield from finished(part)
