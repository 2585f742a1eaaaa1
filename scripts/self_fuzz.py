"""Fuzz onnxfuzz's own inputs for a long time: the Hypothesis tests of
tests/unit/cli/test_self_fuzz.py (graph.json, inputs.npz, finding.json, campaign.json and
results.jsonl files mutated and fed to check, findings show/replay/list, fuzz --resume and stats)
with many more examples than the suite runs.

Usage: python scripts/self_fuzz.py [--examples 10000] [-k EXPR]

Prints pytest's summary (one line per entry point with -v) and the Hypothesis statistics; exit code
1 if any example got a traceback, an undocumented exit code, more than one line, or ran code.
A failing example is printed in full and kept in .hypothesis/ (the next run tries it first).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=10_000, help="examples per entry point (default 10000; the suite runs 40)")
    ap.add_argument("-k", default=None, help="only the entry points whose test name matches (pytest -k)")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "pytest", "-v", "-p", "no:warnings", "--hypothesis-show-statistics", str(ROOT / "tests/unit/cli/test_self_fuzz.py")]
    if args.k:
        cmd += ["-k", args.k]
    env = {**os.environ, "ONNXFUZZ_SELF_FUZZ_EXAMPLES": str(args.examples)}
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
