import importlib.util
import subprocess
import sys

import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from fuzzer.generate import GeneratorOptions, generate, make_inputs
from fuzzer.materialize import build_module, graph_to_source, node_at_line


def _load_source_as_module(src: str, path):
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"m_{abs(hash(str(path)))}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Model().eval()


def _outputs_or_error(module, args):
    try:
        return module(*args)
    except RuntimeError as e:
        return f"{type(e).__name__}: {e}"


@settings(max_examples=40)
@given(st.integers(0, 2**31 - 1))
def test_standalone_source_equals_module_bit_for_bit(tmp_path_factory, seed):
    g = generate(seed, GeneratorOptions(max_nodes=15))
    ins = make_inputs(g, seed, "special")
    args = lambda: [torch.from_numpy(v.copy()) for v in ins.values()]  # noqa: E731
    with torch.no_grad():
        a = _outputs_or_error(build_module(g), args())
        b = _outputs_or_error(_load_source_as_module(graph_to_source(g), tmp_path_factory.mktemp("src") / "model.py"), args())
    if isinstance(a, str) or isinstance(b, str):  # a generated graph may reject its inputs (e.g. BCE of values outside [0, 1])
        assert a == b  # ... then both raise the same error
        return
    assert len(a) == len(b) == len(g.outputs)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(np.ascontiguousarray(x.numpy()).view(np.uint8), np.ascontiguousarray(y.numpy()).view(np.uint8))  # bit-identical, NaNs included


def test_source_needs_only_torch(tmp_path):
    g = generate(7, GeneratorOptions(max_nodes=20))
    src = graph_to_source(g)
    assert "fuzzer" not in src
    script = tmp_path / "m.py"
    script.write_text(src + "\nm = Model()\nprint(sum(1 for _ in m.buffers()) >= 0)\n")
    out = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_output_specs_match_the_ir():
    for s in range(50):
        g = generate(s, GeneratorOptions(max_nodes=10))
        ins = make_inputs(g, s)
        with torch.no_grad():
            outs = build_module(g)(*[torch.from_numpy(v) for v in ins.values()])
        for t, spec in zip(outs, g.output_specs()):
            assert tuple(t.shape) == spec.shape and str(t.dtype) == f"torch.{spec.dtype}"


def test_each_node_statement_line_maps_back_to_its_node():
    g = generate(11, GeneratorOptions(max_nodes=8))
    src = graph_to_source(g)
    lines = src.splitlines()
    found = {node_at_line(src, i): lines[i - 1] for i in range(1, len(lines) + 1) if node_at_line(src, i) is not None}
    assert sorted(found) == list(range(len(g.nodes)))
    for k, text in found.items():
        assert text.strip().startswith(", ".join(v.name for v in g.nodes[k].outputs))
    assert node_at_line(src, 1) is None and node_at_line(src, len(lines)) is None and node_at_line(src, 10**6) is None
