from collections import Counter

import pytest

from fuzzer.catalog import CATALOG, composite
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import single_op_graph
from fuzzer.ir import TensorSpec, check_wellformed
from fuzzer.sweep.plan import DYNAMO_OPSETS, TORCHSCRIPT_OPSETS, PlanStats, SweepConfig, chain, enumerate_jobs, shapes_for


def test_shapes_include_rank0_and_empty_within_the_ops_ranks():
    assert shapes_for(CATALOG["sin"]) == [(), (5,), (2, 3, 4), (2, 0, 4)]
    conv = shapes_for(CATALOG["conv2d"])
    assert all(len(s) == 4 for s in conv) and any(0 in s for s in conv)


def test_default_opsets_come_from_torch_and_baselines_are_the_default():
    assert TORCHSCRIPT_OPSETS == (7, 20) and DYNAMO_OPSETS == (17, 18, 20, 23)
    cfg = SweepConfig(exporters=(Exporter.TORCHSCRIPT, Exporter.DYNAMO))
    ex = cfg.exports()
    assert ex[0] == ExportOptions(Exporter.TORCHSCRIPT, 20) and ExportOptions(Exporter.DYNAMO, 20, False) in ex
    assert cfg.baselines() == {Exporter.TORCHSCRIPT: ExportOptions(Exporter.TORCHSCRIPT, 20), Exporter.DYNAMO: ExportOptions(Exporter.DYNAMO, 20)}
    assert SweepConfig(opsets=(9, 21)).opsets_for(Exporter.TORCHSCRIPT) == (9,)  # 21 is beyond TorchScript's range


def test_enumeration_is_deterministic_with_unique_keys_and_counted_skips():
    cfg = SweepConfig(ops=("sin", "transpose", "cross_entropy"), dtypes=("float32", "int64"))
    stats = PlanStats()
    a = list(enumerate_jobs(cfg, stats))
    b = list(enumerate_jobs(cfg))
    assert [j.key for j in a] == [j.key for j in b] and [j.seed for j in a] == [j.seed for j in b]
    assert len({j.key for j in a}) == len(a) == stats.jobs
    assert Counter(j.mode for j in a) == {"normal": len(a) // 2, "special": len(a) // 2}
    assert any("needs rank >= 2" in r for r in stats.skipped)  # transpose on rank 0/1, counted
    ce = [j for j in a if j.ops == ("cross_entropy",)]
    assert len({j.key.split("|")[3] for j in ce if j.dtype == "float32" and j.shape == (2, 3, 4)}) > 1  # several option samples
    assert {j.dtype for j in a if j.ops == ("transpose",)} == {"float32", "int64"}


def test_unknown_names_are_rejected_up_front():
    with pytest.raises(ValueError, match="unknown operators"):
        SweepConfig(ops=("nope",))
    with pytest.raises(ValueError, match="unknown dtypes"):
        SweepConfig(dtypes=("float8",))


def test_chain_feeds_first_output_into_second_op():
    g1 = single_op_graph("add", [TensorSpec((2, 3), "float32"), TensorSpec((3,), "float32")])
    g2 = single_op_graph("sum", [TensorSpec((2, 3), "float32")], {"dim": 0, "keepdim": False})
    g = chain(g1, g2)
    check_wellformed(g)
    assert g.ops() == ["add", "sum"] and g.nodes[1].inputs == (g1.nodes[0].outputs[0].name,)
    with pytest.raises(ValueError):
        chain(g2, g1)


def test_every_composite_op_yields_runnable_cases():
    names = tuple(o.name for o in composite.OPS)
    jobs = list(enumerate_jobs(SweepConfig(ops=names, dtypes=("float32", "int64"), modes=("normal",), composite_attr_variants=2)))
    assert {j.ops[0] for j in jobs} == set(names)


def test_pairs_follow_the_papers_sequences(tmp_path):
    import json

    paper = tmp_path / "seq.json"
    paper.write_text(json.dumps({"torch_reduced": [["Transpose", "Softmax", "MatMul"]], "torch_nonoverlapping": [["Transpose", "Softmax"]]}))
    from fuzzer.sweep.pairs import paper_op_pairs

    assert paper_op_pairs(paper, 10) == [("transpose", "softmax"), ("softmax", "matmul")]  # most frequent pair first
    jobs = list(enumerate_jobs(SweepConfig(pairs=True, paper_path=str(paper), dtypes=("float32",), modes=("normal",))))
    assert {j.ops for j in jobs} == {("transpose", "softmax"), ("softmax", "matmul")}
    for j in jobs:
        check_wellformed(j.graph)
        assert j.graph.nodes[1].inputs[0] == j.graph.nodes[0].outputs[0].name


def test_missing_paper_file_is_a_clear_error(tmp_path):
    from fuzzer.sweep.errors import PaperDataError

    with pytest.raises(PaperDataError, match="cannot read"):
        list(enumerate_jobs(SweepConfig(pairs=True, paper_path=str(tmp_path / "none.json"))))


def test_pairs_read_the_papers_data_shipped_in_the_package():
    # a plain clone has no shared/ beside it: the default data is the package's own copy
    jobs = list(enumerate_jobs(SweepConfig(pairs=True, pairs_limit=3, dtypes=("float32",), modes=("normal",))))
    assert jobs and all(len(j.ops) == 2 for j in jobs)


def test_dynamic_adds_one_dynamic_variant_per_exporter_at_the_baseline_options():
    plain = SweepConfig(exporters=(Exporter.TORCHSCRIPT, Exporter.DYNAMO))
    dyn = SweepConfig(exporters=(Exporter.TORCHSCRIPT, Exporter.DYNAMO), dynamic=True)
    extra = [e for e in dyn.exports() if e not in plain.exports()]
    assert extra == [ExportOptions(b.exporter, b.opset, True, dynamic=True) for b in dyn.baselines().values()]
    assert "dynamic" not in plain.to_dict() and dyn.to_dict()["dynamic"] is True  # an older sweep.json still resumes


def test_a_campaigns_cell_order_takes_each_dtype_once_uncommon_first_then_second_samples_and_plans_the_same_graphs():
    # a campaign takes only an operator's first few graphs: they should cover its dtypes, those
    # exporters are least tested on first (float16, float64, small ints, bool), before repeating one
    cfg = SweepConfig(ops=("cumsum",), exporters=(Exporter.TORCHSCRIPT,), modes=("normal",))
    ordered = list(enumerate_jobs(cfg, cell_order="onnxfuzz-ops/0"))
    assert ordered == list(enumerate_jobs(cfg, cell_order="onnxfuzz-ops/0"))  # deterministic
    dtypes = sorted(CATALOG["cumsum"].dtypes)
    first = [j.dtype for j in ordered[: len(dtypes)]]
    assert sorted(first) == dtypes  # each dtype once before any twice
    common = [k for k, d in enumerate(first) if d in ("float32", "int64", "int32")]
    assert common == list(range(len(dtypes) - 3, len(dtypes)))  # the common ones last
    cells = [(j.dtype, j.shape) for j in ordered]
    n_cells = len(set(cells))
    assert len(set(cells[:n_cells])) == n_cells < len(cells)  # every cell's first sample before a second one
    assert sorted(j.key for j in ordered) == sorted(j.key for j in enumerate_jobs(cfg))  # the sweep's graphs, reordered
    assert [j.dtype for j in enumerate_jobs(cfg, cell_order="onnxfuzz-ops/1")][: len(dtypes)] != first  # the seed shuffles
