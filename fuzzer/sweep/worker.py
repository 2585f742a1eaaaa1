"""The sweep's worker process: ``python -m fuzzer.sweep.worker``.

Protocol (JSON lines; no pickle): the parent writes one job per line on the worker's stdin (see
:meth:`SweepJob.to_wire`); the worker answers on its *original* stdout with one line per export
variant, in order, ``{"key", "index", "result"}``, then ``{"key", "done": true}``. Anything else the
stack prints (warnings, C++ logs) goes to stderr, because fd 1 is redirected there at start, so it
can never corrupt the protocol.

The process is a supervisor that forks the process doing the work (see :func:`main`). When that
child dies, the supervisor writes ``{"died": true, "signal", "exit_code"}`` and forks a new one;
the parent knows the variant in flight (the first index it has no answer for) and resubmits the
job's remaining variants.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Callable, Mapping

from fuzzer.export import ExportOptions, Exporter


def run_job(job: Mapping, emit: Callable[[dict], None]) -> None:
    """Run every export variant of one wire job, emitting each result as soon as it exists."""
    from fuzzer.campaign import run_graph
    from fuzzer.generate import make_inputs
    from fuzzer.ir import graph_from_dict

    from .wire import result_to_wire

    graph = graph_from_dict(job["graph"])
    inputs = make_inputs(graph, job["seed"], job["mode"])
    start = job.get("start", 0)
    for k, e in enumerate(job["exports"]):
        if k < start:
            continue
        ex = ExportOptions(Exporter(e["exporter"]), e["opset"], e["optimize"])
        options = dict(job.get("context", {}), export=ex.to_dict())
        (r,) = run_graph(graph, inputs, [ex], seed=job["seed"], input_mode=job["mode"], options=options)
        emit({"key": job["key"], "index": k, "result": result_to_wire(r)})
    emit({"key": job["key"], "done": True})


#: Exit code of a child that hit a bug of ours (the parent stops the sweep instead of recording it).
INTERNAL_ERROR_EXIT = 70


def _child(emit: Callable[[dict], None]) -> None:
    for line in sys.stdin:
        if line.strip():
            run_job(json.loads(line), emit)


def main() -> int:
    """Supervisor: import the stack once (and build the dynamo exporter's reusable set-up, see
    :mod:`fuzzer.export.dynamo_cache`), then fork a child that serves jobs until stdin ends.
    When a child dies (a signal inside a native library, an abort), report it and fork a fresh
    one from the warm supervisor (milliseconds, instead of re-importing torch)."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints of the stack go to stderr, never into the protocol
    sys.stdout = sys.stderr
    from fuzzer.campaign.worker import prepare

    prepare(warm=True)  # the campaign workers' set-up: imports, export caches, torchlib registry, once
    import fuzzer.generate  # noqa: F401

    def emit(msg: dict) -> None:
        proto.write(json.dumps(msg, allow_nan=False, default=str) + "\n")
        proto.flush()

    while True:
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                _child(emit)
            except BaseException:  # our own bug: show it, and let the supervisor report the exit code
                import traceback

                traceback.print_exc()
                code = INTERNAL_ERROR_EXIT
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return 0  # stdin ended
        if os.WIFSIGNALED(status):
            emit({"died": True, "signal": signal.Signals(os.WTERMSIG(status)).name, "exit_code": -os.WTERMSIG(status)})
        else:
            emit({"died": True, "signal": None, "exit_code": os.WEXITSTATUS(status)})


if __name__ == "__main__":
    raise SystemExit(main())
