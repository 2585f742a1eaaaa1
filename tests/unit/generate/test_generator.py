import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from fuzzer.generate import GenerationStats, GeneratorOptions, generate, make_inputs
from fuzzer.ir import check_wellformed, graph_to_json
from fuzzer.materialize import build_module


def _runs_in_eager(graph, seed) -> bool:
    m = build_module(graph)
    ins = make_inputs(graph, seed)
    try:
        with torch.no_grad():
            m(*[torch.from_numpy(v) for v in ins.values()])
        return True
    except Exception:
        return False


@settings(max_examples=150)
@given(st.integers(0, 2**31 - 1), st.integers(1, 40))
def test_generated_graphs_are_wellformed_and_run_in_eager(seed, max_nodes):
    g = generate(seed, GeneratorOptions(max_nodes=max_nodes))
    check_wellformed(g)
    assert 1 <= len(g) <= max_nodes
    assert _runs_in_eager(g, seed)


def test_validity_rate_over_many_seeds_is_at_least_99_percent():
    ok = sum(_runs_in_eager(generate(s, GeneratorOptions(max_nodes=20)), s) for s in range(300))
    assert ok >= 297


def test_same_seed_same_graph_and_inputs():
    a, b = generate(42, GeneratorOptions(max_nodes=25)), generate(42, GeneratorOptions(max_nodes=25))
    assert graph_to_json(a) == graph_to_json(b)
    ia, ib = make_inputs(a, 42, "special"), make_inputs(b, 42, "special")
    assert all(np.array_equal(ia[k], ib[k], equal_nan=True) and ia[k].dtype == ib[k].dtype for k in ia)


def test_different_seeds_differ():
    assert len({graph_to_json(generate(s)) for s in range(20)}) == 20


def test_sizes_up_to_50_nodes():
    sizes = [len(generate(s, GeneratorOptions(min_nodes=50, max_nodes=60))) for s in range(5)]
    assert max(sizes) >= 50


def test_reaches_unusual_dtypes_ranks_and_empty_tensors():
    dtypes, ranks, empty = set(), set(), False
    for s in range(300):
        g = generate(s, GeneratorOptions(max_nodes=10))
        for _, spec in g.iter_values():
            dtypes.add(spec.dtype)
            ranks.add(spec.rank)
            empty |= spec.numel == 0
    assert dtypes == {"float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}
    assert ranks == {0, 1, 2, 3, 4, 5}
    assert empty


def test_restricting_ops_and_counting_rejections():
    stats = GenerationStats()
    for s in range(20):
        g = generate(s, GeneratorOptions(max_nodes=8, ops=("transpose", "sin"), rewrite_share=0.0), stats)
        assert set(g.ops()) <= {"transpose", "sin"}
    assert stats.accepted > 0 and stats.attempts >= stats.accepted
    assert any("transpose" in r for r in stats.rejected)  # rank-0/1 primaries are rejected, with a reason


def test_index_inputs_stay_in_bounds():
    for s in range(200):
        g = generate(s, GeneratorOptions(max_nodes=6, ops=("embedding", "gather", "index_select", "sin")))
        ins = make_inputs(g, s, "special")
        for i in g.inputs:
            if i.domain == "index":
                assert ins[i.name].min(initial=0) >= 0 and ins[i.name].max(initial=0) < i.bound


# -- biased generation (templates) ---------------------------------------------------------------
def test_bias_zero_is_the_uniform_generator():
    from fuzzer.generate.templates import load_templates

    assert load_templates()  # the table ships with the package
    for s in range(15):
        stats = GenerationStats()
        g = generate(s, GeneratorOptions(max_nodes=12, bias=0.0, rewrite_share=0.0), stats)
        assert not stats.planted and g.meta["generator"]["bias"] == 0.0


def test_bias_plants_templates_and_stays_valid():
    stats = GenerationStats()
    ok = 0
    for s in range(120):
        g = generate(s, GeneratorOptions(max_nodes=16, bias=0.6, rewrite_share=0.0), stats)
        check_wellformed(g)
        assert len(g) <= 16
        ok += _runs_in_eager(g, s)
    assert ok >= 119
    assert sum(stats.planted.values()) >= 60 and len(stats.planted) >= 30  # many distinct templates
    assert any(r.startswith("template:") for r in stats.rejected)  # failed plants are counted


def test_biased_generation_is_deterministic():
    o = GeneratorOptions(max_nodes=14, bias=0.8)
    assert graph_to_json(generate(3, o)) == graph_to_json(generate(3, o))


def test_bias_out_of_range_is_rejected():
    import pytest

    with pytest.raises(ValueError):
        GeneratorOptions(bias=1.5)
