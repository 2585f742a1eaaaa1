"""``onnxfuzz stats``: a campaign directory's summary, findings timeline and curves."""

from __future__ import annotations

import json
from pathlib import Path

from .common import EXIT_OK, UsageError


def add_parsers(sub) -> None:
    st = sub.add_parser("stats", help="summarize a campaign directory (and plot its curves)")
    st.add_argument("dir", type=Path)
    st.add_argument("--plot", type=Path, metavar="PNG", help="draw buckets, failures and cases/s over time into this PNG")
    st.set_defaults(run=cmd_stats)


def cmd_stats(args) -> int:
    from rich.console import Console

    from fuzzer.campaign import CampaignError, CampaignStats, load_config, read_results
    from fuzzer.cli.ui import summary_table

    try:
        config = load_config(args.dir)
        results = read_results(args.dir / "results.jsonl")
    except CampaignError as e:
        raise UsageError(str(e)) from None
    from fuzzer.campaign.stats import recorded_elapsed, restore_stats

    stats = CampaignStats()
    restore_stats(stats, results)
    stats.elapsed_before = recorded_elapsed(args.dir, results)  # the same clock summary.json reports
    series = _read_series(args.dir / "stats.jsonl")
    if config.feedback:  # the corpus size of the last sample
        stats.corpus = next((s["corpus"] for s in reversed(series) if "corpus" in s), 0)
    con = Console()
    con.print(summary_table(stats, [e.value for e in config.exporters]))
    con.print(_timeline_table(results, args.dir / "findings", stats.elapsed))
    if args.plot is not None:
        if not series:
            raise UsageError(f"{args.dir / 'stats.jsonl'} has no samples to plot")
        from fuzzer.cli.plots import plot_campaign

        try:
            plot_campaign(series, args.plot, title=str(args.dir))
        except OSError as e:
            raise UsageError(f"cannot write {args.plot}: {e.strerror or e}") from None
        con.print(f"wrote {args.plot}", highlight=False)
    return EXIT_OK


def _timeline_table(results: list[dict], store_dir: Path, elapsed: float):
    """Per exporter: cases, first failure, first finding, distinct findings, and how many by each
    mark of campaign time; a mark the campaign did not reach (``elapsed``) shows "-"."""
    from rich.table import Table

    from fuzzer.campaign.timeline import MARKS, finding_timelines
    from fuzzer.store import FindingStore

    t = Table(title="findings over campaign time (distinct findings reached by 1/10/60 min)")
    for col in ("exporter", "cases", "first failure", "first finding", "findings", *(f"{m / 60:g} min" for m in MARKS)):
        t.add_column(col, justify="left" if col == "exporter" else "right", no_wrap=col in ("exporter", "findings"))
    fmt = lambda s: "-" if s is None else f"{s:.1f} s"  # noqa: E731
    for tl in finding_timelines(results, FindingStore(store_dir).case_index()):
        t.add_row(tl.exporter, str(tl.cases), fmt(tl.first_failure), fmt(tl.first_finding), str(tl.findings),
                  *(str(n) if mark <= elapsed else "-" for mark, n in tl.by_mark))
    return t


def _read_series(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines():
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a torn last line after kill -9 (or a damaged one: the plot does without it)
        if isinstance(doc, dict) and all(isinstance(doc.get(k), (int, float)) and not isinstance(doc.get(k), bool) for k in ("t", "cases", "buckets", "failures")):
            out.append(doc)
    return out


