"""``report.md``: an issue ready to file, in the shape of PyTorch's bug template (a one-line
title, "Describe the bug" with the minimal code and expected vs actual, then "Versions"), written
for the maintainers of the component to blame.

Blame (:func:`blame`) follows the stage that failed: an export crash or an invalid model is the
exporter's (torch.onnx, TorchScript-based or dynamo); a missing kernel (``NOT_IMPLEMENTED``) or a
crash while running a valid model is ONNX Runtime's; a wrong result is ONNX Runtime's graph
optimizer's when it disappears with optimizations disabled, else the exporter's.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.execute import run_eager, run_onnxruntime
from fuzzer.ir import Graph
from fuzzer.catalog.params import PARAM_HELPER
from fuzzer.materialize import build_module, graph_to_source, node_expression

EXPORTER_CALL = {"torchscript": "torch.onnx.export(..., dynamo=False)", "dynamo": "torch.onnx.export(..., dynamo=True)"}
EXPORTER_COMPONENT = {"torchscript": "torch.onnx (TorchScript-based exporter, dynamo=False)", "dynamo": "torch.onnx (torch.export-based exporter, dynamo=True)"}


@dataclass(frozen=True)
class Evidence:
    """What the case does now: eager outputs, ONNX Runtime outputs (default optimizations and
    none), when those exist."""

    expected: tuple[np.ndarray, ...]
    actual: tuple[np.ndarray, ...] | None
    actual_unoptimized: tuple[np.ndarray, ...] | None


def gather_evidence(graph: Graph, inputs: Mapping[str, np.ndarray], model: bytes | None) -> Evidence:
    eager = run_eager(build_module(graph), inputs)
    actual = unopt = None
    if model is not None:
        names = [i.name for i in graph.inputs]
        a = run_onnxruntime(model, inputs, names)
        b = run_onnxruntime(model, inputs, names, optimization="disabled")
        actual = a.outputs if a.ok else None
        unopt = b.outputs if b.ok else None
    return Evidence(eager.outputs if eager.ok else (), actual, unopt)


#: The culprit named by the extra oracles (fuzzer.compare.blame), as a component for the report.
CULPRIT_COMPONENT = {
    "ort_kernel": "onnxruntime (CPU kernels: the ONNX reference implementation agrees with eager PyTorch)",
    "ort_optimizer": "onnxruntime (graph optimizations: the result is right with ORT_DISABLE_ALL)",
}


def blame(verdict: str, exporter: str, error_message: str | None, evidence: Evidence | None, culprit: str | None = None) -> str:
    """The component to name in the report. The oracles' culprit wins when they named one
    (exporter: the ONNX model itself computes something else; ort_kernel; ort_optimizer)."""
    if culprit == "exporter":
        return EXPORTER_COMPONENT[exporter]
    if culprit in CULPRIT_COMPONENT:
        return CULPRIT_COMPONENT[culprit]
    v = Verdict(verdict)
    if v in (Verdict.EXPORT_CRASH, Verdict.INVALID_MODEL):
        return EXPORTER_COMPONENT[exporter]
    if v is Verdict.ORT_LOAD_FAILURE:
        if "NOT_IMPLEMENTED" in (error_message or ""):
            return "onnxruntime (CPU execution provider: kernel missing for this type)"
        return EXPORTER_COMPONENT[exporter]
    if v is Verdict.ORT_RUN_CRASH:
        return "onnxruntime (CPU execution provider)"
    if evidence is not None and evidence.actual_unoptimized is not None and _agree(evidence.expected, evidence.actual_unoptimized):
        return "onnxruntime (graph optimizations: the result is right with ORT_DISABLE_ALL)"
    return EXPORTER_COMPONENT[exporter]


def _agree(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray]) -> bool:
    from fuzzer.compare import compare_outputs

    return bool(expected) and all(d.ok for d in compare_outputs(expected, actual))


def call_summary(graph: Graph) -> str:
    """A one-line name for the computation: the single call (with dtype/shape of its inputs) of a
    one-operator graph, else the op names."""
    specs = graph.specs()
    if len(graph.nodes) == 1:
        expr = node_expression(graph, 0, self_prefix="")
        ins = ", ".join(f"{n}: {specs[n].dtype}{list(specs[n].shape)}" for n in dict.fromkeys(graph.nodes[0].inputs))
        return f"`{expr}` on {ins}"
    return " -> ".join(graph.ops())


def title(verdict: str, exporter: str, graph: Graph, error_type: str | None, error_head: str | None, evidence: Evidence | None) -> str:
    what = call_summary(graph)
    flag = "dynamo=False" if exporter == "torchscript" else "dynamo=True"
    v = Verdict(verdict)
    short = (error_type or "").rsplit(".", 1)[-1]
    head = (error_head or "")[:120]
    if v is Verdict.EXPORT_CRASH:
        return f"[ONNX] export ({flag}) of {what} fails: {short}: {head}"
    if v is Verdict.INVALID_MODEL:
        return f"[ONNX] export ({flag}) of {what} produces an invalid model: {head}"
    if v is Verdict.ORT_LOAD_FAILURE:
        return f"ONNX model exported ({flag}) from {what} does not load in onnxruntime: {head}"
    if v is Verdict.ORT_RUN_CRASH:
        return f"ONNX model exported ({flag}) from {what} fails in onnxruntime at run time: {head}"
    if v in (Verdict.PROCESS_CRASH, Verdict.HANG, Verdict.OUT_OF_MEMORY):
        how = {Verdict.PROCESS_CRASH: "kills the process", Verdict.HANG: "hangs", Verdict.OUT_OF_MEMORY: "runs out of memory"}[v]
        detail = head.removeprefix("worker crash: ")
        return f"[ONNX] export ({flag}) and onnxruntime run of {what} {how}" + (f": {detail}" if detail else "")
    diff = first_difference(evidence) if evidence is not None else None
    if v is Verdict.SHAPE_OR_DTYPE_MISMATCH:
        return f"[ONNX] export ({flag}) of {what} changes the output type or shape: {diff or head}"
    return f"[ONNX] export ({flag}) of {what} gives wrong values: {diff or head}"


def first_difference(ev: Evidence) -> str | None:
    """'eager 1.0, onnxruntime 1.313262' for the first differing element of the first differing
    output (or its type/shape), None when there is nothing to compare."""
    if not ev.expected or ev.actual is None:
        return None
    if len(ev.expected) != len(ev.actual):
        return f"eager returns {len(ev.expected)} outputs, onnxruntime {len(ev.actual)}"
    for e, a in zip(ev.expected, ev.actual):
        a = np.asarray(a)
        if e.shape != a.shape or e.dtype != a.dtype:
            return f"eager gives {e.dtype}{list(e.shape)}, onnxruntime {a.dtype}{list(a.shape)}"
        with np.errstate(all="ignore"):
            same = (e == a) | (np.isnan(e) & np.isnan(a)) if e.dtype.kind == "f" else (e == a)
        if not np.all(same):
            idx = tuple(int(i) for i in np.argwhere(~same)[0]) if e.ndim else ()
            return f"eager {e[idx].item()!r}, onnxruntime {a[idx].item()!r}"
    return None


def render_report(
    *, finding_id: str, title_line: str, verdict: str, exporter: str, opset: int | None, graph: Graph,
    inputs: Mapping[str, np.ndarray], error_type: str | None, error_message: str | None, evidence: Evidence | None,
    versions: Mapping[str, str], component: str, signature_key: str, stage: str | None = None, project: str | None = None,
) -> str:
    lines = [f"# {title_line}", "", f"<!-- onnxfuzz finding {finding_id}; component to blame: {component}; signature: {signature_key} -->", ""]
    lines += ["### 🐛 Describe the bug", ""]
    lines += [_describe(verdict, exporter, component), ""]
    if stage is not None:
        lines += [f"Failing stage: {stage.replace('_', ' ')}" + (f" (tracker: {project})" if project and project != "unknown" else "") + ".", ""]
    lines += ["```python", _minimal_code(graph, inputs, exporter, opset), "```", ""]
    lines += _expected_actual(verdict, error_type, error_message, evidence)
    lines += ["", "### Versions", "", "```"]
    lines += [f"{k}: {v}" for k, v in versions.items()]
    lines += [f"os: {platform.system()} {platform.release()} ({platform.machine()})", "```", ""]
    lines += ["(Found by onnxfuzz, an operator-sequence fuzzer for torch.onnx; the files `repro.py`, `model.onnx` and `inputs.npz` of the finding reproduce it.)", ""]
    return "\n".join(lines)


def _describe(verdict: str, exporter: str, component: str) -> str:
    v = Verdict(verdict)
    call = EXPORTER_CALL[exporter]
    text = {
        Verdict.EXPORT_CRASH: f"`{call}` raises on the module below, which runs fine in eager PyTorch.",
        Verdict.INVALID_MODEL: f"`{call}` succeeds on the module below but the model fails `onnx.checker.check_model(model, full_check=True)`.",
        Verdict.ORT_LOAD_FAILURE: f"The module below exports with `{call}`, but onnxruntime (CPU) cannot create a session for the model.",
        Verdict.ORT_RUN_CRASH: f"The module below exports with `{call}` and loads in onnxruntime (CPU), but running it raises.",
        Verdict.SHAPE_OR_DTYPE_MISMATCH: f"The module below exports with `{call}`, but the model's output type or shape differs from eager PyTorch.",
        Verdict.NUMERIC_MISMATCH: f"The module below exports with `{call}`, but onnxruntime computes different values than eager PyTorch.",
        Verdict.PROCESS_CRASH: f"Exporting the module below with `{call}` and running the model in onnxruntime (CPU) kills the Python process with a signal; eager PyTorch runs it fine. `repro.py` prints each stage before entering it, so its last line names the stage that dies.",
        Verdict.HANG: f"Exporting the module below with `{call}` and running the model in onnxruntime (CPU) does not finish; eager PyTorch runs it at once.",
        Verdict.OUT_OF_MEMORY: f"Exporting the module below with `{call}` and running the model in onnxruntime (CPU) exhausts memory; eager PyTorch runs it in little memory.",
    }.get(v, f"`{call}`: {verdict}")
    return f"{text} Likely component: {component}."


def module_source(graph: Graph) -> str:
    """:func:`graph_to_source`, without the parameter helper when no node has parameters."""
    src = graph_to_source(graph)
    if not any(n.params for n in graph.nodes):
        src = src.replace(PARAM_HELPER, "").replace("import torch\n\n\n\n\n", "import torch\n\n\n")
    return src


def _minimal_code(graph: Graph, inputs: Mapping[str, np.ndarray], exporter: str, opset: int | None) -> str:
    src = module_source(graph).rstrip("\n")
    names = [i.name for i in graph.inputs]
    lines = [src, "", "", "import numpy as np", "import onnxruntime as ort", "", "model = Model().eval()"]
    for n in names:
        a = inputs[n]
        lines.append(f"{n} = {_tensor_expr(a)}")
    args = ", ".join(names)
    if exporter == "torchscript":
        op = f", opset_version={opset}" if opset is not None else ""
        lines += ["import io", "buf = io.BytesIO()", f"torch.onnx.export(model, ({args},), buf, dynamo=False{op}, input_names={names!r})", "onnx_bytes = buf.getvalue()"]
    else:
        op = f", opset_version={opset}" if opset is not None else ""
        lines += [f"onnx_bytes = torch.onnx.export(model, ({args},), dynamo=True{op}).model_proto.SerializeToString()"]
    lines += [
        "sess = ort.InferenceSession(onnx_bytes, providers=['CPUExecutionProvider'])",
        f"actual = sess.run(None, {{{', '.join(f'{n!r}: {n}.numpy()' for n in names)}}})",
        f"expected = model({args})",
        "print('expected', [e.numpy() for e in expected])",
        "print('actual  ', actual)",
    ]
    return "\n".join(lines)


def _tensor_expr(a: np.ndarray) -> str:
    a = np.asarray(a)
    dt = "bool" if a.dtype == np.bool_ else a.dtype.name
    if a.size == 0:
        return f"torch.empty({tuple(a.shape)}, dtype=torch.{dt})"
    return f"torch.tensor({_nested(a.tolist())}, dtype=torch.{dt})"


def _nested(x) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_nested(y) for y in x) + "]"
    if isinstance(x, float) and not np.isfinite(x):
        return "float('nan')" if np.isnan(x) else ("float('inf')" if x > 0 else "float('-inf')")
    return repr(x)


def _expected_actual(verdict: str, error_type: str | None, error_message: str | None, ev: Evidence | None) -> list[str]:
    v = Verdict(verdict)
    out = []
    if ev is not None and ev.expected:
        out += ["**Expected** (eager PyTorch):", "```"] + [_show(a) for a in ev.expected] + ["```"]
    if v in (Verdict.NUMERIC_MISMATCH, Verdict.SHAPE_OR_DTYPE_MISMATCH) and ev is not None and ev.actual is not None:
        out += ["**Actual** (onnxruntime, CPU):", "```"] + [_show(a) for a in ev.actual] + ["```"]
        if ev.expected and len(ev.expected) == len(ev.actual):
            for k, (e, a) in enumerate(zip(ev.expected, ev.actual)):
                if e.shape == a.shape and e.size and e.dtype.kind in "fciub" and a.dtype.kind in "fciub":
                    with np.errstate(all="ignore"):
                        d = np.abs(e.astype(np.float64) - a.astype(np.float64))
                    if np.isfinite(d).any():
                        out.append(f"Output {k}: max abs difference {float(np.nanmax(np.where(np.isfinite(d), d, np.nan))):.6g}.")
        if ev.actual_unoptimized is not None:
            same = _agree(ev.expected, ev.actual_unoptimized)
            out.append(f"With onnxruntime graph optimizations disabled (ORT_DISABLE_ALL) the outputs {'agree with eager' if same else 'still differ'}.")
    else:
        msg = (error_message or "").strip()
        if len(msg) > 1500:
            msg = msg[:1500] + " ..."
        out += ["**Actual**:", "```", f"{error_type or ''}: {msg}".strip(), "```"]
    return out


def _show(a: np.ndarray) -> str:
    return f"{a.dtype}{list(a.shape)} {np.array2string(np.asarray(a), threshold=40, precision=6)}"
