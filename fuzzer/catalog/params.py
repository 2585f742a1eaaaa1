"""Node parameters (constant tensors): how their values are drawn, shared by every materialization."""

from __future__ import annotations

import torch

from fuzzer.ir import Param

#: Deterministic parameter values from (shape, dtype, init, seed). Drawn in float64 and cast, so a
#: parameter keeps its values when the minimizer changes its dtype.
PARAM_HELPER = '''\
def _param(shape, dtype, init, seed):
    g = torch.Generator().manual_seed(seed)
    if init == "normal":
        t = torch.randn(shape, generator=g, dtype=torch.float64)
    elif init == "uniform":
        t = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
    elif init == "positive":
        t = torch.rand(shape, generator=g, dtype=torch.float64) + 0.5
    elif init == "ones":
        t = torch.ones(shape, dtype=torch.float64)
    else:
        t = torch.zeros(shape, dtype=torch.float64)
    if not dtype.is_floating_point and dtype != torch.bool:
        t = torch.round(t * 3)
    return t.to(dtype)
'''


_helper_ns: dict = {"torch": torch}
exec(compile(PARAM_HELPER, "<onnxfuzz-param-helper>", "exec"), _helper_ns)


def make_param(p: Param) -> torch.Tensor:
    """The tensor a :class:`Param` stands for (the same function the generated source defines)."""
    return _helper_ns["_param"](p.spec.shape, getattr(torch, p.spec.dtype), p.init, p.seed)
