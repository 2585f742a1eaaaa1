"""No process outlives the one that started it: every process the campaign starts (fork server,
workers started from scratch or forked, helper processes and their own pools) asks the kernel for
SIGKILL when its parent ends, so Ctrl-C or ``kill -9`` of the supervisor takes the whole tree down
within moments, whatever each process was doing (a worker stuck in a hanging case, a minimizer's
fork server). Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a no-op.

The "parent" of PR_SET_PDEATHSIG is the *thread* that started the child: start children from a
thread that outlives them (the pool's owner thread, the recorder's minimizer thread, which waits
for its helper).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

#: prctl, resolved once in the parent: a child between fork and exec calls it without imports
_PRCTL = None
if sys.platform.startswith("linux"):
    try:
        _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        _PRCTL = None


def die_with_parent(parent: int | None = None) -> None:
    """SIGKILL this process when its parent ends. ``parent``: the pid it must have; if the parent
    already ended (it died between the fork and this call), end now."""
    if _PRCTL is None:
        return
    _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def preexec_die_with_parent():
    """A ``preexec_fn`` for :class:`subprocess.Popen`: the child dies with the caller (the death
    signal survives exec). It runs between fork and exec and only calls the resolved prctl."""
    parent = os.getpid()
    return lambda: die_with_parent(parent)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` in the process tree (Linux ``/proc``; empty elsewhere).
    Orphans are re-parented away from the tree, so take this while ``pid`` still runs."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False
