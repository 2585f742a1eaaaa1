"""``onnxfuzz sweep``: the systematic half of the search (see :mod:`fuzzer.sweep.run`).

Registered through ``COMMAND_MODULES`` in :mod:`fuzzer.cli`. Progress is a rich progress bar on a
terminal (new buckets printed above it), a plain line every 10 s otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from fuzzer.sweep.errors import PaperDataError, SweepStateError

EXPECTED_ERRORS = (SweepStateError, PaperDataError)


def _csv(kind: str):
    def parse(s: str) -> tuple[str, ...]:
        items = tuple(x.strip() for x in s.split(",") if x.strip())
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind}")
        return items

    return parse


def _pairs_value(s: str) -> str:
    if s not in ("all", "paper", "bare"):  # "bare": the flag without a value (argparse converts the const too)
        raise argparse.ArgumentTypeError(f"expected 'all' or 'paper', got {s!r}")
    return s


def _opsets(s: str) -> tuple[int, ...]:
    from .common import opset as _opset

    return tuple(sorted({_opset(x) for x in _csv("opsets")(s)}))


def add_parsers(sub) -> None:
    from .common import positive_float as _positive_float, positive_int as _positive_int

    s = sub.add_parser("sweep", help="sweep every catalog op x dtype x shape x attributes x input mode x opset x export option")
    s.add_argument("--ops", type=_csv("operators"), default=(), help="comma-separated catalog ops (default: all)")
    s.add_argument("--dtypes", type=_csv("dtypes"), default=None, help="comma-separated dtypes (default: all)")
    s.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="torchscript")
    s.add_argument("--opsets", type=_opsets, default=(), help="comma-separated opsets (default: each exporter's range ends and default)")
    s.add_argument("--modes", type=_csv("input modes"), default=None, help="input modes (default: normal,special)")
    s.add_argument("--attr-variants", type=_positive_int, default=2, help="attribute samples per op/dtype/shape (default 2)")
    s.add_argument("--no-optimize-diff", action="store_true", help="dynamo: do not also export with optimize=False")
    s.add_argument("--dynamic", action="store_true", help="also export every job with dynamic input sizes and run it at other sizes (one more variant per exporter)")
    s.add_argument("--pairs", nargs="?", const="bare", type=_pairs_value, default=None, metavar="{all,paper}",
                   help="sweep producer -> consumer pairs: 'all' (the default with --pairs) every catalog pair whose output legally "
                        "feeds the other (dtype and rank, probed in eager), in a seeded shuffled order, and which failures are "
                        "interactions; 'paper': op -> op pairs taken from the paper's mismatch sequences (bare --pairs with --paper FILE: 'paper')")
    s.add_argument("--pairs-limit", type=_positive_int, default=200, help="--pairs paper: at most this many op pairs (default 200)")
    s.add_argument("--pairs-seed", type=int, default=0, help="--pairs all: seed of the plan's shuffled order (default 0)")
    s.add_argument("--plan-only", action="store_true", help="--pairs all: probe the whole plan, print its counts, run nothing")
    s.add_argument("--checks-only", action="store_true", help="--pairs all with --resume: run no new job, only the pending interaction checks")
    s.add_argument("--seconds", type=_positive_float, help="time budget: start no job after it (pair sweeps: jobs for 3/4 of it, then the "
                                                            "interaction checks); --resume continues")
    s.add_argument("--paper", type=Path, help="the paper's torch_mismatch_sequences.json for --pairs (default: the copy in fuzzer/generate/paper_sequences.json)")
    s.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: number of cores)")
    s.add_argument("--batch", type=_positive_int, default=8, help="jobs sent to a worker at once; their dynamo exports are batched (default 8)")
    s.add_argument("--timeout", type=_positive_float, default=300.0, help="seconds one export variant may take before its worker is killed")
    s.add_argument("--in-process", action="store_true", help="no worker process (debugging; a crashing case ends the sweep)")
    s.add_argument("--out", type=Path, help="sweep directory (default: runs/sweep-<UTC time>)")
    s.add_argument("--resume", nargs="?", const=True, default=None, type=Path, metavar="DIR",
                   help="continue the sweep in DIR (or in --out), skipping finished jobs; give the same options as the first run")
    s.add_argument("--report", type=Path, help="also write the Markdown report (and a PNG heat map beside it) here")
    s.add_argument("--sample", type=_positive_int, help="run only this many jobs, evenly spread over the plan (measure, then extrapolate)")
    s.set_defaults(run=cmd_sweep)


def _pair_mode(args) -> str:
    """"" (single ops), "all" or "paper"; a bare --pairs means "paper" when --paper is given."""
    if args.pairs == "bare":
        return "paper" if args.paper is not None else "all"
    return args.pairs or ""


def _config(args):
    from fuzzer.export import Exporter
    from fuzzer.generate import MODES
    from fuzzer.ir import DTYPES

    from fuzzer.sweep.plan import SweepConfig

    exporters = (Exporter.TORCHSCRIPT, Exporter.DYNAMO) if args.exporter == "both" else (Exporter(args.exporter),)
    try:
        return SweepConfig(
            ops=tuple(args.ops), dtypes=tuple(args.dtypes or DTYPES), exporters=exporters, opsets=tuple(args.opsets),
            modes=tuple(args.modes or MODES), attr_variants=args.attr_variants, attr_tries=max(8, 4 * args.attr_variants),
            optimize_both=not args.no_optimize_diff, pairs=_pair_mode(args), pairs_limit=args.pairs_limit, pairs_seed=args.pairs_seed,
            paper_path=str(args.paper) if args.paper else None, dynamic=args.dynamic,
        )
    except ValueError as e:
        from .common import UsageError

        raise UsageError(str(e)) from None


def cmd_sweep(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from . import check_terminated
    from .common import UsageError

    from fuzzer.sweep.execute import run_in_process, run_on_pool
    from fuzzer.sweep.record import SweepRecorder
    from fuzzer.sweep.report import write_report
    from fuzzer.sweep.run import SweepStats, prepare_dir, run_sweep
    from fuzzer.workers import WorkerPool
    from fuzzer.workers.pool import RECYCLE_AFTER

    config = _config(args)
    if isinstance(args.resume, Path):  # --resume DIR, like fuzz --resume DIR
        if args.out is not None and args.out != args.resume:
            raise UsageError(f"--resume {args.resume} continues that sweep; do not also give another --out")
        args.out = args.resume
    resume = args.resume is not None
    if resume and args.out is None:
        raise UsageError("--resume needs the sweep to continue: --resume DIR")
    for ex in config.exporters:
        if not config.opsets_for(ex):
            raise UsageError(f"none of the opsets {list(config.opsets)} is supported by the {ex.value} exporter")
    _check_paper(args)  # before the sweep directory is made: a corrected rerun with the same --out works
    if args.plan_only:
        if config.pairs != "all":
            raise UsageError("--plan-only counts the plan of --pairs all")
        return _plan_only(config)
    if args.seconds is not None and args.sample is not None:
        raise UsageError("give --seconds or --sample, not both")
    if args.checks_only and (config.pairs != "all" or not resume):
        raise UsageError("--checks-only continues the interaction checks of a pair sweep: --pairs --resume DIR --checks-only")
    started = time.monotonic()
    job_deadline = None if args.seconds is None else started + (0.75 if config.pairs == "all" else 1.0) * args.seconds
    sample = 0 if args.checks_only else args.sample
    out = args.out or Path("runs") / datetime.now(timezone.utc).strftime("sweep-%Y%m%d-%H%M%S")
    try:
        changed = prepare_dir(out, config, resume)
    except OSError as e:
        raise UsageError(f"cannot create {out}: {e.strerror or e}") from None
    con = Console()
    if changed:
        con.print(f"note: {out} was started with other versions ({'; '.join(changed)}): the jobs it has not run yet run on this one, "
                  "and each case's result.json names the versions it ran with", style="yellow", highlight=False)
    recorder = SweepRecorder(out)
    pool = None
    stats = SweepStats()
    if args.in_process:
        execute = run_in_process
    else:
        pool = WorkerPool(args.workers or os.cpu_count() or 1, args.timeout, log_dir=out / "workers", recycle_after=RECYCLE_AFTER)

        def execute(jobs):
            return run_on_pool(jobs, pool, args.batch, args.timeout, batching=stats.batching)
    con.print(f"onnxfuzz sweep in {out}: exporters {', '.join(e.value for e in config.exporters)}; "
              f"variants {', '.join(_variant(e) for e in config.exports())}; planning...", highlight=False)
    live = con.is_terminal
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=con, disable=not live)
    task = None
    seen_buckets = set(recorder.counts)
    last = time.monotonic()

    def planned(st: SweepStats) -> None:
        nonlocal task
        todo = st.jobs_selected
        if config.pairs == "all":
            con.print(f"pair plan: {st.plan.candidates} (producer, dtype, consumer) candidates x {len(config.modes)} input modes: at most "
                      f"{st.jobs_total} jobs x {len(config.exports())} export variants, in a shuffled order (seed {config.pairs_seed}), "
                      f"probed as they run; listed in {st.seconds_plan:.1f}s; {st.jobs_resumed} already done; "
                      f"running {'until the time budget' if job_deadline else todo}", highlight=False)
        else:
            con.print(f"{st.jobs_total} jobs ({st.plan.graphs} graphs x {len(config.modes)} input modes) x {len(config.exports())} export variants "
                      f"planned in {st.seconds_plan:.1f}s; {st.jobs_resumed} already done; running {todo}", highlight=False)
        task = bar.add_task("jobs", total=todo, info="")

    interrupted = False
    from collections import Counter

    checks: Counter = Counter()
    bar.start()
    try:
        gen = run_sweep(config, out, execute, recorder.record, stats, planned, sample, job_deadline)
        for _ in gen:
            check_terminated()
            for b, n in recorder.counts.items():
                if b not in seen_buckets:
                    seen_buckets.add(b)
                    con.print(f"new bucket {b}: {recorder.keys[b][:160]}", highlight=False, markup=False)
            info = f"{stats.cases} cases  {stats.findings} findings  {len(recorder.counts)} buckets"
            bar.update(task, advance=1, info=info)
            if not live and time.monotonic() - last > 10:
                last = time.monotonic()
                print(f"{stats.elapsed:7.1f}s  jobs {stats.jobs_done}/{stats.jobs_selected}  {info}", flush=True)
        gen.close()
        if config.pairs == "all":
            bar.stop()
            checks = _check_interactions(con, out, config, execute, recorder, None if args.seconds is None else started + args.seconds)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.stop()
        if pool is not None:
            pool.close()
        recorder.close()
    if config.pairs == "all":
        from fuzzer.sweep.pair_report import write_pair_report

        md, png = write_pair_report(out, args.report)
    else:
        md, png = write_report(out, args.report)
    restarts = pool.restarts if pool is not None else 0
    con.print(f"{stats.cases} cases ({stats.jobs_done} jobs) in {stats.elapsed:.1f}s; {stats.findings} findings in "
              f"{len(recorder.counts)} buckets; worker restarts after crashes: {restarts}", highlight=False)
    con.print(f"report: {md} and {png}; cases in {out / 'cases'}", highlight=False)
    b = stats.batching
    if b.calls:
        con.print(f"dynamo exporter calls: {b.calls} ({b.batched_calls} of several graphs, {b.failed_batches} of which failed and were split; "
                  f"{b.alone_derived} lone graphs captured once for all their variants); counts in summary.json", highlight=False)
    con.print(f"findings store: {recorder.new_bugs} new bugs ({recorder.filed} cases filed) in {recorder.store.root}; "
              f"triage with: onnxfuzz findings list {recorder.store.root}", highlight=False, soft_wrap=True)
    if config.pairs == "all" and not interrupted:
        kinds = ", ".join(f"{k} {n}" for k, n in checks.most_common()) or "none"
        con.print(f"failing pair variants checked this run: {kinds}", highlight=False)
    if interrupted:
        con.print(f"interrupted: continue with the same options and --resume {out}", style="yellow")
        return 130
    if stats.stopped_at_deadline:
        con.print(f"time budget spent: continue with the same options and --resume {out}", highlight=False)
    return 0


def _check_interactions(con, out, config, execute, recorder, deadline):
    """Classify the failing pair variants (:mod:`fuzzer.sweep.interactions`); mark interaction
    findings in the store. Returns counts by kind."""
    from collections import Counter

    from fuzzer.sweep.interactions import check_interactions

    counts: Counter = Counter()
    con.print("checking which failing pairs are interactions (each operator alone on the values it receives)...", highlight=False)
    for c in check_interactions(out, config, execute, deadline):
        counts[c.kind] += 1
        if c.kind == "interaction":
            con.print(f"interaction: {' -> '.join(c.ops)} {c.dtype} ({c.mode}) {c.variant}: {c.verdict} "
                      f"{(c.error_head or '')[:100]}", highlight=False, markup=False)
            _mark_interaction(recorder, c)
    return counts


def _mark_interaction(recorder, c) -> None:
    exporter, rest = c.variant.split("@")
    noopt = "/noopt" if rest.endswith("-noopt") else ""
    fid = recorder.store.recorded(f"sweep/{c.key}/{exporter}/{rest.removesuffix('-noopt')}{noopt}")
    if fid is not None:
        recorder.store.mark_interaction(fid, True)


def _plan_only(config) -> int:
    """Probe the whole pair plan and print its counts."""
    from rich.console import Console

    from fuzzer.sweep.plan import PlanStats, enumerate_jobs

    con = Console()
    t0 = time.perf_counter()
    st = PlanStats()
    pairs = {(j.ops, j.dtype) for j in enumerate_jobs(config, st)}
    con.print(f"pair plan: {st.candidates} candidates (producer, dtype, consumer) whose tables fit; {st.graphs} legal pairs "
              f"({len({p for p, _ in pairs})} operator pairs), {st.jobs} jobs x {len(config.exports())} export variants; "
              f"probed in {time.perf_counter() - t0:.1f}s", highlight=False)
    for reason, n in st.skipped.most_common(12):
        con.print(f"  skipped {n}: {reason}", highlight=False, markup=False)
    return 0


def _check_paper(args) -> None:
    """Read the paper's sequences now if --pairs will need them, and say which flag to fix."""
    from .common import UsageError

    if args.paper is not None and _pair_mode(args) != "paper":
        raise UsageError("--paper is only read with --pairs paper")
    if _pair_mode(args) != "paper":
        return
    from fuzzer.generate.templates import paper_sequences_path
    from fuzzer.sweep.pairs import load_sequences

    path = args.paper or paper_sequences_path()
    try:
        load_sequences(path)
    except PaperDataError as e:
        raise UsageError(f"--paper: {e}" if args.paper else f"{e}; pass the file with --paper") from None


def _variant(e) -> str:
    return f"{e.exporter.value}@{e.opset}" + ("" if e.optimize or e.exporter.value != "dynamo" else "-noopt")


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: onnxfuzz sweep")
