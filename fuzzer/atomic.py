"""Atomic file and directory writes: a killed process never leaves a half-written artefact."""

from __future__ import annotations

import os
import shutil
import tempfile
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
