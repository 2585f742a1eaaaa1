"""The worker protocol: every request and reply survives its JSON form, and a request split after a
worker death covers exactly the cases of the original."""

import json
import math

import pytest

from fuzzer.case import CaseResult
from fuzzer.compare import OutputDiff, Verdict
from fuzzer.compare.blame import Blame, Culprit, OracleReport
from fuzzer.compare.tolerance import Tolerance
from fuzzer.export import ExportOptions, Exporter
from fuzzer.export.batch import BatchStats
from fuzzer.generate import GeneratorOptions
from fuzzer.workers.protocol import (
    REQUESTS, CaseReply, CaseSpec, ProtocolError, Rebuild, RebuildReply, RunGraphs, RunMutant, RunReply, RunSeeds, reply_from_wire, request_from_wire,
)

DYN, TS = ExportOptions(Exporter.DYNAMO, 18, False), ExportOptions(Exporter.TORCHSCRIPT)
GEN = GeneratorOptions(max_nodes=4, dtypes=("float16", "int8"), bias=0.0)
G = {"format": "onnxfuzz-graph", "inputs": [], "nodes": [], "outputs": []}


def _wire(x):
    return json.loads(json.dumps(x.to_wire(), allow_nan=False))


@pytest.mark.parametrize("req", [
    RunSeeds((3, 4, 5), DYN, GEN, "special", "/tmp/c", True, None, 180.0),
    RunSeeds((3, 4), DYN, GEN, "special", "/tmp/c", known=("/k/a.json", None), avoid=True, cut=True),
    RunMutant(7, 2**40 + 1, G, None, "s001", None, TS, GEN, "normal", "/tmp/c", "segv"),
    RunGraphs((CaseSpec(G, 1, None, {"sweep": {"key": "k"}}), CaseSpec(G, None, "/tmp/x.npz")), (TS, DYN), "special", True, 4, 60.0),
    Rebuild(9, GEN, "special", "/tmp/r", True, G, G),
    Rebuild(9, GEN, "special", "/tmp/r", avoid="/k/a.json"),
])
def test_every_request_survives_its_wire_form(req):
    assert set(REQUESTS) == {"seeds", "mutant", "graphs", "rebuild"}
    assert request_from_wire(_wire(req)) == req


def test_a_result_crosses_the_pipe_unchanged_with_its_model_blame_and_non_finite_differences():
    diff = OutputDiff(0, "value", "float32[2]", "float32[2]", math.inf, math.nan, 1, 2, "at [1]")
    blame = Blame(Culprit.ORT_KERNEL, "reference agrees with eager", (OracleReport("reference", "ok", True, False, None, None, None, 0.5),))
    r = CaseResult(seed=3, exporter="dynamo", opset_requested=18, opset=18, verdict=Verdict.NUMERIC_MISMATCH, input_mode="special",
                   error_head="output 0: value mismatch", diffs=(diff,), timings={"export": 0.25}, ops=("abs",), n_nodes=1,
                   options={"generator": GEN.to_dict()}, output_digests=("ab" * 8,), graph_digest="cd" * 8, inputs_digest="ef" * 8,
                   tolerances=(Tolerance(1e-3, 1e-5, "float16"),), blame=blame, model=b"\x08\x07onnx-bytes", coverage_items={"ops": ["Abs"]})
    reply = RunReply((CaseReply(r, "/tmp/c/3-dynamo-numeric_mismatch", {"status": "confirmed"}, G),), {"attempts": 2, "accepted": 1, "rejected": {}}, 1.5,
                     {"calls": 3, "batched_calls": 1, "failed_batches": 1})
    back = reply_from_wire(_wire(reply), RunSeeds((3,), DYN, GEN, "special"))
    (c,) = back.cases
    assert json.dumps(c.result.to_dict()) == json.dumps(r.to_dict()) and c.result.model == r.model and c.result.coverage_items == r.coverage_items
    assert c.result.worst.max_abs == math.inf and c.result.blame == blame
    assert (c.case_dir, c.confirmation, c.graph, back.generation) == (reply.cases[0].case_dir, {"status": "confirmed"}, G, reply.generation)
    totals = BatchStats(calls=2, alone_derived=1)
    totals.add(back.batching)  # what the supervisor does with each reply's counters
    assert totals.to_dict() == {"calls": 5, "batched_calls": 1, "failed_batches": 1, "alone_derived": 1}
    assert reply_from_wire(_wire(RebuildReply("/tmp/r")), Rebuild(1, GEN, "normal", "/tmp/r")) == RebuildReply("/tmp/r")


def test_split_covers_the_same_cases_one_by_one():
    seeds = RunSeeds((3, 4, 5), DYN, GEN, "special", timeout=180.0)
    assert [p.seeds for p in seeds.split()] == [(3,), (4,), (5,)] and seeds.split()[0].split() is None
    known = RunSeeds((3, 4), DYN, GEN, "special", known=("/k/a.json", "/k/b.json"), avoid=True)
    assert [(p.seeds, p.known, p.avoid) for p in known.split()] == [((3,), ("/k/a.json",), True), ((4,), ("/k/b.json",), True)]
    graphs = RunGraphs((CaseSpec(G, 1), CaseSpec(G, 2)), (TS, DYN), "normal", timeout=40.0)
    per_case = graphs.split()
    assert [p.cases for p in per_case] == [(graphs.cases[0],), (graphs.cases[1],)] and per_case[0].timeout == 20.0
    per_variant = per_case[0].split()
    assert [p.exports for p in per_variant] == [(TS,), (DYN,)] and per_variant[0].split() is None
    assert RunMutant(1, 2, None, None, None, None, TS, GEN, "normal").split() is None


def test_a_malformed_request_is_a_protocol_error_that_names_it():
    with pytest.raises(ProtocolError, match="malformed request"):
        request_from_wire({"kind": "seeds", "seeds": [1], "export": {"exporter": "nope"}})
    with pytest.raises(ProtocolError):
        request_from_wire({"kind": "unknown"})
    with pytest.raises(ProtocolError, match="malformed reply"):
        reply_from_wire({"cases": [{"result": {"seed": 1}}]}, RunSeeds((1,), TS, GEN, "normal"))
