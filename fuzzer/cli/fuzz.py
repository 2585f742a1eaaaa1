"""``onnxfuzz fuzz``: a campaign (new or resumed), shown live, ending with a summary."""

from __future__ import annotations

from pathlib import Path

from datetime import datetime, timezone

from .common import EXIT_DISK_LOW, EXIT_OK, UsageError, bias, exporters, nonneg_float, nonneg_int, opset, positive_float, positive_int, share


def add_parsers(sub) -> None:
    from fuzzer.campaign import CampaignConfig
    from fuzzer.generate import GeneratorOptions

    d, g = CampaignConfig(), GeneratorOptions()  # the defaults, shown in --help; the library applies them
    f = sub.add_parser("fuzz", help="run a fuzz campaign")
    f.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default=None,
                   help=f"exporter(s) under test (default: {'both' if len(d.exporters) > 1 else d.exporters[0].value})")
    f.add_argument("--opset", type=opset, default=None, help="opset to request (default: each exporter's own)")
    budget = f.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=positive_float, help=f"time budget (default: {d.seconds:g})")
    budget.add_argument("--cases", type=positive_int, help="graphs per exporter (graph i is seed+i for every exporter)")
    f.add_argument("--seed", type=nonneg_int, default=None, help=f"first seed; graph i uses seed+i (default: {d.seed})")
    f.add_argument("--max-nodes", type=positive_int, default=None, help=f"operators per graph at most (default: {g.max_nodes})")
    f.add_argument("--bias", type=bias, default=None, help=f"chance per growth step of planting a paper-sequence template (0: uniform; default: {g.bias:g})")
    f.add_argument("--rewrite-share", type=bias, default=None,
                   help=f"chance per growth step of planting a chain verified to trigger a graph rewrite (ORT fusion/elimination, ONNX Script rule; 0: none; default: {g.rewrite_share:g})")
    f.add_argument("--input-mode", choices=["normal", "special"], default=None,
                   help=f"special: also ±0, ±inf, NaN, dtype extremes, exact halves, ties, where converters break; normal: "
                        f"well-conditioned values only (default: {d.input_mode})")
    f.add_argument("--out", type=Path, help="campaign directory (default: runs/<UTC time>); must not exist or be empty")
    f.add_argument("--resume", type=Path, metavar="DIR", help="continue the campaign in DIR (its stored options apply; --seconds/--cases give a new budget: --seconds S runs S more seconds)")
    f.add_argument("--workers", type=positive_int, default=None, help="worker processes (default: number of cores)")
    f.add_argument("--case-timeout", type=positive_float, default=None, help=f"seconds before a case counts as a hang (default: {d.case_timeout:g})")
    f.add_argument("--memory-limit-mb", type=positive_int, default=None, help=f"resident memory per worker before a case counts as out of memory (default: {d.memory_limit_mb})")
    f.add_argument("--recycle-after", type=nonneg_int, default=None, metavar="N",
                   help=f"replace each worker after N tasks, between cases (default: {d.recycle_after}; 0: only when it holds 90%% of --memory-limit-mb)")
    f.add_argument("--keep-per-bucket", type=nonneg_int, default=None, help=f"raw failing cases kept on disk per bucket; the rest are counted (default: {d.keep_per_bucket})")
    f.add_argument("--min-free-mb", type=nonneg_int, default=None, help=f"stop cleanly when the disk has less free space (default: {d.min_free_mb})")
    f.add_argument("--minimize-seconds", type=nonneg_float, default=None, help=f"minimization budget per new bug, in the background; 0 files raw cases (default: {d.minimize_seconds:g})")
    f.add_argument("--feedback", action="store_true", help="keep a corpus of graphs that reached new coverage (DIR/corpus) and spend part of the cases mutating it")
    f.add_argument("--mutate-share", type=share, default=None, help=f"with --feedback: share of cases that are mutants of corpus graphs (default: {d.mutate_share:g})")
    f.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="run the campaign on the Ray cluster at ADDRESS (host:port of its head; 'auto': the one this machine belongs to); "
                        "each node runs a worker pool sized to its cores (--workers: per node); needs onnxfuzz[cluster]")
    f.add_argument("--dynamo-share", type=share, default=None,
                   help=f"with both exporters: dynamo's share of worker time, above 0 and below 1 (default: {d.dynamo_share:g})")
    f.add_argument("--dynamic-share", type=share, default=None,
                   help=f"share of generated graphs exported with dynamic input sizes and also run at other sizes (default: {d.dynamic_share:g})")
    f.add_argument("--known", type=Path, action="append", default=None, metavar="DIR",
                   help="a findings store (e.g. findings/) whose one-operator bugs count as known, like the campaign's own (repeatable)")
    f.add_argument("--no-avoid", action="store_true", help="generated graphs do not avoid known one-operator triggers (for measuring)")
    f.add_argument("--no-cut", action="store_true", help="a case failing on a known trigger is not cut and re-run past it (for measuring)")
    f.add_argument("--no-rehit-strikes", action="store_true",
                   help="one-operator jobs keep running an operator, dtype and export variant whose cases re-hit known buckets (for measuring)")
    f.set_defaults(run=cmd_fuzz)


def _new_config(args):
    """A new campaign's configuration: the flags given, the library's defaults for the rest."""
    from dataclasses import replace

    from fuzzer.campaign import CampaignConfig
    from fuzzer.campaign.config import campaign_generator

    gen = {k: v for k, v in (("max_nodes", args.max_nodes), ("bias", args.bias), ("rewrite_share", args.rewrite_share)) if v is not None}
    given = {
        "exporters": exporters(args.exporter) if args.exporter else None, "opset": args.opset, "seconds": args.seconds, "cases": args.cases,
        "seed": args.seed, "input_mode": args.input_mode, "workers": args.workers, "case_timeout": args.case_timeout,
        "memory_limit_mb": args.memory_limit_mb, "keep_per_bucket": args.keep_per_bucket, "min_free_mb": args.min_free_mb,
        "mutate_share": args.mutate_share, "dynamic_share": args.dynamic_share,
        "dynamo_share": args.dynamo_share,
    }
    known = []
    for k in args.known or ():
        if not k.is_dir():
            raise UsageError(f"--known {k}: not a directory (give a findings store, e.g. findings/)")
        known.append(str(k.resolve()))
    try:
        config = CampaignConfig(generator=campaign_generator(**gen), feedback=args.feedback, known=tuple(known), avoid=not args.no_avoid, cut=not args.no_cut, rehit_strikes=not args.no_rehit_strikes,
                                **{k: v for k, v in given.items() if v is not None})
    except ValueError as e:  # a value each flag accepts alone but the campaign does not (e.g. --dynamo-share 1)
        raise UsageError(f"{e} (see 'onnxfuzz fuzz --help')") from None
    if args.cases is not None:
        config = replace(config, seconds=None)  # a case budget alone
    if args.recycle_after is not None:
        config = replace(config, recycle_after=args.recycle_after or None)
    if args.minimize_seconds is not None:
        config = replace(config, minimize_seconds=args.minimize_seconds or None)
    return config


def cmd_fuzz(args) -> int:
    from rich.console import Console

    from fuzzer.campaign import CampaignError, CampaignStats, load_config, read_results, run_campaign
    from fuzzer.campaign.config import recorded_versions, resume_config
    from fuzzer.campaign.stats import STOP_DISK_LOW, recorded_elapsed
    from fuzzer.cli.ui import StatusObserver, summary_table
    from fuzzer.coverage import CoverageTracker
    from fuzzer.versions import changed_versions
    from fuzzer.workers import InternalError

    if args.mutate_share is not None and not args.feedback:
        raise UsageError("--mutate-share needs --feedback")
    if args.resume is not None:
        if args.out is not None:
            raise UsageError("--resume DIR continues DIR; do not also give --out")
        if args.feedback:
            raise UsageError("--resume keeps the campaign's stored options; --feedback applies only to a new campaign")
        if args.dynamic_share is not None or args.dynamo_share is not None:
            raise UsageError("--resume keeps the campaign's stored options; --dynamic-share and --dynamo-share apply only to a new campaign")
        if args.known or args.no_avoid or args.no_cut or args.no_rehit_strikes:
            raise UsageError("--resume keeps the campaign's stored options; --known, --no-avoid, --no-cut and --no-rehit-strikes"
                             " apply only to a new campaign")
        out = args.resume
        if not out.is_dir():
            raise UsageError(f"{out} is not a campaign directory (give the directory of 'onnxfuzz fuzz --out DIR')")
        try:
            load_config(out)  # its own errors first (a directory without campaign.json is not a campaign)
            before = recorded_elapsed(out, read_results(out / "results.jsonl"))  # campaign time spent: --seconds S runs S more
            config = resume_config(out, before, seconds=args.seconds, cases=args.cases, workers=args.workers, recycle_after=args.recycle_after)
        except CampaignError as e:
            raise UsageError(str(e)) from None
    else:
        out = args.out or Path("runs") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} already exists and is not an empty directory; pick a new --out (or --resume {out})")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create {out}: {e.strerror or e}") from None
        config = _new_config(args)
    names = [e.value for e in config.exporters]
    budget = f"of {config.seconds:.0f}s" if config.seconds else f"({config.cases} graphs per exporter)"
    con = Console()
    con.print(f"onnxfuzz: {'resuming' if args.resume else 'campaign in'} {out}  exporters: {', '.join(names)}  budget: {budget.removeprefix('of ')}  "
              + (f"cluster: {args.cluster}" if args.cluster else f"workers: {config.workers}") + f"  seed: {config.seed}" + (f"  feedback: {config.mutate_share:g} mutants" if config.feedback else "")
              + (f"  dynamic shapes: {config.dynamic_share:g} of graphs" if config.dynamic_share else ""), highlight=False)
    if args.resume is not None and (changed := changed_versions(recorded_versions(out))):
        con.print(f"note: this campaign was started with other versions ({'; '.join(changed)}): the graphs and one-operator jobs "
                  "it has not run yet are drawn by this one (a seed's graph follows the generator's code)", style="yellow", highlight=False)
    coverage = CoverageTracker(out)  # writes out/coverage.json as results arrive
    if args.resume is not None and (out / "coverage.json").exists():
        from fuzzer.coverage import load_coverage

        try:
            coverage.coverage, coverage.history = load_coverage(out / "coverage.json")
        except RecursionError:
            raise UsageError(f"{out / 'coverage.json'}: not a readable coverage file (nested too deeply)") from None
        except ValueError as e:
            raise UsageError(" ".join(str(e).split())[:300]) from None
    stats = CampaignStats()
    stats.coverage = coverage.coverage
    status = StatusObserver(con, names, budget, stats=stats)
    interrupted = False
    if args.cluster:
        from fuzzer.campaign.cluster import run_cluster_campaign

        gen = run_cluster_campaign(config, out, args.cluster, [status, coverage], stats, resume=args.resume is not None, workers_per_node=args.workers)
    else:
        gen = run_campaign(config, out, [status, coverage], stats, resume=args.resume is not None)
    from . import check_terminated

    try:
        for _ in gen:
            check_terminated()
    except KeyboardInterrupt:
        interrupted = True
        stats.stop_reason = "interrupted (Ctrl-C)"
    except CampaignError as e:
        status.close()
        raise UsageError(str(e)) from None
    except InternalError:
        status.close()
        raise
    finally:
        status.close()
        gen.close()
    coverage.close()
    con.print(summary_table(stats, names))
    con.print(f"coverage: {coverage.coverage.summary_line()} (details: onnxfuzz coverage {out})", highlight=False, soft_wrap=True)
    if config.dynamic_share:
        dyn = sorted(b for b in stats.buckets if "|dynamic@" in b)
        con.print(f"dynamic shapes: {config.dynamic_share:g} of the graphs exported dynamic; {len(dyn)} bucket(s) only they reach "
                  "(dynamic@run: wrong away from the traced size; dynamic@export: only the dynamic export crashes)", highlight=False, soft_wrap=True)
    if stats.stop_reason and stats.stop_reason not in ("time budget spent", "all cases done"):
        con.print(f"stopped: {stats.stop_reason}", style="yellow", highlight=False, soft_wrap=True)
    fs = stats.findings
    if fs is not None:
        minimized = f"{fs.minimized} minimized by this run" if config.minimize_seconds else "filed raw: --minimize-seconds 0"
        con.print(f"findings: {fs.new_buckets} bugs filed in {out / 'findings'}"
                  + (f" (+{fs.limitations} documented limitations, listed apart)" if fs.limitations else "") + f" ({minimized}"
                  + (f", {stats.minimizing} still raw: 'onnxfuzz fuzz --resume {out}' or 'onnxfuzz findings minimize --pending {out}'"
                     " minimizes them" if stats.minimizing else "")
                  + (f", {fs.errors} minimizer errors: see {out / 'findings' / 'recorder.log'}" if fs.errors else "") + ")", highlight=False, soft_wrap=True)
        con.print(f"triage them with: onnxfuzz findings list {out}", highlight=False, soft_wrap=True)
    con.print(f"raw cases are in {out / 'cases'}; replay one with: onnxfuzz check {out / 'cases' / '<case>' / 'graph.json'}", highlight=False, soft_wrap=True)
    if interrupted:
        con.print(f"interrupted: state is saved; continue with: onnxfuzz fuzz --resume {out}", style="yellow", highlight=False)
        return 130
    if stats.stop_reason.startswith(STOP_DISK_LOW):
        return EXIT_DISK_LOW  # stopped before its budget: a script must not take it for a finished campaign
    return EXIT_OK


