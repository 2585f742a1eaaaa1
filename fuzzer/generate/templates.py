"""Sequence templates: PyTorch call chains that export to the paper's mismatch sequences.

The ISSTA 2024 paper lists ONNX op sequences seen only in wrongly converted models
(``fuzzer/generate/paper_sequences.json``, a copy of the paper's ``torch_mismatch_sequences.json``). A :class:`Template` pairs one such sequence with
one or more :class:`Chain` s of catalog operators, each step feeding its output to the next as
primary input, whose export should contain the sequence as a path (see
:mod:`fuzzer.coverage.paths` for what "contains" tolerates).

The chains are derived mechanically (:func:`derive`) from each catalog entry's ``onnx=`` list: an
ONNX op is stood for by a catalog op that lists it (ops that list only it first). Hand-written
overrides exist only where one PyTorch call exports to several ONNX ops on a path
(:data:`PHRASES`: Shape-Slice-Concat-Reshape from ``flatten``, Shape-Slice-Concat-Resize from
``interpolate(size=...)``, Shape-Gather-Equal-If from ``squeeze_dynamic``, Cast-<binary> from type
promotion) and where an attribute decides which ONNX op appears (:data:`STEP_ATTRS`).

Each chain records, per exporter, the share of its sampled instantiations whose export contains
the sequence (``verified``; filled in by ``scripts/templates.py verify``, which regenerates the
committed table ``fuzzer/generate/paper_templates.json`` and ``corpus/templates/``).

Invariants: every step names a catalog op; constraints name attributes of that op; the table
read by :func:`load_templates` is exactly what :func:`derive` produces from the paper file plus
the recorded verification (a unit test checks this when the paper file is present).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from fuzzer.catalog import CATALOG, TEMPLATE_SOURCES

#: The committed table (derived + verified), shipped with the package.
TABLE_PATH = Path(__file__).with_name("paper_templates.json")
TABLE_VERSION = 1
#: The paper file's two lists, by the short names used in the table.
PAPER_SETS = {"reduced": "torch_reduced", "nonoverlapping": "torch_nonoverlapping"}


@dataclass(frozen=True)
class Step:
    """One catalog op in a chain. ``attrs`` constrains attributes: ``{name: {"in": [...]}}`` or
    ``{name: {"not_in": [...]}}``. ``promote``: a binary op whose other operand gets a wider dtype,
    so the exporter casts the chain's value (type promotion is where Casts come from)."""

    op: str
    attrs: Mapping[str, Mapping[str, list]] = field(default_factory=dict)
    promote: bool = False

    def allows(self, attrs: Mapping[str, Any]) -> bool:
        for name, c in self.attrs.items():
            v = _jsonable(attrs.get(name))
            if "in" in c and v not in [_jsonable(x) for x in c["in"]]:
                return False
            if "not_in" in c and v in [_jsonable(x) for x in c["not_in"]]:
                return False
        return True

    def to_dict(self) -> dict:
        d: dict = {"op": self.op}
        if self.attrs:
            d["attrs"] = {k: dict(v) for k, v in self.attrs.items()}
        if self.promote:
            d["promote"] = True
        return d

    @staticmethod
    def from_dict(d: Mapping) -> "Step":
        return Step(d["op"], {k: dict(v) for k, v in d.get("attrs", {}).items()}, bool(d.get("promote", False)))


@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...]
    #: exporter -> share of sampled instantiations whose export contains the sequence
    verified: Mapping[str, float] = field(default_factory=dict)

    def ops(self) -> tuple[str, ...]:
        return tuple(s.op for s in self.steps)

    def to_dict(self) -> dict:
        return {"steps": [s.to_dict() for s in self.steps], "verified": dict(sorted(self.verified.items()))}

    @staticmethod
    def from_dict(d: Mapping) -> "Chain":
        return Chain(tuple(Step.from_dict(s) for s in d["steps"]), dict(d.get("verified", {})))


@dataclass(frozen=True)
class Template:
    id: str  # "s042": stable index in the sorted union of the paper's sequences
    sequence: tuple[str, ...]
    sets: tuple[str, ...]  # which paper lists hold it ("reduced", "nonoverlapping")
    chains: tuple[Chain, ...]
    #: what the exporters emit instead, when no chain reaches the sequence (filled by verification)
    notes: Mapping[str, str] = field(default_factory=dict)

    def usable_chains(self, exporter: str | None = None, min_share: float = 0.0) -> list[Chain]:
        """Chains verified for ``exporter`` (any exporter if None) with a share above ``min_share``."""
        out = []
        for c in self.chains:
            shares = [c.verified.get(exporter, 0.0)] if exporter else list(c.verified.values())
            if any(s > min_share for s in shares):
                out.append(c)
        return out

    def to_dict(self) -> dict:
        d = {"id": self.id, "sequence": list(self.sequence), "sets": list(self.sets), "chains": [c.to_dict() for c in self.chains]}
        if self.notes:
            d["notes"] = dict(sorted(self.notes.items()))
        return d

    @staticmethod
    def from_dict(d: Mapping) -> "Template":
        return Template(d["id"], tuple(d["sequence"]), tuple(d["sets"]), tuple(Chain.from_dict(c) for c in d["chains"]), dict(d.get("notes", {})))


def _jsonable(v: Any) -> Any:
    return [_jsonable(x) for x in v] if isinstance(v, (list, tuple)) else v


# ---------------------------------------------------------------------------------------------
# derivation
# ---------------------------------------------------------------------------------------------
#: Attribute constraints that make a catalog op export to the ONNX op it stands for.
STEP_ATTRS: dict[tuple[str, str], dict] = {
    ("Div", "div"): {"rounding_mode": {"in": [None]}},
    ("Round", "round"): {"decimals": {"in": [0]}},
    ("Floor", "div"): {"rounding_mode": {"in": ["floor"]}},
}

#: Catalog ops to try first for an ONNX op, before the ones derived from ``onnx=`` (when the
#: derived order would start with an op that exports to several things).
PREFERRED: dict[str, tuple[str, ...]] = {
    "Div": ("div",),
    "Round": ("round",),
    "And": ("logical_and",),
    "Or": ("logical_or",),
    "Xor": ("logical_xor",),
    "Sub": ("sub", "rsub_scalar"),
    "Slice": ("slice", "narrow"),
    "Gather": ("index_select",),
    "If": ("squeeze_dynamic",),
    "Shape": ("expand_as",),
}

#: Binary ONNX ops whose catalog op can take a wider-dtype operand (Cast by type promotion).
_PROMOTING = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Max": "maximum", "Min": "minimum", "Equal": "eq", "Less": "lt", "Greater": "gt"}

#: For a value of dtype k, operand dtypes that win type promotion against it (same shape, so the
#: exporter casts the value, not the operand).
PROMOTES_TO: dict[str, tuple[str, ...]] = {
    "bool": ("int64", "float32"), "uint8": ("int16", "float32"), "int8": ("int32", "float32"),
    "int16": ("int64", "float64"), "int32": ("int64", "float32"), "int64": ("float32", "float64"),
    "float16": ("float32", "float64"), "float32": ("float64",), "float64": (),
}


def _phrases() -> dict[tuple[str, ...], Step]:
    """ONNX sub-sequences one PyTorch call exports to (as a path), with that call."""
    p = {
        ("Shape", "Slice", "Concat", "Reshape"): Step("flatten", {"start": {"in": [0]}, "end": {"in": [-1]}}),
        ("Shape", "Slice", "Concat", "Resize"): Step("interpolate", {"size": {"not_in": [None]}}),
        ("Shape", "Gather", "Equal", "If"): Step("squeeze_dynamic"),
    }
    for onnx_op, op in _PROMOTING.items():
        p[("Cast", onnx_op)] = Step(op, dict(STEP_ATTRS.get((onnx_op, op), {})), promote=True)
    return p


PHRASES: dict[tuple[str, ...], Step] = _phrases()
MAX_CANDIDATES = 3  # catalog ops tried per ONNX op
MAX_CHAINS = 4  # alternative chains kept per sequence


@lru_cache(maxsize=None)
def candidates(onnx_op: str) -> tuple[Step, ...]:
    """Catalog steps that stand for ``onnx_op``, best first: preferred, then ops listing only it
    (heavier first), then ops listing it among others."""
    names = list(PREFERRED.get(onnx_op, ()))
    pure = sorted((o for o in TEMPLATE_SOURCES if o.onnx == (onnx_op,)), key=lambda o: (-o.weight, o.name))
    multi = sorted((o for o in TEMPLATE_SOURCES if onnx_op in o.onnx and o.onnx != (onnx_op,)), key=lambda o: (len(o.onnx), o.name))
    for o in pure + multi:
        if o.name not in names:
            names.append(o.name)
    names = [n for n in names if n in CATALOG][:MAX_CANDIDATES]
    return tuple(Step(n, dict(STEP_ATTRS.get((onnx_op, n), {}))) for n in names)


def _segmentations(seq: tuple[str, ...], i: int = 0) -> Iterable[list[list[tuple[int, Step]]]]:
    """Ways to cover ``seq[i:]`` by segments; each segment lists its alternative steps with a
    rank (0 best). A type-promotion phrase ranks 1, after an explicit ``.to()``."""
    if i == len(seq):
        yield []
        return
    rest = seq[i:]
    for phrase, step in PHRASES.items():
        k = len(phrase)
        alt = [(1 if step.promote else 0, step)]
        if rest[:k] == phrase:  # the whole phrase
            for tail in _segmentations(seq, i + k):
                yield [alt] + tail
        elif i > 0 and len(rest) < k and phrase[: len(rest)] == rest:  # the sequence ends inside it
            yield [alt]
        if i == 0:  # the sequence starts inside it (a proper suffix of the phrase)
            for j in range(1, k - 1):
                suffix = phrase[j:]
                if seq[: len(suffix)] == suffix:
                    for tail in _segmentations(seq, len(suffix)):
                        yield [alt] + tail
    alts = list(enumerate(candidates(seq[i])))
    if alts:
        for tail in _segmentations(seq, i + 1):
            yield [alts] + tail


def derive_chains(sequence: Sequence[str]) -> list[Chain]:
    """Up to :data:`MAX_CHAINS` chains for ``sequence``, best candidates and fewest steps first;
    one type-promotion variant is kept when there is one."""
    seq = tuple(sequence)
    scored: dict[tuple, tuple] = {}
    for seg in _segmentations(seq):
        for pick in itertools.product(*seg):
            steps = tuple(s for _, s in pick)
            score = (sum(r for r, _ in pick), len(steps))
            key = tuple(json.dumps(s.to_dict(), sort_keys=True) for s in steps)
            if key not in scored or score < scored[key][0]:
                scored[key] = (score, steps)
    best = sorted(scored.values(), key=lambda x: (x[0], [s.op for s in x[1]]))
    chains = [Chain(steps) for _, steps in best[:MAX_CHAINS]]
    promoting = [Chain(steps) for _, steps in best[MAX_CHAINS:] if any(s.promote for s in steps)]
    if promoting and not any(any(s.promote for s in c.steps) for c in chains):
        chains[-1] = promoting[0]
    return chains


def paper_sequences(data: Mapping[str, Any]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The union of the paper's lists, sorted: (sequence, names of the lists holding it)."""
    where: dict[tuple[str, ...], set[str]] = {}
    for short, key in PAPER_SETS.items():
        for s in data[key]:
            where.setdefault(tuple(s), set()).add(short)
    return [(s, tuple(sorted(where[s]))) for s in sorted(where)]


def derive(data: Mapping[str, Any]) -> list[Template]:
    """Templates for every sequence of the paper file's contents ``data`` (unverified)."""
    return [Template(f"s{k:03d}", seq, sets, tuple(derive_chains(seq))) for k, (seq, sets) in enumerate(paper_sequences(data))]


# ---------------------------------------------------------------------------------------------
# the committed table
# ---------------------------------------------------------------------------------------------
class TemplateTableError(ValueError):
    """The template table is unreadable or names operators this catalog lacks."""


def table_to_json(templates: Sequence[Template]) -> str:
    return json.dumps({"version": TABLE_VERSION, "templates": [t.to_dict() for t in templates]}, indent=1, sort_keys=False) + "\n"


def read_chain_table(text: str, where: str, version: int, key: str, from_dict, error: type[ValueError], kind: str, name_of) -> list:
    """The entries of a committed table of op chains (``{"version": ..., key: [...]}``), each made
    with ``from_dict``; every problem is one ``error`` naming ``where``: a wrong version, a table
    that does not parse, a chain step whose op the catalog does not hold (``name_of(entry)`` names
    the entry)."""
    try:
        data = json.loads(text)
        if data.get("version") != version:
            raise error(f"{where}: version {data.get('version')!r}, expected {version}")
        out = [from_dict(t) for t in data[key]]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        if isinstance(e, error):
            raise
        raise error(f"{where}: not a {kind} ({e})") from None
    for t in out:
        for c in t.chains:
            for s in c.steps:
                if s.op not in CATALOG:
                    raise error(f"{where}: {name_of(t)} uses {s.op!r}, not in the catalog")
    return out


def templates_from_json(text: str, where: str = "template table") -> list[Template]:
    return read_chain_table(text, where, TABLE_VERSION, "templates", Template.from_dict, TemplateTableError, "template table",
                            lambda t: f"template {t.id}")


@lru_cache(maxsize=1)
def load_templates() -> tuple[Template, ...]:
    """The committed, verified table (empty if it was never generated)."""
    if not TABLE_PATH.exists():
        return ()
    return tuple(templates_from_json(TABLE_PATH.read_text(encoding="utf-8"), str(TABLE_PATH)))


#: The paper's data (ISSTA 2024 artifact: ONNX op sequences seen only in mismatching PyTorch
#: models), shipped with the package so a clone needs nothing beside it.
PAPER_PATH = Path(__file__).with_name("paper_sequences.json")


def paper_sequences_path() -> Path:
    """The paper's ``torch_mismatch_sequences.json`` (a copy in the package)."""
    return PAPER_PATH
