"""Rewrite templates: chains of catalog ops whose export triggers a graph rewrite.

The rewrites that act on operator chains live in ONNX Runtime's session optimizer (fusions,
eliminations, constant folding: observed by :mod:`fuzzer.execute.rewrites`) and, for the dynamo
exporter, in ONNX Script's optimizer (observed by :mod:`fuzzer.export.rewrites`). For each
targeted rewrite, :data:`CANDIDATES` lists chains of catalog ops (each step's first output feeding
the next step, as in :mod:`fuzzer.generate.templates`) that should trigger it, with attribute
constraints where an attribute decides (``mul_scalar`` by 1 is a no-op, ``to`` twice is a cast
chain, ...).

``scripts/rewrite_templates.py`` instantiates every candidate chain a few times (random dtypes,
shapes and attributes, as the generator plants it), exports it with each exporter, runs it in ONNX
Runtime and records per exporter the share of instantiations on which the rewrite was observed
(``verified``); it writes the committed table ``rewrite_templates.json`` and
``corpus/templates/rewrites.md``. The generator plants verified chains (``GeneratorOptions.
rewrite_share``) the way ``bias`` plants the paper's templates.

Invariants: every step names a catalog op; the table read by :func:`load_rewrite_templates` holds
exactly the rewrites and chains of :data:`CANDIDATES` (a unit test checks it), plus verification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence


from .templates import Chain, Step, read_chain_table

TABLE_PATH = Path(__file__).with_name("rewrite_templates.json")
TABLE_VERSION = 1

_ONE = {"c": {"in": [1]}}
#: clamp with one bound only: the dynamo exporter emits Max (min only) or Min (max only)
_MAX = ("clamp", {"max": {"in": [None]}, "min": {"not_in": [None]}})
_MIN = ("clamp", {"min": {"in": [None]}, "max": {"not_in": [None]}})
_IDENTITY_PERM = {"perm": {"in": [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]]}}

#: Targeted rewrite -> candidate chains (op names, or (op, attribute constraints)).
CANDIDATES: dict[str, list[list[Any]]] = {
    # --- ONNX Runtime: basic level (rule-based eliminations and fusions, folding, CSE)
    "ort:FuseReluClip": [["relu", "clamp"], ["relu", "relu6"], ["relu", "hardtanh"], ["relu", _MIN]],
    "ort:ConvAddFusion": [["conv2d", "add_scalar"], ["conv1d", "add_scalar"]],
    "ort:ConvMulFusion": [["conv2d", "mul_scalar"], ["conv1d", "mul_scalar"]],
    "ort:ConvBNFusion": [["conv2d", "batch_norm"], ["conv1d", "batch_norm"]],
    "ort:MatMulAddFusion": [["linear"], ["linear_nobias", "add_scalar"], ["matmul", "add_scalar"]],
    "ort:GemmTransposeFusion": [["transpose", "linear"], ["permute", "linear"]],
    "ort:NotWhereFusion": [["logical_not", "where"]],
    "ort:DivMulFusion": [["reciprocal", "mul"], ["rsqrt", "mul"], ["reciprocal", "mul_scalar"]],
    "ort:ConstantFolding": [["expand_as"], ["one_hot"], ["triu"], ["roll"], ["layer_norm"], ["interpolate"]],
    "ort:ShapeFolding": [["reshape_dynamic"], ["expand_as"], ["flatten"], ["squeeze_dynamic"]],
    "ort:CommonSubexpressionElimination": [["std"], ["var"], ["cosine_similarity"], ["normalize"], ["softsign"], ["pairwise_distance"]],
    "ort:EliminateIdentity": [["dropout_eval", "abs"], ["dropout_eval", "sin"]],
    "ort:EliminateDropout": [["dropout_eval", "abs"]],
    "ort:EliminateSlice": [["slice", "abs"], ["narrow", "abs"]],
    "ort:ExpandElimination": [["expand", "abs"], ["expand_as", "abs"]],
    "ort:CastElimination": [["to", "to"], ["to", "abs"], ["abs", "to", "to"]],
    "ort:UnsqueezeElimination": [["unsqueeze", "squeeze"], ["stack"]],
    "ort:SqueezeElimination": [["squeeze", "abs"], ["squeeze_all", "abs"]],
    "ort:ReshapeElimination": [["reshape", "reshape"], ["flatten", "abs"], ["reshape", "abs"]],
    "ort:NoopElimination": [[("mul_scalar", _ONE), "abs"], [("mul_scalar", _ONE), "neg"]],
    "ort:TransposeOptimizer": [["transpose", "transpose"], ["permute", "permute"], ["transpose", "relu", "transpose"], ["permute", "abs"]],
    "ort:ConcatSliceElimination": [["cat", "slice"], ["cat", "narrow"]],
    "ort:InsertCastTransformer": [["hardsigmoid"], ["ceil"], ["sin", "cos"], ["erf"]],
    # --- ONNX Runtime: extended level (fusions into com.microsoft ops)
    "ort:ConvActivationFusion": [["conv2d", "relu"], ["conv2d", "sigmoid"], ["conv1d", "leaky_relu"], ["conv2d", "clamp"], ["conv2d", "tanh"]],
    "ort:GemmActivationFusion": [["linear", "relu"], ["linear", "sigmoid"], ["linear", "leaky_relu"], ["linear", "tanh"]],
    "ort:MatMulTransposeFusion": [["transpose", "matmul"], ["permute", "matmul"]],
    "ort:MatMulScaleFusion": [["matmul", "mul_scalar"], ["mul_scalar", "matmul"], ["linear_nobias", "mul_scalar"]],
    "ort:MatMulBNFusion": [["linear_nobias", "batch_norm"]],
    "ort:GeluFusion": [["gelu"]],
    "ort:FastGeluFusion": [["gelu"]],
    "ort:BiasGeluFusion": [["add", "gelu"], ["linear", "gelu"]],
    "ort:QuickGeluFusion": [["silu"], ["sigmoid", "mul"]],
    "ort:LayerNormFusion": [["layer_norm"], ["layer_norm_affine"], ["group_norm"]],
    "ort:SimplifiedLayerNormFusion": [["rms_norm"]],
    "ort:SkipLayerNormFusion": [["add", "layer_norm"], ["add", "layer_norm_affine"]],
    "ort:BiasSoftmaxFusion": [["add", "softmax"], ["sdpa_float_mask"]],
    "ort:IsInfReduceSumFusion": [["isinf", "any"], ["isinf", "sum"]],
    "ort:AttentionFusion": [["scaled_dot_product_attention"]],
    "ort:NchwcTransformer": [["conv2d"], ["conv2d", "max_pool2d"], ["conv2d", "relu"]],
    "ort:GatherToSplitFusion": [["chunk"], ["unfold"]],
    # --- ONNX Script optimizer (dynamo exporter)
    "onnxscript:FoldConstants": [["expand_as"], ["one_hot"], ["flatten"], ["reshape_dynamic"]],
    "onnxscript:NoOpMul": [[("mul_scalar", _ONE)], [("mul_scalar", _ONE), "abs"]],
    "onnxscript:CastCast": [["to", "to"], ["abs", "to", "to"]],
    "onnxscript:CastIdentity": [["to", "to"], ["to"]],
    "onnxscript:ExpandIdentity": [["expand", "abs"], ["expand_as"]],
    "onnxscript:ReshapeReshape": [["reshape", "reshape"], ["flatten", "reshape"], ["reshape", "flatten"]],
    "onnxscript:TransposeTranspose": [["transpose", "transpose"], ["permute", "permute"], ["permute", "transpose"]],
    "onnxscript:TransposeIdentity": [[("permute", _IDENTITY_PERM)], [("permute", _IDENTITY_PERM), "abs"]],
    "onnxscript:UnsqueezeUnsqueeze": [["unsqueeze", "unsqueeze"], ["stack", "unsqueeze"]],
    "onnxscript:SqueezeReshape1d": [["squeeze", "reshape"], ["squeeze_all", "reshape"]],
    "onnxscript:FuseSuccessiveRelu": [["relu", "relu"]],
    "onnxscript:FuseSuccessiveClip": [["clamp", "clamp"], ["relu6", "clamp"], ["hardtanh", "hardtanh"]],
    "onnxscript:FuseSuccessiveClipRelu": [["relu", "clamp"], ["relu", "relu6"], ["relu", "hardtanh"]],
    "onnxscript:FuseSuccessiveReluClip": [["clamp", "relu"], ["relu6", "relu"], ["hardtanh", "relu"]],
    "onnxscript:FuseSuccessiveMin": [[_MIN, _MIN]],
    "onnxscript:FuseSuccessiveMax": [[_MAX, _MAX]],
    "onnxscript:FuseMinMaxToClip": [[_MIN, _MAX]],
    "onnxscript:FuseMaxMinToClip": [[_MAX, _MIN], ["clamp", "clamp"]],
    "onnxscript:FuseBatchNormIntoConv": [["conv2d", "batch_norm"], ["conv1d", "batch_norm"]],
    "onnxscript:FuseBatchNormIntoConvTranspose": [["conv_transpose2d", "batch_norm"]],
    "onnxscript:FuseBatchNormIntoGemm": [["linear", "batch_norm"]],
    "onnxscript:FuseConvPad": [["pad", "conv2d"], ["pad", "conv1d"]],
    "onnxscript:Flatten2Reshape": [["flatten"], ["flatten", "abs"]],
    "onnxscript:CollapseSlice": [["slice"], ["narrow"], ["slice", "abs"]],
    "onnxscript:SlicesSplit": [["chunk"], ["split"]],
    "onnxscript:MaterializeReshapeShape": [["reshape_dynamic"], ["reshape"]],
    "onnxscript:BroadcastToMatMul": [["matmul"]],
    "onnxscript:RemoveOptionalBiasFromConv": [["conv2d"]],
    "onnxscript:NoOpAdd": [["add_scalar"]],
    "onnxscript:NoOpDiv": [["div"]],
}


def project_of(rewrite: str) -> str:
    """"onnxruntime" or "onnxscript", from the rewrite's name prefix."""
    return "onnxruntime" if rewrite.startswith("ort:") else "onnxscript"


def candidate_chains(rewrite: str) -> list[Chain]:
    """The candidate chains of ``rewrite`` as unverified :class:`Chain` s."""
    out = []
    for steps in CANDIDATES[rewrite]:
        out.append(Chain(tuple(Step(s) if isinstance(s, str) else Step(s[0], {k: dict(v) for k, v in s[1].items()}) for s in steps)))
    return out


@dataclass(frozen=True)
class RewriteTemplate:
    """A targeted rewrite with its chains (each with its verified share per exporter)."""

    rewrite: str
    chains: tuple[Chain, ...]
    #: per exporter, what verification saw instead when no chain fired the rewrite
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return project_of(self.rewrite)

    def usable_chains(self, exporter: str | None = None, min_share: float = 0.0) -> list[Chain]:
        out = []
        for c in self.chains:
            shares = [c.verified.get(exporter, 0.0)] if exporter else list(c.verified.values())
            if any(s > min_share for s in shares):
                out.append(c)
        return out

    def to_dict(self) -> dict:
        d: dict = {"rewrite": self.rewrite, "project": self.project, "chains": [c.to_dict() for c in self.chains]}
        if self.notes:
            d["notes"] = dict(sorted(self.notes.items()))
        return d

    @staticmethod
    def from_dict(d: Mapping) -> "RewriteTemplate":
        return RewriteTemplate(d["rewrite"], tuple(Chain.from_dict(c) for c in d["chains"]), dict(d.get("notes", {})))


def derive() -> list[RewriteTemplate]:
    """Every targeted rewrite with its candidate chains (unverified), in :data:`CANDIDATES` order."""
    return [RewriteTemplate(r, tuple(candidate_chains(r))) for r in CANDIDATES]


class RewriteTableError(ValueError):
    """The rewrite template table is unreadable or names operators this catalog lacks."""


def table_to_json(templates: Sequence[RewriteTemplate]) -> str:
    return json.dumps({"version": TABLE_VERSION, "rewrites": [t.to_dict() for t in templates]}, indent=1) + "\n"


def table_from_json(text: str, where: str = "rewrite template table") -> list[RewriteTemplate]:
    return read_chain_table(text, where, TABLE_VERSION, "rewrites", RewriteTemplate.from_dict, RewriteTableError, "rewrite template table",
                            lambda t: t.rewrite)


@lru_cache(maxsize=1)
def load_rewrite_templates() -> tuple[RewriteTemplate, ...]:
    """The committed, verified table (empty if it was never generated)."""
    if not TABLE_PATH.exists():
        return ()
    return tuple(table_from_json(TABLE_PATH.read_text(encoding="utf-8"), str(TABLE_PATH)))
