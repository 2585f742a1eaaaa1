"""Terminal output: rich renderables that are pure functions of campaign state, and the
observers that show progress (a live line on a terminal, periodic plain lines otherwise)."""

from __future__ import annotations

import re
import sys
import time

from rich.console import Console
from rich.table import Table

from fuzzer.campaign import CampaignStats, CaseResult
from fuzzer.compare import Verdict

VERDICT_STYLE = {
    Verdict.PASS: "green", Verdict.EXPORT_CRASH: "red", Verdict.INVALID_MODEL: "magenta",
    Verdict.ORT_LOAD_FAILURE: "yellow", Verdict.ORT_RUN_CRASH: "yellow", Verdict.SHAPE_OR_DTYPE_MISMATCH: "bold red",
    Verdict.NUMERIC_MISMATCH: "bold red", Verdict.EAGER_ERROR: "dim", Verdict.AMBIGUOUS: "cyan",
}


def summary_table(stats: CampaignStats, exporters: list[str]) -> Table:
    """Verdict counts per exporter, with cases per second."""
    t = Table(title=f"onnxfuzz: {stats.cases} cases in {stats.elapsed:.1f}s (time shared equally between exporters)", title_justify="left")
    t.add_column("verdict")
    for e in exporters:
        t.add_column(e, justify="right")
    for v in Verdict:
        counts = [stats.verdicts.get((e, v.value), 0) for e in exporters]
        if v is not Verdict.PASS and not any(counts):
            continue
        t.add_row(f"[{VERDICT_STYLE[v]}]{v.value}[/]", *[str(c) for c in counts])
    totals = [sum(n for (e2, _), n in stats.verdicts.items() if e2 == e) for e in exporters]
    t.add_row("[bold]cases[/]", *[str(n) for n in totals], end_section=True)
    t.add_row("cases/s", *[f"{n / stats.exporter_seconds[e]:.2f}" if stats.exporter_seconds[e] else "-" for n, e in zip(totals, exporters)])
    rate = stats.cases / stats.elapsed if stats.elapsed > 0 else 0.0
    t.caption = f"{rate:.2f} cases/s overall; generator rejected {sum(stats.generation.rejected.values())} candidate ops"
    return t


class ProgressObserver:
    """One status line, refreshed in place on a terminal; a plain log line every ``period``
    seconds otherwise (CI, nohup). Non-pass cases are printed above the status line."""

    def __init__(self, console: Console, total_seconds: float | None, total_graphs: int | None, period: float = 10.0):
        self.console = console
        self.total_seconds = total_seconds
        self.total_graphs = total_graphs
        self.period = period
        self.last = 0.0
        self.live = console.is_terminal
        self.kinds: set[tuple] = set()
        self._status = console.status("starting...", spinner="dots") if self.live else None
        if self._status:
            self._status.start()

    def line(self, stats: CampaignStats) -> str:
        fails = sum(n for (_, v), n in stats.verdicts.items() if Verdict(v).is_failure)
        rate = stats.cases / stats.elapsed if stats.elapsed else 0.0
        budget = f"/{self.total_graphs}" if self.total_graphs else (f" of {self.total_seconds:.0f}s" if self.total_seconds else "")
        return f"{stats.elapsed:6.1f}s{budget if self.total_seconds and not self.total_graphs else ''}  graphs {stats.graphs}{budget if self.total_graphs else ''}  cases {stats.cases}  failures {fails}  {rate:.1f} cases/s"

    def on_result(self, result: CaseResult, graph_index: int, stats: CampaignStats) -> None:
        if result.verdict is not Verdict.PASS and self._new_kind(result):
            style = VERDICT_STYLE[result.verdict]
            head = (result.error_head or "").replace("[", r"\[")[:110]
            self.console.print(f"[{style}]{result.verdict.value:<24}[/] {result.exporter:<11} seed {result.seed:<6} {head}", highlight=False, soft_wrap=True)
        now = time.monotonic()
        if self._status is not None:
            self._status.update(self.line(stats))
        elif now - self.last >= self.period:
            self.last = now
            print(self.line(stats), file=sys.stdout, flush=True)

    def _new_kind(self, r: CaseResult) -> bool:
        """Only the first case of each rough kind is printed (verdict, exporter, error type, the
        error's first line without numbers and quoted names); the rest are counted."""
        head = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d+)?", "#", r.error_head or "")
        key = (r.verdict, r.exporter, r.error_type, head[:80])
        if key in self.kinds:
            return False
        self.kinds.add(key)
        return True

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
