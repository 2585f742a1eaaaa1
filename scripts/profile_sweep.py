"""Where a dynamo sweep's time goes: ``cProfile`` of one process running sweep jobs as a worker
runs them (``run_graphs_variants``: export caches installed, batches of ``--batch`` graphs, the
plan's export variants, one crash memory), on the jobs of ``--op-subset`` operators in plan order
(the subset ``scripts/bench_sweep.py --op-subset`` measures) or on a ``--sample`` spread over the
whole plan; or, with ``--campaign``, the op jobs a dynamo campaign's op arm sends (its requests
through the worker's handler, confirmations and dynamic variants included, the scheduler told
each job's results as the campaign tells it), to compare the two kinds of request.

    python scripts/profile_sweep.py --op-subset 40 --jobs 400
    python scripts/profile_sweep.py --sample 200
    python scripts/profile_sweep.py --campaign 400

Prints jobs per second (one process: about half a 2-worker sweep's rate), what batching did
(``BatchStats``: calls, failed batches, members sent alone and why), the batch failures whose
error named no member (by error head: each costs a fall back), and the cumulative time of the
exporter's steps and of our own stages.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: the functions whose cumulative time is printed: the exporter's steps, the batch path, our stages
STEPS = (r"_prepare_exported_program_for_export|_exported_program_to_onnx_program|convert_version|torch_2_8.py.*\(optimize\)|run_decompositions"
         r"|_override_composite|_export_captured|_variants_group|_export_group|_alone_variants|_split\b|run_onnxruntime|_finish_traced|_blame"
         r"|run_unoptimized|build_module|run_eager|compare_outputs|check_model")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--op-subset", type=int, default=40, metavar="K", help="every job of K catalog operators drawn with --subset-seed, in plan order (default)")
    which.add_argument("--sample", type=int, default=None, metavar="N", help="N jobs spread evenly over the whole plan instead")
    which.add_argument("--ops", default=None, help="every job of these comma-separated catalog operators, in plan order")
    which.add_argument("--campaign", type=int, default=None, metavar="N", help="the first N op jobs of a dynamo campaign (seed --subset-seed) instead")
    ap.add_argument("--subset-seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=400, help="jobs to profile (from --offset)")
    ap.add_argument("--offset", type=int, default=0, help="first job of the subset to profile")
    ap.add_argument("--batch", type=int, default=8, help="graphs per batched export (the sweep's default)")
    ap.add_argument("--top", type=int, default=30, help="functions to print")
    args = ap.parse_args(argv)

    import fuzzer.export.batch as batch
    from fuzzer.case.run import run_graphs_variants
    from fuzzer.catalog import CATALOG
    from fuzzer.export import Exporter
    from fuzzer.export.batch import BatchStats, CrashMemory
    from fuzzer.export.dynamo_cache import install_dynamo_caches
    from fuzzer.export.errors import summary_head
    from fuzzer.generate import make_inputs
    from fuzzer.sweep.plan import SweepConfig, enumerate_jobs
    from fuzzer.sweep.run import _sample

    install_dynamo_caches()
    if args.campaign is not None:
        return _campaign(args)
    if args.sample is not None:
        jobs = _sample(list(enumerate_jobs(SweepConfig(exporters=(Exporter.DYNAMO,)))), args.sample)
    elif args.ops is not None:
        jobs = list(enumerate_jobs(SweepConfig(exporters=(Exporter.DYNAMO,), ops=tuple(args.ops.split(",")))))[args.offset:args.offset + args.jobs]
    else:
        ops = tuple(sorted(random.Random(args.subset_seed).sample(sorted(CATALOG), args.op_subset)))
        jobs = list(enumerate_jobs(SweepConfig(exporters=(Exporter.DYNAMO,), ops=ops)))[args.offset:args.offset + args.jobs]
    if not jobs:
        print("no jobs to profile (check --offset and --jobs)", file=sys.stderr)
        return 2
    exports = jobs[0].exports
    unnamed = _count_unnamed(batch, summary_head)
    groups = [jobs[i:i + 2 * args.batch] for i in range(0, len(jobs), 2 * args.batch)]  # about a sweep request: --batch graphs, two input modes each
    memory, stats = CrashMemory(), BatchStats()

    def run(part):
        cases = [(j.graph, make_inputs(j.graph, j.seed, j.mode), j.seed) for j in part]
        run_graphs_variants(cases, exports, max_batch=args.batch, memory=memory, stats=stats, input_modes=[j.mode for j in part])

    run(groups[0][:1])  # warm-up: imports and registries, not profiled
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    for part in groups:
        run(part)
    profile.disable()
    _print(args, profile, time.perf_counter() - t0, len(jobs), f"{len(exports)} variants", stats, unnamed)
    return 0


def _count_unnamed(batch, summary_head) -> Counter:
    """Count the batch failures whose error names no member (each costs a fall back or a guess)."""
    unnamed: Counter = Counter()
    crash_of = batch._crash_of

    def counting(e, sources):
        c = crash_of(e, sources)
        if c.suspect is None:
            unnamed[summary_head(str(e)) or str(e).splitlines()[0][:160]] += 1
        return c

    batch._crash_of = counting
    return unnamed


def _campaign(args) -> int:
    """The op jobs of a dynamo campaign, request by request, as its workers run them."""
    import tempfile

    import fuzzer.export.batch as batch
    from fuzzer.campaign import CampaignConfig
    from fuzzer.campaign.scheduler import Scheduler
    from fuzzer.export import Exporter
    from fuzzer.export.batch import BatchStats, CrashMemory
    from fuzzer.export.errors import summary_head
    from fuzzer.workers.worker import _run_graphs, _State

    config = CampaignConfig(exporters=(Exporter.DYNAMO,), seconds=60, seed=args.subset_seed, workers=1, arms=("ops",), minimize_seconds=None)
    unnamed = _count_unnamed(batch, summary_head)
    with tempfile.TemporaryDirectory() as tmp:
        sched = Scheduler(config, set(), None, Path(tmp))
        state = _State(CrashMemory(), BatchStats())
        warm = sched.next_request(Counter(), Counter())  # warm-up: imports and registries, not profiled
        _run_graphs(warm.request, _State(CrashMemory(), BatchStats()))
        profile = cProfile.Profile()
        jobs, variants, t0 = 0, Counter(), time.perf_counter()
        while jobs < args.campaign:
            pick = sched.next_request(Counter(), Counter())
            if pick is None:
                break
            profile.enable()
            reply = _run_graphs(pick.request, state)
            profile.disable()
            answers = iter(reply.cases)
            for _, job in pick.jobs:  # what the campaign learns from each job (strikes of refused variants)
                sched.observe_op("dynamo", job, [next(answers).result for _ in pick.request.exports])
            jobs += len(pick.jobs)
            variants[len(pick.request.exports)] += len(pick.jobs)
        seconds = time.perf_counter() - t0
    per = ", ".join(f"{n} jobs with {k}" for k, n in sorted(variants.items()))
    _print(args, profile, seconds, jobs, f"variants ({per})", state.batch_stats, unnamed)
    return 0


def _print(args, profile, seconds: float, jobs: int, variants: str, stats, unnamed: Counter) -> None:
    print(f"{jobs} jobs x {variants} in {seconds:.1f} s: {jobs / seconds:.2f} jobs/s (one process)")
    print(stats)
    for head, n in unnamed.most_common(10):
        print(f"unnamed failure x{n}: {head}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(STEPS, args.top)
    print(out.getvalue())


if __name__ == "__main__":
    raise SystemExit(main())
