"""The systematic pair plan: every producer -> consumer pair of catalog operators whose output can
legally feed the other's primary input, across dtypes.

How a pair is decided (all of it deterministic, no randomness outside seeded ``random.Random``):

1. **Producers.** For each catalog op P and each requested dtype P takes, P is built on a primary
   input of every rank P accepts (the typical shapes of :data:`fuzzer.sweep.plan.TYPICAL_SHAPES`),
   with one attribute sample from P's own sampler, and probe-run in eager PyTorch like the
   generator does (:func:`fuzzer.generate.single_op_graph`). The probe gives the *link*: the spec
   (dtype, shape) of P's first output. Producers are cached per process.
2. **Legality.** Consumer C may follow (P, dtype) when C's catalog tables take the link
   (``OpSpec.accepts``: dtype and rank). Among P's variants, the one whose input rank is nearest the
   typical rank 3 and whose link C accepts is used (so a rank-4 consumer such as conv2d gets the
   producer on a rank-4 input).
3. **Eager probing.** C is built on the link with one attribute sample and probe-run; a pair whose
   consumer rejects the link (its sampler, or eager PyTorch) is counted in
   :class:`~fuzzer.sweep.plan.PlanStats` with the reason, and the next fitting producer variant is
   tried. The two one-op graphs are chained (:func:`fuzzer.sweep.plan.chain`).

Order: the (producer, dtype, consumer) candidates are listed in catalog order, then shuffled with
``random.Random(f"onnxfuzz-pairs/{seed}")``; probing is lazy, in that order, so the first N jobs of
the plan are a uniform sample of the whole matrix (``--sample N``) and a resumed sweep walks the
same order. A pair is one graph; it becomes one job per input mode, each run through every export
variant of the sweep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from fuzzer.catalog import CATALOG, NewInput, OpSpec
from fuzzer.generate import GenerationError, single_op_graph
from fuzzer.ir import Graph, TensorSpec

from .plan import TYPICAL_SHAPES, PlanStats, SweepConfig, _sample_builds, chain

#: Producer input ranks, most preferred first (3 is the sweeps' typical rank).
RANK_PREFERENCE = (3, 2, 4, 1, 5, 0)


@dataclass(frozen=True)
class Producer:
    """Catalog op ``op`` applied to a primary input of ``shape`` and ``dtype`` (one attribute
    sample); ``link`` is the spec of its first output, from the eager probe."""

    op: str
    dtype: str
    shape: tuple[int, ...]
    graph: Graph

    @property
    def link(self) -> TensorSpec:
        return self.graph.nodes[-1].outputs[0].spec


@lru_cache(maxsize=None)
def _producer(op: str, dtype: str, rank: int, attr_tries: int) -> tuple[Producer | None, str | None]:
    """P on a typical shape of ``rank``, or (None, reason)."""
    spec_op = CATALOG[op]
    shape = TYPICAL_SHAPES[rank]
    stats = PlanStats()
    builds = _sample_builds(spec_op, TensorSpec(shape, dtype), attr_tries, 1, stats)
    if not builds:
        return None, "pair: producer build rejects the input"
    inputs, attrs, params = builds[0]
    try:
        g = single_op_graph(op, inputs, attrs, params)
    except GenerationError:
        return None, "pair: eager PyTorch rejects the producer"
    return Producer(op, dtype, shape, g), None


def producers(op: str, dtype: str, attr_tries: int = 8) -> list[Producer]:
    """P's variants for ``dtype``, one per input rank it takes, preferred rank first."""
    spec_op = CATALOG[op]
    out = []
    for r in RANK_PREFERENCE:
        if spec_op.ranks[0] <= r <= spec_op.ranks[1] and dtype in spec_op.dtypes:
            p, _ = _producer(op, dtype, r, attr_tries)
            if p is not None:
                out.append(p)
    return out


def pair_ops(config: SweepConfig) -> tuple[list[str], list[str]]:
    """Producer and consumer operators: with ``config.ops``, pairs where both ops are listed."""
    names = list(config.ops) if config.ops else list(CATALOG)
    return names, names


def candidates(config: SweepConfig, stats: PlanStats | None = None) -> list[tuple[str, str, str]]:
    """Every (producer, dtype, consumer) whose tables fit (some producer variant's link is
    accepted by the consumer), in the plan's shuffled order."""
    stats = stats if stats is not None else PlanStats()
    prods, cons = pair_ops(config)
    out: list[tuple[str, str, str]] = []
    for p in prods:
        for dtype in [d for d in config.dtypes if d in CATALOG[p].dtypes]:
            variants = producers(p, dtype, config.attr_tries)
            if not variants:
                stats.skipped["pair: no producer variant runs in eager"] += 1
                continue
            for c in cons:
                if any(CATALOG[c].accepts(v.link) for v in variants):
                    out.append((p, dtype, c))
                else:
                    stats.skipped["pair: consumer's dtype/rank table does not take the producer's output"] += 1
    random.Random(f"onnxfuzz-pairs/{config.pairs_seed}").shuffle(out)
    return out


def _consumer_graph(op: OpSpec, link: TensorSpec, attr_tries: int, stats: PlanStats) -> Graph | None:
    builds = _sample_builds(op, link, attr_tries, 1, stats)
    if not builds:
        return None
    inputs, attrs, params = builds[0]
    if inputs[0].spec != link:
        stats.skipped["pair: consumer replaces its primary input"] += 1
        return None
    try:
        return single_op_graph(op.name, [NewInput(link, inputs[0].domain)] + inputs[1:], attrs, params)
    except GenerationError:
        stats.skipped["pair: eager PyTorch rejects the consumer on the producer's output"] += 1
        return None


def pair_graph(producer: str, dtype: str, consumer: str, attr_tries: int = 8, stats: PlanStats | None = None) -> tuple[Producer, Graph] | None:
    """The two-op graph of one candidate (None, counted in ``stats``, when no producer variant's
    output is taken by the consumer in eager PyTorch)."""
    stats = stats if stats is not None else PlanStats()
    op_c = CATALOG[consumer]
    for prod in producers(producer, dtype, attr_tries):
        if not op_c.accepts(prod.link):
            continue
        g2 = _consumer_graph(op_c, prod.link, attr_tries, stats)
        if g2 is not None:
            return prod, chain(prod.graph, g2)
    return None


def pair_graphs(config: SweepConfig, stats: PlanStats) -> Iterator[tuple[tuple[str, ...], str, tuple[int, ...], Graph]]:
    """The plan's graphs in its order (lazily probed): (ops, dtype, producer input shape, graph)."""
    cands = candidates(config, stats)
    stats.candidates = len(cands)
    for p, dtype, c in cands:
        built = pair_graph(p, dtype, c, config.attr_tries, stats)
        if built is None:
            stats.skipped["pair: no legal instance"] += 1
            continue
        prod, g = built
        yield (p, c), dtype, prod.shape, g
