"""Hand check: topk(x, k=0) -> instance_norm, both exporters; ORT run in a child process (it may die)."""
import io, os, subprocess, sys, tempfile, numpy as np, torch, onnx

class Pair(torch.nn.Module):
    def forward(self, x):
        return torch.nn.functional.instance_norm(torch.topk(x, 0, dim=-1).values)
class NormAlone(torch.nn.Module):
    def forward(self, v):
        return torch.nn.functional.instance_norm(v)

RUN = "import sys, numpy as np, onnxruntime as ort; s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider']); x = np.load(sys.argv[2]); print('ran, output shape', s.run(None, {s.get_inputs()[0].name: x})[0].shape)"
TMP = tempfile.mkdtemp()
x = torch.randn(2, 3, 4)
with torch.no_grad():
    v = torch.topk(x, 0, dim=-1).values
print("eager pair output shape", tuple(Pair()(x).shape))
for name, m, arg in (("pair", Pair(), x), ("instance_norm alone on the empty topk output", NormAlone(), v)):
    for dynamo in (False, True):
        f = io.BytesIO()
        torch.onnx.export(m, (arg,), f, input_names=["x"], dynamo=dynamo, opset_version=20) if not dynamo else onnx.save(torch.onnx.export(m, (arg,), input_names=["x"], dynamo=True, opset_version=20).model_proto, f)
        open(os.path.join(TMP, "m.onnx"), "wb").write(f.getvalue()); np.save(os.path.join(TMP, "x.npy"), arg.numpy())
        p = subprocess.run([sys.executable, "-c", RUN, os.path.join(TMP, "m.onnx"), os.path.join(TMP, "x.npy")], capture_output=True, text=True)
        model = onnx.load_from_string(f.getvalue())
        print(f"{name} dynamo={dynamo}: ops {[n.op_type for n in model.graph.node]}; ORT child exit {p.returncode} {p.stdout.strip()} {p.stderr.strip()[-150:]}")
        if True:
            try:
                from onnx.reference import ReferenceEvaluator
                print("   reference evaluator:", ReferenceEvaluator(model).run(None, {"x": arg.numpy()})[0].shape)
            except Exception as e:
                print("   reference evaluator raises", type(e).__name__, str(e)[:100])
