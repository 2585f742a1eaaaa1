"""A tiny systematic pair sweep through the CLI, real exports on the worker pool: it must find the
interactions known on this stack, and each must pass the definition's own test."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fuzzer.export import ExportOptions, Exporter
from fuzzer.ir import graph_from_dict
from fuzzer.minimize.interaction import is_interaction
from fuzzer.workers import IsolatedRunner

pytestmark = pytest.mark.e2e


def test_pair_sweep_finds_real_interactions_and_they_pass_the_definition(tmp_path):
    out = tmp_path / "pairs"
    args = [sys.executable, "-m", "fuzzer", "sweep", "--pairs", "--ops", "topk,instance_norm,pad,adaptive_avg_pool1d", "--dtypes", "float32",
            "--modes", "special", "--exporter", "torchscript", "--opsets", "20", "--workers", "2", "--out", str(out)]
    p = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    checks = [json.loads(x) for x in (out / "interactions.jsonl").read_text().splitlines()]
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    failing = {(r["key"], r["exporter"]) for r in rows if r["verdict"] not in ("pass", "eager_error", "ambiguous")}
    assert {(c["key"], c["variant"].split("@")[0]) for c in checks} == failing  # every failing pair variant is classified
    inter = {tuple(c["ops"]): c for c in checks if c["kind"] == "interaction"}
    # topk(k=0) -> instance_norm kills ONNX Runtime; pad -> adaptive_avg_pool1d: the exporter lost the padded length
    assert inter[("topk", "instance_norm")]["verdict"] == "process_crash"
    assert inter[("pad", "adaptive_avg_pool1d")]["verdict"] == "export_crash"
    assert "input size not accessible" in inter[("pad", "adaptive_avg_pool1d")]["error_head"]
    assert all(c["kind"] != "interaction" for c in checks if c["ops"][0] == "adaptive_avg_pool1d")  # it fails alone (non-factor sizes)
    # the definition, checked independently on the saved cases: each operator passes alone
    with IsolatedRunner() as runner:
        for ops in (("topk", "instance_norm"), ("pad", "adaptive_avg_pool1d")):
            case = out / inter[ops]["case_dir"]
            graph = graph_from_dict(json.loads((case / "graph.json").read_text()))
            with np.load(case / "inputs.npz", allow_pickle=False) as z:
                inputs = {k: z[k] for k in z.files}
            run = lambda g, x: runner.run(g, x, [ExportOptions(Exporter.TORCHSCRIPT, 20)], "special")[0]  # noqa: E731
            assert run(graph, inputs).verdict.value == inter[ops]["verdict"]
            assert is_interaction(graph, inputs, run) is True
    doc = json.loads((out / "pairs.json").read_text())
    assert {(c["producer"], c["consumer"]) for c in doc["cells"] if c["code"] == "IX"} >= {("topk", "instance_norm"), ("pad", "adaptive_avg_pool1d")}
    assert (out / "pairs.md").exists() and (out / "pairs.png").exists()
    # resumable: nothing is re-run, nothing re-checked
    again = subprocess.run(args + ["--resume"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len((out / "results.jsonl").read_text().splitlines()) == len(rows)
    assert len((out / "interactions.jsonl").read_text().splitlines()) == len(checks)
