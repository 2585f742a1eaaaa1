"""Inputs at other sizes for dynamic-shape runs: rules by size, consistent dims, determinism."""

import numpy as np
import pytest

from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.generate.resize import RULES, new_size, resized_graph, resized_inputs, size_map
from fuzzer.ir import TensorSpec


def test_rules_never_go_below_two_and_always_change_the_size():
    for rule in RULES:
        for s in range(2, 40):
            assert new_size(rule, s) >= 2 and new_size(rule, s) != s
    assert size_map("grow", {3, 5}) == {3: 4, 5: 6}
    assert size_map("shrink", {2, 5}) == {2: 4, 5: 4}
    with pytest.raises(ValueError):
        new_size("double", 3)


def test_every_dimension_of_a_size_changes_together_and_values_keep_dtype_and_domain():
    g = single_op_graph("add", [TensorSpec((3, 4), "float32"), TensorSpec((4,), "float32")])
    g2, x2 = resized_inputs(g, 7, "normal", {4: 5})
    assert [i.spec.shape for i in g2.inputs] == [(3, 5), (5,)]
    assert [a.dtype for a in x2.values()] == [np.float32, np.float32]
    again = resized_inputs(g, 7, "normal", {4: 5})[1]
    assert all(np.array_equal(x2[k], again[k]) for k in x2)  # a pure function of its arguments
    assert set(make_inputs(g, 7, "normal")) == set(x2)


def test_an_index_bound_follows_a_shrinking_size_and_never_grows():
    from fuzzer.ir import Graph, Input, Node, Value

    g = Graph((Input("x", TensorSpec((5, 3), "float32")), Input("i", TensorSpec((4,), "int64"), "index", 5)),
              (Node("relu", ("x",), (Value("y", TensorSpec((5, 3), "float32")),)),), ("y",))
    assert resized_graph(g, {5: 4}).inputs[1].bound == 4
    assert resized_graph(g, {5: 6}).inputs[1].bound == 5
    assert resized_graph(g, {5: 6}).inputs[1].spec.shape == (4,)
