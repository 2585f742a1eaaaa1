"""Mutations of IR graphs, each re-probed in eager PyTorch so the result is well-formed and runs.

Every mutation edits the graph structurally, then :func:`replay` rebuilds it node by node through
the generator's probe (``_Builder.place``): output specs are recomputed by PyTorch itself, values
are renamed ``x0..``/``v0..`` in order, and a node eager PyTorch now rejects makes the mutation fail
(``None``), never a broken graph. Mutations never exceed ``options.max_nodes``.

Operators (:data:`MUTATIONS`):

- ``insert``: a random op on a random value; if its output has the value's spec, the value's
  readers are rewired to it (the op lands *between* two nodes), else it is a new branch/output;
- ``delete``: a node whose output has its primary input's spec is bypassed; else dropped with
  everything that reads it;
- ``replace``: a node's op is swapped for another catalog op on the same primary input whose
  outputs have the same specs (readers unaffected);
- ``retype`` / ``reshape``: a graph input gets another dtype or one dim another size;
- ``splice``: another graph's nodes are appended, one of its inputs fed by a value of this graph
  with the same spec when there is one.
"""

from __future__ import annotations

import random
from typing import Callable

from fuzzer.catalog import CATALOG, BuildContext, NewInput, Reject
from fuzzer.ir import Graph, Input, Node, check_wellformed

from .generator import GenerationStats, GeneratorOptions, _Builder, prune


def replay(graph: Graph, seed: int, options: GeneratorOptions) -> Graph | None:
    """Rebuild ``graph`` through the eager probe (fresh names, PyTorch's own output specs); None
    when eager PyTorch rejects a node or the graph breaks a limit of ``options``."""
    b = _Builder(seed, options, GenerationStats())
    names: dict[str, str] = {}
    inputs = {i.name: i for i in graph.inputs}
    for nd in graph.nodes:
        pending: list[tuple[str, NewInput]] = []
        args: list[str] = []
        for a in nd.inputs:
            if a in names:
                args.append(names[a])
            elif a in inputs:
                new = f"x{len(b.inputs) + len(pending)}"
                i = inputs[a]
                pending.append((new, NewInput(i.spec, i.domain, i.bound)))
                names[a] = new
                args.append(new)
            else:
                return None
        if len(b.inputs) + len(pending) > options.max_inputs:
            return None
        try:
            ok = b.place(CATALOG[nd.op], args, pending, dict(nd.attrs), list(nd.params))
        except RuntimeError:  # a template error: attrs that do not fit the op (after a splice or edit)
            return None
        if not ok:
            return None
        for old, new in zip(nd.outputs, b.nodes[-1].outputs):
            names[old.name] = new.name
    outs = [names[o] for o in graph.outputs if o in names]
    if not outs or len(b.nodes) > options.max_nodes:
        return None
    g = prune(Graph(tuple(b.inputs), tuple(b.nodes), tuple(dict.fromkeys(outs)), {}))
    if not g.nodes:
        return None
    check_wellformed(g)
    return g


def _sinks(nodes: list[Node], outputs: list[str]) -> list[str]:
    consumed = {n for nd in nodes for n in nd.inputs}
    all_out = [v.name for nd in nodes for v in nd.outputs]
    return list(dict.fromkeys([o for o in outputs if o in all_out] + [v for v in all_out if v not in consumed]))


def _rename(nd: Node, old: str, new: str) -> Node:
    return Node(nd.op, tuple(new if a == old else a for a in nd.inputs), nd.outputs, nd.attrs, nd.params)


def m_insert(g: Graph, rng: random.Random, seed: int, opt: GeneratorOptions, donor: Graph | None = None) -> Graph | None:
    if len(g) >= opt.max_nodes:
        return None
    b = _builder_with(g, seed, opt)
    if b is None:
        return None
    b.rng = rng
    n0 = len(b.nodes)
    if not any(b.try_add() for _ in range(10)):
        return None
    new = b.nodes[-1]
    primary = new.inputs[0]
    nodes = list(b.nodes[:n0])
    specs = dict(b.values)
    if new.outputs[0].spec == specs.get(primary) and any(primary in nd.inputs for nd in nodes) and rng.random() < 0.7:
        out = new.outputs[0].name  # between: readers of `primary` now read the new node's output
        nodes = _topo_insert([_rename(nd, primary, out) for nd in nodes], new)
        outputs = [out if o == primary else o for o in g.outputs]
    else:
        nodes = nodes + [new]
        outputs = list(g.outputs) + [new.outputs[0].name]
    cand = Graph(tuple(b.inputs), tuple(nodes), tuple(dict.fromkeys(outputs)), {})
    try:
        check_wellformed(cand)
    except ValueError:
        return None
    return replay(cand, seed, opt)


def _topo_insert(nodes: list[Node], new: Node) -> list[Node]:
    """Place ``new`` right after the producers of its inputs (its readers come later, if the
    order allows; check_wellformed decides)."""
    produced_at = {v.name: k for k, nd in enumerate(nodes) for v in nd.outputs}
    pos = max([produced_at[n] + 1 for n in new.inputs if n in produced_at], default=0)
    return nodes[:pos] + [new] + nodes[pos:]


def _builder_with(g: Graph, seed: int, opt: GeneratorOptions) -> _Builder | None:
    """A builder whose state is ``g`` (which must come from :func:`replay`: inputs named x0..
    in order of first use), with probe tensors, so ``try_add`` can extend it."""
    b = _Builder(seed, opt, GenerationStats())
    by_name = {i.name: i for i in g.inputs}
    for nd in g.nodes:
        pending = {a: NewInput(by_name[a].spec, by_name[a].domain, by_name[a].bound) for a in nd.inputs if a in by_name and a not in b.probe}
        if not b.place(CATALOG[nd.op], list(nd.inputs), list(pending.items()), dict(nd.attrs), list(nd.params)):
            return None
    return b


def m_delete(g: Graph, rng: random.Random, seed: int, opt: GeneratorOptions, donor: Graph | None = None) -> Graph | None:
    if len(g) < 2:
        return None
    specs = g.specs()
    k = rng.randrange(len(g))
    nd = g.nodes[k]
    nodes = [n for j, n in enumerate(g.nodes) if j != k]
    out0 = nd.outputs[0].name
    if len(nd.outputs) == 1 and specs[nd.inputs[0]] == nd.outputs[0].spec:
        nodes = [_rename(n, out0, nd.inputs[0]) for n in nodes]
        outputs = [o for o in (nd.inputs[0] if o == out0 else o for o in g.outputs) if o not in {i.name for i in g.inputs}]
    else:
        dead = {v.name for v in nd.outputs}
        keep = []
        for n in nodes:
            if dead & set(n.inputs):
                dead |= {v.name for v in n.outputs}
            else:
                keep.append(n)
        nodes = keep
        outputs = [o for o in g.outputs if o not in dead]
    outputs = _sinks(nodes, outputs) if nodes else []
    if not outputs:
        return None
    used = {a for n in nodes for a in n.inputs}
    cand = Graph(tuple(i for i in g.inputs if i.name in used), tuple(nodes), tuple(dict.fromkeys(outputs)), {})
    return replay(cand, seed, opt)


def m_replace(g: Graph, rng: random.Random, seed: int, opt: GeneratorOptions, donor: Graph | None = None) -> Graph | None:
    k = rng.randrange(len(g))
    old = g.nodes[k]
    specs = g.specs()
    primary = old.inputs[0]
    spec = specs[primary]
    defined = {i.name for i in g.inputs} | {v.name for nd in g.nodes[:k] for v in nd.outputs}
    values = [(n, s) for n, s in specs.items() if n in defined]
    ops = sorted((o for o in CATALOG.values() if o.name != old.op and o.accepts(spec) and o.domain != "index" and (not opt.ops or o.name in opt.ops)), key=lambda o: o.name)
    rng.shuffle(ops)
    for op in ops[:12]:
        try:
            choice = op.build(BuildContext(rng, primary, spec, values))
        except Reject:
            continue
        if choice.primary is not None:
            continue
        fresh: list[Input] = []
        extra: list[str] = []
        for e in choice.extra:
            if isinstance(e, NewInput):
                fresh.append(Input(f"r{len(fresh)}", e.spec, e.domain, e.bound))
                extra.append(fresh[-1].name)
            else:
                extra.append(e)
        new = Node(op.name, (primary, *extra), old.outputs, dict(choice.attrs), tuple(choice.params))
        cand = Graph(tuple(g.inputs) + tuple(fresh), g.nodes[:k] + (new,) + g.nodes[k + 1:], g.outputs, {})
        r = replay(cand, seed, opt)
        if r is not None and len(r) == len(g) and [v.spec for v in r.nodes[k].outputs] == [v.spec for v in old.outputs]:
            return r
    return None


def m_retype(g: Graph, rng: random.Random, seed: int, opt: GeneratorOptions, donor: Graph | None = None) -> Graph | None:
    cands = [i for i in g.inputs if i.domain in ("any", "positive", "nonzero", "small", "unit", "probability", "ge1")]
    if not cands:
        return None
    i = rng.choice(cands)
    dtype = rng.choice([d for d in opt.dtypes if d != i.spec.dtype] or [i.spec.dtype])
    return _with_input(g, i, Input(i.name, i.spec.with_dtype(dtype), i.domain, i.bound), seed, opt)


def m_reshape(g: Graph, rng: random.Random, seed: int, opt: GeneratorOptions, donor: Graph | None = None) -> Graph | None:
    cands = [i for i in g.inputs if i.spec.rank > 0]
    if not cands:
        return None
    i = rng.choice(cands)
    d = rng.randrange(i.spec.rank)
    shape = list(i.spec.shape)
    shape[d] = rng.choice([v for v in (0, 1, 2, 3, 4, opt.max_dim) if v != shape[d]])
    return _with_input(g, i, Input(i.name, i.spec.with_shape(shape), i.domain, i.bound), seed, opt)


def _with_input(g: Graph, old: Input, new: Input, seed: int, opt: GeneratorOptions) -> Graph | None:
    if new.spec.numel > opt.max_numel:
        return None
    cand = Graph(tuple(new if i.name == old.name else i for i in g.inputs), g.nodes, g.outputs, {})
    return replay(cand, seed, opt)


def m_splice(g: Graph, rng: random.Random, seed: int, opt: GeneratorOptions, donor: Graph | None = None) -> Graph | None:
    if donor is None or len(g) + len(donor) > opt.max_nodes:
        return None
    ren = {n: f"s_{n}" for n, _ in donor.iter_values()}
    specs = g.specs()
    feed: dict[str, str] = {}
    for i in donor.inputs:
        same = [n for n, s in specs.items() if s == i.spec and n not in {x.name for x in g.inputs}]
        if same and rng.random() < 0.7 and i.domain == "any":
            feed[i.name] = rng.choice(same)
    name = lambda n: feed.get(n, ren[n])  # noqa: E731
    d_inputs = [Input(ren[i.name], i.spec, i.domain, i.bound) for i in donor.inputs if i.name not in feed]
    d_nodes = [Node(nd.op, tuple(name(a) for a in nd.inputs), tuple(type(v)(ren[v.name], v.spec) for v in nd.outputs), nd.attrs, nd.params) for nd in donor.nodes]
    cand = Graph(tuple(g.inputs) + tuple(d_inputs), tuple(g.nodes) + tuple(d_nodes), tuple(g.outputs) + tuple(ren[o] for o in donor.outputs), {})
    try:
        check_wellformed(cand)
    except ValueError:
        return None
    return replay(cand, seed, opt)


Mutation = Callable[[Graph, random.Random, int, GeneratorOptions, "Graph | None"], "Graph | None"]
MUTATIONS: dict[str, Mutation] = {
    "insert": m_insert, "delete": m_delete, "replace": m_replace,
    "retype": m_retype, "reshape": m_reshape, "splice": m_splice,
}
