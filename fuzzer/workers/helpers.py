"""Helper processes other than pool workers (the campaign's minimizer): started in a process group
of their own, so a kill reaches everything they started, and ended with :func:`kill_group`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any, Callable, Sequence

from .forkserver import kill_group


def start_helper(module: str, args: Sequence[str]) -> subprocess.Popen:
    """``python -m module args...`` with its stdout and stderr piped back, in a new session (Ctrl-C
    in the terminal reaches the caller only; :func:`kill_group` ends the helper and its children)."""
    return subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def finish_helper(proc: subprocess.Popen, timeout: float) -> tuple[bytes, bytes, int | None]:
    """Wait for a helper's output for up to ``timeout`` seconds; past that kill its group. Returns
    (stdout, stderr, return code or None after a timeout)."""
    try:
        out, err = proc.communicate(timeout=timeout)
        return out, err, proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return out, err, None


def call_forked(fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """``fn(*args)`` in a forked child: (its JSON-able result, None), or (None, signal name) when a
    signal ended the child. A child whose ``fn`` raised is our bug: RuntimeError.

    Fork safety: call only from a process whose torch never started an OpenMP thread pool
    (``OMP_NUM_THREADS=1`` before importing torch); otherwise the child can hang in its first
    parallel op."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            os.write(w, json.dumps(fn(*args)).encode())
        except BaseException:  # noqa: BLE001 - reported to the parent as a failure
            code = 1
        finally:
            os.close(w)
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return None, signal.Signals(os.WTERMSIG(status)).name
    if os.WEXITSTATUS(status) != 0 or not chunks:
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in a forked child (our bug: rerun without isolation)")
    return json.loads(b"".join(chunks)), None
