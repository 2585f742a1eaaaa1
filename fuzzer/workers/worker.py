"""A worker process: answers requests (:mod:`fuzzer.workers.protocol`) one at a time, isolated
from the caller.

Forked by the fork server (:mod:`fuzzer.workers.forkserver`) or started as ``python -m
fuzzer.workers.worker``. The worker's original stdout carries only protocol messages (JSON lines);
fd 1 and fd 2 are redirected to a log file before anything else runs, so exporter or runtime
chatter (including C++ writes) can never corrupt the protocol. It writes ``{"ready": true, "pid":
n}`` once, then one reply line per request line.

Process set-up (once, at start): torch runs single-threaded (the pool runs one worker per core;
intra-op threads fighting over the same cores made tiny eager ops up to 50x slower); the dynamo
exporter's per-call set-up is cached (:mod:`fuzzer.export.dynamo_cache`; set
``ONNXFUZZ_NO_EXPORT_CACHE=1`` to turn it off); exporter loggers are silenced once. That is
:func:`prepare`; the pool normally runs it once in the fork server and forks workers from it
(:func:`run_forked`), so a dead worker is replaced in milliseconds.

A request may carry ``inject``: "abort" | "hang" | "oom" | "segv", honoured only when the
environment has ``ONNXFUZZ_TEST_HOOKS=1`` (tests use it to exercise crash isolation for real).
SIGINT is ignored: the caller decides when a worker stops.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback


def _setup_fds(log_path: str | None) -> int:
    """Keep the protocol channel private; send everything else to the log (or /dev/null)."""
    proto = os.dup(1)
    target = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if log_path else os.open(os.devnull, os.O_WRONLY)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    return proto


def _inject(kind: str) -> None:
    if os.environ.get("ONNXFUZZ_TEST_HOOKS") != "1":
        return
    if kind == "abort":
        os.abort()
    elif kind == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif kind == "hang":
        time.sleep(3600)
    elif kind == "oom":
        hog = []
        while True:  # grow until the campaign's memory watchdog kills us
            hog.append(bytearray(64 * 1024 * 1024))
            hog[-1][::4096] = b"x" * len(hog[-1][::4096])
            time.sleep(0.01)


def _coverage(r) -> dict | None:
    """Coverage items of the exported model (op types, typed ops, n-grams, paper sequences):
    extracted here because only failing cases' models travel back to the campaign."""
    if r.model is None:
        return None
    import onnx
    from google.protobuf.message import DecodeError

    from fuzzer.coverage import model_items

    try:
        return {k: sorted(v) for k, v in model_items(onnx.load_model_from_string(r.model)).items()}
    except DecodeError:
        return None


def _confirm(graph, inputs, r) -> dict | None:
    """Replay a mismatch with fresh inputs and in float64 before it may become a finding."""
    from fuzzer.compare import Verdict

    if r.verdict not in (Verdict.NUMERIC_MISMATCH, Verdict.SHAPE_OR_DTYPE_MISMATCH):
        return None
    from fuzzer.case.confirm import confirm_mismatch
    from fuzzer.case.dynamic import failing_size_case

    other = failing_size_case(graph, r)  # a dynamic export wrong at another size: replay at that size
    if other is not None:
        graph, inputs = other
    return confirm_mismatch(graph, inputs, r).to_dict()


def prepare(warm: bool = False) -> None:
    """Import and set up everything a worker needs, once per process. ``warm``: also build the
    torchlib registry into the export cache (the fork server does, so every worker it forks has it)."""
    import torch

    import fuzzer.case  # noqa: F401  (the harness and everything it imports)
    import fuzzer.workers.protocol  # noqa: F401
    from fuzzer.export.dynamo_cache import install_dynamo_caches
    from fuzzer.export.quiet import silence_loggers

    torch.set_num_threads(1)
    silence_loggers()
    if os.environ.get("ONNXFUZZ_NO_EXPORT_CACHE") != "1":
        install_dynamo_caches()
        if warm:
            from torch.onnx._internal.exporter import _registration

            _registration.ONNXRegistry.from_torchlib()


def main() -> int:
    """A worker started as its own process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto = _setup_fds(os.environ.get("ONNXFUZZ_WORKER_LOG"))
    out = os.fdopen(proto, "w", buffering=1, encoding="utf-8")
    prepare()  # after the fds are private: import warnings go to the log
    return serve(sys.stdin, out)


def run_forked(log: str | None) -> int:
    """A worker forked by the fork server (:mod:`fuzzer.workers.forkserver`), stdin/stdout already its pipes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log is None:
        os.environ.pop("ONNXFUZZ_WORKER_LOG", None)
    else:
        os.environ["ONNXFUZZ_WORKER_LOG"] = log
    proto = _setup_fds(log)
    out = os.fdopen(proto, "w", buffering=1, encoding="utf-8")
    return serve(os.fdopen(0, "r", encoding="utf-8", closefd=False), out)


def serve(inp, out) -> int:
    """Answer requests from ``inp`` on ``out`` (JSON lines) until ``inp`` ends."""
    from fuzzer.export.batch import BatchStats, CrashMemory

    from .protocol import request_from_wire

    state = _State(CrashMemory(), BatchStats())  # which operators crashed the dynamo exporter here (batching hint)
    out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in inp:
        if not line.strip():
            continue
        msg = json.loads(line)
        rid = msg.get("id")
        t0 = time.perf_counter()
        try:
            req = request_from_wire(msg)
            if getattr(req, "inject", None):
                _inject(req.inject)
            reply = _HANDLERS[req.kind](req, state)
            doc = {"id": rid, **reply.to_wire()}
            doc["elapsed"] = time.perf_counter() - t0
        except MemoryError:
            doc = {"id": rid, "memory_error": True, "elapsed": time.perf_counter() - t0}
        except Exception:  # our own bug: report it whole, the caller stops loudly
            doc = {"id": rid, "internal_error": traceback.format_exc()}
        out.write(json.dumps(doc, allow_nan=False, default=str) + "\n")
    return 0


class _State:
    """What a worker keeps across requests: the crash memory (a batching hint) and the batching
    counters of all its requests."""

    def __init__(self, memory, batch_stats):
        self.memory = memory
        self.batch_stats = batch_stats

    def batching(self, request):
        """Add one request's batching counters to the worker's; what its reply carries (None: no dynamo batching)."""
        self.batch_stats.add(request)
        return request.to_dict() or None


def _request_stats():
    from fuzzer.export.batch import BatchStats

    return BatchStats()


def _generation(gstats) -> dict:
    return {"attempts": gstats.attempts, "accepted": gstats.accepted, "rejected": dict(gstats.rejected), "explored": gstats.explored}


def _run_seeds(req, state):
    from pathlib import Path

    from fuzzer.case import run_graph, run_graphs_batched, save_case
    from fuzzer.compare import Verdict
    from fuzzer.export import Exporter
    from fuzzer.generate import GenerationStats, generate, make_inputs
    from fuzzer.ir import graph_to_dict

    from .protocol import CaseReply, RunReply

    from fuzzer.generate.avoid import load_avoidance

    gstats = GenerationStats()
    cases, known = [], []
    for k, seed in enumerate(req.seeds):
        table = load_avoidance(req.known_for(k))
        known.append(table)
        graph = generate(seed, req.generator, gstats, table if req.avoid else None)
        cases.append((graph, make_inputs(graph, seed, req.input_mode), seed))
    options = {"generator": req.generator.to_dict()}
    batching = _request_stats()
    if req.export.exporter is Exporter.DYNAMO and len(cases) > 1:
        rs = run_graphs_batched(cases, req.export, input_mode=req.input_mode, options=options, max_batch=len(cases), memory=state.memory, stats=batching)
    else:
        rs = [run_graph(g, x, [req.export], seed=seed, input_mode=req.input_mode, options=options)[0] for g, x, seed in cases]
    if req.cut:
        from fuzzer.case.cut import clear_pending, pending_dir, run_past_known

        for k, ((graph, inputs, seed), r) in enumerate(zip(cases, rs)):
            # a cut graph that kills this process is what the supervisor must file, not the uncut seed
            pending = pending_dir(req.cases_dir, req.export.exporter.value, seed) if req.cases_dir is not None else None
            if pending is not None:
                clear_pending(pending)  # left by an earlier death of this seed: not this run's
            if r.verdict.is_failure and known[k] is not None:
                def rerun(g, x, seed=seed):
                    return run_graph(g, x, [req.export], seed=seed, input_mode=req.input_mode, options=options)[0]

                g2, x2, rs[k], _ = run_past_known(graph, inputs, r, known[k], rerun, pending=pending)
                cases[k] = (g2, x2, seed)
    replies = []
    for (graph, inputs, seed), r in zip(cases, rs):
        case_dir = None
        if req.cases_dir is not None and r.verdict is not Verdict.PASS:
            case_dir = str(save_case(Path(req.cases_dir), graph, inputs, r))
        replies.append(CaseReply(_with_coverage(r), case_dir, _confirm(graph, inputs, r), graph_to_dict(graph) if req.return_graph else None))
    return RunReply(tuple(replies), _generation(gstats), batching=state.batching(batching))


def _run_mutant(req, state):
    from pathlib import Path

    from fuzzer.case import run_graph, save_case
    from fuzzer.case.files import mutant_dirname
    from fuzzer.compare import Verdict
    from fuzzer.generate import GenerationStats, make_inputs
    from fuzzer.generate.corpus import mutant_case
    from fuzzer.ir import graph_from_dict, graph_to_dict

    from .protocol import CaseReply, RunReply

    gstats = GenerationStats()
    parent, donor = (graph_from_dict(g) if g else None for g in (req.parent, req.donor))
    graph = mutant_case(parent, donor, req.mutation_seed, req.generator, gstats)
    inputs = make_inputs(graph, req.mutation_seed, req.input_mode)
    (r,) = run_graph(graph, inputs, [req.export], seed=req.mutation_seed, input_mode=req.input_mode, options={"generator": req.generator.to_dict()})
    case_dir = None
    if req.cases_dir is not None and r.verdict is not Verdict.PASS:
        case_dir = str(save_case(Path(req.cases_dir), graph, inputs, r, mutant_dirname(req.slot, r)))
    return RunReply((CaseReply(_with_coverage(r), case_dir, _confirm(graph, inputs, r), graph_to_dict(graph)),), _generation(gstats))


def _run_graphs(req, state):
    from dataclasses import replace
    from pathlib import Path

    from fuzzer.case import load_inputs, run_graphs_variants
    from fuzzer.generate import make_inputs
    from fuzzer.ir import graph_from_dict

    from .protocol import CaseReply, RunReply

    cases = []
    for c in req.cases:
        graph = graph_from_dict(c.graph)
        seed = c.seed if c.seed is not None else graph.meta.get("seed")
        inputs = load_inputs(Path(c.inputs), graph) if c.inputs else make_inputs(graph, int(seed or 0), c.mode or req.input_mode)
        cases.append((graph, inputs, seed, c.options))
    batching = _request_stats()
    table = run_graphs_variants([(g, x, s) for g, x, s, _ in cases], req.exports, input_mode=req.input_mode, max_batch=req.max_batch,
                                memory=state.memory, stats=batching, input_modes=[c.mode or req.input_mode for c in req.cases])
    # a campaign's op jobs confirm their mismatches like its generated graphs (before the model goes)
    confirmations = [[_confirm(cases[j][0], cases[j][1], r) if req.confirm else None for r in row] for j, row in enumerate(table)]
    table = [[replace(r, options={**r.options, **cases[j][3]}, model=r.model if req.return_model else None) for r in row] for j, row in enumerate(table)]
    return RunReply(tuple(CaseReply(r, confirmation=c) for row, crow in zip(table, confirmations) for r, c in zip(row, crow)),
                    batching=state.batching(batching))


def _rebuild(req, state):
    from pathlib import Path

    from fuzzer.case.rebuild import rebuild_case

    from .protocol import RebuildReply

    try:
        rebuild_case(req.seed, req.generator, req.input_mode, Path(req.out), {"parent": req.parent, "donor": req.donor} if req.mutant else None,
                     req.avoid)
    except Exception as e:  # generation raised: the case is still recorded, without its graph
        return RebuildReply(None, f"{type(e).__name__}: {e}"[:500])
    return RebuildReply(req.out)


def _with_coverage(r):
    from dataclasses import replace

    return replace(r, coverage_items=_coverage(r))


_HANDLERS = {"seeds": _run_seeds, "mutant": _run_mutant, "graphs": _run_graphs, "rebuild": _rebuild}


if __name__ == "__main__":
    raise SystemExit(main())
