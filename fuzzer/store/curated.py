"""What people know about a store's findings and the fuzzer does not: two optional JSON files at
the store's root, both hand-edited (or written by ``findings mark``).

- ``curation.json``: ``{"<id>": {"title": ..., "project": ..., "found_by": ..., "notes": ...}}``.
  ``title`` replaces the generated title of the report (a causal title written after the hand
  check, at most 100 characters); ``project`` overrides the tracker the stages named (with the
  reason in ``notes``). The other fields feed ``scripts/findings_readme.py``.
- ``upstream.json``: ``{"<id or group>": ["<issue URL>", ...]}``: known upstream issues, shown in
  reports and in ``findings list``. ``findings mark ID --filed URL`` adds to it (atomic write).

A file that is missing is empty; one that does not parse is an error naming the file (it is
hand-edited, and silently ignoring it would drop what a person wrote).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fuzzer.atomic import atomic_write_text

CURATION = "curation.json"
UPSTREAM = "upstream.json"
MAX_TITLE = 100  # characters: what a tracker's issue list shows without cutting


class CuratedFileError(ValueError):
    """A curated file exists and does not hold the expected JSON object."""


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CuratedFileError(f"{path}: not readable JSON ({e})") from None
    if not isinstance(doc, dict):
        raise CuratedFileError(f"{path}: expected a JSON object keyed by finding id")
    return doc


def curation(root: Path, fid: str) -> dict[str, Any]:
    """The curation entry of finding ``fid`` in store ``root`` (empty if none)."""
    entry = _load(Path(root) / CURATION).get(fid, {})
    return entry if isinstance(entry, dict) else {}


def upstream_issues(root: Path, fid: str) -> list[str]:
    """Upstream issue URLs known for ``fid`` in store ``root`` (keys are ids or id prefixes)."""
    doc = _load(Path(root) / UPSTREAM)
    out: list[str] = []
    for key, urls in doc.items():
        if isinstance(urls, str):
            urls = [urls]
        if fid == key or (len(key) >= 6 and fid.startswith(key)):
            out += [u for u in urls if isinstance(u, str) and u not in out]
    return out


def all_upstream(root: Path) -> dict[str, list[str]]:
    """``upstream.json`` as id -> URLs (one string normalized to a list)."""
    return {k: ([v] if isinstance(v, str) else [u for u in v if isinstance(u, str)]) for k, v in _load(Path(root) / UPSTREAM).items()
            if isinstance(v, (str, list))}


def add_upstream(root: Path, fid: str, url: str) -> None:
    """Record ``url`` as an upstream issue of ``fid`` (idempotent; atomic replacement of the file)."""
    path = Path(root) / UPSTREAM
    doc = _load(path)
    urls = doc.get(fid, [])
    urls = [urls] if isinstance(urls, str) else list(urls)
    if url not in urls:
        urls.append(url)
    doc[fid] = urls
    atomic_write_text(path, json.dumps(dict(sorted(doc.items())), indent=1) + "\n")
