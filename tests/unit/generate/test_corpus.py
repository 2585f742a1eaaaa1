"""Corpus persistence (index + graph files, reload on resume) and deterministic mutants."""

import json
import random

import pytest

from fuzzer.generate import GeneratorOptions, generate
from fuzzer.generate.corpus import INDEX, SEED_DIR, Corpus, graph_key, mutant_case, mutate_graph, seed_corpus
from fuzzer.generate.mutate import replay
from fuzzer.ir import check_wellformed, graph_to_json

OPT = GeneratorOptions(max_nodes=8, bias=0.0)


def _graphs(n, start=0):
    return [generate(s, GeneratorOptions(max_nodes=4, bias=0.0)) for s in range(start, start + n)]


def test_open_restores_entries_origins_and_counters(tmp_path):
    c = Corpus(max_size=10, directory=tmp_path)
    gs = _graphs(4)
    c.add(gs[0], 0, "seed", "corpus/seeds")
    for k, g in enumerate(gs[1:]):
        c.add(g, 3 + k, "coverage", f"torchscript m{k}")
    rng = random.Random(1)
    for _ in range(5):
        c.pick(rng)
    c.save_index()
    again = Corpus.open(tmp_path, max_size=10)
    assert list(again.entries) == list(c.entries)
    for k, e in c.entries.items():
        f = again.entries[k]
        assert (f.origin, f.new_items, f.picked, f.order, f.source) == (e.origin, e.new_items, e.picked, e.order, e.source)
        assert graph_to_json(f.graph) == graph_to_json(e.graph)
    # the same state picks the same entries
    r1, r2 = random.Random(7), random.Random(7)
    assert [graph_key(c.pick(r1).graph) for _ in range(6)] == [graph_key(again.pick(r2).graph) for _ in range(6)]
    # added after reopening: numbered after the old entries
    assert again.add(_graphs(1, 50)[0], 1) and max(e.order for e in again.entries.values()) == 5


def test_eviction_keeps_seeds_and_updates_index_before_deleting(tmp_path):
    c = Corpus(max_size=3, directory=tmp_path)
    gs = _graphs(5)
    c.add(gs[0], 0, "seed")
    c.add(gs[1], 9)
    c.add(gs[2], 1)
    assert c.add(gs[3], 5)  # evicts gs[2] (least new coverage among non-seeds)
    keys = {graph_key(g) for g in (gs[0], gs[1], gs[3])}
    assert set(c.entries) == keys
    assert {p.stem for p in tmp_path.glob("*.json") if p.name != INDEX} == keys
    assert {r["key"] for r in json.loads((tmp_path / INDEX).read_text())["entries"]} == keys
    full = Corpus(max_size=1, directory=tmp_path / "s")
    (tmp_path / "s").mkdir()
    full.add(gs[0], 0, "seed")
    assert not full.add(gs[1], 100) and full.skipped["full of seeds"] == 1


def test_open_counts_missing_graphs_ignores_orphans_and_rejects_a_broken_index(tmp_path):
    c = Corpus(max_size=10, directory=tmp_path)
    gs = _graphs(3)
    for g in gs:
        c.add(g, 1)
    (tmp_path / f"{graph_key(gs[1])}.json").unlink()  # lost file
    (tmp_path / "0123456789abcdef.json").write_text(graph_to_json(_graphs(1, 40)[0]))  # written, never indexed (kill)
    again = Corpus.open(tmp_path)
    assert set(again.entries) == {graph_key(gs[0]), graph_key(gs[2])}
    assert sum(again.skipped.values()) == 1
    (tmp_path / INDEX).write_text("{broken")
    with pytest.raises(ValueError, match="_corpus.json"):
        Corpus.open(tmp_path)


def test_seed_corpus_keeps_what_fits_the_options_and_persists_it(tmp_path):
    tiny = sorted((e.graph for e in Corpus.load(SEED_DIR).entries.values() if len(e.graph) <= 2), key=graph_to_json)[:5]
    small = GeneratorOptions(max_nodes=3, ops=tuple(sorted({op for g in tiny for op in g.ops()})))
    c = seed_corpus(small, directory=tmp_path / "corpus")
    assert len(c) >= len(tiny)
    assert all(len(e.graph) <= 3 and set(e.graph.ops()) <= set(small.ops) and e.origin == "seed" for e in c.entries.values())
    assert sum(n for k, n in c.skipped.items() if k.startswith("seed:")) >= 100
    assert set(Corpus.open(tmp_path / "corpus").entries) == set(c.entries)


def test_mutant_case_is_a_function_of_its_arguments():
    parent = replay(generate(3, GeneratorOptions(max_nodes=5, bias=0.0)), 3, OPT)
    donor = generate(4, GeneratorOptions(max_nodes=3, bias=0.0))
    outs = {}
    for seed in range(2**40, 2**40 + 6):
        a = mutant_case(parent, donor, seed, OPT)
        b = mutant_case(parent, donor, seed, OPT)
        assert graph_to_json(a) == graph_to_json(b)
        check_wellformed(a)
        outs[seed] = a
    mutated = [g for g in outs.values() if g.meta.get("mutations")]
    assert len(mutated) >= 4 and all(g.meta["parent"] == graph_key(parent) for g in mutated)
    assert len({graph_to_json(g) for g in outs.values()}) >= 4  # the seed matters
    # no parent: the case is the generator's graph for the mutation seed
    assert graph_to_json(mutant_case(None, None, 11, OPT)) == graph_to_json(generate(11, OPT))


def test_mutate_graph_gives_up_on_a_parent_that_no_longer_fits():
    parent = generate(5, GeneratorOptions(max_nodes=8, min_nodes=6, bias=0.0))
    assert mutate_graph(parent, None, 1, GeneratorOptions(max_nodes=3, bias=0.0)) is None
