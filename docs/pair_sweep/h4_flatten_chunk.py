"""Hand check: flatten(x, 0, 0) -> chunk(1, dim=0), TorchScript export at opset 7 (and 20)."""
import io, numpy as np, torch, onnxruntime as ort

class Pair(torch.nn.Module):
    def forward(self, x):
        return torch.chunk(torch.flatten(x, 0, 0), 1, 0)[0]
class ChunkAlone(torch.nn.Module):
    def forward(self, x):
        return torch.chunk(x, 1, 0)[0]
class FlattenAlone(torch.nn.Module):
    def forward(self, x):
        return torch.flatten(x, 0, 0)

x = torch.randn(2, 3, 4, dtype=torch.float64)
for m in (Pair(), ChunkAlone(), FlattenAlone()):
    for opset in (7, 9, 20):
        f = io.BytesIO()
        try:
            torch.onnx.export(m, (x,), f, input_names=["x"], dynamo=False, opset_version=opset)
        except Exception as e:
            print(type(m).__name__, opset, "export fails:", type(e).__name__, str(e).splitlines()[0][:150]); continue
        o = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
        print(type(m).__name__, opset, "ok, max diff", np.abs(o - m(x).numpy()).max())
