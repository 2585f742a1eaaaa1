"""Coverage feedback of a campaign: a corpus of graphs that reached new coverage, and mutants of it.

With ``CampaignConfig.feedback`` on, every exporter's case sequence (slot ``i`` = the ``i``-th
case of that exporter) mixes two kinds of case:

- a *fresh* slot runs graph ``generate(seed + i)``, as without feedback;
- a *mutant* slot (a share ``mutate_share`` of the slots, decided by a hash of the campaign seed
  and ``i`` alone, so resume agrees with the first run) runs a mutant of a corpus entry. The
  campaign picks the parent (weighted by the coverage it brought, see :meth:`Corpus.pick`), a
  splice donor and a mutation seed from ``Random(campaign seed, exporter, i)`` and sends them to
  a worker, which mutates (eager PyTorch: never in the campaign process) and runs the case, and
  returns the mutant's graph.

A case whose exported model holds coverage items (op types, typed ops, n-grams, paper sequences)
that exporter had not reached before adds its graph to the corpus. The corpus starts from the
repository's seeds (``corpus/seeds``, the sequence templates as small graphs) and lives in
``DIR/corpus`` (:meth:`Corpus.open` on resume).

Case keys (results.jsonl, resume): a fresh case is ``(exporter, seed)``; a mutant case is
``(exporter, "m<slot>")``, and its line carries ``"mutant": {"slot", "parent", "donor",
"mutation_seed", "mutations"}`` (parent/donor: corpus keys; ``mutations`` empty when no mutation
applied and the worker generated from the mutation seed instead). Given the same parent, donor
and mutation seed, :func:`fuzzer.generate.corpus.mutant_case` rebuilds the same graph.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping

from fuzzer.generate import GeneratorOptions
from fuzzer.generate.corpus import INDEX, Corpus, seed_corpus
from fuzzer.ir import graph_from_dict, graph_to_dict

#: Mutation seeds lie at or above this, apart from every fresh seed a campaign realistically uses
#: (the findings store keys cases by exporter and seed).
MUTATION_SEED_BASE = 2**40


def mutant_key(slot: int) -> str:
    return f"m{slot}"


def is_mutant_slot(seed: int, share: float, slot: int) -> bool:
    """Whether slot ``slot`` (of every exporter) of a campaign with ``seed`` is a mutant: a
    function of these three alone, so a resumed campaign agrees with its first run."""
    if share <= 0.0:
        return False
    h = hashlib.sha256(f"onnxfuzz-feedback/{seed}/{slot}".encode()).digest()
    return int.from_bytes(h[:8], "little") / 2.0**64 < share


class Feedback:
    """The corpus and the mutant schedule of one campaign (lives in the campaign process; runs
    no PyTorch). ``coverage``: the campaign's coverage so far (e.g. restored on resume), whose
    items then count as already reached."""

    def __init__(self, seed: int, share: float, options: GeneratorOptions, directory: Path, max_size: int = 500, coverage=None):
        self.seed = seed
        self.share = share
        self.options = options
        if (directory / INDEX).exists():
            self.corpus = Corpus.open(directory, max_size)
        else:
            self.corpus = seed_corpus(options, max_size, directory)
        self.seen: dict[str, set[str]] = {}  # exporter -> "kind:item" reached so far
        for e, c in (coverage.by_exporter.items() if coverage is not None else ()):
            self.seen[e] = {f"{k}:{x}" for k in ("ops", "triples", "bigrams", "trigrams", "paper") for x in getattr(c, k)}
        self.added = 0  # entries added by this run
        self.rejected: Counter = Counter()  # why a new-coverage graph was not added

    def is_mutant(self, slot: int) -> bool:
        return is_mutant_slot(self.seed, self.share, slot)

    def request(self, exporter: str, slot: int) -> dict:
        """The worker request fields of a mutant slot: parent and donor graphs (JSON documents,
        None when the corpus is empty), mutation seed, and the corpus keys for the record."""
        rng = random.Random(f"onnxfuzz-feedback/{self.seed}/{exporter}/{slot}")
        mseed = MUTATION_SEED_BASE + rng.randrange(2**31)
        parent = donor = None
        if len(self.corpus):
            parent = self.corpus.pick(rng)
            donor = self.corpus.pick_donor(rng)
        return {
            "slot": slot, "mutation_seed": mseed,
            "parent": graph_to_dict(parent.graph) if parent else None, "donor": graph_to_dict(donor.graph) if donor else None,
            "parent_key": _key_of(self.corpus, parent), "donor_key": _key_of(self.corpus, donor),
        }

    def new_items(self, exporter: str, items: Mapping[str, Iterable[str]]) -> int:
        """How many of one model's coverage items ``exporter`` had not reached; marks them reached."""
        seen = self.seen.setdefault(exporter, set())
        new = {f"{k}:{x}" for k, xs in items.items() for x in xs} - seen
        seen |= new
        return len(new)

    def observe(self, exporter: str, items: Mapping[str, Iterable[str]] | None, graph: dict | None, source: str) -> int:
        """Account one exported model; a graph that brought new items joins the corpus. Returns
        the number of new items."""
        if not items:
            return 0
        new = self.new_items(exporter, items)
        if new and graph is not None:
            if self.corpus.add(graph_from_dict(graph), new, "coverage", source):
                self.added += 1
            else:
                self.rejected["duplicate or full"] += 1
        return new

    def close(self) -> None:
        """Persist the pick counters (the entries themselves are written as they are added)."""
        self.corpus.save_index()


def _key_of(corpus: Corpus, entry) -> str | None:
    if entry is None:
        return None
    return next(k for k, e in corpus.entries.items() if e is entry)
