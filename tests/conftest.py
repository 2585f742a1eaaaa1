import os

import pytest

# Before torch is imported by any test module: no OpenMP thread pool, so tests (and library code
# under test) that fork a child cannot inherit a pool whose locks are held (the child would hang
# in its first parallel op). Workers and benchmarks run torch single-threaded as well.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def ort_crasher() -> tuple[bytes, dict]:
    """Transpose(perm 1,0,2) then MatMul by a float16 constant: creating an ONNX Runtime session
    with graph optimizations on (the default) dies with SIGSEGV on onnxruntime 1.32 (CPU); without
    them it runs. Found as a window of nn.MultiheadAttention's float16 model (dynamo, opset 20),
    while filing, where it killed a sweep's supervisor."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    h = TensorProto.FLOAT16
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 12)).astype(np.float16), "w")
    g = helper.make_graph([helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]), helper.make_node("MatMul", ["t", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", h, [2, 3, 4])], [helper.make_tensor_value_info("y", h, [3, 2, 12])], [w])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)], ir_version=9).SerializeToString()
    return model, {"x": np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float16)}
