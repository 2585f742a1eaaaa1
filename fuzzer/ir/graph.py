"""The graph IR: the test case itself.

A :class:`Graph` is a DAG of operator applications over named tensor values. Torch modules, Python
source and ONNX models are all *derived* from it; the fuzzer, the minimizer and the finding store
work on this form only. This module imports neither torch nor onnxruntime.

Invariants (checked by :func:`check_wellformed`, which names the broken rule):

- value names are unique across inputs and node outputs;
- ``nodes`` is in topological order: a node reads only graph inputs or outputs of earlier nodes;
- every graph input is read by at least one node (exporters drop unused inputs, which would
  misalign the ONNX model's inputs with the module's);
- ``outputs`` are distinct node outputs (never a graph input: an identity output exports to
  nothing and says nothing about the converter);
- every shape dimension is a non-negative int; every dtype is one of :data:`DTYPES`; value and
  operator names are plain identifiers of bounded length;
- sizes are bounded: rank at most :data:`MAX_RANK`, at most :data:`MAX_NUMEL` elements per value
  (inputs, node outputs, parameters) and for all graph inputs together, so a graph file cannot
  make anyone allocate without bound (a loaded graph's inputs are made in the caller's process).

Objects are frozen; ``attrs`` dicts must be treated as immutable (use :meth:`Node.with_attrs`).
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

import networkx as nx

#: Tensor element types the fuzzer knows, by their torch/numpy names.
DTYPES: tuple[str, ...] = (
    "float32",
    "float64",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)
FLOAT_DTYPES = frozenset({"float32", "float64", "float16"})
INT_DTYPES = frozenset({"int64", "int32", "int16", "int8", "uint8"})
SIGNED_INT_DTYPES = INT_DTYPES - {"uint8"}

#: Value domains an input can be drawn from (see fuzzer.generate.inputs).
DOMAINS: tuple[str, ...] = (
    "any",  # unrestricted for the dtype
    "positive",  # > 0 (log, sqrt, pow base)
    "nonzero",  # != 0, away from zero (division, reciprocal)
    "unit",  # (-1, 1) open interval (asin, acos, atanh)
    "ge1",  # >= 1 (acosh)
    "small",  # |x| <= 3 (exp, sinh, cosh without overflow)
    "index",  # 0 <= x < bound, bound stored with the input (gather, embedding)
    "probability",  # [0, 1]
)


#: Size bounds of :func:`check_wellformed`: far above anything generated (the generator's default
#: ``max_numel`` is 4,096, its ``max_rank`` 5) and far below what a process can allocate
#: (2**24 float64 elements are 128 MiB).
MAX_NUMEL = 2**24
MAX_RANK = 16
MAX_NAME = 100  # characters in a value name (generated ones are "x0", "v12")
MAX_INDEX_BOUND = 2**62  # exclusive bound of an "index" input (drawn as int64)

#: Names the materialized source uses itself; value names must avoid them.
RESERVED_NAMES = frozenset({"torch", "self", "_param", "Model", "super", "float", "int", "range"})
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _check_name(name: str, where: str) -> None:
    if not isinstance(name, str) or len(name) > MAX_NAME or not _NAME_RE.match(name) or keyword.iskeyword(name) or name in RESERVED_NAMES:
        raise WellformednessError("value-name", f"{where} name {_short(name)} is not a plain identifier of at most {MAX_NAME} characters (or is reserved)")


class WellformednessError(ValueError):
    """The graph breaks an IR invariant; the message names the rule and the place."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True)
class TensorSpec:
    """Static type of a tensor value: its shape and element type."""

    shape: tuple[int, ...]
    dtype: str

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def with_shape(self, shape: Iterable[int]) -> "TensorSpec":
        return TensorSpec(tuple(shape), self.dtype)

    def with_dtype(self, dtype: str) -> "TensorSpec":
        return TensorSpec(self.shape, dtype)


@dataclass(frozen=True)
class Input:
    """A graph input. ``domain``/``bound`` tell the input generator what values are meaningful."""

    name: str
    spec: TensorSpec
    domain: str = "any"
    bound: int | None = None  # exclusive upper bound for domain "index"


@dataclass(frozen=True)
class Value:
    """A node output: a name and its inferred spec."""

    name: str
    spec: TensorSpec


#: How a parameter's values are drawn (deterministically, from its seed).
PARAM_INITS: tuple[str, ...] = ("normal", "uniform", "positive", "ones", "zeros")


@dataclass(frozen=True)
class Param:
    """A constant tensor owned by a node (a conv weight, batch-norm statistics...). Its values are
    a pure function of (spec, init, seed), so the graph stays small and a minimizer that removes
    other nodes does not change them."""

    spec: TensorSpec
    init: str
    seed: int


@dataclass(frozen=True)
class Node:
    """One operator application. ``op`` is a catalog name; ``attrs`` are plain JSON-able values
    (int, float, bool, str, None or tuples of those); ``params`` are its constant tensors."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[Value, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    params: tuple[Param, ...] = ()

    def with_attrs(self, **changes: Any) -> "Node":
        return dataclasses.replace(self, attrs={**self.attrs, **changes})


@dataclass(frozen=True)
class Graph:
    """A whole test case. ``meta`` records provenance (seed, generator options); it does not
    change semantics and is excluded from :meth:`structural_key`."""

    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    # -- lookups ---------------------------------------------------------------------------
    def specs(self) -> dict[str, TensorSpec]:
        """Every value name (inputs and node outputs) mapped to its spec."""
        out = {i.name: i.spec for i in self.inputs}
        for n in self.nodes:
            for v in n.outputs:
                out[v.name] = v.spec
        return out

    def producers(self) -> dict[str, int]:
        """Node-output name -> index of the node producing it."""
        return {v.name: k for k, n in enumerate(self.nodes) for v in n.outputs}

    def output_specs(self) -> list[TensorSpec]:
        specs = self.specs()
        return [specs[o] for o in self.outputs]

    def ops(self) -> list[str]:
        return [n.op for n in self.nodes]

    def __len__(self) -> int:
        return len(self.nodes)

    def iter_values(self) -> Iterator[tuple[str, TensorSpec]]:
        yield from self.specs().items()

    def structural_key(self) -> tuple:
        """Hashable identity of the computation (ignores ``meta``)."""
        return (
            tuple((i.name, i.spec, i.domain, i.bound) for i in self.inputs),
            tuple(
                (n.op, n.inputs, n.outputs, tuple(sorted((k, _freeze(v)) for k, v in n.attrs.items())), n.params)
                for n in self.nodes
            ),
            self.outputs,
        )

    # -- graph view --------------------------------------------------------------------------
    def to_networkx(self) -> nx.DiGraph:
        """Dataflow view: one vertex per graph input (``kind="input"``) and per node
        (``kind="node"``, keyed by its index); an edge per value flowing between them,
        labelled with the value name."""
        g = nx.DiGraph()
        for i in self.inputs:
            g.add_node(i.name, kind="input", spec=i.spec)
        producer = self.producers()
        for k, n in enumerate(self.nodes):
            g.add_node(k, kind="node", op=n.op)
            for name in n.inputs:
                src = producer.get(name, name)
                g.add_edge(src, k, value=name)
        return g


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def check_wellformed(graph: Graph) -> None:
    """Raise :class:`WellformednessError` naming the first broken invariant (see module doc)."""
    seen: dict[str, TensorSpec] = {}
    total = 0
    for i in graph.inputs:
        _check_name(i.name, "input")
        _check_spec(i.spec, f"input {i.name!r}")
        total += i.spec.numel
        if total > MAX_NUMEL:
            raise WellformednessError("size-cap", f"the graph inputs hold more than {MAX_NUMEL} elements together")
        if i.name in seen:
            raise WellformednessError("unique-names", f"input name {i.name!r} used twice")
        if i.domain not in DOMAINS:
            raise WellformednessError("known-domain", f"input {i.name!r} has domain {_short(i.domain)}")
        if i.domain == "index" and (not isinstance(i.bound, int) or not 1 <= i.bound <= MAX_INDEX_BOUND):
            raise WellformednessError("index-bound", f"input {i.name!r} is an index without a bound within 1..{MAX_INDEX_BOUND}")
        seen[i.name] = i.spec
    used: set[str] = set()
    for k, n in enumerate(graph.nodes):
        if not isinstance(n.op, str) or len(n.op) > MAX_NAME or not _OP_RE.match(n.op):
            raise WellformednessError("op-name", f"node {k} has operator {_short(n.op)}, not a catalog-style name")
        for name in n.inputs:
            if name not in seen:
                raise WellformednessError(
                    "topological-order", f"node {k} ({n.op}) reads {name!r} before it is defined"
                )
            used.add(name)
        if not n.outputs:
            raise WellformednessError("node-has-output", f"node {k} ({n.op}) has no outputs")
        for j, p in enumerate(n.params):
            _check_spec(p.spec, f"node {k} ({n.op}) param {j}")
            if not isinstance(p.seed, int) or isinstance(p.seed, bool) or not 0 <= p.seed < 2**63:
                raise WellformednessError("param-seed", f"node {k} ({n.op}) param {j} seed {_short(p.seed)} is not within 0..2**63-1")
            if p.init not in PARAM_INITS:
                raise WellformednessError("known-param-init", f"node {k} ({n.op}) param {j} init {_short(p.init)}")
        for v in n.outputs:
            _check_name(v.name, f"node {k} ({n.op}) output")
            _check_spec(v.spec, f"node {k} ({n.op}) output {v.name!r}")
            if v.name in seen:
                raise WellformednessError("unique-names", f"value name {v.name!r} defined twice")
            seen[v.name] = v.spec
    for i in graph.inputs:
        if i.name not in used:
            raise WellformednessError("inputs-used", f"input {i.name!r} is read by no node")
    if not graph.outputs:
        raise WellformednessError("has-outputs", "graph has no outputs")
    if len(set(graph.outputs)) != len(graph.outputs):
        raise WellformednessError("distinct-outputs", f"outputs repeat a value: {list(graph.outputs)}")
    input_names = {i.name for i in graph.inputs}
    for o in graph.outputs:
        if o not in seen:
            raise WellformednessError("outputs-defined", f"output {o!r} is not a value of the graph")
        if o in input_names:
            raise WellformednessError("outputs-are-node-values", f"output {o!r} is a graph input")


def _check_spec(spec: TensorSpec, where: str) -> None:
    if spec.dtype not in DTYPES:
        raise WellformednessError("known-dtype", f"{where} has dtype {_short(spec.dtype)}")
    if not isinstance(spec.shape, tuple) or any(
        not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in spec.shape
    ):
        raise WellformednessError("shape-dims", f"{where} has shape {_short(spec.shape)}")
    if len(spec.shape) > MAX_RANK:
        raise WellformednessError("size-cap", f"{where} has rank {len(spec.shape)}, more than {MAX_RANK}")
    n = 1
    for d in spec.shape:  # stops early: a product of huge dims is never built in full
        n *= d
        if n > MAX_NUMEL:
            raise WellformednessError("size-cap", f"{where} has shape {_short(spec.shape)}: more than {MAX_NUMEL} elements")


def _short(v: Any, limit: int = 80) -> str:
    """``repr(v)`` cut to ``limit`` characters (an error message stays one readable line)."""
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 3] + "..."
