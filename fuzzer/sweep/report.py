"""The sweep report: an operator x dtype x exporter matrix of verdict categories, as Markdown
and as a PNG heat map, plus the buckets, the differential attributions and the opset drifts.

Built from ``results.jsonl`` only (a resumed or finished sweep can be re-reported). A result line
is identified by (job key, exporter, requested opset, optimize); a job re-run after an
interruption replaces its earlier lines. Each cell shows its *worst* category over every case in
it (all shapes, attributes, input modes, opsets) and how many of its cases fall in that category.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from fuzzer.ir import DTYPES

from fuzzer.triage.buckets import ANSI_ESCAPE

#: Report categories, from best to worst. Severity decides a cell's colour.
CATEGORIES = ("pass", "missing kernel", "invalid model", "crash", "mismatch")
SHORT = {"pass": "ok", "missing kernel": "MK", "invalid model": "IM", "crash": "CR", "mismatch": "MM"}
COLORS = {"pass": "#4caf50", "missing kernel": "#ffd54f", "invalid model": "#ab47bc", "crash": "#ff7043", "mismatch": "#c62828"}


def category(verdict: str, error_head: str | None) -> str | None:
    """The report category of a verdict (None: not a statement about the exporter, e.g. eager
    PyTorch rejected the graph). Total over every verdict a sweep records (tested)."""
    if verdict == "pass":
        return "pass"
    if verdict == "ort_load_failure":
        return "missing kernel" if "NOT_IMPLEMENTED" in (error_head or "") else "invalid model"
    if verdict == "invalid_model":
        return "invalid model"
    if verdict in ("export_crash", "ort_run_crash", "process_crash", "hang", "out_of_memory"):
        return "crash"
    if verdict in ("numeric_mismatch", "shape_or_dtype_mismatch"):
        return "mismatch"
    if verdict in ("eager_error", "ambiguous"):  # not a statement about the exporter / not a bug
        return None
    raise ValueError(f"unknown verdict {verdict!r}")


@dataclass
class Cell:
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def worst(self) -> str:
        return max(self.counts, key=CATEGORIES.index)


def load_rows(path: Path) -> list[dict]:
    """Result lines of a sweep, later lines replacing earlier ones of the same variant."""
    latest: dict[tuple, dict] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                latest[(r["key"], r["exporter"], r["opset_requested"], r["optimize"])] = r
    return list(latest.values())


def variant_of(row: dict) -> str:
    """``torchscript@20``, ``dynamo@17``, ``dynamo@20-noopt``: the export variant of a result line."""
    noopt = row["exporter"] == "dynamo" and row.get("optimize") is False
    return f"{row['exporter']}@{row['opset_requested']}" + ("-noopt" if noopt else "")


def variant_order(rows: Iterable[dict], exports: list[dict] | None = None) -> list[str]:
    """Variants present in ``rows``: in the sweep's export order (baselines first) when given."""
    present = {variant_of(r) for r in rows}
    ordered = [variant_of({"exporter": e["exporter"], "opset_requested": e["opset"], "optimize": e["optimize"]}) for e in exports or []]
    return [v for v in ordered if v in present] + sorted(present - set(ordered))


def matrix(rows: Iterable[dict]) -> dict[tuple[str, str, str], Cell]:
    """(operator, dtype, export variant) -> category counts."""
    cells: dict[tuple[str, str, str], Cell] = defaultdict(Cell)
    for r in rows:
        c = category(r["verdict"], r["error_head"])
        if c is not None:
            cells[("->".join(r["ops"]), r["dtype"], variant_of(r))].counts[c] += 1
    return cells


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return ""
    w = cell.worst
    if w == "pass":
        return "ok"
    return f"{SHORT[w]} {cell.counts[w]}/{cell.total}"


def markdown(rows: list[dict], title: str = "onnxfuzz sweep", exports: list[dict] | None = None) -> str:
    cells = matrix(rows)
    ops = sorted({k[0] for k in cells})
    variants = variant_order(rows, exports)
    dtypes = [d for d in DTYPES if any(k[1] == d for k in cells)]
    out = [f"# {title}", ""]
    n_cases = len(rows)
    verdicts = Counter((r["exporter"], r["verdict"]) for r in rows)
    buckets = {r["bucket"]: r for r in rows if r.get("bucket")}
    out += [f"{n_cases} cases, {len({r['key'] for r in rows})} jobs, {len(buckets)} distinct buckets.", ""]
    out += ["## Verdicts per exporter", "", "| exporter | verdict | cases | buckets |", "|---|---|---:|---:|"]
    for (e, v), n in sorted(verdicts.items()):
        nb = len({b for b, r in buckets.items() if r["exporter"] == e and r["verdict"] == v})
        out.append(f"| {e} | {v} | {n} | {nb} |")
    out += ["", "## Matrix", "",
            "One table per export variant (exporter@opset; the exporter's default first). "
            "Worst category over every case of the cell, and how many cases are in it: ok = all pass, "
            "MK = missing ONNX Runtime kernel, IM = invalid model (checker or ORT load), CR = crash "
            "(exporter, ORT run, or the process died), MM = wrong output (values, shape or dtype). "
            "Empty: no legal case.", ""]
    for e in variants:
        out += [f"### {e}", "", "| op | " + " | ".join(dtypes) + " |", "|---|" + "---|" * len(dtypes)]
        for op in ops:
            texts = [_cell_text(cells.get((op, d, e))) for d in dtypes]
            if any(texts):
                out.append(f"| {op} | " + " | ".join(texts) + " |")
        out.append("")
    attributed = Counter((r["exporter"], s) for r in rows for s in r.get("differential_labels", ()))
    out += ["## Exporter-option differentials", ""]
    if attributed:
        out += ["| exporter | blamed option | cases |", "|---|---|---:|"]
        out += [f"| {e} | {lab} | {n} |" for (e, lab), n in sorted(attributed.items())]
        out.append("")
        seen = set()
        for r in rows:
            for s in r.get("differential", ()):
                k = (r["exporter"], r["ops"][0], s.split(":")[0], r["verdict"])
                if k not in seen and len(seen) < 60:
                    seen.add(k)
                    out.append(f"- `{'->'.join(r['ops'])}` {r['dtype']}{r['shape']} ({r['mode']}): {s}")
    else:
        out.append("No variant disagreed with its baseline.")
    drift = Counter((r["exporter"], r["opset_drift"]["requested"], r["opset_drift"]["actual"]) for r in rows if r.get("opset_drift"))
    out += ["", "## Silent opset changes", ""]
    if drift:
        out += ["| exporter | requested | declared | cases |", "|---|---:|---:|---:|"]
        out += [f"| {e} | {a} | {b} | {n} |" for (e, a, b), n in sorted(drift.items())]
    else:
        out.append("Every exported model declares the opset that was requested.")
    out += ["", "## Buckets", "", "| bucket | exporter | verdict | cases | example | first line |", "|---|---|---|---:|---|---|"]
    per_bucket = Counter(r["bucket"] for r in rows if r.get("bucket"))
    for b, n in per_bucket.most_common():
        r = buckets[b]
        head = ANSI_ESCAPE.sub("", r.get("error_head") or "").replace("|", "\\|").replace("\n", " ")[:110]
        out.append(f"| {b} | {r['exporter']} | {r['verdict']} | {n} | `{'->'.join(r['ops'])}` {r['dtype']} | {head} |")
    return "\n".join(out) + "\n"


def heatmap(rows: list[dict], path: Path, title: str = "onnxfuzz sweep", exports: list[dict] | None = None) -> None:
    """PNG heat map: one row per operator, one column per (export variant, dtype), coloured by category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    import numpy as np

    cells = matrix(rows)
    ops = sorted({k[0] for k in cells})
    dtypes = [d for d in DTYPES if any(k[1] == d for k in cells)]
    cols = [(e, d) for e in variant_order(rows, exports) for d in dtypes]
    grid = np.full((len(ops), len(cols)), np.nan)
    for i, op in enumerate(ops):
        for j, (e, d) in enumerate(cols):
            c = cells.get((op, d, e))
            if c is not None:
                grid[i, j] = CATEGORIES.index(c.worst)
    fig, ax = plt.subplots(figsize=(2 + 0.45 * len(cols), 1.5 + 0.16 * len(ops)))
    cmap = ListedColormap([COLORS[c] for c in CATEGORIES]).with_extremes(bad="#eeeeee")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-0.5, vmax=len(CATEGORIES) - 0.5, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(ops)), ops, fontsize=6)
    ax.set_xticks(range(len(cols)), [f"{e.replace('torchscript', 'ts').replace('dynamo', 'dyn')} {d}" for e, d in cols], rotation=90, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(handles=[Patch(color=COLORS[c], label=c) for c in CATEGORIES] + [Patch(color="#eeeeee", label="no case")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_report(sweep_dir: Path, md_path: Path | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.png`` into the sweep directory (and the Markdown also to
    ``md_path`` when given, with the PNG beside it). Returns the Markdown and PNG paths written last."""
    from fuzzer.atomic import atomic_write_text

    rows = load_rows(sweep_dir / "results.jsonl")
    title = f"onnxfuzz sweep {sweep_dir.name}"
    meta = sweep_dir / "sweep.json"
    exports = json.loads(meta.read_text(encoding="utf-8"))["config"]["exports"] if meta.exists() else None
    text = markdown(rows, title, exports)
    targets = [sweep_dir / "report.md"] + ([md_path] if md_path is not None else [])
    md = png = sweep_dir / "report.md"
    for t in targets:
        png = t.with_suffix(".png")
        atomic_write_text(t, text + f"\n![heat map]({png.name})\n")
        os.chmod(t, 0o644)
        heatmap(rows, png, title, exports)
        md = t
    return md, png
