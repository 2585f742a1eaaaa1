"""Torch-free reproductions of ONNX Runtime bugs: the exported model cut down, at the ONNX level, to
the fewest consecutive nodes that still show the bug, written as an ``onnx.helper`` script.

An ONNX Runtime maintainer wants a model built with ``onnx.helper`` and a few lines of
onnxruntime, not a PyTorch module. :func:`reduce_model` takes the exported model and the inputs,
computes every intermediate value with ONNX's reference implementation (the spec's answer), and
tries windows of consecutive nodes, smallest first (one node, then two, ...): each window becomes
a model of its own whose inputs are the values it reads from outside (fed with the reference's
values) and whose outputs are every value it produces. The first window that still shows the bug
(:class:`Kind`) is the reduction. Constant nodes become initializers first, so an ONNX Runtime
rewrite that needs constant inputs (Relu+Clip fusion) still sees them.

Why not an existing reducer: ``onnx.utils.Extractor`` cuts by tensor names (it is what a window
is, without the search), Polygraphy is not installed here and its ``debug reduce`` drives a
command line per candidate; the search itself is twenty lines.

:func:`render_onnx_script` writes the reduction as a standalone script needing onnx, onnxruntime
and numpy only, which exits 1 while the bug reproduces and 0 once fixed.
"""

from __future__ import annotations

import enum
import keyword
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from fuzzer.compare import compare_outputs

MAX_WINDOW = 6  # nodes; a bug needing more context is shown on the whole model
MAX_TRIES = 300  # candidate models per reduction (each costs a session or two)


class Kind(str, enum.Enum):
    """What "the bug still shows" means for a candidate model."""

    LOAD = "load"  # session creation fails with the same status (NOT_IMPLEMENTED...)
    RUN = "run"  # the session loads, running it raises
    KERNEL = "kernel"  # ONNX Runtime's outputs differ from the reference's
    OPTIMIZER = "optimizer"  # wrong (or no session) with ORT's optimizations, right with ORT_DISABLE_ALL

    def __str__(self) -> str:
        return self.value


def kind_for(stage: str | None, verdict: str) -> Kind | None:
    """The kind of torch-free repro for a finding blamed on ONNX Runtime; None for others."""
    if stage == "ort_optimizer":
        return Kind.OPTIMIZER
    if stage != "ort_kernel":
        return None
    return {"ort_load_failure": Kind.LOAD, "ort_run_crash": Kind.RUN}.get(verdict, Kind.KERNEL)


@dataclass(frozen=True)
class OnnxRepro:
    """A reduced model that shows the bug: ``model`` fed ``feeds`` gives ``expected`` by the ONNX
    reference (None when the reference cannot run it); ``observed`` is what ONNX Runtime does now
    (its error, or its outputs as text)."""

    kind: Kind
    model: onnx.ModelProto
    feeds: dict[str, np.ndarray]
    expected: tuple[np.ndarray, ...] | None
    observed: str
    nodes_before: int

    @property
    def op_types(self) -> list[str]:
        return [n.op_type for n in self.model.graph.node]


def _status(msg: str) -> str:
    """ONNX Runtime's status code in an error message ('NOT_IMPLEMENTED', 'FAIL'...)."""
    for code in ("NOT_IMPLEMENTED", "INVALID_GRAPH", "INVALID_ARGUMENT", "RUNTIME_EXCEPTION", "NO_SUCHFILE", "FAIL"):
        if f": {code} :" in msg or code in msg:
            return code
    return msg[:40]


def _run(model: bytes, feeds: Mapping[str, np.ndarray], optimization: str = "all") -> tuple[str, object]:
    """("load", error) | ("run", error) | ("ok", outputs) | ("crash", what): in a helper process
    (:mod:`fuzzer.execute.untrusted`), since a cut-down model can crash ONNX Runtime, and this runs
    in whatever process files the finding."""
    from fuzzer.execute.untrusted import run_untrusted

    r = run_untrusted(model, feeds, list(feeds), optimization)
    return (r.stage, r.outputs) if r.ok else (r.stage, r.error_message or "")


def _agree(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> bool:
    return len(expected) == len(actual) and all(d.ok for d in compare_outputs(list(expected), list(actual)))


def _shows(kind: Kind, model: bytes, feeds, expected, want_status: str | None) -> tuple[bool, str]:
    """Whether the candidate shows the bug, and what ONNX Runtime did (for the report)."""
    state, out = _run(model, feeds)
    if kind is Kind.LOAD:
        return state == "load" and _status(str(out)) == want_status, str(out)
    if kind is Kind.RUN:
        return state == "run", str(out)
    if expected is None:
        return False, ""
    if kind is Kind.KERNEL:
        return state == "ok" and not _agree(expected, out), _outputs_text(out) if state == "ok" else str(out)
    # OPTIMIZER: broken with the optimizations, right without them
    if state == "ok" and _agree(expected, out):
        return False, ""
    state2, out2 = _run(model, feeds, "disabled")
    return state2 == "ok" and _agree(expected, out2), (_outputs_text(out) if state == "ok" else str(out))


def _outputs_text(outs) -> str:
    return "\n".join(f"{a.dtype}{list(a.shape)} {np.array2string(a, threshold=40, precision=8)}" for a in outs)


def _types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - types then come from the values themselves
        inferred = model
    g = inferred.graph
    return {v.name: v.type for v in [*g.input, *g.value_info, *g.output] if v.type.HasField("tensor_type")}


def _values(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """Every value of the model by the ONNX reference, cast to its declared type; None when the
    reference cannot run the model."""
    from onnx.reference import ReferenceEvaluator

    feeds = {i.name: np.array(inputs[i.name]) for i in model.graph.input if i.name in inputs}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ref = ReferenceEvaluator(model)
            vals = ref.run(None, feeds, intermediate=True)
    except Exception:  # noqa: BLE001 - the reference lacks a kernel: no values
        return None
    types = _types(model)
    out = dict(feeds)
    for name, v in vals.items():
        try:
            a = np.asarray(v)
        except ValueError:  # a sequence value (SplitToSequence...): no tensor to inline
            continue
        t = types.get(name)
        if t is not None and t.tensor_type.elem_type:
            try:
                dt = np.dtype(helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type))
                with np.errstate(all="ignore"):
                    a = a.astype(dt) if a.dtype != dt else a
            except (KeyError, TypeError, ValueError):
                pass
        out[name] = a
    return out


def _constants_as_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = []
    for n in m.graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and len(n.attribute) == 1 and n.attribute[0].name == "value":
            t = onnx.TensorProto()
            t.CopyFrom(n.attribute[0].t)
            t.name = n.output[0]
            m.graph.initializer.append(t)
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return m


def _window_model(model: onnx.ModelProto, nodes: Sequence[onnx.NodeProto], values: Mapping[str, np.ndarray],
                  types: Mapping[str, onnx.TypeProto]) -> tuple[onnx.ModelProto, dict[str, np.ndarray]] | None:
    inits = {t.name: t for t in model.graph.initializer}
    produced: list[str] = []
    needed: list[str] = []
    for n in nodes:
        for i in n.input:
            if i and i not in produced and i not in needed:
                needed.append(i)
        produced += [o for o in n.output if o]
    feeds, ins, init = {}, [], []
    for name in needed:
        if name in inits:
            init.append(inits[name])
        elif name in values:
            feeds[name] = values[name]
            ins.append(_value_info(name, values[name], types))
        elif name in types:  # no value (the reference could not run): zeros of the declared type
            vi = helper.make_value_info(name, types[name])
            shape = [d.dim_value for d in types[name].tensor_type.shape.dim]
            feeds[name] = np.zeros(shape, helper.tensor_dtype_to_np_dtype(types[name].tensor_type.elem_type))
            ins.append(vi)
        else:
            return None
    inside = {id(n) for n in nodes}
    read_outside = {i for n in model.graph.node if id(n) not in inside for i in n.input} | {o.name for o in model.graph.output}
    # only what the rest of the model reads: an extra output would block ORT's fusions
    exposed = [p for p in produced if p in read_outside] or [o for o in nodes[-1].output if o]
    outs = []
    for name in exposed:
        if name in values:
            outs.append(_value_info(name, values[name], types))
        elif name in types:
            outs.append(helper.make_value_info(name, types[name]))
        else:
            outs.append(helper.make_empty_tensor_value_info(name))
    g = helper.make_graph(list(nodes), "repro", ins, outs, init)
    m = helper.make_model(g, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    used = {(n.domain, n.op_type) for n in nodes}
    m.functions.extend(f for f in model.functions if (f.domain, f.name) in used)
    return m, feeds


def _value_info(name: str, a: np.ndarray, types: Mapping[str, onnx.TypeProto]) -> onnx.ValueInfoProto:
    t = types.get(name)
    elem = t.tensor_type.elem_type if t is not None and t.tensor_type.elem_type else helper.np_dtype_to_tensor_dtype(a.dtype)
    return helper.make_tensor_value_info(name, elem, list(a.shape))


def reduce_model(model_bytes: bytes, inputs: Mapping[str, np.ndarray], kind: Kind, error_message: str | None = None) -> OnnxRepro | None:
    """The smallest window of consecutive nodes of the model that shows the bug (see the module
    docstring), or None when no window does (not even the whole model)."""
    model = onnx.load_model_from_string(model_bytes)
    before = len(model.graph.node)
    model = _constants_as_initializers(model)
    values = _values(model, inputs)
    if values is None and kind in (Kind.KERNEL, Kind.OPTIMIZER):
        return None
    values = values or {k: np.asarray(v) for k, v in inputs.items()}
    types = _types(model)
    want = _status(error_message or "") if kind is Kind.LOAD else None
    nodes = list(model.graph.node)
    tries = 0
    sizes = list(range(1, min(MAX_WINDOW, len(nodes)) + 1)) + ([len(nodes)] if len(nodes) > MAX_WINDOW else [])
    for k in sizes:
        for i in range(len(nodes) - k + 1):
            tries += 1
            if tries > MAX_TRIES:
                return None
            built = _window_model(model, nodes[i:i + k], values, types)
            if built is None:
                continue
            sub, feeds = built
            expected = tuple(values[o.name] for o in sub.graph.output) if all(o.name in values for o in sub.graph.output) else None
            ok, observed = _shows(kind, sub.SerializeToString(), feeds, expected, want)
            if ok:
                return OnnxRepro(kind, _renamed(sub), _renamed_feeds(sub, feeds), expected, observed, before)
    return None


def _short_names(model: onnx.ModelProto) -> dict[str, str]:
    names: dict[str, str] = {}
    for k, i in enumerate(model.graph.input):
        names[i.name] = f"x{k}"
    for k, t in enumerate(model.graph.initializer):
        names[t.name] = f"c{k}"
    for k, o in enumerate(model.graph.output):
        names.setdefault(o.name, f"y{k}")
    k = 0
    for n in model.graph.node:
        for o in n.output:
            if o and o not in names:
                names[o] = f"t{k}"
                k += 1
    return names


def _renamed(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same model with short value names (x0 inputs, c0 initializers, y0 outputs) and no node
    names: what a reader of the issue wants to see."""
    names = _short_names(model)
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for v in [*m.graph.input, *m.graph.output, *m.graph.value_info]:
        v.name = names.get(v.name, v.name)
    for t in m.graph.initializer:
        t.name = names.get(t.name, t.name)
    for n in m.graph.node:
        n.name = ""
        n.input[:] = [names.get(i, i) for i in n.input]
        n.output[:] = [names.get(o, o) for o in n.output]
    return m


def _renamed_feeds(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = _short_names(model)
    return {names[k]: v for k, v in feeds.items()}


# -- the script -------------------------------------------------------------------------------------

def array_expr(a: np.ndarray) -> str:
    """A numpy expression that rebuilds ``a`` exactly (dtype, shape, NaN/inf, -0.0)."""
    a = np.asarray(a)
    dt = "bool_" if a.dtype == np.bool_ else a.dtype.name
    if a.size == 0:
        return f"np.zeros({tuple(a.shape)!r}, dtype=np.{dt})"
    return f"np.array({_literal(a.tolist())}, dtype=np.{dt})"


def _literal(x) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_literal(y) for y in x) + "]"
    if isinstance(x, float) and not np.isfinite(x):
        return "np.nan" if np.isnan(x) else ("np.inf" if x > 0 else "-np.inf")
    return repr(x)


class UnrenderableModel(ValueError):
    """A model the script writer cannot spell with onnx.helper (a graph-valued attribute...)."""


def _attr_expr(attr: onnx.AttributeProto) -> str:
    v = helper.get_attribute_value(attr)
    if isinstance(v, onnx.TensorProto):
        return f"numpy_helper.from_array({array_expr(numpy_helper.to_array(v))})"
    if isinstance(v, (onnx.GraphProto, onnx.SparseTensorProto, onnx.TypeProto)) or (
            isinstance(v, list) and v and not isinstance(v[0], (int, float, bytes))):
        raise UnrenderableModel(f"attribute {attr.name} of type {attr.type}")
    if isinstance(v, bytes):
        return repr(v.decode("utf-8", "replace"))
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return repr([b.decode("utf-8", "replace") for b in v])
    if isinstance(v, float):
        return _literal(v)
    if isinstance(v, list):
        return _literal([float(x) if isinstance(x, float) else x for x in v])
    return repr(v)


def _node_expr(n: onnx.NodeProto) -> str:
    attrs = []
    for a in n.attribute:
        name = a.name
        attrs.append(f"{name}={_attr_expr(a)}" if name.isidentifier() and not keyword.iskeyword(name) else f"**{{{name!r}: {_attr_expr(a)}}}")
    dom = f", domain={n.domain!r}" if n.domain not in ("", "ai.onnx") else ""
    return f"helper.make_node({n.op_type!r}, {list(n.input)!r}, {list(n.output)!r}{dom}" + "".join(f", {a}" for a in attrs) + ")"


def _vi_expr(v: onnx.ValueInfoProto) -> str:
    tt = v.type.tensor_type
    elem = onnx.TensorProto.DataType.Name(tt.elem_type) if tt.elem_type else "UNDEFINED"
    shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim] if tt.HasField("shape") else None
    return f"helper.make_tensor_value_info({v.name!r}, TensorProto.{elem}, {shape!r})"


_CHECK = {
    Kind.LOAD: '''\
try:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
except Exception as e:  # the bug: a valid model that ONNX Runtime cannot load
    print("REPRODUCED: onnxruntime cannot create a session for this valid model:", str(e).strip().splitlines()[0])
    sys.exit(1)
actual = sess.run(None, feeds)
problems = differences(expected, actual) if expected is not None else []
print("FIXED: the session loads" + ("" if not problems else f", but the outputs differ: {problems}"))
sys.exit(1 if problems else 0)
''',
    Kind.RUN: '''\
sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
try:
    actual = sess.run(None, feeds)
except Exception as e:  # the bug: running a valid model raises
    print("REPRODUCED: onnxruntime raises while running this valid model:", str(e).strip().splitlines()[0])
    sys.exit(1)
problems = differences(expected, actual) if expected is not None else []
print("FIXED" if not problems else f"DIFFERENT FAILURE: {problems}")
sys.exit(1 if problems else 0)
''',
    Kind.KERNEL: '''\
sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
actual = sess.run(None, feeds)
show("onnxruntime", actual)
problems = differences(expected, actual)
if problems:
    print("REPRODUCED: onnxruntime disagrees with the ONNX reference:", *problems, sep="\\n  ")
    sys.exit(1)
print("FIXED: onnxruntime agrees with the ONNX reference")
''',
    Kind.OPTIMIZER: '''\
def run(level):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)

show("onnxruntime, ORT_DISABLE_ALL", run(ort.GraphOptimizationLevel.ORT_DISABLE_ALL))  # right
try:
    actual = run(ort.GraphOptimizationLevel.ORT_ENABLE_ALL)  # the default
except Exception as e:
    print("REPRODUCED: with graph optimizations (the default) the session fails:", str(e).strip().splitlines()[0])
    sys.exit(1)
show("onnxruntime, ORT_ENABLE_ALL", actual)
problems = differences(expected, actual)
if problems:
    print("REPRODUCED: with graph optimizations (the default) the outputs are wrong:", *problems, sep="\\n  ")
    sys.exit(1)
print("FIXED: optimized and unoptimized sessions agree with the ONNX reference")
''',
}

_HEAD = '''\
"""{doc}

Needs onnx, onnxruntime and numpy (no PyTorch). Exit 1 while the bug reproduces, 0 once fixed."""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

nodes = [
{nodes}
]
initializers = [{inits}]
inputs = [
{inputs}
]
outputs = [
{outputs}
]
graph = helper.make_graph(nodes, "repro", inputs, outputs, initializers)
model = helper.make_model(graph, opset_imports=[{opsets}], ir_version={ir})
onnx.checker.check_model(model, full_check=True)  # a valid ONNX model
feeds = {{
{feeds}
}}
# the ONNX reference implementation's outputs for these inputs (the spec's answer):
expected = {expected}
print("onnx", onnx.__version__, "onnxruntime", ort.__version__, "numpy", np.__version__)


def show(label, arrays):
    for k, a in enumerate(arrays):
        print(f"{{label}} output {{k}}: {{a.dtype}}{{list(a.shape)}} {{np.array2string(np.asarray(a), precision=8)}}")


def differences(expected, actual):
    out = []
    for k, (e, a) in enumerate(zip(expected, actual)):
        a = np.asarray(a)
        if e.dtype != a.dtype or e.shape != a.shape:
            out.append(f"output {{k}}: {{a.dtype}}{{list(a.shape)}}, expected {{e.dtype}}{{list(e.shape)}}")
        elif e.dtype.kind in "fc":
            if not np.allclose(a, e, rtol={rtol}, atol={atol}, equal_nan=True) or not np.array_equal(np.isnan(a), np.isnan(e)):
                out.append(f"output {{k}}: {{a.tolist()}}, expected {{e.tolist()}}")
        elif not np.array_equal(a, e):
            out.append(f"output {{k}}: {{a.tolist()}}, expected {{e.tolist()}}")
    return out


if expected is not None:
    show("expected (ONNX reference)", expected)
    try:  # shown, not trusted: the expected values above are what it gave when this was written
        from onnx.reference import ReferenceEvaluator
        show("onnx.reference now", ReferenceEvaluator(model).run(None, feeds))
    except Exception as e:
        print("onnx.reference cannot run the model:", e)
'''


def render_onnx_script(repro: OnnxRepro, doc: str) -> str:
    """The standalone torch-free script of ``repro`` (raises :class:`UnrenderableModel`)."""
    m = repro.model
    g = m.graph
    if m.functions:
        raise UnrenderableModel("the reduced model calls local functions")
    nodes = ",\n".join("    " + _node_expr(n) for n in g.node)
    inits = "".join(f"\n    numpy_helper.from_array({array_expr(numpy_helper.to_array(t))}, {t.name!r})," for t in g.initializer)
    inits = inits + "\n" if inits else ""
    expected = "None" if repro.expected is None else "[" + ", ".join(array_expr(a) for a in repro.expected) + "]"
    floats = [a.dtype for a in (repro.expected or ()) if a.dtype.kind == "f"]
    rtol, atol = (1e-2, 1e-3) if any(d == np.float16 for d in floats) else (1e-5, 1e-6)
    head = _HEAD.format(
        doc=doc.replace('"""', "'''"), nodes=nodes, inits=inits,
        inputs=",\n".join("    " + _vi_expr(v) for v in g.input), outputs=",\n".join("    " + _vi_expr(v) for v in g.output),
        opsets=", ".join(f"helper.make_opsetid({o.domain!r}, {o.version})" for o in m.opset_import), ir=m.ir_version,
        feeds="\n".join(f"    {k!r}: {array_expr(v)}," for k, v in repro.feeds.items()), expected=expected, rtol=rtol, atol=atol,
    )
    return head + "\n" + _CHECK[repro.kind]
