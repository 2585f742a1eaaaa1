"""The ledger of a campaign: every finished case is accounted here, once.

For each case: keep its directory (the first ``keep_per_bucket`` of each coarse bucket, and every
case that may be a new bug) or drop it, file a real failure into the findings store (through the
recorder, before the results line: resume-safe), let the feedback corpus see its coverage, pair it
with the other exporter's run of the same seed (cross-exporter differential), update the counters,
and append its line to ``results.jsonl`` (flushed: a case is done iff its line is there).
Ctrl-C and SIGTERM wait until a case is accounted, so ``summary.json`` counts the cases whose lines
are there.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import IO

from fuzzer.atomic import signals_deferred
from fuzzer.case import CaseResult, load_case_dir
from fuzzer.case.cross import cross_exporter
from fuzzer.compare import Verdict
from fuzzer.triage.buckets import bucket_key

from .config import CampaignConfig
from .feedback import Feedback
from .recorder import FindingRecorder
from .stats import CampaignStats


class Ledger:
    def __init__(self, config: CampaignConfig, out_dir: Path, stats: CampaignStats, recorder: FindingRecorder, feedback: Feedback | None,
                 done: set, log: IO[str]):
        self.config = config
        self.out = out_dir
        self.stats = stats
        self.recorder = recorder
        self.feedback = feedback
        self.done = done
        self.log = log
        self.partners: dict[int, dict[str, CaseResult]] = {}  # seed -> first exporter's compact result, until paired

    def account(self, exporter: str, key: int | str, r: CaseResult, case_dir: str | None, confirmation: dict | None, seconds: float,
                graph_doc: dict | None = None, mutant: dict | None = None, op_job: int | None = None) -> CaseResult:
        """Record one finished case (``key``: its seed, "m<slot>" for a mutant, "o<index>" for one
        variant of an op job); with feedback, its graph joins the corpus (before the results line)
        if its model reached new coverage. Whole or not at all as far as Ctrl-C goes."""
        with signals_deferred():
            return self._account(exporter, key, r, case_dir, confirmation, seconds, graph_doc, mutant, op_job)

    def _account(self, exporter: str, key: int | str, r: CaseResult, case_dir: str | None, confirmation: dict | None, seconds: float,
                 graph_doc: dict | None, mutant: dict | None, op_job: int | None) -> CaseResult:
        st = self.stats
        real = confirmation is None or confirmation["status"] == "confirmed"
        if not real:
            st.unconfirmed[confirmation["status"]] += 1
        cross = self._pair(r) if mutant is None and op_job is None else None  # mutants and op jobs differ per exporter
        bucket = bucket_key(r) if r.verdict.is_failure else None
        kept = False
        if case_dir:
            src = Path(case_dir)
            graph = inputs = None
            if r.verdict.is_failure:
                graph, inputs, stored = load_case_dir(src)
                r = replace(r, model=stored.model)  # mismatch signatures walk the exported model
            # keep the first few of each coarse bucket, and every case that may be a new bug
            if bucket is not None and (st.bucket_counter(bucket)[bucket] < self.config.keep_per_bucket or self.recorder.is_new(r)):
                dest = self.out / "cases" / src.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():  # a resumed case already kept before a kill: same seed, same content
                    shutil.rmtree(src, ignore_errors=True)
                else:
                    os.rename(src, dest)
                kept = True
            else:
                shutil.rmtree(src, ignore_errors=True)
                # kept by a run killed before its results line: this case is recorded only now, unkept
                shutil.rmtree(self.out / "cases" / src.name, ignore_errors=True)
            if graph is not None and real:
                self.recorder.submit(graph, inputs, r, op_job)  # filed before the results line: resume-safe
        new_items = None
        if self.feedback is not None:
            new_items = self.feedback.observe(exporter, r.coverage_items, graph_doc, f"{exporter} {key if mutant else f'seed {key}'}")
            st.corpus = len(self.feedback.corpus)
            st.mutants += mutant is not None
        st.cases += 1
        st.verdicts[(r.exporter, r.verdict.value)] += 1
        st.exporter_seconds[r.exporter] += seconds
        for k, v in r.timings.items():
            st.stage_seconds[k] += v
        if bucket is not None:
            counter = st.bucket_counter(bucket)  # a documented limitation is never a new bug
            if bucket not in counter and counter is st.buckets:
                st.last_new_bucket = st.elapsed
            counter[bucket] += 1
        if kept:
            st.kept += 1
        elif r.verdict is not Verdict.PASS:
            st.dropped += 1
        st.recent.append((time.monotonic(), st.cases))
        if len(st.recent) > 2000:
            del st.recent[:1000]
        line = results_line(r, seconds, bucket, kept, st.elapsed)
        if confirmation is not None:
            line["confirmation"] = confirmation
        if cross is not None:
            line["cross_exporter"] = cross.to_dict()
        if r.blame is not None:
            line["blame"] = r.blame.culprit.value
        if mutant is not None:
            line["mutant"] = mutant
        if op_job is not None:
            line["op_job"] = op_job
            line["export"] = (r.options or {}).get("export")
            labels = [a["label"] for a in (r.options or {}).get("differential", ())]
            if labels:
                line["differential"] = labels
        dyn = (r.options or {}).get("dynamic")
        if dyn is not None:  # exported with dynamic input sizes: what the export did, and where it failed
            line["export"] = (r.options or {}).get("export")
            line["dynamic"] = {"export": dyn.get("export"), "failed": dyn.get("failed"), "sizes": [s.get("verdict") for s in dyn.get("sizes", ())]}
        if new_items:
            line["new_coverage"] = new_items
        cuts = (r.options or {}).get("cuts")
        if cuts:
            line["cuts"] = [c["op"] for c in cuts]
            st.cut_cases += 1
            st.cuts.update(c["op"] for c in cuts)
        self.log.write(json.dumps(line, allow_nan=False, default=str) + "\n")
        self.log.flush()
        self.done.add((exporter, key))
        return r

    def _pair(self, r: CaseResult):
        """Cross-exporter differential: once every exporter has run a seed, compare their views.
        Only a compact record of the first results is kept (verdict and digests), until paired."""
        if len(self.config.exporters) < 2 or r.seed is None:
            return None
        waiting = self.partners.setdefault(r.seed, {})
        other = next((o for e, o in waiting.items() if e != r.exporter), None)
        if other is None:
            waiting[r.exporter] = CaseResult(
                seed=r.seed, exporter=r.exporter, opset_requested=r.opset_requested, opset=r.opset, verdict=r.verdict,
                input_mode=r.input_mode, output_digests=r.output_digests, graph_digest=r.graph_digest, inputs_digest=r.inputs_digest,
            )
            return None
        del self.partners[r.seed]
        cross = cross_exporter(other, r)
        self.stats.cross[cross.status] += 1
        if cross.status == "one_wrong" and cross.wrong:
            self.stats.one_wrong[cross.wrong] += 1
        return cross


def results_line(r: CaseResult, seconds: float, bucket: str | None, kept: bool, t: float) -> dict:
    w = r.worst
    return {
        "seed": r.seed, "exporter": r.exporter, "verdict": r.verdict.value, "opset": r.opset, "n_nodes": r.n_nodes,
        "error_type": r.error_type, "error_head": r.error_head, "worst_abs": w.max_abs if w else None,
        "bucket": bucket, "kept": kept, "seconds": round(seconds, 5), "t": round(t, 3),
        "timings": {k: round(v, 5) for k, v in r.timings.items()},
    }
