"""Bound the process-wide caches that torch grows with every dynamo export.

A long-lived worker exports thousands of graphs. Two of torch's own caches keep an entry per new
item forever and made a worker's memory grow by several MiB per minute (``scripts/memory_soak.py``):

- ``torch.fx.graph_module._loader``: the source of every recompiled ``GraphModule`` (torch.export
  and the ONNX exporter recompile dozens per call), each also registered in ``linecache``;
- ``FakeTensorMode.cache``: fake-tensor dispatch results keyed by operator and input metadata
  (random shapes make almost every key new);
- the ``lru_cache``s on ``ShapeEnv`` methods (``get_implications``, ``simplify``, ``size_hint``...):
  class-level and keyed by the instance, so they keep every export's ``ShapeEnv`` (and what it
  refers to) alive; ``_maybe_evaluate_static_worker``, unbounded and keyed by sympy expressions;
  ``PyCodeCache.stack_frames_for_code``, unbounded and keyed by generated-code path.

:func:`trim_process_caches` keeps the newest ``keep_sources`` sources and empties the fake-tensor
cache once it holds more than ``max_fake_entries``, clears the ``ShapeEnv`` method caches (their
entries only ever serve the export that made them, which has finished) and empties the two
unbounded module caches past ``MAX_MEMO_ENTRIES``. All are pure memoization: an evicted source
only means a traceback of already finished code shows no source line, a cleared dispatch cache
is recomputed on demand, so exported models do not change. Called after every dynamo export
(:mod:`fuzzer.export.exporters`, :mod:`fuzzer.export.batch`).
"""

from __future__ import annotations

import linecache

KEEP_SOURCES = 512
MAX_FAKE_ENTRIES = 8192
MAX_MEMO_ENTRIES = 4096


def trim_process_caches(keep_sources: int | None = None, max_fake_entries: int | None = None) -> dict[str, int]:
    """Evict old FX sources and reset an oversized fake-tensor cache (limits: the module's
    ``KEEP_SOURCES`` / ``MAX_FAKE_ENTRIES`` unless given); returns what was dropped."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx import graph_module

    keep_sources = KEEP_SOURCES if keep_sources is None else keep_sources
    max_fake_entries = MAX_FAKE_ENTRIES if max_fake_entries is None else max_fake_entries
    dropped = {"fx_sources": 0, "fake_entries": 0, "shape_env_entries": 0, "memo_entries": 0}
    sources = graph_module._loader.eval_cache  # insertion-ordered: oldest first
    excess = len(sources) - keep_sources
    if excess > 0:
        for key in list(sources)[:excess]:
            del sources[key]
            linecache.cache.pop(key, None)
        dropped["fx_sources"] = excess
    if len(FakeTensorMode.cache) > max_fake_entries:
        dropped["fake_entries"] = len(FakeTensorMode.cache)
        FakeTensorMode.cache_clear()
    dropped["shape_env_entries"] = _clear_shape_env_caches()
    dropped["memo_entries"] = _trim_memo_caches(MAX_MEMO_ENTRIES)
    return dropped


def _cached_functions(owner: object) -> list:
    """The ``functools.lru_cache`` wrappers among ``owner``'s attributes (torch's ``_lru_cache``
    wrappers expose ``cache_info``/``cache_clear`` too)."""
    found = []
    for value in vars(owner).values():
        fn = getattr(value, "__func__", value)  # classmethod / staticmethod
        if callable(getattr(fn, "cache_clear", None)) and callable(getattr(fn, "cache_info", None)):
            found.append(fn)
    return found


def _clear_shape_env_caches() -> int:
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    cleared = 0
    for fn in _cached_functions(ShapeEnv):
        size = fn.cache_info().currsize
        if size:
            fn.cache_clear()
            cleared += size
    return cleared


def _trim_memo_caches(limit: int) -> int:
    import sys

    from torch.fx.experimental import symbolic_shapes

    caches = [symbolic_shapes._maybe_evaluate_static_worker]
    codecache = sys.modules.get("torch._inductor.codecache")  # imported by some exports, never by us
    if codecache is not None:
        caches.append(codecache.PyCodeCache.stack_frames_for_code)
    cleared = 0
    for fn in caches:
        size = fn.cache_info().currsize
        if size > limit:
            fn.cache_clear()
            cleared += size
    return cleared
