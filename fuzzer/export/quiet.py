"""Silence the exporters' console noise (Python warnings, logging, and C++ writes to fd 1/2).

Warnings raised inside the block are kept (category and first line) so a case record can show them.

Cost matters here (it wraps every export): ``Logger.setLevel`` clears the cache of every logger in
the process (torch has hundreds), so levels are only changed when they are not already silenced;
a long-lived process calls :func:`silence_loggers` once and the block then touches no logger. The
``/dev/null`` descriptor is opened once per process and kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from typing import Iterator

_NOISY_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "torch._export", "onnxscript", "torch.fx", "torch._subclasses")
_devnull: int | None = None


def silence_loggers() -> None:
    """Set the exporters' loggers to CRITICAL for the rest of the process (workers call this once)."""
    for name in _NOISY_LOGGERS:
        lg = logging.getLogger(name)
        if lg.level != logging.CRITICAL:
            lg.setLevel(logging.CRITICAL)


def _devnull_fd() -> int:
    global _devnull
    if _devnull is None:
        _devnull = os.open(os.devnull, os.O_WRONLY)
    return _devnull


@contextlib.contextmanager
def quiet(captured: list[str] | None = None) -> Iterator[None]:
    saved_levels = []
    for name in _NOISY_LOGGERS:
        lg = logging.getLogger(name)
        if lg.level != logging.CRITICAL:
            saved_levels.append((lg, lg.level))
            lg.setLevel(logging.CRITICAL)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = []
    devnull = _devnull_fd()
    try:
        for fd in (1, 2):
            try:
                saved_fds.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:  # no such fd (embedded interpreters): nothing to silence
                pass
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(_NULL), contextlib.redirect_stderr(_NULL):
            warnings.simplefilter("always")
            try:
                yield
            finally:
                if captured is not None:
                    for w in caught:
                        line = f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
                        if line not in captured:
                            captured.append(line[:300])
    finally:
        for fd, saved in saved_fds:
            os.dup2(saved, fd)
            os.close(saved)
        for lg, lvl in saved_levels:
            lg.setLevel(lvl)


class _Null:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


_NULL = _Null()
