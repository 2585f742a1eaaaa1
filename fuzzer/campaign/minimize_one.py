"""Minimize one failing case and file it, in a process of its own.

``python -m fuzzer.campaign.minimize_one STORE_ROOT EXPORTS_JSON SECONDS INPUT_MODE CASE_DIR...``

Minimization re-infers shapes of candidate graphs with eager PyTorch, and eager PyTorch itself
can die on some shapes (SIGFPE in libtorch): doing it here keeps such a death away from the
campaign. Candidates run in an isolated worker of their own. Cases are filed one by one (each
``record`` is atomic and keyed), so after a death the caller files the rest. Exit 0 when all were.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    store_root, exports_json, seconds, input_mode, *case_dirs = argv
    from fuzzer.case import load_case_dir
    from fuzzer.export import ExportOptions
    from fuzzer.minimize import minimize
    from fuzzer.store import FindingStore
    from fuzzer.workers import IsolatedRunner

    exports = {k: ExportOptions.from_dict(v) for k, v in json.loads(exports_json).items()}
    store = FindingStore(Path(store_root))
    with IsolatedRunner() as runner:
        for case_dir in case_dirs:
            graph, inputs, result = load_case_dir(Path(case_dir))
            export = exports[result.exporter]

            def run(g, x, export=export):
                return runner.run(g, x, [export], input_mode)[0]

            def mini(g, x, r, run=run):
                return minimize(g, x, run, seconds=float(seconds))

            store.record(graph, inputs, result, mini, f"{result.exporter}/{result.seed}")
            print(case_dir, flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
