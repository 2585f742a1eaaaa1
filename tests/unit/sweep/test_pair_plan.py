"""The systematic pair plan (fuzzer/sweep/pair_plan.py): legality, determinism, counts, sampling."""

import itertools
from collections import Counter

import pytest

from fuzzer.catalog import CATALOG
from fuzzer.generate import evaluate
from fuzzer.ir import TensorSpec, check_wellformed
from fuzzer.sweep.pair_plan import candidates, pair_graph, producers
from fuzzer.sweep.plan import PlanStats, SweepConfig, enumerate_jobs

OPS = ("sin", "isnan", "argmax", "conv2d", "topk", "instance_norm", "pad", "cumsum")


def _config(**kw):
    return SweepConfig(pairs="all", ops=OPS, **kw)


def test_every_pair_job_is_a_legal_chain_that_runs_in_eager():
    jobs = list(enumerate_jobs(_config(dtypes=("float32", "int64", "bool"))))
    assert jobs
    for j in jobs:
        check_wellformed(j.graph)
        p, c = j.graph.nodes
        assert (p.op, c.op) == j.ops and c.inputs[0] == p.outputs[0].name
        link = p.outputs[0].spec
        assert CATALOG[c.op].accepts(link), (j.key, link)  # the consumer's dtype/rank tables take the producer's output
        assert j.dtype in CATALOG[p.op].dtypes and j.confirm
        evaluate(j.graph)  # eager PyTorch runs the chain on probe values
    ops = {j.ops for j in jobs}
    assert ("sin", "conv2d") in ops  # a rank-4 consumer gets the producer on a rank-4 input
    assert next(j for j in jobs if j.ops == ("sin", "conv2d")).shape == (2, 3, 4, 5)
    assert ("isnan", "sin") not in ops  # a bool output does not feed sin (not in its dtype table)
    assert ("isnan", "argmax") not in ops or CATALOG["argmax"].accepts(TensorSpec((2, 3, 4), "bool"))


def test_the_plan_is_deterministic_and_its_seed_only_reorders_it():
    a = [j.key for j in enumerate_jobs(_config(dtypes=("float32",)))]
    b = [j.key for j in enumerate_jobs(_config(dtypes=("float32",)))]
    c = [j.key for j in enumerate_jobs(_config(dtypes=("float32",), pairs_seed=1))]
    assert a == b and len(set(a)) == len(a)
    assert sorted(a) == sorted(c) and a != c


def test_counts_add_up_against_the_tables():
    cfg = _config(dtypes=("float32", "int32"))
    st = PlanStats()
    jobs = list(enumerate_jobs(cfg, st))
    # candidates, recomputed from the producers' probed outputs and the consumers' tables
    expect = sum(1 for p in OPS for d in cfg.dtypes if d in CATALOG[p].dtypes for c in OPS
                 if any(CATALOG[c].accepts(v.link) for v in producers(p, d)))
    assert st.candidates == len(candidates(cfg)) == expect
    assert st.graphs + st.skipped["pair: no legal instance"] == st.candidates
    assert st.jobs == len(jobs) == 2 * st.graphs  # both input modes
    assert Counter(j.mode for j in jobs) == {"normal": st.graphs, "special": st.graphs}
    assert len({j.ops + (j.dtype,) for j in jobs}) == st.graphs  # one graph per (producer, consumer, dtype)


def test_the_first_jobs_sample_the_whole_matrix():
    cfg = SweepConfig(pairs="all", dtypes=("float32",), modes=("normal",))
    first = list(itertools.islice(enumerate_jobs(cfg), 12))
    assert len({j.ops[0] for j in first}) >= 8 and len({j.ops[1] for j in first}) >= 8  # not one producer's row


def test_pair_graph_rejects_what_the_consumer_cannot_take():
    assert pair_graph("isnan", "float32", "sin") is None
    built = pair_graph("topk", "float32", "instance_norm")
    assert built is not None and built[1].ops() == ["topk", "instance_norm"]


def test_bad_pair_mode_is_refused_and_the_old_flag_still_means_paper():
    assert SweepConfig(pairs=True).pairs == "paper" and SweepConfig(pairs=False).pairs == ""
    with pytest.raises(ValueError, match="pair mode"):
        SweepConfig(pairs="some")
    assert SweepConfig(pairs=True).to_dict()["pairs"] is True and "pairs_seed" in SweepConfig(pairs="all").to_dict()
