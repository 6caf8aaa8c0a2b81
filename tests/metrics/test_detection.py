import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from autoscope.errors import ConfigError, DataError
from autoscope.metrics.detection import DetectionScore, match_detections


def test_hand_example():
    truth = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    detected = np.array([[0.5, 0.0], [10.0, 1.0], [40.0, 40.0]])
    score = match_detections(detected, truth, radius=2.0)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 3)
    assert score.f1 == pytest.approx(2 / 3)
    assert (score.n_true_positive, score.n_detected, score.n_truth) == (2, 3, 3)
    assert score.pairs.tolist() == [[0, 0], [1, 1]]
    assert score.distances == pytest.approx([0.5, 1.0])


def test_matching_is_one_to_one_and_optimal():
    # Greedy nearest-first would pair detection 0 with truth 1 (distance 0.1) and
    # leave detection 1 (0.95 from truth 1, 1.95 from truth 0) unmatched; the
    # optimal matching pairs both.
    truth = np.array([[0.0, 0.0], [0.0, 1.0]])
    detected = np.array([[0.0, 0.9], [0.0, 1.95]])
    score = match_detections(detected, truth, radius=1.0)
    assert score.n_true_positive == 2
    assert sorted(score.pairs[:, 1].tolist()) == [0, 1]
    # Two detections on one true position: one of them is a false positive.
    double = match_detections([[0.0, 0.0], [0.0, 0.2]], [[0.0, 0.1]], radius=1.0)
    assert (double.n_true_positive, double.precision, double.recall) == (1, 0.5, 1.0)


def test_matches_brute_force_assignment():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n_det, n_true = rng.integers(1, 15, size=2)
        detected = rng.uniform(0, 10, (n_det, 2))
        truth = rng.uniform(0, 10, (n_true, 2))
        radius = rng.uniform(0.5, 4.0)
        score = match_detections(detected, truth, radius=radius)
        distance = cdist(detected, truth)
        cost = np.where(distance <= radius, distance, 1e6)
        rows, cols = linear_sum_assignment(cost)
        ok = cost[rows, cols] < 1e6
        assert score.n_true_positive == ok.sum()
        assert score.distances.sum() == pytest.approx(cost[rows, cols][ok].sum())
        assert len(set(score.pairs[:, 0])) == len(set(score.pairs[:, 1])) == len(score.pairs)
        assert np.all(score.distances <= radius)


def test_empty_inputs():
    none_found = match_detections(np.empty((0, 2)), [[1.0, 2.0]], radius=1.0)
    assert (none_found.precision, none_found.recall, none_found.f1) == (0.0, 0.0, 0.0)
    nothing_there = match_detections([[1.0, 2.0]], np.empty((0, 2)), radius=1.0)
    assert (nothing_there.precision, nothing_there.recall, nothing_there.f1) == (0.0, 0.0, 0.0)
    both = match_detections([], [], radius=1.0)
    assert (both.precision, both.recall, both.f1) == (1.0, 1.0, 1.0)
    assert both.pairs.shape == (0, 2)
    far = match_detections([[0.0, 0.0]], [[5.0, 5.0]], radius=1.0)
    assert (far.precision, far.recall, far.n_true_positive) == (0.0, 0.0, 0)
    assert isinstance(far, DetectionScore)


def test_validation():
    with pytest.raises(ConfigError, match="radius"):
        match_detections([[0.0, 0.0]], [[0.0, 0.0]], radius=0.0)
    with pytest.raises(DataError, match="atoms\\[:, :2\\]"):
        match_detections([[0.0, 0.0, 1.5]], [[0.0, 0.0]], radius=1.0)
    with pytest.raises(DataError, match="finite"):
        match_detections([[0.0, np.nan]], [[0.0, 0.0]], radius=1.0)
    with pytest.raises(DataError, match=r"\(N, D\)"):
        match_detections([0.0, 1.0], [[0.0, 0.0]], radius=1.0)
