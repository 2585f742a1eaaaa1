"""Arms: the op-job order is stable and breadth first, and the allocator follows the yield within an
exporter while exporters keep equal time."""

from collections import Counter

from fuzzer.campaign.arms import Allocator, OpJobs, op_job_key
from fuzzer.export import Exporter

ARMS = ("torchscript/graphs", "torchscript/ops", "dynamo/graphs", "dynamo/ops")


def test_op_jobs_are_the_same_in_every_run_breadth_first_and_skip_done_ones():
    a = OpJobs(Exporter.DYNAMO, 3, "special")
    first = a.take(12, set())
    assert len({j.ops[0] for _, j in first}) == 12  # one graph per operator in the first round
    assert [i for i, _ in first] == list(range(24))  # each with its two input modes, consecutive
    assert [j.mode for _, j in first] == ["normal", "special"] * 12
    assert all(first[k][1].graph == first[k + 1][1].graph and first[k][1].graph_key == first[k + 1][1].graph_key for k in range(0, 24, 2))
    b = OpJobs(Exporter.DYNAMO, 3, "special")
    done = {("dynamo", op_job_key(i)) for i, _ in first[:5]}  # two graphs, and the first mode of the third
    again = b.take(7, done)
    assert [(i, j.key) for i, j in again] == [(i, j.key) for i, j in first[5:18]]  # resume: exactly the rest, 7 graphs
    assert [j.mode for _, j in OpJobs(Exporter.DYNAMO, 3, "normal").take(3, set())] == ["normal"] * 3  # one mode: one job per graph
    assert {j.mode for _, j in first} <= {"normal", "special"} and all(len(j.exports) == 5 for _, j in first)
    assert [j.key for _, j in OpJobs(Exporter.DYNAMO, 4, "special").take(12, set())] != [j.key for _, j in first]  # the seed orders them


def test_allocator_keeps_exporters_even_and_follows_yield_within_one():
    alloc = Allocator(ARMS, floor=0.1)
    seconds = Counter({"torchscript/graphs": 50, "torchscript/ops": 50, "dynamo/graphs": 10, "dynamo/ops": 10})
    assert alloc.pick(seconds, Counter(), ARMS).startswith("dynamo/")  # the exporter with less time goes next
    share = alloc.shares(Counter({a: 100 for a in ARMS}), Counter({"dynamo/ops": 40, "dynamo/graphs": 0}))
    assert share["dynamo/ops"] > 0.8 and abs(share["dynamo/graphs"] - 0.1) < 0.05  # yield wins, floor stays
    assert abs(share["dynamo/ops"] + share["dynamo/graphs"] - 1) < 1e-9
    seconds = Counter({"torchscript/graphs": 100, "torchscript/ops": 100, "dynamo/graphs": 100, "dynamo/ops": 100})
    assert alloc.pick(seconds, Counter({"dynamo/ops": 40}), ["dynamo/graphs", "dynamo/ops"]) == "dynamo/ops"
    assert alloc.pick(seconds, Counter(), ["torchscript/graphs"]) == "torchscript/graphs" and alloc.pick(seconds, Counter(), []) is None


def test_op_jobs_plan_only_as_far_as_the_rounds_reach_and_share_graphs_between_exporters():
    sources = {}
    ts = OpJobs(Exporter.TORCHSCRIPT, 5, "special", sources)
    dy = OpJobs(Exporter.DYNAMO, 5, "special", sources)
    first = ts.take(20, set())
    assert len(sources) == 20  # only the operators the first round reached are planned
    assert all(len(s.drawn) == 1 and len(s.window) <= s.WINDOW for s in sources.values())  # and each only a window ahead
    from fuzzer.campaign.arms import OpSource

    for _, j in first[:6]:  # another exporter's plan of the operator, made on its own, holds the same graph
        own = {o.key: o for o in OpSource(j.ops[0], 5, dy.modes).graph(0)}
        assert own[j.key].graph == j.graph
    j = dy.take(1, set())[0][1]
    assert {e.exporter for e in j.exports} == {Exporter.DYNAMO} and {e.exporter for e in first[0][1].exports} == {Exporter.TORCHSCRIPT}


def test_allocator_weights_split_time_between_exporters_by_their_share():
    alloc = Allocator(ARMS, floor=0.1, weights={"dynamo": 0.75, "torchscript": 0.25})
    seconds: Counter = Counter()
    for _ in range(400):  # every pick runs one second of worker time
        seconds[alloc.pick(seconds, Counter(), ARMS)] += 1
    dynamo = seconds["dynamo/graphs"] + seconds["dynamo/ops"]
    assert 295 <= dynamo <= 305  # 3/4 of the time
    assert Allocator(ARMS).pick(Counter({"dynamo/graphs": 10}), Counter(), ARMS).startswith("torchscript/")  # no weights: equal time


def test_dynamo_share_is_stored_checked_and_defaults_for_older_campaigns():
    import pytest

    from fuzzer.campaign import CampaignConfig
    c = CampaignConfig(dynamo_share=0.7)
    assert CampaignConfig.from_dict(c.to_dict()).dynamo_share == 0.7
    assert CampaignConfig.from_dict({k: v for k, v in c.to_dict().items() if k != "dynamo_share"}).dynamo_share == 0.5  # equal time, as they ran
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="dynamo_share"):
            CampaignConfig(dynamo_share=bad)
