"""A campaign on a real local Ray cluster of two nodes (issue 20), its traffic kept on the loopback
of a network namespace of the test's own: one node is killed (all its processes) mid-run, the
campaign goes on with the other; a resume through the command line finishes a larger budget.
Every seed of the budget is recorded exactly once, every failing case is filed (raw: minimization
on the nodes is the next test's), and the panel's record (stats.jsonl) shows both nodes, one dead."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FIRST, TOTAL = 96, 120  # graphs per exporter: the first run's budget (four seeds a request: enough for both nodes to start), then the resumed one's


def _check_campaign():
    spec = importlib.util.spec_from_file_location("torture", ROOT / "scripts" / "torture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.check_campaign


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="a network namespace of the test's own needs root, unshare and ip")
def test_a_campaign_across_two_nodes_loses_nothing_when_one_dies(tmp_path):
    pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]' (make test installs it)")
    out, report = tmp_path / "run", tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep), "OMP_NUM_THREADS": "1"}
    cmd = f"ip link set lo up && exec {sys.executable} {ROOT / 'tests' / 'e2e' / 'cluster_driver.py'} {out} {report} {FIRST} {TOTAL}"
    p = subprocess.run(["unshare", "--net", "sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0 and report.exists(), p.stderr[-3000:]
    doc = json.loads(report.read_text())
    print(json.dumps(doc))
    assert doc["killed_at"] is not None, doc  # the second node ran cases, then was killed mid-run
    assert doc["resume_rc"] == 0, (doc, p.stdout[-2000:])

    assert _check_campaign()(out, TOTAL, 0, final=True) == []  # each seed once, every failing case filed, findings load
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(x["seed"] for x in lines) == list(range(TOTAL))
    failing = {x["bucket"] for x in lines if x["bucket"]}
    assert failing  # special inputs: TorchScript fails on some of 120 graphs

    samples = [json.loads(x) for x in (out / "stats.jsonl").read_text().splitlines()]
    other = [n for s in samples for n in s.get("nodes", ()) if n["node"] == doc["other_node"]]
    assert max(n["cases"] for n in other) >= 3 and any(n["state"] == "dead" for n in other), other  # it ran cases, then was seen dead
    assert all(n["workers"] == 1 for s in samples for n in s.get("nodes", ()))  # each node's pool sized to its one CPU

    print(json.dumps(doc))


def test_a_raw_finding_minimized_on_a_node_is_filed_by_the_head(tmp_path):
    """The head's side of minimization on the nodes: the recorder ships the raw case (graph JSON,
    inputs as .npz bytes) to ``remote``, here the node's job itself called in place of Ray's
    task (:func:`minimize_on_node`, the same function), and files the plain answer: the finding
    ends minimized to its one failing operator, with the same signature."""
    import time

    import numpy as np

    from fuzzer.campaign.recorder import FindingRecorder
    from fuzzer.case import run_graph
    from fuzzer.export import ExportOptions, Exporter
    from fuzzer.generate import reinfer
    from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
    from fuzzer.minimize.wire import minimization_from_wire, minimization_to_wire
    from fuzzer.store import FindingStore, load_case
    from fuzzer.triage.signature import signature_of
    from fuzzer.workers.cluster import minimize_on_node, release_minimizer

    ts = ExportOptions(Exporter.TORCHSCRIPT)
    rows = [("abs", "x0", "v0"), ("cosh", "v0", "v1"), ("neg", "v1", "v2"), ("exp", "v2", "v3")]  # cosh: no TorchScript export
    g = reinfer(Graph((Input("x0", TensorSpec((3,), "float32")),),
                      tuple(Node(op, (i,), (Value(o, TensorSpec((), "float32")),), {}) for op, i, o in rows), ("v3",)))
    x = {"x0": np.array([0.5, -1.0, 2.0], np.float32)}
    result = run_graph(g, x, [ts])[0]
    jobs, answers = [], []

    def node(job, cancelled):
        jobs.append(job)
        answers.append(minimize_on_node(job))
        return answers[-1]

    rec = FindingRecorder(tmp_path / "findings", {"torchscript": ts}, "normal", 30.0, remote=node)
    try:
        rec.submit(g, x, result)
        deadline = time.monotonic() + 240
        while rec.stats.minimized + rec.stats.errors == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        rec.close()
        release_minimizer()
    assert rec.stats.minimized == 1 and rec.stats.errors == 0
    assert set(jobs[0]) == {"graph", "inputs_npz", "export", "input_mode", "reference", "seconds"} and isinstance(jobs[0]["inputs_npz"], bytes)
    m = minimization_from_wire(answers[0]["minimization"])
    assert minimization_to_wire(m)["best"]["graph"] == answers[0]["minimization"]["best"]["graph"]  # the plain form, both ways
    store = FindingStore(tmp_path / "findings")
    try:
        (row,) = store.list()
    finally:
        store.close()
    doc, graph, inputs = load_case(tmp_path / "findings" / row.id)
    assert graph.ops() == ["cosh"] and not doc.get("awaiting_minimization") and doc["minimization"]["ops_before"] == 4
    assert signature_of(run_graph(graph, inputs, [ts])[0]) == signature_of(result)  # the filed case still shows the bug
