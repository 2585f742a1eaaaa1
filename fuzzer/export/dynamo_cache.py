"""Reuse, across calls, what ``torch.onnx.export(..., dynamo=True)`` rebuilds on every call.

On the pinned stack (torch 2.13, onnxscript 0.7) each dynamo export spends most of its time on two
pieces of set-up that do not depend on the module being exported:

- ``ONNXRegistry.from_torchlib(opset)``: re-parses the source of every ONNX Script torchlib
  function (about 1,500 of them) to rebuild their signatures;
- ``_decomp.create_onnx_friendly_decomposition_table(ops)``: materializes torch.export's default
  decomposition table and filters it by the registry.

and ``ExportedProgram.run_decompositions`` spends about 0.3 s of every call on two more:

- ``torch._export.utils._collect_all_valid_cia_ops()``: lists the operators with a
  CompositeImplicitAutograd kernel that may be kept undecomposed, by materializing every such
  operator of the C++ dispatcher into ``torch.ops`` once per op namespace (about 27 times a call);
- ``_override_composite_implicit_decomp``: registers Python kernels on ~500 of those operators and
  takes them back, once a call (11,210 ``py_impl`` calls). Each ``OperatorBase.py_impl`` call re-evaluates the annotation
  ``collections.abc.Callable[_P, _T]`` of its inner function, which builds new typing objects
  (two thirds of the time of the override, sampled with py-spy).

:func:`install_dynamo_caches` wraps the first three so that each is computed once per process and
key, and every call gets a *fresh copy* of the container (a new registry object with new per-op
lists, a new dict for the table, a new set of operators), so an export that mutates them cannot
leak into the next one. The values inside (torchlib functions, their signatures, decomposition
callables, operator objects) are the same objects the uncached path would rebuild identically.
For the fourth, the name ``Callable`` in ``torch._ops`` is pointed at ``typing.Callable``, whose
subscriptions are memoized: the same annotation, built once; nothing reads these annotations and
``isinstance(x, typing.Callable)`` answers as ``collections.abc.Callable`` does.
``tests/e2e/test_export_batch.py`` checks that the exported ONNX model is byte-for-byte the one the
plain call produces, and ``scripts/bench.py --check-identical N`` does so for N generated graphs.

The exporter is still driven through its public entry point ``torch.onnx.export``; nothing about
which graph is exported or how it is translated changes. Installation is explicit (the campaign
worker calls it at start), process-wide, idempotent, and undone by :func:`uninstall_dynamo_caches`.
Cache keys: the registry by (class, opset version); the table by (the set of ops the registry
implements, the size of ``torch._decomp.decomposition_table``) so a decomposition registered
later invalidates it; the operator list by (the dispatcher's CompositeImplicitAutograd
registrations, the op namespaces), so an operator registered later invalidates it.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import typing
from typing import Any, Callable, Iterator

_lock = threading.Lock()
_saved: dict[str, Any] = {}  # what install replaced, for uninstall
_registries: dict[tuple, Any] = {}
_tables: dict[tuple, dict] = {}
_cia_ops: dict[tuple, frozenset] = {}
_hits: dict[str, int] = {"registry": 0, "registry_miss": 0, "table": 0, "table_miss": 0, "cia_ops": 0, "cia_ops_miss": 0}
# the modules that imported torch._export.utils._collect_all_valid_cia_ops by name
_CIA_OP_USERS = ("torch._export.utils", "torch.export.exported_program", "torch.export.decomp_utils")


def caches_installed() -> bool:
    return bool(_saved)


def cache_stats() -> dict[str, int]:
    """Hits and misses of each cache since the process started (for the benchmark)."""
    return dict(_hits)


def install_dynamo_caches() -> None:
    """Make every later dynamo export in this process reuse the registry and decomposition table."""
    import torch._ops as torch_ops
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
        users = [importlib.import_module(name) for name in _CIA_OP_USERS]
        _saved["cia_ops"] = [(m, m._collect_all_valid_cia_ops) for m in users]
        cached_cia = _cached_cia_ops(users[0]._collect_all_valid_cia_ops)
        for m in users:
            m._collect_all_valid_cia_ops = cached_cia
        _saved["callable"] = torch_ops.Callable
        torch_ops.Callable = typing.Callable


def uninstall_dynamo_caches() -> None:
    """Restore the exporter's own functions and drop everything cached."""
    import torch._ops as torch_ops
    from torch.onnx._internal.exporter import _decomp, _registration

    with _lock:
        if not _saved:
            return
        _registration.ONNXRegistry.from_torchlib = _saved.pop("from_torchlib")
        _decomp.create_onnx_friendly_decomposition_table = _saved.pop("table")
        for m, original in _saved.pop("cia_ops"):
            m._collect_all_valid_cia_ops = original
        torch_ops.Callable = _saved.pop("callable")
        _registries.clear()
        _tables.clear()
        _cia_ops.clear()


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


def _cached_cia_ops(build: Callable) -> Callable:
    def _collect_all_valid_cia_ops():
        import torch

        registrations = tuple(torch._C._dispatch_get_registrations_for_dispatch_key("CompositeImplicitAutograd"))
        key = (registrations, tuple(torch.ops._dir))
        ops = _cia_ops.get(key)
        if ops is None:
            _hits["cia_ops_miss"] += 1
            ops = frozenset(build())
            _cia_ops[key] = ops
        else:
            _hits["cia_ops"] += 1
        return set(ops)

    _collect_all_valid_cia_ops.__doc__ = "onnxfuzz: torch._export.utils._collect_all_valid_cia_ops, cached (see fuzzer.export.dynamo_cache)."
    return _collect_all_valid_cia_ops
