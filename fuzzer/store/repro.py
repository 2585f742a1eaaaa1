"""``repro.py``: the standalone reproduction written into every finding.

It needs torch, onnxruntime and numpy only (plus what ``torch.onnx.export`` itself imports: the
``onnx`` package; ``dynamo=True`` also needs ``onnxscript``, which the script checks for up front
and names). The module is the plain PyTorch source of :func:`fuzzer.materialize.graph_to_source`
(the very text the fuzzer compiled), exported with the flags of
``fuzzer.export.exporters._export_proto``, run in eager PyTorch and ONNX Runtime (CPU, one thread,
default optimizations, as the campaign does) on ``inputs.npz``, compared with the campaign's own
tolerances. Exit 1 while the case fails (it says whether it is the recorded failure or another
one; a case that kills the process too: the script runs itself in a child process under
``faulthandler``), 0 once export, check, load and outputs are all fine, 2 if it cannot run at all.
"""

from __future__ import annotations

import json

from fuzzer.compare import TOLERANCES
from fuzzer.ir import Graph

from .report import module_source

_TEMPLATE = '''\
#!/usr/bin/env python3
"""onnxfuzz finding {fid}: {title}

Standalone reproduction: needs torch, onnxruntime and numpy. torch.onnx.export itself imports the
onnx package (and onnxscript for dynamo=True); without onnx this script runs the saved model.onnx
instead of exporting again. Run it from anywhere: python repro.py
Exit code: 1 while the case fails, 0 once it is fixed, 2 if it cannot run here. The case runs in a
child process (this script again), so a case that kills the process (a signal) also exits 1, with
the child's native stack (faulthandler) after the last stage it printed.
"""

import os
import sys

if __name__ == "__main__" and os.environ.get("ONNXFUZZ_REPRO_CHILD") != "1":
    import signal
    from subprocess import run

    child = run([sys.executable, "-X", "faulthandler", os.path.abspath(__file__), *sys.argv[1:]],
                env={{**os.environ, "ONNXFUZZ_REPRO_CHILD": "1"}})
    if child.returncode < 0:
        print(f"REPRODUCED: the process died by {{signal.Signals(-child.returncode).name}} (its stack is above)")
        sys.exit(1)
    sys.exit(child.returncode)

import base64
import io
import warnings

import numpy as np
import onnxruntime as ort
{source}

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORTER = {exporter!r}  # "torchscript": torch.onnx.export(dynamo=False); "dynamo": dynamo=True
OPSET = {opset!r}  # None: the exporter's own default opset
INPUT_NAMES = {input_names!r}
RECORDED = {recorded}
# dynamic-shape export: None, or the dynamic dimensions ({{input: {{axis: symbol}}}}) and, base64 .npz,
# the inputs at the other size where the model failed (it may be right at the traced size)
DYNAMIC = {dynamic}
# |actual - expected| <= atol + rtol * |expected| per output dtype; integers and bools exact
TOLERANCES = {tolerances}


def export(model, args):
    dims = DYNAMIC["dims"] if DYNAMIC else None
    if EXPORTER == "torchscript":
        buf = io.BytesIO()
        torch.onnx.export(model, args, buf, dynamo=False, opset_version=OPSET, input_names=INPUT_NAMES,
                          do_constant_folding=True, verbose=False, dynamic_axes=dims)
        return buf.getvalue()
    shapes = None
    if dims:
        made = {{}}
        shapes = tuple({{a: made.setdefault(s, torch.export.Dim(s, min=2)) for a, s in dims[n].items()}} if n in dims else None
                       for n in INPUT_NAMES)
    program = torch.onnx.export(model, args, dynamo=True, opset_version=OPSET, optimize=True, verbose=False,
                                report=False, verify=False, external_data=False, dynamic_shapes=shapes)
    return program.model_proto.SerializeToString()


def compare(expected, actual):
    """Problems found, as readable lines (empty: the outputs agree)."""
    problems = []
    if len(expected) != len(actual):
        problems.append(f"eager returns {{len(expected)}} outputs, onnxruntime {{len(actual)}}")
    for k, (e, a) in enumerate(zip(expected, actual)):
        a = np.asarray(a)
        if e.shape != a.shape or e.dtype != a.dtype:
            problems.append(f"output {{k}}: eager gives {{e.dtype}}{{list(e.shape)}}, onnxruntime {{a.dtype}}{{list(a.shape)}}")
            continue
        if e.size == 0:
            continue
        if e.dtype.kind not in "fc":
            bad = e != a
        else:
            e64, a64 = e.astype(np.float64), a.astype(np.float64)
            rtol, atol = TOLERANCES.get(str(e.dtype), (0.0, 0.0))
            with np.errstate(all="ignore"):
                same_special = (np.isnan(e64) == np.isnan(a64)) & (np.isinf(e64) == np.isinf(a64)) & (np.isinf(e64) <= (np.sign(e64) == np.sign(a64)))
                finite = np.isfinite(e64) & np.isfinite(a64)
                bad = ~same_special | (finite & (np.abs(e64 - a64) > atol + rtol * np.abs(e64)))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
            with np.errstate(all="ignore"):
                diff = np.abs(e.astype(np.float64) - a.astype(np.float64))
            worst = float(np.nanmax(np.where(np.isfinite(diff), diff, np.nan))) if np.isfinite(diff).any() else float("nan")
            problems.append(f"output {{k}}: {{int(bad.sum())}} of {{e.size}} elements differ; first at {{list(idx)}}: "
                            f"eager {{e[idx]!r}}, onnxruntime {{a[idx]!r}}; max abs diff {{worst:.6g}}")
    return problems


def show(label, arrays):
    print(label)
    for k, a in enumerate(arrays):
        a = np.asarray(a)
        print(f"  output {{k}}: {{a.dtype}}{{list(a.shape)}} {{np.array2string(a, threshold=40, precision=6)}}")


def failed(stage, detail):
    same = stage == RECORDED["stage"]
    print(f"{{'REPRODUCED' if same else 'DIFFERENT FAILURE'}}: {{stage}}: {{detail}}")
    if not same:
        print(f"(recorded: {{RECORDED['stage']}}: {{RECORDED['summary']}})")
    return 1


def main():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the TorchScript exporter's notice
    if EXPORTER == "dynamo":
        try:
            import onnxscript  # noqa: F401  (torch.onnx.export(dynamo=True) needs it)
        except ImportError:
            print("this finding is about torch.onnx.export(dynamo=True), which needs onnxscript: pip install onnxscript")
            return 2
    with np.load(os.path.join(HERE, "inputs.npz"), allow_pickle=False) as z:
        inputs = {{k: z[k] for k in INPUT_NAMES}}
    for k in INPUT_NAMES:
        print(f"input {{k}}: {{inputs[k].dtype}}{{list(inputs[k].shape)}} {{np.array2string(inputs[k], threshold=40, precision=6)}}")
    model = Model().eval()
    args = tuple(torch.from_numpy(inputs[k].copy()) for k in INPUT_NAMES)
    with torch.no_grad():
        expected = [t.detach().numpy() for t in model(*args)]
    show("eager PyTorch (expected):", expected)
    print(f"torch {{torch.__version__}}, onnxruntime {{ort.__version__}}, numpy {{np.__version__}}, exporter: {{EXPORTER}}")
    try:
        import onnx
    except ImportError:
        onnx = None
    saved = os.path.join(HERE, "model.onnx")
    if onnx is None and os.path.exists(saved):
        # torch.onnx.export needs the onnx package; without it, run the saved export instead
        print("NOTE: the onnx package is not installed, and torch.onnx.export needs it: running the saved "
              "model.onnx (exported by the recorded versions) instead of exporting again. pip install onnx to re-export.")
        with open(saved, "rb") as f:
            model_bytes = f.read()
    else:
        print(f"exporting (torch.onnx.export, {{'dynamo=False' if EXPORTER == 'torchscript' else 'dynamo=True'}})...", flush=True)
        try:
            with torch.no_grad():
                model_bytes = export(model, args)
        except Exception as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
            if onnx is None and "onnx is not installed" in msg:
                print("cannot reproduce here: torch.onnx.export needs the onnx package (pip install onnx)")
                return 2
            return failed("export_crash", f"torch.onnx.export raised {{type(e).__name__}}: {{msg}}")
    if onnx is not None:
        try:
            onnx.checker.check_model(onnx.load_model_from_string(model_bytes), full_check=True)
        except Exception as e:
            return failed("invalid_model", f"onnx.checker rejects the exported model: {{str(e).strip().splitlines()[0]}}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    print("creating the onnxruntime session...", flush=True)
    try:
        sess = ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as e:
        msg = str(e).strip().splitlines()[0]
        if onnx is None and "INVALID_GRAPH" in msg:  # no checker here: onnxruntime's own validation says it
            return failed("invalid_model", f"onnxruntime rejects the model as invalid (install onnx for the checker's verdict): {{msg}}")
        return failed("ort_load_failure", f"onnxruntime cannot load the model: {{msg}}")
    print("running the model in onnxruntime...", flush=True)
    try:
        actual = sess.run(None, {{i.name: inputs[i.name] for i in sess.get_inputs()}})
    except Exception as e:
        return failed("ort_run_crash", f"onnxruntime raised while running: {{str(e).strip().splitlines()[0]}}")
    show("onnxruntime (actual):", actual)
    problems = compare(expected, actual)
    if problems:
        stage = "shape_or_dtype_mismatch" if any("eager gives" in p or "outputs" in p for p in problems) else "numeric_mismatch"
        for p in problems:
            print("  " + p)
        return failed(stage, f"{{len(problems)}} output(s) differ")
    if DYNAMIC and DYNAMIC.get("other"):
        with np.load(io.BytesIO(base64.b64decode(DYNAMIC["other"])), allow_pickle=False) as z:
            other = {{k: z[k] for k in INPUT_NAMES}}
        print("at other input sizes: " + ", ".join(f"{{k}}: {{list(other[k].shape)}}" for k in INPUT_NAMES))
        with torch.no_grad():
            expected = [t.detach().numpy() for t in model(*(torch.from_numpy(other[k].copy()) for k in INPUT_NAMES))]
        try:
            actual = sess.run(None, {{i.name: other[i.name] for i in sess.get_inputs()}})
        except Exception as e:
            return failed("ort_run_crash", f"at other input sizes, onnxruntime raised: {{str(e).strip().splitlines()[0]}}")
        show("at other input sizes, eager PyTorch (expected):", expected)
        show("at other input sizes, onnxruntime (actual):", actual)
        problems = compare(expected, actual)
        if problems:
            stage = "shape_or_dtype_mismatch" if any("eager gives" in p or "outputs" in p for p in problems) else "numeric_mismatch"
            for p in problems:
                print("  " + p)
            return failed(stage, f"at other input sizes, {{len(problems)}} output(s) differ")
    print("FIXED: export, check, load and all outputs agree with eager PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def render_repro(graph: Graph, *, finding_id: str, title: str, exporter: str, opset: int | None, verdict: str, summary: str,
                 dynamic: dict | None = None) -> str:
    """The text of ``repro.py`` for a finding (``opset``: the opset *requested*, None = default;
    ``dynamic``: None, or ``{"dims": {input: {axis: symbol}}, "other": base64 .npz or None}`` for a
    dynamic-shape export)."""
    source = module_source(graph)
    tolerances = {k: (t.rtol, t.atol) for k, t in TOLERANCES.items()}
    recorded = json.dumps({"stage": verdict, "summary": summary[:300]})
    return _TEMPLATE.format(
        fid=finding_id, title=title.replace('"""', "'''"), source=source.rstrip("\n"), exporter=exporter, opset=opset,
        input_names=[i.name for i in graph.inputs], recorded=recorded, tolerances=repr(tolerances), dynamic=repr(dynamic),
    )
