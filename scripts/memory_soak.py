"""Memory soak: run one campaign worker for N minutes and watch its resident memory.

Usage: python scripts/memory_soak.py [--minutes 30] [--exporter both|torchscript|dynamo]
                                     [--batch 8] [--sample 5] [--max-nodes 10]

Feeds one worker (``fuzzer.campaign.worker`` through ``WorkerPool``, as the campaign does) an
endless sequence of seeds, alternating exporters (TorchScript one seed per request, dynamo in
batched "seeds" requests), and samples the worker's VmRSS and VmHWM (peak) from /proc every
``--sample`` seconds. Prints the samples and the trend: the least-squares slope of RSS over the
second half of the run (the first half includes warm-up: imports, caches, first exports), in
MiB per hour. Exit code 1 when the slope exceeds ``--max-slope`` MiB/h.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fuzzer.campaign import WorkerPool
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions


def _status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0]) // 1024  # MiB
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--exporter", choices=("both", "torchscript", "dynamo"), default="both")
    ap.add_argument("--batch", type=int, default=8, help="dynamo seeds per request")
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--max-nodes", type=int, default=10)
    ap.add_argument("--max-slope", type=float, default=50.0, help="MiB per hour tolerated over the second half")
    a = ap.parse_args()
    gen = {k: list(v) if isinstance(v, tuple) else v for k, v in GeneratorOptions(max_nodes=a.max_nodes).to_dict().items()}
    exporters = [Exporter.TORCHSCRIPT, Exporter.DYNAMO] if a.exporter == "both" else [Exporter(a.exporter)]
    samples: list[tuple[float, int, int, int]] = []  # (t, rss, hwm, cases)
    seed, cases, incidents, turn = 0, 0, 0, 0
    deadline = time.monotonic() + a.minutes * 60
    with WorkerPool(1, case_timeout=300) as pool:
        t0 = time.monotonic()
        last = 0.0
        while time.monotonic() < deadline:
            if pool.idle():
                ex = exporters[turn % len(exporters)]
                turn += 1
                base = {"export": ExportOptions(ex).to_dict(), "input_mode": "normal", "generator": gen, "store": False}
                if ex is Exporter.DYNAMO:
                    pool.submit({"kind": "seeds", "seeds": list(range(seed, seed + a.batch)), "max_batch": a.batch, **base})
                    seed += a.batch
                else:
                    pool.submit({"kind": "seed", "seed": seed, **base})
                    seed += 1
            for c in pool.poll(0.05):
                if c.kind == "ok":
                    cases += len(c.reply.get("results", [None]))
                else:
                    incidents += 1  # a crashing seed restarts the worker: its memory starts afresh
            now = time.monotonic()
            if now - last >= a.sample:
                last = now
                try:
                    st = _status(pool.workers[0].proc.pid)
                except OSError:
                    continue
                samples.append((now - t0, st.get("VmRSS", 0), st.get("VmHWM", 0), cases))
                print(f"{now - t0:7.1f}s  rss {st.get('VmRSS', 0):6d} MiB  peak {st.get('VmHWM', 0):6d} MiB  cases {cases}", flush=True)
        restarts = pool.restarts
    half = [s for s in samples if s[0] >= samples[-1][0] / 2] if samples else []
    if len(half) < 3:
        print("too few samples for a trend")
        return 0
    t = np.array([s[0] for s in half]) / 3600
    rss = np.array([s[1] for s in half], dtype=float)
    slope = float(np.polyfit(t, rss, 1)[0])
    print(f"\n{cases} cases in {samples[-1][0] / 60:.1f} min; worker restarts {restarts} (crashing seeds: {incidents}); "
          f"RSS {samples[0][1]} -> {samples[-1][1]} MiB, peak {max(s[2] for s in samples)} MiB; "
          f"second-half trend {slope:+.1f} MiB/h (tolerated {a.max_slope:g})")
    if restarts:
        print("note: a restart resets the worker's memory; samples after it belong to a fresh process")
    return 1 if slope > a.max_slope else 0


if __name__ == "__main__":
    raise SystemExit(main())
