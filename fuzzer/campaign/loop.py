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

Seeds: graph ``i`` is seed ``config.seed + i`` for every exporter. Exporters share time equally:
the next case goes to the exporter that has used the least worker time (finished plus in
flight), so a slow exporter (dynamo) never starves a fast one (TorchScript), and the graphs the
slow one reaches were also run by the fast one.

With ``feedback`` on, a share of each exporter's cases are mutants of a corpus of graphs that
reached new coverage (see :mod:`fuzzer.campaign.feedback`; the corpus lives in ``corpus/``).

Resume invariant: a case is done iff its line is in results.jsonl. A line is appended (and
flushed) only after the case's directory was moved into place, so after ``kill -9`` a resumed
campaign repeats no recorded seed, skips none, and keeps every kept case exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Protocol

from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GenerationStats, GeneratorOptions
from fuzzer.generate.corpus import FEEDBACK_SHARE
from fuzzer.store_util import atomic_write_text
from fuzzer.versions import stack_versions

from .artifacts import load_inputs, mutant_dirname, save_case
from fuzzer.ir import Graph, load_graph
from .buckets import rough_key
from .feedback import Feedback, mutant_key
from .case import CaseResult
from .pool import Completion, WorkerPool
from .recorder import FindingRecorder


RECYCLE_AFTER = 2000


@dataclass(frozen=True)
class CampaignConfig:
    exporters: tuple[Exporter, ...] = (Exporter.TORCHSCRIPT, Exporter.DYNAMO)
    opset: int | None = None
    seconds: float | None = 60.0
    cases: int | None = None  # graphs per exporter (graph i is seed+i for every exporter)
    seed: int = 0
    input_mode: str = "normal"
    generator: GeneratorOptions = field(default_factory=GeneratorOptions)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    case_timeout: float = 60.0
    memory_limit_mb: int = 4096
    # replace each worker after this many tasks (None: only above 90% of the memory limit). A worker
    # forked from the fork server costs ~10 ms plus a slower first case (TorchScript +60 ms, a dynamo
    # batch +1 s), so a worker's life is bounded cheaply: torch's caches and allocator keep growing
    # a long-lived worker's private memory by ~0.3-0.8 MiB per 1,000 cases (scripts/memory_soak.py)
    recycle_after: int | None = RECYCLE_AFTER
    keep_per_bucket: int = 5  # raw cases kept on disk per bucket; the rest are counted
    min_free_mb: int = 1024  # stop cleanly when the disk has less free space than this
    stats_period: float = 5.0
    minimize_seconds: float | None = 60.0  # budget per new bug; None: file raw cases unminimized
    dynamo_batch: int = 8  # dynamo cases exported together in one call (1: no batching)
    feedback: bool = False  # keep a corpus of graphs that reached new coverage, and mutate it (off: measured no gain, README)
    mutate_share: float = FEEDBACK_SHARE  # with feedback: share of cases that are mutants
    corpus_size: int = 500  # with feedback: most graphs the corpus holds

    def exports(self) -> list[ExportOptions]:
        return [ExportOptions(e, self.opset) for e in self.exporters]

    def to_dict(self) -> dict:
        return {
            "exporters": [e.value for e in self.exporters], "opset": self.opset, "seconds": self.seconds,
            "cases": self.cases, "seed": self.seed, "input_mode": self.input_mode,
            "generator": {k: list(v) if isinstance(v, tuple) else v for k, v in self.generator.to_dict().items()},
            "workers": self.workers, "case_timeout": self.case_timeout, "memory_limit_mb": self.memory_limit_mb,
            "recycle_after": self.recycle_after, "keep_per_bucket": self.keep_per_bucket, "min_free_mb": self.min_free_mb, "stats_period": self.stats_period,
            "minimize_seconds": self.minimize_seconds, "dynamo_batch": self.dynamo_batch,
            "feedback": self.feedback, "mutate_share": self.mutate_share, "corpus_size": self.corpus_size,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CampaignConfig":
        gen = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["generator"].items()})
        keys = {"opset", "seconds", "cases", "seed", "input_mode", "workers", "case_timeout", "memory_limit_mb", "recycle_after", "keep_per_bucket", "min_free_mb", "stats_period", "minimize_seconds", "dynamo_batch", "feedback", "mutate_share", "corpus_size"}
        return cls(exporters=tuple(Exporter(e) for e in d["exporters"]), generator=gen, **{k: d[k] for k in keys if k in d})


class CampaignError(Exception):
    """The campaign directory cannot be used (one line for the user)."""


class Observer(Protocol):
    def on_result(self, result: CaseResult, stats: "CampaignStats") -> None: ...


@dataclass
class CampaignStats:
    """Counters of a campaign; ``elapsed`` includes the time of earlier runs when resumed."""

    started: float = field(default_factory=time.monotonic)
    elapsed_before: float = 0.0
    cases: int = 0
    verdicts: Counter = field(default_factory=Counter)  # (exporter, verdict) -> count
    buckets: Counter = field(default_factory=Counter)  # bucket key -> hits
    last_new_bucket: float | None = None  # campaign time of the newest bucket
    exporter_seconds: Counter = field(default_factory=Counter)  # exporter -> worker seconds
    stage_seconds: Counter = field(default_factory=Counter)
    generation: GenerationStats = field(default_factory=GenerationStats)
    kept: int = 0
    dropped: int = 0  # non-pass cases counted but not kept (bucket already has enough)
    stop_reason: str = ""
    recent: list = field(default_factory=list)  # (monotonic time, cases) samples for the "now" rate
    workers: list = field(default_factory=list)  # (state, "exporter seed", seconds) per worker, for the status
    restarts: int = 0  # workers replaced after a crash, hang or out-of-memory
    recycled: int = 0  # workers replaced between tasks (task count or memory), nothing lost
    findings: object = None  # RecorderStats of the findings recorder, for the status
    unconfirmed: Counter = field(default_factory=Counter)  # mismatches not confirmed real, by status (numeric_noise...)
    cross: Counter = field(default_factory=Counter)  # cross-exporter status of seeds run by both exporters
    one_wrong: Counter = field(default_factory=Counter)  # exporter -> seeds where only it was wrong
    minimizing: int = 0  # new bugs waiting for or under minimization
    coverage: object = None  # fuzzer.coverage.Coverage of the exported models, when tracked
    corpus: int | None = None  # graphs in the feedback corpus (None: feedback off)
    mutants: int = 0  # cases that ran a mutant of a corpus graph

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def rate_now(self, window: float = 30.0) -> float:
        """Cases per second over the last ``window`` seconds, measured up to now: a dynamo batch
        that lands all at once does not read as hundreds of cases per second, and a stall reads 0."""
        if not self.recent:
            return 0.0
        now = time.monotonic()
        older = [(t, c) for t, c in self.recent if now - t > window]
        if not older and len(self.recent) < 2:
            return 0.0
        t0, c0 = older[-1] if older else self.recent[0]
        return (self.recent[-1][1] - c0) / (now - t0) if now > t0 else 0.0

    def failures(self) -> int:
        return sum(n for (_, v), n in self.verdicts.items() if Verdict(v).is_failure)

    def to_dict(self) -> dict:
        return {
            "elapsed": round(self.elapsed, 3), "cases": self.cases,
            "verdicts": {f"{e}/{v}": n for (e, v), n in sorted(self.verdicts.items())},
            "buckets": len(self.buckets), "kept": self.kept, "dropped": self.dropped,
            "exporter_seconds": {k: round(v, 3) for k, v in self.exporter_seconds.items()},
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "stop_reason": self.stop_reason, "worker_restarts": self.restarts, "workers_recycled": self.recycled,
            "unconfirmed_mismatches": dict(self.unconfirmed),
            "cross_exporter": dict(self.cross), "only_this_exporter_wrong": dict(self.one_wrong),
            **({"corpus": self.corpus, "mutants": self.mutants} if self.corpus is not None else {}),
            "generator": {"attempts": self.generation.attempts, "accepted": self.generation.accepted,
                          "rejected": dict(self.generation.rejected.most_common(30))},
        }

    def sample(self) -> dict:
        """One line of the stats time series."""
        per = {}
        for (e, v), n in self.verdicts.items():
            per.setdefault(e, {})[v] = n
        out = {"t": round(self.elapsed, 2), "cases": self.cases, "buckets": len(self.buckets), "failures": self.failures(),
               "cases_per_s_now": round(self.rate_now(), 3), "verdicts": per}
        if self.coverage is not None:
            out["coverage"] = {e: c.sizes() for e, c in sorted(self.coverage.by_exporter.items())}
            out["paper_sequences"] = self.coverage.paper_share()[0]
        if self.corpus is not None:
            out["corpus"] = self.corpus
            out["mutants"] = self.mutants
        return out


# ---------------------------------------------------------------------------------------------
# campaign directory state
# ---------------------------------------------------------------------------------------------
def read_results(path: Path) -> list[dict]:
    """The finished cases. A torn last line (``kill -9`` mid-write) is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    out = []
    for k, line in enumerate(data[:end].splitlines()):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise CampaignError(f"{path}: line {k + 1} is not JSON; the campaign record is damaged") from None
    return out


def load_config(out_dir: Path) -> CampaignConfig:
    p = out_dir / "campaign.json"
    try:
        doc = json.loads(p.read_text())
        return CampaignConfig.from_dict(doc["config"])
    except FileNotFoundError:
        raise CampaignError(f"{out_dir} is not a campaign directory (no campaign.json)") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CampaignError(f"{p}: unreadable campaign configuration ({e})") from None


def restore_stats(stats: CampaignStats, results: list[dict]) -> set[tuple[str, int | str]]:
    """Rebuild the counters from results.jsonl lines; returns the case keys done:
    (exporter, seed) for generated cases, (exporter, "m<slot>") for mutants."""
    done = set()
    for r in results:
        if r.get("mutant"):
            done.add((r["exporter"], mutant_key(r["mutant"]["slot"])))
            stats.mutants += 1
        else:
            done.add((r["exporter"], r["seed"]))
        stats.cases += 1
        stats.verdicts[(r["exporter"], r["verdict"])] += 1
        stats.exporter_seconds[r["exporter"]] += r.get("seconds", 0.0)
        if r.get("bucket"):
            stats.buckets[r["bucket"]] += 1
        if r.get("kept"):
            stats.kept += 1
        elif r["verdict"] != "pass":
            stats.dropped += 1
        stats.elapsed_before = max(stats.elapsed_before, r.get("t", 0.0))
    return done


# ---------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------
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


@dataclass
class _DeadCase:
    """A case whose worker died, hung or ran out of memory, waiting for its graph to be rebuilt."""

    completion: Completion
    exporter: str
    key: int | str  # seed, or "m<slot>" for a mutant
    mutant: dict | None  # the results line's mutant record


class _Loop:
    def __init__(self, config, out_dir: Path, observers, stats: CampaignStats, done: set, pool_env, inject):
        self.config = config
        self.out = out_dir
        self.observers = observers
        self.stats = stats
        self.done = done
        self.pool_env = pool_env
        self.inject = inject
        self.exports = config.exports()
        self.cursor = {e.exporter.value: 0 for e in self.exports}
        self.inflight: dict[int, tuple[str, int]] = {}
        self.partners: dict[int, dict[str, CaseResult]] = {}
        self.singles: deque = deque()  # (export, [seed]) to run alone after their batch died
        self.dead: deque[_DeadCase] = deque()  # cases that took their worker down, to rebuild by a worker
        self.rebuilding: dict[int, _DeadCase] = {}  # pool task id -> its case, being rebuilt
        self.feedback = None
        if config.feedback:
            try:
                self.feedback = Feedback(config.seed, config.mutate_share, config.generator, out_dir / "corpus", config.corpus_size, stats.coverage)
            except ValueError as e:  # an unreadable corpus index
                raise CampaignError(str(e)) from None
            stats.corpus = len(self.feedback.corpus)
        self.deferred = {e.exporter.value: deque() for e in self.exports}  # mutant slots passed over while filling a dynamo batch
        self.deadline = None if config.seconds is None else time.monotonic() + max(0.0, config.seconds - stats.elapsed_before)
        self.last_sample = 0.0
        self.last_disk_check = 0.0
        self.recorder = FindingRecorder(out_dir / "findings", {e.exporter.value: e for e in self.exports}, config.input_mode,
                                        config.minimize_seconds or None, config.case_timeout)
        stats.findings = self.recorder.stats

    def _next_case(self, pool: WorkerPool) -> tuple[ExportOptions, int] | None:
        """The (export, seed index) to run next under the fair time share, or None when done."""
        running = Counter()
        for _, task, secs in pool.states():
            if task is not None:
                running[task.payload["export"]["exporter"]] += secs
        order = sorted(self.exports, key=lambda e: (self.stats.exporter_seconds[e.exporter.value] + running[e.exporter.value], self.exports.index(e)))
        for ex in order:
            i = self._next_slot(ex.exporter.value)
            if i is not None:
                return ex, i
        return None

    def _is_mutant(self, i: int) -> bool:
        return self.feedback is not None and self.feedback.is_mutant(i)

    def _case_key(self, name: str, i: int) -> int | str:
        return mutant_key(i) if self._is_mutant(i) else self.config.seed + i

    def _next_slot(self, name: str, fresh_only: bool = False, scan: int | None = None) -> int | None:
        """The next slot of exporter ``name`` not yet done (None: none left, or none within
        ``scan`` slots). ``fresh_only``: mutant slots met on the way are deferred, not skipped."""
        if self.deferred[name] and not fresh_only:
            return self.deferred[name].popleft()
        while scan is None or scan > 0:
            i = self.cursor[name]
            if self.config.cases is not None and i >= self.config.cases:
                return None
            self.cursor[name] += 1
            scan = None if scan is None else scan - 1
            if (name, self._case_key(name, i)) in self.done:
                continue
            if fresh_only and self._is_mutant(i):
                self.deferred[name].append(i)
                continue
            return i
        return None

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
            exhausted = False
            while True:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self.stats.stop_reason = self.stats.stop_reason or "time budget spent"
                    break
                if self._disk_low():
                    break
                while self.dead and pool.idle() > 0:  # rebuild a dead worker's case first (a few ms)
                    d = self.dead.popleft()
                    self.rebuilding[pool.submit(self._rebuild_request(d)).id] = d
                while not exhausted and pool.idle() > 0:
                    if self.singles:  # seeds of a batch whose worker died: one by one, to find the culprit
                        ex, seeds = self.singles.popleft()
                    else:
                        nxt = self._next_case(pool)
                        if nxt is None:
                            exhausted = True
                            break
                        ex, i = nxt
                        seeds = [self._case_key(ex.exporter.value, i)]
                        if ex.exporter is Exporter.DYNAMO and cfg.dynamo_batch > 1 and not self._is_mutant(i):
                            seeds += [cfg.seed + j for j in self._take(ex, cfg.dynamo_batch - 1)]
                    payload = {
                        "kind": "seed", "seed": seeds[0], "export": ex.to_dict(), "input_mode": cfg.input_mode,
                        "generator": cfg.to_dict()["generator"], "cases_dir": str(self.out / "incoming"), "store": True,
                        "return_graph": self.feedback is not None,
                    }
                    if isinstance(seeds[0], str):  # a mutant slot: the worker mutates a corpus graph
                        del payload["seed"]
                        payload.update(self.feedback.request(ex.exporter.value, i))
                    if len(seeds) > 1:  # one export call for several graphs (fuzzer.export.batch)
                        payload.update(kind="seeds", seeds=seeds, max_batch=len(seeds), timeout=cfg.case_timeout * len(seeds))
                    elif (ex.exporter.value, seeds[0]) in self.inject:
                        payload["inject"] = self.inject[(ex.exporter.value, seeds[0])]
                    task = pool.submit(payload)
                    self.inflight[task.id] = (ex.exporter.value, seeds)
                if exhausted and pool.busy() == 0 and not self.dead:
                    self.stats.stop_reason = "all cases done"
                    break
                self.stats.minimizing = self.recorder.pending
                self.stats.workers = [(st, _task_label(t) if t else "", secs) for st, t, secs in pool.states()]
                self.stats.restarts, self.stats.recycled = pool.restarts, pool.recycled
                for o in self.observers:
                    tick = getattr(o, "on_tick", None)
                    if tick is not None:
                        tick(self.stats)
                completions = pool.poll(0.05)
                self.stats.restarts, self.stats.recycled = pool.restarts, pool.recycled
                for c in completions:
                    for r in self._account(c, log):
                        for o in self.observers:
                            o.on_result(r, self.stats)
                        yield r
                self._maybe_sample()
            # cases that killed their worker and are not rebuilt yet: rebuild them here, not lose them
            for d in [*self.rebuilding.values(), *self.dead]:
                graph, inputs = self._regenerate(d)
                r = self._account_one(d.exporter, d.key, *self._failure_case(d, graph, inputs), None, d.completion.seconds, log, None, d.mutant)
                for o in self.observers:
                    o.on_result(r, self.stats)
                yield r
            self.rebuilding.clear()
            self.dead.clear()
            self._maybe_sample(force=True)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _take(self, ex: ExportOptions, n: int) -> list[int]:
        """Up to ``n`` more fresh seed indices for ``ex`` (a batch), in order, skipping done ones;
        mutant slots on the way (at most ``4 n`` slots are looked at) run next, one by one."""
        name, out, scan = ex.exporter.value, [], 4 * n
        while len(out) < n and scan > 0:
            before = self.cursor[name]
            i = self._next_slot(name, fresh_only=True, scan=scan)
            scan -= self.cursor[name] - before
            if i is None:
                break
            out.append(i)
        return out

    def _account(self, c: Completion, log) -> list[CaseResult]:
        if c.task.id in self.rebuilding:  # a dead worker's case is rebuilt (or its rebuild died too)
            d = self.rebuilding.pop(c.task.id)
            graph = inputs = None
            where = Path(c.reply["regenerated"]) if c.kind == "ok" and c.reply.get("regenerated") else None
            if where is not None:
                graph = load_graph(where / "graph.json")
                inputs = load_inputs(where / "inputs.npz", graph)
            shutil.rmtree(self._rebuild_dir(d), ignore_errors=True)
            return [self._account_one(d.exporter, d.key, *self._failure_case(d, graph, inputs), None, d.completion.seconds, log, None, d.mutant)]
        exporter, seeds = self.inflight.pop(c.task.id)
        gen = c.reply.get("generation") if c.reply else None
        if gen:
            self.stats.generation.attempts += gen["attempts"]
            self.stats.generation.accepted += gen["accepted"]
            self.stats.generation.rejected.update(gen["rejected"])
        if c.kind == "ok" and "results" in c.reply:  # a batch: worker time is shared equally
            share = c.seconds / max(1, len(c.reply["results"]))
            return [self._account_one(exporter, e["seed"], replace(CaseResult.from_dict(e["result"]), coverage_items=e.get("coverage")),
                                      e.get("case_dir"), e.get("confirmation"), share, log, e.get("graph"))
                    for e in c.reply["results"]]
        if c.kind != "ok" and len(seeds) > 1:
            # the batch took its worker down: nothing is recorded, every seed runs alone next
            ex = next(e for e in self.exports if e.exporter.value == exporter)
            self.singles.extend((ex, [s]) for s in seeds)
            self.stats.exporter_seconds[exporter] += c.seconds
            return []
        p = c.task.payload
        mutant = None
        if p["kind"] == "mutant":
            mutant = {"slot": p["slot"], "parent": p["parent_key"], "donor": p["donor_key"], "mutation_seed": p["mutation_seed"], "mutations": []}
        if c.kind == "ok":
            r = replace(CaseResult.from_dict(c.reply["result"]), coverage_items=c.reply.get("coverage"))
            graph = c.reply.get("graph")
            if mutant is not None and graph is not None:
                mutant["mutations"] = graph.get("meta", {}).get("mutations", [])
            return [self._account_one(exporter, seeds[0], r, c.reply.get("case_dir"), c.reply.get("confirmation"), c.seconds, log, graph, mutant)]
        # the worker died, hung or blew its memory on this case: the case is rebuilt by a worker
        # (generation is deterministic) and recorded when that answers (see _run)
        self.dead.append(_DeadCase(c, exporter, seeds[0], mutant))
        return []

    def _account_one(self, exporter: str, key: int | str, r: CaseResult, case_dir: str | None, confirmation: dict | None, seconds: float, log,
                     graph_doc: dict | None = None, mutant: dict | None = None) -> CaseResult:
        """Record one finished case (``key``: its seed, or "m<slot>" for a mutant); with feedback,
        its graph joins the corpus (before the results line) if its model reached new coverage."""
        st = self.stats
        real = confirmation is None or confirmation["status"] == "confirmed"
        if not real:
            st.unconfirmed[confirmation["status"]] += 1
        cross = self._pair(r) if mutant is None else None  # a mutant slot runs different graphs per exporter
        bucket = rough_key(r) if r.verdict.is_failure else None
        kept = False
        if case_dir:
            src = Path(case_dir)
            graph = inputs = None
            if r.verdict.is_failure:
                graph = load_graph(src / "graph.json")
                inputs = load_inputs(src / "inputs.npz", graph)
                if (src / "model.onnx").exists():  # mismatch signatures walk the exported model
                    r = replace(r, model=(src / "model.onnx").read_bytes())
            # keep the first few of each coarse bucket, and every case that may be a new bug
            if bucket is not None and (st.buckets[bucket] < self.config.keep_per_bucket or self.recorder.is_new(r)):
                dest = self.out / "cases" / src.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():  # a resumed case already kept before a kill: same seed, same content
                    shutil.rmtree(src, ignore_errors=True)
                else:
                    os.rename(src, dest)
                kept = True
            else:
                shutil.rmtree(src, ignore_errors=True)
            if graph is not None and real:
                self.recorder.submit(graph, inputs, r)  # filed (or queued) before the results line: resume-safe
        new_items = None
        if self.feedback is not None:
            new_items = self.feedback.observe(exporter, r.coverage_items, graph_doc, f"{exporter} {key if mutant else f'seed {key}'}")
            st.corpus = len(self.feedback.corpus)
            st.mutants += mutant is not None
        st.cases += 1
        st.verdicts[(r.exporter, r.verdict.value)] += 1
        st.exporter_seconds[r.exporter] += seconds
        for k, v in r.timings.items():
            st.stage_seconds[k] += v
        if bucket is not None:
            if bucket not in st.buckets:
                st.last_new_bucket = st.elapsed
            st.buckets[bucket] += 1
        if kept:
            st.kept += 1
        elif r.verdict is not Verdict.PASS:
            st.dropped += 1
        st.recent.append((time.monotonic(), st.cases))
        if len(st.recent) > 2000:
            del st.recent[:1000]
        line = _log_line(r, seconds, bucket, kept, st.elapsed)
        if confirmation is not None:
            line["confirmation"] = confirmation
        if cross is not None:
            line["cross_exporter"] = cross.to_dict()
        if r.blame is not None:
            line["blame"] = r.blame.culprit.value
        if mutant is not None:
            line["mutant"] = mutant
        if new_items:
            line["new_coverage"] = new_items
        log.write(json.dumps(line, allow_nan=False, default=str) + "\n")
        log.flush()
        self.done.add((exporter, key))
        return r

    def _pair(self, r: CaseResult):
        """Cross-exporter differential: once every exporter has run a seed, compare their views.
        Only a compact record of the first results is kept (verdict and digests), until paired."""
        if len(self.exports) < 2 or r.seed is None:
            return None
        from .cross import cross_exporter

        waiting = self.partners.setdefault(r.seed, {})
        other = next((o for e, o in waiting.items() if e != r.exporter), None)
        if other is None:
            waiting[r.exporter] = CaseResult(
                seed=r.seed, exporter=r.exporter, opset_requested=r.opset_requested, opset=r.opset, verdict=r.verdict,
                input_mode=r.input_mode, output_digests=r.output_digests, graph_digest=r.graph_digest, inputs_digest=r.inputs_digest,
            )
            return None
        del self.partners[r.seed]
        cross = cross_exporter(other, r)
        self.stats.cross[cross.status] += 1
        if cross.status == "one_wrong" and cross.wrong:
            self.stats.one_wrong[cross.wrong] += 1
        return cross

    def _rebuild_dir(self, d: "_DeadCase") -> Path:
        return self.out / ".rebuild" / f"{d.exporter}-{d.completion.task.id}"

    def _rebuild_request(self, d: "_DeadCase") -> dict:
        p = d.completion.task.payload
        mutant = {"parent": p["parent"], "donor": p["donor"]} if p["kind"] == "mutant" else None
        return {"kind": "regen", "seed": p["mutation_seed"] if mutant else d.key, "export": p["export"], "generator": self.config.to_dict()["generator"],
                "input_mode": self.config.input_mode, "out": str(self._rebuild_dir(d)), "mutant": mutant}

    def _failure_case(self, d: "_DeadCase", graph: Graph | None, inputs) -> tuple[CaseResult, str | None]:
        """The result of a case that took its worker down, and its kept case directory (None when
        the case could not be rebuilt)."""
        c, cfg = d.completion, self.config
        verdict = {"crash": Verdict.PROCESS_CRASH, "hang": Verdict.HANG, "oom": Verdict.OUT_OF_MEMORY}[c.kind]
        p = c.task.payload
        seed = p["mutation_seed"] if p["kind"] == "mutant" else d.key
        export = next(e for e in self.exports if e.exporter.value == d.exporter)
        r = CaseResult(
            seed=seed, exporter=d.exporter, opset_requested=export.opset, opset=None, verdict=verdict, input_mode=cfg.input_mode,
            error_type=c.detail.split()[0] if c.kind == "crash" else c.kind, error_head=f"worker {c.kind}: {c.detail}",
            error_message=f"the worker process running this case ended with: {c.detail}", timings={"total": c.seconds},
            n_nodes=len(graph) if graph else 0, ops=tuple(graph.ops()) if graph else (), options={"generator": cfg.to_dict()["generator"]},
            versions=stack_versions(),
        )
        if graph is None:
            return r, None
        path = save_case(self.out / "incoming", graph, inputs, r, mutant_dirname(p["slot"], r) if p["kind"] == "mutant" else None)
        return r, str(path)

    def _regenerate(self, d: "_DeadCase"):
        """The case's graph and inputs, rebuilt in a subprocess of its own (when the campaign ends
        before a worker could rebuild it). (None, None) if that dies too."""
        import subprocess
        import sys

        req = self._rebuild_request(d)
        out = Path(req["out"])
        cmd = [sys.executable, "-m", "fuzzer.campaign.regen", str(req["seed"]), json.dumps(req["generator"]), req["input_mode"], str(out / "case")]
        try:
            if req["mutant"] is not None:
                out.mkdir(parents=True, exist_ok=True)
                (out / "mutant.json").write_text(json.dumps(req["mutant"]), encoding="utf-8")
                cmd.append(str(out / "mutant.json"))
            try:
                rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=self.config.case_timeout + 60).returncode
            except subprocess.TimeoutExpired:
                return None, None
            if rc != 0:
                return None, None
            graph = load_graph(out / "case" / "graph.json")
            return graph, load_inputs(out / "case" / "inputs.npz", graph)
        finally:
            shutil.rmtree(out, ignore_errors=True)

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


def _task_label(t) -> str:
    p = t.payload
    if p["kind"] == "regen":
        return f"rebuilding a dead worker's case (seed {p['seed']})"
    if p["kind"] == "mutant":
        return f"{p['export']['exporter']} mutant {p['slot']}"
    seeds = p.get("seeds")
    return f"{p['export']['exporter']} seeds {seeds[0]}..{seeds[-1]}" if seeds else f"{p['export']['exporter']} seed {p['seed']}"


def _log_line(r: CaseResult, seconds: float, bucket: str | None, kept: bool, t: float) -> dict:
    w = r.worst
    return {
        "seed": r.seed, "exporter": r.exporter, "verdict": r.verdict.value, "opset": r.opset, "n_nodes": r.n_nodes,
        "error_type": r.error_type, "error_head": r.error_head, "worst_abs": w.max_abs if w else None,
        "bucket": bucket, "kept": kept, "seconds": round(seconds, 5), "t": round(t, 3),
        "timings": {k: round(v, 5) for k, v in r.timings.items()},
    }


def with_budget(config: CampaignConfig, seconds: float | None, cases: int | None) -> CampaignConfig:
    """The stored configuration with a new budget (for --resume with --seconds/--cases)."""
    if seconds is None and cases is None:
        return config
    return replace(config, seconds=seconds, cases=cases)
