"""The sweep driver: plan the jobs, skip the finished ones, run the rest (:mod:`.execute`: on the
shared worker pool, or in process), annotate differentials, record findings, log every result,
mark progress.

:func:`run_sweep` is a generator of :class:`JobOutcome` (annotated) the CLI consumes; it writes
``sweep.json`` (the config), ``results.jsonl`` (one line per export variant of every job) and
``progress.txt`` (finished job keys) under the sweep directory. ``record`` receives every finding:
a failing result, one with a differential attribution, one whose opset drifted, a process crash.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from fuzzer.case import CaseResult
from fuzzer.case.variants import annotate
from fuzzer.compare.stages import stage_of
from fuzzer.export.batch import BatchStats
from fuzzer.generate import make_inputs
from fuzzer.ir import Graph
from fuzzer.atomic import atomic_write_text, signals_deferred
from fuzzer.versions import changed_versions, stack_versions

from .errors import SweepStateError
from .plan import PlanStats, SweepConfig, SweepJob, enumerate_jobs
from .record import Progress
from .execute import JobOutcome

#: Where findings go: (graph, inputs, annotated result) -> bucket id (or None).
RecordFn = Callable[[Graph, Mapping[str, np.ndarray], CaseResult], "str | None"]
#: How jobs run: jobs -> one outcome per job (any order).
ExecuteFn = Callable[[list[SweepJob]], Iterator[JobOutcome]]


@dataclass
class SweepStats:
    started: float = field(default_factory=time.monotonic)
    jobs_total: int = 0
    jobs_done: int = 0
    jobs_resumed: int = 0  # finished by an earlier run of the same sweep
    jobs_selected: int = 0  # to run now (all remaining ones, or the --sample)
    cases: int = 0
    findings: int = 0
    verdicts: Counter = field(default_factory=Counter)  # (exporter, verdict) -> cases
    attributions: Counter = field(default_factory=Counter)  # (exporter, label) -> cases
    drift: Counter = field(default_factory=Counter)  # (exporter, requested, actual) -> cases
    plan: PlanStats = field(default_factory=PlanStats)
    seconds_plan: float = 0.0
    unconfirmed: Counter = field(default_factory=Counter)  # mismatches a confirmation replay did not confirm, by status (not filed)
    stopped_at_deadline: bool = False
    batching: BatchStats = field(default_factory=BatchStats)  # what the workers' dynamo batching did (run_on_pool)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def to_dict(self) -> dict:
        return {
            "elapsed": round(self.elapsed, 2), "plan_seconds": round(self.seconds_plan, 2), "jobs_total": self.jobs_total,
            "jobs_done": self.jobs_done, "jobs_resumed": self.jobs_resumed, "jobs_selected": self.jobs_selected, "cases": self.cases, "findings": self.findings,
            "verdicts": {f"{e}/{v}": n for (e, v), n in sorted(self.verdicts.items())},
            "attributions": {f"{e}/{lab}": n for (e, lab), n in sorted(self.attributions.items())},
            "opset_drift": {f"{e}/{a}->{b}": n for (e, a, b), n in sorted(self.drift.items(), key=str)},
            "plan_skipped": dict(self.plan.skipped.most_common()), "plan_candidates": self.plan.candidates,
            "unconfirmed_mismatches": dict(self.unconfirmed), "stopped_at_deadline": self.stopped_at_deadline,
            "batching": self.batching.to_dict(),
        }


def _lazy_plan(config: SweepConfig, stats: SweepStats, progress: Progress, sample: int | None) -> Iterator[SweepJob]:
    """The remaining jobs of a pair plan, probed as they are pulled. The candidates are listed
    (and counted) before this returns; ``jobs_total`` is then an upper bound (two input modes per
    candidate; a candidate whose consumer rejects the link in eager PyTorch drops out)."""
    it = enumerate_jobs(config, stats.plan)
    first = next(it, None)  # lists the candidates
    stats.jobs_total = stats.plan.candidates * len(config.modes)
    stats.jobs_resumed = len(progress.done)
    stats.jobs_selected = min(sample, stats.jobs_total - stats.jobs_resumed) if sample is not None else stats.jobs_total - stats.jobs_resumed
    rest = (j for j in itertools.chain([first] if first is not None else [], it) if j.key not in progress.done)
    return itertools.islice(rest, sample) if sample is not None else rest


def _sample(jobs: list[SweepJob], n: int) -> list[SweepJob]:
    """``n`` of ``jobs``, evenly spread, whole graphs: a graph drawn comes with its other input
    modes (they share its export), so a sample costs what the same jobs cost in the whole sweep."""
    graphs: dict[str, list[SweepJob]] = {}
    for j in jobs:
        graphs.setdefault(j.graph_key, []).append(j)
    groups = list(graphs.values())
    per = len(jobs) / len(groups)
    k = max(1, min(len(groups), round(n / per)))
    picked = [j for i in range(k) for j in groups[(i * len(groups)) // k]]
    return picked[:n] if len(picked) > n else picked


def _until(jobs: Iterable[SweepJob], deadline: float, stats: SweepStats) -> Iterator[SweepJob]:
    for j in jobs:
        if time.monotonic() >= deadline:
            stats.stopped_at_deadline = True
            return
        yield j


def is_finding(r: CaseResult) -> bool:
    v = r.verdict.value
    opts = r.options or {}
    return v not in ("pass", "eager_error") or bool(opts.get("differential")) or "opset_drift" in opts


def prepare_dir(out_dir: Path, config: SweepConfig, resume: bool) -> list[str]:
    """Create the sweep directory, or check that a resumed one was made with the same config.
    Returns the versions that changed since the directory was made (:func:`changed_versions`):
    jobs are keyed by content, so a resume runs the same plan, but on another stack."""
    meta = out_dir / "sweep.json"
    doc = {"config": config.to_dict(), "versions": stack_versions()}
    if out_dir.exists() and any(out_dir.iterdir()):
        if not resume:
            raise SweepStateError(f"{out_dir} already exists and is not empty; pass --resume to continue it, or pick a new --out")
        if not meta.exists():
            raise SweepStateError(f"{out_dir} has no sweep.json: not a sweep directory")
        try:
            old = json.loads(meta.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            raise SweepStateError(f"{meta}: not readable as JSON (a damaged sweep directory); start a new sweep with another --out") from None
        if not isinstance(old, dict):
            raise SweepStateError(f"{meta}: not a sweep description (a damaged sweep directory); start a new sweep with another --out")
        if old.get("config") != doc["config"]:
            raise SweepStateError(f"{out_dir} was made by a sweep with other options; resume it with the same options")
        return changed_versions(old.get("versions") if isinstance(old.get("versions"), dict) else {})
    out_dir.mkdir(parents=True, exist_ok=True)

    atomic_write_text(meta, json.dumps(doc, indent=1) + "\n")
    return []


def result_row(job: SweepJob, r: CaseResult, bucket: str | None, seconds: float, confirmation: dict | None = None) -> dict:
    opts = r.options or {}
    ex = opts.get("export", {})
    return {"confirmation": confirmation.get("status") if confirmation else None} | {
        "key": job.key, "ops": list(job.ops), "dtype": job.dtype, "shape": list(job.shape), "mode": job.mode,
        "exporter": r.exporter, "opset_requested": r.opset_requested, "opset": r.opset, "optimize": ex.get("optimize"),
        "verdict": r.verdict.value, "error_type": r.error_type, "error_head": r.error_head, "bucket": bucket,
        "differential": [a["summary"] for a in opts.get("differential", ())],
        "differential_labels": [a["label"] for a in opts.get("differential", ())],
        "opset_drift": opts.get("opset_drift"), "job_seconds": round(seconds, 4),
        "stage": stage_of(r).value if r.verdict.is_failure else None,
        **({"dynamic": {k: opts["dynamic"].get(k) for k in ("export", "failed")}} if opts.get("dynamic") else {}),
    }


def run_sweep(
    config: SweepConfig,
    out_dir: Path,
    execute: ExecuteFn,
    record: RecordFn,
    stats: SweepStats | None = None,
    on_planned: Callable[[SweepStats], None] | None = None,
    sample: int | None = None,
    deadline: float | None = None,
) -> Iterator[JobOutcome]:
    """Run the sweep (the directory must have been prepared with :func:`prepare_dir`).
    ``sample``: run only about that many of the remaining jobs, whole graphs evenly spread over the plan (a pair plan
    is in a shuffled order already: its first remaining jobs), to measure a subset and
    extrapolate. ``deadline`` (``time.monotonic()``): start no job after it; jobs under way
    finish (the rest is for ``--resume``). ``summary.json`` is written however the loop ends."""
    from fuzzer.workers.ort_helper import use_scratch

    stats = stats if stats is not None else SweepStats()
    t0 = time.perf_counter()
    shutil.rmtree(out_dir / ".tmp", ignore_errors=True)  # a killed run's scratch space
    use_scratch(out_dir / ".tmp")  # filing's ONNX Runtime runs (fuzzer.workers.ort_helper)
    progress = Progress(out_dir / "progress.txt")
    todo: Iterable[SweepJob]
    if config.pairs == "all":
        todo = _lazy_plan(config, stats, progress, sample)
    else:
        jobs = list(enumerate_jobs(config, stats.plan))
        todo = [j for j in jobs if j.key not in progress.done]
        stats.jobs_total = len(jobs)
        stats.jobs_resumed = len(jobs) - len(todo)
        if sample is not None and sample < len(todo):
            todo = _sample(todo, sample)
        stats.jobs_selected = len(todo)
    stats.seconds_plan = time.perf_counter() - t0
    if on_planned:
        on_planned(stats)
    if deadline is not None:
        todo = _until(todo, deadline, stats)
    baselines = config.baselines()
    try:
        with open(out_dir / "results.jsonl", "a", encoding="utf-8") as log:
            for outcome in execute(todo):
                with signals_deferred():  # a job's lines, its progress mark and the counters: all or none (resume re-runs it)
                    job = outcome.job
                    results = annotate(outcome.results, job.exports, baselines)
                    confirmations = outcome.confirmations or (None,) * len(results)
                    inputs = None
                    rows = []
                    for r, conf in zip(results, confirmations):
                        bucket = None
                        unconfirmed = conf is not None and conf.get("status") != "confirmed"
                        if unconfirmed:
                            stats.unconfirmed[conf.get("status")] += 1
                        if is_finding(r) and not unconfirmed:
                            if inputs is None:
                                inputs = make_inputs(job.graph, job.seed, job.mode)
                            bucket = record(job.graph, inputs, r)
                            stats.findings += 1
                        rows.append(result_row(job, r, bucket, outcome.seconds, conf))
                        stats.cases += 1
                        stats.verdicts[(r.exporter, r.verdict.value)] += 1
                        for a in (r.options or {}).get("differential", ()):
                            stats.attributions[(r.exporter, a["label"])] += 1
                        d = (r.options or {}).get("opset_drift")
                        if d:
                            stats.drift[(r.exporter, d["requested"], d["actual"])] += 1
                    log.write("".join(json.dumps(row, allow_nan=False, default=str) + "\n" for row in rows))
                    log.flush()
                    progress.mark(job.key)
                    stats.jobs_done += 1
                yield JobOutcome(job, tuple(results), outcome.seconds)
    finally:
        progress.close()
        use_scratch(None)
        shutil.rmtree(out_dir / ".tmp", ignore_errors=True)
        atomic_write_text(out_dir / "summary.json", json.dumps(stats.to_dict(), indent=1) + "\n")


__all__ = ["ExecuteFn", "RecordFn", "SweepStateError", "SweepStats", "is_finding", "prepare_dir", "run_sweep"]
