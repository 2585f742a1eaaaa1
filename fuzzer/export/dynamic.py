"""Dynamic-shape export: which input dimensions are declared dynamic, how each exporter is told,
what the exported model really declares, and when torch.export refuses.

Which dimensions: every input dimension of size 2 or more. Dimensions of size 0 and 1 stay static
(torch.export specializes them, and broadcasting gives size 1 a meaning of its own). Dimensions
of equal size share one symbol (``s<size>``) across all inputs: graphs combine inputs by
broadcasting and concatenation, which ties equal sizes together, so one symbol per size keeps
such graphs exportable; other sizes then change together (see
:func:`fuzzer.generate.resize.resized_inputs`).

How: the dynamo exporter gets ``dynamic_shapes`` (one ``torch.export.Dim`` per symbol, shared by
every dimension of that size); the TorchScript exporter gets ``dynamic_axes`` with the same symbol
names. The dynamo exporter relaxes what torch.export cannot keep dynamic (it refines the shapes
from torch.export's suggested fixes, so a dimension a graph needs static silently becomes
static): what is dynamic is read back from the model (:func:`model_dynamic_dims`), never
assumed. When torch.export refuses the request outright (:func:`is_refusal`: a constraint
violation or a data-dependent guard), that is the graph's nature, not an exporter bug: the case is
exported static instead (see :func:`fuzzer.export.exporters.export`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import onnx

#: Dimensions smaller than this stay static (0 and 1 specialize in torch.export).
MIN_DYNAMIC_SIZE = 2


def symbol(size: int) -> str:
    return f"s{size}"


def dynamic_dims(shapes: Mapping[str, Sequence[int]]) -> dict[str, dict[int, str]]:
    """``{input name: {axis: symbol}}`` for every dimension of size >= :data:`MIN_DYNAMIC_SIZE`
    (inputs without one are left out)."""
    out: dict[str, dict[int, str]] = {}
    for name, shape in shapes.items():
        axes = {a: symbol(int(s)) for a, s in enumerate(shape) if int(s) >= MIN_DYNAMIC_SIZE}
        if axes:
            out[name] = axes
    return out


def torchscript_dynamic_axes(dims: Mapping[str, Mapping[int, str]]) -> dict[str, dict[int, str]]:
    """``dynamic_axes`` for ``torch.onnx.export(dynamo=False)``."""
    return {name: dict(axes) for name, axes in dims.items()}


def dynamo_dynamic_shapes(input_names: Sequence[str], dims: Mapping[str, Mapping[int, str]]) -> tuple:
    """``dynamic_shapes`` for ``torch.onnx.export(dynamo=True)``, positional (one entry per
    argument, None for a static one); one ``Dim`` object per symbol, shared."""
    import torch

    made: dict[str, object] = {}

    def dim(sym: str):
        if sym not in made:
            made[sym] = torch.export.Dim(sym, min=MIN_DYNAMIC_SIZE)
        return made[sym]

    return tuple({a: dim(s) for a, s in dims[n].items()} if n in dims else None for n in input_names)


def model_dynamic_dims(model: bytes | onnx.ModelProto) -> dict[str, dict[int, str]]:
    """``{input name: {axis: symbol}}`` of the dimensions the model's inputs declare symbolic
    (``dim_param`` set, no ``dim_value``)."""
    if isinstance(model, bytes):
        proto = onnx.ModelProto()
        proto.ParseFromString(model)
        model = proto
    out: dict[str, dict[int, str]] = {}
    for i in model.graph.input:
        axes = {a: d.dim_param for a, d in enumerate(i.type.tensor_type.shape.dim) if d.dim_param and not d.HasField("dim_value")}
        if axes:
            out[i.name] = axes
    return out


def changeable_sizes(shapes: Mapping[str, Sequence[int]], declared: Mapping[str, Mapping[int, str]]) -> set[int]:
    """The input sizes that may change in a run of the model: every input dimension of that size is
    declared symbolic by the model (a size also held by a static dimension stays, so equal sizes
    stay equal)."""
    sizes: dict[int, bool] = {}
    for name, shape in shapes.items():
        for a, s in enumerate(shape):
            s = int(s)
            sym = a in declared.get(name, {})
            sizes[s] = sizes.get(s, True) and sym
    return {s for s, ok in sizes.items() if ok and s >= MIN_DYNAMIC_SIZE}


#: Exception types (qualified names, anywhere in the cause chain) by which torch.export refuses a
#: dynamic dimension: the graph needs it static, or its shapes depend on data.
_REFUSAL_TYPES = (
    "torch._dynamo.exc.UserError",
    "torch.fx.experimental.symbolic_shapes.ConstraintViolationError",
    "torch.fx.experimental.symbolic_shapes.GuardOnDataDependentSymNode",
    "torch.fx.experimental.symbolic_shapes.PendingUnbackedSymbolNotFound",
)
_REFUSAL_TEXT = ("Constraints violated", "Not all values of", "Could not guard on data-dependent", "GuardOnDataDependentSymNode")


def is_refusal(e: BaseException) -> bool:
    """Did torch.export refuse the dynamic dimensions (see the module docstring)? Looks through
    the cause/context chain: the exporter wraps torch.export's exception in its own."""
    seen = set()
    c: BaseException | None = e
    while c is not None and id(c) not in seen:
        seen.add(id(c))
        t = type(c)
        names = {f"{k.__module__}.{k.__qualname__}" for k in t.__mro__}
        if names & set(_REFUSAL_TYPES):
            return True
        c = c.__cause__ or c.__context__
    text = str(e)
    return any(s in text for s in _REFUSAL_TEXT)

__all__ = ["MIN_DYNAMIC_SIZE", "changeable_sizes", "dynamic_dims", "dynamo_dynamic_shapes", "is_refusal", "model_dynamic_dims",
           "symbol", "torchscript_dynamic_axes"]
