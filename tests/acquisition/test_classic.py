import math

import numpy as np
import pytest
from acq_fakes import ArraySurrogate, gp_problem
from scipy.stats import norm

from autoscope.acquisition import (
    ACQUISITIONS,
    AcquisitionContext,
    ExpectedImprovement,
    LogExpectedImprovement,
    MaximumUncertainty,
    UpperConfidenceBound,
    make_acquisition,
)
from autoscope.acquisition.classic import log_h
from autoscope.errors import ConfigError, DataError


def context_for(mean, std, *, measured=(0,), targets=(0.0,), noise_std=0.0, pending=()):
    model = ArraySurrogate(mean, std, noise_std=noise_std)
    n = len(model.mean)
    return AcquisitionContext(
        model,
        np.arange(n, dtype=float)[:, None],
        np.asarray(measured),
        np.asarray(targets, dtype=float),
        pending=np.asarray(pending, dtype=np.int64),
        rng=np.random.default_rng(0),
    )


def plain_ei(mean, std, best):
    z = (mean - best) / std
    return std * (norm.pdf(z) + z * norm.cdf(z))


@pytest.mark.parametrize("log", [True, False])
def test_ei_prefers_higher_mean_at_equal_std(log):
    context = context_for([0.0, 0.5, 0.2, -1.0], [0.3] * 4)
    assert np.argmax(ExpectedImprovement(log=log)(context)) == 1


@pytest.mark.parametrize("log", [True, False])
def test_ei_prefers_higher_std_at_equal_mean(log):
    context = context_for([0.0] * 4, [0.1, 0.2, 0.9, 0.5], targets=(0.5,))
    assert np.argmax(ExpectedImprovement(log=log)(context)) == 2


def test_plain_ei_matches_closed_form():
    mean, std = np.array([0.0, 1.0, -0.5, 2.0]), np.array([1.0, 0.5, 2.0, 0.1])
    context = context_for(mean, std, targets=(0.3,))
    got = ExpectedImprovement(log=False)(context)
    np.testing.assert_allclose(got, plain_ei(mean, std, 0.3), rtol=1e-12)


def test_log_ei_is_log_of_ei_where_ei_is_not_tiny():
    mean = np.linspace(-3.0, 3.0, 61)
    std = np.linspace(0.2, 2.0, 61)
    context = context_for(mean, std, targets=(0.5,))
    np.testing.assert_allclose(
        LogExpectedImprovement()(context), np.log(plain_ei(mean, std, 0.5)), rtol=1e-9
    )
    np.testing.assert_allclose(
        ExpectedImprovement()(context), LogExpectedImprovement()(context), rtol=0
    )


def test_log_ei_stays_finite_and_ordered_far_below_best():
    mean = np.array([-40.0, -30.0, -1e3, -1e7, -1e9])
    context = context_for(mean, np.ones(5), targets=(0.0,))
    log_ei = LogExpectedImprovement()(context)
    assert np.isfinite(log_ei).all()
    assert log_ei[1] > log_ei[0] > log_ei[2] > log_ei[3] > log_ei[4]
    assert ExpectedImprovement(log=False)(context)[0] == 0.0  # plain EI underflows there
    # asymptotics: log h(z) ~ log phi(z) - 2 log|z|
    assert log_ei[0] == pytest.approx(norm.logpdf(40.0) - 2 * math.log(40.0), abs=1e-2)


def test_log_h_is_continuous_at_branch_points():
    for z0 in (-1.0, -1e6):
        left, right = log_h(np.array([z0 * (1 + 1e-9), z0 * (1 - 1e-9)]))
        assert left == pytest.approx(right, rel=1e-6)


@pytest.mark.parametrize("log", [True, False])
def test_ei_with_constant_targets_and_zero_std_is_finite(log):
    context = context_for([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], measured=(0, 1), targets=(1.0, 1.0))
    scores = ExpectedImprovement(log=log)(context)
    assert np.isfinite(scores).all()
    ranked = ExpectedImprovement(log=log)(
        context_for([1.0, 2.0, 0.5], [0.0, 0.0, 0.0], targets=(1.0,))
    )
    assert np.isfinite(ranked).all() and np.argmax(ranked) == 1


def test_ei_best_f_and_xi_options():
    mean, std = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    context = context_for(mean, std, targets=(5.0,))
    got = ExpectedImprovement(log=False, best_f=0.2, xi=0.1)(context)
    np.testing.assert_allclose(got, plain_ei(mean, std, 0.3))
    assert ExpectedImprovement().incumbent(context) == 5.0


def test_ei_incumbent_counts_believed_pending_values():
    context = context_for([0.0, 3.0, 1.0], [1.0, 1.0, 1.0], targets=(0.5,), pending=(1,))
    assert ExpectedImprovement().incumbent(context) == 3.0


def test_ei_needs_an_incumbent():
    context = context_for([0.0, 1.0], [1.0, 1.0], measured=(), targets=())
    with pytest.raises(DataError, match="best_f"):
        ExpectedImprovement()(context)
    assert np.isfinite(ExpectedImprovement(best_f=0.0)(context)).all()


def test_ucb_and_mu_hand_values():
    context = context_for([0.0, 1.0, -1.0], [1.0, 0.5, 2.0])
    np.testing.assert_allclose(UpperConfidenceBound(beta=9.0)(context), [3.0, 2.5, 5.0])
    np.testing.assert_allclose(UpperConfidenceBound(beta=0.0)(context), [0.0, 1.0, -1.0])
    np.testing.assert_allclose(MaximumUncertainty()(context), [1.0, 0.5, 2.0])


def test_include_noise_uses_predictive_std():
    context = context_for([0.0, 0.0], [0.3, 0.0], noise_std=0.4)
    np.testing.assert_allclose(MaximumUncertainty(include_noise=True)(context), [0.5, 0.4])
    np.testing.assert_allclose(MaximumUncertainty()(context), [0.3, 0.0])
    np.testing.assert_allclose(
        UpperConfidenceBound(beta=4.0, include_noise=True)(context), [1.0, 0.8]
    )


def test_analytic_gp_problem():
    model, features, measured, targets = gp_problem()
    context = AcquisitionContext(model, features, measured, targets)
    mean, std = model.predict(features)
    assert np.argmax(MaximumUncertainty()(context)) == np.argmax(std)
    assert np.argmax(UpperConfidenceBound(beta=0.0)(context)) == np.argmax(mean)
    assert np.all(np.isfinite(LogExpectedImprovement()(context)))


def test_registry_and_factory():
    assert set(ACQUISITIONS) == {"ei", "logei", "ucb", "mu", "beacon", "thompson"}
    assert make_acquisition("ei", log=False).log is False
    assert make_acquisition("logei").get_params()["xi"] == 0.0
    with pytest.raises(ConfigError, match="unknown acquisition"):
        make_acquisition("pi")
    with pytest.raises(ConfigError, match="ucb"):
        make_acquisition("ucb", kappa=2.0)
    with pytest.raises(ConfigError, match="log"):
        make_acquisition("logei", log=False)


@pytest.mark.parametrize(
    ("cls", "options"),
    [
        (UpperConfidenceBound, {"beta": -1.0}),
        (UpperConfidenceBound, {"beta": math.inf}),
        (ExpectedImprovement, {"xi": -0.1}),
        (ExpectedImprovement, {"best_f": math.nan}),
        (ExpectedImprovement, {"log": "yes"}),
        (MaximumUncertainty, {"include_noise": 1}),
        (MaximumUncertainty, {"penalty_scale": 0.0}),
    ],
)
def test_bad_options(cls, options):
    with pytest.raises(ConfigError):
        cls(**options)


def test_context_rejects_nan_targets_naming_them():
    with pytest.raises(DataError, match=r"\[7\]"):
        context_for(np.zeros(9), np.ones(9), measured=(3, 7), targets=(1.0, math.nan))


def test_context_rejects_bad_indices_and_shapes():
    with pytest.raises(DataError, match="outside the pool"):
        context_for(np.zeros(3), np.ones(3), measured=(5,), targets=(1.0,))
    with pytest.raises(DataError, match="same length"):
        context_for(np.zeros(3), np.ones(3), measured=(0, 1), targets=(1.0,))


def test_context_rejects_bad_model_output():
    context = context_for([0.0, 1.0], [1.0, -1.0])
    with pytest.raises(DataError, match="negative"):
        MaximumUncertainty()(context)


def test_posterior_is_computed_once_per_context():
    calls = []

    class Counting(ArraySurrogate):
        def predict(self, x, *, include_noise=False):
            calls.append(include_noise)
            return super().predict(x, include_noise=include_noise)

    context = AcquisitionContext(
        Counting([0.0, 1.0], [1.0, 1.0]), np.zeros((2, 1)), np.array([0]), np.array([0.0])
    )
    for acquisition in (UpperConfidenceBound(), MaximumUncertainty(), ExpectedImprovement()):
        acquisition(context)
    assert calls == [False]
    assert context.with_pending([1]).std is context.std
    assert calls == [False]
