"""Which case a campaign runs next, and as which worker request.

Worker time is split between arms, (exporter, strategy) pairs, by :class:`~.arms.Allocator`:
generated graphs (below) and one-operator jobs of the sweep plan (:class:`~.arms.OpJobs`, sent
``op_batch`` jobs at a time with the export variants a sweep runs, the sampled ones of
:data:`~.arms.SAMPLED_OPSETS` in a share of the requests: :func:`is_sampled_request`).

Every exporter walks the same slot sequence: slot ``i`` is graph ``seed + i`` (with feedback on, a
share of the slots are mutants of corpus graphs instead, see :mod:`.feedback`). The next case goes
to the exporter that has used the least worker time (finished plus in flight), so a slow exporter
(dynamo) never starves a fast one (TorchScript). Dynamo seeds are handed out in batches of
``dynamo_batch`` fresh slots (one export call for several graphs); mutant slots met while filling
a batch are deferred and run next, one by one. Slots already done (resume) are skipped.

With ``dynamic_share`` > 0, that share of the fresh slots (chosen by the campaign seed and the
slot, the same for every exporter: :func:`is_dynamic_slot`; for dynamo a subset, its share scaled by
:data:`DYNAMO_DYNAMIC_SCALE`) are exported with dynamic input sizes and run at other sizes too; a dynamo batch holds slots of one kind (static or dynamic), the others
met while it fills are deferred like mutants. The same share of one-operator requests
(by their first job) add a dynamic variant at the baseline options to each of their jobs, as
``onnxfuzz sweep --dynamic`` does.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate.avoid import attr_pattern
from fuzzer.ir import graph_to_dict
from fuzzer.sweep.plan import SweepJob
from fuzzer.workers.protocol import CaseSpec, Request, RunGraphs, RunMutant, RunSeeds

from .arms import SAMPLED_VARIANT_SHARE, Allocator, OpJobs, arm_name, op_job_key
from .config import DYNAMO_DYNAMIC_SCALE, CampaignConfig
from .feedback import Feedback, mutant_key
from .known import KnownTriggers

#: One-operator graphs sent to a worker at once, each with its jobs of every input mode (their dynamo
#: exports share one capture per variant, and a graph's input modes share its exports).
OP_BATCH = 8
#: Op jobs of one operator and categorical attributes, in a row, in which the exporter refused one
#: export variant as an unsupported operator, after which the operator's remaining jobs with those
#: attributes run without that variant, and are passed over when it is the baseline (except the
#: exploration share): its findings are filed, every further job would re-hit them ('where' is not
#: implemented for opset 7). An ``UnsupportedOperatorError`` counts as all strikes at once: it names
#: an ATen operator without a symbolic at that opset, whatever the dtypes and shapes, and is not
#: explored again within the campaign (:meth:`Scheduler._certain`); other
#: refusals ("Unsupported: ONNX export of operator unsafe_chunk, unknown dimension size") may
#: depend on the shape. Which ATen operator a node traces to may depend on its categorical
#: attributes (interpolate's mode), so they are part of the key (2dce686 keyed by the operator alone).
UNSUPPORTED_STRIKES = 2
#: Op jobs of one operator and input dtypes, in a row, in which one export variant's case re-hit a
#: coarse bucket the campaign already knew (:func:`fuzzer.triage.buckets.bucket_key`), after which
#: that variant is dropped from the remaining jobs of that operator and dtypes, and the whole job is
#: passed over when it is the baseline (except the exploration share). A case that passes or opens
#: a new bucket resets the count. Other shapes, attribute values and input modes of a failing
#: (operator, dtypes) mostly fail the same way (Sin on int64 is invalid at every shape), and a
#: TorchScript op job's variants at three opsets re-hit each other's bucket.
REHIT_STRIKES = 2


@dataclass
class Pick:
    """A request and what it covers: the exporter, the case keys (seeds, "m<slot>" or "o<index>",
    in reply order per graph), the arm it is charged to, and for op jobs the jobs themselves."""

    request: Request
    exporter: str
    keys: list
    arm: str
    jobs: list[tuple[int, SweepJob]] = field(default_factory=list)


def _explored(key: str, share: float) -> bool:
    """Is the job of ``key`` in the exploration share (run although a known trigger)?"""
    h = int.from_bytes(hashlib.sha256(f"onnxfuzz-explore/{key}".encode()).digest()[:8], "little")
    return h / 2**64 < share


def is_sampled_request(seed: int, i: int, share: float = SAMPLED_VARIANT_SHARE) -> bool:
    """Does the op request whose first job is ``i`` run the sampled variants too
    (:data:`~.arms.SAMPLED_OPSETS`)? A fixed share, spread by a hash (independent of the dynamic share)."""
    h = int.from_bytes(hashlib.sha256(f"onnxfuzz-sampled/{seed}/{i}".encode()).digest()[:8], "little")
    return h / 2**64 < share


def is_dynamic_slot(seed: int, i: int, share: float) -> bool:
    """Is slot ``i`` of a campaign with seed ``seed`` exported with dynamic shapes? A fixed share of
    the slots, spread by a hash, the same on resume and for every exporter."""
    if share <= 0.0:
        return False
    h = int.from_bytes(hashlib.sha256(f"onnxfuzz-dynamic/{seed}/{i}".encode()).digest()[:8], "little")
    return h / 2**64 < share


class Scheduler:
    def __init__(self, config: CampaignConfig, done: set, feedback: Feedback | None, incoming: Path, inject: dict | None = None,
                 known: KnownTriggers | None = None, torchscript_batch: int = 1):
        self.config = config
        # TorchScript seeds per request (1 on one machine; more where each request has a fixed
        # cost of its own, e.g. a Ray actor call on a cluster). Which seeds a request holds never
        # changes what a seed's case is, only how many travel together.
        self.torchscript_batch = max(1, torchscript_batch)
        self.known = known  # the known-trigger table's epochs (None: avoidance and cutting off)
        self.exports = config.exports()
        self.done = done  # (exporter, seed | "m<slot>") of finished cases
        self.feedback = feedback
        self.incoming = incoming  # where workers write failing cases
        self.inject = inject or {}
        self.cursor = {e.exporter.value: 0 for e in self.exports}
        self.deferred = {e.exporter.value: deque() for e in self.exports}  # mutant slots passed over while filling a dynamo batch
        sources: dict = {}  # each operator planned once, for every exporter
        self.op_jobs = {e.exporter.value: OpJobs(e.exporter, config.seed, config.input_mode, sources) for e in self.exports} if "ops" in config.arms else {}
        weights = {"dynamo": config.dynamo_share, "torchscript": 1.0 - config.dynamo_share} if len(self.exports) > 1 else None
        self.allocator = Allocator(tuple(arm_name(e.exporter.value, a) for e in self.exports for a in config.arms), config.arm_floor, weights=weights)
        self.graphs_left = {e.exporter.value: True for e in self.exports}
        self.ops_left = {e.exporter.value: "ops" in config.arms for e in self.exports}
        self.waiting_ops: dict[str, list] = {}
        self.ops_skipped: Counter = Counter()  # exporter -> op jobs not run: a known trigger of that exporter
        self.unsupported: Counter = Counter()  # (exporter, op, categorical attrs, variant) -> strikes (see UNSUPPORTED_STRIKES); -1: it exported once
        self.refused_aten: set = set()  # (exporter, ATen name, variant): an UnsupportedOperatorError named it (see _refused)
        self.certain: set = set()  # (exporter, op, categorical attrs, variant) refused by an UnsupportedOperatorError (see _certain)
        self.variants_dropped: Counter = Counter()  # exporter -> export variants of op jobs not run (refused twice before)
        self.rehits: Counter = Counter()  # (exporter, op, input dtypes, variant) -> jobs in a row whose case re-hit a known bucket
        self.rehit_skipped: Counter = Counter()  # exporter -> op jobs, and variants, not run for REHIT_STRIKES

    def restore_credit(self, results: Iterable[dict]) -> None:
        """Credit each operator with the new buckets its op jobs opened in an earlier run of the
        campaign (its results.jsonl lines, in order), as :meth:`observe_op` did then."""
        from fuzzer.triage.limitations import limitation_of_key

        seen: set[str] = set()
        for r in results:
            b = r.get("bucket")
            if not b or b in seen:
                continue
            seen.add(b)
            jobs = self.op_jobs.get(r.get("exporter"))
            if jobs is not None and isinstance(r.get("op_job"), int) and not limitation_of_key(b):
                jobs.credit(jobs.op_of(r["op_job"]))

    def slots_handed(self) -> int:
        """The first slot no exporter has been given yet (after a resume: past every recorded seed)."""
        recorded = [k - self.config.seed + 1 for _, k in self.done if isinstance(k, int)]
        return max([*self.cursor.values(), *recorded, 0])

    def known_path(self, seed: int) -> str | None:
        """The known-trigger table file of graph ``seed`` (see :mod:`.known`)."""
        return self.known.path_for(seed - self.config.seed) if self.known is not None else None

    def is_mutant(self, i: int) -> bool:
        return self.feedback is not None and self.feedback.is_mutant(i)

    def is_dynamic(self, i: int, exporter: str | None = None) -> bool:
        """Is generated slot ``i`` exported dynamic for ``exporter``? dynamo's dynamic slots are a
        subset of TorchScript's (its share scaled by DYNAMO_DYNAMIC_SCALE)."""
        share = self.config.dynamic_share * (DYNAMO_DYNAMIC_SCALE if exporter == "dynamo" else 1.0)
        return not self.is_mutant(i) and is_dynamic_slot(self.config.seed, i, share)

    def case_key(self, i: int) -> int | str:
        return mutant_key(i) if self.is_mutant(i) else self.config.seed + i

    def next_slot(self, name: str, fresh_only: bool = False, scan: int | None = None, dynamic: bool = False) -> int | None:
        """The next slot of exporter ``name`` not yet done (None: none left, or none within
        ``scan`` slots). ``fresh_only``: only generated slots exported static (``dynamic``: dynamic)
        are taken; mutant slots and slots of the other kind met on the way are deferred, not skipped."""
        if self.deferred[name] and not fresh_only:
            return self.deferred[name].popleft()
        while scan is None or scan > 0:
            i = self.cursor[name]
            if self.config.cases is not None and i >= self.config.cases:
                return None
            self.cursor[name] += 1
            scan = None if scan is None else scan - 1
            if (name, self.case_key(i)) in self.done:
                continue
            if fresh_only and (self.is_mutant(i) or self.is_dynamic(i, name) != dynamic):
                self.deferred[name].append(i)
                continue
            return i
        return None

    def take(self, ex: ExportOptions, n: int, dynamic: bool = False) -> list[int]:
        """Up to ``n`` more generated slots for ``ex`` (a batch) exported static (``dynamic``:
        dynamic), in order: deferred ones of that kind first, then fresh ones, skipping done ones;
        other slots on the way (at most ``4 n`` slots are looked at) are deferred."""
        name, scan = ex.exporter.value, 4 * n
        queue = self.deferred[name]
        out = [i for i in queue if not self.is_mutant(i) and self.is_dynamic(i, name) == dynamic][:n]
        if out:
            self.deferred[name] = deque(i for i in queue if i not in set(out))
        while len(out) < n and scan > 0:
            before = self.cursor[name]
            i = self.next_slot(name, fresh_only=True, scan=scan, dynamic=dynamic)
            scan -= self.cursor[name] - before
            if i is None:
                break
            out.append(i)
        return out

    def next_request(self, arm_seconds: Counter, arm_buckets: Counter) -> Pick | None:
        """The next request under the arms' split (``arm_seconds``: worker seconds per arm,
        finished plus in flight; ``arm_buckets``: new buckets per arm), or None when every arm's
        cases are handed out. ``--cases N`` bounds the generated graphs; op jobs run until the
        time budget (or the plan) ends, and never run in a campaign with a case budget only."""
        while True:
            live = [arm_name(e, "graphs") for e, left in self.graphs_left.items() if left and "graphs" in self.config.arms]
            if self.config.seconds is not None:
                live += [arm_name(e, "ops") for e, left in self.ops_left.items() if left]
            arm = self.allocator.pick(arm_seconds, arm_buckets, live)
            if arm is None:
                return None
            name, strategy = arm.split("/")
            ex = next(e for e in self.exports if e.exporter.value == name)
            pick = self._graphs(ex, arm) if strategy == "graphs" else self._ops(ex, arm)
            if pick is not None:
                return pick
            (self.graphs_left if strategy == "graphs" else self.ops_left)[name] = False

    def _graphs(self, ex: ExportOptions, arm: str) -> Pick | None:
        cfg, name = self.config, ex.exporter.value
        i = self.next_slot(name)
        if i is None:
            return None
        if self.is_mutant(i):
            assert self.feedback is not None
            req = RunMutant(**self.feedback.request(name, i), export=ex, generator=cfg.generator, input_mode=cfg.input_mode,
                            cases_dir=str(self.incoming), inject=self.inject.get((name, mutant_key(i))))
            return Pick(req, name, [mutant_key(i)], arm)
        seeds = [cfg.seed + i]
        dynamic = self.is_dynamic(i, name)
        if ex.exporter is Exporter.DYNAMO and cfg.dynamo_batch > 1:
            seeds += [cfg.seed + j for j in self.take(ex, cfg.dynamo_batch - 1, dynamic)]
        elif ex.exporter is Exporter.TORCHSCRIPT and self.torchscript_batch > 1:
            seeds += [cfg.seed + j for j in self.take(ex, self.torchscript_batch - 1, dynamic)]
        if dynamic:
            ex = replace(ex, dynamic=True)
        return Pick(self.seeds_request(ex, seeds), name, list(seeds), arm)

    def _ops(self, ex: ExportOptions, arm: str) -> Pick | None:
        """Op jobs of up to OP_BATCH graphs, each with its jobs of every input mode (their dynamo
        exports are one, as in a sweep). A request runs one variant list: jobs whose variants were
        cut to another list wait, already handed out, for the next pick."""
        name = ex.exporter.value
        waiting = self.waiting_ops.setdefault(name, [])
        for _ in range(64):  # jobs of known triggers are passed over: take more, a bounded number of times
            graphs = len({j.graph_key for _, j in waiting})
            if graphs >= OP_BATCH:
                break
            taken = self.op_jobs[name].take(OP_BATCH - graphs, self.done)
            if not taken:
                break
            waiting += self._unknown(name, taken)
        if not waiting:
            return None
        kind = waiting[0][1].exports  # a request runs one variant list
        jobs = [(i, j) for i, j in waiting if j.exports == kind]
        self.waiting_ops[name] = [(i, j) for i, j in waiting if j.exports != kind]
        sampled = self.op_jobs[name].sampled
        if sampled and is_sampled_request(self.config.seed, jobs[0][0]):
            # this request's jobs also run the sampled variants, those some job of it does not skip
            # (a certain refusal, or struck re-hits of its operator and dtypes: as _unknown cuts them)
            add = tuple(e for e in sampled if any(self._wants(name, j, e) for _, j in jobs))
            jobs = [(i, replace(j, exports=j.exports + add)) for i, j in jobs]
        return self.ops_pick(name, arm, jobs)

    def _unknown(self, name: str, jobs: list[tuple[int, SweepJob]]) -> list[tuple[int, SweepJob]]:
        """``jobs`` less those whose operator, input dtypes and attribute pattern are a known
        trigger of exporter ``name`` (every variant of such a job fails as the finding did: a
        third of a TorchScript campaign's op jobs re-hit an unsupported operator), except an
        exploration share, drawn from the job's key (a fixed bug is still noticed). Avoidance off:
        all of them."""
        table = self.known.current if self.known is not None and self.config.avoid else None
        if table is None:
            return jobs
        out = []
        for i, job in jobs:
            node = job.graph.nodes[0]
            specs = job.graph.specs()
            explored = _explored(job.key, table.explore)
            dtypes = tuple(specs[v].dtype for v in node.inputs)
            pattern = attr_pattern(node.attrs)
            if self._certain(name, node.op, pattern, job.exports[0]):  # not explored: it cannot change within a campaign
                self.ops_skipped[name] += 1
                continue
            known = (self.unsupported[(name, node.op, pattern, job.exports[0])] >= UNSUPPORTED_STRIKES
                     or (bool(table.triggers) and table.match(name, node.op, dtypes, node.attrs) is not None))
            if known and not explored:
                self.ops_skipped[name] += 1
                continue
            if self._struck(name, node.op, dtypes, job.exports[0]) and not explored:
                self.rehit_skipped[name] += 1
                continue
            cuts = [None] + [self._variant_cut(name, node.op, pattern, dtypes, explored, e) for e in job.exports[1:]]
            if any(cuts):
                self.variants_dropped[name] += cuts.count("refused")
                self.rehit_skipped[name] += cuts.count("rehit")
                job = replace(job, exports=tuple(e for e, cut in zip(job.exports, cuts) if cut is None))
            out.append((i, job))
        return out

    def _wants(self, exporter: str, job: SweepJob, variant: ExportOptions) -> bool:
        """Whether ``job`` would run ``variant`` as a non-baseline variant (:meth:`_variant_cut`)."""
        table = self.known.current if self.known is not None and self.config.avoid else None
        if table is None:
            return True
        node = job.graph.nodes[0]
        specs = job.graph.specs()
        dtypes = tuple(specs[v].dtype for v in node.inputs)
        return self._variant_cut(exporter, node.op, attr_pattern(node.attrs), dtypes, _explored(job.key, table.explore), variant) is None

    def _variant_cut(self, exporter: str, op: str, pattern: tuple, dtypes: tuple, explored: bool, variant: ExportOptions) -> str | None:
        """Why an op job's non-baseline ``variant`` is not run, or None: "refused" (sure to be
        refused, or refused UNSUPPORTED_STRIKES times unless the job is explored) or "rehit" (its
        operator and dtypes re-hit a filed finding with it, unless explored)."""
        if self._certain(exporter, op, pattern, variant) or (
                not explored and self.unsupported[(exporter, op, pattern, variant)] >= UNSUPPORTED_STRIKES):
            return "refused"
        if not explored and self._struck(exporter, op, dtypes, variant):
            return "rehit"
        return None

    def _certain(self, exporter: str, op: str, pattern: tuple, variant: ExportOptions) -> bool:
        """Whether ``variant`` is sure to refuse ``op`` with these categorical attributes: this
        campaign saw an ``UnsupportedOperatorError`` for it, or for an ATen operator it reaches
        (:meth:`_refused`). Such a refusal depends on the ATen operator and the opset only, and
        the stack does not change within a campaign, so no exploration share runs it again (the
        share is there to notice a fix between campaigns: triggers learnt from a store still get
        it). 2dce686..f88b952 explored these too: 1,982 TorchScript cases after minute 5 of a
        20-minute campaign re-hit such a refusal, 6.7% of all its cases."""
        return (exporter, op, pattern, variant) in self.certain or self._refused(exporter, op, variant)

    def _refused(self, exporter: str, op: str, variant: ExportOptions) -> bool:
        """Whether ``variant`` refused an ATen operator that catalog entry ``op`` reaches
        (:func:`fuzzer.catalog.reached.aten_of`): 'aten::polygamma' refused in polygamma_n_0 is
        refused in the other polygamma entries and special.polygamma alike (the store's known
        triggers learn it too, but only once a finding at the default options is filed and read)."""
        if not self.refused_aten:
            return False
        from fuzzer.catalog.reached import aten_of

        return any((exporter, a, variant) in self.refused_aten for a in aten_of(op, exporter))

    def _struck(self, exporter: str, op: str, dtypes: tuple, variant: ExportOptions) -> bool:
        return self.config.rehit_strikes and self.rehits[(exporter, op, dtypes, variant)] >= REHIT_STRIKES

    def observe_op(self, exporter: str, job: SweepJob, results: Iterable, known_bucket: Callable[[object], bool] | None = None) -> None:
        """Learn from a finished op job of ``exporter`` (its variants' results, in ``job.exports``
        order): a variant refused as an unsupported operator (a documented limitation,
        :mod:`fuzzer.triage.limitations`) is a strike of (operator, variant); a variant that
        exported once is never dropped. Another dtype, shape or attribute value of such an
        operator is refused the same way; its ATen name may also have a finding filed under
        another catalog entry, so the store's triggers alone do not stop it. With ``known_bucket``
        (whether a result re-hits a bucket known before this job), a re-hit is a strike of
        (operator, input dtypes, variant) and a pass or a new bucket clears it (REHIT_STRIKES)."""
        from fuzzer.triage.buckets import bucket_key
        from fuzzer.triage.limitations import limitation_of, limitation_of_key

        results = list(results)
        if known_bucket is not None and exporter in self.op_jobs:  # later rounds visit productive operators first
            new = {bucket_key(r) for r in results if r.verdict.is_failure and not known_bucket(r)}
            new = {b for b in new if not limitation_of_key(b)}
            if new:
                self.op_jobs[exporter].credit(job.ops[0], len(new))
        node = job.graph.nodes[0]
        op, specs = node.op, job.graph.specs()
        dtypes = tuple(specs[v].dtype for v in node.inputs)
        for e, r in zip(job.exports, results):
            if known_bucket is not None and not e.dynamic:
                rkey = (exporter, op, dtypes, e)
                self.rehits[rkey] = self.rehits[rkey] + 1 if known_bucket(r) else 0
            key = (exporter, op, attr_pattern(node.attrs), e)
            if self.unsupported[key] < 0 or e.dynamic:
                continue
            refused = limitation_of(r.verdict.value, r.exporter, r.error_type, r.error_message or r.error_head) == "unsupported_operator"
            if refused and (r.error_type or "").endswith("UnsupportedOperatorError"):
                self.unsupported[key] = UNSUPPORTED_STRIKES
                self.certain.add(key)
                aten = re.search(r"'aten::(\w+)'", r.error_message or r.error_head or "")
                if aten and not attr_pattern(node.attrs):  # attributes may choose the ATen operator
                    self.refused_aten.add((exporter, aten.group(1), e))
            else:
                self.unsupported[key] = self.unsupported[key] + 1 if refused else -1

    def ops_pick(self, name: str, arm: str, jobs: list[tuple[int, SweepJob]]) -> Pick:
        if is_dynamic_slot(self.config.seed, jobs[0][0], self.config.dynamic_share):
            # this request's jobs also get the baseline options with dynamic sizes (a sweep --dynamic variant)
            from fuzzer.sweep.plan import SweepConfig

            ex = jobs[0][1].exports[0].exporter
            dyn = replace(SweepConfig(exporters=(ex,)).baselines()[ex], dynamic=True)
            jobs = [(i, replace(j, exports=j.exports + (dyn,))) for i, j in jobs]
        exports = jobs[0][1].exports
        cases = tuple(CaseSpec(graph_to_dict(j.graph), j.seed, None, j.context(), j.mode) for _, j in jobs)
        req = RunGraphs(cases, exports, jobs[0][1].mode, return_model=True, max_batch=OP_BATCH,
                        timeout=self.config.case_timeout * len(cases) * len(exports), confirm=True)
        return Pick(req, name, [op_job_key(i) for i, _ in jobs], arm, list(jobs))

    def seeds_request_one(self, ex: ExportOptions, seed: int) -> RunSeeds:
        return self.seeds_request(ex, [seed])

    def seeds_request(self, ex: ExportOptions, seeds: Iterable[int]) -> RunSeeds:
        cfg, seeds = self.config, tuple(seeds)
        inject = self.inject.get((ex.exporter.value, seeds[0])) if len(seeds) == 1 else None
        known = tuple(self.known_path(s) for s in seeds) if self.known is not None else ()
        return RunSeeds(seeds, ex, cfg.generator, cfg.input_mode, str(self.incoming), return_graph=self.feedback is not None, inject=inject,
                        timeout=cfg.case_timeout * len(seeds) if len(seeds) > 1 else None, known=known, avoid=cfg.avoid, cut=cfg.cut)
