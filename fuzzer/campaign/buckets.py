"""A coarse bucket key for raw failing cases: which ones to keep on disk and what to print.

Defined once here. It groups by verdict, exporter, error type and the error's first line with
numbers, quoted names and node names blanked (those vary between occurrences of one bug). The
findings store refines this into a proper failure signature after minimization.
"""

from __future__ import annotations

import re

from .case import CaseResult

_NOISE = re.compile(r"'[^']*'|\"[^\"]*\"|\b(node|n)_?\w*\d+\b|/[\w/.:-]+|\d+(\.\d+)?(e[-+]?\d+)?")


def rough_key(r: CaseResult) -> str:
    head = _NOISE.sub("#", r.error_head or "")
    if r.verdict.value in ("numeric_mismatch", "shape_or_dtype_mismatch"):
        w = r.worst
        head = f"{w.kind} {w.expected.split('[')[0]}" if w else head
    return f"{r.verdict.value}|{r.exporter}|{r.error_type or ''}|{head[:120]}"
