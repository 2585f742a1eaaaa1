"""``torch.nn`` modules with their options, as graph nodes.

A module entry has a constructor (``OpSpec.module``) and a call template (``"{m}({0})"``). The
generated ``__init__`` builds it the way a person writes it, seeded for deterministic parameters::

    torch.manual_seed(1234567)
    self.m3 = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float32)

and ``forward`` calls it (``v5 = self.m3(x0)[0]``). The whole module is in eval mode (dropout off,
norms on running statistics, the transformer layers' fast path when it applies), as exported.
Options are sampled; sizes come from the primary input (channels, features, embedding dim).
"""

from __future__ import annotations

from fuzzer.ir import TensorSpec

from .spec import FLOATS, BuildContext, Choice, NewInput, OpSpec, Reject

NN = "torch.nn."


def _dt(ctx: BuildContext) -> str:
    return ctx.spec.dtype


def _linear(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"n_in": ctx.spec.shape[-1], "n_out": ctx.rng.randint(1, 6), "bias": ctx.maybe(0.8), "dtype": _dt(ctx)})


def _bilinear(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    n2 = ctx.rng.randint(1, 4)
    other = NewInput(TensorSpec(ctx.spec.shape[:-1] + (n2,), ctx.spec.dtype))
    return Choice(extra=[other], attrs={"n1": ctx.spec.shape[-1], "n2": n2, "n_out": ctx.rng.randint(1, 4), "bias": ctx.maybe(0.8), "dtype": _dt(ctx)})


def _conv(nd: int, transpose: bool = False):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (nd + 1, nd + 2):
            raise Reject(f"needs rank {nd + 1} or {nd + 2}")
        cin = ctx.spec.shape[-nd - 1]
        if cin == 0:
            raise Reject("no channels")
        groups = ctx.rng.choice([g for g in (1, 1, 2, cin) if cin % g == 0])
        cout = groups * ctx.rng.randint(1, 3)
        k = ctx.rng.randint(1, 3)
        stride = ctx.rng.choice([1, 1, 2])
        dilation = ctx.rng.choice([1, 1, 2])
        attrs = {"cin": cin, "cout": cout, "k": k, "stride": stride, "dilation": dilation, "groups": groups, "bias": ctx.maybe(0.8), "dtype": _dt(ctx)}
        if transpose:
            attrs["padding"] = ctx.rng.randint(0, k - 1)
            attrs["output_padding"] = ctx.rng.randint(0, max(stride, dilation) - 1)
        else:
            attrs["padding"] = ctx.rng.choice([0, 1, "same", "valid"] if stride == 1 else [0, 1])
            attrs["padding_mode"] = ctx.rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
        return Choice(attrs=attrs)

    return build


def _pool(nd: int, kind: str):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (nd + 1, nd + 2):
            raise Reject(f"needs rank {nd + 1} or {nd + 2}")
        k = ctx.rng.randint(1, 3)
        attrs = {"k": k, "stride": ctx.rng.choice([None, 1, 2]), "padding": ctx.rng.randint(0, k // 2), "ceil_mode": ctx.maybe(0.3)}
        if kind == "max":
            attrs["dilation"] = ctx.rng.choice([1, 1, 2])
        elif kind == "avg":
            attrs["count_include_pad"] = ctx.maybe(0.5)
        return Choice(attrs=attrs)

    return build


def _adaptive(nd: int):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (nd + 1, nd + 2):
            raise Reject(f"needs rank {nd + 1} or {nd + 2}")
        size = ctx.rng.choice([1, 2, 3]) if nd == 1 or ctx.maybe(0.5) else tuple(ctx.rng.choice([1, 2, 3, None]) for _ in range(nd))
        return Choice(attrs={"size": size})

    return build


def _channels(ctx: BuildContext, ranks: tuple[int, ...]) -> int:
    if ctx.spec.rank not in ranks:
        raise Reject(f"needs rank in {ranks}")
    c = ctx.spec.shape[1] if ctx.spec.rank >= 2 else ctx.spec.shape[0]
    if c == 0:
        raise Reject("no channels")
    return c


def _batch_norm(ranks: tuple[int, ...]):
    def build(ctx: BuildContext) -> Choice:
        c = _channels(ctx, ranks)
        return Choice(attrs={"c": c, "eps": ctx.rng.choice([1e-5, 1e-3]), "affine": ctx.maybe(0.8), "track": ctx.maybe(0.8), "dtype": _dt(ctx)})

    return build


def _instance_norm(ranks: tuple[int, ...]):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in ranks:
            raise Reject(f"needs rank in {ranks}")
        c = ctx.spec.shape[0 if ctx.spec.rank == ranks[0] else 1]  # unbatched (C, ...) or (N, C, ...)
        return Choice(attrs={"c": c, "eps": 1e-5, "affine": ctx.maybe(0.5), "track": ctx.maybe(0.3), "dtype": _dt(ctx)})

    return build


def _layer_norm(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    k = ctx.rng.randint(1, min(2, ctx.spec.rank))
    return Choice(attrs={"shape": tuple(ctx.spec.shape[-k:]), "eps": ctx.rng.choice([1e-5, 1e-3]), "affine": ctx.maybe(0.8), "bias": ctx.maybe(0.8), "dtype": _dt(ctx)})


def _group_norm(ctx: BuildContext) -> Choice:
    c = _channels(ctx, (2, 3, 4, 5))
    g = ctx.rng.choice([d for d in range(1, c + 1) if c % d == 0])
    return Choice(attrs={"g": g, "c": c, "eps": 1e-5, "affine": ctx.maybe(0.8), "dtype": _dt(ctx)})


def _rms_norm(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(attrs={"shape": tuple(ctx.spec.shape[-1:]), "eps": ctx.rng.choice([None, 1e-6]), "dtype": _dt(ctx)})


def _embedding(ctx: BuildContext) -> Choice:
    num = ctx.rng.randint(2, 10)
    dim = ctx.rng.randint(1, 6)
    pad = ctx.rng.choice([None, None, 0, num - 1])
    return Choice(primary=NewInput(ctx.spec.with_dtype("int64"), "index", num), attrs={"num": num, "dim": dim, "padding_idx": pad, "dtype": ctx.rng.choice(["float32", "float32", "float64", "float16"])})


def _embedding_bag(ctx: BuildContext) -> Choice:
    num = ctx.rng.randint(2, 10)
    b, n = ctx.rng.randint(1, 3), ctx.rng.randint(1, 4)
    return Choice(primary=NewInput(TensorSpec((b, n), "int64"), "index", num),
                  attrs={"num": num, "dim": ctx.rng.randint(1, 5), "mode": ctx.rng.choice(["sum", "mean", "max"]), "dtype": ctx.rng.choice(["float32", "float64"])})


def _rnn(kind: str):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (2, 3) or ctx.spec.shape[-1] == 0 or 0 in ctx.spec.shape:
            raise Reject("needs rank 2 or 3, no empty dim")
        attrs = {"n_in": ctx.spec.shape[-1], "hidden": ctx.rng.randint(1, 5), "layers": ctx.rng.choice([1, 1, 2]),
                 "bias": ctx.maybe(0.85), "batch_first": ctx.maybe(0.5), "bidirectional": ctx.maybe(0.4), "dtype": _dt(ctx)}
        if kind == "RNN":
            attrs["nonlinearity"] = ctx.rng.choice(["tanh", "relu"])
        if kind == "LSTM" and ctx.maybe(0.25) and attrs["hidden"] > 1:
            attrs["proj"] = ctx.rng.randint(1, attrs["hidden"] - 1)
        elif kind == "LSTM":
            attrs["proj"] = 0
        return Choice(attrs=attrs)

    return build


def _cell(kind: str):
    def build(ctx: BuildContext) -> Choice:
        if ctx.spec.rank not in (1, 2) or 0 in ctx.spec.shape:
            raise Reject("needs rank 1 or 2, no empty dim")
        attrs = {"n_in": ctx.spec.shape[-1], "hidden": ctx.rng.randint(1, 5), "bias": ctx.maybe(0.85), "dtype": _dt(ctx)}
        if kind == "RNNCell":
            attrs["nonlinearity"] = ctx.rng.choice(["tanh", "relu"])
        return Choice(attrs=attrs)

    return build


def _mha(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (2, 3):
        raise Reject("needs rank 2 or 3")
    e = ctx.spec.shape[-1]
    heads = [h for h in (1, 2, 3, 4) if e and e % h == 0]
    if not heads or 0 in ctx.spec.shape:
        raise Reject("embedding dim has no head count")
    return Choice(attrs={"e": e, "heads": ctx.rng.choice(heads), "bias": ctx.maybe(0.8), "batch_first": ctx.maybe(0.5),
                         "need_weights": ctx.maybe(0.5), "average": ctx.maybe(0.7), "dtype": _dt(ctx)})


def _transformer(ctx: BuildContext) -> Choice:
    c = _mha(ctx)
    a = c.attrs
    return Choice(attrs={"e": a["e"], "heads": a["heads"], "ff": ctx.rng.randint(1, 8), "activation": ctx.rng.choice(["relu", "gelu"]),
                         "batch_first": a["batch_first"], "norm_first": ctx.maybe(0.4), "bias": a["bias"], "dtype": a["dtype"]})


def _upsample(ctx: BuildContext) -> Choice:
    r = ctx.spec.rank
    if r not in (3, 4, 5):
        raise Reject("needs rank 3..5")
    modes = ["nearest"] + {3: ["linear"], 4: ["bilinear", "bicubic"], 5: ["trilinear"]}[r]
    mode = ctx.rng.choice(modes)
    return Choice(attrs={"scale": ctx.rng.choice([2.0, 0.5, 1.5, 3.0]), "mode": mode, "align_corners": None if mode == "nearest" else ctx.maybe(0.5)})


def _pad2d(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (3, 4):
        raise Reject("needs rank 3 or 4")
    h, w = ctx.spec.shape[-2:]
    hi = max(0, min(h, w) - 1)
    return Choice(attrs={"pad": tuple(ctx.rng.randint(0, min(2, hi)) for _ in range(4))})


def _pad2d_const(ctx: BuildContext) -> Choice:
    if ctx.spec.rank not in (3, 4):
        raise Reject("needs rank 3 or 4")
    return Choice(attrs={"pad": tuple(ctx.rng.randint(0, 2) for _ in range(4)), "value": ctx.rng.choice([0.0, 1.5, -2.0])})


def _flatten(ctx: BuildContext) -> Choice:
    if ctx.spec.rank < 2:
        raise Reject("needs rank >= 2")
    return Choice(attrs={"start": ctx.rng.randint(0, ctx.spec.rank - 2), "end": -1})


def _unfold(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    h, w = ctx.spec.shape[2:]
    k = ctx.rng.randint(1, max(1, min(h, w, 3)))
    return Choice(attrs={"k": k, "dilation": 1, "padding": ctx.rng.randint(0, 1), "stride": ctx.rng.choice([1, 2])})


def _pixel_unshuffle(ctx: BuildContext) -> Choice:
    if ctx.spec.rank != 4:
        raise Reject("needs rank 4")
    h, w = ctx.spec.shape[2:]
    fs = [f for f in (1, 2, 3) if h % f == 0 and w % f == 0]
    return Choice(attrs={"r": ctx.rng.choice(fs)})


def _channel_shuffle(ctx: BuildContext) -> Choice:
    c = _channels(ctx, (3, 4))
    return Choice(attrs={"g": ctx.rng.choice([g for g in range(1, c + 1) if c % g == 0])})


def _prelu(ctx: BuildContext) -> Choice:
    c = ctx.spec.shape[1] if ctx.spec.rank >= 2 and ctx.maybe(0.6) else 1
    return Choice(attrs={"n": c, "init": ctx.rng.choice([0.25, 0.1, -0.5]), "dtype": _dt(ctx)})


def _pairwise(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(extra=[NewInput(ctx.spec)], attrs={"p": ctx.rng.choice([1.0, 2.0, 3.0]), "eps": 1e-6, "keepdim": ctx.maybe(0.3)})


def _cosine(ctx: BuildContext) -> Choice:
    if ctx.spec.rank == 0:
        raise Reject("needs rank >= 1")
    return Choice(extra=[NewInput(ctx.spec)], attrs={"dim": ctx.rng.randrange(ctx.spec.rank), "eps": 1e-8})


def _lrn(ctx: BuildContext) -> Choice:
    _channels(ctx, (3, 4, 5))
    return Choice(attrs={"size": ctx.rng.randint(1, 4), "alpha": 1e-4, "beta": 0.75, "k": 1.0})


def _m(name: str, ctor: str, call: str, build, ranks=(0, 5), family: str = "module", onnx=(), n_outputs: int = 1, dtypes=FLOATS) -> OpSpec:
    return OpSpec(name, call, frozenset(dtypes), build, ranks=ranks, family=family, onnx=onnx, module=ctor,
                  n_outputs=n_outputs, returns_tuple=n_outputs > 1)


D = "dtype={dtype:dtype}"
CONV_ARGS = "{cin}, {cout}, {k}, stride={stride}, padding={padding}, dilation={dilation}, groups={groups}, bias={bias}, padding_mode={padding_mode}, " + D
CONVT_ARGS = "{cin}, {cout}, {k}, stride={stride}, padding={padding}, output_padding={output_padding}, groups={groups}, bias={bias}, dilation={dilation}, " + D
NORM_ARGS = "{c}, eps={eps}, affine={affine}, track_running_stats={track}, " + D

OPS: tuple[OpSpec, ...] = (
    _m("nn.Linear", NN + "Linear({n_in}, {n_out}, bias={bias}, " + D + ")", "{m}({0})", _linear, ranks=(1, 5), onnx=("Gemm", "MatMul", "Add")),
    _m("nn.Bilinear", NN + "Bilinear({n1}, {n2}, {n_out}, bias={bias}, " + D + ")", "{m}({0}, {1})", _bilinear, ranks=(1, 3), onnx=("MatMul", "Einsum")),
    _m("nn.Conv1d", NN + "Conv1d(" + CONV_ARGS + ")", "{m}({0})", _conv(1), ranks=(2, 3), onnx=("Conv", "Pad")),
    _m("nn.Conv2d", NN + "Conv2d(" + CONV_ARGS + ")", "{m}({0})", _conv(2), ranks=(3, 4), onnx=("Conv", "Pad")),
    _m("nn.Conv3d", NN + "Conv3d(" + CONV_ARGS + ")", "{m}({0})", _conv(3), ranks=(4, 5), onnx=("Conv",)),
    _m("nn.ConvTranspose1d", NN + "ConvTranspose1d(" + CONVT_ARGS + ")", "{m}({0})", _conv(1, True), ranks=(2, 3), onnx=("ConvTranspose",)),
    _m("nn.ConvTranspose2d", NN + "ConvTranspose2d(" + CONVT_ARGS + ")", "{m}({0})", _conv(2, True), ranks=(3, 4), onnx=("ConvTranspose",)),
    _m("nn.MaxPool1d", NN + "MaxPool1d({k}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})", "{m}({0})", _pool(1, "max"), ranks=(2, 3), onnx=("MaxPool",)),
    _m("nn.MaxPool2d", NN + "MaxPool2d({k}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})", "{m}({0})", _pool(2, "max"), ranks=(3, 4), onnx=("MaxPool",)),
    _m("nn.MaxPool3d", NN + "MaxPool3d({k}, stride={stride}, padding={padding}, dilation={dilation}, ceil_mode={ceil_mode})", "{m}({0})", _pool(3, "max"), ranks=(4, 5), onnx=("MaxPool",)),
    _m("nn.AvgPool1d", NN + "AvgPool1d({k}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad})", "{m}({0})", _pool(1, "avg"), ranks=(2, 3), onnx=("AveragePool",)),
    _m("nn.AvgPool2d", NN + "AvgPool2d({k}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad})", "{m}({0})", _pool(2, "avg"), ranks=(3, 4), onnx=("AveragePool",)),
    _m("nn.AvgPool3d", NN + "AvgPool3d({k}, stride={stride}, padding={padding}, ceil_mode={ceil_mode}, count_include_pad={count_include_pad})", "{m}({0})", _pool(3, "avg"), ranks=(4, 5), onnx=("AveragePool",)),
    _m("nn.LPPool2d", NN + "LPPool2d(2, {k}, stride={stride}, ceil_mode={ceil_mode})", "{m}({0})", lambda ctx: Choice(attrs={k: v for k, v in _pool(2, "lp")(ctx).attrs.items() if k in ("k", "stride", "ceil_mode")}), ranks=(3, 4), onnx=("LpPool", "AveragePool", "Pow")),
    _m("nn.AdaptiveAvgPool1d", NN + "AdaptiveAvgPool1d({size})", "{m}({0})", _adaptive(1), ranks=(2, 3), onnx=("AveragePool", "GlobalAveragePool")),
    _m("nn.AdaptiveAvgPool2d", NN + "AdaptiveAvgPool2d({size})", "{m}({0})", _adaptive(2), ranks=(3, 4), onnx=("AveragePool", "GlobalAveragePool")),
    _m("nn.AdaptiveMaxPool2d", NN + "AdaptiveMaxPool2d({size})", "{m}({0})", _adaptive(2), ranks=(3, 4), onnx=("MaxPool", "GlobalMaxPool")),
    _m("nn.BatchNorm1d", NN + "BatchNorm1d(" + NORM_ARGS + ")", "{m}({0})", _batch_norm((2, 3)), ranks=(2, 3), onnx=("BatchNormalization",)),
    _m("nn.BatchNorm2d", NN + "BatchNorm2d(" + NORM_ARGS + ")", "{m}({0})", _batch_norm((4,)), ranks=(4, 4), onnx=("BatchNormalization",)),
    _m("nn.BatchNorm3d", NN + "BatchNorm3d(" + NORM_ARGS + ")", "{m}({0})", _batch_norm((5,)), ranks=(5, 5), onnx=("BatchNormalization",)),
    _m("nn.InstanceNorm1d", NN + "InstanceNorm1d(" + NORM_ARGS + ")", "{m}({0})", _instance_norm((2, 3)), ranks=(2, 3), onnx=("InstanceNormalization",)),
    _m("nn.InstanceNorm2d", NN + "InstanceNorm2d(" + NORM_ARGS + ")", "{m}({0})", _instance_norm((3, 4)), ranks=(3, 4), onnx=("InstanceNormalization",)),
    _m("nn.LayerNorm", NN + "LayerNorm({shape}, eps={eps}, elementwise_affine={affine}, bias={bias}, " + D + ")", "{m}({0})", _layer_norm, ranks=(1, 5), onnx=("LayerNormalization",)),
    _m("nn.GroupNorm", NN + "GroupNorm({g}, {c}, eps={eps}, affine={affine}, " + D + ")", "{m}({0})", _group_norm, ranks=(2, 5), onnx=("GroupNormalization", "InstanceNormalization")),
    _m("nn.RMSNorm", NN + "RMSNorm({shape}, eps={eps}, " + D + ")", "{m}({0})", _rms_norm, ranks=(1, 5), onnx=("RMSNormalization", "ReduceMean", "Sqrt")),
    _m("nn.LocalResponseNorm", NN + "LocalResponseNorm({size}, alpha={alpha}, beta={beta}, k={k})", "{m}({0})", _lrn, ranks=(3, 5), onnx=("LRN",)),
    _m("nn.Embedding", NN + "Embedding({num}, {dim}, padding_idx={padding_idx}, " + D + ")", "{m}({0})", _embedding, onnx=("Gather",), dtypes={"int64"}),
    _m("nn.EmbeddingBag", NN + "EmbeddingBag({num}, {dim}, mode={mode}, " + D + ")", "{m}({0})", _embedding_bag, ranks=(2, 2), onnx=("Gather", "ReduceSum", "Loop"), dtypes={"int64"}),
    _m("nn.RNN", NN + "RNN({n_in}, {hidden}, num_layers={layers}, nonlinearity={nonlinearity}, bias={bias}, batch_first={batch_first}, bidirectional={bidirectional}, " + D + ")", "{m}({0})", _rnn("RNN"), ranks=(2, 3), onnx=("RNN",), n_outputs=2),
    _m("nn.GRU", NN + "GRU({n_in}, {hidden}, num_layers={layers}, bias={bias}, batch_first={batch_first}, bidirectional={bidirectional}, " + D + ")", "{m}({0})", _rnn("GRU"), ranks=(2, 3), onnx=("GRU",), n_outputs=2),
    _m("nn.LSTM", NN + "LSTM({n_in}, {hidden}, num_layers={layers}, bias={bias}, batch_first={batch_first}, bidirectional={bidirectional}, proj_size={proj}, " + D + ")", "{m}({0})[0]", _rnn("LSTM"), ranks=(2, 3), onnx=("LSTM",)),
    _m("nn.LSTM.state", NN + "LSTM({n_in}, {hidden}, num_layers={layers}, bias={bias}, batch_first={batch_first}, bidirectional={bidirectional}, proj_size={proj}, " + D + ")", "{m}({0})[1]", _rnn("LSTM"), ranks=(2, 3), onnx=("LSTM",), n_outputs=2),
    _m("nn.LSTMCell", NN + "LSTMCell({n_in}, {hidden}, bias={bias}, " + D + ")", "{m}({0})", _cell("LSTMCell"), ranks=(1, 2), onnx=("LSTM",), n_outputs=2),
    _m("nn.GRUCell", NN + "GRUCell({n_in}, {hidden}, bias={bias}, " + D + ")", "{m}({0})", _cell("GRUCell"), ranks=(1, 2), onnx=("GRU",)),
    _m("nn.RNNCell", NN + "RNNCell({n_in}, {hidden}, bias={bias}, nonlinearity={nonlinearity}, " + D + ")", "{m}({0})", _cell("RNNCell"), ranks=(1, 2), onnx=("RNN",)),
    _m("nn.MultiheadAttention", NN + "MultiheadAttention({e}, {heads}, bias={bias}, batch_first={batch_first}, " + D + ")", "{m}({0}, {0}, {0}, need_weights={need_weights}, average_attn_weights={average})[0]", _mha, ranks=(2, 3), onnx=("MatMul", "Softmax")),
    _m("nn.MultiheadAttention.weights", NN + "MultiheadAttention({e}, {heads}, bias={bias}, batch_first={batch_first}, " + D + ")", "{m}({0}, {0}, {0}, need_weights=True, average_attn_weights={average})", _mha, ranks=(2, 3), onnx=("MatMul", "Softmax"), n_outputs=2),
    _m("nn.TransformerEncoderLayer", NN + "TransformerEncoderLayer({e}, {heads}, dim_feedforward={ff}, dropout=0.1, activation={activation}, batch_first={batch_first}, norm_first={norm_first}, bias={bias}, " + D + ")", "{m}({0})", _transformer, ranks=(2, 3), onnx=("MatMul", "Softmax", "LayerNormalization")),
    _m("nn.TransformerDecoderLayer", NN + "TransformerDecoderLayer({e}, {heads}, dim_feedforward={ff}, dropout=0.1, activation={activation}, batch_first={batch_first}, norm_first={norm_first}, bias={bias}, " + D + ")", "{m}({0}, {0})", _transformer, ranks=(2, 3), onnx=("MatMul", "Softmax", "LayerNormalization")),
    _m("nn.Upsample", NN + "Upsample(scale_factor={scale}, mode={mode}, align_corners={align_corners})", "{m}({0})", _upsample, ranks=(3, 5), onnx=("Resize",)),
    _m("nn.ReflectionPad2d", NN + "ReflectionPad2d({pad})", "{m}({0})", _pad2d, ranks=(3, 4), onnx=("Pad",)),
    _m("nn.ReplicationPad2d", NN + "ReplicationPad2d({pad})", "{m}({0})", _pad2d, ranks=(3, 4), onnx=("Pad",)),
    _m("nn.ConstantPad2d", NN + "ConstantPad2d({pad}, {value})", "{m}({0})", _pad2d_const, ranks=(3, 4), onnx=("Pad",)),
    _m("nn.ZeroPad2d", NN + "ZeroPad2d({pad})", "{m}({0})", _pad2d_const, ranks=(3, 4), onnx=("Pad",)),
    _m("nn.Flatten", NN + "Flatten({start}, {end})", "{m}({0})", _flatten, ranks=(2, 5), onnx=("Flatten", "Reshape"), dtypes=frozenset(FLOATS | {"int64", "bool"})),
    _m("nn.Unfold", NN + "Unfold({k}, dilation={dilation}, padding={padding}, stride={stride})", "{m}({0})", _unfold, ranks=(4, 4), onnx=("Im2Col", "Gather")),
    _m("nn.PixelUnshuffle", NN + "PixelUnshuffle({r})", "{m}({0})", _pixel_unshuffle, ranks=(4, 4), onnx=("SpaceToDepth", "Reshape")),
    _m("nn.ChannelShuffle", NN + "ChannelShuffle({g})", "{m}({0})", _channel_shuffle, ranks=(3, 4), onnx=("Reshape", "Transpose")),
    _m("nn.PReLU", NN + "PReLU({n}, init={init}, " + D + ")", "{m}({0})", _prelu, onnx=("PRelu",)),
    _m("nn.PairwiseDistance", NN + "PairwiseDistance(p={p}, eps={eps}, keepdim={keepdim})", "{m}({0}, {1})", _pairwise, ranks=(1, 2), onnx=("ReduceL2", "Pow")),
    _m("nn.CosineSimilarity", NN + "CosineSimilarity(dim={dim}, eps={eps})", "{m}({0}, {1})", _cosine, ranks=(1, 5), onnx=("ReduceSum", "Div")),
    _m("nn.Softmax2d", NN + "Softmax2d()", "{m}({0})", lambda ctx: Choice(), ranks=(3, 4), onnx=("Softmax",)),
    _m("nn.Hardtanh", NN + "Hardtanh({lo}, {hi})", "{m}({0})", lambda ctx: Choice(attrs={"lo": ctx.rng.choice([-1.0, -0.5, 0.0]), "hi": ctx.rng.choice([1.0, 0.5, 6.0])}), onnx=("Clip",)),
    _m("nn.Identity", NN + "Identity()", "{m}({0})", lambda ctx: Choice(), onnx=(), dtypes=frozenset(FLOATS | {"int64", "bool"})),
)
