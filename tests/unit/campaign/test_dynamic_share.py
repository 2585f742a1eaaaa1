"""--dynamic-share: which slots are exported dynamic, how they are requested, kept on resume."""

from collections import Counter

import pytest

from fuzzer.campaign import CampaignConfig
from fuzzer.campaign.config import load_config
from fuzzer.campaign.config import DYNAMO_DYNAMIC_SCALE
from fuzzer.campaign.scheduler import Scheduler, is_dynamic_slot
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.workers.protocol import RunSeeds


def test_the_dynamic_slots_are_a_share_fixed_by_seed_and_slot():
    slots = [is_dynamic_slot(3, i, 0.25) for i in range(4000)]
    assert 0.22 < sum(slots) / len(slots) < 0.28
    assert slots == [is_dynamic_slot(3, i, 0.25) for i in range(4000)]  # resume sees the same
    assert slots != [is_dynamic_slot(4, i, 0.25) for i in range(4000)]
    assert not any(is_dynamic_slot(3, i, 0.0) for i in range(100)) and all(is_dynamic_slot(3, i, 1.0) for i in range(100))


def test_a_request_holds_slots_of_one_kind_and_dynamo_batches_dynamic_slots_together(tmp_path):
    config = CampaignConfig(exporters=(Exporter.DYNAMO, Exporter.TORCHSCRIPT), cases=80, seed=0, workers=1, arms=("graphs",),
                            generator=GeneratorOptions(max_nodes=3), dynamic_share=0.3, minimize_seconds=None)
    sched = Scheduler(config, set(), None, tmp_path / "incoming")
    seen: Counter = Counter()
    batches: dict = {(e, d): [] for e in ("dynamo", "torchscript") for d in (False, True)}
    while (pick := sched.next_request(Counter(), Counter())) is not None:
        req = pick.request
        assert isinstance(req, RunSeeds)
        share = 0.3 * (DYNAMO_DYNAMIC_SCALE if pick.exporter == "dynamo" else 1.0)  # dynamo: a subset of the slots
        dynamic = [is_dynamic_slot(0, s, share) for s in req.seeds]
        assert dynamic == [req.export.dynamic] * len(req.seeds)
        batches[(pick.exporter, req.export.dynamic)].append(len(req.seeds))
        for s in req.seeds:
            seen[(pick.exporter, s)] += 1
    assert set(seen.values()) == {1} and len(seen) == 160  # every slot once per exporter
    assert max(batches[("dynamo", True)]) > 1 and set(batches[("torchscript", True)]) == {1}
    assert 0 < sum(batches[("dynamo", True)]) < len(batches[("torchscript", True)])  # fewer dynamic dynamo slots


def test_the_share_is_stored_for_resume_and_checked(tmp_path):
    import json

    c = CampaignConfig(dynamic_share=0.2)
    assert CampaignConfig.from_dict(c.to_dict()).dynamic_share == 0.2
    assert CampaignConfig.from_dict({k: v for k, v in c.to_dict().items() if k != "dynamic_share"}).dynamic_share == 0.0  # older campaigns
    with pytest.raises(ValueError):
        CampaignConfig(dynamic_share=1.5)
    d = c.to_dict()
    d["dynamic_share"] = 2
    (tmp_path / "campaign.json").write_text(json.dumps({"config": d}))
    from fuzzer.campaign import CampaignError

    with pytest.raises(CampaignError, match="dynamic_share"):
        load_config(tmp_path)


def test_a_share_of_op_job_requests_adds_a_dynamic_variant_at_the_baseline_options(tmp_path):
    from fuzzer.workers.protocol import RunGraphs

    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=60, seed=0, workers=1, arms=("ops",), dynamic_share=0.5, minimize_seconds=None)
    sched = Scheduler(config, set(), None, tmp_path / "incoming")
    picks = [sched.next_request(Counter(), Counter()) for _ in range(12)]
    with_dyn = [p for p in picks if any(e.dynamic for e in p.request.exports)]
    assert 0 < len(with_dyn) < len(picks)
    for p in picks:
        assert isinstance(p.request, RunGraphs)
        dyn = [e for e in p.request.exports if e.dynamic]
        assert (len(dyn) == 1) == is_dynamic_slot(0, p.jobs[0][0], 0.5)
        assert all(j.exports == p.request.exports for _, j in p.jobs)  # the loop files each variant by the job's own list
        if dyn:
            assert dyn[0].static() == p.request.exports[0]  # the baseline, dynamic
