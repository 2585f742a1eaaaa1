"""Memory soak: run one campaign worker for N minutes and check that its memory stays flat.

Usage: python scripts/memory_soak.py [--minutes 30] [--exporter both|torchscript|dynamo]
                                     [--batch 8] [--sample 5] [--max-nodes 10]
                                     [--max-slope 0.5] [--max-growth 0.05]
                                     [--env KEY=VALUE ...] [--recycle-after N]

Feeds one worker (``fuzzer.workers.worker`` through ``WorkerPool``, as the campaign does) an
endless sequence of seeds; with ``both`` the exporters share the worker's time equally, as in a
campaign (TorchScript one seed per request, dynamo in batched "seeds" requests). Every
``--sample`` seconds it reads the worker's VmRSS, RssAnon and VmHWM (peak resident memory) from
/proc. RssAnon is the worker's private memory, what a leak grows; the rest of RSS is mostly pages
of the shared libraries (libtorch alone is hundreds of MiB), mapped in as code paths are first
used: bounded, shared between workers, and, in a worker forked from the fork server, paged in
lazily, so total RSS keeps creeping while the private part is flat.

A case that kills the worker (a real bug of the stack: segfault, abort...) restarts it, and a
restarted worker starts afresh; so that one worker lives long enough to show a trend, the
operators of the graphs in a request that killed it are left out of later graphs
(``--keep-crashing-ops`` turns this off). Seeds are never repeated.

Prints a progress line per minute while it runs (to stderr), then one row per minute (RSS, private,
peak, cases per exporter) and the verdict, on the private memory (the RSS trend is printed too).
The trend is the
least-squares slope of RSS over the second half of the run (the first half holds the warm-up:
imports, caches, first exports of each operator), in MiB/min, and the growth it projects over
that half as a fraction of the RSS the half starts at; growth per 1,000 cases is printed too
(per minute depends on the machine's speed, per case does not). FLAT when the slope is at most
``--max-slope`` MiB/min and the projected growth at most ``--max-growth``; exit code 1 otherwise.
The trend is taken on the longest-lived worker process: a crashing seed restarts the worker, and a
restarted worker starts afresh (the restarts are reported).

``--env KEY=VALUE`` sets a variable in the worker (over ``WORKER_ENV_DEFAULTS``), to compare
allocator or cache settings; ``--recycle-after N`` replaces the worker every N requests, as
campaigns do (``onnxfuzz fuzz --recycle-after``, 2000 by default), and then the trend is fitted to
the highest sample of each minute over all workers instead of one worker's life.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table

from fuzzer.workers import WorkerPool  # noqa: E402
from fuzzer.workers.protocol import RunSeeds  # noqa: E402
from fuzzer.catalog import CATALOG
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions, generate


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since start
    pid: int
    rss: int  # MiB
    anon: int  # MiB (RssAnon: private anonymous memory)
    peak: int  # MiB (VmHWM: the process's highest RSS so far)
    cases: tuple[int, ...]  # finished cases per exporter


@dataclass(frozen=True)
class Trend:
    slope: float  # MiB/min over the second half
    growth: float  # slope x duration of the half / RSS at its start
    start: float  # fitted RSS at the start of the half (MiB)
    minutes: float  # length of the half
    per_kcase: float | None = None  # MiB per 1,000 cases over the half (None: no case finished in it)

    def flat(self, max_slope: float, max_growth: float) -> bool:
        return self.slope <= max_slope and self.growth <= max_growth


def longest_life(samples: list[Sample]) -> list[Sample]:
    """The samples of the worker process that lived longest (a restart starts a fresh process)."""
    lives: dict[int, list[Sample]] = {}
    for s in samples:
        lives.setdefault(s.pid, []).append(s)
    return max(lives.values(), key=lambda life: (life[-1].t - life[0].t, life[-1].t), default=[])


def minute_peaks(samples: list[Sample]) -> list[Sample]:
    """Per minute, the sample with the most private memory (whatever worker it is from)."""
    best: dict[int, Sample] = {}
    for s in samples:
        m = int(s.t // 60)
        if m not in best or s.anon > best[m].anon:
            best[m] = s
    return [best[m] for m in sorted(best)]


def trend(samples: list[Sample], field: str = "anon") -> Trend | None:
    """Least-squares trend of ``field`` (MiB) over the second half of one worker process's samples."""
    if not samples:
        return None
    mid = (samples[0].t + samples[-1].t) / 2
    half = [s for s in samples if s.t >= mid]
    if len(half) < 3 or half[-1].t <= half[0].t:
        return None
    t = np.array([s.t for s in half]) / 60
    rss = np.array([getattr(s, field) for s in half], dtype=float)
    slope, intercept = np.polyfit(t, rss, 1)
    start = float(intercept + slope * t[0])
    minutes = float(t[-1] - t[0])
    done = sum(half[-1].cases) - sum(half[0].cases)
    per_kcase = float(slope) * minutes / done * 1000 if done > 0 else None
    return Trend(float(slope), float(slope) * minutes / start, start, minutes, per_kcase)


def _status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0]) // 1024  # MiB
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--exporter", choices=("both", "torchscript", "dynamo"), default="both")
    ap.add_argument("--batch", type=int, default=8, help="dynamo seeds per request")
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--max-nodes", type=int, default=10)
    ap.add_argument("--max-slope", type=float, default=0.5, help="MiB/min tolerated over the second half")
    ap.add_argument("--max-growth", type=float, default=0.05, help="projected growth over the second half, fraction of its start")
    ap.add_argument("--keep-crashing-ops", action="store_true", help="do not leave out the operators of graphs that killed the worker")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="set in the worker's environment (repeatable)")
    ap.add_argument("--recycle-after", type=int, default=None, metavar="N", help="replace the worker every N requests")
    a = ap.parse_args()
    if any("=" not in kv for kv in a.env):
        ap.error("--env takes KEY=VALUE")
    if a.recycle_after is not None and a.recycle_after < 1:
        ap.error("--recycle-after takes a positive integer")
    env = dict(kv.split("=", 1) for kv in a.env)
    console = Console()
    avoided: set[str] = set()

    def generator() -> GeneratorOptions:
        ops = tuple(o for o in CATALOG if o not in avoided) if avoided else ()
        return GeneratorOptions(max_nodes=a.max_nodes, ops=ops)

    gen = generator()
    exporters = [Exporter.TORCHSCRIPT, Exporter.DYNAMO] if a.exporter == "both" else [Exporter(a.exporter)]
    busy = [0.0] * len(exporters)  # worker seconds spent per exporter: the next request goes to the least served
    cases = [0] * len(exporters)
    samples: list[Sample] = []
    seed, incidents = 0, Counter()
    owner: dict[int, int] = {}  # task id -> exporter index
    deadline = time.monotonic() + a.minutes * 60
    with WorkerPool(1, case_timeout=300, env=env, recycle_after=a.recycle_after) as pool:
        t0 = time.monotonic()
        last = 0.0
        while time.monotonic() < deadline:
            if pool.idle():
                i = min(range(len(exporters)), key=busy.__getitem__)
                n = a.batch if exporters[i] is Exporter.DYNAMO else 1
                task = pool.submit(RunSeeds(tuple(range(seed, seed + n)), ExportOptions(exporters[i]), gen, "normal"))
                owner[task.id] = i
                seed += n
            for c in pool.poll(0.05):
                i = owner.pop(c.task.id)
                busy[i] += c.seconds
                if c.kind == "ok":
                    cases[i] += len(c.reply.cases)
                else:  # a crashing seed restarts the worker: its memory starts afresh
                    incidents[f"{exporters[i].value} {c.kind}" + (f" ({c.detail})" if c.kind == "crash" else "")] += 1
                    if not a.keep_crashing_ops:
                        for crashed in c.task.request.seeds:
                            avoided.update(generate(crashed, c.task.request.generator).ops())
                        gen = generator()
            now = time.monotonic()
            if now - last >= a.sample:
                last = now
                pid = pool.workers[0].proc.pid
                try:
                    st = _status(pid)
                except OSError:
                    continue
                samples.append(Sample(now - t0, pid, st.get("VmRSS", 0), st.get("RssAnon", 0), st.get("VmHWM", 0), tuple(cases)))
                if len(samples) == 1 or int(samples[-1].t // 60) > int(samples[-2].t // 60):
                    print(f"soak {samples[-1].t / 60:5.1f} min  pid {pid}  RSS {samples[-1].rss} MiB  private {samples[-1].anon} MiB  peak {samples[-1].peak} MiB  "
                          f"cases {sum(cases)}  restarts {pool.restarts}  recycled {pool.recycled}", file=sys.stderr, flush=True)
        restarts, recycled = pool.restarts, pool.recycled
    if not samples:
        console.print("no samples")
        return 0

    table = Table(title=f"worker memory over time (MiB), one row per minute; sample every {a.sample:g} s", title_justify="left")
    for col in ("minute", "pid", "RSS", "private", "peak RSS", *(f"{ex.value} cases" for ex in exporters)):
        table.add_column(col, justify="right")
    shown = -1
    for s in samples:
        if int(s.t // 60) > shown or s is samples[-1]:
            shown = int(s.t // 60)
            table.add_row(f"{s.t / 60:.1f}", str(s.pid), str(s.rss), str(s.anon), str(s.peak), *map(str, s.cases))
    console.print(table)
    if avoided:
        console.print(f"operators left out after crashes: {', '.join(sorted(avoided))}")
    life = longest_life(samples)
    # with --recycle-after every worker lives briefly: judge the highest sample of each minute, over
    # all workers (the peaks of the sawtooth), instead of one worker's life
    series = minute_peaks(samples) if a.recycle_after else life
    tr = trend(series)
    console.print(f"{sum(cases)} cases ({', '.join(f'{ex.value} {n}' for ex, n in zip(exporters, cases))}) in {samples[-1].t / 60:.1f} min; "
                  f"worker restarts {restarts} ({dict(incidents) or 'no crashing seed'}), recycled {recycled}; longest-lived worker (pid {life[0].pid}, "
                  f"{(life[-1].t - life[0].t) / 60:.1f} min): RSS {life[0].rss} -> {life[-1].rss} MiB, private {life[0].anon} -> {life[-1].anon} MiB, "
                  f"peak {max(s.peak for s in life)} MiB")
    whole = trend(series, "rss")
    if tr is None:
        console.print("too few samples of one worker for a trend")
        return 0
    ok = tr.flat(a.max_slope, a.max_growth)
    if whole is not None:
        console.print(f"RSS (private + shared library pages), second half: {whole.slope:+.3f} MiB/min"
                      + (f", {whole.per_kcase:+.2f} MiB per 1,000 cases" if whole.per_kcase is not None else ""))
    what = "per-minute peaks of private memory" if a.recycle_after else "private memory"
    console.print(f"{what}, second half ({tr.minutes:.1f} min from {tr.start:.0f} MiB): slope {tr.slope:+.3f} MiB/min "
                  f"({tr.slope * 60:+.1f} MiB/h" + (f", {tr.per_kcase:+.2f} MiB per 1,000 cases" if tr.per_kcase is not None else "") + f"), projected growth {tr.growth:+.2%} of the start "
                  f"(tolerated {a.max_slope:g} MiB/min, {a.max_growth:.0%}): [bold]{'FLAT' if ok else 'GROWING'}[/]")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
