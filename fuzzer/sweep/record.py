"""Where sweep findings go: one function, :meth:`SweepRecorder.record` (graph, inputs, result).

Results are grouped by the coarse bucket key every part of onnxfuzz uses
(:func:`fuzzer.triage.buckets.bucket_key`: exporter, verdict, error type, normalized first line,
plus the export options blamed by a differential and any opset drift). The first
``keep_per_bucket`` cases of each bucket are written as case directories; every failure is filed
into the findings store (unminimized: sweep cases are single operators already).

The progress file (``progress.txt``) lists finished job keys, one a line, appended and flushed
after the job's results are in ``results.jsonl``: a job is either listed (done) or re-run whole.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Mapping

import numpy as np

from fuzzer.case import CaseResult, save_case
from fuzzer.compare import Verdict
from fuzzer.ir import Graph
from fuzzer.triage.buckets import bucket_id, bucket_key


class SweepRecorder:
    """Files findings into buckets under ``out_dir/cases``; counts per bucket. State is
    rebuilt from ``buckets.jsonl`` when a sweep resumes."""

    def __init__(self, out_dir: Path, keep_per_bucket: int = 3, store_root: Path | None = None):
        from fuzzer.store import FindingStore

        self.out_dir = out_dir
        # the same findings store as campaigns (same signatures, so sweeps and campaigns share
        # buckets); sweep cases are single operators already, so they are filed unminimized
        self.store = FindingStore(store_root or out_dir / "findings")
        self.filed = 0
        self.new_bugs = 0
        self.keep = keep_per_bucket
        self.counts: Counter = Counter()
        self.keys: dict[str, str] = {}
        self._log_path = out_dir / "buckets.jsonl"
        if self._log_path.exists():
            for line in self._log_path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    self.counts[d["bucket"]] += 1
                    self.keys[d["bucket"]] = d["key"]
        self._log = open(self._log_path, "a", encoding="utf-8")

    def record(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult) -> str:
        key = bucket_key(result)
        bid = bucket_id(key)
        self.counts[bid] += 1
        self.keys[bid] = key
        n = self.counts[bid]
        case = None
        if n <= self.keep:
            name = f"{bid}-{n}-{result.verdict.value}-{result.exporter}-{result.opset_requested}"
            # saved by a run stopped before it logged the case (its job runs again on resume): replace it
            shutil.rmtree(self.out_dir / "cases" / name, ignore_errors=True)
            case = str(save_case(self.out_dir / "cases", graph, inputs, result, name=name).relative_to(self.out_dir))
        job = (result.options or {}).get("sweep", {}).get("key")
        ex = (result.options or {}).get("export", {})
        noopt = ("/noopt" if ex.get("optimize") is False else "") + ("/dynamic" if ex.get("dynamic") else "")
        self._file(graph, inputs, result, f"sweep/{job}/{result.exporter}/{result.opset_requested}{noopt}")
        self._log.write(json.dumps({"bucket": bid, "key": key, "case": case, "job": job}, default=str) + "\n")
        self._log.flush()
        return bid

    def _file(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult, key: str) -> None:
        if not result.verdict.is_failure:
            return  # an option-blame or opset-drift record of a passing variant: reported, not a bug of its own
        if result.verdict in (Verdict.NUMERIC_MISMATCH, Verdict.SHAPE_OR_DTYPE_MISMATCH) and result.model is None:
            return
        _, new = self.store.record(graph, inputs, result, None, key)
        self.filed += 1
        self.new_bugs += int(new)

    def close(self) -> None:
        self._log.close()
        self.store.close()


class Progress:
    """The set of finished job keys, persisted as an append-only file."""

    def __init__(self, path: Path):
        self.path = path
        self.done: set[str] = set()
        if path.exists():
            self.done = {ln for ln in path.read_text(encoding="utf-8").splitlines() if ln}
        self._f = open(path, "a", encoding="utf-8")

    def mark(self, key: str) -> None:
        self._f.write(key + "\n")
        self._f.flush()
        self.done.add(key)

    def close(self) -> None:
        self._f.close()
