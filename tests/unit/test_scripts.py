"""Every script in scripts/ imports against the current package and answers --help (a refactor that
breaks a benchmark's imports fails here, not in the next person's measurement)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[2] / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_answers_help(script):
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "usage" in (r.stdout + r.stderr).lower()


def test_new_op_findings_counts_a_small_store(tmp_path):
    """scripts/new_op_findings.py on a store of three curated findings: relu (old catalog), an op_db
    entry (scatter_reduce.mean) and a torch.nn module, the latter tagged as a limitation here."""
    import json
    import shutil

    root = Path(__file__).resolve().parents[2]
    store = tmp_path / "store"
    for fid in ("172838eea5", "fb44a76c7a", "b6a2af7971"):
        shutil.copytree(root / "findings" / fid, store / fid)
    doc = json.loads((store / "b6a2af7971" / "finding.json").read_text())
    doc["limitation"] = "missing_kernel"
    (store / "b6a2af7971" / "finding.json").write_text(json.dumps(doc))
    script = str(root / "scripts" / "new_op_findings.py")
    r = subprocess.run([sys.executable, script, str(store), "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    c = json.loads(r.stdout)
    assert (c["findings"], c["bugs"], c["limitations"]) == (3, 2, 1)
    bugs, both = c["new"]["bugs"], c["new"]["bugs+limitations"]
    assert bugs["findings"] == 1 and bugs["verdicts"] == {"numeric_mismatch": 1}
    assert bugs["entries"] == {"opdb": ["scatter_reduce.mean"], "pyops": [], "modules": []}
    assert both["entries"]["modules"] == ["nn.MultiheadAttention"]
    assert both["callables"] == {"opdb": ["torch.scatter_reduce"], "pyops": [], "modules": ["torch.nn.MultiheadAttention"]}
    assert c["new"]["limitations"]["findings"] == 1
    r = subprocess.run([sys.executable, script, str(store)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "3 findings: 2 bugs, 1 documented limitations" in r.stdout
    r = subprocess.run([sys.executable, script, str(tmp_path / "missing")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1


def test_rehit_figures_count_rehits_after_the_mark_and_ops_at_ort(tmp_path):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("rehit_figures", Path(__file__).resolve().parents[2] / "scripts" / "rehit_figures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lim = "export_crash|torchscript|torch.onnx.errors.UnsupportedOperatorError|Exporting the operator # to ONNX opset version # is not supported"
    bug = "invalid_model|torchscript|onnx.checker.ValidationError|bad"
    rows = [  # before the mark: seen, not counted
        {"exporter": "torchscript", "verdict": "export_crash", "bucket": lim, "t": 1, "n_nodes": 6},
        {"exporter": "torchscript", "verdict": "invalid_model", "bucket": bug, "t": 2, "n_nodes": 6},
        # after: a limitation re-hit, a bug re-hit, a new bucket, a pass of 8 ops and one of 6 (op job: not a graph)
        {"exporter": "torchscript", "verdict": "export_crash", "bucket": lim, "t": 10, "n_nodes": 6},
        {"exporter": "torchscript", "verdict": "invalid_model", "bucket": bug, "t": 11, "n_nodes": 7},
        {"exporter": "torchscript", "verdict": "invalid_model", "bucket": bug + "2", "t": 12, "n_nodes": 7},
        {"exporter": "torchscript", "verdict": "pass", "t": 13, "n_nodes": 8},
        {"exporter": "torchscript", "verdict": "pass", "t": 14, "n_nodes": 1, "op_job": 3},
    ]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    f = mod.figures(tmp_path, after=5)
    assert f["all"]["cases"] == 5 and f["all"]["rehit"] == 0.4 and f["all"]["rehit_limitations"] == 0.2 and f["all"]["rehit_bugs"] == 0.2
    assert f["torchscript/graphs"]["mean_ops_at_ort"] == 8.0 and f["torchscript/ops"]["mean_ops_at_ort"] is None
    dyn = "export_crash|dynamo|torch.onnx._internal.exporter._errors.ConversionError|step #/# at aten.{}.default: ValueError: x"
    with open(tmp_path / "results.jsonl", "a") as out:
        for t, op in ((100, "amin"), (400, "amax")):  # two causes, one old first line
            out.write(json.dumps({"exporter": "dynamo", "verdict": "export_crash", "bucket": dyn.format(op), "t": t,
                                  "error_head": f"step 3/3 at aten.{op}.default: ValueError: x"}) + "\n")
        # one shape-inference error at two differently named nodes: two buckets as issue 16 counted, one now
        head = "[ShapeInferenceError] (op_type:IsNaN, node name: {}): X typestr: T1, has unsupported type: tensor(uint8)"
        for t, node in ((200, "n0_3"), (500, "n0")):
            out.write(json.dumps({"exporter": "dynamo", "verdict": "invalid_model", "error_head": head.format(node), "t": t,
                                  "bucket": "invalid_model|dynamo|InferenceError|" + head.format(node).replace("0", "#")}) + "\n")
    d = mod.distinct_buckets(tmp_path)
    assert d["dynamo"] == {"key": [2, 4, 4], "old key": [2, 3, 3], "node-blind key": [2, 3, 3]}, d["dynamo"]
    assert d["torchscript"]["key"] == [3, 3, 3]
