"""Reach: which ATen operators the exporters register does the generator reach, and why not the rest.

Names are ATen operator names without namespace and overload (``add``, ``_softmax``, ``lstm``), the
same names the exporters' registries use (:mod:`fuzzer.export.registries`), the reach table
(``fuzzer/catalog/reach_table.json``, ``scripts/derive_reach.py``) and the campaign's coverage
(``coverage.json``: ``catalog`` and ``aten`` per exporter).

What counts as reached, per exporter: TorchScript looks symbolic functions up by the ``aten::``
nodes of the traced graph, so an entry reaches what its traced graph holds; the dynamo exporter
looks torchlib functions up by the ATen ops of torch.export's graph (``exported``: ops torch.export
keeps, such as ``conv2d``), and of the decompositions it runs, so an entry reaches those, its traced
ops and the ATen calls dispatched under it.

An op nobody reaches gets a reason when one applies (:func:`reason_for`): training-only,
random, complex-only, quantized, sparse, a TorchScript scripting builtin, an internal helper, or
the reason the op_db derivation left its OpInfo out. The rest are counted as unexplained.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from fuzzer.catalog import CATALOG, OpSpec, opdb
from fuzzer.catalog.reached import REACH_TABLE, aten_of, reach_table  # noqa: F401 - re-exported


RANDOM = frozenset({
    "bernoulli", "dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout", "rand", "rand_like", "randn",
    "randn_like", "randint", "randint_like", "randperm", "normal", "uniform", "exponential", "multinomial", "poisson",
    "rrelu", "rrelu_with_noise", "native_dropout", "cauchy", "geometric", "log_normal", "random", "_standard_gamma",
    "dropout_", "bernoulli_", "uniform_", "normal_", "exponential_", "random_", "_fused_dropout", "_sample_dirichlet",
})
COMPLEX = frozenset({"view_as_complex", "view_as_real", "real", "imag", "conj", "angle", "polar", "complex", "conj_physical",
                     "resolve_conj", "resolve_neg", "_conj", "_neg_view", "is_conj", "is_neg", "_fft_c2c", "_fft_c2r", "_fft_r2c",
                     "fft_fft", "fft_ifft", "stft", "istft", "view_as_real_copy"})
SCRIPTING = frozenset({"__not_", "__contains_", "__derive_index", "__getitem_", "__interpolate",
                       "__is_", "__isnot_", "__range_length", "list", "len", "Int", "Float", "Bool", "ScalarImplicit",
                       "dim", "numel", "is_floating_point", "is_pinned", "item", "append", "insert", "pop", "__upsample", "__upsample_bilinear",
                       "_set_item", "_list", "_dim_arange", "_shape_as_tensor", "_reshape_from_tensor", "tensor", "as_tensor", "type_as_",
                       "prim_ConstantChunk", "_unique", "unique_dim", "_pack_padded_sequence", "_pad_packed_sequence",
                       "pack_padded_sequence", "pad_packed_sequence", "str", "format", "IntImplicit", "FloatImplicit", "to_padded_tensor",
                       "Delete", "floordiv", "nonzero_numpy", "get_pool_ceil_padding", "lift", "lift_fresh"})
#: Alias spellings PyTorch canonicalizes before any exporter sees them (torch.divide is traced and
#: exported as aten::div): the catalog writes them (fuzzer/catalog/pyops.py ALIASES), the graph
#: never holds them.
ALIASES = {"divide": "div", "true_divide": "div", "multiply": "mul", "subtract": "sub", "greater": "gt", "greater_equal": "ge",
           "less": "lt", "less_equal": "le", "concat": "cat", "concatenate": "cat", "special_erf": "erf", "special_erfc": "erfc",
           "special_expm1": "expm1", "special_sinc": "sinc", "special_softmax": "softmax", "special_log_softmax": "log_softmax",
           "absolute": "abs", "arccos": "acos", "arcsin": "asin", "arctan": "atan", "clip": "clamp", "fix": "trunc", "negative": "neg"}

#: Control flow and higher-order ops: the generator builds straight-line graphs.
CONTROL_FLOW = frozenset({"scan", "cond", "while_loop", "map", "associative_scan", "invoke_subgraph"})


#: TorchScript symbolics that tracing never looks up: the traced graph records another ATen op for
#: the same call (every convolution is aten::_convolution, F.pad aten::pad, F.nll_loss
#: aten::nll_loss_nd); they serve scripted models.
TRACED_AS = {"conv1d": "_convolution", "conv2d": "_convolution", "conv3d": "_convolution", "convolution": "_convolution",
             "conv_transpose1d": "_convolution", "conv_transpose2d": "_convolution", "conv_transpose3d": "_convolution",
             "conv_tbc": "_convolution", "reflection_pad1d": "pad", "reflection_pad2d": "pad", "reflection_pad3d": "pad",
             "replication_pad1d": "pad", "replication_pad2d": "pad", "replication_pad3d": "pad", "nll_loss": "nll_loss_nd",
             "nll_loss2d": "nll_loss_nd", "norm": "linalg_vector_norm", "frobenius_norm": "linalg_vector_norm"}
#: torch.nn.functional implements these in Python: traced and exported as their parts.
PYTHON_COMPOSITES = frozenset({"tanhshrink", "softsign"})


def reason_for(name: str, opdb_skips: Mapping[str, str], exporter: str = "torchscript") -> str | None:
    """Why no fuzz graph should hold ATen op ``name`` for ``exporter``, or None."""
    if exporter == "torchscript" and name in TRACED_AS:
        return f"traced as aten::{TRACED_AS[name]} (the symbolic serves scripted models)"
    if name in PYTHON_COMPOSITES:
        return "torch.nn.functional implements it in Python: traced and exported as its parts"
    if name in ("alias", "is_nonzero", "getitem", "sym_size", "sym_numel", "sym_stride", "sym_storage_offset", "normal_functional") or name.startswith("unsafe_"):
        return {"is_nonzero": "bool(tensor): data-dependent Python control flow", "getitem": "sequence indexing of an exported program's tuple outputs",
                "normal_functional": "random output (eager and ONNX Runtime cannot agree)"}.get(
            name, "internal ATen helper (no public callable; reached only through other ops' decompositions)")
    if "backward" in name or name.endswith("_grad") or name.startswith("_thnn_") or name in ("native_dropout", "_native_batch_norm_legit"):
        return "training-only (backward, or a training-mode kernel)"
    if name in RANDOM or name.startswith("rand") or name.endswith("dropout") or name.endswith("dropout_"):
        return "random output (eager and ONNX Runtime cannot agree)"
    if name in COMPLEX or "complex" in name:
        return "complex-only"
    if "quantize" in name or name.startswith("quantized") or name.startswith("q_") or name in ("dequantize", "int_repr"):
        return "quantized tensors"
    if "sparse" in name or name in ("coalesce", "to_dense", "_to_dense", "indices", "values", "_indices", "_values"):
        return "sparse tensors"
    if name in ALIASES:
        return f"alias: PyTorch records it as aten::{ALIASES[name]} before any exporter sees it"
    if name in CONTROL_FLOW:
        return "control flow (the generator builds straight-line graphs)"
    if name in SCRIPTING:
        return "TorchScript scripting builtin (a traced or exported graph never holds it)"
    if name in opdb_skips:
        return "op_db: " + opdb_skips[name]
    if name.startswith("_") and not name.startswith("__"):
        return "internal ATen helper (no public callable; reached only through other ops' decompositions)"
    return None


def opdb_skip_reasons() -> dict[str, str]:
    """ATen name -> the reason the op_db derivation left every OpInfo of that name out."""
    out: dict[str, str] = {}
    kept = set()
    skipped = opdb.skipped()
    for e in opdb.load_table()["ops"]:
        aten = (e.get("aten_name") or e["opdb_name"]).split(".")[-1]
        if e["name"] in skipped:
            out.setdefault(aten, skipped[e["name"]])
        else:
            kept.add(aten)
    return {k: v for k, v in out.items() if k not in kept}


@dataclass(frozen=True)
class OpReach:
    aten: str
    reached_by: tuple[str, ...]  # catalog entries (a few, sorted)
    reason: str | None  # why not reached (None: reached, or unexplained)


@dataclass
class ExporterReach:
    exporter: str
    ops: list[OpReach] = field(default_factory=list)

    @property
    def registered(self) -> int:
        return len(self.ops)

    @property
    def reached(self) -> int:
        return sum(1 for o in self.ops if o.reached_by)

    @property
    def excused(self) -> int:
        return sum(1 for o in self.ops if not o.reached_by and o.reason)

    @property
    def unexplained(self) -> int:
        return sum(1 for o in self.ops if not o.reached_by and not o.reason)

    @property
    def share(self) -> float:
        """Reached / (registered - those not reached for a stated reason)."""
        return self.reached / max(1, self.registered - self.excused)


def reach_report(registries: Mapping[str, Iterable[str]], entries: Iterable[str] | None = None) -> dict[str, ExporterReach]:
    """Per exporter, every registered ATen op: reached by which catalog entries, or why not."""
    names = list(entries) if entries is not None else list(CATALOG)
    skips = opdb_skip_reasons()
    out = {}
    for exporter, registered in registries.items():
        by: dict[str, list[str]] = defaultdict(list)
        for n in names:
            for a in aten_of(n, exporter):
                by[a].append(n)
        rep = ExporterReach(exporter)
        for a in sorted(set(registered)):
            who = tuple(sorted(by.get(a, ()))[:5])
            rep.ops.append(OpReach(a, who, None if who else reason_for(a, skips, exporter)))
        out[exporter] = rep
    return out


def distinct_callables(ops: Iterable[OpSpec]) -> set[str]:
    """The distinct PyTorch callables and modules the entries apply (``torch.abs``,
    ``Tensor.view``, ``torch.nn.LSTM``, ``operator >>``, ``setitem``...)."""
    out = set()
    for o in ops:
        if o.module:
            out.add(o.module.split("(", 1)[0])
            continue
        c = opdb.template_callable(o.template)
        if c is None:
            m = re.match(r"^\{0\}(?:\.clone\(\))?\.(\w+)", o.template)
            c = f"Tensor.{m.group(1)}" if m else f"expression:{o.name}"
        out.add(c)
    return out


def catalog_items(ops: Iterable[str], exporter: str) -> dict[str, set[str]]:
    """Coverage items of one case by these names: its catalog entries and the ATen ops they reach."""
    ops = set(ops)
    aten = set()
    for o in ops:
        aten |= aten_of(o, exporter)
    return {"catalog": ops, "aten": aten}
