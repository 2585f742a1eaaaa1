"""``findings report --group``: one report per root-cause group, on a copy of the curated findings."""

import shutil
from pathlib import Path

import pytest

from fuzzer.cli import main
from fuzzer.store.group_report import find_group, group_file
from fuzzer.store.report import SCRIPT_MARK
from fuzzer.store.store import FindingError, inline_scripts
from fuzzer.triage.groups import load_groups

FINDINGS = Path(__file__).resolve().parents[3] / "findings"


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "findings"
    shutil.copytree(FINDINGS, root, ignore=shutil.ignore_patterns("index.sqlite", ".lock"))
    return root


def test_a_group_report_lists_every_member_and_the_simplest_members_script(store, capsys):
    group = next(g for g in load_groups(store) if "162ac9625c" in {m.id for m in g.members})  # dynamo: float-only ONNX ops on ints
    assert len(group.members) >= 2
    assert main(["findings", "report", "--group", group.id[:6], "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out == group_file(store, group.id).read_text()  # written, and printed
    title = out.splitlines()[0]
    assert title.startswith("# [torchlib] emits ONNX ops on tensor(int) inputs") and len(title) <= 2 + 100 and title.endswith(": " + ", ".join(sorted({m.onnx_op for m in group.members})))
    assert "**Tracker:** ONNX Script" in out
    for m in group.members:  # every member: id, op, dtypes, exporter
        row = next(line for line in out.splitlines() if line.startswith(f"| {m.id} |"))
        assert m.onnx_op in row and all(d in row for d in m.dtypes) and m.exporter in row
    assert "Floor" in out and "Pow" in out and "int64" in out and "int16" in out
    # the representative's script, as its own report.md has it
    scripts = inline_scripts(out)
    assert len(scripts) == 1 and out.count(SCRIPT_MARK) == 1
    rep = next(m.id for m in group.members if f"### To reproduce ({m.id}" in out)
    assert scripts[0] == inline_scripts((store / rep / "report.md").read_text())[0]
    assert main(["findings", "list", str(store)]) == 0  # the report file does not disturb the store
    assert "group-" not in capsys.readouterr().err


def test_group_usage_errors_are_one_line(store, capsys):
    with pytest.raises(SystemExit) as e:
        main(["findings", "report", "--store", str(store)])
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as e:
        main(["findings", "report", "162ac9625c", "--group", "abc", "--store", str(store)])
    assert e.value.code == 2 and "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["findings", "report", "--group", "zzzz", "--store", str(store)])
    assert e.value.code == 2 and "no group 'zzzz'" in capsys.readouterr().err
    with pytest.raises(FindingError, match="no group"):
        find_group(load_groups(store), "")
