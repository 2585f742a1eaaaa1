"""Stage: process isolation. The only package that starts, forks, kills or reaps processes.

A :class:`WorkerPool` of long-lived worker processes (forked from a fork server that sets up once)
answers typed requests (:mod:`.protocol`) and turns every way a case can take its process down
(signal, hang, memory limit) into a :class:`Completion`. :class:`IsolatedRunner` runs single
graphs in a one-worker pool; :func:`start_helper` starts the other helper processes (the
campaign's minimizer) in a process group of their own, killed with :func:`kill_group`.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .isolated import IsolatedRunner, run_isolated
    from .pool import Completion, InternalError, WorkerPool
    from .forkserver import kill_group
    from .helpers import start_helper

#: name -> its module; imported on first use, so a process that needs only part of this package (a
#: cluster node's pool, which relays messages) does not import torch
_EXPORTS = {"IsolatedRunner": "isolated", "run_isolated": "isolated", "Completion": "pool", "InternalError": "pool",
            "WorkerPool": "pool", "kill_group": "forkserver", "start_helper": "helpers"}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


__all__ = ["IsolatedRunner", "run_isolated", "Completion", "InternalError", "WorkerPool", "kill_group", "start_helper"]
