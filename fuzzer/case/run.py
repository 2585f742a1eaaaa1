"""One case end to end: materialize -> eager -> export -> check -> ONNX Runtime -> compare.

:func:`run_graph` runs a graph through one or more exporters, sharing the module and the eager
run between them, and returns one :class:`CaseResult` per exporter. Failures of the stack under
test become verdicts; an exception escaping from here is our own bug.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from fuzzer.compare import STAGE_VERDICTS, Verdict, compare_outputs, mismatch_head, verdict_of_diffs
from fuzzer.compare.ambiguity import Ambiguity, explain_mismatches
from fuzzer.compare.blame import Blame, OracleRun, attribute_blame
from fuzzer.compare.tolerance import output_tolerances
from fuzzer.execute import RunOutcome, run_eager, run_onnxruntime, to_torch
from fuzzer.execute.reference import declared_dtype_mismatch
from fuzzer.execute.oracles import OracleConfig, run_oracles
from fuzzer.execute.trace import eager_values
from fuzzer.export import ExportOptions, ExportOutcome, export
from fuzzer.export.batch import BatchMember, BatchStats, CrashMemory, export_many
from fuzzer.ir import Graph
from fuzzer.materialize import build_module
from fuzzer.versions import stack_versions

from .result import CaseResult, error_head, graph_digest, inputs_digest, output_digest

def run_graph(
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
    exports: Sequence[ExportOptions],
    *,
    seed: int | None = None,
    input_mode: str = "normal",
    options: Mapping[str, Any] | None = None,
    oracles: OracleConfig | None = None,
    cross_exporter: bool = True,
) -> list[CaseResult]:
    """Run ``graph`` on ``inputs`` through each export configuration.

    ``oracles`` (default :class:`OracleConfig`: extra oracles only for failing cases) decides when
    ORT-unoptimized and the ONNX reference run for blame attribution. With ``cross_exporter`` and
    two or more exports, each result's ``cross`` compares it with the first other export's."""
    oracles = oracles if oracles is not None else OracleConfig()
    common = dict(
        seed=seed, input_mode=input_mode, n_nodes=len(graph), ops=tuple(graph.ops()), options=dict(options or {}), versions=stack_versions(),
        graph_digest=graph_digest(graph), inputs_digest=inputs_digest(inputs),
    )
    t0 = time.perf_counter()
    module = build_module(graph)
    t_mat = time.perf_counter() - t0
    eager = run_eager(module, inputs)
    results = []
    for ex in exports:
        timings = {"materialize": t_mat, "eager": eager.seconds_run}
        base = dict(common, exporter=ex.exporter.value, opset_requested=ex.opset)
        if not eager.ok:
            results.append(CaseResult(opset=None, verdict=Verdict.EAGER_ERROR, error_type=eager.error_type, error_head=error_head(eager.error_message), error_message=eager.error_message, timings=timings, **base))
            continue
        results.append(_run_export(module, graph, inputs, ex, eager, timings, base, oracles))
    if cross_exporter and len(results) >= 2:
        from .cross import cross_exporter as _cross

        results = [replace(r, cross=_cross(r, results[1] if k == 0 else results[0])) for k, r in enumerate(results)]
    return results


def _oracle_run(r: RunOutcome) -> OracleRun:
    return OracleRun(r.stage, r.outputs, r.error_type, r.error_message, r.seconds_load + r.seconds_run)


def _blame(model: bytes, graph: Graph, inputs, eager: RunOutcome, run: RunOutcome, config: OracleConfig, tolerances, timings: dict,
           module=None, exporter: str | None = None, options: ExportOptions | None = None) -> Blame:
    """The extra oracles' verdict on a failing case. For a dynamo mismatch (ORT ran) with
    ``module`` given, one more export with ONNX Script's optimizer off gives the decomposed
    program the exporter translates and, when ``options`` (the primary export's, optimized) are
    given, that unoptimized model run in ONNX Runtime (:func:`fuzzer.execute.decomposed.run_unoptimized`)."""
    t0 = time.perf_counter()
    extra = run_oracles(model, inputs, [i.name for i in graph.inputs], config)
    if config.decomposed and module is not None and exporter == "dynamo" and run.ok:
        from fuzzer.execute.decomposed import run_unoptimized

        compare_unoptimized = options is not None and options.optimize and not options.dynamic
        extra |= run_unoptimized(module, inputs, [i.name for i in graph.inputs] if compare_unoptimized else None,
                                 options.opset if compare_unoptimized else None, key=ready_digest(graph, inputs))
    timings["oracles"] = time.perf_counter() - t0
    return attribute_blame(eager.outputs, _oracle_run(run), {k: _oracle_run(v) for k, v in extra.items()}, tolerances)


def run_graphs_batched(
    cases: Sequence[tuple[Graph, Mapping[str, np.ndarray], int | None]],
    ex: ExportOptions,
    *,
    input_mode: str = "normal",
    options: Mapping[str, Any] | None = None,
    max_batch: int = 16,
    memory: CrashMemory | None = None,
    stats: BatchStats | None = None,
    oracles: OracleConfig | None = None,
) -> list[CaseResult]:
    """``[run_graph(g, inputs, [ex], seed=seed, ...)[0] for g, inputs, seed in cases]``, with the
    dynamo exports of several graphs made in one call (:func:`fuzzer.export.batch.export_many`).

    Each result is about its own graph only: eager, checker, ONNX Runtime and comparison run per
    graph on that graph's own model; an export crash is always from a call exporting that graph
    alone. ``options["export_batch"]`` records how many graphs shared the export call (absent
    when 1); ``timings["export"]`` is the call's time divided by that number.
    """
    oracles = oracles if oracles is not None else OracleConfig()
    results: list[CaseResult | None] = [None] * len(cases)
    pending = []  # (index, module, eager, timings, base)
    for k, (graph, inputs, seed) in enumerate(cases):
        base, module, eager, timings = _prepare(graph, inputs, seed, input_mode, options)
        base.update(exporter=ex.exporter.value, opset_requested=ex.opset)
        if not eager.ok:
            results[k] = _eager_error(eager, timings, base)
            continue
        pending.append((k, module, eager, timings, base))
    members = [
        BatchMember(module, tuple(to_torch(cases[k][1])), tuple(i.name for i in cases[k][0].inputs), len(cases[k][0].outputs), operator_keys(cases[k][0]))
        for k, module, _, _, _ in pending
    ]
    outs = export_many(members, ex, max_batch=max_batch, memory=memory, stats=stats) if members else []
    for (k, module, eager, timings, base), out in zip(pending, outs):
        if out.batched > 1:
            base = dict(base, options={**base["options"], "export_batch": out.batched})
        graph, inputs, _ = cases[k]
        results[k] = _finish(module, graph, inputs, eager, timings, base, out, oracles)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def run_graphs_variants(
    cases: Sequence[tuple[Graph, Mapping[str, np.ndarray], int | None]],
    exports: Sequence[ExportOptions],
    *,
    input_mode: str = "normal",
    max_batch: int = 16,
    memory: CrashMemory | None = None,
    stats: BatchStats | None = None,
    oracles: OracleConfig | None = None,
    input_modes: Sequence[str] | None = None,
) -> list[list[CaseResult]]:
    """``[[run_graph(g, x, [ex], seed=s)[0] for ex in exports] for g, x, s in cases]``: each graph
    is materialized and run in eager once; the dynamo exports of all graphs and all dynamo variants
    share one capture per batch (:func:`fuzzer.export.batch.export_variants`), a dynamic variant's are
    batched on their own (:func:`fuzzer.export.batch.export_many`); TorchScript exports
    are made one by one. Each result is about its own graph and export only. ``input_modes``: each
    case's input mode (default: ``input_mode`` for all).

    Cases of one graph with inputs of the same shapes and dtypes (a sweep's two input modes) share
    their dynamo exports: capture runs on fake tensors, so the exported model does not depend on
    input values (``tests/e2e/test_sweep.py`` checks the models are the same)."""
    from fuzzer.export import Exporter
    from fuzzer.export.batch import export_variants

    oracles = oracles if oracles is not None else OracleConfig()
    table: list[list[CaseResult | None]] = [[None] * len(exports) for _ in cases]
    ready = []  # (case index, module, eager, timings, base) of graphs eager accepts
    for k, (graph, inputs, seed) in enumerate(cases):
        base, module, eager, timings = _prepare(graph, inputs, seed, input_modes[k] if input_modes else input_mode, None)
        if not eager.ok:
            for j, ex in enumerate(exports):
                table[k][j] = _eager_error(eager, dict(timings), dict(base, exporter=ex.exporter.value, opset_requested=ex.opset))
            continue
        ready.append((k, module, eager, timings, base))
    dyn = [j for j, ex in enumerate(exports) if ex.exporter is Exporter.DYNAMO and not ex.dynamic]
    dynamic = [j for j, ex in enumerate(exports) if ex.exporter is Exporter.DYNAMO and ex.dynamic]  # a capture of their own
    outcomes: dict[tuple[int, int], ExportOutcome] = {}
    if (dyn or dynamic) and ready:
        firsts: dict[tuple, int] = {}  # (graph, input specs) -> position in ``unique`` of its first case
        unique, where = [], []
        for k, *_ in ready:
            same = ready_digest(cases[k][0], cases[k][1])
            if same not in firsts:
                firsts[same] = len(unique)
                unique.append(k)
            where.append(firsts[same])
        by_case = {k: module for k, module, *_ in ready}
        members = [BatchMember(by_case[k], tuple(to_torch(cases[k][1])), tuple(i.name for i in cases[k][0].inputs), len(cases[k][0].outputs),
                               operator_keys(cases[k][0])) for k in unique]
        per_variant = export_variants(members, [exports[j] for j in dyn], max_batch=max_batch, memory=memory, stats=stats) if dyn else []
        per_variant += [export_many(members, exports[j], max_batch=max_batch, memory=memory, stats=stats) for j in dynamic]
        for j, outs in zip(dyn + dynamic, per_variant):
            for (k, *_), u in zip(ready, where):
                outcomes[(k, j)] = outs[u]
    for k, module, eager, timings, base in ready:
        graph, inputs, _ = cases[k]
        for j, ex in enumerate(exports):
            out = outcomes.get((k, j))
            if out is None:  # TorchScript: one export per case
                out = export(module, to_torch(inputs), [i.name for i in graph.inputs], ex)
            b = dict(base, exporter=ex.exporter.value, opset_requested=ex.opset)
            if out.batched > 1:
                b["options"] = {"export_batch": out.batched}
            table[k][j] = _finish(module, graph, inputs, eager, dict(timings), b, out, oracles)
    assert all(r is not None for row in table for r in row)
    return table  # type: ignore[return-value]


def ready_digest(graph: Graph, inputs: Mapping[str, np.ndarray]) -> tuple:
    """What a dynamo export of ``graph`` depends on: the graph and its inputs' shapes and dtypes
    (not their values)."""
    return (graph_digest(graph), tuple((k, v.shape, str(v.dtype)) for k, v in sorted(inputs.items())))


def _prepare(graph: Graph, inputs, seed, input_mode: str, options) -> tuple[dict, Any, RunOutcome, dict]:
    """A case's common record fields, its module, and its eager run (with their timings)."""
    base = dict(seed=seed, input_mode=input_mode, n_nodes=len(graph), ops=tuple(graph.ops()), options=dict(options or {}),
                versions=stack_versions(), graph_digest=graph_digest(graph), inputs_digest=inputs_digest(inputs))
    t0 = time.perf_counter()
    module = build_module(graph)
    timings = {"materialize": time.perf_counter() - t0}
    eager = run_eager(module, inputs)
    timings["eager"] = eager.seconds_run
    return base, module, eager, timings


def _eager_error(eager: RunOutcome, timings: dict, base: dict) -> CaseResult:
    return CaseResult(opset=None, verdict=Verdict.EAGER_ERROR, error_type=eager.error_type, error_head=error_head(eager.error_message),
                      error_message=eager.error_message, timings=timings, **base)


def operator_keys(graph: Graph) -> tuple[str, ...]:
    """One key per node, in node order: operator and its inputs' dtypes and ranks (the crash-memory
    hint's unit)."""
    specs = graph.specs()
    return tuple(f"{n.op}({','.join(f'{specs[i].dtype}/{specs[i].rank}' for i in n.inputs)})" for n in graph.nodes)


def _run_export(module, graph: Graph, inputs, ex: ExportOptions, eager: RunOutcome, timings: dict, base: dict, oracles: OracleConfig) -> CaseResult:
    out: ExportOutcome = export(module, to_torch(inputs), [i.name for i in graph.inputs], ex)
    return _finish(module, graph, inputs, eager, timings, base, out, oracles)


def _finish(module, graph: Graph, inputs, eager: RunOutcome, timings: dict, base: dict, out: ExportOutcome, oracles: OracleConfig) -> CaseResult:
    """The case from its export outcome on: checker verdict, ONNX Runtime, comparison, oracles;
    with a dynamic export, then the other input sizes (:func:`_other_sizes`)."""
    r = _finish_traced(module, graph, inputs, eager, timings, base, out, oracles)
    if not out.options.dynamic:
        return r
    return _other_sizes(module, graph, inputs, r, out, oracles)


def _finish_traced(module, graph: Graph, inputs, eager: RunOutcome, timings: dict, base: dict, out: ExportOutcome, oracles: OracleConfig) -> CaseResult:
    """The case at the traced size (the inputs given)."""
    timings["export"] = out.seconds
    base = dict(base, opset=out.opset, warnings=out.warnings, model=out.model, rewrites=out.rewrites)
    if out.stage in ("export", "checker"):
        return CaseResult(verdict=STAGE_VERDICTS[out.stage], error_type=out.error_type, error_head=error_head(out.error_message), error_message=out.error_message, timings=timings, **base)
    assert out.model is not None
    run = run_onnxruntime(out.model, inputs, [i.name for i in graph.inputs], observe_rewrites=True)
    timings["ort_load"] = run.seconds_load
    timings["ort_run"] = run.seconds_run
    if run.seconds_observe:
        timings["rewrites"] = run.seconds_observe
    base["rewrites"] = tuple(sorted(set(out.rewrites) | set(run.rewrites)))
    tolerances = tuple(output_tolerances(graph))
    if run.stage in ("load", "run"):
        declared = declared_dtype_mismatch(out.model, eager.outputs)
        if declared is not None:  # the model declares another type than eager gives: the exporter's, whatever ORT says
            base = dict(base, options={**base["options"], "declared_dtypes": declared})
        blame = _blame(out.model, graph, inputs, eager, run, oracles, tolerances, timings) if oracles.wanted(True) else None
        return CaseResult(verdict=STAGE_VERDICTS[run.stage], error_type=run.error_type, error_head=error_head(run.error_message), error_message=run.error_message, timings=timings, blame=blame, **base)
    t0 = time.perf_counter()
    diffs = tuple(compare_outputs(eager.outputs, run.outputs, tolerances))
    ambiguities: tuple[Ambiguity, ...] = ()
    verdict = verdict_of_diffs(diffs)
    if verdict is Verdict.NUMERIC_MISMATCH:  # ties explain it? (needs eager's intermediate values)
        found, unexplained = explain_mismatches(graph, eager_values(graph, module, inputs), run.outputs, diffs)
        if found and not unexplained:
            verdict, ambiguities = verdict_of_diffs(diffs, ambiguous=True), tuple(found)
    timings["compare"] = time.perf_counter() - t0
    base = dict(base, outputs=run.outputs, output_digests=tuple(output_digest(o) for o in run.outputs), tolerances=tolerances, ambiguities=ambiguities)
    blame = _blame(out.model, graph, inputs, eager, run, oracles, tolerances, timings, module, base.get("exporter"), out.options) if oracles.wanted(verdict.is_failure) else None
    head = mismatch_head(diffs)
    if verdict is Verdict.AMBIGUOUS:
        head = "ambiguous: " + "; ".join(f"output {a.output}: {a.kind} at {a.op} (node {a.node})" for a in ambiguities)
    return CaseResult(verdict=verdict, error_head=head, diffs=diffs, timings=timings, blame=blame, **base)


def _other_sizes(module, graph: Graph, inputs, r: CaseResult, out: ExportOutcome, oracles: OracleConfig) -> CaseResult:
    """A dynamic export's case: the traced-size result ``r`` annotated with what the dynamic export
    did (``options["dynamic"]``, ``options["export"]``) and, when it passed with a model that
    declares dynamic dimensions, the model run at other sizes (:mod:`fuzzer.generate.resize`)
    against eager at those sizes. A size eager PyTorch rejects (the graph fixes it) is skipped
    ("eager_error"), and so is a failure that a static export made at that size shares
    ("static_too": an ordinary bug met on other inputs, not a size bug). The first size left that
    fails gives the case its verdict (the usual verdicts; ``options["dynamic"]["failed"]`` = "run"
    makes it a bug of its own, see :func:`fuzzer.triage.signature.signature_of`). A dynamic export
    that crashed where the static one did not is ``failed`` = "export"."""
    from fuzzer.export.dynamic import changeable_sizes
    from fuzzer.generate.resize import RULES, resized_inputs, size_map

    info: dict[str, Any] = {"export": out.dynamic, "dims": {n: sorted(a) for n, a in out.dynamic_dims.items()}, "sizes": []}
    options = dict(r.options, export=out.options.to_dict(), dynamic=info)
    if out.dynamic == "crash" and r.verdict is Verdict.EXPORT_CRASH:
        info["failed"] = "export"
    if r.verdict is not Verdict.PASS or out.dynamic != "dynamic" or out.model is None:
        return replace(r, options=options)
    sizes = changeable_sizes({i.name: i.spec.shape for i in graph.inputs}, out.dynamic_dims)
    seed = r.seed if r.seed is not None else int(graph.meta.get("seed") or 0)
    tolerances = tuple(output_tolerances(graph))
    timings = dict(r.timings)
    t0 = time.perf_counter()
    for rule in RULES if sizes else ():
        mapping = size_map(rule, sizes)
        g2, x2 = resized_inputs(graph, seed, r.input_mode, mapping)
        entry: dict[str, Any] = {"rule": rule, "map": {str(k): v for k, v in mapping.items()}, "shapes": {n: list(a.shape) for n, a in x2.items()}}
        info["sizes"].append(entry)
        eager2 = run_eager(module, x2)
        if not eager2.ok:  # the graph fixes this size: not applicable
            entry["verdict"] = "eager_error"
            continue
        failure = _run_at(module, g2, x2, eager2, out.model, tolerances)
        entry["verdict"] = failure[0].value if failure else "pass"
        if failure is None or failure[0] is Verdict.AMBIGUOUS:
            continue
        static = export(module, to_torch(x2), [i.name for i in g2.inputs], out.options.static())
        again = _run_at(module, g2, x2, eager2, static.model, tolerances) if static.ok and static.model is not None else None
        if not static.ok or (again is not None and again[0] is not Verdict.AMBIGUOUS):
            entry["static_too"] = True  # the static export fails at this size as well: not a size bug
            continue
        verdict, run, diffs, ambiguities = failure
        info["failed"] = "run"
        blame = _blame(out.model, g2, x2, eager2, run, oracles, tolerances, timings, module, r.exporter) if oracles.wanted(True) else None
        timings["other_sizes"] = time.perf_counter() - t0
        if diffs is None:  # ONNX Runtime raised
            return replace(r, verdict=verdict, error_type=run.error_type, error_head=error_head(f"at other input sizes ({rule}): {error_head(run.error_message)}"),
                           error_message=run.error_message, options=options, timings=timings, blame=blame)
        return replace(r, verdict=verdict, error_head=f"at other input sizes ({rule}): {mismatch_head(diffs)}", diffs=diffs, options=options,
                       outputs=run.outputs, output_digests=tuple(output_digest(o) for o in run.outputs), ambiguities=ambiguities,
                       timings=timings, blame=blame)
    timings["other_sizes"] = time.perf_counter() - t0
    return replace(r, options=options, timings=timings)


def _run_at(module, graph: Graph, inputs, eager: RunOutcome, model: bytes, tolerances) -> tuple | None:
    """Run ``model`` on ``inputs`` against ``eager``'s outputs: None when it passes, else
    (verdict, ORT run, diffs or None when ORT raised, ambiguities)."""
    from fuzzer.generate import reinfer

    run = run_onnxruntime(model, inputs, [i.name for i in graph.inputs])
    if run.stage in ("load", "run"):
        return STAGE_VERDICTS[run.stage], run, None, ()
    diffs = tuple(compare_outputs(eager.outputs, run.outputs, tolerances))
    verdict = verdict_of_diffs(diffs)
    ambiguities: tuple[Ambiguity, ...] = ()
    if verdict is Verdict.NUMERIC_MISMATCH:  # ties? (needs exact specs at this size)
        exact = reinfer(graph, dict(inputs)) or graph
        found, unexplained = explain_mismatches(exact, eager_values(exact, module, inputs), run.outputs, diffs)
        if found and not unexplained:
            verdict, ambiguities = verdict_of_diffs(diffs, ambiguous=True), tuple(found)
    return None if not verdict.is_failure and verdict is not Verdict.AMBIGUOUS else (verdict, run, diffs, ambiguities)
