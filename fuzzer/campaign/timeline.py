"""When a campaign found what: per exporter, the time to the first failing case, to the first
filed finding, and how many distinct findings its cases reached by a few marks in time.

Read from a campaign directory after the fact (results.jsonl gives each case's time since the
start, the findings index maps each filed case to its finding), so it works on any campaign,
resumed or not. Times are campaign time (``t`` of results.jsonl), not wall-clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from fuzzer.compare import Verdict

from .recorder import line_case_key

#: the marks (seconds) at which distinct findings are counted
MARKS = (60.0, 600.0, 3600.0)


@dataclass(frozen=True)
class FindingTimeline:
    exporter: str
    cases: int
    first_failure: float | None  # t of the first failing case
    first_finding: float | None  # t of the first case filed under a finding
    findings: int  # distinct findings this exporter's cases were filed under
    by_mark: tuple[tuple[float, int], ...]  # (mark, distinct findings reached by then)


def finding_timelines(results: Iterable[Mapping], filed: Mapping[str, str]) -> list[FindingTimeline]:
    """``results``: results.jsonl lines; ``filed``: case key ("exporter/seed") -> finding id."""
    per: dict[str, list[tuple[float, str, str | None]]] = {}
    for r in results:
        key = line_case_key(r)
        per.setdefault(r["exporter"], []).append((float(r.get("t", 0.0)), r["verdict"], filed.get(key)))
    out = []
    for exporter, rows in sorted(per.items()):
        rows.sort(key=lambda x: x[0])
        fails = [t for t, v, _ in rows if Verdict(v).is_failure]
        first_seen: dict[str, float] = {}
        for t, _, fid in rows:
            if fid is not None and fid not in first_seen:
                first_seen[fid] = t
        times = sorted(first_seen.values())
        out.append(FindingTimeline(
            exporter, len(rows), fails[0] if fails else None, times[0] if times else None, len(times),
            tuple((m, sum(1 for t in times if t <= m)) for m in MARKS),
        ))
    return out
