"""A campaign's options (:class:`CampaignConfig`, stored in ``campaign.json``) and how a resumed
campaign gets its budget. The defaults live here only; the command line passes what it was given."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions
from fuzzer.generate.avoid import DEFAULT_EXPLORE
from fuzzer.generate.corpus import FEEDBACK_SHARE

#: Fewest operators a campaign's generated graph has (GeneratorOptions.min_nodes; at most
#: max_nodes). With 1 (the generator's own default) graphs that reached ONNX Runtime averaged 5.0
#: operators; issue 17 asks for 7 (scripts/measure_avoid.py).
CAMPAIGN_MIN_NODES = 6


def campaign_generator(**given) -> GeneratorOptions:
    """The generator options of a new campaign: ``given`` ones, CAMPAIGN_MIN_NODES (capped at
    max_nodes) unless min_nodes is given."""
    max_nodes = given.get("max_nodes", GeneratorOptions().max_nodes)
    return GeneratorOptions(**{"min_nodes": min(CAMPAIGN_MIN_NODES, max_nodes), **given})


#: The ways a campaign can spend an exporter's worker time (see CampaignConfig.arms).
ARMS = ("graphs", "ops")
#: with both exporters, dynamo's share of worker time: the default exporter leads (README; 20-minute
#: default campaigns side by side with scripts/measure_campaigns.py, 2 workers: 0.9 found 279 and 270
#: dynamo and 371 and 344 TorchScript buckets against 216 and 220, 468 and 477 with 0.75; 237/329
#: against 209/459 on the tree before the sampled opsets and the recent-yield split)
DYNAMO_SHARE = 0.9
#: dynamo exports that share of ``dynamic_share``'s generated slots dynamic (a subset of
#: TorchScript's): in a 20-minute side-by-side run a dynamic dynamo graph case cost 3.2 s against
#: 0.8 s static and found 9.3 new buckets per 100 worker-seconds against 18.8 (TorchScript's cost
#: 1.1x and found 47 dynamic-only buckets in c20). One-operator jobs keep the full share.
DYNAMO_DYNAMIC_SCALE = 0.4


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
    generator: GeneratorOptions = field(default_factory=campaign_generator)
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
    # how each exporter's worker time is spent (fuzzer.campaign.arms): "graphs" = generated graphs
    # (and mutants); "ops" = one-operator jobs of the sweep plan (every dtype, shape, attribute
    # sample and export variant). The split follows each arm's yield of new buckets per worker
    # second, with ``arm_floor`` of the time guaranteed to every arm.
    arms: tuple[str, ...] = ("graphs", "ops")
    arm_floor: float = 0.1
    # with both exporters: dynamo's share of worker time (the rest is TorchScript's); see README,
    # "Time goes where bugs are", for the measurement that set it
    dynamo_share: float = DYNAMO_SHARE
    # share of generated graphs (and of one-operator requests) exported with dynamic input sizes and
    # also run at other sizes (fuzzer.export.dynamic; the same slots for every exporter). 0.25: in
    # side-by-side 150 s campaigns on a quiet machine (scripts/measure_dynamic.py) it kept both
    # exporters' rates (0.99x, 0.98x) and buckets (TorchScript 1.03x, dynamo 0.96x) and added 10
    # buckets only dynamic exports reach (README, "Dynamic shapes")
    dynamic_share: float = 0.25
    # known one-operator triggers (fuzzer.campaign.known): learnt from the campaign's own findings
    # store and from the stores in ``known``; ``avoid``: generated graphs avoid the ones known for
    # every exporter, except an ``explore`` share; ``cut``: a case failing on a known trigger gets
    # the culprit cut out and runs the rest (fuzzer.case.cut). A campaign.json without these keys
    # (older campaigns) resumes with both off. ``rehit_strikes``: the one-operator arm stops running
    # an (operator, input dtypes, export variant) whose cases re-hit known buckets in a row
    # (fuzzer.campaign.scheduler.REHIT_STRIKES), except the exploration share.
    known: tuple[str, ...] = ()
    avoid: bool = True
    cut: bool = True
    explore: float = DEFAULT_EXPLORE
    rehit_strikes: bool = True

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
            "arms": list(self.arms), "arm_floor": self.arm_floor, "dynamic_share": self.dynamic_share,
            "dynamo_share": self.dynamo_share,
            "known": list(self.known), "avoid": self.avoid, "cut": self.cut, "explore": self.explore,
            "rehit_strikes": self.rehit_strikes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CampaignConfig":
        gen = GeneratorOptions.from_dict(d["generator"])
        keys = {"opset", "seconds", "cases", "seed", "input_mode", "workers", "case_timeout", "memory_limit_mb", "recycle_after", "keep_per_bucket", "min_free_mb", "stats_period", "minimize_seconds", "dynamo_batch", "feedback", "mutate_share", "corpus_size", "arm_floor"}
        arms = tuple(d.get("arms", ("graphs",)))  # a campaign from before arms ran generated graphs only
        dynamic_share = d.get("dynamic_share", 0.0)  # a campaign from before dynamic shapes exported every graph static
        dynamo_share = d.get("dynamo_share", 0.5)  # a campaign from before the weights split time equally
        known = dict(known=tuple(d.get("known", ())), avoid=d.get("avoid", False), cut=d.get("cut", False),
                     explore=d.get("explore", DEFAULT_EXPLORE),  # a campaign from before known triggers ran without
                     rehit_strikes=d.get("rehit_strikes", False))  # one from before re-hit strikes, too
        return cls(exporters=tuple(Exporter(e) for e in d["exporters"]), generator=gen, arms=arms, dynamic_share=dynamic_share, dynamo_share=dynamo_share,
                   **known, **{k: d[k] for k in keys if k in d})

    def __post_init__(self) -> None:
        bad = [a for a in self.arms if a not in ARMS]
        if bad or not self.arms:
            raise ValueError(f"unknown arms {bad} (known: {', '.join(ARMS)})" if bad else "a campaign needs at least one arm")
        if not 0.0 <= self.dynamic_share <= 1.0:
            raise ValueError(f"dynamic_share {self.dynamic_share} must be within 0..1")
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must be within 0..1, got {self.explore}")
        if not 0.0 < self.dynamo_share < 1.0:
            raise ValueError(f"dynamo_share {self.dynamo_share} must be above 0 and below 1")
        if not 0.0 <= self.arm_floor * len(self.arms) <= 1.0:
            raise ValueError(f"arm_floor {self.arm_floor} times {len(self.arms)} arms must be within 0..1")


def load_config(out_dir: Path) -> CampaignConfig:
    """The stored configuration of the campaign in ``out_dir``, every field checked (type and
    range); anything wrong is one :class:`CampaignError` line."""
    from fuzzer.ir.serialize import parse_json

    p = out_dir / "campaign.json"
    if not out_dir.is_dir():
        raise CampaignError(f"{out_dir} is not a campaign directory (give the directory of 'onnxfuzz fuzz --out DIR')")
    try:
        if p.stat().st_size > 1024 * 1024:
            raise CampaignError(f"{p}: larger than 1 MiB, not a campaign configuration")
        doc = parse_json(p.read_bytes(), str(p), CampaignError)
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
            raise CampaignError(f"{p}: no \"config\" object")
        check_config_dict(doc["config"], f"{p}: config")
        return CampaignConfig.from_dict(doc["config"])
    except FileNotFoundError:
        raise CampaignError(f"{out_dir} is not a campaign directory (no campaign.json)") from None
    except OSError as e:
        raise CampaignError(f"{p}: cannot read ({e.strerror or e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CampaignError(f"{p}: unreadable campaign configuration ({_short(str(e), 120)})") from None


def recorded_versions(out_dir: Path) -> dict:
    """The versions recorded when the campaign in ``out_dir`` started ({} if unreadable: the
    configuration's own errors are :func:`load_config`'s)."""
    try:
        doc = json.loads((out_dir / "campaign.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    v = doc.get("versions") if isinstance(doc, dict) else None
    return {k: x for k, x in v.items() if isinstance(x, str)} if isinstance(v, dict) else {}


def _short(v, limit: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 3] + "..."


_BIG = 2**62
#: key -> (kind, low, high, may be null) for every field of campaign.json's "config" this build reads
_CONFIG_FIELDS = {
    "opset": ("int", 1, 100, True), "seconds": ("num", 0.0, 1e9, True), "cases": ("int", 1, _BIG, True),
    "seed": ("int", 0, _BIG, False), "workers": ("int", 1, 4096, False), "case_timeout": ("num", 0.0, 1e7, False),
    "memory_limit_mb": ("int", 1, 2**31, False), "recycle_after": ("int", 1, _BIG, True), "keep_per_bucket": ("int", 0, _BIG, False),
    "min_free_mb": ("int", 0, _BIG, False), "stats_period": ("num", 0.0, 1e6, False), "minimize_seconds": ("num", 0.0, 1e7, True),
    "dynamo_batch": ("int", 1, 4096, False), "feedback": ("bool", 0, 0, False), "mutate_share": ("num", 0.0, 1.0, False),
    "corpus_size": ("int", 1, 10**7, False), "arm_floor": ("num", 0.0, 1.0, False), "dynamic_share": ("num", 0.0, 1.0, False),
    "dynamo_share": ("num", 0.0, 1.0, False),
    "avoid": ("bool", 0, 0, False), "cut": ("bool", 0, 0, False), "explore": ("num", 0.0, 1.0, False),
    "rehit_strikes": ("bool", 0, 0, False),
}
_GENERATOR_FIELDS = {
    "max_nodes": ("int", 1, 10**4, False), "min_nodes": ("int", 1, 10**4, False), "max_inputs": ("int", 1, 1000, False),
    "max_outputs": ("int", 1, 1000, False), "max_rank": ("int", 0, 16, False), "max_dim": ("int", 0, 10**6, False),
    "p_zero_dim": ("num", 0.0, 1.0, False), "max_numel": ("int", 1, 2**24, False), "bias": ("num", 0.0, 1.0, False),
    "rewrite_share": ("num", 0.0, 1.0, False),
}


def check_config_dict(d: dict, where: str) -> None:
    """Raise :class:`CampaignError` naming the first field of a stored configuration with a wrong
    type or a value out of range (a hand-edited or damaged campaign.json)."""
    from fuzzer.generate import MODES

    ex = d.get("exporters")
    names = {e.value for e in Exporter}
    if not isinstance(ex, list) or not ex or any(not isinstance(x, str) or x not in names for x in ex) or len(set(ex)) != len(ex):
        raise CampaignError(f"{where}.exporters is {_short(ex)}, expected a list of distinct names among {', '.join(sorted(names))}")
    if d.get("input_mode", "normal") not in MODES:
        raise CampaignError(f"{where}.input_mode is {_short(d.get('input_mode'))}, expected one of {', '.join(MODES)}")
    _check_fields(d, _CONFIG_FIELDS, where)
    arms = d.get("arms", ["graphs"])
    if not isinstance(arms, list) or not arms or any(a not in ARMS for a in arms) or len(set(arms)) != len(arms):
        raise CampaignError(f"{where}.arms is {_short(arms)}, expected a list of distinct names among {', '.join(ARMS)}")
    known = d.get("known", [])
    if not isinstance(known, list) or len(known) > 100 or any(not isinstance(x, str) or not x or len(x) > 4096 for x in known):
        raise CampaignError(f"{where}.known is {_short(known)}, expected a list of directory names")
    gen = d.get("generator")
    if not isinstance(gen, dict):
        raise CampaignError(f"{where}.generator is {_short(gen)}, expected an object")
    _check_fields(gen, _GENERATOR_FIELDS, f"{where}.generator")
    for key in ("dtypes", "ops"):
        v = gen.get(key, [])
        if not isinstance(v, list) or len(v) > 10_000 or any(not isinstance(x, str) or len(x) > 100 for x in v):
            raise CampaignError(f"{where}.generator.{key} is {_short(v)}, expected a list of names")


def _check_fields(d: dict, fields: dict, where: str) -> None:
    import math

    for key, (kind, lo, hi, nullable) in fields.items():
        if key not in d or (d[key] is None and nullable):
            continue
        v = d[key]
        ok = {"int": isinstance(v, int) and not isinstance(v, bool),
              "num": isinstance(v, (int, float)) and not isinstance(v, bool),
              "bool": isinstance(v, bool)}[kind]
        if ok and kind != "bool":
            ok = (kind == "int" or math.isfinite(v)) and lo <= v <= hi
        if not ok:
            what = {"int": f"an integer within {lo}..{hi}", "num": f"a number within {lo:g}..{hi:g}", "bool": "true or false"}[kind]
            raise CampaignError(f"{where}.{key} is {_short(v)}, expected {what}" + (" or null" if nullable else ""))



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
