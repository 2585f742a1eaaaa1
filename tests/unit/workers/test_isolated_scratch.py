"""A scratch directory left by a runner killed with SIGKILL is removed by the next runner."""

import os
import subprocess
import sys

from fuzzer.workers.isolated import PREFIX, reap_stale


def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(p.stdout)  # reaped by run(): no process has this pid now (barring reuse within ms)


def test_reap_stale_removes_only_dead_owners(tmp_path):
    dead = tmp_path / f"{PREFIX}{_dead_pid()}-abc"
    (dead / "logs").mkdir(parents=True)
    (dead / "inputs.npz").write_bytes(b"x")
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    live.mkdir()
    other = tmp_path / "onnxfuzz-minimize-123-x"
    other.mkdir()
    odd = tmp_path / f"{PREFIX}notapid-x"
    odd.mkdir()

    assert reap_stale(tmp_path) == [dead]
    assert not dead.exists()
    assert live.exists() and other.exists() and odd.exists()


def test_reap_stale_on_missing_directory(tmp_path):
    assert reap_stale(tmp_path / "absent") == []
