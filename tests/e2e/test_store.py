"""The finding store on real failing cases: buckets and hits, minimized filing, atomic writes under
a real kill, corrupt directories, and repro.py run as a maintainer would run it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fuzzer.case import run_graph
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, reinfer, single_op_graph
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
from fuzzer.minimize import minimize
from fuzzer.store import FindingStore
from fuzzer.store.repro import render_repro
from fuzzer.case import npz_bytes
from fuzzer.store.store import SLEEP_ENV

pytestmark = pytest.mark.e2e
TS = ExportOptions(Exporter.TORCHSCRIPT)


def run(graph, inputs):
    return run_graph(graph, inputs, [TS])[0]


def case(op, specs, attrs=None, inputs=None):
    g = single_op_graph(op, specs, attrs)
    x = inputs if inputs is not None else make_inputs(g, 0)
    return g, x, run(g, x)


def minimizer(graph, inputs, result):
    return minimize(graph, inputs, run, seconds=30)


def test_same_bug_is_one_bucket_with_hits_and_another_bug_a_new_one(tmp_path):
    store = FindingStore(tmp_path)
    a = store.record(*case("sin", [TensorSpec((3,), "int64")]))
    b = store.record(*case("sin", [TensorSpec((2, 5), "int32")]))
    c = store.record(*case("cosh", [TensorSpec((3,), "float32")]))
    assert a[1] and not b[1] and a[0] == b[0] and c[1] and c[0] != a[0]
    rows = {r.id: r for r in FindingStore(tmp_path).list()}
    assert rows[a[0]].hits == 2 and rows[c[0]].hits == 1 and rows[a[0]].verdict == "invalid_model"
    doc = json.loads((tmp_path / a[0] / "finding.json").read_text())
    assert doc["hits"] == 2 and doc["versions"]["torch"].startswith("2.13.0") and doc["first_seen"] <= doc["last_seen"]
    assert {"repro.py", "model.onnx", "inputs.npz", "graph.json", "finding.json", "report.md"} <= {p.name for p in (tmp_path / a[0]).iterdir()}


def test_mismatches_are_filed_by_their_minimized_signature(tmp_path):
    # abs then any: minimized to the any alone, the bucket of a plain any case on other values
    x = Input("x0", TensorSpec((4,), "float64"))
    g1 = reinfer(Graph((x,), (Node("abs", ("x0",), (Value("v0", TensorSpec((4,), "float64")),)),
                              Node("any", ("v0",), (Value("v1", TensorSpec((), "bool")),), {"dim": 0, "keepdim": False})), ("v1",)))
    x1 = {"x0": np.array([0.0, -0.5, 0.0, 0.0])}
    store = FindingStore(tmp_path)
    fid, new = store.record(g1, x1, run(g1, x1), minimize=minimizer)
    assert new
    doc = json.loads((tmp_path / fid / "finding.json").read_text())
    assert doc["ops"] == ["any"] and doc["minimization"]["ops_before"] == 2 and doc["original"]["n_ops"] == 2
    g2, x2, r2 = case("any", [TensorSpec((6,), "float64")], {"dim": 0, "keepdim": False}, {"x0": np.array([0, 0, 0.25, 0, 0, 0.0])})
    assert store.record(g2, x2, r2, minimize=minimizer) == (fid, False)
    report = (tmp_path / fid / "report.md").read_text()
    assert report.startswith("# [ONNX]") and "### Versions" in report and "onnxruntime" in report and "torch.any" in report


WRITER = """
import sys
from fuzzer.case import run_graph
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec
from fuzzer.store import FindingStore
g = single_op_graph("sin", [TensorSpec((3,), "int64")])
x = make_inputs(g, 0)
(r,) = run_graph(g, x, [ExportOptions(Exporter.TORCHSCRIPT)])
FindingStore(sys.argv[1]).record(g, x, r)
print("recorded")
"""


def test_a_kill_during_the_write_leaves_no_partial_finding(tmp_path):
    env = dict(os.environ, **{SLEEP_ENV: "60"})
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not any(q.name.endswith(".partial") for q in tmp_path.iterdir()):
            assert p.poll() is None, p.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the writer never reached the staging step"
            time.sleep(0.1)
        staged = next(q for q in tmp_path.iterdir() if q.name.endswith(".partial"))
        assert (staged / "inputs.npz").exists()  # killed mid-write: some files are there, not all
    finally:
        p.kill()
        p.wait()
    visible = [q.name for q in tmp_path.iterdir() if not q.name.startswith(".") and q.name != "index.sqlite"]
    assert visible == []
    store = FindingStore(tmp_path)
    assert store.list() == [] and store.problems == []
    fid, new = store.record(*case("sin", [TensorSpec((3,), "int64")]))
    assert new and [r.id for r in store.list()] == [fid]


def test_a_corrupt_finding_is_reported_and_skipped(tmp_path):
    store = FindingStore(tmp_path)
    good, _ = store.record(*case("cosh", [TensorSpec((3,), "float32")]))
    bad, _ = store.record(*case("sin", [TensorSpec((3,), "int64")]))
    (tmp_path / bad / "finding.json").write_text("{ truncated")
    (tmp_path / "stray").mkdir()
    fresh = FindingStore(tmp_path)
    assert [r.id for r in fresh.list()] == [good]
    assert any(bad in p and "corrupt finding.json" in p for p in fresh.problems)
    assert any("stray" in p for p in fresh.problems)
    r = subprocess.run([sys.executable, "-m", "fuzzer", "findings", "show", bad, "--store", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "corrupt finding.json" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_repro_py_reproduces_alone_and_says_fixed_when_outputs_agree(tmp_path):
    store = FindingStore(tmp_path / "store")
    fid, _ = store.record(*case("any", [TensorSpec((4,), "float64")], {"dim": 0, "keepdim": False}, {"x0": np.array([0.5, 0, 0, 0])}))
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    for f in (tmp_path / "store" / fid).iterdir():  # the files alone, away from the store
        (elsewhere / f.name).write_bytes(f.read_bytes())
    r = subprocess.run([sys.executable, str(elsewhere / "repro.py")], capture_output=True, text=True, cwd="/")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REPRODUCED: numeric_mismatch" in r.stdout and "eager PyTorch (expected)" in r.stdout
    # the same script for a case the stack gets right exits 0
    ok = tmp_path / "ok"
    ok.mkdir()
    g = single_op_graph("add", [TensorSpec((2,), "float32"), TensorSpec((2,), "float32")])
    (ok / "repro.py").write_text(render_repro(g, finding_id="x", title="t", exporter="torchscript", opset=None, verdict="numeric_mismatch", summary="s"))
    (ok / "inputs.npz").write_bytes(npz_bytes(make_inputs(g, 0)))
    r = subprocess.run([sys.executable, str(ok / "repro.py")], capture_output=True, text=True)
    assert r.returncode == 0 and "FIXED" in r.stdout, r.stdout + r.stderr


def test_one_store_object_indexes_its_hits_at_once_without_rescanning_every_finding(tmp_path):
    """A campaign asks the store about every failing case: a full rescan (a stat per finding) runs
    at most every SYNC_INTERVAL seconds, and what the store writes is indexed when written."""
    store = FindingStore(tmp_path)
    g, x, r = case("sin", [TensorSpec((3,), "int64")])
    fid, new = store.record(g, x, r)
    other = store.record(*case("cosh", [TensorSpec((3,), "float32")]))[0]
    rescanned = store._synced_at
    for _ in range(3):
        assert store.record(g, x, r) == (fid, False)
        assert store.knows(r)
    assert store._synced_at == rescanned  # no rescan in between
    assert {i.id: i.hits for i in store.list()} == {fid: 4, other: 1}  # the index is current anyway
    os.rename(tmp_path / fid, tmp_path / ".removed-by-hand")  # a user deletes a finding
    assert not store.knows(r)  # seen at once: checked on disk, not in the index
    assert store.record(g, x, r) == (fid, True)  # filed again as new


def test_one_operator_findings_of_one_cause_are_one_finding_with_variants(tmp_path):
    """TorchScript emits float-only ONNX ops on integer inputs: Sin and Cos on int64 are one rule
    of one exporter (issue 19: "variants of one root cause land in one finding")."""
    from fuzzer.store import read_finding
    from fuzzer.triage.groups import load_groups

    store = FindingStore(tmp_path)
    sin_id, new = store.record(*case("sin", [TensorSpec((3,), "int64")]), minimizer)
    assert new
    g, x, r = case("cos", [TensorSpec((4,), "int64")])
    into, new = store.record(g, x, r, minimizer, "torchscript/7")
    assert (into, new) == (sin_id, False)  # joined the finding of its cause, not a new bug
    assert [f.id for f in FindingStore(tmp_path).list()] == [sin_id]
    doc = read_finding(tmp_path / sin_id)
    [v] = doc["variants"]
    assert v["ops"] == ["cos"] and v["onnx_op"] == "Cos" and v["dtypes"] == ["int64"] and doc["hits"] == 2
    vdir = tmp_path / sin_id / "variants" / v["id"]
    assert read_finding(vdir)["ops"] == ["cos"] and (vdir / "repro.py").is_file() and (vdir / "model.onnx").is_file()
    assert store.resolve(v["id"]) == vdir  # `findings show <variant id>` finds it
    assert store.case_index()["torchscript/7"] == sin_id
    assert f"`{v['id']}`: cos (ONNX Cos) on int64" in (tmp_path / sin_id / "report.md").read_text()
    # the next cos case is a hit on the finding; its reproduction (sin) stays
    assert store.record(*case("cos", [TensorSpec((2, 2), "int64")]), minimizer) == (sin_id, False)
    doc = read_finding(tmp_path / sin_id)
    assert doc["hits"] == 3 and doc["ops"] == ["sin"]
    [grp] = [gr for gr in load_groups(tmp_path) if len(gr.members) > 1]
    assert {m.onnx_op for m in grp.members} == {"Sin", "Cos"}
    # a smaller reproduction replacing the finding's files keeps its variants
    store.record(*case("sin", [TensorSpec((), "int64")]), minimizer)
    assert (tmp_path / sin_id / "variants" / v["id"] / "finding.json").is_file()


def test_documented_limitations_stay_one_finding_per_operator(tmp_path):
    """Limitations share a group per kind, not a cause: TorchScript refusing cosh and refusing
    special_i1 are two findings."""
    store = FindingStore(tmp_path)
    a = store.record(*case("cosh", [TensorSpec((3,), "float32")]), minimizer)
    b = store.record(*case("special.i1", [TensorSpec((3,), "float32")]), minimizer)
    assert a[1] and b[1] and a[0] != b[0]
    docs = [json.loads((tmp_path / fid / "finding.json").read_text()) for fid in (a[0], b[0])]
    assert [d["limitation"] for d in docs] == ["unsupported_operator"] * 2 and not any(d.get("variants") for d in docs)


def test_a_raw_finding_joins_its_cause_when_its_minimization_finishes(tmp_path):
    """The campaign's path: filed raw at once, minimized later (``finish_minimization``)."""
    from fuzzer.store import read_finding

    store = FindingStore(tmp_path)
    ids = []
    for k, (op, shape) in enumerate([("floor", (3,)), ("ceil", (2, 3))]):
        g, x, r = case(op, [TensorSpec(shape, "int32")])
        fid, new = store.record(g, x, r, None, f"torchscript/{k}", pending=True)
        assert new  # raw: nothing is merged before minimization
        ids.append(store.finish_minimization(tmp_path / fid, minimizer(g, x, r)))
    assert ids[0] == ids[1] and [f.id for f in store.list()] == [ids[0]]
    assert not store.awaiting_minimization()
    doc = read_finding(tmp_path / ids[0])
    assert [v["ops"] for v in doc["variants"]] == [["ceil"]] and set(store.case_index().values()) == {ids[0]}
