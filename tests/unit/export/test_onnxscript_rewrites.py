"""Observing ONNX Script's optimizer rewrites: the real optimizer run on small hand-built models
inside ``recording()``, the rule tags it leaves, and per-graph attribution by value names."""

import numpy as np
import onnx
import onnxscript.optimizer
from onnx import TensorProto, helper, numpy_helper

from fuzzer.export.rewrites import FOLD, Fired, attribute, observed, recording, rule_name, targeted, tagged_rules

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, s) for n, s in inputs],
                          [helper.make_tensor_value_info(n, F, None) for n in outputs],
                          initializer=[numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


def _optimize(model):
    with recording() as fired:
        out = onnxscript.optimizer.optimize(model)
    return out, fired


def test_min_max_chain_is_fused_and_tagged():
    m = _model([helper.make_node("Min", ["x", "hi"], ["a"]), helper.make_node("Max", ["a", "lo"], ["y"])],
               [("x", [2, 3])], ["y"], [("hi", 6.0), ("lo", 0.0)])
    out, fired = _optimize(m)
    assert [n.op_type for n in out.graph.node] == ["Clip"]
    assert "onnxscript:FuseMinMaxToClip" in tagged_rules(out)
    assert "onnxscript:FuseMinMaxToClip" in observed(out, fired)


def test_a_removal_leaves_no_tag_but_is_recorded():
    m = _model([helper.make_node("Mul", ["x", "one"], ["a"]), helper.make_node("Sin", ["a"], ["y"])],
               [("x", [3])], ["y"], [("one", 1.0)])
    out, fired = _optimize(m)
    assert [n.op_type for n in out.graph.node] == ["Sin"]
    assert tagged_rules(out) == set()
    assert "onnxscript:NoOpMul" in observed(out, fired)


def test_constant_folding_is_recorded():
    m = _model([helper.make_node("Add", ["a", "b"], ["c"]), helper.make_node("Mul", ["x", "c"], ["y"])],
               [("x", [3])], ["y"], [("a", np.ones(3)), ("b", np.full(3, 2.0))])
    out, fired = _optimize(m)
    assert FOLD in observed(out, fired)


def test_nothing_recorded_outside_recording_or_without_rewrites():
    m = _model([helper.make_node("Sin", ["x"], ["s"]), helper.make_node("Cos", ["s"], ["y"])], [("x", [3])], ["y"])
    out, fired = _optimize(m)
    assert observed(out, fired) == ()
    onnxscript.optimizer.optimize(_model([helper.make_node("Mul", ["x", "one"], ["y"])], [("x", [3])], ["y"], [("one", 1.0)]))
    assert fired == []  # the hook records only inside the block


def test_attribution_keeps_each_graph_to_its_own_values():
    fired = [Fired("onnxscript:A", frozenset({"m0_x", "v1"})), Fired("onnxscript:B", frozenset({"m1_x"}))]
    assert attribute(fired, {"m0_x", "y"}) == {"onnxscript:A"}
    assert attribute(fired, {"m1_x"}) == {"onnxscript:B"}
    assert attribute(fired, None) == {"onnxscript:A", "onnxscript:B"}


def test_every_default_rule_has_a_distinct_readable_name():
    from onnxscript import rewriter

    names = [rule_name(r) for r in rewriter._DEFAULT_REWRITE_RULES]
    assert all(n.startswith("onnxscript:") and "." not in n for n in names), names
    assert set(names) | {FOLD} == set(targeted())
