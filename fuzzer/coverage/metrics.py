"""Coverage of what was actually exported: per exporter, over the ONNX models a campaign produced.

Measured per exporter:

- ``ops``: ONNX op types seen (count of models containing each);
- ``triples``: (op type, input dtypes, rank of the first input), from ONNX shape inference
  (``?`` where inference knows nothing); op types inside If branches are not counted;
- ``bigrams`` / ``trigrams``: op types along direct edges (``Constant`` excluded);
- ``paper``: which of the paper's mismatch sequences occur as a path (glue tolerated, see
  :mod:`fuzzer.coverage.paths`), by template id;
- ``rewrites``: graph rewrites observed on the case (``CaseResult.rewrites``: ONNX Script's
  optimizer for dynamo, ONNX Runtime's session optimizer for both), by name; :func:`targeted_rewrites`
  lists the ones aimed at.

A :class:`Coverage` is mergeable (``merge``) and JSON-serializable (``to_dict``/``from_dict``);
``add_model`` returns the number of *new* items, which is what the corpus feedback keys on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping

import onnx
from google.protobuf.message import DecodeError

from fuzzer.generate.templates import load_templates

from .paths import ngrams, onnx_digraph, sequences_in

FORMAT_VERSION = 1
_SEP = ">"  # joins n-gram members in JSON keys


def _dtype_name(elem_type: int) -> str:
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, TypeError, ValueError):
        return onnx.TensorProto.DataType.Name(elem_type).lower() if elem_type else "?"


@lru_cache(maxsize=1)
def paper_index() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """(template id, sequence, paper lists) for every paper sequence in the template table."""
    return tuple((t.id, t.sequence, t.sets) for t in load_templates())


def value_types(model: onnx.ModelProto) -> dict[str, tuple[str, int | None]]:
    """Value name -> (dtype name, rank or None), from the model and ONNX shape inference."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError):  # keep what the model declares
        inferred = model
    out: dict[str, tuple[str, int | None]] = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        rank = len(t.shape.dim) if t.HasField("shape") else None
        out[vi.name] = (_dtype_name(t.elem_type), rank)
    for init in g.initializer:
        out[init.name] = (_dtype_name(init.data_type), len(init.dims))
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = (_dtype_name(a.t.data_type), len(a.t.dims))
    return out


def targeted_rewrites() -> dict[str, tuple[str, ...]]:
    """The rewrites aimed at, by project: ONNX Runtime's (both exporters' models reach it) and
    ONNX Script's optimizer (dynamo only)."""
    from fuzzer.execute.rewrites import targeted as ort_targeted
    from fuzzer.export.rewrites import targeted as onnxscript_targeted

    return {"onnxruntime": tuple(ort_targeted()), "onnxscript": tuple(onnxscript_targeted())}


@dataclass
class ExporterCoverage:
    models: int = 0
    ops: Counter = field(default_factory=Counter)
    triples: Counter = field(default_factory=Counter)
    bigrams: Counter = field(default_factory=Counter)
    trigrams: Counter = field(default_factory=Counter)
    paper: Counter = field(default_factory=Counter)  # template id -> models containing it
    rewrites: Counter = field(default_factory=Counter)  # rewrite name -> cases it fired on
    catalog: Counter = field(default_factory=Counter)  # catalog entry -> cases (the names of `onnxfuzz catalog`)
    aten: Counter = field(default_factory=Counter)  # ATen op the cases' entries reach -> cases (fuzzer.coverage.reach)

    def merge(self, other: "ExporterCoverage") -> None:
        self.models += other.models
        for k in ("ops", "triples", "bigrams", "trigrams", "paper", "rewrites", "catalog", "aten"):
            getattr(self, k).update(getattr(other, k))

    def sizes(self) -> dict[str, int]:
        return {"ops": len(self.ops), "triples": len(self.triples), "bigrams": len(self.bigrams), "trigrams": len(self.trigrams), "paper": len(self.paper),
                "rewrites": len(self.rewrites)}

    def to_dict(self) -> dict:
        return {
            "models": self.models,
            "ops": dict(sorted(self.ops.items())),
            "triples": dict(sorted(self.triples.items())),
            "bigrams": dict(sorted(self.bigrams.items())),
            "trigrams": dict(sorted(self.trigrams.items())),
            "paper": dict(sorted(self.paper.items())),
            "rewrites": dict(sorted(self.rewrites.items())),
            "catalog": dict(sorted(self.catalog.items())),
            "aten": dict(sorted(self.aten.items())),
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "ExporterCoverage":
        """Inverse of :meth:`to_dict`; files written before rewrites or catalog names were recorded have none."""
        return ExporterCoverage(int(d["models"]), Counter(d["ops"]), Counter(d["triples"]), Counter(d["bigrams"]), Counter(d["trigrams"]), Counter(d["paper"]),
                                Counter(d.get("rewrites", {})), Counter(d.get("catalog", {})), Counter(d.get("aten", {})))


def model_items(model: onnx.ModelProto) -> dict[str, set[str]]:
    """The coverage items one model holds, by kind (string keys, as stored in JSON)."""
    dg = onnx_digraph(model)
    types = value_types(model)
    triples = set()
    for n in model.graph.node:
        if n.op_type == "Constant":
            continue
        ins = [types.get(x, ("?", None)) for x in n.input if x]
        rank = ins[0][1] if ins else None
        triples.add(f"{n.op_type}({','.join(t for t, _ in ins)})r{'?' if rank is None else rank}")
    index = paper_index()
    hits = sequences_in(dg, [s for _, s, _ in index])
    return {
        "ops": {op for _, op in dg.nodes(data="op")},
        "triples": triples,
        "bigrams": {_SEP.join(b) for b in ngrams(dg, 2)},
        "trigrams": {_SEP.join(t) for t in ngrams(dg, 3)},
        "paper": {index[k][0] for k in hits},
    }


@dataclass
class Coverage:
    """Coverage per exporter name. ``add_model`` / ``update`` return how many items were new."""

    by_exporter: dict[str, ExporterCoverage] = field(default_factory=dict)
    cases: int = 0  # results seen, with or without a model
    unparsable: int = 0  # model bytes ONNX could not parse (counted, skipped)

    def add_model(self, exporter: str, model: onnx.ModelProto | bytes) -> int:
        if isinstance(model, (bytes, bytearray)):
            try:
                model = onnx.load_model_from_string(bytes(model))
            except DecodeError:
                self.unparsable += 1
                return 0
        return self.add_items(exporter, model_items(model))

    def add_items(self, exporter: str, items: Mapping[str, Iterable[str]]) -> int:
        """Add one model's items (as :func:`model_items` gives them, e.g. computed in a worker)."""
        cov = self.by_exporter.setdefault(exporter, ExporterCoverage())
        new = 0
        for kind, keys in items.items():
            counter: Counter = getattr(cov, kind)
            for k in keys:
                if k not in counter:
                    new += 1
                counter[k] += 1
        cov.models += 1
        return new

    def update(self, result: Any) -> int:
        """Record a case result (anything with ``exporter`` and ``model``: a CaseResult; or with
        ``coverage_items``, the items a worker extracted from the model it exported)."""
        self.cases += 1
        ops = getattr(result, "ops", None)
        if ops and getattr(result, "exporter", None):
            from .reach import catalog_items

            cov = self.by_exporter.setdefault(str(result.exporter), ExporterCoverage())
            for kind, keys in catalog_items(ops, str(result.exporter)).items():
                getattr(cov, kind).update(keys)
        items = getattr(result, "coverage_items", None)
        rewrites = tuple(getattr(result, "rewrites", ()) or ())
        if items is not None:
            return self.add_items(str(result.exporter), {**items, "rewrites": rewrites})
        if getattr(result, "model", None) is None:
            return 0
        model = result.model
        try:
            model = onnx.load_model_from_string(bytes(model))
        except DecodeError:
            self.unparsable += 1
            return 0
        return self.add_items(str(result.exporter), {**model_items(model), "rewrites": rewrites})

    def rewrites_fired(self, exporter: str | None = None) -> set[str]:
        """Distinct rewrite names observed, for one exporter (None: any)."""
        covs = [self.by_exporter[exporter]] if exporter in self.by_exporter else ([] if exporter else list(self.by_exporter.values()))
        return {r for c in covs for r in c.rewrites}

    def merge(self, other: "Coverage") -> "Coverage":
        for e, c in other.by_exporter.items():
            self.by_exporter.setdefault(e, ExporterCoverage()).merge(c)
        self.cases += other.cases
        self.unparsable += other.unparsable
        return self

    def paper_share(self, exporter: str | None = None, paper_set: str | None = None) -> tuple[int, int]:
        """(exercised, total) paper sequences, for one exporter (None: any) and list (None: union)."""
        index = [(i, sets) for i, _, sets in paper_index() if paper_set is None or paper_set in sets]
        covs = [self.by_exporter[exporter]] if exporter in self.by_exporter else ([] if exporter else list(self.by_exporter.values()))
        hit = {i for c in covs for i in c.paper}
        return sum(1 for i, _ in index if i in hit), len(index)

    def summary_line(self) -> str:
        """Short status text: per exporter op types, triples, trigrams and paper sequences."""
        parts = []
        for e, c in sorted(self.by_exporter.items()):
            got, total = self.paper_share(e, "reduced")
            parts.append(f"{e}: {len(c.ops)} ops, {len(c.triples)} triples, {len(c.trigrams)} trigrams, paper {got}/{total}, rewrites {len(c.rewrites)}")
        return "; ".join(parts) or "no exported models yet"

    def to_dict(self) -> dict:
        return {"version": FORMAT_VERSION, "cases": self.cases, "unparsable": self.unparsable, "exporters": {e: c.to_dict() for e, c in sorted(self.by_exporter.items())}}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "Coverage":
        if d.get("version") != FORMAT_VERSION:
            raise ValueError(f"coverage format version {d.get('version')!r}, expected {FORMAT_VERSION}")
        return Coverage({e: ExporterCoverage.from_dict(c) for e, c in d["exporters"].items()}, int(d.get("cases", 0)), int(d.get("unparsable", 0)))
