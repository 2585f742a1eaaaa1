"""The operator table. Adding an operator is adding one ``OpSpec(...)`` to ``OPS``.

Each entry's ``onnx`` lists the ONNX op types it usually exports to; together the entries cover
every ONNX op named in the ISSTA 2024 mismatch sequences (a test checks this). ``dtypes`` is
deliberately generous: the generator probe-runs each candidate in eager PyTorch and rejects what
PyTorch itself rejects, so the table need not repeat PyTorch's kernel matrix.
"""

from __future__ import annotations

from fuzzer.ir import TensorSpec

from .spec import (
    ALL,
    FLOATS,
    INTS,
    NUMERIC,
    SIGNED,
    BuildContext,
    Choice,
    NewInput,
    OpSpec,
    Reject,
    binary,
    choice_of,
    float_in,
    keepdim,
    unary,
    with_attrs,
)

I_AND_BOOL = INTS | {"bool"}
FLOAT_OR_INT = NUMERIC


# ---------------------------------------------------------------------------------------------
# build functions for operators with structure
# ---------------------------------------------------------------------------------------------
def _reduce_dim(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    if r == 0 or ctx.maybe(0.2):
        dim = None
    elif ctx.maybe(0.25) and r >= 2:
        dims = sorted(ctx.rng.sample(range(r), ctx.rng.randint(2, r)))
        dim = tuple(dims)
    else:
        dim = ctx.dim()
    return Choice(attrs={"dim": dim, "keepdim": keepdim(ctx)})


def _reduce_one_dim(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"dim": ctx.dim(), "keepdim": keepdim(ctx)})


def _argreduce(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0 or ctx.maybe(0.15):
        return Choice(attrs={"dim": None, "keepdim": False})
    return Choice(attrs={"dim": ctx.dim(), "keepdim": keepdim(ctx)})


def _var(ctx: BuildContext) -> Choice:
    c = _reduce_dim(ctx)
    c.attrs["correction"] = ctx.rng.choice([0, 1])
    return c


def _norm(ctx: BuildContext) -> Choice:
    c = _reduce_dim(ctx)
    c.attrs["ord"] = ctx.rng.choice([2, 1, 3, float("inf")])
    return c


def _dim_only(ctx: BuildContext) -> Choice:
    return Choice(attrs={"dim": ctx.dim()})


def _cast(ctx: BuildContext) -> Choice:
    targets = [d for d in sorted(ALL) if d != ctx.spec.dtype]
    return Choice(attrs={"dtype": ctx.rng.choice(targets)})


def _where(ctx: BuildContext) -> Choice:
    cond_shape = _bshape(ctx)
    other = TensorSpec(_bshape(ctx), ctx.spec.dtype)
    cond = ctx.existing(lambda s: s.dtype == "bool" and s.shape == cond_shape) if ctx.maybe(0.5) else None
    return Choice(extra=[cond or NewInput(TensorSpec(cond_shape, "bool")), ctx.same_or_new(other, 0.4)])


def _bshape(ctx: BuildContext) -> tuple[int, ...]:
    from .spec import broadcast_shape_for

    return broadcast_shape_for(ctx.rng, ctx.spec.shape)


def _masked_fill(ctx: BuildContext) -> Choice:
    value = ctx.rng.choice([0.0, -1.0, 2.5, float("-inf")] if ctx.spec.dtype in FLOATS else [0, 1, -1])
    if ctx.spec.dtype == "uint8" and value == -1:
        value = 3
    if ctx.spec.dtype == "bool":
        value = True
    return Choice(extra=[NewInput(TensorSpec(_bshape(ctx), "bool"))], attrs={"value": value})


def _clamp(ctx: BuildContext) -> Choice:
    is_float = ctx.spec.dtype in FLOATS
    lo = round(ctx.rng.uniform(-2, 0), 2) if is_float else ctx.rng.randint(-3, 0)
    hi = round(ctx.rng.uniform(0, 2), 2) if is_float else ctx.rng.randint(0, 5)
    if ctx.spec.dtype == "uint8":
        lo = max(lo, 0)
    roll = ctx.rng.random()
    if roll < 0.2:
        lo = None
    elif roll < 0.4:
        hi = None
    elif roll < 0.5:
        lo, hi = hi, lo  # min > max: torch returns max everywhere; ONNX Clip too (since opset 12)
    return Choice(attrs={"min": lo, "max": hi})


def _lerp(ctx: BuildContext) -> Choice:
    return Choice(extra=[ctx.same_or_new(TensorSpec(_bshape(ctx), ctx.spec.dtype))], attrs={"weight": ctx.rng.choice([0.25, 0.5, 0.7])})


def _addcmul(ctx: BuildContext) -> Choice:
    a = ctx.same_or_new(TensorSpec(_bshape(ctx), ctx.spec.dtype))
    b = NewInput(TensorSpec(_bshape(ctx), ctx.spec.dtype))
    return Choice(extra=[a, b], attrs={"value": ctx.rng.choice([1.0, 0.5, -2.0])})


def _scalar(ctx: BuildContext) -> Choice:
    if ctx.spec.dtype in FLOATS:
        c = ctx.rng.choice([0.5, -1.5, 2.0, 3.0, 1e-3])
    elif ctx.spec.dtype == "bool":
        c = ctx.rng.choice([1, 2])
    else:
        c = ctx.rng.choice([1, 2, 3, 7])
    return Choice(attrs={"c": c})


def _pow_scalar(ctx: BuildContext) -> Choice:
    return Choice(attrs={"e": ctx.rng.choice([2, 3, 0.5, -1.0, 2.0, 0])})


def _round(ctx: BuildContext) -> Choice:
    return Choice(attrs={"decimals": ctx.rng.choice([0, 0, 1, 2, -1])})


def _softmax(ctx: BuildContext) -> Choice:
    return Choice(attrs={"dim": ctx.dim()})


def _reshape(ctx: BuildContext) -> Choice:
    n = ctx.spec.numel
    if n == 0:
        shape = (0, ctx.rng.randint(1, 3))
    else:
        shape = _factorize(ctx, n)
    if shape and ctx.maybe(0.3) and n > 0:
        k = ctx.rng.randrange(len(shape))
        shape = tuple(-1 if i == k else d for i, d in enumerate(shape))
    return Choice(attrs={"shape": shape})


def _factorize(ctx: BuildContext, n: int) -> tuple[int, ...]:
    rank = ctx.rng.randint(0 if n == 1 else 1, 5)
    dims = []
    rest = n
    for _ in range(max(rank - 1, 0)):
        divs = [d for d in range(1, min(rest, 8) + 1) if rest % d == 0]
        d = ctx.rng.choice(divs)
        dims.append(d)
        rest //= d
    if rank >= 1:
        dims.append(rest)
    ctx.rng.shuffle(dims)
    return tuple(dims)


def _flatten(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    if r == 0:
        return Choice(attrs={"start": 0, "end": -1})
    a = ctx.rng.randrange(r)
    b = ctx.rng.randrange(a, r)
    return Choice(attrs={"start": a, "end": b if ctx.maybe(0.6) else -1})


def _squeeze(ctx: BuildContext) -> Choice:
    ones = [i for i, d in enumerate(ctx.spec.shape) if d == 1]
    if ones and ctx.maybe(0.7):
        return Choice(attrs={"dim": ctx.rng.choice(ones)})
    return Choice(attrs={"dim": ctx.dim()})  # squeezing a non-1 dim is a no-op in torch


def _squeeze_dynamic(ctx: BuildContext) -> Choice:
    """Squeeze ``dim`` of a copy of the input whose shape ONNX shape inference cannot know: the
    input goes through a boolean-mask selection that keeps every element (data-dependent in the
    exported graph, the identity in value), then back to its shape with one dim as -1. The
    TorchScript exporter then lowers the squeeze to Shape-Gather-Equal-If."""
    if ctx.spec.rank == 0 or ctx.spec.numel == 0:
        raise Reject("needs rank >= 1 and no empty dim")
    ones = [i for i, d in enumerate(ctx.spec.shape) if d == 1]
    dim = ctx.rng.choice(ones) if ones and ctx.maybe(0.8) else ctx.rng.randrange(ctx.spec.rank)
    others = [i for i in range(ctx.spec.rank) if i != dim] or [dim]
    free = ctx.rng.choice(others)
    shape = tuple(-1 if i == free else d for i, d in enumerate(ctx.spec.shape))
    return Choice(attrs={"shape": shape, "dim": dim - ctx.spec.rank if ctx.maybe(0.3) else dim})


def _unsqueeze(ctx: BuildContext) -> Choice:
    if ctx.spec.rank >= 5:
        raise Reject("rank limit")
    r = ctx.spec.rank + 1
    d = ctx.rng.randrange(r)
    return Choice(attrs={"dim": d - r if ctx.maybe(0.3) else d})


def _transpose(ctx: BuildContext) -> Choice:
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    a, b = ctx.rng.sample(range(ctx.spec.rank), 2)
    return Choice(attrs={"dim0": a, "dim1": b})


def _permute(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    perm = list(range(ctx.spec.rank))
    ctx.rng.shuffle(perm)
    return Choice(attrs={"perm": tuple(perm)})


def _expand(ctx: BuildContext) -> Choice:
    shape = list(ctx.spec.shape)
    new = [ctx.rng.randint(2, 4) if d == 1 and ctx.maybe(0.7) else (-1 if ctx.maybe(0.3) else d) for d in shape]
    lead = ctx.rng.randint(0, max(0, min(2, 5 - len(shape))))
    new = [ctx.rng.randint(1, 3) for _ in range(lead)] + new
    return Choice(attrs={"shape": tuple(new)})


def _repeat(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank + ctx.rng.randint(0, 1)
    r = max(r, 1)
    return Choice(attrs={"reps": tuple(ctx.rng.choice([1, 1, 2, 3]) for _ in range(min(r, 5)))})


def _flip(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    dims = ctx.rng.sample(range(ctx.spec.rank), ctx.rng.randint(1, ctx.spec.rank))
    return Choice(attrs={"dims": tuple(sorted(dims))})


def _roll(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"shifts": ctx.rng.choice([1, -1, 2, 5]), "dim": ctx.dim()})


def _slice(ctx: BuildContext) -> Choice:
    """x[..., start:stop:step, ...] on one or two dims (Slice), sometimes an int index (Gather)."""
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    index: list = [None] * ctx.spec.rank
    for d in ctx.rng.sample(range(ctx.spec.rank), min(ctx.spec.rank, ctx.rng.randint(1, 2))):
        size = ctx.spec.shape[d]
        if size > 0 and ctx.maybe(0.2):
            index[d] = ctx.rng.randrange(-size, size)
            continue
        start = ctx.rng.choice([None, 0, 1, -2, -size - 3 if size else -1])
        stop = ctx.rng.choice([None, size, size - 1, 2, -1, size + 5])
        step = ctx.rng.choice([None, 1, 2, 3])
        index[d] = (start, stop, step)
    while index and index[-1] is None:
        index.pop()
    return Choice(attrs={"index": tuple(index)})


def _narrow(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.rng.randrange(ctx.spec.rank)
    size = ctx.spec.shape[d]
    start = ctx.rng.randint(0, size)
    length = ctx.rng.randint(0, size - start)
    return Choice(attrs={"dim": d, "start": start, "length": length})


def _stack(ctx: BuildContext) -> Choice:
    if ctx.spec.rank >= 5:
        raise Reject("rank limit")
    r = ctx.spec.rank + 1
    return Choice(extra=[ctx.same_or_new(ctx.spec, 0.5)], attrs={"dim": ctx.rng.randrange(-r, r)})


def _split(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.dim()
    size = max(1, ctx.spec.shape[d])
    return Choice(attrs={"size": ctx.rng.randint(1, max(1, (size + 1) // 2)), "dim": d})


def _chunk(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"chunks": ctx.rng.randint(1, 3), "dim": ctx.dim()})


def _gather(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.rng.randrange(ctx.spec.rank)
    if ctx.spec.shape[d] == 0:
        raise Reject("empty gather dim")
    shape = tuple(ctx.rng.randint(1, s) if (i != d and s > 0) else (ctx.rng.randint(1, 4) if i == d else s) for i, s in enumerate(ctx.spec.shape))
    return Choice(extra=[NewInput(TensorSpec(shape, "int64"), "index", ctx.spec.shape[d])], attrs={"dim": d})


def _index_select(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.rng.randrange(ctx.spec.rank)
    if ctx.spec.shape[d] == 0:
        raise Reject("empty dim")
    return Choice(extra=[NewInput(TensorSpec((ctx.rng.randint(1, 5),), "int64"), "index", ctx.spec.shape[d])], attrs={"dim": d})


def _embedding(ctx: BuildContext) -> Choice:
    # primary is the index tensor; the weight is a parameter
    num, dim = ctx.rng.randint(2, 10), ctx.rng.randint(1, 6)
    dtype = ctx.rng.choice(["float32", "float32", "float64", "float16"])
    return Choice(primary=NewInput(ctx.spec.with_dtype("int64"), "index", num), params=[ctx.param((num, dim), dtype)])


def _triu(ctx: BuildContext) -> Choice:
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    return Choice(attrs={"diagonal": ctx.rng.choice([0, 0, 1, -1, 2, -3])})


def _pad(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    mode = ctx.rng.choice(["constant", "constant", "reflect", "replicate", "circular"])
    if mode != "constant":
        if r < 2 or r > 5:
            raise Reject("non-constant pad needs rank 2..5")
        k = ctx.rng.randint(1, min(3, r - 1))  # number of padded trailing dims (batch/channel excluded)
        pads = []
        for i in range(k):
            size = ctx.spec.shape[r - 1 - i]
            hi = size - 1 if mode == "reflect" else (size if mode == "circular" else 3)
            pads += [ctx.rng.randint(0, max(0, hi)), ctx.rng.randint(0, max(0, hi))]
        return Choice(attrs={"pad": tuple(pads), "mode": mode, "value": None})
    if r == 0:
        raise Reject("needs rank >= 1")
    k = ctx.rng.randint(1, r)
    pads = []
    for i in range(k):
        pads += [ctx.rng.randint(-1 if ctx.spec.shape[r - 1 - i] > 2 else 0, 2), ctx.rng.randint(0, 2)]
    value = ctx.rng.choice([0.0, 1.5, -2.0]) if ctx.spec.dtype in FLOATS else ctx.rng.choice([0, 1])
    return Choice(attrs={"pad": tuple(pads), "mode": "constant", "value": value})


def _interpolate(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    if r not in (3, 4, 5):
        raise Reject("interpolate needs rank 3..5")
    spatial = r - 2
    modes = ["nearest", "nearest-exact", "area"] + {1: ["linear"], 2: ["bilinear", "bicubic"], 3: ["trilinear"]}[spatial]
    mode = ctx.rng.choice(modes)
    attrs: dict = {"mode": mode, "size": None, "scale_factor": None, "align_corners": None}
    if ctx.maybe(0.5):
        attrs["size"] = tuple(ctx.rng.randint(1, 6) for _ in range(spatial))
    else:
        attrs["scale_factor"] = ctx.rng.choice([2.0, 0.5, 1.5, 3.0, 0.75])
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        attrs["align_corners"] = ctx.rng.choice([False, True])
    return Choice(attrs=attrs)


def _topk(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.dim()
    size = ctx.spec.shape[d]
    return Choice(attrs={"k": ctx.rng.randint(0, size), "dim": d, "largest": ctx.maybe(0.7), "sorted": True})


def _sort(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"dim": ctx.dim(), "descending": ctx.maybe()})


def _matmul(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    if r == 0:
        raise Reject("needs rank >= 1")
    k = ctx.spec.shape[-1]
    n = ctx.rng.randint(1, 5)
    if r == 1 or ctx.maybe(0.2):
        other = (k,) if ctx.maybe(0.3) else (k, n)
    else:
        batch = ctx.spec.shape[:-2]
        if batch and ctx.maybe(0.3):
            batch = batch[ctx.rng.randrange(len(batch) + 1):]
        other = tuple(batch) + (k, n)
    return Choice(extra=[ctx.same_or_new(TensorSpec(other, ctx.spec.dtype), 0.3)])


def _linear(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    k = ctx.spec.shape[-1]
    n = ctx.rng.randint(1, 6)
    return Choice(params=[ctx.param((n, k)), ctx.param((n,))])


def _conv(nd: int):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank != nd + 2:
            raise Reject(f"conv{nd}d needs rank {nd + 2}")
        cin = ctx.spec.shape[1]
        if cin == 0:
            raise Reject("no channels")
        groups = ctx.rng.choice([g for g in (1, 1, 2, 3, cin) if cin % g == 0])
        cout = groups * ctx.rng.randint(1, 3)
        kernel = tuple(ctx.rng.randint(1, 3) for _ in range(nd))
        stride = ctx.rng.choice([1, 1, 2])
        padding = ctx.rng.choice([0, 1, "same"] if stride == 1 else [0, 1])
        dilation = ctx.rng.choice([1, 1, 2])
        params = [ctx.param((cout, cin // groups) + kernel)]
        return Choice(params=params, attrs={"stride": stride, "padding": padding, "dilation": dilation, "groups": groups})

    return build


def _conv_transpose2d(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    cin = ctx.spec.shape[1]
    if cin == 0:
        raise Reject("no channels")
    cout = ctx.rng.randint(1, 3)
    k = ctx.rng.randint(1, 3)
    stride = ctx.rng.choice([1, 2])
    padding = ctx.rng.randint(0, k - 1)
    output_padding = ctx.rng.randint(0, stride - 1)
    return Choice(params=[ctx.param((cin, cout, k, k))], attrs={"stride": stride, "padding": padding, "output_padding": output_padding})


def _pool(nd: int, kind: str):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (nd + 1, nd + 2):
            raise Reject(f"pool{nd}d needs rank {nd + 1} or {nd + 2}")
        k = ctx.rng.randint(1, 3)
        stride = ctx.rng.choice([None, 1, 2])
        padding = ctx.rng.randint(0, k // 2)
        attrs = {"kernel": k, "stride": stride, "padding": padding, "ceil_mode": ctx.maybe(0.3)}
        if kind == "max":
            attrs["dilation"] = ctx.rng.choice([1, 1, 2])
        else:
            attrs["count_include_pad"] = ctx.maybe(0.5)
        return Choice(attrs=attrs)

    return build


def _adaptive(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (3, 4):
        raise Reject("needs rank 3 or 4")
    return Choice(attrs={"size": ctx.rng.choice([1, 2, 3, (1, 2), (2, 3)])})


def _batch_norm(ctx: BuildContext) -> Choice:
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    c = ctx.spec.shape[1]
    dt = ctx.spec.dtype
    params = [ctx.param((c,), dt, "normal"), ctx.param((c,), dt, "positive"), ctx.param((c,), dt, "normal"), ctx.param((c,), dt, "normal")]
    return Choice(params=params, attrs={"eps": ctx.rng.choice([1e-5, 1e-3, 0.1])})


def group_count(ctx: BuildContext) -> int:
    """A number of groups that divides the channel dim (dim 1) of the primary input."""
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    c = ctx.spec.shape[1]
    groups = [g for g in range(1, c + 1) if c % g == 0]
    if not groups:
        raise Reject("no channels")
    return ctx.rng.choice(groups)


def _group_norm(ctx: BuildContext) -> Choice:
    groups = group_count(ctx)
    c = ctx.spec.shape[1]
    return Choice(params=[ctx.param((c,)), ctx.param((c,))], attrs={"groups": groups, "eps": 1e-5})


def _instance_norm(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (3, 4, 5):
        raise Reject("needs rank 3..5")
    return Choice(attrs={"eps": ctx.rng.choice([1e-5, 1e-3])})


def _prelu(ctx: BuildContext) -> Choice:
    c = ctx.spec.shape[1] if ctx.spec.rank >= 2 and ctx.maybe(0.6) else 1
    return Choice(params=[ctx.param((c,), ctx.spec.dtype, "uniform")])


def _one_hot(ctx: BuildContext) -> Choice:
    n = ctx.rng.randint(1, 6)
    return Choice(primary=NewInput(ctx.spec.with_dtype("int64"), "index", n), attrs={"num_classes": n})


def _cumsum(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        return Choice(attrs={"dim": 0})
    return Choice(attrs={"dim": ctx.dim()})


def _div(ctx: BuildContext) -> Choice:
    # divisor away from 0 (ints: division by zero is undefined; floats: a divisor near 0 makes the
    # quotient ill-conditioned); special mode still sprinkles +-0.0 into float divisors
    c = binary(NUMERIC, domain="nonzero")(ctx)
    c.attrs["rounding_mode"] = ctx.rng.choice([None, None, "trunc", "floor"])
    return c


def _threshold(ctx: BuildContext) -> Choice:
    return Choice(attrs={"threshold": ctx.rng.choice([0.0, 0.5, -1.0]), "value": ctx.rng.choice([0.0, -2.0, 7.0])})


def _pixel_shuffle(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    r = ctx.rng.choice([f for f in (1, 2, 3) if ctx.spec.shape[1] % (f * f) == 0])
    return Choice(attrs={"r": r})


def _scaled_dot_product(ctx: BuildContext) -> Choice:
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    k = TensorSpec(ctx.spec.shape, ctx.spec.dtype)
    return Choice(extra=[ctx.same_or_new(k, 0.3), ctx.same_or_new(k, 0.3)], attrs={"is_causal": ctx.maybe(0.3)})


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
def _u(name: str, template: str, onnx: tuple[str, ...], dtypes=FLOATS | INTS, domain: str = "any", family: str = "elementwise", weight: float = 1.0) -> OpSpec:
    return OpSpec(name=name, template=template, dtypes=frozenset(dtypes), build=unary, onnx=onnx, domain=domain, family=family, weight=weight)


F = "torch.nn.functional."

OPS: tuple[OpSpec, ...] = (
    # -- unary math (ints promote to float: exporters insert Cast) ---------------------------
    _u("abs", "torch.abs({0})", ("Abs",), NUMERIC),
    _u("neg", "torch.neg({0})", ("Neg",), SIGNED),
    _u("sign", "torch.sign({0})", ("Sign",), NUMERIC | {"bool"}),
    _u("sin", "torch.sin({0})", ("Sin",)),
    _u("cos", "torch.cos({0})", ("Cos",)),
    # |x| < 0.95 keeps tan away from its poles at +-pi/2 (condition number unbounded there)
    _u("tan", "torch.tan({0})", ("Tan",), domain="unit"),
    _u("asin", "torch.asin({0})", ("Asin",), domain="unit"),
    _u("acos", "torch.acos({0})", ("Acos",), domain="unit"),
    _u("atan", "torch.atan({0})", ("Atan",)),
    _u("sinh", "torch.sinh({0})", ("Sinh",), domain="small"),
    _u("cosh", "torch.cosh({0})", ("Cosh",), domain="small"),
    _u("tanh", "torch.tanh({0})", ("Tanh",)),
    _u("asinh", "torch.asinh({0})", ("Asinh",)),
    _u("acosh", "torch.acosh({0})", ("Acosh",), domain="ge1"),
    _u("atanh", "torch.atanh({0})", ("Atanh",), domain="unit"),
    _u("exp", "torch.exp({0})", ("Exp",), domain="small"),
    _u("expm1", "torch.expm1({0})", ("Exp", "Sub"), domain="small"),
    _u("log", "torch.log({0})", ("Log",), domain="positive"),
    _u("log2", "torch.log2({0})", ("Log", "Div"), domain="positive"),
    _u("log1p", "torch.log1p({0})", ("Add", "Log"), domain="positive"),
    _u("sqrt", "torch.sqrt({0})", ("Sqrt",), domain="positive"),
    _u("rsqrt", "torch.rsqrt({0})", ("Sqrt", "Reciprocal"), domain="positive"),
    _u("reciprocal", "torch.reciprocal({0})", ("Reciprocal",), domain="nonzero"),
    _u("sigmoid", "torch.sigmoid({0})", ("Sigmoid",)),
    _u("erf", "torch.erf({0})", ("Erf",)),
    _u("floor", "torch.floor({0})", ("Floor",), NUMERIC),
    _u("ceil", "torch.ceil({0})", ("Ceil",), NUMERIC),
    _u("trunc", "torch.trunc({0})", ("Floor", "Ceil", "Where"), NUMERIC),
    _u("frac", "torch.frac({0})", ("Sub",), FLOATS),
    _u("square", "torch.square({0})", ("Mul", "Pow"), NUMERIC),
    OpSpec("round", "torch.round({0}, decimals={decimals})", FLOATS, _round, onnx=("Round", "Mul", "Div")),
    _u("isnan", "torch.isnan({0})", ("IsNaN",), NUMERIC),
    _u("isinf", "torch.isinf({0})", ("IsInf",), NUMERIC),
    _u("isfinite", "torch.isfinite({0})", ("IsNaN", "IsInf", "Not")),
    _u("logical_not", "torch.logical_not({0})", ("Not",), ALL),
    _u("bitwise_not", "torch.bitwise_not({0})", ("BitwiseNot", "Not"), I_AND_BOOL),
    # -- activations ---------------------------------------------------------------------------
    _u("relu", F + "relu({0})", ("Relu",), NUMERIC, family="activation"),
    _u("relu6", F + "relu6({0})", ("Clip",), NUMERIC, family="activation"),
    OpSpec("elu", F + "elu({0}, alpha={alpha})", FLOATS, with_attrs(alpha=choice_of(1.0, 0.5, 2.0)), family="activation", onnx=("Elu",)),
    _u("selu", F + "selu({0})", ("Selu",), FLOATS, family="activation"),
    OpSpec("celu", F + "celu({0}, alpha={alpha})", FLOATS, with_attrs(alpha=choice_of(1.0, 0.5, 2.0)), family="activation", onnx=("Celu",)),
    OpSpec("gelu", F + "gelu({0}, approximate={approximate})", FLOATS, with_attrs(approximate=choice_of("none", "tanh")), family="activation", onnx=("Gelu", "Erf", "Tanh")),
    OpSpec("leaky_relu", F + "leaky_relu({0}, negative_slope={slope})", FLOATS, with_attrs(slope=choice_of(0.01, 0.2, -0.5, 1.5)), family="activation", onnx=("LeakyRelu",)),
    OpSpec("hardtanh", F + "hardtanh({0}, min_val={lo}, max_val={hi})", FLOATS | INTS - {"uint8"}, with_attrs(lo=choice_of(-1.0, -2.0, 0.0), hi=choice_of(1.0, 0.5, 3.0)), family="activation", onnx=("Clip",)),
    _u("hardsigmoid", F + "hardsigmoid({0})", ("HardSigmoid",), FLOATS, family="activation"),
    _u("hardswish", F + "hardswish({0})", ("HardSwish",), FLOATS, family="activation"),
    OpSpec("softplus", F + "softplus({0}, beta={beta}, threshold={threshold})", FLOATS, with_attrs(beta=choice_of(1.0, 2.0, 0.5), threshold=choice_of(20.0, 1.0, 5.0)), family="activation", onnx=("Softplus",)),
    _u("softsign", F + "softsign({0})", ("Softsign", "Abs", "Div"), FLOATS, family="activation"),
    _u("mish", F + "mish({0})", ("Mish", "Softplus", "Tanh"), FLOATS, family="activation"),
    _u("silu", F + "silu({0})", ("Sigmoid", "Mul"), FLOATS, family="activation"),
    _u("logsigmoid", F + "logsigmoid({0})", ("Sigmoid", "Log"), FLOATS, family="activation"),
    OpSpec("hardshrink", F + "hardshrink({0}, lambd={lambd})", FLOATS, with_attrs(lambd=choice_of(0.5, 1.0)), family="activation", onnx=("Shrink",)),
    OpSpec("softshrink", F + "softshrink({0}, lambd={lambd})", FLOATS, with_attrs(lambd=choice_of(0.5, 1.0)), family="activation", onnx=("Shrink",)),
    OpSpec("threshold", F + "threshold({0}, {threshold}, {value})", FLOATS, _threshold, family="activation", onnx=("Greater", "Where")),
    OpSpec("prelu", F + "prelu({0}, {p0})", FLOATS, _prelu, family="activation", onnx=("PRelu",)),
    OpSpec("softmax", F + "softmax({0}, dim={dim})", FLOATS, _softmax, ranks=(1, 5), family="activation", onnx=("Softmax",)),
    OpSpec("log_softmax", F + "log_softmax({0}, dim={dim})", FLOATS, _softmax, ranks=(1, 5), family="activation", onnx=("LogSoftmax",)),
    # -- binary elementwise (broadcasting; occasional mixed dtypes -> type promotion -> Cast) ---
    OpSpec("add", "torch.add({0}, {1})", NUMERIC | {"bool"}, binary(NUMERIC), onnx=("Add",), weight=1.5),
    OpSpec("sub", "torch.sub({0}, {1})", NUMERIC, binary(NUMERIC), onnx=("Sub",), weight=1.5),
    OpSpec("mul", "torch.mul({0}, {1})", NUMERIC | {"bool"}, binary(NUMERIC), onnx=("Mul",), weight=1.5),
    OpSpec("div", "torch.div({0}, {1}, rounding_mode={rounding_mode})", NUMERIC, _div, onnx=("Div", "Floor", "Cast")),
    OpSpec("remainder", "torch.remainder({0}, {1})", NUMERIC, binary(None, domain="nonzero"), onnx=("Mod",)),
    OpSpec("fmod", "torch.fmod({0}, {1})", NUMERIC, binary(None, domain="nonzero"), onnx=("Mod",)),
    OpSpec("floor_divide", "torch.floor_divide({0}, {1})", NUMERIC, binary(None, domain="nonzero"), onnx=("Div", "Floor")),
    OpSpec("pow", "torch.pow({0}, {1})", FLOATS, binary(FLOATS, domain="small"), domain="positive", onnx=("Pow",)),
    OpSpec("pow_scalar", "torch.pow({0}, {e})", NUMERIC, _pow_scalar, onnx=("Pow",)),
    OpSpec("maximum", "torch.maximum({0}, {1})", NUMERIC, binary(None), onnx=("Max",)),
    OpSpec("minimum", "torch.minimum({0}, {1})", NUMERIC, binary(None), onnx=("Min",)),
    OpSpec("atan2", "torch.atan2({0}, {1})", FLOATS, binary(None), onnx=("Atan", "Div", "Where")),
    OpSpec("add_scalar", "({0} + {c})", NUMERIC, _scalar, onnx=("Add",)),
    OpSpec("mul_scalar", "({0} * {c})", NUMERIC, _scalar, onnx=("Mul",)),
    OpSpec("rsub_scalar", "({c} - {0})", NUMERIC, _scalar, onnx=("Sub",)),
    # -- comparisons and logic ---------------------------------------------------------------------
    OpSpec("eq", "torch.eq({0}, {1})", ALL, binary(ALL), onnx=("Equal",)),
    OpSpec("ne", "torch.ne({0}, {1})", ALL, binary(ALL), onnx=("Equal", "Not")),
    OpSpec("lt", "torch.lt({0}, {1})", NUMERIC, binary(NUMERIC), onnx=("Less",)),
    OpSpec("le", "torch.le({0}, {1})", NUMERIC, binary(NUMERIC), onnx=("LessOrEqual",)),
    OpSpec("gt", "torch.gt({0}, {1})", NUMERIC, binary(NUMERIC), onnx=("Greater",)),
    OpSpec("ge", "torch.ge({0}, {1})", NUMERIC, binary(NUMERIC), onnx=("GreaterOrEqual",)),
    OpSpec("logical_and", "torch.logical_and({0}, {1})", ALL, binary(ALL), onnx=("And", "Cast")),
    OpSpec("logical_or", "torch.logical_or({0}, {1})", ALL, binary(ALL), onnx=("Or", "Cast")),
    OpSpec("logical_xor", "torch.logical_xor({0}, {1})", ALL, binary(ALL), onnx=("Xor", "Cast")),
    OpSpec("bitwise_and", "torch.bitwise_and({0}, {1})", I_AND_BOOL, binary(None), onnx=("BitwiseAnd", "And")),
    OpSpec("bitwise_or", "torch.bitwise_or({0}, {1})", I_AND_BOOL, binary(None), onnx=("BitwiseOr", "Or")),
    # -- selection ---------------------------------------------------------------------------------
    OpSpec("where", "torch.where({1}, {0}, {2})", ALL, _where, onnx=("Where",), weight=1.5),
    OpSpec("masked_fill", "{0}.masked_fill({1}, {value})", ALL, _masked_fill, onnx=("Where",)),
    OpSpec("clamp", "torch.clamp({0}, min={min}, max={max})", NUMERIC, _clamp, onnx=("Clip",), weight=1.5),
    OpSpec("lerp", "torch.lerp({0}, {1}, {weight})", FLOATS, _lerp, onnx=("Sub", "Mul", "Add")),
    OpSpec("addcmul", "torch.addcmul({0}, {1}, {2}, value={value})", FLOATS, _addcmul, onnx=("Mul", "Add")),
    # -- dtype conversion --------------------------------------------------------------------------
    OpSpec("to", "{0}.to({dtype:dtype})", ALL, _cast, onnx=("Cast",), family="cast", weight=2.0),
    # -- reductions --------------------------------------------------------------------------------
    OpSpec("sum", "torch.sum({0}, dim={dim}, keepdim={keepdim})", ALL, _reduce_dim, family="reduction", onnx=("ReduceSum",)),
    OpSpec("mean", "torch.mean({0}, dim={dim}, keepdim={keepdim})", FLOATS, _reduce_dim, family="reduction", onnx=("ReduceMean",)),
    OpSpec("prod", "torch.prod({0}, dim={dim}, keepdim={keepdim})", NUMERIC, _reduce_one_dim, family="reduction", onnx=("ReduceProd",)),
    OpSpec("amax", "torch.amax({0}, dim={dim}, keepdim={keepdim})", NUMERIC | {"bool"}, _reduce_dim, family="reduction", onnx=("ReduceMax",)),
    OpSpec("amin", "torch.amin({0}, dim={dim}, keepdim={keepdim})", NUMERIC | {"bool"}, _reduce_dim, family="reduction", onnx=("ReduceMin",)),
    OpSpec("max_dim", "torch.max({0}, dim={dim}, keepdim={keepdim})", NUMERIC, _reduce_one_dim, family="reduction", onnx=("ReduceMax", "ArgMax"), n_outputs=2, returns_tuple=True),
    OpSpec("min_dim", "torch.min({0}, dim={dim}, keepdim={keepdim})", NUMERIC, _reduce_one_dim, family="reduction", onnx=("ReduceMin", "ArgMin"), n_outputs=2, returns_tuple=True),
    OpSpec("argmax", "torch.argmax({0}, dim={dim}, keepdim={keepdim})", NUMERIC, _argreduce, family="reduction", onnx=("ArgMax",)),
    OpSpec("argmin", "torch.argmin({0}, dim={dim}, keepdim={keepdim})", NUMERIC, _argreduce, family="reduction", onnx=("ArgMin",)),
    OpSpec("logsumexp", "torch.logsumexp({0}, dim={dim}, keepdim={keepdim})", FLOATS, _reduce_one_dim, family="reduction", onnx=("ReduceLogSumExp", "ReduceMax")),
    OpSpec("vector_norm", "torch.linalg.vector_norm({0}, ord={ord}, dim={dim}, keepdim={keepdim})", FLOATS, _norm, family="reduction", onnx=("ReduceL2", "ReduceL1")),
    OpSpec("var", "torch.var({0}, dim={dim}, correction={correction}, keepdim={keepdim})", FLOATS, _var, family="reduction", onnx=("ReduceMean", "Sub", "Mul")),
    OpSpec("std", "torch.std({0}, dim={dim}, correction={correction}, keepdim={keepdim})", FLOATS, _var, family="reduction", onnx=("ReduceMean", "Sqrt")),
    OpSpec("all", "torch.all({0}, dim={dim}, keepdim={keepdim})", ALL, _reduce_one_dim, family="reduction", onnx=("ReduceMin", "Cast")),
    OpSpec("any", "torch.any({0}, dim={dim}, keepdim={keepdim})", ALL, _reduce_one_dim, family="reduction", onnx=("ReduceMax", "Cast")),
    OpSpec("cumsum", "torch.cumsum({0}, dim={dim})", NUMERIC, _cumsum, family="reduction", onnx=("CumSum",)),
    # -- shape and layout --------------------------------------------------------------------------
    OpSpec("reshape", "torch.reshape({0}, {shape})", ALL, _reshape, family="shape", onnx=("Reshape",)),
    OpSpec("reshape_dynamic", "{0}.reshape({0}.size(0), -1)", ALL, unary, ranks=(1, 5), family="shape", onnx=("Shape", "Slice", "Gather", "Concat", "Reshape")),
    OpSpec("flatten", "torch.flatten({0}, {start}, {end})", ALL, _flatten, family="shape", onnx=("Flatten", "Reshape")),
    OpSpec("squeeze", "torch.squeeze({0}, {dim})", ALL, _squeeze, family="shape", onnx=("Squeeze",)),
    _u("squeeze_all", "torch.squeeze({0})", ("Squeeze",), ALL, family="shape"),
    OpSpec("squeeze_dynamic", "torch.squeeze({0}[torch.ones_like({0}, dtype=torch.bool)].reshape{shape}, {dim})", ALL, _squeeze_dynamic, family="shape", onnx=("NonZero", "GatherND", "Reshape", "Shape", "Gather", "Equal", "If", "Squeeze"), weight=0.5),
    OpSpec("unsqueeze", "torch.unsqueeze({0}, {dim})", ALL, _unsqueeze, family="shape", onnx=("Unsqueeze",)),
    OpSpec("transpose", "torch.transpose({0}, {dim0}, {dim1})", ALL, _transpose, family="shape", onnx=("Transpose",)),
    OpSpec("permute", "{0}.permute{perm}", ALL, _permute, family="shape", onnx=("Transpose",)),
    OpSpec("expand", "{0}.expand{shape}", ALL, _expand, family="shape", onnx=("Expand",)),
    OpSpec("expand_as", "{0}.expand_as({1})", ALL, lambda ctx: Choice(extra=[NewInput(TensorSpec((2,) + ctx.spec.shape, ctx.spec.dtype))]) if ctx.spec.rank < 5 else Choice(extra=[NewInput(ctx.spec)]), family="shape", onnx=("Shape", "Expand")),
    OpSpec("repeat", "{0}.repeat{reps}", ALL, _repeat, family="shape", onnx=("Tile",)),
    OpSpec("flip", "torch.flip({0}, {dims})", ALL, _flip, family="shape", onnx=("Slice",)),
    OpSpec("roll", "torch.roll({0}, {shifts}, {dim})", ALL, _roll, family="shape", onnx=("Slice", "Concat")),
    OpSpec("slice", "{0}[{index:index}]", ALL, _slice, family="shape", onnx=("Slice", "Gather")),
    OpSpec("narrow", "torch.narrow({0}, {dim}, {start}, {length})", ALL, _narrow, family="shape", onnx=("Slice",)),
    OpSpec("cat", "torch.cat(({0}, {1}), dim={dim})", ALL, lambda ctx: _cat_fixed(ctx, 1), family="shape", onnx=("Concat",)),
    OpSpec("cat3", "torch.cat(({0}, {1}, {2}), dim={dim})", ALL, lambda ctx: _cat_fixed(ctx, 2), family="shape", onnx=("Concat",)),
    OpSpec("stack", "torch.stack(({0}, {1}), dim={dim})", ALL, _stack, family="shape", onnx=("Unsqueeze", "Concat")),
    OpSpec("split", "torch.split({0}, {size}, dim={dim})", ALL, _split, family="shape", onnx=("Split",), returns_tuple=True),
    OpSpec("chunk", "torch.chunk({0}, {chunks}, dim={dim})", ALL, _chunk, family="shape", onnx=("Split", "Slice"), returns_tuple=True),
    OpSpec("gather", "torch.gather({0}, {dim}, {1})", ALL, _gather, family="index", onnx=("GatherElements",)),
    OpSpec("index_select", "torch.index_select({0}, {dim}, {1})", ALL, _index_select, family="index", onnx=("Gather",)),
    OpSpec("embedding", F + "embedding({0}, {p0})", frozenset({"int64"}), _embedding, domain="index", family="index", onnx=("Gather",)),
    OpSpec("one_hot", F + "one_hot({0}, {num_classes})", frozenset({"int64"}), _one_hot, domain="index", family="index", onnx=("OneHot",)),
    OpSpec("triu", "torch.triu({0}, {diagonal})", ALL, _triu, ranks=(2, 5), family="shape", onnx=("Trilu",)),
    OpSpec("tril", "torch.tril({0}, {diagonal})", ALL, _triu, ranks=(2, 5), family="shape", onnx=("Trilu",)),
    OpSpec("pad", F + "pad({0}, {pad}, mode={mode}, value={value})", ALL, _pad, family="shape", onnx=("Pad",)),
    OpSpec("interpolate", F + "interpolate({0}, size={size}, scale_factor={scale_factor}, mode={mode}, align_corners={align_corners})", FLOATS, _interpolate, ranks=(3, 5), family="resize", onnx=("Resize",)),
    OpSpec("pixel_shuffle", F + "pixel_shuffle({0}, {r})", ALL, _pixel_shuffle, ranks=(4, 4), family="shape", onnx=("DepthToSpace", "Reshape", "Transpose")),
    OpSpec("topk", "torch.topk({0}, {k}, dim={dim}, largest={largest}, sorted={sorted})", NUMERIC, _topk, family="sort", onnx=("TopK",), n_outputs=2, returns_tuple=True),
    OpSpec("sort", "torch.sort({0}, dim={dim}, descending={descending})", NUMERIC, _sort, family="sort", onnx=("TopK",), n_outputs=2, returns_tuple=True),
    OpSpec("argsort", "torch.argsort({0}, dim={dim}, descending={descending})", NUMERIC, _sort, family="sort", onnx=("TopK",)),
    # -- linear algebra and nn ---------------------------------------------------------------------
    OpSpec("matmul", "torch.matmul({0}, {1})", FLOATS | {"int64", "int32"}, _matmul, family="linalg", onnx=("MatMul",), weight=1.5),
    OpSpec("linear", F + "linear({0}, {p0}, {p1})", FLOATS, lambda ctx: _linear(ctx), family="linalg", onnx=("Gemm", "MatMul", "Add")),
    OpSpec("linear_nobias", F + "linear({0}, {p0})", FLOATS, lambda ctx: _linear_nobias(ctx), family="linalg", onnx=("MatMul",)),
    OpSpec("conv1d", F + "conv1d({0}, {p0}, stride={stride}, padding={padding}, dilation={dilation}, groups={groups})", FLOATS, _conv(1), ranks=(3, 3), family="conv", onnx=("Conv",)),
    OpSpec("conv2d", F + "conv2d({0}, {p0}, {p1}, stride={stride}, padding={padding}, dilation={dilation}, groups={groups})", FLOATS, lambda ctx: _conv_bias(ctx, 2), ranks=(4, 4), family="conv", onnx=("Conv",), weight=1.5),
    OpSpec("conv3d", F + "conv3d({0}, {p0}, stride={stride}, padding={padding}, dilation={dilation}, groups={groups})", FLOATS, _conv(3), ranks=(5, 5), family="conv", onnx=("Conv",)),
    OpSpec("conv_transpose2d", F + "conv_transpose2d({0}, {p0}, stride={stride}, padding={padding}, output_padding={output_padding})", FLOATS, _conv_transpose2d, ranks=(4, 4), family="conv", onnx=("ConvTranspose",)),
    OpSpec("max_pool1d", F + "max_pool1d({0}, {kernel}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})", FLOATS, _pool(1, "max"), ranks=(2, 3), family="pool", onnx=("MaxPool",)),
    OpSpec("max_pool2d", F + "max_pool2d({0}, {kernel}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})", FLOATS, _pool(2, "max"), ranks=(3, 4), family="pool", onnx=("MaxPool",)),
    OpSpec("avg_pool1d", F + "avg_pool1d({0}, {kernel}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad})", FLOATS, _pool(1, "avg"), ranks=(2, 3), family="pool", onnx=("AveragePool",)),
    OpSpec("avg_pool2d", F + "avg_pool2d({0}, {kernel}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad})", FLOATS, _pool(2, "avg"), ranks=(3, 4), family="pool", onnx=("AveragePool", "Pad")),
    OpSpec("adaptive_avg_pool2d", F + "adaptive_avg_pool2d({0}, {size})", FLOATS, _adaptive, ranks=(3, 4), family="pool", onnx=("GlobalAveragePool", "AveragePool")),
    OpSpec("batch_norm", F + "batch_norm({0}, {p0}, {p1}, {p2}, {p3}, training=False, eps={eps})", FLOATS, _batch_norm, ranks=(2, 5), family="norm", onnx=("BatchNormalization",)),
    OpSpec("layer_norm", F + "layer_norm({0}, {normalized_shape}, eps={eps})", FLOATS, lambda ctx: _layer_norm_plain(ctx), family="norm", onnx=("LayerNormalization",)),
    OpSpec("group_norm", F + "group_norm({0}, {groups}, {p0}, {p1}, eps={eps})", FLOATS, _group_norm, ranks=(2, 5), family="norm", onnx=("GroupNormalization", "InstanceNormalization")),
    OpSpec("instance_norm", F + "instance_norm({0}, eps={eps})", FLOATS, _instance_norm, ranks=(3, 5), family="norm", onnx=("InstanceNormalization",)),
    OpSpec("dropout_eval", F + "dropout({0}, p=0.5, training=False)", FLOATS, unary, family="activation", onnx=()),
    OpSpec("scaled_dot_product_attention", F + "scaled_dot_product_attention({0}, {1}, {2}, is_causal={is_causal})", FLOATS, _scaled_dot_product, ranks=(2, 4), family="attention", onnx=("MatMul", "Softmax", "Mul")),
)


def _cat_fixed(ctx: BuildContext, n_extra: int) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    d = ctx.dim()
    extra = []
    for _ in range(n_extra):
        shape = list(ctx.spec.shape)
        shape[d] = ctx.rng.randint(0, 3)
        extra.append(ctx.same_or_new(TensorSpec(tuple(shape), ctx.spec.dtype), 0.4))
    return Choice(extra=extra, attrs={"dim": d})


def _linear_nobias(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(params=[ctx.param((ctx.rng.randint(1, 6), ctx.spec.shape[-1]))])


def _conv_bias(ctx: BuildContext, nd: int) -> Choice:
    c = _conv(nd)(ctx)
    c.params.append(ctx.param((c.params[0].spec.shape[0],)))
    return c


def _layer_norm_plain(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    k = ctx.rng.randint(1, min(2, ctx.spec.rank))
    return Choice(attrs={"normalized_shape": tuple(ctx.spec.shape[-k:]), "eps": ctx.rng.choice([1e-5, 1e-3])})
