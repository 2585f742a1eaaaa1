"""Exporter-option differentials: the same graph and inputs exported with different options.

Eager PyTorch is the oracle of every variant; this module compares the *variants' outcomes* with
each other. When a variant's outcome differs from the baseline's and the two differ in exactly one
export option, that option is what breaks (or fixes) the case, and the :class:`Attribution` names
it the way a maintainer looks for the faulty code:

- ``optimize`` (dynamo only): "exporter optimizer" (the ONNX Script rewrite/fold passes);
- ``opset`` on dynamo: "opset conversion" (torchlib emits opset :data:`DYNAMO_NATIVE_OPSET` and
  the model is converted to any other requested opset);
- ``opset`` on TorchScript: "opset-specific symbolic" (each opset has its own symbolic functions);
- ``dynamic``: "dynamic shapes" (the same export with input dimensions dynamic, run at other sizes).

Invariants: only single-option differences are attributed (a variant differing from the baseline in
two options is compared with nothing); an outcome is (verdict, error type), so two failures with
different verdicts or exception types disagree too; a variant that did not produce an outcome
(skipped) is never compared. Also here: :func:`opset_drift`, an export that silently declares a
different opset than the one requested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from fuzzer.export import ExportOptions, Exporter

#: The opset the dynamo exporter's torchlib functions are written for; other opsets are converted.
from .stages import NATIVE_OPSET as DYNAMO_NATIVE_OPSET  # noqa: E402

LABEL_OPTIMIZER = "exporter optimizer"
LABEL_OPSET_CONVERSION = "opset conversion"
LABEL_OPSET_SYMBOLIC = "opset-specific symbolic"
LABEL_DYNAMIC = "dynamic shapes"


@dataclass(frozen=True)
class VariantOutcome:
    """What one export variant did: ``verdict`` is a verdict value ("pass", "numeric_mismatch",
    ...; "process_crash" when the case killed its process); ``opset`` is the opset the model
    declares (None when export failed)."""

    options: ExportOptions
    verdict: str
    error_type: str | None = None
    opset: int | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.verdict, None if self.passed else self.error_type)


@dataclass(frozen=True)
class Attribution:
    """Variant ``failing`` fails where ``other`` (one option apart) passes, or fails differently.

    ``label`` names the option for a maintainer; ``breaks`` is True when ``other`` passes (the
    option's value in ``failing`` is what breaks the case), False when both fail differently."""

    exporter: str
    option: str  # "optimize" | "opset"
    label: str
    failing: ExportOptions
    other: ExportOptions
    failing_verdict: str
    other_verdict: str
    breaks: bool

    @property
    def summary(self) -> str:
        fv, ov = getattr(self.failing, self.option), getattr(self.other, self.option)
        how = "passes" if self.breaks else f"gives {self.other_verdict}"
        return f"{self.label}: {self.failing_verdict} with {self.option}={fv}, {how} with {self.option}={ov}"

    def to_dict(self) -> dict:
        return {
            "exporter": self.exporter, "option": self.option, "label": self.label, "breaks": self.breaks,
            "failing": self.failing.to_dict(), "other": self.other.to_dict(),
            "failing_verdict": self.failing_verdict, "other_verdict": self.other_verdict, "summary": self.summary,
        }


def option_label(exporter: Exporter, option: str, a: ExportOptions, b: ExportOptions) -> str:
    """The maintainer-facing name of ``option`` (the one field in which ``a`` and ``b`` differ)."""
    if option == "optimize":
        return LABEL_OPTIMIZER
    if option == "opset":
        return LABEL_OPSET_CONVERSION if exporter is Exporter.DYNAMO else LABEL_OPSET_SYMBOLIC
    if option == "dynamic":
        return LABEL_DYNAMIC
    raise ValueError(f"unknown export option {option!r}")


def differing_options(a: ExportOptions, b: ExportOptions) -> list[str]:
    """Fields in which two variants of the same exporter differ (``optimize`` only counts for
    dynamo: TorchScript ignores it). Different exporters are not variants of each other."""
    if a.exporter is not b.exporter:
        raise ValueError("variants of different exporters are not compared")
    out = []
    if a.opset != b.opset:
        out.append("opset")
    if a.exporter is Exporter.DYNAMO and a.optimize != b.optimize:
        out.append("optimize")
    if a.dynamic != b.dynamic:
        out.append("dynamic")
    return out


def attribute(outcomes: Sequence[VariantOutcome], baseline: ExportOptions) -> list[Attribution]:
    """Attributions for every variant whose outcome differs from ``baseline``'s by one option.

    If the baseline fails and the variant passes, the baseline is the failing side (the baseline's
    value of the option breaks it). Returns [] when the baseline has no outcome."""
    by_opts = {o.options: o for o in outcomes}
    base = by_opts.get(baseline)
    if base is None:
        return []
    out = []
    for v in outcomes:
        if v.options.exporter is not baseline.exporter or v.options == baseline or v.key == base.key:
            continue
        diff = differing_options(v.options, baseline)
        if len(diff) != 1:
            continue
        (option,) = diff
        label = option_label(baseline.exporter, option, v.options, baseline)
        failing, other = (base, v) if v.passed else (v, base)
        out.append(Attribution(
            baseline.exporter.value, option, label, failing.options, other.options,
            failing.verdict, other.verdict, breaks=other.passed,
        ))
    return out


def opset_drift(requested: int | None, actual: int | None) -> bool:
    """True when an opset was requested, the model exists, and it declares another opset."""
    return requested is not None and actual is not None and requested != actual


def variant_set(exporter: Exporter, opsets: Sequence[int], default_opset: int, optimize_both: bool = True) -> tuple[ExportOptions, list[ExportOptions]]:
    """The baseline (``default_opset``, optimize on) and every variant one option away from it:
    each other opset (optimize on), and for dynamo optimize off at the default opset when
    ``optimize_both``. The baseline is the first element of the returned list."""
    base = ExportOptions(exporter, default_opset, True)
    variants = [base]
    if exporter is Exporter.DYNAMO and optimize_both:
        variants.append(ExportOptions(exporter, default_opset, False))
    for o in opsets:
        if o != default_opset:
            variants.append(ExportOptions(exporter, o, True))
    return base, variants
