from functools import cache

import numpy as np
import pytest
from acq_fakes import ArraySurrogate, gp_problem

from autoscope.acquisition import AcquisitionContext, ThompsonSampling
from autoscope.errors import ConfigError, DataError

SAMPLERS = ["marginal", "joint", "pathwise"]


@cache
def draws(sampler, n_draws, seed=0):
    model, features, measured, targets = gp_problem(n=21)
    rng = np.random.default_rng(seed)
    acquisition = ThompsonSampling(sampler=sampler)
    out = np.stack(
        [
            acquisition(AcquisitionContext(model, features, measured, targets, rng=rng))
            for _ in range(n_draws)
        ]
    )
    return model, features, out


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_draws_match_the_posterior(sampler):
    model, features, out = draws(sampler, 1000)
    mean, std = model.predict(features)
    # mean within 5 standard errors, std within 15 %
    assert np.all(np.abs(out.mean(axis=0) - mean) < 5 * std / np.sqrt(len(out)) + 1e-3)
    np.testing.assert_allclose(out.std(axis=0), std, rtol=0.15, atol=5e-3)


def test_samplers_agree_with_each_other():
    means = {sampler: draws(sampler, 1000)[2].mean(axis=0) for sampler in SAMPLERS}
    _, features, _ = draws("marginal", 1)
    std = gp_problem(n=21)[0].predict(features)[1]
    tolerance = 5 * std * np.sqrt(2 / 1000) + 1e-3
    assert np.all(np.abs(means["marginal"] - means["joint"]) < tolerance)
    assert np.all(np.abs(means["pathwise"] - means["joint"]) < tolerance)


def test_joint_and_pathwise_draws_are_correlated_marginal_are_not():
    # neighbouring grid points far from data are strongly correlated a posteriori
    correlation = {}
    for sampler in SAMPLERS:
        _, _, out = draws(sampler, 1000)
        correlation[sampler] = np.corrcoef(out[:, 7], out[:, 8])[0, 1]
    assert correlation["joint"] > 0.8 and correlation["pathwise"] > 0.8
    assert abs(correlation["marginal"]) < 0.2


def test_score_is_the_cached_draw_and_sampler_is_forwarded():
    model = ArraySurrogate(np.zeros(4), np.ones(4), samples=[0.3, -1.0, 2.0, 0.0])
    context = AcquisitionContext(model, np.zeros((4, 1)), np.array([0]), np.array([0.0]))
    acquisition = ThompsonSampling(sampler="joint")
    np.testing.assert_array_equal(acquisition(context), [0.3, -1.0, 2.0, 0.0])
    assert acquisition.fantasy(context, 2) == 2.0
    assert model.methods == ["joint"]


def test_same_seed_same_draw():
    model, features, measured, targets = gp_problem()
    scores = [
        ThompsonSampling()(
            AcquisitionContext(model, features, measured, targets, rng=np.random.default_rng(3))
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*scores)


def test_bad_sampler_and_bad_model_output():
    with pytest.raises(ConfigError):
        ThompsonSampling(sampler="exact")

    class Broken(ArraySurrogate):
        def sample(self, x, *, n_samples=1, rng, method="pathwise"):
            return np.full((n_samples, len(x)), np.nan)

    model = Broken(np.zeros(2), np.ones(2))
    context = AcquisitionContext(model, np.zeros((2, 1)), np.array([0]), np.array([0.0]))
    with pytest.raises(DataError, match="non-finite"):
        ThompsonSampling()(context)
