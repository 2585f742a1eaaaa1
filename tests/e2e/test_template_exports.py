"""Every sequence template, exported for real: its model contains the paper sequence as a path.

TorchScript: every template (instances run in forked children, first hit wins). Dynamo: a sample
(~1-4 s per export); ``scripts/templates.py --exporter both`` checks them all.
"""

import pytest

from fuzzer.workers.helpers import call_forked
from fuzzer.coverage.verify import export_instance, verify_chain
from fuzzer.export import Exporter
from fuzzer.generate.templates import Chain, Step, load_templates

pytestmark = pytest.mark.e2e

TABLE = load_templates()


@pytest.fixture(scope="module", autouse=True)
def _warm():
    export_instance(Chain((Step("sin"),)), ("Sin",), 0, Exporter.TORCHSCRIPT)  # forked children start warm


def test_every_torchscript_template_exports_to_its_sequence():
    assert TABLE, "the committed template table is missing (python scripts/templates.py writes it)"
    missing = []
    for t in TABLE:
        chains = t.usable_chains("torchscript")
        if not chains:
            assert "torchscript" in t.notes
            continue
        best = max(chains, key=lambda c: c.verified["torchscript"])
        share, _ = verify_chain(t, best, Exporter.TORCHSCRIPT, 8, stop_on_hit=True, isolate=call_forked)
        if not share:
            missing.append((t.id, " ".join(t.sequence)))
    assert not missing, missing


def test_a_sample_of_dynamo_templates():
    checked = [t for t in TABLE if t.usable_chains("dynamo")]
    assert checked, "no dynamo verification recorded in the template table"
    for t in checked[:: max(1, len(checked) // 3)][:3]:
        c = t.usable_chains("dynamo")[0]
        share, insts = verify_chain(t, c, Exporter.DYNAMO, 2, stop_on_hit=True, isolate=call_forked)
        assert share > 0, (t.id, t.sequence, insts)
