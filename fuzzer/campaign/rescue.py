"""What a campaign does when a worker dies, hangs or runs out of memory on a request.

A request that covers several cases (a dynamo batch) is split into requests of one case each,
which run before anything new: one of them takes the worker down again and is the culprit, the
others are recorded as usual. A request of one case that takes its worker down is that case's
verdict (:func:`fuzzer.case.worker_death_result`); its graph and inputs are rebuilt by a worker
(:class:`~fuzzer.workers.protocol.Rebuild`: generation is deterministic, and may itself be what
kills a process) so the case is kept and filed like any other failure.
"""

from __future__ import annotations

import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from fuzzer.case import CaseResult, load_inputs, save_case, worker_death_result
from fuzzer.case.files import mutant_dirname
from fuzzer.ir import Graph, load_graph
from fuzzer.workers import Completion
from fuzzer.workers.protocol import Rebuild, RebuildReply, RunGraphs, RunMutant, RunSeeds

from .config import CampaignConfig


@dataclass
class DeadCase:
    """A case whose worker died, hung or ran out of memory, waiting for its graph to be rebuilt."""

    completion: Completion
    exporter: str
    key: int | str  # seed, or "m<slot>" for a mutant
    mutant: dict | None  # the results line's mutant record


class Rescue:
    def __init__(self, config: CampaignConfig, out_dir: Path, known_path=None):
        self.config = config
        self.known_path = known_path  # seed -> the known-trigger table its graph was generated with (None: none)
        self.out = out_dir
        self.retry: deque = deque()  # Picks split from a request whose worker died, run before anything new
        self.dead: deque[DeadCase] = deque()  # to rebuild by a worker
        self.rebuilding: dict[int, DeadCase] = {}  # pool task id -> its case, being rebuilt

    @property
    def pending(self) -> bool:
        return bool(self.retry or self.dead or self.rebuilding)

    def on_death(self, c: Completion, pick, mutant: dict | None, single) -> bool:
        """Split a multi-case request of generated graphs (``single(export, seed)`` builds each
        part) or of op jobs (per job, then per export variant) and queue the parts; or queue a
        generated graph's one case for rebuilding. Returns False for an op job's variant that
        cannot be split: its death is its result (the caller records it)."""
        from .scheduler import Pick

        req = c.task.request
        if isinstance(req, RunGraphs):
            parts = req.split()
            if parts is None:
                return False
            if len(pick.jobs) > 1:
                self.retry.extend(Pick(p, pick.exporter, [k], pick.arm, [j]) for p, k, j in zip(parts, pick.keys, pick.jobs))
            else:
                self.retry.extend(Pick(p, pick.exporter, pick.keys, pick.arm, pick.jobs) for p in parts)
            return True
        if len(pick.keys) > 1:
            assert isinstance(req, RunSeeds)
            self.retry.extend(Pick(single(req.export, s), pick.exporter, [s], pick.arm) for s in req.seeds)
            return True
        self.dead.append(DeadCase(c, pick.exporter, pick.keys[0], mutant))
        return True

    def rebuild_request(self, d: DeadCase) -> Rebuild:
        req = d.completion.task.request
        if isinstance(req, RunMutant):
            return Rebuild(req.mutation_seed, self.config.generator, self.config.input_mode, str(self._dir(d)), True, req.parent, req.donor)
        avoid = self.known_path(int(d.key)) if self.known_path is not None and self.config.avoid else None
        return Rebuild(int(d.key), self.config.generator, self.config.input_mode, str(self._dir(d)), avoid=avoid)

    def finish(self, d: DeadCase, reply: RebuildReply | None) -> tuple[CaseResult, str | None]:
        """The dead case's result and its case directory under ``incoming/`` (None when its graph
        could not be rebuilt: ``reply`` None or without output)."""
        graph = inputs = None
        cut = self._cut_in_flight(d)
        if cut is not None:  # it died running a graph with known culprits cut out: that graph is the case
            graph, inputs = cut
        elif reply is not None and reply.out is not None:
            where = Path(reply.out)
            graph = load_graph(where / "graph.json")
            inputs = load_inputs(where / "inputs.npz", graph)
        shutil.rmtree(self._dir(d), ignore_errors=True)
        return self._result(d, graph, inputs)

    def _cut_in_flight(self, d: DeadCase):
        """The cut graph and inputs the dead worker was running (fuzzer.case.cut.pending_dir), if
        it had cut the case; None otherwise (the rebuilt seed is the case). Removed once read."""
        from fuzzer.case.cut import clear_pending, load_pending, pending_dir

        req = d.completion.task.request
        if not isinstance(req, RunSeeds) or not req.cut or req.cases_dir is None:
            return None
        where = pending_dir(req.cases_dir, req.export.exporter.value, int(d.key))
        found = load_pending(where)
        clear_pending(where)
        return found

    def _result(self, d: DeadCase, graph: Graph | None, inputs) -> tuple[CaseResult, str | None]:
        c, cfg = d.completion, self.config
        req = c.task.request
        mutant = isinstance(req, RunMutant)
        r = worker_death_result(c.kind, c.detail, c.seconds, req.export, seed=req.mutation_seed if mutant else int(d.key),
                                input_mode=cfg.input_mode, graph=graph, options={"generator": cfg.generator.to_dict(),
                                                                                 **({"export": req.export.to_dict()} if req.export.dynamic else {}),
                                                                                 **({"cuts": graph.meta["cuts"]} if graph is not None and graph.meta.get("cuts") else {})})
        if graph is None:
            return r, None
        path = save_case(self.out / "incoming", graph, inputs, r, mutant_dirname(req.slot, r) if mutant else None)
        return r, str(path)

    def _dir(self, d: DeadCase) -> Path:
        return self.out / ".rebuild" / f"{d.exporter}-{d.completion.task.id}"
