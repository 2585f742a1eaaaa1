"""Derive catalog entries from PyTorch's operator database (op_db) into fuzzer/catalog/opdb_table.json.

For every OpInfo of ``torch.testing._internal.common_methods_invocations.op_db``: the callable as a
person writes it (``torch.x``, ``torch.nn.functional.x``, ``torch.linalg.x``... or the tensor
method ``x.name(...)``), the CPU dtypes of its dtype table that the fuzzer knows, and call
*signatures* sampled from its ``sample_inputs``: a template with the literal non-tensor arguments as
attributes and every tensor argument's shape, dtype (the primary's or a fixed one) and value domain.
Only literal values go into the table, so the source a graph materializes to never imports
``torch.testing._internal`` and workers never load op_db (about 9 s) at run time.

Every sample is checked here, each op in a forked child (an op that kills its process is recorded,
not fatal): it runs in eager on its own shapes; its output is a tensor or a tuple of tensors of
known dtypes within the generator's size limits; it gives the same result twice (random ops are
skipped); and it still runs, with the same output shapes, on fresh values drawn from the declared
domains in both input modes (``normal`` and ``special``), so a generated graph that planted it
runs in eager on the campaign's inputs too. Ops with no usable sample are kept in the table with
the reason (complex-only, random, training-only, needs structured values, ...).

    python scripts/derive_opdb.py                 # rewrite fuzzer/catalog/opdb_table.json
    python scripts/derive_opdb.py --ops abs,addmm --print
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TABLE = ROOT / "fuzzer" / "catalog" / "opdb_table.json"
MAX_NUMEL = 4096  # the generator's default max_numel: no tensor of a sample may be larger
MAX_RANK = 5
MAX_SAMPLES_SEEN = 40  # samples drawn from sample_inputs per op
MAX_SIGNATURES = 3  # signatures kept per op
MAX_SAMPLES_PER_SIGNATURE = 6
VALUE_TRIALS = 3  # fresh-value runs per mode per sample

#: Ops with integer division semantics: an integer zero or INT_MIN / -1 traps (SIGFPE) instead of
#: raising, so only their float dtypes are derived.
INT_TRAPS = re.compile(r"div|mod|remainder|fmod|gcd|lcm")

#: Names of callables to skip outright, with the reason (everything else is decided by checks).
SKIP_NAMES = {
    "item": "returns a Python scalar, not a tensor",
    "tolist": "returns a Python list, not a tensor",
    "empty": "uninitialized memory (output values undefined)",
    "empty_like": "uninitialized memory (output values undefined)",
    "empty_strided": "uninitialized memory (output values undefined)",
    "new_empty": "uninitialized memory (output values undefined)",
    "new_empty_strided": "uninitialized memory (output values undefined)",
    "empty_permuted": "uninitialized memory (output values undefined)",
    "resize_": "in-place resize leaves uninitialized memory",
    "resize_as_": "in-place resize leaves uninitialized memory",
    "nn.functional.dropout": "training-only (random unless training=False)",
    "nn.functional.dropout2d": "training-only (random unless training=False)",
    "nn.functional.dropout3d": "training-only (random unless training=False)",
    "nn.functional.alpha_dropout": "training-only (random unless training=False)",
    "nn.functional.feature_alpha_dropout": "training-only (random unless training=False)",
    "nn.functional.rrelu": "random in training mode",
    "torch._C._nn._test_optional_floatlist": "test-only op",
    "torch._C._nn._test_optional_filled_intlist": "test-only op",
    "torch._C._nn._test_optional_intlist": "test-only op",
    "torch._C._nn._test_string_default": "test-only op",
    "torch._C._nn._test_ambiguous_defaults": "test-only op",
    "torch._C._nn._test_warn_in_autograd": "test-only op",
    "data_ptr": "returns an address",
    "storage_offset": "returns a Python int",
    "nonzero_static": "pads with a fill value at a static size (no exporter target)",
}

DTYPE_NAMES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")


# ---------------------------------------------------------------------------------------------
# naming the callable
# ---------------------------------------------------------------------------------------------
def callable_paths():
    """id(obj) -> the dotted path a person writes, over the public torch namespaces."""
    import torch
    import torch.fft
    import torch.linalg
    import torch.nn.functional
    import torch.special

    paths: dict[int, str] = {}
    for prefix, mod in (
        ("torch.special", torch.special), ("torch.linalg", torch.linalg), ("torch.fft", torch.fft),
        ("torch.nn.functional", torch.nn.functional), ("torch", torch),
    ):
        for attr in dir(mod):
            if attr.startswith("_"):
                continue
            try:
                obj = getattr(mod, attr)
            except Exception:
                continue
            if callable(obj):
                paths.setdefault(id(obj), f"{prefix}.{attr}")
    return paths


def op_callable(info, paths) -> tuple[str, str] | None:
    """(kind, path): kind "function" (path is torch.x...) or "method" (path is the method name)."""
    import torch

    fn = info.op
    obj = torch  # the op_db name itself, when it is the public path (torch.nn.functional.conv2d)
    for part in info.name.split("."):
        obj = getattr(obj, part, None)
    if obj is not None and obj is fn:
        return "function", "torch." + info.name
    p = paths.get(id(fn))
    if p is not None:
        return "function", p
    mv = info.method_variant
    if mv is not None:
        name = getattr(mv, "__name__", None)
        if name and getattr(torch.Tensor, name, None) is not None:
            return "method", name
    return None


def catalog_name(info) -> str:
    base = info.name
    if info.variant_test_name:
        base += "." + re.sub(r"[^A-Za-z0-9_]", "_", info.variant_test_name)
    base = re.sub(r"[^A-Za-z0-9_.]", "_", base)
    if not re.match(r"[A-Za-z_]", base):
        base = "_" + base
    return base


# ---------------------------------------------------------------------------------------------
# one sample -> (template, attrs, tensors)
# ---------------------------------------------------------------------------------------------
class Unsupported(Exception):
    pass


def _is_literal(v) -> bool:
    import torch

    if isinstance(v, bool) or v is None or isinstance(v, str):
        return True
    if isinstance(v, int):
        return abs(v) < 2**62
    if isinstance(v, float):
        return True
    if isinstance(v, torch.Size):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_literal(x) and not isinstance(x, (list, tuple, torch.Size)) or _is_literal(x) for x in v) and not any(isinstance(x, torch.Tensor) for x in v)
    return False


def _plain(v):
    import torch

    if isinstance(v, torch.Size):
        return list(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _dtype_name(dt) -> str | None:
    s = str(dt).removeprefix("torch.")
    return s if s in DTYPE_NAMES else None


class SampleForm:
    """Builds the template of one sample: tensors become {k}, literals become attribute fields."""

    def __init__(self):
        self.tensors = []  # torch tensors in slot order
        self.attrs: dict = {}

    def expr(self, v, attr_name: str) -> str:
        import torch

        if isinstance(v, torch.Tensor):
            self.tensors.append(v)
            return "{%d}" % (len(self.tensors) - 1)
        if isinstance(v, torch.dtype):
            name = _dtype_name(v)
            if name is None:
                raise Unsupported(f"dtype argument {v}")
            self.attrs[attr_name] = name
            return "{%s:dtype}" % attr_name
        if isinstance(v, (list, tuple)) and any(isinstance(x, torch.Tensor) for x in v):
            parts = [self.expr(x, f"{attr_name}_{i}") for i, x in enumerate(v)]
            return "[" + ", ".join(parts) + "]" if isinstance(v, list) else "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        if isinstance(v, complex):
            raise Unsupported("complex scalar argument")
        if isinstance(v, float) and not math.isfinite(v):
            self.attrs[attr_name] = v
            return "{%s}" % attr_name
        if _is_literal(v):
            self.attrs[attr_name] = _plain(v)
            return "{%s}" % attr_name
        raise Unsupported(f"argument of type {type(v).__name__}")


def sample_form(kind: str, path: str, sample) -> tuple[str, dict, list]:
    import torch

    f = SampleForm()
    first = f.expr(sample.input, "input")
    if not f.tensors:
        raise Unsupported("no tensor input")
    if not isinstance(sample.input, torch.Tensor) and kind == "method":
        raise Unsupported("method on a tensor list")
    args = [f.expr(a, f"a{i}") for i, a in enumerate(sample.args, start=1)]
    kwargs = []
    for k, v in sample.kwargs.items():
        if not k.isidentifier():
            raise Unsupported(f"keyword {k!r}")
        kwargs.append(f"{k}=" + f.expr(v, k if k not in ("input",) else "kw_" + k))
    if kind == "method":
        call = f"{first}.{path}(" + ", ".join(args + kwargs) + ")"
    else:
        call = f"{path}(" + ", ".join([first] + args + kwargs) + ")"
    return call, f.attrs, f.tensors


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------
def _run(call: str, tensors, attrs):
    import warnings

    import torch

    from fuzzer.catalog.render import render

    expr = render(call, [f"t{i}" for i in range(len(tensors))], [], attrs)
    env = {f"t{i}": t for i, t in enumerate(tensors)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(expr, {"torch": torch}, env)  # noqa: S307 - our own rendered template


def _outputs(result):
    import torch

    if isinstance(result, torch.Tensor):
        return False, [result]
    if isinstance(result, (tuple, list)) and result and all(isinstance(t, torch.Tensor) for t in result):
        return True, list(result)
    raise Unsupported(f"returns {type(result).__name__}")


def _same(a, b) -> bool:
    import torch

    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.is_floating_point:
        return bool(torch.equal(torch.nan_to_num(a, nan=1.2345), torch.nan_to_num(b, nan=1.2345)))
    return bool(torch.equal(a, b))


def _domain_of(t, declared: str | None) -> tuple[str, int | None]:
    """The value domain of one sample tensor (observed values, or the OpInfo's declared domain)."""
    import torch

    if t.dtype == torch.bool:
        return "any", None
    if declared:
        return declared, None
    if t.numel() == 0:
        return "any", None
    if not t.dtype.is_floating_point:
        lo, hi = int(t.min()), int(t.max())
        if lo >= 0:
            return "index", hi + 1
        return "any", None
    lo, hi = float(t.min()), float(t.max())
    if lo >= 0 and hi <= 1:
        return "probability", None
    if lo > 0:
        return "positive", None
    return "any", None


def _declared_domain(info) -> str | None:
    d = getattr(info, "domain", None)
    if not d or d == (None, None):
        return None
    lo, hi = d
    if lo == 0 and hi is None:
        return "positive"
    if lo == 1 and hi is None:
        return "ge1"
    if lo is not None and hi is not None and lo >= -1 and hi <= 1:
        return "unit"
    if lo is not None and lo > 0:
        return "ge1" if lo >= 1 else "positive"
    return None


def check_sample(info, call, attrs, tensors, primary_dtype):
    """Raise Unsupported with a reason, or return the sample's record."""
    import numpy as np
    import torch

    from fuzzer.generate.inputs import make_value
    from fuzzer.ir import TensorSpec

    for t in tensors:
        if t.dtype not in (torch.bool,) and _dtype_name(t.dtype) is None:
            raise Unsupported(f"tensor of dtype {t.dtype}")
        if t.numel() > MAX_NUMEL or t.dim() > MAX_RANK:
            raise Unsupported("tensor larger than the generator's limits")
        if t.numel() == 0:
            raise Unsupported("empty tensor (the generator makes its own)")
        if t.layout != torch.strided:
            raise Unsupported("sparse tensor")
    if attrs.get("training") is True:
        raise Unsupported("training-only mode (training=True)")
    try:
        r1 = _run(call, [t.clone() for t in tensors], attrs)
    except Exception as e:
        raise Unsupported(f"eager raises on its own sample ({type(e).__name__})")
    is_tuple, outs = _outputs(r1)
    for o in outs:
        if _dtype_name(o.dtype) is None:
            raise Unsupported(f"output dtype {o.dtype}")
        if o.numel() > MAX_NUMEL or o.dim() > MAX_RANK:
            raise Unsupported("output larger than the generator's limits")
    torch.manual_seed(12345)
    _, outs2 = _outputs(_run(call, [t.clone() for t in tensors], attrs))
    if len(outs2) != len(outs) or not all(_same(a, b) for a, b in zip(outs, outs2)):
        raise Unsupported("random or nondeterministic output")
    declared = _declared_domain(info)
    slots = []
    for k, t in enumerate(tensors):
        dname = _dtype_name(t.dtype)
        same = dname == primary_dtype
        domain, bound = _domain_of(t, declared if k == 0 else None)
        slots.append({"shape": list(t.shape), "dtype": "same" if same else dname, "domain": domain, "bound": bound})
    # fresh values in the declared domains, both input modes: the campaign's inputs
    for mode in ("normal", "special"):
        for trial in range(VALUE_TRIALS):
            rng = np.random.default_rng([trial, len(call), 7 if mode == "special" else 3])
            fresh = []
            for s, t in zip(slots, tensors):
                spec = TensorSpec(tuple(s["shape"]), _dtype_name(t.dtype))
                fresh.append(torch.from_numpy(make_value(spec, s["domain"], s["bound"], rng, mode)))
            try:
                _, o3 = _outputs(_run(call, fresh, attrs))
            except Unsupported:
                raise
            except Exception as e:
                raise Unsupported(f"raises on other input values ({mode} mode, {type(e).__name__}): needs structured values")
            if [tuple(o.shape) for o in o3] != [tuple(o.shape) for o in outs]:
                raise Unsupported("data-dependent output shape")
    return {"tensors": slots, "attrs": attrs}, is_tuple, len(outs)


# ---------------------------------------------------------------------------------------------
# one OpInfo -> table entry
# ---------------------------------------------------------------------------------------------
def derive_one(info, paths) -> dict:
    import torch

    name = catalog_name(info)
    entry = {"name": name, "opdb_name": info.name, "variant": info.variant_test_name, "aten_name": info.aten_name}
    if info.name in SKIP_NAMES:
        entry["skip"] = SKIP_NAMES[info.name]
        return entry
    c = op_callable(info, paths)
    if c is None:
        entry["skip"] = "callable is a test wrapper, not a public torch function or tensor method"
        return entry
    kind, path = c
    entry["kind"], entry["callable"] = kind, path
    dts = sorted({n for n in (_dtype_name(d) for d in info.supported_dtypes("cpu")) if n}, key=DTYPE_NAMES.index)
    if INT_TRAPS.search(info.name):
        dts = [d for d in dts if d.startswith("float")]
    if not dts:
        entry["skip"] = "no dtype the fuzzer knows (complex, bfloat16 or integer-trapping only)"
        return entry
    if getattr(info, "is_factory_function", False):
        entry["skip"] = "factory function (no tensor input)"
        return entry
    sample_dtype = next((d for d in ("float32", "int64", "float64", "int32", "bool") if d in dts), dts[0])
    entry["dtypes"] = dts
    signatures: dict[str, dict] = {}
    reasons: dict[str, int] = {}
    try:
        it = info.sample_inputs("cpu", getattr(torch, sample_dtype), requires_grad=False)
        samples = []
        for s in it:
            samples.append(s)
            if len(samples) >= MAX_SAMPLES_SEEN:
                break
    except Exception as e:
        entry["skip"] = f"sample_inputs raises ({type(e).__name__})"
        return entry
    for s in samples:
        try:
            call, attrs, tensors = sample_form(kind, path, s)
            rec, is_tuple, n_out = check_sample(info, call, attrs, tensors, sample_dtype)
        except Unsupported as u:
            reasons[str(u)] = reasons.get(str(u), 0) + 1
            continue
        sig = signatures.setdefault(call, {"template": call, "returns_tuple": is_tuple, "n_outputs": n_out, "samples": []})
        if sig["returns_tuple"] != is_tuple or sig["n_outputs"] != n_out:
            reasons["output structure differs between samples"] = reasons.get("output structure differs between samples", 0) + 1
            continue
        if len(sig["samples"]) < MAX_SAMPLES_PER_SIGNATURE and rec not in sig["samples"]:
            sig["samples"].append(rec)
    if not signatures:
        boring = ("empty tensor (the generator makes its own)", "tensor larger than the generator's limits")
        telling = {r: n for r, n in reasons.items() if r not in boring} or reasons
        entry["skip"] = "no usable sample: " + (max(telling, key=telling.get) if telling else "sample_inputs is empty")
        return entry
    # most-sampled signatures first
    sigs = sorted(signatures.values(), key=lambda g: -len(g["samples"]))[:MAX_SIGNATURES]
    # dtypes that run the first sample of the first signature
    ok = []
    first = sigs[0]["samples"][0]
    for d in dts:
        ts = [_fresh_tensor(sl, d) for sl in first["tensors"]]
        try:
            r = _run(sigs[0]["template"], ts, first["attrs"])
            _, outs = _outputs(r)
            if all(_dtype_name(o.dtype) for o in outs):
                ok.append(d)
        except Exception:
            pass
    if not ok:
        entry["skip"] = "no dtype of its table runs its sample"
        return entry
    entry["dtypes"] = ok
    entry["polymorphic"] = _polymorphic(info)
    entry["signatures"] = sigs
    if reasons:
        entry["dropped_samples"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:4])
    return entry


def _fresh_tensor(slot, dtype):
    import numpy as np
    import torch

    from fuzzer.generate.inputs import make_value
    from fuzzer.ir import TensorSpec

    dt = dtype if slot["dtype"] == "same" else slot["dtype"]
    arr = make_value(TensorSpec(tuple(slot["shape"]), dt), slot["domain"], slot["bound"], np.random.default_rng(0))
    return torch.from_numpy(arr)


def _polymorphic(info) -> bool:
    """Elementwise ops: any shape works, the other tensors broadcast against the primary."""
    from torch.testing._internal.opinfo.core import BinaryUfuncInfo, UnaryUfuncInfo

    return isinstance(info, (UnaryUfuncInfo, BinaryUfuncInfo))


def derive_isolated(info, paths, timeout: float = 60.0) -> dict:
    """derive_one in a forked child: an op that kills or hangs its process is recorded."""
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            entry = derive_one(info, paths)
            with open(path, "w") as f:
                json.dump(entry, f)
        except BaseException as e:  # recorded by the parent
            with open(path, "w") as f:
                json.dump({"error": f"{type(e).__name__}: {str(e)[:200]}"}, f)
            code = 1
        os._exit(code)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.005)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        status = "hang"
    base = {"name": catalog_name(info), "opdb_name": info.name, "variant": info.variant_test_name, "aten_name": info.aten_name}
    try:
        if status == "hang":
            return dict(base, skip="derivation hangs")
        if os.WIFSIGNALED(status):
            return dict(base, skip=f"eager kills the process (signal {os.WTERMSIG(status)})")
        with open(path) as f:
            text = f.read()
        if not text:
            return dict(base, skip="derivation failed")
        got = json.loads(text)
        if "error" in got:
            return dict(base, skip=f"derivation failed ({got['error']})")
        return got
    finally:
        os.unlink(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--ops", default="", help="comma-separated op_db names to derive (default: all)")
    ap.add_argument("--out", default=str(TABLE), help="table path (default: %(default)s)")
    ap.add_argument("--print", action="store_true", help="print the entries instead of writing the table")
    ap.add_argument("--retry-failed", action="store_true", help="re-derive only the table's entries whose derivation failed, keep the rest")
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    from torch.testing._internal.common_methods_invocations import op_db

    import torch

    torch.set_num_threads(1)
    paths = callable_paths()
    wanted = {s for s in args.ops.split(",") if s}
    infos = [i for i in op_db if not wanted or i.name in wanted]
    old = {}
    if args.retry_failed:
        old = {e["name"]: e for e in json.loads(Path(args.out).read_text())["ops"]}
    entries = []
    seen = set()
    for k, info in enumerate(infos):
        prev = old.get(catalog_name(info))
        if prev is not None and not prev.get("skip", "").startswith("derivation failed"):
            e = prev
        else:
            e = derive_isolated(info, paths)
        while e["name"] in seen:
            e["name"] += "_"
        seen.add(e["name"])
        entries.append(e)
        if (k + 1) % 50 == 0:
            print(f"{k + 1}/{len(infos)} ops, {time.monotonic() - t0:.0f} s", file=sys.stderr)
    if args.print:
        print(json.dumps(entries, indent=1))
        return 0
    kept = sum(1 for e in entries if "skip" not in e)
    table = {
        "about": "Derived by scripts/derive_opdb.py from torch.testing._internal.common_methods_invocations.op_db; do not edit by hand.",
        "torch": torch.__version__,
        "ops": entries,
    }
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(table, indent=None, separators=(",", ":")).replace('},{"name"', '},\n{"name"') + "\n")
    os.replace(tmp, out)
    print(f"{len(entries)} OpInfos, {kept} with usable signatures, {len(entries) - kept} skipped with a reason; {time.monotonic() - t0:.0f} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
