import numpy as np

from fuzzer.execute import run_eager
from fuzzer.generate import GeneratorOptions, generate, single_op_graph
from fuzzer.ir import TensorSpec, check_wellformed
from fuzzer.ir.widen import has_floats, widen_floats
from fuzzer.materialize import build_module


def test_widened_graph_computes_the_same_program_in_float64():
    g = single_op_graph("to", [TensorSpec((3,), "float32")], {"dtype": "float16"})
    w = widen_floats(g)
    check_wellformed(w)
    assert w.inputs[0].spec.dtype == "float64" and w.meta["widened"] == "float64"
    x = np.array([1.0001, 2.5, 70000.0], np.float32)
    out = run_eager(build_module(w), {"x0": x.astype(np.float64)})
    assert out.outputs[0].dtype == np.float16  # the program's own cast still rounds
    assert out.outputs[0][2] == np.inf


def test_params_widen_and_ints_stay():
    g = generate(3, GeneratorOptions(max_nodes=1, ops=("linear",), dtypes=("float32",)))
    w = widen_floats(g)
    assert {p.spec.dtype for n in w.nodes for p in n.params} == {"float64"}
    assert run_eager(build_module(w), {i.name: np.zeros(i.spec.shape) for i in w.inputs}).ok
    ints = single_op_graph("add", [TensorSpec((2,), "int64"), TensorSpec((2,), "int64")])
    assert not has_floats(ints) and widen_floats(ints).inputs == ints.inputs
