"""Catalog entries derived from PyTorch's own operator database (op_db).

``opdb_table.json`` is written by ``scripts/derive_opdb.py`` from
``torch.testing._internal.common_methods_invocations.op_db``: per OpInfo the public callable
(``torch.x``, ``torch.nn.functional.x``, ``torch.linalg.x``, or a tensor method), the CPU dtypes
of its dtype table that the fuzzer knows, and up to three call *signatures*, each a template with
a few samples of literal argument values and tensor shapes/dtypes/domains taken from its
``sample_inputs`` and checked in eager (its own values and fresh values of both input modes).
Nothing here imports ``torch.testing``: the table holds literals only, so a materialized graph is
standalone and workers never load op_db.

How a derived entry builds a node (:func:`_build`): elementwise ops (op_db's unary and binary
ufuncs) apply to the primary input as it is, other tensors shaped like it (or broadcasting to
it); every other op uses one of its samples' exact shapes, on the primary input if its shape is
the sample's, else on a fresh graph input of the sample's primary shape (in the primary's dtype).
The eager probe of the generator still decides.

Hand-written entries win: an op_db entry whose name or callable a hand-written entry of
``ops.py``/``composite.py`` already has is left out (:func:`derived_ops` says which, and why in
:data:`SHADOWED`). The hand-written ones sample options op_db's few fixed samples do not
(``reduction``, ``ceil_mode``, ``align_corners``, rounding modes, dims of any rank), keep value
domains (divisors away from 0), and are the building blocks of the paper's sequence templates.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from fuzzer.ir import DTYPES, TensorSpec

from .spec import BuildContext, Choice, NewInput, OpSpec, broadcast_shape_for

TABLE_PATH = Path(__file__).with_name("opdb_table.json")

#: Total generator weight of all derived entries, relative to the hand-written entries' total.
#: Derived ops get as much of the generator's attention as the hand-written ones together.
DERIVED_WEIGHT_SHARE = 1.0

#: Domains whose values a computed value cannot be trusted to hold (eager raises outside them):
#: the primary input is then always a fresh graph input.
_STRICT_DOMAINS = frozenset({"index", "probability"})

_CALL_RE = re.compile(r"^(torch(?:\.\w+)+)\(")
_METHOD_RE = re.compile(r"^\{0\}\.(\w+)\(")


@lru_cache(maxsize=1)
def load_table() -> dict:
    """The derived table as written by scripts/derive_opdb.py (``{"ops": [...]}``)."""
    return json.loads(TABLE_PATH.read_text())


def template_callable(template: str) -> str | None:
    """The callable a template applies (``torch.abs``, ``Tensor.masked_fill``), or None."""
    m = _CALL_RE.match(template)
    if m:
        return m.group(1)
    m = _METHOD_RE.match(template)
    return f"Tensor.{m.group(1)}" if m else None


def entry_callable(entry: dict) -> str | None:
    if "callable" not in entry:
        return None
    return entry["callable"] if entry.get("kind") == "function" else f"Tensor.{entry['callable']}"


def _tuple(v: Any) -> Any:
    return tuple(_tuple(x) for x in v) if isinstance(v, list) else v


def _slot_spec(slot: dict, dtype: str, shape: Sequence[int] | None = None) -> TensorSpec:
    dt = dtype if slot["dtype"] == "same" else slot["dtype"]
    return TensorSpec(tuple(slot["shape"] if shape is None else shape), dt)


def _new(slot: dict, spec: TensorSpec) -> NewInput:
    return NewInput(spec, slot["domain"], slot["bound"])


def _build(samples: list[dict], polymorphic: bool):
    def build(ctx: BuildContext) -> Choice:
        s = ctx.rng.choice(samples)
        slots = s["tensors"]
        first = slots[0]
        primary = None
        attrs = {k: _tuple(v) for k, v in s["attrs"].items()}
        if polymorphic and first["domain"] not in _STRICT_DOMAINS:
            shape0 = tuple(first["shape"])
            extra = []
            for slot in slots[1:]:
                if tuple(slot["shape"]) == shape0:
                    shape = ctx.spec.shape
                elif not slot["shape"]:
                    shape = ()
                else:
                    shape = broadcast_shape_for(ctx.rng, ctx.spec.shape)
                spec = _slot_spec(slot, ctx.spec.dtype, shape)
                extra.append(ctx.same_or_new(spec, 0.5) if slot["domain"] == "any" else _new(slot, spec))
            return Choice(extra=extra, attrs=attrs)
        fits = [x for x in samples if tuple(x["tensors"][0]["shape"]) == ctx.spec.shape]
        if fits and first["domain"] not in _STRICT_DOMAINS:
            s = ctx.rng.choice(fits)
            slots = s["tensors"]
            attrs = {k: _tuple(v) for k, v in s["attrs"].items()}
        else:
            primary = _new(first, _slot_spec(first, ctx.spec.dtype))
        extra = []
        for slot in slots[1:]:
            spec = _slot_spec(slot, ctx.spec.dtype)
            extra.append(ctx.same_or_new(spec, 0.5) if slot["domain"] == "any" else _new(slot, spec))
        return Choice(extra=extra, primary=primary, attrs=attrs)

    return build


def _ranks(samples: list[dict], polymorphic: bool) -> tuple[int, int]:
    if polymorphic:
        return (0, 5)
    rs = [len(x["tensors"][0]["shape"]) for x in samples]
    return (min(rs), max(rs))


#: Derived entries left out because eager raises on the campaign's inputs: LAPACK-based ops fail on
#: non-finite values (``special`` input mode) or singular matrices, histc and histogram on a NaN range. Found by
#: ``scripts/measure_eager.py`` (the derivation's few fresh-value trials did not always hit it).
VALUE_SENSITIVE = re.compile(r"svd|eig|lstsq|matrix_rank|inv|solve|cholesky|pinv|(^|\.)lu|qr|cond|nuc|histc|histogram|matrix_power|matrix_norm|"
                             r"householder|matrix_exp|logdet|slogdet|ormqr|geqrf|triangular")
VALUE_SENSITIVE_REASON = "raises on non-finite or singular inputs (special input mode would make eager_error)"

#: Private ATen entry points op_db tests (torch._chunk_cat, torch.ops.aten._safe_softmax...): no user
#: writes them, and findings there would be noise.
PRIVATE_REASON = "private ATen API (torch._x / torch.ops.aten), not user code"


def _left_out(e: dict) -> str | None:
    """Why a usable table entry stays out of the catalog, or None."""
    if VALUE_SENSITIVE.search(e["name"]) or VALUE_SENSITIVE.search(e.get("callable", "")):
        return VALUE_SENSITIVE_REASON
    c = e.get("callable", "")
    if e.get("kind") == "function" and (c.startswith("torch._") or c.startswith("torch.ops.") or "._" in c):
        return PRIVATE_REASON
    if e.get("kind") == "method" and c.startswith("_") and not c.startswith("__"):
        return PRIVATE_REASON
    return None

#: Filled by :func:`derived_ops`: derived name -> the hand-written entry that shadows it.
SHADOWED: dict[str, str] = {}


def derived_ops(hand_written: Sequence[OpSpec]) -> tuple[OpSpec, ...]:
    """OpSpecs for every usable entry of the table that no hand-written entry shadows (same name,
    or same callable). Each of an op's signatures is one entry: the first is named like the op
    (``addmm``, ``nn.functional.conv2d``, ``max.reduction_with_dim``), the others get ``.s2``,
    ``.s3``. Weights share :data:`DERIVED_WEIGHT_SHARE` of the hand-written total equally per op."""
    names = {o.name: o.name for o in hand_written}
    calls = {}
    for o in hand_written:
        c = template_callable(o.template)
        if c is not None:
            calls.setdefault(c, o.name)
    usable = [e for e in load_table()["ops"] if "skip" not in e]
    kept = []
    SHADOWED.clear()
    for e in usable:
        if _left_out(e):
            continue
        by = names.get(e["name"]) or calls.get(entry_callable(e) or "")
        if by is not None:
            SHADOWED[e["name"]] = by
            continue
        kept.append(e)
    if not kept:
        return ()
    per_op = DERIVED_WEIGHT_SHARE * sum(o.weight for o in hand_written) / len(kept)
    out = []
    for e in kept:
        dtypes = frozenset(d for d in e["dtypes"] if d in DTYPES)
        sigs = e["signatures"]
        for k, sig in enumerate(sigs):
            name = e["name"] if k == 0 else f"{e['name']}.s{k + 1}"
            samples = sig["samples"]
            out.append(OpSpec(
                name=name,
                template=sig["template"],
                dtypes=dtypes,
                build=_build(samples, bool(e.get("polymorphic"))),
                ranks=_ranks(samples, bool(e.get("polymorphic"))),
                family="opdb",
                domain=samples[0]["tensors"][0]["domain"],
                n_outputs=sig["n_outputs"],
                returns_tuple=sig["returns_tuple"],
                weight=per_op / len(sigs),
                doc=f"op_db {e['opdb_name']}" + (f" ({e['variant']})" if e["variant"] else ""),
            ))
    return tuple(out)


def _signature_samples(name: str) -> list[dict]:
    """The table's samples behind catalog entry ``name`` (tests, the catalog report)."""
    base, _, sig = name.rpartition(".s") if re.search(r"\.s\d+$", name) else (name, "", "1")
    for e in load_table()["ops"]:
        if e["name"] == base and "skip" not in e:
            return e["signatures"][int(sig) - 1]["samples"]
    return []


def skipped() -> dict[str, str]:
    """op_db entries the catalog leaves out, with the reason (the table's, or value sensitivity)."""
    out = {e["name"]: e["skip"] for e in load_table()["ops"] if "skip" in e}
    for e in load_table()["ops"]:
        if "skip" not in e and _left_out(e):
            out[e["name"]] = _left_out(e)
    return out
