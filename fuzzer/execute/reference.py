"""Run an exported model in ONNX's reference implementation (``onnx.reference.ReferenceEvaluator``).

The reference is a third opinion for blame attribution: it executes the ONNX model as the spec
describes it, without ONNX Runtime's kernels or graph optimizer. It is written in numpy and can be
very slow on big tensors, and it does not implement every op, dtype or attribute combination:

- ``stage="skipped"``: the model is over the size cap (:data:`REFERENCE_MAX_ELEMENTS`); never run.
- ``stage="unsupported"``: the reference cannot build or run the model (a missing kernel, an op of
  a domain it does not know, a numpy error inside one of its kernels). Not a finding: the
  reference is an oracle, not a target.
- ``stage="run"``: the reference ran the model and numpy found it impossible (a ``ValueError`` or
  ``IndexError`` while running: a reshape to the wrong element count, an index out of range).
  Evidence about the model only together with ONNX Runtime failing at run time too (blame rule 2).
- ``stage="ok"``: outputs in graph-output order.
"""

from __future__ import annotations

import time
import warnings
from typing import Mapping, Sequence

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from .runners import RunOutcome, _qualname

#: Sum of the element counts of the model's inputs and initializers above which the reference is
#: not run. The reference's Conv/Pool kernels loop in Python; a few 1e5 elements take seconds.
REFERENCE_MAX_ELEMENTS = 100_000


def model_elements(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]) -> int:
    n = sum(int(np.asarray(v).size) for v in inputs.values())
    for init in model.graph.initializer:
        size = 1
        for d in init.dims:
            size *= int(d)
        n += size
    return n


def run_reference(
    model: bytes, inputs: Mapping[str, np.ndarray], input_order: Sequence[str], max_elements: int = REFERENCE_MAX_ELEMENTS
) -> RunOutcome:
    """Run ``model`` (serialized bytes) in the reference evaluator; never raises for the model's sake."""
    t0 = time.perf_counter()
    proto = onnx.load_from_string(model)
    wanted = [i.name for i in proto.graph.input if i.name not in {x.name for x in proto.graph.initializer}]
    missing = [n for n in wanted if n not in inputs]
    if missing:
        return RunOutcome("unsupported", (), "InputMismatch", f"model inputs {wanted} do not match the module's {list(input_order)}")
    size = model_elements(proto, {n: inputs[n] for n in wanted})
    if size > max_elements:
        return RunOutcome("skipped", (), "SizeCap", f"{size} input and initializer elements > cap {max_elements}")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ref = ReferenceEvaluator(proto)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:  # the reference has no implementation for some op/domain: unsupported
        return RunOutcome("unsupported", (), _qualname(e), str(e)[:2000], time.perf_counter() - t0)
    t1 = time.perf_counter()
    feed = {n: np.array(inputs[n], copy=True) for n in wanted}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = ref.run(None, feed)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except (ValueError, IndexError) as e:  # numpy: the model's shapes or indices are impossible
        return RunOutcome("run", (), _qualname(e), str(e)[:2000], t1 - t0, time.perf_counter() - t1)
    except Exception as e:  # a kernel the reference lacks (or mis-handles) for this dtype/attribute
        return RunOutcome("unsupported", (), _qualname(e), str(e)[:2000], t1 - t0, time.perf_counter() - t1)
    names = tuple(o.name for o in proto.graph.output)
    declared = [_declared_dtype(o) for o in proto.graph.output]
    arrays = tuple(_as_declared(np.asarray(o), dt) for o, dt in zip(outs, declared))
    return RunOutcome("ok", arrays, None, None, t1 - t0, time.perf_counter() - t1, names)


def _declared_dtype(value: onnx.ValueInfoProto) -> np.dtype | None:
    elem = value.type.tensor_type.elem_type
    if not elem:
        return None
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
    except (KeyError, TypeError, ValueError):
        return None


def _as_declared(a: np.ndarray, dtype: np.dtype | None) -> np.ndarray:
    """The reference's numpy kernels sometimes promote (float32 -> float64); the model declares
    the type, and ORT honours it, so compare in the declared type."""
    if dtype is None or a.dtype == dtype:
        return a
    with np.errstate(all="ignore"):
        return a.astype(dtype)


def declared_dtype_mismatch(model: bytes, expected: "tuple[np.ndarray, ...] | list[np.ndarray]") -> str | None:
    """How the model's declared output types differ from eager's outputs ("output 0: int16, eager
    int64"), or None when they agree (or cannot be read). A model ONNX Runtime cannot load or run
    is still the exporter's when it declares the wrong type: a missing kernel for that type is
    then not the cause (:func:`fuzzer.compare.stages.failing_stage`)."""
    try:
        proto = onnx.load_model_from_string(model)
    except Exception:  # noqa: BLE001 - an unreadable model says nothing here
        return None
    outputs = list(proto.graph.output)
    if len(outputs) != len(expected):
        return None
    for k, (o, e) in enumerate(zip(outputs, expected)):
        dt = _declared_dtype(o)
        if dt is not None and dt != np.asarray(e).dtype:
            return f"output {k}: {dt}, eager {np.asarray(e).dtype}"
    return None
