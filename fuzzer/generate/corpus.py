"""The corpus: graphs worth mutating (template seeds, and graphs that reached new coverage).

A :class:`Corpus` holds distinct graphs (by :meth:`Graph.structural_key`), at most ``max_size``;
when full, the oldest non-seed entry with the least new coverage goes first. With a directory
attached, every accepted entry is also written there as plain graph JSON (``<key hash>.json``,
atomically), and :meth:`Corpus.load` reads such a directory back (unreadable files are counted
in ``skipped``, never fatal). The repository's ``corpus/seeds/`` holds one instantiation per
sequence template.

:func:`next_graph` is what a campaign loop calls instead of ``generate()`` for its feedback share:
it mutates a corpus entry (1-3 mutations from :data:`fuzzer.generate.mutate.MUTATIONS`) and falls
back to ``generate(seed, options)`` when the corpus is empty or every mutation attempt fails.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fuzzer.ir import Graph, GraphFormatError, graph_from_json, graph_to_json
from fuzzer.store_util import atomic_write_text

from .generator import GeneratorOptions, generate
from .mutate import MUTATIONS, replay

#: Share of a feedback-enabled campaign's cases that come from :func:`next_graph` (the rest from
#: ``generate``); see scripts/measure_bias.py.
FEEDBACK_SHARE = 0.5

#: The repository's seed corpus (the sequence templates as small graphs).
SEED_DIR = Path(__file__).resolve().parents[2] / "corpus" / "seeds"


def graph_key(g: Graph) -> str:
    return hashlib.sha1(repr(g.structural_key()).encode()).hexdigest()[:16]


@dataclass
class Entry:
    graph: Graph
    origin: str  # "seed" | "coverage"
    new_items: int = 0
    picked: int = 0
    order: int = 0


@dataclass
class Corpus:
    max_size: int = 500
    directory: Path | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)  # reason -> count (unreadable files, duplicates...)
    _counter: int = 0

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, graph: Graph, new_items: int = 0, origin: str = "coverage") -> bool:
        """Keep ``graph`` unless an identical one is held; evicts when full. True if added."""
        key = graph_key(graph)
        if key in self.entries:
            self.skipped["duplicate"] += 1
            return False
        if len(self.entries) >= self.max_size and not self._evict():
            self.skipped["full of seeds"] += 1
            return False
        self._counter += 1
        self.entries[key] = Entry(graph, origin, new_items, 0, self._counter)
        if self.directory is not None:
            atomic_write_text(self.directory / f"{key}.json", graph_to_json(graph) + "\n")
        return True

    def _evict(self) -> bool:
        cands = [(e.new_items, e.order, k) for k, e in self.entries.items() if e.origin != "seed"]
        if not cands:
            return False
        _, _, key = min(cands)
        del self.entries[key]
        if self.directory is not None:
            (self.directory / f"{key}.json").unlink(missing_ok=True)
        return True

    def pick(self, rng: random.Random) -> Entry:
        """An entry, favouring ones that brought more new coverage and were picked less."""
        items = sorted(self.entries.values(), key=lambda e: e.order)
        weights = [(1.0 + e.new_items) / (1.0 + e.picked) for e in items]
        e = rng.choices(items, weights)[0]
        e.picked += 1
        return e

    @staticmethod
    def load(directory: Path, max_size: int = 500, origin: str = "seed", attach: bool = False) -> "Corpus":
        """Read every ``*.json`` graph in ``directory`` (sorted by name)."""
        c = Corpus(max_size=max_size, directory=directory if attach else None)
        for p in sorted(Path(directory).glob("*.json")):
            try:
                g = graph_from_json(p.read_text(encoding="utf-8"), str(p))
            except (OSError, GraphFormatError, ValueError) as e:
                c.skipped[f"unreadable: {type(e).__name__}"] += 1
                continue
            c.directory, d = None, c.directory  # do not rewrite what we just read
            c.add(g, 0, origin)
            c.directory = d
        return c


def next_graph(rng: random.Random | int, corpus: Corpus, options: GeneratorOptions, seed: int | None = None) -> Graph:
    """A mutant of a corpus entry (well-formed, runs in eager), or ``generate(seed)`` when the
    corpus is empty or no mutation succeeds in a few attempts. ``seed`` names the probe and
    input values (default: drawn from ``rng``); ``meta`` records the parent and the mutations."""
    if isinstance(rng, int):
        rng = random.Random(f"onnxfuzz-mutate/{rng}")
    seed = rng.randrange(2**31) if seed is None else seed
    if len(corpus):
        for _ in range(4):
            parent = corpus.pick(rng)
            g = replay(parent.graph, seed, options)
            if g is None:
                continue
            applied = []
            for _ in range(rng.randint(1, 3)):
                name = rng.choice(sorted(MUTATIONS))
                donor = corpus.pick(rng).graph if name == "splice" else None
                m = MUTATIONS[name](g, rng, seed, options, donor)
                if m is not None:
                    g = m
                    applied.append(name)
            if applied:
                return Graph(g.inputs, g.nodes, g.outputs, {"seed": seed, "parent": graph_key(parent.graph), "mutations": applied, "generator": options.to_dict()})
    return generate(seed, options)
