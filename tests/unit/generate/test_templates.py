import json


from fuzzer.catalog import CATALOG
from fuzzer.generate.templates import PHRASES, Step, candidates, derive, derive_chains, load_templates, paper_sequences_path

PAPER = paper_sequences_path()


def _paper():
    return json.loads(PAPER.read_text())


def test_committed_table_is_the_derivation_of_the_paper_file():
    fresh = derive(_paper())
    table = load_templates()
    assert [t.sequence for t in table] == [t.sequence for t in fresh]
    assert [t.sets for t in table] == [t.sets for t in fresh]
    assert [[c.steps for c in t.chains] for t in table] == [[c.steps for c in t.chains] for t in fresh]


def test_every_paper_sequence_has_a_chain_of_catalog_ops():
    data = _paper()
    fresh = derive(data)
    assert sum("reduced" in t.sets for t in fresh) == len({tuple(s) for s in data["torch_reduced"]})
    for t in fresh:
        assert t.chains, t.sequence
        for c in t.chains:
            assert all(s.op in CATALOG for s in c.steps)
            assert len(c.steps) <= len(t.sequence)


def test_phrases_and_single_candidates():
    # a shape chain is one flatten call; If comes from squeeze_dynamic; Cast from .to() first
    assert derive_chains(("Atan", "Shape", "Slice", "Concat", "Reshape"))[0].ops() == ("atan", "flatten")
    assert derive_chains(("Shape", "Gather", "Equal", "If", "Cos"))[0].ops() == ("squeeze_dynamic", "cos")
    assert candidates("Cast")[0] == Step("to")
    assert candidates("Div")[0] == Step("div", {"rounding_mode": {"in": [None]}})
    promoted = [c for c in derive_chains(("Abs", "Cast", "Sub")) if any(s.promote for s in c.steps)]
    assert promoted and promoted[0].ops() == ("abs", "sub")
    assert all(s.op in CATALOG for s in PHRASES.values())


def test_step_constraints():
    s = Step("interpolate", {"size": {"not_in": [None]}})
    assert s.allows({"size": (2, 2)}) and not s.allows({"size": None})
    t = Step("flatten", {"start": {"in": [0]}, "end": {"in": [-1]}})
    assert t.allows({"start": 0, "end": -1}) and not t.allows({"start": 1, "end": -1})


def test_verification_recorded_for_torchscript():
    table = load_templates()
    assert table, "the committed template table is missing (python scripts/templates.py writes it)"
    verified = [t for t in table if t.usable_chains("torchscript")]
    assert len(verified) >= 0.95 * len(table)
    for t in table:
        if not t.usable_chains("torchscript"):
            assert "torchscript" in t.notes, t.id  # every miss says what the exporter emitted instead
