"""Dynamic-shape export on real exports and ONNX Runtime sessions (see README, "Dynamic shapes").

The defect: the dynamo exporter lowers adaptive average pooling to AveragePool with the kernel
and strides of the traced size, so a model exported with a dynamic spatial size is wrong at every
other size (torch 2.13.0, onnxscript 0.7.2; the static export is right). If upstream fixes it,
the first test fails: record the fix and find another defect for it."""

import pytest

from fuzzer.case import run_graph
from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs, single_op_graph
from fuzzer.ir import Param, TensorSpec
from fuzzer.triage.buckets import bucket_key
from fuzzer.triage.signature import signature_of

pytestmark = pytest.mark.e2e
DYN, DYN_D = ExportOptions(Exporter.DYNAMO), ExportOptions(Exporter.DYNAMO, dynamic=True)
TS_D = ExportOptions(Exporter.TORCHSCRIPT, dynamic=True)


def test_dynamo_adaptive_avg_pool_is_right_at_the_traced_size_only():
    g = single_op_graph("adaptive_avg_pool2d", [TensorSpec((2, 3, 6, 6), "float32")], {"size": (2, 2)})
    static, dynamic = run_graph(g, make_inputs(g, 3), [DYN, DYN_D], seed=3, cross_exporter=False)
    assert static.verdict is Verdict.PASS
    assert dynamic.verdict is Verdict.NUMERIC_MISMATCH
    info = dynamic.options["dynamic"]
    assert info["export"] == "dynamic" and info["failed"] == "run" and info["dims"] == {"x0": [0, 1, 2, 3]}
    assert info["sizes"][0]["rule"] == "grow" and info["sizes"][0]["shapes"] == {"x0": [3, 4, 7, 7]}
    assert dynamic.options["export"] == {"exporter": "dynamo", "opset": None, "optimize": True, "dynamic": True}
    assert dynamic.error_head.startswith("at other input sizes (grow)")
    assert signature_of(dynamic).detail.startswith("dynamic@run value: ") and "AveragePool" in signature_of(dynamic).detail
    assert bucket_key(dynamic).endswith("|dynamic@run")


def test_a_graph_that_works_at_every_size_passes_at_the_other_sizes_on_both_exporters():
    g = single_op_graph("add", [TensorSpec((3, 4), "float32"), TensorSpec((4,), "float32")])
    for r in run_graph(g, make_inputs(g, 1, "special"), [DYN_D, TS_D], seed=1, input_mode="special"):
        assert r.verdict is Verdict.PASS, (r.exporter, r.error_head)
        info = r.options["dynamic"]
        assert info["export"] == "dynamic" and "failed" not in info
        assert [s["rule"] for s in info["sizes"]] == ["grow", "shrink"] and all(s["verdict"] == "pass" for s in info["sizes"])
        assert info["sizes"][1]["shapes"] == {"x0": [2, 3], "x1": [3]}


def test_a_size_the_graph_fixes_is_not_run_and_a_dimension_tied_to_a_weight_stays_static():
    # reshape to a fixed shape: both exporters declare the dimensions dynamic (dynamo with a runtime
    # check), but eager PyTorch rejects the graph at every other size: nothing is compared there
    g = single_op_graph("reshape", [TensorSpec((3, 4), "float32")], {"shape": (4, 3)})
    for r in run_graph(g, make_inputs(g, 2), [DYN_D, TS_D], seed=2):
        assert r.verdict is Verdict.PASS, (r.exporter, r.error_head)
        assert [s["verdict"] for s in r.options["dynamic"]["sizes"]] == ["eager_error", "eager_error"]
    # linear's weight fixes the input's last dimension: the dynamo exporter keeps it static
    # (torch.export's suggested fix); only the batch dimension changes, and the model is right there
    g = single_op_graph("linear", [TensorSpec((3, 4), "float32")], params=[Param(TensorSpec((5, 4), "float32"), "normal", 1),
                                                                           Param(TensorSpec((5,), "float32"), "normal", 2)])
    (r,) = run_graph(g, make_inputs(g, 2), [DYN_D], seed=2)
    assert r.verdict is Verdict.PASS, r.error_head
    info = r.options["dynamic"]
    assert info["dims"] == {"x0": [0]} and [s["map"] for s in info["sizes"]] == [{"3": 4}, {"3": 2}]


def test_a_mismatch_at_another_size_is_confirmed_at_that_size():
    from fuzzer.case.confirm import confirm_mismatch
    from fuzzer.case.dynamic import failing_size_case

    g = single_op_graph("adaptive_avg_pool1d", [TensorSpec((2, 4, 6), "float32")], {"size": 3})
    x = make_inputs(g, 5)
    (r,) = run_graph(g, x, [DYN_D], seed=5)
    assert r.verdict is Verdict.NUMERIC_MISMATCH and r.options["dynamic"]["failed"] == "run"
    g2, x2 = failing_size_case(g, r)
    assert x2["x0"].shape == (3, 5, 7) and g2.specs()[g2.outputs[0]].shape == (3, 5, 3)
    assert confirm_mismatch(g2, x2, r).status == "confirmed"
    assert confirm_mismatch(g, x, r).status == "flaky"  # at the traced size the model is right


def test_a_dynamic_finding_replays_dynamic_and_its_repro_exports_dynamic_and_runs_the_other_size(tmp_path):
    import json
    import subprocess
    import sys

    from fuzzer.store import FindingStore
    from fuzzer.store.replay import replay_state

    g = single_op_graph("adaptive_avg_pool1d", [TensorSpec((2, 4, 6), "float32")], {"size": 3})
    x = make_inputs(g, 5)
    (r,) = run_graph(g, x, [DYN_D], seed=5)
    store = FindingStore(tmp_path / "store")
    fid, new = store.record(g, x, r)
    doc = json.loads((tmp_path / "store" / fid / "finding.json").read_text())
    assert new and doc["export"]["dynamic"] is True and doc["signature"]["detail"].startswith("dynamic@run ")
    asked = []

    def runners(exporter, opset, mode, optimize=True, dynamic=False):
        asked.append(dynamic)
        ex = ExportOptions(Exporter(exporter), opset, optimize, dynamic)
        return lambda graph, inputs: run_graph(graph, inputs, [ex], seed=graph.meta.get("seed", 5), input_mode=mode)[0]

    assert replay_state(doc, g, x, runners) == "still failing" and asked == [True]
    p = subprocess.run([sys.executable, str(tmp_path / "store" / fid / "repro.py")], capture_output=True, text=True, cwd="/", timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "REPRODUCED: numeric_mismatch: at other input sizes" in p.stdout


def test_sweep_dynamic_adds_a_dynamic_variant_and_blames_dynamic_shapes(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "sw"
    p = subprocess.run([sys.executable, "-m", "fuzzer", "sweep", "--exporter", "dynamo", "--ops", "adaptive_avg_pool2d", "--dtypes", "float32",
                        "--modes", "normal", "--opsets", "18", "--no-optimize-diff", "--dynamic", "--workers", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert json.loads((out / "sweep.json").read_text())["config"]["dynamic"] is True
    static = [r for r in rows if "dynamic" not in r]
    dynamic = [r for r in rows if "dynamic" in r]
    assert len(static) == len(dynamic) >= 2  # one dynamic variant per job
    assert all(r["verdict"] == "pass" for r in static if r["shape"] == [2, 3, 4])
    wrong = [r for r in dynamic if r["dynamic"]["failed"] == "run"]
    assert wrong and all(r["differential_labels"] == ["dynamic shapes"] for r in wrong)
    assert all(r["verdict"] == "numeric_mismatch" and r["error_head"].startswith("at other input sizes") for r in wrong)


def test_batched_dynamic_dynamo_exports_give_the_plain_calls_verdicts():
    from fuzzer.case import run_graphs_batched

    graphs = [single_op_graph("adaptive_avg_pool2d", [TensorSpec((2, 3, 6, 6), "float32")], {"size": (2, 2)}),
              single_op_graph("add", [TensorSpec((3, 4), "float32"), TensorSpec((4,), "float32")]),
              single_op_graph("reshape", [TensorSpec((3, 4), "float32")], {"shape": (4, 3)}),
              single_op_graph("relu", [TensorSpec((1, 1), "float32")])]
    cases = [(g, make_inputs(g, k), k) for k, g in enumerate(graphs)]
    batched = run_graphs_batched(cases, DYN_D, max_batch=4)
    plain = [run_graph(g, x, [DYN_D], seed=s)[0] for g, x, s in cases]
    view = lambda r: (r.verdict, r.error_type, {k: v for k, v in r.options["dynamic"].items() if k != "dims"},  # noqa: E731
                      {n: len(a) for n, a in r.options["dynamic"]["dims"].items()})
    assert [view(r) for r in batched] == [view(r) for r in plain]
    assert batched[0].options.get("export_batch") == 4 and batched[0].options["dynamic"]["failed"] == "run"
    assert batched[3].options["dynamic"]["export"] == "static"  # 1x1: nothing to make dynamic


def test_a_campaign_exports_its_dynamic_share_and_resume_keeps_it(tmp_path):
    import json
    import subprocess
    import sys

    from fuzzer.campaign.scheduler import is_dynamic_slot

    out = tmp_path / "c"
    base = [sys.executable, "-m", "fuzzer", "fuzz"]
    p = subprocess.run(base + ["--exporter", "torchscript", "--cases", "16", "--dynamic-share", "0.5", "--workers", "1", "--minimize-seconds", "0",
                               "--max-nodes", "4", "--seed", "3", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dynamic shapes: 0.5 of the graphs exported dynamic" in p.stdout
    assert json.loads((out / "campaign.json").read_text())["config"]["dynamic_share"] == 0.5
    p = subprocess.run(base + ["--resume", str(out), "--cases", "24"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(x["seed"] for x in lines) == list(range(3, 27))  # each slot once, across the resume
    assert 0 < sum("dynamic" in x for x in lines) < len(lines)
    for x in lines:
        assert ("dynamic" in x) == is_dynamic_slot(3, x["seed"] - 3, 0.5), x
        if "dynamic" in x:
            assert x["export"]["dynamic"] is True and x["dynamic"]["export"] in ("dynamic", "static", "refused", "crash", "crash_static_too")
    p = subprocess.run(base + ["--resume", str(out), "--dynamic-share", "0.2"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--dynamic-share" in p.stderr


def test_torchscript_split_bakes_its_split_sizes_in_and_dynamo_area_interpolation_its_output_size():
    # TorchScript traces torch.split's sizes as constants: with dynamic_axes the model fails to run
    # at a size where the chunks differ (4 -> 3: chunks 2 and 1, Split still asks for 2 and 2)
    g = single_op_graph("split", [TensorSpec((2, 3, 4), "float32")], {"size": 2, "dim": 2})
    (ts,) = run_graph(g, make_inputs(g, 1), [TS_D], seed=1)
    assert ts.verdict is Verdict.ORT_RUN_CRASH and ts.options["dynamic"]["failed"] == "run"
    assert ts.error_head.startswith("at other input sizes (shrink)") and "Split" in ts.error_head
    assert [s["verdict"] for s in ts.options["dynamic"]["sizes"]] == ["eager_error", "ort_run_crash"]  # 5: three chunks, not this graph
    # area interpolation is adaptive average pooling: the dynamo model keeps the traced output size
    g = single_op_graph("interpolate_opts", [TensorSpec((2, 3, 4), "float32")],
                        {"mode": "area", "size": None, "scale_factor": 0.6, "align_corners": None, "recompute_scale_factor": True, "antialias": False})
    (dyn,) = run_graph(g, make_inputs(g, 1), [DYN_D], seed=1)
    assert dyn.verdict is Verdict.SHAPE_OR_DTYPE_MISMATCH and dyn.options["dynamic"]["failed"] == "run", dyn.error_head
    assert "expected float32[3, 4, 3], got float32[3, 4, 2]" in dyn.error_head
