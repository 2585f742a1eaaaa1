"""The generator's avoidance of known one-operator triggers: a matching candidate is rejected
except for the exploration share, a shared graph avoids only what every exporter knows, and the
graph stays a function of its seed and the table."""

import json

from fuzzer.generate import GenerationStats, GeneratorOptions, generate, single_op_graph
from fuzzer.generate.avoid import Avoidance, Trigger, attr_pattern, load_avoidance, trigger_of
from fuzzer.ir import TensorSpec

OPTS = GeneratorOptions(max_nodes=8, min_nodes=6, ops=("exp", "sin", "abs"), dtypes=("float32", "float64"), bias=0.0)
EXP32 = {e: Trigger(e, "exp", ("float32",), (), "numeric_mismatch", None, "f1") for e in ("torchscript", "dynamo")}


def _exp32(g) -> int:
    specs = g.specs()
    return sum(1 for n in g.nodes if n.op == "exp" and specs[n.inputs[0]].dtype == "float32")


def test_attribute_pattern_keeps_categorical_attributes_only():
    assert attr_pattern({"mode": "nearest-exact", "size": 3, "align": False, "dims": [1, 2], "d": None}) == (
        ("align", "false"), ("d", "null"), ("mode", '"nearest-exact"'))
    t = Trigger("torchscript", "interpolate", ("float32",), attr_pattern({"mode": "nearest-exact", "scale": 2.0}), "export_crash")
    assert t.matches("interpolate", ["float32"], {"mode": "nearest-exact", "scale": 3.5})  # numeric attributes are free
    assert not t.matches("interpolate", ["float32"], {"mode": "bilinear", "scale": 2.0})
    assert not t.matches("interpolate", ["float16"], {"mode": "nearest-exact"})


def test_trigger_of_a_one_operator_graph():
    g = single_op_graph("exp", [TensorSpec((3,), "float32")])
    assert trigger_of(g, "torchscript", "numeric_mismatch", None, "f1") == EXP32["torchscript"]


def test_known_trigger_is_avoided_except_for_the_exploration_share():
    seeds = range(40)
    plain = sum(_exp32(generate(s, OPTS)) for s in seeds)
    strict = Avoidance((EXP32["torchscript"],), ("torchscript",), explore=0.0)
    st = GenerationStats()
    assert plain > 10  # the generator does plant it without a table
    assert sum(_exp32(generate(s, OPTS, st, strict)) for s in seeds) == 0
    assert st.rejected["known trigger: exp"] > 0 and st.explored == 0
    some = Avoidance((EXP32["torchscript"],), ("torchscript",), explore=0.3)
    st = GenerationStats()
    kept = sum(_exp32(generate(s, OPTS, st, some)) for s in seeds)
    assert 0 < kept < plain and st.explored >= kept


def test_a_shared_graph_avoids_only_what_every_exporter_knows():
    only_ts = Avoidance((EXP32["torchscript"],), ("torchscript", "dynamo"), explore=0.0)
    both = Avoidance(tuple(EXP32.values()), ("torchscript", "dynamo"), explore=0.0)
    assert [generate(s, OPTS, avoid=only_ts).nodes for s in range(10)] == [generate(s, OPTS).nodes for s in range(10)]
    assert sum(_exp32(generate(s, OPTS, avoid=both)) for s in range(20)) == 0


def test_same_seed_and_table_give_the_same_graph_and_the_table_round_trips(tmp_path):
    table = Avoidance((EXP32["torchscript"],), ("torchscript",), explore=0.2)
    path = table.save(tmp_path)
    assert path.name == f"{table.digest}.json"
    again = load_avoidance(path)
    assert again == table and again.digest == table.digest
    assert json.loads(path.read_text())["triggers"][0]["op"] == "exp"
    a, b = generate(7, OPTS, avoid=table), generate(7, OPTS, avoid=again)
    assert a == b and a.meta["avoid"] == table.digest
    assert "avoid" not in generate(7, OPTS).meta


def test_an_unsupported_operator_is_a_trigger_on_every_dtype():
    g = single_op_graph("exp", [TensorSpec((3,), "float32")])
    t = trigger_of(g, "torchscript", "export_crash", "torch.onnx.errors.UnsupportedOperatorError", "f2")
    assert t.dtypes == ("*",) and t.matches("exp", ["float64"], {}) and not t.matches("sin", ["float32"], {})


def test_an_unsupported_aten_operator_is_known_in_every_entry_that_traces_to_it():
    """'aten::nanmedian' refused in masked.median.s2 is refused in nanmedian and masked.median too
    (the reach table says their traced graphs hold it); an entry with categorical attributes keeps
    its trigger to itself (an attribute may choose the ATen operator)."""
    g = single_op_graph("masked.median.s2", [TensorSpec((3, 4), "float32"), TensorSpec((3, 4), "bool")], {"a1": 0})
    t = trigger_of(g, "torchscript", "export_crash", "torch.onnx.errors.UnsupportedOperatorError", "f3",
                   "Exporting the operator 'aten::nanmedian' to ONNX opset version 20 is not supported")
    assert t.aten == "nanmedian" and Trigger.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    table = Avoidance((t,), ("torchscript",))
    assert table.match("torchscript", "nanmedian", ["float64"], {}) == t and table.match("torchscript", "masked.median", ["float16"], {}) == t
    assert table.match("torchscript", "median", ["float32"], {}) is None and table.match("dynamo", "nanmedian", ["float32"], {}) is None
    keyed = Trigger("torchscript", "median", ("*",), (("keepdim", "false"),), "export_crash", "UnsupportedOperatorError", "f4", "")
    assert trigger_of(single_op_graph("median", [TensorSpec((3,), "float32")], {"dim": 0, "keepdim": False}), "torchscript", "export_crash",
                      "torch.onnx.errors.UnsupportedOperatorError", "f4", "Exporting the operator 'aten::median' to ONNX").aten == ""
    assert Avoidance((keyed,), ("torchscript",)).match("torchscript", "nanmedian", ["float32"], {}) is None
