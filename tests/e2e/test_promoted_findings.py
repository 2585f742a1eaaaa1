"""Regression watch over the repository's curated findings/: every promoted finding must behave as
its status says (open/new/filed/wontfix: still failing with its signature; fixed: passes). When
an upstream release fixes one, this fails until its status is updated with
``onnxfuzz findings mark ID --fixed VERSION --store findings``."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
FINDINGS = Path(__file__).resolve().parents[2] / "findings"


def _promoted() -> list[Path]:
    return sorted(p for p in FINDINGS.iterdir() if (p / "finding.json").exists()) if FINDINGS.is_dir() else []


@pytest.mark.skipif(not _promoted(), reason="no promoted findings yet")
def test_every_promoted_finding_behaves_as_its_status_says():
    r = subprocess.run([sys.executable, "-m", "fuzzer", "findings", "replay", str(FINDINGS), "--check-status"],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("\n") >= len(_promoted())


@pytest.mark.skipif(not _promoted(), reason="no promoted findings yet")
def test_promoted_findings_are_listed_in_the_readme():
    readme = (FINDINGS / "README.md").read_text()
    for p in _promoted():
        assert p.name in readme, f"{p.name} is not in findings/README.md (run scripts/findings_readme.py)"


def _one_per_verdict() -> list[Path]:
    import json

    seen: dict[str, Path] = {}
    for p in _promoted():
        seen.setdefault(json.loads((p / "finding.json").read_text())["verdict"], p)
    return list(seen.values())


@pytest.mark.parametrize("finding", _one_per_verdict(), ids=lambda p: p.name)
def test_a_promoted_findings_own_repro_script_reproduces_it(finding, tmp_path):
    # what a reader of the upstream report runs: the script alone, from another directory
    r = subprocess.run([sys.executable, str(finding / "repro.py")], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 1 and "REPRODUCED" in r.stdout, r.stdout + r.stderr  # a signal too: the case runs in a child
    if '"stage": "process_crash"' in (finding / "repro.py").read_text():
        assert "REPRODUCED: the process died by SIG" in r.stdout and "Fatal Python error" in r.stderr, r.stdout + r.stderr
