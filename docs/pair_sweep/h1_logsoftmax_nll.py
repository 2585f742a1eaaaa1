"""Hand check: log_softmax(dtype=float16, dim=0) -> nll_loss(reduction='none', ignore_index=0), TorchScript export."""
import io, numpy as np, torch, onnx, onnxruntime as ort
from onnx.reference import ReferenceEvaluator

class Pair(torch.nn.Module):
    def forward(self, x, t):
        return torch.nn.functional.nll_loss(torch.log_softmax(x, dim=0, dtype=torch.float16), t, reduction="none", ignore_index=0)
class NllAlone(torch.nn.Module):
    def forward(self, v, t):
        return torch.nn.functional.nll_loss(v, t, reduction="none", ignore_index=0)
class LsAlone(torch.nn.Module):
    def forward(self, x):
        return torch.log_softmax(x, dim=0, dtype=torch.float16)

def run(m, args, names, opset=20):
    f = io.BytesIO()
    torch.onnx.export(m, args, f, input_names=names, dynamo=False, opset_version=opset)
    model = onnx.load_from_string(f.getvalue())
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    so = ort.SessionOptions(); so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess0 = ort.InferenceSession(f.getvalue(), so, providers=["CPUExecutionProvider"])
    ref = ReferenceEvaluator(model).run(None, feeds)[0]
    return [n.op_type for n in model.graph.node], sess.run(None, feeds)[0], sess0.run(None, feeds)[0], ref

rng = np.random.default_rng(0)
x = torch.from_numpy(rng.standard_normal((2, 3, 4)).astype(np.float16))
t = torch.from_numpy(rng.integers(0, 3, (2, 4)).astype(np.int64))
with torch.no_grad():
    eager = Pair()(x, t).numpy(); v = LsAlone()(x)
ops, o, o0, ref = run(Pair(), (x, t), ["x", "t"])
print("pair ops", ops); print("eager", eager); print("ort", o); print("ort noopt", o0); print("reference", ref)
ops2, o2, _, r2 = run(NllAlone(), (v, t), ["v", "t"])
print("nll alone ops", ops2, "max |ort-eager|", np.abs(o2.astype(float) - NllAlone()(v, t).numpy().astype(float)).max())
ops3, o3, _, _ = run(LsAlone(), (x,), ["x"])
print("log_softmax alone ops", ops3, "max |ort-eager|", np.abs(o3.astype(float) - v.numpy().astype(float)).max())
