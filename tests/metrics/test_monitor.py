import numpy as np
import pytest

from autoscope.data.pool import CandidatePool
from autoscope.errors import DataError
from autoscope.metrics import MetricsMonitor, MonitorState, coverage, error_metrics

N = 200


@pytest.fixture(scope="module")
def pool() -> CandidatePool:
    rng = np.random.default_rng(0)
    coords = np.argwhere(np.ones((10, 20), dtype=bool))
    return CandidatePool(coords, {"patches": rng.random((N, 8, 8)).astype(np.float32)}, (10, 20))


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    return np.random.default_rng(1).lognormal(size=N)


FAST_VAE = {"epochs": 2, "batch_size": 100}


def test_monitor_without_truth_or_prediction(pool):
    monitor = MetricsMonitor(
        pool, None, seed=0, patch_clusters=20, feature_clusters=10, vae_options=FAST_VAE
    )
    out = monitor.update(np.array([0, 1, 2]))
    assert set(out) == {
        "coverage_patch",
        "coverage_patch_noinit",
        "coverage_feature",
        "coverage_feature_noinit",
    }
    assert out["coverage_patch"] == pytest.approx(
        coverage(monitor.groupings["patch"], np.array([0, 1, 2]))
    )
    assert monitor.latents is not None and monitor.latents.shape == (N, 2)
    assert monitor.setup_seconds["vae"] > 0
    out = monitor.update([], prediction=(np.ones(N), np.full(N, 0.5)))
    assert out["mean_prediction"] == 1.0 and out["mean_std"] == 0.5
    assert "mae" not in out and "coverage_target_10" not in out


def test_monitor_end_to_end_with_truth_and_prediction(pool, truth):
    rng = np.random.default_rng(2)
    n_initial = 5
    monitor = MetricsMonitor(
        pool, truth, seed=3, patch_clusters=20, feature_space=False, n_initial=n_initial
    )
    names = (
        ["patch"] + [f"target_{b}" for b in (10, 25, 100)] + [f"target_q{b}" for b in (10, 25, 100)]
    )
    assert sorted(monitor.groupings) == sorted(names)
    order = rng.permutation(N)
    steps = [order[:n_initial]] + [order[i : i + 3] for i in range(n_initial, 60, 3)]
    measured: list[int] = []
    for step in steps:
        measured.extend(step.tolist())
        mean = truth + rng.normal(0, 0.1, N)
        std = rng.random(N)
        out = monitor.update(step, prediction=(mean, std))
        m = np.array(measured)
        for name in names:
            labels = monitor.groupings[name]
            assert out[f"coverage_{name}"] == pytest.approx(coverage(labels, m))
            expected = coverage(labels, m[n_initial:]) if len(m) > n_initial else 0.0
            assert out[f"coverage_{name}_noinit"] == pytest.approx(expected)
        ref = error_metrics(mean, truth, measured=m, std=std)
        for key, value in ref.items():
            assert out[key] == pytest.approx(value)
    assert out["coverage_target_q10"] == 1.0


def test_noinit_splits_a_step_that_straddles_the_initial_points(pool, truth):
    monitor = MetricsMonitor(
        pool, truth, seed=0, patch_clusters=10, feature_space=False, target_bins=(10,), n_initial=2
    )
    lo, hi = int(np.argmin(truth)), int(np.argmax(truth))
    monitor.update([lo])
    out = monitor.update([hi, lo])  # hi is initial, lo is the first later point
    assert out["coverage_target_10"] == pytest.approx(2 / monitor._trackers["target_10"].n_nonempty)
    assert out["coverage_target_10_noinit"] == pytest.approx(
        1 / monitor._trackers["target_10"].n_nonempty
    )


def test_monitor_rebuilds_by_replay_and_is_seeded(pool, truth):
    latents = np.random.default_rng(4).normal(size=(N, 2))
    kwargs = dict(seed=7, patch_clusters=15, feature_clusters=8, latents=latents, n_initial=3)
    a = MetricsMonitor(pool, truth, **kwargs)
    steps = [np.arange(0, 4), np.array([], dtype=int), np.arange(50, 60)]
    for step in steps:
        last = a.update(step)
    b = MetricsMonitor(pool, truth, **kwargs)
    for name in a.groupings:
        assert np.array_equal(a.groupings[name], b.groupings[name])
    b.load_state(a.state)
    assert isinstance(a.state, MonitorState) and b.state == a.state
    assert b.update([]) == a.update([])
    assert b.update([]) == {k: v for k, v in last.items()}


def test_monitor_validates_input(pool, truth):
    monitor = MetricsMonitor(pool, truth, seed=0, patch_clusters=5, feature_space=False)
    with pytest.raises(DataError, match="outside the pool"):
        monitor.update([N])
    with pytest.raises(DataError, match="prediction mean"):
        monitor.update([0], prediction=(np.zeros(N - 1), None))
    with pytest.raises(DataError, match="truth"):
        MetricsMonitor(pool, truth[:-1], seed=0, feature_space=False)


def test_rmse_constant_is_the_mean_predictor_on_the_fixed_scale():
    truth = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    pool = CandidatePool(np.array([[0, i] for i in range(5)]), {"patches": np.eye(5)[:, :, None]})
    monitor = MetricsMonitor(pool, truth, seed=0, feature_space=False, patch_clusters=2)
    values = monitor.update([0, 2])  # measured mean 1.0
    expected = np.sqrt(np.mean(((1.0 - truth) / 4.0) ** 2))
    assert values["rmse_constant"] == pytest.approx(expected)
