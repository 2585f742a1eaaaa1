"""Hand check: cat([x0 int16[2,3,4], x1 int16[2,0,4], x2 int16[2,2,4]], 1) -> x + 1, TorchScript export at opset 7."""
import io, numpy as np, torch, onnx, onnxruntime as ort

class Pair(torch.nn.Module):
    def forward(self, a, b, c):
        return torch.cat([a, b, c], 1) + 1
class AddAlone(torch.nn.Module):
    def forward(self, v):
        return v + 1
class CatAlone(torch.nn.Module):
    def forward(self, a, b, c):
        return torch.cat([a, b, c], 1)

def export(m, args, names, opset):
    f = io.BytesIO()
    torch.onnx.export(m, args, f, input_names=names, dynamo=False, opset_version=opset)
    model = onnx.load_from_string(f.getvalue())
    print(type(m).__name__, opset, [(n.op_type) for n in model.graph.node], [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input])
    try:
        onnx.checker.check_model(model, full_check=True); print("  checker ok")
    except Exception as e:
        print("  checker:", str(e).splitlines()[0][:200])
    try:
        ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"]); print("  ORT loads")
    except Exception as e:
        print("  ORT:", str(e)[:200])

a = torch.ones(2, 3, 4, dtype=torch.int16); b = torch.ones(2, 0, 4, dtype=torch.int16); c = torch.ones(2, 2, 4, dtype=torch.int16)
export(Pair(), (a, b, c), ["a", "b", "c"], 7)
export(AddAlone(), (torch.ones(2, 5, 4, dtype=torch.int16),), ["v"], 7)
export(CatAlone(), (a, b, c), ["a", "b", "c"], 7)
export(Pair(), (a, torch.ones(2, 1, 4, dtype=torch.int16), c), ["a", "b", "c"], 7)  # no empty input
