"""The shrinker: a driver over small named passes, one gate, one notion of simpler.

Design (after Hypothesis's shrinker, adapted to a graph IR instead of a choice sequence):

- The test case is a :class:`~fuzzer.minimize.edits.Candidate` (graph + input values). Passes
  (:mod:`fuzzer.minimize.passes`) build candidates from ``best`` with pure IR edits and hand each
  to :meth:`Shrinker.consider`; they never assign ``best``.
- :meth:`Shrinker.consider` is the only gate: the candidate must be new (a cache of every
  identity already tried), strictly simpler by :func:`~fuzzer.minimize.order.simplicity_key`,
  well-formed (checked; a failure is *our* bug and raises), accepted by eager PyTorch (output specs
  re-inferred), and, run through the injected ``runner``, it must still show the same bug
  (:func:`fuzzer.triage.signature.same_bug`). Same-bug keeps the shrinker from sliding onto another
  defect; strictly-simpler makes every accepted step progress, so the search terminates.
- The driver runs the passes in order, round after round, until a whole round changes nothing
  (``fixpoint``) or the time budget is spent (``time budget``); the best so far is always kept.
  Each pass is measured: calls (candidates proposed), runs, successes, seconds.

Why passes and not ddmin: ddmin deletes subsets of a flat list and needs every subset to be a
test case; on a dataflow graph almost no subset is (a removed node leaves its readers dangling), so
ddmin spends its runs on rejects. Graph-aware passes make only well-formed candidates, and the
"feed from inputs" edit removes a node *and its whole upstream cone* in one run, which is where a
30-node case loses most of its size. ddmin's one good idea, halving, survives in the value pass.

The runner is injected (``runner(graph, inputs) -> CaseResult``) so the campaign can pass a
process-isolated one for cases that kill the process.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from fuzzer.generate import EagerRejected, evaluate, reinfer
from fuzzer.ir import Graph, WellformednessError, check_wellformed
from fuzzer.triage.signature import NotAFailure, Signature, same_bug, signature_of

from .edits import Candidate, canonical_names, tidy
from .order import is_simpler, simplicity_key
from .passes import PASSES

if TYPE_CHECKING:
    from fuzzer.case import CaseResult

Runner = Callable[[Graph, Mapping[str, np.ndarray]], "CaseResult"]


class MinimizerBug(AssertionError):
    """A pass built an ill-formed candidate: our bug, never the target's."""


class _OutOfTime(Exception):
    pass


@dataclass
class PassStats:
    calls: int = 0  # candidates proposed
    runs: int = 0  # candidates that reached the runner
    successes: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"calls": self.calls, "runs": self.runs, "successes": self.successes, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class MinimizeResult:
    """Outcome of one minimization: the smallest case found and how the search went."""

    original: Candidate
    best: Candidate
    result: "CaseResult"  # the run of ``best``
    signature: Signature  # of ``best``: the bucket key
    stop_reason: str  # "fixpoint" | "time budget" | "does not reproduce"
    seconds: float
    candidates: int  # proposed by passes (cache hits and non-simpler ones included)
    runs: int  # executed through the runner
    passes: Mapping[str, PassStats] = field(default_factory=dict)
    rejections: Mapping[str, int] = field(default_factory=dict)

    @property
    def reproduced(self) -> bool:
        return self.stop_reason != "does not reproduce"

    def stats(self) -> dict:
        g0, g1 = self.original.graph, self.best.graph
        return {
            "ops_before": len(g0), "ops_after": len(g1), "ops_list_after": g1.ops(),
            "inputs_before": len(g0.inputs), "inputs_after": len(g1.inputs),
            "seconds": round(self.seconds, 3), "candidates": self.candidates, "runs": self.runs,
            "stop_reason": self.stop_reason, "passes": {k: v.to_dict() for k, v in self.passes.items()},
            "rejections": dict(self.rejections),
        }


class Shrinker:
    """Minimize one failing case. ``reference`` is the signature to keep (default: the
    original's own, from a first run that also checks the case reproduces)."""

    def __init__(self, graph: Graph, inputs: Mapping[str, np.ndarray], runner: Runner, *, seconds: float = 60.0, reference: Signature | None = None):
        start = tidy(graph, {i.name: np.asarray(inputs[i.name]) for i in graph.inputs})
        if start is None:
            raise ValueError("the graph has nothing to minimize (no outputs)")
        self.original = start
        self.runner = runner
        self.budget = seconds
        self.reference = reference
        self.best = start
        self.best_key = simplicity_key(start.graph, start.inputs)
        self.best_result: "CaseResult | None" = None
        self.tried: set = set()
        self.rejections: Counter = Counter()
        self.pass_stats: dict[str, PassStats] = {p.__name__: PassStats() for p in PASSES}
        self._current: PassStats | None = None
        self._deadline = 0.0
        self._t0 = 0.0
        self._candidates = 0
        self._runs = 0
        self._intermediates: tuple[tuple, dict[str, np.ndarray]] | None = None

    # -- the gate ----------------------------------------------------------------------------
    def consider(self, cand: Candidate | None) -> bool:
        """Accept ``cand`` as the new best iff it is new, strictly simpler, well-formed, runs in
        eager and shows the same bug. Raises when the time budget is spent."""
        if time.monotonic() > self._deadline:
            raise _OutOfTime
        if self._current is not None:
            self._current.calls += 1
        self._candidates += 1
        if cand is None:
            self.rejections["edit does not apply"] += 1
            return False
        ident = cand.identity()
        if ident in self.tried:
            self.rejections["already tried"] += 1
            return False
        self.tried.add(ident)
        key = simplicity_key(cand.graph, cand.inputs)
        if not is_simpler(key, self.best_key):
            self.rejections["not simpler"] += 1
            return False
        try:
            check_wellformed(cand.graph)
        except WellformednessError as e:
            raise MinimizerBug(f"a minimizer pass built an ill-formed graph: {e}") from None
        for i in cand.graph.inputs:
            a = cand.inputs[i.name]
            if tuple(a.shape) != i.spec.shape or str(a.dtype) != i.spec.dtype:
                raise MinimizerBug(f"a minimizer pass gave input {i.name} values {a.dtype}{list(a.shape)} for spec {i.spec}")
        graph = reinfer(cand.graph, dict(cand.inputs))
        if graph is None:
            self.rejections["eager rejects"] += 1
            return False
        cand = Candidate(graph, cand.inputs)
        result = self._run(cand)
        try:
            sig = signature_of(result)
        except NotAFailure:
            self.rejections[f"no failure ({result.verdict.value})"] += 1
            return False
        assert self.reference is not None
        if not same_bug(self.reference, sig):
            self.rejections[f"other bug ({result.verdict.value})"] += 1
            return False
        self.best, self.best_key, self.best_result = cand, key, result
        if self._current is not None:
            self._current.successes += 1
        return True

    def _run(self, cand: Candidate) -> "CaseResult":
        self._runs += 1
        if self._current is not None:
            self._current.runs += 1
        return self.runner(cand.graph, cand.inputs)

    # -- what passes may ask -------------------------------------------------------------------
    def intermediates(self) -> dict[str, np.ndarray]:
        """Every value of ``best`` in eager PyTorch on ``best``'s inputs (cached per best)."""
        ident = self.best.identity()
        if self._intermediates is None or self._intermediates[0] != ident:
            try:
                env = evaluate(self.best.graph, dict(self.best.inputs))
            except EagerRejected:
                env = {}
            self._intermediates = (ident, {k: t.detach().numpy().copy() for k, t in env.items()})
        return self._intermediates[1]

    def preferred_output(self) -> str | None:
        """The graph output whose difference is the worst (mismatches), else None."""
        w = self.best_result.worst if self.best_result is not None else None
        if w is None or w.index >= len(self.best.graph.outputs):
            return None
        return self.best.graph.outputs[w.index]

    # -- the driver ------------------------------------------------------------------------------
    def start(self) -> Signature | None:
        """Run the original once: start the clock, check it fails (with ``reference``'s bug when
        one was given) and adopt its signature. None if it does not reproduce."""
        self._t0 = time.monotonic()
        self._deadline = self._t0 + self.budget
        first = self._run(self.original)
        self.best_result = first
        try:
            sig = signature_of(first)
        except NotAFailure:
            return None
        if self.reference is not None and not same_bug(self.reference, sig):
            return None
        if self.reference is None:
            self.reference = sig
        self.tried.add(self.original.identity())
        return sig

    def run_pass(self, p: Callable[["Shrinker"], None]) -> None:
        """Run one pass over ``best``, measured in :attr:`pass_stats`."""
        self._current = self.pass_stats.setdefault(p.__name__, PassStats())
        tp = time.monotonic()
        try:
            p(self)
        finally:
            self._current.seconds += time.monotonic() - tp
            self._current = None

    def run(self) -> MinimizeResult:
        """Start, then run the passes round after round until a round changes nothing or the
        budget is spent; the best so far is the result either way."""
        if self.start() is None:
            assert self.best_result is not None
            try:
                sig = signature_of(self.best_result)
            except NotAFailure:
                sig = None
            return self._finish(self._t0, "does not reproduce", self.best_result, sig or self.reference)
        stop = "fixpoint"
        try:
            while True:
                before = self.best_key
                for p in PASSES:
                    self.run_pass(p)
                if self.best_key == before:
                    break
        except _OutOfTime:
            stop = "time budget"
        assert self.best_result is not None
        self._rename()
        return self._finish(self._t0, stop, self.best_result, signature_of(self.best_result))

    def _rename(self) -> None:
        """Give ``best`` canonical names; one more run checks the bug survives the renaming
        (it should: no signature looks at names) and gives the model with the new names."""
        renamed = canonical_names(self.best)
        if renamed.identity() == self.best.identity():
            return
        result = self._run(renamed)
        try:
            ok = same_bug(self.reference, signature_of(result))  # type: ignore[arg-type]
        except NotAFailure:
            ok = False
        if ok:
            self.best, self.best_result = renamed, result
        else:
            self.rejections["renaming changed the failure"] += 1

    def _finish(self, t0: float, stop: str, result: "CaseResult", sig: Signature | None) -> MinimizeResult:
        if sig is None:
            sig = Signature(result.verdict.value, result.exporter, "(no failure)")
        return MinimizeResult(
            original=self.original, best=self.best, result=result, signature=sig, stop_reason=stop,
            seconds=time.monotonic() - t0, candidates=self._candidates, runs=self._runs,
            passes=dict(self.pass_stats), rejections=dict(self.rejections),
        )


def minimize(graph: Graph, inputs: Mapping[str, np.ndarray], runner: Runner, *, seconds: float = 60.0, reference: Signature | None = None) -> MinimizeResult:
    """Search for the simplest case that still shows the bug of ``graph`` on ``inputs``."""
    return Shrinker(graph, inputs, runner, seconds=seconds, reference=reference).run()
