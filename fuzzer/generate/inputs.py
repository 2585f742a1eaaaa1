"""Input values for a graph, per dtype and value domain, from a seed.

Two modes, recorded with every case so a finding says which one found it:

- ``normal``: well-conditioned values (floats ~ N(0, 1) clipped to the input's domain, small ints).
- ``special``: the same, with a share of values replaced by the ones converters get wrong: 0, -0.0,
  +-inf, NaN, the dtype's min/max, exact halves (rounding ties), negative ints (division and
  remainder semantics) and repeated values (ties in argmax/topk/sort). Domains still hold where
  they are a precondition of the op (an index stays in range).

Invariant: ``make_inputs(graph, seed, mode)`` is a pure function: same graph, seed and mode give
byte-identical arrays.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

import numpy as np

from fuzzer.ir import FLOAT_DTYPES, Graph, TensorSpec

MODES = ("normal", "special")


def input_rng(seed: int, name: str, mode: str) -> np.random.Generator:
    """An independent stream per (seed, input name, mode), stable across processes."""
    digest = hashlib.sha256(f"onnxfuzz-inputs/{seed}/{name}/{mode}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def make_inputs(graph: Graph, seed: int, mode: str = "normal", special_rate: float = 0.25) -> dict[str, np.ndarray]:
    if mode not in MODES:
        raise ValueError(f"unknown input mode {mode!r} (expected one of {', '.join(MODES)})")
    return {
        i.name: make_value(i.spec, i.domain, i.bound, input_rng(seed, i.name, mode), mode, special_rate)
        for i in graph.inputs
    }


def make_value(
    spec: TensorSpec,
    domain: str,
    bound: int | None,
    rng: np.random.Generator,
    mode: str = "normal",
    special_rate: float = 0.25,
) -> np.ndarray:
    shape, dtype = spec.shape, spec.dtype
    if domain == "index":
        top = max(1, bound or 1)
        x = np.asarray(rng.integers(0, top, size=shape, dtype=np.int64))
        if x.size:  # the largest index always occurs: one_hot without num_classes sizes its output by it
            x.flat[rng.integers(0, x.size)] = top - 1
        return np.array(x.astype(dtype), order="C")
    if dtype == "bool":
        return np.array(np.asarray(rng.random(size=shape) < 0.5), order="C")
    if dtype in FLOAT_DTYPES:
        x = _float_values(rng, shape, domain)
    else:
        x = _int_values(rng, shape, domain, dtype)
    if mode == "special" and x.size:
        x = _sprinkle_special(rng, x, dtype, domain, special_rate)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array(np.asarray(x).astype(dtype), order="C")


def _float_values(rng: np.random.Generator, shape, domain: str) -> np.ndarray:
    if domain == "positive":
        return rng.uniform(0.1, 3.0, size=shape)
    if domain == "nonzero":
        return rng.uniform(0.5, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if domain == "unit":
        return rng.uniform(-0.95, 0.95, size=shape)
    if domain == "ge1":
        return rng.uniform(1.0, 4.0, size=shape)
    if domain == "small":
        return rng.uniform(-3.0, 3.0, size=shape)
    if domain == "probability":
        return rng.uniform(0.0, 1.0, size=shape)
    return rng.standard_normal(size=shape)


def _int_values(rng: np.random.Generator, shape, domain: str, dtype: str) -> np.ndarray:
    lo = 0 if dtype == "uint8" else -8
    if domain in ("positive", "ge1"):
        lo, hi = 1, 9
    elif domain == "small":
        lo, hi = (0 if dtype == "uint8" else -3), 4
    elif domain == "probability":
        lo, hi = 0, 2
    else:
        hi = 17 if dtype == "uint8" else 9
    x = rng.integers(lo, hi, size=shape, dtype=np.int64)
    if domain == "nonzero":
        x = np.where(x == 0, 1, x)
    return x


def _specials(dtype: str, domain: str) -> np.ndarray:
    if dtype in FLOAT_DTYPES:
        info = np.finfo(dtype)
        vals = {
            "any": [0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -0.5, 1.5, 2.5, -2.5, float(info.max), float(info.min), float(info.tiny), 1.0, -1.0],
            "positive": [float(info.tiny), 0.5, 1.5, 2.5, 1.0, np.inf, float(info.max)],
            # +-0.0 too: float division by zero is defined (IEEE inf/nan), and converters get it wrong
            "nonzero": [0.0, -0.0, 0.5, -0.5, 1.5, -2.5, np.inf, -np.inf, 1.0, -1.0, float(info.max), float(info.min)],
            "unit": [0.0, -0.0, 0.5, -0.5],
            "ge1": [1.0, 1.5, 2.5],
            "small": [0.0, -0.0, 0.5, -0.5, 1.5, -2.5],
            "probability": [0.0, 1.0, 0.5],
        }[domain]
        return np.array(vals, dtype=np.float64)
    info = np.iinfo(dtype)
    vals = {
        "any": [0, info.min, info.max, -1, 1, -7],
        "positive": [1, info.max],
        "ge1": [1, info.max],
        "nonzero": [info.min, info.max, -1, 1, -7],
        "small": [0, -1, 1],
        "unit": [0],
        "probability": [0, 1],
    }[domain]
    keep = [v for v in vals if info.min <= v <= info.max and not (domain in ("nonzero", "positive", "ge1") and v <= 0 and (domain != "nonzero" or v == 0))]
    return np.array(keep, dtype=np.int64)


def _sprinkle_special(rng: np.random.Generator, x: np.ndarray, dtype: str, domain: str, rate: float) -> np.ndarray:
    x = np.array(x, dtype=np.float64 if dtype in FLOAT_DTYPES else np.int64)
    flat = x.reshape(-1)
    mask = rng.random(flat.shape[0]) < rate
    specials = _specials(dtype, domain)
    flat[mask] = rng.choice(specials, size=int(mask.sum()))
    if flat.shape[0] >= 2 and rng.random() < 0.3:  # repeated values: ties for argmax/topk/sort
        flat[rng.integers(0, flat.shape[0])] = flat[rng.integers(0, flat.shape[0])]
    return flat.reshape(x.shape)


def describe(inputs: Mapping[str, np.ndarray]) -> str:
    return ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in inputs.items())

