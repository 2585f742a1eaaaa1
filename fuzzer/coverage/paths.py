"""ONNX models as dataflow graphs, and "does this model contain that op sequence as a path".

Used both to verify sequence templates and to measure coverage, so "exercised" means the same
thing everywhere.

What "contains ``[O1, ..., On]`` as a path" tolerates (decided here, once):

- consecutive ops ``Oi -> Oi+1`` may be joined by up to :data:`MAX_GLUE` *glue* nodes
  (:data:`GLUE_OPS`: ``Cast`` and ``Identity``), because exporters insert casts for type
  promotion and identities around outputs where the PyTorch program has none. A glue node is
  only skipped, never required: a ``Cast`` in the wanted sequence must be a real ``Cast`` node.
- ``Constant`` nodes are sources only, so they never sit between two ops; they are ignored.
- an ``If`` node counts as consuming every outer value its branches read (so the data that
  flows *into* a branch is an edge into the ``If``); nodes inside branches are not matched.

Bigrams and trigrams (:func:`ngrams`) are strict: direct edges only, ``Constant`` excluded.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import networkx as nx
import onnx

GLUE_OPS: frozenset[str] = frozenset({"Cast", "Identity"})
MAX_GLUE = 2


def _subgraph_reads(node: onnx.NodeProto) -> set[str]:
    """Names an If/Loop/Scan branch reads from the enclosing scope (recursively)."""
    reads: set[str] = set()
    for attr in node.attribute:
        graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for g in graphs:
            local = {i.name for i in g.input} | {t.name for t in g.initializer}
            for n in g.node:
                local.update(n.output)
            for n in g.node:
                reads.update(x for x in n.input if x and x not in local)
                reads.update(x for x in _subgraph_reads(n) if x not in local)
            reads.update(o.name for o in g.output if o.name not in local)
    return reads


def onnx_digraph(model: onnx.ModelProto) -> nx.DiGraph:
    """One vertex per top-level node (key: its index, attribute ``op``), an edge per tensor
    flowing from producer to consumer. Graph inputs and initializers are not vertices."""
    g = nx.DiGraph()
    producer: dict[str, int] = {}
    for k, n in enumerate(model.graph.node):
        g.add_node(k, op=n.op_type)
        for o in n.output:
            if o:
                producer[o] = k
    for k, n in enumerate(model.graph.node):
        for name in set(x for x in n.input if x) | _subgraph_reads(n):
            src = producer.get(name)
            if src is not None and src != k:
                g.add_edge(src, k)
    return g


def _next_hops(g: nx.DiGraph, u: int) -> Iterable[int]:
    """Successors of ``u``, looking through up to MAX_GLUE glue nodes (glue nodes included)."""
    seen = {u}
    frontier = [u]
    for depth in range(MAX_GLUE + 1):
        nxt = []
        for x in frontier:
            for v in g.successors(x):
                if v in seen:
                    continue
                seen.add(v)
                yield v
                if depth < MAX_GLUE and g.nodes[v]["op"] in GLUE_OPS:
                    nxt.append(v)
        frontier = nxt


def contains_path(g: nx.DiGraph, sequence: Sequence[str]) -> bool:
    """True if ``sequence`` of op types occurs along a path of ``g`` (glue tolerated, see module doc)."""
    if not sequence:
        return True
    starts = [v for v, op in g.nodes(data="op") if op == sequence[0]]

    def extend(u: int, i: int) -> bool:
        if i == len(sequence):
            return True
        return any(g.nodes[v]["op"] == sequence[i] and extend(v, i + 1) for v in _next_hops(g, u))

    return any(extend(s, 1) for s in starts)


def op_types(g: nx.DiGraph) -> set[str]:
    return {op for _, op in g.nodes(data="op")}


def sequences_in(g: nx.DiGraph, sequences: Iterable[Sequence[str]]) -> list[int]:
    """Indices of the ``sequences`` that :func:`contains_path` finds in ``g``."""
    have = op_types(g)
    return [k for k, s in enumerate(sequences) if set(s) <= have and contains_path(g, s)]


def ngrams(g: nx.DiGraph, n: int) -> set[tuple[str, ...]]:
    """Op-type n-grams (n = 2 or 3) along direct edges, ``Constant`` nodes excluded."""
    ops = g.nodes
    keep = [v for v in g.nodes if ops[v]["op"] != "Constant"]
    out: set[tuple[str, ...]] = set()
    for u in keep:
        for v in g.successors(u):
            if n == 2:
                out.add((ops[u]["op"], ops[v]["op"]))
            else:
                for w in g.successors(v):
                    out.add((ops[u]["op"], ops[v]["op"], ops[w]["op"]))
    return out
