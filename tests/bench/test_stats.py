"""Statistics of a sweep, checked against SciPy and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from autoscope.bench.stats import (
    bootstrap_ci,
    compare,
    holm,
    rank_biserial_paired,
    rank_biserial_unpaired,
    tost_paired,
)


def test_holm_hand_example():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_skips_nan():
    adjusted = holm([0.5, np.nan, 0.4, 0.01])
    np.testing.assert_allclose(adjusted, [0.8, np.nan, 0.8, 0.03])
    assert holm([0.6, 0.7])[1] == 1.0
    assert np.isnan(holm([np.nan])).all()
    assert holm([]).shape == (0,)


def test_holm_rejects_what_the_procedure_rejects():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.uniform(0, 0.1, size=6)
        order = np.argsort(p)
        reject = np.zeros(6, dtype=bool)
        for i, j in enumerate(order):  # the textbook step-down procedure
            if p[j] > 0.05 / (6 - i):
                break
            reject[j] = True
        np.testing.assert_array_equal(holm(p) <= 0.05, reject)


def test_bootstrap_ci_covers_the_mean_and_is_seeded():
    x = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 2.5])
    ci = bootstrap_ci(x, n_boot=2000, seed=1)
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.low < x.mean() < ci.high
    assert x.min() <= ci.low and ci.high <= x.max()
    again = bootstrap_ci(x, n_boot=2000, seed=1)
    assert (again.low, again.high) == (ci.low, ci.high)
    assert int(ci.n) == 6


def test_bootstrap_ci_coverage_is_near_nominal():
    rng = np.random.default_rng(0)
    hits = 0
    trials = 150
    for k in range(trials):
        ci = bootstrap_ci(rng.normal(2.0, 1.0, size=25), n_boot=400, seed=k)
        hits += ci.low <= 2.0 <= ci.high
    assert 0.85 <= hits / trials <= 1.0


def test_bootstrap_ci_of_curves_handles_nan_and_single_seed():
    curves = np.array([[0.1, 0.2, np.nan], [0.3, 0.4, np.nan], [0.2, 0.3, 0.5]])
    ci = bootstrap_ci(curves, n_boot=500)
    assert ci.estimate.shape == (3,)
    np.testing.assert_allclose(ci.estimate, [0.2, 0.3, 0.5])
    np.testing.assert_array_equal(ci.n, [3, 3, 1])
    assert np.all(ci.low <= ci.estimate) and np.all(ci.estimate <= ci.high)
    assert ci.low[2] == ci.high[2] == 0.5  # one value: a degenerate interval
    single = bootstrap_ci(np.array([[1.0, 2.0]]), n_boot=100)
    np.testing.assert_array_equal(single.low, [1.0, 2.0])
    empty = bootstrap_ci(np.full((2, 2), np.nan), n_boot=100)
    assert np.isnan(empty.estimate).all() and np.isnan(empty.low).all()


def test_bootstrap_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="values"):
        bootstrap_ci(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(np.zeros(3), confidence=1.5)


def test_paired_comparison_matches_scipy_wilcoxon():
    rng = np.random.default_rng(7)
    b = rng.normal(size=12)
    a = b + rng.normal(0.4, 0.5, size=12)
    c = compare(a, b, paired=True, n_boot=500)
    expected = stats.wilcoxon(a - b)
    assert c.test == "wilcoxon" and c.paired
    assert c.p_value == pytest.approx(expected.pvalue)
    assert c.statistic == pytest.approx(expected.statistic)
    assert c.median_difference == pytest.approx(np.median(a - b))
    assert c.difference_low <= c.median_difference <= c.difference_high
    assert c.n_a == c.n_b == 12


def test_paired_comparison_edge_cases():
    same = compare(np.ones(4), np.ones(4), paired=True, n_boot=100)
    assert same.p_value == 1.0 and np.isnan(same.rank_biserial)
    with_nan = compare(
        np.array([1.0, 2.0, np.nan, 4.0]), np.array([0.0, 0.5, 1.0, 1.0]), paired=True
    )
    assert with_nan.n_a == 3
    assert with_nan.p_value == pytest.approx(stats.wilcoxon([1.0, 1.5, 3.0]).pvalue)
    with pytest.raises(ValueError, match="equal lengths"):
        compare(np.ones(3), np.ones(4), paired=True)


def test_unpaired_comparison_matches_scipy_mannwhitneyu():
    a = np.array([3.1, 2.4, 5.0, 4.2, 3.3])
    b = np.array([1.0, 2.5, 2.0, 1.7, 3.0, 2.2])
    c = compare(a, b, paired=False, n_boot=500)
    expected = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert c.test == "mannwhitneyu" and not c.paired
    assert c.p_value == pytest.approx(expected.pvalue)
    assert c.median_difference == pytest.approx(np.median(a) - np.median(b))
    assert c.rank_biserial == pytest.approx(2 * expected.statistic / (a.size * b.size) - 1)
    assert c.difference_low <= c.median_difference <= c.difference_high


def test_rank_biserial_hand_values():
    # |d| ranks: 0.5 -> 1, 1 -> 2, -2 -> 3, 3 -> 4; R+ = 7, R- = 3 -> (7 - 3) / 10
    assert rank_biserial_paired(np.array([1.0, 0.5, -2.0, 3.0, 0.0])) == pytest.approx(0.4)
    assert rank_biserial_paired(np.array([1.0, 2.0])) == 1.0
    assert rank_biserial_unpaired(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    # pairs: (1 vs 1) tie, (1 vs 2) smaller, (3 vs 1), (3 vs 2) larger -> (2.5 / 4) * 2 - 1
    assert rank_biserial_unpaired(np.array([1.0, 3.0]), np.array([1.0, 2.0])) == 0.25


def test_tost_paired_matches_two_one_sided_t_tests():
    rng = np.random.default_rng(5)
    b = rng.normal(size=20)
    a = b + rng.normal(0.02, 0.05, size=20)
    result = tost_paired(a, b, 0.1)
    d = a - b
    p_low = stats.ttest_1samp(d, -0.1, alternative="greater").pvalue
    p_high = stats.ttest_1samp(d, 0.1, alternative="less").pvalue
    assert result.p_value == pytest.approx(max(p_low, p_high))
    assert result.equivalent
    assert -0.1 < result.ci_low < result.mean_difference < result.ci_high < 0.1
    assert result.margin == (-0.1, 0.1) and result.n == 20


def test_tost_paired_not_equivalent_and_edge_cases():
    a = np.array([1.0, 1.5, 0.7, 1.2])
    b = np.zeros(4)
    result = tost_paired(a, b, 0.1)
    assert not result.equivalent and result.p_value > 0.5
    assert tost_paired(a, b, (0.5, 2.0)).p_value < tost_paired(a, b, (-2.0, 0.5)).p_value
    constant = tost_paired(b + 0.01, b, 0.1)
    assert constant.equivalent and constant.p_value == 0.0
    assert np.isnan(tost_paired(np.ones(1), np.ones(1), 0.1).p_value)
    with pytest.raises(ValueError, match="margin"):
        tost_paired(a, b, (0.2, 0.1))
