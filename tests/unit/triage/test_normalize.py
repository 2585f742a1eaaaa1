"""Crash-message normalization: what varies goes, what names the bug stays."""

import pytest

from fuzzer.triage.signature import normalize_message


@pytest.mark.parametrize(
    "a, b",
    [
        # node names and tensor widths vary between occurrences of one bug
        ("[ShapeInferenceError] (op_type:Sin, node name: /Sin_3): input typestr: T, has unsupported type: tensor(int64)",
         "[ShapeInferenceError] (op_type:Sin, node name: /Sin): input typestr: T, has unsupported type: tensor(int32)"),
        ("Could not find an implementation for Atan(7) node with name '/Atan'",
         "Could not find an implementation for Atan(7) node with name 'node_atan_12'"),
        ("shape [2, 3] vs torch.Size([4, 5]) at /usr/lib/python3.11/x.py:12 for v12",
         "shape [7] vs torch.Size([]) at /home/me/y.py:99 for x0"),
        ("ONNX export does NOT support exporting bitwise Not for non-boolean input values  [Caused by the value '34 defined in (%34 : Long(*, strides=[2]",
         "ONNX export does NOT support exporting bitwise Not for non-boolean input values  [Caused by the value '9 defined in (%0 : Half(1, 0"),
    ],
)
def test_same_bug_normalizes_equal(a, b):
    assert normalize_message(a) == normalize_message(b)


@pytest.mark.parametrize(
    "a, b",
    [
        # the unsupported operator is the bug identity (one missing symbolic each)
        ("Exporting the operator 'aten::cosh' to ONNX opset version 20 is not supported",
         "Exporting the operator 'aten::sinh' to ONNX opset version 20 is not supported"),
        ("(op_type:Sin, node name: /Sin): has unsupported type: tensor(int64)",
         "(op_type:Cos, node name: /Cos): has unsupported type: tensor(int64)"),
        ("(op_type:Sin): has unsupported type: tensor(int64)", "(op_type:Sin): has unsupported type: tensor(double)"),
        ("Could not find an implementation for Atan(7)", "Could not find an implementation for PRelu(16)"),
    ],
)
def test_different_bugs_stay_apart(a, b):
    assert normalize_message(a) != normalize_message(b)


def test_normalized_message_keeps_the_operator_and_drops_numbers():
    n = normalize_message("Exporting the operator 'aten::cosh' to ONNX opset version 20 is not supported\nmore lines")
    assert n == "Exporting the operator 'aten::cosh' to ONNX opset version # is not supported"
