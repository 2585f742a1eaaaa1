"""Campaign feedback: mutant slots, mutant requests from the corpus, coverage-driven additions,
resume keys, the slot schedule with dynamo batches, and crash regeneration of a mutant."""

import json

import pytest

from fuzzer.campaign import CampaignConfig, CampaignStats
from fuzzer.campaign.feedback import MUTATION_SEED_BASE, Feedback, is_mutant_slot, mutant_key
from fuzzer.campaign.scheduler import Scheduler
from fuzzer.campaign.stats import restore_stats
from fuzzer.case.rebuild import rebuild_case
from fuzzer.cli import main
from fuzzer.coverage import Coverage
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions, generate
from fuzzer.generate.corpus import INDEX, Corpus, graph_key, mutant_case
from fuzzer.ir import graph_from_dict, graph_to_dict, graph_to_json, load_graph

OPT = GeneratorOptions(max_nodes=6)


def test_mutant_slots_follow_the_share_and_depend_on_seed_and_slot_only():
    for share in (0.25, 0.5, 0.8):
        n = sum(is_mutant_slot(3, share, i) for i in range(4000))
        assert abs(n / 4000 - share) < 0.03
    assert not any(is_mutant_slot(3, 0.0, i) for i in range(200))
    assert [is_mutant_slot(1, 0.5, i) for i in range(64)] != [is_mutant_slot(2, 0.5, i) for i in range(64)]


def test_requests_are_reproducible_from_the_persisted_corpus(tmp_path):
    a = Feedback(0, 0.5, OPT, tmp_path / "corpus")
    assert len(a.corpus) > 100 and all(e.origin == "seed" for e in a.corpus.entries.values())
    assert (tmp_path / "corpus" / INDEX).exists()
    b = Feedback(0, 0.5, OPT, tmp_path / "corpus")  # resume: reloads the same state
    for slot in (1, 2, 7):
        ra, rb = a.request("torchscript", slot), b.request("torchscript", slot)
        assert ra == rb and ra["slot"] == slot and ra["mutation_seed"] >= MUTATION_SEED_BASE
        assert graph_key(graph_from_dict(ra["parent"])) == ra["parent_key"] and ra["parent_key"] in a.corpus.entries
    assert a.request("torchscript", 9) != a.request("dynamo", 9)  # exporters draw their own mutants


def test_new_coverage_adds_the_graph_once_and_per_exporter(tmp_path):
    fb = Feedback(0, 0.5, OPT, tmp_path / "corpus")
    n0 = len(fb.corpus)
    g = graph_to_dict(generate(5, OPT))
    items = {"ops": ["Relu", "Add"], "bigrams": ["Relu>Add"]}
    assert fb.observe("torchscript", items, g, "torchscript seed 5") == 3
    assert len(fb.corpus) == n0 + 1 and fb.added == 1
    assert fb.observe("torchscript", items, g, "again") == 0  # nothing new: not offered
    assert fb.observe("dynamo", {"ops": ["Relu"]}, g, "dynamo seed 5") == 1  # new for dynamo, same graph: a duplicate
    assert len(fb.corpus) == n0 + 1 and fb.rejected["duplicate or full"] == 1
    assert fb.observe("torchscript", None, g, "no model") == 0
    # coverage restored on resume counts as reached
    cov = Coverage()
    cov.add_items("torchscript", {"ops": ["Relu"], "triples": [], "bigrams": [], "trigrams": [], "paper": []})
    fb2 = Feedback(0, 0.5, OPT, tmp_path / "corpus", coverage=cov)
    assert fb2.new_items("torchscript", {"ops": ["Relu", "Mul"]}) == 1
    assert len(Corpus.open(tmp_path / "corpus")) == n0 + 1  # the addition was persisted


def test_config_keeps_feedback_options_and_resume_keys_mutants_by_slot():
    c = CampaignConfig(feedback=True, mutate_share=0.3, corpus_size=50, generator=OPT)
    assert CampaignConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert not CampaignConfig.from_dict({k: v for k, v in c.to_dict().items() if k not in ("feedback", "mutate_share", "corpus_size")}).feedback
    lines = [
        {"exporter": "torchscript", "seed": 4, "verdict": "pass"},
        {"exporter": "torchscript", "seed": MUTATION_SEED_BASE + 9, "verdict": "pass", "mutant": {"slot": 3, "parent": "x", "mutation_seed": MUTATION_SEED_BASE + 9}},
    ]
    stats = CampaignStats()
    assert restore_stats(stats, lines) == {("torchscript", 4), ("torchscript", mutant_key(3))}
    assert stats.mutants == 1 and stats.cases == 2


def test_slot_schedule_hands_out_every_slot_once_and_batches_only_fresh_seeds(tmp_path):
    cases = 60
    config = CampaignConfig(exporters=(Exporter.DYNAMO,), cases=cases, seed=0, generator=OPT, feedback=True, workers=1, minimize_seconds=None)
    feedback = Feedback(0, config.mutate_share, OPT, tmp_path / "corpus", 50)
    sched = Scheduler(config, {("dynamo", mutant_key(5)) if is_mutant_slot(0, 0.5, 5) else ("dynamo", 5)}, feedback, tmp_path / "incoming")
    handed = []
    while True:
        i = sched.next_slot("dynamo")
        if i is None:
            break
        handed.append(i)
        if not is_mutant_slot(0, 0.5, i):
            batch = sched.take(sched.exports[0], 7)
            assert not any(is_mutant_slot(0, 0.5, j) for j in batch)
            handed += batch
    assert sorted(handed) == [i for i in range(cases) if i != 5]
    assert len(feedback.corpus) > 0


def test_regen_rebuilds_the_mutant_a_worker_would_have_run(tmp_path):
    parent, donor = generate(2, OPT), generate(3, GeneratorOptions(max_nodes=3))
    mseed = MUTATION_SEED_BASE + 17
    gen = CampaignConfig.from_dict(json.loads(json.dumps(CampaignConfig(generator=OPT).to_dict()))).generator  # as it crosses the pipe
    rebuild_case(mseed, gen, "normal", tmp_path / "case", {"parent": graph_to_dict(parent), "donor": graph_to_dict(donor)})
    got = load_graph(tmp_path / "case" / "graph.json")
    assert got.meta.get("mutations") and graph_to_json(got) == graph_to_json(mutant_case(parent, donor, mseed, OPT))
    assert (tmp_path / "case" / "inputs.npz").exists()


@pytest.mark.parametrize("argv", [["--mutate-share", "0.3"], ["--feedback", "--mutate-share", "1.5"], ["--feedback", "--resume", "."]])
def test_cli_rejects_bad_feedback_options_in_one_line(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["fuzz", *argv, *(["--out", str(tmp_path / "x")] if "--resume" not in argv else [])])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and ("--feedback" in err or "share" in err)
    assert not (tmp_path / "x").exists()
