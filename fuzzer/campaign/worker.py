"""A worker process: runs cases on request, one at a time, isolated from the campaign.

Started as ``python -m fuzzer.campaign.worker``, or forked by the fork server. Protocol: JSON lines. The worker's original stdout
carries only protocol messages; fd 1 and fd 2 are redirected to a log file before anything else
runs, so exporter or runtime chatter (including C++ writes) can never corrupt the protocol.

Requests (one line each)::

    {"id": 7, "kind": "seed", "seed": 42, "export": {...}, "input_mode": "normal",
     "generator": {...}, "cases_dir": "/path/cases", "store": true}
    {"id": 8, "kind": "graph", "graph": {...graph JSON...}, "inputs": "/path/inputs.npz",
     "export": {...}, "input_mode": "normal"}

Reply: ``{"id": 7, "result": {...CaseResult.to_dict()...}, "case_dir": "..." | null, "elapsed": s}``
or ``{"id": 7, "internal_error": "traceback"}`` for a bug of ours (the campaign stops loudly).

A mutant of a corpus graph (coverage feedback, :mod:`fuzzer.campaign.feedback`)::

    {"id": 10, "kind": "mutant", "slot": 12, "parent": {...graph JSON...} | null,
     "donor": {...} | null, "mutation_seed": 1099511627776, "export": {...}, "input_mode": "normal",
     "generator": {...}, "cases_dir": "/path/cases", "store": true}

The worker builds the graph with :func:`fuzzer.generate.corpus.mutant_case` (deterministic in
parent, donor, seed and options), runs it like a seed and adds ``"graph": {...}`` (the mutant)
to the reply; its case directory is named ``m<slot>-<exporter>-<verdict>``. ``"return_graph":
true`` on a seed or seeds request adds the generated graph(s) the same way.

Rebuilding the graph and inputs of a case whose worker died (:mod:`fuzzer.campaign.regen`)::

    {"id": 11, "kind": "regen", "seed": 42, "generator": {...}, "input_mode": "special",
     "out": "/path/dir", "mutant": {"parent": ..., "donor": ...} | null}

Reply: ``{"id": 11, "regenerated": "/path/dir" | null, "elapsed": s}`` (null, with ``"error"``, if
generation raised).

Several seeds in one request (for the dynamo exporter, whose exports are batched, see
:func:`fuzzer.campaign.case.run_graphs_batched`; TorchScript seeds are simply run one after the
other)::

    {"id": 9, "kind": "seeds", "seeds": [42, 43, ...], "export": {...}, "input_mode": "normal",
     "generator": {...}, "cases_dir": "/path/cases", "store": true, "max_batch": 16}

Reply: ``{"id": 9, "results": [{"seed": 42, "result": {...}, "case_dir": ... | null}, ...],
"elapsed": s}``, one entry per requested seed, in request order. A worker death during such a
request takes the whole request down: the campaign re-runs those seeds one by one (kind "seed")
to find which one kills the worker.

Process set-up (once, at start): torch runs single-threaded (the pool runs one worker per core;
intra-op threads fighting over the same cores made tiny eager ops up to 50x slower); the dynamo
exporter's per-call set-up is cached (:mod:`fuzzer.export.dynamo_cache`; set
``ONNXFUZZ_NO_EXPORT_CACHE=1`` to turn it off); exporter loggers are silenced once. That is
:func:`prepare`; the pool normally runs it once in a fork server (:mod:`fuzzer.campaign.zygote`)
and forks workers from it (:func:`run_forked`), so a dead worker is replaced in milliseconds.

A request may carry ``"inject": "abort" | "hang" | "oom" | "segv"``: honoured only when the
environment has ``ONNXFUZZ_TEST_HOOKS=1`` (tests use it to exercise crash isolation for real).
SIGINT is ignored: the campaign decides when a worker stops.
"""

from __future__ import annotations

import base64
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
    from fuzzer.campaign.confirm import confirm_mismatch

    return confirm_mismatch(graph, inputs, r).to_dict()


def prepare(warm: bool = False) -> None:
    """Import and set up everything a worker needs, once per process. ``warm``: also build the
    torchlib registry into the export cache (the fork server does, so every worker it forks has it)."""
    import torch

    import fuzzer.campaign.case  # noqa: F401  (the harness and everything it imports)
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
    """A worker forked by the fork server (:mod:`fuzzer.campaign.zygote`), stdin/stdout already its pipes."""
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
    from pathlib import Path

    from fuzzer.campaign.artifacts import load_inputs, mutant_dirname, save_case
    from fuzzer.campaign.case import run_graph, run_graphs_batched
    from fuzzer.campaign.regen import rebuild_case
    from fuzzer.compare import Verdict
    from fuzzer.export import ExportOptions, Exporter
    from fuzzer.export.batch import BatchStats, CrashMemory
    from fuzzer.generate import GenerationStats, GeneratorOptions, generate, make_inputs
    from fuzzer.generate.corpus import mutant_case
    from fuzzer.ir import graph_from_dict, graph_to_dict

    memory = CrashMemory()  # which operators crashed the dynamo exporter in this worker (batching hint)
    batch_stats = BatchStats()

    out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in inp:
        if not line.strip():
            continue
        req = json.loads(line)
        rid = req.get("id")
        t0 = time.perf_counter()
        try:
            if req.get("inject"):
                _inject(req["inject"])
            if req["kind"] == "regen":  # rebuild a case whose worker died (fuzzer.campaign.regen)
                try:
                    rebuild_case(req["seed"], req["generator"], req.get("input_mode", "normal"), Path(req["out"]), req.get("mutant"))
                    done = {"regenerated": req["out"]}
                except Exception as e:  # the case is still recorded, without its graph
                    done = {"regenerated": None, "error": f"{type(e).__name__}: {e}"[:500]}
                out.write(json.dumps({"id": rid, **done, "elapsed": time.perf_counter() - t0}) + "\n")
                continue
            ex = req["export"]
            export = ExportOptions(Exporter(ex["exporter"]), ex.get("opset"), ex.get("optimize", True))
            mode = req.get("input_mode", "normal")
            gstats = GenerationStats()
            if req["kind"] == "seeds":
                opts = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in req["generator"].items()})
                cases = []
                for seed in req["seeds"]:
                    graph = generate(seed, opts, gstats)
                    cases.append((graph, make_inputs(graph, seed, mode), seed))
                options = {"generator": req.get("generator")}
                if export.exporter is Exporter.DYNAMO:
                    rs = run_graphs_batched(cases, export, input_mode=mode, options=options, max_batch=req.get("max_batch", 16), memory=memory, stats=batch_stats)
                else:
                    rs = [run_graph(g, ins, [export], seed=seed, input_mode=mode, options=options)[0] for g, ins, seed in cases]
                entries = []
                for (graph, inputs, seed), r in zip(cases, rs):
                    case_dir = None
                    if req.get("store") and r.verdict is not Verdict.PASS:
                        case_dir = str(save_case(Path(req["cases_dir"]), graph, inputs, r))
                    entries.append({"seed": seed, "result": r.to_dict(), "case_dir": case_dir, "confirmation": _confirm(graph, inputs, r), "coverage": _coverage(r),
                                    "graph": graph_to_dict(graph) if req.get("return_graph") else None})
                out.write(json.dumps({"id": rid, "results": entries, "elapsed": time.perf_counter() - t0,
                                      "generation": {"attempts": gstats.attempts, "accepted": gstats.accepted, "rejected": dict(gstats.rejected)}},
                                     allow_nan=False, default=str) + "\n")
                continue
            if req["kind"] == "seed":
                opts = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in req["generator"].items()})
                seed = req["seed"]
                graph = generate(seed, opts, gstats)
                inputs = make_inputs(graph, seed, mode)
            elif req["kind"] == "mutant":
                opts = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in req["generator"].items()})
                seed = req["mutation_seed"]
                parent, donor = (graph_from_dict(req[k]) if req.get(k) else None for k in ("parent", "donor"))
                graph = mutant_case(parent, donor, seed, opts, gstats)
                inputs = make_inputs(graph, seed, mode)
            else:
                graph = graph_from_dict(req["graph"])
                seed = graph.meta.get("seed")
                inputs = load_inputs(Path(req["inputs"]), graph)
            (r,) = run_graph(graph, inputs, [export], seed=seed, input_mode=mode, options={"generator": req.get("generator")})
            generated = req["kind"] in ("seed", "mutant")
            confirmation = _confirm(graph, inputs, r) if generated else None
            case_dir = None
            if req.get("store") and r.verdict is not Verdict.PASS:
                name = mutant_dirname(req["slot"], r) if req["kind"] == "mutant" else None
                case_dir = str(save_case(Path(req["cases_dir"]), graph, inputs, r, name))
            reply = {"id": rid, "result": r.to_dict(), "case_dir": case_dir, "elapsed": time.perf_counter() - t0, "confirmation": confirmation,
                     "coverage": _coverage(r) if generated else None,
                     "graph": graph_to_dict(graph) if (req["kind"] == "mutant" or req.get("return_graph")) else None,
                     "model_b64": base64.b64encode(r.model).decode() if (req["kind"] == "graph" and r.model) else None,
                     "generation": {"attempts": gstats.attempts, "accepted": gstats.accepted, "rejected": dict(gstats.rejected)}}
        except MemoryError:
            reply = {"id": rid, "memory_error": True, "elapsed": time.perf_counter() - t0}
        except Exception:  # our own bug: report it whole, the campaign stops loudly
            reply = {"id": rid, "internal_error": traceback.format_exc()}
        out.write(json.dumps(reply, allow_nan=False, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
