"""Helper processes other than pool workers (the campaign's minimizer): started in a process group
of their own, so a kill reaches everything they started, and ended with :func:`kill_group`."""

from __future__ import annotations

import subprocess
import sys
from typing import Sequence

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
