"""Command line: ``onnxfuzz gen | check | fuzz``. Thin: parse into typed options, call the library,
report. Expected errors print one line and exit 2; unexpected ones are our bugs and show a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn, Sequence

EXIT_OK, EXIT_FAILURE_FOUND, EXIT_USAGE, EXIT_INVALID_GRAPH = 0, 1, 2, 3


class UsageError(Exception):
    """A bad flag, file or combination: reported as one line, exit code 2."""


#: Extra command groups, each a module with ``add_parsers(sub)`` (adds its subparsers, each with
#: ``set_defaults(run=<function(args) -> int>)``) and optionally ``EXPECTED_ERRORS`` (exception
#: types reported as one line, exit 2). Adding a command group is adding its module name here.
COMMAND_MODULES: tuple[str, ...] = ("fuzzer.findings_cli", "fuzzer.sweep.cli", "fuzzer.cli_coverage")


def fatal(msg: str) -> NoReturn:
    print(f"onnxfuzz: error: {msg}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        fatal(f"{message} (see '{self.prog} --help')")


def number(cast, what: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
    """An argparse type: ``cast`` the text, check it is within [lo, hi] (``lo`` excluded when
    ``lo_open``), and say in one line what was expected otherwise."""
    bounds = (f" > {lo:g}" if lo_open else f" >= {lo:g}") if lo is not None else ""
    bounds = f" within {lo:g}..{hi:g}" if lo is not None and hi is not None and not lo_open else bounds

    def parse(s: str):
        try:
            v = cast(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}") from None
        if v != v or (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"expected {what}{bounds}, got {s!r}")
        return v

    return parse


_positive_int = number(int, "a positive integer", 1)
_nonneg_int = number(int, "an integer", 0)
_positive_float = number(float, "a positive number of seconds", 0, lo_open=True)
_nonneg_float = number(float, "a number of seconds", 0)
_bias = number(float, "a number", 0, 1)
_share = number(float, "a share", 0, 1)
_opset = number(int, "an opset number", 7, 30)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="onnxfuzz", description="Operator-sequence fuzzer for PyTorch's ONNX exporters.")
    p.add_argument("--version", action="store_true", help="print the versions of the stack under test and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    g = sub.add_parser("gen", help="generate one graph and write it as JSON")
    g.add_argument("--seed", type=_nonneg_int, default=0)
    g.add_argument("--max-nodes", type=_positive_int, default=10)
    g.add_argument("--bias", type=_bias, default=None, help="chance per growth step of planting a paper-sequence template (0: uniform; default: the generator's)")
    g.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    g.add_argument("--source", action="store_true", help="print the PyTorch source of the graph instead of JSON")

    c = sub.add_parser("check", help="run one graph through the exporter(s) and report the verdict")
    c.add_argument("graph", type=Path, help="graph.json (from 'gen' or a campaign's case directory)")
    c.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="both")
    c.add_argument("--opset", type=_opset, default=None, help="opset to request (default: the exporter's own)")
    c.add_argument("--inputs", type=Path, help="inputs .npz (default: inputs.npz beside the graph, else generated from the seed)")
    c.add_argument("--seed", type=_nonneg_int, help="seed for generated inputs (default: the graph's own seed)")
    c.add_argument("--input-mode", choices=["normal", "special"], default="normal")
    c.add_argument("--json", action="store_true", help="print the case records as JSON")
    c.add_argument("--in-process", action="store_true", help="run in this process instead of an isolated worker (a crashing case then ends onnxfuzz itself)")
    c.add_argument("--store", type=Path, default=None, metavar="DIR",
                   help="file each failing case into this findings store, as it is (shrink it with 'findings minimize')")

    f = sub.add_parser("fuzz", help="run a fuzz campaign")
    f.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="both")
    f.add_argument("--opset", type=_opset, default=None)
    budget = f.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=_positive_float, help="time budget (default: 60)")
    budget.add_argument("--cases", type=_positive_int, help="graphs per exporter (graph i is seed+i for every exporter)")
    f.add_argument("--seed", type=_nonneg_int, default=0, help="first seed; graph i uses seed+i")
    f.add_argument("--max-nodes", type=_positive_int, default=10)
    f.add_argument("--bias", type=_bias, default=None, help="chance per growth step of planting a paper-sequence template (0: uniform; default: the generator's)")
    f.add_argument("--input-mode", choices=["normal", "special"], default="special",
                   help="special (default): also ±0, ±inf, NaN, dtype extremes, exact halves, ties, where converters "
                        "break; normal: well-conditioned values only")
    f.add_argument("--out", type=Path, help="campaign directory (default: runs/<UTC time>); must not exist or be empty")
    f.add_argument("--resume", type=Path, metavar="DIR", help="continue the campaign in DIR (its stored options apply; --seconds/--cases give a new budget: --seconds S runs S more seconds)")
    f.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: number of cores)")
    f.add_argument("--case-timeout", type=_positive_float, default=60.0, help="seconds before a case counts as a hang (default: 60)")
    f.add_argument("--memory-limit-mb", type=_positive_int, default=4096, help="resident memory per worker before a case counts as out of memory (default: 4096)")
    f.add_argument("--recycle-after", type=_nonneg_int, default=None, metavar="N",
                   help="replace each worker after N tasks, between cases (default: 2000; 0: only when it holds 90%% of --memory-limit-mb)")
    f.add_argument("--keep-per-bucket", type=_nonneg_int, default=5, help="raw failing cases kept on disk per bucket; the rest are counted (default: 5)")
    f.add_argument("--min-free-mb", type=_nonneg_int, default=1024, help="stop cleanly when the disk has less free space (default: 1024)")
    f.add_argument("--minimize-seconds", type=_nonneg_float, default=60.0, help="minimization budget per new bug, in the background; 0 files raw cases (default: 60)")
    f.add_argument("--feedback", action="store_true", help="keep a corpus of graphs that reached new coverage (DIR/corpus) and spend part of the cases mutating it")
    f.add_argument("--mutate-share", type=_share, default=None, help="with --feedback: share of cases that are mutants of corpus graphs (default: 0.5)")

    st = sub.add_parser("stats", help="summarize a campaign directory (and plot its curves)")
    st.add_argument("dir", type=Path)
    st.add_argument("--plot", type=Path, metavar="PNG", help="draw buckets, failures and cases/s over time into this PNG")
    st.set_defaults(run=cmd_stats)
    g.set_defaults(run=cmd_gen)
    c.set_defaults(run=cmd_check)
    f.set_defaults(run=cmd_fuzz)
    for mod in _command_modules():
        mod.add_parsers(sub)
    return p


def _command_modules():
    import importlib

    return [importlib.import_module(m) for m in COMMAND_MODULES]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        from fuzzer.versions import stack_versions

        print(json.dumps(stack_versions(), indent=1))
        return EXIT_OK
    if args.command is None:
        fatal("no command given (see 'onnxfuzz --help')")
    from fuzzer.campaign import InputsFormatError
    from fuzzer.ir import GraphFormatError

    expected: tuple[type[BaseException], ...] = (UsageError, GraphFormatError, InputsFormatError)
    for mod in _command_modules():
        expected += tuple(getattr(mod, "EXPECTED_ERRORS", ()))
    try:
        return args.run(args)
    except expected as e:
        fatal(str(e))
    except KeyboardInterrupt:
        print("onnxfuzz: interrupted", file=sys.stderr)
        return 130


def _exporters(name: str):
    from fuzzer.export import Exporter

    return (Exporter.TORCHSCRIPT, Exporter.DYNAMO) if name == "both" else (Exporter(name),)


def _generator_options(args):
    from fuzzer.generate import GeneratorOptions

    return GeneratorOptions(max_nodes=args.max_nodes) if args.bias is None else GeneratorOptions(max_nodes=args.max_nodes, bias=args.bias)


def cmd_gen(args) -> int:
    from fuzzer.generate import GeneratorOptions, generate
    from fuzzer.ir import graph_to_json, save_graph
    from fuzzer.materialize import graph_to_source

    graph = generate(args.seed, _generator_options(args))
    text = graph_to_source(graph) if args.source else graph_to_json(graph) + "\n"
    if args.output:
        try:
            if args.source:
                args.output.write_text(text)
            else:
                save_graph(graph, args.output)
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_check(args) -> int:
    from rich.console import Console

    from fuzzer.campaign import load_inputs, run_graph, run_isolated
    from fuzzer.compare import Verdict
    from fuzzer.export import ExportOptions
    from fuzzer.generate import make_inputs
    from fuzzer.ir import load_graph

    graph = load_graph(args.graph)
    from fuzzer.catalog import CATALOG

    unknown = sorted({n.op for n in graph.nodes} - set(CATALOG))
    if unknown:
        raise UsageError(f"{args.graph}: operators not in this build's catalog: {', '.join(unknown)}")
    sibling = args.graph.parent / "inputs.npz"
    if args.inputs is not None:
        inputs, source = load_inputs(args.inputs, graph), str(args.inputs)
    elif sibling.exists() and args.seed is None:
        inputs, source = load_inputs(sibling, graph), str(sibling)
    else:
        seed = args.seed if args.seed is not None else int(graph.meta.get("seed", 0))
        inputs, source = make_inputs(graph, seed, args.input_mode), f"generated (seed {seed}, mode {args.input_mode})"
    exports = [ExportOptions(e, args.opset) for e in _exporters(args.exporter)]
    if args.in_process:
        results = run_graph(graph, inputs, exports, seed=graph.meta.get("seed"), input_mode=args.input_mode)
    else:
        results = run_isolated(graph, inputs, exports, args.input_mode)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1, default=str))
    else:
        con = Console()
        con.print(f"graph {args.graph}: {len(graph)} ops ({', '.join(graph.ops())}); inputs: {source}", highlight=False)
        from fuzzer.ui import VERDICT_STYLE

        for r in results:
            con.print(f"  {r.exporter:<11} opset {r.opset!s:<4} [{VERDICT_STYLE[r.verdict]}]{r.verdict.value}[/]", highlight=False)
            if r.verdict is not Verdict.PASS:
                con.print(f"    {r.error_type or ''} {(r.error_head or '')}".rstrip(), highlight=False, markup=False)
    if args.store is not None:
        from fuzzer.store import FindingStore

        store = FindingStore(args.store)
        for r in results:
            if r.verdict.is_failure:
                fid, new = store.record(graph, inputs, r)
                print(f"  {r.exporter}: filed as {fid} in {args.store} ({'new' if new else 'known'} bug)")
    if any(r.verdict is Verdict.EAGER_ERROR for r in results):
        return EXIT_INVALID_GRAPH
    return EXIT_FAILURE_FOUND if any(r.verdict.is_failure for r in results) else EXIT_OK


def cmd_fuzz(args) -> int:
    import os

    from rich.console import Console

    from fuzzer.campaign import CampaignConfig, CampaignError, CampaignStats, InternalError, load_config, run_campaign, with_budget
    from fuzzer.campaign.loop import RECYCLE_AFTER
    from fuzzer.coverage import CoverageTracker
    from fuzzer.ui import StatusObserver, summary_table

    if args.mutate_share is not None and not args.feedback:
        raise UsageError("--mutate-share needs --feedback")
    if args.resume is not None:
        if args.out is not None:
            raise UsageError("--resume DIR continues DIR; do not also give --out")
        if args.feedback:
            raise UsageError("--resume keeps the campaign's stored options; --feedback applies only to a new campaign")
        out = args.resume
        try:
            config = load_config(out)
        except CampaignError as e:
            raise UsageError(str(e)) from None
        from fuzzer.campaign import read_results

        try:
            before = max((r.get("t", 0.0) for r in read_results(out / "results.jsonl")), default=0.0)
        except CampaignError as e:
            raise UsageError(str(e)) from None
        if args.seconds is not None:
            config = with_budget(config, before + args.seconds, None)
        elif args.cases is not None:
            config = with_budget(config, None, args.cases)
        from dataclasses import replace

        if args.workers is not None:
            config = replace(config, workers=args.workers)
        if args.recycle_after is not None:  # how workers are run, not what is tested: may change on resume
            config = replace(config, recycle_after=args.recycle_after or None)
    else:
        out = args.out or Path("runs") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} already exists and is not an empty directory; pick a new --out (or --resume {out})")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create {out}: {e.strerror or e}") from None
        seconds = args.seconds if args.seconds is not None else (None if args.cases else 60.0)
        config = CampaignConfig(
            exporters=_exporters(args.exporter), opset=args.opset, seconds=seconds, cases=args.cases, seed=args.seed,
            input_mode=args.input_mode, generator=_generator_options(args),
            workers=args.workers or os.cpu_count() or 1, case_timeout=args.case_timeout,
            memory_limit_mb=args.memory_limit_mb, recycle_after=RECYCLE_AFTER if args.recycle_after is None else (args.recycle_after or None), keep_per_bucket=args.keep_per_bucket, min_free_mb=args.min_free_mb,
            minimize_seconds=args.minimize_seconds or None, feedback=args.feedback,
            **({"mutate_share": args.mutate_share} if args.mutate_share is not None else {}),
        )
    exporters = [e.value for e in config.exporters]
    budget = f"of {config.seconds:.0f}s" if config.seconds else f"({config.cases} graphs per exporter)"
    con = Console()
    con.print(f"onnxfuzz: {'resuming' if args.resume else 'campaign in'} {out}  exporters: {', '.join(exporters)}  budget: {budget.removeprefix('of ')}  "
              f"workers: {config.workers}  seed: {config.seed}" + (f"  feedback: {config.mutate_share:g} mutants" if config.feedback else ""), highlight=False)
    coverage = CoverageTracker(out)  # writes out/coverage.json as results arrive
    if args.resume is not None and (out / "coverage.json").exists():
        from fuzzer.coverage import load_coverage

        try:
            coverage.coverage, coverage.history = load_coverage(out / "coverage.json")
        except ValueError as e:
            raise UsageError(str(e)) from None
    stats = CampaignStats()
    stats.coverage = coverage.coverage
    status = StatusObserver(con, exporters, budget, stats=stats)
    interrupted = False
    gen = run_campaign(config, out, [status, coverage], stats, resume=args.resume is not None)
    try:
        for _ in gen:
            pass
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
    con.print(summary_table(stats, exporters))
    con.print(f"coverage: {coverage.coverage.summary_line()} (details: onnxfuzz coverage {out})", highlight=False, soft_wrap=True)
    if stats.stop_reason and stats.stop_reason not in ("time budget spent", "all cases done"):
        con.print(f"stopped: {stats.stop_reason}", style="yellow", highlight=False, soft_wrap=True)
    fs = stats.findings
    if fs is not None:
        con.print(f"findings: {fs.new_buckets} bugs filed in {out / 'findings'} ({fs.minimized} minimized"
                  + (f", {stats.minimizing} still waiting: --resume finishes them" if stats.minimizing else "")
                  + (f", {fs.errors} minimizer errors: see {out / 'findings' / 'recorder.log'}" if fs.errors else "") + ")", highlight=False, soft_wrap=True)
        con.print(f"triage them with: onnxfuzz findings list {out}", highlight=False, soft_wrap=True)
    con.print(f"raw cases are in {out / 'cases'}; replay one with: onnxfuzz check {out / 'cases' / '<case>' / 'graph.json'}", highlight=False, soft_wrap=True)
    if interrupted:
        con.print(f"interrupted: state is saved; continue with: onnxfuzz fuzz --resume {out}", style="yellow", highlight=False)
        return 130
    return EXIT_OK


def cmd_stats(args) -> int:
    from rich.console import Console

    from fuzzer.campaign import CampaignError, CampaignStats, load_config, read_results
    from fuzzer.ui import summary_table

    try:
        config = load_config(args.dir)
        results = read_results(args.dir / "results.jsonl")
    except CampaignError as e:
        raise UsageError(str(e)) from None
    from fuzzer.campaign.loop import restore_stats

    stats = CampaignStats()
    restore_stats(stats, results)
    series = _read_series(args.dir / "stats.jsonl")
    if config.feedback:  # the corpus size of the last sample
        stats.corpus = next((s["corpus"] for s in reversed(series) if "corpus" in s), 0)
    con = Console()
    con.print(summary_table(stats, [e.value for e in config.exporters]))
    con.print(_timeline_table(results, args.dir / "findings"))
    if args.plot is not None:
        if not series:
            raise UsageError(f"{args.dir / 'stats.jsonl'} has no samples to plot")
        from fuzzer.plots import plot_campaign

        try:
            plot_campaign(series, args.plot, title=str(args.dir))
        except OSError as e:
            raise UsageError(f"cannot write {args.plot}: {e.strerror or e}") from None
        con.print(f"wrote {args.plot}", highlight=False)
    return EXIT_OK


def _timeline_table(results: list[dict], store_dir: Path):
    from rich.table import Table

    from fuzzer.campaign.timeline import MARKS, finding_timelines
    from fuzzer.store import FindingStore

    t = Table(title="findings over campaign time (distinct findings reached by 1/10/60 min)")
    for col in ("exporter", "cases", "first failure", "first finding", "findings", *(f"{m / 60:g} min" for m in MARKS)):
        t.add_column(col, justify="left" if col == "exporter" else "right", no_wrap=col in ("exporter", "findings"))
    fmt = lambda s: "-" if s is None else f"{s:.1f} s"  # noqa: E731
    for tl in finding_timelines(results, FindingStore(store_dir).case_index()):
        t.add_row(tl.exporter, str(tl.cases), fmt(tl.first_failure), fmt(tl.first_finding), str(tl.findings), *(str(n) for _, n in tl.by_mark))
    return t


def _read_series(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line after kill -9
    return out


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
