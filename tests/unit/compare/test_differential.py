import pytest

from fuzzer.compare.differential import (
    LABEL_OPSET_CONVERSION,
    LABEL_OPSET_SYMBOLIC,
    LABEL_OPTIMIZER,
    VariantOutcome,
    attribute,
    differing_options,
    opset_drift,
    variant_set,
)
from fuzzer.export import ExportOptions, Exporter

DYN, TS = Exporter.DYNAMO, Exporter.TORCHSCRIPT
BASE = ExportOptions(DYN, 20, True)
NOOPT = ExportOptions(DYN, 20, False)
OLD = ExportOptions(DYN, 17, True)


def test_optimizer_only_failure_blames_the_optimizer_on_the_failing_side():
    # the baseline (optimize on) fails, the same export without the optimizer passes
    outs = [VariantOutcome(BASE, "numeric_mismatch", None, 20), VariantOutcome(NOOPT, "pass", None, 20)]
    (a,) = attribute(outs, BASE)
    assert (a.option, a.label, a.breaks) == ("optimize", LABEL_OPTIMIZER, True)
    assert a.failing == BASE and a.other == NOOPT
    assert a.summary == "exporter optimizer: numeric_mismatch with optimize=True, passes with optimize=False"


def test_old_opset_failure_blames_opset_conversion_for_dynamo_and_symbolics_for_torchscript():
    outs = [VariantOutcome(BASE, "pass", None, 20), VariantOutcome(OLD, "invalid_model", "ValidationError", 17)]
    (a,) = attribute(outs, BASE)
    assert (a.label, a.failing, a.other) == (LABEL_OPSET_CONVERSION, OLD, BASE)
    ts_base, ts7 = ExportOptions(TS, 20), ExportOptions(TS, 7)
    (b,) = attribute([VariantOutcome(ts_base, "pass"), VariantOutcome(ts7, "export_crash", "E")], ts_base)
    assert b.label == LABEL_OPSET_SYMBOLIC and b.failing == ts7


def test_agreeing_variants_and_two_option_differences_are_not_attributed():
    both_off = ExportOptions(DYN, 17, False)  # differs from the baseline in opset and optimize
    outs = [VariantOutcome(BASE, "pass"), VariantOutcome(NOOPT, "pass"), VariantOutcome(both_off, "export_crash", "E")]
    assert attribute(outs, BASE) == []


def test_different_failures_disagree_but_do_not_claim_the_option_breaks_it():
    outs = [VariantOutcome(BASE, "export_crash", "A"), VariantOutcome(OLD, "export_crash", "B")]
    (a,) = attribute(outs, BASE)
    assert a.breaks is False and a.failing == OLD and "gives export_crash" in a.summary


def test_optimize_flag_is_ignored_for_torchscript_and_missing_baseline_gives_nothing():
    ts_a, ts_b = ExportOptions(TS, 20, True), ExportOptions(TS, 20, False)
    assert attribute([VariantOutcome(ts_a, "pass"), VariantOutcome(ts_b, "numeric_mismatch")], ts_a) == []
    assert attribute([VariantOutcome(OLD, "pass")], BASE) == []


def test_opset_drift():
    assert opset_drift(17, 18) and not opset_drift(18, 18)
    assert not opset_drift(None, 20) and not opset_drift(17, None)


def test_variant_set_is_baseline_plus_one_option_away():
    base, vs = variant_set(DYN, (17, 18, 20, 23), 20)
    assert vs[0] == base == BASE
    assert set(vs) == {BASE, NOOPT, OLD, ExportOptions(DYN, 18), ExportOptions(DYN, 23)}
    _, ts = variant_set(TS, (7, 20), 20)
    assert ts == [ExportOptions(TS, 20), ExportOptions(TS, 7)]


def test_variants_of_different_exporters_are_never_compared():
    assert attribute([VariantOutcome(BASE, "pass"), VariantOutcome(ExportOptions(TS, 20), "numeric_mismatch")], BASE) == []
    with pytest.raises(ValueError):
        differing_options(BASE, ExportOptions(TS, 20))


def test_a_dynamic_variant_failing_where_the_static_baseline_passes_blames_dynamic_shapes():
    from fuzzer.compare.differential import LABEL_DYNAMIC, VariantOutcome, attribute
    from fuzzer.export import ExportOptions, Exporter

    base = ExportOptions(Exporter.DYNAMO, 18, True)
    dyn = ExportOptions(Exporter.DYNAMO, 18, True, dynamic=True)
    (a,) = attribute([VariantOutcome(base, "pass", None, 18), VariantOutcome(dyn, "numeric_mismatch", None, 18)], base)
    assert (a.option, a.label, a.failing, a.breaks) == ("dynamic", LABEL_DYNAMIC, dyn, True)
    assert "dynamic=True" in a.summary
