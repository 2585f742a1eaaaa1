"""The rewrite-template table and planting it: the committed table is CANDIDATES plus verification,
rewrite_share 0 draws nothing (the generator is unchanged), a positive share plants verified chains
into valid graphs, deterministically."""

import pytest

from fuzzer.catalog import CATALOG
from fuzzer.generate import GenerationStats, GeneratorOptions, generate
from fuzzer.generate.rewrite_templates import CANDIDATES, derive, load_rewrite_templates, project_of
from fuzzer.ir import check_wellformed, graph_to_json


def test_committed_table_is_the_candidates_plus_verification():
    table = load_rewrite_templates()
    assert table, "the committed table is missing (python scripts/rewrite_templates.py writes it)"
    assert [t.rewrite for t in table] == [t.rewrite for t in derive()]
    assert [[c.steps for c in t.chains] for t in table] == [[c.steps for c in t.chains] for t in derive()]
    assert all((s if isinstance(s, str) else s[0]) in CATALOG for chains in CANDIDATES.values() for c in chains for s in c)


def test_the_targeted_rewrites_are_the_observers_names():
    from fuzzer.execute.rewrites import ORT_REWRITES
    from fuzzer.export.rewrites import targeted

    for r in CANDIDATES:
        assert r in ORT_REWRITES if project_of(r) == "onnxruntime" else r in targeted(), r


def test_verification_fired_at_least_thirty_rewrites():
    table = load_rewrite_templates()
    fired = [t for t in table if t.usable_chains()]
    assert len(fired) >= 30
    for t in table:
        if not t.usable_chains():
            assert t.notes, t.rewrite  # every miss says what fired instead


def test_share_zero_draws_nothing(monkeypatch):
    import fuzzer.generate.generator as gen

    o = GeneratorOptions(max_nodes=12, rewrite_share=0.0)
    before = [graph_to_json(generate(s, o)) for s in range(8)]
    monkeypatch.setattr(gen, "_plantable_rewrites", lambda options: pytest.fail("rewrite templates loaded with share 0"))
    assert [graph_to_json(generate(s, o)) for s in range(8)] == before


def test_share_plants_verified_chains_into_valid_graphs():
    stats = GenerationStats()
    o = GeneratorOptions(max_nodes=12, bias=0.0, rewrite_share=0.8)
    for s in range(40):
        g = generate(s, o, stats)
        check_wellformed(g)
    planted = [k for k in stats.planted if k.startswith(("ort:", "onnxscript:"))]
    assert sum(stats.planted[k] for k in planted) >= 40 and len(planted) >= 15
    assert graph_to_json(generate(5, o)) == graph_to_json(generate(5, o))


def test_old_records_rebuild_without_rewrite_templates():
    d = GeneratorOptions().to_dict()
    d.pop("rewrite_share")
    assert GeneratorOptions.from_dict(d).rewrite_share == 0.0
    with pytest.raises(ValueError):
        GeneratorOptions(rewrite_share=1.5)
