"""What a sweep runs: the enumeration of cases (op x dtype x shape x attributes x input mode) and
the export variants each case goes through.

A :class:`SweepJob` is one graph with one input mode, run through every export variant of
:class:`SweepConfig` (the baseline and the variants one option away from it, see
:mod:`fuzzer.compare.differential`). Its ``key`` is stable across runs (operator, dtype, shape, a
hash of the graph's computation, input mode), so a resumed sweep skips exactly the jobs it did.

Invariants: enumeration is deterministic (attribute samplers get ``random.Random`` seeded from the
op, dtype, shape and try number; input seeds are derived from the key); every candidate that is
not run is counted in :class:`PlanStats` with its reason.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import torch.onnx._constants as onnx_constants

from fuzzer.catalog import CATALOG, BuildContext, NewInput, OpSpec, Reject, composite
from fuzzer.compare.differential import DYNAMO_NATIVE_OPSET, variant_set
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GenerationError, MODES, single_op_graph
from fuzzer.ir import DTYPES, Graph, Input, Node, TensorSpec, Value, check_wellformed, graph_to_dict

#: The exporters' defaults, read from the installed torch so a new release moves them.
DEFAULT_OPSET = onnx_constants.ONNX_DEFAULT_OPSET
TORCHSCRIPT_OPSETS = tuple(sorted({onnx_constants.ONNX_MIN_OPSET, onnx_constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET, DEFAULT_OPSET}))
#: dynamo: just below torchlib's own opset (down-conversion), torchlib's opset, the default, the max.
DYNAMO_OPSETS = tuple(sorted({DYNAMO_NATIVE_OPSET - 1, DYNAMO_NATIVE_OPSET, DEFAULT_OPSET, onnx_constants.ONNX_MAX_OPSET}))

#: SweepConfig.pairs: single ops, every legal pair, the paper's pairs.
PAIR_MODES = ("", "all", "paper")

COMPOSITE_NAMES = frozenset(o.name for o in composite.OPS)

#: Non-empty shapes by rank: small, with distinct dims so transposes and reductions are visible.
TYPICAL_SHAPES: dict[int, tuple[int, ...]] = {0: (), 1: (5,), 2: (3, 4), 3: (2, 3, 4), 4: (2, 3, 4, 5), 5: (2, 2, 3, 2, 3)}


def default_opsets(exporter: Exporter) -> tuple[int, ...]:
    return TORCHSCRIPT_OPSETS if exporter is Exporter.TORCHSCRIPT else DYNAMO_OPSETS


def shapes_for(op: OpSpec, max_shapes: int = 4) -> list[tuple[int, ...]]:
    """A few primary-input shapes within the op's ranks: rank 0, rank 1, a typical rank (3 when
    allowed), and an empty one (the typical shape with dim 1, or dim 0, set to 0)."""
    lo, hi = op.ranks
    out: list[tuple[int, ...]] = []
    if lo == 0:
        out.append(())
    if lo <= 1 <= hi:
        out.append(TYPICAL_SHAPES[1])
    typical = min(max(3, lo), hi)
    if typical >= 2:
        out.append(TYPICAL_SHAPES[typical])
    empty_rank = typical if typical >= 1 else (1 if hi >= 1 else None)
    if empty_rank is not None:
        s = list(TYPICAL_SHAPES[empty_rank])
        s[1 if empty_rank >= 2 else 0] = 0
        out.append(tuple(s))
    dedup = list(dict.fromkeys(out))
    return dedup[:max_shapes] if len(dedup) <= max_shapes else dedup[: max_shapes - 1] + [dedup[-1]]


@dataclass(frozen=True)
class SweepConfig:
    """Everything that decides a sweep's cases; recorded in ``sweep.json`` (resume checks it)."""

    ops: tuple[str, ...] = ()  # empty: the whole catalog
    dtypes: tuple[str, ...] = DTYPES
    exporters: tuple[Exporter, ...] = (Exporter.TORCHSCRIPT,)
    opsets: tuple[int, ...] = ()  # empty: default_opsets(exporter) for each exporter
    modes: tuple[str, ...] = MODES
    attr_variants: int = 2  # distinct attribute samples per (op, dtype, shape)
    composite_attr_variants: int = 6  # ... for the option-rich composites (fuzzer.catalog.composite)
    attr_tries: int = 8  # build() calls spent looking for them
    max_shapes: int = 4
    optimize_both: bool = True  # dynamo: also export with optimize=False
    #: "" single ops; "all": every legal producer -> consumer pair (:mod:`.pair_plan`);
    #: "paper": op -> op pairs from the paper's sequences (:mod:`.pairs`). ``True`` means "paper".
    pairs: str = ""
    pairs_limit: int = 200  # "paper": at most this many op pairs
    pairs_seed: int = 0  # "all": the seed of the plan's shuffled order
    paper_path: str | None = None  # torch_mismatch_sequences.json (default: the copy in fuzzer/generate/paper_sequences.json)
    dynamic: bool = False  # also export each job with dynamic input sizes (baseline options) and run it at other sizes

    def __post_init__(self) -> None:
        if isinstance(self.pairs, bool):  # the old flag: True was the paper's pairs
            object.__setattr__(self, "pairs", "paper" if self.pairs else "")
        if self.pairs not in PAIR_MODES:
            raise ValueError(f"unknown pair mode {self.pairs!r} (known: {', '.join(m for m in PAIR_MODES if m)})")
        bad = [o for o in self.ops if o not in CATALOG]
        if bad:
            raise ValueError(f"unknown operators: {', '.join(bad)} (see the catalog in fuzzer/catalog)")
        bad = [d for d in self.dtypes if d not in DTYPES]
        if bad:
            raise ValueError(f"unknown dtypes: {', '.join(bad)} (known: {', '.join(DTYPES)})")
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise ValueError(f"unknown input modes: {', '.join(bad)} (known: {', '.join(MODES)})")
        if self.attr_variants < 1 or self.attr_tries < self.attr_variants or self.max_shapes < 1:
            raise ValueError("need attr_variants >= 1, attr_tries >= attr_variants and max_shapes >= 1")

    def opsets_for(self, exporter: Exporter) -> tuple[int, ...]:
        if not self.opsets:
            return default_opsets(exporter)
        lo = onnx_constants.ONNX_MIN_OPSET
        hi = onnx_constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET if exporter is Exporter.TORCHSCRIPT else onnx_constants.ONNX_MAX_OPSET
        return tuple(o for o in self.opsets if lo <= o <= hi)

    def exports(self) -> list[ExportOptions]:
        """Every export variant of a job, baseline of each exporter first."""
        out: list[ExportOptions] = []
        for ex in self.exporters:
            opsets = self.opsets_for(ex)
            default = DEFAULT_OPSET if (DEFAULT_OPSET in opsets or not opsets) else opsets[-1]
            _, variants = variant_set(ex, opsets, default, self.optimize_both)
            out += variants
            if self.dynamic:  # one option from the baseline: a differential names "dynamic shapes"
                out.append(ExportOptions(ex, default, True, dynamic=True))
        return out

    def baselines(self) -> dict[Exporter, ExportOptions]:
        out = {}
        for ex in self.exporters:
            opsets = self.opsets_for(ex)
            default = DEFAULT_OPSET if (DEFAULT_OPSET in opsets or not opsets) else opsets[-1]
            out[ex] = ExportOptions(ex, default, True)
        return out

    def to_dict(self) -> dict:
        return {
            "ops": list(self.ops), "dtypes": list(self.dtypes), "exporters": [e.value for e in self.exporters],
            "opsets": list(self.opsets), "modes": list(self.modes), "attr_variants": self.attr_variants,
            "composite_attr_variants": self.composite_attr_variants,
            "attr_tries": self.attr_tries, "max_shapes": self.max_shapes, "optimize_both": self.optimize_both,
            # "pairs" keeps the old booleans for single ops and paper pairs (their sweep.json still resume)
            "pairs": {"": False, "paper": True}.get(self.pairs, self.pairs), "pairs_limit": self.pairs_limit, "paper_path": self.paper_path,
            "exports": [e.to_dict() for e in self.exports()],
            **({"dynamic": True} if self.dynamic else {}),  # absent when off: older sweeps resume
        } | ({"pairs_seed": self.pairs_seed} if self.pairs == "all" else {})


@dataclass(frozen=True)
class SweepJob:
    """One graph and input mode, to run through ``exports`` (in order)."""

    key: str
    ops: tuple[str, ...]
    dtype: str
    shape: tuple[int, ...]
    mode: str
    seed: int
    graph: Graph
    exports: tuple[ExportOptions, ...]
    inputs: str | None = None  # an .npz of the inputs to use (default: generated from seed and mode)
    confirm: bool = False  # replay mismatches in the worker (fuzzer.case.confirm) and keep the confirmation

    @property
    def label(self) -> str:
        return "->".join(self.ops)

    @property
    def graph_key(self) -> str:
        """The key without the input mode: the same for every input mode of one graph."""
        return self.key.rsplit("|", 1)[0]

    def context(self) -> dict:
        """What the case records about its place in the sweep (goes into CaseResult.options)."""
        return {"sweep": {"key": self.key, "ops": list(self.ops), "dtype": self.dtype, "shape": list(self.shape), "mode": self.mode}}

    def to_wire(self) -> dict:
        return {"key": self.key, "graph": graph_to_dict(self.graph), "seed": self.seed, "mode": self.mode, "inputs": self.inputs,
                "exports": [e.to_dict() for e in self.exports], "context": self.context()}


@dataclass
class PlanStats:
    """Candidates considered while planning and why the others were not run."""

    jobs: int = 0
    graphs: int = 0
    candidates: int = 0  # pair plans: (producer, dtype, consumer) candidates whose tables fit
    skipped: Counter = field(default_factory=Counter)


def _graph_hash(graph: Graph) -> str:
    doc = graph_to_dict(graph)
    doc.pop("meta", None)
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:10]


def _seed_of(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little") & 0x7FFFFFFF


def _sample_builds(op: OpSpec, spec: TensorSpec, tries: int, want: int, stats: PlanStats) -> list[tuple[list, dict, list]]:
    """Up to ``want`` distinct (inputs, attrs, params) from ``op.build`` on a primary of ``spec``."""
    seen: dict[str, tuple[list, dict, list]] = {}
    for t in range(tries):
        rng = random.Random(f"onnxfuzz-sweep/{op.name}/{spec.dtype}/{spec.shape}/{t}")
        ctx = BuildContext(rng, "x0", spec, [("x0", spec)])
        try:
            choice = op.build(ctx)
        except Reject as r:
            stats.skipped[f"build rejects: {r.reason}"] += 1
            continue
        primary = choice.primary or NewInput(spec, op.domain)
        if not all(isinstance(e, NewInput) for e in choice.extra):  # the only existing value is the primary
            raise RuntimeError(f"catalog bug in {op.name!r}: build reused the primary as another input")
        inputs = [primary] + list(choice.extra)
        sig = repr(([(i.spec, i.domain, i.bound) for i in inputs], sorted(choice.attrs.items(), key=lambda kv: kv[0]), choice.params))
        if sig not in seen:
            seen[sig] = (inputs, dict(choice.attrs), list(choice.params))
        if len(seen) >= want:
            break
    return list(seen.values())


def enumerate_jobs(config: SweepConfig, stats: PlanStats | None = None, cell_order: str | None = None) -> Iterator[SweepJob]:
    """Every job of the sweep, deterministic order. Rejections are counted in ``stats``.
    ``cell_order`` (single ops): a seed that shuffles each operator's (dtype, shape) cells, so a
    caller that takes only the first few jobs of an operator gets varied ones without the whole
    operator being planned (each job costs an eager probe)."""
    stats = stats if stats is not None else PlanStats()
    if config.pairs == "paper":
        from .pairs import pair_graphs

        sources = pair_graphs(config, stats)
    elif config.pairs == "all":
        from .pair_plan import pair_graphs as all_pairs

        sources = all_pairs(config, stats)
    else:
        sources = _single_op_graphs(config, stats, cell_order)
    exports = tuple(config.exports())
    seen: set[str] = set()
    for ops, dtype, shape, graph in sources:
        base = f"{'->'.join(ops)}|{dtype}|{'x'.join(map(str, shape)) or 'scalar'}|{_graph_hash(graph)}"
        if base in seen:
            stats.skipped["duplicate graph"] += 1
            continue
        seen.add(base)
        stats.graphs += 1
        for mode in config.modes:
            key = f"{base}|{mode}"
            stats.jobs += 1
            yield SweepJob(key, tuple(ops), dtype, tuple(shape), mode, _seed_of(key), graph, exports, confirm=config.pairs == "all")


#: The dtypes most exporter paths are written and tested for; with a ``cell_order`` a campaign's
#: op jobs come to them last (bugs live in the others: float16, float64, the small integers, bool).
#: On the whole dynamo sweep's results, taking an operator's other dtypes first found 5% more
#: distinct buckets in the first 1,400 graphs than a plain shuffle (docs/throughput.md).
COMMON_DTYPES = frozenset({"float32", "int64", "int32"})


def _single_op_graphs(config: SweepConfig, stats: PlanStats, cell_order: str | None = None) -> Iterator[tuple[tuple[str, ...], str, tuple[int, ...], Graph]]:
    names = config.ops or tuple(CATALOG)
    for name in names:
        op = CATALOG[name]
        dtypes = [d for d in config.dtypes if d in op.dtypes]
        if not dtypes:
            stats.skipped["no requested dtype is legal for the op"] += 1
        cells = [(dtype, shape) for dtype in dtypes for shape in shapes_for(op, config.max_shapes)]
        if cell_order is None:
            for dtype, shape in cells:
                yield from _cell_graphs(config, stats, name, op, dtype, shape)
            continue
        # a campaign takes only an operator's first few graphs: each a dtype not taken yet (the
        # uncommon ones first), then each cell's first attribute sample before any second one
        rng = random.Random(f"{cell_order}/{name}")
        rng.shuffle(cells)
        order = sorted(dict.fromkeys(d for d, _ in cells), key=lambda d: d in COMMON_DTYPES)
        by_dtype = {d: [c for c in cells if c[0] == d] for d in order}
        cycle = [by_dtype[d][k] for k in range(max(map(len, by_dtype.values()), default=0)) for d in order if k < len(by_dtype[d])]
        live = [_cell_graphs(config, stats, name, op, dtype, shape) for dtype, shape in cycle]  # lazy: probed when pulled
        while live:
            nxt = []
            for it in live:
                g = next(it, None)
                if g is not None:
                    yield g
                    nxt.append(it)
            live = nxt


def _cell_graphs(config: SweepConfig, stats: PlanStats, name: str, op: OpSpec, dtype: str, shape: tuple[int, ...]) -> Iterator[tuple[tuple[str, ...], str, tuple[int, ...], Graph]]:
    """The graphs of one (dtype, shape) cell of operator ``name``: one per attribute sample."""
    spec = TensorSpec(shape, dtype)
    want = config.composite_attr_variants if name in COMPOSITE_NAMES else config.attr_variants
    for inputs, attrs, params in _sample_builds(op, spec, max(config.attr_tries, 3 * want), want, stats):
        try:
            g = single_op_graph(name, inputs, attrs, params)
        except GenerationError:
            stats.skipped["eager PyTorch rejects the call"] += 1
            continue
        yield (name,), dtype, tuple(shape), g


def chain(first: Graph, second: Graph) -> Graph:
    """Feed ``first``'s first output into ``second``'s first input: a two-stage graph. Other inputs
    and all values are renamed apart; outputs are ``second``'s. Raises ValueError if the specs
    do not fit."""
    link = first.nodes[-1].outputs[0]
    if second.inputs[0].spec != link.spec:
        raise ValueError(f"cannot chain: {link.spec} into {second.inputs[0].spec}")
    n_in, n_val = len(first.inputs), sum(len(n.outputs) for n in first.nodes)
    rename = {second.inputs[0].name: link.name}
    inputs = list(first.inputs)
    for k, i in enumerate(second.inputs[1:]):
        rename[i.name] = f"x{n_in + k}"
        inputs.append(Input(rename[i.name], i.spec, i.domain, i.bound))
    nodes = list(first.nodes)
    j = n_val
    for nd in second.nodes:
        outs = []
        for v in nd.outputs:
            rename[v.name] = f"v{j}"
            j += 1
            outs.append(Value(rename[v.name], v.spec))
        nodes.append(Node(nd.op, tuple(rename[x] for x in nd.inputs), tuple(outs), dict(nd.attrs), nd.params))
    g = Graph(tuple(inputs), tuple(nodes), tuple(rename[o] for o in second.outputs), {"built": "sweep chain"})
    check_wellformed(g)
    return g

