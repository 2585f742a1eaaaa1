"""The amortized dynamo path tests the same thing as the plain public call: real exports.

- with the export caches installed, ``torch.onnx.export(dynamo=True)`` returns the very same
  serialized model as without them;
- each member's part of a batched export equals (names aside: same nodes, attributes,
  initializers, types) the model the plain call exports for that graph alone;
- a failing graph inside a batch is found and attributed to that graph, whatever the failure
  (an export crash is named by the batch's exception and confirmed by exporting the graph alone).
"""

import onnx
import pytest
import torch

from fuzzer.workers import WorkerPool
from fuzzer.case import operator_keys, run_graph, run_graphs_batched
from fuzzer.compare import Verdict
from fuzzer.execute import run_eager, to_torch
from fuzzer.export import ExportOptions, Exporter
from fuzzer.export.batch import BatchMember, BatchStats, CrashMemory, crash_step, export_many
from fuzzer.export.dynamo_cache import cache_stats, caches_installed, dynamo_caches, install_dynamo_caches, uninstall_dynamo_caches
from fuzzer.export.exporters import export, export_dynamo_proto, translation_opset
from fuzzer.export.quiet import quiet
from fuzzer.export.split import canonical_form
from fuzzer.generate import GeneratorOptions, generate, make_inputs, single_op_graph
from fuzzer.ir import Graph, Input, Node, TensorSpec, Value
from fuzzer.materialize import build_module

pytestmark = pytest.mark.e2e
DYN = ExportOptions(Exporter.DYNAMO)
N_GRAPHS = 4  # generated graphs of up to 10 operators that the plain dynamo exporter can export


def _member(graph, seed):
    inputs = make_inputs(graph, seed)
    module = build_module(graph)
    assert run_eager(module, inputs).ok
    return BatchMember(module, tuple(to_torch(inputs)), tuple(i.name for i in graph.inputs), len(graph.outputs), operator_keys(graph))


@pytest.fixture(scope="module")
def plain():
    """(member, plain public call's serialized model) per seed, exported with no cache installed."""
    uninstall_dynamo_caches()
    out = []
    for s in range(40):  # searched, so the test does not depend on one seed's graph
        m = _member(generate(s, GeneratorOptions(max_nodes=10)), s)
        try:
            with torch.no_grad():
                out.append((m, export_dynamo_proto(m.module, m.args, DYN).SerializeToString()))
        except Exception:  # this graph crashes the exporter itself: not usable here
            continue
        if len(out) == N_GRAPHS:
            return out
    raise AssertionError("too few generated graphs export with the dynamo exporter")


def _passes_checker(model: bytes) -> bool:
    try:
        onnx.checker.check_model(onnx.load_model_from_string(model), full_check=True)
        return True
    except Exception:
        return False


def test_cached_setup_exports_byte_identical_models_and_uninstalls_cleanly(plain):
    import torch._export.utils
    import torch._ops
    import torch.export.exported_program
    from torch.onnx._internal.exporter import _decomp, _registration

    def patched():
        return (_registration.ONNXRegistry.__dict__["from_torchlib"], _decomp.create_onnx_friendly_decomposition_table, torch._ops.Callable,
                torch._export.utils._collect_all_valid_cia_ops, torch.export.exported_program._collect_all_valid_cia_ops)

    before, hits = patched(), cache_stats()["cia_ops"]
    with dynamo_caches():
        assert caches_installed()
        for m, expected in plain + plain[:1]:  # the repeat is served from the cache
            with torch.no_grad():
                assert export_dynamo_proto(m.module, m.args, DYN).SerializeToString() == expected
        assert cache_stats()["cia_ops"] - hits >= len(plain)  # the operator list was reused
    assert not caches_installed()
    assert patched() == before


def test_each_part_of_a_batched_export_is_the_plain_export_of_its_graph(plain):
    install_dynamo_caches()
    try:
        stats = BatchStats()
        outs = export_many([m for m, _ in plain], DYN, max_batch=8, stats=stats)
    finally:
        uninstall_dynamo_caches()
    assert stats.calls == 1 and stats.batched_calls == 1
    for (m, expected), out in zip(plain, outs):
        plain_stage = "ok" if _passes_checker(expected) else "checker"
        assert out.stage == plain_stage  # each part is checked on its own
        assert out.batched == len(plain)
        assert canonical_form(onnx.load_model_from_string(out.model)) == canonical_form(onnx.load_model_from_string(expected))


def test_failing_graphs_in_a_batch_are_each_attributed_to_their_own_graph():
    f32, f64 = TensorSpec((3,), "float32"), TensorSpec((3,), "float64")
    graphs = [
        single_op_graph("scaled_dot_product_attention", [TensorSpec((2, 5), "float32")] * 3, {"is_causal": False}),  # export crash
        single_op_graph("add", [TensorSpec((2, 3), "float32"), f32]),  # pass
        single_op_graph("ceil", [TensorSpec((3,), "int64")]),  # checker: Ceil of int64
        single_op_graph("atan", [f64]),  # ONNX Runtime: no float64 Atan kernel
        single_op_graph("amax", [TensorSpec((2, 3), "float16")], {"dim": (0, 1), "keepdim": False}),  # float16 becomes float32
        single_op_graph("mul", [f32, f32]),  # pass
    ]
    expected = [Verdict.EXPORT_CRASH, Verdict.PASS, Verdict.INVALID_MODEL, Verdict.ORT_LOAD_FAILURE, Verdict.SHAPE_OR_DTYPE_MISMATCH, Verdict.PASS]
    cases = [(g, make_inputs(g, 0), k) for k, g in enumerate(graphs)]
    memory, stats = CrashMemory(), BatchStats()
    with dynamo_caches():
        rs = run_graphs_batched(cases, DYN, memory=memory, stats=stats)
        assert [r.verdict for r in rs] == expected
        assert [r.seed for r in rs] == list(range(6))
        assert "export_batch" not in rs[0].options  # the crash is recorded from a call holding it alone
        assert all(r.options["export_batch"] >= 2 for r in rs[1:])  # everything else was exported batched
        assert "Ceil" in rs[2].error_head and "NOT_IMPLEMENTED" in rs[3].error_head and rs[4].worst.index == 0
        assert stats.failed_batches == 1 and stats.culprits_named == 1  # the crash's exception names its graph...
        assert stats.calls == 3  # ... so: the failed batch, the culprit alone, the other five batched
        # the verdicts are those of the plain one-graph path
        for (g, ins, _), r in zip(cases[1:], rs[1:]):
            assert run_graph(g, ins, [DYN])[0].verdict is r.verdict
        # the crash is remembered: next time the suspect graph is exported alone up front
        stats2 = BatchStats()
        again = run_graphs_batched(cases, DYN, memory=memory, stats=stats2)
    assert [r.verdict for r in again] == expected
    assert stats2.alone_suspect == 1 and stats2.failed_batches == 0


def test_an_export_crash_is_remembered_by_the_node_its_exception_points_to():
    """The crash memory learns the operator that crashed, not every operator of its graph: a later
    graph that shares only the innocent relu is still batched."""
    s = TensorSpec((2, 5), "float32")
    crashing = Graph(
        inputs=(Input("x0", s), Input("x1", s), Input("x2", s)),
        nodes=(Node("relu", ("x0",), (Value("v0", s),)),
               Node("scaled_dot_product_attention", ("v0", "x1", "x2"), (Value("v1", s),), {"is_causal": False})),
        outputs=("v1",),
    )
    innocent = Graph(inputs=(Input("x0", s),), nodes=(Node("relu", ("x0",), (Value("v0", s),)),), outputs=("v0",))
    memory, stats = CrashMemory(), BatchStats()
    with dynamo_caches():
        (out,) = export_many([_member(crashing, 0)], DYN, memory=memory)
        assert out.stage == "export" and out.culprit_line is not None
        assert memory.crashed == {"scaled_dot_product_attention(float32/2,float32/2,float32/2)"}
        outs = export_many([_member(innocent, 1), _member(innocent, 2)], DYN, memory=memory, stats=stats)
    assert [o.stage for o in outs] == ["ok", "ok"] and stats.alone_suspect == 0 and stats.batched_calls == 1


def test_worker_answers_a_seeds_request_with_one_result_per_seed_in_order():
    from fuzzer.workers.protocol import RunSeeds

    def request(seeds):
        return RunSeeds(tuple(seeds), ExportOptions(Exporter.TORCHSCRIPT), GeneratorOptions(max_nodes=4), "normal")

    with WorkerPool(1, case_timeout=120) as pool:
        batch = pool.call(request([4, 2, 3]))
        singles = [pool.call(request([s])) for s in (4, 2, 3)]
    assert batch.kind == "ok" and [e.result.seed for e in batch.reply.cases] == [4, 2, 3]
    for e, single in zip(batch.reply.cases, singles):
        assert _untimed(e.result.to_dict()) == _untimed(single.reply.cases[0].result.to_dict())


def _untimed(d):
    """A result record without what differs run to run: measured times, and the full error text
    (TorchScript embeds an IR dump whose value names depend on earlier traces in the process;
    the error type and first line are still compared)."""
    if isinstance(d, dict):
        return {k: _untimed(v) for k, v in d.items() if k not in ("timings", "seconds", "error_message")}
    if isinstance(d, list):
        return [_untimed(x) for x in d]
    return d


def test_variants_derived_from_one_translation_are_the_plain_calls_models(plain):
    """The sweep's five dynamo variants (default opset with the optimizer on and off, opsets 17, 18
    and 23) come from one capture and three translations (fuzzer.export.exporters.DerivedExports);
    each member's part equals the plain public call with that variant's options."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    assert {(v.opset, v.optimize) for v in variants} >= {(DEFAULT_OPSET, True), (DEFAULT_OPSET, False), (17, True), (18, True), (23, True)}
    members = [m for m, _ in plain]
    stats = BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, stats=stats)
    assert stats.batched_calls == 1 and stats.failed_batches == 0
    for v, outs in zip(variants, per_variant):
        for m, out in zip(members, outs):
            with torch.no_grad():
                expected = export_dynamo_proto(m.module, m.args, v)
            assert canonical_form(onnx.load_model_from_string(out.model)) == canonical_form(expected), (v, m.input_names)


def test_one_decomposition_serves_opsets_18_20_and_23_unless_the_program_calls_rms_norm(plain):
    """Opset 23's registry implements one operator more than 18's and 20's (``rms_norm``): a
    program that does not call it is decomposed once for the three, one that does twice, and
    every model still equals the plain public call's."""
    from fuzzer.export.exporters import DerivedExports, first_capture
    from fuzzer.sweep.plan import SweepConfig, enumerate_jobs

    job = next(enumerate_jobs(SweepConfig(ops=("rms_norm",), dtypes=("float32",), exporters=(Exporter.DYNAMO,))))
    rms = _member(job.graph, job.seed)
    for m, decompositions in ((plain[0][0], 1), (rms, 2)):
        program, _ = first_capture(m.module, m.args)
        derived = DerivedExports(program, m.args, m.input_names)
        for opset in (18, 20, 23):
            v = ExportOptions(Exporter.DYNAMO, opset, True)
            with quiet([]), torch.no_grad():
                expected = export_dynamo_proto(m.module, m.args, v)
                got = derived.model(v)
            assert canonical_form(got) == canonical_form(expected), (opset, job.key if m is rms else m.input_names)
        assert derived.decompositions == decompositions, job.key if m is rms else "generated graph"


def test_a_crashing_member_leaves_the_shared_capture_and_the_rest_is_captured_once_more(plain):
    """A member that crashes the exporter is named by the exception of the batch's capture or
    variant export, exported alone for the variants that failed (the plain call, where a crash
    verdict comes from), and the others are captured once more for those variants: two batched
    calls, not a fall back per variant. Alone, it is exported once per translation opset: the
    crash is in translation (step 3/3), so the variants sharing one (optimize on and off; opsets
    17 and 18) share the outcome, which equals the plain call's. Every other part still equals
    the plain call's model."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    crashing = _member(single_op_graph("scaled_dot_product_attention", [TensorSpec((2, 5), "float32")] * 3, {"is_causal": False}), 0)
    members = [plain[0][0], crashing, plain[1][0]]
    stats = BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, stats=stats)
    # each variant's export of the batch named it; then it alone (one capture), the rest captured again
    assert stats.culprits_named == len(variants) and stats.batched_calls == 2, stats
    assert stats.calls == 3 and stats.alone_derived == 1, stats
    for v, outs in zip(variants, per_variant):
        assert outs[1].stage == "export" and outs[1].batched == 1 and outs[1].options == v
        assert crash_step(outs[1]) == "translation"
        lone = export(crashing.module, crashing.args, crashing.input_names, v)  # the plain call, alone
        assert (lone.stage, lone.error_type, lone.error_message) == (outs[1].stage, outs[1].error_type, outs[1].error_message), v
        for k in (0, 2):
            assert outs[k].model is not None and outs[k].batched == 2  # exported (the checker may still refuse it)
            with torch.no_grad():
                expected = export_dynamo_proto(members[k].module, members[k].args, v)
            assert canonical_form(onnx.load_model_from_string(outs[k].model)) == canonical_form(expected), (v, k)


def test_a_member_like_one_that_just_crashed_alone_leaves_the_batch_before_it_is_captured_again(plain):
    """Two graphs with the same crashing operator, inputs and dtypes in one batch: once the first
    has crashed alone, the crash memory suspects the second, which is exported alone as well
    instead of breaking the next capture of the rest (two batched calls, not three); every
    outcome is still the plain call's."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    # two graphs (a batch's exception must tell them apart by their source) with the same node key
    sdpa = [single_op_graph("scaled_dot_product_attention", [TensorSpec((2, 5), "float32")] * 3, {"is_causal": c}) for c in (False, True)]
    members = [plain[0][0], _member(sdpa[0], 0), _member(sdpa[1], 1), plain[1][0]]
    assert members[1].keys == members[2].keys
    memory, stats = CrashMemory(), BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, memory=memory, stats=stats)
    assert stats.batched_calls == 2 and stats.alone_suspect == 1, stats
    for v, outs in zip(variants, per_variant):
        for k in (1, 2):
            lone = export(members[k].module, members[k].args, members[k].input_names, v)
            assert outs[k].stage == "export" and outs[k].batched == 1
            assert (lone.error_type, lone.error_message) == (outs[k].error_type, outs[k].error_message), (v, k)
        for k in (0, 3):
            assert outs[k].model is not None and outs[k].batched == 2


def test_a_graph_exported_alone_for_several_variants_gets_each_plain_calls_outcome(plain):
    """Graphs the crash memory suspects are exported alone: captured once, then decomposed and
    translated once per distinct input (DerivedExports). Every outcome equals the plain public
    call's with that variant's options: a model that exports fine (same nodes and attributes), a
    decomposition crash (step 2/3) and a translation crash (step 3/3), with the same error type
    and message."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    fine = plain[2][0]
    decomposition = _member(single_op_graph("diagonal_scatter.s2", [TensorSpec((5, 3), "float16"), TensorSpec((3,), "float16")], {}), 0)
    translation = _member(single_op_graph("scaled_dot_product_attention", [TensorSpec((2, 5), "float32")] * 3, {"is_causal": False}), 0)
    members = [fine, decomposition, translation]
    memory, stats = CrashMemory(crashed={key for m in members for key in m.keys}), BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, memory=memory, stats=stats)
    assert stats.alone_suspect == 3 and stats.alone_derived == 3 and stats.calls == 3 and stats.batched_calls == 0, stats
    for v, outs in zip(variants, per_variant):
        with quiet([]), torch.no_grad():
            expected = export_dynamo_proto(fine.module, fine.args, v)
        assert outs[0].model is not None and canonical_form(onnx.load_model_from_string(outs[0].model)) == canonical_form(expected), v
        for k, step in ((1, "decomposition"), (2, "translation")):
            lone = export(members[k].module, members[k].args, members[k].input_names, v)
            assert crash_step(lone) == step and crash_step(outs[k]) == step, (v, k)
            assert (lone.stage, lone.error_type, lone.error_message) == (outs[k].stage, outs[k].error_type, outs[k].error_message), (v, k)
            assert outs[k].options == v and outs[k].batched == 1
    assert not memory.suspect(fine) and memory.suspect(decomposition) and memory.suspect(translation)


def test_members_calling_the_operator_a_decomposition_error_names_leave_the_batch(plain):
    """bucketize of a rank-0 input fails in decomposition (step 2/3) with an error that names the
    operator but no member. The members whose captured nodes call it leave the batch (alone), and
    the rest is captured once more: no halving, no batched call per variant. Every outcome is the
    plain call's (the rank-1 bucketize without the optimizer also checks that optimizing another
    variant leaves the shared translation as it was: the optimizer once renamed a Constant's
    tensor in it)."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    bucketize = [_member(single_op_graph("bucketize", [TensorSpec(shape, dtype), TensorSpec((5,), dtype)], {"out_int32": True, "right": False}), 0)
                 for shape, dtype in (((), "int32"), ((5,), "int32"), ((), "int16"))]
    members = [plain[0][0], bucketize[0], bucketize[1], plain[1][0], bucketize[2]]
    stats = BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, stats=stats)
    assert stats.callers_alone == 3 and stats.batched_calls == 2 and stats.calls == 2 + 3, stats
    for v, outs in zip(variants, per_variant):
        _assert_plain_outcomes(members, v, outs)
        assert crash_step(outs[1]) == crash_step(outs[4]) == "decomposition" and outs[2].stage != "export"


def test_members_calling_an_operator_only_decomposition_makes_leave_the_batch(plain):
    """fmax decomposes to prims.fmax, which torchlib lacks: translation (step 3/3) fails naming
    that node and no member, and no captured node calls it. The decomposed program's node keeps
    the stack trace of the node it came from, so the fmax member leaves the batch (a sweep of fmax
    halved every batch before: 0.70 jobs/s in one process, 5.98 after). Every outcome is the plain
    call's."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    fmax = [_member(single_op_graph("fmax", [TensorSpec((3,), dtype), TensorSpec((3,), dtype)]), 0) for dtype in ("float32", "float64")]
    members = [plain[0][0], fmax[0], plain[1][0], fmax[1]]  # two fmax members: the error's stack names both, so neither
    stats = BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, stats=stats)
    assert stats.callers_alone == 2 and stats.batched_calls == 2 and stats.calls == 2 + 2, stats
    for v, outs in zip(variants, per_variant):
        _assert_plain_outcomes(members, v, outs)
        assert crash_step(outs[1]) == crash_step(outs[3]) == "translation" and outs[0].stage != "export" and outs[2].stage != "export"


def test_a_failure_naming_no_member_splits_the_batch_in_halves_for_all_its_variants(plain):
    """diagonal_scatter of float16 fails in decomposition (step 2/3) at prims.copy_to, a node only
    decomposition makes, and the decomposition failed: nothing names a member or a caller. Each
    half of the batch is then exported on its own for every variant that failed (a lone member is
    captured once for all of them), instead of halving per variant. Every outcome is the plain
    call's."""
    from fuzzer.export.batch import export_variants
    from fuzzer.sweep.plan import DEFAULT_OPSET, DYNAMO_OPSETS

    from fuzzer.compare.differential import variant_set

    _, variants = variant_set(Exporter.DYNAMO, DYNAMO_OPSETS, DEFAULT_OPSET)
    scatter = [_member(single_op_graph("diagonal_scatter.s2", [TensorSpec(shape, "float16"), TensorSpec((3,), "float16")], {}), 0)
               for shape in ((5, 3), (3, 4))]
    members = [scatter[0], plain[0][0], scatter[1], plain[1][0]]
    stats = BatchStats()
    per_variant = export_variants(members, variants, max_batch=8, stats=stats)
    assert stats.bisections >= 1 and stats.calls <= 8, stats  # halving per variant: a capture per variant and half
    for v, outs in zip(variants, per_variant):
        _assert_plain_outcomes(members, v, outs)
        assert crash_step(outs[0]) == crash_step(outs[2]) == "decomposition" and outs[1].stage != "export" and outs[3].stage != "export"


def _assert_plain_outcomes(members, v, outs) -> None:
    """Each member's batched outcome for variant ``v`` is the plain public call's: the same stage,
    the same error, or the same model (canonical form: a checker error's text names nodes, whose
    names differ in a batch)."""
    for k, m in enumerate(members):
        lone = export(m.module, m.args, m.input_names, v)
        assert outs[k].stage == lone.stage, (v, k)
        if lone.model is None:
            assert (outs[k].error_type, outs[k].error_message) == (lone.error_type, lone.error_message), (v, k)
        else:
            assert canonical_form(onnx.load_model_from_string(outs[k].model)) == canonical_form(onnx.load_model_from_string(lone.model)), (v, k)
