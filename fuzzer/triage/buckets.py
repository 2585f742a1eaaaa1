"""The coarse bucket key of a raw failing case, defined once: which raw cases a campaign or a sweep
keeps on disk, what the live display calls a new kind of failure, and the buckets of a sweep report.

It groups by verdict, exporter, error type and the error's first line with terminal colour codes
removed and numbers, quoted names, node names and paths blanked (those vary between occurrences of
one bug; digits inside names such as ``float16`` are kept). A mismatch is keyed by its worst
difference's kind and expected dtype instead. A result annotated by export-option differentials
(:mod:`fuzzer.case.variants`) also carries the options blamed and any silent opset change; a
dynamic-shape failure carries ``dynamic@run`` or ``dynamic@export`` (:func:`.signature.dynamic_detail`). The
findings store refines this into a failure signature (:mod:`.signature`) after minimization.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fuzzer.case import CaseResult

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_NOISE = re.compile(
    r"'[^']*'|\"[^\"]*\""
    r"|(?<=node name: )[^\s,)]+"  # ONNX checker and shape inference: "(op_type:Floor, node name: node_floor)"
    r"|\b(node|n)_\w*\d+\b|\bn\d+(?:_\d+)*\b"  # exporters' node names (node_Cast_12) and the fuzzer's own (n0, n0_3)
    r"|(?<!\w)/[A-Za-z_.][\w/.:-]*|(?<![A-Za-z_0-9.])\d+(\.\d+)?(e[-+]?\d+)?")
_MISMATCHES = ("numeric_mismatch", "shape_or_dtype_mismatch")


def normalize_head(head: str | None, limit: int = 120) -> str:
    """The first line of a message without colour codes, with the varying parts blanked to ``#``."""
    text = ANSI_ESCAPE.sub("", head or "").strip()
    first = text.splitlines()[0] if text else ""
    return _NOISE.sub("#", first)[:limit]


def bucket_key(r: "CaseResult") -> str:
    """The coarse key of a result (see the module docstring)."""
    head = normalize_head(r.error_head)
    if r.verdict.value in _MISMATCHES:
        w = r.worst
        head = f"{w.kind} {w.expected.split('[')[0]}" if w else head
    key = f"{r.verdict.value}|{r.exporter}|{r.error_type or ''}|{head}"
    opts = r.options or {}
    failed = (opts.get("dynamic") or {}).get("failed")
    if failed in ("run", "export"):  # dynamic-shape export: fails only away from the traced size / only dynamic
        key += f"|dynamic@{failed}"
    if opts.get("declared_dtypes"):  # ORT fails on a model declaring other types than eager's: the exporter's
        from .limitations import DECLARED_MARK

        key += f"|{DECLARED_MARK}"
    labels = sorted({a["label"] for a in opts.get("differential", ())})
    if labels:
        key += f"|blamed: {', '.join(labels)}"
    drift = opts.get("opset_drift")
    if drift:
        key += f"|opset drift {drift['requested']}->{drift['actual']}"
    return key


def bucket_id(key: str) -> str:
    """A short stable name for a bucket key (10 hex digits)."""
    return hashlib.sha1(key.encode()).hexdigest()[:10]
