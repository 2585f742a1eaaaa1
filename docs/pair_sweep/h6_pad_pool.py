"""Hand check: pad(x, (-1, 0, 1, 0)) -> adaptive_avg_pool1d(3) / instance_norm, TorchScript opset 20 (and dynamo)."""
import io, numpy as np, torch, onnxruntime as ort
F = torch.nn.functional

def pad(x): return F.pad(x, (-1, 0, 1, 0), mode="constant", value=0.0)
class PadPool(torch.nn.Module):
    def forward(self, x): return F.adaptive_avg_pool1d(pad(x), 3)
class PadNorm(torch.nn.Module):
    def forward(self, x): return F.instance_norm(pad(x), eps=0.001)
class PoolAlone(torch.nn.Module):
    def forward(self, v): return F.adaptive_avg_pool1d(v, 3)
class NormAlone(torch.nn.Module):
    def forward(self, v): return F.instance_norm(v, eps=0.001)
class PadAlone(torch.nn.Module):
    def forward(self, x): return pad(x)

x = torch.randn(2, 3, 4)
v = pad(x)
print("pad output shape", tuple(v.shape))
for m, arg in ((PadPool(), x), (PadNorm(), x), (PoolAlone(), v), (NormAlone(), v), (PadAlone(), x)):
    for dynamo in (False, True):
        try:
            if dynamo:
                model = torch.onnx.export(m, (arg,), input_names=["x"], dynamo=True, opset_version=20).model_proto.SerializeToString()
            else:
                f = io.BytesIO(); torch.onnx.export(m, (arg,), f, input_names=["x"], dynamo=False, opset_version=20); model = f.getvalue()
        except Exception as e:
            print(f"{type(m).__name__} dynamo={dynamo}: export fails: {str(e).splitlines()[0][:130]}"); continue
        o = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": arg.numpy()})[0]
        print(f"{type(m).__name__} dynamo={dynamo}: ok, max |ort - eager| {np.abs(o - m(arg).detach().numpy()).max():.2e}")
