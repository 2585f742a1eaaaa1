"""Coverage of a running campaign, kept on disk as ``DIR/coverage.json``.

On-disk format (JSON, written atomically, at most every ``period`` seconds and on ``close``)::

    {"version": 1, "cases": N, "unparsable": 0,
     "exporters": {"torchscript": {"models": .., "ops": {op: models}, "triples": {..},
                                   "bigrams": {"A>B": ..}, "trigrams": {"A>B>C": ..},
                                   "paper": {template id: models},
                                   "rewrites": {rewrite name: cases}}, ...},
     "targeted_rewrites": {"onnxruntime": [names], "onnxscript": [names]},
     "history": [{"elapsed": s, "cases": N, "torchscript": {"ops": .., "triples": .., "bigrams": ..,
                  "trigrams": .., "paper": .., "rewrites": ..}, ...}, ...]}

The loop calls :meth:`CoverageTracker.update` once per :class:`~fuzzer.case.CaseResult`
(it is also a campaign observer: ``on_result(result, stats)``) and :meth:`close` at the end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fuzzer.atomic import atomic_write_text

from .metrics import Coverage, targeted_rewrites

FILENAME = "coverage.json"


class CoverageTracker:
    def __init__(self, out_dir: Path | None, period: float = 10.0, coverage: Coverage | None = None):
        self.path = None if out_dir is None else Path(out_dir) / FILENAME
        self.period = period
        self.coverage = coverage or Coverage()
        self.history: list[dict] = []
        self.started = time.monotonic()
        self.last_write = self.started

    def update(self, result: Any) -> int:
        """Add one case result; returns the number of new coverage items it brought."""
        new = self.coverage.update(result)
        now = time.monotonic()
        if now - self.last_write >= self.period:
            self.flush()
        return new

    def on_result(self, result: Any, stats: Any) -> None:
        """Campaign observer hook."""
        self.update(result)

    def snapshot(self) -> dict:
        snap: dict = {"elapsed": round(time.monotonic() - self.started, 2), "cases": self.coverage.cases}
        for e, c in sorted(self.coverage.by_exporter.items()):
            snap[e] = c.sizes()
        return snap

    def flush(self) -> None:
        self.last_write = time.monotonic()
        self.history.append(self.snapshot())
        if self.path is not None:
            doc = self.coverage.to_dict()
            doc["targeted_rewrites"] = {k: list(v) for k, v in targeted_rewrites().items()}
            doc["history"] = self.history
            atomic_write_text(self.path, json.dumps(doc, indent=1) + "\n")

    def close(self) -> None:
        self.flush()


def load_coverage(path: Path) -> tuple[Coverage, list[dict]]:
    """Read ``coverage.json``; raises ValueError (with the path) when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Coverage.from_dict(doc), list(doc.get("history", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path}: not a readable coverage file ({e})") from None
