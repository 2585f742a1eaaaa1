"""Replaying findings against the installed stack: what a finding does now, and whether that is
what its status says. The case runner is injected (the command line passes an isolated worker),
so a finding that kills its process is a verdict, and the store never starts processes itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from fuzzer.ir import Graph

from .store import EXPECTED_ON_REPLAY, FindingError, FindingStore, status_of

#: Runs one finding's graph and inputs: (exporter, requested opset, input mode) -> a runner of
#: (graph, inputs) -> CaseResult.
RunnerFactory = Callable[[str, "int | None", str], Callable[[Graph, Mapping[str, np.ndarray]], Any]]


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
    from fuzzer.triage.signature import NotAFailure, signature_of

    result = runners(doc["exporter"], doc.get("opset_requested"), doc.get("input_mode", "normal"))(graph, inputs)
    try:
        sig = signature_of(result)
    except NotAFailure:
        return "fixed" if result.verdict.value == "pass" else f"not a failure now ({result.verdict.value})"
    return "still failing" if sig.key == doc["signature"]["key"] else f"changed signature: {sig.key}"


def expected_state(doc: Mapping[str, Any]) -> str:
    """What :func:`replay_state` must say for this finding's status."""
    return EXPECTED_ON_REPLAY[status_of(doc)]
