"""The campaign's table of known triggers: learnt from real findings stores (the curated
findings/), applied from the first slot no exporter was given, kept across a resume, and the
options that turn it off stored in campaign.json."""

import json
import shutil
from pathlib import Path

import pytest

from fuzzer.campaign import CampaignConfig
from fuzzer.campaign.config import CAMPAIGN_MIN_NODES, CampaignError, check_config_dict
from fuzzer.campaign.known import KnownTriggers, triggers_of_store
from fuzzer.generate.avoid import load_avoidance
from fuzzer.store import export_options
from fuzzer.sweep.plan import DEFAULT_OPSET

CURATED = Path(__file__).resolve().parents[3] / "findings"


def _one_op_ids() -> set[str]:
    out = set()
    for d in CURATED.iterdir():
        if (d / "finding.json").is_file():
            doc = json.loads((d / "finding.json").read_text())
            _, opset, optimize = export_options(doc)  # found with a campaign's own options: default opset, optimizer on
            if doc["n_ops"] == 1 and doc.get("status") != "fixed" and optimize and opset in (None, DEFAULT_OPSET):
                out.add(d.name)
    return out


def test_every_one_operator_finding_of_a_store_is_a_trigger():
    triggers = triggers_of_store(CURATED, None)
    assert {t.finding for t in triggers} == _one_op_ids() and len(triggers) > 20
    relu = next(t for t in triggers if t.finding == "172838eea5")
    assert (relu.exporter, relu.op, relu.dtypes, relu.verdict) == ("torchscript", "relu", ("uint8",), "invalid_model")
    assert "68e9cded46" not in {t.finding for t in triggers}  # two operators: not a one-operator trigger
    assert "3ef6d00ef5" not in {t.finding for t in triggers}  # found at opset 17 only, not what the campaign exports


def _copy(ids, store: Path):
    for i in ids:
        shutil.copytree(CURATED / i, store / i)


def test_a_changed_table_applies_from_the_first_slot_not_handed_out_and_survives_resume(tmp_path):
    store = tmp_path / "findings"
    store.mkdir()
    known = KnownTriggers(tmp_path, store, (), ("torchscript", "dynamo"), None, 0.1)
    assert not known.refresh(0) and known.path_for(0) is None  # nothing known yet
    _copy(["172838eea5"], store)
    assert known.refresh(0)
    first = known.path_for(0)
    assert [t.op for t in load_avoidance(first).triggers] == ["relu"]
    assert not known.refresh(7)  # unchanged: no new epoch
    _copy(["c6969aa4d1"], store)
    assert known.refresh(7)
    assert known.path_for(6) == first and known.path_for(100) != first
    assert sorted(t.op for t in load_avoidance(known.path_for(7)).triggers) == ["atan", "relu"]
    resumed = KnownTriggers(tmp_path, store, (), ("torchscript", "dynamo"), None, 0.1)
    assert [resumed.path_for(s) for s in (0, 6, 7, 50)] == [known.path_for(s) for s in (0, 6, 7, 50)]
    assert load_avoidance(known.path_for(7)).exporters == ("torchscript", "dynamo")


def test_given_stores_are_learnt_too(tmp_path):
    known = KnownTriggers(tmp_path, tmp_path / "findings", (str(CURATED),), ("torchscript",), None, 0.1)
    assert known.refresh(0) and known.size == len(_one_op_ids())
    assert "68e9cded46" in known.current.failures.values()  # a two-operator finding's crash is a known failure too
    assert "0643344980" not in known.current.failures.values()  # a mismatch has no message to know it by


def test_options_are_stored_and_older_campaigns_resume_without_them():
    c = CampaignConfig(known=("/x/findings",), avoid=False, cut=True, explore=0.2)
    d = json.loads(json.dumps(c.to_dict()))
    check_config_dict(d, "config")
    back = CampaignConfig.from_dict(d)
    assert (back.known, back.avoid, back.cut, back.explore) == (("/x/findings",), False, True, 0.2)
    assert CampaignConfig().generator.min_nodes == CAMPAIGN_MIN_NODES and CampaignConfig().avoid and CampaignConfig().cut
    old = {k: v for k, v in d.items() if k not in ("known", "avoid", "cut", "explore")}
    assert (CampaignConfig.from_dict(old).avoid, CampaignConfig.from_dict(old).cut) == (False, False)
    with pytest.raises(CampaignError, match="known"):
        check_config_dict({**d, "known": [3]}, "config")
    with pytest.raises(CampaignError, match="avoid"):
        check_config_dict({**d, "avoid": "yes"}, "config")
