"""Versions of the stack under test: recorded with every result (findings are only as good as
the versions they name)."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "onnx", "onnxruntime", "onnxscript", "onnx-ir", "numpy")


@functools.lru_cache(maxsize=1)
def stack_versions() -> dict[str, str]:
    """The packages' versions, and ``onnxfuzz_source``: the fuzzer's own git commit (see
    :func:`source_revision`), since the same seed draws another graph once the generator changes."""
    out = {"python": platform.python_version(), "onnxfuzz": _version("onnxfuzz")}
    rev = source_revision()
    if rev:
        out["onnxfuzz_source"] = rev
    for p in PACKAGES:
        out[p] = _version(p)
    return out


@functools.lru_cache(maxsize=1)
def source_revision() -> str:
    """The git commit (12 hex digits) of the source tree this ``fuzzer`` package was imported
    from, with ``+modified`` when tracked files differ from it; "" outside a git checkout (an
    installed wheel) or without git."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return ""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "fuzzer"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return head.stdout.strip() + ("+modified" if dirty.returncode == 0 and dirty.stdout.strip() else "")


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
