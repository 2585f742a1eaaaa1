"""Which case a campaign runs next, and as which worker request.

Every exporter walks the same slot sequence: slot ``i`` is graph ``seed + i`` (with feedback on, a
share of the slots are mutants of corpus graphs instead, see :mod:`.feedback`). The next case goes
to the exporter that has used the least worker time (finished plus in flight), so a slow exporter
(dynamo) never starves a fast one (TorchScript). Dynamo seeds are handed out in batches of
``dynamo_batch`` fresh slots (one export call for several graphs); mutant slots met while filling
a batch are deferred and run next, one by one. Slots already done (resume) are skipped.
"""

from __future__ import annotations

from collections import Counter, deque
from pathlib import Path
from typing import Iterable

from fuzzer.export import ExportOptions, Exporter
from fuzzer.workers.protocol import Request, RunMutant, RunSeeds

from .config import CampaignConfig
from .feedback import Feedback, mutant_key


class Scheduler:
    def __init__(self, config: CampaignConfig, done: set, feedback: Feedback | None, incoming: Path, inject: dict | None = None):
        self.config = config
        self.exports = config.exports()
        self.done = done  # (exporter, seed | "m<slot>") of finished cases
        self.feedback = feedback
        self.incoming = incoming  # where workers write failing cases
        self.inject = inject or {}
        self.cursor = {e.exporter.value: 0 for e in self.exports}
        self.deferred = {e.exporter.value: deque() for e in self.exports}  # mutant slots passed over while filling a dynamo batch

    def is_mutant(self, i: int) -> bool:
        return self.feedback is not None and self.feedback.is_mutant(i)

    def case_key(self, i: int) -> int | str:
        return mutant_key(i) if self.is_mutant(i) else self.config.seed + i

    def next_slot(self, name: str, fresh_only: bool = False, scan: int | None = None) -> int | None:
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
            if (name, self.case_key(i)) in self.done:
                continue
            if fresh_only and self.is_mutant(i):
                self.deferred[name].append(i)
                continue
            return i
        return None

    def take(self, ex: ExportOptions, n: int) -> list[int]:
        """Up to ``n`` more fresh slots for ``ex`` (a batch), in order, skipping done ones; mutant
        slots on the way (at most ``4 n`` slots are looked at) are deferred."""
        name, out, scan = ex.exporter.value, [], 4 * n
        while len(out) < n and scan > 0:
            before = self.cursor[name]
            i = self.next_slot(name, fresh_only=True, scan=scan)
            scan -= self.cursor[name] - before
            if i is None:
                break
            out.append(i)
        return out

    def next_request(self, worker_seconds: Counter) -> tuple[Request, str, list[int | str]] | None:
        """The next (request, exporter, case keys) under the fair time share (``worker_seconds``:
        per exporter, finished plus in flight), or None when every exporter's budget of cases is
        handed out."""
        cfg = self.config
        order = sorted(self.exports, key=lambda e: (worker_seconds[e.exporter.value], self.exports.index(e)))
        for ex in order:
            name = ex.exporter.value
            i = self.next_slot(name)
            if i is None:
                continue
            if self.is_mutant(i):
                assert self.feedback is not None
                req = RunMutant(**self.feedback.request(name, i), export=ex, generator=cfg.generator, input_mode=cfg.input_mode,
                                cases_dir=str(self.incoming), inject=self.inject.get((name, mutant_key(i))))
                return req, name, [mutant_key(i)]
            seeds = [cfg.seed + i]
            if ex.exporter is Exporter.DYNAMO and cfg.dynamo_batch > 1:
                seeds += [cfg.seed + j for j in self.take(ex, cfg.dynamo_batch - 1)]
            return self.seeds_request(ex, seeds), name, list(seeds)
        return None

    def seeds_request_one(self, ex: ExportOptions, seed: int) -> RunSeeds:
        return self.seeds_request(ex, [seed])

    def seeds_request(self, ex: ExportOptions, seeds: Iterable[int]) -> RunSeeds:
        cfg, seeds = self.config, tuple(seeds)
        inject = self.inject.get((ex.exporter.value, seeds[0])) if len(seeds) == 1 else None
        return RunSeeds(seeds, ex, cfg.generator, cfg.input_mode, str(self.incoming), return_graph=self.feedback is not None, inject=inject,
                        timeout=cfg.case_timeout * len(seeds) if len(seeds) > 1 else None)
