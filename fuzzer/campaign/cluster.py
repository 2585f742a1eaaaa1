"""One campaign on a Ray cluster (``onnxfuzz fuzz --cluster ADDRESS``; ``pip install onnxfuzz[cluster]``).

The head is this process, on the machine that holds the campaign directory: it runs the campaign
loop as on one machine (the scheduler keeps the seed order and the exporters' fair share; rescue,
ledger, ``results.jsonl`` and the findings store are the head's, on its disk), with the pool
replaced by :class:`~fuzzer.workers.cluster.ClusterPool`: every node of the cluster runs a worker
pool sized to its cores, and the head hands each request (one seed, or a dynamo batch of seeds in
order) to the node with the most idle workers. Failing cases come back as files and are filed
here; raw findings are minimized on the nodes (:func:`~fuzzer.workers.cluster.minimize_on_node`)
and the results filed here.

A node that dies mid-campaign costs nothing: its requests in flight had delivered nothing, and are
handed to other nodes whole, so every seed is recorded once. Resume works as on one machine (a
case is done iff its line is in results.jsonl), on a cluster or not.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from fuzzer.case import CaseResult

from .config import CampaignConfig, CampaignError
from .loop import Observer, run_campaign
from .stats import CampaignStats


#: TorchScript seeds per request on a cluster: a TorchScript case takes ~20 ms of a worker and a
#: request through Ray a few ms more (actor call, hand-off, reply), so one seed per request cost
#: 15% of the plain campaign's rate (scripts/bench_cluster.py); four share that cost.
CLUSTER_TORCHSCRIPT_BATCH = 4


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` ("auto": the one running on this machine) as a driver.
    A missing ``ray`` or an unreachable cluster is one :class:`CampaignError` line."""
    try:
        import ray
    except ImportError:
        raise CampaignError("--cluster needs Ray: pip install 'onnxfuzz[cluster]' (with the project's constraints file)") from None
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise CampaignError(f"cannot join the Ray cluster at {address}: {' '.join(str(e).split())[:300]}") from None


def run_cluster_campaign(config: CampaignConfig, out_dir: Path, address: str, observers: list[Observer] | None = None,
                         stats: CampaignStats | None = None, *, resume: bool = False,
                         workers_per_node: int | None = None) -> Iterator[CaseResult]:
    """:func:`~fuzzer.campaign.loop.run_campaign` with the cluster's nodes as the pool and the
    minimizer. ``workers_per_node``: workers of each node's pool (default: its CPUs)."""
    connect(address)
    from fuzzer.workers.cluster import ClusterError, ClusterPool, remote_minimizer

    def pool_factory(cfg: CampaignConfig, log_dir: Path, env: dict):
        try:
            return ClusterPool(cfg.case_timeout, cfg.memory_limit_mb, env, cfg.recycle_after, workers_per_node)
        except ClusterError as e:
            raise CampaignError(str(e)) from None

    limit = 3 * float(config.minimize_seconds or 0) + 4 * config.case_timeout + 180  # as the local minimizer's
    gen = run_campaign(config, out_dir, observers, stats, resume=resume, pool_factory=pool_factory,
                       remote_minimize=remote_minimizer(limit) if config.minimize_seconds else None, torchscript_batch=CLUSTER_TORCHSCRIPT_BATCH)
    try:
        yield from gen
    except ClusterError as e:
        raise CampaignError(str(e)) from None
