"""Real exports through the sweep machinery: worker isolation against a real process-killing
case, the exporter-option differentials on real current defects, the CLI end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fuzzer.campaign.variants import run_variants
from fuzzer.compare.differential import LABEL_OPSET_CONVERSION
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec
from fuzzer.sweep.plan import SweepJob
from fuzzer.sweep.runner import InProcessRunner, SubprocessRunner
from fuzzer.sweep.wire import ProcessCrash, result_from_wire, result_to_wire

pytestmark = pytest.mark.e2e
TS20, TS7 = ExportOptions(Exporter.TORCHSCRIPT, 20), ExportOptions(Exporter.TORCHSCRIPT, 7)
DYN = Exporter.DYNAMO


def _job(key, graph, exports, mode="normal"):
    return SweepJob(key, tuple(graph.ops()), graph.inputs[0].spec.dtype, graph.inputs[0].spec.shape, mode, 1, graph, tuple(exports))


def test_worker_isolation_records_a_sigfpe_and_carries_on():
    # TorchScript export of flatten(x, 2, -1) on an empty float64 tensor dies with SIGFPE (torch 2.13)
    crash = single_op_graph("flatten", [TensorSpec((5, 0, 5), "float64")], {"start": 2, "end": -1})
    fine = single_op_graph("sin", [TensorSpec((3,), "float32")])
    runner = SubprocessRunner(workers=1, timeout=120)
    try:
        outs = {o.job.key: o for o in runner.run([_job("crash", crash, [TS20, TS7]), _job("fine", fine, [TS20])])}
    finally:
        runner.close()
    first, second = outs["crash"].results
    assert isinstance(first, ProcessCrash) and first.error_type == "signal SIGFPE" and first.opset_requested == 20
    assert not isinstance(second, ProcessCrash) and second.opset_requested == 7  # went on in a fresh child (opset 7 does not crash)
    assert outs["fine"].results[0].verdict.value == "pass"
    assert runner.stats.crashes == {"signal SIGFPE": 1}


def test_results_cross_the_process_boundary_unchanged():
    g = single_op_graph("silu", [TensorSpec((), "float64")])  # a real dtype mismatch on TorchScript
    (o,) = InProcessRunner().run([_job("silu", g, [TS20])])
    (r,) = o.results
    assert r.verdict.value == "shape_or_dtype_mismatch" and r.model
    back = result_from_wire(json.loads(json.dumps(result_to_wire(r))))
    assert back == r and back.model == r.model  # model is excluded from ==, so compare it too


def test_dynamo_opset_conversion_only_divergence_is_attributed_to_opset_conversion():
    # torch.split exports to Split with the opset-18 attribute num_outputs; converted down to
    # opset 17 the attribute stays, and the checker rejects the model. Opset 18/20 pass.
    g = single_op_graph("split", [TensorSpec((2, 6), "float32")], {"size": 2, "dim": 1})
    base, old = ExportOptions(DYN, 20), ExportOptions(DYN, 17)
    r20, r17 = run_variants(g, make_inputs(g, 0), [base, old], {DYN: base})
    assert r20.verdict.value == "pass" and "differential" not in r20.options
    assert r17.verdict.value == "invalid_model" and "num_outputs" in r17.error_head
    (a,) = r17.options["differential"]
    assert a["label"] == LABEL_OPSET_CONVERSION and a["option"] == "opset" and a["breaks"] is True
    assert a["failing"]["opset"] == 17 and a["other"]["opset"] == 20


def test_dynamo_silently_declares_another_opset_than_requested():
    # reflect padding cannot be converted to opset 17: the exporter keeps opset 18 and says nothing
    g = single_op_graph("pad", [TensorSpec((2, 3, 4), "float32")], {"pad": (1, 2), "mode": "reflect", "value": None})
    old = ExportOptions(DYN, 17)
    (r,) = run_variants(g, make_inputs(g, 0), [old], {})
    assert r.verdict.value == "pass" and r.opset_requested == 17 and r.opset == 18
    assert r.options["opset_drift"] == {"requested": 17, "actual": 18}


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fuzzer", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_sweep_cli_end_to_end_resume_and_report(tmp_path):
    out = tmp_path / "sw"
    args = ["sweep", "--ops", "flatten,sin", "--dtypes", "float64", "--opsets", "9,20", "--modes", "normal", "--out", str(out), "--report", str(tmp_path / "r.md")]
    p = _cli(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    done = (out / "progress.txt").read_text().split()
    assert len(rows) == 2 * len(done) and len(set(done)) == len(done)
    assert {r["verdict"] for r in rows} >= {"pass", "process_crash"}
    crash_dirs = [d for d in (out / "cases").iterdir() if "process_crash" in d.name]
    assert crash_dirs and (crash_dirs[0] / "graph.json").exists() and np.load(crash_dirs[0] / "inputs.npz", allow_pickle=False)
    md = (tmp_path / "r.md").read_text()
    assert "| flatten | CR" in md and (tmp_path / "r.png").exists() and (out / "report.md").exists()
    again = _cli(*args, "--resume", cwd=tmp_path)  # nothing left to do: no line is added
    assert again.returncode == 0, again.stderr
    assert len((out / "results.jsonl").read_text().splitlines()) == len(rows)
    clash = _cli(*args, cwd=tmp_path)
    assert clash.returncode == 2 and "--resume" in clash.stderr and "Traceback" not in clash.stderr
    bad = _cli("sweep", "--ops", "nope", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert bad.returncode == 2 and "unknown operators" in bad.stderr and not (tmp_path / "x").exists()
