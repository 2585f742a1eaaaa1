"""Campaigns with real worker processes: crash isolation, resume after kill -9, Ctrl-C, stats."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzzer.campaign import CampaignConfig, CampaignStats, read_results, run_campaign
from fuzzer.compare import Verdict
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions

pytestmark = pytest.mark.e2e
TS = (Exporter.TORCHSCRIPT,)


def test_abort_hang_and_memory_blowup_are_recorded_and_the_pool_survives(tmp_path):
    config = CampaignConfig(exporters=TS, seconds=None, cases=14, seed=0, workers=2, case_timeout=20.0,
                            memory_limit_mb=700, generator=GeneratorOptions(max_nodes=4), minimize_seconds=None, input_mode="normal")
    inject = {("torchscript", 3): "abort", ("torchscript", 5): "hang", ("torchscript", 7): "oom", ("torchscript", 9): "segv"}
    stats = CampaignStats()
    results = {r.seed: r for r in run_campaign(config, tmp_path, [], stats, pool_env={"ONNXFUZZ_TEST_HOOKS": "1"}, inject=inject)}
    assert sorted(results) == list(range(14))  # every case answered exactly once
    assert results[3].verdict is Verdict.PROCESS_CRASH and "SIGABRT" in results[3].error_head
    assert results[9].verdict is Verdict.PROCESS_CRASH and "SIGSEGV" in results[9].error_head
    assert results[5].verdict is Verdict.HANG
    assert results[7].verdict is Verdict.OUT_OF_MEMORY
    # the cases after each incident ran normally on restarted workers
    assert all(results[s].verdict not in (Verdict.PROCESS_CRASH, Verdict.HANG, Verdict.OUT_OF_MEMORY) for s in (10, 11, 12, 13))
    assert stats.restarts == 4
    # the misbehaving cases are kept like any failing case, with their graph, for replay
    kept = {p.name for p in (tmp_path / "cases").iterdir()}
    for seed, v in ((3, "process_crash"), (5, "hang"), (7, "out_of_memory")):
        assert f"{seed}-torchscript-{v}" in kept
        assert (tmp_path / "cases" / f"{seed}-torchscript-{v}" / "graph.json").exists()
    assert not any((tmp_path / ".rebuild").glob("*"))  # the rebuilt copies are gone


def _interruptible() -> None:
    """In the child: Ctrl-C as at a terminal. A suite started in the background by a
    non-interactive shell (`make test &`) has SIGINT ignored, and an ignored SIGINT is inherited:
    Python then installs no KeyboardInterrupt handler and the campaign would not see Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _campaign_proc(args, env=None):
    return subprocess.Popen([sys.executable, "-m", "fuzzer", "fuzz", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})}, start_new_session=True, preexec_fn=_interruptible)


def _wait_for_lines(path: Path, n: int, timeout: float = 180) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} never reached {n} lines")


def test_kill_9_then_resume_repeats_and_skips_no_seed_and_loses_no_case(tmp_path):
    out = tmp_path / "camp"
    p = _campaign_proc(["--exporter", "torchscript", "--cases", 150, "--workers", 2, "--max-nodes", 6, "--out", out])
    _wait_for_lines(out / "results.jsonl", 40)
    os.killpg(p.pid, signal.SIGKILL)  # the campaign and its workers, like a power cut
    p.wait()
    before = read_results(out / "results.jsonl")
    assert 40 <= len(before) < 150
    meta = json.loads((out / "campaign.json").read_text())
    meta["versions"]["onnxruntime"] = "1.31.0"  # as if started before an upgrade: the resume says so
    (out / "campaign.json").write_text(json.dumps(meta))
    r = subprocess.run([sys.executable, "-m", "fuzzer", "fuzz", "--resume", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "started with other versions (onnxruntime 1.31.0 -> 1.32.0)" in " ".join(r.stdout.split())
    after = read_results(out / "results.jsonl")
    seeds = [x["seed"] for x in after]
    assert sorted(seeds) == list(range(150))  # no seed repeated, none skipped
    assert after[: len(before)] == before  # nothing recorded before the kill was lost or rewritten
    kept = sorted(p.name for p in (out / "cases").iterdir() if not p.name.startswith("."))
    assert kept == sorted(f"{x['seed']}-torchscript-{x['verdict']}" for x in after if x["kept"])
    assert not (out / "incoming").exists() or not any((out / "incoming").iterdir())


def test_ctrl_c_stops_cleanly_prints_the_summary_and_resumes(tmp_path):
    out = tmp_path / "camp"
    p = _campaign_proc(["--exporter", "torchscript", "--seconds", 300, "--workers", 1, "--out", out])
    _wait_for_lines(out / "results.jsonl", 10)
    os.kill(p.pid, signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    assert "interrupted" in stdout and "--resume" in stdout and "cases/s" in stdout
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    n = len(read_results(out / "results.jsonl"))
    assert summary["cases"] == n and "interrupted" in summary["stop_reason"]
    r = subprocess.run([sys.executable, "-m", "fuzzer", "fuzz", "--resume", str(out), "--seconds", "20"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # a case is a seed of a generated graph, or one export variant of a one-operator job
    keys = [(x.get("op_job"), x["seed"], json.dumps(x.get("export"), sort_keys=True)) for x in read_results(out / "results.jsonl")]
    assert len(keys) == len(set(keys)) > n


def test_disk_floor_stops_the_campaign_with_a_message_and_exit_code_4(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fuzzer", "fuzz", "--exporter", "torchscript", "--seconds", "60", "--workers", "1",
                        "--min-free-mb", str(10**9), "--out", str(tmp_path / "c")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 4, r.stderr  # stopped before its budget: not a finished campaign (README, exit codes)
    assert "disk space low" in r.stdout and "Traceback" not in r.stderr


def test_stats_summary_and_plot(tmp_path):
    config = CampaignConfig(exporters=TS, seconds=None, cases=30, workers=1, stats_period=0.2, input_mode="normal", generator=GeneratorOptions(max_nodes=5))
    list(run_campaign(config, tmp_path / "c", []))
    r = subprocess.run([sys.executable, "-m", "fuzzer", "stats", str(tmp_path / "c"), "--plot", str(tmp_path / "p.png")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "torchscript" in r.stdout and "30" in r.stdout
    # 30 random graphs always hit some TorchScript failure: the timeline says when, and how many
    # distinct findings the campaign's store holds
    import re

    from fuzzer.store import FindingStore

    m = re.search(r"│ torchscript │\s+30 │\s+([\d.]+) s │\s+([\d.]+) s │\s+(\d+) │", r.stdout)
    assert m, r.stdout
    assert float(m[1]) <= float(m[2]) and int(m[3]) == len(FindingStore(tmp_path / "c" / "findings").list()) >= 1
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    series = [json.loads(x) for x in (tmp_path / "c" / "stats.jsonl").read_text().splitlines()]
    assert series[-1]["cases"] == 30 and all(a["t"] <= b["t"] for a, b in zip(series, series[1:]))
    r = subprocess.run([sys.executable, "-m", "fuzzer", "stats", str(tmp_path / "nope")], capture_output=True, text=True)
    assert r.returncode == 2 and "not a campaign directory" in r.stderr


def test_a_worker_that_cannot_start_reports_why(tmp_path):
    # a broken install (here: an onnxruntime that fails to import, first on PYTHONPATH) kills the
    # worker before it can talk; the error must carry the worker's own traceback, not just a code
    from fuzzer.workers import InternalError, WorkerPool

    (tmp_path / "shadow" / "onnxruntime").mkdir(parents=True)
    (tmp_path / "shadow" / "onnxruntime" / "__init__.py").write_text('raise ImportError("onnxruntime is broken here")\n')
    pool = WorkerPool(1, log_dir=tmp_path / "logs", env={"PYTHONPATH": str(tmp_path / "shadow")})
    with pytest.raises(InternalError) as e:
        for _ in range(1200):
            pool.poll(0.05)
    assert "died while starting" in str(e.value) and "onnxruntime is broken here" in str(e.value)
