"""Atomic file and directory writes: a killed process never leaves a half-written artefact; and
record steps that Ctrl-C or SIGTERM cannot cut in two (:func:`signals_deferred`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class StagedDir:
    """Build a directory under a hidden temp name, then publish it with one rename.

    Usage: ``with StagedDir(final) as tmp: write files into tmp``. On success the directory
    appears at ``final`` whole; on any exception the staging directory is removed. If ``final``
    already exists it is left untouched and :class:`FileExistsError` is raised.
    """

    def __init__(self, final: Path):
        self.final = Path(final)
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.", suffix=".partial", dir=self.final.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        try:
            os.rename(self.tmp, self.final)
        except OSError:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if self.final.exists():
                raise FileExistsError(f"{self.final} already exists") from None
            raise
        return False


@contextlib.contextmanager
def signals_deferred(signums=(signal.SIGINT, signal.SIGTERM)):
    """Hold ``signums`` back for the block, then act on the first that came as its handler would
    have (Ctrl-C raises KeyboardInterrupt once the block is done). Outside the main thread,
    which receives no signals, it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    old = {n: signal.signal(n, lambda signum, frame: came.append(signum)) for n in signums}
    try:
        yield
    finally:
        for n, handler in old.items():
            signal.signal(n, handler)
        if came:
            handler = old[came[0]]
            if callable(handler):
                handler(came[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), came[0])
