"""The minimal standalone script a report carries inline, for bugs reproduced through PyTorch.

It holds everything (the module's source, the inputs as literals): copied alone into a file it
exports the module with the finding's exporter and options, checks the model with
``onnx.checker`` (full check, as the fuzzer does), loads and runs it in ONNX Runtime (CPU) and
compares with eager PyTorch. It exits 1 at the first step that fails (saying whether that is the
recorded failure or another one) and 0 once every step passes.

A finding that kills its process (``process_crash``, ``hang``, ``out_of_memory``) is reproduced
through a child process: the script runs the same code with ``python -X faulthandler`` and exits 1
when the child dies by a signal (printing the child's stack), times out, or fails; so even a
segfault gives exit 1, never the signal.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from fuzzer.compare import TOLERANCES
from fuzzer.ir import Graph

from .onnx_repro import array_expr

PROCESS_VERDICTS = ("process_crash", "hang", "out_of_memory")

_BODY = '''\
{source}


import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort

RECORDED = {verdict!r}  # the failure onnxfuzz recorded
{inputs}


def fail(stage, detail):
    print(("REPRODUCED: " if stage == RECORDED else f"DIFFERENT FAILURE (recorded: {{RECORDED}}): ") + f"{{stage}}: {{detail}}")
    sys.exit(1)


warnings.filterwarnings("ignore")
model = Model().eval()
args = ({args})
with torch.no_grad():
    expected = [t.numpy() for t in model(*args)]
print("torch", torch.__version__, "onnx", onnx.__version__, "onnxruntime", ort.__version__, flush=True)
print("exporting...", flush=True)
try:
{export}
except Exception as e:
    fail("export_crash", f"torch.onnx.export raised {{type(e).__name__}}: {{str(e).strip().splitlines()[0] if str(e).strip() else ''}}")
try:
    onnx.checker.check_model(onnx.load_model_from_string(onnx_bytes), full_check=True)
except Exception as e:
    fail("invalid_model", f"onnx.checker rejects the exported model: {{str(e).strip().splitlines()[0]}}")
print("creating the onnxruntime session...", flush=True)
try:
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
except Exception as e:
    fail("ort_load_failure", f"onnxruntime cannot load the model: {{str(e).strip().splitlines()[0]}}")
print("running the model in onnxruntime...", flush=True)
try:
    actual = sess.run(None, {{i.name: a.numpy() for i, a in zip(sess.get_inputs(), args)}})
except Exception as e:
    fail("ort_run_crash", f"onnxruntime raised while running: {{str(e).strip().splitlines()[0]}}")
TOL = {tolerances}  # (rtol, atol) per dtype; integers and bools exact
for k, (e, a) in enumerate(zip(expected, actual)):
    print(f"output {{k}}: eager {{e.dtype}}{{list(e.shape)}} {{e.tolist()}}, onnxruntime {{a.dtype}}{{list(a.shape)}} {{a.tolist()}}")
    if e.dtype != a.dtype or e.shape != a.shape or len(expected) != len(actual):
        fail("shape_or_dtype_mismatch", f"output {{k}}: eager gives {{e.dtype}}{{list(e.shape)}}, onnxruntime {{a.dtype}}{{list(a.shape)}}")
    rtol, atol = TOL.get(str(e.dtype), (0.0, 0.0))
    same = np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True) if e.dtype.kind in "fc" else np.array_equal(a, e)
    if e.dtype.kind in "fc":
        same = same and np.array_equal(np.isnan(a), np.isnan(e))
    if not same:
        fail("numeric_mismatch", f"output {{k}}: onnxruntime {{a.tolist()}}, eager {{e.tolist()}}")
print("FIXED: export, check, load and outputs all agree with eager PyTorch")
'''

_CHILD = '''\
"""{doc}

Exit 1 while the bug reproduces (the child process dies by a signal or fails), 0 once fixed."""
import signal
import sys
from subprocess import TimeoutExpired, run

CHILD = """\\
{child}"""

try:
    r = run([sys.executable, "-X", "faulthandler", "-c", CHILD], capture_output=True, text=True, timeout={timeout})
except TimeoutExpired:
    print("REPRODUCED: the child process did not finish in {timeout} s")
    sys.exit(1)
sys.stdout.write(r.stdout)
if r.returncode < 0:
    print(f"REPRODUCED: the child process died by {{signal.Signals(-r.returncode).name}}; its last words and stack (faulthandler):")
    print(r.stderr.strip()[-6000:])
    sys.exit(1)
if r.returncode != 0:
    print(r.stderr.strip()[-3000:])
sys.exit(1 if r.returncode else 0)
'''


def _export_code(exporter: str, opset: int | None, optimize: bool, names: list[str]) -> str:
    op = f", opset_version={opset}" if opset is not None else ""
    if exporter == "torchscript":
        return ("    import io\n    buf = io.BytesIO()\n"
                f"    torch.onnx.export(model, args, buf, dynamo=False{op}, input_names={names!r})\n"
                "    onnx_bytes = buf.getvalue()")
    opt = "" if optimize else ", optimize=False"
    return f"    onnx_bytes = torch.onnx.export(model, args, dynamo=True{op}{opt}).model_proto.SerializeToString()"


def tensor_expr(a: np.ndarray) -> str:
    """A torch expression that rebuilds ``a`` exactly (through numpy: -0.0, NaN, inf and the dtype kept)."""
    return f"torch.from_numpy({array_expr(a)})"


def render_inline_script(graph: Graph, inputs: Mapping[str, np.ndarray], *, source: str, exporter: str, opset: int | None,
                         optimize: bool, verdict: str, doc: str) -> str:
    """The inline script of a report (see the module docstring). ``source``: the module's source."""
    names = [i.name for i in graph.inputs]
    lines = [f"{n} = {tensor_expr(inputs[n])}" for n in names]
    args = ", ".join(names) + ("," if len(names) == 1 else "")
    body = _BODY.format(
        source=source.rstrip("\n"), inputs="\n".join(lines), verdict=verdict, args=args,
        export=_export_code(exporter, opset, optimize, names),
        tolerances=repr({k: (t.rtol, t.atol) for k, t in TOLERANCES.items()}),
    )
    if verdict not in PROCESS_VERDICTS:
        return f'"""{_doc(doc)}\n\nExit 1 while the bug reproduces, 0 once fixed."""\n' + body
    child = body.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return _CHILD.format(doc=_doc(doc), child=child, timeout=120 if verdict == "hang" else 600)


def _doc(doc: str) -> str:
    return doc.replace('"""', "'''").replace("\\", "/")
