"""A campaign's options (:class:`CampaignConfig`, stored in ``campaign.json``) and how a resumed
campaign gets its budget. The defaults live here only; the command line passes what it was given."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.generate.corpus import FEEDBACK_SHARE


class CampaignError(Exception):
    """The campaign directory cannot be used (one line for the user)."""


from fuzzer.workers.pool import RECYCLE_AFTER  # noqa: E402  (the pool's default, re-exported)


@dataclass(frozen=True)
class CampaignConfig:
    exporters: tuple[Exporter, ...] = (Exporter.TORCHSCRIPT, Exporter.DYNAMO)
    opset: int | None = None
    seconds: float | None = 60.0
    cases: int | None = None  # graphs per exporter (graph i is seed+i for every exporter)
    seed: int = 0
    input_mode: str = "special"  # special values too: where converters break (README, "Input modes")
    generator: GeneratorOptions = field(default_factory=GeneratorOptions)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    case_timeout: float = 60.0
    memory_limit_mb: int = 4096
    # replace each worker after this many tasks (None: only above 90% of the memory limit). A worker
    # forked from the fork server costs ~10 ms plus a slower first case (TorchScript +60 ms, a dynamo
    # batch +1 s), so a worker's life is bounded cheaply: torch's caches and allocator keep growing
    # a long-lived worker's private memory by ~0.3-0.8 MiB per 1,000 cases (scripts/memory_soak.py)
    recycle_after: int | None = RECYCLE_AFTER
    keep_per_bucket: int = 5  # raw cases kept on disk per bucket; the rest are counted
    min_free_mb: int = 1024  # stop cleanly when the disk has less free space than this
    stats_period: float = 5.0
    minimize_seconds: float | None = 60.0  # budget per new bug; None: file raw cases unminimized
    dynamo_batch: int = 8  # dynamo cases exported together in one call (1: no batching)
    feedback: bool = False  # keep a corpus of graphs that reached new coverage, and mutate it (off: measured no gain, README)
    mutate_share: float = FEEDBACK_SHARE  # with feedback: share of cases that are mutants
    corpus_size: int = 500  # with feedback: most graphs the corpus holds

    def exports(self) -> list[ExportOptions]:
        return [ExportOptions(e, self.opset) for e in self.exporters]

    def to_dict(self) -> dict:
        return {
            "exporters": [e.value for e in self.exporters], "opset": self.opset, "seconds": self.seconds,
            "cases": self.cases, "seed": self.seed, "input_mode": self.input_mode,
            "generator": {k: list(v) if isinstance(v, tuple) else v for k, v in self.generator.to_dict().items()},
            "workers": self.workers, "case_timeout": self.case_timeout, "memory_limit_mb": self.memory_limit_mb,
            "recycle_after": self.recycle_after, "keep_per_bucket": self.keep_per_bucket, "min_free_mb": self.min_free_mb, "stats_period": self.stats_period,
            "minimize_seconds": self.minimize_seconds, "dynamo_batch": self.dynamo_batch,
            "feedback": self.feedback, "mutate_share": self.mutate_share, "corpus_size": self.corpus_size,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CampaignConfig":
        gen = GeneratorOptions.from_dict(d["generator"])
        keys = {"opset", "seconds", "cases", "seed", "input_mode", "workers", "case_timeout", "memory_limit_mb", "recycle_after", "keep_per_bucket", "min_free_mb", "stats_period", "minimize_seconds", "dynamo_batch", "feedback", "mutate_share", "corpus_size"}
        return cls(exporters=tuple(Exporter(e) for e in d["exporters"]), generator=gen, **{k: d[k] for k in keys if k in d})


def load_config(out_dir: Path) -> CampaignConfig:
    p = out_dir / "campaign.json"
    try:
        doc = json.loads(p.read_text())
        return CampaignConfig.from_dict(doc["config"])
    except FileNotFoundError:
        raise CampaignError(f"{out_dir} is not a campaign directory (no campaign.json)") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CampaignError(f"{p}: unreadable campaign configuration ({e})") from None



def with_budget(config: CampaignConfig, seconds: float | None, cases: int | None) -> CampaignConfig:
    """The stored configuration with a new budget (for --resume with --seconds/--cases)."""
    if seconds is None and cases is None:
        return config
    return replace(config, seconds=seconds, cases=cases)


def resume_config(out_dir: Path, elapsed_before: float, *, seconds: float | None = None, cases: int | None = None,
                  workers: int | None = None, recycle_after: int | None = None) -> CampaignConfig:
    """The stored configuration of the campaign in ``out_dir`` for a resumed run. ``seconds``: run
    that many more seconds of campaign time (after ``elapsed_before`` already spent); ``cases``: a
    new case budget. ``workers`` and ``recycle_after`` (0: never) say how workers run, not what is
    tested, so they may change on resume; everything else stays as stored."""
    config = load_config(out_dir)
    if seconds is not None:
        config = with_budget(config, elapsed_before + seconds, None)
    elif cases is not None:
        config = with_budget(config, None, cases)
    if workers is not None:
        config = replace(config, workers=workers)
    if recycle_after is not None:
        config = replace(config, recycle_after=recycle_after or None)
    return config
