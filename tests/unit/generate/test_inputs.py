import numpy as np
import pytest

from fuzzer.generate.inputs import input_rng, make_value
from fuzzer.ir import TensorSpec


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_values_have_the_spec(dtype):
    for mode in ("normal", "special"):
        v = make_value(TensorSpec((3, 4), dtype), "any", None, input_rng(1, "x", mode), mode)
        assert v.shape == (3, 4) and str(v.dtype) == dtype


def test_special_mode_reaches_special_values():
    v = make_value(TensorSpec((4000,), "float32"), "any", None, input_rng(0, "x", "special"), "special")
    assert np.isnan(v).any() and np.isposinf(v).any() and np.isneginf(v).any()
    assert (np.signbit(v) & (v == 0)).any()  # -0.0
    assert (v == 0.5).any() and (v == 2.5).any()  # rounding ties
    assert (v == np.finfo(np.float32).max).any()


def test_domains_hold_in_normal_mode():
    rng = input_rng(0, "x", "normal")
    assert (make_value(TensorSpec((1000,), "float32"), "positive", None, rng) > 0).all()
    assert (np.abs(make_value(TensorSpec((1000,), "float64"), "unit", None, rng)) < 1).all()
    assert (make_value(TensorSpec((1000,), "int8"), "nonzero", None, rng) != 0).all()
    idx = make_value(TensorSpec((1000,), "int64"), "index", 7, rng, "special")
    assert idx.min() >= 0 and idx.max() < 7


def test_rank0_and_empty():
    assert make_value(TensorSpec((), "bool"), "any", None, input_rng(0, "x", "normal")).shape == ()
    assert make_value(TensorSpec((0, 3), "float16"), "any", None, input_rng(0, "x", "special"), "special").shape == (0, 3)


def test_an_index_input_always_holds_its_largest_index_so_one_hot_infers_the_same_width():
    """one_hot without num_classes sizes its output by the largest index: the generator's shape
    probe and the case's inputs come from different streams and must agree on it."""
    import torch

    from fuzzer.generate import GeneratorOptions, generate, make_inputs
    from fuzzer.generate.generator import evaluate

    for seed in range(200):
        v = make_value(TensorSpec((2, 3), "int64"), "index", 4, input_rng(seed, "x", "normal"))
        assert v.min() >= 0 and v.max() == 3
        assert torch.nn.functional.one_hot(torch.from_numpy(v)).shape == (2, 3, 4)
    assert make_value(TensorSpec((0,), "int64"), "index", 4, input_rng(0, "x", "normal")).shape == (0,)
    from fuzzer.catalog import composite, ops

    classic = tuple(o.name for o in ops.OPS + composite.OPS)  # the catalog this seed was picked in
    g = generate(939, GeneratorOptions(max_nodes=16, ops=classic, rewrite_share=0.0))  # one_hot_inferred on 6 indices below 4, into a matmul
    assert "one_hot_inferred" in g.ops()
    evaluate(g, make_inputs(g, 939), 939)  # raised EagerRejected when the drawn indices missed 3
