"""Versions of the stack under test: recorded with every result (findings are only as good as
the versions they name)."""

from __future__ import annotations

import functools
import hashlib
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "onnx", "onnxruntime", "onnxscript", "onnx-ir", "numpy")


@functools.lru_cache(maxsize=1)
def stack_versions() -> dict[str, str]:
    """The packages' versions, and the fuzzer's own code: ``onnxfuzz_source`` (:func:`source_digest`)
    and, in a git checkout, ``onnxfuzz_commit`` (:func:`source_revision`), since the same seed
    draws another graph once the generator changes."""
    out = {"python": platform.python_version(), "onnxfuzz": _version("onnxfuzz")}
    rev = source_revision()
    if rev:
        out["onnxfuzz_commit"] = rev
    out["onnxfuzz_source"] = source_digest()
    for p in PACKAGES:
        out[p] = _version(p)
    return out


@functools.lru_cache(maxsize=1)
def source_revision() -> str:
    """The git commit (12 hex digits) checked out in the source tree this ``fuzzer`` package was
    imported from; "" outside a git checkout (an installed wheel). Read from the repository's
    files (a worktree's too), not by running git: only :mod:`fuzzer.workers` starts processes."""
    root = Path(__file__).resolve().parents[1]
    try:
        git = root / ".git"
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = (root / git.read_text(encoding="utf-8").split(":", 1)[1].strip()).resolve()
        common = git / "commondir"
        common = (git / common.read_text(encoding="utf-8").strip()).resolve() if common.is_file() else git
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head[:12]
        ref = head.split(":", 1)[1].strip()
        for d in (git, common):
            if (d / ref).is_file():
                return (d / ref).read_text(encoding="utf-8").strip()[:12]
        for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except (OSError, IndexError, ValueError):
        pass
    return ""


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """A digest (12 hex digits) of the ``fuzzer`` package's source and data files: the code that
    ran, committed or not (a seed's graph follows the generator's code)."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(p for p in pkg.rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts):
        h.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def changed_versions(old: dict, new: dict | None = None) -> list[str]:
    """``"name OLD -> NEW"`` for each recorded version that differs from ``new`` (default: this
    process's :func:`stack_versions`); a key missing on one side is left out."""
    new = stack_versions() if new is None else new
    return [f"{k} {old[k]} -> {new[k]}" for k in new if k in old and old[k] != new[k]]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
