"""A campaign's start, end and death (issue 21, items 1, 3 and 4): the budget is campaign time from
the moment the pool can run cases; summary.json and ``onnxfuzz stats`` agree on it; the end waits
for no minimizer, and every failing case is filed at once; a killed campaign leaves no process
and no temporary directory behind, and its resume goes on minimizing."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from fuzzer.campaign import CampaignConfig, CampaignStats, read_results, run_campaign
from fuzzer.campaign.config import resume_config
from fuzzer.campaign.recorder import MINIMIZER_NICE, line_case_key
from fuzzer.campaign.stats import recorded_elapsed
from fuzzer.cli import main
from fuzzer.compare import Verdict
from fuzzer.export import Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.store import FindingStore
from fuzzer.workers.lifetime import alive, descendants

pytestmark = pytest.mark.e2e
TS = (Exporter.TORCHSCRIPT,)


def _summary(out):
    return json.loads((out / "summary.json").read_text())


def test_the_budget_is_campaign_time_from_a_ready_pool_and_summary_and_stats_agree(tmp_path, capsys):
    out = tmp_path / "c"
    config = CampaignConfig(exporters=TS, seconds=3.0, workers=1, input_mode="normal", generator=GeneratorOptions(max_nodes=4),
                            minimize_seconds=None, arms=("graphs",), stats_period=0.5)
    # workers started from scratch: about two seconds of imports before the first case can run
    env = {"ONNXFUZZ_NO_FORK_SERVER": "1"}
    t0 = time.monotonic()
    first = None
    for r in run_campaign(config, out, [], CampaignStats(), pool_env=env):
        first = first if first is not None else time.monotonic() - t0
    wall = time.monotonic() - t0
    s1 = _summary(out)
    assert 3.0 <= s1["elapsed"] <= 5.0, s1["elapsed"]  # the budget, plus the last cases in flight
    assert first is not None and wall >= s1["elapsed"] + 1.0, (wall, first, s1["elapsed"])  # start-up is not charged
    lines = read_results(out / "results.jsonl")
    assert lines[0]["t"] < 2.0 and max(x["t"] for x in lines) <= s1["elapsed"]
    assert recorded_elapsed(out, lines) == s1["elapsed"]
    assert main(["stats", str(out)]) == 0
    m = re.search(r"onnxfuzz: (\d+) cases in ([\d.]+)s", capsys.readouterr().out)
    assert m and int(m[1]) == s1["cases"] and float(m[2]) == pytest.approx(s1["elapsed"], abs=0.051)
    # --resume --seconds 2: two more seconds of cases, whatever the start-up costs
    config2 = resume_config(out, recorded_elapsed(out, lines), seconds=2.0)
    list(run_campaign(config2, out, [], CampaignStats(), resume=True, pool_env=env))
    s2 = _summary(out)
    assert 2.0 <= round(s2["elapsed"] - s1["elapsed"], 3) <= 4.0, (s1["elapsed"], s2["elapsed"])  # (5.015 - 3.015 is 1.9999...)
    assert s2["cases"] > s1["cases"]


def test_the_end_waits_for_no_minimizer_and_every_failing_case_is_filed(tmp_path):
    out = tmp_path / "c"
    config = CampaignConfig(exporters=TS, seconds=None, cases=60, workers=1, input_mode="special", generator=GeneratorOptions(max_nodes=6),
                            minimize_seconds=60.0, arms=("graphs",))
    last = None
    for _ in run_campaign(config, out, []):
        last = time.monotonic()
    tail = time.monotonic() - last
    assert tail < 5.0, tail  # was up to 30 s of waiting for minimizations (and then left them unfiled)
    lines = read_results(out / "results.jsonl")
    store = FindingStore(out / "findings")
    filed = store.case_index()
    for x in lines:
        if not Verdict(x["verdict"]).is_failure:
            continue
        unconfirmed = (x.get("confirmation") or {}).get("status", "confirmed") != "confirmed"
        assert line_case_key(x) in filed or unconfirmed or x["n_nodes"] == 0, x
    assert store.list() and not store.problems
    assert not (out / ".tmp").exists()


def _campaign(out, *args, env=None):
    return subprocess.Popen([sys.executable, "-m", "fuzzer", "fuzz", "--out", str(out), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def test_kill_9_leaves_no_process_and_no_temp_dir_and_resume_goes_on_minimizing(tmp_path):
    out, systmp = tmp_path / "c", tmp_path / "systmp"
    systmp.mkdir()
    env = {"TMPDIR": str(systmp)}
    p = _campaign(out, "--exporter", "torchscript", "--seconds", 120, "--workers", 1, "--max-nodes", 6, env=env)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the minimizer runs, with its own isolated worker
        tree = descendants(p.pid)
        seen |= tree
        cmds = [_cmdline(x) for x in tree]
        if sum("minimize_one" in c for c in cmds) and sum("forkserver" in c for c in cmds) >= 2 and len(tree) >= 5:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the minimizer never started: {[_cmdline(x) for x in seen]}")
    # the minimizer runs below the workers' priority (it gets the CPU they leave), and so does its own worker
    minimizer = next(x for x in tree if "minimize_one" in _cmdline(x))
    assert _nice(minimizer) == MINIMIZER_NICE and all(_nice(x) == MINIMIZER_NICE for x in descendants(minimizer)), [(_cmdline(x), _nice(x)) for x in tree]
    assert all(_nice(x) in (0, None) for x in tree - {minimizer} - descendants(minimizer))  # None: ended meanwhile
    time.sleep(1.0)
    seen |= descendants(p.pid)
    os.kill(p.pid, signal.SIGKILL)  # the supervisor only: its children must follow by themselves
    p.wait()
    time.sleep(2.0)
    left = [(x, _cmdline(x)) for x in seen if alive(x)]
    assert not left, left
    assert not _temp_dirs(systmp)  # nothing in the system's temporary directory
    store = FindingStore(out / "findings")
    raw = [x.name for x, _ in store.awaiting_minimization()]
    assert store.list() and not store.problems
    # every failing case recorded before the kill is in the store, raw or minimized
    filed = store.case_index()
    for x in read_results(out / "results.jsonl"):
        if Verdict(x["verdict"]).is_failure and (x.get("confirmation") or {}).get("status", "confirmed") == "confirmed" and x["n_nodes"]:
            assert line_case_key(x) in filed, x
    store.close()
    r = subprocess.run([sys.executable, "-m", "fuzzer", "fuzz", "--resume", str(out), "--seconds", "15"], capture_output=True, text=True,
                       timeout=300, env={**os.environ, **env})
    assert r.returncode == 0, r.stderr
    assert not _temp_dirs(systmp) and not (out / ".tmp").exists()
    if raw:  # the queue survived the kill: the resumed run minimized some of the raw findings
        assert re.search(r"\((\d+) minimized by this run", r.stdout) and not re.search(r"\(0 minimized by this run", r.stdout), r.stdout


def _nice(pid: int) -> int | None:
    """A process's nice value (field 19 of /proc/PID/stat), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[16])
    except (OSError, IndexError, ValueError):
        return None


def _temp_dirs(d):
    """Directories (and files of ours) left in a temporary directory; a library's session stamp
    file (onnxruntime writes ``.ses``) is not ours to clean."""
    return [p for p in d.iterdir() if p.is_dir() or p.name.startswith("onnxfuzz")]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_resume_refiles_kept_mismatches_from_their_model(tmp_path):
    # issue 21 item 1: recorder.refile rebuilt the result from result.json alone, so a kept
    # numeric_mismatch could not be signed ("without a diff or a model") and never reached the store
    from fuzzer.campaign.recorder import FindingRecorder
    from fuzzer.case import run_graph, save_case
    from fuzzer.export import ExportOptions
    from fuzzer.store import load_case

    root = __import__("pathlib").Path(__file__).resolve().parents[2] / "findings"
    store = FindingStore(root)
    pick = next(r for r in store.list("id") if r.verdict == "numeric_mismatch" and r.exporter == "torchscript")
    _, graph, inputs = load_case(pick.path)
    ex = ExportOptions(Exporter.TORCHSCRIPT, json.loads((pick.path / "finding.json").read_text()).get("opset_requested"))
    result = run_graph(graph, inputs, [ex], seed=7, input_mode="normal")[0]
    assert result.verdict is Verdict.NUMERIC_MISMATCH and result.model is not None
    case = save_case(tmp_path / "cases", graph, inputs, result)
    assert (case / "model.onnx").exists()
    line = {"seed": 7, "exporter": "torchscript", "verdict": "numeric_mismatch", "kept": True, "t": 1.0, "seconds": 0.1}
    rec = FindingRecorder(tmp_path / "findings", {"torchscript": ex}, "normal", None)
    assert rec.refile(tmp_path / "cases", [line]) == 1
    assert "torchscript/7" in rec.store.case_index()
    assert not (tmp_path / "findings" / "recorder.log").exists()
    rec.close()
