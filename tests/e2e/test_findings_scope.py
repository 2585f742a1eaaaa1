"""``onnxfuzz findings scope``: where a real curated finding reproduces, on a copy of it, as a user
checks it (the table, finding.json, the report's Scope section)."""

import json
import shutil
from pathlib import Path

import pytest

from fuzzer.cli import main

pytestmark = pytest.mark.e2e
FINDINGS = Path(__file__).resolve().parents[2] / "findings"


def test_scope_of_a_missing_kernel_names_where_it_reproduces_and_where_not(tmp_path, capsys):
    root = tmp_path / "store"
    shutil.copytree(FINDINGS / "c6969aa4d1", root / "c6969aa4d1")  # ONNX Runtime: no Atan kernel for double (TorchScript)
    assert main(["findings", "scope", "c6969aa4d1", "--store", str(root), "--seconds", "25"]) == 0
    out = capsys.readouterr().out
    rows = {tuple(c.strip() for c in line.split("│")[1:4]) for line in out.splitlines() if line.count("│") >= 5}
    assert ("baseline", "as filed", "reproduces") in rows
    assert ("dtype", "float32", "passes") in rows  # the kernel exists for float
    assert ("opset", "13", "reproduces") in rows or ("opset", "13", "not run") in rows
    scope = json.loads((root / "c6969aa4d1" / "finding.json").read_text())["scope"]
    assert [e["axis"] for e in scope][:2] == ["baseline", "dtype"] and {e["state"] for e in scope} >= {"reproduces", "passes"}
    # on integers the TorchScript exporter fails first, with a bug of its own (Atan on int64 without a Cast)
    assert {k: v for k, v in next(e for e in scope if e["variant"] == "int64").items() if k != "note"} == {
        "axis": "dtype", "variant": "int64", "state": "other failure", "verdict": "invalid_model"}
    assert next(e for e in scope if e["axis"] == "exporter")["state"] in ("reproduces", "not run")  # ONNX Runtime's bug: either exporter
    assert main(["findings", "report", "c6969aa4d1", "--store", str(root), "--no-run"]) == 0
    report = capsys.readouterr().out
    assert "### Scope" in report and "Reproduces with the finding as filed" in report and "Passes with float32" in report
    assert "Fails otherwise with int64" in report
    assert main(["findings", "show", "c6969aa4d1", "--store", str(root)]) == 0
    assert "scope: Reproduces with" in capsys.readouterr().out


def test_scope_usage_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["findings", "scope", "nope", "--store", str(tmp_path)])
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as e:
        main(["findings", "scope", "x", "--seconds", "-1", "--store", str(tmp_path)])
    assert e.value.code == 2
