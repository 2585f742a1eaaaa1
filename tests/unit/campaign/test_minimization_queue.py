"""The campaign's minimization queue works new kinds of failure first (issue 21 item 3): a raw
finding whose kind no other finding shows is a new bug whatever minimization finds; one that
shares its kind may turn out a duplicate once minimized."""

import numpy as np

from fuzzer.campaign.recorder import FindingRecorder, case_key, failure_kind, line_case_key
from fuzzer.case import worker_death_result
from fuzzer.export import ExportOptions, Exporter
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value

SPEC = TensorSpec((2, 3), "float32")
TS = ExportOptions(Exporter.TORCHSCRIPT)


def _graph(*ops):
    nodes, prev = [], "x0"
    for k, op in enumerate(ops):
        nodes.append(Node(op, (prev,), (Value(f"v{k}", SPEC),)))
        prev = f"v{k}"
    return Graph((Input("x0", SPEC),), tuple(nodes), (prev,), {"seed": 1})


def test_failure_kinds():
    assert failure_kind({"verdict": "export_crash", "exporter": "dynamo", "detail": "E: no 'x'"}) == "export_crash|dynamo|E: no 'x'"
    assert failure_kind({"verdict": "numeric_mismatch", "exporter": "dynamo", "detail": "value: Sin>Cos"}) == "numeric_mismatch|dynamo|value"
    assert failure_kind({"verdict": "process_crash", "exporter": "torchscript", "detail": "SIGFPE: flatten"}) == "process_crash|torchscript|SIGFPE"


def test_a_new_kind_of_failure_goes_first(tmp_path):
    rec = FindingRecorder(tmp_path, {"torchscript": TS}, "normal", minimize_seconds=None)
    x = {"x0": np.zeros((2, 3), np.float32)}
    ids = []
    for k, ops in enumerate([("sin",), ("sin", "cos")]):
        g = _graph(*ops)
        fid, _ = rec.store.record(g, x, worker_death_result("crash", "SIGSEGV", 0.1, TS, seed=k, input_mode="normal", graph=g), pending=True)
        ids.append(fid)
    g = _graph("tan")
    lone, _ = rec.store.record(g, x, worker_death_result("crash", "SIGFPE", 0.1, TS, seed=9, input_mode="normal", graph=g), pending=True)
    assert [rec._priority(f) for f in ids] == [1, 1]  # two SIGSEGV deaths: one may be the other once minimized
    assert rec._priority(lone) == 0  # the only SIGFPE: a new bug whatever minimization finds
    rec.close()


def test_case_keys_match_the_results_lines():
    g = _graph("sin")
    r = worker_death_result("crash", "SIGSEGV", 0.1, TS, seed=5, input_mode="normal", graph=g)
    assert case_key(r) == line_case_key({"exporter": "torchscript", "seed": 5}) == "torchscript/5"
    v = worker_death_result("crash", "SIGSEGV", 0.1, ExportOptions(Exporter.DYNAMO, 17, False), seed=5, input_mode="normal", graph=g,
                            options={"export": ExportOptions(Exporter.DYNAMO, 17, False).to_dict()})
    line = {"exporter": "dynamo", "seed": 5, "op_job": 3, "export": {"exporter": "dynamo", "opset": 17, "optimize": False}}
    assert case_key(v, op_job=3) == line_case_key(line) == "dynamo/o3@17-noopt"  # the variants of one job differ
