"""Bounding torch's process-wide caches: real FX recompiles and real fake-tensor dispatches."""

import linecache

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx import graph_module, symbolic_trace

from fuzzer.export.process_caches import trim_process_caches


class _Sin(torch.nn.Module):
    def forward(self, x):
        return torch.sin(x) + 1


def test_old_fx_sources_are_evicted_from_the_loader_and_linecache_newest_kept():
    trim_process_caches(keep_sources=0, max_fake_entries=10**9)
    keys = []
    for _ in range(5):
        symbolic_trace(_Sin())  # each GraphModule compiles its generated source through the loader
        keys.append(list(graph_module._loader.eval_cache)[-1])
    assert all(k in linecache.cache for k in keys)
    dropped = trim_process_caches(keep_sources=2, max_fake_entries=10**9)
    assert dropped["fx_sources"] == 3 and list(graph_module._loader.eval_cache) == keys[3:]
    assert not any(k in linecache.cache for k in keys[:3]) and all(k in linecache.cache for k in keys[3:])
    gm = symbolic_trace(_Sin())  # tracing and running still work after an eviction
    assert torch.equal(gm(torch.zeros(2)), torch.ones(2))


def test_an_oversized_fake_tensor_cache_is_emptied_and_refills_with_the_same_results():
    with FakeTensorMode() as mode:
        x = mode.from_tensor(torch.zeros(2, 3))
        before = [torch.sin(x[:, :k]).shape for k in range(1, 4)]
    assert len(FakeTensorMode.cache) >= 1
    assert trim_process_caches(keep_sources=10**9, max_fake_entries=10**9)["fake_entries"] == 0  # under the limit: kept
    dropped = trim_process_caches(keep_sources=10**9, max_fake_entries=0)
    assert dropped["fake_entries"] >= 1 and len(FakeTensorMode.cache) == 0
    with FakeTensorMode() as mode:
        x = mode.from_tensor(torch.zeros(2, 3))
        assert [torch.sin(x[:, :k]).shape for k in range(1, 4)] == before


def test_a_finished_exports_shape_env_is_not_kept_alive_by_torchs_method_caches():
    """ShapeEnv's lru_caches are class-level and keyed by the instance: without the trim, every
    ShapeEnv that used them stays alive for the life of the worker."""
    import gc
    import weakref

    import sympy
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    env = ShapeEnv()
    x = sympy.Symbol("s0", positive=True, integer=True)
    assert env.simplify(x + x) == 2 * x  # fills ShapeEnv.simplify's cache with a key holding env
    ref = weakref.ref(env)
    del env
    gc.collect()
    assert ref() is not None  # the cache holds it
    dropped = trim_process_caches()
    gc.collect()
    assert dropped["shape_env_entries"] >= 1 and ref() is None
    assert ShapeEnv().simplify(x + x) == 2 * x  # the caches work again after the clear
