"""Each dynamo stage on a real current defect of the pinned stack: the sweep's variants and oracles
give the evidence, :func:`fuzzer.compare.stages.stage_of` names the stage and the tracker."""

import pytest

from fuzzer.case.variants import run_variants
from fuzzer.compare.stages import PROJECT, Stage, stage_of
from fuzzer.catalog import NewInput
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec, graph_from_dict

pytestmark = pytest.mark.e2e
D20, D20_NOOPT, D18, D17 = (ExportOptions(Exporter.DYNAMO, 20), ExportOptions(Exporter.DYNAMO, 20, False),
                            ExportOptions(Exporter.DYNAMO, 18), ExportOptions(Exporter.DYNAMO, 17))


def _stages(op, specs, attrs, exports=(D20, D20_NOOPT, D18), domain=None):
    inputs = [TensorSpec(*s) if domain is None else NewInput(TensorSpec(*s), *domain) for s in specs]
    g = single_op_graph(op, inputs, attrs)
    results = run_variants(g, make_inputs(g, 0), list(exports), {Exporter.DYNAMO: exports[0]})
    return {(r.opset_requested, r.options["export"]["optimize"]): (r.verdict.value, stage_of(r)) for r in results}


def test_capture_decomposition_and_translation_crashes():
    # one_hot without num_classes: a data-dependent size torch.export cannot capture (step 1/3)
    assert _stages("one_hot_inferred", [((5,), "int64")], {}, (D20,), domain=("index", 6))[(20, True)] == ("export_crash", Stage.CAPTURE)
    # adaptive_avg_pool1d of an empty float64 batch: decomposition fails (step 2/3)
    assert _stages("adaptive_avg_pool1d", [((2, 0, 4), "float64")], {"size": 2}, (D20,))[(20, True)] == ("export_crash", Stage.DECOMPOSITION)
    # amin over all of an int16 tensor: torchlib cannot translate it (step 3/3)
    assert _stages("amin", [((5,), "int16")], {"dim": None, "keepdim": False}, (D20,))[(20, True)] == ("export_crash", Stage.TRANSLATION)


def test_opset_conversion_and_translation_of_a_valid_opset():
    # split exports Split with the opset-18 attribute num_outputs; converted to 17 it stays: invalid
    s = _stages("split", [((2, 6), "float32")], {"size": 2, "dim": 1}, (D20, D17, D18))
    assert s[(17, True)] == ("invalid_model", Stage.OPSET_CONVERSION) and s[(20, True)][0] == "pass"
    # floor of an int64 scalar: torchlib emits Floor on an integer (invalid at every opset)
    s = _stages("floor", [((), "int64")], {})
    assert {v for v, _ in s.values()} == {"invalid_model"} and {st for _, st in s.values()} == {Stage.TRANSLATION}
    assert PROJECT[Stage.OPSET_CONVERSION] == PROJECT[Stage.TRANSLATION] == "ONNX Script"


def test_a_missing_ort_kernel_and_an_unoptimized_model_that_only_the_optimizer_saves():
    # split of uint8: unoptimized, torchlib's SplitToSequence has no uint8 kernel in ONNX Runtime;
    # the optimizer rewrites it away, so the optimizer is not what breaks it
    s = _stages("split", [((5,), "uint8")], {"size": 2, "dim": 0})
    assert s[(20, True)][0] == "pass"
    assert s[(20, False)] == ("ort_load_failure", Stage.ORT_KERNEL)
    assert PROJECT[Stage.ORT_KERNEL] == "ONNX Runtime"


def test_a_decomposition_that_disagrees_with_the_eager_kernel():
    """multi_margin_loss(reduction="sum") with a NaN in the input: eager's CPU kernel skips the
    NaN margin (3.5), PyTorch's decomposition that torch.onnx translates propagates it (NaN), and
    the ONNX model computes what the decomposition computes. Blamed before translation: PyTorch."""
    import numpy as np

    from fuzzer.case import run_graph

    g = graph_from_dict({
        "format": "onnxfuzz-graph", "version": 1,
        "inputs": [{"name": "x0", "shape": [8, 2], "dtype": "float32", "domain": "any"},
                   {"name": "x1", "shape": [8], "dtype": "int64", "domain": "index", "bound": 2}],
        "nodes": [{"op": "nn.functional.multi_margin_loss", "inputs": ["x0", "x1"], "attrs": {"reduction": "sum"},
                   "outputs": [{"name": "v0", "shape": [], "dtype": "float32"}]}],
        "outputs": ["v0"], "meta": {}})
    x0 = np.zeros((8, 2), np.float32)
    x0[7, 1] = np.nan
    (r,) = run_graph(g, {"x0": x0, "x1": np.zeros(8, np.int64)}, [D20], seed=0)
    assert r.verdict.value == "numeric_mismatch" and r.blame.culprit.value == "decomposition"
    assert r.blame.oracle("decomposed").agrees_with_ort and not r.blame.oracle("decomposed").agrees_with_eager
    assert stage_of(r) is Stage.DECOMPOSITION and PROJECT[Stage.DECOMPOSITION] == "PyTorch"


def test_the_exporter_optimizer_fusing_two_clamps_whose_bounds_cross():
    """clamp(clamp(x, 1.41, -1.95), 1.12, -1.18): with min > max a clamp gives max, so eager gives
    -1.18 everywhere. ONNX Script's optimizer fuses the two Clips into one with the tighter bounds
    (1.41, -1.95), which gives -1.95. Exported with optimize=False the model is right, so the
    unoptimized-export oracle blames the exporter's optimizer (ONNX Script). Found by a campaign
    (finding 7b3d079033 of a 20-minute default campaign, a 6-operator graph)."""
    import numpy as np

    from fuzzer.case import run_graph

    g = graph_from_dict({
        "format": "onnxfuzz-graph", "version": 1,
        "inputs": [{"name": "x0", "shape": [3], "dtype": "float32", "domain": "any"}],
        "nodes": [{"op": "clamp", "inputs": ["x0"], "attrs": {"min": 1.41, "max": -1.95}, "outputs": [{"name": "v0", "shape": [3], "dtype": "float32"}]},
                  {"op": "clamp", "inputs": ["v0"], "attrs": {"min": 1.12, "max": -1.18}, "outputs": [{"name": "v1", "shape": [3], "dtype": "float32"}]}],
        "outputs": ["v1"], "meta": {}})
    x = {"x0": np.array([0.5, -3.0, 2.0], np.float32)}
    (r,) = run_graph(g, x, [D20], seed=0)
    assert r.verdict.value == "numeric_mismatch" and r.blame.culprit.value == "exporter_optimizer"
    assert r.blame.oracle("unoptimized_export").agrees_with_eager and stage_of(r) is Stage.EXPORTER_OPTIMIZER
    assert PROJECT[Stage.EXPORTER_OPTIMIZER] == "ONNX Script"
    s = _stages("clamp", [((3,), "float32")], {"min": 1.41, "max": -1.95}, (D20, D20_NOOPT))
    assert s[(20, True)][0] == s[(20, False)][0] == "pass"  # one clamp alone exports right: the pair is the bug
