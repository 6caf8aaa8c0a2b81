from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_poisson_deviance

from autoscope.errors import ConfigError, DataError
from autoscope.metrics.spectra import best_ever, per_point_errors, spectral_losses


def pair(n=30, s=8, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.random((n, s))
    predicted = truth + 0.1 * rng.standard_normal((n, s))
    predicted[3] += 2.0  # one very bad point
    return predicted, truth


def test_per_point_errors_average_over_channels():
    predicted = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    truth = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(per_point_errors(predicted, truth), [5.0 / 3.0, 0.0])
    np.testing.assert_allclose(per_point_errors(predicted, truth, kind="l1"), [1.0, 0.0])


@pytest.mark.parametrize("measured", [np.array([0, 3, 3, 5]), "mask"])
def test_losses_split_measured_and_unmeasured(measured):
    predicted, truth = pair()
    indices = np.array([0, 3, 5])
    if isinstance(measured, str):
        measured = np.zeros(len(truth), dtype=bool)
        measured[indices] = True
    losses = spectral_losses(predicted, truth, measured=measured, worst=4)
    mse = ((predicted - truth) ** 2).mean(axis=1)
    l1 = np.abs(predicted - truth).mean(axis=1)
    left = np.setdiff1d(np.arange(len(truth)), indices)
    assert losses["test_mse"] == pytest.approx(mse[left].mean())
    assert losses["test_l1"] == pytest.approx(l1[left].mean())
    assert losses["all_mse_sum"] == pytest.approx(mse.sum())  # measured point 3 included
    assert losses["all_mse"] == pytest.approx(mse.mean())
    assert losses["all_l1"] == pytest.approx(l1.mean())
    assert losses["worst4_mse"] == pytest.approx(np.sort(mse[left])[-4:].mean())
    assert "test_poisson" not in losses


def test_worst_default_and_fewer_points_than_worst():
    predicted, truth = pair(n=6)
    losses = spectral_losses(predicted, truth, measured=[0])
    mse = ((predicted - truth) ** 2).mean(axis=1)
    assert losses["worst10_mse"] == pytest.approx(mse[1:].mean())


def test_everything_measured_gives_nan_test_losses():
    predicted, truth = pair(n=4)
    losses = spectral_losses(predicted, truth, measured=np.arange(4))
    assert np.isnan(losses["test_mse"]) and np.isnan(losses["worst10_mse"])
    assert np.isfinite(losses["all_mse_sum"])


def test_poisson_deviance_matches_its_formula_and_sklearn():
    rng = np.random.default_rng(1)
    rate = rng.uniform(0.1, 3.0, size=(20, 16))
    counts = rng.poisson(rate).astype(float)
    assert (counts == 0).any()  # exercises 0 log 0 = 0
    losses = spectral_losses(rate, counts, measured=[0, 1], loss="poisson")
    y, mu = counts[2:], rate[2:]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    assert losses["test_poisson"] == pytest.approx((term - (y - mu)).mean())
    assert 2 * losses["test_poisson"] == pytest.approx(
        mean_poisson_deviance(y.ravel(), mu.ravel())
    )
    assert spectral_losses(counts + 1, counts + 1, loss="poisson")["test_poisson"] == 0.0


def test_poisson_needs_rates_and_counts():
    counts = np.ones((3, 4))
    with pytest.raises(DataError, match="positive predicted rates"):
        spectral_losses(np.zeros((3, 4)), counts, loss="poisson")
    with pytest.raises(DataError, match="non-negative counts"):
        spectral_losses(counts, -counts, loss="poisson")


@pytest.mark.parametrize(
    ("predicted", "truth", "match"),
    [
        (np.ones((3, 4)), np.ones((3, 5)), "same points and channels"),
        (np.ones(4), np.ones(4), r"\(N, S\)"),
        (np.full((2, 2), np.nan), np.ones((2, 2)), "NaN"),
        (np.ones((2, 2)), np.array([[1.0, np.inf], [1.0, 1.0]]), "truth has 1 NaN/inf"),
    ],
)
def test_bad_spectra_are_data_errors(predicted, truth, match):
    with pytest.raises(DataError, match=match):
        spectral_losses(predicted, truth)
    with pytest.raises(DataError, match=match):
        per_point_errors(predicted, truth)


def test_bad_measured_and_options():
    predicted, truth = pair(n=5)
    with pytest.raises(DataError, match="indices in"):
        spectral_losses(predicted, truth, measured=[7])
    with pytest.raises(DataError, match="boolean mask"):
        spectral_losses(predicted, truth, measured=np.ones(4, dtype=bool))
    with pytest.raises(ConfigError, match="loss"):
        spectral_losses(predicted, truth, loss="huber")
    with pytest.raises(ConfigError, match="worst"):
        spectral_losses(predicted, truth, worst=0)
    with pytest.raises(ConfigError, match="kind"):
        per_point_errors(predicted, truth, kind="poisson")


def test_best_ever_is_a_nan_safe_running_minimum():
    curve = np.array([np.nan, 5.0, 6.0, np.nan, 2.0, 3.0, np.inf])
    np.testing.assert_array_equal(best_ever(curve), [np.nan, 5, 5, 5, 2, 2, 2])
    assert best_ever([]).shape == (0,)
    with pytest.raises(DataError, match="1-D"):
        best_ever(np.ones((2, 2)))
