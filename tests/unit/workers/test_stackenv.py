"""Retest overrides and records: parsing, merging, the matrix."""

import pytest

from fuzzer.store.retest import load_retest, matrix_markdown, parse_replay, record_stack
from fuzzer.workers.stackenv import Override, OverrideError, parse_override


def test_overrides_parse_and_torch_must_be_a_cpu_build():
    assert parse_override("onnxruntime==1.31.1") == Override("onnxruntime", "1.31.1")
    assert parse_override("onnx_ir==1.1.0") == Override("onnx-ir", "1.1.0")
    assert parse_override("torch==2.12.0+cpu") == Override("torch", "2.12.0+cpu")
    for bad in ("torch==2.12.0", "numpy==2.0.0", "onnxruntime>=1.2", "onnxruntime"):
        with pytest.raises(OverrideError):
            parse_override(bad)


def test_records_merge_per_stack_and_the_matrix_counts_what_still_fails(tmp_path):
    out = """10af7cdc91  ort_load_failure         still failing
41c6b99eda  numeric_mismatch         fixed
5e036fe66f  numeric_mismatch         changed signature: numeric_mismatch|onnxruntime|value: ReduceMax
warning: something else
"""
    states = parse_replay(out)
    assert states == {"10af7cdc91": "still failing", "41c6b99eda": "fixed", "5e036fe66f": "changed signature: numeric_mismatch|onnxruntime|value: ReduceMax"}
    p = tmp_path / "retest.json"
    v_new = {"torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0", "onnxscript": "0.7.2"}
    v_old = {**v_new, "onnxruntime": "1.31.1"}
    record_stack(p, v_new, [], states, "t1")
    record_stack(p, v_old, ["onnxruntime==1.31.1"], {"10af7cdc91": "still failing"}, "t2")
    record_stack(p, v_new, [], {"41c6b99eda": "still failing"}, "t3")  # same stack again, one finding: its state replaced
    doc = load_retest(p)
    assert len(doc["stacks"]) == 2
    assert len(next(v for v in doc["stacks"].values() if v["at"] == "t3")["findings"]) == 3  # the others' states are kept
    table = matrix_markdown(doc, ["10af7cdc91", "41c6b99eda", "5e036fe66f"])
    lines = table.splitlines()
    assert "ORT 1.31.1" in lines[0].split("|")[2] and "ORT 1.32.0" in lines[0].split("|")[3]  # older stack first
    assert lines[2] == "| 10af7cdc91 | fails | fails |" and lines[3] == "| 41c6b99eda | - | fails |" and lines[4] == "| 5e036fe66f | - | changed |"
    assert lines[-1] == "| **still failing** | 1 of 1 | 2 of 3 |"
