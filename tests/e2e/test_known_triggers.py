"""Known-bug avoidance and cutting in real campaigns: graphs of relu and casts over uint8 often
hold relu on uint8, a current TorchScript defect (an invalid model, curated finding
172838eea5). Given that finding as known, the generator stops planting it (but for the
exploration share) and the cases that still hold it are cut past it."""

import shutil
from pathlib import Path

import pytest

from fuzzer.campaign import CampaignConfig, CampaignStats, run_campaign
from fuzzer.compare import Verdict
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions

pytestmark = pytest.mark.e2e
CURATED = Path(__file__).resolve().parents[2] / "findings"
GEN = GeneratorOptions(max_nodes=4, min_nodes=3, ops=("relu", "to"), dtypes=("uint8",), bias=0.0)
CASES = 24


def _campaign(out: Path, known: Path, avoid: bool, cut: bool):
    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=None, cases=CASES, seed=0, workers=1, generator=GEN, minimize_seconds=None,
                            input_mode="normal", known=(str(known),), avoid=avoid, cut=cut)
    stats = CampaignStats()
    results = list(run_campaign(config, out, [], stats))
    return results, stats


def test_avoidance_and_cutting_reduce_re_hits_of_a_known_trigger(tmp_path):
    known = tmp_path / "known"
    known.mkdir()
    shutil.copytree(CURATED / "172838eea5", known / "172838eea5")
    plain, _ = _campaign(tmp_path / "plain", known, avoid=False, cut=False)
    avoided, st_avoid = _campaign(tmp_path / "avoid", known, avoid=True, cut=False)
    cut, st_cut = _campaign(tmp_path / "cut", known, avoid=False, cut=True)

    def rehits(rs):
        return sum(r.verdict is Verdict.INVALID_MODEL and "Relu" in (r.error_head or "") for r in rs)

    assert len(plain) == len(avoided) == len(cut) == CASES
    assert rehits(plain) >= 8
    assert rehits(avoided) <= rehits(plain) // 3
    assert st_avoid.known_triggers == 1 and st_avoid.generation.rejected_known() > 0
    # cutting: the same graphs as plain (no avoidance), run past relu (a graph of relus only keeps its last one)
    assert rehits(cut) < rehits(plain) and st_cut.cut_cases >= 3
    assert all(r.options["cuts"][0]["finding"] == "172838eea5" for r in cut if r.options.get("cuts"))
