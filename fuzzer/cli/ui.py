"""Terminal output. Renderables are pure functions of a :class:`CampaignStats` snapshot; observers
decide how to show them: a live panel on a terminal (in the spirit of AFL++'s status screen),
plain periodic log lines otherwise (CI, nohup). New kinds of failure are printed above either."""

from __future__ import annotations

import sys
import time

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from fuzzer.case import CaseResult
from fuzzer.campaign import CampaignStats
from fuzzer.triage.buckets import bucket_key
from fuzzer.compare import Verdict

VERDICT_STYLE = {
    Verdict.PASS: "green", Verdict.EXPORT_CRASH: "red", Verdict.INVALID_MODEL: "magenta",
    Verdict.ORT_LOAD_FAILURE: "yellow", Verdict.ORT_RUN_CRASH: "yellow", Verdict.SHAPE_OR_DTYPE_MISMATCH: "bold red",
    Verdict.NUMERIC_MISMATCH: "bold red", Verdict.PROCESS_CRASH: "bold magenta", Verdict.HANG: "bold yellow",
    Verdict.OUT_OF_MEMORY: "bold yellow", Verdict.EAGER_ERROR: "dim", Verdict.AMBIGUOUS: "cyan",
}


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h {s % 3600 // 60:02d}m {s % 60:02d}s" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def arm_split(stats: CampaignStats) -> str:
    """Worker time per arm and the new buckets it found, e.g. "dynamo/ops 41% (37 new)"."""
    return ", ".join(f"{a} {v['share']:.0%} ({v['new_buckets']} new)" for a, v in stats.arms().items())


def verdict_table(stats: CampaignStats, exporters: list[str], title: str | None = None) -> Table:
    """Verdict counts per exporter, with cases per second of each exporter's worker time."""
    t = Table(title=title, title_justify="left")
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
    t.add_row("cases/s per worker", *[f"{n / stats.exporter_seconds[e]:.2f}" if stats.exporter_seconds[e] else "-" for n, e in zip(totals, exporters)])
    return t


def summary_table(stats: CampaignStats, exporters: list[str]) -> Group:
    t = verdict_table(stats, exporters, f"onnxfuzz: {stats.cases} cases in {stats.elapsed:.1f}s")
    rate = stats.cases / stats.elapsed if stats.elapsed > 0 else 0.0
    line = f"{rate:.2f} cases/s overall · {len(stats.buckets)} buckets · {stats.kept} cases kept, {stats.dropped} counted only"
    extra = []
    if stats.limitation_buckets:
        extra.append(f"documented limitations (not bugs): {len(stats.limitation_buckets)} buckets, "
                     f"{sum(stats.limitation_buckets.values())} cases (missing ORT kernels, operators the TorchScript exporter refuses)")
    if stats.corpus is not None:
        extra.append(f"feedback: {stats.mutants} mutant cases ({stats.mutants / max(1, stats.cases):.0%}), corpus of {stats.corpus} graphs")
    if stats.arm_seconds:
        extra.append(f"worker time split: {arm_split(stats)}")
    if stats.unconfirmed:
        extra.append("mismatches not confirmed (not filed): " + ", ".join(f"{k} {n}" for k, n in sorted(stats.unconfirmed.items())))
    if stats.known_triggers is not None:
        extra.append(f"known one-operator triggers: {stats.known_triggers}; candidates avoided {stats.generation.rejected_known()}, "
                     f"explored {stats.generation.explored}; cases run past a known failure: {stats.cut_cases} ({sum(stats.cuts.values())} cuts)")
    if getattr(stats.findings, "interactions", 0):
        extra.append(f"interaction findings (each operator passes alone): {stats.findings.interactions}")
    if stats.cross:
        both = sum(stats.cross.values())
        extra.append(f"graphs run by both exporters: {both}; only one exporter wrong: "
                     + (", ".join(f"{e} {n}" for e, n in sorted(stats.one_wrong.items())) or "none"))
    return Group(t, line, *extra)


def status_panel(stats: CampaignStats, exporters: list[str], budget: str) -> Panel:
    """The live status: progress, rates, buckets, workers, verdicts."""
    top = Table.grid(padding=(0, 3))
    top.add_column(style="bold cyan", justify="right")
    top.add_column()
    top.add_column(style="bold cyan", justify="right")
    top.add_column()
    since = f"{_hms(stats.elapsed - stats.last_new_bucket)} ago" if stats.last_new_bucket is not None else "none yet"
    overall = stats.cases / stats.elapsed if stats.elapsed > 0 else 0.0
    top.add_row("run time", f"{_hms(stats.elapsed)} {budget}", "unique buckets", f"[bold]{len(stats.buckets)}[/]")
    top.add_row("cases", f"{stats.cases}  ({stats.failures()} failing)", "last new bucket", since)
    top.add_row("cases/s now", f"{stats.rate_now():.2f}", "cases/s overall", f"{overall:.2f}")
    top.add_row("kept on disk", f"{stats.kept}  (+{stats.dropped} counted)", "worker restarts",
                f"{stats.restarts}" + (f"  (+{stats.recycled} recycled)" if stats.recycled else ""))
    fs = stats.findings
    if fs is not None:
        top.add_row("findings", f"[bold]{fs.new_buckets}[/] bugs, {fs.limitations} limitations ({fs.filed} cases filed, {getattr(fs, 'interactions', 0)} interactions)",
                    "minimizing", f"{stats.minimizing} waiting" + (f", [red]{fs.errors} errors[/]" if fs.errors else ""))
    if stats.known_triggers is not None:
        top.add_row("known triggers", f"{stats.known_triggers}  ({stats.generation.rejected_known()} avoided in graphs, {stats.op_jobs_skipped} op jobs skipped, {stats.op_variants_dropped} variants dropped, {stats.op_rehit_skipped} jobs/variants re-hitting, {stats.generation.explored} explored)",
                    "cut cases", f"{stats.cut_cases}  ({sum(stats.cuts.values())} cuts)")
    cov = stats.coverage
    if cov is not None and cov.by_exporter:
        top.add_row("coverage", cov.summary_line(), "", "")
    if stats.corpus is not None:
        top.add_row("corpus", f"{stats.corpus} graphs", "mutants", f"{stats.mutants} ({stats.mutants / max(1, stats.cases):.0%} of cases)")
    if stats.arm_seconds:
        top.add_row("time split", arm_split(stats), "", "")
    workers = Table(box=None, show_header=True, header_style="bold")
    workers.add_column("worker")
    workers.add_column("state")
    workers.add_column("case")
    workers.add_column("for", justify="right")
    for k, (state, label, secs) in enumerate(stats.workers):
        style = {"busy": "green", "idle": "dim", "starting": "yellow", "restarting": "bold yellow"}.get(state, "")
        workers.add_row(str(k), f"[{style}]{state}[/]", label, f"{secs:.1f}s")
    parts = [top, "", verdict_table(stats, exporters), ""]
    if stats.nodes is not None:
        parts += [node_table(stats.nodes), ""]
    return Panel(Group(*parts, workers), title="[bold]onnxfuzz[/]", border_style="blue")


def node_table(nodes: list[dict]) -> Table:
    """A cluster campaign's nodes: address, state, workers (busy/all), cases run, rate now."""
    t = Table(box=None, show_header=True, header_style="bold")
    for name, justify in (("node", "left"), ("address", "left"), ("state", "left"), ("workers busy", "right"), ("cases", "right"), ("cases/s now", "right")):
        t.add_column(name, justify=justify)
    for n in nodes:
        style = {"ready": "green", "starting": "yellow", "dead": "red"}.get(n["state"], "")
        t.add_row(n["node"], f"{n['address']} {n['host']}".strip(), f"[{style}]{n['state']}[/]", f"{n['busy']}/{n['workers']}", str(n["cases"]),
                  f"{n['cases_per_s_now']:.2f}")
    return t


class StatusObserver:
    """Live panel on a terminal, or a plain log line every ``period`` seconds; the first case of
    each new bucket is printed above the panel / between the log lines."""

    def __init__(self, console: Console, exporters: list[str], budget: str, period: float = 10.0, live: bool | None = None, stats: CampaignStats | None = None):
        self.console = console
        self.exporters = exporters
        self.budget = budget
        self.period = period
        self.last = 0.0
        self.stats: CampaignStats | None = stats
        self.last_refresh = 0.0
        self.seen: set[str] = set()
        use_live = console.is_terminal if live is None else live
        # refreshed from the campaign's thread (on_tick), never from rich's own thread: the
        # counters are mutated by the loop and must not be read concurrently
        self.live = Live(console=console, auto_refresh=False, get_renderable=self._render, transient=True) if use_live else None
        if self.live is not None:
            self.live.start()

    def _render(self):
        if self.stats is None:
            return "starting workers..."
        return status_panel(self.stats, self.exporters, self.budget)

    def line(self, stats: CampaignStats) -> str:
        return (f"[{_hms(stats.elapsed)}] cases {stats.cases} ({stats.rate_now():.1f}/s now, "
                f"{stats.cases / max(stats.elapsed, 1e-9):.1f}/s overall)  failing {stats.failures()}  buckets {len(stats.buckets)}  "
                + "  ".join(f"{e}: {sum(n for (e2, _), n in stats.verdicts.items() if e2 == e)}" for e in self.exporters)
                + (f"  corpus {stats.corpus} mutants {stats.mutants}" if stats.corpus is not None else "")
                + (f"  split {arm_split(stats)}" if stats.arm_seconds else "")
                + (f"  nodes " + ", ".join(f"{n['address']} {n['state']} {n['busy']}/{n['workers']} {n['cases_per_s_now']:.1f}/s" for n in stats.nodes)
                   if stats.nodes is not None else ""))

    def on_tick(self, stats: CampaignStats) -> None:
        self.stats = stats
        now = time.monotonic()
        if self.live is not None and now - self.last_refresh >= 0.25:
            self.last_refresh = now
            self.live.refresh()
        elif self.live is None and now - self.last >= self.period:
            self.last = now
            print(self.line(stats), file=sys.stdout, flush=True)

    def on_result(self, result: CaseResult, stats: CampaignStats) -> None:
        self.stats = stats
        if result.verdict.is_failure:
            key = bucket_key(result)
            if key not in self.seen:
                self.seen.add(key)
                style = VERDICT_STYLE[result.verdict]
                if self.live is not None:  # one line on the panel's terminal
                    room = max(20, self.console.width - 50)
                    head = (result.error_head or "")[:room].replace("[", r"\[")
                    self.console.print(f"[{style}]new {result.verdict.value:<24}[/] {result.exporter:<11} seed {result.seed:<6} {head}", highlight=False, overflow="ellipsis", no_wrap=True)
                else:  # a log: the whole first line of the error
                    head = (result.error_head or "")[:200].replace("[", r"\[")
                    self.console.print(f"new {result.verdict.value:<24} {result.exporter:<11} seed {result.seed:<6} {head}", highlight=False, soft_wrap=True)
        self.on_tick(stats)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
