"""Throughput benchmark: the harness against the bare export+run limit, per exporter, in one run.

Usage: python scripts/bench.py [--graphs 150] [--dynamo-graphs 32] [--nodes 10] [--batch 16]
                               [--campaign-seconds 15] [--no-campaign] [--exporter both|torchscript|dynamo]
                               [--warm-graphs 48] [--check-identical N] [--ops a,b,...] [--dtypes d,...]

For each exporter, on one fixed set of generated graphs of exactly ``--nodes`` operators:

- limit: a plain loop doing only what a case must do: eager run, ``torch.onnx.export``,
  ``onnxruntime.InferenceSession``, ``run`` (modules built beforehand, nothing checked or compared;
  for dynamo this is the plain public call, no caches);
- harness: ``run_graph`` in this process (materialize, eager, export, checker, ORT, compare), and for
  dynamo also with the export caches, and batched (``run_graphs_batched``) twice: with a fresh crash
  memory, and with one warmed on ``--warm-graphs`` other graphs, as a running worker's is;
- pool: the same seeds through one worker of ``WorkerPool`` (adds generation and the JSON-lines IPC);
- campaign: ``run_campaign`` with default settings, 1 and 2 workers, per exporter.

The machine may be shared: every figure is read against the limit measured in the same run
(limit and harness are interleaved, best of ``--repeat``), and the load average is printed.
Seeds that take a worker down (crash/hang) are screened out first, through the pool.
Torch runs single-threaded here, as in the workers (see fuzzer/workers/worker.py).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

# the exporters print to fd 1/2 (C++ and Python): send it all to /dev/null, keep our own channel
_OUT = os.fdopen(os.dup(1), "w", buffering=1)
_null = os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 1)
os.dup2(_null, 2)
sys.stdout = sys.stderr = io.TextIOWrapper(open(os.devnull, "wb"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fuzzer.workers import WorkerPool  # noqa: E402
from fuzzer.campaign import CampaignConfig, run_campaign  # noqa: E402
from fuzzer.case import run_graph  # noqa: E402
from fuzzer.case import run_graphs_batched  # noqa: E402
from fuzzer.export import ExportOptions, Exporter  # noqa: E402
from fuzzer.case import operator_keys  # noqa: E402
from fuzzer.export.batch import BatchMember, BatchStats, CrashMemory, export_many  # noqa: E402
from fuzzer.export.exporters import export_dynamo_proto  # noqa: E402
from fuzzer.export.split import canonical_form  # noqa: E402
from fuzzer.export.dynamo_cache import install_dynamo_caches, uninstall_dynamo_caches  # noqa: E402
from fuzzer.export.quiet import silence_loggers  # noqa: E402
from fuzzer.generate import GeneratorOptions, generate, make_inputs  # noqa: E402
from fuzzer.materialize import build_module  # noqa: E402
from fuzzer.versions import stack_versions  # noqa: E402

console = Console(file=_OUT, width=120)
STAGES = ("materialize", "eager", "export", "ort_load", "ort_run", "compare")


def log(msg: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}[/] {msg}")


# -- the graph set -------------------------------------------------------------------------------
def screen(exporter: Exporter, seeds: list[int], gen: GeneratorOptions, batch: int) -> tuple[list[int], float]:
    """Seeds whose case does not take a worker down, and the pool's cases/s over them (a second,
    measured pass on a warm worker). TorchScript: one "seed" request per case (as the campaign
    sends them); dynamo: "seeds" requests of ``batch`` seeds (batched exports)."""
    from fuzzer.workers.protocol import RunSeeds

    def requests(ss: list[int]) -> list[RunSeeds]:
        if exporter is Exporter.DYNAMO:
            return [RunSeeds(tuple(ss[i:i + batch]), ExportOptions(exporter), gen, "normal") for i in range(0, len(ss), batch)]
        return [RunSeeds((s,), ExportOptions(exporter), gen, "normal") for s in ss]

    good: list[int] = []
    with WorkerPool(1, case_timeout=600) as pool:
        for c in _run(pool, requests(seeds)):
            if c.kind == "ok":
                good.extend(c.task.request.seeds)
            else:  # a batch that took the worker down: find the culprit seed by seed
                singles = _run(pool, c.task.request.split() or [])
                good.extend(d.task.request.seeds[0] for d in singles if d.kind == "ok")
        good.sort()
        t0 = time.perf_counter()
        done = _run(pool, requests(good))
        seconds = time.perf_counter() - t0
    return good, (len(good) / seconds if all(c.kind == "ok" for c in done) else float("nan"))


def _run(pool: WorkerPool, reqs: list) -> list:
    done, queue = [], list(reqs)
    while queue or pool.busy():
        while queue and pool.idle():
            pool.submit(queue.pop(0))
        done.extend(pool.poll(0.05))
    return done


# -- the limit: nothing but export + session + run + eager ----------------------------------------
_SO = ort.SessionOptions()
_SO.intra_op_num_threads = 1
_SO.inter_op_num_threads = 1


def limit(cases, exporter: Exporter) -> tuple[float, Counter]:
    stage = Counter()
    _cpu_start()
    t_all = time.perf_counter()
    for _g, ins, _s, module, names in cases:
        t = time.perf_counter()
        args = tuple(torch.from_numpy(np.array(v, copy=True)) for v in ins.values())
        try:
            with torch.no_grad():
                module(*args)
        except Exception:
            stage["eager"] += time.perf_counter() - t
            continue
        t1 = time.perf_counter()
        stage["eager"] += t1 - t
        try:
            with torch.no_grad():
                if exporter is Exporter.TORCHSCRIPT:
                    buf = io.BytesIO()
                    torch.onnx.export(module, args, buf, dynamo=False, input_names=names)
                    data = buf.getvalue()
                else:
                    data = torch.onnx.export(module, args, dynamo=True, verbose=False).model_proto.SerializeToString()
        except Exception:
            stage["export"] += time.perf_counter() - t1
            continue
        t2 = time.perf_counter()
        stage["export"] += t2 - t1
        try:
            sess = ort.InferenceSession(data, _SO, providers=["CPUExecutionProvider"])
        except Exception:
            stage["ort_load"] += time.perf_counter() - t2
            continue
        t3 = time.perf_counter()
        stage["ort_load"] += t3 - t2
        try:
            sess.run(None, {i.name: ins[i.name] for i in sess.get_inputs() if i.name in ins})
        except Exception:
            pass
        stage["ort_run"] += time.perf_counter() - t3
    _cpu_stop("limit")
    return time.perf_counter() - t_all, stage


def harness(cases, exporter: Exporter) -> tuple[float, Counter, Counter]:
    stage, verdicts = Counter(), Counter()
    _cpu_start()
    t0 = time.perf_counter()
    for g, ins, s, _m, _n in cases:
        (r,) = run_graph(g, ins, [ExportOptions(exporter)], seed=s)
        verdicts[r.verdict.value] += 1
        for k, v in r.timings.items():
            stage[k] += v
    _cpu_stop("harness")
    return time.perf_counter() - t0, stage, verdicts


def harness_batched(cases, batch: int, memory: CrashMemory | None = None, name: str = "batched") -> tuple[float, Counter, Counter, BatchStats]:
    """Batched in groups of ``batch`` with one crash memory over all groups (fresh unless given),
    as a campaign worker sends them."""
    stage, verdicts, st = Counter(), Counter(), BatchStats()
    memory = memory if memory is not None else CrashMemory()
    _cpu_start()
    t0 = time.perf_counter()
    rs = []
    for i in range(0, len(cases), batch):
        rs += run_graphs_batched([(g, ins, s) for g, ins, s, _m, _n in cases[i:i + batch]], ExportOptions(Exporter.DYNAMO), max_batch=batch, memory=memory, stats=st)
    for r in rs:
        verdicts[r.verdict.value] += 1
        for k, v in r.timings.items():
            stage[k] += v
    _cpu_stop(name)
    return time.perf_counter() - t0, stage, verdicts, st


def check_identical(cases, batch: int) -> None:
    """Export every graph with the plain public call (no caches), with the cached set-up alone,
    and batched; print how many cached models are byte-identical to the plain ones and how many
    batched parts are equal to them (same nodes, attributes, initializers; names aside)."""
    members = [BatchMember(m, tuple(torch.from_numpy(np.array(v, copy=True)) for v in ins.values()), tuple(names), len(g.outputs), operator_keys(g))
               for g, ins, _s, m, names in cases]

    def one(m) -> bytes | None:
        try:
            with torch.no_grad():
                return export_dynamo_proto(m.module, m.args, ExportOptions(Exporter.DYNAMO)).SerializeToString()
        except Exception:
            return None  # the exporter crashed on this graph

    uninstall_dynamo_caches()
    plain = [one(m) for m in members]
    install_dynamo_caches()
    cached = [one(m) for m in members]
    parts = []
    for i in range(0, len(members), batch):
        parts += export_many(members[i:i + batch], ExportOptions(Exporter.DYNAMO), max_batch=batch)
    same_cached = sum(a == b for a, b in zip(plain, cached))
    exported = [(p, o) for p, o in zip(plain, parts) if p is not None and o.model]
    same_parts = sum(canonical_form(onnx.load_model_from_string(p)) == canonical_form(onnx.load_model_from_string(o.model)) for p, o in exported)
    crashed = sum(p is None for p in plain)
    crashed_both = sum(p is None and o.stage == "export" for p, o in zip(plain, parts))
    console.print(f"\n[bold]identity[/] over {len(members)} graphs: cached set-up byte-identical to the plain call {same_cached}/{len(members)} "
                  f"(crashes included); batched parts equal to the plain model {same_parts}/{len(exported)}; "
                  f"plain call crashed on {crashed}, of which batched path crashed too on {crashed_both}")


# CPU time of this process per measured loop (less sensitive than wall time to other load on the machine)
_cpu: dict[str, float] = {}
_cpu_t0 = [0.0]


def _cpu_start() -> None:
    _cpu_t0[0] = time.process_time()


def _cpu_stop(name: str) -> None:
    _cpu[name] = time.process_time() - _cpu_t0[0]


def build_cases(seeds: list[int], gen: GeneratorOptions):
    t0 = time.perf_counter()
    graphs = [(generate(s, gen), s) for s in seeds]
    t_gen = time.perf_counter() - t0
    cases = [(g, make_inputs(g, s), s, build_module(g), [i.name for i in g.inputs]) for g, s in graphs]
    return cases, t_gen / max(1, len(seeds))


def breakdown(title: str, n: int, rows: list[tuple[str, float, Counter]]) -> None:
    t = Table(title=title, title_justify="left")
    t.add_column("stage")
    for name, _, _ in rows:
        t.add_column(f"{name} ms/case", justify="right")
    for k in STAGES + ("rest",):
        vals = []
        for _, total, stage in rows:
            v = (total - sum(stage.values())) if k == "rest" else stage.get(k, 0.0)
            vals.append(f"{v / n * 1e3:.2f}" if (k in stage or k == "rest") else "-")
        t.add_row(k, *vals)
    t.add_row("total", *[f"{total / n * 1e3:.2f}" for _, total, _ in rows])
    console.print(t)


# -- campaign ------------------------------------------------------------------------------------
def campaign_rate(exporter: Exporter, workers: int, seconds: float) -> tuple[float, float, int]:
    """(cases/s over the whole run incl. worker start, cases/s from the first result on, cases)."""
    cfg = CampaignConfig(exporters=(exporter,), seconds=seconds, workers=workers, input_mode="normal")
    with tempfile.TemporaryDirectory(prefix="onnxfuzz-bench-") as d:
        t0 = time.monotonic()
        stamps = [time.monotonic() for _ in run_campaign(cfg, Path(d) / "c")]
        total = time.monotonic() - t0
    # results of one batched request arrive together: count what arrived after the first arrival
    later = [t for t in stamps if t > stamps[0] + 1e-3] if stamps else []
    steady = len(later) / (stamps[-1] - stamps[0]) if later else float("nan")
    return len(stamps) / total, steady, len(stamps)


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=150, help="graphs for the TorchScript figures")
    ap.add_argument("--dynamo-graphs", type=int, default=32)
    ap.add_argument("--nodes", type=int, default=10, help="operators per graph (exactly)")
    ap.add_argument("--batch", type=int, default=16, help="dynamo graphs per batched export")
    ap.add_argument("--repeat", type=int, default=2, help="interleaved repetitions of limit and harness (best kept)")
    ap.add_argument("--campaign-seconds", type=float, default=25.0, help="per campaign run (4 runs; includes worker start-up)")
    ap.add_argument("--no-campaign", action="store_true")
    ap.add_argument("--exporter", choices=("both", "torchscript", "dynamo"), default="both")
    ap.add_argument("--ops", default="", help="comma-separated catalog ops the graphs may use (default: all)")
    ap.add_argument("--dtypes", default="", help="comma-separated input dtypes (default: all the generator draws)")
    ap.add_argument("--warm-graphs", type=int, default=48, help="dynamo: other graphs that warm the crash memory first, as a running worker's is")
    ap.add_argument("--check-identical", type=int, default=0, metavar="N",
                    help="dynamo: also check on N graphs that the cached and batched paths export the plain call's models")
    quiet_out, quiet_err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _OUT  # --help and usage errors must reach the user
    a = ap.parse_args()
    sys.stdout, sys.stderr = quiet_out, quiet_err
    torch.set_num_threads(1)
    silence_loggers()
    gen = GeneratorOptions(min_nodes=a.nodes, max_nodes=a.nodes, **({"ops": tuple(a.ops.split(","))} if a.ops else {}),
                           **({"dtypes": tuple(a.dtypes.split(","))} if a.dtypes else {}))
    v = stack_versions()
    log(f"bench: {os.cpu_count()} CPUs, torch {v['torch']}, onnxruntime {v['onnxruntime']}, onnxscript {v['onnxscript']}; "
        f"graphs of {a.nodes} ops{(' from ' + a.ops) if a.ops else ''}{(', dtypes ' + a.dtypes) if a.dtypes else ''}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    summary = []

    # ---------------- TorchScript
    if a.exporter != "dynamo":
        summary.append(bench_torchscript(a, gen))
    if a.exporter != "torchscript":
        summary.append(bench_dynamo(a, gen))
    campaign_summary(a, summary)


def bench_torchscript(a, gen: GeneratorOptions) -> tuple:
    seeds, pool_rate = screen(Exporter.TORCHSCRIPT, list(range(a.graphs)), gen, a.batch)
    log(f"torchscript: {len(seeds)}/{a.graphs} seeds kept (the rest take a worker down); pool, 1 worker: {pool_rate:.1f} cases/s")
    cases, gen_s = build_cases(seeds, gen)
    limit(cases[:10], Exporter.TORCHSCRIPT)
    harness(cases[:10], Exporter.TORCHSCRIPT)
    best_l = best_h = None
    for _ in range(a.repeat):
        tl = limit(cases, Exporter.TORCHSCRIPT)
        th = harness(cases, Exporter.TORCHSCRIPT)
        best_l = tl if best_l is None or tl[0] < best_l[0] else best_l
        best_h = th if best_h is None or th[0] < best_h[0] else best_h
        log(f"torchscript: limit {len(cases) / tl[0]:.1f} cases/s, harness {len(cases) / th[0]:.1f} cases/s")
    n = len(cases)
    lim, har = n / best_l[0], n / best_h[0]
    console.print(f"\n[bold]TorchScript[/] ({n} graphs): limit {lim:.1f} cases/s, harness {har:.1f} cases/s = [bold]{har / lim:.0%}[/] of the limit; "
                  f"verdicts {dict(best_h[2])}; generation {gen_s * 1e3:.2f} ms/graph (pool and campaign only)")
    breakdown("TorchScript, time per case", n, [("limit", best_l[0], best_l[1]), ("harness", best_h[0], best_h[1])])
    return ("torchscript", lim, har, pool_rate)


def bench_dynamo(a, gen: GeneratorOptions) -> tuple:
    seeds, pool_rate = screen(Exporter.DYNAMO, list(range(a.dynamo_graphs)), gen, a.batch)
    log(f"dynamo: {len(seeds)}/{a.dynamo_graphs} seeds kept; pool, 1 worker, batched 'seeds' requests: {pool_rate:.2f} cases/s")
    cases, gen_s = build_cases(seeds, gen)
    n = len(cases)
    uninstall_dynamo_caches()
    limit(cases[:1], Exporter.DYNAMO)  # first call pays for imports
    tl = limit(cases, Exporter.DYNAMO)
    log(f"dynamo: plain public call (limit): {n / tl[0]:.2f} cases/s (CPU {_cpu['limit'] / n:.2f} s/case)")
    install_dynamo_caches()
    harness(cases[:1], Exporter.DYNAMO)
    th = harness(cases, Exporter.DYNAMO)
    log(f"dynamo: harness, one export per case, cached set-up: {n / th[0]:.2f} cases/s (CPU {_cpu['harness'] / n:.2f} s/case)")
    tb = harness_batched(cases, a.batch)
    log(f"dynamo: harness, batched by {a.batch}, fresh crash memory: {n / tb[0]:.2f} cases/s (CPU {_cpu['batched'] / n:.2f} s/case; {tb[3]})")
    # a campaign worker's crash memory has seen many graphs: warm one on other graphs of the same kind
    memory = CrashMemory()
    if a.warm_graphs:
        warm_seeds, _ = screen(Exporter.DYNAMO, list(range(10_000, 10_000 + a.warm_graphs)), gen, a.batch)
        harness_batched(build_cases(warm_seeds, gen)[0], a.batch, memory, name="warm-up")
    tw = harness_batched(cases, a.batch, memory, name="warm")
    log(f"dynamo: harness, batched by {a.batch}, crash memory warmed on {a.warm_graphs} other graphs: {n / tw[0]:.2f} cases/s "
        f"(CPU {_cpu['warm'] / n:.2f} s/case; {tw[3]})")
    lim = n / tl[0]
    console.print(f"\n[bold]dynamo[/] ({n} graphs): plain call {lim:.2f} cases/s; harness alone+cached {n / th[0]:.2f} cases/s "
                  f"(x{tl[0] / th[0]:.1f}); harness batched {n / tb[0]:.2f} cases/s (x{tl[0] / tb[0]:.1f} the plain call), "
                  f"with a warmed crash memory {n / tw[0]:.2f} cases/s ([bold]x{tl[0] / tw[0]:.1f}[/]); verdicts {dict(tb[2])}")
    console.print(f"dynamo CPU time of this process: plain {_cpu['limit'] / n:.3f} s/case, cached {_cpu['harness'] / n:.3f} "
                  f"(x{_cpu['limit'] / _cpu['harness']:.1f}), batched {_cpu['batched'] / n:.3f} (x{_cpu['limit'] / _cpu['batched']:.1f}), "
                  f"batched with a warmed crash memory {_cpu['warm'] / n:.3f} ([bold]x{_cpu['limit'] / _cpu['warm']:.1f}[/] the plain call)")
    breakdown("dynamo, time per case", n, [("plain", tl[0], tl[1]), ("cached", th[0], th[1]), ("batched", tb[0], tb[1]), ("warmed", tw[0], tw[1])])
    if a.check_identical:
        check_identical(cases[:a.check_identical], a.batch)
    return ("dynamo", lim, n / tw[0], pool_rate)


def campaign_summary(a, summary: list[tuple]) -> None:
    camp = {}
    if not a.no_campaign:
        for ex in (Exporter(name) for name, *_ in summary):
            for w in (1, 2):
                camp[(ex.value, w)] = campaign_rate(ex, w, a.campaign_seconds)
                log(f"campaign {ex.value} workers={w}: {camp[(ex.value, w)][0]:.2f} cases/s overall, {camp[(ex.value, w)][1]:.2f} steady ({camp[(ex.value, w)][2]} cases)")

    t = Table(title=f"summary (cases/s; load average now {os.getloadavg()[0]:.1f})", title_justify="left")
    for c in ("exporter", "limit", "harness", "harness/limit", "pool 1 worker", "campaign 1w", "campaign 2w", "2w/1w"):
        t.add_column(c, justify="right")
    for name, lim, har, pool in summary:
        c1, c2 = camp.get((name, 1)), camp.get((name, 2))
        t.add_row(name, f"{lim:.2f}", f"{har:.2f}", f"{har / lim:.0%}" if name == "torchscript" else f"x{har / lim:.1f}", f"{pool:.2f}",
                  f"{c1[1]:.2f}" if c1 else "-", f"{c2[1]:.2f}" if c2 else "-", f"{c2[1] / c1[1]:.2f}" if c1 and c2 else "-")
    console.print(t)
    console.print("limit: eager + torch.onnx.export + InferenceSession + run, nothing else (dynamo: the plain public call). "
                  "harness: run_graph in-process (dynamo: batched, with the export caches). pool: seeds through one worker "
                  "(adds generation + IPC). campaign: run_campaign defaults, steady rate from the first result on "
                  "(the campaign loop sends one seed per request).")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        _OUT.write("bench: interrupted\n")
        raise SystemExit(130)
    except Exception:  # fds 1 and 2 go to /dev/null: report our own failure on the channel we kept
        import traceback

        _OUT.write(traceback.format_exc())
        raise SystemExit(1)
