"""Real exports through the sweep machinery: the shared worker pool against a real process-killing
case, batched dynamo sweeps against the plain export, the exporter-option differentials on real
current defects, the CLI end to end."""

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

from fuzzer.case.variants import run_variants
from fuzzer.compare.differential import LABEL_OPSET_CONVERSION
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import TensorSpec
from fuzzer.export.batch import BatchStats
from fuzzer.sweep.execute import run_in_process, run_on_pool
from fuzzer.sweep.plan import SweepConfig, SweepJob, enumerate_jobs
from fuzzer.workers import WorkerPool

pytestmark = pytest.mark.e2e
TS20, TS7 = ExportOptions(Exporter.TORCHSCRIPT, 20), ExportOptions(Exporter.TORCHSCRIPT, 7)
DYN = Exporter.DYNAMO


def _job(key, graph, exports, mode="normal"):
    return SweepJob(key, tuple(graph.ops()), graph.inputs[0].spec.dtype, graph.inputs[0].spec.shape, mode, 1, graph, tuple(exports))


def test_worker_isolation_records_a_sigfpe_and_carries_on():
    # TorchScript export of flatten(x, 2, -1) on an empty float64 tensor dies with SIGFPE (torch 2.13)
    crash = single_op_graph("flatten", [TensorSpec((5, 0, 5), "float64")], {"start": 2, "end": -1})
    fine = single_op_graph("sin", [TensorSpec((3,), "float32")])
    jobs = [_job("crash", crash, [TS20, TS7]), _job("fine", fine, [TS20, TS7])]
    with WorkerPool(1, 120) as pool:
        outs = {o.job.key: o for o in run_on_pool(jobs, pool, batch=2)}
        restarts = pool.restarts
    first, second = outs["crash"].results
    assert first.verdict.value == "process_crash" and first.error_type == "SIGFPE" and first.opset_requested == 20
    assert first.ops == ("flatten",) and first.options["sweep"]["key"] == "crash"
    assert second.verdict.value != "process_crash" and second.opset_requested == 7  # went on in a fresh worker (opset 7 does not crash)
    assert [r.verdict.value for r in outs["fine"].results] == ["pass", "pass"]  # its batch died with it, then it ran alone
    assert restarts == 3  # the batch of two jobs, the crashing job alone, then its crashing variant alone


def test_batched_dynamo_sweep_gives_the_plain_call_verdicts():
    # a dynamo sweep exports the graphs of a batch in one call; every variant's verdict, error type
    # and declared opset must equal those of each graph exported alone with the public call
    # and both input modes of a graph share their exports (capture runs on fake tensors: the
    # model does not depend on input values, which the plain calls show)
    config = SweepConfig(ops=("split", "pad", "argmax", "isnan"), dtypes=("float16", "int32"), exporters=(DYN,), opsets=(17, 20),
                         modes=("normal", "special"), attr_variants=1, attr_tries=8, max_shapes=2)
    jobs = list(enumerate_jobs(config))
    assert 16 <= len(jobs) <= 64
    counts = BatchStats()
    with WorkerPool(2, 300) as pool:
        batched = {o.job.key: o.results for o in run_on_pool(jobs, pool, batch=8, batching=counts)}
    plain = {o.job.key: o.results for o in run_in_process(jobs)}
    assert batched.keys() == plain.keys() == {j.key for j in jobs}
    views = lambda rs: [(r.options.get("export", {}).get("opset", r.opset_requested), r.verdict.value, r.error_type, r.opset, r.output_digests) for r in rs]  # noqa: E731
    for key in plain:
        assert views(batched[key]) == views(plain[key]), key
    assert any(r.options.get("export_batch", 1) > 1 for rs in batched.values() for r in rs)  # batching did happen
    # and the workers told what it did: fewer exporter calls than graphs x variants, some of them batched
    graphs = len({j.graph_key for j in jobs})
    assert 0 < counts.batched_calls <= counts.calls < graphs * 2, counts
    from fuzzer.export.split import canonical_form

    def model(r):
        return canonical_form(onnx.load_model_from_string(r.model)) if r.model else None

    by_graph = {}
    for j in jobs:
        by_graph.setdefault(j.graph_key, []).append(j.key)
    assert all(len(keys) == 2 for keys in by_graph.values())
    for normal, special in by_graph.values():
        assert [model(r) for r in plain[normal]] == [model(r) for r in plain[special]]  # value-independent
        assert [r.model for r in batched[normal]] == [r.model for r in batched[special]]  # one export for both modes


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
    assert len((out / "results.jsonl").read_text().splitlines()) == len(rows) and "other versions" not in again.stdout
    meta = json.loads((out / "sweep.json").read_text())
    meta["versions"]["torch"] = "2.12.0"  # as if started before an upgrade: the resume says so
    (out / "sweep.json").write_text(json.dumps(meta))
    again = _cli(*args[: args.index("--out")], *args[args.index("--out") + 2:], "--resume", str(out), cwd=tmp_path)  # --resume DIR, like fuzz
    assert again.returncode == 0, again.stderr
    assert len((out / "results.jsonl").read_text().splitlines()) == len(rows)
    assert "other versions (torch 2.12.0 -> 2.13.0" in " ".join(again.stdout.split())
    (out / "sweep.json").write_text('{"config": ')  # damaged: one line, exit 2
    broken = _cli(*args, "--resume", cwd=tmp_path)
    assert broken.returncode == 2 and "sweep.json: not readable as JSON" in broken.stderr and "Traceback" not in broken.stderr
    clash = _cli(*args, cwd=tmp_path)
    assert clash.returncode == 2 and "--resume" in clash.stderr and "Traceback" not in clash.stderr
    bad = _cli("sweep", "--ops", "nope", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert bad.returncode == 2 and "unknown operators" in bad.stderr and not (tmp_path / "x").exists()


def test_sigterm_stops_a_sweep_as_ctrl_c_does_and_it_resumes(tmp_path):
    """A sweep run in the background (where SIGINT is ignored) is stopped with SIGTERM: it writes
    summary.json, says how to resume, and the resumed sweep runs each remaining job once."""
    import signal
    import time

    out = tmp_path / "sw"
    args = ["sweep", "--exporter", "torchscript", "--ops", "sin,cos,tan,exp,abs,neg,sqrt,tanh", "--modes", "normal", "--workers", "1", "--batch", "2",
            "--out", str(out)]
    p = subprocess.Popen([sys.executable, "-m", "fuzzer", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    progress, deadline = out / "progress.txt", time.monotonic() + 300
    while time.monotonic() < deadline and not (progress.exists() and len(progress.read_text().split()) >= 4):
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130 and "--resume" in stdout, stderr
    # no traceback of ours (Python prints a KeyboardInterrupt that landed in a fork hook as ignored)
    assert "Traceback" not in stderr or ("Exception ignored" in stderr and stderr.count("Traceback") == 1), stderr
    summary = json.loads((out / "summary.json").read_text())
    done = (out / "progress.txt").read_text().split()
    assert summary["jobs_done"] == len(done) < summary["jobs_total"]
    again = _cli(*args, "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    done = (out / "progress.txt").read_text().split()
    assert len(done) == len(set(done)) == json.loads((out / "summary.json").read_text())["jobs_total"]
