"""Export several independent graphs in one dynamo call, then give each graph its own model.

The dynamo exporter's cost per call is mostly fixed (registry, decomposition set-up, torch.export's
own passes), so exporting N independent modules as one module with all their outputs costs a
fraction of N calls. :func:`export_many` does that and splits the result per member
(:func:`fuzzer.export.split.extract_part`): every member gets an :class:`ExportOutcome` whose
model holds exactly its own nodes, validated by ``onnx.checker`` on its own, so checker errors,
ONNX Runtime load/run errors and numeric mismatches are all attributed to one graph.

When the batched call raises (an export crash of some member), the batch is halved and each half
retried, down to single members exported alone through :func:`fuzzer.export.exporters.export`
(the plain public call): an export crash is always recorded from a call holding that graph only.
Members whose operators crashed the exporter before (:class:`CrashMemory`) skip batching.

Invariants: ``export_many(members, o)[k]`` is about ``members[k]``; every member is exported in
some call (batched or alone); a member's model never contains another member's nodes. The
equivalence with the plain call (same nodes, attributes and initializers, names aside) is checked
by ``tests/e2e/test_export_batch.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import torch

from .exporters import ExportOptions, ExportOutcome, Exporter, export, export_dynamo_proto, validate
from .quiet import quiet
from .split import SplitError, extract_part


@dataclass(frozen=True)
class BatchMember:
    """One graph to export: its module (eval mode), example inputs and their names, its output count."""

    module: torch.nn.Module
    args: tuple[torch.Tensor, ...]
    input_names: tuple[str, ...]
    n_outputs: int
    keys: tuple[str, ...] = ()  # opaque operator descriptions (e.g. "op(dtype/rank,...)"), for CrashMemory


class BatchModule(torch.nn.Module):
    """``forward(*all inputs)`` runs every member on its own inputs; returns all outputs, in order."""

    def __init__(self, members: Sequence[BatchMember]):
        super().__init__()
        self.parts = torch.nn.ModuleList([m.module for m in members])
        self.arity = [len(m.args) for m in members]

    def forward(self, *args):
        outs = []
        i = 0
        for part, n in zip(self.parts, self.arity):
            outs.extend(part(*args[i:i + n]))
            i += n
        return tuple(outs)


def member_input_name(k: int, name: str) -> str:
    return f"b{k}_{name}"


@dataclass
class CrashMemory:
    """Operator keys seen in graphs whose lone export crashed, minus those seen in a successful export.

    A scheduling hint only (never part of a verdict): a graph with a suspect operator is exported
    alone, so a batch rarely fails because of an already known crash.
    """

    crashed: set[str] = field(default_factory=set)
    exported: set[str] = field(default_factory=set)

    def suspect(self, m: BatchMember) -> bool:
        return any(key in self.crashed and key not in self.exported for key in m.keys)

    def record(self, m: BatchMember, outcome: ExportOutcome) -> None:
        if outcome.stage == "export":
            self.crashed.update(m.keys)
        else:
            self.exported.update(m.keys)


@dataclass
class BatchStats:
    """What batching did (for the benchmark and the worker log)."""

    calls: int = 0  # exporter calls made
    batched_calls: int = 0  # ... of which held more than one graph
    failed_batches: int = 0  # batched calls that raised and were split
    split_fallbacks: int = 0  # batched models that could not be cut into parts
    alone_suspect: int = 0  # members exported alone because of CrashMemory


def export_many(
    members: Sequence[BatchMember],
    options: ExportOptions,
    max_batch: int = 16,
    memory: CrashMemory | None = None,
    stats: BatchStats | None = None,
) -> list[ExportOutcome]:
    """One :class:`ExportOutcome` per member, as if each had been exported alone (see module doc)."""
    if options.exporter is not Exporter.DYNAMO:
        raise ValueError("batched export is for the dynamo exporter only (TorchScript has no fixed cost to amortize)")
    stats = stats if stats is not None else BatchStats()
    results: list[ExportOutcome | None] = [None] * len(members)
    todo = list(range(len(members)))
    if memory is not None:
        for k in list(todo):
            if memory.suspect(members[k]):
                stats.alone_suspect += 1
                todo.remove(k)
                results[k] = _alone(members[k], options, memory, stats)
    for start in range(0, len(todo), max_batch):
        _export_group(members, todo[start:start + max_batch], options, results, memory, stats)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _alone(m: BatchMember, options: ExportOptions, memory: CrashMemory | None, stats: BatchStats) -> ExportOutcome:
    stats.calls += 1
    out = export(m.module, m.args, m.input_names, options)
    if memory is not None:
        memory.record(m, out)
    return out


def _export_group(members, group: list[int], options, results, memory, stats: BatchStats) -> None:
    if len(group) == 1:
        results[group[0]] = _alone(members[group[0]], options, memory, stats)
        return
    stats.calls += 1
    stats.batched_calls += 1
    parts = _export_batch([members[k] for k in group], options)
    if parts == "crash":
        stats.failed_batches += 1
    elif parts == "unsplittable":
        stats.split_fallbacks += 1
    else:
        for k, out in zip(group, parts):
            results[k] = out
            if memory is not None:
                memory.record(members[k], out)
        return
    half = len(group) // 2
    _export_group(members, group[:half], options, results, memory, stats)
    _export_group(members, group[half:], options, results, memory, stats)


def _export_batch(group: Sequence[BatchMember], options: ExportOptions) -> list[ExportOutcome] | str:
    """The members' outcomes from one batched call, or "crash" / "unsplittable"."""
    names = [member_input_name(k, n) for k, m in enumerate(group) for n in m.input_names]
    args = tuple(a for m in group for a in m.args)
    captured: list[str] = []
    t0 = time.perf_counter()
    try:
        with quiet(captured), torch.no_grad():
            model = export_dynamo_proto(BatchModule(group), args, options, input_names=names)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:  # some member crashes the exporter: find it by halving
        del e
        return "crash"
    seconds = (time.perf_counter() - t0) / len(group)
    outputs = [o.name for o in model.graph.output]
    if len(outputs) != sum(m.n_outputs for m in group):
        return "unsplittable"
    out: list[ExportOutcome] = []
    j = 0
    try:
        for k, m in enumerate(group):
            rename = {member_input_name(k, n): n for n in m.input_names}
            part = extract_part(model, list(rename), outputs[j:j + m.n_outputs], rename)
            j += m.n_outputs
            out.append(validate(part.SerializeToString(), options, seconds, (), batched=len(group)))
    except SplitError:
        return "unsplittable"
    return out


__all__ = ["BatchMember", "BatchModule", "BatchStats", "CrashMemory", "export_many", "member_input_name"]
