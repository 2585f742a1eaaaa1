"""Campaigns and sweep samples with and without dynamic-shape export, side by side in one run.

    python scripts/measure_dynamic.py                          # 100 s campaigns, then 12-job sweep samples (~6 min under load)
    python scripts/measure_dynamic.py --seconds 60 --share 0.5 --sweep-sample 0

Two real campaigns (:func:`fuzzer.campaign.run_campaign`, what ``onnxfuzz fuzz`` runs, both
exporters, special inputs, default options, minimization off) run *at the same time*, each with
``--workers`` workers, so the machine's load is shared alike: A exports every graph static
(``dynamic_share=0``), B exports ``--share`` of the generated graphs with dynamic input sizes
(``onnxfuzz fuzz --dynamic-share``). Then two sweep samples of the dynamo plan (``onnxfuzz sweep
--sample N``) run at the same time, without and with ``--dynamic``.

Printed per arm and exporter: cases, cases per second (campaign time), distinct buckets,
dynamic-only buckets (a bucket whose key carries ``dynamic@run`` / ``dynamic@export``: a model that
is wrong only away from its traced size, or a crash only the dynamic export has), with B's ratio
to A; what B's dynamic exports did (dynamic, static: every dimension kept static, refused by
torch.export, crashed) and how the other-size runs went (pass, eager_error: the graph fixes the
size, static_too: a static export fails there too, failed). For the sweeps: variants, seconds,
buckets, dynamic-only buckets. The load average is printed at the start and the end: compare
ratios, not absolute figures, on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fuzzer.campaign import CampaignConfig, CampaignStats, run_campaign  # noqa: E402


def _campaign(out: Path, config: CampaignConfig, stats: CampaignStats, errors: list) -> None:
    try:
        for _ in run_campaign(config, out, [], stats):
            pass
    except Exception as e:  # noqa: BLE001 - reported by the main thread
        errors.append(f"{out.name}: {type(e).__name__}: {e}")


def _campaign_figures(out: Path) -> tuple[dict[str, dict], Counter, Counter]:
    """Per exporter {cases, buckets, dynamic_buckets}; what the dynamic exports did; other-size runs."""
    per: dict[str, dict] = {}
    exports: Counter = Counter()
    sizes: Counter = Counter()
    for line in (out / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        e = per.setdefault(r["exporter"], {"cases": 0, "dynamic_cases": 0, "buckets": set(), "dynamic_buckets": set()})
        e["cases"] += 1
        if r.get("bucket"):
            e["buckets"].add(r["bucket"])
            if "|dynamic@" in r["bucket"]:
                e["dynamic_buckets"].add(r["bucket"])
        d = r.get("dynamic")
        if d is not None:
            e["dynamic_cases"] += 1
            exports[(r["exporter"], d.get("export"))] += 1
            for v in d.get("sizes") or ():
                sizes[(r["exporter"], v)] += 1
            if d.get("failed"):
                sizes[(r["exporter"], f"failed@{d['failed']}")] += 1
    return per, exports, sizes


def _sweep(out: Path, sample: int, workers: int, dynamic: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "fuzzer", "sweep", "--exporter", "dynamo", "--sample", str(sample), "--workers", str(workers), "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(cmd + (["--dynamic"] if dynamic else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _sweep_figures(out: Path) -> dict:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    buckets = {r["bucket"] for r in rows if r.get("bucket")}
    dyn = {r["bucket"] for r in rows if r.get("bucket") and (r.get("dynamic") or {}).get("failed")}
    return {"variants": len(rows), "dynamic_variants": sum(1 for r in rows if "dynamic" in r), "buckets": len(buckets), "dynamic_buckets": len(dyn)}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=100.0, help="campaign time of each arm (they run at the same time; default 100)")
    ap.add_argument("--share", type=float, default=0.25, help="B's --dynamic-share (default 0.25)")
    ap.add_argument("--workers", type=int, default=1, help="workers per arm (default 1)")
    ap.add_argument("--sweep-sample", type=int, default=12, help="jobs of each dynamo sweep sample (0: no sweeps; default 12)")
    ap.add_argument("--exporter", choices=["both", "dynamo", "torchscript"], default="both", help="the campaigns' exporters (default both)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="keep the run directories here (must not exist)")
    args = ap.parse_args()
    if args.out is not None and args.out.exists():
        print(f"measure_dynamic: {args.out} exists; pick a new --out", file=sys.stderr)
        return 2
    if not 0.0 < args.share <= 1.0:
        print("measure_dynamic: --share must be within (0, 1]", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-dynamic-") if args.out is None else None
    root = Path(tmp.name) if tmp else args.out
    root.mkdir(parents=True, exist_ok=True)
    con = Console(width=200)
    start_load = _load()
    con.print(f"load average at start: {start_load}")
    arms = {"A static": 0.0, f"B dynamic {args.share:g}": args.share}
    from fuzzer.export import Exporter

    exporters = tuple(Exporter) if args.exporter == "both" else (Exporter(args.exporter),)
    configs = {name: CampaignConfig(exporters=exporters, seconds=args.seconds, seed=args.seed, workers=args.workers, minimize_seconds=None,
                                    dynamic_share=s) for name, s in arms.items()}
    stats = {name: CampaignStats() for name in arms}
    errors: list[str] = []
    threads = [threading.Thread(target=_campaign, args=(root / name.split()[0], configs[name], stats[name], errors)) for name in arms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    figures = {name: _campaign_figures(root / name.split()[0]) for name in arms}
    elapsed = {name: stats[name].elapsed or args.seconds for name in arms}
    t = Table(title=f"campaigns of {args.seconds:g} s at the same time, {args.workers} worker(s) each; B/A ratio", title_justify="left")
    for col in ("arm", "exporter", "cases", "dynamic cases", "cases/s", "buckets", "dynamic-only buckets"):
        t.add_column(col, justify="left" if col in ("arm", "exporter") else "right")
    a_name, b_name = arms
    for name in arms:
        per = figures[name][0]
        for e in (x.value for x in exporters):
            v = per.get(e, {"cases": 0, "dynamic_cases": 0, "buckets": set(), "dynamic_buckets": set()})
            rate = v["cases"] / elapsed[name]
            cells = [str(v["cases"]), str(v["dynamic_cases"]), f"{rate:.2f}", str(len(v["buckets"])), str(len(v["dynamic_buckets"]))]
            if name == b_name:
                va = figures[a_name][0].get(e)
                if va and va["cases"]:
                    ra = va["cases"] / elapsed[a_name]
                    cells[2] += f" ({rate / ra:.2f}x)"
                    cells[3] += f" ({len(v['buckets']) / max(1, len(va['buckets'])):.2f}x)"
            t.add_row(name, e, *cells)
    con.print(t)
    _, exports, sizes = figures[b_name]
    con.print("B dynamic exports:", json.dumps({f"{e}/{k}": n for (e, k), n in sorted(exports.items(), key=str)}))
    con.print("B other-size runs:", json.dumps({f"{e}/{k}": n for (e, k), n in sorted(sizes.items(), key=str)}))
    for name in arms:
        dyn = sorted(b for per in figures[name][0].values() for b in per["dynamic_buckets"])
        for b in dyn:
            con.print(f"  {name} dynamic-only bucket: {b[:180]}", highlight=False)
    summary: dict = {"load_start_end": None, "campaigns": {name: {e: {k: (len(x) if isinstance(x, set) else x) for k, x in v.items()} for e, v in figures[name][0].items()}
                                                          for name in arms}}
    if args.sweep_sample > 0:
        t0 = time.monotonic()
        procs = {d: _sweep(root / f"sweep-{'dynamic' if d else 'static'}", args.sweep_sample, args.workers, d) for d in (False, True)}
        seconds = {}
        for d, p in procs.items():
            _, err = p.communicate()
            seconds[d] = time.monotonic() - t0
            if p.returncode not in (0, 1):
                print(f"sweep ({'dynamic' if d else 'static'}) failed: {err[-2000:]}", file=sys.stderr)
                return 1
        sw = {d: _sweep_figures(root / f"sweep-{'dynamic' if d else 'static'}") for d in (False, True)}
        t = Table(title=f"dynamo sweep samples of {args.sweep_sample} jobs at the same time, {args.workers} worker(s) each", title_justify="left")
        for col in ("sweep", "variants", "dynamic variants", "seconds", "buckets", "dynamic-only buckets"):
            t.add_column(col, justify="left" if col == "sweep" else "right")
        for d in (False, True):
            v = sw[d]
            sec = f"{seconds[d]:.0f}" + (f" ({seconds[True] / seconds[False]:.2f}x)" if d else "")
            t.add_row("--dynamic" if d else "static", str(v["variants"]), str(v["dynamic_variants"]), sec, str(v["buckets"]), str(v["dynamic_buckets"]))
        con.print(t)
        summary["sweeps"] = {("dynamic" if d else "static"): dict(sw[d], seconds=round(seconds[d], 1)) for d in (False, True)}
    summary["load_start_end"] = [start_load, _load()]
    con.print(f"load average at end: {_load()}")
    print(json.dumps(summary))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
