"""``onnxfuzz findings ...``: triage the findings of a store.

    findings list [DIR]                 table: id, verdict, exporter, ops, hits, size, status (bugs,
                                        then documented limitations in a section of their own)
    findings groups [DIR] [--json]      root-cause groups: findings one fix would close together
    findings show ID                    finding.json, the graph's source and the files
    findings replay ID|DIR...           re-run against the installed versions: still failing,
                                        fixed, or changed signature (exit 1 if any still fails)
    findings minimize ID [--seconds S]  minimize again; replace the reproduction if simpler
    findings minimize --pending [DIR]   minimize the findings a campaign filed raw
    findings refresh ID|DIR...          re-run and re-render (title, report, repro, model,
                                        versions) with the installed versions if it still fails
    findings report ID [--no-run]       write report.md for the tracker to blame (runs its inline
                                        script and puts the output in) and print it
    findings report --group GROUP_ID    write one report for a root-cause group (every member, the
                                        simplest member's script) to STORE/group-GROUP_ID.md, print it
    findings scope ID [--seconds S]     where the finding reproduces: other dtypes, shapes, the other
                                        exporter, opsets; recorded in finding.json, shown in reports
    findings retest DIR [ID...] --with PKG==VERSION ...
                                        replay in a throwaway virtualenv with those versions;
                                        record per finding where it reproduces (DIR/retest.json)
    findings mark ID --filed URL | --wontfix REASON   (--filed also adds to upstream.json)
    findings promote ID [--to DIR]      copy into the repository's curated findings/ directory

ID is a finding id (or a unique prefix) in ``--store`` (default: $ONNXFUZZ_STORE, else
./findings), or the path of a finding directory.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from fuzzer.store import FindingError, FindingStore, export_options, load_case, read_finding
from fuzzer.store.curated import CuratedFileError, add_upstream, all_upstream
from fuzzer.store.store import is_dynamic

from .common import UsageError, nonneg_float, positive_float, warn
from fuzzer.store.replay import expected_state, open_store, replay_state

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (FindingError, CuratedFileError)


def _default_store() -> Path:
    return Path(os.environ.get("ONNXFUZZ_STORE", "findings"))


def add_parsers(sub) -> None:
    f = sub.add_parser("findings", help="triage stored findings (list, groups, show, replay, minimize, report, scope, mark, promote)")
    fs = f.add_subparsers(dest="findings_command", metavar="ACTION", parser_class=type(f))
    fs.required = True

    def with_store(p):
        p.add_argument("--store", type=Path, default=None, help="store directory (default: $ONNXFUZZ_STORE, else ./findings)")
        return p

    p = fs.add_parser("list", help="list findings as a table")
    p.add_argument("dir", nargs="?", type=Path, help="store directory, or a campaign directory holding findings/ (default: --store)")
    with_store(p)
    p.add_argument("--sort", choices=["recent", "hits", "id"], default="recent")
    p.set_defaults(run=cmd_list)

    p = fs.add_parser("groups", help="root-cause groups: findings sharing a cause, with every affected op and dtype")
    p.add_argument("dir", nargs="?", type=Path, help="store directory, or a campaign directory holding findings/ (default: --store)")
    with_store(p)
    p.add_argument("--json", action="store_true", help="print the groups as JSON")
    p.set_defaults(run=cmd_groups)

    p = with_store(fs.add_parser("show", help="show one finding"))
    p.add_argument("id")
    p.set_defaults(run=cmd_show)

    p = with_store(fs.add_parser("replay", help="re-run findings against the installed versions"))
    p.add_argument("refs", nargs="+", metavar="ID|DIR", help="finding ids, finding directories, or a whole store directory")
    p.add_argument("--check-status", action="store_true",
                   help="regression watch: exit 1 if a finding behaves otherwise than its status says "
                        "(new/flaky/filed/wontfix: still failing with its signature; fixed: passes)")
    p.set_defaults(run=cmd_replay)

    p = with_store(fs.add_parser("minimize", help="minimize a finding again (replaces it if a smaller case is found)"))
    p.add_argument("id", nargs="?", metavar="ID|DIR", help="a finding; with --pending, a store or campaign directory (default: --store)")
    p.add_argument("--pending", action="store_true", help="minimize every finding filed raw and not minimized yet (what a stopped campaign left)")
    p.add_argument("--seconds", type=positive_float, default=60.0, help="time budget per finding (default 60)")
    p.set_defaults(run=cmd_minimize)

    p = with_store(fs.add_parser("refresh", help="re-run findings and re-render their files with the installed versions"))
    p.add_argument("refs", nargs="+", metavar="ID|DIR", help="finding ids, finding directories, or a whole store directory")
    p.set_defaults(run=cmd_refresh)

    p = fs.add_parser("ingest", help="file the stored cases of a campaign directory (re-run, minimize new buckets)")
    p.add_argument("--store", type=Path, default=None, help="store directory (default: the campaign's own DIR/findings)")
    p.add_argument("campaign", type=Path, help="a campaign directory (from 'onnxfuzz fuzz --out DIR')")
    p.add_argument("--minimize-seconds", type=nonneg_float, default=30.0, help="budget per new bucket (default 30; 0: file unminimized)")
    p.set_defaults(run=cmd_ingest)

    p = fs.add_parser("retest", help="replay findings in a throwaway virtualenv with other versions; record where each reproduces")
    p.add_argument("dir", type=Path, help="store directory, or a campaign directory holding findings/")
    p.add_argument("ids", nargs="*", metavar="ID", help="only these findings (default: every finding of DIR)")
    p.add_argument("--with", dest="overrides", action="append", default=[], metavar="PKG==VERSION",
                   help="a version to retest with (repeatable: onnxruntime, onnxscript, onnx, onnx-ir; torch only as X+cpu); "
                        "none: the installed stack")
    p.add_argument("--out", type=Path, default=None, help="the retest record to update (default: DIR/retest.json)")
    p.set_defaults(run=cmd_retest)

    p = with_store(fs.add_parser("report", help="write report.md (the issue for the tracker to blame) and print it"))
    p.add_argument("id", nargs="?")
    p.add_argument("--group", metavar="GROUP_ID", help="instead: one report for a root-cause group of 'findings groups' (STORE/group-GROUP_ID.md)")
    p.add_argument("--no-run", action="store_true", help="do not run the inline script to put its output in the report (faster)")
    p.set_defaults(run=cmd_report)

    p = with_store(fs.add_parser("scope", help="where a finding reproduces: other dtypes, shapes, the other exporter, opsets"))
    p.add_argument("id")
    p.add_argument("--seconds", type=positive_float, default=60.0, help="time budget (default 60); variants not started by then are 'not run'")
    p.set_defaults(run=cmd_scope)

    p = with_store(fs.add_parser("mark", help="record that a finding was filed upstream, or will not be"))
    p.add_argument("id")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--filed", metavar="URL", help="the upstream issue (also recorded in the store's upstream.json, shown in reports and list)")
    g.add_argument("--wontfix", metavar="REASON")
    g.add_argument("--fixed", metavar="VERSION", help="fixed upstream (e.g. 'torch 2.14.0'); replay then expects a pass")
    p.set_defaults(run=cmd_mark)

    p = with_store(fs.add_parser("promote", help="copy a finding into the repository's findings/ directory"))
    p.add_argument("id")
    p.add_argument("--to", type=Path, default=None, help="destination (default: findings/ of the git checkout holding this package)")
    p.set_defaults(run=cmd_promote)


def _store(args, explicit: Path | None = None) -> FindingStore:
    return open_store(explicit or args.store or _default_store())


def _warn_problems(store: FindingStore) -> None:
    for p in store.problems:
        warn(p)


def cmd_list(args) -> int:
    from rich.console import Console
    from rich.table import Table

    store = _store(args, args.dir)
    order = {"recent": "last_seen DESC", "hits": "hits DESC", "id": "id"}[args.sort]
    from fuzzer.triage.limitations import KINDS, limitation_of_key

    rows = store.list(order)
    _warn_problems(store)
    flags = {r.id: _flags(r.path) for r in rows}
    inter = {k: f[0] for k, f in flags.items()}
    rows.sort(key=lambda r: inter[r.id] is not True)  # interaction findings first (stable: the order asked for within each part)
    limited = {r.id: limitation_of_key(r.signature) for r in rows}
    bugs = [r for r in rows if limited[r.id] is None]
    lims = [r for r in rows if limited[r.id] is not None]
    n_inter = sum(inter[r.id] is True for r in bugs)
    con = Console()
    t = Table(title=f"{len(bugs)} findings in {store.root}" + (f" ({n_inter} interactions, listed first)" if n_inter else "")
              + (f" (+{len(lims)} documented limitations, below)" if lims else ""), title_justify="left")
    upstream = all_upstream(store.root)
    cols = ("id", "verdict", "exporter", "ops", "hits", "size", "status") + (("upstream",) if upstream else ()) + ("title",)
    widest = max((len(_issue_ref(u)) for urls in upstream.values() for u in urls), default=0)
    for col in cols:
        t.add_column(col, justify="right" if col in ("ops", "hits", "size") else "left", overflow="fold" if col in ("title", "upstream") else "ellipsis",
                     min_width=widest if col == "upstream" else None)
    for r in bugs:
        row = [r.id, r.verdict, r.exporter, str(r.n_ops), str(r.hits), _size(r.size), r.status]
        row += [" ".join(_issue_ref(u) for u in _known_upstream(r.id, upstream))] if upstream else []
        n_var = flags[r.id][1]
        t.add_row(*row, (("interaction: " if inter[r.id] is True else "") + (f"(+{n_var} variants) " if n_var else "") + r.title)[:100])
    con.print(t)
    if lims:
        lt = Table(title=f"{len(lims)} documented limitations (not counted as bugs): " + "; ".join(f"{k}: {v}" for k, v in KINDS.items()),
                   title_justify="left")
        for col in ("id", "verdict", "limitation", "exporter", "hits", "status") + (("upstream",) if upstream else ()) + ("title",):
            lt.add_column(col, justify="right" if col == "hits" else "left", overflow="fold" if col in ("title", "upstream") else "ellipsis",
                          min_width=widest if col == "upstream" else None)
        for r in lims:
            row = [r.id, r.verdict, limited[r.id], r.exporter, str(r.hits), r.status]
            row += [" ".join(_issue_ref(u) for u in _known_upstream(r.id, upstream))] if upstream else []
            lt.add_row(*row, r.title[:90])
        con.print(lt)
    return 0


def cmd_groups(args) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from fuzzer.triage.groups import load_groups

    store = _store(args, args.dir)
    store.list("id")  # syncs the index, collects unreadable findings
    _warn_problems(store)
    groups = load_groups(store.root)
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], indent=1))
        return 0
    t = Table(title=f"{len(groups)} root-cause groups of {sum(len(g.members) for g in groups)} findings in {store.root}", title_justify="left")
    for col in ("group", "n", "cause", "findings: op (torch ops; input dtypes; exporter)"):
        t.add_column(col, justify="right" if col == "n" else "left", overflow="fold")
    for g in groups:
        t.add_row(g.id + (" [dim](limitation)[/]" if g.limitation else ""), str(len(g.members)), g.cause,
                  "\n".join(f"{m.id} {m.describe()}" for m in g.members))
    Console().print(t)
    return 0


def _known_upstream(fid: str, upstream: dict) -> list[str]:
    """The upstream issue URLs recorded for finding ``fid`` (keys may be unique prefixes)."""
    return [u for k, urls in upstream.items() if fid == k or (len(k) >= 6 and fid.startswith(k)) for u in urls]


def _issue_ref(url: str) -> str:
    """'onnxruntime#10514' for a GitHub issue URL, else the URL."""
    import re

    m = re.match(r"https?://github\.com/[^/]+/([^/]+)/(?:issues|pull)/(\d+)", url)
    return f"{m.group(1)}#{m.group(2)}" if m else url


def _flags(path) -> tuple[bool | None, int]:
    """A finding's ``interaction`` flag (None: not decided) and its number of variants; (None, 0)
    when unreadable: the list goes on."""
    import json

    try:
        doc = json.loads((path / "finding.json").read_text(encoding="utf-8"))
        v, variants = doc.get("interaction"), doc.get("variants") or []
    except (OSError, ValueError, AttributeError):
        return None, 0
    return (v if isinstance(v, bool) else None), (len(variants) if isinstance(variants, list) else 0)


def _size(n: int) -> str:
    return f"{n / 1024:.1f}K" if n >= 1024 else f"{n}B"


def cmd_show(args) -> int:
    from fuzzer.store.report import module_source

    path = _store(args).resolve(args.id)
    doc, graph, inputs = load_case(path)
    print(f"{path.name}: {doc['title']}")
    keep = ("verdict", "exporter", "opset", "component", "stage", "project", "interaction", "n_ops", "ops", "hits", "status", "first_seen", "last_seen",
            "filed_url", "wontfix_reason")
    for k in keep:
        if doc.get(k) is not None:
            print(f"  {k}: {doc[k]}")
    print(f"  signature: {doc['signature']['key']}")
    m = doc.get("minimization") or {}
    if all(k in m for k in ("ops_before", "ops_after", "seconds", "runs", "stop_reason")):
        print(f"  minimized: {m['ops_before']} -> {m['ops_after']} ops in {m['seconds']}s, {m['runs']} runs ({m['stop_reason']})")
    elif doc.get("awaiting_minimization"):
        print("  minimized: not yet (filed raw; 'onnxfuzz findings minimize --pending' or the campaign's --resume minimizes it)")
    elif m.get("stop_reason"):
        print(f"  minimized: no ({m['stop_reason']})")
    if doc.get("scope"):
        from fuzzer.store.scope import summary

        print(f"  scope: {summary(doc['scope'])}")
    if doc.get("variant_of"):
        print(f"  variant of: {doc['variant_of']} (filed there as the same cause)")
    for v in doc.get("variants") or ():
        if isinstance(v, dict):
            print(f"  variant {v.get('id')}: {'+'.join(v.get('ops') or ())} on {', '.join(v.get('dtypes') or ()) or '-'},"
                  f" {v.get('exporter')}, {v.get('hits')} hit(s) (files: {path / 'variants' / str(v.get('id'))})")
    print("  inputs: " + ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in inputs.items()))
    print("  files: " + ", ".join(sorted(p.name for p in path.iterdir())))
    print()
    print(module_source(graph))
    return 0


_ISOLATED = None


def _runner(exporter: str, opset: int | None, input_mode: str = "normal", optimize: bool = True, dynamic: bool = False):
    """Run candidates in one isolated worker (shared by the whole command), so a case that kills
    its process is reported as ``process_crash`` instead of ending onnxfuzz."""
    import atexit

    from fuzzer.workers import IsolatedRunner
    from fuzzer.export import ExportOptions, Exporter

    global _ISOLATED
    if _ISOLATED is None:
        _ISOLATED = IsolatedRunner()
        atexit.register(_ISOLATED.close)
    runner = _ISOLATED
    ex = ExportOptions(Exporter(exporter), opset, optimize, dynamic)
    return lambda graph, inputs: runner.run(graph, inputs, [ex], input_mode)[0]


_FINDING_FILES = ("finding.json", "graph.json", "inputs.npz", "repro.py")


def _replay_targets(args) -> list[Path]:
    """Finding directories named by ids, paths of finding directories, or whole stores."""
    out: list[Path] = []
    for ref in args.refs:
        p = Path(ref)
        if p.is_dir() and any((p / f).exists() for f in _FINDING_FILES):
            out.append(p)  # a finding directory (a corrupt one is reported when loaded)
        elif p.is_dir():
            s = _store(args, p)
            out += [r.path for r in s.list("id")]
            _warn_problems(s)
        else:
            out.append(_store(args).resolve(ref))
    return out


def _loadable_cases(args):
    """(path, finding.json, graph, inputs) per target of ``args.refs``; None (after a one-line
    warning) for a finding that cannot be loaded."""
    for path in _replay_targets(args):
        try:
            yield (path, *load_case(path))
        except FindingError as e:
            warn(f"{e}; skipped")
            yield None


def cmd_replay(args) -> int:
    """Exit 1 if any finding still fails (same or changed signature), else 2 if any could not be
    loaded, else 0 (all fixed). With --check-status: exit 1 if any finding behaves otherwise than
    its status says, else 0."""
    still = skipped = disagree = 0
    for case in _loadable_cases(args):
        if case is None:
            skipped += 1
            continue
        path, doc, graph, inputs = case
        state = replay_state(doc, graph, inputs, _runner)
        still += state != "fixed" and not state.startswith("not a failure")
        note = ""
        if args.check_status:
            want = expected_state(doc)
            if state != want:
                disagree += 1
                note = f"  <-- status is {doc.get('status')!r}, expected {want!r}: update it (onnxfuzz findings mark) or investigate"
        print(f"{path.name}  {doc['verdict']:<24} {state}{note}")
    if args.check_status:
        print(f"{disagree} finding(s) behave otherwise than their status says" if disagree else "every finding behaves as its status says")
        return 1 if disagree or skipped else 0
    return 1 if still else (2 if skipped else 0)


def cmd_refresh(args) -> int:
    """Exit 0 if every finding was re-rendered, 1 if any no longer fails with its signature (left
    unchanged: replay tells what it does now), 2 if any could not be loaded."""
    stale = skipped = 0
    for case in _loadable_cases(args):
        if case is None:
            skipped += 1
            continue
        path, doc, graph, inputs = case
        exporter, opset, optimize = export_options(doc)
        result = _runner(exporter, opset, doc.get("input_mode") or "normal", optimize, is_dynamic(doc))(graph, inputs)
        store = FindingStore(path.parent)
        if store.refresh(path, result):
            _rewrite_report(store, path)
            print(f"{path.name}  refreshed: {read_finding(path)['title'][:100]}")
        else:
            stale += 1
            print(f"{path.name}  not refreshed: it no longer fails with its signature (now {result.verdict.value}); see 'findings replay'")
    return 1 if stale else (2 if skipped else 0)


def cmd_minimize(args) -> int:
    from fuzzer.minimize import minimize

    if args.pending:
        return _minimize_pending(args)
    if args.id is None:
        raise UsageError("give the finding to minimize (ID), or --pending")
    store = _store(args)
    path = store.resolve(args.id)
    doc, graph, inputs = load_case(path)
    exporter, opset, optimize = export_options(doc)
    run = _runner(exporter, opset, doc.get("input_mode") or "normal", optimize, is_dynamic(doc))
    m = minimize(graph, inputs, run, seconds=args.seconds)
    st = m.stats()
    print(f"{path.name}: {st['ops_before']} -> {st['ops_after']} ops in {st['seconds']}s, {st['candidates']} candidates, {st['runs']} runs ({st['stop_reason']})")
    if not m.reproduced:
        print("the finding does not reproduce with the installed versions; nothing replaced")
        return 1
    if store.store_minimized(path, m):
        print(f"replaced the reproduction in {path}")
    else:
        print("no simpler case with the same signature; the finding is unchanged")
    if len(m.best.graph.nodes) >= 2:  # a chain: does it need the chain? (as a campaign's minimizer asks)
        from fuzzer.minimize.interaction import is_interaction

        inter = is_interaction(m.best.graph, m.best.inputs, run)
        store.mark_interaction(path.name, inter)
        print({True: "interaction: each operator passes alone on the values it receives", False: "not an interaction: one operator fails alone",
               None: "interaction: undecided"}[inter])
    return 0


def _minimize_pending(args) -> int:
    """Minimize the raw findings of a store, as a resumed campaign would; exit 2 if any could not
    be loaded."""
    from fuzzer.minimize import minimize
    from fuzzer.triage.signature import Signature

    store = _store(args, Path(args.id) if args.id else None)
    waiting = store.awaiting_minimization()
    _warn_problems(store)
    skipped = 0
    for path, _ in waiting:
        try:
            doc, graph, inputs = load_case(path)
        except FindingError as e:
            warn(f"{e}; skipped")
            skipped += 1
            continue
        exporter, opset, optimize = export_options(doc)
        sig = doc["signature"]
        reference = Signature(sig["verdict"], sig["exporter"], sig.get("detail", ""), tuple(sig.get("path_ops", ())))
        run = _runner(exporter, opset, doc.get("input_mode") or "normal", optimize, is_dynamic(doc))
        m = minimize(graph, inputs, run, seconds=args.seconds, reference=reference)
        into = store.finish_minimization(path, m)
        if m.reproduced and len(m.best.graph.nodes) >= 2:  # a chain: does it need the chain? (as a campaign's minimizer asks)
            from fuzzer.minimize.interaction import is_interaction

            store.mark_interaction(into, is_interaction(m.best.graph, m.best.inputs, run))
        st = m.stats()
        what = "does not reproduce: kept raw, flaky" if not m.reproduced else f"{st['ops_before']} -> {st['ops_after']} ops" + (
            f", joined {into}" if into != path.name else "")
        print(f"{path.name}: {what} ({st['seconds']}s, {st['runs']} runs)")
    print(f"{len(waiting) - skipped} raw findings minimized in {store.root}" if waiting else f"no raw findings in {store.root}")
    return 2 if skipped else 0


def cmd_ingest(args) -> int:
    """Re-run every stored case of a campaign through its exporter and file the failures."""
    import time

    from fuzzer.store.replay import ingest_cases

    cases = args.campaign / "cases"
    if not cases.is_dir():
        raise FindingError(f"{args.campaign}: no cases/ directory (not a campaign directory)")
    root = args.store or args.campaign / "findings"
    t0 = time.monotonic()

    def on_case(name: str, fid: str | None, new: bool, verdict: str, problem: str | None) -> None:
        if problem is not None:
            warn(f"{problem}; skipped")
        elif new:
            print(f"new  {fid}  {verdict:<24} {name}")

    counts = ingest_cases(cases, FindingStore(root), _runner, args.minimize_seconds, on_case)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()) + f"; {time.monotonic() - t0:.1f}s; store: {root}")
    return 0


def _rewrite_report(store: FindingStore, path: Path, run: bool = True) -> Path:
    from fuzzer.store.report import torch_collect_env
    from fuzzer.workers.helpers import run_python_source

    return store.rewrite_report(path, run_python_source if run else None, torch_collect_env())

def cmd_retest(args) -> int:
    """Replay findings in a virtualenv with the installed stack plus ``--with`` overrides, record
    each finding's state on that stack in DIR/retest.json, print the matrix so far. Exit 0 once
    recorded; 2 for a bad --with or an override that does not install."""
    import tempfile

    from rich.console import Console
    from rich.table import Table

    from fuzzer.store.retest import RETEST_FILE, cell, load_retest, parse_replay, record_stack, stack_label
    from fuzzer.store.store import now
    from fuzzer.workers.stackenv import OverrideError, StackEnv, parse_override

    try:
        overrides = [parse_override(x) for x in args.overrides]
    except OverrideError as e:
        raise UsageError(str(e)) from None
    if len({o.name for o in overrides}) != len(overrides):
        raise UsageError("--with names a package twice")
    store = open_store(args.dir)
    ids = [store.resolve(i).name for i in args.ids] if args.ids else [r.id for r in store.list("id")]
    _warn_problems(store)
    if not ids:
        raise FindingError(f"no findings in {store.root}")
    out = args.out or store.root / RETEST_FILE
    try:
        load_retest(out)
    except ValueError as e:
        raise FindingError(str(e)) from None
    tmp_root = store.root / ".tmp"  # the run's own scratch space (ignored by the store), removed at the end
    tmp_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="retest-", dir=tmp_root))
    try:
        try:
            env = StackEnv(scratch / "venv", overrides, log=scratch / "setup.log").create()
            versions = env.versions()
        except OverrideError as e:
            raise FindingError(str(e)) from None
        print(f"retesting {len(ids)} findings on {stack_label(versions)}" + (f" (overrides: {', '.join(map(str, overrides))})" if overrides else ""),
              flush=True)
        r = env.run_fuzzer(["findings", "replay", *[str((store.root / i).resolve()) for i in ids]])
        states = parse_replay(r.stdout)
        if not states and r.returncode not in (0, 1):
            raise FindingError(f"the replay in the virtualenv failed (exit {r.returncode}): {(r.stderr.strip().splitlines() or ['no output'])[-1][:300]}")
        states = {i: states.get(i, "skipped") for i in ids}
        doc = record_stack(out, versions, [str(o) for o in overrides], states, now())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stacks = sorted(doc["stacks"])
    t = Table(title=f"where each finding reproduces ({out})", title_justify="left")
    t.add_column("finding")
    for s in stacks:
        t.add_column(s.replace(", ", "\n"), overflow="fold")
    for i in ids:
        t.add_row(i, *[cell(doc["stacks"][s]["findings"].get(i)) for s in stacks])
    Console().print(t)
    fails = sum(v == "still failing" for v in states.values())
    print(f"{fails} of {len(ids)} still fail on {stack_label(versions)}; recorded in {out}")
    return 0


def cmd_report(args) -> int:
    if (args.id is None) == (args.group is None):
        raise UsageError("give a finding (ID) or a group (--group GROUP_ID), not both")
    store = _store(args)
    if args.group is not None:
        from fuzzer.store.group_report import write_group_report

        store.list("id")  # syncs the index, collects unreadable findings
        _warn_problems(store)
        sys.stdout.write(write_group_report(store.root, args.group).read_text(encoding="utf-8"))
        return 0
    path = store.resolve(args.id)
    read_finding(path)
    all_upstream(store.root)  # a curated file that does not parse: one line, exit 2
    _rewrite_report(store, path, run=not args.no_run)
    sys.stdout.write((path / "report.md").read_text(encoding="utf-8"))
    return 0


def cmd_scope(args) -> int:
    """Run the finding's variants (fuzzer.store.scope), print them as a table, record them in
    finding.json. Exit 0 whatever the variants do."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from fuzzer.store.scope import probe, summary

    store = _store(args)
    path = store.resolve(args.id)
    doc, graph, inputs = load_case(path)
    print(f"{path.name}: {doc['title'][:100]}", flush=True)

    def on_entry(e) -> None:
        print(f"  {e.axis:<9} {e.variant:<16} {e.state}" + (f" ({e.verdict})" if e.verdict and e.state != "passes" else ""), file=sys.stderr, flush=True)

    entries = [e.to_dict() for e in probe(doc, graph, inputs, _runner, args.seconds, on_entry=on_entry)]
    store.record_scope(path, entries)
    t = Table(title=f"scope of {path.name} (recorded in {path / 'finding.json'})", title_justify="left")
    for col in ("axis", "variant", "state", "verdict", "note"):
        t.add_column(col, overflow="fold")
    style = {"reproduces": "bold red", "other failure": "yellow", "passes": "green"}
    for e in entries:
        st = style.get(e["state"])
        t.add_row(e["axis"], escape(e["variant"]), f"[{st}]{e['state']}[/]" if st else e["state"], e.get("verdict", ""), escape(e.get("note", "")))
    Console().print(t)
    print(summary(entries))
    return 0


def cmd_mark(args) -> int:
    store = _store(args)
    path = store.mark(args.id, filed=args.filed, wontfix=args.wontfix, fixed=args.fixed)
    if args.filed:
        add_upstream(store.root, path.name, args.filed)
    what = f"filed {args.filed}" if args.filed else (f"wontfix: {args.wontfix}" if args.wontfix else f"fixed in {args.fixed}")
    print(f"{path.name}: {what}")
    return 0


def repository_findings_dir() -> Path:
    """``findings/`` of the git checkout that holds this package (a worktree's ``.git`` is a file)."""
    here = Path(__file__).resolve().parent
    for d in [here, *here.parents]:
        if (d / ".git").exists():
            return d / "findings"
    raise FindingError(f"{here} is not inside a git checkout; pass --to DIR")


def cmd_promote(args) -> int:
    path = _store(args).resolve(args.id)
    read_finding(path)
    dest_root = args.to or repository_findings_dir()
    dest = dest_root / path.name
    if dest.exists():
        raise FindingError(f"{dest} already exists (promoted before?)")
    from fuzzer.atomic import StagedDir

    with StagedDir(dest) as tmp:
        for f in path.iterdir():
            if f.is_file():
                shutil.copy2(f, tmp / f.name)
        if (path / "variants").is_dir():  # the same cause's other cases, each a finding directory
            shutil.copytree(path / "variants", tmp / "variants")
    gi = dest_root / ".gitignore"
    if not gi.exists():
        gi.write_text("# the index is a cache rebuilt from the finding directories\nindex.sqlite\n.lock\n")
    FindingStore(dest_root).sync()
    print(f"promoted {path.name} to {dest}")
    return 0

