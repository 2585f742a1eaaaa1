"""On-disk form of a case: a directory with graph.json, inputs.npz, model.onnx (when there is
one) and result.json. Written whole or not at all (staged, then renamed). No pickle: inputs are
``.npz`` read back with ``allow_pickle=False``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Mapping

import numpy as np

from fuzzer.ir import Graph, graph_to_json, load_graph
from fuzzer.atomic import StagedDir, atomic_write_bytes

from .result import CaseResult


class InputsFormatError(ValueError):
    """An inputs file is unreadable or does not fit the graph; the message says what to do."""


def npz_bytes(inputs: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in inputs.items()})
    return buf.getvalue()


def save_inputs(path: Path, inputs: Mapping[str, np.ndarray]) -> None:
    atomic_write_bytes(path, npz_bytes(inputs))


def load_inputs(path: Path, graph: Graph) -> dict[str, np.ndarray]:
    """Read an ``.npz`` of graph inputs and check names, shapes and dtypes against ``graph``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise InputsFormatError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as e:
        raise InputsFormatError(f"{path}: not a readable .npz file ({e})") from None
    out = {}
    for i in graph.inputs:
        if i.name not in data:
            raise InputsFormatError(f"{path}: has no array {i.name!r} (the graph's inputs are {[x.name for x in graph.inputs]})")
        a = data[i.name]
        if tuple(a.shape) != i.spec.shape or str(a.dtype) != i.spec.dtype:
            raise InputsFormatError(f"{path}: {i.name} is {a.dtype}{list(a.shape)}, the graph wants {i.spec.dtype}{list(i.spec.shape)}")
        out[i.name] = a
    return out


def load_case_dir(path: Path) -> tuple[Graph, dict[str, np.ndarray], CaseResult]:
    """Read a case directory back: its graph, inputs (checked against the graph) and result, with
    the model bytes when ``model.onnx`` is there (a mismatch's signature walks the model).
    Raises :class:`GraphFormatError`, :class:`InputsFormatError` or ValueError (a bad result.json)."""
    graph = load_graph(path / "graph.json")
    inputs = load_inputs(path / "inputs.npz", graph)
    try:
        doc = json.loads((path / "result.json").read_text(encoding="utf-8"))
        model = (path / "model.onnx").read_bytes() if (path / "model.onnx").exists() else None
        return graph, inputs, CaseResult.from_dict(doc, model=model)
    except OSError as e:
        raise ValueError(f"{path}: cannot read the case ({e.strerror or e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path / 'result.json'}: not a case record ({type(e).__name__}: {e})") from None


def case_dirname(result: CaseResult) -> str:
    return f"{result.seed}-{result.exporter}-{result.verdict.value}"


def mutant_dirname(slot: int, result: CaseResult) -> str:
    """A mutant case's directory name: by its slot, as mutation seeds say nothing to a reader."""
    return f"m{slot}-{result.exporter}-{result.verdict.value}"


def save_case(root: Path, graph: Graph, inputs: Mapping[str, np.ndarray], result: CaseResult, name: str | None = None) -> Path:
    """Write one case directory under ``root``; returns its path. Never overwrites an existing one."""
    final = root / (name or case_dirname(result))
    with StagedDir(final) as tmp:
        (tmp / "graph.json").write_text(graph_to_json(graph) + "\n", encoding="utf-8")
        (tmp / "inputs.npz").write_bytes(npz_bytes(inputs))
        if result.model is not None:
            (tmp / "model.onnx").write_bytes(result.model)
        (tmp / "result.json").write_text(json.dumps(result.to_dict(), indent=1, allow_nan=False, default=str) + "\n", encoding="utf-8")
    return final
