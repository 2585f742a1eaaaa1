"""``onnxfuzz catalog``: the reach report against the installed exporters' registries."""

import json
import sys
from pathlib import Path

from fuzzer.catalog import CATALOG
from fuzzer.cli import main
from fuzzer.coverage.reach import aten_of, reach_table, reason_for
from fuzzer.export.registries import torchlib_registered, torchscript_registered


def test_catalog_json_lists_every_registered_op_reached_or_why_not(capsys):
    assert main(["catalog", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    regs = {"torchscript": torchscript_registered(), "dynamo": torchlib_registered()}
    assert rep["catalog"]["entries"] == len(CATALOG)
    for exporter, r in rep["exporters"].items():
        assert {o["aten"] for o in r["ops"]} == set(regs[exporter])
        assert r["registered"] == len(regs[exporter]) > 300
        assert r["reached"] + r["not_reached_with_reason"] + r["unexplained"] == r["registered"]
        for o in r["ops"]:
            assert all(n in CATALOG for n in o["reached_by"])
            if o["reached_by"]:
                assert o["reason"] is None and all(o["aten"] in aten_of(n, exporter) for n in o["reached_by"])
        assert r["reached"] > r["registered"] // 2


def test_catalog_summary_prints_the_totals(capsys):
    assert main(["catalog", "--exporter", "torchscript"]) == 0
    out = capsys.readouterr().out
    assert "torchscript" in out and "reach: reached / (registered - excused)" in out and "distinct callables" in out


def test_reasons_name_the_category():
    assert reason_for("convolution_backward", {}).startswith("training-only")
    assert reason_for("bernoulli", {}).startswith("random")
    assert reason_for("view_as_complex", {}).startswith("complex")
    assert reason_for("abs", {}) is None
    assert reason_for("foo", {"foo": "no dtype the fuzzer knows"}) == "op_db: no dtype the fuzzer knows"


def test_reach_table_agrees_with_a_live_trace():
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
    from derive_reach import reach_of

    table = reach_table()
    for name in ("abs", "nn.LSTM", "op_rshift", "setitem_index", "addmm"):
        if name not in CATALOG or name not in table:
            continue
        live = reach_of(name, seeds=1)
        assert set(live["traced"]) <= set(table[name]["traced"]) | {"size", "Int"}, name
        assert set(live["traced"]) & set(table[name]["traced"]), name
