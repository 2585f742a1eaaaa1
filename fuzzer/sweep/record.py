"""Where sweep findings go: one function, :meth:`SweepRecorder.record` (graph, inputs, result).

Until the shared findings store exists, findings are filed into buckets by a stand-in signature
(:func:`stand_in_bucket`): exporter, verdict, exception type, and the first line of the message
with numbers and quoted names replaced by ``#``, plus the differential label when an option is to
blame (or the opset drift). The first ``keep_per_bucket`` cases of each bucket are written as case
directories (``fuzzer.campaign.save_case``); later ones are only counted. To switch to the findings
store, pass its ``record`` function to :func:`fuzzer.sweep.run.run_sweep` instead.

The progress file (``progress.txt``) lists finished job keys, one a line, appended and flushed
after the job's results are in ``results.jsonl``: a job is either listed (done) or re-run whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Mapping

import numpy as np

from fuzzer.campaign import CaseResult, save_case
from fuzzer.compare import Verdict
from fuzzer.ir import Graph

from .wire import ProcessCrash, verdict_text

_NORMALIZE = re.compile(r"'[^']*'|\"[^\"]*\"|(?<![A-Za-z_0-9.])\d+(\.\d+)?(e[-+]?\d+)?")


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def normalize_head(head: str | None, limit: int = 120) -> str:
    """The first line of a message without terminal colour codes, digits and quoted names
    replaced by ``#`` (digits inside names such as ``float16`` are kept)."""
    text = ANSI_ESCAPE.sub("", head or "").strip()
    first = text.splitlines()[0] if text else ""
    return _NORMALIZE.sub("#", first)[:limit]


def stand_in_bucket(result: CaseResult | ProcessCrash) -> tuple:
    """Stand-in for the findings store's failure signature (see module docstring)."""
    opts = result.options or {}
    labels = tuple(sorted({a["label"] for a in opts.get("differential", ())}))
    drift = opts.get("opset_drift")
    drift_key = f"opset drift {drift['requested']}->{drift['actual']}" if drift else None
    return (result.exporter, verdict_text(result), result.error_type, normalize_head(result.error_head), labels, drift_key)


def bucket_id(key: tuple) -> str:
    return hashlib.sha1(json.dumps(key, default=str).encode()).hexdigest()[:10]


class SweepRecorder:
    """Files findings into stand-in buckets under ``out_dir/cases``; counts per bucket. State is
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
        self.keys: dict[str, tuple] = {}
        self._log_path = out_dir / "buckets.jsonl"
        if self._log_path.exists():
            for line in self._log_path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    self.counts[d["bucket"]] += 1
                    self.keys[d["bucket"]] = tuple(d["key"])
        self._log = open(self._log_path, "a", encoding="utf-8")

    def record(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult | ProcessCrash) -> str:
        key = stand_in_bucket(result)
        bid = bucket_id(key)
        self.counts[bid] += 1
        self.keys[bid] = key
        n = self.counts[bid]
        case = None
        if n <= self.keep:
            name = f"{bid}-{n}-{verdict_text(result)}-{result.exporter}-{result.opset_requested}"
            case = str(save_case(self.out_dir / "cases", graph, inputs, result, name=name).relative_to(self.out_dir))
        job = (result.options or {}).get("sweep", {}).get("key")
        self._file(graph, inputs, result, f"sweep/{job}/{result.exporter}/{result.opset_requested}")
        self._log.write(json.dumps({"bucket": bid, "key": list(key), "case": case, "job": job}, default=str) + "\n")
        self._log.flush()
        return bid

    def _file(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult | ProcessCrash, key: str) -> None:
        if isinstance(result, ProcessCrash):
            verdict = Verdict.HANG if result.error_type == "timeout" else Verdict.PROCESS_CRASH
            result = CaseResult(
                seed=result.seed, exporter=result.exporter, opset_requested=result.opset_requested, opset=None, verdict=verdict,
                input_mode=result.input_mode, error_type=result.error_type.removeprefix("signal "), error_head=result.error_head,
                error_message=result.error_head, n_nodes=len(graph), ops=tuple(graph.ops()), options=dict(result.options),
            )
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
