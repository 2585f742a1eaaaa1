"""The false-positive check at small scale (scripts/false_positives.py runs it at scale): graphs
that pass on their first inputs are re-run on fresh inputs; the tolerance policy must never be
stricter than the dtype-only rule, and every mismatch it still reports must be a confirmed
semantic difference, not numeric noise."""

import pytest

from fuzzer.case.false_positives import KNOWN_GOOD_OPS, FalsePositiveReport, rerun_known_good
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions

pytestmark = pytest.mark.e2e


def test_known_good_graphs_rerun_on_fresh_inputs_give_no_false_mismatch():
    report = FalsePositiveReport()
    gen = GeneratorOptions(max_nodes=5, ops=KNOWN_GOOD_OPS, p_zero_dim=0.0)
    for kind, rerun in rerun_known_good(range(120), ExportOptions(Exporter.TORCHSCRIPT), gen):
        report.graphs += 1
        if rerun is None:
            report.skipped[kind] = report.skipped.get(kind, 0) + 1
        else:
            report.reruns.append(rerun)
    assert len(report.reruns) >= 15, report.to_dict()
    assert report.count("policy") <= report.count("dtype_only")
    assert report.count("policy") == report.count("confirmed"), report.to_dict()["examples"]
    assert report.rate("policy").endswith(f"/{len(report.reruns)}")
