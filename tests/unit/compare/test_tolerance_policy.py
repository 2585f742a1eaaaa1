import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzer.catalog import CATALOG
from fuzzer.compare import compare_outputs
from fuzzer.compare.tolerance import EXACT, OP_RULES, TOLERANCES, output_tolerances, tolerance_for
from fuzzer.generate import GeneratorOptions, generate
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value


def chain(*ops: str, dtype: str = "float32") -> Graph:
    """x0 -> op0 -> op1 -> ... (specs are nominal: the policy reads only ops and output dtypes)."""
    spec = TensorSpec((3,), dtype)
    nodes, prev = [], "x0"
    for k, op in enumerate(ops):
        nodes.append(Node(op, (prev,), (Value(f"v{k}", spec),)))
        prev = f"v{k}"
    return Graph((Input("x0", spec),), tuple(nodes), (prev,))


def test_every_rule_names_a_real_op_or_family_and_a_reason():
    families = {op.family for op in CATALOG.values()}
    for key, rule in OP_RULES.items():
        name = key.removeprefix("family:")
        assert (name in families) if key.startswith("family:") else (name in CATALOG), key
        assert rule.factor >= 1 and len(rule.reason) > 10
    assert all(t.reason for t in TOLERANCES.values()) and EXACT.rtol == EXACT.atol == 0


def test_ints_and_bools_stay_exact_whatever_the_ops():
    (t,) = output_tolerances(chain("tan", "sum", dtype="int64"))
    assert t == EXACT


def test_ill_conditioned_op_widens_and_the_largest_factor_wins():
    base = tolerance_for("float32")
    assert output_tolerances(chain("relu", "neg")) == [base]
    (t,) = output_tolerances(chain("relu", "tan", "sum"))
    assert t.rtol == pytest.approx(base.rtol * OP_RULES["tan"].factor)  # max over the cone, not a product
    assert "tan" in t.reason
    (r,) = output_tolerances(chain("sum"))
    assert r.rtol == pytest.approx(base.rtol * OP_RULES["family:reduction"].factor)


def test_only_the_outputs_cone_counts():
    spec = TensorSpec((3,), "float32")
    g = Graph(
        (Input("x0", spec),),
        (Node("tan", ("x0",), (Value("v0", spec),)), Node("relu", ("x0",), (Value("v1", spec),))),
        ("v0", "v1"),
    )
    t_tan, t_relu = output_tolerances(g)
    assert t_tan.rtol > t_relu.rtol == tolerance_for("float32").rtol


def test_policy_tolerance_and_slack_change_the_comparison():
    e, a = [np.array([1.0], np.float32)], [np.array([1.003], np.float32)]
    (wide,) = output_tolerances(chain("tan"))
    assert [d.kind for d in compare_outputs(e, a)] == ["value"]
    assert [d.kind for d in compare_outputs(e, a, [wide])] == ["ok"]
    assert [d.kind for d in compare_outputs(e, a, slack=[np.array([0.01])])] == ["ok"]
    # slack never excuses a NaN or inf difference
    assert [d.kind for d in compare_outputs([np.array([np.inf], np.float32)], [np.array([3e38], np.float32)], slack=[np.array([np.inf])])] == ["inf"]


@settings(max_examples=15)
@given(st.integers(0, 10_000))
def test_policy_is_never_stricter_than_the_dtype_rule(seed):
    g = generate(seed, GeneratorOptions(max_nodes=6))
    for t, spec in zip(output_tolerances(g), g.output_specs()):
        base = tolerance_for(spec.dtype)
        assert t.rtol >= base.rtol and t.atol >= base.atol and t.reason.startswith(base.reason)
        if spec.dtype not in ("float16", "float32", "float64"):
            assert t == EXACT
