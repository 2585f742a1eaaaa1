"""The inline scripts of findings' reports are what a maintainer runs: each must exit 1 while the
bug reproduces. Real findings, real exports, real ONNX Runtime; each script runs alone in an
empty directory."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzer.store import FindingStore
from fuzzer.store.store import inline_scripts

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FINDINGS = ROOT / "findings"


def _fresh_report(fid: str, tmp_path: Path) -> str:
    """report.md written now, from the finding's files (a copy in a store of its own)."""
    store = tmp_path / "store"
    store.mkdir()
    shutil.copytree(FINDINGS / fid, store / fid)
    shutil.copy(FINDINGS / "curation.json", store / "curation.json")
    (store / fid / "report.md").unlink()
    FindingStore(store).rewrite_report(store / fid)
    return (store / fid / "report.md").read_text()


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    d = tmp_path / "run"
    d.mkdir(exist_ok=True)
    (d / "s.py").write_text(script)
    return subprocess.run([sys.executable, "s.py"], cwd=d, capture_output=True, text=True, timeout=300)


def test_a_mismatch_reports_script_exits_1(tmp_path):
    report = _fresh_report("2c255cd89e", tmp_path)  # cdist(p=1): exported without Abs
    assert report.startswith("# [ONNX] cdist(p=1)") and "**Tracker:** PyTorch" in report and "Pow" in report.split("The node that goes wrong")[1]
    r = _run(inline_scripts(report)[0], tmp_path)
    assert r.returncode == 1 and "REPRODUCED: numeric_mismatch" in r.stdout, r.stdout + r.stderr


def test_a_process_crash_reports_script_exits_1_with_the_childs_stack(tmp_path):
    report = _fresh_report("ac83333982", tmp_path)  # reshape of an empty tensor: SIGFPE inside torch.onnx.export
    r = _run(inline_scripts(report)[0], tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr  # not -8: the signal kills the child only
    assert "died by SIGFPE" in r.stdout and "most recent call first" in r.stdout and "torch/onnx" in r.stdout


def test_an_onnxruntime_reports_script_is_torch_free_and_exits_1(tmp_path):
    report = _fresh_report("41c6b99eda", tmp_path)  # ReduceSum on 0-d int64
    assert "**Tracker:** ONNX Runtime" in report and "### ONNX Runtime Version or Commit ID" in report
    script = inline_scripts(report)[0]
    assert "torch" not in script.replace("# ", "").split("import onnxruntime")[0] and "helper.make_node('ReduceSum'" in script
    r = _run(script, tmp_path)
    assert r.returncode == 1 and "disagrees with the ONNX reference" in r.stdout, r.stdout + r.stderr


def test_every_curated_reports_script_exits_1():
    # CI's check of every curated finding (process crashes included); ~70 s of CPU on 2 jobs
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_report_scripts.py"), str(FINDINGS), "--first-only", "--jobs", "2"],
                       capture_output=True, text=True, timeout=1500)
    n = sum(1 for p in FINDINGS.iterdir() if (p / "report.md").exists())
    assert r.returncode == 0 and f"{n} of {n} inline scripts behave" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
