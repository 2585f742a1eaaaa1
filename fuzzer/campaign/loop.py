"""The campaign: seeds -> cases in isolated worker processes -> records, streamed to observers.

A campaign directory holds everything needed to watch, stop and resume it::

    campaign.json    configuration and versions (written once)
    results.jsonl    one line per finished case (the source of truth for resume)
    stats.jsonl      a time series sampled every few seconds (``onnxfuzz stats``)
    cases/           kept non-pass cases (the first few per bucket, and every new raw signature)
    findings/        the findings store: one minimized reproduction per bug, SQLite index
    incoming/        cases written by workers, not yet accounted (cleared on resume)
    workers/         worker logs (what exporters and runtimes printed)
    corpus/          with feedback: the corpus (graph JSON files and _corpus.json, the index)
    summary.json     the final counters

Seeds: graph ``i`` is seed ``config.seed + i`` for every exporter; exporters share worker time
equally (:mod:`.scheduler`). A request whose worker died is split or rebuilt (:mod:`.rescue`);
every finished case is accounted once (:mod:`.ledger`).

With ``feedback`` on, a share of each exporter's cases are mutants of a corpus of graphs that
reached new coverage (see :mod:`fuzzer.campaign.feedback`; the corpus lives in ``corpus/``).

Resume invariant: a case is done iff its line is in results.jsonl. A line is appended (and
flushed) only after the case's directory was moved into place, so after ``kill -9`` a resumed
campaign repeats no recorded seed, skips none, and keeps every kept case exactly once.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Iterator, Protocol

from fuzzer.atomic import atomic_write_text
from fuzzer.case import CaseResult
from fuzzer.versions import stack_versions
from fuzzer.workers import Completion, WorkerPool
from fuzzer.workers.protocol import RebuildReply, RunMutant, RunReply

from .config import RECYCLE_AFTER, CampaignConfig, CampaignError, load_config, with_budget  # noqa: F401  (re-exported)
from .feedback import Feedback
from .ledger import Ledger
from .recorder import FindingRecorder
from .rescue import Rescue
from .scheduler import Scheduler
from .stats import CampaignStats, read_results, restore_stats


class Observer(Protocol):
    def on_result(self, result: CaseResult, stats: CampaignStats) -> None: ...


def run_campaign(
    config: CampaignConfig,
    out_dir: Path,
    observers: list[Observer] | None = None,
    stats: CampaignStats | None = None,
    *,
    resume: bool = False,
    pool_env: dict[str, str] | None = None,
    inject: dict[tuple[str, int | str], str] | None = None,
) -> Iterator[CaseResult]:
    """Run until the budget is spent, the disk floor is reached, or the consumer stops.

    ``stats`` (created if not given) is updated in place, so the caller can read it after an
    interruption; ``summary.json`` is written however the loop ends. ``inject`` maps a case key,
    (exporter, seed) or (exporter, "m<slot>") for a mutant, to a misbehaviour for the worker
    (tests only; needs ONNXFUZZ_TEST_HOOKS=1). With feedback on, the corpus keys its decisions on
    ``stats.coverage`` as given (e.g. restored on resume) plus what this run exports.
    """
    observers = observers or []
    stats = stats if stats is not None else CampaignStats()
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = out_dir / "campaign.json"
    if resume:
        done = restore_stats(stats, read_results(out_dir / "results.jsonl"))
    else:
        if meta.exists():
            raise CampaignError(f"{out_dir} already holds a campaign; use --resume {out_dir} or pick a new --out")
        atomic_write_text(meta, json.dumps({"config": config.to_dict(), "versions": stack_versions()}, indent=1) + "\n")
        done = set()
    shutil.rmtree(out_dir / "incoming", ignore_errors=True)
    try:
        yield from _Loop(config, out_dir, observers, stats, done, pool_env, inject or {}).run()
    except KeyboardInterrupt:
        stats.stop_reason = "interrupted (Ctrl-C)"
        raise
    finally:
        atomic_write_text(out_dir / "summary.json", json.dumps(stats.to_dict(), indent=1) + "\n")


class _Loop:
    """One run of a campaign: the pool, and the scheduler, rescue and ledger around it."""

    def __init__(self, config: CampaignConfig, out_dir: Path, observers, stats: CampaignStats, done: set, pool_env, inject):
        self.config = config
        self.out = out_dir
        self.observers = observers
        self.stats = stats
        self.done = done
        self.pool_env = pool_env
        self.feedback = None
        if config.feedback:
            try:
                self.feedback = Feedback(config.seed, config.mutate_share, config.generator, out_dir / "corpus", config.corpus_size, stats.coverage)
            except ValueError as e:  # an unreadable corpus index
                raise CampaignError(str(e)) from None
            stats.corpus = len(self.feedback.corpus)
        self.scheduler = Scheduler(config, done, self.feedback, out_dir / "incoming", inject)
        self.rescue = Rescue(config, out_dir)
        self.inflight: dict[int, tuple[str, list]] = {}  # task id -> (exporter, case keys)
        self.deadline = None if config.seconds is None else time.monotonic() + max(0.0, config.seconds - stats.elapsed_before)
        self.last_sample = 0.0
        self.last_disk_check = 0.0
        self.recorder = FindingRecorder(out_dir / "findings", {e.exporter.value: e for e in config.exports()}, config.input_mode,
                                        config.minimize_seconds or None, config.case_timeout)
        stats.findings = self.recorder.stats

    def run(self) -> Iterator[CaseResult]:
        finished = False
        try:
            yield from self._run()
            finished = True
        finally:
            # at a normal end give pending minimizations a while; on Ctrl-C or an error, none
            # (their cases are kept on disk and re-filed by --resume)
            self.recorder.close(wait=30.0 if finished else 0.0)
            self.stats.minimizing = self.recorder.pending
            if self.feedback is not None:
                self.feedback.close()

    def _run(self) -> Iterator[CaseResult]:
        cfg = self.config
        self.recorder.refile(self.out / "cases")
        shutil.rmtree(self.out / ".rebuild", ignore_errors=True)  # left by a killed run
        with WorkerPool(cfg.workers, cfg.case_timeout, cfg.memory_limit_mb, self.out / "workers", self.pool_env,
                        recycle_after=cfg.recycle_after) as pool, \
                open(self.out / "results.jsonl", "a", encoding="utf-8") as log:
            self.pool = pool
            self.ledger = Ledger(cfg, self.out, self.stats, self.recorder, self.feedback, self.done, log)
            exhausted = False
            while True:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self.stats.stop_reason = self.stats.stop_reason or "time budget spent"
                    break
                if self._disk_low():
                    break
                exhausted = self._fill(pool, exhausted)
                if exhausted and pool.busy() == 0 and not self.rescue.pending:
                    self.stats.stop_reason = "all cases done"
                    break
                yield from self._step(pool, 0.05)
            # cases that killed their worker and are not rebuilt yet: rebuilt by the pool still
            # open (bounded by the case timeout), never lost; anything else in flight is abandoned
            yield from self._drain_dead(pool)
            self._maybe_sample(force=True)

    def _fill(self, pool: WorkerPool, exhausted: bool) -> bool:
        """Give every idle worker a task: rebuilds of dead cases first (a few ms), then the parts
        of a split request, then new cases. Returns whether the case budget is handed out."""
        while self.rescue.dead and pool.idle() > 0:
            d = self.rescue.dead.popleft()
            self.rescue.rebuilding[pool.submit(self.rescue.rebuild_request(d)).id] = d
        while pool.idle() > 0:
            if self.rescue.retry:  # seeds of a batch whose worker died: one by one, to find the culprit
                req, exporter, keys = self.rescue.retry.popleft()
            elif exhausted:
                break
            else:
                running = Counter(self.stats.exporter_seconds)
                for _, task, secs in pool.states():
                    if task is not None and task.id in self.inflight:
                        running[self.inflight[task.id][0]] += secs
                nxt = self.scheduler.next_request(running)
                if nxt is None:
                    return True
                req, exporter, keys = nxt
            self.inflight[pool.submit(req).id] = (exporter, keys)
        return exhausted

    def _step(self, pool: WorkerPool, wait: float) -> Iterator[CaseResult]:
        """Publish the status, wait up to ``wait`` s for completions, account them."""
        self._publish(pool)
        completions = pool.poll(wait)
        self.stats.restarts, self.stats.recycled = pool.restarts, pool.recycled
        for c in completions:
            for r in self._account(c):
                for o in self.observers:
                    o.on_result(r, self.stats)
                yield r
        self._maybe_sample()

    def _publish(self, pool: WorkerPool) -> None:
        self.stats.minimizing = self.recorder.pending
        self.stats.workers = [(st, t.request.label() if t else "", secs) for st, t, secs in pool.states()]
        self.stats.restarts, self.stats.recycled = pool.restarts, pool.recycled
        for o in self.observers:
            tick = getattr(o, "on_tick", None)
            if tick is not None:
                tick(self.stats)

    def _drain_dead(self, pool: WorkerPool) -> Iterator[CaseResult]:
        limit = time.monotonic() + self.config.case_timeout + 30
        while (self.rescue.dead or self.rescue.rebuilding) and time.monotonic() < limit:
            while self.rescue.dead and pool.idle() > 0:
                d = self.rescue.dead.popleft()
                self.rescue.rebuilding[pool.submit(self.rescue.rebuild_request(d)).id] = d
            self.rescue.retry.clear()  # a split batch's other seeds were never run: not recorded, rerun on resume
            yield from self._step(pool, 0.05)
        for d in [*self.rescue.rebuilding.values(), *self.rescue.dead]:  # not rebuilt in time: recorded without the graph
            yield self._record(self.ledger.account(d.exporter, d.key, *self.rescue.finish(d, None), None, d.completion.seconds, None, d.mutant))
        self.rescue.rebuilding.clear()
        self.rescue.dead.clear()

    def _record(self, r: CaseResult) -> CaseResult:
        for o in self.observers:
            o.on_result(r, self.stats)
        return r

    def _account(self, c: Completion) -> list[CaseResult]:
        if c.task.id in self.rescue.rebuilding:  # a dead worker's case is rebuilt (or its rebuild died too)
            d = self.rescue.rebuilding.pop(c.task.id)
            reply = c.reply if c.kind == "ok" and isinstance(c.reply, RebuildReply) else None
            return [self.ledger.account(d.exporter, d.key, *self.rescue.finish(d, reply), None, d.completion.seconds, None, d.mutant)]
        if c.task.id not in self.inflight:  # a request abandoned by the end of the run
            return []
        exporter, keys = self.inflight.pop(c.task.id)
        req = c.task.request
        reply = c.reply if c.kind == "ok" else None
        if isinstance(reply, RunReply) and reply.generation:
            g = reply.generation
            self.stats.generation.attempts += g["attempts"]
            self.stats.generation.accepted += g["accepted"]
            self.stats.generation.rejected.update(g["rejected"])
        mutant = None
        if isinstance(req, RunMutant):
            mutant = {"slot": req.slot, "parent": req.parent_key, "donor": req.donor_key, "mutation_seed": req.mutation_seed, "mutations": []}
        if isinstance(reply, RunReply):
            share = c.seconds / max(1, len(reply.cases))  # a batch: worker time is shared equally
            out = []
            for key, e in zip(keys, reply.cases):
                if mutant is not None and e.graph is not None:
                    mutant["mutations"] = e.graph.get("meta", {}).get("mutations", [])
                out.append(self.ledger.account(exporter, key, e.result, e.case_dir, e.confirmation, share, e.graph, mutant))
            return out
        if len(keys) > 1:
            self.stats.exporter_seconds[exporter] += c.seconds  # nothing recorded: every seed runs alone next
        self.rescue.on_death(c, exporter, keys, mutant, self.scheduler.seeds_request_one)
        return []

    def _maybe_sample(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_sample < self.config.stats_period:
            return
        self.last_sample = now
        with open(self.out / "stats.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(self.stats.sample()) + "\n")

    def _disk_low(self) -> bool:
        now = time.monotonic()
        if now - self.last_disk_check < 2.0:
            return False
        self.last_disk_check = now
        free_mb = shutil.disk_usage(self.out).free // (1024 * 1024)
        if free_mb < self.config.min_free_mb:
            self.stats.stop_reason = f"disk space low: {free_mb} MiB free, floor is {self.config.min_free_mb} MiB (--min-free-mb)"
            return True
        return False


__all__ = ["CampaignConfig", "CampaignError", "CampaignStats", "Observer", "load_config", "read_results", "restore_stats", "run_campaign", "with_budget"]
