"""A bug is filed raw at once and replaced by its minimized reproduction later (issue 21 item 3,
issue 17 "Nothing unfiled"): the store side. Process deaths are signed by the operators of the
graph, so these findings file without running anything, and a minimized graph with fewer
operators has another signature (the bucket moves)."""

import json

import numpy as np
import pytest

from fuzzer.case import worker_death_result
from fuzzer.export import ExportOptions, Exporter
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
from fuzzer.minimize import MinimizeResult
from fuzzer.minimize.edits import Candidate
from fuzzer.store import FindingStore, read_finding
from fuzzer.triage.signature import signature_of

TS = ExportOptions(Exporter.TORCHSCRIPT)
SPEC = TensorSpec((2, 3), "float32")


def _graph(*ops: str) -> Graph:
    """x0 -> ops[0] -> ops[1] -> ... (a chain of unary ops)."""
    nodes, prev = [], "x0"
    for k, op in enumerate(ops):
        nodes.append(Node(op, (prev,), (Value(f"v{k}", SPEC),)))
        prev = f"v{k}"
    return Graph((Input("x0", SPEC),), tuple(nodes), (prev,), {"seed": 1})


X = {"x0": np.zeros((2, 3), np.float32)}


def _crash(graph: Graph, seed: int = 1):
    return worker_death_result("crash", "SIGSEGV", 0.1, TS, seed=seed, input_mode="normal", graph=graph)


def _minimized(raw: Graph, best: Graph, reproduced: bool = True) -> MinimizeResult:
    r = _crash(best)
    return MinimizeResult(Candidate(raw, X), Candidate(best, X), r, signature_of(r), "fixpoint" if reproduced else "does not reproduce",
                          0.5, 3, 3)


def test_a_new_bug_is_filed_raw_awaiting_minimization_and_hits_count(tmp_path):
    s = FindingStore(tmp_path)
    raw = _graph("sin", "cos")
    fid, new = s.record(raw, X, _crash(raw, 1), None, "torchscript/1", pending=True)
    assert new and [p.name for p, _ in s.awaiting_minimization()] == [fid]
    doc = read_finding(tmp_path / fid)
    assert doc["awaiting_minimization"] is True and doc["ops"] == ["sin", "cos"]
    assert s.record(raw, X, _crash(raw, 2), None, "torchscript/2", pending=True) == (fid, False)  # a hit
    assert read_finding(tmp_path / fid)["hits"] == 2


def test_minimized_into_another_signature_moves_the_bug_with_its_hits_aliases_and_cases(tmp_path):
    s = FindingStore(tmp_path)
    raw, small = _graph("sin", "cos"), _graph("sin")
    fid, _ = s.record(raw, X, _crash(raw, 1), None, "torchscript/1", pending=True)
    s.record(raw, X, _crash(raw, 2), None, "torchscript/2", pending=True)
    into = s.finish_minimization(tmp_path / fid, _minimized(raw, small))
    assert into != fid and not (tmp_path / fid).exists() and not s.awaiting_minimization()
    doc = read_finding(tmp_path / into)
    assert doc["ops"] == ["sin"] and doc["hits"] == 2 and "awaiting_minimization" not in doc
    assert doc["minimization"]["ops_before"] == 2 and doc["original"]["n_ops"] == 2
    assert s.case_index() == {"torchscript/1": into, "torchscript/2": into}
    # the raw signature is an alias of the moved bucket: the next such case is a hit, not a new bug
    assert s.record(raw, X, _crash(raw, 3), None, "torchscript/3", pending=True) == (into, False)
    assert [r.id for r in FindingStore(tmp_path).list()] == [into]


def test_two_raw_findings_of_one_bug_merge(tmp_path):
    s = FindingStore(tmp_path)
    a, b, small = _graph("sin", "cos"), _graph("sin", "tan"), _graph("sin")
    fa, _ = s.record(a, X, _crash(a, 1), None, "torchscript/1", pending=True)
    fb, _ = s.record(b, X, _crash(b, 2), None, "torchscript/2", pending=True)
    into = s.finish_minimization(tmp_path / fa, _minimized(a, small))
    assert s.finish_minimization(tmp_path / fb, _minimized(b, small)) == into
    assert [r.id for r in s.list()] == [into] and read_finding(tmp_path / into)["hits"] == 2
    assert set(s.case_index().values()) == {into}


def test_minimized_in_place_and_not_reproduced(tmp_path):
    s = FindingStore(tmp_path)
    g = _graph("sin")
    fid, _ = s.record(g, X, _crash(g), None, "torchscript/1", pending=True)
    assert s.finish_minimization(tmp_path / fid, _minimized(g, g)) == fid  # same signature: replaced in place
    assert "awaiting_minimization" not in read_finding(tmp_path / fid)
    g2 = _graph("cos", "tan")
    f2, _ = s.record(g2, X, _crash(g2, 2), None, "torchscript/2", pending=True)
    assert s.finish_minimization(tmp_path / f2, _minimized(g2, g2, reproduced=False)) == f2
    doc = read_finding(tmp_path / f2)
    assert doc["status"] == "flaky" and doc["ops"] == ["cos", "tan"] and "awaiting_minimization" not in doc
    g3 = _graph("exp")
    f3, _ = s.record(g3, X, _crash(g3, 3), None, "torchscript/3", pending=True)
    s.give_up_minimization(tmp_path / f3, "the minimizing process ended with SIGFPE")
    assert not s.awaiting_minimization() and "SIGFPE" in read_finding(tmp_path / f3)["minimization"]["stop_reason"]


@pytest.mark.parametrize("steps_done", [1, 2])
def test_an_absorption_interrupted_by_a_kill_is_finished_or_undone_on_open(tmp_path, steps_done, monkeypatch):
    s = FindingStore(tmp_path)
    raw, small = _graph("sin", "cos"), _graph("sin")
    fid, _ = s.record(raw, X, _crash(raw, 1), None, "torchscript/1", pending=True)
    m = _minimized(raw, small)

    class Killed(Exception):
        pass

    def die(*a, **k):
        raise Killed
    if steps_done == 1:  # killed while writing the target bucket
        monkeypatch.setattr(FindingStore, "_stage", die)
    else:  # killed before the raw directory went
        monkeypatch.setattr(FindingStore, "_drop_absorbed", die)
    with pytest.raises(Killed):
        s.finish_minimization(tmp_path / fid, m)
    monkeypatch.undo()
    s.close()  # a killed process's uncommitted index writes are gone with it
    s2 = FindingStore(tmp_path)
    ids = [r.id for r in s2.list()]
    if steps_done == 1:  # nothing moved: the raw finding stays, awaiting minimization
        assert ids == [fid] and [p.name for p, _ in s2.awaiting_minimization()] == [fid]
        into = s2.finish_minimization(tmp_path / fid, m)  # and the next run finishes it
    else:  # the bucket was written: the raw finding is dropped, its cases follow
        into = signature_of(m.result).id
        assert ids == [into] and not (tmp_path / fid).exists()
    assert read_finding(tmp_path / into)["hits"] == 1 and s2.case_index() == {"torchscript/1": into}
    assert not any(p.name.startswith(".") and p.is_dir() for p in tmp_path.iterdir())


def test_a_finding_keeps_its_export_options(tmp_path):
    s = FindingStore(tmp_path)
    g = _graph("sin")
    r = worker_death_result("crash", "SIGSEGV", 0.1, ExportOptions(Exporter.DYNAMO, 17, False), seed=1, input_mode="normal", graph=g,
                            options={"export": ExportOptions(Exporter.DYNAMO, 17, False).to_dict()})
    fid, _ = s.record(g, X, r)
    from fuzzer.store import export_options

    assert export_options(json.loads((tmp_path / fid / "finding.json").read_text())) == ("dynamo", 17, False)


def test_findings_show_says_where_minimization_stands(tmp_path, capsys):
    from fuzzer.cli import main

    s = FindingStore(tmp_path)
    g, g2 = _graph("sin"), _graph("cos")
    raw, _ = s.record(g, X, _crash(g), None, "torchscript/1", pending=True)
    gave_up, _ = s.record(g2, X, _crash(g2, 2), None, "torchscript/2", pending=True)
    s.give_up_minimization(tmp_path / gave_up, "the minimizing process ended with SIGFPE")
    assert main(["findings", "show", str(tmp_path / raw)]) == 0
    assert "minimized: not yet" in capsys.readouterr().out
    assert main(["findings", "show", str(tmp_path / gave_up)]) == 0  # a minimization without figures: no KeyError
    assert "minimized: no (the minimizing process ended with SIGFPE)" in capsys.readouterr().out
