import io
import json

import pytest
import torch

from fuzzer.coverage import Coverage, CoverageTracker, load_coverage
from fuzzer.coverage.metrics import model_items, paper_index
from fuzzer.generate.templates import load_templates


class _M(torch.nn.Module):
    def forward(self, x, y):
        return torch.atan(x.to(torch.float64)) * y


def _export() -> bytes:
    buf = io.BytesIO()
    torch.onnx.export(_M(), (torch.ones(2, 3, dtype=torch.int32), torch.ones(2, 3, dtype=torch.float64)), buf, dynamo=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def model_bytes():
    return _export()


def test_items_of_a_real_export(model_bytes):
    import onnx

    items = model_items(onnx.load_model_from_string(model_bytes))
    assert {"Cast", "Atan", "Mul"} <= items["ops"]
    assert "Cast>Atan" in items["bigrams"] and "Cast>Atan>Mul" in items["trigrams"]
    assert "Atan(float64)r2" in items["triples"]  # dtype and rank from shape inference
    assert "Mul(float64,float64)r2" in items["triples"]


def test_update_counts_new_items_once_and_merges(model_bytes):
    class R:
        exporter = "torchscript"
        model = model_bytes

    a = Coverage()
    first = a.update(R())
    assert first > 0 and a.update(R()) == 0
    b = Coverage()
    b.update(R())
    b.update(type("N", (), {"exporter": "dynamo", "model": None})())  # no model: counted, nothing added
    a.merge(b)
    assert a.cases == 4 and a.by_exporter["torchscript"].models == 3 and "dynamo" not in a.by_exporter
    again = Coverage.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again.to_dict() == a.to_dict()


def test_garbage_model_bytes_are_counted_not_fatal():
    c = Coverage()
    assert c.add_model("torchscript", b"\xff\x00 not a model") == 0
    assert c.unparsable == 1


def test_paper_share_counts_templates():
    assert load_templates(), "the committed template table is missing"
    c = Coverage()
    got, total = c.paper_share("torchscript", "reduced")
    assert (got, total) == (0, 131)
    assert len(paper_index()) == len(load_templates())


def test_tracker_writes_coverage_json_atomically(tmp_path, model_bytes):
    t = CoverageTracker(tmp_path, period=3600)
    t.update(type("R", (), {"exporter": "torchscript", "model": model_bytes})())
    assert not (tmp_path / "coverage.json").exists()  # not yet: period not elapsed
    t.close()
    cov, hist = load_coverage(tmp_path / "coverage.json")
    assert cov.by_exporter["torchscript"].models == 1 and hist[-1]["torchscript"]["ops"] >= 3
    assert [p.name for p in tmp_path.iterdir()] == ["coverage.json"]
