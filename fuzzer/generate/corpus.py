"""The corpus: graphs worth mutating (template seeds, and graphs that reached new coverage).

A :class:`Corpus` holds distinct graphs (by :meth:`Graph.structural_key`), at most ``max_size``;
when full, the oldest non-seed entry with the least new coverage goes first. With a directory
attached, every accepted entry is also written there as plain graph JSON (``<key hash>.json``,
atomically), and :meth:`Corpus.load` reads such a directory back (unreadable files are counted
in ``skipped``, never fatal). The repository's ``corpus/seeds/`` holds one instantiation per
sequence template.

Persistence of a campaign's corpus (:meth:`Corpus.save_index` / :meth:`Corpus.open`): besides the
graph files, ``_corpus.json`` lists the entries with their origin and counters. The index is the
truth: a graph file is written before the index names it, and deleted only after the index
dropped it, so a kill at any point leaves a loadable corpus (at worst an orphan file, ignored).

Mutation is a pure function: :func:`mutant_case` (parent graph, optional donor, mutation seed,
options) always gives the same graph; it runs eager PyTorch (each mutant is re-probed), so a
campaign calls it only inside a worker. :func:`next_graph` picks a parent and mutates it in
the calling process (for scripts and tests).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fuzzer.ir import Graph, GraphFormatError, graph_from_json, graph_to_json
from fuzzer.atomic import atomic_write_text

from .generator import GenerationStats, GeneratorOptions, generate
from .mutate import MUTATIONS, replay

#: Share of a feedback-enabled campaign's cases that come from :func:`next_graph` (the rest from
#: ``generate``); see scripts/measure_bias.py.
FEEDBACK_SHARE = 0.5

#: The repository's seed corpus (the sequence templates as small graphs).
SEED_DIR = Path(__file__).resolve().parents[2] / "corpus" / "seeds"


#: Index file of a persisted corpus (not a graph; :meth:`Corpus.load` skips it).
INDEX = "_corpus.json"


def graph_key(g: Graph) -> str:
    return hashlib.sha1(repr(g.structural_key()).encode()).hexdigest()[:16]


@dataclass
class Entry:
    graph: Graph
    origin: str  # "seed" | "coverage"
    new_items: int = 0
    picked: int = 0
    order: int = 0
    source: str = ""  # what brought it in (e.g. "torchscript m12": the case that reached new coverage)


@dataclass
class Corpus:
    max_size: int = 500
    directory: Path | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)  # reason -> count (unreadable files, duplicates...)
    _counter: int = 0

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, graph: Graph, new_items: int = 0, origin: str = "coverage", source: str = "") -> bool:
        """Keep ``graph`` unless an identical one is held; evicts when full. True if added.
        With a directory attached, the graph file and then the index are written."""
        key = graph_key(graph)
        if key in self.entries:
            self.skipped["duplicate"] += 1
            return False
        evicted = None
        if len(self.entries) >= self.max_size:
            evicted = self._evict()
            if evicted is None:
                self.skipped["full of seeds"] += 1
                return False
        self._counter += 1
        self.entries[key] = Entry(graph, origin, new_items, 0, self._counter, source)
        if self.directory is not None:
            atomic_write_text(self.directory / f"{key}.json", graph_to_json(graph) + "\n")
            self.save_index()
            if evicted is not None:
                (self.directory / f"{evicted}.json").unlink(missing_ok=True)
        return True

    def _evict(self) -> str | None:
        """Drop the least useful non-seed entry; its key, or None when only seeds are held."""
        cands = [(e.new_items, e.order, k) for k, e in self.entries.items() if e.origin != "seed"]
        if not cands:
            return None
        _, _, key = min(cands)
        del self.entries[key]
        return key

    def save_index(self) -> None:
        """Write ``_corpus.json`` (entries in order, with origin and counters) atomically."""
        if self.directory is None:
            return
        doc = {"version": 1, "max_size": self.max_size, "counter": self._counter,
               "entries": [{"key": k, "origin": e.origin, "new_items": e.new_items, "picked": e.picked, "order": e.order, "source": e.source}
                           for k, e in sorted(self.entries.items(), key=lambda kv: kv[1].order)]}
        atomic_write_text(self.directory / INDEX, json.dumps(doc) + "\n")

    @staticmethod
    def open(directory: Path, max_size: int = 500) -> "Corpus":
        """A persisted corpus (``_corpus.json`` + graph files), attached to ``directory``.
        Entries whose graph file is missing or unreadable are dropped and counted in ``skipped``;
        raises ValueError (naming the file) when the index itself is unreadable."""
        path = Path(directory) / INDEX
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            rows = [(str(r["key"]), str(r["origin"]), int(r["new_items"]), int(r["picked"]), int(r["order"]), str(r.get("source", ""))) for r in doc["entries"]]
            counter = int(doc["counter"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a readable corpus index ({e})") from None
        c = Corpus(max_size=max_size, directory=Path(directory), _counter=counter)
        for key, origin, new_items, picked, order, source in rows:
            p = Path(directory) / f"{key}.json"
            try:
                g = graph_from_json(p.read_text(encoding="utf-8"), str(p))
            except (OSError, GraphFormatError, ValueError) as e:
                c.skipped[f"unreadable: {type(e).__name__}"] += 1
                continue
            c.entries[key] = Entry(g, origin, new_items, picked, order, source)
        return c

    def pick_donor(self, rng: random.Random) -> Entry:
        """A uniformly chosen entry (a splice partner; counters untouched)."""
        return rng.choice(sorted(self.entries.values(), key=lambda e: e.order))

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
            if p.name == INDEX:
                continue
            try:
                g = graph_from_json(p.read_text(encoding="utf-8"), str(p))
            except (OSError, GraphFormatError, ValueError) as e:
                c.skipped[f"unreadable: {type(e).__name__}"] += 1
                continue
            c.directory, d = None, c.directory  # do not rewrite what we just read
            c.add(g, 0, origin)
            c.directory = d
        return c


def mutate_graph(parent: Graph, donor: Graph | None, seed: int, options: GeneratorOptions, attempts: int = 4) -> Graph | None:
    """1-3 mutations of ``parent`` (``donor`` is the splice partner), determined by the arguments
    alone; None when the parent no longer replays or no attempt applies any mutation. ``seed``
    names the probe values and the mutation choices; ``meta`` records parent, donor, mutations."""
    rng = random.Random(f"onnxfuzz-mutate/{seed}")
    base = replay(parent, seed, options)
    if base is None:
        return None
    for _ in range(attempts):
        g, applied = base, []
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(sorted(MUTATIONS))
            m = MUTATIONS[name](g, rng, seed, options, donor)
            if m is not None:
                g, applied = m, applied + [name]
        if applied:
            meta = {"seed": seed, "parent": graph_key(parent), "mutations": applied, "generator": options.to_dict()}
            if "splice" in applied and donor is not None:
                meta["donor"] = graph_key(donor)
            return Graph(g.inputs, g.nodes, g.outputs, meta)
    return None


def mutant_case(parent: Graph | None, donor: Graph | None, seed: int, options: GeneratorOptions, stats: GenerationStats | None = None) -> Graph:
    """The graph of a mutant case: :func:`mutate_graph`, or ``generate(seed, options)`` when there
    is no parent or no mutation applies (then ``meta`` has no ``"mutations"``). Deterministic:
    the campaign's worker and its crash regeneration call this with the same arguments."""
    if parent is not None:
        g = mutate_graph(parent, donor, seed, options)
        if g is not None:
            return g
    return generate(seed, options, stats)


def next_graph(rng: random.Random | int, corpus: Corpus, options: GeneratorOptions, seed: int | None = None) -> Graph:
    """A mutant of a corpus entry picked with ``rng`` (well-formed, runs in eager), or
    ``generate(seed)`` when the corpus is empty or no mutation succeeds. ``seed`` names the probe
    and input values (default: drawn from ``rng``). Runs eager PyTorch in this process."""
    if isinstance(rng, int):
        rng = random.Random(f"onnxfuzz-mutate/{rng}")
    seed = rng.randrange(2**31) if seed is None else seed
    if not len(corpus):
        return generate(seed, options)
    parent = corpus.pick(rng)
    return mutant_case(parent.graph, corpus.pick_donor(rng).graph, seed, options)


def fits(graph: Graph, options: GeneratorOptions) -> str | None:
    """Why ``graph`` lies outside what ``options`` allow (a reason to count), or None if it fits."""
    if len(graph) > options.max_nodes:
        return "more nodes than max_nodes"
    if options.ops and any(op not in options.ops for op in graph.ops()):
        return "operator outside --ops"
    if any(i.spec.dtype not in options.dtypes for i in graph.inputs):
        return "input dtype outside the allowed dtypes"
    return None


def seed_corpus(options: GeneratorOptions, max_size: int = 500, directory: Path | None = None, seed_dir: Path = SEED_DIR) -> Corpus:
    """The repository's seed graphs that fit ``options`` (the rest counted in ``skipped``), as a
    corpus attached to ``directory`` (every entry and the index written there) when given."""
    src = Corpus.load(seed_dir, max_size=max_size, origin="seed")
    c = Corpus(max_size=max_size, skipped=src.skipped)
    for e in sorted(src.entries.values(), key=lambda e: e.order):
        why = fits(e.graph, options)
        if why is not None:
            c.skipped[f"seed: {why}"] += 1
            continue
        c.add(e.graph, 0, "seed", "corpus/seeds")
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        c.directory = directory
        for key, e in c.entries.items():
            atomic_write_text(directory / f"{key}.json", graph_to_json(e.graph) + "\n")
        c.save_index()
    return c
