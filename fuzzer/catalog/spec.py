"""The shape of a catalog entry, and the helpers entries use to pick inputs and attributes.

An :class:`OpSpec` is everything the fuzzer knows about one PyTorch operator:

- ``template``: the Python expression that applies it. ``{0}``, ``{1}``... are the node's inputs in
  order, ``{p0}``... its constant parameters, ``{name}`` its attributes (rendered as Python literals;
  ``{name:dtype}`` renders a dtype name as ``torch.<dtype>`` after checking it is one). The template
  is the single source of truth: the module, the standalone source and the generator's output
  inference all evaluate it, so they cannot disagree.
- ``dtypes`` / ``ranks``: what the *primary* (first) input may be. The generator only offers values
  that fit; ``build`` decides the rest.
- ``build(ctx)``: picks the other inputs (existing values or fresh graph inputs), the attributes and
  the parameters, or raises :class:`Reject` with a reason (counted by the generator).
- ``domain``: the value domain the primary input wants when it is a fresh graph input.
- ``onnx``: the ONNX op types the op usually exports to (documentation and coverage planning).
- ``module``: for ``torch.nn`` modules, the constructor (``"torch.nn.Linear({n_in}, {n_out})"``);
  the node's ``seed`` attribute seeds ``torch.manual_seed`` right before it, in the generated
  ``__init__`` as in the generator's probe, so parameters are the same everywhere; the template
  calls it as ``{m}`` (``"{m}({0})"``).
- A template with an ``{out}`` field is a *statement* (``"{out} = {0}.clone(); {out}[{i:index}] = {1}"``:
  index assignment, augmented assignment), one line of ``forward`` assigning the node's one output.

Output shapes and dtypes are not re-implemented here: the generator evaluates the template on
small concrete tensors, so inference is PyTorch's own and exact, and an operator/dtype combination
that eager PyTorch rejects (e.g. a kernel missing for float16 on CPU) is rejected at generation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from fuzzer.ir import DTYPES, FLOAT_DTYPES, INT_DTYPES, Param, TensorSpec

ALL = frozenset(DTYPES)
FLOATS = frozenset(FLOAT_DTYPES)
INTS = frozenset(INT_DTYPES)
NUMERIC = FLOATS | INTS  # everything but bool
SIGNED = NUMERIC - {"uint8"}


class Reject(Exception):
    """The operator cannot be applied to this primary input; ``reason`` is counted."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class NewInput:
    """Request for a fresh graph input (the generator names it)."""

    spec: TensorSpec
    domain: str = "any"
    bound: int | None = None


InputRef = "str | NewInput"


@dataclass
class Choice:
    """What ``build`` decided: extra inputs (after the primary), attributes, parameters."""

    extra: list[Any] = field(default_factory=list)  # str (existing value) | NewInput
    primary: NewInput | None = None  # replace the primary by a fresh input (index-domain ops)
    attrs: dict[str, Any] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)


@dataclass
class BuildContext:
    """Given to ``OpSpec.build``: the primary input and the values it may combine with."""

    rng: random.Random
    primary: str
    spec: TensorSpec
    values: Sequence[tuple[str, TensorSpec]]  # every value defined so far (inputs and node outputs)

    # -- picking other inputs -----------------------------------------------------------------
    def existing(self, pred: Callable[[TensorSpec], bool]) -> str | None:
        """A random existing value (not the primary) whose spec satisfies ``pred``, or None."""
        cands = [n for n, s in self.values if n != self.primary and pred(s)]
        return self.rng.choice(cands) if cands else None

    def same_or_new(self, spec: TensorSpec, p_existing: float = 0.6, domain: str = "any") -> Any:
        """An existing value with exactly ``spec`` (sometimes), else a fresh input of it."""
        if self.rng.random() < p_existing:
            name = self.existing(lambda s: s == spec)
            if name is not None:
                return name
        return NewInput(spec, domain)

    def param(self, shape: Sequence[int], dtype: str | None = None, init: str = "normal") -> Param:
        return Param(TensorSpec(tuple(shape), dtype or self.spec.dtype), init, self.rng.randrange(2**31))

    # -- attribute helpers ---------------------------------------------------------------------
    def dim(self, allow_negative: bool = True) -> int:
        r = self.spec.rank
        if r == 0:
            raise Reject("needs rank >= 1")
        d = self.rng.randrange(r)
        return d - r if allow_negative and self.rng.random() < 0.3 else d

    def maybe(self, p: float = 0.5) -> bool:
        return self.rng.random() < p


@dataclass(frozen=True)
class OpSpec:
    name: str
    template: str
    dtypes: frozenset[str]
    build: Callable[[BuildContext], Choice]
    ranks: tuple[int, int] = (0, 5)
    family: str = "elementwise"
    onnx: tuple[str, ...] = ()
    domain: str = "any"
    n_outputs: int = 1
    returns_tuple: bool = False  # the call returns a tuple (unpacked into the node's outputs)
    weight: float = 1.0
    doc: str = ""
    module: str = ""  # torch.nn module constructor template (see the module docstring)

    @property
    def statement(self) -> bool:
        """The template is a statement assigning ``{out}`` (not an expression)."""
        return "{out}" in self.template

    def accepts(self, spec: TensorSpec) -> bool:
        return spec.dtype in self.dtypes and self.ranks[0] <= spec.rank <= self.ranks[1]


# ---------------------------------------------------------------------------------------------
# Reusable build functions: most entries use one of these.
# ---------------------------------------------------------------------------------------------
def unary(ctx: BuildContext) -> Choice:
    return Choice()


def with_attrs(**samplers: Callable[[BuildContext], Any]) -> Callable[[BuildContext], Choice]:
    """Unary op whose attributes are drawn by the given per-attribute samplers."""

    def build(ctx: BuildContext) -> Choice:
        return Choice(attrs={k: f(ctx) for k, f in samplers.items()})

    return build


def broadcast_shape_for(rng: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape`` to ``shape``: same, fewer leading dims, or 1s."""
    r = len(shape)
    roll = rng.random()
    if roll < 0.55 or r == 0:
        return shape
    if roll < 0.75:
        return shape[rng.randrange(r + 1):]  # suffix (possibly rank 0)
    return tuple(1 if rng.random() < 0.5 else d for d in shape)


def binary(
    other_dtypes: frozenset[str] | None = None,
    domain: str = "any",
    p_promote: float = 0.15,
) -> Callable[[BuildContext], Choice]:
    """Binary elementwise op with broadcasting. The second operand is usually of the same dtype;
    with probability ``p_promote`` it is another dtype from ``other_dtypes`` (type promotion is
    where exporters insert Casts)."""

    def build(ctx: BuildContext) -> Choice:
        dtype = ctx.spec.dtype
        allowed = other_dtypes if other_dtypes is not None else frozenset({dtype})
        if ctx.rng.random() < p_promote and len(allowed) > 1:
            dtype = ctx.rng.choice(sorted(allowed))
        elif dtype not in allowed:
            dtype = ctx.rng.choice(sorted(allowed))
        target = TensorSpec(broadcast_shape_for(ctx.rng, ctx.spec.shape), dtype)
        if domain == "any" and ctx.rng.random() < 0.5:
            name = ctx.existing(lambda s: s == target)
            if name is not None:
                return Choice(extra=[name])
        return Choice(extra=[NewInput(target, domain)])

    return build


def choice_of(*options: Any) -> Callable[[BuildContext], Any]:
    return lambda ctx: ctx.rng.choice(options)


def float_in(lo: float, hi: float, digits: int = 2) -> Callable[[BuildContext], float]:
    return lambda ctx: round(ctx.rng.uniform(lo, hi), digits)


def optional_dim(p_none: float = 0.3) -> Callable[[BuildContext], int | None]:
    return lambda ctx: None if (ctx.rng.random() < p_none or ctx.spec.rank == 0) else ctx.dim()


def keepdim(ctx: BuildContext) -> bool:
    return ctx.maybe(0.4)


def is_finite_float(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x)
