"""fuzzer.versions: what every result records about the stack and the fuzzer's own code."""

import re
import subprocess
from pathlib import Path

from fuzzer.versions import changed_versions, source_revision, stack_versions

ROOT = Path(__file__).resolve().parents[2]


def test_results_name_the_fuzzers_own_commit_when_run_from_a_checkout():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    rev = source_revision()
    assert re.fullmatch(r"[0-9a-f]{12}(\+modified)?", rev) and head.startswith(rev.removesuffix("+modified"))
    assert stack_versions()["onnxfuzz_source"] == rev and stack_versions()["torch"].startswith("2.13.0")


def test_changed_versions_names_each_difference_and_ignores_keys_one_side_lacks():
    now = {"torch": "2.13.0+cpu", "onnxruntime": "1.32.0", "onnxfuzz_source": "a99371c0c7f4"}
    assert changed_versions({"torch": "2.13.0+cpu", "onnxruntime": "1.31.0", "numpy": "1.0"}, now) == ["onnxruntime 1.31.0 -> 1.32.0"]
    assert changed_versions({"onnxfuzz_source": "0123456789ab"}, now) == ["onnxfuzz_source 0123456789ab -> a99371c0c7f4"]
    assert changed_versions(dict(now), now) == [] and changed_versions({}, now) == []
