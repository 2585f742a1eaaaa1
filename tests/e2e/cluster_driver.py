"""Run by tests/e2e/test_cluster.py inside a network namespace of its own (all Ray traffic on its
loopback): a local two-node Ray cluster, a TorchScript campaign across it with one node killed
mid-run, then a resume through the command line on the node left. Writes a JSON report.

``python tests/e2e/cluster_driver.py OUT_DIR REPORT CASES RESUME_CASES``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(out: Path, report: Path, cases: int, resume_cases: int) -> int:
    import ray
    from ray.cluster_utils import Cluster

    from fuzzer.campaign import CampaignConfig
    from fuzzer.campaign.cluster import run_cluster_campaign
    from fuzzer.cli import main as cli
    from fuzzer.export import Exporter

    t0 = time.monotonic()
    fast_failure_detection = {"health_check_period_ms": 500, "health_check_failure_threshold": 4, "health_check_initial_delay_ms": 0}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False,
                                                            "_system_config": fast_failure_detection})
    doc: dict = {}
    try:
        other = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        doc["cluster_up_s"] = round(time.monotonic() - t0, 2)
        doc["other_node"] = other.node_id[:8]

        class KillOther:
            """Kills the second node (every process of it) once it has run a few cases."""

            killed_at: int | None = None
            first: float | None = None

            def on_result(self, result, stats) -> None:
                self.first = self.first or time.monotonic()
                if self.killed_at is not None or not stats.nodes:
                    return
                mine = next((n for n in stats.nodes if n["node"] == doc["other_node"]), None)
                if mine is not None and mine["cases"] >= 3:
                    cluster.remove_node(other, allow_graceful=False)
                    self.killed_at = stats.cases

        killer = KillOther()
        config = CampaignConfig(exporters=(Exporter.TORCHSCRIPT,), seconds=None, cases=cases, minimize_seconds=None, case_timeout=30.0,
                                stats_period=0.5, arms=("graphs",))
        t1 = time.monotonic()
        for _ in run_cluster_campaign(config, out, cluster.address, [killer]):
            pass
        doc["first_run_s"] = round(time.monotonic() - t1, 2)
        doc["killed_at"] = killer.killed_at
        doc["first_result_s"] = round((killer.first or t1) - t1, 2)
        t2 = time.monotonic()
        doc["resume_rc"] = cli(["fuzz", "--resume", str(out), "--cluster", cluster.address, "--cases", str(resume_cases)])
        doc["resume_s"] = round(time.monotonic() - t2, 2)
    finally:
        ray.shutdown()
        cluster.shutdown()
        doc["total_s"] = round(time.monotonic() - t0, 2)
        report.write_text(json.dumps(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
