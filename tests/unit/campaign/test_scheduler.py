"""The scheduler's requests: TorchScript seeds travel together where a request is costly (a
cluster), without changing which seeds run or how often."""

from collections import Counter

from fuzzer.campaign import CampaignConfig
from fuzzer.campaign.scheduler import Scheduler, is_dynamic_slot
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.workers.protocol import RunSeeds


def _requests(tmp_path, torchscript_batch: int) -> list[RunSeeds]:
    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT, Exporter.DYNAMO), cases=30, seed=7, workers=1, arms=("graphs",),
                            generator=GeneratorOptions(max_nodes=3), dynamic_share=0.25, minimize_seconds=None)
    sched = Scheduler(config, {("torchscript", 7 + 3)}, None, tmp_path / "incoming", torchscript_batch=torchscript_batch)
    out = []
    while (pick := sched.next_request(Counter(), Counter())) is not None:
        out.append(pick.request)
    return out


def test_torchscript_seeds_per_request_change_the_grouping_only(tmp_path):
    one = _requests(tmp_path, 1)
    four = _requests(tmp_path, 4)
    ts = [r for r in four if r.export.exporter is Exporter.TORCHSCRIPT]
    assert max(len(r.seeds) for r in ts) == 4 and all(len(r.seeds) == 1 for r in one if r.export.exporter is Exporter.TORCHSCRIPT)
    for r in ts:  # a request holds seeds of one kind; its time limit grows with them
        assert {is_dynamic_slot(7, s - 7, 0.25) for s in r.seeds} == {r.export.dynamic}
        assert r.timeout == (None if len(r.seeds) == 1 else CampaignConfig().case_timeout * len(r.seeds))

    def runs(reqs):
        return Counter((r.export.exporter, s) for r in reqs for s in r.seeds)

    assert runs(one) == runs(four)  # the same seeds, each once per exporter
    assert set(runs(four).values()) == {1} and (Exporter.TORCHSCRIPT, 10) not in runs(four)  # a done seed is skipped
    assert sum(1 for e, _ in runs(four) if e is Exporter.TORCHSCRIPT) == 29
