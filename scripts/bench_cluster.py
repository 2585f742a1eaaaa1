"""Cluster benchmark (issue 20): cases/s of one campaign on one Ray node vs two local Ray nodes with
the same total cores, and the cluster path's overhead against the plain campaign, in one run.

Usage: python scripts/bench_cluster.py [--cores 2] [--seconds 20] [--rounds 1] [--exporter torchscript|dynamo|both]
                                       [--input-mode normal|special] [--no-netns]

Three configurations, each a fresh campaign of ``--seconds`` of campaign time (it starts when the
first worker can take a case: the pools' start-up is not measured, as in any campaign):

- plain: ``run_campaign`` with ``--cores`` workers on this machine;
- 1 node: ``fuzz --cluster`` on a local Ray cluster of one node with ``--cores`` CPUs (one pool of
  ``--cores`` workers);
- 2 nodes: on a local Ray cluster of two nodes with half the CPUs each (two pools).

Rounds alternate the order (plain, 1 node, 2 nodes; then the reverse...), so a change of the
machine's load weighs on all three alike; the figures are the sums over rounds, read as ratios
(1 node / plain is the cluster path's overhead; 2 nodes / 1 node what splitting the cores costs).
The load average is printed before and after. As root, the script runs itself inside a network
namespace of its own (``unshare --net``, loopback up) so no Ray traffic leaves this machine; the
nodes are started on 127.0.0.1 in any case. Campaigns write into a temporary directory, removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_IN_NETNS = "ONNXFUZZ_BENCH_NETNS"


def _uptime() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _config(args, workers: int):
    from fuzzer.campaign import CampaignConfig
    from fuzzer.export import Exporter

    exporters = {"torchscript": (Exporter.TORCHSCRIPT,), "dynamo": (Exporter.DYNAMO,), "both": (Exporter.TORCHSCRIPT, Exporter.DYNAMO)}[args.exporter]
    return CampaignConfig(exporters=exporters, seconds=args.seconds, input_mode=args.input_mode, workers=workers, minimize_seconds=None,
                          arms=("graphs",), stats_period=60.0)


def _plain(args, out: Path) -> dict:
    from fuzzer.campaign import CampaignStats, run_campaign

    stats = CampaignStats()
    for _ in run_campaign(_config(args, args.cores), out, [], stats):
        pass
    return {"cases": stats.cases, "seconds": stats.elapsed}


def _on_cluster(args, out: Path, nodes: int) -> dict:
    import ray
    from ray.cluster_utils import Cluster

    from fuzzer.campaign import CampaignStats
    from fuzzer.campaign.cluster import run_cluster_campaign

    per = args.cores // nodes
    t0 = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": per, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=per, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        up = time.monotonic() - t0
        stats = CampaignStats()
        for _ in run_cluster_campaign(_config(args, args.cores), out, cluster.address, [], stats):
            pass
        per_node = [(n["node"], n["workers"], n["cases"]) for n in stats.nodes or []]
        return {"cases": stats.cases, "seconds": stats.elapsed, "cluster_up_s": round(up, 1), "nodes": per_node}
    finally:
        ray.shutdown()
        cluster.shutdown()


def bench(args, say=print) -> dict:
    runs = {"plain": _plain, "1 node": lambda a, o: _on_cluster(a, o, 1), "2 nodes": lambda a, o: _on_cluster(a, o, 2)}
    totals = {k: {"cases": 0, "seconds": 0.0} for k in runs}
    order = list(runs)
    tmp = Path(tempfile.mkdtemp(prefix="onnxfuzz-bench-cluster-"))
    try:
        for r in range(args.rounds):
            for name in (order if r % 2 == 0 else order[::-1]):
                res = runs[name](args, tmp / f"{name.replace(' ', '')}-{r}")
                totals[name]["cases"] += res["cases"]
                totals[name]["seconds"] += res["seconds"]
                say(f"round {r + 1} {name:8} {res['cases']:5d} cases in {res['seconds']:6.1f}s = {res['cases'] / max(res['seconds'], 1e-9):6.2f}/s"
                    + (f"  (cluster up in {res['cluster_up_s']}s; per node {res['nodes']})" if "nodes" in res else "") + f"  load {_uptime()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rate = {k: v["cases"] / max(v["seconds"], 1e-9) for k, v in totals.items()}
    return {"rates": {k: round(v, 3) for k, v in rate.items()},
            "1 node / plain": round(rate["1 node"] / max(rate["plain"], 1e-9), 3),
            "2 nodes / plain": round(rate["2 nodes"] / max(rate["plain"], 1e-9), 3),
            "2 nodes / 1 node": round(rate["2 nodes"] / max(rate["1 node"], 1e-9), 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cores", type=int, default=2, help="total CPUs (workers) of every configuration; even (default: 2)")
    p.add_argument("--seconds", type=float, default=20.0, help="campaign time per campaign (default: 20)")
    p.add_argument("--rounds", type=int, default=1, help="rounds, alternating the order (default: 1)")
    p.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="torchscript")
    p.add_argument("--input-mode", choices=["normal", "special"], default="special")
    p.add_argument("--no-netns", action="store_true", help="do not run inside a network namespace of its own (as root it does by default)")
    args = p.parse_args()
    if args.cores < 2 or args.cores % 2:
        p.error("--cores must be even and at least 2 (two nodes share them)")
    if not args.no_netns and os.environ.get(_IN_NETNS) != "1" and os.geteuid() == 0 and shutil.which("unshare"):
        cmd = "ip link set lo up && exec " + " ".join([sys.executable, os.path.abspath(__file__), *map(_quote, sys.argv[1:])])
        return subprocess.call(["unshare", "--net", "sh", "-c", cmd], env={**os.environ, _IN_NETNS: "1"})
    try:
        import ray  # noqa: F401
    except ImportError:
        print("bench_cluster: needs Ray: pip install -e '.[cluster]' -c constraints.txt", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"cluster benchmark: {args.cores} cores, {args.seconds:g}s per campaign, {args.rounds} round(s), {args.exporter}, "
          f"{args.input_mode} inputs; load {_uptime()}", flush=True)
    result = bench(args, say=lambda s: print(s, flush=True))
    print(json.dumps(result, indent=1))
    print(f"load after: {_uptime()}")
    return 0


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


if __name__ == "__main__":
    raise SystemExit(main())
