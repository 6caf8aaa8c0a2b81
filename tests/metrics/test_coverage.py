import numpy as np
import pytest

from autoscope.errors import DataError
from autoscope.metrics import (
    CoverageTracker,
    coverage,
    feature_space_clusters,
    patch_space_clusters,
    standardize_patches,
    target_bins,
)


def test_target_coverage_bins_each_point_by_its_own_truth():
    truth = np.array([0.00, 0.05, 0.52, 0.98, 1.00])
    bins = target_bins(truth, n_bins=10, value_range=(0.0, 1.0))
    assert bins.tolist() == [0, 0, 5, 9, 9]
    assert coverage(bins, np.array([1, 3])) == pytest.approx(2 / 3)
    tracker = CoverageTracker(bins, n_groups=10)
    assert tracker.add(np.array([1, 3])) == pytest.approx(2 / 3)
    assert tracker.n_hit == 2
    assert tracker.add([0, 4]) == pytest.approx(2 / 3)
    assert tracker.add([2]) == pytest.approx(1.0)


def test_equal_width_default_range_and_constant_truth():
    assert target_bins(np.array([2.0, 3.0, 4.0]), n_bins=2).tolist() == [0, 1, 1]
    assert target_bins(np.full(4, 7.0), n_bins=5).tolist() == [0, 0, 0, 0]


def test_equal_width_rejects_values_outside_range_and_bad_kind():
    with pytest.raises(DataError, match="outside value_range"):
        target_bins(np.array([0.0, 2.0]), n_bins=4, value_range=(0.0, 1.0))
    with pytest.raises(DataError, match="unknown bin kind"):
        target_bins(np.array([0.0, 2.0]), kind="log")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="finite"):
        target_bins(np.array([0.0, np.nan]))


def test_quantile_bins_on_heavy_tailed_values():
    rng = np.random.default_rng(1)
    truth = rng.pareto(1.2, size=4096)
    equal = np.bincount(target_bins(truth, n_bins=100), minlength=100)
    assert equal[0] > 1000  # equal-width bins pile up in the first bin
    bins = target_bins(truth, n_bins=100, kind="quantile")
    counts = np.bincount(bins, minlength=100)
    assert counts.min() >= 4096 // 100 and counts.max() <= 4096 // 100 + 1
    order = np.argsort(truth)
    assert np.all(np.diff(bins[order]) >= 0)  # monotone in the value


def test_quantile_bins_keep_ties_together():
    truth = np.concatenate([np.zeros(50), np.arange(1, 51, dtype=float)])
    bins = target_bins(truth, n_bins=10, kind="quantile")
    assert np.unique(bins[:50]).tolist() == [0]
    assert len(np.unique(bins)) == 6  # the tie fills one bin; the rest share 5 bins
    assert np.all(np.diff(bins) >= 0)


def test_tracker_equals_pure_function_on_random_sequences():
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(5, 300))
        labels = rng.integers(0, int(rng.integers(1, 40)), size=n)
        tracker = CoverageTracker(labels)
        measured: list[int] = []
        for _ in range(15):
            step = rng.integers(0, n, size=int(rng.integers(0, 6)))
            measured.extend(step.tolist())
            value = tracker.add(step)
            assert value == pytest.approx(coverage(labels, np.array(measured, dtype=int)))
        tracker.reset()
        assert tracker.coverage == 0.0


def test_tracker_ignores_empty_groups_and_validates():
    tracker = CoverageTracker(np.array([0, 3, 3]), n_groups=10)
    assert tracker.n_nonempty == 2
    assert tracker.add([0]) == 0.5
    with pytest.raises(DataError, match="outside the pool"):
        tracker.add([3])
    with pytest.raises(DataError, match="labels"):
        CoverageTracker(np.array([-1, 0]))
    with pytest.raises(DataError, match="n_groups"):
        CoverageTracker(np.array([0, 5]), n_groups=3)


def test_standardize_patches_constant_patch_is_zero():
    patches = np.stack([np.full((4, 4), 3.0), np.arange(16.0).reshape(4, 4)])
    x = standardize_patches(patches)
    assert np.all(x[0] == 0)
    assert x[1].mean() == pytest.approx(0) and x[1].std() == pytest.approx(1)


def test_patch_clusters_deterministic_under_seed():
    rng = np.random.default_rng(3)
    patches = rng.random((300, 8, 8))
    a = patch_space_clusters(patches, n_clusters=20, n_components=16, seed=5)
    b = patch_space_clusters(patches, n_clusters=20, n_components=16, seed=5)
    c = patch_space_clusters(patches, n_clusters=20, n_components=16, seed=6)
    assert a.shape == (300,) and np.array_equal(a, b)
    assert len(np.unique(a)) == 20
    assert not np.array_equal(a, c)


def test_patch_clusters_cap_k_at_distinct_patches():
    rng = np.random.default_rng(4)
    few = patch_space_clusters(rng.random((7, 8, 8)), n_clusters=100, seed=0)
    assert sorted(few.tolist()) == list(range(7))  # N < K: one cluster per candidate
    blank = np.zeros((50, 4, 4))
    blank[:3] = rng.random((3, 4, 4))
    labels = patch_space_clusters(blank, n_clusters=10, n_components=32, seed=0)
    assert len(np.unique(labels)) == 4  # 47 identical blank patches + 3 distinct


def test_feature_clusters_separate_blobs():
    rng = np.random.default_rng(5)
    latents = np.concatenate([rng.normal(0, 0.1, (40, 2)), rng.normal(5, 0.1, (40, 2))])
    labels = feature_space_clusters(latents, n_clusters=2, seed=0)
    assert len(set(labels[:40])) == 1 and len(set(labels[40:])) == 1
    assert labels[0] != labels[-1]
    with pytest.raises(DataError, match="latents"):
        feature_space_clusters(np.zeros(5))
