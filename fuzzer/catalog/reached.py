"""The reach table: which ATen operators each catalog entry's graphs hold when traced and exported
(``reach_table.json``, written by ``scripts/derive_reach.py``; read by :mod:`fuzzer.coverage.reach`
and by the known-trigger table, :mod:`fuzzer.generate.avoid`)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REACH_TABLE = Path(__file__).with_name("reach_table.json")


@lru_cache(maxsize=1)
def reach_table() -> dict[str, dict]:
    """catalog entry -> {"traced": [...], "dispatched": [...]} (ATen names)."""
    if not REACH_TABLE.exists():
        return {}
    return json.loads(REACH_TABLE.read_text())["ops"]


@lru_cache(maxsize=None)
def aten_of(entry: str, exporter: str) -> frozenset[str]:
    """The ATen names an entry's graphs reach under ``exporter`` (cached: the known-trigger table
    asks for every candidate node the generator draws)."""
    r = reach_table().get(entry)
    if r is None:
        return frozenset()
    names = set(r["traced"]) if exporter == "torchscript" else set(r["traced"]) | set(r["dispatched"]) | set(r.get("exported", ()))
    # an in-place or dunder node (add_, __rshift__) is looked up without its last underscore
    return frozenset(names | {n[:-1] for n in names if n.endswith("_")})
