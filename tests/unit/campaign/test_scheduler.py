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


def test_op_jobs_of_a_known_trigger_are_passed_over_but_for_the_exploration_share(tmp_path):
    from types import SimpleNamespace

    from fuzzer.generate.avoid import ANY_DTYPES, Avoidance, Trigger

    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=60, seed=3, workers=1, arms=("ops",), minimize_seconds=None, dynamic_share=0.0)
    plain = Scheduler(config, set(), None, tmp_path / "a")
    first = [j for _ in range(6) for _, j in plain.next_request(Counter(), Counter()).jobs]
    banned = first[0].ops[0]  # as if the store knew: every job of this operator fails on TorchScript
    table = Avoidance((Trigger("torchscript", banned, ANY_DTYPES, (), "export_crash", "UnsupportedOperatorError"),), ("torchscript",), explore=0.0)
    sched = Scheduler(config, set(), None, tmp_path / "b", known=SimpleNamespace(current=table, path_for=lambda slot: None))
    ran = [j for _ in range(6) for _, j in sched.next_request(Counter(), Counter()).jobs]
    assert banned not in {j.ops[0] for j in ran} and sched.ops_skipped["torchscript"] >= 1
    from fuzzer.campaign.arms import OpJobs

    order = [j.key for _, j in OpJobs(Exporter.TORCHSCRIPT, 3, config.input_mode).take(len(ran) + 40, set())]
    assert {j.key for j in ran} <= set(order) and len(ran) >= len(first) - 8  # the other jobs of the same plan, no fewer per request
    other = Scheduler(config, set(), None, tmp_path / "c", known=SimpleNamespace(current=Avoidance((), ("torchscript",)), path_for=lambda slot: None))
    assert [j.key for _ in range(6) for _, j in other.next_request(Counter(), Counter()).jobs] == [j.key for j in first]  # nothing known: nothing skipped
    table_all = Avoidance(table.triggers, ("torchscript",), explore=1.0)  # an exploration share of 1: every known job still runs
    explore = Scheduler(config, set(), None, tmp_path / "d", known=SimpleNamespace(current=table_all, path_for=lambda slot: None))
    assert [j.key for _ in range(6) for _, j in explore.next_request(Counter(), Counter()).jobs] == [j.key for j in first]


def test_an_operator_refused_as_unsupported_twice_is_passed_over(tmp_path):
    """Real TorchScript exports of the op jobs' variants: cosh has no symbolic (every variant
    refused with UnsupportedOperatorError, which names the ATen operator), so after one such job
    its further jobs are skipped; sin exports, so it never is; an operator refused at one opset
    only loses that variant."""
    from dataclasses import replace
    from types import SimpleNamespace

    from fuzzer.case.variants import run_variants
    from fuzzer.generate import make_inputs, single_op_graph
    from fuzzer.generate.avoid import Avoidance
    from fuzzer.ir import TensorSpec

    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=60, seed=3, workers=1, arms=("ops",), minimize_seconds=None, dynamic_share=0.0)
    sched = Scheduler(config, set(), None, tmp_path / "a", known=SimpleNamespace(current=Avoidance((), ("torchscript",), explore=0.0), path_for=lambda slot: None))
    (_, job), *_ = sched.next_request(Counter(), Counter()).jobs
    base = {Exporter.TORCHSCRIPT: job.exports[0]}

    def finished(op, dtype, attrs=None):
        j = replace(job, graph=single_op_graph(op, [TensorSpec((3,), dtype)], attrs))
        sched.observe_op("torchscript", j, run_variants(j.graph, make_inputs(j.graph, 0), list(j.exports), base))
        return j

    cosh = finished("cosh", "float32")
    assert sched._unknown("torchscript", [(1, cosh)]) == [] and sched.ops_skipped["torchscript"] == 1
    # the refusal names aten::polygamma: the other catalog entries reaching it are passed over too
    finished("polygamma.polygamma_n_0", "float32", {"a1": 0})
    twin = replace(cosh, graph=single_op_graph("polygamma.polygamma_n_3", [TensorSpec((3,), "float32")], {"a1": 3}))
    assert sched._unknown("torchscript", [(5, twin)]) == [] and sched.ops_skipped["torchscript"] == 2
    sin = finished("sin", "float32")
    finished("sin", "float64")
    assert sched._unknown("torchscript", [(2, sin)]) == [(2, sin)]
    # sign has no symbolic at opset 7 (ONNX Sign is from opset 9) and exports at the default: after
    # two such jobs its jobs run without the opset-7 variant, the baseline kept
    sign = finished("sign", "float32")
    finished("sign", "float64")
    ((_, kept),) = sched._unknown("torchscript", [(3, sign)])
    assert kept.exports == (job.exports[0],) and len(sign.exports) == 2 and sched.variants_dropped["torchscript"] == 1
    nxt = sched.ops_pick("torchscript", "torchscript/ops", [(3, kept)])
    assert nxt.request.exports == (job.exports[0],)


def test_a_refusal_the_campaign_saw_is_not_explored_again(tmp_path):
    """Real TorchScript exports: an UnsupportedOperatorError depends on the ATen operator and the
    opset only, and the stack does not change within a campaign, so even a job drawn into the
    exploration share (here: every job) is passed over once cosh was refused; a store's trigger,
    learnt on another stack perhaps, is still explored."""
    from dataclasses import replace
    from types import SimpleNamespace

    from fuzzer.case.variants import run_variants
    from fuzzer.generate import make_inputs, single_op_graph
    from fuzzer.generate.avoid import ANY_DTYPES, Avoidance, Trigger
    from fuzzer.ir import TensorSpec

    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=60, seed=3, workers=1, arms=("ops",), minimize_seconds=None, dynamic_share=0.0)
    stored = Trigger("torchscript", "sinh", ANY_DTYPES, (), "export_crash", "UnsupportedOperatorError")
    sched = Scheduler(config, set(), None, tmp_path / "a", known=SimpleNamespace(current=Avoidance((stored,), ("torchscript",), explore=1.0),
                                                                                 path_for=lambda slot: None))
    (_, job), *_ = sched.next_request(Counter(), Counter()).jobs
    cosh = replace(job, graph=single_op_graph("cosh", [TensorSpec((3,), "float32")]))
    assert sched._unknown("torchscript", [(1, cosh)]) == [(1, cosh)]  # not refused yet
    results = run_variants(cosh.graph, make_inputs(cosh.graph, 0), list(cosh.exports), {Exporter.TORCHSCRIPT: job.exports[0]})
    assert all(r.error_type.endswith("UnsupportedOperatorError") for r in results)
    sched.observe_op("torchscript", cosh, results)
    again = replace(cosh, key="cosh|float64|3|x|normal", graph=single_op_graph("cosh", [TensorSpec((4,), "float64")]))
    assert sched._unknown("torchscript", [(2, again)]) == [] and sched.ops_skipped["torchscript"] == 1
    sinh = replace(cosh, key="sinh|float32|3|x|normal", graph=single_op_graph("sinh", [TensorSpec((3,), "float32")]))
    assert sched._unknown("torchscript", [(3, sinh)]) == [(3, sinh)]


def test_an_operator_and_dtype_re_hitting_known_buckets_is_passed_over(tmp_path):
    """Real TorchScript exports: Sin on int64 is an invalid model at every shape and opset. The
    first job opens its buckets; after two more jobs that only re-hit them, the remaining jobs of
    (sin, int64) are passed over; sin on float32, which passes, is not; without the option nothing
    is."""
    from dataclasses import replace
    from types import SimpleNamespace

    from fuzzer.case.variants import run_variants
    from fuzzer.generate import make_inputs, single_op_graph
    from fuzzer.generate.avoid import Avoidance
    from fuzzer.ir import TensorSpec
    from fuzzer.triage.buckets import bucket_key

    def scheduler(name, strikes):
        config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=60, seed=3, workers=1, arms=("ops",), minimize_seconds=None,
                                dynamic_share=0.0, rehit_strikes=strikes)
        return Scheduler(config, set(), None, tmp_path / name, known=SimpleNamespace(current=Avoidance((), ("torchscript",), explore=0.0),
                                                                                     path_for=lambda slot: None))

    sched, off = scheduler("a", True), scheduler("b", False)
    (_, job), *_ = sched.next_request(Counter(), Counter()).jobs
    base = {Exporter.TORCHSCRIPT: job.exports[0]}
    seen: set[str] = set()

    def finished(op, shape, dtype):
        j = replace(job, graph=single_op_graph(op, [TensorSpec(shape, dtype)]))
        results = run_variants(j.graph, make_inputs(j.graph, 0), list(j.exports), base)
        known = {bucket_key(r) for r in results if r.verdict.is_failure} & seen
        for s in (sched, off):
            s.observe_op("torchscript", j, results, lambda r: r.verdict.is_failure and bucket_key(r) in known)
        seen.update(bucket_key(r) for r in results if r.verdict.is_failure)
        return j

    first = finished("sin", (3,), "int64")
    assert sched._unknown("torchscript", [(1, first)]) == [(1, first)]  # new buckets: no strike
    finished("sin", (2, 3), "int64")
    assert sched._unknown("torchscript", [(1, first)]) == [(1, first)]  # one strike: still run
    finished("sin", (), "int64")
    assert sched._unknown("torchscript", [(1, first)]) == [] and sched.rehit_skipped["torchscript"] == 1
    assert off._unknown("torchscript", [(1, first)]) == [(1, first)]
    floats = [finished("sin", s, "float32") for s in ((3,), (2, 3), ())]
    assert sched._unknown("torchscript", [(2, floats[0])]) == [(2, floats[0])]


def test_an_op_request_holds_each_graph_with_every_input_mode_and_they_share_the_dynamo_export(tmp_path):
    """A dynamo op request carries each graph's normal and special jobs together, as a sweep
    request does, so the two modes share one export. Run for real through the worker's handler:
    each result is of its own job's input mode, both modes of a graph get the same model in one
    exporter call, and each verdict is the one a plain run of that job gives."""
    from dataclasses import replace

    from fuzzer.campaign.scheduler import OP_BATCH
    from fuzzer.case import run_graph
    from fuzzer.export.batch import BatchStats, CrashMemory
    from fuzzer.generate import make_inputs
    from fuzzer.workers.worker import _run_graphs, _State

    config = CampaignConfig(exporters=(Exporter.DYNAMO,), seconds=60, seed=3, workers=1, arms=("ops",), minimize_seconds=None, dynamic_share=0.0)
    pick = Scheduler(config, set(), None, tmp_path).next_request(Counter(), Counter())
    graphs = list(dict.fromkeys(j.graph_key for _, j in pick.jobs))
    assert len(graphs) == OP_BATCH and len(pick.jobs) == 2 * OP_BATCH
    assert [(j.graph_key, j.mode) for _, j in pick.jobs] == [(g, m) for g in graphs for m in ("normal", "special")]
    assert [c.mode for c in pick.request.cases] == [j.mode for _, j in pick.jobs]

    # the first two graphs at the baseline options only, to keep the test short
    sched = Scheduler(config, set(), None, tmp_path / "b")
    jobs = [(i, replace(j, exports=j.exports[:1])) for i, j in pick.jobs[:4]]
    req = sched.ops_pick("dynamo", "dynamo/ops", jobs).request
    stats = BatchStats()
    reply = _run_graphs(req, _State(CrashMemory(), stats))
    results = [c.result for c in reply.cases]
    assert [r.input_mode for r in results] == ["normal", "special", "normal", "special"]
    alone = BatchStats()  # the same graphs in one mode only
    _run_graphs(sched.ops_pick("dynamo", "dynamo/ops", jobs[::2]).request, _State(CrashMemory(), alone))
    assert stats.calls == alone.calls  # the special mode costs no exporter call
    assert all(results[k].model == results[k + 1].model for k in (0, 2)) and any(r.model is not None for r in results)
    for (_, job), r in zip(jobs, results):
        (plain,) = run_graph(job.graph, make_inputs(job.graph, job.seed, job.mode), list(job.exports), seed=job.seed, input_mode=job.mode)
        assert (r.verdict, r.error_type) == (plain.verdict, plain.error_type), job.key


def test_dynamo_op_requests_run_opsets_18_and_23_in_the_sampled_share_only(tmp_path):
    """Every dynamo op request exports at the baseline, with the optimizer off and at opset 17;
    the requests is_sampled_request picks (by their first job) add opsets 18 and 23, so those get
    every variant a sweep runs. A variant the campaign knows is refused for every job of a
    request is not added."""
    from fuzzer.campaign.arms import SAMPLED_OPSETS
    from fuzzer.campaign.scheduler import is_sampled_request
    from fuzzer.generate.avoid import attr_pattern
    from fuzzer.sweep.plan import SweepConfig

    config = CampaignConfig(exporters=(Exporter.DYNAMO,), seconds=60, seed=3, workers=1, arms=("ops",), minimize_seconds=None, dynamic_share=0.0)
    sched = Scheduler(config, set(), None, tmp_path)
    full = tuple(SweepConfig(exporters=(Exporter.DYNAMO,)).exports())
    every = tuple(e for e in full if e.opset not in SAMPLED_OPSETS[Exporter.DYNAMO])
    assert [(e.opset, e.optimize) for e in every] == [(20, True), (20, False), (17, True)]
    kinds = []
    for _ in range(12):
        pick = sched.next_request(Counter(), Counter())
        sampled = is_sampled_request(3, pick.jobs[0][0])
        assert pick.request.exports == (full if sampled else every)
        assert all(j.exports == pick.request.exports for _, j in pick.jobs)
        kinds.append(sampled)
    assert True in kinds and False in kinds

    # opset 23 certainly refused for every job of the next sampled request: it is not added
    from types import SimpleNamespace

    from fuzzer.generate.avoid import Avoidance

    known = SimpleNamespace(current=Avoidance((), ("dynamo",), explore=0.0), path_for=lambda slot: None)
    sched = Scheduler(config, set(), None, tmp_path / "b", known=known)
    opset23 = next(e for e in full if e.opset == 23)
    while True:
        jobs = [(i, j) for i, j in sched.op_jobs["dynamo"].take(8, set())]
        if is_sampled_request(3, jobs[0][0]):
            break
    sched.waiting_ops["dynamo"] = jobs
    for _, j in jobs:
        sched.certain.add(("dynamo", j.graph.nodes[0].op, attr_pattern(j.graph.nodes[0].attrs), opset23))
    pick = sched.next_request(Counter(), Counter())
    assert [e.opset for e in pick.request.exports] == [20, 20, 17, 18]
