import random

import torch

from fuzzer.generate import GeneratorOptions, generate, make_inputs
from fuzzer.generate.corpus import INDEX, SEED_DIR, Corpus, graph_key, next_graph
from fuzzer.generate.mutate import MUTATIONS, replay
from fuzzer.ir import check_wellformed, graph_to_json
from fuzzer.materialize import build_module

OPT = GeneratorOptions(max_nodes=14, bias=0.0)


def _runs(g, seed) -> bool:
    ins = make_inputs(g, seed)
    try:
        with torch.no_grad():
            build_module(g)(*[torch.from_numpy(v) for v in ins.values()])
        return True
    except Exception:
        return False


def test_replay_is_a_fixed_point_of_generated_graphs():
    for s in range(10):
        g = replay(generate(s, OPT), s, OPT)
        assert g is not None
        assert graph_to_json(replay(g, s, OPT)) == graph_to_json(g)


def test_every_mutation_yields_wellformed_running_graphs():
    done = {name: 0 for name in MUTATIONS}
    for s in range(25):
        base = replay(generate(s, GeneratorOptions(max_nodes=6, bias=0.0)), s, OPT)
        donor = replay(generate(1000 + s, GeneratorOptions(max_nodes=4, bias=0.0)), s, OPT)
        for name, m in MUTATIONS.items():
            out = m(base, random.Random(s), s, OPT, donor)
            if out is None:
                continue
            check_wellformed(out)
            assert len(out) <= OPT.max_nodes
            assert out.structural_key() != base.structural_key() or name in ("retype", "reshape", "replace")
            assert _runs(out, s), (name, graph_to_json(out))
            done[name] += 1
    assert all(n >= 3 for n in done.values()), done  # every operator works on some graphs


def test_splice_connects_or_appends_the_donor():
    g = replay(generate(1, GeneratorOptions(max_nodes=4, bias=0.0)), 1, OPT)
    d = replay(generate(2, GeneratorOptions(max_nodes=4, bias=0.0)), 1, OPT)
    for s in range(10):
        out = MUTATIONS["splice"](g, random.Random(s), 1, OPT, d)
        if out is not None:
            assert len(out) == len(g) + len(d)
            return
    raise AssertionError("splice never succeeded")


def test_corpus_dedups_bounds_and_persists(tmp_path):
    c = Corpus(max_size=3, directory=tmp_path)
    graphs = [generate(s, OPT) for s in range(5)]
    assert c.add(graphs[0], 5) and not c.add(graphs[0], 5)
    assert c.skipped["duplicate"] == 1
    for g in graphs[1:]:
        c.add(g, 1)
    assert len(c) == 3 and graph_key(graphs[0]) in c.entries  # the one with most new coverage stays
    assert len([p for p in tmp_path.glob("*.json") if p.name != INDEX]) == 3  # the evicted entry's file is gone
    (tmp_path / "broken.json").write_text("{not json")
    again = Corpus.load(tmp_path)
    assert set(again.entries) == set(c.entries) and sum(again.skipped.values()) == 1


def test_seed_corpus_and_next_graph():
    seeds = Corpus.load(SEED_DIR)
    assert len(seeds) >= 150 and set(seeds.skipped) <= {"duplicate"}  # templates sharing a chain share a seed
    rng = random.Random(0)
    mutated = 0
    for s in range(20):
        g = next_graph(rng, seeds, OPT, seed=s)
        check_wellformed(g)
        assert _runs(g, s)
        mutated += "mutations" in g.meta
    assert mutated >= 15
    assert next_graph(3, Corpus(), OPT, seed=9).structural_key() == generate(9, OPT).structural_key()  # empty corpus: generate
