"""Coverage: the fraction of groups of candidates that a campaign has measured.

A pool is partitioned once into groups (clusters of standardised patches,
clusters of VAE latents, bins of the ground-truth target); coverage after a
step is the fraction of *non-empty* groups holding at least one measured
candidate. The grouping is the expensive part and is computed once per pool;
:class:`CoverageTracker` then updates coverage in `O(k)` for `k` new points.

Target-space coverage bins every measured candidate by *its own* ground-truth
value, ``truth[i]`` for measured index ``i``. (A published implementation
looked up the bin at a different index; the tests pin the correct behaviour
on a hand-made case.)

Random projection and k-means come from scikit-learn; only the bookkeeping
(standardisation, bins, incremental counting) is written here.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.cluster import KMeans
from sklearn.random_projection import GaussianRandomProjection

from autoscope.errors import DataError

__all__ = [
    "CoverageTracker",
    "coverage",
    "feature_space_clusters",
    "patch_space_clusters",
    "standardize_patches",
    "target_bins",
]

BinKind = Literal["equal-width", "quantile"]

#: k-means restarts; fixed so that a seed fully determines the clusters.
KMEANS_N_INIT = 3


def _as_seed(seed: int | np.random.Generator) -> int:
    """An integer seed for scikit-learn from an int or a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise DataError(f"seed must be an int or numpy.random.Generator, got {type(seed).__name__}")
    return int(seed)


def _check_finite(name: str, values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))[0])
        raise DataError(f"{name} must be finite; candidate {bad} holds NaN or inf")


def standardize_patches(patches: np.ndarray) -> np.ndarray:
    """Standardise each patch to zero mean and unit variance.

    Args:
        patches: Patches `(N, w, w)` or flattened features `(N, F)`.

    Returns:
        Standardised rows `(N, F)` float64; a constant patch becomes all zeros.

    Raises:
        DataError: If the array has fewer than two dimensions or holds NaN/inf.
    """
    patches = np.asarray(patches)
    if patches.ndim < 2 or len(patches) == 0:
        raise DataError(
            f"patches must be a non-empty (N, w, w) or (N, F) array, got shape {patches.shape}"
        )
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    _check_finite("patches", flat)
    centred = flat - flat.mean(axis=1, keepdims=True)
    std = centred.std(axis=1, keepdims=True)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0)


def _kmeans_labels(x: np.ndarray, n_clusters: int, seed: int, what: str) -> np.ndarray:
    """k-means labels `(N,)` with K capped at the number of distinct rows."""
    if int(n_clusters) < 1:
        raise DataError(f"{what}: n_clusters must be >= 1, got {n_clusters}")
    n_distinct = len(np.unique(x, axis=0))
    k = min(int(n_clusters), n_distinct)
    if k == 1:
        return np.zeros(len(x), dtype=np.int64)
    km = KMeans(n_clusters=k, n_init=KMEANS_N_INIT, random_state=seed)
    return km.fit_predict(x).astype(np.int64)


def patch_space_clusters(
    patches: np.ndarray,
    *,
    n_clusters: int = 100,
    n_components: int = 32,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Cluster all candidates of a pool in patch space.

    Each patch is standardised on its own (mean 0, variance 1; a constant patch
    becomes zeros), projected to ``n_components`` dimensions with a Gaussian
    random projection, and clustered with k-means (``n_init`` fixed, seeded).

    The number of clusters is ``min(n_clusters, number of distinct projected
    patches)``: with fewer candidates than ``n_clusters`` (``N < K``) every
    candidate is its own cluster, and duplicate patches (e.g. many blank ones)
    never ask k-means for more clusters than there are distinct points. When a
    patch has at most ``n_components`` pixels it is clustered without
    projection.

    Args:
        patches: Patches `(N, w, w)` or flattened features `(N, F)`.
        n_clusters: Number of clusters ``K``.
        n_components: Dimension of the random projection.
        seed: Seed of the projection and of k-means.

    Returns:
        Cluster label of every candidate, `(N,)` int64 in ``[0, K)``.

    Raises:
        DataError: If the patches are empty or not finite, or an option is out of range.
    """
    seed = _as_seed(seed)
    x = standardize_patches(patches)
    if int(n_components) < 1:
        raise DataError(f"n_components must be >= 1, got {n_components}")
    if x.shape[1] > int(n_components):
        projection = GaussianRandomProjection(n_components=int(n_components), random_state=seed)
        x = projection.fit_transform(x)
    return _kmeans_labels(x, n_clusters, seed, "patch_space_clusters")


def feature_space_clusters(
    latents: np.ndarray,
    *,
    n_clusters: int = 80,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Cluster all candidates in a learned feature space (e.g. VAE latents).

    The latents are clustered as given (no scaling); ``K`` is capped at the
    number of distinct latent vectors, as in :func:`patch_space_clusters`.

    Args:
        latents: Feature vectors `(N, d)`.
        n_clusters: Number of clusters ``K``.
        seed: Seed of k-means.

    Returns:
        Cluster label of every candidate, `(N,)` int64 in ``[0, K)``.

    Raises:
        DataError: If the latents are not a finite non-empty `(N, d)` array.
    """
    seed = _as_seed(seed)
    latents = np.asarray(latents, dtype=np.float64)
    if latents.ndim != 2 or len(latents) == 0:
        raise DataError(f"latents must be a non-empty (N, d) array, got shape {latents.shape}")
    _check_finite("latents", latents)
    return _kmeans_labels(latents, n_clusters, seed, "feature_space_clusters")


def target_bins(
    truth: np.ndarray,
    *,
    n_bins: int = 100,
    kind: BinKind = "equal-width",
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Bin every candidate by its own ground-truth value.

    ``"equal-width"``: ``n_bins`` bins of equal width over ``value_range``
    (default: ``[truth.min(), truth.max()]``); each bin is half-open
    ``[lo + b·h, lo + (b+1)·h)`` except the last, which includes ``hi``. A
    constant truth puts every candidate in bin 0.

    ``"quantile"``: bins of (nearly) equal counts. Candidates are ranked by
    value and candidate of rank ``r`` (0-based) goes to bin
    ``floor(r · B / N)``, so without ties every bin holds ``N // B`` or
    ``N // B + 1`` candidates. Tied values always share one bin: a tie takes
    the rank of its first member (``scipy.stats.rankdata(method="min")``), so
    heavy ties fill fewer than ``B`` bins and some bin indices stay empty
    (coverage counts only non-empty bins). Bins are monotone in the value.

    Args:
        truth: Ground-truth scalar per candidate, `(N,)`.
        n_bins: Number of bins ``B``.
        kind: ``"equal-width"`` or ``"quantile"``.
        value_range: ``(lo, hi)`` of the equal-width bins; every value must lie
            inside it (nothing is clipped). Ignored by quantile bins.

    Returns:
        Bin index of every candidate, `(N,)` int64 in ``[0, B)``.

    Raises:
        DataError: If ``truth`` is not a finite non-empty `(N,)` array, a value
            lies outside ``value_range``, or an option is invalid.

    Example:
        >>> target_bins(np.array([0.0, 0.05, 0.52, 0.98, 1.0]), n_bins=10).tolist()
        [0, 0, 5, 9, 9]
    """
    truth = np.asarray(truth, dtype=np.float64)
    if truth.ndim != 1 or len(truth) == 0:
        raise DataError(f"truth must be a non-empty (N,) array, got shape {truth.shape}")
    _check_finite("truth", truth)
    n_bins = int(n_bins)
    if n_bins < 1:
        raise DataError(f"n_bins must be >= 1, got {n_bins}")
    if kind == "quantile":
        from scipy.stats import rankdata

        ranks = rankdata(truth, method="min").astype(np.int64) - 1
        return (ranks * n_bins) // len(truth)
    if kind != "equal-width":
        raise DataError(f"unknown bin kind {kind!r}; expected 'equal-width' or 'quantile'")
    if value_range is None:
        lo, hi = float(truth.min()), float(truth.max())
    else:
        lo, hi = (float(v) for v in value_range)
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
            raise DataError(f"value_range must be finite with lo <= hi, got {value_range}")
        outside = (truth < lo) | (truth > hi)
        if outside.any():
            first = int(np.argmax(outside))
            raise DataError(
                f"{int(outside.sum())} truth values lie outside value_range {value_range} "
                f"(first: candidate {first} = {truth[first]})"
            )
    if hi == lo:
        return np.zeros(len(truth), dtype=np.int64)
    bins = np.floor((truth - lo) / (hi - lo) * n_bins).astype(np.int64)
    return np.minimum(bins, n_bins - 1)


def _as_labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise DataError(f"labels must be a non-empty (N,) array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.min() < 0:
        raise DataError(f"labels must be >= 0, got {int(labels.min())}")
    return labels.astype(np.int64, copy=False)


def _as_indices(indices: np.ndarray, n: int) -> np.ndarray:
    indices = np.atleast_1d(np.asarray(indices))
    if indices.ndim != 1:
        raise DataError(f"measured indices must be (k,), got shape {indices.shape}")
    if indices.size == 0:
        return indices.astype(np.int64)
    if not np.issubdtype(indices.dtype, np.integer):
        raise DataError(f"measured indices must be integers, got dtype {indices.dtype}")
    bad = (indices < 0) | (indices >= n)
    if bad.any():
        raise DataError(
            f"measured index {int(indices[np.argmax(bad)])} is outside the pool of {n} candidates"
        )
    return indices.astype(np.int64, copy=False)


def coverage(labels: np.ndarray, measured_indices: np.ndarray) -> float:
    """Fraction of non-empty groups holding at least one measured candidate.

    The from-scratch reference for :class:`CoverageTracker`.

    Args:
        labels: Group of every candidate, `(N,)` non-negative ints.
        measured_indices: Pool indices measured so far, `(M,)`; repeats are fine.

    Returns:
        Coverage in ``[0, 1]``; 0 when nothing is measured.

    Example:
        >>> coverage(np.array([0, 0, 1, 2]), np.array([1, 3]))
        0.6666666666666666
    """
    labels = _as_labels(labels)
    measured = _as_indices(measured_indices, len(labels))
    return len(np.unique(labels[measured])) / len(np.unique(labels))


class CoverageTracker:
    """Incremental coverage over a fixed grouping of the pool.

    Args:
        labels: Group of every candidate, `(N,)` non-negative ints (cluster
            labels or bin indices).
        n_groups: Number of groups; defaults to ``labels.max() + 1``. Groups
            with no candidate never count.

    Example:
        >>> tracker = CoverageTracker(np.array([0, 0, 5, 9, 9]))
        >>> tracker.add([1, 3])
        0.6666666666666666
        >>> tracker.add([0]), tracker.add([2])
        (0.6666666666666666, 1.0)
    """

    def __init__(self, labels: np.ndarray, n_groups: int | None = None) -> None:
        labels = _as_labels(labels)
        top = int(labels.max()) + 1
        if n_groups is None:
            n_groups = top
        elif int(n_groups) < top:
            raise DataError(f"n_groups={n_groups} is smaller than labels.max() + 1 = {top}")
        self.labels = labels
        self.n_groups = int(n_groups)
        self.n_nonempty = int(np.count_nonzero(np.bincount(labels, minlength=self.n_groups)))
        self._hit = np.zeros(self.n_groups, dtype=bool)
        self._n_hit = 0

    def add(self, indices: np.ndarray | list[int]) -> float:
        """Mark newly measured candidates, `(k,)` pool indices, in `O(k)`.

        Returns:
            The coverage after the update.
        """
        return self._add_valid(_as_indices(np.asarray(indices), len(self.labels)))

    def _add_valid(self, indices: np.ndarray) -> float:
        """:meth:`add` for indices already checked to be int64 and inside the pool."""
        groups = self.labels[indices]
        new = groups[~self._hit[groups]]
        if new.size:
            self._hit[new] = True
            self._n_hit += len(np.unique(new))
        return self.coverage

    @property
    def coverage(self) -> float:
        """Fraction of non-empty groups hit so far."""
        return self._n_hit / self.n_nonempty

    @property
    def n_hit(self) -> int:
        """Number of groups hit so far."""
        return self._n_hit

    def reset(self) -> None:
        """Forget every measured point."""
        self._hit[:] = False
        self._n_hit = 0
