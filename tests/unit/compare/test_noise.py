import numpy as np

from fuzzer.compare.noise import noise_scaled_compare


def test_unstable_elements_are_skipped_and_stable_ones_judged():
    e = [np.array([0.0, 1.0, 2.0], np.float32)]  # float32 eager
    w = [np.array([0.5, 1.0, 2.0])]  # float64 eager: element 0 is unstable (cancellation)
    diffs, skipped = noise_scaled_compare(e, w, [np.array([0.9, 1.0, 2.0], np.float32)])
    assert skipped == 1 and diffs[0].ok
    diffs, _ = noise_scaled_compare(e, w, [np.array([0.0, 1.0, 2.5], np.float32)])
    assert not diffs[0].ok  # element 2 is stable, and ORT is far from it


def test_slack_scales_with_the_observed_rounding_sensitivity():
    e = [np.array([1.0], np.float32)]
    w = [np.array([1.0009])]  # within float32 tolerance of e: stable, gap 9e-4
    diffs, skipped = noise_scaled_compare(e, w, [np.array([1.004], np.float32)])
    assert skipped == 0 and diffs[0].ok  # 4e-3 <= 1e-3 + 4 * 9e-4 (+ atol)
    diffs, _ = noise_scaled_compare(e, w, [np.array([1.01], np.float32)])
    assert not diffs[0].ok


def test_int_outputs_are_unstable_only_where_float64_changes_them():
    e, w = [np.array([1, 2], np.int64)], [np.array([1, 3], np.int64)]
    diffs, skipped = noise_scaled_compare(e, w, [np.array([1, 7], np.int64)])
    assert skipped == 1 and diffs[0].ok
    diffs, _ = noise_scaled_compare(e, w, [np.array([0, 2], np.int64)])
    assert not diffs[0].ok


def test_missing_outputs_stay_missing():
    diffs, _ = noise_scaled_compare([np.zeros(2, np.float32)] * 2, [np.zeros(2)] * 2, [np.zeros(2, np.float32)])
    assert [d.kind for d in diffs] == ["ok", "missing"]


def test_perturbed_run_catches_sensitivity_eager_was_lucky_to_miss():
    e, w = [np.array([0.0], np.float32)], [np.array([0.0])]  # eager exact by luck
    p = [np.array([3.0])]  # one input rounding moves the exact result by 3: a cancelling sum
    diffs, skipped = noise_scaled_compare(e, w, [np.array([-2.0], np.float32)], perturbed=p)
    assert skipped == 1 and diffs[0].ok
    diffs, _ = noise_scaled_compare(e, w, [np.array([-2.0], np.float32)])
    assert not diffs[0].ok
