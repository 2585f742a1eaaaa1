"""The fuzz loop: seeds -> graphs -> cases, streamed to observers.

:func:`run_campaign` is a generator the CLI consumes; observers (the terminal UI, the JSON-lines
log) see every :class:`CaseResult` as it arrives. Seed ``seed + i`` makes graph ``i``, so any case
is reproducible from its seed and the recorded options alone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GenerationError, GenerationStats, GeneratorOptions, generate, make_inputs
from fuzzer.versions import stack_versions

from .artifacts import save_case
from .case import CaseResult, run_graph


@dataclass(frozen=True)
class CampaignConfig:
    exporters: tuple[Exporter, ...] = (Exporter.TORCHSCRIPT, Exporter.DYNAMO)
    opset: int | None = None
    seconds: float | None = 60.0
    cases: int | None = None  # graphs per exporter (graph i is seed+i for every exporter)
    seed: int = 0
    input_mode: str = "normal"
    generator: GeneratorOptions = field(default_factory=GeneratorOptions)

    def exports(self) -> list[ExportOptions]:
        return [ExportOptions(e, self.opset) for e in self.exporters]

    def to_dict(self) -> dict:
        return {
            "exporters": [e.value for e in self.exporters], "opset": self.opset, "seconds": self.seconds,
            "cases": self.cases, "seed": self.seed, "input_mode": self.input_mode, "generator": self.generator.to_dict(),
        }


class Observer(Protocol):
    def on_result(self, result: CaseResult, graph_index: int, stats: "CampaignStats") -> None: ...


@dataclass
class CampaignStats:
    started: float = field(default_factory=time.monotonic)
    graphs: int = 0
    cases: int = 0
    verdicts: Counter = field(default_factory=Counter)  # (exporter, verdict) -> count
    stage_seconds: Counter = field(default_factory=Counter)
    exporter_seconds: Counter = field(default_factory=Counter)  # exporter -> seconds spent on its cases
    generation: GenerationStats = field(default_factory=GenerationStats)
    seconds_generate: float = 0.0
    stored: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def to_dict(self) -> dict:
        return {
            "elapsed": round(self.elapsed, 3), "graphs": self.graphs, "cases": self.cases,
            "verdicts": {f"{e}/{v}": n for (e, v), n in sorted(self.verdicts.items())},
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "generate_seconds": round(self.seconds_generate, 3),
            "generator_rejections": dict(self.generation.rejected.most_common(20)),
        }


def run_campaign(
    config: CampaignConfig, out_dir: Path, observers: list[Observer] | None = None, stats: CampaignStats | None = None
) -> Iterator[CaseResult]:
    """Run until the time or case budget is spent (or the consumer stops iterating).

    ``stats`` (created if not given) is updated in place, so the caller can read it after an
    interruption; ``summary.json`` is written however the loop ends."""
    observers = observers or []
    stats = stats if stats is not None else CampaignStats()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "campaign.json").write_text(json.dumps({"config": config.to_dict(), "versions": stack_versions()}, indent=1) + "\n")
    exports = config.exports()
    deadline = stats.started + config.seconds if config.seconds else None
    try:
        yield from _loop(config, out_dir, observers, stats, exports, deadline)
    finally:
        (out_dir / "summary.json").write_text(json.dumps(stats.to_dict(), indent=1) + "\n")


def _loop(config: CampaignConfig, out_dir: Path, observers, stats: CampaignStats, exports, deadline) -> Iterator[CaseResult]:
    """Fair time share between exporters: every exporter walks the same seed sequence (graph i
    is seed+i for all of them), and the next case goes to the exporter that has used the least
    time so far. A slow exporter (dynamo) thus never starves a fast one (TorchScript), and the
    graphs the slow one reaches were also run by the fast one, so their results can be compared."""
    next_index = {ex.exporter: 0 for ex in exports}
    spent = {ex.exporter: 0.0 for ex in exports}
    with open(out_dir / "results.jsonl", "a", encoding="utf-8") as log:
        while True:
            active = [ex for ex in exports if config.cases is None or next_index[ex.exporter] < config.cases]
            if not active:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            ex = min(active, key=lambda e: (spent[e.exporter], exports.index(e)))
            i = next_index[ex.exporter]
            next_index[ex.exporter] += 1
            seed = config.seed + i
            t_case = time.perf_counter()
            try:
                graph = generate(seed, config.generator, stats.generation)
            except GenerationError:
                stats.generation.rejected["whole graph: no operator could be placed"] += 1
                continue
            inputs = make_inputs(graph, seed, config.input_mode)
            stats.seconds_generate += time.perf_counter() - t_case
            (r,) = run_graph(graph, inputs, [ex], seed=seed, input_mode=config.input_mode, options={"generator": config.generator.to_dict()})
            spent[ex.exporter] += time.perf_counter() - t_case
            stats.graphs = max(stats.graphs, i + 1)
            stats.cases += 1
            stats.verdicts[(r.exporter, r.verdict.value)] += 1
            for k, v in r.timings.items():
                stats.stage_seconds[k] += v
            stats.exporter_seconds[r.exporter] += time.perf_counter() - t_case
            if r.verdict is not Verdict.PASS:
                save_case(out_dir / "cases", graph, inputs, r)
                stats.stored += 1
            log.write(json.dumps(_log_line(r), allow_nan=False, default=str) + "\n")
            log.flush()
            for o in observers:
                o.on_result(r, i, stats)
            yield r


def _log_line(r: CaseResult) -> dict:
    w = r.worst
    return {
        "seed": r.seed, "exporter": r.exporter, "verdict": r.verdict.value, "opset": r.opset, "n_nodes": r.n_nodes,
        "error_type": r.error_type, "error_head": r.error_head, "worst_abs": w.max_abs if w else None,
        "timings": {k: round(v, 5) for k, v in r.timings.items()},
    }
