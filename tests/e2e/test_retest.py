"""``findings retest``: a finding replayed in a throwaway virtualenv with a pinned override, and its
state recorded per stack (the override here is the installed version itself, to stay fast)."""

import json
import shutil
from pathlib import Path

import pytest

from fuzzer.cli import main
from fuzzer.versions import stack_versions

pytestmark = pytest.mark.e2e
FINDINGS = Path(__file__).resolve().parents[2] / "findings"


def test_retest_records_where_a_finding_reproduces(tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    shutil.copytree(FINDINGS / "c6969aa4d1", store / "c6969aa4d1")  # Atan on float64: no ORT kernel
    ort = stack_versions()["onnxruntime"]
    assert main(["findings", "retest", str(store), "--with", f"onnxruntime=={ort}"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 still fail" in out
    doc = json.loads((store / "retest.json").read_text())
    (label, entry), = doc["stacks"].items()
    assert entry["overrides"] == [f"onnxruntime=={ort}"] and entry["versions"]["onnxruntime"] == ort and f"onnxruntime {ort}" in label
    assert entry["findings"] == {"c6969aa4d1": "still failing"}
    assert not list((store / ".tmp").iterdir())  # the virtualenv is gone
    assert main(["findings", "list", str(store)]) == 0  # the record and the scratch dir are not findings
    assert "c6969aa4d1" in capsys.readouterr().out


def test_retest_refuses_a_bad_override_in_one_line(tmp_path, capsys):
    store = tmp_path / "store"
    shutil.copytree(FINDINGS / "c6969aa4d1", store / "c6969aa4d1")
    with pytest.raises(SystemExit) as e:
        main(["findings", "retest", str(store), "--with", "torch==2.12.0"])  # could be a CUDA build
    assert e.value.code == 2
    assert "CPU build" in capsys.readouterr().err
    assert not (store / "retest.json").exists()
