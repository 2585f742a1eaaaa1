"""Malformed input files get one line and exit 2 from every command that reads them, before any
worker starts: never a traceback (which ``check`` would report as exit 1, "the failure
reproduces"), never an allocation the file asks for (issue 21, items 2 and 5)."""

import json
import shutil
import zipfile

import numpy as np
import pytest

from fuzzer.case import worker_death_result
from fuzzer.cli import main
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import single_op_graph
from fuzzer.ir import TensorSpec, graph_to_dict, save_graph
from fuzzer.store import FindingStore


def run_cli(args, capsys):
    """``onnxfuzz ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_exit_2(code, err, needle=""):
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def _graph_doc(**node):
    g = graph_to_dict(single_op_graph("sin", [TensorSpec((2, 3), "float32")]))
    g["nodes"][0].update(node)
    return g


MALFORMED_GRAPHS = {
    "a to node whose dtype is no dtype": (lambda: _graph_doc(op="to", attrs={"dtype": "banana"}), "not a dtype name"),
    "a to node whose dtype is a number": (lambda: _graph_doc(op="to", attrs={"dtype": 5}), "not a dtype name"),
    "a slice index holding a string": (lambda: _graph_doc(op="slice", attrs={"index": "abc"}), "must be a tuple"),
    "an operator not in the catalog": (lambda: _graph_doc(op="frobnicate"), "not in this build's catalog"),
    "meta.seed a string": (lambda: {**_graph_doc(), "meta": {"seed": "abc"}}, "meta.seed"),
    "meta.seed a list": (lambda: {**_graph_doc(), "meta": {"seed": [1]}}, "meta.seed"),
    "meta.seed negative": (lambda: {**_graph_doc(), "meta": {"seed": -1}}, "meta.seed"),
    "attribute lists nested 50 deep": (lambda: _graph_doc(attrs={"x": json.loads("[" * 50 + "]" * 50)}), "nested deeper"),
}


def _huge():
    g = _graph_doc()
    g["inputs"][0]["shape"] = [2**40, 2**40]
    g["nodes"][0]["outputs"][0]["shape"] = [2**40, 2**40]
    return g


def _many_inputs():
    g = graph_to_dict(single_op_graph("add", [TensorSpec((2, 3), "float32"), TensorSpec((2, 3), "float32")]))
    for spec in (*g["inputs"], g["nodes"][0]["outputs"][0]):
        spec["shape"] = [4096, 4096]  # 2**24 each: within the cap alone, above it together
    return g


MALFORMED_GRAPHS["a shape of 2**80 elements"] = (_huge, "size-cap")
MALFORMED_GRAPHS["inputs of 2**25 elements together"] = (_many_inputs, "size-cap")


@pytest.mark.parametrize("name", sorted(MALFORMED_GRAPHS))
def test_check_refuses_a_malformed_graph_in_one_line(name, tmp_path, capsys):
    make, needle = MALFORMED_GRAPHS[name]
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(make()))
    code, _, err = run_cli(["check", path], capsys)
    assert_one_line_exit_2(code, err, needle)


@pytest.mark.parametrize("text, needle", [
    ('{"format": "onnxfuzz-graph", "version": 1, "meta": {"seed": ' + "9" * 5000 + "}}", "digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"format": "onnxfuzz-graph", "version": 1, "inputs": [], "nodes": [], "outputs": [], "meta": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply"),
])
def test_check_refuses_json_python_cannot_parse(text, needle, tmp_path, capsys):
    path = tmp_path / "graph.json"
    path.write_text(text)
    code, _, err = run_cli(["check", path], capsys)
    assert_one_line_exit_2(code, err, needle)


def _npy_header(shape, descr="<f4"):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


@pytest.mark.parametrize("members, needle", [
    ({"x0.npy": _npy_header((2**40,))}, "more than"),  # numpy.load would ask for 4 TiB
    ({"x0.npy": _npy_header((2, 3)) + bytes(24), "junk.npy": _npy_header((2**33,))}, "more than"),  # an array no input reads
    ({"x0.npy": _npy_header((2, 3), "|O")}, "Python objects"),
    ({"x0.npy": b"not an npy"}, "no readable .npy header"),
])
def test_check_reads_npz_headers_before_allocating(members, needle, tmp_path, capsys):
    save_graph(single_op_graph("sin", [TensorSpec((2, 3), "float32")]), tmp_path / "graph.json")
    with zipfile.ZipFile(tmp_path / "inputs.npz", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    code, _, err = run_cli(["check", tmp_path / "graph.json"], capsys)
    assert_one_line_exit_2(code, err, needle)


# -- findings ------------------------------------------------------------------------------------
def _store_with_a_finding(root):
    """A store holding one real finding (a process crash: filing it runs nothing)."""
    g = single_op_graph("sin", [TensorSpec((2, 3), "float32")])
    x = {"x0": np.zeros((2, 3), np.float32)}
    r = worker_death_result("crash", "SIGSEGV", 0.1, ExportOptions(Exporter.TORCHSCRIPT), seed=1, input_mode="normal", graph=g)
    store = FindingStore(root)
    fid, _ = store.record(g, x, r)
    store.close()
    return fid


def test_a_finding_with_an_operator_not_in_the_catalog_is_one_line_and_a_store_replay_goes_on(tmp_path, capsys, monkeypatch):
    # issue 21, item 2: a newer build's (or an edited) finding crashed show and replay with a
    # traceback, exit 1 ("still failing" to --check-status), and stopped a whole-store replay
    root = tmp_path / "store"
    good = _store_with_a_finding(root)
    bad = root / "0000000000"
    shutil.copytree(root / good, bad)
    doc = json.loads((bad / "graph.json").read_text())
    doc["nodes"][0]["op"] = "op_from_a_newer_build"
    (bad / "graph.json").write_text(json.dumps(doc))
    code, _, err = run_cli(["findings", "show", bad.name, "--store", root], capsys)
    assert_one_line_exit_2(code, err, "not in this build's catalog")
    ran = []
    import fuzzer.cli.findings as cli_findings

    def fake_runner(exporter, opset, mode="normal", optimize=True):
        return lambda graph, inputs: ran.append(graph) or worker_death_result("crash", "SIGSEGV", 0.1, ExportOptions(Exporter(exporter)),
                                                                            seed=1, input_mode=mode, graph=graph)

    monkeypatch.setattr(cli_findings, "_runner", fake_runner)
    code, _, err = run_cli(["findings", "replay", bad.name, "--store", root], capsys)
    assert_one_line_exit_2(code, err, "not in this build's catalog")
    code, out, err = run_cli(["findings", "replay", root], capsys)  # the whole store: goes on past it
    assert code == 1 and len(ran) == 1 and f"{good}  process_crash" in out and "still failing" in out, (out, err)
    assert "not in this build's catalog" in err and "Traceback" not in err


@pytest.mark.parametrize("field, value, needle", [
    ("hits", "many", "'hits'"),
    ("exporter", "tflite", "'exporter'"),
    ("signature", [1], "'signature'"),
    ("verdict", "pass", "'verdict'"),
    ("status", {"a": 1}, "status"),
    ("minimization", "fast", "'minimization'"),
])
def test_findings_show_refuses_a_malformed_finding_json(field, value, needle, tmp_path, capsys):
    root = tmp_path / "store"
    fid = _store_with_a_finding(root)
    doc = json.loads((root / fid / "finding.json").read_text())
    doc[field] = value
    (root / fid / "finding.json").write_text(json.dumps(doc))
    code, _, err = run_cli(["findings", "show", str(root / fid)], capsys)
    assert_one_line_exit_2(code, err, needle)


# -- fuzz --resume -------------------------------------------------------------------------------
def _campaign_dir(tmp_path):
    from fuzzer.campaign import CampaignConfig

    d = tmp_path / "camp"
    d.mkdir()
    (d / "campaign.json").write_text(json.dumps({"config": CampaignConfig(workers=1).to_dict(), "versions": {}}))
    (d / "results.jsonl").write_text(json.dumps({"seed": 0, "exporter": "torchscript", "verdict": "pass", "t": 1.0, "seconds": 0.1, "kept": False}) + "\n")
    return d


@pytest.mark.parametrize("edit, needle", [
    (lambda c: c.update(workers="abc"), "config.workers"),
    (lambda c: c.update(seed=-5), "config.seed"),
    (lambda c: c.update(exporters=["tflite"]), "config.exporters"),
    (lambda c: c.update(case_timeout=float("nan")), "config.case_timeout"),
    (lambda c: c["generator"].update(max_nodes="ten"), "generator.max_nodes"),
    (lambda c: c.update(generator=[1]), "config.generator"),
])
def test_resume_refuses_a_malformed_campaign_json(edit, needle, tmp_path, capsys):
    d = _campaign_dir(tmp_path)
    doc = json.loads((d / "campaign.json").read_text())
    edit(doc["config"])
    (d / "campaign.json").write_text(json.dumps(doc))
    code, _, err = run_cli(["fuzz", "--resume", d], capsys)
    assert_one_line_exit_2(code, err, needle)


@pytest.mark.parametrize("line, needle", [
    ('{"seed": "abc", "exporter": "torchscript", "verdict": "pass"}', "seed"),
    ('{"seed": 1, "exporter": "torchscript", "verdict": "great"}', "verdict"),
    ('{"seed": 1, "exporter": "torchscript", "verdict": "pass", "t": "soon"}', "time"),
    ("[1, 2]", "not a JSON object"),
    ('{"seed": ' + "9" * 5000 + "}", "digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_resume_refuses_a_malformed_results_line(line, needle, tmp_path, capsys):
    d = _campaign_dir(tmp_path)
    with open(d / "results.jsonl", "a") as f:
        f.write(line + "\n")
    code, _, err = run_cli(["fuzz", "--resume", d], capsys)
    assert_one_line_exit_2(code, err, needle)
    code, _, err = run_cli(["stats", d], capsys)
    assert_one_line_exit_2(code, err, needle)


def test_resume_of_a_regular_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run_cli(["fuzz", "--resume", f], capsys)
    assert_one_line_exit_2(code, err, "not a campaign directory")
