"""Planted rewrite templates fire their rewrites, observed on real exports and real ORT sessions:
a chain planted by the generator (template_graph: random shapes and attributes) fires its ORT
rewrite with both exporters and its ONNX Script rule with dynamo, including inside a batched dynamo
export (attributed to the graph that holds the chain only), and the rewrites land in the case
record and the campaign's coverage."""

import pytest

from fuzzer.case.run import run_graph, run_graphs_batched
from fuzzer.coverage.metrics import Coverage
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import make_inputs
from fuzzer.generate.generator import template_graph
from fuzzer.generate.rewrite_templates import load_rewrite_templates
from fuzzer.generate.templates import Chain, Step

pytestmark = pytest.mark.e2e

BOTH = [ExportOptions(Exporter.TORCHSCRIPT), ExportOptions(Exporter.DYNAMO)]


def _chain(*ops):
    return Chain(tuple(Step(o) for o in ops))


def _fires(chain, rewrite, exporters, seeds=range(4)):
    """For each exporter, whether ``rewrite`` fired on some of the instantiations."""
    hit = {e.exporter.value: False for e in exporters}
    for s in seeds:
        g = template_graph(chain, seed=s)
        for r in run_graph(g, make_inputs(g, s), exporters, seed=s):
            hit[r.exporter] |= rewrite in r.rewrites
            assert list(r.rewrites) == r.to_dict()["rewrites"]
    return hit


def test_ort_fusions_fire_with_both_exporters():
    assert _fires(_chain("conv2d", "relu"), "ort:ConvActivationFusion", BOTH) == {"torchscript": True, "dynamo": True}
    assert _fires(_chain("linear", "relu"), "ort:GemmActivationFusion", BOTH) == {"torchscript": True, "dynamo": True}


def test_onnxscript_rule_fires_in_the_dynamo_export():
    assert _fires(_chain("relu", "clamp"), "onnxscript:FuseSuccessiveClipRelu", BOTH[1:]) == {"dynamo": True}
    assert _fires(_chain("transpose", "transpose"), "onnxscript:TransposeTranspose", BOTH[1:]) == {"dynamo": True}


def test_batched_dynamo_export_attributes_rules_to_their_own_graph():
    chain_graph = template_graph(_chain("relu", "relu"), seed=1)
    plain = template_graph(_chain("sin", "cos"), seed=2)
    cases = [(chain_graph, make_inputs(chain_graph, 1), 1), (plain, make_inputs(plain, 2), 2)]
    a, b = run_graphs_batched(cases, BOTH[1], max_batch=2)
    assert a.options.get("export_batch") == 2
    assert "onnxscript:FuseSuccessiveRelu" in a.rewrites
    assert not any(x.startswith("onnxscript:FuseSuccessive") for x in b.rewrites)
    cov = Coverage()
    cov.update(a)
    assert "onnxscript:FuseSuccessiveRelu" in cov.rewrites_fired("dynamo")


def test_table_chains_verified_for_both_exporters_still_fire():
    """A sample of the committed table: the best chain of each rewrite verified with both exporters."""
    both = [t for t in load_rewrite_templates() if t.project == "onnxruntime" and t.usable_chains("torchscript") and t.usable_chains("dynamo")]
    assert both
    for t in both[:3]:
        best = max(t.usable_chains("torchscript"), key=lambda c: c.verified["torchscript"] + c.verified.get("dynamo", 0.0))
        assert any(_fires(best, t.rewrite, BOTH, seeds=range(6)).values()), t.rewrite
