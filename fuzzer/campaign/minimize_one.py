"""Minimize findings filed raw, in a process of its own: the campaign's minimizer.

``python -m fuzzer.campaign.minimize_one STORE_ROOT EXPORTS_JSON SECONDS SCRATCH_DIR [NICE]``

Reads finding ids on stdin, one per line, and answers each with one line on stdout once the
finding is finished (:meth:`fuzzer.store.FindingStore.finish_minimization`):

- ``done ID INTO``: minimized (or found not to reproduce); the bug now lives in finding INTO;
- ``skip ID REASON``: nothing to do (no longer awaiting minimization);
- ``error ID REASON``: it cannot be minimized (unreadable, or our bug: the traceback is on stderr);
  the campaign keeps it raw for good.

Minimization re-infers shapes of candidate graphs with eager PyTorch, and eager PyTorch itself
can die on some shapes (SIGFPE in libtorch): doing it here keeps such a death away from the
campaign, which then knows the culprit (the finding it asked for last). Candidates run in an
isolated worker of their own, kept for the whole session, with its files under SCRATCH_DIR. The
process dies with the campaign (:mod:`fuzzer.workers.lifetime`), and so do its workers.

With NICE the process (and the worker it starts) first lowers its scheduling priority by that
much (``os.nice``): the campaign's workers then keep the cores, and minimization gets what they
leave.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    store_root, exports_json, seconds, scratch, *nice = argv
    if nice and int(nice[0]) > 0:
        import os

        os.nice(int(nice[0]))
    from fuzzer.export import ExportOptions
    from fuzzer.store import FindingStore
    from fuzzer.workers import IsolatedRunner
    from fuzzer.workers.ort_helper import install

    install()  # publishing a minimized finding renders its report: ONNX Runtime runs in a helper

    exports = {k: ExportOptions.from_dict(v) for k, v in json.loads(exports_json).items()}
    store = FindingStore(Path(store_root))
    with IsolatedRunner(scratch=Path(scratch)) as runner:
        while True:
            line = sys.stdin.readline()
            if not line:  # the campaign closed our stdin: done
                break
            fid = line.strip()
            if fid:
                print(_finish(store, runner, exports, float(seconds), fid), flush=True)
    store.close()
    return 0


def finding_job(doc: dict, exports: dict):
    """How a raw finding is minimized: (export options, input mode, the signature to keep)."""
    from fuzzer.export import ExportOptions, Exporter
    from fuzzer.store import export_options
    from fuzzer.store.store import is_dynamic
    from fuzzer.triage.signature import Signature

    exporter, opset, optimize = export_options(doc)  # a variant's own options (an op job's opset...)
    export = ExportOptions(Exporter(exporter), opset, optimize, is_dynamic(doc)) if doc.get("export") else exports.get(exporter) or ExportOptions(Exporter(exporter), opset)
    sig = doc["signature"]
    return export, doc.get("input_mode") or "normal", Signature(sig["verdict"], sig["exporter"], sig["detail"], tuple(sig.get("path_ops", ())))


def _finish(store, runner, exports, seconds: float, fid: str) -> str:
    from fuzzer.minimize import minimize
    from fuzzer.store import FindingError, load_case

    path = store.root / fid
    try:
        doc, graph, inputs = load_case(path)
    except FindingError as e:  # damaged, or from a newer build: it cannot be minimized here, keep it raw
        return f"error {fid} {' '.join(str(e).split())[:300]}"
    if not doc.get("awaiting_minimization"):
        return f"skip {fid} not awaiting minimization"
    try:
        export, mode, reference = finding_job(doc, exports)

        def run(g, x):
            return runner.run(g, x, [export], mode)[0]

        m = minimize(graph, inputs, run, seconds=seconds, reference=reference)
        into = store.finish_minimization(path, m)
        if m.reproduced and len(m.best.graph.nodes) >= 2:  # a chain: does it need the chain?
            from fuzzer.minimize.interaction import is_interaction

            store.mark_interaction(into, is_interaction(m.best.graph, m.best.inputs, run))
        return f"done {fid} {into}"
    except Exception as e:  # noqa: BLE001 - our bug: reported to the campaign, which keeps the finding raw
        traceback.print_exc()
        return f"error {fid} {type(e).__name__}: {' '.join(str(e).split())[:300]}"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
