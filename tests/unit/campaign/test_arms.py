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
    assert {j.mode for _, j in first} <= {"normal", "special"} and all(len(j.exports) == 3 for _, j in first)
    assert len(a.exports + a.sampled) == 5  # opsets 18 and 23 go with a share of the requests (test_scheduler)
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


OPS = ("abs", "floor", "cumsum", "sum", "neg", "clamp")


def test_later_rounds_visit_credited_operators_first_and_a_jobs_index_names_the_same_job_in_any_order():
    plain = OpJobs(Exporter.DYNAMO, 7, "special", ops=OPS)
    base = plain.take(2 * len(OPS), set())  # rounds 0 and 1, nothing credited: the shuffled order twice
    assert [j.ops[0] for _, j in base[: 2 * len(OPS)]][::2] == plain.ops  # round 0: the shuffled order
    fed = OpJobs(Exporter.DYNAMO, 7, "special", ops=OPS)
    first = fed.take(len(OPS), set())
    assert first == base[: 2 * len(OPS)]
    fed.credit(fed.ops[-1], 2)  # the last operator of round 0 opened two new buckets, the third-last one
    fed.credit(fed.ops[-3])
    second = fed.take(len(OPS), set())
    assert [j.ops[0] for _, j in second][::2][:2] == [fed.ops[-1], fed.ops[-3]]  # round 1 visits them first
    assert sorted((i, j.key) for i, j in second) == sorted((i, j.key) for i, j in base[2 * len(OPS):])  # same jobs, same indices
    assert all(fed.op_of(i) == j.ops[0] for i, j in first + second)
    # resume: the jobs done are skipped by index whatever order the resumed run takes
    done = {("dynamo", op_job_key(i)) for i, _ in second[:4]}
    again = OpJobs(Exporter.DYNAMO, 7, "special", ops=OPS).take(len(OPS) - 2, {("dynamo", op_job_key(i)) for i, _ in first} | done)
    assert sorted(i for i, _ in again) == sorted(i for i, _ in second[4:])


def test_a_resumed_campaign_credits_operators_with_the_new_buckets_its_lines_record():
    from fuzzer.campaign.config import CampaignConfig
    from fuzzer.campaign.scheduler import Scheduler

    sched = Scheduler(CampaignConfig(exporters=(Exporter.DYNAMO,), seconds=60), set(), None, None)
    jobs = sched.op_jobs["dynamo"]
    limitation = ("ort_load_failure|dynamo|onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented|[ONNXRuntimeError] : # : NOT_IMPLEMENTED :"
                  " Could not find an implementation for Min(#) node with name #")
    lines = [{"exporter": "dynamo", "op_job": 0, "bucket": "invalid_model|dynamo|X|a"},
             {"exporter": "dynamo", "op_job": 2, "bucket": "invalid_model|dynamo|X|a"},  # seen: no credit
             {"exporter": "dynamo", "op_job": 2, "bucket": limitation},  # a documented limitation: no credit
             {"exporter": "dynamo", "seed": 5, "bucket": "invalid_model|dynamo|X|b"},  # a generated graph's
             {"exporter": "dynamo", "op_job": 5, "bucket": "numeric_mismatch|dynamo||nan float16"}]
    sched.restore_credit(lines)
    assert jobs.score == Counter({jobs.op_of(0): 1, jobs.op_of(5): 1}) or (jobs.op_of(0) == jobs.op_of(5) and jobs.score[jobs.op_of(0)] == 2)


def test_an_op_job_that_opens_new_buckets_credits_its_operator_once_per_bucket():
    from fuzzer.campaign.config import CampaignConfig
    from fuzzer.campaign.scheduler import Scheduler
    from fuzzer.case import CaseResult
    from fuzzer.compare import Verdict

    sched = Scheduler(CampaignConfig(exporters=(Exporter.DYNAMO,), seconds=60), set(), None, None)
    jobs = sched.op_jobs["dynamo"]
    (_, job), = jobs.take(1, set())[:1]
    head = "[ShapeInferenceError] (op_type:Floor, node name: {}): X typestr: T, has unsupported type: tensor(int16)"

    def result(verdict, node="n0", opset=20):
        return CaseResult(seed=job.seed, exporter="dynamo", opset_requested=opset, opset=opset, verdict=verdict, input_mode="normal",
                          error_type="onnx.onnx_cpp2py_export.shape_inference.InferenceError", error_head=head.format(node),
                          options={"export": {"exporter": "dynamo", "opset": opset, "optimize": True}})

    # two variants fail the same way at differently named nodes (one bucket), one passes
    rows = [result(Verdict.INVALID_MODEL), result(Verdict.INVALID_MODEL, "node_floor_1", 17), result(Verdict.PASS)]
    sched.observe_op("dynamo", job, rows, known_bucket=lambda r: False)
    assert jobs.score == Counter({job.ops[0]: 1})
    sched.observe_op("dynamo", job, rows, known_bucket=lambda r: r.verdict.is_failure)  # known already: no credit
    assert jobs.score == Counter({job.ops[0]: 1})


def test_an_arm_that_stops_finding_loses_its_share_to_one_that_still_finds():
    """Both arms found 30 buckets in their first 300 worker seconds; then graphs finds nothing
    while ops finds one a minute. Counted over the whole campaign the split would stay near even;
    over each arm's last 300 seconds ops gets three quarters of the time and more, graphs little above its floor.
    A resumed campaign (counts first seen above zero) starts from its average rate."""
    arms = ("dynamo/graphs", "dynamo/ops")
    alloc = Allocator(arms, floor=0.1)
    seconds, found = Counter(), Counter()
    for t in range(0, 301, 10):  # one pick per 10 worker seconds per arm
        for a in arms:
            seconds[a], found[a] = t, t // 10
            alloc.shares(seconds, found)
    first = alloc.shares(seconds, found)
    assert abs(first["dynamo/graphs"] - first["dynamo/ops"]) < 0.01
    for t in range(310, 901, 10):
        seconds["dynamo/graphs"] = seconds["dynamo/ops"] = t
        found["dynamo/ops"] = 30 + (t - 300) // 60
        share = alloc.shares(seconds, found)
    assert share["dynamo/ops"] > 0.75 and 0.1 <= share["dynamo/graphs"] < 0.25
    whole = Allocator(arms, floor=0.1, window=None).shares(seconds, found)
    assert whole["dynamo/graphs"] > 0.35  # what the whole-campaign yield gave
    resumed = Allocator(arms, floor=0.1).shares(seconds, found)
    assert abs(resumed["dynamo/graphs"] - whole["dynamo/graphs"]) < 0.05
