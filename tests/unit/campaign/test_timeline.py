"""Time to first failure / finding per exporter, from results.jsonl lines and the findings index."""

from fuzzer.campaign.timeline import finding_timelines


def test_first_failure_first_finding_and_distinct_findings_by_mark():
    results = [
        {"exporter": "torchscript", "seed": 0, "verdict": "pass", "t": 1.0},
        {"exporter": "torchscript", "seed": 1, "verdict": "eager_error", "t": 2.0},  # not a failure
        {"exporter": "torchscript", "seed": 2, "verdict": "export_crash", "t": 3.5},  # failing, not filed
        {"exporter": "torchscript", "seed": 3, "verdict": "invalid_model", "t": 70.0},
        {"exporter": "torchscript", "seed": 4, "verdict": "invalid_model", "t": 80.0},  # same finding again
        {"exporter": "torchscript", "seed": 5, "verdict": "numeric_mismatch", "t": 700.0},
        {"exporter": "dynamo", "seed": 0, "verdict": "pass", "t": 18.0},
    ]
    filed = {"torchscript/3": "aaa", "torchscript/4": "aaa", "torchscript/5": "bbb"}
    ts, = [t for t in finding_timelines(results, filed) if t.exporter == "torchscript"]
    assert (ts.cases, ts.first_failure, ts.first_finding, ts.findings) == (6, 3.5, 70.0, 2)
    assert ts.by_mark == ((60.0, 0), (600.0, 1), (3600.0, 2))
    dyn, = [t for t in finding_timelines(results, filed) if t.exporter == "dynamo"]
    assert (dyn.first_failure, dyn.first_finding, dyn.findings) == (None, None, 0)
