"""Composite ``torch.nn.functional`` operators, with their options sampled (not just defaults).

These are the calls users export every day whose conversion is a *decomposition* into several ONNX
ops (a loss into Log/Gather/ReduceMean..., attention into MatMul/Softmax/Where...), where an option
such as ``reduction``, ``ignore_index``, ``ceil_mode`` or ``align_corners`` is easily dropped.
Same contract as :mod:`fuzzer.catalog.ops`: each entry is a template, the primary input's dtypes
and ranks, and a ``build`` sampler; eager PyTorch's probe rejects what PyTorch itself rejects.
Names do not repeat the simpler entries of ``ops.py`` (``layer_norm``, ``interpolate``...); these
are the option-rich variants.
"""

from __future__ import annotations

from fuzzer.ir import TensorSpec

from .spec import FLOATS, BuildContext, Choice, NewInput, OpSpec, Reject

F = "torch.nn.functional."
REDUCTIONS = ("mean", "sum", "none")


def _reduction(ctx: BuildContext, extra: tuple[str, ...] = ()) -> str:
    return ctx.rng.choice(REDUCTIONS + extra)


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------
def _pointwise_loss(**more):
    """Loss of two same-shape inputs; ``more`` maps attribute names to option lists."""

    def build(ctx: BuildContext) -> Choice:
        attrs = {"reduction": _reduction(ctx)}
        attrs.update({k: ctx.rng.choice(v) for k, v in more.items()})
        return Choice(extra=[ctx.same_or_new(ctx.spec, 0.3)], attrs=attrs)

    return build


def _class_dim(ctx: BuildContext) -> tuple[int, tuple[int, ...]]:
    """(C, target shape) for class-index losses: input (C,) or (N, C, d1...)."""
    s = ctx.spec.shape
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    if ctx.spec.rank == 1:
        return s[0], ()
    return s[1], (s[0],) + s[2:]


def _cross_entropy(weighted: bool, probs: bool = False):
    def build(ctx: BuildContext) -> Choice:
        c, tshape = _class_dim(ctx)
        if c == 0:
            raise Reject("no classes")
        attrs = {"reduction": _reduction(ctx), "label_smoothing": ctx.rng.choice([0.0, 0.0, 0.1, 0.25])}
        if probs:
            target = NewInput(ctx.spec, "probability")
        else:
            target = NewInput(TensorSpec(tshape, "int64"), "index", c)
            attrs["ignore_index"] = ctx.rng.choice([-100, -100, 0, c - 1])
        params = [ctx.param((c,), ctx.spec.dtype, "positive")] if weighted else []
        return Choice(extra=[target], attrs=attrs, params=params)

    return build


def _nll_loss(ctx: BuildContext) -> Choice:
    c, tshape = _class_dim(ctx)
    if c == 0:
        raise Reject("no classes")
    return Choice(
        extra=[NewInput(TensorSpec(tshape, "int64"), "index", c)],
        attrs={"reduction": _reduction(ctx), "ignore_index": ctx.rng.choice([-100, 0, c - 1])},
    )


def _bce(ctx: BuildContext) -> Choice:
    """The input is always a fresh ``probability`` graph input, never an existing value: eager
    ``binary_cross_entropy`` raises unless every input element lies in [0, 1] (NaN included), a
    condition on *values*, not specs. A computed value that passed the generator's probe (a
    ``sigmoid``, a ``layer_norm`` that happened to land in range) fails on other inputs (NaN from
    ``special`` mode) or once the minimizer bypasses the op that kept it in range. Like the
    index-domain ops, the precondition is held by the input's domain instead."""
    params = [ctx.param(ctx.spec.shape[-1:] if ctx.spec.rank else (), ctx.spec.dtype, "positive")]
    return Choice(
        primary=NewInput(ctx.spec, "probability"), extra=[NewInput(ctx.spec, "probability")],
        attrs={"reduction": _reduction(ctx)}, params=params,
    )


def _bce_logits(ctx: BuildContext) -> Choice:
    last = ctx.spec.shape[-1:] if ctx.spec.rank else ()
    params = [ctx.param(last, ctx.spec.dtype, "positive"), ctx.param(last, ctx.spec.dtype, "positive")]
    return Choice(extra=[NewInput(ctx.spec, "probability")], attrs={"reduction": _reduction(ctx)}, params=params)


def _kl_div(ctx: BuildContext) -> Choice:
    log_target = ctx.maybe(0.4)
    target = NewInput(ctx.spec, "any" if log_target else "probability")
    return Choice(extra=[target], attrs={"reduction": _reduction(ctx, ("batchmean",)), "log_target": log_target})


def _margin_ranking(ctx: BuildContext) -> Choice:
    sign = NewInput(ctx.spec, "nonzero")  # +-1 in spirit; any nonzero value is accepted by both sides
    return Choice(extra=[ctx.same_or_new(ctx.spec, 0.3), sign], attrs={"margin": ctx.rng.choice([0.0, 0.5, 1.0]), "reduction": _reduction(ctx)})


def _triplet(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (1, 2):
        raise Reject("needs rank 1 or 2")
    return Choice(
        extra=[NewInput(ctx.spec), NewInput(ctx.spec)],
        attrs={"margin": ctx.rng.choice([1.0, 0.5]), "p": ctx.rng.choice([1.0, 2.0, 3.0]), "swap": ctx.maybe(0.4), "reduction": _reduction(ctx)},
    )


def _poisson_nll(ctx: BuildContext) -> Choice:
    log_input = ctx.maybe(0.6)
    return Choice(
        extra=[NewInput(ctx.spec, "positive")],
        attrs={"log_input": log_input, "full": ctx.maybe(0.4), "eps": ctx.rng.choice([1e-8, 1e-3]), "reduction": _reduction(ctx)},
    )


# ---------------------------------------------------------------------------------------------
# attention
# ---------------------------------------------------------------------------------------------
def _qkv(ctx: BuildContext) -> tuple[NewInput, NewInput, int, int]:
    """Key and value inputs for a query of shape (..., L, E): key (..., S, E), value (..., S, Ev)."""
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    *batch, L, E = ctx.spec.shape
    S = ctx.rng.choice([L, L, max(1, L - 1), L + 2])
    Ev = ctx.rng.choice([E, E, 3])
    k = NewInput(TensorSpec(tuple(batch) + (S, E), ctx.spec.dtype))
    v = NewInput(TensorSpec(tuple(batch) + (S, Ev), ctx.spec.dtype))
    return k, v, L, S


def _sdpa_mask(mask_dtype: str | None):
    def build(ctx: BuildContext) -> Choice:
        k, v, L, S = _qkv(ctx)
        dt = mask_dtype or ctx.spec.dtype
        # a mask of (L, S), or broadcast over the batch dims with leading 1s
        shape = (L, S) if ctx.maybe(0.6) else (1,) * (ctx.spec.rank - 2) + (L, S)
        mask = NewInput(TensorSpec(shape, dt), "any")
        return Choice(extra=[k, v, mask], attrs={"scale": ctx.rng.choice([None, None, 0.5, 0.125, 2.0])})

    return build


def _sdpa_causal(ctx: BuildContext) -> Choice:
    k, v, _, _ = _qkv(ctx)
    return Choice(extra=[k, v], attrs={"scale": ctx.rng.choice([None, 0.5, 0.125])})


# ---------------------------------------------------------------------------------------------
# normalization
# ---------------------------------------------------------------------------------------------
def _layer_norm_affine(with_bias: bool):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank == 0:
            raise Reject("needs rank >= 1")
        k = ctx.rng.randint(1, min(3, ctx.spec.rank))
        shape = tuple(ctx.spec.shape[-k:])
        params = [ctx.param(shape, ctx.spec.dtype, "uniform")] + ([ctx.param(shape, ctx.spec.dtype)] if with_bias else [])
        return Choice(params=params, attrs={"normalized_shape": shape, "eps": ctx.rng.choice([1e-5, 1e-3, 0.5])})

    return build


def _rms_norm(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    k = ctx.rng.randint(1, min(2, ctx.spec.rank))
    shape = tuple(ctx.spec.shape[-k:])
    return Choice(params=[ctx.param(shape, ctx.spec.dtype, "uniform")], attrs={"normalized_shape": shape, "eps": ctx.rng.choice([None, 1e-6, 0.1])})


def _group_norm_plain(ctx: BuildContext) -> Choice:
    from .ops import group_count

    return Choice(attrs={"groups": group_count(ctx), "eps": ctx.rng.choice([1e-5, 0.1])})


def _instance_norm_stats(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (3, 4, 5):
        raise Reject("needs rank 3..5")
    c = ctx.spec.shape[1]
    dt = ctx.spec.dtype
    params = [ctx.param((c,), dt), ctx.param((c,), dt, "positive"), ctx.param((c,), dt, "uniform"), ctx.param((c,), dt)]
    return Choice(params=params, attrs={"use_input_stats": ctx.maybe(0.6), "eps": ctx.rng.choice([1e-5, 0.1])})


def _lrn(ctx: BuildContext) -> Choice:
    if ctx.spec.rank < 3:
        raise Reject("needs rank >= 3")
    return Choice(attrs={"size": ctx.rng.choice([1, 2, 3, 5]), "alpha": ctx.rng.choice([1e-4, 0.1]), "beta": ctx.rng.choice([0.75, 0.5]), "k": ctx.rng.choice([1.0, 2.0])})


def _normalize(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"p": ctx.rng.choice([2.0, 1.0, 3.0, float("inf")]), "dim": ctx.dim(), "eps": ctx.rng.choice([1e-12, 1e-3])})


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
def _spatial(ctx: BuildContext, nd: int) -> tuple[int, ...]:
    if ctx.spec.rank not in (nd + 1, nd + 2):
        raise Reject(f"needs rank {nd + 1} or {nd + 2}")
    return ctx.spec.shape[-nd:]


def _avg_pool(nd: int):
    def build(ctx: BuildContext) -> Choice:
        _spatial(ctx, nd)
        k = ctx.rng.randint(1, 3)
        return Choice(attrs={
            "kernel": k, "stride": ctx.rng.choice([None, 1, 2, 3]), "padding": ctx.rng.randint(0, k // 2),
            "ceil_mode": ctx.maybe(0.5), "count_include_pad": ctx.maybe(0.5), "divisor_override": ctx.rng.choice([None, None, 1, 3]),
        })

    return build


def _max_pool(nd: int):
    def build(ctx: BuildContext) -> Choice:
        _spatial(ctx, nd)
        k = ctx.rng.randint(1, 3)
        return Choice(attrs={
            "kernel": k, "stride": ctx.rng.choice([None, 1, 2]), "padding": ctx.rng.randint(0, k // 2),
            "dilation": ctx.rng.choice([1, 2]), "ceil_mode": ctx.maybe(0.5),
        })

    return build


def _lp_pool(nd: int):
    def build(ctx: BuildContext) -> Choice:
        _spatial(ctx, nd)
        return Choice(attrs={"norm": ctx.rng.choice([1.0, 2.0, 3.0]), "kernel": ctx.rng.randint(1, 3), "stride": ctx.rng.choice([None, 1, 2]), "ceil_mode": ctx.maybe(0.4)})

    return build


def _adaptive(nd: int):
    def build(ctx: BuildContext) -> Choice:
        spatial = _spatial(ctx, nd)
        size = tuple(ctx.rng.choice([1, 2, 3, max(1, s), s + 1]) for s in spatial)
        if ctx.maybe(0.3):
            size = tuple(None if ctx.maybe(0.5) else s for s in size)  # None keeps the input size
        return Choice(attrs={"size": size if nd > 1 else size[0]})

    return build


# ---------------------------------------------------------------------------------------------
# resampling, padding, embedding
# ---------------------------------------------------------------------------------------------
def _interpolate_opts(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    if r not in (3, 4, 5):
        raise Reject("needs rank 3..5")
    spatial = r - 2
    modes = ["nearest", "nearest-exact", "area"] + {1: ["linear"], 2: ["bilinear", "bicubic"], 3: ["trilinear"]}[spatial]
    mode = ctx.rng.choice(modes)
    attrs: dict = {"mode": mode, "size": None, "scale_factor": None, "align_corners": None, "recompute_scale_factor": None, "antialias": False}
    if ctx.maybe(0.4):
        attrs["size"] = tuple(ctx.rng.randint(1, 7) for _ in range(spatial))
    else:
        per_dim = ctx.maybe(0.5)
        attrs["scale_factor"] = tuple(ctx.rng.choice([0.5, 1.7, 2.0, 0.3, 3.0]) for _ in range(spatial)) if per_dim else ctx.rng.choice([0.6, 1.5, 2.5])
        attrs["recompute_scale_factor"] = ctx.rng.choice([None, True, False])
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        attrs["align_corners"] = ctx.maybe(0.5)
    if mode in ("bilinear", "bicubic"):
        attrs["antialias"] = ctx.maybe(0.5)
    return Choice(attrs=attrs)


def _embedding_opts(ctx: BuildContext) -> Choice:
    num, dim = ctx.rng.randint(2, 8), ctx.rng.randint(1, 5)
    dtype = ctx.rng.choice(["float32", "float32", "float64"])
    attrs = {
        "padding_idx": ctx.rng.choice([None, 0, num - 1, -1]),
        "max_norm": ctx.rng.choice([None, None, 1.0, 0.5]),
        "norm_type": ctx.rng.choice([2.0, 1.0]),
    }
    return Choice(primary=NewInput(ctx.spec.with_dtype("int64"), "index", num), params=[ctx.param((num, dim), dtype)], attrs=attrs)


def _embedding_bag(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 2:
        raise Reject("needs rank 2 (bags x indices)")
    num, dim = ctx.rng.randint(2, 8), ctx.rng.randint(1, 5)
    return Choice(
        primary=NewInput(ctx.spec.with_dtype("int64"), "index", num), params=[ctx.param((num, dim), "float32")],
        attrs={"mode": ctx.rng.choice(["sum", "mean", "max"]), "padding_idx": ctx.rng.choice([None, 0])},
    )


def _one_hot_auto(ctx: BuildContext) -> Choice:
    return Choice(primary=NewInput(ctx.spec.with_dtype("int64"), "index", ctx.rng.randint(1, 6)))


def _fold(ctx: BuildContext) -> Choice:
    """col2im: the primary is replaced by columns shaped for the sampled output size."""
    c = ctx.rng.randint(1, 3)
    kh, kw = ctx.rng.randint(1, 3), ctx.rng.randint(1, 3)
    stride, padding, dilation = ctx.rng.choice([1, 2]), ctx.rng.choice([0, 1]), ctx.rng.choice([1, 2])
    oh, ow = ctx.rng.randint(3, 6), ctx.rng.randint(3, 6)
    bh = (oh + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    bw = (ow + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    if bh < 1 or bw < 1:
        raise Reject("no block fits")
    cols = TensorSpec((ctx.rng.randint(1, 2), c * kh * kw, bh * bw), ctx.spec.dtype)
    return Choice(primary=NewInput(cols), attrs={"output_size": (oh, ow), "kernel": (kh, kw), "dilation": dilation, "padding": padding, "stride": stride})


def _unfold(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    return Choice(attrs={"kernel": (ctx.rng.randint(1, 3), ctx.rng.randint(1, 3)), "dilation": ctx.rng.choice([1, 2]), "padding": ctx.rng.choice([0, 1]), "stride": ctx.rng.choice([1, 2])})


def _grid_sample(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    n = ctx.spec.shape[0]
    grid = NewInput(TensorSpec((n, ctx.rng.randint(1, 4), ctx.rng.randint(1, 4), 2), ctx.spec.dtype), ctx.rng.choice(["unit", "small"]))
    return Choice(extra=[grid], attrs={
        "mode": ctx.rng.choice(["bilinear", "nearest", "bicubic"]), "padding_mode": ctx.rng.choice(["zeros", "border", "reflection"]),
        "align_corners": ctx.maybe(0.5),
    })


def _affine_grid(ctx: BuildContext) -> Choice:
    n = ctx.rng.randint(1, 2)
    size = (n, ctx.rng.randint(1, 3), ctx.rng.randint(1, 5), ctx.rng.randint(1, 5))
    return Choice(primary=NewInput(TensorSpec((n, 2, 3), ctx.spec.dtype)), attrs={"size": size, "align_corners": ctx.maybe(0.5)})


# ---------------------------------------------------------------------------------------------
# distances and the rest
# ---------------------------------------------------------------------------------------------
def _cosine(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(extra=[ctx.same_or_new(ctx.spec, 0.3)], attrs={"dim": ctx.dim(), "eps": ctx.rng.choice([1e-8, 1e-2])})


def _pairwise(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (1, 2):
        raise Reject("needs rank 1 or 2")
    return Choice(extra=[ctx.same_or_new(ctx.spec, 0.3)], attrs={"p": ctx.rng.choice([2.0, 1.0, 3.0, 0.5]), "eps": ctx.rng.choice([1e-6, 0.0]), "keepdim": ctx.maybe(0.4)})


def _cdist(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (2, 3):
        raise Reject("needs rank 2 or 3")
    *batch, _, m = ctx.spec.shape
    other = TensorSpec(tuple(batch) + (ctx.rng.randint(1, 4), m), ctx.spec.dtype)
    return Choice(extra=[NewInput(other)], attrs={
        "p": ctx.rng.choice([2.0, 1.0, 0.0, 3.0, float("inf")]),
        "mode": ctx.rng.choice(["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"]),
    })


def _glu(ctx: BuildContext) -> Choice:
    dims = [d for d, s in enumerate(ctx.spec.shape) if s % 2 == 0 and s > 0]
    if not dims:
        raise Reject("needs an even-sized dim")
    return Choice(attrs={"dim": ctx.rng.choice(dims)})


def _softmax_dtype(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"dim": ctx.dim(), "dtype": ctx.rng.choice(["float32", "float64", "float16"])})


def _pixel_unshuffle(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    h, w = ctx.spec.shape[-2:]
    fs = [f for f in (1, 2, 3) if h % f == 0 and w % f == 0]
    return Choice(attrs={"r": ctx.rng.choice(fs)})


def _rrelu(ctx: BuildContext) -> Choice:
    lo = ctx.rng.choice([0.0, 0.125, 0.3])
    return Choice(attrs={"lower": lo, "upper": ctx.rng.choice([lo, 1 / 3, 0.5])})


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
OPS: tuple[OpSpec, ...] = (
    # -- losses -----------------------------------------------------------------------------------
    OpSpec("mse_loss", F + "mse_loss({0}, {1}, reduction={reduction})", FLOATS, _pointwise_loss(), family="loss", onnx=("Sub", "Mul", "ReduceMean")),
    OpSpec("l1_loss", F + "l1_loss({0}, {1}, reduction={reduction})", FLOATS, _pointwise_loss(), family="loss", onnx=("Sub", "Abs", "ReduceMean")),
    OpSpec("smooth_l1_loss", F + "smooth_l1_loss({0}, {1}, reduction={reduction}, beta={beta})", FLOATS, _pointwise_loss(beta=[1.0, 0.5, 0.0, 2.0]), family="loss", onnx=("Abs", "Less", "Where")),
    OpSpec("huber_loss", F + "huber_loss({0}, {1}, reduction={reduction}, delta={delta})", FLOATS, _pointwise_loss(delta=[1.0, 0.5, 3.0]), family="loss", onnx=("Abs", "Less", "Where")),
    OpSpec("cross_entropy", F + "cross_entropy({0}, {1}, ignore_index={ignore_index}, reduction={reduction}, label_smoothing={label_smoothing})", FLOATS, _cross_entropy(False), ranks=(1, 4), family="loss", onnx=("LogSoftmax", "NegativeLogLikelihoodLoss")),
    OpSpec("cross_entropy_weighted", F + "cross_entropy({0}, {1}, weight={p0}, ignore_index={ignore_index}, reduction={reduction}, label_smoothing={label_smoothing})", FLOATS, _cross_entropy(True), ranks=(1, 4), family="loss", onnx=("LogSoftmax", "NegativeLogLikelihoodLoss")),
    OpSpec("cross_entropy_probs", F + "cross_entropy({0}, {1}, reduction={reduction}, label_smoothing={label_smoothing})", FLOATS, _cross_entropy(False, probs=True), ranks=(1, 4), family="loss", onnx=("LogSoftmax", "Mul", "ReduceSum")),
    OpSpec("nll_loss", F + "nll_loss({0}, {1}, ignore_index={ignore_index}, reduction={reduction})", FLOATS, _nll_loss, ranks=(1, 4), family="loss", onnx=("NegativeLogLikelihoodLoss",)),
    OpSpec("binary_cross_entropy", F + "binary_cross_entropy({0}, {1}, weight={p0}, reduction={reduction})", FLOATS, _bce, domain="probability", family="loss", onnx=("Log", "Mul", "Neg")),
    OpSpec("bce_with_logits", F + "binary_cross_entropy_with_logits({0}, {1}, weight={p0}, pos_weight={p1}, reduction={reduction})", FLOATS, _bce_logits, family="loss", onnx=("Sigmoid", "Log", "Mul")),
    OpSpec("kl_div", F + "kl_div({0}, {1}, reduction={reduction}, log_target={log_target})", FLOATS, _kl_div, family="loss", onnx=("Exp", "Log", "Sub", "Mul")),
    OpSpec("margin_ranking_loss", F + "margin_ranking_loss({0}, {1}, {2}, margin={margin}, reduction={reduction})", FLOATS, _margin_ranking, family="loss", onnx=("Sub", "Neg", "Clip")),
    OpSpec("triplet_margin_loss", F + "triplet_margin_loss({0}, {1}, {2}, margin={margin}, p={p}, swap={swap}, reduction={reduction})", FLOATS, _triplet, ranks=(1, 2), family="loss", onnx=("Sub", "ReduceL2", "Clip")),
    OpSpec("poisson_nll_loss", F + "poisson_nll_loss({0}, {1}, log_input={log_input}, full={full}, eps={eps}, reduction={reduction})", FLOATS, _poisson_nll, domain="positive", family="loss", onnx=("Exp", "Log", "Mul")),
    OpSpec("soft_margin_loss", F + "soft_margin_loss({0}, {1}, reduction={reduction})", FLOATS, _pointwise_loss(), family="loss", onnx=("Neg", "Exp", "Log")),
    # -- attention --------------------------------------------------------------------------------
    OpSpec("sdpa_bool_mask", F + "scaled_dot_product_attention({0}, {1}, {2}, attn_mask={3}, scale={scale})", FLOATS, _sdpa_mask("bool"), ranks=(2, 4), family="attention", onnx=("MatMul", "Where", "Softmax")),
    OpSpec("sdpa_float_mask", F + "scaled_dot_product_attention({0}, {1}, {2}, attn_mask={3}, scale={scale})", FLOATS, _sdpa_mask(None), ranks=(2, 4), family="attention", onnx=("MatMul", "Add", "Softmax")),
    OpSpec("sdpa_causal", F + "scaled_dot_product_attention({0}, {1}, {2}, is_causal=True, scale={scale})", FLOATS, _sdpa_causal, ranks=(2, 4), family="attention", onnx=("Trilu", "Where", "Softmax")),
    # -- normalization ----------------------------------------------------------------------------
    OpSpec("layer_norm_affine", F + "layer_norm({0}, {normalized_shape}, {p0}, {p1}, eps={eps})", FLOATS, _layer_norm_affine(True), family="norm", onnx=("LayerNormalization",)),
    OpSpec("layer_norm_weight_only", F + "layer_norm({0}, {normalized_shape}, {p0}, None, eps={eps})", FLOATS, _layer_norm_affine(False), family="norm", onnx=("LayerNormalization",)),
    OpSpec("rms_norm", F + "rms_norm({0}, {normalized_shape}, {p0}, eps={eps})", FLOATS, _rms_norm, family="norm", onnx=("RMSNormalization", "Pow", "ReduceMean")),
    OpSpec("group_norm_plain", F + "group_norm({0}, {groups}, eps={eps})", FLOATS, _group_norm_plain, ranks=(2, 5), family="norm", onnx=("GroupNormalization", "InstanceNormalization")),
    OpSpec("instance_norm_stats", F + "instance_norm({0}, running_mean={p0}, running_var={p1}, weight={p2}, bias={p3}, use_input_stats={use_input_stats}, eps={eps})", FLOATS, _instance_norm_stats, ranks=(3, 5), family="norm", onnx=("InstanceNormalization", "BatchNormalization")),
    OpSpec("local_response_norm", F + "local_response_norm({0}, {size}, alpha={alpha}, beta={beta}, k={k})", FLOATS, _lrn, ranks=(3, 5), family="norm", onnx=("LRN",)),
    OpSpec("normalize", F + "normalize({0}, p={p}, dim={dim}, eps={eps})", FLOATS, _normalize, family="norm", onnx=("ReduceL2", "Clip", "Div")),
    # -- pooling ----------------------------------------------------------------------------------
    OpSpec("avg_pool2d_opts", F + "avg_pool2d({0}, {kernel}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad}, divisor_override={divisor_override})", FLOATS, _avg_pool(2), ranks=(3, 4), family="pool", onnx=("AveragePool", "Pad")),
    OpSpec("avg_pool3d_opts", F + "avg_pool3d({0}, {kernel}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad}, divisor_override={divisor_override})", FLOATS, _avg_pool(3), ranks=(4, 5), family="pool", onnx=("AveragePool",)),
    OpSpec("max_pool2d_indices", F + "max_pool2d({0}, {kernel}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode}, return_indices=True)", FLOATS, _max_pool(2), ranks=(3, 4), family="pool", onnx=("MaxPool",), n_outputs=2, returns_tuple=True),
    OpSpec("max_pool3d_opts", F + "max_pool3d({0}, {kernel}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})", FLOATS, _max_pool(3), ranks=(4, 5), family="pool", onnx=("MaxPool",)),
    OpSpec("lp_pool1d", F + "lp_pool1d({0}, {norm}, {kernel}, stride={stride}, ceil_mode={ceil_mode})", FLOATS, _lp_pool(1), ranks=(2, 3), family="pool", onnx=("LpPool", "AveragePool", "Pow")),
    OpSpec("lp_pool2d", F + "lp_pool2d({0}, {norm}, {kernel}, stride={stride}, ceil_mode={ceil_mode})", FLOATS, _lp_pool(2), ranks=(3, 4), family="pool", onnx=("LpPool", "AveragePool", "Pow")),
    OpSpec("adaptive_max_pool1d", F + "adaptive_max_pool1d({0}, {size})", FLOATS, _adaptive(1), ranks=(2, 3), family="pool", onnx=("MaxPool", "GlobalMaxPool")),
    OpSpec("adaptive_max_pool2d_indices", F + "adaptive_max_pool2d({0}, {size}, return_indices=True)", FLOATS, _adaptive(2), ranks=(3, 4), family="pool", onnx=("MaxPool",), n_outputs=2, returns_tuple=True),
    OpSpec("adaptive_avg_pool1d", F + "adaptive_avg_pool1d({0}, {size})", FLOATS, _adaptive(1), ranks=(2, 3), family="pool", onnx=("AveragePool", "GlobalAveragePool")),
    OpSpec("adaptive_avg_pool3d", F + "adaptive_avg_pool3d({0}, {size})", FLOATS, _adaptive(3), ranks=(4, 5), family="pool", onnx=("AveragePool", "GlobalAveragePool")),
    # -- resampling, padding, embedding -------------------------------------------------------------
    OpSpec("interpolate_opts", F + "interpolate({0}, size={size}, scale_factor={scale_factor}, mode={mode}, align_corners={align_corners}, recompute_scale_factor={recompute_scale_factor}, antialias={antialias})", FLOATS, _interpolate_opts, ranks=(3, 5), family="resize", onnx=("Resize",)),
    OpSpec("grid_sample", F + "grid_sample({0}, {1}, mode={mode}, padding_mode={padding_mode}, align_corners={align_corners})", FLOATS, _grid_sample, ranks=(4, 4), family="resize", onnx=("GridSample",)),
    OpSpec("affine_grid", F + "affine_grid({0}, {size}, align_corners={align_corners})", FLOATS, _affine_grid, family="resize", onnx=("AffineGrid", "MatMul")),
    OpSpec("unfold", F + "unfold({0}, {kernel}, dilation={dilation}, padding={padding}, stride={stride})", FLOATS, _unfold, ranks=(4, 4), family="shape", onnx=("Slice", "Concat", "Gather")),
    OpSpec("fold", F + "fold({0}, {output_size}, {kernel}, dilation={dilation}, padding={padding}, stride={stride})", FLOATS, _fold, family="shape", onnx=("Col2Im",)),
    OpSpec("pixel_unshuffle", F + "pixel_unshuffle({0}, {r})", FLOATS | frozenset({"int64", "bool"}), _pixel_unshuffle, ranks=(4, 4), family="shape", onnx=("SpaceToDepth", "Reshape", "Transpose")),
    OpSpec("embedding_opts", F + "embedding({0}, {p0}, padding_idx={padding_idx}, max_norm={max_norm}, norm_type={norm_type})", frozenset({"int64"}), _embedding_opts, domain="index", family="index", onnx=("Gather", "ReduceL2")),
    OpSpec("embedding_bag", F + "embedding_bag({0}, {p0}, mode={mode}, padding_idx={padding_idx})", frozenset({"int64"}), _embedding_bag, ranks=(2, 2), domain="index", family="index", onnx=("Gather", "ReduceSum", "ReduceMean")),
    OpSpec("one_hot_inferred", F + "one_hot({0})", frozenset({"int64"}), _one_hot_auto, domain="index", family="index", onnx=("OneHot", "ReduceMax")),
    # -- distance, similarity, activations --------------------------------------------------------
    OpSpec("cosine_similarity", F + "cosine_similarity({0}, {1}, dim={dim}, eps={eps})", FLOATS, _cosine, family="distance", onnx=("ReduceSum", "Sqrt", "Div")),
    OpSpec("pairwise_distance", F + "pairwise_distance({0}, {1}, p={p}, eps={eps}, keepdim={keepdim})", FLOATS, _pairwise, ranks=(1, 2), family="distance", onnx=("Sub", "ReduceL2", "Pow")),
    OpSpec("cdist", "torch.cdist({0}, {1}, p={p}, compute_mode={mode})", FLOATS, _cdist, ranks=(2, 3), family="distance", onnx=("Sub", "ReduceL2", "MatMul")),
    OpSpec("glu", F + "glu({0}, dim={dim})", FLOATS, _glu, ranks=(1, 5), family="activation", onnx=("Split", "Sigmoid", "Mul")),
    OpSpec("log_softmax_dtype", F + "log_softmax({0}, dim={dim}, dtype={dtype:dtype})", FLOATS, _softmax_dtype, ranks=(1, 5), family="activation", onnx=("Cast", "LogSoftmax")),
    OpSpec("softmax_dtype", F + "softmax({0}, dim={dim}, dtype={dtype:dtype})", FLOATS, _softmax_dtype, ranks=(1, 5), family="activation", onnx=("Cast", "Softmax")),
    OpSpec("softmin", F + "softmin({0}, dim={dim})", FLOATS, lambda ctx: Choice(attrs={"dim": ctx.dim()}), ranks=(1, 5), family="activation", onnx=("Neg", "Softmax")),
    OpSpec("rrelu_eval", F + "rrelu({0}, lower={lower}, upper={upper}, training=False)", FLOATS, _rrelu, family="activation", onnx=("LeakyRelu",)),
)
