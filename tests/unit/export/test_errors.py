"""The cause of a dynamo exporter error, read from its exception summary (messages as torch 2.13
writes them, shortened)."""

from fuzzer.export.errors import parse_summary, summary_head

STEP3 = (
    "Failed to convert the exported program to an ONNX model. \x1b[96mThis is step 3/3\x1b[0m of exporting the model to ONNX. Next steps:\n"
    "- If there is a missing ONNX function, implement it and register it to the registry.\n\n## Exception summary\n\n"
    "<class 'AssertionError'>: only 4D query, key, and value are supported\n⬆️\n"
    "<class 'torch.onnx._internal.exporter._errors.GraphConstructionError'>: Error when calling function 'TracedOnnxFunction(<function "
    "aten_scaled_dot_product_attention at 0x7f77c36f85e0>)' with args '[SymbolicTensor(name='x0')]'\n⬆️\n"
    "<class 'torch.onnx._internal.exporter._errors.ConversionError'>: Error when translating node %scaled_dot_product_attention : "
    "[num_users=1] = call_function[target=torch.ops.aten.scaled_dot_product_attention.default](args = (%x0, %x1, %x2, None, 0.0, True), "
    "kwargs = {}). See the stack trace for more information.\n\n(Refer to the full stack trace above for more information.)"
)
STEP1 = (
    "Failed to export the model with torch.export. \x1b[96mThis is step 1/3\x1b[0m of exporting the model to ONNX. Next steps:\n\n"
    "## Exception summary\n\n<class 'torch.fx.experimental.symbolic_shapes.GuardOnDataDependentSymNode'>: Could not extract specialized "
    "integer from data-dependent expression u0 (unhinted: u0).\n\nThe following call raised this error:\n"
    '  File "<onnxfuzz-graph-2b7db8327331>", line 26, in forward\n    v1 = x0.nonzero()\n\n'
)


def test_the_innermost_exception_and_the_fx_node_are_the_cause():
    s = parse_summary(STEP3)
    assert (s.step, s.cause_type, s.cause, s.target) == ("3/3", "AssertionError", "only 4D query, key, and value are supported",
                                                         "aten.scaled_dot_product_attention.default")
    assert summary_head(STEP3) == "step 3/3 at aten.scaled_dot_product_attention.default: AssertionError: only 4D query, key, and value are supported"


def test_a_capture_error_names_the_call_of_the_module_line():
    s = parse_summary(STEP1)
    assert (s.step, s.cause_type, s.target) == ("1/3", "GuardOnDataDependentSymNode", "Tensor.nonzero")


def test_other_messages_have_no_summary():
    assert parse_summary("Exporting the operator 'aten::cosh' to ONNX opset version 20 is not supported") is None
    assert summary_head(None) is None and summary_head("") is None
    assert parse_summary("Failed. ## Exception summary\n\nno class line") is None
