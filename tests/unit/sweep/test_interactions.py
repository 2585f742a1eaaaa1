"""The interaction rule of pair sweeps and the pair report, on hand-made rows (the real exports are
in tests/e2e/test_pair_sweep.py)."""

import json

import pytest

from fuzzer.sweep.interactions import KINDS, classify, failing_rows, rebuild_job
from fuzzer.sweep.pair_report import code, pair_cells, write_pair_report
from fuzzer.sweep.plan import SweepConfig, enumerate_jobs


@pytest.mark.parametrize("producer, consumer, kind", [
    ("pass", "pass", "interaction"),
    ("ambiguous", "pass", "producer"),  # a documented difference alone (hardshrink(NaN) is 0 in ONNX) carried on by the consumer
    ("pass", "ambiguous", "consumer"),
    ("export_crash", None, "producer"),  # the consumer is not run when the producer fails alone
    ("process_crash", "pass", "producer"),
    ("numeric_mismatch", "process_crash", "both"),
    ("pass", "ort_run_crash", "consumer"),
    ("pass", "numeric_mismatch", "consumer"),  # an isolated mismatch counts against the operator, confirmed or not
    ("eager_error", None, "undecided"),
    (None, None, "undecided"),
    ("pass", "eager_error", "undecided"),
    ("pass", None, "undecided"),
])
def test_an_interaction_needs_both_operators_to_pass_alone(producer, consumer, kind):
    got, reason = classify(producer, consumer)
    assert got == kind and got in KINDS and reason


def _row(key, ops, verdict, exporter="torchscript", opset=20, head=None, confirmation=None):
    return {"key": key, "ops": list(ops), "dtype": "float32", "shape": [2, 3, 4], "mode": "normal", "exporter": exporter,
            "opset_requested": opset, "opset": opset, "optimize": True, "verdict": verdict, "error_head": head, "bucket": None,
            "differential": [], "differential_labels": [], "opset_drift": None, "job_seconds": 0.1, "stage": None,
            "confirmation": confirmation}


def test_failing_rows_keep_failing_pairs_only():
    rows = [_row("a", ("sin", "cos"), "pass"), _row("b", ("sin", "cos"), "export_crash"), _row("c", ("sin",), "export_crash"),
            _row("d", ("sin", "cos"), "eager_error"), _row("e", ("sin", "cos"), "ambiguous"), _row("b", ("sin", "cos"), "invalid_model", opset=7)]
    got = failing_rows(rows)
    assert list(got) == ["b"] and [r["opset_requested"] for r in got["b"]] == [20, 7]


def test_a_pair_job_is_rebuilt_from_its_key():
    cfg = SweepConfig(pairs="all", ops=("topk", "instance_norm"), dtypes=("float32",), modes=("special",))
    jobs = list(enumerate_jobs(cfg))
    assert jobs
    for j in jobs:
        again = rebuild_job(cfg, j.key)
        assert again is not None and again.graph == j.graph and again.seed == j.seed and again.mode == j.mode
    assert rebuild_job(cfg, "topk->instance_norm|float32|2x3x4|0000000000|special") is None  # another graph hash: not the same job
    assert rebuild_job(cfg, "nonsense") is None


def test_cells_and_report_mark_interactions(tmp_path):
    rows = [_row("k1", ("topk", "instance_norm"), "process_crash", head="worker crash: SIGSEGV"),
            _row("k1", ("topk", "instance_norm"), "export_crash", opset=7, head="Unsupported: TopK"),
            _row("k2", ("sin", "cos"), "pass"),
            _row("k3", ("exp", "cos"), "numeric_mismatch", confirmation="numeric_noise")]
    checks = {("k1", "torchscript@20"): {"key": "k1", "variant": "torchscript@20", "ops": ["topk", "instance_norm"], "dtype": "float32",
                                         "mode": "normal", "verdict": "process_crash", "error_head": "worker crash: SIGSEGV",
                                         "kind": "interaction", "case_dir": "interactions/cases/x"},
              ("k1", "torchscript@7"): {"key": "k1", "variant": "torchscript@7", "kind": "producer"},
              ("k3", "torchscript@20"): {"key": "k3", "variant": "torchscript@20", "kind": "noise"}}
    cells = pair_cells(rows, checks)
    assert code(cells[("topk", "instance_norm", "torchscript")]) == "IX"
    assert code(cells[("sin", "cos", "torchscript")]) == "ok" and code(cells[("exp", "cos", "torchscript")]) == "MM"
    assert cells[("topk", "instance_norm", "torchscript")]["kinds"] == {"interaction": 1, "producer": 1}
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "interactions.jsonl").write_text("".join(json.dumps(d) + "\n" for d in checks.values()))
    md, png = write_pair_report(tmp_path, tmp_path / "out" / "p.md")
    text = (tmp_path / "pairs.md").read_text()
    assert "`topk -> instance_norm`" in text and "| topk | 1 | instance_norm |" in text and png.exists()
    doc = json.loads((tmp_path / "pairs.json").read_text())
    assert doc["failure_kinds"]["torchscript"] == {"interaction": 1, "producer": 1, "noise": 1} and len(doc["interactions"]) == 1
    assert md == tmp_path / "out" / "p.md" and md.exists()
