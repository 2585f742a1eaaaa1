#!/usr/bin/env python3
"""Run every inline script of the findings' report.md files and check that each exits 1 (the bug
still reproduces), as a reader of the issue would run it: the script alone, in an empty directory.

Usage: python scripts/check_report_scripts.py [findings-dir] [--jobs N] [--timeout S] [--first-only]

A report's inline scripts are the fenced ``python`` blocks after ``<!-- onnxfuzz:script -->``: the
reproduction (torch-free for ONNX Runtime bugs) and, for those, how the model was produced.
A finding whose status is ``fixed`` must exit 0 instead. Exit code: 0 when every script behaves,
1 otherwise (each offender is listed with the end of its output), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def scripts_of(findings: Path, first_only: bool) -> list[tuple[str, int, str, int]]:
    """(finding id, script number, source, expected exit code) for every report under ``findings``."""
    from fuzzer.store.store import inline_scripts

    jobs = []
    for d in sorted(p for p in findings.iterdir() if (p / "report.md").exists() and (p / "finding.json").exists()):
        status = json.loads((d / "finding.json").read_text()).get("status", "new")
        scripts = inline_scripts((d / "report.md").read_text(encoding="utf-8"))
        if not scripts:
            jobs.append((d.name, -1, "", 1))
        for k, src in enumerate(scripts[:1] if first_only else scripts):
            jobs.append((d.name, k, src, 0 if status == "fixed" else 1))
    return jobs


def run_one(src: str, timeout: float) -> tuple[int | None, str, float]:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="onnxfuzz-report-script-") as d:
        path = Path(d) / "repro_inline.py"
        path.write_text(src, encoding="utf-8")
        try:
            r = subprocess.run([sys.executable, str(path)], cwd=d, capture_output=True, text=True, timeout=timeout)
            return r.returncode, r.stdout + r.stderr, time.monotonic() - t0
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s", time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run every inline script of findings/*/report.md and check each exits 1 (0 for fixed findings).")
    ap.add_argument("findings", nargs="?", type=Path, default=ROOT / "findings", help="the findings directory (default: the repository's findings/)")
    ap.add_argument("--jobs", type=int, default=2, help="scripts run at once (default 2)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per script (default 600)")
    ap.add_argument("--first-only", action="store_true", help="only each report's first script (the reproduction)")
    args = ap.parse_args(argv)
    if not args.findings.is_dir() or args.jobs < 1:
        print(f"error: {args.findings} is not a directory" if not args.findings.is_dir() else "error: --jobs must be >= 1", file=sys.stderr)
        return 2
    jobs = scripts_of(args.findings, args.first_only)
    t0 = time.monotonic()
    bad = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        results = pool.map(lambda j: run_one(j[2], args.timeout) if j[1] >= 0 else (None, "report.md has no inline script", 0.0), jobs)
        for (fid, k, _, want), (code, out, secs) in zip(jobs, results):
            ok = code == want
            bad += not ok
            print(f"{fid} script {k}: exit {code} ({secs:.1f}s){'' if ok else f'  <-- expected {want}'}", flush=True)
            if not ok:
                print("    " + "\n    ".join(out.strip().splitlines()[-15:]))
    print(f"{len(jobs) - bad} of {len(jobs)} inline scripts behave ({time.monotonic() - t0:.0f}s, {args.jobs} at once)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
