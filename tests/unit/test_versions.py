"""fuzzer.versions: what every result records about the stack and the fuzzer's own code."""

import re
import subprocess
import sys
from pathlib import Path

from fuzzer.versions import changed_versions, source_digest, source_revision, stack_versions

ROOT = Path(__file__).resolve().parents[2]


def test_results_name_the_fuzzers_own_commit_and_a_digest_of_its_code():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    v = stack_versions()
    assert v["onnxfuzz_commit"] == source_revision() == head[:12] and v["torch"].startswith("2.13.0")
    assert re.fullmatch(r"[0-9a-f]{12}", v["onnxfuzz_source"]) and v["onnxfuzz_source"] == source_digest()


def test_the_code_digest_changes_with_any_package_file(tmp_path):
    import shutil

    import fuzzer

    copy = tmp_path / "fuzzer"
    shutil.copytree(Path(fuzzer.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    code = "import sys; sys.path.insert(0, sys.argv[1]); from fuzzer.versions import source_digest; print(source_digest())"
    same = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True).stdout.strip()
    assert same == source_digest()  # the same files, elsewhere: the same digest
    (copy / "generate" / "__init__.py").write_text((copy / "generate" / "__init__.py").read_text() + "\n# changed\n")
    changed = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", changed) and changed != same


def test_changed_versions_names_each_difference_and_ignores_keys_one_side_lacks():
    now = {"torch": "2.13.0+cpu", "onnxruntime": "1.32.0", "onnxfuzz_source": "a99371c0c7f4"}
    assert changed_versions({"torch": "2.13.0+cpu", "onnxruntime": "1.31.0", "numpy": "1.0"}, now) == ["onnxruntime 1.31.0 -> 1.32.0"]
    assert changed_versions({"onnxfuzz_source": "0123456789ab"}, now) == ["onnxfuzz_source 0123456789ab -> a99371c0c7f4"]
    assert changed_versions(dict(now), now) == [] and changed_versions({}, now) == []
