"""Which failing pairs of a pair sweep are *interactions*.

A failing pair job variant (producer -> consumer, one export variant) is an **interaction** when
each of its two operators passes alone on the values it actually receives in that case (the
definition of :mod:`fuzzer.minimize.interaction`): the producer alone on the pair's inputs, and the
consumer alone fed the producer's eager output as a graph input, both exported and run with the
same export variant. Otherwise the failure belongs to one operator (``producer``, ``consumer``,
``both``). Each isolated operator runs as a sweep job on the same engine (worker pool, batching,
crash isolation), from an ``.npz`` of its exact inputs kept under ``interactions/inputs``. A
producer graph's verdict that no input value can change (:data:`STATIC`: export crash, invalid
model, ORT load failure) is run once and reused for the other pairs it feeds.

False interactions from tolerance amplification (a producer's tiny rounding difference, within its
own tolerance, amplified past the consumer's tolerance: log_softmax(float64) -> cos) are kept out
by the confirmation replay (:mod:`fuzzer.case.confirm`): pair jobs run with ``confirm`` set, and a
mismatch that the float64 condition estimate calls ``numeric_noise`` (or that is ``flaky`` or
``inconclusive``) is ``noise``, never checked further. An isolated run that mismatches counts as a
failure of that operator whatever its confirmation says (a conservative reading: an interaction is
claimed only when both operators pass outright).

Kinds: ``interaction``, ``producer``, ``consumer``, ``both``, ``noise``, ``undecided`` (eager
PyTorch rejects an isolated operator, or the job cannot be rebuilt). Results go to
``interactions.jsonl`` (one line per failing job variant, keyed like ``results.jsonl``); a resumed
check skips what is there. Interaction cases are also written as case directories
(``interactions/cases/<id>/graph.json``, ``inputs.npz``: ``onnxfuzz check`` replays them).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from fuzzer.case import save_inputs
from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions
from fuzzer.generate import EagerRejected, evaluate, make_inputs
from fuzzer.ir import graph_to_dict
from fuzzer.minimize.interaction import isolate

from .execute import JobOutcome
from .plan import SweepConfig, SweepJob, _graph_hash, _seed_of
from .report import load_rows, variant_of

#: Verdicts decided before any value is computed (export, checker, session creation): the same
#: graph gets them whatever its input values, so a producer graph's such verdict alone is reused
#: for every pair it feeds, instead of re-running it on each pair's inputs.
STATIC = frozenset({"export_crash", "invalid_model", "ort_load_failure"})

KINDS = ("interaction", "producer", "consumer", "both", "noise", "undecided")
FILE = "interactions.jsonl"

ExecuteFn = Callable[[list[SweepJob]], Iterator[JobOutcome]]


@dataclass(frozen=True)
class PairCheck:
    """The verdict on one failing pair job variant."""

    key: str  # the pair job's key
    variant: str  # torchscript@20, dynamo@20-noopt...
    ops: tuple[str, str]
    dtype: str
    mode: str
    verdict: str  # the pair's verdict
    error_head: str | None
    kind: str  # one of KINDS
    producer_verdict: str | None = None
    consumer_verdict: str | None = None
    reason: str = ""
    case_dir: str | None = None  # interactions: the pair case, relative to the sweep directory

    def to_dict(self) -> dict:
        return {"key": self.key, "variant": self.variant, "ops": list(self.ops), "dtype": self.dtype, "mode": self.mode, "verdict": self.verdict,
                "error_head": self.error_head, "kind": self.kind, "producer_verdict": self.producer_verdict,
                "consumer_verdict": self.consumer_verdict, "reason": self.reason, "case_dir": self.case_dir}


def failing_rows(rows: Iterable[dict]) -> dict[str, list[dict]]:
    """Failing pair rows (two operators, a failure verdict), grouped by job key, in file order."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        if len(r["ops"]) == 2 and Verdict(r["verdict"]).is_failure:
            out.setdefault(r["key"], []).append(r)
    return out


def load_checks(sweep_dir: Path) -> dict[tuple[str, str], dict]:
    path = sweep_dir / FILE
    done: dict[tuple[str, str], dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                done[(d["key"], d["variant"])] = d
    return done


def rebuild_job(config: SweepConfig, key: str) -> SweepJob | None:
    """The pair job of ``key`` rebuilt from the plan (deterministic); None if it no longer builds
    the same graph (another build of onnxfuzz)."""
    from .pair_plan import pair_graph

    try:
        ops, dtype, _shape, ghash, mode = key.split("|")
        producer, consumer = ops.split("->")
    except ValueError:
        return None
    built = pair_graph(producer, dtype, consumer, config.attr_tries)
    if built is None or _graph_hash(built[1]) != ghash:
        return None
    prod, g = built
    return SweepJob(key, (producer, consumer), dtype, prod.shape, mode, _seed_of(key), g, tuple(config.exports()), confirm=True)


def _options_of(row: dict, exports: Iterable[ExportOptions]) -> ExportOptions | None:
    return next((e for e in exports if variant_of({"exporter": e.exporter.value, "opset_requested": e.opset, "optimize": e.optimize}) == variant_of(row)), None)


def check_interactions(sweep_dir: Path, config: SweepConfig, execute: ExecuteFn, deadline: float | None = None,
                       chunk: int = 32) -> Iterator[PairCheck]:
    """Classify every failing pair job variant of ``sweep_dir`` not classified yet (see the
    module doc), appending to ``interactions.jsonl``; yields each check as it is written.
    ``deadline`` (``time.monotonic()``): start no chunk after it (the rest waits for a resume)."""
    rows = load_rows(sweep_dir / "results.jsonl") if (sweep_dir / "results.jsonl").exists() else []
    done = load_checks(sweep_dir)
    pending = {k: [r for r in rs if (k, variant_of(r)) not in done] for k, rs in failing_rows(rows).items()}
    pending = {k: rs for k, rs in pending.items() if rs}
    keys = list(pending)
    static: dict[tuple[str, str], str] = {}  # (producer graph hash, variant) -> a verdict in STATIC
    (sweep_dir / "interactions" / "inputs").mkdir(parents=True, exist_ok=True)
    with open(sweep_dir / FILE, "a", encoding="utf-8") as log:
        for start in range(0, len(keys), chunk):
            if deadline is not None and time.monotonic() >= deadline:
                return
            for check in _check_chunk(sweep_dir, config, execute, {k: pending[k] for k in keys[start:start + chunk]}, static):
                log.write(json.dumps(check.to_dict(), allow_nan=False) + "\n")
                log.flush()
                yield check


def _variant(ex: ExportOptions) -> str:
    return variant_of({"exporter": ex.exporter.value, "opset_requested": ex.opset, "optimize": ex.optimize})


def _check_chunk(sweep_dir: Path, config: SweepConfig, execute: ExecuteFn, chunk: dict[str, list[dict]],
                 static: dict[tuple[str, str], str]) -> Iterator[PairCheck]:
    exports = config.exports()
    base: dict[tuple[str, str], PairCheck] = {}
    work: dict[str, tuple[SweepJob, dict, list[tuple[dict, ExportOptions]]]] = {}  # key -> job, inputs, (row, options) to isolate
    for key, rs in chunk.items():
        job = rebuild_job(config, key)
        for r in rs:
            pc = PairCheck(key, variant_of(r), tuple(r["ops"]), r["dtype"], r["mode"], r["verdict"], r.get("error_head"), "undecided")
            conf = r.get("confirmation")
            opts = _options_of(r, exports)
            if job is None or opts is None:
                base[(key, pc.variant)] = _with(pc, reason="the job does not rebuild with this build of onnxfuzz")
            elif conf is not None and conf != "confirmed":
                base[(key, pc.variant)] = _with(pc, kind="noise", reason=f"mismatch not confirmed: {conf}")
            else:
                base[(key, pc.variant)] = pc
                if key not in work:
                    work[key] = (job, make_inputs(job.graph, job.seed, job.mode), [])
                work[key][2].append((r, opts))
    # 1. the producer alone, on the pair's own inputs for it (a verdict known from the same producer
    #    graph that does not depend on input values is re-used: see STATIC)
    alone_p: dict[str, SweepJob] = {}
    p_inputs: dict[str, dict] = {}
    prod_verdicts: dict[str, dict[str, str]] = {}  # key -> variant -> the producer's verdict alone
    for key, (job, inputs, todo) in work.items():
        c = isolate(job.graph, inputs, 0, {})  # node 0 needs no intermediate value
        if c is None:
            continue
        p_inputs[key] = dict(c.inputs)
        ghash = _graph_hash(c.graph)
        known = {variant_of(r): static.get((ghash, variant_of(r))) for r, _ in todo}
        if all(known.values()):
            prod_verdicts[key] = known  # type: ignore[assignment]
            continue
        alone_p[key] = _alone_job(sweep_dir, job, "producer", c.graph, c.inputs, [o for _, o in todo])
    for o in execute(list(alone_p.values())):
        key = o.job.key.rsplit("|alone:", 1)[0]
        prod_verdicts[key] = {_variant(ex): r.verdict.value for ex, r in zip(o.job.exports, o.results)}
        for ex, r in zip(o.job.exports, o.results):
            if r.verdict.value in STATIC:
                static[(_graph_hash(o.job.graph), _variant(ex))] = r.verdict.value
    # 2. the consumer alone, fed the producer's eager output (where the producer passed alone)
    alone_c: dict[str, SweepJob] = {}
    for key, (job, inputs, todo) in work.items():
        pv = prod_verdicts.get(key, {})
        if not any(_passes(v) for v in pv.values()):
            continue
        producer_only = alone_p[key].graph
        try:  # the producer ran in eager in a worker on these values and passed: safe here
            inter = {n: t.numpy() for n, t in evaluate(producer_only, p_inputs[key]).items()}
        except EagerRejected:
            continue
        c = isolate(job.graph, inputs, 1, inter)
        if c is None:
            continue
        alone_c[key] = _alone_job(sweep_dir, job, "consumer", c.graph, c.inputs, [o for _, o in todo])
    cons_results = {o.job.key.rsplit("|alone:", 1)[0]: o for o in execute(list(alone_c.values()))} if alone_c else {}
    # 3. classify each variant
    for (key, variant), pc in base.items():
        if pc.kind != "undecided" or key not in work:
            yield pc
            continue
        job, inputs, _ = work[key]
        pv = prod_verdicts.get(key, {}).get(variant)
        cv = _verdict_for(cons_results.get(key), variant)
        kind, reason = classify(pv, cv)
        case_dir = _save_case(sweep_dir, job, inputs, variant) if kind == "interaction" else None
        yield _with(pc, kind=kind, producer_verdict=pv, consumer_verdict=cv, reason=reason, case_dir=case_dir)


def classify(producer: str | None, consumer: str | None) -> tuple[str, str]:
    """The kind of a failing pair variant from its operators' verdicts alone (None: not run,
    e.g. the consumer is not run when the producer fails alone)."""
    # an ambiguous answer alone (a documented semantic difference, e.g. hardshrink(NaN)) is not a
    # pass: the next operator may carry that difference into a plain mismatch
    pf = producer is not None and (Verdict(producer).is_failure or producer == "ambiguous")
    cf = consumer is not None and (Verdict(consumer).is_failure or consumer == "ambiguous")
    if producer is None or producer == "eager_error":
        return "undecided", "the producer could not be run alone"
    if pf and cf:
        return "both", "both operators fail alone"
    if pf:
        return "producer", f"the producer fails alone ({producer})"
    if consumer is None or consumer == "eager_error":
        return "undecided", "the consumer could not be run alone on the producer's output"
    if cf:
        return "consumer", f"the consumer fails alone on the producer's output ({consumer})"
    return "interaction", "each operator passes alone on the values it receives"


def _passes(verdict: str | None) -> bool:
    return verdict == "pass"


def _with(pc: PairCheck, **kw) -> PairCheck:
    from dataclasses import replace

    return replace(pc, **kw)


def _verdict_for(outcome: JobOutcome | None, variant: str) -> str | None:
    if outcome is None:
        return None
    return next((r.verdict.value for ex, r in zip(outcome.job.exports, outcome.results) if _variant(ex) == variant), None)


def _digest(inputs) -> str:
    h = hashlib.sha256()
    for name in sorted(inputs):
        a = np.ascontiguousarray(inputs[name])
        h.update(f"{name}|{a.dtype}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def _alone_job(sweep_dir: Path, pair: SweepJob, role: str, graph, inputs, exports: list[ExportOptions]) -> SweepJob:
    path = sweep_dir / "interactions" / "inputs" / f"{_digest(inputs)}.npz"
    if not path.exists():
        save_inputs(path, inputs)
    key = f"{pair.key}|alone:{role}"
    op = pair.ops[0] if role == "producer" else pair.ops[1]
    return SweepJob(key, (op,), graph.inputs[0].spec.dtype, graph.inputs[0].spec.shape, pair.mode, pair.seed, graph, tuple(exports), inputs=str(path))


def _save_case(sweep_dir: Path, job: SweepJob, inputs, variant: str) -> str:
    name = hashlib.sha1(f"{job.key}|{variant}".encode()).hexdigest()[:12]
    d = sweep_dir / "interactions" / "cases" / name
    d.mkdir(parents=True, exist_ok=True)
    from fuzzer.atomic import atomic_write_text

    atomic_write_text(d / "graph.json", json.dumps(graph_to_dict(job.graph), indent=1) + "\n")
    save_inputs(d / "inputs.npz", inputs)
    atomic_write_text(d / "case.json", json.dumps({"key": job.key, "variant": variant, "ops": list(job.ops), "mode": job.mode}, indent=1) + "\n")
    return str(d.relative_to(sweep_dir))
