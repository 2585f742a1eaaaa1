"""Known one-operator triggers, and the generator's avoidance of them.

A *trigger* is learnt from a minimized finding of one operator: the operator, the dtypes of its
inputs, its *attribute pattern* and the exporter it fails under, with the verdict and error type
of that failure. The pattern keeps the categorical attributes (strings, booleans, None: a mode, a
reduction, a target dtype), which usually decide whether the operator fails, and leaves numeric
ones (sizes, dims, factors) free, so one finding stands for the whole family it belongs to.

The generator (``generate(..., avoid=...)``) rejects a candidate node that matches a known trigger
except for a share ``explore`` of such candidates (drawn from the graph's own random stream, so a
graph stays a function of its seed and the table): known bugs keep being hit now and then, and a
fixed one is noticed. Rejections are counted as ``known trigger: <op>``; kept ones as ``explored``.

Exporters share graphs (graph *i* of a campaign is seed + *i* for every exporter, so the two
exporters' results can be compared): a shared graph avoids only what is known for *every* exporter
it is generated for (``Avoidance.exporters``). What is known for one exporter only is dealt with by
that exporter's case itself: :mod:`fuzzer.case.cut` cuts the known culprit out of the case and runs
the rest. The table travels as a JSON file (:meth:`Avoidance.save`), named by its digest.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    from fuzzer.ir import Graph

#: Default share of known-trigger candidates the generator keeps anyway (fixed bugs get noticed).
DEFAULT_EXPLORE = 0.1


#: The ``dtypes`` of a trigger that holds for every input dtype: an operator the exporter does not
#: support at all (TorchScript's UnsupportedOperatorError names the operator, never a dtype).
ANY_DTYPES = ("*",)
_DTYPE_FREE_ERRORS = ("UnsupportedOperatorError",)


def attr_pattern(attrs: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """The categorical part of a node's attributes: (name, JSON value) of every string, boolean
    or None attribute, sorted by name. Numeric and list attributes are left out (free)."""
    return tuple(sorted((k, json.dumps(v)) for k, v in attrs.items() if v is None or isinstance(v, (str, bool))))


@dataclass(frozen=True)
class Trigger:
    """One known one-operator failure: ``op`` on inputs of ``dtypes`` (in argument order) with the
    categorical attributes ``attrs`` fails under ``exporter`` with ``verdict`` / ``error_type``.
    ``finding`` names the finding it was learnt from."""

    exporter: str
    op: str
    dtypes: tuple[str, ...]
    attrs: tuple[tuple[str, str], ...]
    verdict: str
    error_type: str | None = None
    finding: str = ""
    aten: str = ""  # an operator the exporter does not support: its ATen name (see Avoidance.match)

    def matches(self, op: str, dtypes: Sequence[str], attrs: Mapping[str, object]) -> bool:
        """Same operator and input dtypes (any, for :data:`ANY_DTYPES`), and every attribute of the
        pattern has its value."""
        if op != self.op or (self.dtypes != ANY_DTYPES and tuple(dtypes) != self.dtypes):
            return False
        have = dict(attr_pattern(attrs))
        return all(have.get(k) == v for k, v in self.attrs)

    def to_dict(self) -> dict:
        return {"exporter": self.exporter, "op": self.op, "dtypes": list(self.dtypes), "attrs": [list(a) for a in self.attrs],
                "verdict": self.verdict, "error_type": self.error_type, "finding": self.finding} | ({"aten": self.aten} if self.aten else {})

    @classmethod
    def from_dict(cls, d: Mapping) -> "Trigger":
        return cls(str(d["exporter"]), str(d["op"]), tuple(str(x) for x in d["dtypes"]), tuple((str(k), str(v)) for k, v in d["attrs"]),
                   str(d["verdict"]), d.get("error_type"), str(d.get("finding", "")), str(d.get("aten") or ""))


#: Verdicts whose message says what failed (a known failure key is made of it).
CRASH_VERDICTS = frozenset({"export_crash", "invalid_model", "ort_load_failure", "ort_run_crash"})


def failure_key(exporter: str, verdict: str, error_type: str | None, head: str | None) -> str | None:
    """The key of a crash-like failure: exporter, verdict, error type and the first line of the
    message, lower case, numbers blanked (node names such as '/Relu_3' and opset versions vary;
    a quoted operator name such as 'aten::expm1' stays). None for other verdicts."""
    if verdict not in CRASH_VERDICTS:
        return None
    text = re.sub(r"\d+", "#", (head or "").strip().splitlines()[0].lower() if (head or "").strip() else "")
    return f"{exporter}|{verdict}|{error_type or ''}|{text[:200]}"


@dataclass(frozen=True)
class Avoidance:
    """The known triggers a campaign avoids. ``exporters``: the exporters a generated graph is
    shared by (a candidate is avoided only when a trigger of each of them matches it);
    ``explore``: the share of matching candidates kept anyway. ``failures``: the crash-like
    failures of every known finding, whatever its size (:func:`failure_key` -> finding id): a case
    failing one of them is cut past the node its message names (:mod:`fuzzer.case.cut`)."""

    triggers: tuple[Trigger, ...] = ()
    exporters: tuple[str, ...] = ()
    explore: float = DEFAULT_EXPLORE
    failures: Mapping[str, str] = field(default_factory=dict)
    _by_exporter: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_aten: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must be within 0..1, got {self.explore}")
        by: dict[str, dict[str, list[Trigger]]] = {}
        for t in self.triggers:
            by.setdefault(t.exporter, {}).setdefault(t.op, []).append(t)
        aten: dict[str, dict[str, Trigger]] = {}
        for t in self.triggers:
            if t.aten and t.dtypes == ANY_DTYPES and not t.attrs:
                aten.setdefault(t.exporter, {}).setdefault(t.aten, t)
        object.__setattr__(self, "_by_exporter", by)
        object.__setattr__(self, "_by_aten", aten)
        object.__setattr__(self, "failures", dict(self.failures))

    def match(self, exporter: str, op: str, dtypes: Sequence[str], attrs: Mapping[str, object]) -> Trigger | None:
        """The first trigger of ``exporter`` matching the node, or None. An operator the exporter
        does not support (a trigger with ``aten``) is matched by every catalog entry whose traced
        graph holds that ATen operator (:mod:`fuzzer.catalog.reached`): 'aten::nanmedian' is
        unsupported in nanmedian, masked.median and their variants alike."""
        for t in self._by_exporter.get(exporter, {}).get(op, ()):
            if t.matches(op, dtypes, attrs):
                return t
        unsupported = self._by_aten.get(exporter)
        if unsupported:
            from fuzzer.catalog.reached import aten_of

            for a in sorted(aten_of(op, exporter)):
                if a in unsupported:
                    return unsupported[a]
        return None

    def match_op(self, exporter: str, op: str, verdict: str, error_type: str | None) -> Trigger | None:
        """A trigger of ``exporter`` on operator ``op`` with that failure, whatever its dtypes and attributes."""
        return next((t for t in self._by_exporter.get(exporter, {}).get(op, ()) if t.verdict == verdict and t.error_type == error_type), None)

    def avoided(self, op: str, dtypes: Sequence[str], attrs: Mapping[str, object]) -> bool:
        """Whether a node is a known trigger for every exporter of the shared graph."""
        return bool(self.exporters) and all(self.match(e, op, dtypes, attrs) is not None for e in self.exporters)

    def keep_anyway(self, rng: random.Random) -> bool:
        """The exploration draw for one matching candidate (from the graph's own stream)."""
        return rng.random() < self.explore

    def to_dict(self) -> dict:
        return {"format": "onnxfuzz-known-triggers", "version": 1, "exporters": list(self.exporters), "explore": self.explore,
                "triggers": [t.to_dict() for t in self.triggers], "failures": dict(sorted(self.failures.items()))}

    @classmethod
    def from_dict(cls, d: Mapping) -> "Avoidance":
        return cls(tuple(Trigger.from_dict(t) for t in d["triggers"]), tuple(d.get("exporters", ())), float(d.get("explore", DEFAULT_EXPLORE)),
                   {str(k): str(v) for k, v in (d.get("failures") or {}).items()})

    @property
    def digest(self) -> str:
        """sha256 (12 hex digits) of the table's canonical JSON: equal tables, equal digests."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]

    def save(self, directory: Path) -> Path:
        """Write the table to ``directory/<digest>.json`` (temp file, then rename; an existing file
        of that name already holds the same table) and return its path."""
        from fuzzer.atomic import atomic_write_text

        path = directory / f"{self.digest}.json"
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return path


def trigger_of(graph: "Graph", exporter: str, verdict: str, error_type: str | None = None, finding: str = "", message: str | None = None) -> Trigger | None:
    """The trigger a failing graph of exactly one operator stands for (None for any other graph).
    ``message``: the failure's message; for an unsupported operator its ATen name becomes the
    trigger's ``aten`` (when the operator has no categorical attributes: otherwise an attribute may
    be what selects the unsupported ATen operator)."""
    if len(graph.nodes) != 1:
        return None
    node = graph.nodes[0]
    specs = graph.specs()
    dtypes = tuple(specs[i].dtype for i in node.inputs)
    aten = ""
    if error_type and error_type.endswith(_DTYPE_FREE_ERRORS):
        dtypes = ANY_DTYPES
        m = re.search(r"'aten::(\w+)'", message or "")
        aten = m.group(1) if m and not attr_pattern(node.attrs) else ""
    return Trigger(exporter, node.op, dtypes, attr_pattern(node.attrs), verdict, error_type, finding, aten)


_LOADED: dict[str, Avoidance] = {}


def load_avoidance(path: str | Path | None) -> Avoidance | None:
    """The table saved at ``path`` (None: no table). Tables are immutable (named by their
    digest), so a process loads each once."""
    if path is None:
        return None
    key = str(path)
    if key not in _LOADED:
        _LOADED[key] = Avoidance.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    return _LOADED[key]
