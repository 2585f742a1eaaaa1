"""False-positive control: how often does the comparison cry wolf on graphs known to be good?

A *known-good* graph is one whose case passes on its first inputs (seed ``s``, ``normal`` mode).
It is re-run on fresh inputs (another seed, same mode): any mismatch there counts as a false
mismatch (an upper bound: a real bug that the first inputs did not trigger counts too, which
:func:`confirm_mismatch` then tells apart). Each re-run is judged three ways, on the same graph and
the same inputs:

- ``dtype_only``: the old rule, one tolerance per dtype (:func:`compare_outputs` without policy);
- ``policy``: the tolerance policy (per-op-family widening) and the tie ambiguities
  (the verdict :func:`run_graph` gives);
- ``confirmed``: ``policy`` mismatches that :func:`confirm_mismatch` still calls ``confirmed``
  (numeric noise removed). The target is below 1 in 1,000 re-runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from fuzzer.compare import Verdict, compare_outputs
from fuzzer.execute import run_eager
from fuzzer.execute.oracles import OracleConfig
from fuzzer.export import ExportOptions
from fuzzer.generate import GenerationError, GeneratorOptions, generate, make_inputs
from fuzzer.materialize import build_module

from .run import run_graph
from .confirm import confirm_mismatch, second_seed

#: Operators whose exports ONNX Runtime runs correctly on well-conditioned inputs (observed on the
#: pinned stack): the "graphs of operators where exporter and runtime agree" population.
KNOWN_GOOD_OPS: tuple[str, ...] = (
    "abs", "neg", "sin", "cos", "tanh", "sigmoid", "exp", "log", "sqrt", "relu", "gelu", "silu", "softplus", "elu",
    "add", "sub", "mul", "div", "maximum", "minimum", "add_scalar", "mul_scalar", "where", "clamp", "lerp", "addcmul",
    "sum", "mean", "amax", "amin", "logsumexp", "softmax", "log_softmax", "cumsum",
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "expand", "repeat", "flip", "cat", "stack",
    "slice", "narrow", "matmul", "linear", "conv2d", "max_pool2d", "avg_pool2d", "layer_norm",
)


@dataclass(frozen=True)
class Rerun:
    """One known-good graph re-run on fresh inputs."""

    seed: int
    exporter: str
    dtype_only_mismatch: bool
    policy_verdict: Verdict
    confirmation: str | None  # confirm_mismatch status for a policy mismatch
    head: str | None

    def to_dict(self) -> dict:
        return {"seed": self.seed, "exporter": self.exporter, "dtype_only_mismatch": self.dtype_only_mismatch, "policy_verdict": self.policy_verdict.value, "confirmation": self.confirmation, "head": self.head}


@dataclass
class FalsePositiveReport:
    graphs: int = 0  # graphs generated
    known_good: int = 0  # of those, passing on their first inputs
    skipped: dict = field(default_factory=dict)  # reason -> count
    reruns: list[Rerun] = field(default_factory=list)

    def count(self, which: str) -> int:
        if which == "dtype_only":
            return sum(r.dtype_only_mismatch for r in self.reruns)
        if which == "policy":
            return sum(r.policy_verdict.is_failure for r in self.reruns)
        if which == "ambiguous":
            return sum(r.policy_verdict is Verdict.AMBIGUOUS for r in self.reruns)
        if which == "confirmed":
            return sum(r.confirmation == "confirmed" for r in self.reruns)
        raise ValueError(which)

    def rate(self, which: str) -> str:
        """As a ratio, e.g. ``"3/2000"``."""
        return f"{self.count(which)}/{len(self.reruns)}"

    def to_dict(self) -> dict:
        return {
            "graphs": self.graphs, "known_good": self.known_good, "skipped": dict(self.skipped), "reruns": len(self.reruns),
            "false_mismatches": {w: self.rate(w) for w in ("dtype_only", "policy", "ambiguous", "confirmed")},
            "examples": [r.to_dict() for r in self.reruns if r.dtype_only_mismatch or r.policy_verdict is not Verdict.PASS][:50],
        }


def rerun_known_good(
    seeds: Iterable[int], export: ExportOptions, generator: GeneratorOptions, confirm: bool = True
) -> Iterator[tuple[str, Rerun | None]]:
    """For each seed: ("skipped:<reason>", None), or ("rerun", Rerun) for a known-good graph.
    A generator, so a caller can stream, stop, and survive a crash between seeds."""
    no_oracles = OracleConfig(when="never")  # blame is not what is measured here
    for seed in seeds:
        try:
            graph = generate(seed, generator)
        except GenerationError:
            yield "skipped:generation failed", None
            continue
        first = make_inputs(graph, seed, "normal")
        (r1,) = run_graph(graph, first, [export], seed=seed, oracles=no_oracles)
        if r1.verdict is not Verdict.PASS:
            yield f"skipped:first run {r1.verdict.value}", None
            continue
        inputs = make_inputs(graph, second_seed(seed), "normal")
        (r2,) = run_graph(graph, inputs, [export], seed=seed, oracles=no_oracles)
        eager = run_eager(build_module(graph), inputs)
        old = bool(r2.outputs) and eager.ok and not all(d.ok for d in compare_outputs(eager.outputs, r2.outputs))
        conf = None
        if confirm and r2.verdict.is_failure:
            conf = confirm_mismatch(graph, inputs, r2, float64_pipeline=False).status
        yield "rerun", Rerun(seed, r2.exporter, old or r2.verdict.is_failure and not r2.outputs, r2.verdict, conf, r2.error_head)
