"""Statistics of a sweep: bootstrap intervals, paired and unpaired tests, Holm, TOST.

Plain functions over arrays. The tests themselves come from SciPy
(:func:`scipy.stats.wilcoxon`, :func:`scipy.stats.mannwhitneyu`,
:func:`scipy.stats.ttest_1samp`); written here by hand are only the pieces
SciPy does not have: Holm's step-down correction (SciPy has no
multiple-comparison module and statsmodels is not a dependency), the
rank-biserial effect sizes and the percentile bootstrap over seeds with one
shared resample per replicate (so a curve's interval at every step comes from
the same resampled seeds).

Conventions: ``a`` is the policy under test and ``b`` the reference; every
difference and effect size is ``a - b`` (positive: ``a`` larger). Seeds are
along axis 0. Pairs (or values) with a NaN are left out, and every result
reports the ``n`` it was computed from.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "Comparison",
    "ConfidenceInterval",
    "Equivalence",
    "bootstrap_ci",
    "compare",
    "holm",
    "rank_biserial_paired",
    "rank_biserial_unpaired",
    "tost_paired",
]


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with its confidence interval.

    Attributes:
        estimate: The statistic on the data, `()` or `(T,)`.
        low: Lower bound, same shape.
        high: Upper bound, same shape.
        confidence: Coverage of the interval (e.g. ``0.95``).
        n: Number of (non-NaN) samples along the resampled axis, `()` or `(T,)`.
    """

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    n: np.ndarray


@dataclass(frozen=True)
class Comparison:
    """A policy compared to the reference on one metric at one step.

    Attributes:
        test: ``"wilcoxon"`` (paired by seed) or ``"mannwhitneyu"`` (unpaired).
        n_a: Samples of the policy used.
        n_b: Samples of the reference used (equal to ``n_a`` when paired).
        statistic: The test statistic as SciPy reports it.
        p_value: Two-sided p-value (NaN when there is too little data).
        median_difference: Paired: median of ``a - b``; unpaired: ``median(a) - median(b)``.
        difference_low: Lower bound of the bootstrap CI of ``median_difference``.
        difference_high: Upper bound.
        rank_biserial: Rank-biserial correlation in ``[-1, 1]`` (positive: ``a`` larger).
    """

    test: str
    n_a: int
    n_b: int
    statistic: float
    p_value: float
    median_difference: float
    difference_low: float
    difference_high: float
    rank_biserial: float

    @property
    def paired(self) -> bool:
        """True for the paired (Wilcoxon signed-rank) test."""
        return self.test == "wilcoxon"


@dataclass(frozen=True)
class Equivalence:
    """Result of a two one-sided tests (TOST) equivalence test.

    Attributes:
        p_value: ``max(p_lower, p_upper)``; equivalence is shown when it is below alpha.
        p_lower: p-value of H0 ``mean(a - b) <= low``.
        p_upper: p-value of H0 ``mean(a - b) >= high``.
        mean_difference: Mean of ``a - b``.
        ci_low: Lower bound of the ``1 - 2 alpha`` confidence interval of the mean difference.
        ci_high: Upper bound.
        margin: ``(low, high)``: the equivalence bounds.
        n: Number of pairs used.
        equivalent: ``p_value < alpha`` (equivalently, the CI lies inside the margin).
    """

    p_value: float
    p_lower: float
    p_upper: float
    mean_difference: float
    ci_low: float
    ci_high: float
    margin: tuple[float, float]
    n: int
    equivalent: bool


def bootstrap_ci(
    values: np.ndarray,
    *,
    statistic: Callable[..., np.ndarray] = np.nanmean,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.Generator = 0,
) -> ConfidenceInterval:
    """Percentile bootstrap confidence interval over seeds (axis 0).

    Each replicate resamples whole seeds (rows) with replacement, so the
    interval of a curve at every step comes from the same resampled seeds.

    Args:
        values: `(n,)` values or `(n, T)` curves (one row per seed); NaN marks
            a missing value and is ignored by the default statistic.
        statistic: Reduces axis 0, called as ``statistic(x, axis=0)``;
            default :func:`numpy.nanmean`.
        confidence: Coverage of the interval, in ``(0, 1)``.
        n_boot: Bootstrap replicates.
        seed: Seed or generator of the resampling.

    Returns:
        The statistic with its interval, each of shape `()` or `(T,)`. With a
        single seed the interval collapses to the estimate; where every value
        is NaN everything is NaN.

    Raises:
        ValueError: ``values`` is not 1-D or 2-D, or ``confidence``/``n_boot``
            is out of range.

    Example:
        >>> ci = bootstrap_ci(np.array([1.0, 2.0, 3.0, 4.0]), n_boot=500)
        >>> float(ci.estimate), bool(ci.low <= 2.5 <= ci.high)
        (2.5, True)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2):
        raise ValueError(f"values: expected (n,) or (n, T), got shape {x.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    n = np.sum(np.isfinite(x), axis=0)
    nan_shape = x.shape[1:]
    if x.shape[0] == 0 or not np.any(n):
        nan = np.full(nan_shape, np.nan)
        return ConfidenceInterval(nan, nan.copy(), nan.copy(), confidence, n)
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        estimate = np.asarray(statistic(x, axis=0), dtype=float)
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
        boot = np.stack([np.asarray(statistic(x[r], axis=0), dtype=float) for r in rows])
        tail = (1 - confidence) / 2 * 100
        low, high = np.nanpercentile(boot, [tail, 100 - tail], axis=0)
    missing = n == 0
    low, high = np.where(missing, np.nan, low), np.where(missing, np.nan, high)
    return ConfidenceInterval(estimate, np.asarray(low), np.asarray(high), confidence, n)


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Sort the ``m`` p-values ascending; the ``i``-th (from 0) is multiplied by
    ``m - i``, a running maximum keeps the order, and values are capped at 1.
    Rejecting where the adjusted p-value is below alpha controls the
    family-wise error rate at alpha. NaN p-values are left out of the family
    and stay NaN.

    Args:
        p_values: `(m,)` p-values of one family.

    Returns:
        `(m,)` adjusted p-values in the input order.

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size == 0:
        return adjusted
    order = finite[np.argsort(p[finite], kind="stable")]
    m = order.size
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def rank_biserial_paired(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of differences ``a - b``.

    ``(R+ - R-) / (R+ + R-)`` where ``R+``/``R-`` are the rank sums of the
    positive/negative differences, ranked by absolute value with zeros left out
    (as :func:`scipy.stats.wilcoxon` does by default). NaN without a nonzero
    difference.

    Args:
        differences: `(n,)` paired differences.

    Returns:
        The correlation in ``[-1, 1]``; positive when ``a`` tends to be larger.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    if d.size == 0:
        return math.nan
    ranks = stats.rankdata(np.abs(d))
    plus, minus = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((plus - minus) / (plus + minus))


def rank_biserial_unpaired(a: np.ndarray, b: np.ndarray) -> float:
    """Rank-biserial correlation of two independent samples: ``2 U_a / (n_a n_b) - 1``.

    ``U_a`` counts the pairs with ``a > b`` (ties count one half), so the
    result is the probability that ``a`` is larger minus the probability that
    it is smaller.

    Args:
        a: `(n_a,)` values.
        b: `(n_b,)` values.

    Returns:
        The correlation in ``[-1, 1]``, NaN when a sample is empty.
    """
    a = _finite(a)
    b = _finite(b)
    if a.size == 0 or b.size == 0:
        return math.nan
    greater = np.sum(a[:, None] > b[None, :]) + 0.5 * np.sum(a[:, None] == b[None, :])
    return float(2 * greater / (a.size * b.size) - 1)


def compare(
    a: np.ndarray,
    b: np.ndarray,
    *,
    paired: bool,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.Generator = 0,
) -> Comparison:
    """Compare a policy ``a`` with the reference ``b`` (two-sided).

    Paired (the same seeds, in the same order, so the same initial points):
    Wilcoxon signed-rank test on ``a - b`` (pairs with a NaN left out; all
    differences zero gives p = 1). Unpaired: Mann–Whitney U test. The median
    difference gets a percentile bootstrap interval (paired: resampled pairs;
    unpaired: each sample resampled on its own).

    Args:
        a: `(n,)` values of the policy, one per seed.
        b: `(n,)` values of the reference (`(m,)` when unpaired).
        paired: Pair ``a[i]`` with ``b[i]``.
        confidence: Coverage of the median-difference interval.
        n_boot: Bootstrap replicates.
        seed: Seed or generator of the bootstrap.

    Returns:
        The comparison (p-value NaN when there is no usable data).

    Raises:
        ValueError: ``paired`` with samples of different lengths.

    Example:
        >>> a, b = np.array([3.0, 4.0, 5.0, 6.0]), np.array([1.0, 1.5, 2.0, 2.5])
        >>> c = compare(a, b, paired=True, n_boot=200)
        >>> c.test, c.median_difference, c.rank_biserial
        ('wilcoxon', 2.75, 1.0)
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    nan = math.nan
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired samples must have equal lengths, got {a.size} and {b.size}")
        d = (a - b)[np.isfinite(a) & np.isfinite(b)]
        n = d.size
        if n == 0:
            return Comparison("wilcoxon", 0, 0, nan, nan, nan, nan, nan, nan)
        if np.all(d == 0):
            statistic, p_value = 0.0, 1.0
        else:
            result = stats.wilcoxon(d)
            statistic, p_value = float(result.statistic), float(result.pvalue)
        ci = bootstrap_ci(
            d, statistic=np.nanmedian, confidence=confidence, n_boot=n_boot, seed=seed
        )
        return Comparison(
            "wilcoxon",
            n,
            n,
            statistic,
            p_value,
            float(np.median(d)),
            float(ci.low),
            float(ci.high),
            rank_biserial_paired(d),
        )
    a, b = _finite(a), _finite(b)
    if a.size == 0 or b.size == 0:
        return Comparison("mannwhitneyu", a.size, b.size, nan, nan, nan, nan, nan, nan)
    result = stats.mannwhitneyu(a, b, alternative="two-sided")
    rng = np.random.default_rng(seed)
    boot = np.array(
        [np.median(rng.choice(a, a.size)) - np.median(rng.choice(b, b.size)) for _ in range(n_boot)]
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return Comparison(
        "mannwhitneyu",
        a.size,
        b.size,
        float(result.statistic),
        float(result.pvalue),
        float(np.median(a) - np.median(b)),
        float(low),
        float(high),
        rank_biserial_unpaired(a, b),
    )


def tost_paired(
    a: np.ndarray,
    b: np.ndarray,
    margin: float | tuple[float, float],
    *,
    alpha: float = 0.05,
) -> Equivalence:
    """Paired two one-sided t-tests (TOST): is ``mean(a - b)`` inside the margin?

    H0: ``mean(a - b) <= low`` or ``mean(a - b) >= high``; rejecting both
    one-sided nulls (``p_value = max(p_lower, p_upper) < alpha``) shows
    equivalence, which is the same as the ``1 - 2 alpha`` confidence interval
    of the mean difference lying inside ``(low, high)``.

    Args:
        a: `(n,)` values of one policy, one per seed.
        b: `(n,)` values of the other, same seeds in the same order.
        margin: ``m > 0`` for ``(-m, m)``, or ``(low, high)`` with ``low < high``.
        alpha: Level of each one-sided test.

    Returns:
        The equivalence test (NaN p-values with fewer than two pairs).

    Raises:
        ValueError: Bad margin or samples of different lengths.

    Example:
        >>> a = np.array([1.00, 1.02, 0.98, 1.01, 0.99, 1.00])
        >>> tost_paired(a, a + 0.005, 0.05).equivalent
        True
    """
    if isinstance(margin, tuple):
        low, high = (float(v) for v in margin)
    else:
        low, high = -abs(float(margin)), abs(float(margin))
    if not low < high:
        raise ValueError(f"margin must give low < high, got ({low}, {high})")
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have equal lengths, got {a.size} and {b.size}")
    d = (a - b)[np.isfinite(a) & np.isfinite(b)]
    n = d.size
    nan = math.nan
    if n < 2:
        mean = float(d.mean()) if n else nan
        return Equivalence(nan, nan, nan, mean, nan, nan, (low, high), n, False)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    if se == 0:
        inside = low < mean < high
        p_lower = 0.0 if mean > low else 1.0
        p_upper = 0.0 if mean < high else 1.0
        p = 0.0 if inside else 1.0
        return Equivalence(p, p_lower, p_upper, mean, mean, mean, (low, high), n, inside)
    p_lower = float(stats.ttest_1samp(d, low, alternative="greater").pvalue)
    p_upper = float(stats.ttest_1samp(d, high, alternative="less").pvalue)
    t = float(stats.t.ppf(1 - alpha, n - 1))
    p = max(p_lower, p_upper)
    return Equivalence(
        p, p_lower, p_upper, mean, mean - t * se, mean + t * se, (low, high), n, p < alpha
    )


def _finite(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


@contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    """Silence numpy's empty-slice warnings: all-NaN columns give NaN on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Degrees of freedom", RuntimeWarning)
        yield
