"""One report for a root-cause group (:mod:`fuzzer.triage.groups`): the issue to file when one fix
closes several findings.

The report names the shared cause in its title (at most :data:`~.report.MAX_TITLE` characters,
with the tracker's prefix), the tracker (the representative member's), every member (finding id,
the op it is about, its torch ops, input dtypes, exporter, title) and the representative member's
inline script, taken from that member's own ``report.md`` (its first script block and, when the
report has it, the script's output): nothing is rendered again. The representative is the
simplest member whose report has a script: fewest operators, then most hits, then id.

It is written to ``ROOT/group-<group id>.md`` of the store (a file, not a directory: the store
reads every directory as a finding), atomically.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from fuzzer.atomic import atomic_write_text
from fuzzer.triage.groups import Group, load_groups

from .report import MAX_TITLE, SCRIPT_MARK, TRACKERS, tracker_for
from .store import FindingError, inline_scripts

_OUTPUT = re.compile(r"\*\*Output of the script above\*\* \(exit code [^)]*\):\n```\n.*?\n```", re.S)


def group_file(root: Path, group_id: str) -> Path:
    return root / f"group-{group_id}.md"


def find_group(groups: Sequence[Group], ref: str) -> Group:
    """The group with id ``ref`` or a unique prefix of it; :class:`FindingError` otherwise."""
    hits = [g for g in groups if g.id == ref] or [g for g in groups if ref and g.id.startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise FindingError(f"no group {ref[:40]!r} (see 'onnxfuzz findings groups')")
    raise FindingError(f"group {ref[:40]!r} is ambiguous: {', '.join(g.id for g in hits[:5])}")


def group_title(group: Group, prefix: str) -> str:
    """'<prefix><cause>: <ops>', the cause without its scope ("dynamo: "; the tracker's prefix
    says whose it is), shortened to fit :data:`MAX_TITLE`: the op list goes first, then a
    trailing parenthesis of the cause, then words."""
    cause = re.sub(r"^(?:torchscript|dynamo|onnxruntime): ", "", group.cause)
    bare = re.sub(r" \([^()]*\)$", "", cause)
    ops = ", ".join(group.ops())
    for text in (f"{cause}: {ops}", f"{bare}: {ops}", cause, bare):
        if len(prefix + text) <= MAX_TITLE:
            return prefix + text
    cut = (prefix + bare)[:MAX_TITLE - 1]
    return cut.rsplit(" ", 1)[0] + "…"


def representative(group: Group, docs: Mapping[str, Mapping[str, Any]], reports: Mapping[str, str]) -> str | None:
    """The member whose script the report shows (module docstring); None if no report has one."""
    usable = [m for m in group.members if inline_scripts(reports.get(m.id, ""))]
    if not usable:
        return None
    return min(usable, key=lambda m: (int(docs.get(m.id, {}).get("n_ops") or 0), -m.hits, m.id)).id


def render_group_report(group: Group, docs: Mapping[str, Mapping[str, Any]], reports: Mapping[str, str]) -> str:
    """The group's report (module docstring). ``docs``/``reports``: finding.json and report.md
    text per member id (a member missing from them is listed with what the group knows)."""
    rep = representative(group, docs, reports)
    lead = rep or (group.members[0].id if group.members else None)
    tracker = tracker_for(str((docs.get(lead, {}) if lead else {}).get("tracker") or ""))
    t = TRACKERS[tracker]
    lines = [f"# {group_title(group, t.title_prefix)}", "",
             f"<!-- onnxfuzz group {group.id}; tracker: {tracker}; key: {group.key} -->", "",
             f"**Tracker:** {tracker} ({t.url}). **Shared cause:** {group.cause}"
             + (f" (a documented limitation: {group.limitation})" if group.limitation else "") + ".", "",
             f"One fix should close these {len(group.members)} findings of onnxfuzz (ops: {', '.join(group.ops())}; "
             f"input dtypes: {', '.join(group.dtypes()) or 'none'}):", "",
             "| finding | op | torch ops | input dtypes | exporter | title |", "|---|---|---|---|---|---|"]
    for m in group.members:
        title = str(docs.get(m.id, {}).get("title") or "").replace("|", "\\|")
        lines.append(f"| {m.id} | {m.onnx_op or '?'} | {', '.join(m.torch_ops) or '?'} | {', '.join(m.dtypes) or '-'} | {m.exporter} | {title} |")
    lines.append("")
    if rep is None:
        lines += ["No member's report.md holds a script yet (`onnxfuzz findings report ID` writes one).", ""]
    else:
        text = reports[rep]
        lines += [f"### To reproduce ({rep}, the simplest member)", "",
                  f"From finding {rep}'s report ({docs.get(rep, {}).get('title', '')}); exit 1 while the bug reproduces, 0 once fixed.", "",
                  SCRIPT_MARK, "```python", inline_scripts(text)[0].rstrip("\n"), "```", ""]
        out = _OUTPUT.search(text)
        if out is not None:
            lines += [out.group(0), ""]
    lines += ["Each member's own report (`report.md` in its directory) has its script, expected vs actual and the exported graph.", "",
              f"(Found by onnxfuzz, an operator-sequence fuzzer for torch.onnx; root-cause group {group.id}.)", ""]
    return "\n".join(lines)


def write_group_report(root: Path, ref: str) -> Path:
    """Render the report of group ``ref`` (id or unique prefix) of the store at ``root`` and write
    it atomically to :func:`group_file`; returns the path."""
    group = find_group(load_groups(root), ref)
    docs: dict[str, dict] = {}
    reports: dict[str, str] = {}
    for m in group.members:
        d = root / m.id
        try:
            doc = json.loads((d / "finding.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            doc = {}
        docs[m.id] = doc if isinstance(doc, dict) else {}
        try:
            reports[m.id] = (d / "report.md").read_text(encoding="utf-8")
        except OSError:
            pass
    path = group_file(root, group.id)
    atomic_write_text(path, render_group_report(group, docs, reports))
    return path
