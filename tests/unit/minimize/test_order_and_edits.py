"""The sort key and the IR edits, without running any export."""

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from fuzzer.generate import GeneratorOptions, generate, make_inputs, reinfer
from fuzzer.ir import TensorSpec, check_wellformed
from fuzzer.minimize import simplicity_key
from fuzzer.minimize.edits import Candidate, bypass, canonical_names, feed_from_inputs, keep_outputs, resize, truncate_at
from fuzzer.minimize.order import DTYPE_COST, values_cost
from fuzzer.generate import evaluate


def test_fewer_operators_beat_everything_else():
    g = generate(3, GeneratorOptions(max_nodes=6, min_nodes=6))
    x = make_inputs(g, 3)
    c = feed_from_inputs(Candidate(g, x), len(g.nodes) - 2, {k: t.numpy() for k, t in evaluate(g, x).items()})
    assert c is not None and len(c.graph) < len(g)
    assert simplicity_key(c.graph, c.inputs) < simplicity_key(g, x)


def test_values_cost_prefers_fewer_distinct_then_small_integers():
    assert values_cost({"a": np.zeros(4)}) < values_cost({"a": np.array([0.0, 1.0, 0.0, 0.0])})
    assert values_cost({"a": np.array([1.0, 1.0])}) < values_cost({"a": np.array([0.37, 0.37])})
    assert DTYPE_COST["float32"] == min(DTYPE_COST.values())


def test_resize_keeps_the_leading_block_and_handles_rank_changes():
    a = np.arange(12.0).reshape(3, 4)
    assert resize(a, (2, 2)).tolist() == [[0.0, 1.0], [4.0, 5.0]]
    assert resize(a, (4,)).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert resize(np.array([7.0]), ()).shape == () and float(resize(np.array([7.0]), ())) == 7.0
    assert resize(np.zeros((0, 3)), (2,)).tolist() == [0.0, 0.0]


@settings(max_examples=40)
@given(st.integers(0, 10_000))
@example(6332)  # bypassing a layer_norm left binary_cross_entropy reading values outside [0, 1]
@example(1011)  # the same after bypassing a sigmoid
@example(3520)  # binary_cross_entropy on a computed value failed on the case's own inputs
def test_every_edit_yields_a_wellformed_graph_with_fitting_inputs(seed):
    g = generate(seed, GeneratorOptions(max_nodes=8))
    x = make_inputs(g, seed)
    c = Candidate(g, x)
    inter = {k: t.numpy() for k, t in evaluate(g, x).items()}
    cands = [keep_outputs(c, (o,)) for o in g.outputs]
    for k, n in enumerate(g.nodes):
        cands += [truncate_at(c, k), feed_from_inputs(c, k, inter)]
        cands += [bypass(c, k, u) for u in n.inputs]
    cands.append(canonical_names(c))
    for cand in filter(None, cands):
        check_wellformed(cand.graph)
        for i in cand.graph.inputs:
            assert cand.inputs[i.name].shape == i.spec.shape and str(cand.inputs[i.name].dtype) == i.spec.dtype
        assert reinfer(cand.graph, dict(cand.inputs)) is not None  # removing ops never breaks eager


def test_feed_from_inputs_keeps_downstream_values_exact():
    g = generate(11, GeneratorOptions(max_nodes=6, min_nodes=6))
    x = make_inputs(g, 11)
    before = evaluate(g, x)
    c = feed_from_inputs(Candidate(g, x), 0, {k: t.numpy() for k, t in before.items()})
    if c is None:
        pytest.skip("node 0 feeds only outputs in this graph")
    after = evaluate(c.graph, dict(c.inputs))
    for o in c.graph.outputs:
        assert np.array_equal(after[o].numpy(), before[o].numpy(), equal_nan=True)


def test_attribute_candidates_of_non_finite_floats():
    from fuzzer.minimize.passes import _smaller_values

    for v in (float("inf"), float("-inf"), float("nan")):
        cands = list(_smaller_values(v))  # used to raise OverflowError on round(inf)
        assert 0.0 in cands
