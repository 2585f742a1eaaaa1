"""A campaign's counters (:class:`CampaignStats`) and its record on disk (``results.jsonl``), read
back for resume and for ``onnxfuzz stats``."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fuzzer.compare import Verdict
from fuzzer.export.batch import BatchStats
from fuzzer.generate import GenerationStats

from fuzzer.ir.serialize import parse_json

from .config import CampaignError
from .feedback import mutant_key


#: How stop_reason starts when the campaign stopped at the disk floor (the command line exits 4).
STOP_DISK_LOW = "disk space low"


@dataclass
class CampaignStats:
    """Counters of a campaign. ``elapsed`` is *campaign time*: it runs from the moment the pool can
    run cases (:meth:`start_clock`, not at start-up) until the loop stops (:meth:`stop_clock`, not
    while the pool closes), plus the campaign time of earlier runs when resumed. The time budget,
    ``t`` in results.jsonl and stats.jsonl, summary.json and ``onnxfuzz stats`` all read this clock."""

    started: float | None = None  # time.monotonic() when the clock started (None: not yet)
    stopped: float | None = None  # ... and when it stopped
    elapsed_before: float = 0.0
    cases: int = 0
    verdicts: Counter = field(default_factory=Counter)  # (exporter, verdict) -> count
    buckets: Counter = field(default_factory=Counter)  # bucket key -> hits (bugs: documented limitations are apart)
    limitation_buckets: Counter = field(default_factory=Counter)  # bucket key -> hits, for documented limitations
    last_new_bucket: float | None = None  # campaign time of the newest bucket
    exporter_seconds: Counter = field(default_factory=Counter)  # exporter -> worker seconds
    stage_seconds: Counter = field(default_factory=Counter)
    generation: GenerationStats = field(default_factory=GenerationStats)
    batching: BatchStats = field(default_factory=BatchStats)  # what the workers' dynamo batching did
    kept: int = 0
    dropped: int = 0  # non-pass cases counted but not kept (bucket already has enough)
    stop_reason: str = ""
    recent: list = field(default_factory=list)  # (monotonic time, cases) samples for the "now" rate
    workers: list = field(default_factory=list)  # (state, "exporter seed", seconds) per worker, for the status
    restarts: int = 0  # workers replaced after a crash, hang or out-of-memory
    recycled: int = 0  # workers replaced between tasks (task count or memory), nothing lost
    findings: object = None  # RecorderStats of the findings recorder, for the status
    unconfirmed: Counter = field(default_factory=Counter)  # mismatches not confirmed real, by status (numeric_noise...)
    cross: Counter = field(default_factory=Counter)  # cross-exporter status of seeds run by both exporters
    one_wrong: Counter = field(default_factory=Counter)  # exporter -> seeds where only it was wrong
    minimizing: int = 0  # new bugs waiting for or under minimization
    coverage: object = None  # fuzzer.coverage.Coverage of the exported models, when tracked
    corpus: int | None = None  # graphs in the feedback corpus (None: feedback off)
    mutants: int = 0  # cases that ran a mutant of a corpus graph
    arm_seconds: Counter = field(default_factory=Counter)  # "exporter/strategy" -> worker seconds (fuzzer.campaign.arms)
    arm_buckets: Counter = field(default_factory=Counter)  # "exporter/strategy" -> new buckets found
    nodes: list | None = None  # on a cluster: per node, its state, workers, busy, cases and rate (None: one machine)
    known_triggers: int | None = None  # one-operator triggers known (None: avoidance and cutting off)
    cut_cases: int = 0  # cases that ran on past a known failure with its culprit cut out (fuzzer.case.cut)
    op_jobs_skipped: int = 0  # one-operator jobs passed over: a known trigger of their exporter
    op_variants_dropped: int = 0  # export variants of op jobs not run: refused as unsupported in two jobs before
    op_rehit_skipped: int = 0  # op jobs and variants not run: their (operator, dtypes, variant) re-hit known buckets in a row
    cuts: Counter = field(default_factory=Counter)  # operator -> times cut out of a case

    def arms(self) -> dict:
        """Per arm: worker seconds, its share of all worker seconds, new buckets found."""
        total = sum(self.arm_seconds.values()) or 1.0
        return {a: {"seconds": round(self.arm_seconds[a], 2), "share": round(self.arm_seconds[a] / total, 3), "new_buckets": self.arm_buckets[a]}
                for a in sorted(set(self.arm_seconds) | set(self.arm_buckets))}

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return self.elapsed_before
        return self.elapsed_before + (self.stopped if self.stopped is not None else time.monotonic()) - self.started

    def start_clock(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def stop_clock(self) -> None:
        if self.started is not None and self.stopped is None:
            self.stopped = time.monotonic()

    def rate_now(self, window: float = 30.0) -> float:
        """Cases per second over the last ``window`` seconds, measured up to now: a dynamo batch
        that lands all at once does not read as hundreds of cases per second, and a stall reads 0."""
        if not self.recent:
            return 0.0
        now = time.monotonic()
        older = [(t, c) for t, c in self.recent if now - t > window]
        if not older and len(self.recent) < 2:
            return 0.0
        t0, c0 = older[-1] if older else self.recent[0]
        return (self.recent[-1][1] - c0) / (now - t0) if now > t0 else 0.0

    def bucket_counter(self, bucket: str) -> Counter:
        """The counter a coarse bucket is counted in: ``limitation_buckets`` for a documented
        limitation (:mod:`fuzzer.triage.limitations`), else ``buckets`` (never a new bug)."""
        from fuzzer.triage.limitations import limitation_of_key

        return self.limitation_buckets if limitation_of_key(bucket) else self.buckets

    def failures(self) -> int:
        return sum(n for (_, v), n in self.verdicts.items() if Verdict(v).is_failure)

    def to_dict(self) -> dict:
        return {
            "elapsed": round(self.elapsed, 3), "cases": self.cases,
            "verdicts": {f"{e}/{v}": n for (e, v), n in sorted(self.verdicts.items())},
            "buckets": len(self.buckets), "limitation_buckets": len(self.limitation_buckets),
            "limitation_hits": sum(self.limitation_buckets.values()), "kept": self.kept, "dropped": self.dropped,
            "exporter_seconds": {k: round(v, 3) for k, v in self.exporter_seconds.items()},
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "stop_reason": self.stop_reason, "worker_restarts": self.restarts, "workers_recycled": self.recycled,
            "unconfirmed_mismatches": dict(self.unconfirmed),
            "cross_exporter": dict(self.cross), "only_this_exporter_wrong": dict(self.one_wrong),
            **({"corpus": self.corpus, "mutants": self.mutants} if self.corpus is not None else {}),
            "arms": self.arms(),
            **({"nodes": self.nodes} if self.nodes is not None else {}),
            **({"known_triggers": self.known_triggers, "cut_cases": self.cut_cases, "cuts": dict(self.cuts.most_common(30)),
                "op_jobs_skipped": self.op_jobs_skipped, "op_variants_dropped": self.op_variants_dropped,
                "op_rehit_skipped": self.op_rehit_skipped}
               if self.known_triggers is not None else {}),
            **({"interaction_findings": self.findings.interactions} if getattr(self.findings, "interactions", None) is not None else {}),
            "generator": {"attempts": self.generation.attempts, "accepted": self.generation.accepted,
                          "rejected": dict(self.generation.rejected.most_common(30)), "explored": self.generation.explored},
            "batching": self.batching.to_dict(),
        }

    def sample(self) -> dict:
        """One line of the stats time series."""
        per = {}
        for (e, v), n in self.verdicts.items():
            per.setdefault(e, {})[v] = n
        out = {"t": round(self.elapsed, 3), "cases": self.cases, "buckets": len(self.buckets), "failures": self.failures(),
               "cases_per_s_now": round(self.rate_now(), 3), "verdicts": per}
        if self.coverage is not None:
            out["coverage"] = {e: c.sizes() for e, c in sorted(self.coverage.by_exporter.items())}
            out["paper_sequences"] = self.coverage.paper_share()[0]
            out["rewrites"] = len(self.coverage.rewrites_fired())
        if self.corpus is not None:
            out["corpus"] = self.corpus
            out["mutants"] = self.mutants
        out["arms"] = self.arms()
        if self.nodes is not None:
            out["nodes"] = self.nodes
        if self.known_triggers is not None:
            out["known_triggers"] = self.known_triggers
            out["cut_cases"] = self.cut_cases
            out["op_jobs_skipped"] = self.op_jobs_skipped
            out["op_variants_dropped"] = self.op_variants_dropped
            out["op_rehit_skipped"] = self.op_rehit_skipped
        if getattr(self.findings, "interactions", None) is not None:
            out["interaction_findings"] = self.findings.interactions
        return out


# ---------------------------------------------------------------------------------------------
# campaign directory state
# ---------------------------------------------------------------------------------------------
def read_results(path: Path) -> list[dict]:
    """The finished cases. A torn last line (``kill -9`` mid-write) is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    out = []
    for k, line in enumerate(data[:end].splitlines()):
        where = f"{path}: line {k + 1}"
        doc = parse_json(line, where, CampaignError)
        problem = _line_problem(doc)
        if problem:
            raise CampaignError(f"{where} {problem}; the campaign record is damaged")
        out.append(doc)
    return out


def _line_problem(doc) -> str | None:
    """What is wrong with one results.jsonl line (the fields resume and ``stats`` read), or None."""
    import math

    from fuzzer.export import Exporter

    def num(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v < 1e12

    if not isinstance(doc, dict):
        return "is not a JSON object"
    if not isinstance(doc.get("exporter"), str) or doc["exporter"] not in {e.value for e in Exporter}:
        return "names no known exporter"
    try:
        Verdict(doc.get("verdict"))
    except (ValueError, TypeError):
        return "names no known verdict"
    for key in ("confirmation", "export", "mutant"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            return f"has a {key} that is not an object"
    mutant = doc.get("mutant")
    if doc.get("op_job") is not None:  # one variant of an op job: keyed by the job's index
        if not isinstance(doc["op_job"], int) or isinstance(doc["op_job"], bool) or not 0 <= doc["op_job"] < 2**63:
            return "has an op job without an integer index"
    elif mutant:
        slot = mutant.get("slot") if isinstance(mutant, dict) else None
        if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < 2**63:
            return "has a mutant without an integer slot"
    else:
        seed = doc.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            return "has no integer seed"
    if not num(doc.get("t", 0.0)) or not num(doc.get("seconds", 0.0)):
        return "has a time (t, seconds) that is not a number"
    if doc.get("bucket") is not None and not isinstance(doc["bucket"], str):
        return "has a bucket that is not a string"
    if not isinstance(doc.get("kept", False), bool):
        return "has a kept flag that is not true or false"
    return None


def recorded_elapsed(out_dir: Path, results: list[dict]) -> float:
    """The campaign time a campaign directory has spent: the latest of its results' ``t``, its last
    stats.jsonl sample (the loop writes one as it stops) and summary.json's ``elapsed``. A resumed
    run continues this clock, ``onnxfuzz stats`` reports it, and it equals summary.json's elapsed
    after a clean end (after a kill, the last sample's)."""
    import math

    best = max((float(r.get("t", 0.0)) for r in results), default=0.0)
    for value in (_last_sample_t(out_dir / "stats.jsonl"), _summary_elapsed(out_dir / "summary.json")):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value < 1e12:
            best = max(best, float(value))
    return best


def _last_sample_t(path: Path):
    import json

    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 65536))
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a torn last line after kill -9
        return doc.get("t") if isinstance(doc, dict) else None
    return None


def _summary_elapsed(path: Path):
    import json

    try:
        if path.stat().st_size > 10 * 1024 * 1024:
            return None
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None  # ours, and only a hint: the other two sources stand
    return doc.get("elapsed") if isinstance(doc, dict) else None


def restore_campaign(stats: CampaignStats, out_dir: Path) -> set[tuple[str, int | str]]:
    """Rebuild the counters of the campaign in ``out_dir`` (results.jsonl, and its campaign time:
    :func:`recorded_elapsed`); returns the case keys done (see :func:`restore_stats`)."""
    results = read_results(out_dir / "results.jsonl")
    done = restore_stats(stats, results)
    stats.elapsed_before = recorded_elapsed(out_dir, results)
    return done


def restore_stats(stats: CampaignStats, results: list[dict]) -> set[tuple[str, int | str]]:
    """Rebuild the counters from results.jsonl lines; returns the case keys done:
    (exporter, seed) for generated cases, (exporter, "m<slot>") for mutants."""
    done = set()
    for r in results:
        arm = f"{r['exporter']}/{'ops' if r.get('op_job') is not None else 'graphs'}"
        stats.arm_seconds[arm] += r.get("seconds", 0.0)
        if r.get("bucket") and r["bucket"] not in stats.bucket_counter(r["bucket"]) and stats.bucket_counter(r["bucket"]) is stats.buckets:
            stats.arm_buckets[arm] += 1
        if r.get("mutant"):
            done.add((r["exporter"], mutant_key(r["mutant"]["slot"])))
            stats.mutants += 1
        elif r.get("op_job") is not None:
            done.add((r["exporter"], f"o{r['op_job']}"))
        else:
            done.add((r["exporter"], r["seed"]))
        stats.cases += 1
        stats.verdicts[(r["exporter"], r["verdict"])] += 1
        stats.exporter_seconds[r["exporter"]] += r.get("seconds", 0.0)
        if r.get("bucket"):
            stats.bucket_counter(r["bucket"])[r["bucket"]] += 1
        if isinstance(r.get("cuts"), list) and r["cuts"]:
            stats.cut_cases += 1
            stats.cuts.update(str(c) for c in r["cuts"])
        if r.get("kept"):
            stats.kept += 1
        elif r["verdict"] != "pass":
            stats.dropped += 1
        stats.elapsed_before = max(stats.elapsed_before, r.get("t", 0.0))
    return done


