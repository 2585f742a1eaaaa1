"""Dynamic-shape export: which dimensions, what the model declares, refusals (real torch.export)."""

import io

import pytest
import torch

from fuzzer.export import ExportOptions, Exporter
from fuzzer.export.dynamic import changeable_sizes, dynamic_dims, dynamo_dynamic_shapes, is_refusal, model_dynamic_dims, torchscript_dynamic_axes


def test_dims_of_size_two_or_more_are_dynamic_and_equal_sizes_share_a_symbol():
    dims = dynamic_dims({"x": (3, 1, 4), "y": (4,), "z": (1, 0)})
    assert dims == {"x": {0: "s3", 2: "s4"}, "y": {0: "s4"}}
    assert torchscript_dynamic_axes(dims) == dims
    shapes = dynamo_dynamic_shapes(["x", "z", "y"], dims)
    assert shapes[1] is None
    assert shapes[0][2] is shapes[2][0]  # one Dim object per symbol: torch.export ties the sizes
    assert shapes[0][0] is not shapes[0][2]


def test_a_size_changes_only_when_every_dimension_of_that_size_is_declared_dynamic():
    shapes = {"x": (3, 4), "p": (4,)}
    assert changeable_sizes(shapes, {"x": {0: "s3", 1: "s4"}, "p": {0: "s4"}}) == {3, 4}
    assert changeable_sizes(shapes, {"x": {0: "s3", 1: "s4"}}) == {3}  # p's 4 is static: 4 stays
    assert changeable_sizes({"x": (1, 5)}, {"x": {0: "a", 1: "b"}}) == {5}  # 0/1 never change


def test_export_options_keep_dynamic_in_their_json_form_and_old_records_read_static():
    d = ExportOptions(Exporter.DYNAMO, 18, True, dynamic=True)
    assert ExportOptions.from_dict(d.to_dict()) == d
    assert "dynamic" not in ExportOptions(Exporter.DYNAMO).to_dict()
    assert ExportOptions.from_dict({"exporter": "torchscript", "opset": None}).dynamic is False
    assert d.static() == ExportOptions(Exporter.DYNAMO, 18, True)
    with pytest.raises(ValueError):
        ExportOptions.from_dict({"exporter": "dynamo", "dynamic": "yes"})


class _Flatten(torch.nn.Module):
    def forward(self, x):
        return torch.reshape(x, (x.shape[0] * x.shape[1],)) + 1


def test_the_model_says_which_input_dimensions_are_dynamic():
    buf = io.BytesIO()
    torch.onnx.export(_Flatten(), (torch.ones(3, 4),), buf, dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "s3"}})
    assert model_dynamic_dims(buf.getvalue()) == {"x": {0: "s3"}}


class _Fixed(torch.nn.Module):
    def forward(self, x):
        return torch.reshape(x, (12,))


def test_torch_export_refusing_a_dimension_is_a_refusal_and_an_ordinary_error_is_not():
    dim = torch.export.Dim("s4", min=2)
    with pytest.raises(Exception) as info:
        torch.export.export(_Fixed(), (torch.ones(3, 4),), dynamic_shapes=({1: dim},), strict=False)
    assert is_refusal(info.value)
    try:
        raise RuntimeError("wrapped") from info.value
    except RuntimeError as wrapped:
        assert is_refusal(wrapped)  # the exporter wraps torch.export's exception
    assert not is_refusal(RuntimeError("Unsupported: ONNX export of operator adaptive_avg_pool2d"))
