"""Worker replacement: real worker processes are recycled between tasks (after N tasks, or above
the soft memory limit) and every task still gets its one answer; a worker rebuilds a dead
worker's case."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fuzzer.workers import WorkerPool
from fuzzer.workers.pool import WORKER_ENV_DEFAULTS
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.workers.protocol import Rebuild, RunSeeds

pytestmark = pytest.mark.e2e
GEN = GeneratorOptions(max_nodes=2)


def _run(pool: WorkerPool, seed: int):
    """(pid that ran the task, its completion)."""
    while not pool.idle():
        pool.poll(0.05)
    pid = pool.workers[0].proc.pid
    task = pool.submit(RunSeeds((seed,), ExportOptions(Exporter.TORCHSCRIPT), GEN, "normal"))
    while True:
        for c in pool.poll(0.05):
            assert c.task is task
            return pid, c


def test_a_worker_is_replaced_after_its_share_of_tasks():
    with WorkerPool(1, case_timeout=120, recycle_after=2) as pool:
        runs = [_run(pool, s) for s in (3, 4, 5)]
        assert [c.kind for _, c in runs] == ["ok"] * 3
        pids = [pid for pid, _ in runs]
        assert pids[0] == pids[1] != pids[2]
        assert pool.recycled == 1 and pool.restarts == 0


def test_a_worker_above_the_soft_memory_limit_is_replaced_before_its_next_task():
    with WorkerPool(1, case_timeout=120, memory_limit_mb=4096, recycle_fraction=0.01) as pool:  # soft limit 41 MiB: torch alone holds more
        pid, c = _run(pool, 3)
        assert c.kind == "ok"  # the hard limit (4096 MiB) never fired
        assert pool.workers[0].proc.pid != pid and pool.recycled == 1 and pool.restarts == 0


def test_workers_get_the_env_defaults_unless_the_caller_sets_them():
    """LRU_CACHE_CAPACITY (oneDNN's primitive cache) is capped in workers; the caller's value wins."""
    def worker_env(pool: WorkerPool) -> dict[str, str]:
        raw = open(f"/proc/{pool.workers[0].proc.pid}/environ", "rb").read().split(b"\0")
        return dict(kv.decode().split("=", 1) for kv in raw if b"=" in kv)

    with WorkerPool(1, case_timeout=120) as pool:
        assert worker_env(pool)["LRU_CACHE_CAPACITY"] == WORKER_ENV_DEFAULTS["LRU_CACHE_CAPACITY"]
    with WorkerPool(1, case_timeout=120, env={"LRU_CACHE_CAPACITY": "7"}) as pool:
        assert worker_env(pool)["LRU_CACHE_CAPACITY"] == "7"


def test_a_campaign_with_recycle_after_records_recycles_not_restarts(tmp_path):
    out = tmp_path / "c"
    r = subprocess.run([sys.executable, "-m", "fuzzer", "fuzz", "--exporter", "torchscript", "--cases", "5", "--workers", "1",
                        "--max-nodes", "3", "--recycle-after", "2", "--minimize-seconds", "0", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cases"] == 5
    assert summary["workers_recycled"] == 2 and summary["worker_restarts"] == 0  # after tasks 2 and 4
    assert json.loads((out / "campaign.json").read_text())["config"]["recycle_after"] == 2


def _answer(pool: WorkerPool, task):
    while True:
        for c in pool.poll(0.05):
            assert c.task is task
            return c


def test_a_worker_rebuilds_a_case_identical_to_the_generated_one(tmp_path):
    from fuzzer.case.files import load_inputs
    from fuzzer.generate import generate, make_inputs
    from fuzzer.ir import graph_to_json, load_graph

    with WorkerPool(1, case_timeout=120) as pool:
        while not pool.idle():
            pool.poll(0.05)
        c = _answer(pool, pool.submit(Rebuild(17, GEN, "special", str(tmp_path / "case"))))
    assert c.kind == "ok" and c.reply.out == str(tmp_path / "case")
    expected = generate(17, GeneratorOptions(max_nodes=2))
    graph = load_graph(tmp_path / "case" / "graph.json")
    assert graph_to_json(graph) == graph_to_json(expected)
    got, want = load_inputs(tmp_path / "case" / "inputs.npz", graph), make_inputs(expected, 17, "special")
    assert list(got) == list(want)
    assert all(got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k], equal_nan=True) for k in want)
