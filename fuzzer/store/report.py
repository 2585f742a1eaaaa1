"""``report.md``: the issue to file, for the project to blame, in that tracker's own template.

The tracker follows the failing stage (:mod:`fuzzer.compare.stages`: PyTorch for the TorchScript
exporter, torch.export and its decompositions; ONNX Script for torchlib, its optimizer and the
version converter; ONNX Runtime for its kernels and its optimizer; ONNX for the checker, shape
inference and the reference), or a curated override (``curation.json``). Every report has:

- a short causal title (at most :data:`MAX_TITLE` characters): a curated one, else
  :func:`causal_title`, "<op>(<attributes>) on <dtype>: <what goes wrong>";
- the tracker it is for, and the known upstream issues (``upstream.json``);
- a minimal standalone script inline, marked ``<!-- onnxfuzz:script -->``, that exits 1 while
  the bug reproduces and 0 once fixed: for ONNX Runtime the model reduced at the ONNX level and
  built with ``onnx.helper`` (no PyTorch, :mod:`.onnx_repro`), otherwise the PyTorch module
  exported and checked (:mod:`.inline`; process crashes through a child process);
- expected vs actual, the relevant part of the ONNX graph as text (``onnx.printer``), the node
  that goes wrong, and the environment as the tracker asks for it.

Blame (:func:`blame`, the ``component`` line of ``finding.json``) follows the stage that failed:
an export crash or an invalid model is the exporter's; a missing kernel (``NOT_IMPLEMENTED``) or a
crash while running a valid model is ONNX Runtime's; a wrong result is ONNX Runtime's graph
optimizer's when it disappears with optimizations disabled, else the exporter's.
"""

from __future__ import annotations

import functools
import platform
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from fuzzer.compare import Verdict
from fuzzer.execute import run_eager
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
    """Eager's outputs and ONNX Runtime's, with and without graph optimizations. The ONNX Runtime
    runs happen in a helper process (:mod:`fuzzer.execute.untrusted`): this runs where the finding
    is filed (a sweep's or campaign's supervisor), and no worker ran the model unoptimized."""
    from fuzzer.execute.untrusted import run_untrusted

    eager = run_eager(build_module(graph), inputs)
    actual = unopt = None
    if model is not None:
        names = [i.name for i in graph.inputs]
        a = run_untrusted(model, inputs, names)
        b = run_untrusted(model, inputs, names, optimization="disabled")
        actual = a.outputs if a.ok else None
        unopt = b.outputs if b.ok else None
    return Evidence(eager.outputs if eager.ok else (), actual, unopt)


#: The culprit named by the extra oracles (fuzzer.compare.blame), as a component for the report.
CULPRIT_COMPONENT = {
    "ort_kernel": "onnxruntime (CPU kernels: the ONNX reference implementation agrees with eager PyTorch)",
    "ort_optimizer": "onnxruntime (graph optimizations: the result is right with ORT_DISABLE_ALL)",
    "decomposition": "PyTorch decompositions / type promotion (eager on the decomposed program torch.onnx translates computes what the ONNX model computes)",
    "exporter_optimizer": "ONNX Script's graph optimizer in torch.onnx.export(dynamo=True) (the same export with optimize=False computes what eager computes)",
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


def module_source(graph: Graph) -> str:
    """:func:`graph_to_source`, without the parameter helper when no node has parameters."""
    src = graph_to_source(graph)
    if not any(n.params for n in graph.nodes):
        src = src.replace(PARAM_HELPER, "").replace("import torch\n\n\n\n\n", "import torch\n\n\n")
    return src




# -- titles -----------------------------------------------------------------------------------------

MAX_TITLE = 100  # characters, the tracker prefix included


def _call_name(graph: Graph, k: int) -> str:
    expr = node_expression(graph, k, self_prefix="")
    m = re.match(r"\s*([\w.]+)\s*\(", expr)
    name = m.group(1) if m else graph.nodes[k].op
    for prefix in ("torch.nn.functional.", "torch.linalg.", "torch.special.", "torch.", "F."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name.rsplit(".", 1)[-1]


def _attr_text(attrs: Mapping[str, object], limit: int) -> str:
    parts = [f"{k}={v!r}" for k, v in attrs.items() if v is not None]
    out = ""
    for p in parts:
        if len(out) + len(p) + 2 > limit:
            break
        out = f"{out}, {p}" if out else p
    return out


def subject(graph: Graph, attr_limit: int = 40) -> str:
    """'cdist(p=1.0)' for a one-operator graph, 'relu -> clamp' for a chain."""
    if len(graph.nodes) == 1:
        return f"{_call_name(graph, 0)}({_attr_text(graph.nodes[0].attrs, attr_limit)})"
    names = [_call_name(graph, k) for k in range(len(graph.nodes))]
    chain = " -> ".join(names)
    return chain if len(chain) <= max(attr_limit, 20) else f"{names[0]} -> ... -> {names[-1]} ({len(names)} ops)"


def input_kinds(graph: Graph) -> str:
    """'int64', 'float32/float64', with '0-d' or 'empty' when every input is."""
    specs = [i.spec for i in graph.inputs]
    if not specs:
        return "no inputs"
    dtypes = "/".join(dict.fromkeys(str(s.dtype) for s in specs))
    if all(len(s.shape) == 0 for s in specs):
        return f"0-d {dtypes}"
    if any(0 in tuple(s.shape) for s in specs):
        return f"empty {dtypes}"
    return dtypes


def _op_in(message: str) -> str | None:
    for pat in (r"op_type:\s*(\w+)", r"schema\(::(\w+)", r"implementation for (\w+)\(", r"running (\w+) node", r"for operator (\w+)",
                r"Op \((\w+)\)", r"(\w+) node"):
        m = re.search(pat, message)
        if m:
            return m.group(1)
    return None


def what_goes_wrong(verdict: str, stage: str | None, error_type: str | None, message: str | None, evidence: Evidence | None,
                    path_ops: Sequence[str] = (), opset: int | None = None) -> str:
    """The failure in causal words, without the values: 'emits Floor on int64, which ONNX does
    not allow', 'ONNX Runtime's ReduceMax drops NaN'."""
    v = Verdict(verdict)
    msg = message or ""
    op = _op_in(msg)
    last = path_ops[-1] if path_ops else op
    if v is Verdict.EXPORT_CRASH:
        from fuzzer.export.errors import parse_summary

        summary = parse_summary(msg)  # dynamo: the step, the FX node and the cause
        if summary is not None:
            step = {"1/3": "torch.export", "2/3": "decomposition", "3/3": "translation"}.get(summary.step or "", "export")
            return f"{step} of {summary.target or 'the graph'} raises {summary.cause_type}: {summary.cause}"
        aten = re.search(r"aten::(\w+)", msg)
        return f"export raises {(error_type or 'an error').rsplit('.', 1)[-1]}" + (f" on aten::{aten.group(1)}" if aten else "")
    if v is Verdict.INVALID_MODEL:
        m = re.search(r"has unsupported type: tensor\((\w+)\)", msg)
        if m and op:
            return f"exports {op} on {m.group(1)}, a type ONNX {op} does not allow"
        m = re.search(r"Unrecognized attribute: (\w+)", msg)
        if m:
            return f"exports {op or 'a node'} with attribute {m.group(1)}, unknown at opset {opset or 'the target'}"
        if "marked single but has an empty string" in msg or "input 0 is marked single" in msg:
            return f"exports {op or 'a node'} reading a value no node produces (invalid model)"
        return f"exported {op or 'model'} fails the ONNX checker" + (" (shape inference)" if "ShapeInference" in msg else "")
    if v is Verdict.ORT_LOAD_FAILURE:
        if stage == "ort_optimizer" or "optimizer" in msg:
            m = re.search(r"(\w+_fusion)\.cc", msg) or re.search(r"optimizer/(\w+)\.cc", msg)
            return f"ONNX Runtime's {m.group(1) if m else 'graph optimizer'} fails at session creation"
        if "NOT_IMPLEMENTED" in msg and stage not in ("ort_kernel", None):
            return f"exports {op or 'a node'} on a type eager does not give (ONNX Runtime has no kernel for it)"
        if "NOT_IMPLEMENTED" in msg:
            return f"ONNX Runtime (CPU) has no {op or 'kernel'} kernel for this type"
        return f"the exported {op or 'model'} does not load in ONNX Runtime"
    if v is Verdict.ORT_RUN_CRASH:
        who = "ONNX Runtime's" if stage in ("ort_kernel", "ort_optimizer") else "exported"
        return f"{who} {op or 'model'} fails at run time in ONNX Runtime"
    if v is Verdict.PROCESS_CRASH:
        sig = re.search(r"SIG[A-Z]+", msg)
        return f"export and run die with {sig.group(0) if sig else 'a signal'}"
    if v is Verdict.HANG:
        return "export and run hang"
    if v is Verdict.OUT_OF_MEMORY:
        return "export and run exhaust memory"
    if v is Verdict.SHAPE_OR_DTYPE_MISMATCH:
        if evidence is not None and evidence.expected and evidence.actual is not None:
            for e, a in zip(evidence.expected, evidence.actual):
                a = np.asarray(a)
                if e.dtype != a.dtype:
                    return f"export returns {a.dtype} instead of {e.dtype}"
                if e.shape != a.shape:
                    return f"export returns shape {list(a.shape)} instead of {list(e.shape)}"
        return "export changes the output type or shape"
    # numeric mismatch: the kind of wrong, from the evidence
    how = "wrong values"
    if evidence is not None and evidence.expected and evidence.actual is not None and len(evidence.expected) == len(evidence.actual):
        for e, a in zip(evidence.expected, evidence.actual):
            a = np.asarray(a)
            if e.dtype.kind != "f" or e.shape != a.shape:
                continue
            with np.errstate(all="ignore"):
                if (np.isnan(e) & ~np.isnan(a)).any():
                    how = "drops NaN"
                elif (np.isinf(e) & ~np.isinf(a)).any():
                    how = "loses ±inf"
                elif (np.isnan(a) & ~np.isnan(e)).any():
                    how = "gives NaN where eager gives a number"
                else:
                    continue
            break
    if stage == "exporter_optimizer":  # the unoptimized export is right (fuzzer.execute.decomposed.run_unoptimized)
        ops = list(dict.fromkeys(path_ops))
        return f"optimized into {'/'.join(ops[-3:]) or 'a graph'}, {how if how != 'wrong values' else 'computes wrong values'} (right unoptimized)"
    if stage == "decomposition":  # the decomposed program already computes it (fuzzer.execute.decomposed)
        return "PyTorch's decomposition differs from the eager kernel" + (f": {how}" if how != "wrong values" else "")
    if stage in ("ort_kernel", "ort_optimizer"):
        where = "ONNX Runtime's " + (f"{last}" if last else "kernel") + (" (graph optimizer)" if stage == "ort_optimizer" else "")
        return f"{where} {how}" if how != "wrong values" else f"{where} computes wrong values"
    ops = list(dict.fromkeys(path_ops))
    chain = "/".join(ops[-3:]) if ops else "the exported graph"
    return f"exported as {chain}, {how}" if how != "wrong values" else f"exported as {chain}, computes wrong values"


def causal_title(project: str, verdict: str, graph: Graph, what: str) -> str:
    """'[ONNX] cdist(p=1.0) on float32: exported as Sub/Pow/ReduceSum, gives NaN where eager gives
    a number', cut to :data:`MAX_TITLE` (attributes go first, then the rest is shortened)."""
    prefix = TRACKERS[project].title_prefix
    kinds = input_kinds(graph)
    candidates = [f"{prefix}{subject(graph, limit)} on {kinds}: {what}" for limit in (40, 20, 0)]
    candidates += [f"{prefix}a {len(graph.nodes)}-op graph on {kinds}: {what}", f"{prefix}{what}"]
    for t in candidates:
        if len(t) <= MAX_TITLE:
            return t
    return t[:MAX_TITLE - 1] + "…"


# -- trackers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tracker:
    """A project's issue tracker and what its bug template asks for."""

    project: str
    url: str
    title_prefix: str
    torch_free: bool  # wants a reproduction without PyTorch


TRACKERS: dict[str, Tracker] = {
    "PyTorch": Tracker("PyTorch", "https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml", "[ONNX] ", False),
    "ONNX Script": Tracker("ONNX Script", "https://github.com/microsoft/onnxscript/issues/new", "[torchlib] ", False),
    "ONNX Runtime": Tracker("ONNX Runtime", "https://github.com/microsoft/onnxruntime/issues/new?template=01-bug_report.yml", "", True),
    "ONNX": Tracker("ONNX", "https://github.com/onnx/onnx/issues/new?template=bug.md", "", True),
}


def tracker_for(project: str | None, stage: str | None = None) -> str:
    """The tracker to file with: the stage's project; a crash, hang or unknown stage goes to
    PyTorch, whose ``torch.onnx.export`` is where the run starts (the report says so)."""
    return project if project in TRACKERS else "PyTorch"


# -- the graph and the node that goes wrong -----------------------------------------------------------

def _printed(obj) -> str:
    import onnx.printer

    try:
        return onnx.printer.to_text(obj).strip()
    except Exception:  # noqa: BLE001 - a model the printer cannot spell: no excerpt rather than no report
        return ""


def graph_excerpt(model_bytes: bytes, around: str | None = None, max_nodes: int = 30) -> str:
    """The exported graph as text; beyond ``max_nodes`` nodes, only the ancestors of the node
    named ``around`` (the node that goes wrong) and that node."""
    import onnx

    m = onnx.load_model_from_string(model_bytes)
    g = m.graph
    if len(g.node) <= max_nodes:
        return _printed(g)
    idx = next((k for k, n in enumerate(g.node) if around and n.name == around), len(g.node) - 1)
    need = set(g.node[idx].input)
    keep = [idx]
    for k in range(idx - 1, -1, -1):
        if need & set(g.node[k].output):
            keep.append(k)
            need |= set(g.node[k].input)
    keep = sorted(keep)[-max_nodes:]
    return f"# {len(keep)} of the graph's {len(g.node)} nodes: the cone of the node that goes wrong\n" + "\n".join(
        _printed(g.node[k]) for k in keep)


def diverging_node(model_bytes: bytes, verdict: str, message: str | None, worst_index: int | None) -> tuple[str, str] | None:
    """(node name, node as text) of the node that goes wrong: the one the checker or ONNX Runtime
    names in its error, else the producer of the first differing output."""
    import onnx

    m = onnx.load_model_from_string(model_bytes)
    g = m.graph
    msg = message or ""
    name = None
    for pat in (r"node name:\s*([^)\s]+)\)", r"Node \(([^)]+)\)", r"Node\(([^)]+)\)", r"node with name '([^']*)'", r"Name:'([^']*)'"):
        mm = re.search(pat, msg)
        if mm and mm.group(1) and "<name>" not in mm.group(1):
            name = mm.group(1)
            break
    node = next((n for n in g.node if name and n.name == name), None)
    if node is None and msg:
        op = _op_in(msg)
        node = next((n for n in g.node if op and n.op_type == op), None)
    if node is None and g.output:
        out = g.output[min(worst_index or 0, len(g.output) - 1)].name
        node = next((n for n in reversed(g.node) if out in n.output), None)
    if node is None:
        return None
    return node.name, _printed(node)


# -- environment ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def torch_collect_env() -> str:
    """``python -m torch.utils.collect_env``'s text (PyTorch's template asks for it)."""
    from torch.utils.collect_env import get_pretty_env_info

    return get_pretty_env_info().strip()


def environment(project: str, versions: Mapping[str, str], collect_env: str | None) -> list[str]:
    """The environment section as the tracker's template asks for it."""
    osname = f"{platform.system()} {platform.release()} ({platform.machine()})"
    if project == "ONNX Runtime":
        arch = {"x86_64": "X64", "AMD64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(platform.machine(), platform.machine())
        return ["### Platform", "", platform.system(), "", "### OS Version", "", platform.release(), "",
                "### ONNX Runtime Installation", "", "Released Package", "",
                "### ONNX Runtime Version or Commit ID", "", versions.get("onnxruntime", "?"), "",
                "### ONNX Runtime API", "", "Python", "", "### Architecture", "", arch, "",
                "### Execution Provider", "", "Default CPU", "", "### Execution Provider Library Version", "", "n/a", ""]
    if project == "ONNX":
        try:
            import google.protobuf as pb

            protobuf = pb.__version__
        except ImportError:
            protobuf = "?"
        return ["### System information", "", f"- OS Platform and Distribution: {osname}", f"- ONNX version: {versions.get('onnx', '?')}",
                f"- Python version: {versions.get('python', platform.python_version())}", f"- Protobuf version: {protobuf}",
                f"- onnxruntime (for comparison): {versions.get('onnxruntime', '?')}", ""]
    lines = ["### Versions", ""]
    if project == "PyTorch" and collect_env:
        return lines + ["```", collect_env, "```", ""]
    keys = ("torch", "onnxscript", "onnx", "onnx-ir", "onnxruntime", "numpy", "python")
    lines += ["```"] + [f"{k}: {versions[k]}" for k in keys if k in versions] + [f"os: {osname}", "```", ""]
    if project == "PyTorch":
        lines.insert(2, "(`python -m torch.utils.collect_env` was not run for this report: `onnxfuzz findings report ID` adds it.)\n")
    return lines


# -- the report -------------------------------------------------------------------------------------

SCRIPT_MARK = "<!-- onnxfuzz:script -->"  # precedes every inline script CI runs (scripts/check_report_scripts.py)


@dataclass(frozen=True)
class ReportFacts:
    """Everything a report says, gathered by the store (see :func:`render_report`)."""

    finding_id: str
    verdict: str
    exporter: str
    opset: int | None  # the opset requested (None: the exporter's default)
    optimize: bool
    graph: Graph
    inputs: Mapping[str, np.ndarray]
    model: bytes | None
    error_type: str | None
    error_message: str | None
    evidence: Evidence | None
    versions: Mapping[str, str]
    component: str
    signature_key: str
    stage: str | None
    project: str  # the tracker (a key of TRACKERS)
    path_ops: tuple[str, ...] = ()
    worst_index: int | None = None
    title: str | None = None  # curated; None: causal_title
    upstream: tuple[str, ...] = ()
    notes: str | None = None  # the hand check's finding, from curation.json
    collect_env: str | None = None
    script_output: str | None = None  # what the inline script printed when this report was written
    script_exit: int | None = None
    scope: tuple[Mapping, ...] = ()  # finding.json "scope" (fuzzer.store.scope): where it reproduces and where not
    variants: tuple[Mapping, ...] = ()  # finding.json "variants": other operators/types/attributes with the same cause


def report_title(f: ReportFacts) -> str:
    if f.title:  # curated: the tracker's prefix is added here, so the title follows an override of the tracker
        prefix = TRACKERS[f.project].title_prefix
        return f.title if f.title.startswith(prefix) else prefix + f.title
    what = what_goes_wrong(f.verdict, f.stage, f.error_type, f.error_message, f.evidence, f.path_ops, f.opset)
    return causal_title(f.project, f.verdict, f.graph, what)


def _torch_free(f: ReportFacts):
    """(OnnxRepro, script) for a finding blamed on ONNX Runtime, else None."""
    from .onnx_repro import UnrenderableModel, kind_for, reduce_model, render_onnx_script

    kind = kind_for(f.stage, f.verdict)
    if kind is None or f.model is None:
        return None
    try:
        repro = reduce_model(f.model, f.inputs, kind, f.error_message)
        if repro is None:
            return None
        return repro, render_onnx_script(repro, f"onnxfuzz finding {f.finding_id}: {report_title(f)}")
    except UnrenderableModel:
        return None
    except Exception:  # noqa: BLE001 - the torch-free repro is an extra: a model it cannot reduce must not stop filing
        return None


def render_report(f: ReportFacts) -> str:
    from .inline import render_inline_script

    tracker = TRACKERS[f.project]
    t = report_title(f)
    flag = "dynamo=False" if f.exporter == "torchscript" else "dynamo=True"
    torch_script = render_inline_script(f.graph, f.inputs, source=module_source(f.graph), exporter=f.exporter, opset=f.opset,
                                        optimize=f.optimize, verdict=f.verdict, doc=f"onnxfuzz finding {f.finding_id}: {t}")
    free = _torch_free(f) if tracker.torch_free or f.stage in ("ort_kernel", "ort_optimizer") else None
    node = diverging_node(f.model, f.verdict, f.error_message, f.worst_index) if f.model is not None else None
    lines = [f"# {t}", "",
             f"<!-- onnxfuzz finding {f.finding_id}; tracker: {f.project}; stage: {f.stage}; signature: {f.signature_key} -->", "",
             f"**Tracker:** {f.project} ({tracker.url}). **Failing stage:** {(f.stage or 'unknown').replace('_', ' ')}"
             + (" (a process crash: the stage is where the child's stack ends, below)" if f.stage == "process" else "") + ".", ""]
    if f.upstream:
        lines += ["**Known upstream:** " + ", ".join(f.upstream), ""]
    head = {"PyTorch": "### 🐛 Describe the bug", "ONNX Runtime": "### Describe the issue", "ONNX": "### Describe the bug",
            "ONNX Script": "### Describe the bug"}[f.project]
    if f.project == "ONNX":
        lines += ["# Bug Report", "", "### Is the issue related to model conversion?", "",
                  f"No: the model below is valid; it came from `torch.onnx.export({flag})` and was reduced to the fewest nodes.", ""]
    lines += [head, "", _describe(f, free is not None), ""]
    if f.notes:
        lines += [f"Root cause (hand check): {f.notes}", ""]
    if free is not None:
        repro, script = free
        lines += ["### Reproduction instructions" if f.project == "ONNX" else "### To reproduce", "",
                  f"The exported model reduced at the ONNX level from {repro.nodes_before} to {len(repro.op_types)} node(s) "
                  f"({', '.join(repro.op_types)}), built with `onnx.helper`; needs onnx, onnxruntime and numpy only. "
                  "Exit 1 while the bug reproduces, 0 once fixed.", "", SCRIPT_MARK, "```python", script.rstrip("\n"), "```", ""]
        lines += ["The reduced model:", "```", _printed(repro.model), "```", ""]
    else:
        if f.project != "PyTorch":
            lines += ["### To reproduce", ""]
        lines += ["Standalone; exit 1 while the bug reproduces, 0 once fixed.", "", SCRIPT_MARK, "```python", torch_script.rstrip("\n"), "```", ""]
    lines += _expected_actual(f)
    if f.scope:
        from .scope import summary

        lines += ["", "### Scope", "", "Where it reproduces (variants of the case above, `onnxfuzz findings scope`): " + summary(f.scope)]
    if f.variants:
        lines += ["", "### The same cause elsewhere", "",
                  f"The fuzzer filed {len(f.variants)} more case(s) of this cause as variants of this finding (each with its own reproduction"
                  f" under `variants/<id>/`):", ""]
        lines += [f"- `{v.get('id')}`: {', '.join(v.get('ops') or ()) or '?'}"
                  + (f" (ONNX {v['onnx_op']})" if v.get("onnx_op") else "")
                  + (f" on {', '.join(v.get('dtypes') or ())}" if v.get("dtypes") else "")
                  + f", {v.get('exporter')}, {v.get('hits', 1)} hit(s)" for v in f.variants if isinstance(v, Mapping)]
    if f.model is not None:
        lines += ["", f"**Exported graph** (`torch.onnx.export({flag}" + (f", opset_version={f.opset}" if f.opset else "") + ")`, onnx.printer):",
                  "```", graph_excerpt(f.model, node[0] if node else None), "```"]
        if node is not None:
            lines += ["", "**The node that goes wrong:**", "```", node[1], "```"]
    else:
        lines += ["", "**Exported graph:** none: " + ("the process dies before the export returns." if f.verdict in ("process_crash", "hang", "out_of_memory")
                                                    else "the export itself fails.")]
    if free is not None:
        lines += ["", "<details><summary>How the model was produced (PyTorch; exit 1 while the whole chain fails)</summary>", "",
                  SCRIPT_MARK, "```python", torch_script.rstrip("\n"), "```", "", "</details>"]
    lines += [""] + environment(f.project, f.versions, f.collect_env)
    lines += [f"(Found by onnxfuzz, an operator-sequence fuzzer for torch.onnx; finding {f.finding_id}. "
              "Its `repro.py`, `model.onnx` and `inputs.npz` reproduce it too.)", ""]
    return "\n".join(x for x in lines if x is not None)


def _describe(f: ReportFacts, torch_free: bool) -> str:
    v = Verdict(f.verdict)
    call = EXPORTER_CALL[f.exporter]
    if torch_free:
        return {
            Verdict.ORT_LOAD_FAILURE: "ONNX Runtime (CPU) cannot create a session for the valid ONNX model below "
                                      + ("with its default graph optimizations (with ORT_DISABLE_ALL it loads and computes the right result)."
                                         if f.stage == "ort_optimizer" else "(`onnx.checker.check_model(full_check=True)` accepts it)."),
            Verdict.ORT_RUN_CRASH: "ONNX Runtime (CPU) raises while running the valid ONNX model below.",
        }.get(v, "ONNX Runtime (CPU) computes other values than the ONNX reference implementation "
                 "(`onnx.reference.ReferenceEvaluator`, which agrees with PyTorch) for the ONNX model below"
                 + (", with its default graph optimizations only." if f.stage == "ort_optimizer" else "."))
    text = {
        Verdict.EXPORT_CRASH: f"`{call}` raises on the module below, which runs fine in eager PyTorch.",
        Verdict.INVALID_MODEL: f"`{call}` succeeds on the module below but the model fails `onnx.checker.check_model(model, full_check=True)`.",
        Verdict.ORT_LOAD_FAILURE: f"The module below exports with `{call}`, but onnxruntime (CPU) cannot create a session for the model.",
        Verdict.ORT_RUN_CRASH: f"The module below exports with `{call}` and loads in onnxruntime (CPU), but running it raises.",
        Verdict.SHAPE_OR_DTYPE_MISMATCH: f"The module below exports with `{call}`, but the model's output type or shape differs from eager PyTorch.",
        Verdict.NUMERIC_MISMATCH: f"The module below exports with `{call}`, but the model computes other values than eager PyTorch.",
        Verdict.PROCESS_CRASH: f"Exporting the module below with `{call}` (and running the model in onnxruntime) kills the Python process with a "
                               "signal; eager PyTorch runs it fine. The script runs it in a child process and prints the child's stack.",
        Verdict.HANG: f"Exporting the module below with `{call}` and running the model in onnxruntime (CPU) does not finish.",
        Verdict.OUT_OF_MEMORY: f"Exporting the module below with `{call}` and running the model in onnxruntime (CPU) exhausts memory.",
    }.get(v, f"`{call}`: {f.verdict}")
    return f"{text} Component: {f.component}."


def _expected_actual(f: ReportFacts) -> list[str]:
    v = Verdict(f.verdict)
    ev = f.evidence
    out = []
    if ev is not None and ev.expected:
        out += ["**Expected** (eager PyTorch):", "```"] + [_show(a) for a in ev.expected] + ["```"]
    if v in (Verdict.NUMERIC_MISMATCH, Verdict.SHAPE_OR_DTYPE_MISMATCH) and ev is not None and ev.actual is not None:
        out += ["**Actual** (onnxruntime, CPU):", "```"] + [_show(a) for a in ev.actual] + ["```"]
        if ev.actual_unoptimized is not None:
            same = _agree(ev.expected, ev.actual_unoptimized)
            out.append(f"With onnxruntime graph optimizations disabled (ORT_DISABLE_ALL) the outputs {'agree with eager' if same else 'still differ'}.")
    elif f.script_output is None:
        msg = (f.error_message or "").strip()
        if len(msg) > 1500:
            msg = msg[:1500] + " ..."
        out += ["**Actual**:", "```", f"{f.error_type or ''}: {msg}".strip(), "```"]
    if f.script_output is not None:
        text = "\n".join(re.sub(r'File "[^"]*/(site-packages|dist-packages)/', r'File ".../\1/', line)
                         for line in f.script_output.strip().splitlines() if not line.startswith("Extension modules:"))
        if len(text) > 6000:
            text = text[:6000] + "\n..."
        out += ["", f"**Output of the script above** (exit code {f.script_exit}):", "```", text, "```"]
    return out


def _show(a: np.ndarray) -> str:
    return f"{a.dtype}{list(a.shape)} {np.array2string(np.asarray(a), threshold=40, precision=6)}"
