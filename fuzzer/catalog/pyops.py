"""Python operators, tensor methods, indexing, index assignment and in-place forms, as people write them.

The exporters see these through other doors than ``torch.x(...)`` calls: ``a >> b`` is
``aten::__rshift__``, ``a // b`` ``aten::floor_divide``, ``x[idx] = v`` an ``index_put_`` on a
clone, ``y += b`` an in-place ``add_`` the TorchScript exporter must turn functional. Index
assignment and augmented assignment are *statements* (an ``{out}`` template, see
:class:`fuzzer.catalog.spec.OpSpec`): one line ``v3 = x0.clone(); v3[1:, 0] = x1`` of ``forward``.
In-place updates always apply to a fresh clone, so the graph keeps value semantics (no node sees
another node's input change under it).

Values stay deterministic: an index assignment through an index *tensor* writes one scalar (a
repeated index then writes the same value twice: torch and ONNX ScatterND agree), shift amounts
are within 0..7, integer divisors non-zero.
"""

from __future__ import annotations

import torch

from fuzzer.ir import TensorSpec

from .spec import (
    ALL,
    FLOATS,
    INTS,
    NUMERIC,
    BuildContext,
    Choice,
    NewInput,
    OpSpec,
    Reject,
    binary,
    broadcast_shape_for,
    unary,
)

I_AND_BOOL = INTS | {"bool"}


def _shift(ctx: BuildContext) -> Choice:
    spec = TensorSpec(broadcast_shape_for(ctx.rng, ctx.spec.shape), ctx.spec.dtype)
    return Choice(extra=[NewInput(spec, "index", 8)])


def _shift_scalar(ctx: BuildContext) -> Choice:
    return Choice(attrs={"c": ctx.rng.randint(0, 7)})


def _scalar_of(ctx: BuildContext, nonzero: bool = False):
    if ctx.spec.dtype in FLOATS:
        return ctx.rng.choice([0.5, -1.5, 2.0, 3.0] + ([] if nonzero else [0.0]))
    if ctx.spec.dtype == "bool":
        return True
    return ctx.rng.choice([1, 2, 3] + ([] if nonzero else [0]))


def _scalar_attr(nonzero: bool = False):
    return lambda ctx: Choice(attrs={"c": _scalar_of(ctx, nonzero)})


def _matmul(ctx: BuildContext) -> Choice:
    from .ops import _matmul as m

    return m(ctx)


def _index_tensor(dim: int):
    """x[idx] / x[:, idx] with an int64 index tensor (values within the dim)."""

    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank <= dim or ctx.spec.shape[dim] == 0:
            raise Reject(f"needs a non-empty dim {dim}")
        # no rank-0 index: torch reads it as a Python int (item()), data-dependent under torch.export
        shape = ctx.rng.choice([(ctx.rng.randint(1, 4),), (2, 2)])
        return Choice(extra=[NewInput(TensorSpec(shape, "int64"), "index", ctx.spec.shape[dim])])

    return build


def _mask_param(ctx: BuildContext) -> Choice:
    """x[mask] with a constant mask (a parameter buffer compared with 0): the output's size is
    fixed by the buffer, so downstream shapes hold for every input."""
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    k = ctx.rng.randint(1, ctx.spec.rank)
    return Choice(params=[ctx.param(ctx.spec.shape[:k], "int8")])


def _slice_index(ctx: BuildContext) -> Choice:
    from .ops import _slice

    return _slice(ctx)


def _region_shape(shape: tuple[int, ...], index: tuple) -> tuple[int, ...]:
    from .render import subscript

    dummy = torch.empty(shape)
    return tuple(eval(f"dummy[{subscript(index)}]", {"dummy": dummy}).shape)  # noqa: S307 - rendered by subscript()


def _setitem_slice(ctx: BuildContext) -> Choice:
    c = _slice_index(ctx)
    region = _region_shape(ctx.spec.shape, c.attrs["index"])
    roll = ctx.rng.random()
    if roll < 0.5:
        value = NewInput(TensorSpec(region, ctx.spec.dtype))
    elif roll < 0.75 and region:
        value = NewInput(TensorSpec(region[-1:], ctx.spec.dtype))  # broadcasts along the leading dims
    else:
        value = NewInput(TensorSpec((), ctx.spec.dtype))
    return Choice(extra=[value], attrs=c.attrs)


def _setitem_scalar(ctx: BuildContext) -> Choice:
    c = _slice_index(ctx)
    c.attrs["value"] = _scalar_of(ctx)
    return c


def _setitem_index(ctx: BuildContext) -> Choice:
    c = _index_tensor(0)(ctx)
    c.attrs["value"] = _scalar_of(ctx)
    return c


def _setitem_mask(ctx: BuildContext) -> Choice:
    shape = ctx.spec.shape if ctx.maybe(0.7) or ctx.spec.rank == 0 else ctx.spec.shape[: ctx.rng.randint(1, ctx.spec.rank)]
    return Choice(extra=[NewInput(TensorSpec(shape, "bool"))], attrs={"value": _scalar_of(ctx)})


def _augmented(domain: str = "any"):
    def build(ctx: BuildContext) -> Choice:
        # the right-hand side broadcasts to the target (never the other way: in-place keeps the shape)
        spec = TensorSpec(broadcast_shape_for(ctx.rng, ctx.spec.shape), ctx.spec.dtype)
        return Choice(extra=[ctx.same_or_new(spec, 0.4) if domain == "any" else NewInput(spec, domain)])

    return build


def _inplace_clamp(ctx: BuildContext) -> Choice:
    from .ops import _clamp

    return _clamp(ctx)


def _index_fill(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.rng.randrange(ctx.spec.rank)
    if ctx.spec.shape[d] == 0:
        raise Reject("empty dim")
    return Choice(extra=[NewInput(TensorSpec((ctx.rng.randint(1, 3),), "int64"), "index", ctx.spec.shape[d])], attrs={"dim": d, "value": _scalar_of(ctx)})


def _scatter_value(ctx: BuildContext) -> Choice:
    from .ops import _gather

    c = _gather(ctx)
    c.attrs["value"] = _scalar_of(ctx)
    return c


def _index_put_acc(ctx: BuildContext) -> Choice:
    c = _index_tensor(0)(ctx)
    idx = c.extra[0].spec.shape
    values = NewInput(TensorSpec(idx + ctx.spec.shape[1:], ctx.spec.dtype))
    return Choice(extra=[c.extra[0], values])


def _view(ctx: BuildContext) -> Choice:
    from .ops import _reshape

    return _reshape(ctx)


def _unflatten(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0 or ctx.spec.rank >= 5:
        raise Reject("needs rank 1..4")
    d = ctx.rng.randrange(ctx.spec.rank)
    n = ctx.spec.shape[d]
    divs = [k for k in range(1, n + 1) if n % k == 0] or [1]
    a = ctx.rng.choice(divs)
    sizes = (a, n // a) if n else (0, 1)
    if n and ctx.maybe(0.3):
        sizes = (-1, n // a)
    return Choice(attrs={"dim": d, "sizes": sizes})


def _new_full(ctx: BuildContext) -> Choice:
    shape = tuple(ctx.rng.randint(1, 4) for _ in range(ctx.rng.randint(0, 3)))
    return Choice(attrs={"shape": shape, "value": _scalar_of(ctx)})


def _arange_dim(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"dim": ctx.rng.randrange(ctx.spec.rank)})


def _type_as(ctx: BuildContext) -> Choice:
    dt = ctx.rng.choice(sorted(ALL - {ctx.spec.dtype}))
    return Choice(extra=[NewInput(TensorSpec((1,), dt))])


def _t(ctx: BuildContext) -> Choice:
    if ctx.spec.rank > 2:
        raise Reject("t() needs rank <= 2")
    return Choice()


def _b(name: str, template: str, dtypes, build=None, domain: str = "any", onnx=(), family: str = "pyop") -> OpSpec:
    return OpSpec(name, template, frozenset(dtypes), build or binary(None, domain=domain), family=family, onnx=onnx)


SIGNED_NUM = NUMERIC - {"uint8"}

def _alias_binary(fn: str, dtypes, domain: str = "any") -> OpSpec:
    return OpSpec(f"alias.{fn.rsplit('.', 1)[-1]}", f"{fn}({{0}}, {{1}})", frozenset(dtypes), binary(None, domain=domain), family="alias")


def _alias_unary(fn: str, dtypes=FLOATS) -> OpSpec:
    return OpSpec(f"alias.{fn.rsplit('.', 1)[-1]}", f"{fn}({{0}})", frozenset(dtypes), unary, family="alias")


def _softmax_dim(ctx: BuildContext) -> Choice:
    return Choice(attrs={"dim": ctx.dim()})


def _cat_dim(ctx: BuildContext) -> Choice:
    from .ops import _cat_fixed

    return _cat_fixed(ctx, 1)


#: The alias spellings users write (torch.divide for torch.div...): each is its own ATen op, which
#: both registries list, and which tracing records as written.
ALIASES: tuple[OpSpec, ...] = (
    _alias_binary("torch.divide", FLOATS, "nonzero"),
    _alias_binary("torch.true_divide", FLOATS, "nonzero"),
    _alias_binary("torch.multiply", NUMERIC),
    _alias_binary("torch.subtract", NUMERIC),
    _alias_binary("torch.greater", NUMERIC),
    _alias_binary("torch.greater_equal", NUMERIC),
    _alias_binary("torch.less", NUMERIC),
    _alias_binary("torch.less_equal", NUMERIC),
    _alias_unary("torch.special.erf"),
    _alias_unary("torch.special.erfc"),
    _alias_unary("torch.special.expm1"),
    _alias_unary("torch.special.sinc"),
    OpSpec("alias.special_softmax", "torch.special.softmax({0}, {dim})", frozenset(FLOATS), _softmax_dim, ranks=(1, 5), family="alias"),
    OpSpec("alias.special_log_softmax", "torch.special.log_softmax({0}, {dim})", frozenset(FLOATS), _softmax_dim, ranks=(1, 5), family="alias"),
    OpSpec("alias.concat", "torch.concat(({0}, {1}), dim={dim})", frozenset(ALL), _cat_dim, ranks=(1, 5), family="alias"),
    OpSpec("alias.concatenate", "torch.concatenate(({0}, {1}), axis={dim})", frozenset(ALL), _cat_dim, ranks=(1, 5), family="alias"),
)

def _unfold_dim(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.rng.randrange(ctx.spec.rank)
    n = ctx.spec.shape[d]
    if n == 0:
        raise Reject("empty dim")
    return Choice(attrs={"dim": d, "size": ctx.rng.randint(1, n), "step": ctx.rng.randint(1, 3)})


def _pool_indices(nd: int):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (nd + 1, nd + 2):
            raise Reject(f"needs rank {nd + 1} or {nd + 2}")
        k = ctx.rng.randint(1, 3)
        return Choice(attrs={"k": k, "stride": ctx.rng.choice([None, 1, 2]), "padding": ctx.rng.randint(0, k // 2), "ceil_mode": ctx.maybe(0.3)})

    return build


def _window(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"dim": ctx.rng.randrange(ctx.spec.rank), "periodic": ctx.maybe(0.5)})


def _trilinear(ctx: BuildContext) -> Choice:
    return Choice(attrs={"scale": ctx.rng.choice([2.0, 0.5, 1.5]), "align_corners": ctx.maybe(0.5)})


F = "torch.nn.functional."

#: Calls that reach ATen ops the other entries do not: pooling with indices, Tensor.unfold,
#: trilinear resizing, window functions sized by an input's shape.
MORE: tuple[OpSpec, ...] = (
    OpSpec("max_pool1d_indices", F + "max_pool1d({0}, {k}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, return_indices=True)",
           frozenset(FLOATS), _pool_indices(1), ranks=(2, 3), family="pool", n_outputs=2, returns_tuple=True, onnx=("MaxPool",)),
    OpSpec("max_pool3d_indices", F + "max_pool3d({0}, {k}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, return_indices=True)",
           frozenset(FLOATS), _pool_indices(3), ranks=(4, 5), family="pool", n_outputs=2, returns_tuple=True, onnx=("MaxPool",)),
    OpSpec("m_unfold", "{0}.unfold({dim}, {size}, {step})", frozenset(ALL), _unfold_dim, ranks=(1, 4), family="shape", onnx=("Slice", "Concat", "Unsqueeze")),
    OpSpec("interpolate_trilinear", F + "interpolate({0}, scale_factor={scale}, mode='trilinear', align_corners={align_corners})",
           frozenset(FLOATS), _trilinear, ranks=(5, 5), family="resize", onnx=("Resize",)),
    OpSpec("hann_window_of_dim", "torch.hann_window({0}.shape[{dim}], periodic={periodic}, dtype={0}.dtype)", frozenset(FLOATS), _window, ranks=(1, 5), family="factory", onnx=("Range", "Cos")),
    OpSpec("hamming_window_of_dim", "torch.hamming_window({0}.shape[{dim}], periodic={periodic}, dtype={0}.dtype)", frozenset(FLOATS), _window, ranks=(1, 5), family="factory", onnx=("Range", "Cos")),
    OpSpec("blackman_window_of_dim", "torch.blackman_window({0}.shape[{dim}], periodic={periodic}, dtype={0}.dtype)", frozenset(FLOATS), _window, ranks=(1, 5), family="factory", onnx=("Range", "Cos")),
)

OPS: tuple[OpSpec, ...] = ALIASES + MORE + (
    # -- Python operators -------------------------------------------------------------------------
    _b("op_rshift", "({0} >> {1})", INTS, _shift, onnx=("BitShift", "Div")),
    _b("op_lshift", "({0} << {1})", INTS, _shift, onnx=("BitShift", "Mul")),
    _b("op_rshift_scalar", "({0} >> {c})", INTS, _shift_scalar, onnx=("BitShift", "Div")),
    _b("op_lshift_scalar", "({0} << {c})", INTS, _shift_scalar, onnx=("BitShift", "Mul")),
    _b("op_floordiv", "({0} // {1})", NUMERIC, domain="nonzero", onnx=("Div", "Floor")),
    _b("op_floordiv_scalar", "({0} // {c})", NUMERIC, _scalar_attr(nonzero=True), onnx=("Div", "Floor")),
    _b("op_rfloordiv_scalar", "({c} // {0})", FLOATS, _scalar_attr(), onnx=("Div", "Floor")),
    _b("op_mod", "({0} % {1})", NUMERIC, domain="nonzero", onnx=("Mod",)),
    _b("op_mod_scalar", "({0} % {c})", NUMERIC, _scalar_attr(nonzero=True), onnx=("Mod",)),
    _b("op_rmod_scalar", "({c} % {0})", FLOATS, _scalar_attr(), onnx=("Mod",)),
    _b("op_matmul", "({0} @ {1})", FLOATS | {"int64", "int32"}, _matmul, onnx=("MatMul",)),
    _b("op_truediv", "({0} / {1})", NUMERIC, domain="nonzero", onnx=("Div", "Cast")),
    _b("op_rtruediv_scalar", "({c} / {0})", FLOATS, _scalar_attr(), onnx=("Div",)),
    _b("op_pow", "({0} ** {1})", FLOATS, binary(FLOATS, domain="small"), domain="positive", onnx=("Pow",)),
    _b("op_rpow_scalar", "({c} ** {0})", FLOATS, lambda ctx: Choice(attrs={"c": ctx.rng.choice([2.0, 0.5, 3.0])}), onnx=("Pow",)),
    _b("op_and", "({0} & {1})", I_AND_BOOL, onnx=("BitwiseAnd", "And")),
    _b("op_or", "({0} | {1})", I_AND_BOOL, onnx=("BitwiseOr", "Or")),
    _b("op_xor", "({0} ^ {1})", I_AND_BOOL, onnx=("BitwiseXor", "Xor")),
    OpSpec("op_invert", "(~{0})", frozenset(I_AND_BOOL), unary, family="pyop", onnx=("BitwiseNot", "Not")),
    OpSpec("op_neg", "(-{0})", frozenset(SIGNED_NUM), unary, family="pyop", onnx=("Neg",)),
    OpSpec("op_abs_builtin", "abs({0})", frozenset(NUMERIC), unary, family="pyop", onnx=("Abs",)),
    _b("op_lt", "({0} < {1})", NUMERIC, onnx=("Less",)),
    _b("op_le", "({0} <= {1})", NUMERIC, onnx=("LessOrEqual",)),
    _b("op_gt_scalar", "({0} > {c})", NUMERIC, _scalar_attr(), onnx=("Greater",)),
    _b("op_eq", "({0} == {1})", ALL, onnx=("Equal",)),
    _b("op_ne_scalar", "({0} != {c})", ALL, _scalar_attr(), onnx=("Equal", "Not")),
    # -- tensor methods ---------------------------------------------------------------------------
    OpSpec("m_float", "{0}.float()", frozenset(ALL), unary, family="cast", onnx=("Cast",)),
    OpSpec("m_long", "{0}.long()", frozenset(ALL), unary, family="cast", onnx=("Cast",)),
    OpSpec("m_half", "{0}.half()", frozenset(ALL), unary, family="cast", onnx=("Cast",)),
    OpSpec("m_int", "{0}.int()", frozenset(ALL), unary, family="cast", onnx=("Cast",)),
    OpSpec("m_bool", "{0}.bool()", frozenset(ALL), unary, family="cast", onnx=("Cast",)),
    OpSpec("m_double", "{0}.double()", frozenset(ALL), unary, family="cast", onnx=("Cast",)),
    OpSpec("m_type_as", "{0}.type_as({1})", frozenset(ALL), _type_as, family="cast", onnx=("Cast",)),
    OpSpec("m_view", "{0}.view({shape})", frozenset(ALL), _view, family="shape", onnx=("Reshape",)),
    OpSpec("m_view_as", "{0}.view_as({1})", frozenset(ALL), lambda ctx: Choice(extra=[NewInput(ctx.spec)]), family="shape", onnx=("Reshape",)),
    OpSpec("m_contiguous", "{0}.contiguous()", frozenset(ALL), unary, family="shape", onnx=()),
    OpSpec("m_t", "{0}.t()", frozenset(ALL), _t, ranks=(0, 2), family="shape", onnx=("Transpose",)),
    OpSpec("m_T", "{0}.T", frozenset(ALL), unary, ranks=(2, 2), family="shape", onnx=("Transpose",)),
    OpSpec("m_mT", "{0}.mT", frozenset(ALL), unary, ranks=(2, 5), family="shape", onnx=("Transpose",)),
    OpSpec("m_unflatten", "{0}.unflatten({dim}, {sizes})", frozenset(ALL), _unflatten, family="shape", onnx=("Reshape",)),
    OpSpec("m_new_zeros", "{0}.new_zeros({shape})", frozenset(ALL), lambda ctx: Choice(attrs={"shape": _new_full(ctx).attrs["shape"]}), family="factory", onnx=("ConstantOfShape",)),
    OpSpec("m_new_full", "{0}.new_full({shape}, {value})", frozenset(ALL), _new_full, family="factory", onnx=("ConstantOfShape",)),
    OpSpec("arange_of_dim", "torch.arange({0}.shape[{dim}])", frozenset(ALL), _arange_dim, ranks=(1, 5), family="factory", onnx=("Shape", "Gather", "Range")),
    OpSpec("ones_of_shape", "torch.ones({0}.shape, dtype={0}.dtype)", frozenset(ALL), unary, family="factory", onnx=("Shape", "ConstantOfShape")),
    OpSpec("m_size_reshape", "{0}.reshape({0}.size(-1), -1)", frozenset(ALL), unary, ranks=(1, 5), family="shape", onnx=("Shape", "Gather", "Reshape")),
    # -- indexing -----------------------------------------------------------------------------------
    OpSpec("getitem_tensor", "{0}[{1}]", frozenset(ALL), _index_tensor(0), ranks=(1, 5), family="index", onnx=("Gather",)),
    OpSpec("getitem_tensor_dim1", "{0}[:, {1}]", frozenset(ALL), _index_tensor(1), ranks=(2, 5), family="index", onnx=("Gather",)),
    OpSpec("getitem_mask", "{0}[{p0} > 0]", frozenset(ALL), _mask_param, ranks=(1, 5), family="index", onnx=("NonZero", "GatherND")),
    OpSpec("getitem_newaxis", "{0}[None, ..., None]", frozenset(ALL), unary, ranks=(0, 3), family="index", onnx=("Unsqueeze",)),
    OpSpec("getitem_ellipsis_last", "{0}[..., -1]", frozenset(ALL), unary, ranks=(1, 5), family="index", onnx=("Gather",)),
    # -- index assignment and augmented assignment (statements) ---------------------------------------
    OpSpec("setitem_slice", "{out} = {0}.clone(); {out}[{index:index}] = {1}", frozenset(ALL), _setitem_slice, ranks=(1, 5), family="index_put", onnx=("ScatterND", "Slice", "Expand")),
    OpSpec("setitem_slice_scalar", "{out} = {0}.clone(); {out}[{index:index}] = {value}", frozenset(ALL), _setitem_scalar, ranks=(1, 5), family="index_put", onnx=("ScatterND",)),
    OpSpec("setitem_index", "{out} = {0}.clone(); {out}[{1}] = {value}", frozenset(ALL), _setitem_index, ranks=(1, 5), family="index_put", onnx=("ScatterND", "Expand")),
    OpSpec("setitem_mask", "{out} = {0}.clone(); {out}[{1}] = {value}", frozenset(ALL), _setitem_mask, family="index_put", onnx=("Where",)),
    OpSpec("iadd", "{out} = {0}.clone(); {out} += {1}", frozenset(NUMERIC), _augmented(), family="inplace", onnx=("Add",)),
    OpSpec("isub", "{out} = {0}.clone(); {out} -= {1}", frozenset(NUMERIC), _augmented(), family="inplace", onnx=("Sub",)),
    OpSpec("imul", "{out} = {0}.clone(); {out} *= {1}", frozenset(NUMERIC | {"bool"}), _augmented(), family="inplace", onnx=("Mul",)),
    OpSpec("itruediv", "{out} = {0}.clone(); {out} /= {1}", frozenset(FLOATS), _augmented("nonzero"), family="inplace", onnx=("Div",)),
    OpSpec("iand", "{out} = {0}.clone(); {out} &= {1}", frozenset(I_AND_BOOL), _augmented(), family="inplace", onnx=("BitwiseAnd", "And")),
    # -- in-place methods on a clone ----------------------------------------------------------------
    OpSpec("add_", "{0}.clone().add_({1}, alpha={alpha})", frozenset(NUMERIC), lambda ctx: Choice(extra=_augmented()(ctx).extra, attrs={"alpha": ctx.rng.choice([1, 2, -1])}), family="inplace", onnx=("Add", "Mul")),
    OpSpec("mul_scalar_", "{0}.clone().mul_({c})", frozenset(NUMERIC), _scalar_attr(), family="inplace", onnx=("Mul",)),
    OpSpec("clamp_", "{0}.clone().clamp_(min={min}, max={max})", frozenset(NUMERIC), _inplace_clamp, family="inplace", onnx=("Clip",)),
    OpSpec("masked_fill_", "{0}.clone().masked_fill_({1}, {value})", frozenset(ALL), _setitem_mask, family="inplace", onnx=("Where",)),
    OpSpec("index_fill_", "{0}.clone().index_fill_({dim}, {1}, {value})", frozenset(ALL), _index_fill, ranks=(1, 5), family="inplace", onnx=("ScatterElements", "Where")),
    OpSpec("scatter_value_", "{0}.clone().scatter_({dim}, {1}, {value})", frozenset(ALL), _scatter_value, ranks=(1, 5), family="inplace", onnx=("ScatterElements",)),
    OpSpec("index_put_accumulate_", "{0}.clone().index_put_(({1},), {2}, accumulate=True)", frozenset(NUMERIC), _index_put_acc, ranks=(1, 5), family="inplace", onnx=("ScatterND",)),
    OpSpec("relu_", "{0}.clone().relu_()", frozenset(NUMERIC), unary, family="inplace", onnx=("Relu",)),
    OpSpec("sigmoid_", "{0}.clone().sigmoid_()", frozenset(FLOATS), unary, family="inplace", onnx=("Sigmoid",)),
    OpSpec("fill_", "{0}.clone().fill_({c})", frozenset(ALL), _scalar_attr(), family="inplace", onnx=("ConstantOfShape", "Expand")),
    OpSpec("zero_", "{0}.clone().zero_()", frozenset(ALL), unary, family="inplace", onnx=("ConstantOfShape",)),
    OpSpec("copy_", "{0}.clone().copy_({1})", frozenset(ALL), _augmented(), family="inplace", onnx=("Expand",)),
)
