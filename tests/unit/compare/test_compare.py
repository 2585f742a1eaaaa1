import numpy as np

from fuzzer.compare import Verdict, compare_outputs
from fuzzer.compare.verdict import DESCRIPTIONS


def kinds(e, a):
    return [d.kind for d in compare_outputs(e, a)]


def test_nan_and_inf_positions_are_compared_as_such():
    e = np.array([np.nan, 1.0, np.inf], dtype=np.float32)
    assert kinds([e], [e.copy()]) == ["ok"]
    assert kinds([e], [np.array([0.0, 1.0, np.inf], np.float32)]) == ["nan"]
    assert kinds([e], [np.array([np.nan, 1.0, -np.inf], np.float32)]) == ["inf"]


def test_tolerance_depends_on_dtype():
    e = np.array([1.0], np.float32)
    assert kinds([e], [np.array([1.0005], np.float32)]) == ["ok"]
    assert kinds([e.astype(np.float64)], [np.array([1.0005])]) == ["value"]
    assert kinds([np.array([1.0], np.float16)], [np.array([1.005], np.float16)]) == ["ok"]


def test_integers_and_bools_are_exact():
    assert kinds([np.array([3], np.int64)], [np.array([4], np.int64)]) == ["value"]
    assert kinds([np.array([True])], [np.array([False])]) == ["value"]


def test_every_output_is_compared_even_after_a_bad_one():
    e = [np.zeros(2, np.float32), np.zeros(3, np.float32), np.ones(1, np.int32)]
    a = [np.zeros(3, np.float32), np.zeros(3, np.float64), np.zeros(1, np.int32)]
    assert kinds(e, a) == ["shape", "dtype", "value"]


def test_missing_and_extra_outputs():
    assert kinds([np.zeros(1), np.zeros(1)], [np.zeros(1)]) == ["ok", "missing"]
    assert kinds([np.zeros(1)], [np.zeros(1), np.zeros(1)]) == ["ok", "missing"]


def test_empty_and_rank0():
    assert kinds([np.zeros((0, 3), np.float32)], [np.zeros((0, 3), np.float32)]) == ["ok"]
    assert kinds([np.float32(2.0).reshape(())], [np.float32(2.0).reshape(())]) == ["ok"]


def test_verdict_descriptions_are_total():
    assert set(DESCRIPTIONS) == set(Verdict)
    assert not Verdict.EAGER_ERROR.is_failure and not Verdict.PASS.is_failure
    assert all(v.is_failure for v in Verdict if v not in (Verdict.PASS, Verdict.EAGER_ERROR, Verdict.AMBIGUOUS))
    assert not Verdict.AMBIGUOUS.is_failure
