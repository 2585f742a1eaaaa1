"""``onnxfuzz coverage DIR``: what a campaign's exported models covered, and what they never reached.

Reads ``DIR/coverage.json`` (written during a campaign by :class:`fuzzer.coverage.CoverageTracker`)
or, without it, every ``model.onnx`` under ``DIR/cases/*/`` or ``DIR/*/`` (the exporter is read
from the case's ``result.json``). Note that today's campaigns store models only for non-pass
cases, so the second way sees part of what was exported.
"""

from __future__ import annotations

import json
from pathlib import Path

from .common import EXIT_OK, UsageError


class CoverageInputError(UsageError):
    """DIR holds neither coverage.json nor case directories with models."""


EXPECTED_ERRORS = (CoverageInputError,)


def add_parsers(sub) -> None:
    c = sub.add_parser("coverage", help="print the ONNX coverage a campaign directory reached, and what it never reached")
    c.add_argument("dir", type=Path, help="campaign directory (coverage.json) or a directory of case dirs with model.onnx")
    c.add_argument("--all", action="store_true", help="list every unreached paper sequence (default: the first 25)")
    c.add_argument("--json", action="store_true", help="print the coverage as JSON")
    c.set_defaults(run=cmd_coverage)


def gather(root: Path):
    """(Coverage, history, source description) for a directory."""
    from fuzzer.coverage.metrics import Coverage
    from fuzzer.coverage.tracker import FILENAME, load_coverage

    if not root.is_dir():
        raise CoverageInputError(f"{root}: not a directory")
    if (root / FILENAME).exists():
        try:
            cov, hist = load_coverage(root / FILENAME)
        except ValueError as e:
            raise CoverageInputError(str(e)) from None
        return cov, hist, str(root / FILENAME)
    models = sorted(root.glob("cases/*/model.onnx")) or sorted(root.glob("*/model.onnx"))
    if not models:
        raise CoverageInputError(f"{root}: no coverage.json and no */model.onnx or cases/*/model.onnx inside")
    cov = Coverage()
    for m in models:
        cov.add_model(_exporter_of(m.parent), m.read_bytes())
        cov.cases += 1
    return cov, [], f"{len(models)} model.onnx files under {root} (stored cases only)"


def _exporter_of(case_dir: Path) -> str:
    try:
        return str(json.loads((case_dir / "result.json").read_text())["exporter"])
    except (OSError, ValueError, KeyError, TypeError):
        parts = case_dir.name.split("-")
        return parts[1] if len(parts) >= 3 else "unknown"


def cmd_coverage(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from fuzzer.catalog import OPS
    from fuzzer.coverage.metrics import paper_index

    cov, history, source = gather(args.dir)
    if args.json:
        print(json.dumps(cov.to_dict(), indent=1))
        return EXIT_OK
    con = Console()
    con.print(f"coverage of {source}: {cov.cases} cases, {sum(c.models for c in cov.by_exporter.values())} exported models" + (f", {cov.unparsable} unparsable" if cov.unparsable else ""), highlight=False)
    exporters = sorted(cov.by_exporter)
    t = Table(title="reached (per exporter)", title_justify="left")
    t.add_column("measure")
    for e in exporters:
        t.add_column(e, justify="right")
    rows = [("models", lambda c, e: str(c.models)), ("ONNX op types", lambda c, e: str(len(c.ops))),
            ("(op, input dtypes, rank)", lambda c, e: str(len(c.triples))), ("op bigrams", lambda c, e: str(len(c.bigrams))),
            ("op trigrams", lambda c, e: str(len(c.trigrams)))]
    for name, f in rows:
        t.add_row(name, *[f(cov.by_exporter[e], e) for e in exporters])
    for pset in ("reduced", "nonoverlapping"):
        t.add_row(f"paper sequences ({pset})", *[_frac(*cov.paper_share(e, pset)) for e in exporters])
    t.add_row("graph rewrites fired", *[str(len(cov.by_exporter[e].rewrites)) for e in exporters])
    con.print(t)
    _print_rewrites(con, cov, exporters)
    if history:
        h = Table(title="over time", title_justify="left")
        h.add_column("elapsed s", justify="right")
        h.add_column("cases", justify="right")
        for e in exporters:
            h.add_column(f"{e} ops/triples/trigrams/paper", justify="right")
        step = max(1, len(history) // 10)
        for snap in history[::step] + ([history[-1]] if (len(history) - 1) % step else []):
            h.add_row(f"{snap['elapsed']:.0f}", str(snap["cases"]), *[_sizes(snap.get(e)) for e in exporters])
        con.print(h)
    # never reached
    index = paper_index()
    paper_ops = sorted({o for _, s, _ in index for o in s})
    catalog_ops = sorted({o for op in OPS for o in op.onnx})
    n = None if args.all else 25
    for e in exporters:
        c = cov.by_exporter[e]
        con.print(f"\n[bold]{e}: never reached[/]", highlight=False)
        con.print(f"  paper ONNX ops never seen ({len([o for o in paper_ops if o not in c.ops])}): " + " ".join(o for o in paper_ops if o not in c.ops), highlight=False)
        con.print(f"  catalog ONNX ops never seen ({len([o for o in catalog_ops if o not in c.ops])}): " + " ".join(o for o in catalog_ops if o not in c.ops), highlight=False)
        missing = [(i, s) for i, s, sets in index if i not in c.paper and "reduced" in sets]
        con.print(f"  paper sequences (reduced) never exercised: {len(missing)}", highlight=False)
        for i, s in missing[:n]:
            con.print(f"    {i}  {' '.join(s)}", highlight=False)
        if n is not None and len(missing) > n:
            con.print(f"    ... {len(missing) - n} more (--all lists them)", highlight=False)
    return EXIT_OK


def _print_rewrites(con, cov, exporters: list[str]) -> None:
    """Every targeted rewrite (ONNX Runtime, ONNX Script) and the cases it fired on, per exporter;
    then rewrites observed that are not targeted."""
    from rich.table import Table

    from fuzzer.coverage.metrics import targeted_rewrites

    targets = targeted_rewrites()
    t = Table(title="targeted rewrites (cases each fired on)", title_justify="left")
    t.add_column("project")
    t.add_column("rewrite")
    for e in exporters:
        t.add_column(e, justify="right")
    fired_any = cov.rewrites_fired()
    for project, names in targets.items():
        for name in names:
            t.add_row(project, name, *[str(cov.by_exporter[e].rewrites.get(name, 0)) or "0" for e in exporters])
    con.print(t)
    all_targets = {n for names in targets.values() for n in names}
    hit = sorted(fired_any & all_targets)
    con.print(f"targeted rewrites fired: {len(hit)} of {len(all_targets)} "
              f"({', '.join(f'{p} {len(set(n) & fired_any)}/{len(n)}' for p, n in targets.items())})", highlight=False)
    other = sorted(fired_any - all_targets)
    if other:
        con.print(f"other rewrites observed ({len(other)}): " + " ".join(other), highlight=False)


def _frac(got: int, total: int) -> str:
    return f"{got}/{total}" if total else "-"


def _sizes(s: dict | None) -> str:
    if not s:
        return "-"
    return f"{s['ops']}/{s['triples']}/{s['trigrams']}/{s['paper']}"
