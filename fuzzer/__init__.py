"""onnxfuzz: an operator-sequence fuzzer for PyTorch's ONNX exporters.

Pipeline, one subpackage per stage: ir (the test case) -> catalog (operators) -> generate ->
materialize (IR to torch) -> export (torch.onnx) -> execute (eager, ONNX Runtime) -> compare
(verdict) -> campaign (the fuzz loop). The CLI and the terminal UI sit at the edge.
"""

__version__ = "0.1.0"
