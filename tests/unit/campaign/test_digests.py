"""Case digests: equal test cases get equal digests, any change to the graph or inputs a new one."""

import dataclasses

import numpy as np

from fuzzer.case import graph_digest, inputs_digest
from fuzzer.generate import GeneratorOptions, generate, make_inputs


def test_the_same_seed_gives_the_same_digests_and_another_seed_others():
    opts = GeneratorOptions(max_nodes=8)
    a, b, c = generate(5, opts), generate(5, opts), generate(6, opts)
    assert graph_digest(a) == graph_digest(b) != graph_digest(c)
    assert inputs_digest(make_inputs(a, 5, "special")) == inputs_digest(make_inputs(b, 5, "special"))


def test_a_changed_attribute_changes_the_graph_digest():
    g = generate(11, GeneratorOptions(max_nodes=8))
    k, node = next((k, n) for k, n in enumerate(g.nodes) if n.attrs)
    name = next(iter(node.attrs))
    changed = dataclasses.replace(node, attrs={**node.attrs, name: ("changed",)})
    g2 = dataclasses.replace(g, nodes=[*g.nodes[:k], changed, *g.nodes[k + 1:]])
    assert graph_digest(g2) != graph_digest(g)


def test_value_dtype_shape_and_name_each_change_the_inputs_digest():
    x = {"x0": np.arange(6, dtype=np.float32).reshape(2, 3)}
    d = inputs_digest(x)
    y = {"x0": x["x0"].copy()}
    y["x0"][1, 2] = -0.0 if y["x0"][1, 2] == 0 else 0.0
    assert inputs_digest(y) != d
    assert inputs_digest({"x0": x["x0"].astype(np.float64)}) != d
    assert inputs_digest({"x0": x["x0"].reshape(3, 2)}) != d
    assert inputs_digest({"x1": x["x0"]}) != d
    assert inputs_digest({"x0": np.asfortranarray(x["x0"])}) == d  # layout is not content
