"""Seeded random graph generation.

The generator grows a graph forward: pick an operator, pick its primary input among the values
defined so far (preferring recent ones, so chains get deep) or a fresh graph input, let the
catalog entry choose the rest, then *probe-run* the candidate in eager PyTorch on concrete values.
The probe gives the exact output specs (PyTorch's own inference) and rejects anything eager
PyTorch rejects, so accepted graphs run in eager by construction. Every rejection is counted with
its reason in :class:`GenerationStats`.

Determinism: ``generate(seed, options)`` depends only on its arguments (no module-level
randomness; probe values come from the seed too).
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import torch

from fuzzer.catalog import CATALOG, BuildContext, NewInput, OpSpec, Reject
from fuzzer.catalog.params import make_param
from fuzzer.catalog.render import TemplateError, render
from fuzzer.ir import DTYPES, Graph, Input, Node, TensorSpec, Value, check_wellformed

from .inputs import input_rng, make_value

#: Default weight of each dtype when a fresh graph input is created. float32 is common in real
#: models; the rest are where converters break, so they get a real share.
DEFAULT_DTYPE_WEIGHTS: dict[str, float] = {
    "float32": 4.0,
    "float64": 1.5,
    "float16": 1.5,
    "int64": 1.5,
    "int32": 1.0,
    "int16": 0.5,
    "int8": 0.7,
    "uint8": 0.7,
    "bool": 1.0,
}


@dataclass(frozen=True)
class GeneratorOptions:
    """Knobs of the generator. Part of a case's identity: recorded with every result."""

    max_nodes: int = 10
    min_nodes: int = 1
    max_inputs: int = 8
    max_outputs: int = 6
    max_rank: int = 5
    max_dim: int = 5
    p_zero_dim: float = 0.03  # chance that a fresh input dimension is 0 (empty tensors)
    max_numel: int = 4096  # no value may hold more elements
    dtypes: tuple[str, ...] = DTYPES
    ops: tuple[str, ...] = ()  # restrict to these catalog ops (empty: all)

    def __post_init__(self) -> None:
        if not 1 <= self.min_nodes <= self.max_nodes:
            raise ValueError(f"need 1 <= min_nodes <= max_nodes, got {self.min_nodes}..{self.max_nodes}")
        unknown = [d for d in self.dtypes if d not in DTYPES]
        if unknown:
            raise ValueError(f"unknown dtypes {unknown} (known: {', '.join(DTYPES)})")
        bad = [o for o in self.ops if o not in CATALOG]
        if bad:
            raise ValueError(f"unknown operators {bad}")

    def to_dict(self) -> dict:
        return {
            "max_nodes": self.max_nodes, "min_nodes": self.min_nodes, "max_inputs": self.max_inputs,
            "max_outputs": self.max_outputs, "max_rank": self.max_rank, "max_dim": self.max_dim,
            "p_zero_dim": self.p_zero_dim, "max_numel": self.max_numel, "dtypes": tuple(self.dtypes),
            "ops": tuple(self.ops),
        }


@dataclass
class GenerationStats:
    """What happened while generating: attempts and every rejection by reason."""

    attempts: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)

    def merge(self, other: "GenerationStats") -> None:
        self.attempts += other.attempts
        self.accepted += other.accepted
        self.rejected.update(other.rejected)


class _Builder:
    def __init__(self, seed: int, options: GeneratorOptions, stats: GenerationStats):
        self.seed = seed
        self.opt = options
        self.rng = random.Random(f"onnxfuzz-graph/{seed}")
        self.stats = stats
        self.inputs: list[Input] = []
        self.nodes: list[Node] = []
        self.values: list[tuple[str, TensorSpec]] = []
        self.probe: dict[str, torch.Tensor] = {}
        self.params = SimpleNamespace()
        ops = [CATALOG[o] for o in options.ops] if options.ops else list(CATALOG.values())
        self.ops = ops
        self.op_weights = [o.weight for o in ops]
        self.dtype_weights = [DEFAULT_DTYPE_WEIGHTS.get(d, 1.0) for d in options.dtypes]

    # -- fresh inputs -----------------------------------------------------------------------------
    def random_shape(self, rank: int) -> tuple[int, ...]:
        dims = []
        for _ in range(rank):
            if self.rng.random() < self.opt.p_zero_dim:
                dims.append(0)
            else:
                dims.append(self.rng.choice([1, 1, 2, 2, 3, 3, 4, 5, self.opt.max_dim]))
        while int(np.prod(dims)) > self.opt.max_numel:
            dims[self.rng.randrange(len(dims))] = 1
        return tuple(dims)

    def random_input_spec(self, op: OpSpec) -> TensorSpec | None:
        dts = [(d, w) for d, w in zip(self.opt.dtypes, self.dtype_weights) if d in op.dtypes]
        if not dts:
            return None
        dtype = self.rng.choices([d for d, _ in dts], [w for _, w in dts])[0]
        lo, hi = op.ranks[0], min(op.ranks[1], self.opt.max_rank)
        if lo > hi:
            return None
        rank = self.rng.choice([r for r in range(lo, hi + 1)] + [r for r in range(max(lo, 1), min(hi, 4) + 1)] * 2)
        return TensorSpec(self.random_shape(rank), dtype)

    def probe_value(self, name: str, new: NewInput) -> torch.Tensor:
        arr = make_value(new.spec, new.domain, new.bound, input_rng(self.seed, "probe/" + name, "normal"))
        return torch.from_numpy(arr)

    # -- one node -----------------------------------------------------------------------------------
    def try_add(self) -> bool:
        self.stats.attempts += 1
        op = self.rng.choices(self.ops, self.op_weights)[0]
        pending: list[tuple[str, NewInput]] = []  # fresh inputs of this candidate, committed on accept

        def fresh(new: NewInput) -> str:
            name = f"x{len(self.inputs) + len(pending)}"
            pending.append((name, new))
            return name

        cands = [(n, s) for n, s in self.values if op.accepts(s)]
        if op.domain == "index" or not cands or self.rng.random() < 0.15:
            spec = self.random_input_spec(op)
            if spec is None:
                return self.reject("no dtype/rank of the op is enabled")
            primary = fresh(NewInput(spec, op.domain))
        else:
            # prefer values nothing reads yet (they would be dropped or become extra outputs),
            # then recent ones: deep, connected chains
            consumed = {n for nd in self.nodes for n in nd.inputs}
            unread = [c for c in cands if c[0] not in consumed]
            pool = unread if unread and self.rng.random() < 0.75 else cands
            k = len(pool)
            idx = min(k - 1, int(k * (1 - self.rng.random() ** 2)))
            primary, spec = pool[idx]
        ctx = BuildContext(self.rng, primary, spec, list(self.values) + [(n, x.spec) for n, x in pending])
        try:
            choice = op.build(ctx)
        except Reject as r:
            return self.reject(f"{op.name}: {r.reason}")
        if choice.primary is not None:
            if not pending or pending[0][0] != primary:
                primary = fresh(choice.primary)
            else:
                pending[0] = (primary, choice.primary)
        arg_names = [primary]
        for e in choice.extra:
            arg_names.append(fresh(e) if isinstance(e, NewInput) else e)
        # drop fresh inputs no argument refers to (a replaced primary)
        pending = [(n, x) for n, x in pending if n in arg_names]
        if len(self.inputs) + len(pending) > self.opt.max_inputs:
            return self.reject("too many inputs")
        return self.place(op, arg_names, pending, choice.attrs, choice.params)

    def place(self, op: OpSpec, arg_names: list[str], pending: list[tuple[str, NewInput]], attrs: dict, params_: list) -> bool:
        """Probe-run ``op`` on ``arg_names`` (fresh inputs in ``pending``); add the node if eager
        PyTorch accepts it, with output specs taken from the probe."""
        k = len(self.nodes)
        param_names = [f"p{k}_{j}" for j in range(len(params_))]
        try:
            expr = render(op.template, arg_names, [f"self.{p}" for p in param_names], attrs)
        except TemplateError as e:
            raise RuntimeError(f"catalog bug in {op.name!r}: {e}") from None
        env = dict(self.probe)
        for n, x in pending:
            env[n] = self.probe_value(n, x)
        params = SimpleNamespace(**vars(self.params))
        for pn, p in zip(param_names, params_):
            setattr(params, pn, make_param(p))
        env["self"] = params
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = eval(expr, {"torch": torch}, env)  # noqa: S307 - our own rendered template
        except Exception as e:  # eager PyTorch rejects this candidate: that is information, not a bug
            return self.reject(f"{op.name}: eager {type(e).__name__}")
        if isinstance(result, (tuple, list)) != op.returns_tuple:
            raise RuntimeError(f"catalog bug in {op.name!r}: returns_tuple={op.returns_tuple} but the call returned {type(result).__name__}")
        outs = list(result) if op.returns_tuple else [result]
        if not outs or not all(isinstance(t, torch.Tensor) for t in outs):
            return self.reject(f"{op.name}: non-tensor result")
        specs = []
        for t in outs:
            dt = str(t.dtype).removeprefix("torch.")
            if dt not in DTYPES:
                return self.reject(f"{op.name}: output dtype {dt}")
            if t.dim() > self.opt.max_rank or t.numel() > self.opt.max_numel:
                return self.reject(f"{op.name}: output too large")
            specs.append(TensorSpec(tuple(int(d) for d in t.shape), dt))
        # accept
        for n, x in pending:
            self.inputs.append(Input(n, x.spec, x.domain, x.bound))
            self.probe[n] = env[n]
            self.values.append((n, x.spec))
        for pn in param_names:
            setattr(self.params, pn, getattr(params, pn))
        values = []
        for t, s in zip(outs, specs):
            name = f"v{sum(len(nd.outputs) for nd in self.nodes) + len(values)}"
            values.append(Value(name, s))
            self.probe[name] = t
            self.values.append((name, s))
        self.nodes.append(Node(op.name, tuple(arg_names), tuple(values), dict(attrs), tuple(params_)))
        self.stats.accepted += 1
        return True

    def reject(self, reason: str) -> bool:
        self.stats.rejected[reason] += 1
        return False

    # -- whole graph -------------------------------------------------------------------------------
    def build(self) -> Graph:
        target = self.rng.randint(self.opt.min_nodes, self.opt.max_nodes)
        budget = 40 * target + 40
        target_raw = target  # nodes no output depends on get pruned: grow until the pruned graph is big enough
        attempts = 0
        while attempts < budget:
            if len(self.nodes) >= target_raw:
                pruned = len(self.finish())
                if pruned >= target:
                    break
                target_raw = len(self.nodes) + (target - pruned)
                continue
            self.try_add()
            attempts += 1
        if not self.nodes:
            raise GenerationError(f"seed {self.seed}: no operator could be placed in {budget} attempts")
        g = self.finish()
        while len(g) > self.opt.max_nodes and len(g.outputs) > 1:
            g = prune(Graph(g.inputs, g.nodes, g.outputs[1:], g.meta))
        return g

    def finish(self) -> Graph:
        consumed = {n for nd in self.nodes for n in nd.inputs}
        node_values = [v.name for nd in self.nodes for v in nd.outputs]
        sinks = [v for v in node_values if v not in consumed]
        # the newest sinks first: they sit at the end of the longest chains
        outputs = list(reversed(sinks))[: self.opt.max_outputs]
        extra_pool = [v for v in node_values if v not in outputs]
        if extra_pool and self.rng.random() < 0.15 and len(outputs) < self.opt.max_outputs:
            outputs.append(self.rng.choice(extra_pool))
        return prune(Graph(tuple(self.inputs), tuple(self.nodes), tuple(sorted(outputs, key=node_values.index)), {}))


class GenerationError(RuntimeError):
    """The generator could not build a graph under the given options."""


def prune(graph: Graph) -> Graph:
    """Drop nodes that no output depends on and inputs no remaining node reads."""
    needed = set(graph.outputs)
    keep = [False] * len(graph.nodes)
    for k in range(len(graph.nodes) - 1, -1, -1):
        nd = graph.nodes[k]
        if any(v.name in needed for v in nd.outputs):
            keep[k] = True
            needed.update(nd.inputs)
    nodes = tuple(nd for nd, kp in zip(graph.nodes, keep) if kp)
    used = {n for nd in nodes for n in nd.inputs}
    inputs = tuple(i for i in graph.inputs if i.name in used)
    return Graph(inputs, nodes, graph.outputs, graph.meta)


def generate(seed: int, options: GeneratorOptions | None = None, stats: GenerationStats | None = None) -> Graph:
    """A well-formed graph that runs in eager PyTorch, determined by ``seed`` and ``options``."""
    options = options or GeneratorOptions()
    st = stats if stats is not None else GenerationStats()
    g = _Builder(seed, options, st).build()
    g = Graph(g.inputs, g.nodes, g.outputs, {"seed": seed, "generator": options.to_dict()})
    check_wellformed(g)
    return g


def single_op_graph(
    op: str,
    inputs: list[TensorSpec | NewInput],
    attrs: dict | None = None,
    params: list | None = None,
    seed: int = 0,
) -> Graph:
    """A one-node graph applying catalog op ``op`` to fresh inputs with the given specs (or
    :class:`NewInput` requests, to set a domain). Output specs come from the same eager probe as
    generated graphs. Raises :class:`GenerationError` if eager PyTorch rejects the call."""
    b = _Builder(seed, GeneratorOptions(max_nodes=1, max_inputs=max(8, len(inputs))), GenerationStats())
    spec_op = CATALOG[op]
    pending = [(f"x{k}", x if isinstance(x, NewInput) else NewInput(x)) for k, x in enumerate(inputs)]
    if not b.place(spec_op, [n for n, _ in pending], pending, dict(attrs or {}), list(params or [])):
        raise GenerationError(f"{op}: eager PyTorch rejects it ({', '.join(b.stats.rejected)})")
    g = b.finish()
    return Graph(g.inputs, g.nodes, g.outputs, {"seed": seed, "built": "single_op_graph"})


# -- re-inference over a whole graph (used by the minimizer) ----------------------------------------
class EagerRejected(Exception):
    """Eager PyTorch rejects one node of a graph; ``reason`` says which and why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def evaluate(graph: Graph, inputs: "dict[str, np.ndarray] | None" = None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Every value of ``graph`` (inputs and node outputs) computed in eager PyTorch by the catalog
    templates, exactly as the generator's probe does. ``inputs`` default to probe values drawn
    from ``seed``. Raises :class:`EagerRejected` if a node fails or returns something that is
    not a tuple of tensors of the node's output count."""
    env: dict[str, torch.Tensor] = {}
    for i in graph.inputs:
        if inputs is not None:
            env[i.name] = torch.from_numpy(np.array(inputs[i.name], copy=True))
        else:
            arr = make_value(i.spec, i.domain, i.bound, input_rng(seed, "probe/" + i.name, "normal"))
            env[i.name] = torch.from_numpy(arr)
    params = SimpleNamespace()
    for k, node in enumerate(graph.nodes):
        op = CATALOG.get(node.op)
        if op is None:
            raise EagerRejected(f"node {k}: unknown operator {node.op!r}")
        names = [f"p{k}_{j}" for j in range(len(node.params))]
        for pn, p in zip(names, node.params):
            setattr(params, pn, make_param(p))
        try:
            expr = render(op.template, list(node.inputs), [f"self.{p}" for p in names], node.attrs)
        except TemplateError as e:
            raise EagerRejected(f"node {k} ({node.op}): {e}") from None
        scope = {n: env[n] for n in node.inputs}
        scope["self"] = params
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = eval(expr, {"torch": torch}, scope)  # noqa: S307 - our own rendered template
        except Exception as e:  # eager PyTorch rejects the node: information for the caller, not a bug
            raise EagerRejected(f"node {k} ({node.op}): eager {type(e).__name__}: {str(e)[:200]}") from None
        outs = list(result) if op.returns_tuple else [result]
        if len(outs) != len(node.outputs) or not all(isinstance(t, torch.Tensor) for t in outs):
            raise EagerRejected(f"node {k} ({node.op}): returns {len(outs)} values, the node has {len(node.outputs)}")
        for v, t in zip(node.outputs, outs):
            env[v.name] = t
    return env


def reinfer(graph: Graph, inputs: "dict[str, np.ndarray] | None" = None) -> Graph | None:
    """``graph`` with every node output spec re-inferred by running it in eager PyTorch (on
    ``inputs`` if given, else on probe values): the way to keep specs exact after a change of
    input shapes, dtypes or attributes. None if eager PyTorch rejects the graph, or an output has
    a dtype outside :data:`DTYPES`. Names, order and ``meta`` are kept."""
    try:
        env = evaluate(graph, inputs)
    except EagerRejected:
        return None
    nodes = []
    for node in graph.nodes:
        values = []
        for v in node.outputs:
            t = env[v.name]
            dt = str(t.dtype).removeprefix("torch.")
            if dt not in DTYPES:
                return None
            values.append(Value(v.name, TensorSpec(tuple(int(d) for d in t.shape), dt)))
        nodes.append(Node(node.op, node.inputs, tuple(values), node.attrs, node.params))
    return Graph(graph.inputs, tuple(nodes), graph.outputs, graph.meta)
