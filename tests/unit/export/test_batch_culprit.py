"""Naming the culprit of a failed batched export from its exception (a scheduling hint only), and
the batched calls' restriction to the exporter's first capture strategy. Real generated modules
and real torch exceptions; the full batched path is exercised in tests/e2e/test_export_batch.py."""

import pytest
import torch

from fuzzer.execute import to_torch
from fuzzer.export.batch import BatchMember, culprit_line, first_capture_strategy_only, named_members, source_name
from fuzzer.generate import generate, make_inputs, single_op_graph, GeneratorOptions
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
from fuzzer.materialize import build_module, graph_to_source, node_at_line


def _member(graph, seed=0):
    inputs = make_inputs(graph, seed)
    return BatchMember(build_module(graph), tuple(to_torch(inputs)), tuple(i.name for i in graph.inputs), len(graph.outputs))


@pytest.fixture(scope="module")
def members():
    f32 = TensorSpec((3,), "float32")
    add = _member(single_op_graph("add", [f32, f32]))
    others = [_member(generate(s, GeneratorOptions(max_nodes=3)), s) for s in (1, 2)]
    return [others[0], add, others[1]]


def _raise_in(member, args):
    try:
        member.module(*args)
    except RuntimeError as e:
        return e
    raise AssertionError("the member accepted mismatched inputs")


def test_each_generated_member_has_its_own_source_name(members):
    names = [source_name(m) for m in members]
    assert all(n and n.startswith("<onnxfuzz-graph-") for n in names) and len(set(names)) == 3


def test_the_member_whose_forward_raised_is_named_also_through_a_wrapping_exception(members):
    names = [source_name(m) for m in members]
    err = _raise_in(members[1], (torch.ones(3), torch.ones(4)))  # add of shapes (3,) and (4,)
    assert named_members(err, names) == [1]
    try:
        raise ValueError("the exporter's own wrapper, naming nothing") from err
    except ValueError as wrapped:
        assert named_members(wrapped, names) == [1]
    assert named_members(ValueError("no traceback at all"), names) == []


def test_a_frame_translating_an_fx_node_names_the_member_its_stack_trace_points_to(members):
    names = [source_name(m) for m in members]
    g = torch.fx.Graph()
    node = g.placeholder("x")
    node.meta["stack_trace"] = f'File "{names[2]}", line 9, in forward\n    v0 = torch.sin(x0)'

    def translate(node):
        raise RuntimeError("Error when translating node")  # `node` is a local of the raising frame

    with pytest.raises(RuntimeError) as info:
        translate(node)
    assert named_members(info.value, names) == [2]
    assert culprit_line(info.value, names[2]) == 9 and culprit_line(info.value, names[0]) is None


def test_the_culprit_line_names_the_node_that_raised():
    f32 = TensorSpec((3,), "float32")
    graph = Graph(
        inputs=(Input("x0", f32), Input("x1", f32)),
        nodes=(
            Node("relu", ("x0",), (Value("v0", f32),)),
            Node("add", ("v0", "x1"), (Value("v1", f32),)),  # raises when x1 does not broadcast against (3,)
            Node("sin", ("v1",), (Value("v2", f32),)),
        ),
        outputs=("v2",),
    )
    module = build_module(graph)
    with pytest.raises(RuntimeError) as info:
        module(torch.ones(3), torch.ones(4))
    line = culprit_line(info.value, source_name(_member_of(module)))
    assert node_at_line(graph_to_source(graph), line) == 1


def _member_of(module):
    return BatchMember(module, (), (), 1)


def test_a_source_shared_by_two_members_names_neither(members):
    twice = [members[1], members[1]]
    err = _raise_in(members[1], (torch.ones(3), torch.ones(4)))
    assert named_members(err, [source_name(m) for m in twice]) == []


def test_first_capture_strategy_only_is_undone_even_on_error():
    from torch.onnx._internal.exporter import _capture_strategies as cs

    before = cs.CAPTURE_STRATEGIES
    assert len(before) >= 2 and before[0] is cs.TorchExportNonStrictStrategy
    with pytest.raises(KeyError):
        with first_capture_strategy_only():
            assert cs.CAPTURE_STRATEGIES == (cs.TorchExportNonStrictStrategy,)
            raise KeyError("inside")
    assert cs.CAPTURE_STRATEGIES is before
