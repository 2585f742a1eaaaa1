"""Worker recycling: real worker processes are replaced between tasks (after N tasks, or above the
soft memory limit), every task still gets its one answer, and a recycle is not a restart."""

import pytest

from fuzzer.campaign import WorkerPool
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions

pytestmark = pytest.mark.e2e
GEN = {k: list(v) if isinstance(v, tuple) else v for k, v in GeneratorOptions(max_nodes=2).to_dict().items()}
BASE = {"kind": "seed", "export": ExportOptions(Exporter.TORCHSCRIPT).to_dict(), "input_mode": "normal", "generator": GEN, "store": False}


def _run(pool: WorkerPool, seed: int):
    """(pid that ran the task, its completion)."""
    while not pool.idle():
        pool.poll(0.05)
    pid = pool.workers[0].proc.pid
    task = pool.submit({**BASE, "seed": seed})
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
