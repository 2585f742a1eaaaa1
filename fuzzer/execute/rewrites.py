"""Which ONNX Runtime graph rewrites fired on a model: diff the model ORT optimized against the input.

ONNX Runtime optimizes a model when it creates a session (``onnxruntime/core/optimizer/
graph_transformer_utils.cc`` lists the transformers per level: basic rule-based eliminations and
fusions, constant folding, CSE; extended fusions into ``com.microsoft`` ops; layout rewrites).
It reports none of it, but it can save the graph it will run (``SessionOptions.
optimized_model_filepath``). :func:`observe` names the rewrites by diffing that graph against the
input model (top-level graph only):

- a node whose outputs are all gone from the optimized graph was *removed*; a value whose
  producer changed op type was *fused into* its new producer;
- a removed or replaced node is named by what replaced it (a fused op type, :data:`FUSED`; a
  neighbouring op that absorbed it, :data:`ABSORBED`) or else by what it was: computable from
  constants (constant folding), a twin of a surviving node (CSE), or its op's elimination rule
  (:data:`ELIMINATED`);
- a removal that none of these explains is named ``ort:removed:<Op>`` (reported, not targeted).

Names start with ``ort:``; :data:`ORT_REWRITES` lists the targeted ones with the transformer each
stands for. The observation is cheap: the session the case needs anyway writes the optimized model
(:func:`fuzzer.execute.runners.run_onnxruntime` with ``observe_rewrites``), the diff is a pass over
two small graphs. ``ONNXFUZZ_NO_REWRITES=1`` turns it off (to measure its cost).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Iterable

import onnx

#: Targeted ORT rewrites: name -> (level, the transformer or rule it stands for).
ORT_REWRITES: dict[str, tuple[str, str]] = {
    "ort:ConstantFolding": ("basic", "ConstantFolding"),
    "ort:CommonSubexpressionElimination": ("basic", "CommonSubexpressionElimination"),
    "ort:EliminateIdentity": ("basic", "EliminateIdentity (rule)"),
    "ort:EliminateDropout": ("basic", "EliminateDropout (rule)"),
    "ort:EliminateSlice": ("basic", "EliminateSlice (rule)"),
    "ort:ExpandElimination": ("basic", "ExpandElimination (rule)"),
    "ort:CastElimination": ("basic", "CastElimination (rule) / CastChainElimination"),
    "ort:UnsqueezeElimination": ("basic", "UnsqueezeElimination (rule)"),
    "ort:SqueezeElimination": ("basic", "constant folding / NoopElimination of Squeeze"),
    "ort:ReshapeElimination": ("basic", "ReshapeFusion / NoopElimination of Reshape"),
    "ort:NoopElimination": ("basic", "NoopElimination (rule): x+0, x-0, x*1, x/1"),
    "ort:TransposeOptimizer": ("basic", "TransposeOptimizer: Transpose pairs and pushes"),
    "ort:FuseReluClip": ("basic", "FuseReluClip (rule)"),
    "ort:DivMulFusion": ("basic", "DivMulFusion (rule): 1/x * y -> y/x"),
    "ort:NotWhereFusion": ("basic", "NotWhereFusion (rule)"),
    "ort:ConvAddFusion": ("basic", "ConvAddFusion (rule)"),
    "ort:ConvMulFusion": ("basic", "ConvMulFusion (rule)"),
    "ort:ConvBNFusion": ("basic", "ConvBNFusion (rule)"),
    "ort:GemmTransposeFusion": ("basic", "GemmTransposeFusion (rule)"),
    "ort:GemmSumFusion": ("basic", "GemmSumFusion (rule)"),
    "ort:MatMulAddFusion": ("basic", "MatMulAddFusion: MatMul+Add -> Gemm"),
    "ort:ConcatSliceElimination": ("basic", "ConcatSliceElimination"),
    "ort:ShapeFolding": ("basic", "constant folding of Shape/Size on static shapes"),
    "ort:GemmActivationFusion": ("extended", "GemmActivationFusion -> FusedGemm"),
    "ort:ConvActivationFusion": ("extended", "ConvActivationFusion -> FusedConv"),
    "ort:MatMulTransposeFusion": ("extended", "MatmulTransposeFusion -> FusedMatMul"),
    "ort:MatMulScaleFusion": ("extended", "MatMulScaleFusion -> FusedMatMul(alpha)"),
    "ort:MatMulBNFusion": ("extended", "MatMulBNFusion"),
    "ort:MatMulActivationFusion": ("extended", "MatMulActivationFusion -> FusedMatMulActivation"),
    "ort:GeluFusion": ("extended", "GeluFusion -> Gelu"),
    "ort:BiasGeluFusion": ("extended", "BiasGeluFusion -> BiasGelu"),
    "ort:FastGeluFusion": ("extended", "FastGeluFusion -> FastGelu"),
    "ort:QuickGeluFusion": ("extended", "QuickGeluFusion -> QuickGelu"),
    "ort:LayerNormFusion": ("extended", "LayerNormFusion -> LayerNormalization"),
    "ort:SimplifiedLayerNormFusion": ("extended", "SimplifiedLayerNormFusion -> SimplifiedLayerNormalization"),
    "ort:SkipLayerNormFusion": ("extended", "SkipLayerNormFusion -> SkipLayerNormalization"),
    "ort:BiasSoftmaxFusion": ("extended", "BiasSoftmaxFusion -> BiasSoftmax"),
    "ort:BiasDropoutFusion": ("extended", "BiasDropoutFusion -> BiasDropout"),
    "ort:GatherToSplitFusion": ("extended", "GatherSliceToSplitFusion -> Split"),
    "ort:GatherToSliceFusion": ("extended", "GatherToSliceFusion -> Slice"),
    "ort:IsInfReduceSumFusion": ("extended", "IsInfReduceSumFusion -> IsAllFinite"),
    "ort:AttentionFusion": ("extended", "AttentionFusion / MultiHeadAttention"),
    "ort:InsertCastTransformer": ("always", "InsertCastTransformer: float16 ops without a float16 kernel run in float32"),
    "ort:NchwcTransformer": ("layout", "NchwcTransformer (com.microsoft.nchwc ops)"),
    "ort:NhwcTransformer": ("layout", "NhwcTransformer (com.microsoft Nhwc ops)"),
}

#: Op types (domain, op) in the optimized graph that only a fusion creates -> rewrite name.
FUSED: dict[tuple[str, str], str] = {
    ("com.microsoft", "FusedConv"): "ort:ConvActivationFusion",
    ("com.microsoft", "FusedGemm"): "ort:GemmActivationFusion",
    ("com.microsoft", "FusedMatMul"): "ort:MatMulTransposeFusion",
    ("com.microsoft", "FusedMatMulActivation"): "ort:MatMulActivationFusion",
    ("com.microsoft", "Gelu"): "ort:GeluFusion",
    ("com.microsoft", "BiasGelu"): "ort:BiasGeluFusion",
    ("com.microsoft", "FastGelu"): "ort:FastGeluFusion",
    ("com.microsoft", "QuickGelu"): "ort:QuickGeluFusion",
    ("com.microsoft", "SimplifiedLayerNormalization"): "ort:SimplifiedLayerNormFusion",
    ("", "SimplifiedLayerNormalization"): "ort:SimplifiedLayerNormFusion",
    ("com.microsoft", "SkipLayerNormalization"): "ort:SkipLayerNormFusion",
    ("com.microsoft", "SkipSimplifiedLayerNormalization"): "ort:SkipLayerNormFusion",
    ("", "LayerNormalization"): "ort:LayerNormFusion",
    ("com.microsoft", "BiasSoftmax"): "ort:BiasSoftmaxFusion",
    ("com.microsoft", "BiasDropout"): "ort:BiasDropoutFusion",
    ("com.microsoft", "IsAllFinite"): "ort:IsInfReduceSumFusion",
    ("com.microsoft", "Attention"): "ort:AttentionFusion",
    ("com.microsoft", "MultiHeadAttention"): "ort:AttentionFusion",
    ("", "Gemm"): "ort:MatMulAddFusion",
    ("", "Split"): "ort:GatherToSplitFusion",
    ("", "Slice"): "ort:GatherToSliceFusion",
}

#: (removed op, op that took its place or absorbed it) -> rewrite name.
ABSORBED: dict[tuple[str, str], str] = {
    ("Relu", "Clip"): "ort:FuseReluClip",
    ("Add", "Conv"): "ort:ConvAddFusion",
    ("Mul", "Conv"): "ort:ConvMulFusion",
    ("BatchNormalization", "Conv"): "ort:ConvBNFusion",
    ("BatchNormalization", "Gemm"): "ort:MatMulBNFusion",
    ("Transpose", "Gemm"): "ort:GemmTransposeFusion",
    ("Sum", "Gemm"): "ort:GemmSumFusion",
    ("Add", "Gemm"): "ort:MatMulAddFusion",
    ("MatMul", "Gemm"): "ort:MatMulAddFusion",
    ("Mul", "Div"): "ort:DivMulFusion",
    ("MatMul", "FusedMatMul"): "ort:MatMulTransposeFusion",
    ("Gemm", "FusedGemm"): "ort:GemmActivationFusion",
    ("Conv", "FusedConv"): "ort:ConvActivationFusion",
    ("Not", "Where"): "ort:NotWhereFusion",
    ("Reciprocal", "Div"): "ort:DivMulFusion",
    ("Div", "Div"): "ort:DivMulFusion",
    ("Mul", "FusedMatMul"): "ort:MatMulScaleFusion",
    ("Div", "FusedMatMul"): "ort:MatMulScaleFusion",
    ("Transpose", "FusedMatMul"): "ort:MatMulTransposeFusion",
    ("Slice", "Concat"): "ort:ConcatSliceElimination",
}

#: Removed op (inputs not all constant, no absorbing neighbour) -> the elimination that removed it.
ELIMINATED: dict[str, str] = {
    "Identity": "ort:EliminateIdentity",
    "Dropout": "ort:EliminateDropout",
    "Slice": "ort:EliminateSlice",
    "Expand": "ort:ExpandElimination",
    "Cast": "ort:CastElimination",
    "Unsqueeze": "ort:UnsqueezeElimination",
    "Squeeze": "ort:SqueezeElimination",
    "Reshape": "ort:ReshapeElimination",
    "Flatten": "ort:ReshapeElimination",
    "Transpose": "ort:TransposeOptimizer",
    "Add": "ort:NoopElimination",
    "Sub": "ort:NoopElimination",
    "Mul": "ort:NoopElimination",
    "Div": "ort:NoopElimination",
    "Shape": "ort:ShapeFolding",
    "Size": "ort:ShapeFolding",
}

_CAST_PREFIX = "InsertedPrecisionFreeCast_"
_INIT_PREFIX = "FusedBack_"

#: Ops never folded even on constant inputs (random, or with no input).
_NOT_FOLDABLE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}


def observation_enabled() -> bool:
    """False when ``ONNXFUZZ_NO_REWRITES`` is set (measuring the observation's cost)."""
    return not os.environ.get("ONNXFUZZ_NO_REWRITES")


def _key(n: onnx.NodeProto) -> tuple[str, str]:
    return ("" if n.domain in ("", "ai.onnx") else n.domain, n.op_type)


def _attrs_sig(n: onnx.NodeProto) -> bytes:
    return b"".join(a.SerializeToString(deterministic=True) for a in sorted(n.attribute, key=lambda a: a.name))


def observe(before: onnx.ModelProto, after: onnx.ModelProto) -> tuple[str, ...]:
    """The rewrites ORT applied to ``before`` to give ``after`` (sorted, distinct names)."""
    bg, ag = before.graph, after.graph
    # ORT runs float16 ops without a float16 kernel in float32 between inserted Casts, renaming
    # their values with a prefix (and converted initializers with another): read through both
    after_producer: dict[str, onnx.NodeProto] = {}
    for n in ag.node:
        for o in n.output:
            plain = o.removeprefix(_CAST_PREFIX)
            if plain != o and not (n.op_type == "Cast" and list(n.input[:1]) == [plain]):  # not the inserted input cast
                after_producer.setdefault(plain, n)
    for n in ag.node:
        for o in n.output:
            if o:
                after_producer.setdefault(o, n)
    after_inits = {i.name.removeprefix(_INIT_PREFIX) for i in ag.initializer}
    after_values = set(after_producer) | after_inits | {i.name for i in ag.input} | {o.name for o in ag.output}
    before_producer: dict[str, onnx.NodeProto] = {o: n for n in bg.node for o in n.output if o}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in bg.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    static = _static_shapes(before)
    constant = {i.name for i in bg.initializer} - {i.name for i in bg.input}
    for n in bg.node:  # nodes are in topological order in an exported model
        ins = [i for i in n.input if i]
        if n.op_type == "Constant" or (n.op_type not in _NOT_FOLDABLE and ins and all(i in constant for i in ins)):
            constant.update(o for o in n.output if o)
        elif n.op_type in ("Shape", "Size") and ins and ins[0] in static:
            constant.update(o for o in n.output if o)

    fired: set[str] = set()
    if any(o.startswith(_CAST_PREFIX) for n in ag.node for o in n.output):
        fired.add("ort:InsertCastTransformer")
    before_counts = Counter(_key(n) for n in bg.node)
    after_counts = Counter(_key(n) for n in ag.node)
    # fused ops that are new (or more numerous) in the optimized graph
    for key, name in FUSED.items():
        if after_counts[key] > before_counts[key] and key != ("com.microsoft", "FusedMatMul"):
            fired.add(name)
    fired.update(_fused_name(n) for n in ag.node if _key(n) == ("com.microsoft", "FusedMatMul"))
    if any(n.domain == "com.microsoft.nchwc" for n in ag.node):
        fired.add("ort:NchwcTransformer")
    if any(n.domain == "com.microsoft" and n.op_type.startswith("Nhwc") for n in ag.node):
        fired.add("ort:NhwcTransformer")
    # per node of the input graph: kept, replaced (same output name, other producer op) or removed
    twins = Counter((_key(n), tuple(n.input), _attrs_sig(n)) for n in bg.node if n.op_type != "Constant")
    for n in bg.node:
        if n.op_type == "Constant":
            continue
        outs = [o for o in n.output if o]
        if not outs:
            continue
        if any(o in after_inits and o not in after_producer for o in outs):  # its value became an initializer
            fired.add("ort:ShapeFolding" if n.op_type in ("Shape", "Size") else "ort:ConstantFolding")
            continue
        kept = [o for o in outs if o in after_values]
        if kept:
            p = after_producer.get(kept[0])
            if p is not None and p.domain == "com.microsoft.nchwc":  # layout: Reorder around NCHWc ops
                fired.add("ort:NchwcTransformer")
            elif p is not None and _key(p) != _key(n):  # fused into its new producer
                fired.add(_fused_name(p) if _key(p)[0] else ABSORBED.get((n.op_type, p.op_type)) or FUSED.get(_key(p)) or f"ort:replaced:{n.op_type}->{p.op_type}")
            continue
        # removed: by constant folding, by CSE, absorbed into a neighbour, or eliminated
        if all(o in constant for o in outs):
            fired.add("ort:ShapeFolding" if n.op_type in ("Shape", "Size") and not all(i in constant for i in n.input if i) else "ort:ConstantFolding")
            continue
        if twins[(_key(n), tuple(n.input), _attrs_sig(n))] > 1:
            fired.add("ort:CommonSubexpressionElimination")
            continue
        name = _absorbed_by(n, consumers, before_producer, after_producer)
        fired.add(name or ELIMINATED.get(n.op_type, f"ort:removed:{n.op_type}"))
    if "ort:MatMulAddFusion" in fired:  # MatMul+Add on 3-D inputs: Reshape, Gemm, Reshape
        fired -= {"ort:removed:MatMul", "ort:replaced:Add->Reshape"}
    return tuple(sorted(fired))


def _fused_name(p: onnx.NodeProto) -> str:
    """The rewrite that made fused node ``p`` (FusedMatMul: by its attributes; scale wins)."""
    if _key(p) == ("com.microsoft", "FusedMatMul"):
        a = {x.name: onnx.helper.get_attribute_value(x) for x in p.attribute}
        return "ort:MatMulScaleFusion" if float(a.get("alpha", 1.0)) != 1.0 else "ort:MatMulTransposeFusion"
    return FUSED.get(_key(p), f"ort:fused:{p.op_type}")


def _absorbed_by(n: onnx.NodeProto, consumers, before_producer, after_producer) -> str | None:
    """The fusion that absorbed removed node ``n`` into a neighbour (a consumer or producer, as it
    is in the optimized graph when it survived), if one is known."""
    neighbours: list[onnx.NodeProto] = []
    for o in n.output:
        for c in consumers.get(o, []):
            neighbours.append(next((after_producer[x] for x in c.output if x in after_producer), c))
    for i in n.input:
        p = before_producer.get(i)
        if p is not None:
            neighbours.append(next((after_producer[x] for x in p.output if x in after_producer), p))
    for nb in neighbours:
        if nb.domain == "com.microsoft.nchwc":
            return "ort:NchwcTransformer"
        if _key(nb)[0] == "com.microsoft" and _key(nb) in FUSED:
            return _fused_name(nb)
        if (n.op_type, nb.op_type) in ABSORBED:
            return ABSORBED[(n.op_type, nb.op_type)]
    return None


def _static_shapes(model: onnx.ModelProto) -> set[str]:
    """Values whose shape ONNX shape inference knows completely (no symbolic or unknown dim)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError):
        inferred = model
    g = inferred.graph
    out = set()
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            out.add(vi.name)
    return out


def targeted() -> list[str]:
    """Every targeted ORT rewrite name, sorted."""
    return sorted(ORT_REWRITES)


def names_of(rewrites: Iterable[str]) -> list[str]:
    """Distinct names, sorted."""
    return sorted(set(rewrites))
