"""The campaign's table of known one-operator triggers (:mod:`fuzzer.generate.avoid`).

Learnt from the campaign's own findings store (refreshed as minimizations finish) and from the
stores given with ``--known DIR`` (read once): every finding of exactly one operator whose status
is not ``fixed``, found with the campaign's own export options (a finding of another opset or of
dynamo's ``optimize=False``, from the op-job arm, is not what generated graphs meet), gives a
trigger (its operator, input dtypes, categorical attributes, exporter, verdict, error type). A raw
finding of one operator counts at once (the op-job arm files one-operator cases): its failure is
known before its minimization finishes.

Epochs: generation must stay a function of the seed, and both exporters must get the same graph
for the same slot (they compare their results), but they reach a slot at different times. So a
changed table does not apply at once: it applies from the first slot no exporter has been given
yet. The epochs (first slot, table file) are kept in ``DIR/known/epochs.json``, the tables in
``DIR/known/<digest>.json`` (immutable, named by their content), so a resumed campaign and a
rebuilt dead case see the table their slot saw.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

from fuzzer.atomic import atomic_write_text
from fuzzer.generate.avoid import Avoidance, Trigger, failure_key, trigger_of
from fuzzer.ir import load_graph
from fuzzer.sweep.plan import DEFAULT_OPSET  # the op-job arm's baseline: what a campaign without --opset exports

#: Seconds between two re-reads of the campaign's store (also re-read when a minimization finishes).
REFRESH_SECONDS = 15.0


def triggers_of_store(root: Path, opset: int | None, cache: dict | None = None) -> list[Trigger]:
    """The triggers of the findings in store ``root`` (see the module docstring)."""
    return knowledge_of_store(root, opset, cache)[0]


def knowledge_of_store(root: Path, opset: int | None, cache: dict | None = None) -> tuple[list[Trigger], dict[str, str]]:
    """The triggers of the findings in store ``root`` (see the module docstring), and the known
    crash-like failures of all its findings (:func:`~fuzzer.generate.avoid.failure_key` -> finding
    id). ``cache`` maps a finding directory to (mtime of its finding.json, trigger, failure key):
    unchanged findings are not re-read. Findings that do not load are skipped (the store reports them)."""
    from fuzzer.store import FindingError
    from fuzzer.store.store import export_options, read_finding

    cache = cache if cache is not None else {}
    triggers: list[Trigger] = []
    failures: dict[str, str] = {}
    if not root.is_dir():
        return triggers, failures
    tops = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    # a finding's variants (one cause, other operators: fuzzer.store.store) are known triggers too,
    # known as the finding they live in
    for d, owner in [(v, t.name) for t in tops for v in [t, *sorted((t / "variants").glob("*"))] if v.is_dir()]:
        fj = d / "finding.json"
        try:
            mtime = fj.stat().st_mtime_ns
        except OSError:
            continue
        hit = cache.get(d)
        if hit is None or hit[0] != mtime:
            trigger = key = None
            try:
                doc = read_finding(d)
                exporter, want_opset, optimize = export_options(doc)
                if doc.get("status") != "fixed" and optimize and want_opset in ({None, DEFAULT_OPSET} if opset is None else {opset}):
                    key = failure_key(exporter, doc["verdict"], doc.get("error_type"), doc.get("error_head"))
                    if doc.get("n_ops") == 1:
                        trigger = trigger_of(load_graph(d / "graph.json"), exporter, doc["verdict"], doc.get("error_type"), owner, doc.get("error_head"))
            except (FindingError, OSError, ValueError, KeyError, TypeError):
                trigger = key = None
            hit = cache[d] = (mtime, trigger, key)
        if hit[1] is not None:
            triggers.append(hit[1])
        if hit[2] is not None:
            failures.setdefault(hit[2], owner)
    return triggers, failures


class KnownTriggers:
    """The table of a campaign in ``out_dir``: its own store ``store`` plus ``extra`` stores."""

    def __init__(self, out_dir: Path, store: Path, extra: tuple[str, ...], exporters: tuple[str, ...], opset: int | None, explore: float):
        self.dir = out_dir / "known"
        self.store = store
        self.exporters = exporters
        self.opset = opset
        self.explore = explore
        self.cache: dict = {}
        self.fixed: list[Trigger] = []
        self.fixed_failures: dict[str, str] = {}
        for root in extra:
            t, f = knowledge_of_store(Path(root), opset)
            self.fixed += t
            for k, v in f.items():
                self.fixed_failures.setdefault(k, v)
        self.epochs: list[tuple[int, str | None]] = self._load_epochs()
        self.current: Avoidance | None = None

    def _load_epochs(self) -> list[tuple[int, str | None]]:
        p = self.dir / "epochs.json"
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            epochs = sorted((int(a), b if isinstance(b, str) and (self.dir / b).is_file() else None) for a, b in doc["epochs"])
        except (OSError, ValueError, KeyError, TypeError):  # none yet (or unreadable: start afresh)
            return [(0, None)]
        if not epochs or epochs[0][0] != 0:
            epochs.insert(0, (0, None))
        return epochs

    @property
    def size(self) -> int:
        return len(self.current.triggers) if self.current is not None else 0

    def refresh(self, next_slot: int) -> bool:
        """Re-read the stores; when the table changed, it applies from ``next_slot`` (the first slot
        no exporter has been given). Returns whether it changed."""
        own, own_failures = knowledge_of_store(self.store, self.opset, self.cache)
        seen, triggers = set(), []
        for t in self.fixed + own:
            key = (t.exporter, t.op, t.dtypes, t.attrs, t.verdict, t.error_type)
            if key not in seen:
                seen.add(key)
                triggers.append(t)
        table = Avoidance(tuple(triggers), self.exporters, self.explore, {**own_failures, **self.fixed_failures})
        self.current = table
        name = table.save(self.dir).name if triggers or table.failures else None
        if name == self.epochs[-1][1]:
            return False
        start = max(next_slot, self.epochs[-1][0])
        if start == self.epochs[-1][0]:
            self.epochs[-1] = (start, name)
        else:
            self.epochs.append((start, name))
        atomic_write_text(self.dir / "epochs.json", json.dumps({"epochs": [list(e) for e in self.epochs]}) + "\n")
        return True

    def path_for(self, slot: int) -> str | None:
        """The table file slot ``slot`` is generated (and cut) with (None: no known trigger)."""
        k = bisect.bisect_right([a for a, _ in self.epochs], slot) - 1
        name = self.epochs[max(k, 0)][1]
        return str(self.dir / name) if name else None
