"""Export several independent graphs in one dynamo call, then give each graph its own model.

The dynamo exporter's cost per call is mostly fixed (registry, decomposition set-up, torch.export's
own passes), so exporting N independent modules as one module with all their outputs costs a
fraction of N calls. :func:`export_many` does that and splits the result per member
(:func:`fuzzer.export.split.extract_part`): every member gets an :class:`ExportOutcome` whose
model holds exactly its own nodes, validated by ``onnx.checker`` on its own, so checker errors,
ONNX Runtime load/run errors and numeric mismatches are all attributed to one graph.

When the batched call raises (an export crash of some member), the exception usually names the
culprit: its traceback runs through the member's generated ``forward`` (a file name unique to each
graph, see :mod:`fuzzer.materialize`), or a frame holds the FX node being translated, whose
recorded stack trace does; the line number in that file names the node. That member is exported
alone and the rest batched again as one call (for several export variants from one capture, an
error that names only an operator, as decomposition errors can, sends every member whose captured
nodes call it alone); without such a hint the batch is halved and each half retried. Either way
an export crash is always recorded from an export of that graph only (the plain public call,
:func:`fuzzer.export.exporters.export`, or for several variants the graph's own capture exported
per variant, which raises what the plain call raises), so the hint is a scheduling aid, never
part of a verdict. Members are exported alone from the start (:class:`CrashMemory`) when one
of their operators crashed the exporter before, or was the named node of a batch that failed
although its graph exports fine alone (the first capture strategy rejects it, see below).

With ``options.dynamic`` the batched call declares each member's dimensions dynamic as the plain
call would (:mod:`fuzzer.export.dynamic`), with symbols of their own per member (``b<k>_s<size>``:
members never share a size), and each member's model says which of its inputs' dimensions stayed
dynamic; a member whose dynamic export fails in a batch is exported alone, where a refusal or a
crash is resolved as :func:`fuzzer.export.exporters.export` does.

A batched call tries only the exporter's first capture strategy (non-strict ``torch.export``):
when it succeeds, the public call would have stopped there too, so the model is the same; when it
fails, the public call's fallbacks (strict, draft export) would only delay the split, and every
member is exported alone through all strategies if it needs them.

Invariants: ``export_many(members, o)[k]`` is about ``members[k]``; every member is exported in
some call (batched or alone); a member's model never contains another member's nodes. The
equivalence with the plain call (same nodes, attributes and initializers, names aside) is checked
by ``tests/e2e/test_export_batch.py``.
"""

from __future__ import annotations

import contextlib
import linecache
import time
from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import torch

from fuzzer.materialize import node_at_line

from .culprit import culprit_line, members_calling, module_source_name, named_members
from .errors import STEP
from .exporters import (DerivedExports, ExportOptions, ExportOutcome, Exporter, exception_name, exception_text, export, export_dynamo_proto, first_capture,
                        implemented_ops, translation_opset, validate)
from .process_caches import trim_process_caches
from .quiet import quiet
from .rewrites import Fired, observed, recording, value_names
from .split import SplitError, extract_part


@dataclass(frozen=True)
class BatchMember:
    """One graph to export: its module (eval mode), example inputs and their names, its output count."""

    module: torch.nn.Module
    args: tuple[torch.Tensor, ...]
    input_names: tuple[str, ...]
    n_outputs: int
    keys: tuple[str, ...] = ()  # one opaque operator description per node, in node order (e.g. "op(dtype/rank,...)"), for CrashMemory


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
    """Operator keys seen in graphs whose lone export crashed, minus those seen in a successful
    export; plus ``breakers``: keys of nodes that a failed batch named although their graph
    exported fine alone (typically the first capture strategy rejects them and a fallback takes
    them), which would fail every batch they join.

    A scheduling hint only (never part of a verdict): a graph with a suspect operator is exported
    alone, so a batch rarely fails because of an already known crash.
    """

    crashed: set[str] = field(default_factory=set)
    exported: set[str] = field(default_factory=set)
    breakers: set[str] = field(default_factory=set)

    def suspect(self, m: BatchMember) -> bool:
        return any((key in self.crashed and key not in self.exported) or key in self.breakers for key in m.keys)

    def record(self, m: BatchMember, outcome: ExportOutcome) -> None:
        """Learn from a lone export: a crash marks the node its exception points to (every node's
        key when it points nowhere); a success clears every key of the graph."""
        if outcome.stage == "export":
            key = _node_key(m, outcome.culprit_line)
            self.crashed.update([key] if key is not None else m.keys)
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
    culprits_named: int = 0  # failed batches whose exception named a member that then crashed alone
    culprits_missed: int = 0  # ... named a member that exported fine alone (the batch still failed because of it)
    breakers_learned: int = 0  # node keys added to CrashMemory.breakers
    crashes_shared: int = 0  # plain calls saved: a variant given the crash of another that shares the step it crashed in
    alone_derived: int = 0  # graphs exported alone for several variants from one capture of their own
    callers_alone: int = 0  # members exported alone because a batch's error named an operator they call (no member)
    bisections: int = 0  # failed batches that named no member (nor a caller): each half exported on its own, for all those variants

    def to_dict(self) -> dict[str, int]:
        """The counters that are not zero (what a worker reply and ``summary.json`` carry)."""
        return {k: v for k, v in vars(self).items() if v}

    def add(self, counts: "BatchStats | dict[str, int] | None") -> None:
        """Add another request's counters (a :class:`BatchStats` or its :meth:`to_dict`)."""
        for k, v in (vars(counts) if isinstance(counts, BatchStats) else counts or {}).items():
            if hasattr(self, k):
                setattr(self, k, getattr(self, k) + int(v))


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


#: The dynamo exporter's own steps (``torch.onnx._internal.exporter._core.export``), by the first
#: words of the exception each raises, and what each depends on of the export options: capture
#: on none of them (static exports), decomposition on the operators the registry of the
#: translation opset implements, translation on that opset. Conversion and optimization come after.
_STEPS = (("1/3", "capture"), ("2/3", "decomposition"), ("3/3", "translation"))


def crash_step(out: ExportOutcome) -> str | None:
    """The exporter step a static dynamo export crashed in ("capture", "decomposition",
    "translation"), from the step its exception names; None for any other outcome."""
    if out.stage != "export" or out.options.exporter is not Exporter.DYNAMO or out.options.dynamic:
        return None
    step = STEP.search((out.error_message or "").split("\n", 1)[0])
    return dict(_STEPS).get(step.group(1)) if step else None


def _same_until(step: str, a: ExportOptions, b: ExportOptions) -> bool:
    """Whether the plain calls with ``a`` and ``b`` run the same code on the same input up to and
    including ``step`` (then they raise the same exception there)."""
    if a.exporter is not b.exporter or a.dynamic or b.dynamic:
        return False
    if step == "capture":
        return True
    ta, tb = translation_opset(a), translation_opset(b)
    return ta == tb or (step == "decomposition" and implemented_ops(ta) == implemented_ops(tb))


def _alone_variants(m: BatchMember, variants: Sequence[ExportOptions], memory: CrashMemory | None, stats: BatchStats) -> list[ExportOutcome]:
    """``[_alone(m, v) for v in variants]`` (the plain call per variant), from one capture of the
    graph alone when the variants are static dynamo ones: the public call's first capture
    strategy gives the program the plain call would translate, and :class:`DerivedExports`
    decomposes and translates it once per distinct input, raising a decomposition or translation
    crash as the plain call does (same error type and message). A capture that fails, and any
    other exception (conversion, optimizer), goes to the plain calls (:func:`_plain_variants`).
    ``tests/e2e/test_export_batch.py`` checks every outcome against the plain call's."""
    if len(variants) < 2 or any(v.exporter is not Exporter.DYNAMO or v.dynamic for v in variants):
        return _plain_variants(m, variants, memory, stats)
    t0 = time.perf_counter()
    stats.calls += 1
    program, error = first_capture(m.module, m.args)
    del error
    if program is None:  # the plain call tries its other strategies
        return _plain_variants(m, variants, memory, stats)
    stats.alone_derived += 1
    capture = (time.perf_counter() - t0) / len(variants)
    derived = DerivedExports(program, m.args, None)
    source = source_name(m)
    outs: list[ExportOutcome] = []
    for v in variants:
        t1 = time.perf_counter()
        captured: list[str] = []
        try:
            with quiet(captured), torch.no_grad(), recording() as fired:
                proto = derived.model(v)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as e:
            if STEP.search(str(e).split("\n", 1)[0]) is None:  # not a step the public call wraps: ask it
                del e
                outs.append(_alone(m, v, memory, stats))
                continue
            o = ExportOutcome(v, None, "export", None, exception_name(e), exception_text(e), capture + time.perf_counter() - t1, tuple(captured),
                              culprit_line=culprit_line(e, source))
            del e
        else:
            o = validate(proto.SerializeToString(), v, capture + time.perf_counter() - t1, tuple(captured), rewrites=observed(proto, fired))
        finally:
            trim_process_caches()
        if memory is not None:
            memory.record(m, o)
        outs.append(o)
    return outs


def _plain_variants(m: BatchMember, variants: Sequence[ExportOptions], memory: CrashMemory | None, stats: BatchStats) -> list[ExportOutcome]:
    """``[_alone(m, v) for v in variants]``, with one plain call per group of variants that share
    the exporter step a crash happened in (:func:`crash_step`): the call of each other variant
    would run the same code on the same program up to that step and raise the same exception, so
    it gets that outcome with its own options (``tests/e2e/test_export_batch.py`` checks it
    against the plain calls)."""
    outs: list[ExportOutcome | None] = [None] * len(variants)
    for j, v in enumerate(variants):
        if outs[j] is not None:
            continue
        outs[j] = o = _alone(m, v, memory, stats)
        step = crash_step(o)
        if step is None:
            continue
        for i in range(j + 1, len(variants)):
            if outs[i] is None and _same_until(step, v, variants[i]):
                outs[i] = replace(o, options=variants[i])
                stats.crashes_shared += 1
    return outs  # type: ignore[return-value]


def _export_group(members, group: list[int], options, results, memory, stats: BatchStats) -> None:
    if len(group) == 1:
        results[group[0]] = _alone(members[group[0]], options, memory, stats)
        return
    stats.calls += 1
    stats.batched_calls += 1
    parts = _export_batch([members[k] for k in group], options)
    if isinstance(parts, BatchCrash):
        stats.failed_batches += 1
        if parts.suspect is not None:  # export the named member alone, batch the rest again
            k = group[parts.suspect]
            results[k] = _alone(members[k], options, memory, stats)
            _learn_breaker(members[k], results[k].stage == "export", parts.line, memory, stats)
            rest = [j for j in group if j != k]
            if rest:
                _export_group(members, rest, options, results, memory, stats)
            return
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


@dataclass(frozen=True)
class BatchCrash:
    """A batched call raised; ``suspect``: the one member (position in the call) its exception
    names, ``line``: the innermost line of that member's source the exception points to;
    ``callers``: when it names none, the members whose nodes (captured or decomposed) call the
    operator the error names (:func:`fuzzer.export.culprit.members_calling`)."""

    suspect: int | None
    line: int | None = None
    callers: tuple[int, ...] = ()


def _node_key(m: BatchMember, line: int | None) -> str | None:
    """The key of the member's node on ``line`` of its generated source, if known."""
    name = source_name(m)
    if line is None or name is None:
        return None
    k = node_at_line("".join(linecache.getlines(name)), line)
    return m.keys[k] if k is not None and k < len(m.keys) else None


def _export_batch(group: Sequence[BatchMember], options: ExportOptions) -> list[ExportOutcome] | BatchCrash | str:
    """The members' outcomes from one batched call, a :class:`BatchCrash`, or "unsplittable"."""
    names = [member_input_name(k, n) for k, m in enumerate(group) for n in m.input_names]
    args = tuple(a for m in group for a in m.args)
    captured: list[str] = []
    t0 = time.perf_counter()
    try:
        with quiet(captured), torch.no_grad(), first_capture_strategy_only(), recording() as fired:
            model = export_dynamo_proto(BatchModule(group), args, options, input_names=names,
                                        dynamic_shapes=batch_dynamic_shapes(group) if options.dynamic else None)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:  # some member crashes the exporter: find it (named by the exception, or by halving)
        crash = _crash_of(e, [source_name(m) for m in group])
        del e  # its traceback holds the whole traced program
        return crash
    finally:
        trim_process_caches()
    seconds = (time.perf_counter() - t0) / len(group)
    parts = _split(model, group, options, seconds, fired)
    return "unsplittable" if parts is None else parts


def export_variants(
    members: Sequence[BatchMember],
    variants: Sequence[ExportOptions],
    max_batch: int = 16,
    memory: CrashMemory | None = None,
    stats: BatchStats | None = None,
) -> list[list[ExportOutcome]]:
    """``[export_many(members, v, ...) for v in variants]``, capturing each batch once.

    Export options (opset, ``optimize``) act after capture: a batch is captured once with the first
    capture strategy, as :func:`export_many` does, and the :class:`torch.export.ExportedProgram`
    is exported per variant (:class:`~.exporters.DerivedExports`: decomposition, translation,
    conversion and optimization, each once per distinct input). When the capture or a variant's
    export raises and the exception names one member (see :func:`export_many`), that member is
    exported alone with the variants that failed (the plain call: where crash verdicts come
    from), and the rest is captured again for those variants only; without a name, or when a
    model cannot be split, those variants fall back to :func:`export_many`."""
    if any(v.exporter is not Exporter.DYNAMO for v in variants):
        raise ValueError("export_variants is for the dynamo exporter only")
    stats = stats if stats is not None else BatchStats()
    out: list[list[ExportOutcome | None]] = [[None] * len(members) for _ in variants]
    todo = [k for k in range(len(members)) if memory is None or not memory.suspect(members[k])]
    for k in sorted(set(range(len(members))) - set(todo)):  # known crashers: alone, per variant
        stats.alone_suspect += 1
        for j, o in enumerate(_alone_variants(members[k], variants, memory, stats)):
            out[j][k] = o
    for start in range(0, len(todo), max_batch):
        _variants_group(members, todo[start:start + max_batch], variants, out, memory, stats)
    assert all(o is not None for row in out for o in row)
    return out  # type: ignore[return-value]


def _variants_group(members: Sequence[BatchMember], group: list[int], variants: Sequence[ExportOptions],
                    out: list[list[ExportOutcome | None]], memory: CrashMemory | None, stats: BatchStats) -> None:
    """Fill ``out[j][k]`` for every variant ``j`` and member ``k`` of ``group``: one capture of the
    members still missing a variant per round; a member a failure names leaves the batch (alone,
    for the variants that failed), the others are captured again for those variants, except those
    the crash memory now suspects (a node like the one that crashed alone), which go alone too."""
    pending = {j: list(group) for j in range(len(variants))}  # variant -> members still without its outcome

    def alone(k: int, js: Sequence[int]) -> None:
        for j, o in zip(js, _alone_variants(members[k], [variants[j] for j in js], memory, stats)):
            out[j][k] = o
            pending[j].remove(k)

    def bisect(js: Sequence[int]) -> None:
        """No member named for variants ``js``: each half of the members still missing one of
        them is exported on its own for all of ``js`` (a half of one member: captured once for
        all). Halving per variant instead cost a capture and a decomposition per variant and
        half: for a batch of diagonal_scatter graphs, failing in decomposition at a node only
        decomposition makes, most of a sweep's time."""
        js = [j for j in js if pending[j]]
        ks = [k for k in group if any(k in pending[j] for j in js)]
        if not ks:
            return
        stats.bisections += 1
        sub = [[None] * len(members) for _ in js]
        for half in (ks[:len(ks) // 2], ks[len(ks) // 2:]):
            _variants_group(members, half, [variants[j] for j in js], sub, memory, stats)
        for i, j in enumerate(js):
            for k in list(pending[j]):
                if k in ks:
                    out[j][k] = sub[i][k]
                    pending[j].remove(k)

    while any(pending.values()):
        need = [k for k in group if any(k in ks for ks in pending.values())]
        if memory is not None and len(need) > 1:  # what a lone crash just taught: its kind leaves too
            for k in [k for k in need if memory.suspect(members[k])]:
                stats.alone_suspect += 1
                alone(k, [j for j in pending if k in pending[j]])
            need = [k for k in need if any(k in ks for ks in pending.values())]
            if not need:
                return
        wanted = [j for j in pending if pending[j]]
        if len(need) == 1:
            alone(need[0], [j for j in wanted if need[0] in pending[j]])
            return
        shared = _export_captured([members[k] for k in need], [variants[j] for j in wanted], stats)
        if isinstance(shared, BatchCrash):  # the capture failed: every wanted variant failed with it
            if shared.suspect is None:
                bisect(wanted)
                continue
            k = need[shared.suspect]
            alone(k, [j for j in wanted if k in pending[j]])
            _learn_breaker(members[k], any(out[j][k].stage == "export" for j in wanted), shared.line, memory, stats)
            continue
        named: dict[int, list[tuple[int, int | None]]] = {}  # member -> (variant, line) whose export named it
        callers: dict[int, list[int]] = {}  # member -> variants whose export failed at an operator it calls
        unnamed = []
        for j, parts in zip(wanted, shared):
            if isinstance(parts, list):
                for k, o in zip(need, parts):
                    if k in pending[j]:
                        out[j][k] = o
                        if memory is not None:
                            memory.record(members[k], o)
                pending[j] = []
            elif isinstance(parts, BatchCrash) and parts.suspect is not None and need[parts.suspect] in pending[j]:
                named.setdefault(need[parts.suspect], []).append((j, parts.line))
            elif isinstance(parts, BatchCrash) and any(need[p] in pending[j] for p in parts.callers):
                for p in parts.callers:  # every member calling the failing operator leaves
                    if need[p] in pending[j]:
                        callers.setdefault(need[p], []).append(j)
            else:  # unsplittable, or a failure naming no member still waiting for this variant
                unnamed.append(j)
        for k, where in named.items():  # alone for the variants that named it, the rest captured again
            alone(k, [j for j, _ in where])
            for j, line in where:
                _learn_breaker(members[k], out[j][k].stage == "export", line, memory, stats)
        for k, js in callers.items():
            stats.callers_alone += 1
            alone(k, js)
        bisect(unnamed)


def _learn_breaker(m: BatchMember, crashed: bool, line: int | None, memory: CrashMemory | None, stats: BatchStats) -> None:
    """Count a member a failed batch named: it crashed alone too (``culprits_named``), or it
    exported fine alone, and then its node breaks batches (``CrashMemory.breakers``)."""
    if crashed:
        stats.culprits_named += 1
        return
    stats.culprits_missed += 1
    key = _node_key(m, line)
    if memory is not None and key is not None and key not in memory.breakers:
        memory.breakers.add(key)
        stats.breakers_learned += 1


def _export_captured(group: Sequence[BatchMember], variants: Sequence[ExportOptions], stats: BatchStats) -> list[list[ExportOutcome] | BatchCrash | str] | BatchCrash:
    """Capture the batch once, export it per variant and split each model: per variant the
    members' outcomes, a :class:`BatchCrash` (its export raised) or "unsplittable"; a
    :class:`BatchCrash` for all when the capture raises (see export_variants)."""
    names = [member_input_name(k, n) for k, m in enumerate(group) for n in m.input_names]
    args = tuple(a for m in group for a in m.args)
    sources = [source_name(m) for m in group]
    t0 = time.perf_counter()
    stats.calls += 1
    stats.batched_calls += 1
    program, error = first_capture(BatchModule(group), args)
    capture = time.perf_counter() - t0
    if program is None:
        stats.failed_batches += 1
        crash = _crash_of(error, sources) if error is not None else BatchCrash(None)
        del error
        return crash
    outs: list[list[ExportOutcome] | BatchCrash | str] = []
    derived = DerivedExports(program, args, names)  # one translation per translation opset
    for v in variants:
        t1 = time.perf_counter()
        try:
            with quiet([]), torch.no_grad(), recording() as fired:
                model = derived.model(v)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as e:  # found again from a call with the named graph alone
            stats.failed_batches += 1
            crash = _crash_of(e, sources)
            if crash.suspect is None:  # e.g. a decomposition error names the operator only
                crash = replace(crash, callers=tuple(members_calling(e, derived.programs(), sources)))
            outs.append(crash)
            del e
            continue
        finally:
            trim_process_caches()
        seconds = (capture / len(variants) + time.perf_counter() - t1) / len(group)
        parts = _split(model, group, v, seconds, fired)
        if parts is None:
            stats.split_fallbacks += 1
        outs.append("unsplittable" if parts is None else parts)
    return outs


def _crash_of(e: BaseException, sources: Sequence[str | None]) -> BatchCrash:
    """The member (position) an exception of a batched call names, and the line it points to."""
    named = named_members(e, sources)
    return BatchCrash(named[0], culprit_line(e, sources[named[0]])) if len(named) == 1 else BatchCrash(None)


def batch_dynamic_shapes(group: Sequence[BatchMember]) -> tuple:
    """``dynamic_shapes`` of a :class:`BatchModule` call (its ``*args`` is one nested tuple): each
    member's dimensions as :func:`fuzzer.export.dynamic.dynamic_dims` gives them, with one Dim per
    (member, size)."""
    from .dynamic import MIN_DYNAMIC_SIZE, dynamic_dims

    made: dict[str, object] = {}
    shapes = []
    for k, m in enumerate(group):
        dims = dynamic_dims({n: tuple(a.shape) for n, a in zip(m.input_names, m.args)})
        for n in m.input_names:
            axes = {a: made.setdefault(f"b{k}_{sym}", torch.export.Dim(f"b{k}_{sym}", min=MIN_DYNAMIC_SIZE)) for a, sym in dims.get(n, {}).items()}
            shapes.append(axes or None)
    return (tuple(shapes),)


def _split(model, group: Sequence[BatchMember], options: ExportOptions, seconds: float, fired: Sequence[Fired] = ()) -> list[ExportOutcome] | None:
    """Each member's own model out of a batched one, validated alone; None if it cannot be cut.
    Each member gets the optimizer rewrites that touched its own values (``fired``)."""
    outputs = [o.name for o in model.graph.output]
    if len(outputs) != sum(m.n_outputs for m in group):
        return None
    out: list[ExportOutcome] = []
    j = 0
    try:
        for k, m in enumerate(group):
            rename = {member_input_name(k, n): n for n in m.input_names}
            part = extract_part(model, list(rename), outputs[j:j + m.n_outputs], rename)
            j += m.n_outputs
            rewrites = observed(part, fired, value_names(part) | set(rename))
            o = validate(part.SerializeToString(), options, seconds, (), batched=len(group), rewrites=rewrites)
            if options.dynamic:
                from dataclasses import replace

                from .dynamic import model_dynamic_dims

                declared = model_dynamic_dims(part)
                o = replace(o, dynamic="dynamic" if declared else "static", dynamic_dims=declared)
            out.append(o)
    except SplitError:
        return None
    return out


@contextlib.contextmanager
def first_capture_strategy_only() -> Iterator[None]:
    """Inside the block, ``torch.onnx.export(dynamo=True)`` tries only its first way to capture the
    module (non-strict ``torch.export``), not its fallbacks (see the module doc)."""
    from torch.onnx._internal.exporter import _capture_strategies as cs

    saved = cs.CAPTURE_STRATEGIES
    cs.CAPTURE_STRATEGIES = saved[:1]
    try:
        yield
    finally:
        cs.CAPTURE_STRATEGIES = saved


def source_name(m: BatchMember) -> str | None:
    """The file name of the member's ``forward`` code (unique per generated graph), if it has one."""
    return module_source_name(m.module)


__all__ = [
    "BatchCrash", "BatchMember", "BatchModule", "BatchStats", "CrashMemory", "batch_dynamic_shapes", "export_many", "export_variants", "first_capture_strategy_only",
    "culprit_line", "member_input_name", "named_members", "source_name",
]
