"""Python operators, methods, indexing, index assignment, in-place forms and torch.nn modules as
graph nodes: each is placed by the generator, runs in eager on both input modes, materializes as
code a person would write, and a module's parameters are the same wherever it is built."""

import pytest
import torch

from fuzzer.catalog import modules, pyops
from fuzzer.generate.generator import GenerationError, GeneratorOptions, evaluate, generate
from fuzzer.generate.inputs import make_inputs
from fuzzer.materialize import build_module, graph_to_source

ENTRIES = [o.name for o in pyops.OPS + modules.OPS]


def _graph_with(name: str, seeds=range(8)):
    for seed in seeds:
        try:
            g = generate(seed, GeneratorOptions(ops=(name,), max_nodes=2, bias=0.0))
        except GenerationError:
            continue
        if name in g.ops():
            return seed, g
    return None, None


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_is_placed_and_runs_in_eager(name):
    seed, g = _graph_with(name)
    assert g is not None, f"{name}: never placed in 8 seeds"
    m = build_module(g)
    for mode in ("normal", "special"):
        ins = make_inputs(g, seed, mode)
        with torch.no_grad():
            m(*[torch.from_numpy(ins[i.name]) for i in g.inputs])


def test_statements_and_modules_read_like_handwritten_code():
    _, g = _graph_with("setitem_slice")
    src = graph_to_source(g)
    k = g.ops().index("setitem_slice")
    out = g.nodes[k].outputs[0].name
    assert f"        {out} = {g.nodes[k].inputs[0]}.clone(); {out}[" in src
    _, g = _graph_with("nn.LSTM")
    src = graph_to_source(g)
    k = g.ops().index("nn.LSTM")
    assert f"torch.manual_seed({g.nodes[k].attrs['seed']})" in src
    assert f"self.m{k} = torch.nn.LSTM(" in src
    assert f"= self.m{k}(" in src


def test_module_parameters_do_not_depend_on_where_the_module_is_built():
    """The probe (generator, evaluate) and the materialized module seed the same constructor: the
    module's outputs equal evaluate()'s, twice, and the global RNG does not change them."""
    seed, g = _graph_with("nn.TransformerEncoderLayer")
    ins = make_inputs(g, seed, "normal")
    args = [torch.from_numpy(ins[i.name]) for i in g.inputs]
    torch.manual_seed(1)
    a = build_module(g)(*args)
    torch.manual_seed(2)
    b = build_module(g)(*args)
    env = evaluate(g, ins)
    for name, x, y in zip(g.outputs, a, b):
        assert torch.equal(x, y)
        assert torch.equal(x, env[name])
