"""The campaign: seeds -> cases in isolated worker processes -> records, streamed to observers.

A campaign directory holds everything needed to watch, stop and resume it::

    campaign.json    configuration and versions (written once)
    results.jsonl    one line per finished case (the source of truth for resume)
    stats.jsonl      a time series sampled every few seconds (``onnxfuzz stats``)
    cases/           kept non-pass cases (the first few per bucket, and every new raw signature)
    findings/        the findings store: one reproduction per bug (filed raw at once, then
                     minimized in the background), SQLite index
    .tmp/            scratch space of the campaign's processes (cleared when a run starts)
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
flushed) only after the case's directory was moved into place and the case was filed in the
store, so after ``kill -9`` a resumed campaign repeats no recorded seed, skips none, keeps every
kept case exactly once, and has every bug seen in the store (raw or minimized).

Time: the budget is campaign time (:class:`~fuzzer.campaign.stats.CampaignStats`): it starts when
the pool can run cases, not at start-up, and stops with the loop; the end of a campaign waits for
no minimization (raw findings are minimized by the next run).
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Iterator, Protocol

from fuzzer.atomic import atomic_write_text
from fuzzer.case import CaseResult, save_case, worker_death_result
from fuzzer.case.variants import annotate
from fuzzer.generate import make_inputs
from fuzzer.sweep.plan import SweepConfig
from fuzzer.versions import stack_versions
from fuzzer.workers import Completion, WorkerPool
from fuzzer.workers.protocol import RebuildReply, RunMutant, RunReply

from .arms import op_job_key
from .config import RECYCLE_AFTER, CampaignConfig, CampaignError, load_config, with_budget  # noqa: F401  (re-exported)
from .feedback import Feedback
from .known import REFRESH_SECONDS, KnownTriggers
from .ledger import Ledger
from .recorder import FindingRecorder
from .rescue import Rescue
from .scheduler import Pick, Scheduler
from .stats import STOP_DISK_LOW, CampaignStats, read_results, recorded_elapsed, restore_stats


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
    pool_factory=None,
    remote_minimize=None,
    torchscript_batch: int = 1,
) -> Iterator[CaseResult]:
    """Run until the budget is spent, the disk floor is reached, or the consumer stops.

    ``stats`` (created if not given) is updated in place, so the caller can read it after an
    interruption; ``summary.json`` is written however the loop ends. ``inject`` maps a case key,
    (exporter, seed) or (exporter, "m<slot>") for a mutant, to a misbehaviour for the worker
    (tests only; needs ONNXFUZZ_TEST_HOOKS=1). ``pool_factory(config, log_dir, env)`` makes the
    pool instead of a :class:`WorkerPool` of this machine, and ``remote_minimize`` minimizes
    elsewhere (both: a Ray cluster, :mod:`fuzzer.campaign.cluster`); ``torchscript_batch``:
    TorchScript seeds per request (see :class:`~.scheduler.Scheduler`). With feedback on, the corpus keys its decisions on
    ``stats.coverage`` as given (e.g. restored on resume) plus what this run exports.
    """
    observers = observers or []
    stats = stats if stats is not None else CampaignStats()
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = out_dir / "campaign.json"
    results: list[dict] = []
    if resume:
        results = read_results(out_dir / "results.jsonl")
        done = restore_stats(stats, results)
        stats.elapsed_before = recorded_elapsed(out_dir, results)  # the campaign clock goes on
    else:
        if meta.exists():
            raise CampaignError(f"{out_dir} already holds a campaign; use --resume {out_dir} or pick a new --out")
        atomic_write_text(meta, json.dumps({"config": config.to_dict(), "versions": stack_versions()}, indent=1) + "\n")
        done = set()
    shutil.rmtree(out_dir / "incoming", ignore_errors=True)
    shutil.rmtree(out_dir / ".tmp", ignore_errors=True)  # a killed run's scratch space
    from fuzzer.workers.ort_helper import use_scratch

    use_scratch(out_dir / ".tmp" / "filing")  # filing's ONNX Runtime runs (fuzzer.workers.ort_helper)
    try:
        yield from _Loop(config, out_dir, observers, stats, done, pool_env, inject or {}, results, pool_factory, remote_minimize, torchscript_batch).run()
    except KeyboardInterrupt:
        stats.stop_reason = "interrupted (Ctrl-C)"
        raise
    finally:
        stats.stop_clock()
        atomic_write_text(out_dir / "summary.json", json.dumps(stats.to_dict(), indent=1) + "\n")
        use_scratch(None)
        shutil.rmtree(out_dir / ".tmp", ignore_errors=True)
        shutil.rmtree(out_dir / "incoming" / ".cutting", ignore_errors=True)  # cut graphs in flight (fuzzer.case.cut): the workers are gone


class _Loop:
    """One run of a campaign: the pool, and the scheduler, rescue and ledger around it."""

    def __init__(self, config: CampaignConfig, out_dir: Path, observers, stats: CampaignStats, done: set, pool_env, inject,
                 results: list[dict] | None = None, pool_factory=None, remote_minimize=None, torchscript_batch: int = 1):
        self.config = config
        self.results = results or []  # an earlier run's lines (resume)
        self.out = out_dir
        self.observers = observers
        self.stats = stats
        self.done = done
        self.pool_env = pool_env
        self.pool_factory = pool_factory
        self.feedback = None
        if config.feedback:
            try:
                self.feedback = Feedback(config.seed, config.mutate_share, config.generator, out_dir / "corpus", config.corpus_size, stats.coverage)
            except ValueError as e:  # an unreadable corpus index
                raise CampaignError(str(e)) from None
            stats.corpus = len(self.feedback.corpus)
        self.known = None  # the known one-operator triggers (fuzzer.campaign.known), when avoidance or cutting is on
        if config.avoid or config.cut:
            self.known = KnownTriggers(out_dir, out_dir / "findings", config.known, tuple(e.value for e in config.exporters), config.opset, config.explore)
        self.scheduler = Scheduler(config, done, self.feedback, out_dir / "incoming", inject, self.known, torchscript_batch)
        self.scheduler.restore_credit(results or [])
        self.rescue = Rescue(config, out_dir, self.scheduler.known_path)
        self.known_refreshed = (-1.0, -1)  # (monotonic time, minimizations finished) of the last refresh
        self.inflight: dict[int, Pick] = {}  # task id -> what the request covers
        self.op_rows: dict[tuple[str, int], list] = {}  # op job -> its variants' results so far
        self.op_confirmations: dict[tuple[str, int, int], dict] = {}  # (exporter, op job, variant) -> mismatch confirmation
        self.op_baselines = {e.exporter: SweepConfig(exporters=(e.exporter,)).baselines() for e in config.exports()}
        self.deadline: float | None = None  # set when the pool is ready (campaign time starts then)
        self.last_sample = 0.0
        self.last_disk_check = 0.0
        self.recorder = FindingRecorder(out_dir / "findings", {e.exporter.value: e for e in config.exports()}, config.input_mode,
                                        config.minimize_seconds or None, config.case_timeout, scratch=out_dir / ".tmp" / "minimizer",
                                        remote=remote_minimize)
        stats.findings = self.recorder.stats

    def run(self) -> Iterator[CaseResult]:
        try:
            yield from self._run()
        finally:
            # however the run ends, nothing waits for the minimizer: every bug is in the store
            # already (raw or minimized), and a resumed campaign minimizes the raw ones
            self.stats.stop_clock()
            self.stats.minimizing = self.recorder.pending
            self.recorder.close()
            if self.feedback is not None:
                self.feedback.close()

    def _run(self) -> Iterator[CaseResult]:
        cfg = self.config
        self.recorder.refile(self.out / "cases", self.results)
        self.recorder.requeue()
        shutil.rmtree(self.out / ".rebuild", ignore_errors=True)  # left by a killed run
        scratch = self.out / ".tmp" / "workers"
        scratch.mkdir(parents=True, exist_ok=True)
        env = {"TMPDIR": str(scratch), **(self.pool_env or {})}  # whatever the workers' libraries write: under DIR
        pool_cm = (self.pool_factory(cfg, self.out / "workers", env) if self.pool_factory is not None else
                   WorkerPool(cfg.workers, cfg.case_timeout, cfg.memory_limit_mb, self.out / "workers", env, recycle_after=cfg.recycle_after))
        with pool_cm as pool, \
                open(self.out / "results.jsonl", "a", encoding="utf-8") as log:
            self.pool = pool
            self.ledger = Ledger(cfg, self.out, self.stats, self.recorder, self.feedback, self.done, log)
            self._wait_ready(pool)
            exhausted = False
            while True:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self.stats.stop_reason = self.stats.stop_reason or "time budget spent"
                    break
                if self._disk_low():
                    break
                self._refresh_known()
                exhausted = self._fill(pool, exhausted)
                if exhausted and pool.busy() == 0 and not self.rescue.pending:
                    self.stats.stop_reason = "all cases done"
                    break
                yield from self._step(pool, 0.05)
            # cases that killed their worker and are not rebuilt yet: rebuilt by the pool still
            # open (bounded by the case timeout), never lost; anything else in flight is abandoned
            yield from self._drain_dead(pool)
            self.stats.stop_clock()  # campaign time ends here: closing the pool is not part of it
            self._maybe_sample(force=True)

    def _refresh_known(self) -> None:
        """Re-learn the known triggers when a minimization finished, or every REFRESH_SECONDS."""
        if self.known is None:
            return
        now, done = time.monotonic(), self.recorder.stats.minimized
        last_t, last_done = self.known_refreshed
        if done == last_done and now - last_t < REFRESH_SECONDS:
            return
        self.known_refreshed = (now, done)
        self.known.refresh(self.scheduler.slots_handed())
        self.stats.known_triggers = self.known.size
        self.stats.op_jobs_skipped = sum(self.scheduler.ops_skipped.values())
        self.stats.op_variants_dropped = sum(self.scheduler.variants_dropped.values())
        self.stats.op_rehit_skipped = sum(self.scheduler.rehit_skipped.values())

    def _wait_ready(self, pool: WorkerPool) -> None:
        """Wait until a worker can take a case, then start the campaign clock and the deadline:
        start-up (imports, the fork server) is not charged to the budget."""
        while pool.idle() == 0:
            self._publish(pool)
            pool.poll(0.05)
        self.stats.start_clock()
        if self.config.seconds is not None:
            self.deadline = time.monotonic() + max(0.0, self.config.seconds - self.stats.elapsed_before)

    def _fill(self, pool: WorkerPool, exhausted: bool) -> bool:
        """Give every idle worker a task: rebuilds of dead cases first (a few ms), then the parts
        of a split request, then new cases. Returns whether the case budget is handed out."""
        while self.rescue.dead and pool.idle() > 0:
            d = self.rescue.dead.popleft()
            self.rescue.rebuilding[pool.submit(self.rescue.rebuild_request(d)).id] = d
        while pool.idle() > 0:
            if self.rescue.retry:  # parts of a request whose worker died: one by one, to find the culprit
                pick = self.rescue.retry.popleft()
            elif exhausted:
                break
            else:
                running = Counter(self.stats.arm_seconds)
                for _, task, secs in pool.states():
                    if task is not None and task.id in self.inflight:
                        running[self.inflight[task.id].arm] += secs
                pick = self.scheduler.next_request(running, self.stats.arm_buckets)
                if pick is None:
                    return True
            self.inflight[pool.submit(pick.request).id] = pick
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
        node_stats = getattr(pool, "node_stats", None)  # a cluster's pool: per node
        if node_stats is not None:
            self.stats.nodes = node_stats()
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
        pick = self.inflight.pop(c.task.id)
        exporter, keys, req = pick.exporter, pick.keys, c.task.request
        buckets_before = len(self.stats.buckets)
        self.stats.arm_seconds[pick.arm] += c.seconds
        try:
            return self._account_pick(c, pick, exporter, keys, req)
        finally:
            self.stats.arm_buckets[pick.arm] += len(self.stats.buckets) - buckets_before

    def _account_pick(self, c: Completion, pick: Pick, exporter: str, keys: list, req) -> list[CaseResult]:
        reply = c.reply if c.kind == "ok" else None
        if isinstance(reply, RunReply):
            self.stats.batching.add(reply.batching)
        if isinstance(reply, RunReply) and reply.generation:
            g = reply.generation
            self.stats.generation.attempts += g["attempts"]
            self.stats.generation.accepted += g["accepted"]
            self.stats.generation.rejected.update(g["rejected"])
            self.stats.generation.explored += g.get("explored", 0)
        mutant = None
        if isinstance(req, RunMutant):
            mutant = {"slot": req.slot, "parent": req.parent_key, "donor": req.donor_key, "mutation_seed": req.mutation_seed, "mutations": []}
        if pick.jobs:
            return self._account_ops(c, pick)
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
        self.rescue.on_death(c, pick, mutant, self.scheduler.seeds_request_one)
        return []

    def _known_bucket(self, r: CaseResult) -> bool:
        """Whether failing result ``r`` falls in a coarse bucket the campaign has counted already."""
        if not r.verdict.is_failure:
            return False
        from fuzzer.triage.buckets import bucket_key

        b = bucket_key(r)
        return b in self.stats.bucket_counter(b)

    def _account_ops(self, c: Completion, pick: Pick) -> list[CaseResult]:
        """Op jobs: collect each job's variants (a split request returns them in parts); once a
        job has all of them, annotate the differentials and account each variant's case."""
        req = c.task.request
        if c.kind == "ok":
            answers = iter(c.reply.cases)
            for i, job in pick.jobs:
                row = self.op_rows.setdefault((pick.exporter, i), [None] * len(job.exports))
                for ex in req.exports:
                    answer = next(answers)
                    row[job.exports.index(ex)] = answer.result
                    if answer.confirmation is not None:
                        self.op_confirmations[(pick.exporter, i, job.exports.index(ex))] = answer.confirmation
        elif not self.rescue.on_death(c, pick, None, None):  # one job, one variant: its death is its result
            ((i, job),), (ex,) = pick.jobs, req.exports
            row = self.op_rows.setdefault((pick.exporter, i), [None] * len(job.exports))
            row[job.exports.index(ex)] = worker_death_result(c.kind, c.detail, c.seconds, ex, seed=job.seed, input_mode=job.mode,
                                                             graph=job.graph, options=job.context())
        else:
            self.stats.exporter_seconds[pick.exporter] += c.seconds  # its parts run next
            return []
        out = []
        share = c.seconds / max(1, len(pick.jobs) * len(req.exports))
        for i, job in pick.jobs:
            row = self.op_rows.get((pick.exporter, i))
            if row is None or any(r is None for r in row):
                continue
            del self.op_rows[(pick.exporter, i)]
            inputs = None
            annotated = annotate(row, job.exports, self.op_baselines[job.exports[0].exporter])
            self.scheduler.observe_op(pick.exporter, job, annotated, self._known_bucket)
            for v, r in enumerate(annotated):
                case_dir = None
                if r.verdict.is_failure or (r.options or {}).get("differential"):
                    inputs = inputs if inputs is not None else make_inputs(job.graph, job.seed, job.mode)
                    name = (f"o{i}-{r.exporter}-{r.opset_requested}{'' if r.options['export']['optimize'] else '-noopt'}"
                            f"{'-dynamic' if r.options['export'].get('dynamic') else ''}-{r.verdict.value}")
                    case_dir = str(save_case(self.out / "incoming", job.graph, inputs, r, name))
                conf = self.op_confirmations.pop((pick.exporter, i, v), None)
                out.append(self.ledger.account(pick.exporter, op_job_key(i), r, case_dir, conf, share, op_job=i))
        return out

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
            self.stats.stop_reason = f"{STOP_DISK_LOW}: {free_mb} MiB free, floor is {self.config.min_free_mb} MiB (--min-free-mb)"
            return True
        return False


__all__ = ["CampaignConfig", "CampaignError", "CampaignStats", "Observer", "load_config", "read_results", "restore_stats", "run_campaign", "with_budget"]
