"""The op_db-derived entries: the table loads, every entry renders standalone source (no
torch.testing), a spread sample is placed by the generator and runs in eager on campaign inputs."""

import subprocess
import sys

import pytest
import torch

from fuzzer.catalog import CATALOG, HAND_WRITTEN, OPS, opdb
from fuzzer.catalog.render import render, template_fields

DERIVED = [o for o in OPS if o.family == "opdb"]


def test_table_loads_and_every_entry_is_kept_or_skipped_with_a_reason():
    entries = opdb.load_table()["ops"]
    assert len(entries) >= 600  # one per OpInfo of op_db
    usable = [e for e in entries if "skip" not in e]
    assert len(usable) >= 300
    for e in entries:
        if "skip" in e:
            assert isinstance(e["skip"], str) and len(e["skip"]) > 10, e["name"]
        else:
            assert e["signatures"] and all(s["samples"] for s in e["signatures"]), e["name"]
            assert e["dtypes"], e["name"]


def test_derived_entries_are_in_the_catalog_unless_a_hand_written_one_shadows_them():
    names = {o.name for o in HAND_WRITTEN}
    assert len(DERIVED) >= 300
    for derived, by in opdb.SHADOWED.items():
        assert by in names, (derived, by)
        assert derived not in CATALOG or derived in names
    usable = {e["name"] for e in opdb.load_table()["ops"] if "skip" not in e}
    assert usable - set(opdb.SHADOWED) - set(opdb.skipped()) <= set(CATALOG)
    for name, reason in opdb.skipped().items():
        assert name not in CATALOG or name in names, (name, reason)


def test_every_derived_entry_renders_standalone_source():
    for op in DERIVED:
        assert "testing" not in op.template, op.name
        fields = template_fields(op.template)
        n_in = sum(1 for f in fields if f.isdigit())
        for s in opdb._signature_samples(op.name):
            expr = render(op.template, [f"x{k}" for k in range(n_in)], [], s["attrs"])
            compile(expr, op.name, "eval")


def test_workers_do_not_load_op_db():
    """torch itself imports a few torch.testing._internal helpers; op_db and expecttest it does not."""
    code = ("import sys, fuzzer.catalog, fuzzer.generate.generator;"
            "bad = [m for m in sys.modules if 'common_methods_invocations' in m or '_internal.opinfo' in m or m == 'expecttest'];"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]


@pytest.mark.parametrize("k", range(0, 8))
def test_a_spread_sample_of_derived_entries_is_placed_and_runs_in_eager(k):
    from fuzzer.generate.generator import GenerationError, GeneratorOptions, generate
    from fuzzer.generate.inputs import make_inputs
    from fuzzer.materialize import build_module, graph_to_source

    sample = DERIVED[k::max(1, len(DERIVED) // 48)][:6]
    placed = 0
    for op in sample:
        for seed in range(4):
            try:
                g = generate(seed, GeneratorOptions(ops=(op.name,), max_nodes=2, bias=0.0))
            except GenerationError:
                continue
            if op.name not in g.ops():
                continue
            placed += 1
            assert "torch.testing" not in graph_to_source(g)
            m = build_module(g)
            for mode in ("normal", "special"):
                ins = make_inputs(g, seed, mode)
                with torch.no_grad():
                    m(*[torch.from_numpy(ins[i.name]) for i in g.inputs])
            break
    assert placed >= len(sample) - 1, [o.name for o in sample]
