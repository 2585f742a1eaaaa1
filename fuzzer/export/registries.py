"""What each exporter registers: the ATen operators it has a translation for.

- TorchScript exporter (``dynamo=False``): its symbolic registry
  (``torch.onnx._internal.torchscript_exporter.registration.registry``), filled by importing every
  ``symbolic_opset*`` module; the ``aten::`` names.
- dynamo exporter (``dynamo=True``): ONNX Script's torchlib registration table
  (``onnxscript.function_libs.torch_lib.registration.default_registry``); the ``aten::`` names with
  the overload dropped (``aten::add.Tensor`` and ``aten::add.Scalar`` are both ``add``).

Names are returned without the ``aten::`` prefix, as :mod:`fuzzer.catalog` reach tables and the
campaign's coverage write them.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache


@lru_cache(maxsize=1)
def torchscript_registered() -> frozenset[str]:
    import torch.onnx._internal.torchscript_exporter as te
    from torch.onnx._internal.torchscript_exporter import registration

    for m in pkgutil.iter_modules(te.__path__):
        if m.name.startswith("symbolic_opset") or m.name in ("symbolic_helper",):
            importlib.import_module(f"{te.__name__}.{m.name}")
    names = registration.registry.all_functions()
    return frozenset(n.split("::", 1)[1] for n in names if n.startswith("aten::"))


@lru_cache(maxsize=1)
def torchlib_registered() -> frozenset[str]:
    import onnxscript.function_libs.torch_lib.ops  # noqa: F401 - fills the registry
    from onnxscript.function_libs.torch_lib import registration

    keys = registration.default_registry._registry.keys()  # the registration table, name -> overloads
    return frozenset(k.split("::", 1)[1].split(".", 1)[0] for k in keys if k.startswith("aten::"))


REGISTRIES = {"torchscript": torchscript_registered, "dynamo": torchlib_registered}
