"""How a campaign splits worker time: arms, their jobs, and a split that follows the yield.

An *arm* is an (exporter, strategy) pair. Strategies:

- ``graphs``: generated multi-operator graphs (and, with feedback, mutants of corpus graphs);
- ``ops``: one-operator jobs of the sweep plan (:func:`fuzzer.sweep.plan.enumerate_jobs`: every
  catalog operator x legal dtype x shapes x attribute samples x input mode), each exported with
  the variants of that exporter (default opset, the other opsets, dynamo's ``optimize=False``;
  dynamo's opsets 18 and 23 in a quarter of the requests only: :data:`SAMPLED_OPSETS`),
  in an order shuffled by the campaign seed so that a short campaign samples the whole catalog
  (each operator planned lazily, as far as the rounds reach it: :class:`OpSource`). The input
  modes of a graph travel together and share its dynamo exports, as in a sweep.
  This is where single-operator dtype bugs, non-default options, the optimizer and opset
  conversion are found quickly (a dynamo sweep sample found 60 buckets in 100 s on 2 workers).

:class:`Allocator` splits worker time between exporters by fixed weights (``--dynamo-share``), and
within an exporter gives each strategy ``floor`` and the rest in proportion to its recent yield:
new buckets per worker second over the arm's last ``window`` worker seconds, with a prior of one
bucket per minute (so an arm that has not run yet is not starved, and an arm that stops finding
loses its extra share within a few minutes). The next
request goes to the least served exporter's arm furthest below its share. The split
is deterministic given the results, so it depends on timing only through which results came
first; it is recorded in ``stats.jsonl`` and shown live.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable

import torch.onnx._constants as onnx_constants

from fuzzer.compare.differential import DYNAMO_NATIVE_OPSET
from fuzzer.export import ExportOptions, Exporter
from fuzzer.sweep.plan import SweepConfig, SweepJob, enumerate_jobs


#: Dynamo export variants that a campaign's one-operator jobs run in a share of their requests only
#: (:data:`SAMPLED_VARIANT_SHARE`, :func:`fuzzer.campaign.scheduler.is_sampled_request`); every
#: request runs the baseline, ``optimize=False`` and the oldest opset (the longest conversion down
#: from torchlib's own). Measured in four 20-minute default campaigns (stop 33, trees a99371c and
#: 9d13361): opsets 18 and 23 were the first to hit 1-2 and 2-3 of the op arm's 140-159 dynamo
#: buckets, for about 21% of its worker time (35 and 55 ms a case, against 47 for opset 17, which
#: was first for 51-59). Sweeps run every variant on every job.
SAMPLED_OPSETS = {Exporter.DYNAMO: (DYNAMO_NATIVE_OPSET, onnx_constants.ONNX_MAX_OPSET)}
#: the share of a campaign's op requests that run the :data:`SAMPLED_OPSETS` variants too
SAMPLED_VARIANT_SHARE = 0.25


def split_sampled(exports: Iterable[ExportOptions]) -> tuple[tuple[ExportOptions, ...], tuple[ExportOptions, ...]]:
    """``exports`` as (the variants every op request runs, those a sampled share runs), each in the
    given order (the baseline first)."""
    exports = tuple(exports)
    sampled = tuple(e for e in exports[1:] if e.optimize and not e.dynamic and e.opset in SAMPLED_OPSETS.get(e.exporter, ()))
    return tuple(e for e in exports if e not in sampled), sampled


def op_job_key(index: int) -> str:
    """The case key of op job ``index`` (results.jsonl, resume)."""
    return f"o{index}"


class OpSource:
    """One operator's one-operator graphs, planned lazily: its (dtype, shape) cells in an order
    shuffled by the campaign seed, each graph drawn at random from a small look-ahead window of the
    plan (so consecutive rounds vary attributes too). A graph comes with its jobs of every input
    mode, together: they go in one request, where they share the dynamo exports (as in a sweep).
    Planning a graph costs an eager probe, so an operator is planned only as far as the campaign's
    rounds reach it; a campaign over hundreds of operators would otherwise spend its first minutes
    planning in the supervisor. The same draws in the same order give the same jobs: shared by every
    exporter of a campaign (each adds its own export variants), so op job ``i`` of an operator is
    the same graph for both."""

    WINDOW = 4

    def __init__(self, op: str, seed: int, modes: tuple[str, ...]):
        self.rng = random.Random(f"onnxfuzz-ops/{seed}/{op}")
        self.plan = enumerate_jobs(SweepConfig(ops=(op,), exporters=(Exporter.TORCHSCRIPT,), modes=modes), cell_order=f"onnxfuzz-ops/{seed}")
        self.pending: SweepJob | None = None  # the first job of the next graph, read ahead
        self.window: list[tuple[SweepJob, ...]] = []
        self.drawn: list[tuple[SweepJob, ...]] = []
        self.exhausted = False

    def _next_graph(self) -> tuple[SweepJob, ...] | None:
        """The plan's next graph, as its jobs (the plan lists a graph's input modes one after the other)."""
        first = self.pending if self.pending is not None else next(self.plan, None)
        self.pending = None
        if first is None:
            return None
        jobs = [first]
        for nxt in self.plan:
            if nxt.graph_key != first.graph_key:
                self.pending = nxt
                break
            jobs.append(nxt)
        return tuple(jobs)

    def graph(self, k: int) -> tuple[SweepJob, ...] | None:
        """The operator's ``k``-th graph: its jobs, one per input mode (None: it has fewer graphs)."""
        while len(self.drawn) <= k:
            while not self.exhausted and len(self.window) < self.WINDOW:
                nxt = self._next_graph()
                if nxt is None:
                    self.exhausted = True
                else:
                    self.window.append(nxt)
            if not self.window:
                return None
            self.drawn.append(self.window.pop(self.rng.randrange(len(self.window))))
        return self.drawn[k]


class OpJobs:
    """The one-operator jobs of one exporter in the campaign's order: rounds over the catalog's
    operators, one graph of each operator per round with its jobs of every input mode
    (:class:`OpSource`, planned as the rounds reach it). Round 0 visits the operators in an order
    shuffled by the campaign seed and exporter; each later round visits first the operators whose
    jobs opened the most new buckets so far (:meth:`credit`; ties keep the shuffled order), since
    an operator that failed in one dtype or option tends to fail in others.

    Job indices name content, not hand-out order: the job of input mode ``m`` of graph ``k`` of
    the operator at position ``p`` of the shuffled catalog is ``(k * operators + p) * modes + m``.
    So job ``i`` is the same job in every run of a campaign whatever order the rounds took, and
    resume skips exactly the jobs done. ``sources`` is shared between the exporters of one campaign
    (each operator is planned once)."""

    def __init__(self, exporter: Exporter, seed: int, input_mode: str, sources: dict[str, OpSource] | None = None,
                 ops: Iterable[str] | None = None):
        from fuzzer.catalog import CATALOG

        self.exporter = exporter
        self.modes = ("normal", "special") if input_mode == "special" else ("normal",)
        self.seed = seed
        self.ops = sorted(CATALOG if ops is None else ops)  # the operators (default: the whole catalog)
        random.Random(f"onnxfuzz-ops/{seed}/{exporter.value}").shuffle(self.ops)
        self.sources = sources if sources is not None else {}
        self.exports: tuple | None = None  # this exporter's variants in every request (the same for every operator)
        self.sampled: tuple = ()  # ... and those a sampled share of requests adds (SAMPLED_OPSETS)
        self.live = [True] * len(self.ops)  # operators that may still have a graph
        self.score: Counter = Counter()  # operator -> new buckets its jobs opened (credit)
        self.order = list(range(len(self.ops)))  # this round's visiting order (positions in ops)
        self.round = 0
        self.position = 0  # next entry of ``order``

    def index(self, k: int, p: int, m: int) -> int:
        """The index of the job of input mode ``m`` of graph ``k`` of the operator at position ``p``."""
        return (k * len(self.ops) + p) * len(self.modes) + m

    def op_of(self, index: int) -> str:
        """The operator of job ``index``."""
        return self.ops[(index // len(self.modes)) % len(self.ops)]

    def credit(self, op: str, new_buckets: int = 1) -> None:
        """Operator ``op``'s job opened ``new_buckets`` new buckets: later rounds visit it earlier."""
        self.score[op] += new_buckets

    def _graph(self, p: int) -> tuple[SweepJob, ...] | None:
        op = self.ops[p]
        src = self.sources.get(op)
        if src is None:
            src = self.sources[op] = OpSource(op, self.seed, self.modes)
        jobs = src.graph(self.round)
        if jobs is None:
            return None
        if self.exports is None:
            self.exports, self.sampled = split_sampled(SweepConfig(ops=(op,), exporters=(self.exporter,), modes=self.modes).exports())
        return tuple(replace(j, exports=self.exports) for j in jobs)

    def _next(self) -> list[tuple[int, SweepJob]] | None:
        """The next graph's (index, job) pairs; None when every graph is out."""
        while True:
            if self.position >= len(self.order):
                live = [p for p in range(len(self.ops)) if self.live[p]]
                if not live:
                    return None
                self.round += 1
                self.position = 0
                self.order = sorted(live, key=lambda p: -self.score[self.ops[p]])  # stable: ties in the shuffled order
            p = self.order[self.position]
            self.position += 1
            if not self.live[p]:
                continue
            jobs = self._graph(p)
            if jobs is None:
                self.live[p] = False
                continue
            return [(self.index(self.round, p, m), j) for m, j in enumerate(jobs)]

    def take(self, n: int, done: set) -> list[tuple[int, SweepJob]]:
        """The (index, job) not yet done of up to ``n`` more graphs that have one."""
        out: list[tuple[int, SweepJob]] = []
        graphs = 0
        while graphs < n:
            got = self._next()
            if got is None:
                break
            todo = [(i, j) for i, j in got if (self.exporter.value, op_job_key(i)) not in done]
            if todo:
                out += todo
                graphs += 1
        return out


@dataclass
class Allocator:
    """Worker time per arm, in two levels: exporters share time by fixed weights (equal by
    default: the slow dynamo exporter is never starved by the fast TorchScript one, and graph ``i``
    reaches both); within an exporter, each strategy gets ``floor`` and the rest in proportion to
    its yield of new buckets per worker second (see the module docstring)."""

    arms: tuple[str, ...]  # "exporter/strategy"
    floor: float = 0.1
    prior_seconds: float = 60.0  # one bucket per this many worker seconds, before any evidence
    weights: dict[str, float] | None = None  # exporter -> its weight in the time split (None or missing: 1)
    #: an arm's yield counts the new buckets of its own most recent ``window`` worker seconds (None:
    #: all of them). Discovery slows at different rates: in 20-minute default campaigns (stop 33)
    #: dynamo's generated graphs found 25, 16, 5 and 3 new buckets in successive 5 minutes, its
    #: op jobs 48, 54, 37 and 20, so whole-campaign yields kept 40% of dynamo's time on graphs
    #: while op jobs found six times as much per second at the end.
    window: float | None = 300.0
    _seen: dict = field(default_factory=dict, init=False, repr=False)  # arm -> bucket count last seen
    _events: dict = field(default_factory=dict, init=False, repr=False)  # arm -> arm seconds at each new bucket, last window only

    def _recent(self, a: str, seconds: float, buckets: int) -> tuple[float, float]:
        """Arm ``a``'s (new buckets, worker seconds) of its last ``window`` seconds, learning from
        the cumulative counts given, as the campaign keeps them. Counts first seen above zero (a
        resumed campaign) are taken as found at an even rate."""
        if self.window is None:
            return float(buckets), seconds
        events = self._events.setdefault(a, [])
        if a not in self._seen:
            span = min(self.window, seconds)
            n = round(buckets * span / seconds) if seconds > 0 else 0
            events += [seconds - span + (k + 0.5) * span / n for k in range(n)]
            self._seen[a] = buckets
        if buckets > self._seen[a]:
            events += [seconds] * (buckets - self._seen[a])
            self._seen[a] = buckets
        while events and events[0] <= seconds - self.window:
            events.pop(0)
        return float(len(events)), min(self.window, seconds)

    def shares(self, seconds: Counter, new_buckets: Counter, arms: Iterable[str] | None = None) -> dict[str, float]:
        """Each of ``arms``' share of their exporter's time (all arms when None)."""
        arms = list(self.arms if arms is None else arms)
        out = {}
        for ex in dict.fromkeys(a.split("/")[0] for a in arms):
            mine = [a for a in arms if a.split("/")[0] == ex]
            recent = {a: self._recent(a, seconds[a], new_buckets[a]) for a in mine}
            yields = {a: (recent[a][0] + 1.0) / (recent[a][1] + self.prior_seconds) for a in mine}
            total = sum(yields.values())
            floor = min(self.floor, 1.0 / len(mine))
            rest = max(0.0, 1.0 - floor * len(mine))
            out.update({a: floor + rest * yields[a] / total for a in mine})
        return out

    def pick(self, seconds: Counter, new_buckets: Counter, candidates: Iterable[str]) -> str | None:
        """The candidate arm to run next (``seconds``: worker seconds per arm, finished plus in
        flight): the least served exporter, then its arm furthest below its share."""
        cands = [a for a in self.arms if a in set(candidates)]
        if not cands:
            return None
        per_ex: Counter = Counter()
        for a in self.arms:
            per_ex[a.split("/")[0]] += seconds[a]
        order = [a.split("/")[0] for a in self.arms]
        weight = self.weights or {}
        ex = min(dict.fromkeys(a.split("/")[0] for a in cands), key=lambda e: (per_ex[e] / max(1e-9, weight.get(e, 1.0)), order.index(e)))
        mine = [a for a in self.arms if a.split("/")[0] == ex]
        share = self.shares(seconds, new_buckets, mine)
        total = sum(seconds[a] for a in mine) or 1.0
        return min((a for a in cands if a in mine), key=lambda a: (seconds[a] / total - share[a], self.arms.index(a)))


def arm_name(exporter: str, strategy: str) -> str:
    return f"{exporter}/{strategy}"
