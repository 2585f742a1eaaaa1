"""Default campaigns with and without the one-operator arm, side by side in one run.

    python scripts/measure_arms.py --minutes 20            # the issue's measurement (2 cores: 1 worker each)
    python scripts/measure_arms.py --minutes 3 --workers 1 # a quick look
    python scripts/measure_arms.py --minutes 10 --b-dynamo-share 0.75   # equal exporter time vs dynamo-led

Two real campaigns (:func:`fuzzer.campaign.run_campaign`, what ``onnxfuzz fuzz`` runs, both
exporters, special inputs, default options) run *at the same time*, each with ``--workers``
workers, so the machine's load is shared alike: arm A spends each exporter's time on generated
graphs only (the campaign before arms: ``arms=("graphs",)``), arm B is today's default (generated
graphs and one-operator jobs, split by yield). With ``--b-dynamo-share F``, A is the default
campaign with equal time per exporter and B the same with dynamo given the share F of worker time
(does leading with dynamo find more?). Minimization is off in both (it would compete for
the same cores); bugs are still filed raw, so distinct findings are counted too.

Printed per arm and exporter: cases, distinct buckets (the campaign's coarse bucket key, the same
function for both arms) and distinct finding signatures, at a few marks in time and at the end,
with B's ratio to A; and B's final time split between arms.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
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


def _buckets_by_time(out: Path, marks: list[float]) -> dict[str, list[int]]:
    """Per exporter: distinct buckets reached by each mark (campaign time), and the case count."""
    seen: dict[str, dict[str, float]] = {}
    cases: dict[str, int] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        cases[r["exporter"]] = cases.get(r["exporter"], 0) + 1
        if r.get("bucket"):
            seen.setdefault(r["exporter"], {}).setdefault(r["bucket"], r.get("t", 0.0))
    return {e: [sum(1 for t in b.values() if t <= m) for m in marks] + [len(b), cases.get(e, 0)] for e, b in seen.items()}


def _signatures(out: Path) -> dict[str, int]:
    from fuzzer.store import FindingStore

    per: dict[str, int] = {}
    for f in FindingStore(out / "findings").list():
        per[f.exporter] = per.get(f.exporter, 0) + 1
    return per


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0, help="campaign time of each arm (they run at the same time)")
    ap.add_argument("--workers", type=int, default=1, help="workers per arm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="keep both campaign directories here (must not exist)")
    ap.add_argument("--b-dynamo-share", type=float, default=None, help="compare exporter time splits instead: A equal, B dynamo's share F")
    args = ap.parse_args()
    if args.out is not None and args.out.exists():
        print(f"measure_arms: {args.out} exists; pick a new --out", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="onnxfuzz-arms-") if args.out is None else None
    root = Path(tmp.name) if tmp else args.out
    root.mkdir(parents=True, exist_ok=True)
    seconds = args.minutes * 60
    if args.b_dynamo_share is None:
        arms = {"A graphs only": ("graphs",), "B graphs+ops (default)": CampaignConfig().arms}
        configs = {name: CampaignConfig(seconds=seconds, seed=args.seed, workers=args.workers, minimize_seconds=None, arms=a) for name, a in arms.items()}
    else:
        shares = {"A equal-time": 0.5, f"B dynamo-{args.b_dynamo_share:g}": args.b_dynamo_share}
        arms = dict.fromkeys(shares)
        configs = {name: CampaignConfig(seconds=seconds, seed=args.seed, workers=args.workers, minimize_seconds=None, dynamo_share=f)
                   for name, f in shares.items()}
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
    marks = [m for m in (60.0, 300.0, 600.0, 1200.0) if m < seconds]
    rows = {name: (_buckets_by_time(root / name.split()[0], marks), _signatures(root / name.split()[0])) for name in arms}
    t = Table(title=f"campaigns of {args.minutes:g} min, run at the same time, {args.workers} worker(s) each; B/A ratio", title_justify="left")
    for col in ("arm", "exporter", "cases", *(f"buckets by {m / 60:g} min" for m in marks), "buckets", "signatures"):
        t.add_column(col, justify="left" if col in ("arm", "exporter") else "right")
    (a_name, b_name) = arms
    for name in arms:
        buckets, sigs = rows[name]
        for e in ("dynamo", "torchscript"):
            v = buckets.get(e, [0] * (len(marks) + 2))
            cells = [str(x) for x in v[:-1]]
            if name == b_name:
                va = rows[a_name][0].get(e, [0] * (len(marks) + 2))
                cells = [f"{x} ({x / y:.2f}x)" if y else str(x) for x, y in zip(v[:-1], va[:-1])]
            t.add_row(name, e, str(v[-1]), *cells, str(sigs.get(e, 0)))
    Console(width=200).print(t)
    print("B time split:", json.dumps(stats[b_name].arms()))
    print(json.dumps({name: {"buckets": rows[name][0], "signatures": rows[name][1]} for name in arms}))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
