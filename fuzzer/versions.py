"""Versions of the stack under test: recorded with every result (findings are only as good as
the versions they name)."""

from __future__ import annotations

import functools
import platform
from importlib import metadata

PACKAGES = ("torch", "onnx", "onnxruntime", "onnxscript", "onnx-ir", "numpy")


@functools.lru_cache(maxsize=1)
def stack_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "onnxfuzz": _version("onnxfuzz")}
    for p in PACKAGES:
        out[p] = _version(p)
    return out


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
