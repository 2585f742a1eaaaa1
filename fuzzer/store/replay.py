"""Replaying findings against the installed stack: what a finding does now, and whether that is
what its status says. The case runner is injected (the command line passes an isolated worker),
so a finding that kills its process is a verdict, and the store never starts processes itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from fuzzer.ir import Graph

from .store import EXPECTED_ON_REPLAY, FindingError, FindingStore, dynamic_kw, export_options, status_of

#: Runs one finding's graph and inputs: (exporter, requested opset, input mode[, optimize]) -> a
#: runner of (graph, inputs) -> CaseResult.
RunnerFactory = Callable[..., Callable[[Graph, Mapping[str, np.ndarray]], Any]]


def open_store(root: Path) -> FindingStore:
    """The store at ``root``, or at ``root/findings`` for a campaign or sweep directory."""
    if (root / "findings").is_dir() and not (root / "index.sqlite").exists():
        root = root / "findings"
    if not root.is_dir():
        raise FindingError(f"{root}: no such store directory")
    return FindingStore(root)


def replay_state(doc: Mapping[str, Any], graph: Graph, inputs: Mapping[str, np.ndarray], runners: RunnerFactory) -> str:
    """Re-run a finding: "still failing", "fixed", "changed signature: ..." or "not a failure now
    (...)"."""
    from fuzzer.triage.signature import NotAFailure, matches, signature_of

    exporter, opset, optimize = export_options(doc)
    result = runners(exporter, opset, doc.get("input_mode") or "normal", optimize, **dynamic_kw(doc))(graph, inputs)
    try:
        sig = signature_of(result)
    except NotAFailure:
        return "fixed" if result.verdict.value == "pass" else f"not a failure now ({result.verdict.value})"
    return "still failing" if matches(sig, doc["signature"]["key"], doc["exporter"]) else f"changed signature: {sig.key}"


def expected_state(doc: Mapping[str, Any]) -> str:
    """What :func:`replay_state` must say for this finding's status."""
    return EXPECTED_ON_REPLAY[status_of(doc)]


def ingest_cases(cases_dir: Path, store: FindingStore, runners: RunnerFactory, minimize_seconds: float,
                 on_case: Callable[[str, "str | None", bool, str, "str | None"], None]) -> dict[str, int]:
    """Re-run every case directory under ``cases_dir`` on the installed stack and file the ones
    that still fail into ``store`` (new bugs minimized for ``minimize_seconds``; 0: filed raw).
    ``on_case(name, finding id, new, verdict, problem)`` hears about each; an unreadable case is
    reported with ``problem`` and skipped. Returns the counts."""
    import json

    from fuzzer.case import load_inputs
    from fuzzer.ir import load_graph
    from fuzzer.minimize import minimize

    counts = {"cases": 0, "failures": 0, "new buckets": 0, "skipped": 0}
    for d in sorted(p for p in cases_dir.iterdir() if p.is_dir()):
        try:
            graph = load_graph(d / "graph.json")
            inputs = load_inputs(d / "inputs.npz", graph)
            rec = json.loads((d / "result.json").read_text(encoding="utf-8"))
            exporter, opset, mode = rec["exporter"], rec.get("opset_requested"), rec.get("input_mode", "normal")
            ex = (rec.get("options") or {}).get("export") or {}
            dyn = {"dynamic": True} if isinstance(ex, dict) and ex.get("dynamic") is True else {}
        except (OSError, ValueError, KeyError, TypeError) as e:
            on_case(d.name, None, False, "", f"{d}: {e}")
            counts["skipped"] += 1
            continue
        counts["cases"] += 1
        run = runners(exporter, opset, mode, **dyn)
        result = run(graph, inputs)
        if not result.verdict.is_failure:
            on_case(d.name, None, False, result.verdict.value, None)
            continue
        counts["failures"] += 1
        mini = None
        if minimize_seconds > 0:
            def mini(g, x, r, run=run):
                return minimize(g, x, run, seconds=minimize_seconds)
        fid, new = store.record(graph, inputs, result, minimize=mini, case_key=f"{result.exporter}/{rec.get('seed')}")
        counts["new buckets"] += new
        on_case(d.name, fid, new, result.verdict.value, None)
    return counts
