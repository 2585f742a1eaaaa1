"""Fuzz our own inputs (issue 21): Hypothesis mutates valid ``graph.json``, ``inputs.npz``,
``finding.json``, ``campaign.json`` and ``results.jsonl`` files (wrong types, huge or negative
sizes, deep nesting, 5000-digit integers, unknown names, strings where numbers go, code in every
string field, truncated and garbage text) and runs the command that reads each (``check``,
``findings show`` / ``replay``, ``fuzz --resume``, ``stats``) in this process, on real files. Every
answer must be an exit code the command documents, a malformed file one line on stderr with exit 2,
never a traceback, never an allocation the file asks for, never executed code.

Whatever gets past the checks does not run for real: the isolated runner and the campaign loop are
replaced by stubs (what happens after loading is the other tests' business); the stub checks that
the PyTorch source of an accepted graph calls nothing but torch.

Examples per entry point: ``ONNXFUZZ_SELF_FUZZ_EXAMPLES`` (default 40, for the suite);
``python scripts/self_fuzz.py --examples 10000`` runs the long version.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzer.campaign import CampaignConfig
from fuzzer.case import worker_death_result
from fuzzer.cli import main
from fuzzer.export import ExportOptions, Exporter
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value, graph_to_dict

EXAMPLES = int(os.environ.get("ONNXFUZZ_SELF_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

MARKER = Path(tempfile.gettempdir()) / "onnxfuzz-self-fuzz-code-ran"
CODE = [
    f"__import__('os').system('touch {MARKER}')",
    f"x0); __import__('os').system('touch {MARKER}'); (x0",
    f"'); open('{MARKER}', 'w'); ('",
    f"torch.float32); open('{MARKER}', 'w'",
    "x0\nimport os",
]
NAMES = ["sin", "to", "slice", "x0", "v0", "v1", "float32", "int64", "bool", "complex64", "index", "normal", "special", "torchscript",
         "dynamo", "numeric_mismatch", "pass", "new", "fixed", "onnxfuzz-graph", "onnxfuzz-finding", "..", "/etc/passwd", "", " "]


def _nested(depth: int):
    v: object = []
    for _ in range(depth):
        v = [v]
    return v


ADVERSARIAL = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**24, 2**25, 2**31, 2**40, 2**62, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(CODE + NAMES),
    st.lists(st.integers(min_value=-3, max_value=2**41), max_size=5),
    st.lists(st.sampled_from(NAMES + CODE), max_size=4),
    st.dictionaries(st.sampled_from(NAMES), st.integers(-2, 5), max_size=3),
    st.integers(min_value=1, max_value=60).map(_nested),
)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for k, v in enumerate(doc):
            yield from _paths(v, prefix + (k,))


def _apply(doc, path, action, value):
    if not path:
        return value if action == "replace" else doc
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif isinstance(parent, list):
        parent.insert(last, value)
    else:
        parent[f"{last}_extra"] = value
    return doc


@st.composite
def mutated_text(draw, base: dict) -> str:
    """``base`` as JSON after 1-3 structural mutations, sometimes then damaged as text."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        doc = _apply(doc, path, draw(st.sampled_from(["replace", "replace", "delete", "add"])), draw(ADVERSARIAL))
    text = json.dumps(doc, allow_nan=True)
    how = draw(st.sampled_from(["as is"] * 8 + ["truncate", "garbage", "deep", "bigint", "empty"]))
    if how == "truncate":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif how == "garbage":
        k = draw(st.integers(0, len(text)))
        text = text[:k] + draw(st.text(min_size=1, max_size=10)) + text[k:]
    elif how == "deep":
        n = draw(st.sampled_from([900, 5000, 100_000]))
        text = "[" * n + "]" * n
    elif how == "bigint":
        text = text.replace("1", "9" * draw(st.sampled_from([4300, 5000])), 1) if "1" in text else "9" * 5000
    elif how == "empty":
        text = ""
    return text


def run_cli(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def assert_answered(code, err, allowed=(0, 1, 2, 3)):
    assert "Traceback" not in err, err
    assert code in allowed, (code, err[-2000:])
    if code == 2:  # one line: the error (or, for a replay that skipped the finding, the warning saying why)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(("onnxfuzz: error:", "onnxfuzz: warning:")), err[-2000:]
        assert len(lines[0]) < 1000, lines[0][:200]
    assert not MARKER.exists(), "code from an input file ran"


# -- stubs: nothing accepted runs for real ---------------------------------------------------------
FORBIDDEN = {"__import__", "eval", "exec", "open", "compile", "os", "sys", "subprocess", "getattr", "globals", "locals", "breakpoint"}


def _check_source(graph: Graph) -> None:
    from fuzzer.materialize import graph_to_source

    tree = ast.parse(graph_to_source(graph))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & FORBIDDEN, names & FORBIDDEN


def _stub_result(graph, export):
    return worker_death_result("crash", "SIGSEGV", 0.01, export, seed=1, input_mode="normal", graph=graph)


def stub_run_isolated(graph, inputs, exports, input_mode="normal"):
    _check_source(graph)
    return [_stub_result(graph, ex) for ex in exports]


def stub_runner(exporter, opset, mode="normal", optimize=True):
    def run(graph, inputs):
        _check_source(graph)
        return _stub_result(graph, ExportOptions(Exporter(exporter), opset, optimize))
    return run


def stub_run_campaign(config, out, observers=None, stats=None, **kw):
    yield from ()


# -- bases ---------------------------------------------------------------------------------------
def _base_graph() -> Graph:
    f, i = TensorSpec((2, 3), "float32"), TensorSpec((2, 3), "int64")
    nodes = (
        Node("sin", ("x0",), (Value("v0", f),)),
        Node("to", ("v0",), (Value("v1", i),), {"dtype": "int64"}),
        Node("slice", ("x0",), (Value("v2", TensorSpec((2, 1), "float32")),), {"index": (None, (0, 1, None))}),
    )
    return Graph((Input("x0", f),), nodes, ("v1", "v2"), {"seed": 1})


BASE_GRAPH = graph_to_dict(_base_graph())


@FUZZ
@given(mutated_text(BASE_GRAPH))
def test_check_answers_any_graph_json(text):
    with tempfile.TemporaryDirectory() as d, mock.patch("fuzzer.workers.run_isolated", stub_run_isolated):
        path = Path(d) / "graph.json"
        path.write_text(text)
        code, _, err = run_cli(["check", path, "--exporter", "torchscript"])
        assert_answered(code, err)


_DESCRS = ["<f4", "<f8", "<i8", "|b1", "|O", "<c8", "V8", "<U4", "S3", "garbage", ">f4"]


@st.composite
def npz_bytes(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(["x0.npy", "x1.npy", "x0", "../x0.npy", "x0.npy/"]))
            shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3, 2**20, 2**40, -1]), max_size=3)))
            descr = draw(st.sampled_from(_DESCRS))
            header = "{'descr': %r, 'fortran_order': %s, 'shape': %r, }" % (descr, draw(st.sampled_from(["False", "True", "1"])), shape)
            raw = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
            raw = raw if draw(st.booleans()) else raw[: draw(st.integers(0, len(raw)))]
            z.writestr(name, raw + draw(st.binary(max_size=48)))
        if draw(st.booleans()):
            z.writestr("x0.npy", _npy(np.zeros((2, 3), np.float32)))
    return buf.getvalue()


def _npy(a) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


@FUZZ
@given(npz_bytes())
def test_check_answers_any_inputs_npz(data):
    from fuzzer.ir import save_graph

    with tempfile.TemporaryDirectory() as d, mock.patch("fuzzer.workers.run_isolated", stub_run_isolated):
        save_graph(_base_graph(), Path(d) / "graph.json")
        (Path(d) / "inputs.npz").write_bytes(data)
        code, _, err = run_cli(["check", Path(d) / "graph.json", "--exporter", "torchscript"])
        assert_answered(code, err)


def _finding_in(root: Path) -> Path:
    from fuzzer.store import FindingStore

    g = _base_graph()
    x = {"x0": np.zeros((2, 3), np.float32)}
    store = FindingStore(root)
    fid, _ = store.record(g, x, _stub_result(g, ExportOptions(Exporter.TORCHSCRIPT)))
    store.close()
    return root / fid


def _base_finding() -> dict:
    with tempfile.TemporaryDirectory() as d:
        return json.loads((_finding_in(Path(d) / "store") / "finding.json").read_text())


BASE_FINDING = _base_finding()


@FUZZ
@given(st.sampled_from(["finding.json", "graph.json"]), st.data())
def test_findings_show_and_replay_answer_any_finding(which, data):
    import fuzzer.cli.findings as cli_findings

    text = data.draw(mutated_text(BASE_FINDING if which == "finding.json" else BASE_GRAPH))
    with tempfile.TemporaryDirectory() as d, mock.patch.object(cli_findings, "_runner", stub_runner):
        path = _finding_in(Path(d) / "store")
        (path / which).write_text(text)
        code, _, err = run_cli(["findings", "show", path])
        assert_answered(code, err, (0, 2))
        code, _, err = run_cli(["findings", "replay", path])
        assert_answered(code, err, (0, 1, 2))
        code, _, err = run_cli(["findings", "list", Path(d) / "store"])
        assert_answered(code, err, (0,))


BASE_CAMPAIGN = {"config": CampaignConfig(workers=1).to_dict(), "versions": {}}
BASE_LINE = {"seed": 0, "exporter": "torchscript", "verdict": "export_crash", "opset": 17, "n_nodes": 3, "error_type": "E", "error_head": "e",
             "worst_abs": None, "bucket": "b", "kept": False, "seconds": 0.1, "t": 1.0, "timings": {}}


def _campaign(d: Path, campaign: str, lines: list[str]) -> Path:
    c = d / "camp"
    c.mkdir()
    (c / "campaign.json").write_text(campaign)
    (c / "results.jsonl").write_text("".join(x + "\n" for x in lines))
    return c


@FUZZ
@given(mutated_text(BASE_CAMPAIGN))
def test_resume_and_stats_answer_any_campaign_json(text):
    with tempfile.TemporaryDirectory() as d, mock.patch("fuzzer.campaign.run_campaign", stub_run_campaign):
        c = _campaign(Path(d), text, [json.dumps(BASE_LINE)])
        code, _, err = run_cli(["fuzz", "--resume", c])
        assert_answered(code, err, (0, 2))
        code, _, err = run_cli(["stats", c])
        assert_answered(code, err, (0, 2))


@FUZZ
@given(st.lists(mutated_text(BASE_LINE), min_size=1, max_size=3))
def test_resume_and_stats_answer_any_results_lines(lines):
    lines = [x.replace("\n", " ") for x in lines]  # one line each (a torn last line is cut, as after kill -9)
    with tempfile.TemporaryDirectory() as d, mock.patch("fuzzer.campaign.run_campaign", stub_run_campaign):
        c = _campaign(Path(d), json.dumps(BASE_CAMPAIGN), [json.dumps(BASE_LINE), *lines])
        code, _, err = run_cli(["fuzz", "--resume", c])
        assert_answered(code, err, (0, 2))
        code, _, err = run_cli(["stats", c])
        assert_answered(code, err, (0, 2))
