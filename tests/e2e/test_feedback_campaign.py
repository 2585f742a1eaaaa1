"""A --feedback campaign with a real worker: the corpus grows, mutants run (one kills its worker
and is kept with its graph), and an interrupted campaign resumes without repeating or skipping
a case."""

import pytest

from fuzzer.campaign import CampaignConfig, CampaignStats, load_config, read_results, run_campaign
from fuzzer.campaign.feedback import is_mutant_slot, mutant_key
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.generate.corpus import Corpus, graph_key, mutant_case
from fuzzer.ir import graph_to_json, load_graph

pytestmark = pytest.mark.e2e


def _key(line: dict):
    return mutant_key(line["mutant"]["slot"]) if line.get("mutant") else line["seed"]


def test_feedback_campaign_grows_its_corpus_runs_mutants_and_resumes_exactly(tmp_path):
    cases = 40
    config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=None, cases=cases, seed=0, workers=1, case_timeout=30.0,
                            generator=GeneratorOptions(max_nodes=5), minimize_seconds=None, feedback=True, input_mode="normal")
    share = config.mutate_share
    first_mutant = next(i for i in range(cases) if is_mutant_slot(0, share, i))
    stats = CampaignStats()
    gen = run_campaign(config, tmp_path, [], stats, pool_env={"ONNXFUZZ_TEST_HOOKS": "1"},
                       inject={("torchscript", mutant_key(first_mutant)): "segv"})
    for k, _ in enumerate(gen):
        if k + 1 == 16:  # interrupt mid-campaign (the case in flight is not recorded)
            break
    gen.close()
    assert len(read_results(tmp_path / "results.jsonl")) == 16
    seeded = sum(e.origin == "seed" for e in Corpus.open(tmp_path / "corpus").entries.values())
    first_run = set(Corpus.open(tmp_path / "corpus").entries)

    resumed = load_config(tmp_path)
    assert resumed.feedback and resumed.mutate_share == share  # kept in campaign.json
    stats2 = CampaignStats()
    list(run_campaign(resumed, tmp_path, [], stats2, resume=True))

    lines = read_results(tmp_path / "results.jsonl")
    keys = [_key(line) for line in lines]
    assert len(keys) == len(set(keys)) == cases  # nothing repeated
    assert set(keys) == {mutant_key(i) if is_mutant_slot(0, share, i) else i for i in range(cases)}  # nothing skipped
    mutants = [line for line in lines if line.get("mutant")]
    assert stats2.mutants == len(mutants) >= 10
    assert sum(bool(line["mutant"]["mutations"]) for line in mutants) >= len(mutants) // 2  # most really are mutants

    # the corpus grew by graphs that reached new coverage, persisted across the resume
    corpus = Corpus.open(tmp_path / "corpus")
    grown = [e for e in corpus.entries.values() if e.origin == "coverage"]
    assert len(grown) >= 3 and first_run <= set(corpus.entries) and stats2.corpus == len(corpus) == seeded + len(grown)
    assert any(line.get("new_coverage") for line in lines)
    # a mutant the worker built and returned is the one its record names (parent, donor, seed)
    by_slot = {line["mutant"]["slot"]: line["mutant"] for line in mutants}
    from_mutants = [(k, e) for k, e in corpus.entries.items() if e.source.startswith("torchscript m")]
    assert from_mutants
    for key, e in from_mutants[:3]:
        m = by_slot[int(e.source.rsplit(" m", 1)[1])]
        rebuilt = mutant_case(corpus.entries[m["parent"]].graph, corpus.entries[m["donor"]].graph, m["mutation_seed"], config.generator)
        assert graph_key(rebuilt) == key

    # the mutant that killed its worker is a process_crash kept with the very graph the worker built
    crash = next(line for line in lines if line.get("mutant", {}).get("slot") == first_mutant)
    assert crash["verdict"] == "process_crash" and "SIGSEGV" in crash["error_head"]
    g = load_graph(tmp_path / "cases" / f"m{first_mutant}-torchscript-process_crash" / "graph.json")
    m = crash["mutant"]
    parent = corpus.entries[m["parent"]].graph
    donor = corpus.entries[m["donor"]].graph
    assert graph_to_json(g) == graph_to_json(mutant_case(parent, donor, m["mutation_seed"], config.generator))

