"""The command line as a user runs it: real subprocesses, real exports."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def onnxfuzz(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "fuzzer", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_gen_then_check(tmp_path):
    out = tmp_path / "g.json"
    r = onnxfuzz("gen", "--seed", 5, "--max-nodes", 6, "-o", out)
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["format"] == "onnxfuzz-graph"
    r = onnxfuzz("check", out, "--exporter", "torchscript", "--json")
    assert r.returncode in (0, 1), r.stderr
    rec = json.loads(r.stdout)
    assert rec[0]["exporter"] == "torchscript" and rec[0]["verdict"]
    assert rec[0]["versions"]["onnxruntime"]


def test_fuzz_stores_non_pass_cases_and_check_reproduces_them(tmp_path):
    camp = tmp_path / "camp"
    r = onnxfuzz("fuzz", "--exporter", "torchscript", "--cases", 60, "--seed", 100, "--out", camp)
    assert r.returncode == 0, r.stderr
    assert "torchscript" in r.stdout and "pass" in r.stdout and "cases/s" in r.stdout
    lines = [json.loads(x) for x in (camp / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 60 and {x["seed"] for x in lines} == set(range(100, 160))
    stored = sorted((camp / "cases").iterdir())
    kept = [x for x in lines if x["kept"]]
    assert {d.name for d in stored} == {f"{x['seed']}-{x['exporter']}-{x['verdict']}" for x in kept}
    assert 0 < len(kept) <= sum(x["verdict"] != "pass" for x in lines)
    per_bucket = {}
    for x in kept:
        per_bucket[x["bucket"]] = per_bucket.get(x["bucket"], 0) + 1
    # the first 5 raw cases of each coarse bucket are kept, plus every case of a new bug (raw
    # signature); the rest are only counted
    bugs = sum(1 for d in (camp / "findings").iterdir() if (d / "finding.json").exists())
    assert bugs > 0
    assert len(kept) <= 5 * len(per_bucket) + bugs
    case = next(d for d in stored if d.name.endswith(("invalid_model", "export_crash", "numeric_mismatch", "shape_or_dtype_mismatch")))
    assert {"graph.json", "inputs.npz", "result.json"} <= {p.name for p in case.iterdir()}
    expected = json.loads((case / "result.json").read_text())
    r = onnxfuzz("check", case / "graph.json", "--exporter", "torchscript", "--json")
    assert r.returncode == 1, r.stderr
    again = json.loads(r.stdout)[0]
    assert (again["verdict"], again["error_type"], again["error_head"]) == (expected["verdict"], expected["error_type"], expected["error_head"])


@pytest.mark.parametrize(
    "args, needle",
    [
        (["fuzz", "--exporter", "tflite"], "invalid choice"),
        (["fuzz", "--seconds", "-3"], "positive number"),
        (["fuzz", "--seconds", "5", "--cases", "3"], "not allowed with"),
        (["check", "/nonexistent/graph.json"], "no such file"),
        (["gen", "--max-nodes", "zero"], "positive integer"),
        (["fuzz", "--recycle-after", "-1"], "integer"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, needle):
    r = onnxfuzz(*args)
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_corrupt_graph_and_inputs_files(tmp_path):
    bad = tmp_path / "graph.json"
    bad.write_text('{"format": "onnxfuzz-graph", "version": 1, "inputs": [], "nodes": [], "outputs": ["v9"]}')
    r = onnxfuzz("check", bad)
    assert r.returncode == 2 and "not a well-formed graph" in r.stderr and "Traceback" not in r.stderr
    good = tmp_path / "g2" / "graph.json"
    good.parent.mkdir()
    assert onnxfuzz("gen", "--seed", 1, "-o", good).returncode == 0
    (good.parent / "inputs.npz").write_bytes(b"garbage")
    r = onnxfuzz("check", good)
    assert r.returncode == 2 and "not a readable .npz" in r.stderr and "Traceback" not in r.stderr


def test_fuzz_refuses_a_non_empty_out_dir(tmp_path):
    (tmp_path / "x").write_text("keep me")
    r = onnxfuzz("fuzz", "--cases", 1, "--out", tmp_path)
    assert r.returncode == 2 and "not an empty directory" in r.stderr
    assert (tmp_path / "x").read_text() == "keep me"


def test_check_survives_a_case_that_kills_its_process(tmp_path):
    # Real defect of the pinned stack: the TorchScript exporter dies with SIGFPE on a flatten of an
    # empty tensor. check runs the case in a worker and reports it as a verdict.
    from fuzzer.generate import single_op_graph
    from fuzzer.ir import TensorSpec, save_graph

    g = single_op_graph("flatten", [TensorSpec((5, 0, 5), "float64")], {"start": 2, "end": -1})
    save_graph(g, tmp_path / "graph.json")
    r = onnxfuzz("check", tmp_path / "graph.json", "--exporter", "torchscript", "--json")
    assert r.returncode == 1, r.stderr
    rec = json.loads(r.stdout)[0]
    assert rec["verdict"] == "process_crash" and rec["error_type"] == "SIGFPE"
