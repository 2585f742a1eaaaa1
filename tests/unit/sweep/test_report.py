import json

import pytest

from fuzzer.compare import Verdict
from fuzzer.sweep.record import Progress
from fuzzer.sweep.report import CATEGORIES, category, heatmap, load_rows, markdown

PROCESS_CRASH = Verdict.PROCESS_CRASH.value


def test_category_is_total_over_every_verdict():
    for v in list(Verdict):
        c = category(getattr(v, "value", v), "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation")
        assert c is None or c in CATEGORIES
    assert category("ort_load_failure", "NOT_IMPLEMENTED : x") == "missing kernel"
    assert category("ort_load_failure", "Type Error") == "invalid model"
    assert category(PROCESS_CRASH, None) == "crash" and category("eager_error", None) is None
    with pytest.raises(ValueError):
        category("nonsense", None)


def _row(op, dtype, exporter, verdict, key="k", opset=20, bucket=None, diff=()):
    return {"key": f"{op}|{dtype}|{key}", "ops": [op], "dtype": dtype, "shape": [2], "mode": "normal", "exporter": exporter,
            "opset_requested": opset, "opset": opset, "optimize": True, "verdict": verdict, "error_type": None,
            "error_head": "x", "bucket": bucket, "differential": [f"{d}: y" for d in diff], "differential_labels": list(diff),
            "opset_drift": None}


def test_markdown_matrix_shows_the_worst_category_per_cell(tmp_path):
    rows = [
        _row("sin", "float32", "torchscript", "pass"),
        _row("sin", "float32", "torchscript", "numeric_mismatch", key="b", bucket="b1", diff=("opset-specific symbolic",)),
        _row("sin", "float64", "torchscript", "ort_load_failure", bucket="b2"),
        _row("cos", "float32", "dynamo", "pass"),
    ]
    md = markdown(rows)
    assert "| sin | MM 1/2 | IM 1/1 |" in md  # float32 cell: one mismatch out of two cases; no NOT_IMPLEMENTED -> IM
    assert "| cos | ok |" in md and "### dynamo@20\n" in md and "### torchscript@20\n" in md
    assert "| torchscript | opset-specific symbolic | 1 |" in md
    heatmap(rows, tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_load_rows_keeps_the_last_line_of_a_rerun_variant(tmp_path):
    p = tmp_path / "results.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [_row("sin", "float32", "torchscript", "process_crash"), _row("sin", "float32", "torchscript", "pass")]) + "\n")
    (r,) = load_rows(p)
    assert r["verdict"] == "pass"


def test_progress_is_append_only_and_reloads(tmp_path):
    p = Progress(tmp_path / "progress.txt")
    p.mark("a")
    p.mark("b")
    p.close()
    assert Progress(tmp_path / "progress.txt").done == {"a", "b"}
