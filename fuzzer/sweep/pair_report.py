"""The pair sweep's report: a producer x consumer matrix per exporter, as ``pairs.md``,
``pairs.json`` and a ``pairs.png`` heat map.

Built from ``results.jsonl`` and ``interactions.jsonl`` only (a resumed or finished sweep can be
re-reported). A cell (producer, consumer, exporter) aggregates every case of the pair: all dtypes,
input modes and export variants of that exporter. Its code is ``IX`` when any of its failures is
an interaction (:mod:`fuzzer.sweep.interactions`), else the worst report category
(:func:`fuzzer.sweep.report.category`: ok, MK, IM, CR, MM).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

from fuzzer.catalog import CATALOG

from .interactions import FILE as CHECKS_FILE, KINDS, load_checks
from .report import CATEGORIES, COLORS, SHORT, category, load_rows, variant_of

INTERACTION = "interaction"
IX_COLOR = "#1a237e"


def pair_cells(rows: list[dict], checks: dict[tuple[str, str], dict]) -> dict[tuple[str, str, str], dict]:
    """(producer, consumer, exporter) -> {"counts": category counts, "kinds": failure kinds}."""
    cells: dict[tuple[str, str, str], dict] = defaultdict(lambda: {"counts": Counter(), "kinds": Counter()})
    for r in rows:
        if len(r["ops"]) != 2:
            continue
        c = category(r["verdict"], r["error_head"])
        if c is None:
            continue
        cell = cells[(r["ops"][0], r["ops"][1], r["exporter"])]
        cell["counts"][c] += 1
        chk = checks.get((r["key"], variant_of(r)))
        if c != "pass":
            cell["kinds"][chk["kind"] if chk else "unchecked"] += 1
    return cells


def code(cell: dict) -> str:
    if cell["kinds"].get(INTERACTION):
        return "IX"
    return SHORT[max(cell["counts"], key=CATEGORIES.index)]


def _esc(s: str | None, n: int = 110) -> str:
    return (s or "").replace("|", "\\|").replace("\n", " ")[:n]


def pair_json(rows: list[dict], checks: dict[tuple[str, str], dict], title: str) -> dict:
    cells = pair_cells(rows, checks)
    exporters = sorted({k[2] for k in cells})
    return {
        "title": title, "jobs": len({r["key"] for r in rows}), "cases": len(rows),
        "pairs_tested": len({(k[0], k[1]) for k in cells}),
        "categories": {e: dict(sum((c["counts"] for k, c in cells.items() if k[2] == e), Counter())) for e in exporters},
        "failure_kinds": {e: dict(sum((c["kinds"] for k, c in cells.items() if k[2] == e), Counter())) for e in exporters},
        "cells": [{"producer": p, "consumer": c, "exporter": e, "code": code(v), "counts": dict(v["counts"]), "kinds": dict(v["kinds"])}
                  for (p, c, e), v in sorted(cells.items())],
        "interactions": [d for d in checks.values() if d["kind"] == INTERACTION],
    }


def markdown(doc: dict) -> str:
    out = [f"# {doc['title']}", "",
           f"{doc['cases']} cases, {doc['jobs']} jobs, {doc['pairs_tested']} producer -> consumer operator pairs tested.", "",
           "## Verdict categories per exporter", "", "| exporter | " + " | ".join(CATEGORIES) + " |", "|---|" + "---:|" * len(CATEGORIES)]
    for e, cnt in doc["categories"].items():
        out.append(f"| {e} | " + " | ".join(str(cnt.get(c, 0)) for c in CATEGORIES) + " |")
    kinds = list(KINDS) + ["unchecked"]
    out += ["", "## Failing pair variants: whose failure is it?", "",
            "Each failing case (one export variant) is re-run as its producer alone on the pair's inputs and its consumer alone "
            "fed the producer's eager output. *interaction*: both pass alone; *producer* / *consumer* / *both*: that operator "
            "fails alone; *noise*: a mismatch the float64 confirmation replay did not confirm; *unchecked*: not checked yet "
            "(`--resume` goes on).", "",
            "| exporter | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for e, cnt in doc["failure_kinds"].items():
        out.append(f"| {e} | " + " | ".join(str(cnt.get(k, 0)) for k in kinds) + " |")
    out += ["", "## Interactions", ""]
    inter = doc["interactions"]
    if inter:
        out += ["| producer -> consumer | dtype | mode | variant | verdict | case | first line |", "|---|---|---|---|---|---|---|"]
        for d in sorted(inter, key=lambda d: (d["ops"], d["variant"], d["dtype"], d["mode"])):
            out.append(f"| `{' -> '.join(d['ops'])}` | {d['dtype']} | {d['mode']} | {d['variant']} | {d['verdict']} | {d.get('case_dir') or ''} | {_esc(d['error_head'])} |")
    else:
        out.append("None found.")
    out += ["", "## Matrix", "",
            "Per exporter, each producer with at least one failing consumer: the consumers by cell code (IX interaction, "
            "MK missing kernel, IM invalid model, CR crash, MM wrong output), and how many consumers it was tested with. "
            "The full matrix is in pairs.json and pairs.png.", ""]
    by_exp: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    tested: Counter = Counter()
    for c in doc["cells"]:
        tested[(c["exporter"], c["producer"])] += 1
        if c["code"] != "ok":
            by_exp[c["exporter"]][c["producer"]][c["code"]].append(c["consumer"])
    order = ["IX", "CR", "MM", "IM", "MK"]
    for e in sorted(by_exp):
        out += [f"### {e}", "", "| producer | consumers tested | " + " | ".join(order) + " |", "|---|---:|" + "---|" * len(order)]
        for p in sorted(by_exp[e]):
            codes = by_exp[e][p]
            out.append(f"| {p} | {tested[(e, p)]} | " + " | ".join(", ".join(sorted(codes.get(k, []))) for k in order) + " |")
        out.append("")
    return "\n".join(out) + "\n"


def heatmap(doc: dict, path: Path) -> None:
    """One panel per exporter: producers (rows) x consumers (columns) in catalog order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    names = list(CATALOG)
    index = {n: i for i, n in enumerate(names)}
    exporters = sorted({c["exporter"] for c in doc["cells"]}) or ["none"]
    labels = list(CATEGORIES) + [INTERACTION]
    codes = {SHORT[c]: k for k, c in enumerate(CATEGORIES)} | {"IX": len(CATEGORIES)}
    fig, axes = plt.subplots(1, len(exporters), figsize=(7 * len(exporters), 7.5), squeeze=False)
    cmap = ListedColormap([COLORS[c] for c in CATEGORIES] + [IX_COLOR]).with_extremes(bad="#f2f2f2")
    for ax, e in zip(axes[0], exporters):
        grid = np.full((len(names), len(names)), np.nan)
        for c in doc["cells"]:
            if c["exporter"] == e:
                grid[index[c["producer"]], index[c["consumer"]]] = codes[c["code"]]
        ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-0.5, vmax=len(labels) - 0.5, interpolation="nearest")
        ax.set_title(f"{e}: producer (row) -> consumer (column)", fontsize=9)
        ax.set_xlabel("consumer (catalog order)", fontsize=8)
        ax.set_ylabel("producer (catalog order)", fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0][-1].legend(handles=[Patch(color=COLORS[c], label=c) for c in CATEGORIES] + [Patch(color=IX_COLOR, label=INTERACTION),
                                                                                      Patch(color="#f2f2f2", label="not tested")],
                       loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    fig.suptitle(doc["title"], fontsize=10)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_pair_report(sweep_dir: Path, md_path: Path | None = None) -> tuple[Path, Path]:
    """Write ``pairs.md``, ``pairs.json`` and ``pairs.png`` into the sweep directory (the
    Markdown also to ``md_path`` when given, the PNG beside it). Returns the Markdown and PNG
    paths written last."""
    from fuzzer.atomic import atomic_write_text

    rows = load_rows(sweep_dir / "results.jsonl") if (sweep_dir / "results.jsonl").exists() else []
    checks = load_checks(sweep_dir) if (sweep_dir / CHECKS_FILE).exists() else {}
    doc = pair_json(rows, checks, f"onnxfuzz pair sweep {sweep_dir.name}")
    atomic_write_text(sweep_dir / "pairs.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
    text = markdown(doc)
    md = png = sweep_dir / "pairs.md"
    for t in [sweep_dir / "pairs.md"] + ([md_path] if md_path is not None else []):
        png = t.with_suffix(".png")
        atomic_write_text(t, text + f"\n![pair matrix]({png.name})\n")
        heatmap(doc, png)
        md = t
    return md, png
