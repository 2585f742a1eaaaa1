"""report.md per tracker: the causal title, the tracker's template and environment, the inline
script mark, the graph excerpt and the node that goes wrong (real ONNX models, no exports)."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from fuzzer.compare.stages import PROJECT
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
from fuzzer.store.curated import CuratedFileError, add_upstream, all_upstream, curation, upstream_issues
from fuzzer.store.report import (
    MAX_TITLE, SCRIPT_MARK, TRACKERS, Evidence, ReportFacts, causal_title, diverging_node, render_report, report_title, tracker_for,
    what_goes_wrong,
)
from fuzzer.store.store import inline_scripts

FINDINGS = Path(__file__).resolve().parents[3] / "findings"


def _graph(op="leaky_relu", dtype="float64", shape=(), attrs=None) -> Graph:
    x = Input("x0", TensorSpec(shape, dtype))
    n = Node(op, ("x0",), (Value("v0", TensorSpec(shape, dtype)),), attrs if attrs is not None else {"slope": 0.2})
    return Graph((x,), (n,), ("v0",), {"seed": 1})


def _model(op="LeakyRelu", elem=TensorProto.DOUBLE, **attrs) -> bytes:
    nodes = [helper.make_node("Relu", ["x0"], ["r"], name="/Relu"), helper.make_node(op, ["r"], ["y"], name="/Op", **attrs)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x0", elem, [2])], [helper.make_tensor_value_info("y", elem, [2])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)], ir_version=9).SerializeToString()


def _facts(**kw) -> ReportFacts:
    base = dict(finding_id="0123456789", verdict="ort_load_failure", exporter="torchscript", opset=None, optimize=True, graph=_graph(),
                inputs={"x0": np.array(0.5)}, model=_model(), error_type="NotImplemented",
                error_message="[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for LeakyRelu(16) node with name '/Op'",
                evidence=None, versions={"torch": "2.13.0", "onnxruntime": "1.32.0", "onnx": "1.23.2", "python": "3.11"},
                component="onnxruntime (CPU kernels)", signature_key="k", stage="ort_kernel", project="ONNX Runtime")
    base.update(kw)
    return ReportFacts(**base)


def test_every_project_a_stage_names_has_a_tracker_template():
    for stage, project in PROJECT.items():
        assert tracker_for(project) in TRACKERS, stage
    assert tracker_for("unknown") == "PyTorch"  # a crash starts in torch.onnx.export


@pytest.mark.parametrize("project,heads", [
    ("PyTorch", ["### 🐛 Describe the bug", "### Versions"]),
    ("ONNX Script", ["### Describe the bug", "### To reproduce", "### Versions"]),
    ("ONNX Runtime", ["### Describe the issue", "### To reproduce", "### ONNX Runtime Version or Commit ID", "### Execution Provider"]),
    ("ONNX", ["# Bug Report", "### Is the issue related to model conversion?", "### System information", "### Reproduction instructions"]),
])
def test_each_tracker_gets_its_own_template(project, heads):
    stage = {"PyTorch": "torchscript_symbolic", "ONNX Script": "translation"}.get(project, "ort_kernel")
    text = render_report(_facts(project=project, stage=stage))
    for h in heads:
        assert h in text, h
    title = text.splitlines()[0].removeprefix("# ")
    assert len(title) <= MAX_TITLE and title.startswith(TRACKERS[project].title_prefix)
    assert f"**Tracker:** {project}" in text and SCRIPT_MARK in text
    assert "The node that goes wrong" in text and '"/Op"' in text.split("The node that goes wrong")[1]  # named by ORT's message


def test_ort_report_leads_with_a_torch_free_script_then_how_the_model_was_made():
    text = render_report(_facts())
    first, second = inline_scripts(text)
    assert "import torch" not in first and "helper.make_node('LeakyRelu'" in first and "Relu'" not in first.split("nodes = [")[1].split("]")[0].replace("LeakyRelu'", "")
    assert "reduced at the ONNX level from 2 to 1 node(s) (LeakyRelu)" in text
    assert "import torch" in second and "dynamo=False" in second


def test_pytorch_report_has_one_torch_script_and_collect_env():
    f = _facts(verdict="invalid_model", stage="torchscript_symbolic", project="PyTorch", collect_env="PyTorch version: 2.13.0+cpu",
               error_type="InferenceError", error_message="[ShapeInferenceError] (op_type:LeakyRelu, node name: /Op): X has unsupported type: tensor(int64)")
    text = render_report(f)
    assert text.startswith("# [ONNX] leaky_relu() on 0-d float64: exports LeakyRelu on int64, a type ONNX LeakyRelu does not allow\n")  # attributes dropped to fit
    assert len(inline_scripts(text)) == 1 and "onnx.checker.check_model" in inline_scripts(text)[0]
    assert "PyTorch version: 2.13.0+cpu" in text.split("### Versions")[1]


def test_curated_title_gets_the_prefix_of_the_tracker_it_goes_to():
    assert report_title(_facts(title="cdist(p=1) is exported without Abs", project="PyTorch")) == "[ONNX] cdist(p=1) is exported without Abs"
    assert report_title(_facts(title="cdist(p=1) is exported without Abs", project="ONNX Runtime")) == "cdist(p=1) is exported without Abs"


@pytest.mark.parametrize("verdict,stage,message,want", [
    ("invalid_model", "translation", "[ShapeInferenceError] (op_type:Floor, node name: node_floor): X typestr: T, has unsupported type: tensor(int64)",
     "exports Floor on int64, a type ONNX Floor does not allow"),
    ("invalid_model", "opset_conversion", "Unrecognized attribute: num_outputs for operator Split", "exports Split with attribute num_outputs, unknown at opset 17"),
    ("ort_load_failure", "ort_kernel", "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Atan(7) node with name ''",
     "ONNX Runtime (CPU) has no Atan kernel for this type"),
    ("ort_load_failure", "ort_optimizer", "FAIL : Exception during initialization: .../optimizer/relu_clip_fusion.cc:83 Unexpected data type",
     "ONNX Runtime's relu_clip_fusion fails at session creation"),
    ("process_crash", "process", "worker crash: SIGFPE", "export and run die with SIGFPE"),
    ("export_crash", "torchscript_symbolic", "Exporting the operator 'aten::erfinv' to ONNX opset version 20 is not supported",
     "export raises UnsupportedOperatorError on aten::erfinv"),
    ("export_crash", "translation", "Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the model to ONNX.\n"
     "## Exception summary\n\n<class 'ValueError'>: Required parameter 'dim' is not provided. Signature: pkg.onnxscript.torch_lib::aten_amin(self)\n"
     "⬆️\n<class 'torch.onnx._internal.exporter._errors.ConversionError'>: Error when translating node %amin : [num_users=1] = "
     "call_function[target=torch.ops.aten.amin.default](args = (%x0,), kwargs = {}).",
     "translation of aten.amin.default raises ValueError: Required parameter 'dim' is not provided."),
])
def test_what_goes_wrong_names_the_cause_not_the_values(verdict, stage, message, want):
    err = "torch.onnx.errors.UnsupportedOperatorError" if verdict == "export_crash" else None
    assert what_goes_wrong(verdict, stage, err, message, None, (), 17) == want


def test_mismatch_titles_say_how_values_go_wrong():
    nan = Evidence((np.array([1.0, np.nan], np.float32),), (np.array([1.0, 0.0], np.float32),), None)
    assert what_goes_wrong("numeric_mismatch", "ort_kernel", None, None, nan, ("ReduceMax",)) == "ONNX Runtime's ReduceMax drops NaN"
    wrong = Evidence((np.array([1.0], np.float32),), (np.array([np.nan], np.float32),), None)
    assert what_goes_wrong("numeric_mismatch", "torchscript_symbolic", None, None, wrong, ("Sub", "Pow", "ReduceSum", "Pow")) == (
        "exported as Sub/Pow/ReduceSum, gives NaN where eager gives a number")
    assert what_goes_wrong("numeric_mismatch", "decomposition", None, None, wrong, ("Where", "ReduceSum")) == (
        "PyTorch's decomposition differs from the eager kernel: gives NaN where eager gives a number")
    dtype = Evidence((np.array(1.0, np.float16),), (np.array(1.0, np.float32),), None)
    assert what_goes_wrong("shape_or_dtype_mismatch", "translation", None, None, dtype) == "export returns float32 instead of float16"


def test_titles_are_cut_to_the_limit_attributes_first():
    g = _graph("clamp", "float32", (2,), {"min": 0.123456789, "max": 1.23456789, "extra": "x" * 30})
    t = causal_title("ONNX Script", "numeric_mismatch", g, "exported as Max/Min, computes wrong values")
    assert len(t) <= MAX_TITLE and t.startswith("[torchlib] clamp(") and t.endswith("computes wrong values")
    long = causal_title("PyTorch", "numeric_mismatch", g, "w" * 120)
    assert len(long) == MAX_TITLE


def test_diverging_node_falls_back_to_the_producer_of_the_differing_output():
    name, text = diverging_node(_model(), "numeric_mismatch", None, 0)
    assert name == "/Op" and "LeakyRelu" in text


def test_every_curated_title_fits_with_its_tracker_prefix():
    cur = json.loads((FINDINGS / "curation.json").read_text())
    for fid, c in cur.items():
        assert c.get("title"), f"{fid} has no curated title"
        doc = json.loads((FINDINGS / fid / "finding.json").read_text())
        project = c.get("project") or doc.get("tracker") or "PyTorch"
        assert len(TRACKERS[project].title_prefix + c["title"]) <= MAX_TITLE, fid


def test_upstream_file_is_written_atomically_and_matched_by_id_or_prefix(tmp_path):
    assert upstream_issues(tmp_path, "abcdef0123") == [] and all_upstream(tmp_path) == {}
    add_upstream(tmp_path, "abcdef0123", "https://github.com/onnx/onnx/issues/1")
    add_upstream(tmp_path, "abcdef0123", "https://github.com/onnx/onnx/issues/1")  # idempotent
    (tmp_path / "upstream.json").write_text(json.dumps({**json.loads((tmp_path / "upstream.json").read_text()), "abcdef": "u2"}))
    assert upstream_issues(tmp_path, "abcdef0123") == ["https://github.com/onnx/onnx/issues/1", "u2"]
    assert not list(tmp_path.glob(".*tmp"))
    (tmp_path / "curation.json").write_text("{not json")
    with pytest.raises(CuratedFileError, match="curation.json"):
        curation(tmp_path, "abcdef0123")


def test_the_repository_maps_the_known_reducemax_nan_issue():
    assert upstream_issues(FINDINGS, "5e036fe66f") == ["https://github.com/microsoft/onnxruntime/issues/10514"]
