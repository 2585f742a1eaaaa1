"""The fork server: workers forked from it answer exactly as workers started from scratch, a dead
one is replaced by a fork, and when the fork server itself dies the pool starts workers from scratch."""

import os
import signal

import pytest

from fuzzer.workers import WorkerPool
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.workers.protocol import RunSeeds

pytestmark = pytest.mark.e2e
GEN = GeneratorOptions(max_nodes=5)


def _request(exporter: Exporter, seeds, **kw) -> RunSeeds:
    return RunSeeds(tuple(seeds), ExportOptions(exporter), GEN, "special", **kw)


def _answer(pool: WorkerPool, request):
    while not pool.idle():
        pool.poll(0.05)
    task = pool.submit(request)
    while True:
        for c in pool.poll(0.05):
            assert c.task is task
            return c


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _verdicts(pool: WorkerPool) -> list[tuple]:
    out = []
    for seed in range(8):  # TorchScript one by one (special inputs: crashes of the exporter included)
        c = _answer(pool, _request(Exporter.TORCHSCRIPT, [seed]))
        r = c.reply.cases[0].result if c.kind == "ok" else None
        out.append((c.kind, r and r.verdict.value, r and r.error_type, r.output_digests if r else ()))
    c = _answer(pool, _request(Exporter.DYNAMO, range(4)))  # one batched dynamo export
    out += [(c.kind, e.result.verdict.value, e.result.error_type, e.result.output_digests) for e in c.reply.cases]
    return out


def test_forked_workers_answer_exactly_as_workers_started_from_scratch():
    with WorkerPool(1, case_timeout=300, fork_server=False) as pool:
        assert pool.fork_server is None
        spawned = _verdicts(pool)
    with WorkerPool(1, case_timeout=300) as pool:
        assert pool.fork_server is not None and _parent(pool.workers[0].proc.pid) == pool.fork_server.proc.pid
        forked = _verdicts(pool)
    assert forked == spawned
    assert {v for _, v, _, _ in spawned} - {"pass"}  # the sample is not all passes


def test_a_dead_worker_is_replaced_by_a_fork_and_without_the_fork_server_from_scratch():
    with WorkerPool(1, case_timeout=120, env={"ONNXFUZZ_TEST_HOOKS": "1"}) as pool:
        first = pool.workers[0].proc.pid
        c = _answer(pool, _request(Exporter.TORCHSCRIPT, [3], inject="abort"))
        assert c.kind == "crash" and c.detail == "SIGABRT"  # the fork server reports the signal
        second = pool.workers[0].proc.pid
        assert second != first and _parent(second) == pool.fork_server.proc.pid and pool.restarts == 1
        assert _answer(pool, _request(Exporter.TORCHSCRIPT, [4])).kind == "ok"

        os.killpg(pool.fork_server.proc.pid, signal.SIGKILL)
        pool.fork_server.proc.wait()
        c = _answer(pool, _request(Exporter.TORCHSCRIPT, [5], inject="segv"))
        assert c.kind == "crash"  # its exit status died with the fork server; the death is still seen
        third = pool.workers[0].proc.pid
        assert _parent(third) == os.getpid() and not pool.fork_server.alive  # started from scratch
        assert _answer(pool, _request(Exporter.TORCHSCRIPT, [6])).kind == "ok"
