"""Small things a user trips on (issue 21 item 7): defaults shared with the library, the stats
table of a short campaign."""

import json

from fuzzer.campaign import CampaignConfig
from fuzzer.cli import build_parser, main


def test_check_and_fuzz_default_to_the_same_input_mode():
    args = build_parser().parse_args(["check", "g.json"])
    assert args.input_mode == CampaignConfig().input_mode == "special"


def test_stats_fills_no_time_mark_the_campaign_did_not_reach(tmp_path, capsys):
    d = tmp_path / "c"
    d.mkdir()
    (d / "campaign.json").write_text(json.dumps({"config": CampaignConfig().to_dict() | {"exporters": ["torchscript"]}, "versions": {}}))
    lines = [{"seed": k, "exporter": "torchscript", "verdict": "export_crash" if k % 3 == 0 else "pass", "t": 0.8 * k, "seconds": 0.5, "kept": False}
             for k in range(100)]  # 80 seconds of campaign time
    (d / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (d / "summary.json").write_text(json.dumps({"elapsed": 80.1}))
    assert main(["stats", str(d)]) == 0
    out = capsys.readouterr().out
    row = next(x for x in out.splitlines() if "torchscript" in x and "│" in x and " s " in x)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[-3:] == ["0", "-", "-"], row  # 1 min reached (no findings filed), 10 and 60 min not
    assert "100 cases in 80.1s" in out  # the campaign time summary.json reports


def test_findings_minimize_pending_finishes_what_a_stopped_campaign_filed_raw(tmp_path, capsys, monkeypatch):
    import numpy as np

    import fuzzer.cli.findings as cli_findings
    from fuzzer.case import worker_death_result
    from fuzzer.export import ExportOptions, Exporter
    from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
    from fuzzer.store import FindingStore

    spec = TensorSpec((2, 3), "float32")
    g = Graph((Input("x0", spec),), (Node("sin", ("x0",), (Value("v0", spec),)), Node("cos", ("v0",), (Value("v1", spec),))), ("v1",), {"seed": 1})
    x = {"x0": np.ones((2, 3), np.float32)}

    def crash(graph):  # this stack "dies" on every graph: a process death is signed by the graph's operators
        return worker_death_result("crash", "SIGSEGV", 0.1, ExportOptions(Exporter.TORCHSCRIPT), seed=1, input_mode="normal", graph=graph)

    store = FindingStore(tmp_path / "c" / "findings")
    fid, _ = store.record(g, x, crash(g), None, "torchscript/1", pending=True)
    store.close()
    monkeypatch.setattr(cli_findings, "_runner", lambda *a, **k: lambda graph, inputs: crash(graph))
    assert main(["findings", "minimize", "--pending", str(tmp_path / "c"), "--seconds", "20"]) == 0
    out = capsys.readouterr().out
    assert f"{fid}: 2 -> 1 ops, joined" in out and "1 raw findings minimized" in out
    s = FindingStore(tmp_path / "c" / "findings")
    assert not s.awaiting_minimization() and [r.n_ops for r in s.list()] == [1] and s.list()[0].hits == 1
