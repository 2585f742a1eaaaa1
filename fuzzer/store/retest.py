"""Retest records: on which stacks each finding reproduces (``onnxfuzz findings retest``).

``retest.json`` in a store (the curated ``findings/`` keeps its own) holds one entry per stack a
retest ran on, keyed by a label naming the versions that differ from nothing in particular (all of
torch, onnx, onnxruntime, onnxscript)::

    {"format": "onnxfuzz-retest", "version": 1, "stacks": {
        "torch 2.13.0+cpu, onnx 1.23.2, onnxruntime 1.31.1, onnxscript 0.7.2": {
            "versions": {...}, "overrides": ["onnxruntime==1.31.1"], "at": "...",
            "findings": {"<id>": "still failing" | "fixed" | "changed signature: ..." | "not a failure now (...)" | "skipped"}}}}

A later retest on the same stack replaces that stack's entry. The table (:func:`matrix_markdown`)
has a row per finding and a column per stack: ``fails`` (still failing with its signature),
``passes``, ``changed`` (fails otherwise), ``-`` (not retested there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping, Sequence

from fuzzer.atomic import atomic_write_text

FORMAT, VERSION = "onnxfuzz-retest", 1
RETEST_FILE = "retest.json"
LABEL_PACKAGES = ("torch", "onnx", "onnxruntime", "onnxscript")
_LINE = re.compile(r"^(?P<id>[0-9A-Za-z_-]{1,64})\s+(?P<verdict>[a-z_]+)\s+(?P<state>still failing|fixed|changed signature: .*|not a failure now .*)$")


def stack_label(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{p} {versions.get(p, '?')}" for p in LABEL_PACKAGES)


def parse_replay(stdout: str) -> dict[str, str]:
    """Finding id -> state from ``onnxfuzz findings replay`` output."""
    out = {}
    for line in stdout.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out[m.group("id")] = m.group("state").strip()
    return out


def load_retest(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": FORMAT, "version": VERSION, "stacks": {}}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable retest record ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("stacks"), dict):
        raise ValueError(f"{path}: not an onnxfuzz retest record")
    return doc


def record_stack(path: Path, versions: Mapping[str, str], overrides: Sequence[str], states: Mapping[str, str], at: str) -> dict:
    """Merge one stack's results into ``path`` (atomic write); returns the whole record. A retest
    of some findings updates theirs and keeps the stack's results for the others."""
    doc = load_retest(path)
    label = stack_label(versions)
    before = doc["stacks"].get(label, {}).get("findings", {})
    states = {**(before if isinstance(before, dict) else {}), **states}
    doc["stacks"][label] = {"versions": dict(versions), "overrides": list(overrides), "at": at, "findings": dict(sorted(states.items()))}
    atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    return doc


def cell(state: str | None) -> str:
    if state is None:
        return "-"
    if state == "still failing":
        return "fails"
    if state == "fixed":
        return "passes"
    if state.startswith("changed signature"):
        return "changed"
    if state.startswith("not a failure now"):
        return "other verdict"
    return state


def matrix_markdown(doc: Mapping, ids: Sequence[str], labels: Mapping[str, str] | None = None) -> str:
    """A Markdown table: a row per finding id, a column per stack (newest versions last, headed by
    the versions that differ between the stacks), and a row counting the findings that still fail
    on each stack."""
    stacks = sorted(doc.get("stacks", {}).items(), key=lambda kv: tuple(_vkey(kv[1]["versions"].get(p, "")) for p in LABEL_PACKAGES[::-1]))
    if not stacks:
        return ""
    varying = [p for p in LABEL_PACKAGES if len({v["versions"].get(p) for _, v in stacks}) > 1] or ["onnxruntime", "onnxscript"]
    head = "| finding | " + " | ".join(_short_label(", ".join(f"{p} {v['versions'].get(p, '?')}" for p in varying)) for _, v in stacks) + " |"
    sep = "|---|" + "---|" * len(stacks)
    rows = []
    for fid in ids:
        name = f"{fid} {labels[fid]}" if labels and fid in labels else fid
        rows.append(f"| {name} | " + " | ".join(cell(v["findings"].get(fid)) for _, v in stacks) + " |")
    total = "| **still failing** | " + " | ".join(f"{sum(v['findings'].get(f) == 'still failing' for f in ids)} of {sum(f in v['findings'] for f in ids)}"
                                                  for _, v in stacks) + " |"
    return "\n".join([head, sep, *rows, total])


def _short_label(label: str) -> str:
    return label.replace("onnxruntime ", "ORT ").replace("onnxscript ", "onnxscript ")


def _vkey(v: str) -> tuple:
    return tuple(int(x) if x.isdigit() else 0 for x in re.split(r"[.+]", v))
