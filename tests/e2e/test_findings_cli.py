"""``onnxfuzz findings ...`` in-process (the subprocess form is covered by test_store's corrupt
finding test): list, show, replay, report, mark, minimize and promote on a real store."""

import json

import pytest

from fuzzer.case import run_graph
from fuzzer.cli import main
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions, generate, make_inputs
from fuzzer.store import FindingStore

pytestmark = pytest.mark.e2e
TS = ExportOptions(Exporter.TORCHSCRIPT)


@pytest.fixture
def store(tmp_path):
    s = FindingStore(tmp_path / "store")
    # a big generated graph that the TorchScript exporter rejects with an unsupported operator,
    # filed unminimized (searched, so the test does not depend on one seed's graph)
    for seed in range(200):
        g = generate(seed, GeneratorOptions(min_nodes=20, max_nodes=30))
        x = make_inputs(g, seed)
        r = run_graph(g, x, [TS])[0]
        if r.error_type == "torch.onnx.errors.UnsupportedOperatorError":
            break
    else:
        raise AssertionError("no generated graph hits an unsupported operator any more")
    big, _ = s.record(g, x, r)
    return s, big


def test_list_show_report_mark(store, capsys):
    s, fid = store
    assert main(["findings", "list", str(s.root)]) == 0
    out = capsys.readouterr().out
    assert fid[:6] in out and "export_c" in out and "documented limitations" in out  # refused by design: its own section
    assert main(["findings", "show", fid[:6], "--store", str(s.root)]) == 0
    out = capsys.readouterr().out
    assert "signature: export_crash|torchscript|UnsupportedOperatorError" in out and "class Model" in out
    assert main(["findings", "report", fid, "--store", str(s.root), "--no-run"]) == 0
    report = capsys.readouterr().out
    assert report.startswith("# [ONNX] ") and len(report.splitlines()[0]) <= 2 + 100 and "export raises UnsupportedOperatorError on aten::" in report
    assert "**Tracker:** PyTorch" in report and "<!-- onnxfuzz:script -->" in report
    url = "https://github.com/pytorch/pytorch/issues/1"
    assert main(["findings", "mark", fid, "--store", str(s.root), "--filed", url]) == 0
    assert FindingStore(s.root).list()[0].status == "filed"
    assert json.loads((s.root / "upstream.json").read_text()) == {fid: [url]}  # the curated map of known upstream issues
    capsys.readouterr()
    assert main(["findings", "list", str(s.root)]) == 0
    assert "pytorch#1" in capsys.readouterr().out


def test_replay_minimize_then_promote(store, tmp_path, capsys):
    s, fid = store
    assert main(["findings", "replay", str(s.root)]) == 1  # still failing
    assert "still failing" in capsys.readouterr().out
    n_before = len(json.loads((s.root / fid / "graph.json").read_text())["nodes"])
    assert main(["findings", "minimize", fid, "--store", str(s.root), "--seconds", "60"]) == 0
    assert f"{n_before} -> 1 ops" in capsys.readouterr().out
    doc = json.loads((s.root / fid / "finding.json").read_text())
    assert len(doc["ops"]) == 1 and doc["history"] and doc["hits"] == 1
    name = doc["ops"][0].split(".s")[0]  # a catalog name (op_db's "fft.irfftn", an extra signature ".s2") as ATen spells it
    assert any(f"aten::{n}" in doc["error_head"] for n in (name, name.replace(".", "_"), name.rsplit(".", 1)[-1]))  # the minimum is the unsupported operator itself
    assert main(["findings", "promote", fid, "--store", str(s.root), "--to", str(tmp_path / "repo_findings")]) == 0
    assert (tmp_path / "repo_findings" / fid / "repro.py").exists()
    assert [r.id for r in FindingStore(tmp_path / "repo_findings").list()] == [fid]
    with pytest.raises(SystemExit) as e:  # promoting twice is a clear error, not an overwrite
        main(["findings", "promote", fid, "--store", str(s.root), "--to", str(tmp_path / "repo_findings")])
    assert e.value.code == 2 and "already exists" in capsys.readouterr().err


def test_refresh_rerenders_a_stale_finding_and_refuses_a_changed_one(store, capsys):
    s, fid = store
    path = s.root / fid
    doc = json.loads((path / "finding.json").read_text())
    want_title = doc["title"]
    # what an older onnxfuzz (or other versions) left behind: another title, report and versions
    doc.update(title="stale title", versions={"torch": "0.0"})
    (path / "finding.json").write_text(json.dumps(doc))
    (path / "report.md").write_text("# stale title\n")
    assert main(["findings", "refresh", fid, "--store", str(s.root)]) == 0
    assert "refreshed" in capsys.readouterr().out
    fresh = json.loads((path / "finding.json").read_text())
    assert fresh["title"] == want_title and fresh["versions"]["torch"].startswith("2.")
    assert (path / "report.md").read_text().startswith(f"# {want_title}")
    assert fresh["signature"] == doc["signature"] and fresh["hits"] == doc["hits"]
    # a finding whose recorded signature the installed versions no longer give is left as it is
    fresh["signature"]["key"] = "export_crash|torchscript|SomethingElse: gone"
    (path / "finding.json").write_text(json.dumps(fresh))
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    assert main(["findings", "refresh", fid, "--store", str(s.root)]) == 1
    assert "not refreshed" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def test_minimize_says_whether_a_chain_is_an_interaction(tmp_path, capsys):
    """clamp(max=-1) then clamp(min=0) through dynamo: ONNX Script's optimizer fuses them into one
    Clip(0, -1) (curated 68ca96f9e6); each clamp alone exports right, so `findings minimize` marks
    the finding an interaction, as a campaign's minimizer does."""
    import numpy as np

    from fuzzer.ir import graph_from_dict

    g = graph_from_dict({
        "format": "onnxfuzz-graph", "version": 1, "inputs": [{"name": "x0", "shape": [3], "dtype": "float32", "domain": "any"}],
        "nodes": [{"op": "clamp", "inputs": ["x0"], "attrs": {"min": None, "max": -1.0}, "outputs": [{"name": "v0", "shape": [3], "dtype": "float32"}]},
                  {"op": "clamp", "inputs": ["v0"], "attrs": {"min": 0.0, "max": None}, "outputs": [{"name": "v1", "shape": [3], "dtype": "float32"}]}],
        "outputs": ["v1"], "meta": {}})
    x = {"x0": np.array([0.5, -3.0, 2.0], np.float32)}
    (r,) = run_graph(g, x, [ExportOptions(Exporter.DYNAMO)])
    assert r.verdict.value == "numeric_mismatch"
    fs = FindingStore(tmp_path / "s")
    fid, _ = fs.record(g, x, r)
    capsys.readouterr()
    assert main(["findings", "minimize", fid, "--store", str(tmp_path / "s")]) == 0
    assert "interaction: each operator passes alone" in capsys.readouterr().out
    assert json.loads((tmp_path / "s" / fid / "finding.json").read_text())["interaction"] is True
