"""Seeded random graph generation.

The generator grows a graph forward: pick an operator, pick its primary input among the values
defined so far (preferring recent ones, so chains get deep) or a fresh graph input, let the
catalog entry choose the rest, then *probe-run* the candidate in eager PyTorch on concrete values.
The probe gives the exact output specs (PyTorch's own inference) and rejects anything eager
PyTorch rejects, so accepted graphs run in eager by construction. Every rejection is counted with
its reason in :class:`GenerationStats`.

Biased generation (``GeneratorOptions.bias``): at each growth step, with probability ``bias`` the
generator plants a sequence template (:mod:`fuzzer.generate.templates`: a chain of catalog ops
that exports to one of the paper's mismatch sequences) instead of one random op. The chain starts
on an existing value or a fresh input of a random dtype and shape, its attributes are sampled by
the catalog as usual (within the template's constraints), and the graph keeps growing around it,
so planted sequences get random context before and after. ``bias=0`` draws nothing extra: it is
exactly the uniform generator.

Rewrite templates (``GeneratorOptions.rewrite_share``, :mod:`fuzzer.generate.rewrite_templates`):
at each growth step, first, with probability ``rewrite_share`` the generator plants a chain verified
to trigger a graph rewrite (an ONNX Runtime fusion or elimination, an ONNX Script optimizer rule),
the same way. ``rewrite_share=0`` draws nothing extra either.

Determinism: ``generate(seed, options)`` depends only on its arguments (no module-level
randomness; probe values come from the seed too).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import torch

from fuzzer.catalog import CATALOG, BuildContext, NewInput, OpSpec, Reject
from fuzzer.catalog.apply import make_module, module_attr, node_code, run_node
from fuzzer.catalog.params import make_param
from fuzzer.catalog.render import TemplateError
from fuzzer.ir import DTYPES, Graph, Input, Node, TensorSpec, Value, check_wellformed

from .avoid import Avoidance
from .inputs import input_rng, make_value
from .templates import PROMOTES_TO, Chain, Step, Template, load_templates

#: Default template-planting probability per growth step (see scripts/measure_bias.py).
DEFAULT_BIAS = 0.3
#: Default rewrite-template planting probability per growth step (see scripts/measure_rewrites.py).
DEFAULT_REWRITE_SHARE = 0.3

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
    bias: float = DEFAULT_BIAS  # chance per growth step of planting a paper-sequence template
    rewrite_share: float = DEFAULT_REWRITE_SHARE  # chance per growth step of planting a rewrite template

    def __post_init__(self) -> None:
        if not 0.0 <= self.bias <= 1.0:
            raise ValueError(f"bias must be within 0..1, got {self.bias}")
        if not 0.0 <= self.rewrite_share <= 1.0:
            raise ValueError(f"rewrite_share must be within 0..1, got {self.rewrite_share}")
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
            "ops": tuple(self.ops), "bias": self.bias, "rewrite_share": self.rewrite_share,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorOptions":
        """Inverse of :meth:`to_dict` (lists from JSON become tuples); unknown keys and bad values
        raise TypeError/ValueError. Options recorded before rewrite templates existed have no
        ``rewrite_share``: 0, so their seeds rebuild the same graphs."""
        d = {"rewrite_share": 0.0, **d}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass
class GenerationStats:
    """What happened while generating: attempts and every rejection by reason."""

    attempts: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    planted: Counter = field(default_factory=Counter)  # template id -> times planted
    explored: int = 0  # known-trigger candidates kept anyway (the avoidance's exploration share)

    def rejected_known(self) -> int:
        """Candidates rejected as known triggers (fuzzer.generate.avoid)."""
        return sum(n for reason, n in self.rejected.items() if reason.startswith("known trigger:"))

    def merge(self, other: "GenerationStats") -> None:
        self.attempts += other.attempts
        self.accepted += other.accepted
        self.rejected.update(other.rejected)
        self.planted.update(other.planted)
        self.explored += other.explored


class _Builder:
    def __init__(self, seed: int, options: GeneratorOptions, stats: GenerationStats, avoid: Avoidance | None = None):
        self.seed = seed
        self.avoid = avoid if avoid is not None and avoid.triggers else None
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
        self.templates = _plantable(options) if options.bias > 0 else ()
        self.rewrite_chains = _plantable_rewrites(options) if options.rewrite_share > 0 else ()

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

    def random_input_spec(self, op: OpSpec, ranks: tuple[int, int] | None = None) -> TensorSpec | None:
        dts = [(d, w) for d, w in zip(self.opt.dtypes, self.dtype_weights) if d in op.dtypes]
        if not dts:
            return None
        dtype = self.rng.choices([d for d, _ in dts], [w for _, w in dts])[0]
        lo, hi = ranks or op.ranks
        hi = min(hi, self.opt.max_rank)
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
        if self.avoid is not None:
            specs = dict(self.values)
            specs.update((n, x.spec) for n, x in pending)
            if self.avoid.avoided(op.name, [specs[a].dtype for a in arg_names], attrs):
                if not self.avoid.keep_anyway(self.rng):
                    return self.reject(f"known trigger: {op.name}")
                self.stats.explored += 1
        k = len(self.nodes)
        param_names = [f"p{k}_{j}" for j in range(len(params_))]
        if op.module and "seed" not in attrs:
            attrs = dict(attrs, seed=self.rng.randrange(2**31))
        try:
            node_code(op, k, arg_names, [f"self.{p}" for p in param_names], attrs)
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
            if op.module:
                setattr(params, module_attr(k), make_module(op, attrs))
            result = run_node(op, k, arg_names, [f"self.{p}" for p in param_names], attrs, env)
        except Exception as e:  # eager PyTorch rejects this candidate: that is information, not a bug
            return self.reject(f"{op.name}: eager {type(e).__name__}")
        if isinstance(result, (tuple, list)) != op.returns_tuple:
            if op.family == "opdb":  # a derived entry's output structure may depend on the dtype
                return self.reject(f"{op.name}: output structure differs from its table's")
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
        for pn in param_names + ([module_attr(k)] if op.module else []):
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

    # -- templates -----------------------------------------------------------------------------
    def try_plant(self, rewrite: bool = False) -> bool:
        """Plant a paper-sequence template, or (``rewrite``) a rewrite template: a targeted rewrite
        drawn uniformly, then one of its verified chains."""
        self.stats.attempts += 1
        if rewrite:
            rewrite_id, chains = self.rng.choice(self.rewrite_chains)
            template = SimpleNamespace(id=rewrite_id)
            chain = self.rng.choice(chains)
        else:
            template, chain = self.rng.choice(self.templates)
        if len(self.nodes) + len(chain.steps) > self.opt.max_nodes:
            return self.reject("template: longer than the room left under max_nodes")
        mark = (len(self.inputs), len(self.nodes), len(self.values), set(self.probe), set(vars(self.params)))
        if not self.plant(chain):
            return False
        if len(self.nodes) > self.opt.max_nodes:  # adapter casts made it too long
            self._rollback(mark)
            return self.reject("template: longer than the room left under max_nodes")
        self.stats.planted[template.id] += 1
        return True

    def plant(self, chain: Chain) -> bool:
        """Add the chain's steps, each reading the previous step's first output; all or nothing.
        A value whose dtype the next op does not take gets an adapter ``.to()`` (a Cast, which
        the path matcher tolerates). Rejections are counted under ``template: ...``."""
        mark = (len(self.inputs), len(self.nodes), len(self.values), set(self.probe), set(vars(self.params)))
        ops = [CATALOG[s.op] for s in chain.steps]
        ranks = (max(o.ranks[0] for o in ops), min(o.ranks[1] for o in ops))
        prev: tuple[str, TensorSpec] | None = None
        for step, op in zip(chain.steps, ops):
            if prev is not None and not op.accepts(prev[1]):
                prev = self._adapt(prev, op)
            reason = self._add_step(op, step, prev, ranks if ranks[0] <= ranks[1] else None)
            if reason is not None:
                self._rollback(mark)
                return self.reject(f"template: {reason}")
            prev = (self.nodes[-1].outputs[0].name, self.nodes[-1].outputs[0].spec)
        return True

    def _adapt(self, prev: tuple[str, TensorSpec], op: OpSpec) -> tuple[str, TensorSpec]:
        name, spec = prev
        dts = [d for d in self.opt.dtypes if d in op.dtypes]
        if not dts or not op.ranks[0] <= spec.rank <= op.ranks[1]:
            return prev  # the next step rejects it with its reason
        dtype = self.rng.choices(dts, [DEFAULT_DTYPE_WEIGHTS.get(d, 1.0) for d in dts])[0]
        if self.place(CATALOG["to"], [name], [], {"dtype": dtype}, []):
            out = self.nodes[-1].outputs[0]
            return (out.name, out.spec)
        return prev

    def _add_step(self, op: OpSpec, step: Step, prev: tuple[str, TensorSpec] | None, ranks: tuple[int, int] | None) -> str | None:
        """Place one step; None on success, else the reason."""
        pending: list[tuple[str, NewInput]] = []

        def fresh(new: NewInput) -> str:
            name = f"x{len(self.inputs) + len(pending)}"
            pending.append((name, new))
            return name

        if prev is None:
            fits = [(n, s) for n, s in self.values if op.accepts(s) and (ranks is None or ranks[0] <= s.rank <= ranks[1])]
            if fits and op.domain != "index" and self.rng.random() < 0.6:
                primary, spec = self.rng.choice(fits)
            else:
                got = self.random_input_spec(op, ranks)
                if got is None:
                    return f"{op.name}: no dtype/rank of the op is enabled"
                spec = got
                primary = fresh(NewInput(spec, op.domain))
        else:
            primary, spec = prev
            if not op.accepts(spec):
                return f"{op.name}: does not take {spec.dtype} rank {spec.rank}"
        choice = None
        for _ in range(8):
            ctx = BuildContext(self.rng, primary, spec, list(self.values) + [(n, x.spec) for n, x in pending])
            try:
                c = op.build(ctx)
            except Reject:
                continue
            if step.allows(c.attrs):
                choice = c
                break
        if choice is None:
            return f"{op.name}: no attributes within the template's constraints"
        if choice.primary is not None and prev is not None:
            return f"{op.name}: replaces its primary input (breaks the chain)"
        if choice.primary is not None:
            pending[0] = (primary, choice.primary)
        extra = list(choice.extra)
        if step.promote:
            wider = [d for d in PROMOTES_TO.get(spec.dtype, ()) if d in self.opt.dtypes]
            if not extra or not wider:
                return f"{op.name}: no wider dtype to promote {spec.dtype} to"
            domain = extra[0].domain if isinstance(extra[0], NewInput) else ("nonzero" if op.name in _DIVIDING else "any")
            extra[0] = NewInput(TensorSpec(spec.shape, self.rng.choice(wider)), domain)
        arg_names = [primary] + [fresh(e) if isinstance(e, NewInput) else e for e in extra]
        pending = [(n, x) for n, x in pending if n in arg_names]
        if len(self.inputs) + len(pending) > self.opt.max_inputs:
            return "too many inputs"
        if not self.place(op, arg_names, pending, choice.attrs, choice.params):
            return f"{op.name}: eager rejects it"
        return None

    def _rollback(self, mark: tuple) -> None:
        n_inputs, n_nodes, n_values, probe_keys, param_keys = mark
        for nd in self.nodes[n_nodes:]:
            self.stats.accepted -= 1
        del self.inputs[n_inputs:], self.nodes[n_nodes:], self.values[n_values:]
        for k in set(self.probe) - probe_keys:
            del self.probe[k]
        for k in set(vars(self.params)) - param_keys:
            delattr(self.params, k)

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
            if self.rewrite_chains and self.rng.random() < self.opt.rewrite_share:
                self.try_plant(rewrite=True)
            elif self.templates and self.rng.random() < self.opt.bias:
                self.try_plant()
            else:
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


#: Ops whose second operand is a divisor (an integer zero would crash the process, not raise).
_DIVIDING = frozenset({"div", "remainder", "fmod", "floor_divide"})


def _plantable(options: GeneratorOptions) -> tuple[tuple[Template, Chain], ...]:
    """(template, chain) pairs the generator may plant under ``options``: chains verified for
    some exporter (all chains if the table carries no verification), using only allowed ops."""
    allowed = set(options.ops) | {"to"} if options.ops else None
    out = []
    for t in load_templates():
        chains = t.usable_chains() or ([] if any(c.verified for c in t.chains) else list(t.chains))
        for c in chains:
            if allowed is None or set(c.ops()) <= allowed:
                out.append((t, c))
    return tuple(out)


def _plantable_rewrites(options: GeneratorOptions) -> tuple[tuple[str, tuple[Chain, ...]], ...]:
    """(rewrite name, its chains) the generator may plant under ``options``: chains verified to
    fire the rewrite with some exporter, using only allowed ops (adapter casts aside)."""
    from .rewrite_templates import load_rewrite_templates

    allowed = set(options.ops) if options.ops else None
    out = []
    for t in load_rewrite_templates():
        chains = tuple(c for c in t.usable_chains() if allowed is None or set(c.ops()) <= allowed)
        if chains:
            out.append((t.rewrite, chains))
    return tuple(out)


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


def generate(seed: int, options: GeneratorOptions | None = None, stats: GenerationStats | None = None, avoid: Avoidance | None = None) -> Graph:
    """A well-formed graph that runs in eager PyTorch, determined by ``seed``, ``options`` and the
    known triggers ``avoid`` (:mod:`fuzzer.generate.avoid`; its digest goes into ``meta``)."""
    options = options or GeneratorOptions()
    st = stats if stats is not None else GenerationStats()
    g = _Builder(seed, options, st, avoid).build()
    meta = {"seed": seed, "generator": options.to_dict()}
    if avoid is not None and avoid.triggers:
        meta["avoid"] = avoid.digest
    g = Graph(g.inputs, g.nodes, g.outputs, meta)
    check_wellformed(g)
    return g


def template_graph(chain: Chain, seed: int = 0, options: GeneratorOptions | None = None) -> Graph:
    """A graph holding just ``chain`` planted on fresh inputs (plus the adapter casts it needs).
    Raises :class:`GenerationError` when no instantiation is found in a few tries."""
    opt = options or GeneratorOptions(max_nodes=max(16, 2 * len(chain.steps) + 2), bias=0.0, rewrite_share=0.0, p_zero_dim=0.0)
    b = _Builder(seed, opt, GenerationStats())
    for _ in range(6):
        if b.plant(chain):
            g = b.finish()
            return Graph(g.inputs, g.nodes, g.outputs, {"seed": seed, "built": "template_graph"})
    raise GenerationError(f"chain {' '.join(chain.ops())}: not placed ({', '.join(b.stats.rejected)})")


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
    b = _Builder(seed, GeneratorOptions(max_nodes=1, max_inputs=max(8, len(inputs)), bias=0.0, rewrite_share=0.0), GenerationStats())
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
            node_code(op, k, list(node.inputs), [f"self.{p}" for p in names], node.attrs)
        except TemplateError as e:
            raise EagerRejected(f"node {k} ({node.op}): {e}") from None
        scope = {n: env[n] for n in node.inputs}
        scope["self"] = params
        try:
            if op.module:
                setattr(params, module_attr(k), make_module(op, node.attrs))
            result = run_node(op, k, list(node.inputs), [f"self.{p}" for p in names], node.attrs, scope)
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
