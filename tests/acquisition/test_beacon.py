import numpy as np
import pytest
from acq_fakes import ArraySurrogate, gp_problem

from autoscope.acquisition import AcquisitionContext, Beacon, knn_distance
from autoscope.acquisition.beacon import elite_size
from autoscope.errors import ConfigError, DataError

# The hand-computed example of the issue: ten measured points, two candidates.
TARGETS = np.array([0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0])


def issue_context(samples, *, means=None, pending=(), pending_values=None):
    """Candidates 0-9 measured with TARGETS; candidates 10.. carry ``samples``."""
    samples = np.asarray(samples, dtype=float)
    if means is None:
        means = TARGETS.copy()
        means[9], means[2] = 0.95, 0.85  # posterior means of the elite (1.0 and 0.9)
    mean = np.concatenate([means, np.zeros(len(samples))])
    model = ArraySurrogate(mean, np.ones(len(mean)), samples=np.concatenate([means, samples]))
    return AcquisitionContext(
        model,
        np.zeros((len(mean), 1)),
        np.arange(10),
        TARGETS,
        pending=np.asarray(pending, dtype=np.int64),
        pending_values=pending_values,
        rng=np.random.default_rng(0),
    )


def test_elite_hand_value():
    scores = Beacon(archive="elite")(issue_context([0.5]))
    assert scores[10] == pytest.approx(5.656854, abs=1e-4)
    archive, center, scale = Beacon(archive="elite").reference(issue_context([0.5]))
    np.testing.assert_allclose(np.sort(archive), [-0.70710678, 0.70710678], atol=1e-6)
    assert center == pytest.approx(0.9)
    assert scale == pytest.approx(0.0707107, abs=1e-6)


def test_all_observations_hand_values():
    scores = Beacon(k=10)(issue_context([0.55, 1.3]))
    assert scores[10] == pytest.approx(2.5, abs=1e-4)
    assert scores[11] == pytest.approx(7.5, abs=1e-4)
    means = Beacon(k=10, reduce="mean")(issue_context([0.55, 1.3]))
    np.testing.assert_allclose(means[10:], [0.25, 0.75], atol=1e-12)


def test_denoise_uses_posterior_means():
    means = np.full(10, 0.5)
    scores = Beacon(denoise=True)(issue_context([0.55, 1.3], means=means))
    np.testing.assert_allclose(scores[10:], [0.5, 8.0], atol=1e-12)


def test_fewer_measured_points_than_k_use_all():
    context = issue_context([0.55])
    few = AcquisitionContext(context.model, context.features, np.arange(3), TARGETS[:3])
    # archive 0.1, 0.5, 0.9 and k' = 3
    assert Beacon(k=10)(few)[10] == pytest.approx(0.45 + 0.05 + 0.35)


def test_elite_of_one_point_is_only_centred():
    context = issue_context([0.5])
    three = AcquisitionContext(context.model, context.features, np.arange(3), TARGETS[:3])
    assert elite_size(3, 0.2) == 1
    # elite = measured 0.9 with posterior mean 0.85, std fallback 1
    archive, center, scale = Beacon(archive="elite").reference(three)
    assert (center, scale) == (pytest.approx(0.85), 1.0)
    assert Beacon(archive="elite")(three)[10] == pytest.approx(0.35)


def test_elite_with_zero_std_falls_back_to_unit_scale():
    means = TARGETS.copy()
    means[9] = means[2] = 0.9
    context = issue_context([0.5], means=means)
    _, center, scale = Beacon(archive="elite").reference(context)
    assert (center, scale) == (pytest.approx(0.9), 1.0)
    assert Beacon(archive="elite")(context)[10] == pytest.approx(0.4)


def test_elite_size_rounding():
    assert [elite_size(m, 0.2) for m in (1, 4, 5, 7, 10, 15, 100)] == [1, 1, 1, 2, 2, 3, 20]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_knn_fast_path_matches_brute_force(seed, k):
    rng = np.random.default_rng(seed)
    archive = np.round(rng.normal(size=rng.integers(1, 40)), 1)  # with duplicates
    values = rng.normal(scale=2.0, size=500)
    brute = np.sort(np.abs(values[:, None] - archive[None, :]), axis=1)[:, : min(k, len(archive))]
    np.testing.assert_allclose(knn_distance(values, archive, k), brute.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(
        knn_distance(values, archive, k, reduce="mean"), brute.mean(axis=1), atol=1e-12
    )


def test_knn_handles_large_pools_in_chunks():
    rng = np.random.default_rng(0)
    values, archive = rng.normal(size=200_000), rng.normal(size=30)
    got = knn_distance(values, archive, 10)
    sample = rng.choice(len(values), 100, replace=False)
    brute = np.sort(np.abs(values[sample, None] - archive[None, :]), axis=1)[:, :10].sum(axis=1)
    np.testing.assert_allclose(got[sample], brute, atol=1e-12)


def test_knn_bad_input():
    with pytest.raises(DataError, match="empty"):
        knn_distance(np.zeros(3), np.zeros(0), 3)
    with pytest.raises(ConfigError):
        knn_distance(np.zeros(3), np.zeros(2), 3, reduce="max")


@pytest.mark.parametrize("sampler", ["pathwise", "marginal", "joint"])
def test_sampler_is_passed_to_the_model(sampler):
    context = issue_context([0.5])
    Beacon(sampler=sampler)(context)
    Beacon(sampler=sampler)(context)  # the draw is cached in the context
    assert context.model.methods == [sampler]


def test_pending_values_join_the_archive():
    base = Beacon(k=1)(issue_context([0.55, 1.3]))
    with_pending = Beacon(k=1)(issue_context([0.55, 1.3], pending=[10], pending_values=[1.25]))
    assert base[11] == pytest.approx(0.3)
    assert with_pending[11] == pytest.approx(0.05)
    # an unknown pending value is believed to be the posterior mean (0 here)
    unknown = Beacon(k=1)(issue_context([0.55, 0.02], pending=[10]))
    assert unknown[11] == pytest.approx(0.02)


def test_on_a_gp_scores_are_finite_and_nonnegative():
    model, features, measured, targets = gp_problem()
    context = AcquisitionContext(model, features, measured, targets, rng=np.random.default_rng(1))
    for archive in ("all", "elite"):
        scores = Beacon(archive=archive)(context)
        assert scores.shape == (len(features),)
        assert np.isfinite(scores).all() and (scores >= 0).all()


def test_empty_archive_is_an_error():
    model = ArraySurrogate(np.zeros(3), np.ones(3))
    context = AcquisitionContext(model, np.zeros((3, 1)), np.array([], int), np.array([]))
    with pytest.raises(DataError, match="at least one"):
        Beacon()(context)
    with pytest.raises(DataError, match="at least one"):
        Beacon(archive="elite")(context)


@pytest.mark.parametrize(
    "options",
    [
        {"k": 0},
        {"k": 2.5},
        {"archive": "best"},
        {"reduce": "max"},
        {"denoise": "yes"},
        {"elite_fraction": 0.0},
        {"elite_fraction": 1.5},
        {"sampler": "exact"},
    ],
)
def test_bad_options(options):
    with pytest.raises(ConfigError):
        Beacon(**options)
