"""Interaction findings are counted by the campaign's recorder and listed first by
``findings list`` (real curated findings copied into a store)."""

import shutil
from pathlib import Path

from fuzzer.campaign.recorder import FindingRecorder
from fuzzer.cli import main
from fuzzer.export import ExportOptions, Exporter
from fuzzer.store import FindingStore

CURATED = Path(__file__).resolve().parents[3] / "findings"


def _store(tmp_path: Path) -> Path:
    root = tmp_path / "findings"
    root.mkdir()
    for fid in ("0643344980", "68e9cded46", "ed8f641f28"):
        shutil.copytree(CURATED / fid, root / fid)
    FindingStore(root).mark_interaction("68e9cded46", True)
    FindingStore(root).mark_interaction("ed8f641f28", False)
    return root


def test_the_recorder_counts_interaction_findings(tmp_path):
    rec = FindingRecorder(_store(tmp_path), {"torchscript": ExportOptions(Exporter.TORCHSCRIPT)}, "special", None)
    try:
        assert rec.stats.interactions == 1
    finally:
        rec.close()


def test_findings_list_shows_interactions_first(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    root = _store(tmp_path)
    for order in ("id", "hits"):
        assert main(["findings", "list", str(root), "--sort", order]) == 0
        out = capsys.readouterr().out
        rows = [ln for ln in out.splitlines() if any(f in ln for f in ("064334", "68e9cd", "ed8f64"))]
        assert len(rows) == 3 and "68e9cd" in rows[0] and "interaction:" in rows[0] and "1 interactions" in out
        assert out.count("interaction:") == 1
