"""The sweep's recorder on a real failing case: a run stopped after a case was saved and before it
was logged leaves that case directory behind; the resumed sweep runs the job again and records it
without error (issue found by stopping a sweep with SIGTERM: the resume died with FileExistsError)."""

from fuzzer.case import run_graph
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec

from fuzzer.sweep.record import SweepRecorder


def test_a_case_saved_but_not_logged_is_replaced_when_its_job_runs_again(tmp_path):
    graph = single_op_graph("sin", [TensorSpec((3,), "int64")])  # TorchScript: an invalid model (Sin has no int64)
    inputs = make_inputs(graph, 0)
    (r,) = run_graph(graph, inputs, [ExportOptions(Exporter.TORCHSCRIPT, 20)], seed=0, options={"sweep": {"key": "sin|int64|3|x|normal"}})
    assert r.verdict.is_failure
    first = SweepRecorder(tmp_path, store_root=tmp_path / "store")
    bid = first.record(graph, inputs, r)
    first.close()
    (tmp_path / "buckets.jsonl").write_text("")  # stopped before the log line: only the case directory is left
    again = SweepRecorder(tmp_path, store_root=tmp_path / "store")
    assert again.record(graph, inputs, r) == bid
    again.close()
    cases = sorted(p.name for p in (tmp_path / "cases").iterdir())
    assert len(cases) == 1 and cases[0].startswith(f"{bid}-1-") and (tmp_path / "cases" / cases[0] / "graph.json").exists()
