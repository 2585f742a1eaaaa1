"""The worker protocol: typed requests and replies, and their JSON form (one JSON object per line).

Every request is a frozen dataclass with ``to_wire`` / ``from_wire`` (inverses); a reply is decoded
against the request it answers (:func:`reply_from_wire`). Nothing is pickled. The envelope the pool
adds is ``{"id": n, **request.to_wire()}``; a worker answers ``{"id": n, **reply.to_wire()}``, or
``{"id": n, "internal_error": traceback}`` (a bug of ours: the pool raises), or
``{"id": n, "memory_error": true}`` (Python's MemoryError: the pool reports it as ``oom``).

Requests:

- :class:`RunSeeds`: generate graph ``generate(seed)`` and inputs ``make_inputs(graph, seed, mode)``
  for each seed and run them through one export (dynamo exports of several seeds are made in one
  call, :func:`fuzzer.case.run_graphs_batched`). Failing cases are written under ``cases_dir``.
- :class:`RunMutant`: mutate a corpus graph (:func:`fuzzer.generate.corpus.mutant_case`) and run it.
- :class:`RunGraphs`: run given graphs (JSON documents, inputs from an ``.npz`` or generated from a
  seed) through several export variants; dynamo variants batched across the graphs. Sweeps and
  :class:`~fuzzer.workers.IsolatedRunner` use it.
- :class:`Rebuild`: rebuild the graph and inputs of a case whose worker died, into a directory.

When a worker dies on a request that covers several cases, :meth:`split` gives the smaller
requests that run the same cases (the caller re-runs them to find the culprit); a request that
cannot be split is one case, whose death is its verdict.

Replies: :class:`RunReply` (one :class:`CaseReply` per case, in request order: per seed; for
:class:`RunGraphs` graph-major, export-minor) and :class:`RebuildReply`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Union

if TYPE_CHECKING:  # imported where decoded: a process that only relays messages (a cluster node's pool) never imports torch
    from fuzzer.case import CaseResult
    from fuzzer.export import ExportOptions
    from fuzzer.generate import GeneratorOptions


class ProtocolError(ValueError):
    """A message that does not decode (our own bug on one side of the pipe)."""


@dataclass(frozen=True)
class RunSeeds:
    kind: ClassVar[str] = "seeds"
    seeds: tuple[int, ...]
    export: ExportOptions
    generator: GeneratorOptions
    input_mode: str
    cases_dir: str | None = None  # write failing cases' directories here (None: none)
    return_graph: bool = False  # add each generated graph to its reply (coverage feedback)
    inject: str | None = None  # tests only: "abort" | "segv" | "hang" | "oom" (needs ONNXFUZZ_TEST_HOOKS=1)
    timeout: float | None = None  # seconds for the whole request (None: the pool's case timeout)
    # known one-operator triggers (fuzzer.generate.avoid): the table file of each seed (empty: none);
    # ``avoid``: generation avoids them; ``cut``: a case failing on one gets the culprit cut out (fuzzer.case.cut)
    known: tuple[str | None, ...] = ()
    avoid: bool = False
    cut: bool = False

    def known_for(self, k: int) -> str | None:
        return self.known[k] if k < len(self.known) else None

    def split(self) -> list["RunSeeds"] | None:
        if len(self.seeds) < 2:
            return None
        return [replace(self, seeds=(s,), timeout=None, known=(self.known_for(k),) if self.known else ()) for k, s in enumerate(self.seeds)]

    def label(self) -> str:
        s = self.seeds
        return f"{self.export.exporter.value} seed {s[0]}" if len(s) == 1 else f"{self.export.exporter.value} seeds {s[0]}..{s[-1]}"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "seeds": list(self.seeds), "export": self.export.to_dict(), "generator": _gen_wire(self.generator),
                "input_mode": self.input_mode, "cases_dir": self.cases_dir, "return_graph": self.return_graph, "inject": self.inject,
                "timeout": self.timeout, "known": list(self.known), "avoid": self.avoid, "cut": self.cut}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "RunSeeds":
        from fuzzer.export import ExportOptions
        from fuzzer.generate import GeneratorOptions

        return cls(tuple(int(s) for s in d["seeds"]), ExportOptions.from_dict(d["export"]), GeneratorOptions.from_dict(d["generator"]),
                   d["input_mode"], d.get("cases_dir"), bool(d.get("return_graph")), d.get("inject"), d.get("timeout"),
                   tuple(d.get("known") or ()), bool(d.get("avoid")), bool(d.get("cut")))


@dataclass(frozen=True)
class RunMutant:
    kind: ClassVar[str] = "mutant"
    slot: int  # the campaign's case slot (names the case directory m<slot>-...)
    mutation_seed: int
    parent: Mapping[str, Any] | None  # graph JSON documents; None when the corpus is empty
    donor: Mapping[str, Any] | None
    parent_key: str | None  # corpus keys, for the record
    donor_key: str | None
    export: ExportOptions
    generator: GeneratorOptions
    input_mode: str
    cases_dir: str | None = None
    inject: str | None = None
    timeout: float | None = None

    def split(self) -> None:
        return None

    def label(self) -> str:
        return f"{self.export.exporter.value} mutant {self.slot}"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "slot": self.slot, "mutation_seed": self.mutation_seed, "parent": self.parent, "donor": self.donor,
                "parent_key": self.parent_key, "donor_key": self.donor_key, "export": self.export.to_dict(),
                "generator": _gen_wire(self.generator), "input_mode": self.input_mode, "cases_dir": self.cases_dir,
                "inject": self.inject, "timeout": self.timeout}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "RunMutant":
        from fuzzer.export import ExportOptions
        from fuzzer.generate import GeneratorOptions

        return cls(int(d["slot"]), int(d["mutation_seed"]), d.get("parent"), d.get("donor"), d.get("parent_key"), d.get("donor_key"),
                   ExportOptions.from_dict(d["export"]), GeneratorOptions.from_dict(d["generator"]), d["input_mode"],
                   d.get("cases_dir"), d.get("inject"), d.get("timeout"))


@dataclass(frozen=True)
class CaseSpec:
    """A given graph to run: its JSON document, and its inputs from ``inputs`` (an ``.npz`` path)
    or, when that is None, generated from ``seed``. ``options`` go into each result's options.
    ``mode``: its input mode, when not the request's (a sweep sends both modes of a graph in one
    request: their dynamo exports are one)."""

    graph: Mapping[str, Any]
    seed: int | None
    inputs: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    mode: str | None = None

    def to_wire(self) -> dict:
        return {"graph": self.graph, "seed": self.seed, "inputs": self.inputs, "options": dict(self.options), "mode": self.mode}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "CaseSpec":
        return cls(d["graph"], d.get("seed"), d.get("inputs"), d.get("options") or {}, d.get("mode"))


@dataclass(frozen=True)
class RunGraphs:
    kind: ClassVar[str] = "graphs"
    cases: tuple[CaseSpec, ...]
    exports: tuple[ExportOptions, ...]
    input_mode: str
    return_model: bool = False  # add each exported model to its result
    max_batch: int = 8  # dynamo graphs exported in one call
    timeout: float | None = None
    confirm: bool = False  # confirm each mismatch (fuzzer.case.confirm) before it may become a finding

    def split(self) -> list["RunGraphs"] | None:
        if len(self.cases) > 1:
            per = None if self.timeout is None else self.timeout / len(self.cases)
            return [replace(self, cases=(c,), timeout=per) for c in self.cases]
        if len(self.exports) > 1:
            per = None if self.timeout is None else self.timeout / len(self.exports)
            return [replace(self, exports=(e,), timeout=per) for e in self.exports]
        return None

    def label(self) -> str:
        ex = ",".join(sorted({e.exporter.value for e in self.exports}))
        return f"{ex}: {len(self.cases)} graph(s) x {len(self.exports)} variant(s)"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "cases": [c.to_wire() for c in self.cases], "exports": [e.to_dict() for e in self.exports],
                "input_mode": self.input_mode, "return_model": self.return_model, "max_batch": self.max_batch, "timeout": self.timeout,
                "confirm": self.confirm}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "RunGraphs":
        from fuzzer.export import ExportOptions

        return cls(tuple(CaseSpec.from_wire(c) for c in d["cases"]), tuple(ExportOptions.from_dict(e) for e in d["exports"]),
                   d["input_mode"], bool(d.get("return_model")), int(d.get("max_batch", 8)), d.get("timeout"), bool(d.get("confirm", False)))


@dataclass(frozen=True)
class Rebuild:
    """Rebuild a generated (or, with ``mutant``, mutated) case into ``out`` (graph.json, inputs.npz)."""

    kind: ClassVar[str] = "rebuild"
    seed: int  # the graph seed, or the mutation seed of a mutant
    generator: GeneratorOptions
    input_mode: str
    out: str
    mutant: bool = False
    parent: Mapping[str, Any] | None = None
    donor: Mapping[str, Any] | None = None
    timeout: float | None = None
    avoid: str | None = None  # the known-trigger table the graph was generated with (None: none)

    def split(self) -> None:
        return None

    def label(self) -> str:
        return f"rebuilding a dead worker's case (seed {self.seed})"

    def to_wire(self) -> dict:
        return {"kind": self.kind, "seed": self.seed, "generator": _gen_wire(self.generator), "input_mode": self.input_mode, "out": self.out,
                "mutant": self.mutant, "parent": self.parent, "donor": self.donor, "timeout": self.timeout, "avoid": self.avoid}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "Rebuild":
        from fuzzer.generate import GeneratorOptions

        return cls(int(d["seed"]), GeneratorOptions.from_dict(d["generator"]), d["input_mode"], d["out"], bool(d.get("mutant")),
                   d.get("parent"), d.get("donor"), d.get("timeout"), d.get("avoid"))


Request = Union[RunSeeds, RunMutant, RunGraphs, Rebuild]
REQUESTS: dict[str, type] = {c.kind: c for c in (RunSeeds, RunMutant, RunGraphs, Rebuild)}


def request_from_wire(d: Mapping[str, Any]) -> Request:
    try:
        return REQUESTS[d["kind"]].from_wire(d)
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError(f"malformed request ({type(e).__name__}: {e}): {str(dict(d))[:300]}") from None


@dataclass(frozen=True)
class CaseReply:
    """One case's answer: its result (with the model when asked for, and the coverage items of a
    generated case), where its directory was written, the mismatch confirmation, the graph."""

    result: CaseResult
    case_dir: str | None = None
    confirmation: Mapping[str, Any] | None = None
    graph: Mapping[str, Any] | None = None

    def to_wire(self) -> dict:
        r = self.result
        return {"result": r.to_dict(), "case_dir": self.case_dir, "confirmation": self.confirmation, "graph": self.graph,
                "coverage": r.coverage_items, "model_b64": base64.b64encode(r.model).decode("ascii") if r.model is not None else None}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "CaseReply":
        from fuzzer.case import CaseResult

        model = base64.b64decode(d["model_b64"]) if d.get("model_b64") else None
        result = replace(CaseResult.from_dict(d["result"], model=model), coverage_items=d.get("coverage"))
        return cls(result, d.get("case_dir"), d.get("confirmation"), d.get("graph"))


@dataclass(frozen=True)
class RunReply:
    cases: tuple[CaseReply, ...]
    generation: Mapping[str, Any] | None = None  # GenerationStats of the request: attempts, accepted, rejected
    elapsed: float = 0.0
    batching: Mapping[str, int] | None = None  # what dynamo batching did for the request (BatchStats.to_dict)

    def to_wire(self) -> dict:
        return {"cases": [c.to_wire() for c in self.cases], "generation": self.generation, "elapsed": self.elapsed, "batching": self.batching}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "RunReply":
        return cls(tuple(CaseReply.from_wire(c) for c in d["cases"]), d.get("generation"), float(d.get("elapsed", 0.0)), d.get("batching"))


@dataclass(frozen=True)
class RebuildReply:
    out: str | None  # None: generation raised (``error`` says what)
    error: str | None = None
    elapsed: float = 0.0

    def to_wire(self) -> dict:
        return {"out": self.out, "error": self.error, "elapsed": self.elapsed}

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "RebuildReply":
        return cls(d.get("out"), d.get("error"), float(d.get("elapsed", 0.0)))


Reply = Union[RunReply, RebuildReply]


def reply_from_wire(d: Mapping[str, Any], request: Request) -> Reply:
    """Decode a worker's answer to ``request``."""
    try:
        return RebuildReply.from_wire(d) if isinstance(request, Rebuild) else RunReply.from_wire(d)
    except (KeyError, TypeError, ValueError) as e:
        raise ProtocolError(f"malformed reply to a {request.kind} request ({type(e).__name__}: {e})") from None


def _gen_wire(g: GeneratorOptions) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in g.to_dict().items()}
