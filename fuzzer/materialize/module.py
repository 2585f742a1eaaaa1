"""Compile the generated source into a live ``torch.nn.Module``."""

from __future__ import annotations

import collections
import hashlib
import linecache

import torch

from fuzzer.ir import Graph

from .source import graph_to_source

_REGISTERED: "collections.deque[str]" = collections.deque()
_KEEP = 64  # generated sources kept in linecache (for tracebacks); older ones are dropped


def build_module(graph: Graph) -> torch.nn.Module:
    """Instantiate the module defined by :func:`graph_to_source`, in eval mode.

    The source is registered with ``linecache`` under a content-hash file name, so tracebacks
    and ``inspect`` show the generated lines (the last 64 sources only: memory stays bounded).
    """
    src = graph_to_source(graph)
    filename = f"<onnxfuzz-graph-{hashlib.sha1(src.encode()).hexdigest()[:12]}>"
    if filename not in linecache.cache:
        _REGISTERED.append(filename)
        while len(_REGISTERED) > _KEEP:  # a long-lived worker must not grow with every graph
            linecache.cache.pop(_REGISTERED.popleft(), None)
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns: dict = {"__name__": "onnxfuzz_generated"}
    exec(compile(src, filename, "exec"), ns)
    return ns["Model"]().eval()
