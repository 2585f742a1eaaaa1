import onnx
from onnx import TensorProto, helper

from fuzzer.coverage.paths import contains_path, ngrams, onnx_digraph, sequences_in


def _model(nodes, inputs=("x",), outputs=("y",)):
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
    )
    return helper.make_model(g)


def test_direct_path_and_glue_tolerance():
    m = _model([
        helper.make_node("Abs", ["x"], ["a"]),
        helper.make_node("Cast", ["a"], ["c"], to=TensorProto.DOUBLE),
        helper.make_node("Identity", ["c"], ["i"]),
        helper.make_node("Sin", ["i"], ["y"]),
    ])
    g = onnx_digraph(m)
    assert contains_path(g, ["Abs", "Sin"])  # two glue nodes between them are tolerated
    assert contains_path(g, ["Abs", "Cast", "Sin"])  # a wanted Cast must be a real node: it is
    assert not contains_path(g, ["Sin", "Abs"])  # direction matters
    assert not contains_path(g, ["Abs", "Neg"])


def test_glue_is_bounded_and_only_cast_identity():
    chain = [helper.make_node("Abs", ["x"], ["a0"])]
    for k in range(3):
        chain.append(helper.make_node("Cast", [f"a{k}"], [f"a{k + 1}"], to=TensorProto.FLOAT))
    chain.append(helper.make_node("Sin", ["a3"], ["y"]))
    assert not contains_path(onnx_digraph(_model(chain)), ["Abs", "Sin"])  # three casts: too many
    m = _model([helper.make_node("Abs", ["x"], ["a"]), helper.make_node("Neg", ["a"], ["b"]), helper.make_node("Sin", ["b"], ["y"])])
    assert not contains_path(onnx_digraph(m), ["Abs", "Sin"])  # Neg is not glue


def test_if_consumes_what_its_branches_read():
    then_g = helper.make_graph([helper.make_node("Squeeze", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    m = _model([
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Equal", ["s", "s"], ["c"]),
        helper.make_node("Abs", ["x"], ["a"]),
        helper.make_node("If", ["c"], ["r"], then_branch=then_g, else_branch=else_g),
        helper.make_node("Cos", ["r"], ["y"]),
    ])
    g = onnx_digraph(m)
    assert contains_path(g, ["Shape", "Equal", "If", "Cos"])
    assert g.has_edge(0, 3) is False and not contains_path(g, ["Abs", "If"])  # If reads x, not Abs's output


def test_ngrams_skip_constants_and_sequences_in():
    m = _model([
        helper.make_node("Constant", [], ["k"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
        helper.make_node("Add", ["x", "k"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Neg", ["b"], ["y"]),
    ])
    g = onnx_digraph(m)
    assert ngrams(g, 2) == {("Add", "Relu"), ("Relu", "Neg")}
    assert ngrams(g, 3) == {("Add", "Relu", "Neg")}
    assert sequences_in(g, [("Add", "Neg"), ("Relu", "Neg"), ("Add", "Relu", "Neg")]) == [1, 2]
