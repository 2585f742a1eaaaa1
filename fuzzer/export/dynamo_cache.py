"""Reuse, across calls, what ``torch.onnx.export(..., dynamo=True)`` rebuilds on every call.

On the pinned stack (torch 2.13, onnxscript 0.7) each dynamo export spends most of its time on two
pieces of set-up that do not depend on the module being exported:

- ``ONNXRegistry.from_torchlib(opset)``: re-parses the source of every ONNX Script torchlib
  function (about 1,500 of them) to rebuild their signatures;
- ``_decomp.create_onnx_friendly_decomposition_table(ops)``: materializes torch.export's default
  decomposition table and filters it by the registry.

:func:`install_dynamo_caches` wraps both so that each is computed once per process and key, and
every call gets a *fresh copy* of the container (a new registry object with new per-op lists, a
new dict for the table), so an export that mutates them cannot leak into the next one. The
values inside (torchlib functions, their signatures, decomposition callables) are the same
objects the uncached path would rebuild identically; ``tests/unit/export/test_dynamo_cache.py``
checks that the exported ONNX model is byte-for-byte the one the plain call produces.

The exporter is still driven through its public entry point ``torch.onnx.export``; nothing about
which graph is exported or how it is translated changes. Installation is explicit (the campaign
worker calls it at start), process-wide, idempotent, and undone by :func:`uninstall_dynamo_caches`.
Cache keys: the registry by (class, opset version); the table by (the set of ops the registry
implements, the size of ``torch._decomp.decomposition_table``) so a decomposition registered
later invalidates it.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

_lock = threading.Lock()
_saved: dict[str, Any] = {}  # what install replaced, for uninstall
_registries: dict[tuple, Any] = {}
_tables: dict[tuple, dict] = {}
_hits: dict[str, int] = {"registry": 0, "registry_miss": 0, "table": 0, "table_miss": 0}


def caches_installed() -> bool:
    return bool(_saved)


def cache_stats() -> dict[str, int]:
    """Hits and misses of each cache since the process started (for the benchmark)."""
    return dict(_hits)


def install_dynamo_caches() -> None:
    """Make every later dynamo export in this process reuse the registry and decomposition table."""
    from torch.onnx._internal.exporter import _decomp, _registration

    with _lock:
        if _saved:
            return
        registry_cls = _registration.ONNXRegistry
        original_from_torchlib = registry_cls.__dict__["from_torchlib"]
        original_table = _decomp.create_onnx_friendly_decomposition_table
        _saved["from_torchlib"] = original_from_torchlib
        _saved["table"] = original_table
        registry_cls.from_torchlib = classmethod(_cached_from_torchlib(original_from_torchlib.__func__))
        _decomp.create_onnx_friendly_decomposition_table = _cached_table(original_table)


def uninstall_dynamo_caches() -> None:
    """Restore the exporter's own functions and drop everything cached."""
    from torch.onnx._internal.exporter import _decomp, _registration

    with _lock:
        if not _saved:
            return
        _registration.ONNXRegistry.from_torchlib = _saved.pop("from_torchlib")
        _decomp.create_onnx_friendly_decomposition_table = _saved.pop("table")
        _registries.clear()
        _tables.clear()


@contextlib.contextmanager
def dynamo_caches() -> Iterator[None]:
    """Caches installed inside the block only (unless they were installed before)."""
    was = caches_installed()
    install_dynamo_caches()
    try:
        yield
    finally:
        if not was:
            uninstall_dynamo_caches()


def _cached_from_torchlib(build: Callable) -> Callable:
    def from_torchlib(cls, opset_version=None):
        if opset_version is None:
            from torch.onnx._internal.exporter import _constants

            opset_version = _constants.TORCHLIB_OPSET
        key = (cls, opset_version)
        built = _registries.get(key)
        if built is None:
            _hits["registry_miss"] += 1
            built = build(cls, opset_version)
            _registries[key] = built
        else:
            _hits["registry"] += 1
        fresh = cls()
        fresh._opset_version = built._opset_version
        fresh.functions = {k: list(v) for k, v in built.functions.items()}
        return fresh

    from_torchlib.__doc__ = "onnxfuzz: ONNXRegistry.from_torchlib, computed once per opset (see fuzzer.export.dynamo_cache)."
    return from_torchlib


def _cached_table(build: Callable) -> Callable:
    def create_onnx_friendly_decomposition_table(onnx_registered_ops):
        import torch._decomp

        ops = frozenset(onnx_registered_ops)
        key = (ops, len(torch._decomp.decomposition_table))
        table = _tables.get(key)
        if table is None:
            _hits["table_miss"] += 1
            table = build(set(ops))
            _tables[key] = table
        else:
            _hits["table"] += 1
        return dict(table)

    create_onnx_friendly_decomposition_table.__doc__ = "onnxfuzz: the ONNX-friendly decomposition table, cached (see fuzzer.export.dynamo_cache)."
    return create_onnx_friendly_decomposition_table
